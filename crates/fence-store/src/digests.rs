//! Digest data (new findings, top issues, expiring certificates in a period) and sending a channel's digest
//! exactly once per scheduled time: the mark moves forward in the same transaction that queues the message.

use crate::deliveries::{insert_routed, AlertSet, NewDelivery};
use crate::findings::{finding_from, FindingRow};
use crate::{get_i64, get_opt_i64, get_str, new_id, Result, Store};
use fence_core::Alert;
use sqlx::any::AnyRow;
use sqlx::Row;

impl Store {
    /// Findings first seen in `(from, to]`: how many, and the `top` highest by CVSS then severity.
    pub async fn new_findings(
        &self,
        org_id: &str,
        from: i64,
        to: i64,
        top: i64,
    ) -> Result<(i64, Vec<FindingRow>)> {
        let n = sqlx::query("SELECT COUNT(*) AS n FROM findings WHERE org_id = $1 AND first_seen > $2 AND first_seen <= $3")
            .bind(org_id)
            .bind(from)
            .bind(to)
            .fetch_one(self.reader())
            .await?;
        // The top ones' ids: the known exploited first, then by EPSS score, then by CVSS. The top of the findings with a
        // CVE (which look the feeds up) and of those without, each read from the covering index's range for the
        // period alone (migration 0117), merged.
        let mut candidates = Vec::new();
        for sql in [
            "SELECT f.id AS id, f.cvss AS cvss, f.severity_rank AS severity_rank,
                    CAST(CASE WHEN k.cve IS NULL THEN 0 ELSE 1 END AS BIGINT) AS kev, e.score AS epss
             FROM findings f LEFT JOIN intel_kev k ON k.cve = f.cve LEFT JOIN intel_epss e ON e.cve = f.cve
             WHERE f.org_id = $1 AND f.first_seen > $2 AND f.first_seen <= $3 AND f.cve IS NOT NULL AND f.silence_id IS NULL
             ORDER BY CASE WHEN k.cve IS NULL THEN 1 ELSE 0 END, COALESCE(e.score, -1) DESC, COALESCE(f.cvss, -1) DESC, f.severity_rank DESC, f.id LIMIT $4",
            "SELECT id, cvss, severity_rank, CAST(0 AS BIGINT) AS kev, CAST(NULL AS DOUBLE PRECISION) AS epss FROM findings
             WHERE org_id = $1 AND first_seen > $2 AND first_seen <= $3 AND cve IS NULL AND silence_id IS NULL
             ORDER BY COALESCE(cvss, -1) DESC, severity_rank DESC, id LIMIT $4",
        ] {
            let rows = sqlx::query(sql)
                .bind(org_id)
                .bind(from)
                .bind(to)
                .bind(top)
                .fetch_all(self.reader())
                .await?;
            candidates.extend(rows);
        }
        let ids = top_issues(&candidates, top)?;
        let mut found = Vec::with_capacity(ids.len());
        for r in &ids {
            let row = sqlx::query("SELECT * FROM findings WHERE id = $1")
                .bind(r.as_str())
                .fetch_one(self.reader())
                .await?;
            found.push(finding_from(&row)?);
        }
        Ok((get_i64(&n, "n")?, found))
    }

    /// Findings first seen in `(from, to]`, in id order after `after`, `limit` at most: one page of the report CSV,
    /// which reads the period page by page however many findings it holds.
    pub async fn findings_between(
        &self,
        org_id: &str,
        (from, to): (i64, i64),
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<FindingRow>> {
        // `+first_seen`: walk the findings in id order and filter, rather than take the period's range from
        // `findings_first_seen` and sort all of it again for every page.
        let rows = sqlx::query("SELECT * FROM findings WHERE org_id = $1 AND +first_seen > $2 AND +first_seen <= $3 AND id > $4 ORDER BY id LIMIT $5")
            .bind(org_id)
            .bind(from)
            .bind(to)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(finding_from).collect()
    }

    /// The last scheduled time a channel's digest was sent for.
    pub async fn digest_mark(&self, channel_id: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT last_fire_at FROM digest_marks WHERE channel_id = $1")
            .bind(channel_id)
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| get_i64(&r, "last_fire_at")).transpose()
    }

    /// Starts a channel's digest schedule at `fire_at` without sending (a new digest waits for its next time).
    pub async fn init_digest_mark(&self, channel_id: &str, fire_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO digest_marks (channel_id, last_fire_at) VALUES ($1, $2) ON CONFLICT (channel_id) DO NOTHING")
            .bind(channel_id)
            .bind(fire_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Queues a digest for the scheduled time `fire_at` unless one was already queued for it (by this or another
    /// process); `fire_at: None` sends on demand without touching the schedule. Returns whether it was queued.
    pub async fn enqueue_digest(
        &self,
        org_id: &str,
        channel_id: &str,
        destination: &str,
        alert: Alert,
        fire_at: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if let Some(fire) = fire_at {
            sqlx::query("INSERT INTO digest_marks (channel_id, last_fire_at) VALUES ($1, 0) ON CONFLICT (channel_id) DO NOTHING")
                .bind(channel_id)
                .execute(&mut *tx)
                .await?;
            let r = sqlx::query("UPDATE digest_marks SET last_fire_at = $1 WHERE channel_id = $2 AND last_fire_at < $1")
                .bind(fire)
                .bind(channel_id)
                .execute(&mut *tx)
                .await?;
            if r.rows_affected() == 0 {
                return Ok(false);
            }
        }
        let set = AlertSet {
            id: new_id(),
            org_id: org_id.to_string(),
            alerts: vec![alert],
        };
        let d = NewDelivery {
            id: new_id(),
            org_id: org_id.to_string(),
            channel_id: channel_id.to_string(),
            destination: destination.to_string(),
            alert_type: "digest".into(),
            finding_id: None,
            indices: None,
            alert_count: 1,
            severity_rank: 0,
            due_at: now,
            created_at: now,
        };
        insert_routed(self.dialect, &mut tx, &set, &[d], now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// An observed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    pub domain: String,
    pub fingerprint: String,
    pub not_before: Option<i64>,
    pub not_after: i64,
    pub issuer: String,
    pub sans: Vec<String>,
    /// Day thresholds already alerted for this fingerprint.
    pub alerted: Vec<i64>,
}

impl Store {
    /// Records an observed certificate. A new fingerprint (a renewal) starts with no thresholds alerted.
    pub async fn record_certificate(
        &self,
        org_id: &str,
        c: &CertificateRow,
        now: i64,
    ) -> Result<CertificateRow> {
        let sans = serde_json::to_string(&c.sans)
            .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO certificates (org_id, domain, fingerprint, not_before, not_after, issuer, sans, alerted, observed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', $8)
             ON CONFLICT (org_id, domain) DO UPDATE SET
               alerted = CASE WHEN certificates.fingerprint = excluded.fingerprint THEN certificates.alerted ELSE '[]' END,
               fingerprint = excluded.fingerprint, not_before = excluded.not_before, not_after = excluded.not_after,
               issuer = excluded.issuer, sans = excluded.sans, observed_at = excluded.observed_at",
        )
        .bind(org_id)
        .bind(&c.domain)
        .bind(&c.fingerprint)
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(&c.issuer)
        .bind(sans)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.certificate(org_id, &c.domain).await
    }

    pub async fn certificate(&self, org_id: &str, domain: &str) -> Result<CertificateRow> {
        let r = sqlx::query("SELECT * FROM certificates WHERE org_id = $1 AND domain = $2")
            .bind(org_id)
            .bind(domain)
            .fetch_optional(self.reader())
            .await?;
        let r = r.ok_or(crate::StoreError::NotFound)?;
        cert_from(&r)
    }

    /// Marks thresholds as alerted for a certificate (only if it is still the same fingerprint), queueing the alert
    /// in the same transaction; returns whether it was queued.
    pub async fn alert_certificate(
        &self,
        org_id: &str,
        domain: &str,
        fingerprint: &str,
        alerted: &[i64],
        alert: Alert,
        now: i64,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let json = serde_json::to_string(alerted)
            .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        let r = sqlx::query("UPDATE certificates SET alerted = $1 WHERE org_id = $2 AND domain = $3 AND fingerprint = $4")
            .bind(json)
            .bind(org_id)
            .bind(domain)
            .bind(fingerprint)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(0);
        }
        let channels = crate::deliveries::load_routable_channels(&mut tx, org_id).await?;
        let set = AlertSet {
            id: new_id(),
            org_id: org_id.to_string(),
            alerts: vec![alert],
        };
        let ds = crate::deliveries::route(&channels, &set, now);
        insert_routed(self.dialect, &mut tx, &set, &ds, now).await?;
        tx.commit().await?;
        Ok(ds.len())
    }

    /// Certificates of an organization expiring before `before` (digests).
    pub async fn expiring_certificates(
        &self,
        org_id: &str,
        before: i64,
    ) -> Result<Vec<CertificateRow>> {
        let rows = sqlx::query(
            "SELECT * FROM certificates WHERE org_id = $1 AND not_after <= $2 ORDER BY not_after",
        )
        .bind(org_id)
        .bind(before)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(cert_from).collect()
    }
}

fn cert_from(r: &sqlx::any::AnyRow) -> Result<CertificateRow> {
    Ok(CertificateRow {
        domain: get_str(r, "domain")?,
        fingerprint: get_str(r, "fingerprint")?,
        not_before: get_opt_i64(r, "not_before")?,
        not_after: get_i64(r, "not_after")?,
        issuer: get_str(r, "issuer")?,
        sans: serde_json::from_str(&get_str(r, "sans")?).unwrap_or_default(),
        alerted: serde_json::from_str(&get_str(r, "alerted")?).unwrap_or_default(),
    })
}

/// The ids of the `top` first of `rows` in Top Issues order: the known exploited first, then by EPSS score, then
/// CVSS, severity and id (a finding without a score or a CVSS sorts as -1).
fn top_issues(rows: &[AnyRow], top: i64) -> Result<Vec<String>> {
    let mut all = Vec::with_capacity(rows.len());
    for r in rows {
        all.push((
            -get_i64(r, "kev")?,
            -r.try_get::<Option<f64>, _>("epss")?.unwrap_or(-1.0),
            -r.try_get::<Option<f64>, _>("cvss")?.unwrap_or(-1.0),
            -get_i64(r, "severity_rank")?,
            get_str(r, "id")?,
        ));
    }
    all.sort_by(|x, y| {
        x.0.cmp(&y.0)
            .then(x.1.total_cmp(&y.1))
            .then(x.2.total_cmp(&y.2))
            .then(x.3.cmp(&y.3))
            .then_with(|| x.4.cmp(&y.4))
    });
    Ok(all
        .into_iter()
        .take(usize::try_from(top).unwrap_or(0))
        .map(|t| t.4)
        .collect())
}
