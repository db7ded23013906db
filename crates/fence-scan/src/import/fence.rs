//! Fence JSON: the body of `POST /api/v1/findings` (one finding or `{"findings": [...]}`), validated as the API does.

use super::json::{as_array, Loc};
use super::{Findings, ImportError};
use fence_core::{DomainName, NewFinding};
use serde_json::Value;

pub(super) fn import(
    doc: Value,
    domain: &DomainName,
    out: &mut Findings,
) -> Result<(), ImportError> {
    let root = Loc::root();
    let (items, batch): (Vec<&Value>, bool) = match &doc {
        Value::Object(m) if m.contains_key("findings") => {
            if let Some(k) = m.keys().find(|k| k.as_str() != "findings") {
                return Err(root.key(k).error("unknown field next to `findings`"));
            }
            let at = root.key("findings");
            let list = m.get("findings").unwrap_or(&Value::Null);
            (as_array(list, &at)?.iter().collect(), true)
        }
        Value::Object(_) => (vec![&doc], false),
        _ => {
            return Err(root.error("must be a finding object or {\"findings\": [...]}"));
        }
    };
    for (i, item) in items.into_iter().enumerate() {
        let loc = if batch {
            root.key("findings").index(i)
        } else {
            root.clone()
        };
        let f = finding(item, &loc, domain)?;
        out.push_whole(f, loc)?;
    }
    Ok(())
}

/// One finding; an omitted domain is the import's, a different one is an error.
fn finding(item: &Value, loc: &Loc, domain: &DomainName) -> Result<NewFinding, ImportError> {
    let mut obj = super::json::as_object(item, loc)?.clone();
    match obj.get("domain") {
        None | Some(Value::Null) => {
            obj.insert("domain".into(), Value::String(domain.as_str().into()));
        }
        Some(Value::String(s)) => {
            if let Ok(given) = DomainName::parse(s) {
                if given != *domain {
                    return Err(loc.key("domain").error(format!(
                        "is {}, but this import is for {domain}",
                        given.as_str()
                    )));
                }
            }
        }
        // Other types are reported by the validation below.
        Some(_) => {}
    }
    NewFinding::from_json(&Value::Object(obj)).map_err(|errs| match errs.first() {
        Some(e) => loc.key(&e.field).error(e.message.clone()),
        None => loc.error("is not a valid finding"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err_at, fixture, ok};
    use super::super::Format;
    use fence_core::{Category, Severity};
    use serde_json::json;

    const FENCE: Format = Format::Fence;

    #[test]
    fn a_batch_is_imported_for_the_given_domain() {
        let f = ok(FENCE, &fixture("fence.json"));
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.domain.as_str() == "shop.example.com"));
        assert_eq!(f[0].title, "Admin panel reachable without authentication");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].category, Some(Category::AuthenticationBypass));
        assert_eq!(f[0].fingerprint.as_str(), "custom-scanner:admin-open");
        assert_eq!(
            f[0].affected_url.as_deref(),
            Some("https://shop.example.com/admin/")
        );
        assert_eq!(f[0].scan_id.as_deref(), Some("nightly-2024-01-20"));
        // Severity derived from the vector (3.7), fingerprint derived by Fence.
        assert_eq!(f[1].severity, Severity::Low);
        assert_eq!(f[1].category, Some(Category::Certificate));
        assert_eq!(
            ok(FENCE, &fixture("fence.json"))[1].fingerprint,
            f[1].fingerprint
        );
    }

    #[test]
    fn a_file_of_tiny_objects_is_refused_before_it_is_built() {
        // Under a megabyte of JSON that would take about 80 MB parsed.
        let bomb = format!(
            r#"{{"findings": [{}]}}"#,
            vec![r#"{"a":0}"#; 100_000].join(",")
        );
        for format in [FENCE, Format::Nuclei, Format::Zap, Format::Dependabot] {
            let e = super::super::testing::err(format, bomb.as_bytes());
            assert!(
                e.message.contains("too many JSON values"),
                "{format:?}: {e:?}"
            );
        }
    }

    #[test]
    fn a_single_finding_object_is_accepted() {
        let body = json!({"title": "<!channel> Open S3 bucket", "severity": "high"});
        let f = ok(FENCE, body.to_string().as_bytes());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].title, "<!channel> Open S3 bucket");
        assert_eq!(f[0].scanner, None);
        assert!(ok(FENCE, br#"{"findings": []}"#).is_empty());
    }

    #[test]
    fn errors_name_the_finding_and_field() {
        let batch = |items: serde_json::Value| json!({"findings": items}).to_string().into_bytes();
        let good = json!({"title": "t", "severity": "low"});
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("line 1", b"{\"findings\": [".to_vec()),
            ("input", b"[1, 2]".to_vec()),
            ("findings", batch(json!(5))),
            ("extra", br#"{"findings": [], "extra": 1}"#.to_vec()),
            ("findings[1]", batch(json!([good, 5]))),
            (
                "findings[1].severity",
                batch(json!([good, {"title": "t", "severity": "severe"}])),
            ),
            ("findings[0].severity", batch(json!([{"title": "t"}]))),
            ("findings[0].title", batch(json!([{"severity": "low"}]))),
            (
                "findings[0].sevrity",
                batch(json!([{"title": "t", "sevrity": "low", "severity": "low"}])),
            ),
            (
                "findings[0].domain",
                batch(json!([{"domain": "other.example.com", "title": "t", "severity": "low"}])),
            ),
            (
                "findings[0].domain",
                batch(json!([{"domain": 5, "title": "t", "severity": "low"}])),
            ),
            // Fence's own format is checked as the API checks it: an over-long title is rejected, not cut.
            (
                "findings[0].title",
                batch(json!([{"title": "x".repeat(600), "severity": "low"}])),
            ),
            (
                "severity",
                json!({"title": "t", "severity": "severe"})
                    .to_string()
                    .into_bytes(),
            ),
        ];
        for (want, input) in cases {
            assert_eq!(
                err_at(FENCE, &input),
                want,
                "{}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}
