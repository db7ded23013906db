//! Exploitability feeds in: CISA's KEV catalog (JSON) and FIRST's EPSS scores (CSV) from a file — uploaded through
//! the API, named on the command line, or configured (`intel.kev_file`, `intel.epss_file`, reloaded every
//! `intel.reload_every`). A malformed feed is refused naming its JSON path or line, and the stored feed stays.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::intel::{parse_kev, EpssReader, FeedError};
use fence_core::FieldError;
use fence_store::intel::FeedLoad;
use std::path::Path;

/// Which feed a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Kev,
    Epss,
}

impl Feed {
    pub fn parse(s: &str) -> Result<Feed, String> {
        match s {
            "kev" => Ok(Feed::Kev),
            "epss" => Ok(Feed::Epss),
            other => Err(format!("unknown feed {other:?}; expected kev or epss")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Kev => "kev",
            Feed::Epss => "epss",
        }
    }
}

fn refused(e: FeedError) -> ServiceError {
    ServiceError::Invalid(FieldError::new(e.at, e.message).into())
}

/// Loads `path` as `feed`, replacing the stored one in one commit; `actor` (with `org_id`) is audited when given.
pub async fn import_file(
    state: &AppState,
    feed: Feed,
    path: &Path,
    audit: Option<(&str, &str)>,
) -> ServiceResult<FeedLoad> {
    let unreadable = |e: std::io::Error| {
        ServiceError::Malformed(format!("cannot read the {} file: {e}", feed.as_str()))
    };
    let now = state.clock.now_ms();
    let load = match feed {
        Feed::Kev => {
            let bytes = tokio::fs::read(path).await.map_err(unreadable)?;
            use fence_core::json_budget::{parse, ParseError, MAX_TREE};
            let (doc, _) = parse(&bytes, MAX_TREE).map_err(|e| {
                refused(match e {
                    ParseError::Syntax(e) => FeedError {
                        at: format!("line {}", e.line()),
                        message: format!("not JSON: {e}"),
                    },
                    ParseError::TooManyValues(e) => FeedError {
                        at: format!("line {}", e.line()),
                        message: e.to_string(),
                    },
                })
            })?;
            drop(bytes);
            let entries = parse_kev(&doc).map_err(refused)?;
            drop(doc);
            state.store.replace_kev(&entries, now).await?
        }
        // Streamed a line at a time (300,000 rows are never held at once): the file is read in 64 KiB pieces.
        Feed::Epss => {
            use std::io::BufRead;
            let file = std::fs::File::open(path).map_err(unreadable)?;
            let mut lines = std::io::BufReader::with_capacity(64 * 1024, file)
                .lines()
                .enumerate();
            let mut reader = EpssReader::default();
            let rows = std::iter::from_fn(move || loop {
                let (i, line) = lines.next()?;
                let line = match line {
                    Ok(l) => l,
                    Err(_) => {
                        return Some(Err(FeedError {
                            at: format!("line {}", i + 1),
                            message: "is not UTF-8 text".into(),
                        }))
                    }
                };
                if let Some(row) = reader.line(i + 1, &line) {
                    return Some(row);
                }
            });
            state
                .store
                .replace_epss(rows, now)
                .await?
                .map_err(refused)?
        }
    };
    if load.newly_flagged > 0 {
        state.wake.notify_one();
    }
    if let Some((org_id, actor)) = audit {
        let detail = format!(
            "{} entries, {} open findings matched, {} newly known exploited",
            load.entries, load.matched_open_findings, load.newly_flagged
        );
        state
            .store
            .audit(
                org_id,
                actor,
                &format!("intel.{}", feed.as_str()),
                None,
                Some(&detail),
                now,
            )
            .await?;
    }
    Ok(load)
}
