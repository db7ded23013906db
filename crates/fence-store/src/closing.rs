//! Closing findings a scan no longer sees: open findings of the same domain, tool and scan type that a completed
//! scan did not report are resolved as "no longer detected", and findings a tool closed upstream (Dependabot alerts
//! fixed or dismissed) are resolved or marked false positive; each change with an audit entry naming the scan.

use crate::{get_str, new_id, placeholders, row_placeholders, Result, Store};
use fence_core::FindingStatus;
use sqlx::{Any, Transaction};

const CHUNK: usize = 200;

impl Store {
    /// Resolves the open findings on the scan's domain, from one of `tools`, last seen by an earlier scan of the
    /// same type, that this scan did not see. Returns their ids.
    pub async fn close_missing(
        &self,
        org_id: &str,
        scan_id: &str,
        tools: &[String],
        actor: &str,
        now: i64,
    ) -> Result<Vec<String>> {
        if tools.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dialect;
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT f.id FROM findings f JOIN scans s ON s.id = f.scan_id AND s.org_id = f.org_id
             JOIN scans cur ON cur.id = {} AND cur.org_id = f.org_id
             WHERE f.org_id = {} AND f.status = 'open' AND f.domain = cur.domain AND s.scan_type = cur.scan_type
             AND f.scan_id <> cur.id AND f.scanner IN ({}) ORDER BY f.id",
            crate::ph(d, 1),
            crate::ph(d, 2),
            placeholders(d, 3, tools.len())
        );
        let mut q = sqlx::query(&sql).bind(scan_id).bind(org_id);
        for t in tools {
            q = q.bind(t.as_str());
        }
        let ids: Vec<String> = q
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| get_str(r, "id"))
            .collect::<Result<_>>()?;
        let detail = format!("no longer detected by scan {scan_id}");
        let changes: Vec<(&str, FindingStatus)> = ids
            .iter()
            .map(|id| (id.as_str(), FindingStatus::Resolved))
            .collect();
        apply(self, &mut tx, org_id, &changes, actor, &detail, now).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Applies what a tool says upstream: each fingerprint's finding, unless already in that state, becomes
    /// `status` (resolved when fixed, false positive when dismissed). Returns the ids changed.
    pub async fn close_upstream(
        &self,
        org_id: &str,
        scan_id: &str,
        closed: &[(String, FindingStatus)],
        actor: &str,
        now: i64,
    ) -> Result<Vec<String>> {
        let d = self.dialect;
        let mut tx = self.pool.begin().await?;
        let mut changes: Vec<(String, FindingStatus)> = Vec::new();
        for chunk in closed.chunks(CHUNK) {
            let sql = format!(
                "SELECT id, fingerprint, status FROM findings WHERE org_id = {} AND fingerprint IN ({})",
                crate::ph(d, 1),
                placeholders(d, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(org_id);
            for (fp, _) in chunk {
                q = q.bind(fp.as_str());
            }
            for r in q.fetch_all(&mut *tx).await? {
                let fp = get_str(&r, "fingerprint")?;
                let status = get_str(&r, "status")?;
                if let Some((_, want)) = chunk.iter().find(|(f, _)| *f == fp) {
                    if status != want.as_str() {
                        changes.push((get_str(&r, "id")?, *want));
                    }
                }
            }
        }
        let detail = format!("closed upstream, reported by scan {scan_id}");
        let refs: Vec<(&str, FindingStatus)> =
            changes.iter().map(|(id, s)| (id.as_str(), *s)).collect();
        apply(self, &mut tx, org_id, &refs, actor, &detail, now).await?;
        tx.commit().await?;
        Ok(changes.into_iter().map(|(id, _)| id).collect())
    }
}

/// Sets each finding's status and writes one audit entry per change.
async fn apply(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    changes: &[(&str, FindingStatus)],
    actor: &str,
    detail: &str,
    now: i64,
) -> Result<()> {
    let d = store.dialect;
    for chunk in changes.chunks(CHUNK) {
        for (id, status) in chunk {
            sqlx::query("UPDATE findings SET status = $1, snoozed_until = NULL, updated_at = $2 WHERE id = $3 AND org_id = $4")
                .bind(status.as_str())
                .bind(now)
                .bind(*id)
                .bind(org_id)
                .execute(&mut **tx)
                .await?;
        }
        let sql = format!(
            "INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES {}",
            row_placeholders(d, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for (id, status) in chunk {
            q = q
                .bind(new_id())
                .bind(org_id)
                .bind(actor)
                .bind(format!("finding.{}", status.as_str()))
                .bind(*id)
                .bind(detail)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
