//! The KEV and EPSS feeds in the database (migration 0116): each load fills a staging table and, in the same
//! commit, deletes what left the feed, inserts what is new and updates only the rows that changed; a KEV load also
//! raises "Now Known Exploited" for open findings whose CVE just entered the catalog (once per finding). Findings read
//! their `known_exploited` and `epss` by CVE.

use crate::deliveries::{insert_routed, load_routable_channels, AlertSet};
use crate::findings::finding_from;
use crate::{
    get_i64, get_opt_str, get_str, new_id, placeholders, row_placeholders, Dialect, Result, Store,
};
use fence_core::intel::{Epss, EpssRow, FeedError, Intel, KevEntry, KnownExploited};
use fence_core::Alert;
use sqlx::{Any, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

/// What a load did: the feed's entries, the open findings it now matches, and those it newly marked exploited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedLoad {
    pub entries: usize,
    pub matched_open_findings: i64,
    pub newly_flagged: usize,
}

/// Rows per insert into a staging table.
const STAGE_ROWS: usize = 200;

impl Store {
    /// Replaces the KEV catalog and queues "Now Known Exploited" for the open findings it newly lists.
    pub async fn replace_kev(&self, entries: &[KevEntry], now: i64) -> Result<FeedLoad> {
        let d = self.dialect;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM intel_kev_next")
            .execute(&mut *tx)
            .await?;
        let mut unique: BTreeMap<&str, &KevEntry> = BTreeMap::new();
        for e in entries {
            unique.insert(e.cve.as_str(), e);
        }
        let rows: Vec<&KevEntry> = unique.into_values().collect();
        for chunk in rows.chunks(STAGE_ROWS) {
            let sql = format!(
                "INSERT INTO intel_kev_next (cve, date_added, due_date, ransomware) VALUES {}",
                row_placeholders(d, chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.cve.as_str())
                    .bind(e.known.date_added.as_str())
                    .bind(e.known.due_date.as_deref())
                    .bind(i64::from(e.known.ransomware));
            }
            q.execute(&mut *tx).await?;
        }
        // Open findings whose CVE enters the catalog now, not told before.
        let newly = sqlx::query(
            "SELECT f.* FROM findings f JOIN intel_kev_next n ON n.cve = f.cve
             WHERE f.status = 'open' AND f.kev_alerted_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM intel_kev k WHERE k.cve = f.cve)
             ORDER BY f.org_id, f.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let newly: Vec<crate::findings::FindingRow> =
            newly.iter().map(finding_from).collect::<Result<_>>()?;
        sqlx::query("DELETE FROM intel_kev WHERE cve NOT IN (SELECT cve FROM intel_kev_next)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO intel_kev (cve, date_added, due_date, ransomware)
             SELECT cve, date_added, due_date, ransomware FROM intel_kev_next WHERE true
             ON CONFLICT (cve) DO UPDATE SET date_added = excluded.date_added, due_date = excluded.due_date, ransomware = excluded.ransomware
             WHERE intel_kev.date_added <> excluded.date_added OR intel_kev.ransomware <> excluded.ransomware
                OR NOT (intel_kev.due_date = excluded.due_date OR (intel_kev.due_date IS NULL AND excluded.due_date IS NULL))",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM intel_kev_next")
            .execute(&mut *tx)
            .await?;
        announce_exploited(d, &mut tx, &newly, now).await?;
        let load = finish(&mut tx, "kev", rows.len(), newly.len(), now).await?;
        tx.commit().await?;
        Ok(load)
    }

    /// Replaces the EPSS scores from `rows`; the first malformed row stops the load and nothing changes.
    pub async fn replace_epss<'a>(
        &self,
        rows: impl Iterator<Item = std::result::Result<EpssRow, FeedError>> + 'a,
        now: i64,
    ) -> Result<std::result::Result<FeedLoad, FeedError>> {
        let d = self.dialect;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM intel_epss_next")
            .execute(&mut *tx)
            .await?;
        let mut chunk: Vec<EpssRow> = Vec::with_capacity(STAGE_ROWS);
        let mut entries = 0;
        for row in rows {
            match row {
                Ok(r) => chunk.push(r),
                Err(e) => return Ok(Err(e)),
            }
            if chunk.len() == STAGE_ROWS {
                entries += stage_epss(d, &mut tx, &mut chunk).await?;
            }
        }
        entries += stage_epss(d, &mut tx, &mut chunk).await?;
        sqlx::query("DELETE FROM intel_epss WHERE cve NOT IN (SELECT cve FROM intel_epss_next)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO intel_epss (cve, score, percentile) SELECT cve, score, percentile FROM intel_epss_next WHERE true
             ON CONFLICT (cve) DO UPDATE SET score = excluded.score, percentile = excluded.percentile
             WHERE intel_epss.score <> excluded.score OR intel_epss.percentile <> excluded.percentile",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM intel_epss_next")
            .execute(&mut *tx)
            .await?;
        let load = finish(&mut tx, "epss", entries, 0, now).await?;
        tx.commit().await?;
        Ok(Ok(load))
    }

    /// What the feeds say of these CVEs.
    pub async fn intel_for(&self, cves: &[&str]) -> Result<HashMap<String, Intel>> {
        let mut conn = self.reader().acquire().await?;
        intel_of(self.dialect, &mut conn, cves).await
    }
}

/// Looks these CVEs up in both feeds (on any connection: the reader, or an ingest's transaction).
pub(crate) async fn intel_of(
    d: Dialect,
    conn: &mut sqlx::AnyConnection,
    cves: &[&str],
) -> Result<HashMap<String, Intel>> {
    let mut cves: Vec<&str> = cves.to_vec();
    cves.sort_unstable();
    cves.dedup();
    let mut out: HashMap<String, Intel> = HashMap::new();
    for chunk in cves.chunks(500) {
        let list = placeholders(d, 1, chunk.len());
        let sql = format!(
            "SELECT cve, date_added, due_date, ransomware FROM intel_kev WHERE cve IN ({list})"
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q.bind(*c);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.entry(get_str(&r, "cve")?).or_default().known_exploited = Some(KnownExploited {
                date_added: get_str(&r, "date_added")?,
                due_date: get_opt_str(&r, "due_date")?,
                ransomware: get_i64(&r, "ransomware")? != 0,
            });
        }
        let sql = format!("SELECT cve, score, percentile FROM intel_epss WHERE cve IN ({list})");
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q.bind(*c);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.entry(get_str(&r, "cve")?).or_default().epss = Some(Epss {
                score: r.try_get::<f64, _>("score")?,
                percentile: r.try_get::<f64, _>("percentile")?,
            });
        }
    }
    Ok(out)
}

/// Attaches what the feeds say to each vulnerability alert with a CVE.
pub(crate) async fn attach_intel(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    alerts: &mut [Alert],
) -> Result<()> {
    let cves: Vec<String> = alerts
        .iter()
        .filter_map(|a| match a {
            Alert::Vulnerability(v) => v.cve.clone(),
            _ => None,
        })
        .collect();
    if cves.is_empty() {
        return Ok(());
    }
    let refs: Vec<&str> = cves.iter().map(String::as_str).collect();
    let found = intel_of(d, tx, &refs).await?;
    if found.is_empty() {
        return Ok(());
    }
    for a in alerts {
        if let Alert::Vulnerability(v) = a {
            v.intel = v.cve.as_deref().and_then(|c| found.get(c)).cloned();
        }
    }
    Ok(())
}

async fn stage_epss(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    chunk: &mut Vec<EpssRow>,
) -> Result<usize> {
    // A CVE listed twice keeps its last row.
    let mut unique: BTreeMap<&str, &EpssRow> = BTreeMap::new();
    for r in chunk.iter() {
        unique.insert(r.cve.as_str(), r);
    }
    let n = unique.len();
    if n > 0 {
        let sql = format!(
            "INSERT INTO intel_epss_next (cve, score, percentile) VALUES {} ON CONFLICT (cve) DO UPDATE SET score = excluded.score, percentile = excluded.percentile",
            row_placeholders(d, n, 3)
        );
        let mut q = sqlx::query(&sql);
        for r in unique.values() {
            q = q
                .bind(r.cve.as_str())
                .bind(r.epss.score)
                .bind(r.epss.percentile);
        }
        q.execute(&mut **tx).await?;
    }
    chunk.clear();
    Ok(n)
}

/// Queues "Now Known Exploited" for these findings through each organization's routing, and marks them told.
async fn announce_exploited(
    d: Dialect,
    tx: &mut Transaction<'static, Any>,
    findings: &[crate::findings::FindingRow],
    now: i64,
) -> Result<()> {
    let mut by_org: BTreeMap<&str, Vec<&crate::findings::FindingRow>> = BTreeMap::new();
    for f in findings {
        by_org.entry(f.org_id.as_str()).or_default().push(f);
    }
    for (org_id, list) in by_org {
        for chunk in list.chunks(500) {
            let sql = format!(
                "UPDATE findings SET kev_alerted_at = {} WHERE id IN ({})",
                crate::ph(d, 1),
                placeholders(d, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(now);
            for f in chunk {
                q = q.bind(f.id.as_str());
            }
            q.execute(&mut **tx).await?;
        }
        let mut alerts: Vec<Alert> = list
            .iter()
            .map(|f| {
                let mut a = f.alert(false);
                if let Alert::Vulnerability(v) = &mut a {
                    v.now_exploited = true;
                }
                a
            })
            .collect();
        attach_intel(d, tx, &mut alerts).await?;
        let channels = load_routable_channels(tx, org_id).await?;
        let set = AlertSet {
            id: new_id(),
            org_id: org_id.to_string(),
            alerts,
        };
        let tags = crate::deliveries::domain_tags_for(tx, org_id, &channels, &set.alerts).await?;
        let ds = crate::deliveries::route_tagged(&channels, &set, &tags, now);
        insert_routed(d, tx, &set, &ds, now).await?;
    }
    Ok(())
}

/// Records the load and counts the open findings the KEV catalog now matches.
async fn finish(
    tx: &mut Transaction<'_, Any>,
    feed: &str,
    entries: usize,
    newly_flagged: usize,
    now: i64,
) -> Result<FeedLoad> {
    let n = i64::try_from(entries).unwrap_or(i64::MAX);
    sqlx::query("INSERT INTO intel_feeds (feed, entries, loaded_at) VALUES ($1, $2, $3) ON CONFLICT (feed) DO UPDATE SET entries = excluded.entries, loaded_at = excluded.loaded_at")
        .bind(feed)
        .bind(n)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let table = if feed == "kev" {
        "intel_kev"
    } else {
        "intel_epss"
    };
    let matched = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM findings f JOIN {table} i ON i.cve = f.cve WHERE f.cve IS NOT NULL AND f.status = 'open'"
    ))
    .fetch_one(&mut **tx)
    .await?;
    Ok(FeedLoad {
        entries,
        matched_open_findings: get_i64(&matched, "n")?,
        newly_flagged,
    })
}
