//! The sizing keys: how many database connections a process opens (`database_max_connections`, PostgreSQL: the
//! processes sharing a database must fit its `max_connections` together) and how many decoded alerts and bytes the
//! alert-set cache holds (`cache.alerts`, `cache.alert_bytes`, shown on `/metrics` as `fence_alert_cache_alerts` and
//! `fence_alert_cache_bytes`); SQLite: how many read-only connections read beside the one writer
//! (`database_read_connections`).

use super::{ConfigError, Reader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// PostgreSQL pool size of one process (1–100, default 10); each process opens one more to `LISTEN`.
    pub database_max_connections: u32,
    /// SQLite read-only connections beside the one writer (1–16, default 2); each holds SQLite's default 2 MiB page
    /// cache once it has read that much.
    pub database_read_connections: u32,
    /// Decoded alerts the alert-set cache holds at most (0–1,000,000, default 10,000; 0 turns the cache off).
    pub cache_alerts: usize,
    /// Estimated bytes of decoded alerts the cache holds at most beyond the sets in use (0–1 GiB, default 1 MiB;
    /// 0 turns the cache off).
    pub cache_alert_bytes: usize,
}

impl Sizes {
    pub(super) fn read(r: &Reader) -> Result<Sizes, ConfigError> {
        let database_max_connections = r.int("database_max_connections")?.unwrap_or(10);
        if !(1..=100).contains(&database_max_connections) {
            return Err(r.err("database_max_connections", "must be between 1 and 100"));
        }
        let database_read_connections = r.int("database_read_connections")?.unwrap_or(i64::from(
            fence_store::StoreSizes::default().read_connections,
        ));
        if !(1..=16).contains(&database_read_connections) {
            return Err(r.err("database_read_connections", "must be between 1 and 16"));
        }
        let cache_alerts = r
            .int("cache.alerts")?
            .unwrap_or(fence_store::StoreSizes::default().cache_alerts as i64);
        if !(0..=1_000_000).contains(&cache_alerts) {
            return Err(r.err("cache.alerts", "must be between 0 and 1000000"));
        }
        let cache_alert_bytes = r
            .int("cache.alert_bytes")?
            .unwrap_or(fence_store::StoreSizes::default().cache_alert_bytes as i64);
        if !(0..=1 << 30).contains(&cache_alert_bytes) {
            return Err(r.err("cache.alert_bytes", "must be between 0 and 1073741824"));
        }
        Ok(Sizes {
            database_max_connections: database_max_connections as u32,
            database_read_connections: database_read_connections as u32,
            cache_alerts: cache_alerts as usize,
            cache_alert_bytes: cache_alert_bytes as usize,
        })
    }

    /// The store's pools and cache as these keys size them.
    pub fn store(&self) -> fence_store::StoreSizes {
        fence_store::StoreSizes {
            max_connections: self.database_max_connections,
            read_connections: self.database_read_connections,
            cache_alerts: self.cache_alerts,
            cache_alert_bytes: self.cache_alert_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn sizes_default_and_refuse_what_is_out_of_range_naming_the_key() {
        let c = Config::from_sources(None, None, &[]).expect("defaults");
        assert_eq!(c.sizes.database_max_connections, 10);
        assert_eq!(c.sizes.cache_alerts, 10_000);
        assert_eq!(c.sizes.database_read_connections, 2);
        assert_eq!(c.sizes.cache_alert_bytes, 1 << 20);
        let c = Config::from_sources(
            Some("database_max_connections = 4\ndatabase_read_connections = 5\n[cache]\nalerts = 0\nalert_bytes = 4096\n"),
            None,
            &[],
        )
        .expect("set");
        assert_eq!(
            (
                c.sizes.database_max_connections,
                c.sizes.database_read_connections,
                c.sizes.cache_alerts,
                c.sizes.cache_alert_bytes
            ),
            (4, 5, 0, 4096)
        );
        for (toml, key) in [
            ("database_max_connections = 0\n", "database_max_connections"),
            (
                "database_max_connections = 500\n",
                "database_max_connections",
            ),
            (
                "database_read_connections = 0\n",
                "database_read_connections",
            ),
            (
                "database_read_connections = 17\n",
                "database_read_connections",
            ),
            ("[cache]\nalerts = -1\n", "cache.alerts"),
            ("[cache]\nalerts = 2000000\n", "cache.alerts"),
            ("[cache]\nalert_bytes = -1\n", "cache.alert_bytes"),
            ("[cache]\nalert_bytes = 2000000000\n", "cache.alert_bytes"),
        ] {
            let e = Config::from_sources(Some(toml), None, &[]).expect_err(toml);
            assert!(e.to_string().contains(key), "{toml}: {e}");
        }
    }
}
