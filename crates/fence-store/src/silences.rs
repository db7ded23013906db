//! Silences: created, listed and ended (with their audit entries), read by ingest to keep matching findings quiet,
//! and the findings each one silenced (`findings.silence_id`, migration 0114).

use crate::{get_i64, get_str, new_id, placeholders, Dialect, Result, Store, StoreError};
use fence_core::silence::{Matchers, Subject};
use fence_core::NewFinding;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use std::collections::HashMap;

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceRow {
    pub id: String,
    pub org_id: String,
    pub matchers: Matchers,
    pub reason: String,
    /// `token:…`, `user:…` or `slack:U…`, as in the audit log.
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// How many findings it kept from alerting.
    pub matched: i64,
}

impl SilenceRow {
    pub fn active_at(&self, now: i64) -> bool {
        self.expires_at > now
    }
}

/// A silence to create.
#[derive(Debug, Clone)]
pub struct NewSilence {
    pub matchers: Matchers,
    pub reason: String,
    pub created_by: String,
    pub expires_at: i64,
}

fn silence_from(r: &AnyRow) -> Result<SilenceRow> {
    let raw = get_str(r, "matchers")?;
    let value: serde_json::Value = serde_json::from_str(&raw)
        .map_err(|e| StoreError::Corrupt(format!("silence matchers: {e}")))?;
    let matchers = Matchers::parse(&value)
        .map_err(|e| StoreError::Corrupt(format!("silence matchers: {}", e.summary())))?;
    Ok(SilenceRow {
        id: get_str(r, "id")?,
        org_id: get_str(r, "org_id")?,
        matchers,
        reason: get_str(r, "reason")?,
        created_by: get_str(r, "created_by")?,
        created_at: get_i64(r, "created_at")?,
        expires_at: get_i64(r, "expires_at")?,
        matched: get_i64(r, "matched")?,
    })
}

/// The active silences of one ingest, and the tags of the batch's domains when one of them matches on tags.
pub(crate) struct Silencer {
    silences: Vec<SilenceRow>,
    tags: HashMap<String, Vec<String>>,
    uses_tags: bool,
}

impl Silencer {
    /// No silence applies (nothing in the batch would alert).
    pub(crate) fn none() -> Silencer {
        Silencer {
            silences: Vec::new(),
            tags: HashMap::new(),
            uses_tags: false,
        }
    }

    pub(crate) async fn load(
        d: Dialect,
        tx: &mut Transaction<'_, Any>,
        org_id: &str,
        batch: &[NewFinding],
        now: i64,
    ) -> Result<Silencer> {
        let rows = sqlx::query(
            "SELECT * FROM silences WHERE org_id = $1 AND expires_at > $2 ORDER BY created_at, id",
        )
        .bind(org_id)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
        let silences: Vec<SilenceRow> = rows.iter().map(silence_from).collect::<Result<_>>()?;
        let uses_tags = silences.iter().any(|s| s.matchers.uses_tags());
        let mut tags = HashMap::new();
        if uses_tags {
            let mut names: Vec<&str> = batch.iter().map(|f| f.domain.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            for chunk in names.chunks(500) {
                let sql = format!(
                    "SELECT name, tags FROM domains WHERE org_id = {} AND name IN ({})",
                    crate::ph(d, 1),
                    placeholders(d, 2, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(org_id);
                for n in chunk {
                    q = q.bind(*n);
                }
                for r in q.fetch_all(&mut **tx).await? {
                    let t: Vec<String> =
                        serde_json::from_str(&get_str(&r, "tags")?).unwrap_or_default();
                    tags.insert(get_str(&r, "name")?, t);
                }
            }
        }
        Ok(Silencer {
            silences,
            tags,
            uses_tags,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.silences.is_empty()
    }

    /// The first active silence (oldest first) that matches the finding.
    pub(crate) fn matching(&self, f: &NewFinding) -> Option<&str> {
        if self.silences.is_empty() {
            return None;
        }
        let tags = self.uses_tags.then(|| {
            self.tags
                .get(f.domain.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[])
        });
        let subject = Subject {
            domain: f.domain.as_str(),
            rule: f.rule.as_deref(),
            cve: f.cve.as_deref(),
            package: f.package.as_deref(),
            category: f.category,
            severity: f.severity,
            tags,
        };
        self.silences
            .iter()
            .find(|s| s.matchers.matches(&subject))
            .map(|s| s.id.as_str())
    }

    pub(crate) fn reason(&self, id: &str) -> &str {
        self.silences
            .iter()
            .find(|s| s.id == id)
            .map_or("", |s| s.reason.as_str())
    }
}

/// Records what an ingest silenced: each silence's count, and one audit entry per finding naming the silence.
pub(crate) async fn record_silenced(
    d: Dialect,
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    silencer: &Silencer,
    silenced: &[(String, String)],
    now: i64,
) -> Result<()> {
    let mut per_silence: HashMap<&str, i64> = HashMap::new();
    for (_, s) in silenced {
        *per_silence.entry(s.as_str()).or_default() += 1;
    }
    let mut ids: Vec<(&str, i64)> = per_silence.into_iter().collect();
    ids.sort_unstable();
    for (id, n) in ids {
        sqlx::query("UPDATE silences SET matched = matched + $1 WHERE id = $2 AND org_id = $3")
            .bind(n)
            .bind(id)
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
    }
    for chunk in silenced.chunks(200) {
        let sql = format!(
            "INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES {}",
            crate::row_placeholders(d, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for (finding, silence) in chunk {
            let detail = format!("silence {silence}: {}", silencer.reason(silence));
            q = q
                .bind(new_id())
                .bind(org_id)
                .bind("fence")
                .bind("finding.silenced")
                .bind(finding.clone())
                .bind(detail)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Creates a silence, audited in the same commit.
    pub async fn create_silence(
        &self,
        org_id: &str,
        s: &NewSilence,
        now: i64,
    ) -> Result<SilenceRow> {
        let id = new_id();
        let matchers = s.matchers.to_json().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO silences (id, org_id, matchers, reason, created_by, created_at, expires_at, matched) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)")
            .bind(&id)
            .bind(org_id)
            .bind(&matchers)
            .bind(&s.reason)
            .bind(&s.created_by)
            .bind(now)
            .bind(s.expires_at)
            .execute(&mut *tx)
            .await?;
        let detail = format!(
            "{} until {}: {}",
            s.matchers.summary(),
            fence_core::time::fmt_ts(s.expires_at),
            s.reason
        );
        sqlx::query("INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES ($1, $2, $3, 'silence.create', $4, $5, $6)")
            .bind(new_id())
            .bind(org_id)
            .bind(&s.created_by)
            .bind(&id)
            .bind(detail)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SilenceRow {
            id,
            org_id: org_id.to_string(),
            matchers: s.matchers.clone(),
            reason: s.reason.clone(),
            created_by: s.created_by.clone(),
            created_at: now,
            expires_at: s.expires_at,
            matched: 0,
        })
    }

    pub async fn get_silence(&self, org_id: &str, id: &str) -> Result<SilenceRow> {
        sqlx::query("SELECT * FROM silences WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(self.reader())
            .await?
            .as_ref()
            .map(silence_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Silences newest first; only those still active at `active_at` when it is given (soonest to end first).
    pub async fn list_silences(
        &self,
        org_id: &str,
        active_at: Option<i64>,
        limit: i64,
    ) -> Result<Vec<SilenceRow>> {
        let rows = match active_at {
            Some(now) => sqlx::query("SELECT * FROM silences WHERE org_id = $1 AND expires_at > $2 ORDER BY expires_at, id LIMIT $3")
                .bind(org_id)
                .bind(now)
                .bind(limit),
            None => sqlx::query("SELECT * FROM silences WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
                .bind(org_id)
                .bind(limit),
        }
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(silence_from).collect()
    }

    /// Active silences that end between `now` and `until`, soonest first (for digests).
    pub async fn silences_ending(
        &self,
        org_id: &str,
        now: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<SilenceRow>> {
        let rows = sqlx::query("SELECT * FROM silences WHERE org_id = $1 AND expires_at > $2 AND expires_at <= $3 ORDER BY expires_at, id LIMIT $4")
            .bind(org_id)
            .bind(now)
            .bind(until)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(silence_from).collect()
    }

    /// Ends a silence now (its expiry moves to `now`), audited; one that has already ended is returned as it is.
    pub async fn expire_silence(
        &self,
        org_id: &str,
        id: &str,
        actor: &str,
        now: i64,
    ) -> Result<SilenceRow> {
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query(
            "UPDATE silences SET expires_at = $1 WHERE id = $2 AND org_id = $3 AND expires_at > $1",
        )
        .bind(now)
        .bind(id)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        if ended.rows_affected() > 0 {
            sqlx::query("INSERT INTO audit_log (id, org_id, actor, action, target, detail, created_at) VALUES ($1, $2, $3, 'silence.expire', $4, NULL, $5)")
                .bind(new_id())
                .bind(org_id)
                .bind(actor)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query("SELECT * FROM silences WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(silence_from)
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(row)
    }

    /// The silences with these ids (a page of findings names a few), by id.
    pub async fn silences_by_id(
        &self,
        org_id: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, SilenceRow>> {
        let mut ids: Vec<&str> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT * FROM silences WHERE org_id = {} AND id IN ({})",
                crate::ph(self.dialect, 1),
                placeholders(self.dialect, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(org_id);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(self.reader()).await? {
                let s = silence_from(&r)?;
                out.insert(s.id.clone(), s);
            }
        }
        Ok(out)
    }

    /// Findings first seen in `(from, to]` that a silence kept from alerting (a digest's count), by the partial index.
    pub async fn count_silenced_between(&self, org_id: &str, from: i64, to: i64) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM findings WHERE org_id = $1 AND silence_id IS NOT NULL AND first_seen > $2 AND first_seen <= $3")
            .bind(org_id)
            .bind(from)
            .bind(to)
            .fetch_one(self.reader())
            .await?;
        get_i64(&r, "n")
    }

    /// Open findings kept quiet by a silence that is still active (the dashboard's count), by the partial index.
    pub async fn count_silenced_open(&self, org_id: &str, now: i64) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM findings f JOIN silences s ON s.id = f.silence_id WHERE f.org_id = $1 AND f.silence_id IS NOT NULL AND f.status = 'open' AND s.expires_at > $2")
            .bind(org_id)
            .bind(now)
            .fetch_one(self.reader())
            .await?;
        get_i64(&r, "n")
    }
}
