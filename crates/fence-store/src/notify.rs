//! Wake-ups across processes. On PostgreSQL every transaction that stores deliveries, or queues a built-in scan,
//! also sends a notification (`pg_notify`, delivered when it commits), and each `fence serve` listens on its own
//! connection, so a process that did not ingest learns of new work at once instead of at its next poll. SQLite has
//! one server per database: there is nobody else to tell.

use crate::{Dialect, Result, Store};
use sqlx::{Any, Transaction};

const DELIVERIES: &str = "fence_deliveries";
const SCANS: &str = "fence_scans";

/// What a notification announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Deliveries,
    Scans,
}

/// Notifications from every process sharing the PostgreSQL database (this one's included).
pub struct WakeUps(sqlx::postgres::PgListener);

impl WakeUps {
    /// The next notification. A lost connection is re-opened (notifications sent meanwhile are lost; the workers'
    /// polls find that work).
    pub async fn next(&mut self) -> Result<Work> {
        let n = self.0.recv().await?;
        Ok(if n.channel() == SCANS {
            Work::Scans
        } else {
            Work::Deliveries
        })
    }
}

impl Store {
    /// Listens for other processes' work; `None` on SQLite.
    pub async fn wake_ups(&self) -> Result<Option<WakeUps>> {
        let Some(url) = self.listen_url.as_deref() else {
            return Ok(None);
        };
        let mut l = sqlx::postgres::PgListener::connect(url.expose()).await?;
        l.listen_all([DELIVERIES, SCANS]).await?;
        Ok(Some(WakeUps(l)))
    }
}

/// Announces, at the commit of `tx`, that deliveries were stored.
pub(crate) async fn deliveries_stored(
    d: Dialect,
    tx: &mut Transaction<'static, Any>,
) -> Result<()> {
    announce(d, tx, DELIVERIES).await
}

/// Announces, at the commit of `tx`, that a scan was queued.
pub(crate) async fn scan_queued(d: Dialect, tx: &mut Transaction<'static, Any>) -> Result<()> {
    announce(d, tx, SCANS).await
}

async fn announce(d: Dialect, tx: &mut Transaction<'static, Any>, channel: &str) -> Result<()> {
    if d == Dialect::Postgres {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(channel)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
