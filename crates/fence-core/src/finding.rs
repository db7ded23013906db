//! Finding input: every field of `POST /api/v1/findings` validated once, at the edge, into a [`NewFinding`].

use crate::{text::truncate_chars, Category, Cvss, DomainName, FieldError, FieldErrors, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const MAX_TITLE: usize = 500;
pub const MAX_LONG_TEXT: usize = 20_000;
pub const MAX_SHORT_TEXT: usize = 200;
pub const MAX_URL: usize = 2_000;

/// A finding's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    FalsePositive,
    Snoozed,
    Resolved,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::FalsePositive => "false_positive",
            FindingStatus::Snoozed => "snoozed",
            FindingStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(FindingStatus::Open),
            "false_positive" => Ok(FindingStatus::FalsePositive),
            "snoozed" => Ok(FindingStatus::Snoozed),
            "resolved" => Ok(FindingStatus::Resolved),
            other => Err(format!(
                "unknown status {other:?}; expected open, false_positive, snoozed or resolved"
            )),
        }
    }
}

/// A finding's identity within its organization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > MAX_SHORT_TEXT {
            return Err(format!("must be 1–{MAX_SHORT_TEXT} characters"));
        }
        Ok(Fingerprint(s.to_string()))
    }

    /// The default identity: a hash of domain, category, title and affected URL.
    pub fn derive(
        domain: &DomainName,
        category: Option<Category>,
        title: &str,
        affected_url: Option<&str>,
    ) -> Self {
        let mut h = Sha256::new();
        for part in [
            domain.as_str(),
            category.map(|c| c.as_str()).unwrap_or(""),
            title,
            affected_url.unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        Fingerprint(hex::encode(&h.finalize()[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated finding as submitted by a scanner; every field within its bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFinding {
    pub domain: DomainName,
    pub title: String,
    pub severity: Severity,
    pub cvss: Option<Cvss>,
    pub cvss_vector: Option<String>,
    pub cve: Option<String>,
    pub owasp: Option<String>,
    pub category: Option<Category>,
    pub affected_url: Option<String>,
    pub description: Option<String>,
    pub remediation: Option<String>,
    pub fingerprint: Fingerprint,
    pub scanner: Option<String>,
    pub scan_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub detected_at: Option<i64>,
    /// The scanner's rule or check id (SARIF `ruleId`, a nuclei template, a ZAP plugin): what silences match on.
    pub rule: Option<String>,
    /// The affected package (a Dependabot alert's), for silences.
    pub package: Option<String>,
}

const FIELDS: &[&str] = &[
    "domain",
    "title",
    "severity",
    "cvss",
    "cvss_vector",
    "cve",
    "owasp",
    "category",
    "affected_url",
    "description",
    "remediation",
    "fingerprint",
    "scanner",
    "scan_id",
    "detected_at",
    "rule",
    "package",
];

impl NewFinding {
    /// Validates one finding object. Field names in errors are relative (`severity`); callers prefix them.
    pub fn from_json(v: &Value) -> Result<NewFinding, FieldErrors> {
        let Some(obj) = v.as_object() else {
            return Err(FieldError::new("", "must be a JSON object").into());
        };
        let mut errs = FieldErrors::default();
        unknown_fields(obj, &mut errs);
        let mut r = Reader {
            obj,
            errs: &mut errs,
        };

        let domain = r.domain();
        let title = r.title();
        let severity = r
            .string("severity", false, 32)
            .and_then(|s| r.check("severity", s.parse::<Severity>()));
        let cvss = r.cvss();
        let cvss_vector = r.string("cvss_vector", false, MAX_SHORT_TEXT);
        let vector_score = cvss_vector
            .as_deref()
            .and_then(|v| r.check("cvss_vector", Cvss::from_vector(v)));
        let cve = r
            .string("cve", false, 32)
            .and_then(|s| r.check("cve", parse_cve(&s)));
        let owasp = r.string("owasp", false, MAX_SHORT_TEXT);
        let category = r
            .string("category", false, 100)
            .and_then(|s| r.check("category", Category::parse(&s)));
        let affected_url = r
            .string("affected_url", false, MAX_URL)
            .and_then(|s| r.check("affected_url", parse_url(&s)));
        let description = r.string("description", false, MAX_LONG_TEXT);
        let remediation = r.string("remediation", false, MAX_LONG_TEXT);
        let fingerprint = r
            .string("fingerprint", false, MAX_SHORT_TEXT)
            .and_then(|s| r.check("fingerprint", Fingerprint::parse(&s)));
        let scanner = r.string("scanner", false, 100);
        let scan_id = r.string("scan_id", false, 100);
        let detected_at = r.detected_at();
        let rule = r.string("rule", false, MAX_SHORT_TEXT);
        let package = r.string("package", false, MAX_SHORT_TEXT);

        let cvss = cvss.or(vector_score);
        let severity = r.severity_or_cvss(severity, cvss);

        match (domain, title, severity) {
            (Some(domain), Some(title), Some(severity)) if errs.is_empty() => {
                let fingerprint = fingerprint.unwrap_or_else(|| {
                    Fingerprint::derive(&domain, category, &title, affected_url.as_deref())
                });
                Ok(NewFinding {
                    domain,
                    title,
                    severity,
                    cvss,
                    cvss_vector,
                    cve,
                    owasp,
                    category,
                    affected_url,
                    description,
                    remediation,
                    fingerprint,
                    scanner,
                    scan_id,
                    detected_at,
                    rule,
                    package,
                })
            }
            _ => Err(errs),
        }
    }
}

/// Pushes an error for each key of a finding object that is not a finding field.
fn unknown_fields(obj: &Map<String, Value>, errs: &mut FieldErrors) {
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            errs.push(FieldError::new(
                key.clone(),
                format!("unknown field; expected one of {}", FIELDS.join(", ")),
            ));
        }
    }
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    errs: &'a mut FieldErrors,
}

impl Reader<'_> {
    fn fail(&mut self, field: &str, msg: impl Into<String>) {
        self.errs.push(FieldError::new(field, msg));
    }

    fn check<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.fail(field, e)).ok()
    }

    /// Reads an optional or required string of at most `max` characters.
    fn string(&mut self, field: &str, required: bool, max: usize) -> Option<String> {
        match self.obj.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::String(s)) => {
                if s.chars().count() > max {
                    self.fail(field, format!("must be at most {max} characters"));
                    None
                } else if s.trim().is_empty() && !required {
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// Reads the required `domain` as a domain name.
    fn domain(&mut self) -> Option<DomainName> {
        self.string("domain", true, 253)
            .and_then(|s| self.check("domain", DomainName::parse(&s)))
    }

    /// Reads the required `title`, trimmed and not blank.
    fn title(&mut self) -> Option<String> {
        self.string("title", true, MAX_TITLE).and_then(|s| {
            if s.trim().is_empty() {
                self.fail("title", "must not be empty");
                None
            } else {
                Some(s.trim().to_string())
            }
        })
    }

    /// Reads the optional `cvss` score, a number from 0.0 to 10.0.
    fn cvss(&mut self) -> Option<Cvss> {
        match self.obj.get("cvss") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => self.check(
                "cvss",
                n.as_f64()
                    .ok_or_else(|| "must be a number".to_string())
                    .and_then(Cvss::new),
            ),
            Some(_) => {
                self.fail("cvss", "must be a number between 0.0 and 10.0");
                None
            }
        }
    }

    /// Reads the optional `detected_at`, an RFC 3339 time, as milliseconds since the Unix epoch.
    fn detected_at(&mut self) -> Option<i64> {
        self.string("detected_at", false, 64).and_then(|s| {
            self.check(
                "detected_at",
                s.parse::<jiff::Timestamp>()
                    .map(|t| t.as_millisecond())
                    .map_err(|e| {
                        format!("must be an RFC 3339 time such as 2025-01-20T09:00:00Z ({e})")
                    }),
            )
        })
    }

    /// The given severity, else the CVSS score's; "is required" unless a `severity` key is present or a cvss field failed.
    fn severity_or_cvss(
        &mut self,
        severity: Option<Severity>,
        cvss: Option<Cvss>,
    ) -> Option<Severity> {
        match (severity, cvss) {
            (Some(s), _) => Some(s),
            (None, Some(c)) => Some(Severity::from_cvss(c)),
            (None, None) => {
                if !self.obj.contains_key("severity")
                    && !self.errs.0.iter().any(|e| e.field.starts_with("cvss"))
                {
                    self.fail(
                        "severity",
                        "is required unless cvss or cvss_vector is given",
                    );
                }
                None
            }
        }
    }
}

pub(crate) fn parse_cve(s: &str) -> Result<String, String> {
    let up = s.trim().to_ascii_uppercase();
    let ok = up
        .strip_prefix("CVE-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(year, num)| {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && num.len() >= 4
                && num.bytes().all(|b| b.is_ascii_digit())
        });
    if ok {
        Ok(up)
    } else {
        Err(format!("{s:?} is not a CVE id; expected CVE-YYYY-NNNN…"))
    }
}

fn parse_url(s: &str) -> Result<String, String> {
    let u = url::Url::parse(s.trim()).map_err(|e| format!("must be an absolute URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("must be an absolute http(s) URL".into());
    }
    Ok(truncate_chars(s.trim(), MAX_URL))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(v: Value) -> String {
        match NewFinding::from_json(&v) {
            Ok(f) => panic!("expected an error, got {f:?}"),
            Err(e) => e.first().map(|e| e.field.clone()).unwrap_or_default(),
        }
    }

    #[test]
    fn each_invalid_field_is_named() {
        let base = json!({"domain": "example.com", "title": "t", "severity": "high"});
        let cases = [
            ("domain", json!("not a host")),
            ("title", json!("x".repeat(501))),
            ("severity", json!("severe")),
            ("cvss", json!(11)),
            ("cvss_vector", json!("CVSS:3.1/AV:Q")),
            ("cve", json!("CVE-24-1")),
            ("category", json!("quantum")),
            ("affected_url", json!("/login")),
            ("detected_at", json!("yesterday")),
            ("fingerprint", json!("f".repeat(201))),
            ("description", json!(7)),
            ("sevrity", json!("high")),
        ];
        for (field, value) in cases {
            let mut v = base.clone();
            v[field] = value;
            assert_eq!(field_of(v), field, "field {field}");
        }
        assert_eq!(
            field_of(json!({"title": "t", "severity": "high"})),
            "domain"
        );
        assert_eq!(
            field_of(json!({"domain": "example.com", "title": "t"})),
            "severity"
        );
    }

    #[test]
    fn severity_is_derived_from_cvss_or_a_vector() {
        let f = NewFinding::from_json(&json!({"domain": "Example.com", "title": "t", "cvss": 9.8}))
            .expect("valid");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.domain.as_str(), "example.com");
        let f = NewFinding::from_json(&json!({"domain": "example.com", "title": "t",
            "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}))
        .expect("valid");
        assert_eq!(f.cvss.map(Cvss::value), Some(7.5));
        assert_eq!(f.severity, Severity::High);
    }

    #[test]
    fn default_fingerprint_depends_on_identity_fields_only() {
        let a = NewFinding::from_json(
            &json!({"domain": "example.com", "title": "t", "severity": "low", "description": "x"}),
        )
        .expect("valid");
        let b = NewFinding::from_json(
            &json!({"domain": "EXAMPLE.com", "title": "t", "severity": "high"}),
        )
        .expect("valid");
        let c = NewFinding::from_json(
            &json!({"domain": "example.com", "title": "u", "severity": "low"}),
        )
        .expect("valid");
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
    }
}
