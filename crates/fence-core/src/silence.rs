//! Silences: matchers over a finding's rule, CVE, package, domain (with `*.` wildcards), domain tag, category and
//! severity — at least one, all of them must match — parsed once from the API's `matchers` object and kept in the
//! same shape in the database.

use crate::domain::DomainPattern;
use crate::error::{FieldError, FieldErrors};
use crate::finding::{parse_cve, MAX_SHORT_TEXT};
use crate::{Category, Severity};
use serde_json::{Map, Value};

/// The longest a silence may last: a year, so nothing is muted and forgotten.
pub const MAX_SILENCE_MS: i64 = 366 * 86_400_000;
/// The longest reason a silence keeps.
pub const MAX_REASON: usize = 500;

const KEYS: [&str; 7] = [
    "rule", "cve", "package", "domain", "tag", "category", "severity",
];

/// What a silence matches; every matcher given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matchers {
    pub rule: Option<String>,
    pub cve: Option<String>,
    /// Compared without regard to case.
    pub package: Option<String>,
    pub domain: Option<DomainPattern>,
    pub tag: Option<String>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
}

/// The parts of a finding a silence looks at.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub domain: &'a str,
    pub rule: Option<&'a str>,
    pub cve: Option<&'a str>,
    pub package: Option<&'a str>,
    pub category: Option<Category>,
    pub severity: Severity,
    /// The domain's tags; `None` when they were not read (no silence of the batch matches on tags).
    pub tags: Option<&'a [String]>,
}

impl Matchers {
    /// Parses the `matchers` object; errors name `matchers.<key>`.
    pub fn parse(v: &Value) -> Result<Matchers, FieldErrors> {
        let Some(obj) = v.as_object() else {
            return Err(FieldError::new("matchers", "must be an object").into());
        };
        let mut errs = FieldErrors::default();
        let mut m = Matchers::default();
        for (k, v) in obj {
            let field = format!("matchers.{k}");
            if !KEYS.contains(&k.as_str()) {
                errs.push(FieldError::new(
                    field,
                    format!("unknown matcher; expected one of {}", KEYS.join(", ")),
                ));
                continue;
            }
            let Some(s) = v.as_str().map(str::trim).filter(|s| !s.is_empty()) else {
                errs.push(FieldError::new(field, "must be a non-empty string"));
                continue;
            };
            if s.chars().count() > MAX_SHORT_TEXT {
                errs.push(FieldError::new(
                    field,
                    format!("must be at most {MAX_SHORT_TEXT} characters"),
                ));
                continue;
            }
            let parsed: Result<(), String> = match k.as_str() {
                "rule" => {
                    m.rule = Some(s.to_string());
                    Ok(())
                }
                "cve" => parse_cve(s).map(|c| m.cve = Some(c)),
                "package" => {
                    m.package = Some(s.to_string());
                    Ok(())
                }
                "domain" => DomainPattern::parse(s).map(|d| m.domain = Some(d)),
                "tag" => {
                    m.tag = Some(s.to_string());
                    Ok(())
                }
                "category" => Category::parse(s).map(|c| m.category = Some(c)),
                _ => s.parse::<Severity>().map(|sev| m.severity = Some(sev)),
            };
            if let Err(e) = parsed {
                errs.push(FieldError::new(field, e));
            }
        }
        if errs.is_empty() && m == Matchers::default() {
            errs.push(FieldError::new(
                "matchers",
                format!("must name at least one of {}", KEYS.join(", ")),
            ));
        }
        errs.into_result(m)
    }

    /// The matchers given, in a fixed order: (key, value).
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("rule", self.rule.as_deref()),
            ("cve", self.cve.as_deref()),
            ("package", self.package.as_deref()),
            ("domain", self.domain.as_ref().map(DomainPattern::as_str)),
            ("tag", self.tag.as_deref()),
            ("category", self.category.map(Category::as_str)),
            ("severity", self.severity.map(Severity::as_str)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// The stored and shown shape: only the matchers given.
    pub fn to_json(&self) -> Value {
        let o: Map<String, Value> = self
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        Value::Object(o)
    }

    pub fn uses_tags(&self) -> bool {
        self.tag.is_some()
    }

    /// Whether every matcher given matches the finding.
    pub fn matches(&self, f: &Subject<'_>) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        eq(&self.rule, f.rule)
            && eq(&self.cve, f.cve)
            && self
                .package
                .as_deref()
                .is_none_or(|w| f.package.is_some_and(|p| p.eq_ignore_ascii_case(w)))
            && self.domain.as_ref().is_none_or(|d| d.matches(f.domain))
            && self
                .tag
                .as_deref()
                .is_none_or(|t| f.tags.is_some_and(|have| have.iter().any(|h| h == t)))
            && self.category.is_none_or(|c| f.category == Some(c))
            && self.severity.is_none_or(|s| f.severity == s)
    }

    /// A one-line description for lists and digests: `rule=… domain=*.example.com`.
    pub fn summary(&self) -> String {
        self.pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subject<'a>(domain: &'a str, tags: Option<&'a [String]>) -> Subject<'a> {
        Subject {
            domain,
            rule: Some("js/xss"),
            cve: Some("CVE-2024-1234"),
            package: Some("Lodash"),
            category: Some(Category::Xss),
            severity: Severity::High,
            tags,
        }
    }

    #[test]
    fn every_given_matcher_must_match() {
        let m =
            Matchers::parse(&json!({"rule": "js/xss", "domain": "*.example.com"})).expect("valid");
        assert!(m.matches(&subject("app.example.com", None)));
        assert!(
            !m.matches(&subject("example.com", None)),
            "the wildcard is subdomains only"
        );
        let m = Matchers::parse(&json!({"rule": "js/xss", "severity": "critical"})).expect("valid");
        assert!(!m.matches(&subject("example.com", None)));
        let m = Matchers::parse(
            &json!({"package": "lodash", "cve": "cve-2024-1234", "category": "XSS"}),
        )
        .expect("valid");
        assert!(m.matches(&subject("example.com", None)));
    }

    #[test]
    fn tags_match_only_when_the_domain_has_them() {
        let m = Matchers::parse(&json!({"tag": "payments"})).expect("valid");
        let tags = vec!["payments".to_string()];
        assert!(m.matches(&subject("a.example", Some(&tags))));
        assert!(!m.matches(&subject("a.example", Some(&[]))));
        assert!(!m.matches(&subject("a.example", None)));
        assert!(m.uses_tags());
    }

    #[test]
    fn errors_name_the_matcher_and_an_empty_set_is_refused() {
        let e = Matchers::parse(&json!({"cve": "nope", "colour": "red", "severity": 3}))
            .expect_err("refused");
        let mut fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["matchers.colour", "matchers.cve", "matchers.severity"]
        );
        let e = Matchers::parse(&json!({})).expect_err("refused");
        assert_eq!(e.0[0].field, "matchers");
        assert!(Matchers::parse(&json!([])).is_err());
    }

    #[test]
    fn the_stored_shape_reads_back_the_same() {
        let m =
            Matchers::parse(&json!({"domain": "*.Example.com", "severity": "HIGH", "rule": "r1"}))
                .expect("valid");
        assert_eq!(
            m.to_json(),
            json!({"domain": "*.example.com", "severity": "high", "rule": "r1"})
        );
        assert_eq!(Matchers::parse(&m.to_json()).expect("valid"), m);
        assert_eq!(m.summary(), "rule=r1 domain=*.example.com severity=high");
    }
}
