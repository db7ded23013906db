//! Jobs that must run once across every process sharing the database (reminders, digests): a row per job with
//! its next run time and a lease, taken with a compare-and-set `UPDATE` like the delivery lanes.

use crate::{Result, Store};

impl Store {
    /// Takes job `name` when it is due and nobody holds it; returns whether this caller runs it now.
    pub async fn claim_job(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<bool> {
        sqlx::query("INSERT INTO jobs (name, next_run_at, lease_until) VALUES ($1, 0, 0) ON CONFLICT (name) DO NOTHING").bind(name).execute(&self.pool).await?;
        let r = sqlx::query("UPDATE jobs SET lease_owner = $1, lease_until = $2 WHERE name = $3 AND next_run_at <= $4 AND lease_until < $4")
            .bind(owner)
            .bind(now + lease_ms)
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Releases a job and sets when it runs next.
    pub async fn finish_job(&self, name: &str, owner: &str, next_run_at: i64) -> Result<()> {
        sqlx::query("UPDATE jobs SET lease_owner = NULL, lease_until = 0, next_run_at = $1 WHERE name = $2 AND lease_owner = $3")
            .bind(next_run_at)
            .bind(name)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes job `name` due now (a holder of its lease still finishes first).
    pub async fn run_job_now(&self, name: &str) -> Result<()> {
        sqlx::query("UPDATE jobs SET next_run_at = 0 WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
