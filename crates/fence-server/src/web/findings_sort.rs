//! The findings list's orders: newest first (the store's order), or most severe first — each severity's findings
//! newest first, read through the same indexed queries as a severity filter, one severity after the other, with a
//! cursor (`critical:<id>`) that says where the page stopped; or most exploitable first (known exploited, then by
//! EPSS score, then by CVSS: `Store::list_by_exploitability`, an offset cursor `o:<n>`).

use fence_core::Severity;
use fence_store::findings::{FindingQuery, FindingRow};
use fence_store::Store;

/// How the list is ordered (`?sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    Severity,
    Exploitability,
}

impl Sort {
    pub fn parse(s: &str) -> Sort {
        match s {
            "severity" => Sort::Severity,
            "exploitability" => Sort::Exploitability,
            _ => Sort::Newest,
        }
    }

    /// The query value (empty for the default).
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "",
            Sort::Severity => "severity",
            Sort::Exploitability => "exploitability",
        }
    }
}

/// A page of the list: its findings, where the next starts (a cursor in the list's own form), and whether a
/// bounded scan stopped it.
#[derive(Debug, Default)]
pub struct Listed {
    pub rows: Vec<FindingRow>,
    pub next: Option<String>,
    pub bounded: bool,
}

/// A severity-sorted cursor: the severity the page starts in and, within it, the id it starts below.
fn parse_cursor(after: &str) -> (usize, Option<String>) {
    let (sev, id) = after.split_once(':').unwrap_or((after, ""));
    let start = Severity::ALL
        .iter()
        .position(|s| s.as_str() == sev)
        .unwrap_or(0);
    (start, Some(id.to_string()).filter(|i| !i.is_empty()))
}

/// Up to `page` findings of `query` (its limit and cursor are set here) in `sort` order, from `after`.
pub async fn list(
    store: &Store,
    org_id: &str,
    mut query: FindingQuery,
    sort: Sort,
    after: &str,
    page: usize,
) -> fence_store::Result<Listed> {
    let limit = i64::try_from(page).unwrap_or(i64::MAX).saturating_add(1);
    if sort == Sort::Exploitability {
        let offset = after
            .strip_prefix("o:")
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
            .max(0);
        query.cursor = None;
        query.limit = limit;
        let mut rows = store.list_by_exploitability(org_id, &query, offset).await?;
        let next = (rows.len() > page).then(|| format!("o:{}", offset + limit - 1));
        rows.truncate(page);
        return Ok(Listed {
            rows,
            next,
            bounded: false,
        });
    }
    if sort == Sort::Newest || query.severity.is_some() {
        query.cursor = Some(after.to_string()).filter(|a| !a.is_empty());
        query.limit = limit;
        let p = store.list_findings_page(org_id, &query).await?;
        let mut rows = p.findings;
        let next = if rows.len() > page {
            rows.truncate(page);
            rows.last().map(|r| r.id.clone())
        } else {
            p.scanned_to.clone()
        };
        return Ok(Listed {
            rows,
            next,
            bounded: p.scanned_to.is_some(),
        });
    }
    let (start, mut cursor) = parse_cursor(after);
    let mut out = Listed::default();
    for sev in &Severity::ALL[start..] {
        let want = page + 1 - out.rows.len();
        query.severity = Some(*sev);
        query.cursor = cursor.take();
        query.limit = i64::try_from(want).unwrap_or(i64::MAX);
        let p = store.list_findings_page(org_id, &query).await?;
        out.rows.extend(p.findings);
        if out.rows.len() > page {
            out.rows.truncate(page);
            out.next = out
                .rows
                .last()
                .map(|r| format!("{}:{}", r.severity.as_str(), r.id));
            return Ok(out);
        }
        if let Some(stop) = p.scanned_to {
            // A bounded scan stopped inside this severity: the next page goes on from there.
            out.bounded = true;
            out.next = Some(format!("{}:{stop}", sev.as_str()));
            return Ok(out);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_cursors_name_where_the_page_stopped() {
        assert_eq!(parse_cursor(""), (0, None));
        assert_eq!(parse_cursor("high:f9"), (1, Some("f9".into())));
        assert_eq!(parse_cursor("medium:"), (2, None));
        assert_eq!(parse_cursor("nonsense:f1"), (0, Some("f1".into())));
        assert_eq!(Sort::parse("severity"), Sort::Severity);
        assert_eq!(Sort::parse("exploitability").as_str(), "exploitability");
        assert_eq!(Sort::parse("anything"), Sort::Newest);
    }
}
