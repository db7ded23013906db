//! nuclei results: JSON lines (`nuclei -jsonl`, one result a line) or a JSON array (`nuclei -je`), one finding each.

use super::draft::{category_for_cwe, category_for_word, find_cwes, head, Draft};
use super::identity::{Evidence, Pending};
use super::json::{self, as_array, Loc, Obj};
use super::{Findings, ImportError};
use fence_core::{DomainName, Severity};
use serde_json::Value;

/// How many extracted values are listed in a description.
const MAX_EXTRACTED: usize = 10;

pub(super) fn import(
    input: &[u8],
    domain: &DomainName,
    out: &mut Findings,
) -> Result<(), ImportError> {
    out.tool("nuclei");
    if input.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let doc = json::parse(input, None)?;
        let root = Loc::root();
        for (i, v) in as_array(&doc, &root)?.iter().enumerate() {
            out.push(result(v, root.index(i), domain)?)?;
        }
        return Ok(());
    }
    for (i, line) in input.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let n = i + 1;
        let v = json::parse(line, Some(n))?;
        out.push(result(&v, Loc::line(n), domain)?)?;
    }
    Ok(())
}

/// The first of a field's names present: nuclei before v2.5.3 wrote `templateID`, `matched`, `matcher_name` and
/// `extracted_results` where later versions write `template-id`, `matched-at`, `matcher-name`, `extracted-results`.
fn either<'a>(r: &Obj<'a>, new: &str, old: &str) -> Result<Option<&'a str>, ImportError> {
    match r.opt_str(new)? {
        Some(s) => Ok(Some(s)),
        None => r.opt_str(old),
    }
}

fn result(v: &Value, loc: Loc, domain: &DomainName) -> Result<Pending, ImportError> {
    let r = Obj::of(v, loc.clone())?;
    let template = match r.get("template-id") {
        None if r.get("templateID").is_some() => r.req_str("templateID")?,
        _ => r.req_str("template-id")?,
    };
    let info = r
        .child("info")?
        .ok_or_else(|| r.at("info").error("is required"))?;
    let name = info.req_str("name")?;
    let severity = match info.opt_str("severity")?.map(str::trim) {
        None | Some("") => Severity::Info,
        Some(s) if s.eq_ignore_ascii_case("unknown") => Severity::Info,
        Some(s) => s.parse::<Severity>().map_err(|_| {
            info.at("severity").error(format!(
                "unknown severity {:?}; expected critical, high, medium, low, info or unknown",
                head(s, 40)
            ))
        })?,
    };

    let mut d = Draft::new(domain, "nuclei");
    d.rule(template);
    d.title([Some(name)]);
    d.severity(severity);
    classify(&info, &mut d)?;

    d.describe(info.opt_str("description")?.unwrap_or(""));
    d.remediation(info.opt_str("remediation")?.unwrap_or(""));
    let matched_at = either(&r, "matched-at", "matched")?;
    let host = r.opt_str("host")?;
    d.location(matched_at.or(host).unwrap_or(""));
    let matcher = either(&r, "matcher-name", "matcher_name")?;
    if let Some(m) = matcher {
        d.note(format!("Matcher: {m}"));
    }
    let extracted = match r.get("extracted-results") {
        Some(_) => r.opt_strings("extracted-results", false)?,
        None => r.opt_strings("extracted_results", false)?,
    };
    if !extracted.is_empty() {
        let shown: Vec<&str> = extracted.iter().take(MAX_EXTRACTED).copied().collect();
        let more = extracted.len().saturating_sub(MAX_EXTRACTED);
        let suffix = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        d.note(format!("Extracted: {}{suffix}", shown.join(", ")));
    }
    let references = info.opt_strings("reference", false)?;
    if !references.is_empty() {
        d.note(format!("References: {}", references.join(" ")));
    }
    d.note(format!("Template: {template}"));
    if let Some(t) = r.opt_str("timestamp")? {
        d.detected_at(t);
    }

    let at = matched_at.or(host).unwrap_or("");
    let evidence = evidence(template, at, matcher.unwrap_or(""), &extracted);
    Ok(Pending {
        kind: "nuclei",
        draft: d,
        loc,
        evidence,
        upstream: None,
    })
}

/// CVEs, CVSS and the category from the template's classification and tags.
fn classify(info: &Obj<'_>, d: &mut Draft) -> Result<(), ImportError> {
    let mut cwes = Vec::new();
    if let Some(c) = info.child("classification")? {
        d.cves(c.opt_strings("cve-id", true)?);
        if let Some(score) = c.opt_score("cvss-score")? {
            d.cvss(score);
        }
        if let Some(vector) = c.opt_str("cvss-metrics")? {
            d.cvss_vector(vector);
        }
        for id in c.opt_strings("cwe-id", true)? {
            cwes.extend(find_cwes(id));
        }
    }
    let tags = info.opt_strings("tags", true)?;
    d.category(
        cwes.into_iter()
            .find_map(category_for_cwe)
            .or_else(|| tags.iter().find_map(|t| category_for_word(t))),
    );
    Ok(())
}

/// The result's identity: template, where it matched, matcher and extracted values (sorted).
fn evidence(template: &str, at: &str, matcher: &str, extracted: &[&str]) -> Evidence {
    let mut own = vec![template, at, matcher];
    let mut values: Vec<&str> = extracted.iter().take(100).copied().collect();
    values.sort_unstable();
    own.extend(values);
    Evidence {
        scope: "nuclei".into(),
        key: own.iter().map(|s| head(s, 1_000).to_string()).collect(),
        ..Evidence::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{domain, err_at, fixture, ok};
    use super::super::{import_file, Format};

    use fence_core::{Category, Severity};

    const NUCLEI: Format = Format::Nuclei;

    fn line(severity: &str) -> String {
        format!(
            r#"{{"template-id":"t","info":{{"name":"Name","severity":"{severity}"}},"matched-at":"https://shop.example.com/x"}}"#
        )
    }

    #[test]
    fn each_line_becomes_a_finding() {
        let f = ok(NUCLEI, &fixture("nuclei.jsonl"));
        assert_eq!(f.len(), 3);

        let log4j = &f[0];
        assert_eq!(log4j.title, "Apache Log4j2 Remote Code Injection");
        assert_eq!(log4j.severity, Severity::Critical);
        assert_eq!(log4j.cve.as_deref(), Some("CVE-2021-44228"));
        assert_eq!(
            log4j.rule.as_deref(),
            Some("CVE-2021-44228"),
            "the template id"
        );
        assert_eq!(log4j.cvss.map(|c| c.value()), Some(10.0));
        assert_eq!(
            log4j.cvss_vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
        );
        assert_eq!(log4j.category, Some(Category::RemoteCodeExecution));
        assert_eq!(
            log4j.affected_url.as_deref(),
            Some("https://shop.example.com/api/login")
        );
        assert!(log4j
            .remediation
            .as_deref()
            .is_some_and(|r| r.starts_with("Upgrade to Log4j 2.3.1")));
        let desc = log4j.description.as_deref().unwrap_or("");
        assert!(desc.starts_with("Apache Log4j2 <=2.14.1 JNDI"), "{desc}");
        assert!(desc.contains("Extracted: 198.51.100.23"), "{desc}");
        assert!(
            desc.contains("https://nvd.nist.gov/vuln/detail/CVE-2021-44228"),
            "{desc}"
        );
        assert_eq!(log4j.detected_at, Some(1_705_741_200_000));
        assert_eq!(log4j.scanner.as_deref(), Some("nuclei"));

        let headers = &f[1];
        assert_eq!(headers.title, "HTTP Missing Security Headers");
        assert_eq!(headers.severity, Severity::Info);
        assert_eq!(headers.cve, None);
        assert_eq!(
            headers.affected_url.as_deref(),
            Some("https://shop.example.com")
        );
        assert!(headers
            .description
            .as_deref()
            .is_some_and(|d| d.contains("Matcher: strict-transport-security")));

        let tls = &f[2];
        assert_eq!(tls.severity, Severity::Low);
        assert_eq!(tls.affected_url, None, "host:port is not a URL");
        assert!(tls
            .description
            .as_deref()
            .is_some_and(|d| d.contains("Location: shop.example.com:443")));
    }

    #[test]
    fn fingerprints_are_template_location_and_matcher() {
        let a = ok(NUCLEI, &fixture("nuclei.jsonl"));
        let b = ok(NUCLEI, &fixture("nuclei.jsonl"));
        assert_eq!(
            a.iter().map(|f| &f.fingerprint).collect::<Vec<_>>(),
            b.iter().map(|f| &f.fingerprint).collect::<Vec<_>>()
        );
        assert!(a[0].fingerprint.as_str().starts_with("nuclei:"));
        let hsts = r#"{"template-id":"h","info":{"name":"H","severity":"info"},"matched-at":"https://shop.example.com","matcher-name":"strict-transport-security","timestamp":"2024-01-20T09:00:00Z"}"#;
        let xfo = hsts.replace("strict-transport-security", "x-frame-options");
        let later = hsts.replace("09:00:00Z", "10:00:00Z");
        let input = format!("{hsts}\n{xfo}\n{later}");
        let got = import_file(NUCLEI, input.as_bytes(), &domain()).expect("imports");
        let f = &got.findings;
        assert_eq!(f.len(), 2, "the third line repeats the first");
        assert_ne!(f[0].fingerprint, f[1].fingerprint, "different matchers");
        assert_eq!(got.counts.results, 3);
        assert_eq!(got.counts.merged, 1);
        assert_eq!(
            got.counts.merged_why,
            ["line 3 repeats line 1: the same rule, location, line and message"]
        );
        assert_eq!(
            ok(NUCLEI, later.as_bytes())[0].fingerprint,
            f[0].fingerprint
        );
    }

    #[test]
    fn severities_map_and_unknown_is_info() {
        for (raw, want) in [
            ("critical", Severity::Critical),
            ("HIGH", Severity::High),
            ("medium", Severity::Medium),
            ("low", Severity::Low),
            ("info", Severity::Info),
            ("unknown", Severity::Info),
        ] {
            assert_eq!(ok(NUCLEI, line(raw).as_bytes())[0].severity, want, "{raw}");
        }
        let e = super::super::testing::err(
            NUCLEI,
            format!("{}\n{}", line("low"), line("severe")).as_bytes(),
        );
        assert_eq!(e.location, "line 2: info.severity");
        assert!(e.message.contains("severe"), "{e}");
    }

    #[test]
    fn blank_lines_crlf_and_json_arrays_are_accepted() {
        let high = line("high").replace("/x", "/y");
        let input = format!("\r\n{}\r\n\r\n   \n{high}\r\n", line("low"));
        assert_eq!(ok(NUCLEI, input.as_bytes()).len(), 2);
        let array = format!("[{}, {high}]", line("low"));
        assert_eq!(ok(NUCLEI, array.as_bytes()).len(), 2);
        let bad = format!("[{}, {}]", line("low"), line("severe"));
        assert_eq!(err_at(NUCLEI, bad.as_bytes()), "[1].info.severity");
    }

    #[test]
    fn unusable_enrichments_are_moved_into_the_description() {
        let input = r#"{"template-id":"t","info":{"name":"N","severity":"high","classification":{"cve-id":["CVE-21-1","cve-2023-1234"],"cvss-score":99,"cvss-metrics":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N","cwe-id":"cwe-89"}},"matched-at":"ftp://shop.example.com/","timestamp":"yesterday"}"#;
        let f = &ok(NUCLEI, input.as_bytes())[0];
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.cve.as_deref(), Some("CVE-2023-1234"));
        assert_eq!((f.cvss, f.cvss_vector.as_deref()), (None, None));
        assert_eq!(f.category, Some(Category::SqlInjection));
        assert_eq!((f.affected_url.as_deref(), f.detected_at), (None, None));
        let desc = f.description.as_deref().unwrap_or("");
        for part in [
            "CVE-21-1",
            "CVSS score: 99",
            "CVSS vector: CVSS:4.0/",
            "Location: ftp://shop.example.com/",
        ] {
            assert!(desc.contains(part), "{part} in {desc}");
        }
    }

    #[test]
    fn hostile_titles_are_truncated_and_kept_literally() {
        let long = line("low").replace("\"Name\"", &format!("\"{}\"", "x".repeat(600)));
        let f = &ok(NUCLEI, long.as_bytes())[0];
        assert_eq!(f.title.chars().count(), 500);
        let channel = line("low").replace("\"Name\"", r#""<!channel> pwned <@here>""#);
        assert_eq!(
            ok(NUCLEI, channel.as_bytes())[0].title,
            "<!channel> pwned <@here>"
        );
    }

    #[test]
    fn broken_lines_are_named() {
        let good = line("low");
        let broken = format!("{good}\n{good}\n{{\"template-id\": \"t\", \"info\": \n{good}\n");
        let e = super::super::testing::err(NUCLEI, broken.as_bytes());
        assert_eq!(e.location, "line 3");
        assert!(e.message.contains("not valid JSON"), "{e}");

        for (want, input) in [
            ("line 1", "not json".to_string()),
            ("line 1", "5".to_string()),
            ("line 2", format!("{good}\n\"text\"")),
            (
                "line 1: template-id",
                r#"{"info":{"name":"n","severity":"low"}}"#.to_string(),
            ),
            (
                "line 1: template-id",
                r#"{"template-id":7,"info":{"name":"n"}}"#.to_string(),
            ),
            ("line 1: info", r#"{"template-id":"t"}"#.to_string()),
            (
                "line 1: info",
                r#"{"template-id":"t","info":"x"}"#.to_string(),
            ),
            (
                "line 1: info.name",
                r#"{"template-id":"t","info":{"severity":"low"}}"#.to_string(),
            ),
            (
                "line 1: info.severity",
                r#"{"template-id":"t","info":{"name":"n","severity":3}}"#.to_string(),
            ),
            (
                "line 1: matched-at",
                r#"{"template-id":"t","info":{"name":"n"},"matched-at":["u"]}"#.to_string(),
            ),
            (
                "line 1: info.classification.cve-id[0]",
                r#"{"template-id":"t","info":{"name":"n","classification":{"cve-id":[1]}}}"#
                    .to_string(),
            ),
        ] {
            assert_eq!(err_at(NUCLEI, input.as_bytes()), want, "{input}");
        }
    }
}
