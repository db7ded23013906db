//! Exploitability intelligence as published: CISA's Known Exploited Vulnerabilities catalog (JSON) and FIRST's EPSS
//! scores (CSV), validated entry by entry with errors that name the JSON path or the line; and what a finding
//! shows of them (`known_exploited`, `epss`).

use crate::finding::parse_cve;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A CVE in the KEV catalog, as a finding shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownExploited {
    /// `YYYY-MM-DD`.
    pub date_added: String,
    /// `YYYY-MM-DD`, when the catalog gives one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub due_date: Option<String>,
    /// `knownRansomwareCampaignUse` is "Known".
    pub ransomware: bool,
}

/// A CVE's EPSS score and percentile, both 0–1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    pub score: f64,
    pub percentile: f64,
}

/// What Fence knows of a finding's CVE.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Intel {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub known_exploited: Option<KnownExploited>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub epss: Option<Epss>,
}

impl Intel {
    pub fn is_empty(&self) -> bool {
        self.known_exploited.is_none() && self.epss.is_none()
    }

    /// "🔥 Known exploited (CISA KEV, added 2024-05-01, due 2024-05-22)".
    pub fn kev_line(&self) -> Option<String> {
        self.known_exploited.as_ref().map(|k| {
            let due = k
                .due_date
                .as_deref()
                .map(|d| format!(", due {d}"))
                .unwrap_or_default();
            let ransomware = if k.ransomware {
                "; used in ransomware campaigns"
            } else {
                ""
            };
            format!(
                "🔥 Known exploited (CISA KEV, added {}{due}){ransomware}",
                k.date_added
            )
        })
    }

    /// "EPSS 0.97 (99th percentile)".
    pub fn epss_line(&self) -> Option<String> {
        self.epss.map(|e| {
            let p = (e.percentile * 100.0).floor().clamp(0.0, 100.0) as u32;
            format!("EPSS {:.2} ({p}{} percentile)", e.score, ordinal(p))
        })
    }
}

fn ordinal(n: u32) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// Where a feed broke: a JSON path (`vulnerabilities[3].cveID`) or a line (`line 17`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

fn err(at: impl Into<String>, message: impl Into<String>) -> FeedError {
    FeedError {
        at: at.into(),
        message: message.into(),
    }
}

/// One KEV entry: the CVE and what a finding shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KevEntry {
    pub cve: String,
    pub known: KnownExploited,
}

/// A calendar date as the feeds write it.
fn date(v: &Value, at: &str, required: bool) -> Result<Option<String>, FeedError> {
    match v {
        Value::Null if !required => Ok(None),
        Value::String(s) if s.is_empty() && !required => Ok(None),
        Value::String(s) if s.parse::<jiff::civil::Date>().is_ok() => Ok(Some(s.clone())),
        _ => Err(err(at, "must be a date such as 2024-05-01")),
    }
}

/// Reads the KEV catalog; every entry must be valid (a CVE id, the date it was added).
pub fn parse_kev(doc: &Value) -> Result<Vec<KevEntry>, FeedError> {
    let list = doc
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            err(
                "vulnerabilities",
                "is required: the catalog's list of vulnerabilities",
            )
        })?;
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let at = |k: &str| format!("vulnerabilities[{i}].{k}");
        let cve = v["cveID"]
            .as_str()
            .ok_or_else(|| err(at("cveID"), "is required"))
            .and_then(|s| parse_cve(s).map_err(|e| err(at("cveID"), e)))?;
        let date_added = date(&v["dateAdded"], &at("dateAdded"), true)?.unwrap_or_default();
        let due_date = date(&v["dueDate"], &at("dueDate"), false)?;
        let ransomware = match &v["knownRansomwareCampaignUse"] {
            Value::Null => false,
            Value::String(s) => s.eq_ignore_ascii_case("known"),
            _ => {
                return Err(err(
                    at("knownRansomwareCampaignUse"),
                    "must be \"Known\" or \"Unknown\"",
                ))
            }
        };
        out.push(KevEntry {
            cve,
            known: KnownExploited {
                date_added,
                due_date,
                ransomware,
            },
        });
    }
    Ok(out)
}

/// One EPSS row.
#[derive(Debug, Clone, PartialEq)]
pub struct EpssRow {
    pub cve: String,
    pub epss: Epss,
}

/// Reads EPSS's CSV line by line: an optional `#model_version:…` comment, the `cve,epss,percentile` header, then one
/// row per CVE. Lines are numbered from 1 as an editor shows them.
pub fn epss_rows(text: &str) -> impl Iterator<Item = Result<EpssRow, FeedError>> + '_ {
    let mut reader = EpssReader::default();
    text.lines()
        .enumerate()
        .filter_map(move |(i, line)| reader.line(i + 1, line))
}

/// The same reading one line at a time, for a caller that streams a file instead of holding it.
#[derive(Debug, Default)]
pub struct EpssReader {
    header_seen: bool,
}

impl EpssReader {
    /// Line `n` of the file: a row, an error naming the line, or nothing (a comment, a blank line, the header).
    pub fn line(&mut self, n: usize, line: &str) -> Option<Result<EpssRow, FeedError>> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        if !self.header_seen {
            self.header_seen = true;
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            return (cols != ["cve", "epss", "percentile"]).then(|| {
                Err(err(
                    format!("line {n}"),
                    "expected the header cve,epss,percentile",
                ))
            });
        }
        Some(epss_row(line).map_err(|m| err(format!("line {n}"), m)))
    }
}

fn epss_row(line: &str) -> Result<EpssRow, String> {
    let mut cols = line.split(',').map(str::trim);
    let (Some(cve), Some(score), Some(pct), None) =
        (cols.next(), cols.next(), cols.next(), cols.next())
    else {
        return Err("expected three columns: cve,epss,percentile".into());
    };
    let cve = parse_cve(cve)?;
    let unit = |s: &str, what: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| (0.0..=1.0).contains(v))
            .ok_or_else(|| format!("{what} {s:?} must be a number from 0 to 1"))
    };
    Ok(EpssRow {
        cve,
        epss: Epss {
            score: unit(score, "epss")?,
            percentile: unit(pct, "percentile")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_published_kev_shape_is_read_and_errors_name_the_path() {
        let doc = json!({"catalogVersion": "2024.05.01", "dateReleased": "2024-05-01T15:00:00.000Z", "count": 2,
        "vulnerabilities": [
            {"cveID": "CVE-2024-3400", "vendorProject": "Palo Alto Networks", "product": "PAN-OS",
             "vulnerabilityName": "PAN-OS Command Injection", "dateAdded": "2024-04-12", "shortDescription": "…",
             "requiredAction": "Apply mitigations", "dueDate": "2024-04-19", "knownRansomwareCampaignUse": "Known",
             "notes": "", "cwes": ["CWE-77"]},
            {"cveID": "cve-2021-44228", "dateAdded": "2021-12-10", "knownRansomwareCampaignUse": "Unknown"}
        ]});
        let kev = parse_kev(&doc).expect("valid");
        assert_eq!(kev[0].cve, "CVE-2024-3400");
        assert!(kev[0].known.ransomware);
        assert_eq!(kev[1].cve, "CVE-2021-44228");
        assert_eq!(kev[1].known.due_date, None);
        let mut bad = doc.clone();
        bad["vulnerabilities"][1]["dateAdded"] = json!("yesterday");
        assert_eq!(
            parse_kev(&bad).expect_err("refused").at,
            "vulnerabilities[1].dateAdded"
        );
        bad["vulnerabilities"][0]["cveID"] = json!("CVE-24");
        assert_eq!(
            parse_kev(&bad).expect_err("refused").at,
            "vulnerabilities[0].cveID"
        );
        assert_eq!(
            parse_kev(&json!({})).expect_err("refused").at,
            "vulnerabilities"
        );
    }

    #[test]
    fn the_published_epss_csv_is_read_and_errors_name_the_line() {
        let csv = "#model_version:v2023.03.01,score_date:2024-05-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\nCVE-1999-0001,0.0113,0.8\n";
        let rows: Vec<EpssRow> = epss_rows(csv).collect::<Result<_, _>>().expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cve, "CVE-2021-44228");
        assert!((rows[0].epss.score - 0.97565).abs() < 1e-9);
        let broken = "cve,epss,percentile\nCVE-2021-44228,0.9,0.99\nCVE-2021-1,1.5,0.2\n";
        let e = epss_rows(broken).find_map(Result::err).expect("valid");
        assert_eq!(e.at, "line 3");
        let e = epss_rows("cve,score\n")
            .find_map(Result::err)
            .expect("valid");
        assert_eq!(e.at, "line 1");
    }

    #[test]
    fn the_lines_read_as_the_spec_writes_them() {
        let i = Intel {
            known_exploited: Some(KnownExploited {
                date_added: "2024-05-01".into(),
                due_date: Some("2024-05-22".into()),
                ransomware: false,
            }),
            epss: Some(Epss {
                score: 0.9712,
                percentile: 0.9921,
            }),
        };
        assert_eq!(
            i.kev_line().as_deref(),
            Some("🔥 Known exploited (CISA KEV, added 2024-05-01, due 2024-05-22)")
        );
        assert_eq!(
            i.epss_line().as_deref(),
            Some("EPSS 0.97 (99th percentile)")
        );
        assert!(Intel::default().is_empty());
    }
}
