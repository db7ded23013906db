//! SARIF 2.1.0 (OWASP ZAP, Trivy, Semgrep, GitHub code scanning): each failing result of each run becomes a finding.
//!
//! Rules are read once per run, and every text a rule shares with its results is bounded first, so a hostile log
//! cannot make each of its results cost as much as the whole file.

use super::draft::{find_cves, head, Draft};
use super::identity::{gist, Evidence, Pending};
use super::json::{as_array, Loc, Obj};
use super::ImportError;
use fence_core::{DomainName, Severity};
use serde_json::Value;
use std::collections::HashMap;

mod evidence;
mod passes;
mod rules;
mod stream;
mod text;

pub(super) use passes::import;

use evidence::{is_suppressed, locations, message_text, own_fingerprint, package_name};
use rules::{bounded_tags, category, owasp, rules_of, Gravity, RuleInfo};
use text::readable_markdown;

/// How many of a result's locations are listed; the rest are counted.
const MAX_LOCATIONS: usize = 20;
/// How many tags of a rule or result are considered.
const MAX_TAGS: usize = 64;
/// The longest rule id, tag or URI taken from a rule, in characters.
const MAX_ID: usize = 1_000;

/// The log's runs, checked: the version, then each run's tool and rules (from the log without its results).
fn runs_of(doc: &Value) -> Result<Vec<Run<'_>>, ImportError> {
    let root = Obj::of(doc, Loc::root())?;
    match root.opt_str("version")? {
        Some("2.1.0") => {}
        Some(v) => {
            return Err(root.at("version").error(format!(
                "SARIF version {:?} is not supported; expected \"2.1.0\"",
                head(v, 40)
            )))
        }
        None => return Err(root.at("version").error("is required; expected \"2.1.0\"")),
    }
    let runs_loc = root.at("runs");
    let runs = root
        .get("runs")
        .ok_or_else(|| runs_loc.error("is required"))?;
    let mut out = Vec::new();
    for (i, run) in as_array(runs, &runs_loc)?.iter().enumerate() {
        let run = Obj::of(run, runs_loc.index(i))?;
        // Checked here for its type; its elements come one by one (see `stream`).
        run.opt_array("results")?;
        out.push(Run::new(run)?);
    }
    Ok(out)
}

/// Where a rule is: the driver (`None`) or an extension, and its index there.
type RuleKey = (Option<usize>, usize);

/// One run: its tool's name and rules.
struct Run<'a> {
    tool: &'a str,
    /// The driver's rules, by index.
    rules: Vec<RuleInfo<'a>>,
    /// Each extension's rules, by extension index then rule index.
    extensions: Vec<Vec<RuleInfo<'a>>>,
    /// Every rule of the driver and its extensions by id; the first of a repeated id wins.
    by_id: HashMap<&'a str, RuleKey>,
    /// When the run ended or started, if recorded.
    time: Option<&'a str>,
}

impl<'a> Run<'a> {
    fn new(run: Obj<'a>) -> Result<Self, ImportError> {
        let tool = run
            .child("tool")?
            .ok_or_else(|| run.at("tool").error("is required"))?;
        let driver = tool
            .child("driver")?
            .ok_or_else(|| tool.at("driver").error("is required"))?;
        let name = head(driver.req_str("name")?.trim(), 100);
        let rules = rules_of(&driver)?;
        let mut extensions = Vec::new();
        if let Some(exts) = tool.opt_array("extensions")? {
            for (i, ext) in exts.iter().enumerate() {
                extensions.push(rules_of(&Obj::of(ext, tool.at("extensions").index(i))?)?);
            }
        }
        let mut by_id = HashMap::new();
        let driver_keys = rules.iter().enumerate().map(|(i, r)| (r.id, (None, i)));
        let ext_keys = extensions.iter().enumerate().flat_map(|(e, rs)| {
            rs.iter()
                .enumerate()
                .map(move |(i, r)| (r.id, (Some(e), i)))
        });
        for (id, key) in driver_keys.chain(ext_keys) {
            if let Some(id) = id {
                by_id.entry(id).or_insert(key);
            }
        }
        let mut time = None;
        if let Some(first) = run.opt_array("invocations")?.and_then(|a| a.first()) {
            let inv = Obj::of(first, run.at("invocations").index(0))?;
            time = inv.opt_str("endTimeUtc")?.or(inv.opt_str("startTimeUtc")?);
        }
        Ok(Run {
            tool: name,
            rules,
            extensions,
            by_id,
            time: time.filter(|t| t.len() <= 64),
        })
    }

    fn get(&self, (ext, i): RuleKey) -> Option<&RuleInfo<'a>> {
        match ext {
            None => self.rules.get(i),
            Some(e) => self.extensions.get(e).and_then(|rs| rs.get(i)),
        }
    }

    /// A rule by id, or by the base of a hierarchical id (`CA2101/1` → `CA2101`).
    fn find(&self, id: &str) -> Option<&RuleInfo<'a>> {
        self.by_id
            .get(id)
            .or_else(|| {
                id.split_once('/')
                    .and_then(|(base, _)| self.by_id.get(base))
            })
            .and_then(|key| self.get(*key))
    }

    /// The rule a result refers to, by index (`ruleIndex`, `rule.index`, optionally in an extension) or by id.
    fn rule_of(
        &self,
        r: &Obj<'_>,
        rule_ref: Option<&Obj<'_>>,
        rule_id: Option<&str>,
    ) -> Result<Option<&RuleInfo<'a>>, ImportError> {
        let (index, index_loc) = match r.opt_index("ruleIndex")? {
            Some(i) => (Some(i), r.at("ruleIndex")),
            None => match rule_ref {
                Some(rr) => (rr.opt_index("index")?, rr.at("index")),
                None => (None, r.at("ruleIndex")),
            },
        };
        let mut component = None;
        if let Some(tc) = rule_ref
            .map(|rr| rr.child("toolComponent"))
            .transpose()?
            .flatten()
        {
            match tc.opt_index("index")? {
                Some(e) if e < self.extensions.len() => component = Some(e),
                Some(_) => {
                    return Err(tc.at("index").error(format!(
                        "refers to no extension (the tool has {})",
                        self.extensions.len()
                    )))
                }
                // A component named but not indexed: look the rule up by id.
                None => return Ok(rule_id.and_then(|id| self.find(id))),
            }
        }
        let Some(i) = index else {
            return Ok(rule_id.and_then(|id| self.find(id)));
        };
        let count = match component {
            None => self.rules.len(),
            Some(e) => self.extensions.get(e).map_or(0, Vec::len),
        };
        match self.get((component, i)) {
            Some(rule) => Ok(Some(rule)),
            None => Err(index_loc.error(format!("refers to no rule (the tool has {count} rules)"))),
        }
    }

    /// One result: a problem waiting for its identity, or what else it is (suppressed in the file, a pass).
    fn result(&self, r: Obj<'_>, domain: &DomainName, loc: &Loc) -> Result<Outcome, ImportError> {
        let kind = r.opt_str("kind")?.unwrap_or("fail");
        if matches!(kind, "pass" | "notApplicable") || r.opt_str("baselineState")? == Some("absent")
        {
            return Ok(Outcome::NotResult);
        }
        if is_suppressed(&r)? {
            return Ok(Outcome::Suppressed);
        }
        let rule_ref = r.child("rule")?;
        let mut rule_id = r.opt_str("ruleId")?;
        if rule_id.is_none() {
            rule_id = rule_ref
                .as_ref()
                .map(|rr| rr.opt_str("id"))
                .transpose()?
                .flatten();
        }
        let rule = self.rule_of(&r, rule_ref.as_ref(), rule_id)?;
        let none = RuleInfo::default();
        let rule = rule.unwrap_or(&none);
        let rule_id = head(rule_id.or(rule.id).unwrap_or("").trim(), MAX_ID);
        let message = message_text(&r, rule.messages.as_ref())?;

        let mut d = Draft::new(domain, self.tool);
        d.rule(rule_id);
        let readable_name = rule.name.filter(|n| n.trim().contains(char::is_whitespace));
        d.title([
            rule.short,
            readable_name,
            Some(&message),
            rule.name,
            Some(rule_id),
        ]);
        self.describe(&r, rule, rule_id, kind, &message, &mut d)?;

        let primary = locations(&r, &mut d)?;
        if let Some(uri) = rule.help_uri {
            d.note(format!("More information: {uri}"));
        }
        if let Some(t) = self.time {
            d.detected_at(t);
        }
        let own = own_fingerprint(&r)?.map(|(whole, f)| match whole {
            true => f,
            false => format!(
                "{rule_id}\u{1f}{}\u{1f}{f}\u{1f}{}",
                primary.uri,
                gist(&message)
            ),
        });
        let evidence = Evidence {
            scope: self.tool.to_string(),
            own,
            key: vec![
                rule_id.to_string(),
                primary.uri,
                primary.logical,
                primary.snippet,
                package_name(&message)
                    .or(primary.package)
                    .unwrap_or_default(),
            ],
            message,
            line: primary.line,
            column: primary.column,
        };
        Ok(Outcome::Problem(Box::new(Pending {
            kind: "sarif",
            draft: d,
            loc: loc.clone(),
            evidence,
            upstream: None,
        })))
    }

    /// Severity (a security-severity score or word, else the level), CVEs, category, OWASP entry, description and
    /// remediation.
    fn describe(
        &self,
        r: &Obj<'_>,
        rule: &RuleInfo<'a>,
        rule_id: &str,
        kind: &str,
        message: &str,
        d: &mut Draft,
    ) -> Result<(), ImportError> {
        let level = self.level(r, rule, kind)?;
        let result_props = r.child("properties")?;
        let mut gravity = None;
        let mut tags = rule.tags.clone();
        if let Some(p) = &result_props {
            gravity = Gravity::of(p)?;
            tags.extend(bounded_tags(p)?);
        }
        match gravity.or(rule.gravity) {
            Some(Gravity::Score(s)) => d.cvss(s),
            Some(Gravity::Word(s)) => d.severity(s),
            None => d.severity(level),
        }
        let mut cves = find_cves(rule_id);
        for text in tags.iter().copied().chain([message]) {
            cves.extend(find_cves(text));
        }
        d.cves(cves.iter().map(String::as_str));
        d.category(category(rule_id, rule, &tags, message));
        if let Some(owasp) = owasp(&tags) {
            d.owasp(owasp);
        }
        d.describe_beyond_title(message);
        d.describe(rule.full.unwrap_or(""));
        d.remediation(&readable_markdown(rule.remediation.unwrap_or("")));
        Ok(())
    }

    /// The result's level (or its rule's default, or SARIF's default) as a severity.
    fn level(&self, r: &Obj<'_>, rule: &RuleInfo<'a>, kind: &str) -> Result<Severity, ImportError> {
        let (level, at) = match r.opt_str("level")? {
            Some(l) => (l, r.at("level")),
            None if kind != "fail" => ("none", r.at("level")),
            None => match &rule.default_level {
                Some((l, at)) => (*l, at.clone()),
                None => ("warning", r.at("level")),
            },
        };
        match level {
            "error" => Ok(Severity::High),
            "warning" => Ok(Severity::Medium),
            "note" => Ok(Severity::Low),
            "none" => Ok(Severity::Info),
            other => Err(at.error(format!(
                "unknown level {:?}; expected error, warning, note or none",
                head(other, 40)
            ))),
        }
    }
}

/// What a result is.
enum Outcome {
    Problem(Box<Pending>),
    Suppressed,
    NotResult,
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err_at, fixture, nested, ok};
    use super::super::Format;
    use fence_core::{Category, Severity};
    use serde_json::{json, Value};

    const SARIF: Format = Format::Sarif;

    /// A one-run SARIF log with the given rules and results.
    fn log(rules: Value, results: Value) -> Vec<u8> {
        json!({
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "Tool", "rules": rules}}, "results": results}]
        })
        .to_string()
        .into_bytes()
    }

    fn one(rules: Value, result: Value) -> fence_core::NewFinding {
        let mut found = ok(SARIF, &log(rules, json!([result])));
        assert_eq!(found.len(), 1);
        found.remove(0)
    }

    #[test]
    fn zap_results_become_findings_at_their_urls() {
        let f = ok(SARIF, &fixture("zap.sarif"));
        assert_eq!(f.len(), 2);

        let csp = &f[0];
        assert_eq!(csp.title, "Content Security Policy (CSP) Header Not Set");
        assert_eq!(csp.severity, Severity::Medium);
        assert_eq!(
            csp.affected_url.as_deref(),
            Some("https://shop.example.com/")
        );
        assert_eq!(csp.scanner.as_deref(), Some("ZAP"));
        assert_eq!(csp.domain.as_str(), "shop.example.com");
        assert_eq!(csp.category, None, "CWE-693 has no Fence category");
        assert_eq!(
            csp.remediation.as_deref(),
            Some("Ensure that your web server, application server, load balancer, etc. is configured to set the Content-Security-Policy header.")
        );
        let desc = csp.description.as_deref().unwrap_or("");
        assert!(
            desc.starts_with("The response does not set a Content-Security-Policy header."),
            "{desc}"
        );
        assert!(
            desc.contains("Location: https://shop.example.com/robots.txt"),
            "{desc}"
        );
        assert!(
            desc.contains("https://www.zaproxy.org/docs/alerts/10038/"),
            "{desc}"
        );
        // The run's end time, 2024-01-20T09:00:00Z.
        assert_eq!(csp.detected_at, Some(1_705_741_200_000));

        let sqli = &f[1];
        assert_eq!(sqli.title, "SQL Injection");
        assert_eq!(sqli.severity, Severity::High);
        assert_eq!(sqli.category, Some(Category::SqlInjection));
        assert_eq!(
            sqli.affected_url.as_deref(),
            Some("https://shop.example.com/search?q=ZAP")
        );
        assert_eq!(sqli.cve, None);
    }

    #[test]
    fn trivy_results_carry_cve_score_and_dependency_category() {
        let f = ok(SARIF, &fixture("trivy.sarif"));
        assert_eq!(f.len(), 2);

        let critical = &f[1];
        assert_eq!(
            critical.title,
            "django: Potential bypass of validation when uploading multiple files using one form field"
        );
        assert_eq!(critical.cve.as_deref(), Some("CVE-2023-31047"));
        assert_eq!(critical.cvss.map(|c| c.value()), Some(9.8));
        assert_eq!(critical.severity, Severity::Critical);
        assert_eq!(critical.category, Some(Category::VulnerableDependency));
        assert_eq!(critical.affected_url, None);
        assert!(critical
            .remediation
            .as_deref()
            .is_some_and(|r| r.starts_with("Vulnerability CVE-2023-31047\n")));
        let desc = critical.description.as_deref().unwrap_or("");
        assert!(desc.contains("Location: requirements.txt:3"), "{desc}");
        assert!(desc.contains("Installed Version: 4.2.0"), "{desc}");
        assert_eq!(critical.scanner.as_deref(), Some("Trivy"));

        let medium = &f[0];
        assert_eq!(medium.cve.as_deref(), Some("CVE-2024-27351"));
        assert_eq!(medium.cvss.map(|c| c.value()), Some(5.3));
        assert_eq!(medium.severity, Severity::Medium);
        assert_ne!(medium.fingerprint, critical.fingerprint);
    }

    #[test]
    fn semgrep_results_get_categories_from_cwe_tags_and_suppressed_ones_are_skipped() {
        let f = ok(SARIF, &fixture("semgrep.sarif"));
        assert_eq!(f.len(), 2, "the third result is suppressed in source");

        let sqli = &f[0];
        assert_eq!(sqli.category, Some(Category::SqlInjection));
        assert_eq!(sqli.severity, Severity::High, "rule default level error");
        assert_eq!(sqli.owasp.as_deref(), Some("A03:2021 - Injection"));
        assert!(sqli
            .title
            .starts_with("Semgrep Finding: python.django.security.injection.sql"));
        assert!(sqli
            .remediation
            .as_deref()
            .is_some_and(|r| r.starts_with("Use parameterized queries: `cursor")));
        assert!(sqli
            .description
            .as_deref()
            .is_some_and(|d| d.contains("Location: app/views.py:42")));
        assert_eq!(sqli.affected_url, None);
        assert_eq!(sqli.scanner.as_deref(), Some("Semgrep OSS"));

        let xss = &f[1];
        assert_eq!(xss.category, Some(Category::Xss));
        assert_eq!(xss.severity, Severity::Medium);
        assert_eq!(
            xss.remediation.as_deref(),
            Some("Remove the 'safe' filter or escape the value before rendering.")
        );
    }

    #[test]
    fn fingerprints_are_stable_across_imports_and_follow_the_tools_identity() {
        for name in ["zap.sarif", "trivy.sarif", "semgrep.sarif"] {
            let a = ok(SARIF, &fixture(name));
            let b = ok(SARIF, &fixture(name));
            let fa: Vec<_> = a.iter().map(|f| f.fingerprint.clone()).collect();
            let fb: Vec<_> = b.iter().map(|f| f.fingerprint.clone()).collect();
            assert_eq!(fa, fb, "{name}");
            assert!(
                fa.iter().all(|f| f.as_str().starts_with("sarif:")),
                "{fa:?}"
            );
            assert_ne!(fa[0], fa[1], "{name}");
        }
        // With partial fingerprints the line may move; without them it is part of the identity.
        let rule = json!([{"id": "r1"}]);
        let at = |line: u64, partial: Value| {
            one(rule.clone(), json!({
                "ruleId": "r1", "message": {"text": "m"}, "partialFingerprints": partial,
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": line}}}]
            }))
            .fingerprint
        };
        assert_eq!(
            at(1, json!({"primaryLocationLineHash": "abc:1"})),
            at(9, json!({"primaryLocationLineHash": "abc:1"}))
        );
        assert_ne!(
            at(1, json!({"primaryLocationLineHash": "abc:1"})),
            at(1, json!({"primaryLocationLineHash": "def:1"}))
        );
        // Without them, the line is not part of the identity either (it only orders results alike in all else).
        assert_eq!(at(1, Value::Null), at(2, Value::Null));
    }

    #[test]
    fn levels_map_to_severities_and_security_severity_wins() {
        for (level, want) in [
            ("error", Severity::High),
            ("warning", Severity::Medium),
            ("note", Severity::Low),
            ("none", Severity::Info),
        ] {
            let f = one(
                json!([]),
                json!({"ruleId": "r", "level": level, "message": {"text": "m"}}),
            );
            assert_eq!(f.severity, want, "{level}");
            assert_eq!(f.cvss, None);
        }
        // No level anywhere: SARIF's default, warning.
        assert_eq!(
            one(json!([]), json!({"ruleId": "r", "message": {"text": "m"}})).severity,
            Severity::Medium
        );
        // A result's security-severity overrides the rule's; a number is accepted as well as a string.
        let rules = json!([{"id": "r", "properties": {"security-severity": "4.0"}}]);
        let f = one(
            rules.clone(),
            json!({"ruleId": "r", "level": "note", "message": {"text": "m"}}),
        );
        assert_eq!(
            (f.severity, f.cvss.map(|c| c.value())),
            (Severity::Medium, Some(4.0))
        );
        let f = one(
            rules,
            json!({"ruleId": "r", "message": {"text": "m"}, "properties": {"security-severity": 9.1}}),
        );
        assert_eq!(f.severity, Severity::Critical);
        // Scores that are not 0–10 numbers fall back to the level.
        for bad in [json!("high"), json!("42"), json!("-1")] {
            let f = one(
                json!([{"id": "r", "properties": {"security-severity": bad}}]),
                json!({"ruleId": "r", "level": "error", "message": {"text": "m"}}),
            );
            assert_eq!((f.severity, f.cvss), (Severity::High, None), "{bad}");
        }
    }

    #[test]
    fn titles_fall_back_from_short_description_to_name_to_message() {
        let r = |rule: Value| {
            one(
                json!([rule]),
                json!({"ruleId": "r", "message": {"text": "First line\nsecond line"}}),
            )
        };
        assert_eq!(
            r(json!({"id": "r", "name": "Name", "shortDescription": {"text": "Short"}})).title,
            "Short"
        );
        assert_eq!(
            r(json!({"id": "r", "name": "Readable Name"})).title,
            "Readable Name"
        );
        // A name that is an identifier (Bandit's "blacklist") is less readable than the message.
        assert_eq!(
            r(json!({"id": "r", "name": "blacklist"})).title,
            "First line"
        );
        let f = r(json!({"id": "r", "shortDescription": {"text": "  "}}));
        assert_eq!(f.title, "First line");
        assert_eq!(f.description.as_deref(), Some("second line"));
    }

    #[test]
    fn cves_come_from_rule_ids_tags_and_messages() {
        let f = one(
            json!([{"id": "x", "properties": {"tags": ["cve-2021-44228"]}}]),
            json!({"ruleId": "x", "message": {"text": "see CVE-2022-22965 too"}}),
        );
        assert_eq!(f.cve.as_deref(), Some("CVE-2021-44228"));
        assert!(f
            .description
            .as_deref()
            .is_some_and(|d| d.contains("Other CVE ids: CVE-2022-22965")));
        let f = one(
            json!([]),
            json!({"ruleId": "r", "message": {"text": "CVE-21-1 is not an id"}}),
        );
        assert_eq!(f.cve, None);
    }

    #[test]
    fn categories_from_cwe_numbers_and_rule_ids() {
        for (cwe, want) in [
            ("CWE-89", Category::SqlInjection),
            ("CWE-79", Category::Xss),
            ("CWE-352", Category::Csrf),
            ("CWE-22", Category::PathTraversal),
            ("CWE-918", Category::Ssrf),
            ("CWE-601", Category::OpenRedirect),
            ("CWE-78", Category::RemoteCodeExecution),
            ("CWE-94", Category::RemoteCodeExecution),
            ("CWE-287", Category::AuthenticationBypass),
            ("CWE-200", Category::InformationDisclosure),
            ("external/cwe/cwe-089", Category::SqlInjection),
        ] {
            let f = one(
                json!([{"id": "r", "properties": {"tags": ["security", cwe]}}]),
                json!({"ruleId": "r", "message": {"text": "m"}}),
            );
            assert_eq!(f.category, Some(want), "{cwe}");
            assert_eq!(
                f.rule.as_deref(),
                Some("r"),
                "the rule id is what silences match"
            );
        }
        let f = one(
            json!([]),
            json!({"ruleId": "js.browser.security.xss.inner-html", "message": {"text": "m"}}),
        );
        assert_eq!(f.category, Some(Category::Xss));
        let f = one(
            json!([]),
            json!({"ruleId": "generic.secrets.gitleaks", "message": {"text": "m"}}),
        );
        assert_eq!(f.category, None);
    }

    #[test]
    fn rules_are_found_by_index_id_or_message_id() {
        let rules = json!([
            {"id": "a", "name": "Rule A"},
            {"id": "b", "name": "Rule B", "messageStrings": {"default": {"text": "B found {0}"}}}
        ]);
        assert_eq!(
            one(
                rules.clone(),
                json!({"ruleIndex": 1, "message": {"text": "m"}})
            )
            .title,
            "Rule B"
        );
        assert_eq!(
            one(
                rules.clone(),
                json!({"rule": {"id": "a"}, "message": {"text": "m"}})
            )
            .title,
            "Rule A"
        );
        assert_eq!(
            one(
                rules.clone(),
                json!({"ruleId": "a/1", "message": {"text": "m"}})
            )
            .title,
            "Rule A"
        );
        let f = one(
            rules,
            json!({"ruleId": "b", "ruleIndex": -1, "message": {"id": "default"}}),
        );
        assert_eq!(f.description.as_deref(), Some("B found {0}"));
    }

    #[test]
    fn passing_suppressed_and_absent_results_are_skipped() {
        let results = json!([
            {"ruleId": "r", "kind": "pass", "message": {"text": "ok"}},
            {"ruleId": "r", "kind": "notApplicable", "message": {"text": "n/a"}},
            {"ruleId": "r", "baselineState": "absent", "message": {"text": "gone"}},
            {"ruleId": "r", "suppressions": [{"kind": "external", "status": "accepted"}], "message": {"text": "s"}},
            {"ruleId": "r", "suppressions": [{"kind": "external", "status": "rejected"}], "message": {"text": "kept"}},
            {"ruleId": "r", "kind": "review", "message": {"text": "review"}}
        ]);
        let f = ok(SARIF, &log(json!([]), results));
        assert_eq!(
            f.iter().map(|f| f.title.as_str()).collect::<Vec<_>>(),
            ["kept", "review"]
        );
        assert_eq!(
            f[1].severity,
            Severity::Info,
            "non-failing kinds default to level none"
        );
        // A run without results has nothing to import.
        let none = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "T"}}}]});
        assert!(ok(SARIF, none.to_string().as_bytes()).is_empty());
    }

    #[test]
    fn hostile_text_is_bounded_but_kept_literally() {
        let long = "A".repeat(600);
        let f = one(
            json!([{"id": "r", "shortDescription": {"text": long}}]),
            json!({"ruleId": "r", "message": {"text": "m"}}),
        );
        assert_eq!(f.title.chars().count(), 500);
        assert!(f.title.ends_with('…'));

        let f = one(
            json!([]),
            json!({"ruleId": "r", "message": {"text": "<!channel> <@U123> *bold* & <https://evil|click>"}}),
        );
        assert_eq!(f.title, "<!channel> <@U123> *bold* & <https://evil|click>");

        let huge = "é".repeat(30_000);
        let f = one(
            json!([{"id": "r", "name": "n", "help": {"text": huge}}]),
            json!({"ruleId": "r", "message": {"text": huge}}),
        );
        assert_eq!(
            f.description.as_deref().map(|d| d.chars().count()),
            Some(20_000)
        );
        assert_eq!(
            f.remediation.as_deref().map(|d| d.chars().count()),
            Some(20_000)
        );

        // Non-http locations never become the affected URL.
        let f = one(
            json!([]),
            json!({"ruleId": "r", "message": {"text": "m"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "javascript:alert(1)"}}}]}),
        );
        assert_eq!(f.affected_url, None);
        assert!(f
            .description
            .as_deref()
            .is_some_and(|d| d.contains("Location: javascript:alert(1)")));
    }

    #[test]
    fn text_a_rule_shares_with_many_results_is_bounded_once() {
        // 1,000 results sharing a rule whose texts are megabytes long: each finding gets the bounded text, and the
        // import stays linear in the input rather than copying the rule's text per result.
        let big = "x".repeat(1_500_000);
        let rules = json!([{"id": "r", "name": big, "fullDescription": {"text": big}, "help": {"text": big},
            "helpUri": big, "messageStrings": {"m": {"text": big}}}]);
        let results: Vec<Value> = (0..1_000)
            .map(|i| json!({"ruleIndex": 0, "message": {"id": "m"}, "partialFingerprints": {"h": i.to_string()}}))
            .collect();
        let input = log(rules, Value::Array(results));
        assert!(input.len() < super::super::MAX_INPUT_BYTES);
        let f = ok(SARIF, &input);
        assert_eq!(f.len(), 1_000);
        assert_eq!(f[999].title.chars().count(), 500);
        assert_eq!(
            f[999].description.as_deref().map(|d| d.chars().count()),
            Some(20_000)
        );
        assert_eq!(
            f[999].remediation.as_deref().map(|d| d.chars().count()),
            Some(20_000)
        );
    }

    #[test]
    fn malformed_logs_name_where_they_broke() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("line 1", b"not json".to_vec()),
            (
                "line 3",
                b"{\"version\": \"2.1.0\",\n\"runs\": [\n{\"tool\": ".to_vec(),
            ),
            ("input", b"[]".to_vec()),
            ("version", br#"{"runs": []}"#.to_vec()),
            ("version", br#"{"version": "2.0.0", "runs": []}"#.to_vec()),
            ("version", br#"{"version": 2.1, "runs": []}"#.to_vec()),
            ("runs", br#"{"version": "2.1.0"}"#.to_vec()),
            ("runs", br#"{"version": "2.1.0", "runs": 5}"#.to_vec()),
            (
                "runs[0]",
                br#"{"version": "2.1.0", "runs": ["run"]}"#.to_vec(),
            ),
            (
                "runs[0].tool",
                br#"{"version": "2.1.0", "runs": [{}]}"#.to_vec(),
            ),
            (
                "runs[0].tool.driver.name",
                br#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}"#.to_vec(),
            ),
            ("runs[0].tool.driver.rules[0]", log(json!([7]), json!([]))),
            ("runs[0].results", log(json!([]), json!({"ruleId": "r"}))),
            ("runs[0].results[0]", log(json!([]), json!([null]))),
            (
                "runs[0].results[0].ruleId",
                log(json!([]), json!([{"ruleId": 12, "message": {"text": "m"}}])),
            ),
            (
                "runs[0].results[0].message",
                log(json!([]), json!([{"ruleId": "r"}])),
            ),
            (
                "runs[0].results[0].message.text",
                log(json!([]), json!([{"ruleId": "r", "message": {}}])),
            ),
            (
                "runs[0].results[0].level",
                log(
                    json!([]),
                    json!([{"ruleId": "r", "level": "fatal", "message": {"text": "m"}}]),
                ),
            ),
            (
                "runs[0].tool.driver.rules[0].defaultConfiguration.level",
                log(
                    json!([{"id": "r", "defaultConfiguration": {"level": "critical"}}]),
                    json!([{"ruleId": "r", "message": {"text": "m"}}]),
                ),
            ),
            (
                "runs[0].results[0].ruleIndex",
                log(
                    json!([{"id": "r"}]),
                    json!([{"ruleId": "r", "ruleIndex": 3, "message": {"text": "m"}}]),
                ),
            ),
            (
                "runs[0].results[0].locations",
                log(
                    json!([]),
                    json!([{"ruleId": "r", "message": {"text": "m"}, "locations": "a.py"}]),
                ),
            ),
            (
                "runs[0].tool.driver.rules[0].properties.tags[1]",
                log(
                    json!([{"id": "r", "properties": {"tags": ["ok", 5]}}]),
                    json!([{"ruleId": "r", "message": {"text": "m"}}]),
                ),
            ),
        ];
        for (want, input) in cases {
            assert_eq!(
                err_at(SARIF, &input),
                want,
                "{}",
                String::from_utf8_lossy(&input)
            );
        }
        assert_eq!(err_at(SARIF, &nested(1_000)), "line 1");
    }
}
