//! The `[retention]` keys: how long sent deliveries (with the alert sets only they referred to) and the audit log
//! are kept. Held, pending and dead deliveries are never pruned, whatever these say.

use super::{ConfigError, Reader};
use std::time::Duration;

const DAY: u64 = 86_400;

#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// `retention.deliveries`: sent deliveries and unreferenced alert sets older than this are deleted (30 days).
    pub deliveries: Duration,
    /// `retention.audit`: audit entries older than this are deleted (400 days).
    pub audit: Duration,
}

impl RetentionConfig {
    pub(super) fn read(r: &Reader) -> Result<RetentionConfig, ConfigError> {
        let deliveries = r
            .duration("retention.deliveries")?
            .unwrap_or(Duration::from_secs(30 * DAY));
        // A day at least: the delivery list and its retries stay useful for the day's incidents.
        if deliveries < Duration::from_secs(DAY) {
            return Err(r.err("retention.deliveries", "must be at least 1d"));
        }
        let audit = r
            .duration("retention.audit")?
            .unwrap_or(Duration::from_secs(400 * DAY));
        // An audit log shorter than a month would not survive a review cycle.
        if audit < Duration::from_secs(30 * DAY) {
            return Err(r.err("retention.audit", "must be at least 30d"));
        }
        Ok(RetentionConfig { deliveries, audit })
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;
    use std::time::Duration;

    #[test]
    fn retention_defaults_and_refusals_name_the_key() {
        let c = Config::from_sources(None, None, &[]).expect("defaults");
        assert_eq!(c.retention.deliveries, Duration::from_secs(30 * 86_400));
        assert_eq!(c.retention.audit, Duration::from_secs(400 * 86_400));
        let c = Config::from_sources(
            Some("[retention]\ndeliveries = \"7d\"\naudit = \"2y\""),
            None,
            &[],
        );
        let e = c.expect_err("2y is no duration");
        assert!(e.to_string().contains("retention.audit"), "{e}");
        for (toml, key) in [
            ("[retention]\ndeliveries = \"1h\"", "retention.deliveries"),
            ("[retention]\naudit = \"7d\"", "retention.audit"),
        ] {
            let e = Config::from_sources(Some(toml), None, &[]).expect_err("too short");
            assert!(e.to_string().contains(key), "{e}");
        }
        let c =
            Config::from_sources(Some("[retention]\ndeliveries = \"7d\""), None, &[]).expect("7d");
        assert_eq!(c.retention.deliveries, Duration::from_secs(7 * 86_400));
    }
}
