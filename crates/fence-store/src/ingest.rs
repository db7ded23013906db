//! Ingest: a batch of findings deduplicated by fingerprint (new / duplicate / reopened / suppressed) and stored in
//! one transaction with their domains and every delivery they cause.

use crate::deliveries::{insert_routed, load_routable_channels, AlertSet};
use crate::findings::{severity_rank, IngestOutcome};
use crate::silences::{record_silenced, Silencer};
use crate::{
    get_opt_i64, get_str, new_id, placeholders, row_placeholders, Dialect, Result, Store,
    StoreError,
};
use fence_core::{Alert, Cvss, FindingStatus, NewFinding, VulnerabilityAlert};
use sqlx::{Any, Transaction};
use std::collections::HashMap;

const FINDING_COLS: usize = 25;
const INSERT_CHUNK: usize = 200;
const SELECT_CHUNK: usize = 500;

/// A stored finding with the batch's fingerprint: its id, status and snooze end.
type Existing = HashMap<String, (String, FindingStatus, Option<i64>)>;

/// What each finding of a batch becomes.
#[derive(Default)]
struct Sorted<'a> {
    out: IngestOutcome,
    inserts: Vec<Stored<'a>>,
    /// Seen again: only `last_seen` (and the scan) change.
    touched: Vec<String>,
    reopened: Vec<Stored<'a>>,
    alerts: Vec<Alert>,
    /// (finding id, silence id) of each new or reopened finding an active silence keeps quiet.
    silenced: Vec<(String, String)>,
}

/// A finding to insert or reopen: its id and the silence that keeps it from alerting.
struct Stored<'a> {
    f: &'a NewFinding,
    id: String,
    silence: Option<String>,
}

/// Sorts a batch against what is stored: new, reopened (was resolved), suppressed (false positive, snoozed) or
/// duplicate (also a fingerprint repeated inside the batch). A new or reopened finding that an active silence matches
/// is stored without an alert.
fn sort_batch<'a>(
    batch: &'a [NewFinding],
    existing: &Existing,
    silencer: &Silencer,
    now: i64,
) -> Sorted<'a> {
    let mut s = Sorted::default();
    let mut seen_in_batch: HashMap<&str, String> = HashMap::new();
    for f in batch {
        let fp = f.fingerprint.as_str();
        if let Some(id) = seen_in_batch.get(fp) {
            s.out.duplicates += 1;
            s.out.ids.push(id.clone());
            continue;
        }
        let id = match existing.get(fp) {
            None => {
                let id = new_id();
                let silence = s.announce(f, &id, false, silencer);
                s.inserts.push(Stored {
                    f,
                    id: id.clone(),
                    silence,
                });
                id
            }
            Some((id, status, snoozed_until)) => {
                match status {
                    FindingStatus::Resolved => {
                        let silence = s.announce(f, id, true, silencer);
                        s.reopened.push(Stored {
                            f,
                            id: id.clone(),
                            silence,
                        });
                    }
                    FindingStatus::FalsePositive => {
                        s.out.suppressed += 1;
                        s.touched.push(id.clone());
                    }
                    FindingStatus::Snoozed if snoozed_until.is_some_and(|u| u > now) => {
                        s.out.suppressed += 1;
                        s.touched.push(id.clone());
                    }
                    FindingStatus::Open | FindingStatus::Snoozed => {
                        s.out.duplicates += 1;
                        s.touched.push(id.clone());
                    }
                }
                id.clone()
            }
        };
        seen_in_batch.insert(fp, id.clone());
        s.out.ids.push(id);
    }
    s
}

impl Sorted<'_> {
    /// Counts a new or reopened finding and queues its alert, unless a silence matches it: then the silence's id.
    fn announce(
        &mut self,
        f: &NewFinding,
        id: &str,
        reopened: bool,
        silencer: &Silencer,
    ) -> Option<String> {
        self.out.new += 1;
        match silencer.matching(f) {
            Some(silence) => {
                self.out.silenced += 1;
                self.silenced.push((id.to_string(), silence.to_string()));
                Some(silence.to_string())
            }
            None => {
                self.alerts.push(alert_for(f, id, reopened));
                None
            }
        }
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
        intel: None,
        now_exploited: false,
    })
}

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
        self.ingest_guarded(org_id, batch, now, None).await
    }

    /// Stores a scan's results, in the same transaction as the check that the scan is still open: the scan moves
    /// to `reporting` (until [`Store::finish_scan`]), so a second report, or one for a scan that has ended, is a
    /// `Conflict` that stores nothing.
    pub async fn ingest_scan_results(
        &self,
        org_id: &str,
        scan_id: &str,
        batch: &[NewFinding],
        now: i64,
    ) -> Result<IngestOutcome> {
        self.ingest_guarded(org_id, batch, now, Some(scan_id)).await
    }

    async fn ingest_guarded(
        &self,
        org_id: &str,
        batch: &[NewFinding],
        now: i64,
        scan: Option<&str>,
    ) -> Result<IngestOutcome> {
        let mut attempt = 0;
        loop {
            match self.ingest_once(org_id, batch, now, scan).await {
                Err(StoreError::Db(sqlx::Error::Database(e)))
                    if e.is_unique_violation() && attempt < 3 =>
                {
                    attempt += 1
                }
                other => return other,
            }
        }
    }

    async fn ingest_once(
        &self,
        org_id: &str,
        batch: &[NewFinding],
        now: i64,
        scan: Option<&str>,
    ) -> Result<IngestOutcome> {
        let d = self.dialect;
        let mut tx = self.pool.begin().await?;
        if let Some(scan_id) = scan {
            // Reporting holds the scan for ten minutes; a process that dies before finishing it leaves it to
            // `expire_scans`.
            let open = sqlx::query("UPDATE scans SET status = 'reporting', lease_until = $1 WHERE id = $2 AND org_id = $3 AND status IN ('queued', 'running')")
                .bind(now + 600_000)
                .bind(scan_id)
                .bind(org_id)
                .execute(&mut *tx)
                .await?;
            if open.rows_affected() == 0 {
                return Err(StoreError::Conflict("this scan has already ended".into()));
            }
        }
        let existing = existing_findings(d, &mut tx, org_id, batch).await?;
        // Silences matter only to what would alert: a batch of findings seen again reads none.
        let announces = batch.iter().any(|f| {
            existing
                .get(f.fingerprint.as_str())
                .is_none_or(|(_, status, _)| *status == FindingStatus::Resolved)
        });
        let silencer = if announces {
            Silencer::load(d, &mut tx, org_id, batch, now).await?
        } else {
            Silencer::none()
        };
        let mut s = sort_batch(batch, &existing, &silencer, now);
        insert_findings(d, &mut tx, org_id, &s.inserts, now).await?;
        let mut new_by_severity = std::collections::BTreeMap::new();
        for Stored { f, .. } in &s.inserts {
            *new_by_severity.entry(f.severity.as_str()).or_insert(0i64) += 1;
        }
        crate::counts::add_new(&mut tx, org_id, &new_by_severity).await?;
        crate::days::add_opened(&mut tx, org_id, now, s.inserts.len() as i64).await?;
        // A batch from one scan (results, imports) marks what it saw again as last seen by that scan, so the
        // scan's report lists every finding it found, new or not.
        let batch_scan = batch
            .first()
            .and_then(|f| f.scan_id.as_deref())
            .filter(|s| batch.iter().all(|f| f.scan_id.as_deref() == Some(*s)));
        touch_findings(d, &mut tx, org_id, &s.touched, batch_scan, now).await?;
        reopen_findings(&mut tx, org_id, &s.reopened, now).await?;
        insert_domains(d, &mut tx, org_id, &s.inserts, now).await?;
        if !silencer.is_empty() && !s.silenced.is_empty() {
            record_silenced(d, &mut tx, org_id, &silencer, &s.silenced, now).await?;
        }
        if !s.alerts.is_empty() {
            crate::intel::attach_intel(d, &mut tx, &mut s.alerts).await?;
            let channels = load_routable_channels(&mut tx, org_id).await?;
            let set = AlertSet {
                id: new_id(),
                org_id: org_id.to_string(),
                alerts: std::mem::take(&mut s.alerts),
            };
            let tags =
                crate::deliveries::domain_tags_for(&mut tx, org_id, &channels, &set.alerts).await?;
            let deliveries = crate::deliveries::route_tagged(&channels, &set, &tags, now);
            s.out.deliveries = deliveries.len();
            insert_routed(d, &mut tx, &set, &deliveries, now).await?;
        }
        if !s.inserts.is_empty() {
            // Last, so a PostgreSQL ingest holds the organization's row only for its commit.
            sqlx::query(
                "UPDATE organizations SET findings_count = findings_count + $1 WHERE id = $2",
            )
            .bind(i64::try_from(s.inserts.len()).unwrap_or(i64::MAX))
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(s.out)
    }
}

/// Stored findings with the batch's fingerprints.
async fn existing_findings(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    batch: &[NewFinding],
) -> Result<Existing> {
    let mut existing = Existing::new();
    let fps: Vec<&str> = batch.iter().map(|f| f.fingerprint.as_str()).collect();
    for chunk in fps.chunks(SELECT_CHUNK) {
        let sql = format!(
            "SELECT id, fingerprint, status, snoozed_until FROM findings WHERE org_id = {} AND fingerprint IN ({})",
            crate::ph(d, 1),
            placeholders(d, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for fp in chunk {
            q = q.bind(*fp);
        }
        for r in q.fetch_all(&mut **tx).await? {
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
    Ok(existing)
}

async fn insert_findings(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    inserts: &[Stored<'_>],
    now: i64,
) -> Result<()> {
    for chunk in inserts.chunks(INSERT_CHUNK) {
        let sql = format!(
            "{} findings (id, org_id, fingerprint, domain, title, severity, severity_rank, cvss, cvss_vector, cve, owasp, category, affected_url, description, remediation, scanner, scan_id, detected_at, status, first_seen, last_seen, updated_at, rule, package, silence_id) VALUES {}",
            crate::insert_into(d),
            row_placeholders(d, chunk.len(), FINDING_COLS)
        );
        let mut q = sqlx::query(&sql);
        for Stored { f, id, silence } in chunk {
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
                .bind(now)
                .bind(f.rule.as_deref())
                .bind(f.package.as_deref())
                .bind(silence.as_deref());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Marks findings seen again: `last_seen`, and the scan that saw them when the batch is one scan's.
async fn touch_findings(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    touched: &[String],
    batch_scan: Option<&str>,
    now: i64,
) -> Result<()> {
    for chunk in touched.chunks(SELECT_CHUNK) {
        let sql = format!(
            "UPDATE findings SET last_seen = {}, scan_id = COALESCE({}, scan_id) WHERE org_id = {} AND id IN ({})",
            crate::ph(d, 1),
            crate::ph(d, 2),
            crate::ph(d, 3),
            placeholders(d, 4, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(now).bind(batch_scan).bind(org_id);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Reopens resolved findings seen again, with what the scanner says of them now.
async fn reopen_findings(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    reopened: &[Stored<'_>],
    now: i64,
) -> Result<()> {
    for Stored { f, id, silence } in reopened {
        sqlx::query(
            "UPDATE findings SET status = 'open', snoozed_until = NULL, last_seen = $1, updated_at = $1, title = $2, severity = $3, severity_rank = $4, cvss = $5, cve = $6, owasp = $7, affected_url = $8, description = COALESCE($9, description), remediation = COALESCE($10, remediation), scan_id = COALESCE($13, scan_id), rule = COALESCE($14, rule), package = COALESCE($15, package), silence_id = $16 WHERE id = $11 AND org_id = $12",
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
        .bind(f.scan_id.as_deref())
        .bind(f.rule.as_deref())
        .bind(f.package.as_deref())
        .bind(silence.as_deref())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Assets: a finding for an unknown domain creates it.
async fn insert_domains(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    inserts: &[Stored<'_>],
    now: i64,
) -> Result<()> {
    let mut domains: Vec<&str> = inserts.iter().map(|s| s.f.domain.as_str()).collect();
    domains.sort_unstable();
    domains.dedup();
    for chunk in domains.chunks(INSERT_CHUNK) {
        let sql = format!(
            "{} domains (id, org_id, name, created_at) VALUES {} ON CONFLICT (org_id, name) DO NOTHING",
            crate::insert_into(d),
            row_placeholders(d, chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for name in chunk {
            q = q.bind(new_id()).bind(org_id).bind(*name).bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
