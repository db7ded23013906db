//! Where Fence's bot-token messages are (channel and `ts`) per finding, so follow-ups go in their thread and the
//! original can be updated; and the follow-up deliveries themselves.

use crate::deliveries::{insert_routed, AlertSet, NewDelivery};
use crate::{get_i64, get_str, new_id, Result, Store};
use fence_core::Alert;

/// A message Fence posted about a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub channel_id: String,
    pub slack_channel: String,
    pub ts: String,
    /// The message announced this finding alone.
    pub single: bool,
}

impl Store {
    /// Remembers the message that announced these findings in a channel (the first one wins: follow-ups thread
    /// under the original alert).
    pub async fn record_posted(
        &self,
        channel_id: &str,
        finding_ids: &[String],
        slack_channel: &str,
        ts: &str,
        now: i64,
    ) -> Result<()> {
        let single = i64::from(finding_ids.len() == 1);
        // All or none: a follow-up never finds some of a message's findings recorded and not the others.
        let mut tx = self.pool.begin().await?;
        for f in finding_ids {
            sqlx::query(
                "INSERT INTO slack_messages (channel_id, finding_id, slack_channel, ts, single, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (channel_id, finding_id) DO NOTHING",
            )
            .bind(channel_id)
            .bind(f.as_str())
            .bind(slack_channel)
            .bind(ts)
            .bind(single)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The message that announced a finding in a channel, if Fence posted it with a bot token.
    pub async fn posted_message(
        &self,
        channel_id: &str,
        finding_id: &str,
    ) -> Result<Option<PostedMessage>> {
        let row =
            sqlx::query("SELECT * FROM slack_messages WHERE channel_id = $1 AND finding_id = $2")
                .bind(channel_id)
                .bind(finding_id)
                .fetch_optional(self.reader())
                .await?;
        row.map(|r| {
            Ok(PostedMessage {
                channel_id: get_str(&r, "channel_id")?,
                slack_channel: get_str(&r, "slack_channel")?,
                ts: get_str(&r, "ts")?,
                single: get_i64(&r, "single")? == 1,
            })
        })
        .transpose()
    }

    /// Whether a Slack message (by `ts`) of this organization was posted by Fence with a bot token.
    pub async fn is_bot_message(&self, org_id: &str, ts: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM slack_messages m JOIN channels c ON c.id = m.channel_id WHERE m.ts = $1 AND c.org_id = $2 LIMIT 1")
            .bind(ts)
            .bind(org_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    /// Queues a follow-up (a status change, fix instructions) for every channel where Fence posted the finding.
    pub async fn enqueue_followup(
        &self,
        org_id: &str,
        finding_id: &str,
        alert: Alert,
        now: i64,
    ) -> Result<usize> {
        let rows = sqlx::query("SELECT m.channel_id AS channel_id, c.destination AS destination FROM slack_messages m JOIN channels c ON c.id = m.channel_id WHERE m.finding_id = $1 AND c.org_id = $2")
            .bind(finding_id)
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let set = AlertSet {
            id: new_id(),
            org_id: org_id.to_string(),
            alerts: vec![alert],
        };
        let mut ds = Vec::new();
        for r in &rows {
            ds.push(NewDelivery {
                id: new_id(),
                org_id: org_id.to_string(),
                channel_id: get_str(r, "channel_id")?,
                destination: get_str(r, "destination")?,
                alert_type: "followup".into(),
                finding_id: Some(finding_id.to_string()),
                indices: None,
                alert_count: 1,
                severity_rank: 0,
                due_at: now,
                created_at: now,
            });
        }
        let mut tx = self.pool.begin().await?;
        insert_routed(self.dialect, &mut tx, &set, &ds, now).await?;
        tx.commit().await?;
        Ok(ds.len())
    }
}
