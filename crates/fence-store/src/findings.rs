//! Findings: ingest with dedupe by fingerprint (new / duplicate / reopened / suppressed) in one transaction with
//! the deliveries it causes, listing with filters and cursors, and status changes.

use crate::deliveries::{insert_routed, load_routable_channels, route, AlertSet};
use crate::{
    get_i64, get_opt_i64, get_opt_str, get_str, new_id, placeholders, row_placeholders, Result,
    Store, StoreError,
};
use fence_core::{Alert, Cvss, FindingStatus, NewFinding, Severity, VulnerabilityAlert};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

/// What one ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// The id of each submitted finding, in order (a duplicate gets the existing finding's id).
    pub ids: Vec<String>,
    /// New findings plus reopened ones: each alerts.
    pub new: usize,
    pub duplicates: usize,
    /// Seen again while false positive or snoozed: no alert.
    pub suppressed: usize,
    pub deliveries: usize,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub id: String,
    pub org_id: String,
    pub fingerprint: String,
    pub domain: String,
    pub title: String,
    pub severity: Severity,
    pub cvss: Option<f64>,
    pub cvss_vector: Option<String>,
    pub cve: Option<String>,
    pub owasp: Option<String>,
    pub category: Option<String>,
    pub affected_url: Option<String>,
    pub description: Option<String>,
    pub remediation: Option<String>,
    pub scanner: Option<String>,
    pub scan_id: Option<String>,
    pub detected_at: Option<i64>,
    pub status: FindingStatus,
    pub snoozed_until: Option<i64>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub updated_at: i64,
}

impl FindingRow {
    /// The alert announcing this finding.
    pub fn alert(&self, reopened: bool) -> Alert {
        Alert::Vulnerability(VulnerabilityAlert {
            finding_id: self.id.clone(),
            domain: self.domain.clone(),
            title: self.title.clone(),
            severity: self.severity,
            cvss: self.cvss.and_then(|c| Cvss::new(c).ok()),
            cve: self.cve.clone(),
            owasp: self.owasp.clone(),
            category: self
                .category
                .as_deref()
                .and_then(|c| fence_core::Category::parse(c).ok()),
            affected_url: self.affected_url.clone(),
            has_remediation: self.remediation.is_some(),
            reopened,
        })
    }
}

pub(crate) fn finding_from(r: &AnyRow) -> Result<FindingRow> {
    let severity = get_str(r, "severity")?
        .parse::<Severity>()
        .map_err(StoreError::Corrupt)?;
    let status = FindingStatus::parse(&get_str(r, "status")?).map_err(StoreError::Corrupt)?;
    Ok(FindingRow {
        id: get_str(r, "id")?,
        org_id: get_str(r, "org_id")?,
        fingerprint: get_str(r, "fingerprint")?,
        domain: get_str(r, "domain")?,
        title: get_str(r, "title")?,
        severity,
        cvss: r.try_get::<Option<f64>, _>("cvss")?,
        cvss_vector: get_opt_str(r, "cvss_vector")?,
        cve: get_opt_str(r, "cve")?,
        owasp: get_opt_str(r, "owasp")?,
        category: get_opt_str(r, "category")?,
        affected_url: get_opt_str(r, "affected_url")?,
        description: get_opt_str(r, "description")?,
        remediation: get_opt_str(r, "remediation")?,
        scanner: get_opt_str(r, "scanner")?,
        scan_id: get_opt_str(r, "scan_id")?,
        detected_at: get_opt_i64(r, "detected_at")?,
        status,
        snoozed_until: get_opt_i64(r, "snoozed_until")?,
        first_seen: get_i64(r, "first_seen")?,
        last_seen: get_i64(r, "last_seen")?,
        updated_at: get_i64(r, "updated_at")?,
    })
}

/// Filters of `GET /api/v1/findings`.
#[derive(Debug, Clone, Default)]
pub struct FindingQuery {
    pub severity: Option<Severity>,
    pub domain: Option<String>,
    pub status: Option<FindingStatus>,
    pub category: Option<String>,
    pub since: Option<i64>,
    pub cursor: Option<String>,
    pub limit: i64,
}

fn severity_rank(s: Severity) -> i64 {
    s as i64
}

const FINDING_COLS: usize = 22;
const INSERT_CHUNK: usize = 200;
const SELECT_CHUNK: usize = 500;

impl Store {
    /// Stores a batch of findings and every delivery they cause, atomically. Two processes ingesting the same new
    /// fingerprint at once race on the unique index; the loser retries and then sees the winner's finding as a
    /// duplicate.
    pub async fn ingest(
        &self,
        org_id: &str,
        batch: &[NewFinding],
        now: i64,
    ) -> Result<IngestOutcome> {
        let mut attempt = 0;
        loop {
            match self.ingest_once(org_id, batch, now).await {
                Err(StoreError::Db(sqlx::Error::Database(e)))
                    if e.is_unique_violation() && attempt < 3 =>
                {
                    attempt += 1
                }
                other => return other,
            }
        }
    }

    /// Stores a batch of findings and every delivery they cause, atomically. `actor` goes to the audit trail only
    /// for status changes, not here.
    async fn ingest_once(
        &self,
        org_id: &str,
        batch: &[NewFinding],
        now: i64,
    ) -> Result<IngestOutcome> {
        let mut tx = self.pool.begin().await?;

        // Existing findings with these fingerprints.
        let mut existing: HashMap<String, (String, FindingStatus, Option<i64>)> = HashMap::new();
        let fps: Vec<&str> = batch.iter().map(|f| f.fingerprint.as_str()).collect();
        for chunk in fps.chunks(SELECT_CHUNK) {
            let sql = format!(
                "SELECT id, fingerprint, status, snoozed_until FROM findings WHERE org_id = {} AND fingerprint IN ({})",
                crate::ph(self.dialect, 1),
                placeholders(self.dialect, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(org_id);
            for fp in chunk {
                q = q.bind(*fp);
            }
            for r in q.fetch_all(&mut *tx).await? {
                let status =
                    FindingStatus::parse(&get_str(&r, "status")?).map_err(StoreError::Corrupt)?;
                existing.insert(
                    get_str(&r, "fingerprint")?,
                    (
                        get_str(&r, "id")?,
                        status,
                        get_opt_i64(&r, "snoozed_until")?,
                    ),
                );
            }
        }

        let mut out = IngestOutcome::default();
        let mut inserts: Vec<(&NewFinding, String)> = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        let mut reopened: Vec<(&NewFinding, String)> = Vec::new();
        let mut seen_in_batch: HashMap<&str, String> = HashMap::new();
        let mut alerts: Vec<Alert> = Vec::new();

        for f in batch {
            let fp = f.fingerprint.as_str();
            if let Some(id) = seen_in_batch.get(fp) {
                out.duplicates += 1;
                out.ids.push(id.clone());
                continue;
            }
            let id = match existing.get(fp) {
                None => {
                    let id = new_id();
                    inserts.push((f, id.clone()));
                    out.new += 1;
                    alerts.push(alert_for(f, &id, false));
                    id
                }
                Some((id, status, snoozed_until)) => {
                    match status {
                        FindingStatus::Resolved => {
                            reopened.push((f, id.clone()));
                            out.new += 1;
                            alerts.push(alert_for(f, id, true));
                        }
                        FindingStatus::FalsePositive => {
                            out.suppressed += 1;
                            touched.push(id.clone());
                        }
                        FindingStatus::Snoozed if snoozed_until.is_some_and(|u| u > now) => {
                            out.suppressed += 1;
                            touched.push(id.clone());
                        }
                        FindingStatus::Open | FindingStatus::Snoozed => {
                            out.duplicates += 1;
                            touched.push(id.clone());
                        }
                    }
                    id.clone()
                }
            };
            seen_in_batch.insert(fp, id.clone());
            out.ids.push(id);
        }

        for chunk in inserts.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO findings (id, org_id, fingerprint, domain, title, severity, severity_rank, cvss, cvss_vector, cve, owasp, category, affected_url, description, remediation, scanner, scan_id, detected_at, status, first_seen, last_seen, updated_at) VALUES {}",
                row_placeholders(self.dialect, chunk.len(), FINDING_COLS)
            );
            let mut q = sqlx::query(&sql);
            for (f, id) in chunk {
                q = q
                    .bind(id.as_str())
                    .bind(org_id)
                    .bind(f.fingerprint.as_str())
                    .bind(f.domain.as_str())
                    .bind(f.title.as_str())
                    .bind(f.severity.as_str())
                    .bind(severity_rank(f.severity))
                    .bind(f.cvss.map(Cvss::value))
                    .bind(f.cvss_vector.as_deref())
                    .bind(f.cve.as_deref())
                    .bind(f.owasp.as_deref())
                    .bind(f.category.map(|c| c.as_str()))
                    .bind(f.affected_url.as_deref())
                    .bind(f.description.as_deref())
                    .bind(f.remediation.as_deref())
                    .bind(f.scanner.as_deref())
                    .bind(f.scan_id.as_deref())
                    .bind(f.detected_at)
                    .bind("open")
                    .bind(now)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }

        // A batch from one scan (results, imports) marks what it saw again as last seen by that scan, so the
        // scan's report lists every finding it found, new or not.
        let batch_scan = batch
            .first()
            .and_then(|f| f.scan_id.as_deref())
            .filter(|s| batch.iter().all(|f| f.scan_id.as_deref() == Some(*s)));
        for chunk in touched.chunks(SELECT_CHUNK) {
            let sql = format!(
                "UPDATE findings SET last_seen = {}, scan_id = COALESCE({}, scan_id) WHERE org_id = {} AND id IN ({})",
                crate::ph(self.dialect, 1),
                crate::ph(self.dialect, 2),
                crate::ph(self.dialect, 3),
                placeholders(self.dialect, 4, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(now).bind(batch_scan).bind(org_id);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            q.execute(&mut *tx).await?;
        }

        for (f, id) in &reopened {
            sqlx::query(
                "UPDATE findings SET status = 'open', snoozed_until = NULL, last_seen = $1, updated_at = $1, title = $2, severity = $3, severity_rank = $4, cvss = $5, cve = $6, owasp = $7, affected_url = $8, description = COALESCE($9, description), remediation = COALESCE($10, remediation) WHERE id = $11 AND org_id = $12",
            )
            .bind(now)
            .bind(f.title.as_str())
            .bind(f.severity.as_str())
            .bind(severity_rank(f.severity))
            .bind(f.cvss.map(Cvss::value))
            .bind(f.cve.as_deref())
            .bind(f.owasp.as_deref())
            .bind(f.affected_url.as_deref())
            .bind(f.description.as_deref())
            .bind(f.remediation.as_deref())
            .bind(id.as_str())
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        }

        // Assets: a finding for an unknown domain creates it.
        let mut domains: Vec<&str> = inserts.iter().map(|(f, _)| f.domain.as_str()).collect();
        domains.sort_unstable();
        domains.dedup();
        for chunk in domains.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO domains (id, org_id, name, created_at) VALUES {} ON CONFLICT (org_id, name) DO NOTHING",
                row_placeholders(self.dialect, chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q.bind(new_id()).bind(org_id).bind(*d).bind(now);
            }
            q.execute(&mut *tx).await?;
        }

        if !alerts.is_empty() {
            let channels = load_routable_channels(&mut tx, org_id).await?;
            let set = AlertSet {
                id: new_id(),
                org_id: org_id.to_string(),
                alerts,
            };
            let deliveries = route(&channels, &set, now);
            out.deliveries = deliveries.len();
            insert_routed(self.dialect, &mut tx, &set, &deliveries, now).await?;
        }

        tx.commit().await?;
        Ok(out)
    }

    pub async fn finding(&self, org_id: &str, id: &str) -> Result<FindingRow> {
        let row = sqlx::query("SELECT * FROM findings WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(finding_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Newest first; `cursor` is the last id of the previous page.
    pub async fn list_findings(&self, org_id: &str, q: &FindingQuery) -> Result<Vec<FindingRow>> {
        let mut sql = String::from("SELECT * FROM findings WHERE org_id = $1");
        let mut binds: Vec<String> = Vec::new();
        let mut n = 2;
        let mut add = |sql: &mut String, clause: &str, v: String| {
            sql.push_str(&clause.replace('?', &format!("${n}")));
            binds.push(v);
            n += 1;
        };
        if let Some(s) = q.severity {
            add(&mut sql, " AND severity = ?", s.as_str().into());
        }
        if let Some(d) = &q.domain {
            add(&mut sql, " AND domain = ?", d.clone());
        }
        if let Some(s) = q.status {
            add(&mut sql, " AND status = ?", s.as_str().into());
        }
        if let Some(c) = &q.category {
            add(&mut sql, " AND category = ?", c.clone());
        }
        if let Some(c) = &q.cursor {
            add(&mut sql, " AND id < ?", c.clone());
        }
        let since_pos = q.since.map(|_| {
            let p = n;
            sql.push_str(&format!(" AND first_seen >= ${p}"));
            n += 1;
            p
        });
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        let _ = since_pos;
        let mut query = sqlx::query(&sql).bind(org_id);
        for b in &binds {
            query = query.bind(b.as_str());
        }
        if let Some(s) = q.since {
            query = query.bind(s);
        }
        query = query.bind(q.limit);
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(finding_from).collect()
    }

    /// Changes a finding's status (false positive, snooze, resolve, reopen) and writes the audit entry.
    pub async fn set_finding_status(
        &self,
        org_id: &str,
        id: &str,
        status: FindingStatus,
        snoozed_until: Option<i64>,
        actor: &str,
        now: i64,
    ) -> Result<FindingRow> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE findings SET status = $1, snoozed_until = $2, updated_at = $3 WHERE id = $4 AND org_id = $5")
            .bind(status.as_str())
            .bind(snoozed_until)
            .bind(now)
            .bind(id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let detail = snoozed_until.map(|u| format!("snoozed until {u}"));
        sqlx::query("INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(new_id())
            .bind(org_id)
            .bind(actor)
            .bind(format!("finding.{}", status.as_str()))
            .bind(id)
            .bind(detail)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.finding(org_id, id).await
    }

    /// The findings a scan found (new ones, and ones it saw again), most severe first.
    pub async fn findings_of_scan(&self, org_id: &str, scan_id: &str) -> Result<Vec<FindingRow>> {
        let rows = sqlx::query("SELECT * FROM findings WHERE org_id = $1 AND scan_id = $2 ORDER BY severity_rank DESC, id LIMIT 100000")
            .bind(org_id)
            .bind(scan_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(finding_from).collect()
    }

    pub async fn count_findings(&self, org_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM findings WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?;
        get_i64(&row, "n")
    }
}

fn alert_for(f: &NewFinding, id: &str, reopened: bool) -> Alert {
    Alert::Vulnerability(VulnerabilityAlert {
        finding_id: id.to_string(),
        domain: f.domain.as_str().to_string(),
        title: f.title.clone(),
        severity: f.severity,
        cvss: f.cvss,
        cve: f.cve.clone(),
        owasp: f.owasp.clone(),
        category: f.category,
        affected_url: f.affected_url.clone(),
        has_remediation: f.remediation.is_some(),
        reopened,
    })
}
