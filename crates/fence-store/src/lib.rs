//! Fence's storage: one `Store` over SQLite or PostgreSQL (sqlx `Any`), per-dialect migrations, and the
//! repositories for organizations, tokens, findings, channels, the delivery outbox and its per-destination lanes.
//!
//! Portable SQL only: `$N` placeholders, BIGINT milliseconds for time, TEXT ids (UUIDv7, time-ordered).

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

mod alert_cache;
pub use alert_cache::CacheHeld;
pub mod audit;
pub mod certificate_checks;
pub mod channels;
mod closing;
pub mod counts;
pub mod days;
pub mod deliveries;
mod deltas;
pub mod digests;
pub mod domains;
pub mod escalations;
pub mod findings;
mod ingest;
pub mod intel;
pub mod jobs;
mod key_check;
pub mod notify;
pub mod orgs;
mod planner_stats;
pub mod reminders;
pub mod retention;
pub mod scans;
pub mod sign_in;
pub mod silences;
pub mod slack_directory;
pub mod slack_installs;
mod snoozes;
pub mod threads;
pub mod top_domains;
pub mod users;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::sync::Arc;
use std::time::Duration;

/// Errors from the store; `Conflict` and `NotFound` are expected outcomes the API maps to 409/404.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which SQL dialect the store talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database behind Fence.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Reads that need no transaction of their own. SQLite: separate read-only connections, which WAL lets read
    /// beside the one writer, so a page or a token check never waits behind an ingest's commit. PostgreSQL: the pool.
    read: AnyPool,
    dialect: Dialect,
    /// Immutable alert sets recently read, by id.
    alert_cache: Arc<alert_cache::AlertCache>,
    /// PostgreSQL: where `notify::WakeUps` connects (it may hold a password: redacted in `Debug`).
    listen_url: Option<Arc<fence_core::Secret<String>>>,
    /// Sent claims waiting for their shared commit (`deliveries::sent`).
    sent_group: Arc<deliveries::SentGroup>,
}

/// SQLite read-only connections by default (`database_read_connections`; each fills SQLite's default 2 MiB page
/// cache).
const DEFAULT_READ_CONNECTIONS: u32 = 2;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How big a store's pools and caches are (`database_max_connections`, `cache.alerts`, `cache.alert_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSizes {
    /// PostgreSQL connections in the pool (SQLite: one writer and `read_connections` readers, whatever this says).
    pub max_connections: u32,
    /// SQLite read-only connections beside the writer (at least 1; PostgreSQL reads from its pool).
    pub read_connections: u32,
    /// Decoded alerts the alert-set cache holds at most; 0 turns it off.
    pub cache_alerts: usize,
    /// Estimated bytes of decoded alerts the alert-set cache holds at most; 0 turns it off.
    pub cache_alert_bytes: usize,
}

impl Default for StoreSizes {
    fn default() -> Self {
        StoreSizes {
            max_connections: 10,
            read_connections: DEFAULT_READ_CONNECTIONS,
            cache_alerts: alert_cache::DEFAULT_MAX_ALERTS,
            cache_alert_bytes: alert_cache::DEFAULT_MAX_BYTES,
        }
    }
}

impl Store {
    /// Connects to `sqlite://path` (created when missing) or `postgres://…` with the default sizes.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, StoreSizes::default()).await
    }

    /// Connects with `sizes`: the PostgreSQL pool and the alert-set cache.
    pub async fn connect_with(url: &str, sizes: StoreSizes) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::Corrupt(
                "database_url must start with sqlite:// or postgres://".into(),
            ));
        };
        let (pool, read) = match dialect {
            Dialect::Sqlite => {
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                // One connection: SQLite allows one writer, and a single connection serialises transactions
                // without SQLITE_BUSY upgrades. Statements are short; nothing holds it across network calls.
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode=WAL").await?;
                            conn.execute("PRAGMA synchronous=FULL").await?;
                            conn.execute("PRAGMA busy_timeout=10000").await?;
                            // Foreign keys are declared in the schema (and enforced on PostgreSQL) but not checked
                            // by the SQLite writer: an immediate foreign-key check makes SQLite journal every page a
                            // multi-row statement changes (see `insert_into`). Every `org_id` written comes from an
                            // organization the request was authenticated for, and organizations are never deleted.
                            conn.execute("PRAGMA foreign_keys=OFF").await?;
                            // Statement journals stay in SQLite's temporary files (`temp_store` at its default):
                            // keeping them in memory cost 13 MiB of resident memory at 100,000 findings and no
                            // measurable speed (BENCHMARKS.md, "Memory").
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?;
                // Opened after the writer has made the database WAL; each connection refuses to write.
                let read = AnyPoolOptions::new()
                    .max_connections(sizes.read_connections.max(1))
                    .min_connections(0)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout=10000").await?;
                            conn.execute("PRAGMA query_only=ON").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&url)?;
                (pool, read)
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(sizes.max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                (pool.clone(), pool)
            }
        };
        Ok(Store {
            pool,
            read,
            dialect,
            alert_cache: Arc::new(alert_cache::AlertCache::new(
                sizes.cache_alerts,
                sizes.cache_alert_bytes,
            )),
            listen_url: (dialect == Dialect::Postgres)
                .then(|| Arc::new(fence_core::Secret::new(url.to_string()))),
            sent_group: Arc::default(),
        })
    }

    /// Alerts held in the alert-set cache now, and their estimated bytes.
    pub fn cached_alerts(&self) -> CacheHeld {
        self.alert_cache.held()
    }

    /// Applies the dialect's pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for reads outside a transaction (see the `read` field).
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The placeholder for bind number `i`: `$i` on PostgreSQL, a plain `?` on SQLite. SQLite's parser looks `$N` and
/// `?N` up in a list one by one, which makes a statement with thousands of them quadratic to prepare; plain `?`
/// binds in order of appearance, so statements built with these helpers must list their binds in text order.
/// The start of a multi-row insert inside a transaction. On SQLite it is `INSERT OR FAIL`: a constraint that fails
/// still ends the statement with an error (and the caller's transaction is rolled back), but SQLite need not keep a
/// statement journal — a copy of every page the statement changes, written to a temporary file — to undo just that
/// statement. At a million findings a 200-row insert changes a page or more per index per row, so the journal was
/// twice the writes of the WAL itself (BENCHMARKS.md, "Ingest at a million").
pub(crate) fn insert_into(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "INSERT OR FAIL INTO",
        Dialect::Postgres => "INSERT INTO",
    }
}

pub(crate) fn ph(d: Dialect, i: usize) -> String {
    match d {
        Dialect::Sqlite => "?".to_string(),
        Dialect::Postgres => format!("${i}"),
    }
}

/// Placeholders `start..start+n`, comma-separated.
pub(crate) fn placeholders(d: Dialect, start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| ph(d, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2), ($3, $4)` for `rows` rows of `cols` columns.
pub(crate) fn row_placeholders(d: Dialect, rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(d, 1 + r * cols, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn get_str(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get::<String, _>(col).map_err(StoreError::Db)
}

pub(crate) fn get_opt_str(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(col)
        .map_err(StoreError::Db)
}

pub(crate) fn get_i64(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col).map_err(StoreError::Db)
}

pub(crate) fn get_opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(col).map_err(StoreError::Db)
}
