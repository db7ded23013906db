//! GitHub Dependabot alerts (`GET /repos/{owner}/{repo}/dependabot/alerts`): each open alert becomes a finding.

use super::draft::{head, Draft};
use super::identity::{Evidence, Pending};
use super::json::{as_array, Loc, Obj};
use super::{Findings, ImportError, UpstreamState};
use fence_core::{Category, DomainName, Severity};
use serde_json::Value;

pub(super) fn import(
    doc: Value,
    domain: &DomainName,
    out: &mut Findings,
) -> Result<(), ImportError> {
    out.tool("dependabot");
    let root = Loc::root();
    for (i, v) in as_array(&doc, &root)?.iter().enumerate() {
        out.push(alert(Obj::of(v, root.index(i))?, domain)?)?;
    }
    Ok(())
}

/// One alert: open, or closed upstream (fixed; dismissed or auto-dismissed), which closes its finding.
fn alert(a: Obj<'_>, domain: &DomainName) -> Result<Pending, ImportError> {
    let upstream = state(&a)?;
    let number = a.opt_u64("number")?;
    let dependency = a.child("dependency")?;
    let vulnerability = a.child("security_vulnerability")?;
    let advisory = a
        .child("security_advisory")?
        .ok_or_else(|| a.at("security_advisory").error("is required"))?;

    let (ecosystem, name) = package(dependency.as_ref(), vulnerability.as_ref())?;
    let manifest = match &dependency {
        Some(dep) => dep.opt_str("manifest_path")?,
        None => None,
    };

    let ghsa = advisory.opt_str("ghsa_id")?;
    let cve = advisory.opt_str("cve_id")?;
    let summary = advisory.opt_str("summary")?;

    let mut d = Draft::new(domain, "dependabot");
    d.identify(ghsa, name);
    d.severity(severity(&advisory, vulnerability.as_ref())?);
    d.category(Some(Category::VulnerableDependency));
    d.cves(cve_ids(&advisory, cve)?);
    let cve_for_title = d.cve();

    let package_label = package_label(name, ecosystem);
    let headline = headline(cve_for_title.as_deref().or(ghsa), package_label.as_deref());
    d.title([headline.as_deref(), summary, ghsa, cve]);
    if !d.has_title() {
        return Err(advisory.at("summary").error("is required"));
    }

    score(&mut d, &advisory)?;

    if headline.is_some() {
        d.describe(summary.unwrap_or(""));
    }
    d.describe(advisory.opt_str("description")?.unwrap_or(""));
    if let Some(p) = &package_label {
        d.note(format!("Package: {p}"));
    }
    if let Some(m) = manifest {
        d.note(format!("Manifest: {m}"));
    }
    if let Some(v) = &vulnerability {
        versions(&mut d, v, name)?;
    }
    if let Some(g) = ghsa {
        d.note(format!("Advisory: {g}"));
    }
    references(&mut d, &advisory)?;
    if let Some(url) = a.opt_str("html_url")? {
        d.location(url);
    }
    if let Some(t) = a.opt_str("created_at")? {
        d.detected_at(t);
    }

    let id = ghsa
        .or(cve)
        .ok_or_else(|| advisory.at("ghsa_id").error("is required"))?;
    let repository = match a.child("repository")? {
        Some(r) => r.opt_str("full_name")?.unwrap_or(""),
        None => "",
    };
    let evidence = Evidence {
        scope: "dependabot".into(),
        own: number.map(|n| format!("{}#{n}", head(repository, 200))),
        key: [
            id,
            ecosystem.unwrap_or(""),
            name.unwrap_or(""),
            manifest.unwrap_or(""),
        ]
        .map(|s| head(s, 1_000).to_string())
        .to_vec(),
        ..Evidence::default()
    };
    Ok(Pending {
        kind: "dependabot",
        draft: d,
        loc: a.loc.clone(),
        evidence,
        upstream,
    })
}

/// `None` for an open alert, else how it was closed upstream.
fn state(a: &Obj<'_>) -> Result<Option<UpstreamState>, ImportError> {
    match a.req_str("state")? {
        "open" => Ok(None),
        "fixed" => Ok(Some(UpstreamState::Fixed)),
        "dismissed" | "auto_dismissed" => Ok(Some(UpstreamState::Dismissed)),
        other => Err(a.at("state").error(format!(
            "unknown state {:?}; expected open, fixed, dismissed or auto_dismissed",
            head(other, 40)
        ))),
    }
}

/// The package's ecosystem and name: from the dependency, else from the vulnerability.
fn package<'a>(
    dependency: Option<&Obj<'a>>,
    vulnerability: Option<&Obj<'a>>,
) -> Result<(Option<&'a str>, Option<&'a str>), ImportError> {
    let mut package = None;
    for holder in [dependency, vulnerability].into_iter().flatten() {
        if package.is_none() {
            package = holder.child("package")?;
        }
    }
    match &package {
        Some(p) => Ok((p.opt_str("ecosystem")?, p.opt_str("name")?)),
        None => Ok((None, None)),
    }
}

/// The advisory's CVE ids: `cve_id`, then the `identifiers` of type CVE.
fn cve_ids<'a>(advisory: &Obj<'a>, cve: Option<&'a str>) -> Result<Vec<&'a str>, ImportError> {
    let mut cves: Vec<&str> = cve.into_iter().collect();
    if let Some(ids) = advisory.opt_array("identifiers")? {
        for (i, id) in ids.iter().enumerate() {
            let id = Obj::of(id, advisory.at("identifiers").index(i))?;
            if id
                .opt_str("type")?
                .is_some_and(|t| t.eq_ignore_ascii_case("CVE"))
            {
                cves.extend(id.opt_str("value")?);
            }
        }
    }
    Ok(cves)
}

/// `name (ecosystem)`, or the name alone; `None` without a name.
fn package_label(name: Option<&str>, ecosystem: Option<&str>) -> Option<String> {
    match (name, ecosystem) {
        (Some(n), Some(e)) => Some(format!("{n} ({e})")),
        (Some(n), None) => Some(n.to_string()),
        _ => None,
    }
}

/// `CVE-… in package (ecosystem)` when both an advisory id and a package are known.
fn headline(id: Option<&str>, package_label: Option<&str>) -> Option<String> {
    match (id, package_label) {
        (Some(id), Some(p)) => Some(format!("{id} in {p}")),
        _ => None,
    }
}

/// Notes the vulnerable version range and advises upgrading to the first patched version.
fn versions(d: &mut Draft, v: &Obj<'_>, name: Option<&str>) -> Result<(), ImportError> {
    if let Some(range) = v.opt_str("vulnerable_version_range")? {
        d.note(format!("Vulnerable versions: {range}"));
    }
    let mut patched = None;
    if let Some(fp) = v.child("first_patched_version")? {
        patched = fp.opt_str("identifier")?.filter(|s| !s.trim().is_empty());
    }
    if let Some(version) = patched {
        d.remediation(&format!(
            "Upgrade {} to {} or later.",
            name.unwrap_or("the package"),
            version.trim()
        ));
    }
    Ok(())
}

/// Notes the URLs of the advisory's `references`.
fn references(d: &mut Draft, advisory: &Obj<'_>) -> Result<(), ImportError> {
    if let Some(refs) = advisory.opt_array("references")? {
        let mut urls = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            let r = Obj::of(r, advisory.at("references").index(i))?;
            urls.extend(r.opt_str("url")?);
        }
        if !urls.is_empty() {
            d.note(format!("References: {}", urls.join(" ")));
        }
    }
    Ok(())
}

/// The advisory's severity, else the vulnerability's; GitHub's `moderate` is medium.
fn severity(advisory: &Obj<'_>, vulnerability: Option<&Obj<'_>>) -> Result<Severity, ImportError> {
    let mut found = advisory
        .opt_str("severity")?
        .map(|s| (s, advisory.at("severity")));
    if found.is_none() {
        if let Some(v) = vulnerability {
            found = v.opt_str("severity")?.map(|s| (s, v.at("severity")));
        }
    }
    let (s, at) = found.ok_or_else(|| advisory.at("severity").error("is required"))?;
    if s.trim().eq_ignore_ascii_case("moderate") {
        return Ok(Severity::Medium);
    }
    s.parse::<Severity>().map_err(|_| {
        at.error(format!(
            "unknown severity {:?}; expected low, medium, high or critical",
            head(s, 40)
        ))
    })
}

/// The advisory's CVSS score and vector (`cvss`, else `cvss_severities.cvss_v3`); a zero score without a vector is
/// GitHub's way of saying there is none.
fn score(d: &mut Draft, advisory: &Obj<'_>) -> Result<(), ImportError> {
    let mut sources = vec![advisory.child("cvss")?];
    if let Some(sev) = advisory.child("cvss_severities")? {
        sources.push(sev.child("cvss_v3")?);
    }
    for c in sources.into_iter().flatten() {
        let score = c.opt_score("score")?;
        let vector = c.opt_str("vector_string")?.filter(|v| !v.trim().is_empty());
        if vector.is_none() && score.unwrap_or(0.0) == 0.0 {
            continue;
        }
        if let Some(s) = score {
            d.cvss(s);
        }
        if let Some(v) = vector {
            d.cvss_vector(v);
        }
        return Ok(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{domain, err_at, fixture, ok};
    use super::super::{import_file, Format, UpstreamState};

    use fence_core::{Category, Severity};
    use serde_json::{json, Value};

    const DEPENDABOT: Format = Format::Dependabot;

    fn alert() -> Value {
        json!({
            "number": 1,
            "state": "open",
            "dependency": {"package": {"ecosystem": "npm", "name": "lodash"}, "manifest_path": "package-lock.json"},
            "security_advisory": {"ghsa_id": "GHSA-35jh-r3h4-6jhm", "cve_id": "CVE-2021-23337",
                "summary": "Command Injection in lodash", "severity": "high",
                "cvss": {"score": 0.0, "vector_string": null}},
            "security_vulnerability": {"package": {"ecosystem": "npm", "name": "lodash"}, "severity": "high",
                "vulnerable_version_range": "< 4.17.21", "first_patched_version": null},
            "html_url": "https://github.com/acme/shop/security/dependabot/1"
        })
    }

    fn import_one(a: Value) -> fence_core::NewFinding {
        let mut f = ok(DEPENDABOT, json!([a]).to_string().as_bytes());
        assert_eq!(f.len(), 1);
        f.remove(0)
    }

    #[test]
    fn open_alerts_become_findings_and_dismissed_ones_are_skipped() {
        let f = ok(DEPENDABOT, &fixture("dependabot.json"));
        assert_eq!(f.len(), 1);
        let django = &f[0];
        assert_eq!(django.title, "CVE-2024-24680 in django (pip)");
        // What silences match on: the advisory as the rule, and the package.
        assert_eq!(django.rule.as_deref(), Some("GHSA-xxj9-f6rv-m3x4"));
        assert_eq!(django.package.as_deref(), Some("django"));
        assert_eq!(django.severity, Severity::High);
        assert_eq!(django.cve.as_deref(), Some("CVE-2024-24680"));
        assert_eq!(django.cvss.map(|c| c.value()), Some(7.5));
        assert_eq!(
            django.cvss_vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H")
        );
        assert_eq!(django.category, Some(Category::VulnerableDependency));
        assert_eq!(
            django.remediation.as_deref(),
            Some("Upgrade django to 4.2.10 or later.")
        );
        assert_eq!(
            django.affected_url.as_deref(),
            Some("https://github.com/acme/shop/security/dependabot/7")
        );
        assert_eq!(django.scanner.as_deref(), Some("dependabot"));
        let desc = django.description.as_deref().unwrap_or("");
        assert!(
            desc.starts_with("Django denial-of-service in intcomma template filter"),
            "{desc}"
        );
        for part in [
            "Manifest: requirements.txt",
            "Vulnerable versions: >= 4.0, < 4.2.10",
            "Advisory: GHSA-xxj9-f6rv-m3x4",
        ] {
            assert!(desc.contains(part), "{part} in {desc}");
        }
        // 2024-02-07T09:15:00Z
        assert_eq!(django.detected_at, Some(1_707_297_300_000));
    }

    #[test]
    fn fingerprints_are_stable_and_follow_advisory_and_package() {
        let a = ok(DEPENDABOT, &fixture("dependabot.json"));
        let b = ok(DEPENDABOT, &fixture("dependabot.json"));
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
        assert!(a[0].fingerprint.as_str().starts_with("dependabot:"));
        let base = import_one(alert()).fingerprint;
        // The alert number is Dependabot's own identity of an alert.
        let mut renumbered = alert();
        renumbered["number"] = json!(99);
        assert_ne!(import_one(renumbered).fingerprint, base);
        let mut other_manifest = alert();
        other_manifest["dependency"]["manifest_path"] = json!("web/package-lock.json");
        assert_eq!(import_one(other_manifest.clone()).fingerprint, base);
        // Without a number: advisory, package and manifest.
        other_manifest["number"] = Value::Null;
        let mut unnumbered = alert();
        unnumbered["number"] = Value::Null;
        assert_ne!(
            import_one(other_manifest).fingerprint,
            import_one(unnumbered).fingerprint
        );
    }

    #[test]
    fn a_zero_score_without_vector_is_no_score_and_no_patch_is_no_remediation() {
        let f = import_one(alert());
        assert_eq!((f.cvss, f.cvss_vector.as_deref()), (None, None));
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.remediation, None);
        assert_eq!(f.title, "CVE-2021-23337 in lodash (npm)");
    }

    #[test]
    fn severities_titles_and_cves_degrade_gracefully() {
        let mut a = alert();
        a["security_advisory"]["severity"] = json!("moderate");
        assert_eq!(import_one(a).severity, Severity::Medium);

        // No advisory severity: the vulnerability's.
        let mut a = alert();
        a["security_advisory"]["severity"] = Value::Null;
        a["security_vulnerability"]["severity"] = json!("critical");
        assert_eq!(import_one(a).severity, Severity::Critical);

        // A malformed CVE id is described, not rejected; the title uses the GHSA id.
        let mut a = alert();
        a["security_advisory"]["cve_id"] = json!("CVE-2021-1");
        let f = import_one(a);
        assert_eq!(f.cve, None);
        assert_eq!(f.title, "GHSA-35jh-r3h4-6jhm in lodash (npm)");
        assert!(f
            .description
            .as_deref()
            .is_some_and(|d| d.contains("CVE-2021-1")));

        // Without a package the summary is the title.
        let mut a = alert();
        a["dependency"] = Value::Null;
        a["security_vulnerability"] = Value::Null;
        assert_eq!(import_one(a).title, "Command Injection in lodash");

        let mut a = alert();
        a["security_advisory"]["summary"] = json!(format!("<!channel> {}", "s".repeat(600)));
        a["dependency"] = Value::Null;
        a["security_vulnerability"] = Value::Null;
        let f = import_one(a);
        assert!(f.title.starts_with("<!channel> sss"));
        assert_eq!(f.title.chars().count(), 500);
    }

    #[test]
    fn only_open_alerts_count_and_empty_lists_are_fine() {
        assert!(ok(DEPENDABOT, b"[]").is_empty());
        let mut states = Vec::new();
        for (n, s) in ["dismissed", "fixed", "auto_dismissed"]
            .into_iter()
            .enumerate()
        {
            let mut a = alert();
            a["state"] = json!(s);
            a["number"] = json!(n);
            states.push(a);
        }
        let input = Value::Array(states.clone()).to_string();
        let got = import_file(DEPENDABOT, input.as_bytes(), &domain()).expect("imports");
        assert!(got.findings.is_empty());
        let closed: Vec<UpstreamState> = got.upstream.iter().map(|u| u.state).collect();
        assert_eq!(
            closed,
            [
                UpstreamState::Dismissed,
                UpstreamState::Fixed,
                UpstreamState::Dismissed
            ]
        );
        // The fingerprint a closed alert names is the one it had while open.
        let mut open = states[1].clone();
        open["state"] = json!("open");
        assert_eq!(got.upstream[1].fingerprint, import_one(open).fingerprint);
        // A closed alert is still checked.
        states[0]["security_advisory"] = json!("broken");
        let input = Value::Array(states).to_string();
        assert_eq!(
            err_at(DEPENDABOT, input.as_bytes()),
            "[0].security_advisory"
        );
        states_are_named();
    }

    fn states_are_named() {
        let mut a = alert();
        a["state"] = json!("gone");
        let input = Value::Array(vec![a]).to_string();
        assert_eq!(err_at(DEPENDABOT, input.as_bytes()), "[0].state");
    }

    #[test]
    fn malformed_alerts_name_where_they_broke() {
        let with = |edit: &dyn Fn(&mut Value)| {
            let mut a = alert();
            edit(&mut a);
            json!([alert(), a]).to_string().into_bytes()
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("line 1", b"{\"number\": ".to_vec()),
            ("line 1", b"<html>rate limited</html>".to_vec()),
            ("input", br#"{"message": "Bad credentials"}"#.to_vec()),
            ("[1]", with(&|a| *a = json!("alert"))),
            ("[1].state", with(&|a| a["state"] = Value::Null)),
            ("[1].state", with(&|a| a["state"] = json!(1))),
            (
                "[1].security_advisory",
                with(&|a| a["security_advisory"] = Value::Null),
            ),
            (
                "[1].security_advisory",
                with(&|a| a["security_advisory"] = json!([])),
            ),
            (
                "[1].security_advisory.severity",
                with(&|a| a["security_advisory"]["severity"] = json!("extreme")),
            ),
            (
                "[1].security_advisory.severity",
                with(&|a| {
                    a["security_advisory"]["severity"] = Value::Null;
                    a["security_vulnerability"]["severity"] = Value::Null;
                }),
            ),
            (
                "[1].security_vulnerability.severity",
                with(&|a| {
                    a["security_advisory"]["severity"] = Value::Null;
                    a["security_vulnerability"]["severity"] = json!("severe");
                }),
            ),
            ("[1].number", with(&|a| a["number"] = json!("one"))),
            (
                "[1].dependency.package",
                with(&|a| a["dependency"]["package"] = json!("lodash")),
            ),
            (
                "[1].security_advisory.references[0]",
                with(&|a| a["security_advisory"]["references"] = json!(["https://x"])),
            ),
            (
                "[1].security_advisory.summary",
                with(&|a| {
                    a["security_advisory"] = json!({"severity": "low"});
                    a["dependency"] = Value::Null;
                    a["security_vulnerability"] = Value::Null;
                }),
            ),
        ];
        for (want, input) in cases {
            assert_eq!(
                err_at(DEPENDABOT, &input),
                want,
                "{}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}
