//! The tags of the domains an alert set is about, read for routing only when a channel filters on tags
//! (`filters.tags`).

use super::RoutableChannel;
use crate::{get_str, Result};
use fence_core::Alert;

/// The tags of the domains a set's alerts are about, for channels that filter on tags (`filters.tags`); empty, and
/// nothing read, when no channel does.
pub type DomainTags = std::collections::HashMap<String, Vec<String>>;

pub(crate) async fn domain_tags_for(
    conn: &mut sqlx::AnyConnection,
    org_id: &str,
    channels: &[RoutableChannel],
    alerts: &[Alert],
) -> Result<DomainTags> {
    let mut out = DomainTags::new();
    if channels.iter().all(|c| c.config.filters.tags.is_empty()) {
        return Ok(out);
    }
    let mut names: Vec<&str> = alerts.iter().filter_map(Alert::domain).collect();
    names.sort_unstable();
    names.dedup();
    for chunk in names.chunks(500) {
        let list: Vec<String> = (2..2 + chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT name, tags FROM domains WHERE org_id = $1 AND name IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for n in chunk {
            q = q.bind(*n);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let tags: Vec<String> = serde_json::from_str(&get_str(&r, "tags")?).unwrap_or_default();
            out.insert(get_str(&r, "name")?, tags);
        }
    }
    Ok(out)
}
