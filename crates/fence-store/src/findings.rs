//! Findings: stored rows, listing with filters and cursors, and status changes (ingest is in `ingest`).

use crate::{get_i64, get_opt_i64, get_opt_str, get_str, new_id, Result, Store, StoreError};
use fence_core::{Alert, Cvss, FindingStatus, Severity, VulnerabilityAlert};
use sqlx::any::AnyRow;
use sqlx::Row;

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
    /// Of `new`, those an active silence kept from alerting (stored and counted all the same).
    pub silenced: usize,
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
    pub rule: Option<String>,
    pub package: Option<String>,
    /// The silence that matched when the finding was stored or reopened (active or not).
    pub silence_id: Option<String>,
    /// Who acknowledged it (`slack:U…`, `user:…`, `token:…`) and when; escalation stops there.
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
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
            intel: None,
            now_exploited: false,
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
        rule: get_opt_str(r, "rule")?,
        package: get_opt_str(r, "package")?,
        silence_id: get_opt_str(r, "silence_id")?,
        acknowledged_by: get_opt_str(r, "acknowledged_by")?,
        acknowledged_at: get_opt_i64(r, "acknowledged_at")?,
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
    /// Only findings whose CVE is in the KEV catalog.
    pub known_exploited: bool,
    /// Only findings whose CVE's EPSS score is at least this.
    pub min_epss: Option<f64>,
    pub cursor: Option<String>,
    pub limit: i64,
}

impl FindingQuery {
    /// Whether the filters have an index of their own (no filter; severity; domain; status; severity and status;
    /// domain, severity and status; known exploited with severity and status at most): such pages read only what
    /// they return.
    fn indexed(&self) -> bool {
        let q = self;
        // Known exploited: the catalog's CVEs (a few thousand) lead to their findings by the CVE index.
        let by_cve = q.known_exploited
            && q.min_epss.is_none()
            && q.category.is_none()
            && q.since.is_none()
            && q.domain.is_none();
        by_cve
            || q.category.is_none()
                && q.since.is_none()
                && !q.known_exploited
                && q.min_epss.is_none()
                && matches!(
                    (q.severity.is_some(), q.domain.is_some(), q.status.is_some()),
                    (false, false, _)
                        | (true, false, _)
                        | (false, true, false)
                        | (true, true, true)
                )
    }
}

/// Findings a filter without an index of its own looks at per page.
pub const SCAN_WINDOW: i64 = 10_000;

/// A page of findings.
#[derive(Debug)]
pub struct FindingPage {
    pub findings: Vec<FindingRow>,
    /// Set when the page came from a bounded scan that stopped before finding enough: the next page starts below
    /// this id.
    pub scanned_to: Option<String>,
}

pub(crate) fn severity_rank(s: Severity) -> i64 {
    s as i64
}

impl Store {
    pub async fn finding(&self, org_id: &str, id: &str) -> Result<FindingRow> {
        let row = sqlx::query("SELECT * FROM findings WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(finding_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Newest first; `cursor` is the last id of the previous page.
    /// Findings newest first. The filter sets with an index of their own (none; severity; domain; status; severity
    /// and status; domain, severity and status) read only what they return; any other looks at no more than
    /// [`SCAN_WINDOW`] findings from the cursor and says where it stopped ([`FindingPage::scanned_to`]), so a page
    /// may hold fewer findings than asked for and still have a next one.
    pub async fn list_findings(&self, org_id: &str, q: &FindingQuery) -> Result<Vec<FindingRow>> {
        Ok(self.list_findings_page(org_id, q).await?.findings)
    }

    /// [`Store::list_findings`] with where a bounded scan stopped.
    pub async fn list_findings_page(&self, org_id: &str, q: &FindingQuery) -> Result<FindingPage> {
        let indexed = q.indexed();
        // Binds in order: the organization ($1), the cursor ($2) when there is one, then the filters.
        let cursor = if q.cursor.is_some() {
            " AND id < $2"
        } else {
            ""
        };
        let mut sql = if indexed {
            format!("SELECT * FROM findings WHERE org_id = $1{cursor}")
        } else {
            format!("SELECT * FROM (SELECT * FROM findings WHERE org_id = $1{cursor} ORDER BY id DESC LIMIT {SCAN_WINDOW}) scanned WHERE org_id = $1")
        };
        let mut binds: Vec<String> = Vec::new();
        let mut n = if q.cursor.is_some() { 3 } else { 2 };
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
        if q.known_exploited {
            sql.push_str(" AND cve IN (SELECT cve FROM intel_kev)");
        }
        if q.since.is_some() {
            sql.push_str(&format!(" AND first_seen >= ${n}"));
            n += 1;
        }
        if q.min_epss.is_some() {
            sql.push_str(&format!(
                " AND cve IN (SELECT cve FROM intel_epss WHERE score >= ${n})"
            ));
            n += 1;
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some(c) = &q.cursor {
            query = query.bind(c.as_str());
        }
        for b in &binds {
            query = query.bind(b.as_str());
        }
        if let Some(s) = q.since {
            query = query.bind(s);
        }
        if let Some(e) = q.min_epss {
            query = query.bind(e);
        }
        query = query.bind(q.limit);
        let rows = query.fetch_all(self.reader()).await?;
        let findings: Vec<FindingRow> = rows.iter().map(finding_from).collect::<Result<_>>()?;
        let scanned_to = if indexed || (findings.len() as i64) >= q.limit {
            None
        } else {
            self.window_end(org_id, q.cursor.as_deref()).await?
        };
        Ok(FindingPage {
            findings,
            scanned_to,
        })
    }

    /// The last finding of the scan window below `cursor`, when the window was full (more lie beyond it).
    async fn window_end(&self, org_id: &str, cursor: Option<&str>) -> Result<Option<String>> {
        let sql = format!(
            "SELECT id FROM findings WHERE org_id = $1{} ORDER BY id DESC LIMIT 1 OFFSET {}",
            if cursor.is_some() { " AND id < $2" } else { "" },
            SCAN_WINDOW - 1
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        if let Some(c) = cursor {
            q = q.bind(c);
        }
        let row = q.fetch_optional(self.reader()).await?;
        row.map(|r| get_str(&r, "id")).transpose()
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
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(finding_from).collect()
    }

    pub async fn count_findings(&self, org_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT findings_count AS n FROM organizations WHERE id = $1")
            .bind(org_id)
            .fetch_one(self.reader())
            .await?;
        get_i64(&row, "n")
    }
}

impl Store {
    /// Findings most exploitable first — in the KEV catalog, then by EPSS score, then by CVSS, then newest — with
    /// the list's filters; `offset` pages through them (the order has no single column to resume from). This sorts
    /// every finding the filters select, so it costs what they select, not what one page holds.
    pub async fn list_by_exploitability(
        &self,
        org_id: &str,
        q: &FindingQuery,
        offset: i64,
    ) -> Result<Vec<FindingRow>> {
        let mut sql = String::from(
            "SELECT f.* FROM findings f LEFT JOIN intel_kev k ON k.cve = f.cve LEFT JOIN intel_epss e ON e.cve = f.cve WHERE f.org_id = $1",
        );
        let mut n = 2;
        let mut text: Vec<String> = Vec::new();
        let mut add = |sql: &mut String, clause: &str, v: String| {
            sql.push_str(&clause.replace('?', &format!("${n}")));
            text.push(v);
            n += 1;
        };
        if let Some(s) = q.severity {
            add(&mut sql, " AND f.severity = ?", s.as_str().into());
        }
        if let Some(d) = &q.domain {
            add(&mut sql, " AND f.domain = ?", d.clone());
        }
        if let Some(s) = q.status {
            add(&mut sql, " AND f.status = ?", s.as_str().into());
        }
        if let Some(c) = &q.category {
            add(&mut sql, " AND f.category = ?", c.clone());
        }
        if q.known_exploited {
            sql.push_str(" AND k.cve IS NOT NULL");
        }
        let mut numbers: Vec<f64> = Vec::new();
        if let Some(e) = q.min_epss {
            sql.push_str(&format!(" AND e.score >= ${n}"));
            numbers.push(e);
            n += 1;
        }
        if q.since.is_some() {
            sql.push_str(&format!(" AND f.first_seen >= ${n}"));
            n += 1;
        }
        sql.push_str(&format!(
            " ORDER BY CASE WHEN k.cve IS NULL THEN 1 ELSE 0 END, COALESCE(e.score, -1) DESC, COALESCE(f.cvss, -1) DESC, f.id DESC LIMIT ${} OFFSET ${}",
            n,
            n + 1
        ));
        let mut query = sqlx::query(&sql).bind(org_id);
        for t in &text {
            query = query.bind(t.as_str());
        }
        for e in numbers {
            query = query.bind(e);
        }
        if let Some(s) = q.since {
            query = query.bind(s);
        }
        let rows = query
            .bind(q.limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(finding_from).collect()
    }
}
