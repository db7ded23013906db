//! Identity and counts of imported files, each shown by the smallest file that had it wrong (issue 13): distinct
//! problems stay distinct, the same problem stays the same across rescans, and every result is accounted for.

use fence_core::{DomainName, Severity};
use fence_scan::import::{import_file, FileCounts, Format, Imported};
use serde_json::{json, Value};

fn domain() -> DomainName {
    DomainName::parse("shop.example.com").expect("valid domain")
}

fn run(format: Format, input: &[u8]) -> Imported {
    import_file(format, input, &domain()).unwrap_or_else(|e| panic!("{format} import failed: {e}"))
}

fn sarif(tool: &str, rules: Value, results: Value) -> Vec<u8> {
    json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": tool, "rules": rules}}, "results": results}]})
        .to_string()
        .into_bytes()
}

fn fingerprints(i: &Imported) -> Vec<String> {
    i.findings
        .iter()
        .map(|f| f.fingerprint.as_str().to_string())
        .collect()
}

/// Trivy's result for one CVE in one package of an image (the package is only in the message).
fn trivy_result(package: &str, version: &str) -> Value {
    json!({"ruleId": "CVE-2019-1549", "ruleIndex": 0, "level": "warning",
        "message": {"text": format!("Package: {package}\nInstalled Version: {version}\nVulnerability CVE-2019-1549\nSeverity: MEDIUM\nFixed Version: 1.1.1d-r0")},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "alpine-310.tar.gz", "uriBaseId": "ROOTPATH"},
            "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}},
            "message": {"text": format!("alpine-310.tar.gz: {package}@{version}")}}]})
}

fn trivy(results: Value) -> Vec<u8> {
    sarif(
        "Trivy",
        json!([{"id": "CVE-2019-1549", "shortDescription": {"text": "openssl: information disclosure in fork()"}}]),
        results,
    )
}

#[test]
fn trivy_same_cve_in_two_packages_is_two_findings_and_a_version_bump_is_none_new() {
    let first = run(
        Format::Sarif,
        &trivy(json!([
            trivy_result("libcrypto1.1", "1.1.1c-r0"),
            trivy_result("libssl1.1", "1.1.1c-r0")
        ])),
    );
    assert_eq!(first.findings.len(), 2);
    assert_ne!(first.findings[0].fingerprint, first.findings[1].fingerprint);
    // Bumped to a version that is still vulnerable: the same two problems.
    let bumped = run(
        Format::Sarif,
        &trivy(json!([
            trivy_result("libcrypto1.1", "1.1.1c-r1"),
            trivy_result("libssl1.1", "1.1.1c-r1")
        ])),
    );
    assert_eq!(fingerprints(&bumped), fingerprints(&first));
}

#[test]
fn mayhem_results_for_twenty_endpoints_are_twenty_findings() {
    let results: Vec<Value> = (0..20)
        .map(|i| {
            json!({"ruleId": "invalid-response-spec (unspecified status code: 200)",
                "message": {"text": format!("Invalid Response in 'DELETE /pet{i}/{{petId}}'. [Details](https://app.mayhem.security/defects/{})", 1_244_959 + i)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "unknown-file", "uriBaseId": "%SRCROOT%"}}}]})
        })
        .collect();
    let mut letters = results.clone();
    // Endpoints named by letters are told apart by their message; the ones above, differing only by digits, by
    // their order.
    for (i, r) in letters.iter_mut().enumerate() {
        let path = char::from(b'a' + i as u8);
        r["message"]["text"] = json!(format!("Invalid Response in 'DELETE /{path}'. defect {i}"));
    }
    for results in [results, letters] {
        let got = run(
            Format::Sarif,
            &sarif("mAPI", json!([]), Value::Array(results)),
        );
        assert_eq!(got.findings.len(), 20);
        assert_eq!(got.counts.merged, 0);
    }
    // A rescan whose defect ids changed finds the same twenty.
    let scan = |offset: u32| {
        let results: Vec<Value> = (0..20u8)
            .map(|i| {
                let path = char::from(b'a' + i);
                json!({"ruleId": "r", "message": {"text": format!("Invalid Response in 'GET /{path}'. defects/{}", offset + u32::from(i))},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": "unknown-file"}}}]})
            })
            .collect();
        fingerprints(&run(
            Format::Sarif,
            &sarif("mAPI", json!([]), Value::Array(results)),
        ))
    };
    assert_eq!(scan(100), scan(5_000));
}

#[test]
fn nuclei_tls12_and_tls13_are_distinct() {
    let line = |v: &str| {
        format!(
            r#"{{"template-id":"tls-version","info":{{"name":"TLS Version - Detect","severity":"info"}},"type":"ssl","host":"www.asdf.de","matched-at":"www.asdf.de:443","extracted-results":["{v}"],"timestamp":"2023-11-06T14:58:57+01:00"}}"#
        )
    };
    let input = format!("{}\n{}\n", line("tls12"), line("tls13"));
    let got = run(Format::Nuclei, input.as_bytes());
    assert_eq!(got.findings.len(), 2);
    assert_ne!(got.findings[0].fingerprint, got.findings[1].fingerprint);
}

/// A file of three results without fingerprints, two of them alike but for their line.
fn code_scan(shift: u64, partial: bool) -> Vec<u8> {
    let result = |uri: &str, line: u64, hash: &str| {
        let mut r = json!({"ruleId": "py/sql-injection", "message": {"text": "Query built from user input."},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line + shift}}}]});
        if partial {
            r["partialFingerprints"] = json!({"primaryLocationLineHash": hash});
        }
        r
    };
    sarif(
        "CodeQL",
        json!([{"id": "py/sql-injection"}]),
        json!([
            result("app.py", 10, "a:1"),
            result("app.py", 40, "b:1"),
            result("db.py", 7, "c:1")
        ]),
    )
}

#[test]
fn three_lines_inserted_above_every_result_change_no_identity() {
    for partial in [false, true] {
        let before = run(Format::Sarif, &code_scan(0, partial));
        let after = run(Format::Sarif, &code_scan(3, partial));
        assert_eq!(before.findings.len(), 3, "partial fingerprints: {partial}");
        assert_eq!(
            fingerprints(&before),
            fingerprints(&after),
            "partial: {partial}"
        );
    }
    // Re-importing the same file gives the same identities.
    let again = run(Format::Sarif, &code_scan(0, false));
    assert_eq!(
        fingerprints(&again),
        fingerprints(&run(Format::Sarif, &code_scan(0, false)))
    );
}

#[test]
fn a_tool_fingerprint_repeated_at_another_place_is_not_used() {
    // Semgrep OSS writes the same placeholder fingerprint for every result.
    let result = |uri: &str| {
        json!({"ruleId": "r", "message": {"text": "m"}, "fingerprints": {"matchBasedId/v1": "requires login"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 3}}}]})
    };
    let got = run(
        Format::Sarif,
        &sarif(
            "Semgrep OSS",
            json!([]),
            json!([result("a.py"), result("b.py")]),
        ),
    );
    assert_eq!(got.findings.len(), 2);
    assert_eq!(got.counts.merged, 0);
}

#[test]
fn every_result_is_counted_once() {
    let at = |uri: &str| json!([{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}}]);
    let results = json!([
        {"ruleId": "r", "message": {"text": "m"}, "locations": at("a.tf")},
        // Checkov writes some results twice, exactly.
        {"ruleId": "r", "message": {"text": "m"}, "locations": at("a.tf")},
        {"ruleId": "r", "message": {"text": "m"}, "locations": at("b.tf"), "suppressions": [{"kind": "inSource"}]},
        {"ruleId": "r", "message": {"text": "m"}, "locations": at("c.tf"), "suppressions": [{"kind": "external", "status": "rejected"}]},
        {"ruleId": "r", "kind": "pass", "message": {"text": "ok"}},
        {"ruleId": "r", "message": {"text": "m"}, "baselineState": "absent", "locations": at("d.tf")}
    ]);
    let got = run(Format::Sarif, &sarif("checkov", json!([]), results));
    assert_eq!(got.findings.len(), 2);
    assert_eq!(
        got.counts,
        FileCounts {
            results: 6,
            merged: 1,
            merged_why: vec![
                "runs[0].results[1] repeats runs[0].results[0]: the same rule, location, line and message".into()
            ],
            suppressed: 1,
            not_results: 2,
        }
    );
    assert_eq!(got.tools, ["checkov"]);
}

#[test]
fn results_without_rule_id_are_titled_from_their_message() {
    // Gitleaks 7 writes neither ruleId nor rule.
    let got = run(
        Format::Sarif,
        &sarif(
            "Gitleaks",
            json!([]),
            json!([{"message": {"text": "AWS Access Key secret detected"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "config.py"}, "region": {"startLine": 2, "snippet": {"text": "AKIA…"}}}}]}]),
        ),
    );
    assert_eq!(got.findings[0].title, "AWS Access Key secret detected");
}

#[test]
fn message_arguments_fill_their_placeholders() {
    let rules = json!([{"id": "EI_EXPOSE_REP", "shortDescription": {"text": "May expose internal representation"},
        "messageStrings": {"default": {"text": "{0} may expose internal representation by returning {1}"}}}]);
    let results = json!([{"ruleId": "EI_EXPOSE_REP", "ruleIndex": 0,
        "message": {"id": "default", "arguments": ["Foo.get()", "Foo.items"]}}]);
    let got = run(Format::Sarif, &sarif("SpotBugs", rules, results));
    let desc = got.findings[0].description.as_deref().unwrap_or("");
    assert!(
        desc.contains("Foo.get() may expose internal representation by returning Foo.items"),
        "{desc}"
    );
    assert!(!desc.contains("{0}"), "{desc}");
}

#[test]
fn a_security_severity_word_is_that_severity() {
    for (word, want) in [
        ("CRITICAL", Severity::Critical),
        ("High", Severity::High),
        ("MEDIUM", Severity::Medium),
    ] {
        let rules = json!([{"id": "r", "properties": {"security-severity": word}}]);
        let got = run(
            Format::Sarif,
            &sarif(
                "Semgrep",
                rules,
                json!([{"ruleId": "r", "level": "note", "message": {"text": "m"}}]),
            ),
        );
        assert_eq!(got.findings[0].severity, want, "{word}");
    }
}

#[test]
fn nuclei_before_2_5_3_is_read() {
    let line = r#"{"templateID":"openssh5.3-detect","info":{"name":"OpenSSH 5.3 Detection","severity":"low"},"type":"network","host":"https://nuclei-example.com","matched":"nuclei-example.com:22","matcher_name":"banner","extracted_results":["SSH-2.0-OpenSSH_5.3"],"timestamp":"2021-05-20T11:11:01.667748+03:00"}"#;
    let got = run(Format::Nuclei, line.as_bytes());
    let f = &got.findings[0];
    assert_eq!(f.title, "OpenSSH 5.3 Detection");
    let desc = f.description.as_deref().unwrap_or("");
    assert!(desc.contains("Location: nuclei-example.com:22"), "{desc}");
    assert!(desc.contains("Matcher: banner"), "{desc}");
    assert!(desc.contains("Extracted: SSH-2.0-OpenSSH_5.3"), "{desc}");
}

#[test]
fn bandit_results_are_titled_by_their_message() {
    let rules = json!([{"id": "B404", "name": "blacklist"}]);
    let results = json!([{"ruleId": "B404", "ruleIndex": 0,
        "message": {"text": "Consider possible security implications associated with the subprocess module."}}]);
    let got = run(Format::Sarif, &sarif("Bandit", rules, results));
    assert_eq!(
        got.findings[0].title,
        "Consider possible security implications associated with the subprocess module."
    );
}

#[test]
fn partial_fingerprints_shared_by_different_messages_stay_two_findings() {
    // CodeQL 2.23: two results on one line and column, escaping `]` and `[`, with the same partial fingerprints.
    let result = |c: &str| {
        json!({"ruleId": "js/incomplete-sanitization", "message": {"text": format!("This replaces only the first occurrence of \"\\\\{c}\".")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "optimizer.bundle.js"}, "region": {"startLine": 340, "startColumn": 282760}}}],
            "partialFingerprints": {"primaryLocationLineHash": "74751f39c79cbe42:1", "primaryLocationStartColumnFingerprint": "282675"}})
    };
    let got = run(
        Format::Sarif,
        &sarif("CodeQL", json!([]), json!([result("]"), result("[")])),
    );
    assert_eq!(got.findings.len(), 2);
    assert_eq!(got.counts.merged, 0);
}
