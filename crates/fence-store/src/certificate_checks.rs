//! The certificate monitor's per-domain schedule: which monitored domains are due (not checked within the period),
//! taken with a lease so that each is checked by one process at a time, and marked checked afterwards.

use crate::domains::{domain_from, DomainRow};
use crate::{get_str, Result, Store};

/// A monitored domain taken for a check.
#[derive(Debug, Clone)]
pub struct CertificateCheck {
    pub id: String,
    pub org_id: String,
    pub domain: DomainRow,
}

impl Store {
    /// Takes up to `limit` monitored domains last checked at or before `due_before` that no live lease holds, least
    /// recently checked first, for `lease_ms`. Two processes asking at once get different domains.
    pub async fn claim_certificate_checks(
        &self,
        owner: &str,
        now: i64,
        due_before: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<CertificateCheck>> {
        let mut tx = self.pool.begin().await?;
        let candidates = sqlx::query("SELECT id FROM domains WHERE monitor_certificates = 1 AND cert_checked_at <= $1 AND cert_lease_until < $2 ORDER BY cert_checked_at, id LIMIT $3")
            .bind(due_before)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let mut claimed = Vec::new();
        for c in &candidates {
            let id = get_str(c, "id")?;
            let r = sqlx::query("UPDATE domains SET cert_lease_owner = $1, cert_lease_until = $2 WHERE id = $3 AND cert_lease_until < $4")
                .bind(owner)
                .bind(now + lease_ms)
                .bind(&id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if r.rows_affected() == 1 {
                let row = sqlx::query("SELECT * FROM domains WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut *tx)
                    .await?;
                claimed.push(CertificateCheck {
                    org_id: get_str(&row, "org_id")?,
                    domain: domain_from(&row)?,
                    id,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Marks a domain taken by `owner` as checked at `now` (whatever the check found) and gives its lease back.
    pub async fn finish_certificate_check(&self, id: &str, owner: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE domains SET cert_checked_at = $1, cert_lease_owner = NULL, cert_lease_until = 0 WHERE id = $2 AND cert_lease_owner = $3")
            .bind(now)
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
