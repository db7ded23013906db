//! What a SARIF rule contributes to its results, read once per run and bounded: texts, tags, CWE numbers and default
//! level; and the category and OWASP entry a result gets from its rule, tags and message.

use super::{MAX_ID, MAX_TAGS};
use crate::import::draft::{category_for_cwe, category_for_word, find_cwes, head};
use crate::import::json::{Loc, Obj};
use crate::import::ImportError;
use fence_core::finding::{MAX_LONG_TEXT, MAX_SHORT_TEXT, MAX_TITLE};
use fence_core::{Category, Severity};

/// How grave a rule or result says it is: a `security-severity` score (`"9.8"`, 9.8) or word (`"CRITICAL"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Gravity {
    Score(f64),
    Word(Severity),
}

impl Gravity {
    /// The `security-severity` of a property bag: a score from 0 to 10, or a severity word; anything else is none.
    pub(crate) fn of(props: &Obj<'_>) -> Result<Option<Gravity>, ImportError> {
        if let Some(s) = props.opt_score("security-severity")? {
            return Ok((0.0..=10.0).contains(&s).then_some(Gravity::Score(s)));
        }
        let word = match props.get("security-severity") {
            Some(serde_json::Value::String(w)) => w.trim(),
            _ => return Ok(None),
        };
        Ok(head(word, 20).parse::<Severity>().ok().map(Gravity::Word))
    }
}

/// What a rule contributes to each of its results, read once and bounded.
#[derive(Default)]
pub(super) struct RuleInfo<'a> {
    pub(super) id: Option<&'a str>,
    pub(super) name: Option<&'a str>,
    pub(super) short: Option<&'a str>,
    pub(super) full: Option<&'a str>,
    pub(super) remediation: Option<&'a str>,
    pub(super) help_uri: Option<&'a str>,
    pub(super) gravity: Option<Gravity>,
    pub(super) tags: Vec<&'a str>,
    pub(super) cwes: Vec<u32>,
    pub(super) default_level: Option<(&'a str, Loc)>,
    pub(super) messages: Option<Obj<'a>>,
}

impl<'a> RuleInfo<'a> {
    fn read(rule: &Obj<'a>) -> Result<Self, ImportError> {
        let help = rule.child("help")?;
        let props = rule.child("properties")?;
        let mut remediation = match &help {
            Some(h) => h.opt_str("markdown")?.or(h.opt_str("text")?),
            None => None,
        };
        let mut tags = Vec::new();
        let mut cwes = Vec::new();
        let mut gravity = None;
        if let Some(p) = &props {
            tags = bounded_tags(p)?;
            gravity = Gravity::of(p)?;
            for c in p.opt_strings("cwe", false)?.into_iter().take(MAX_TAGS) {
                cwes.extend(cwe_number(head(c, MAX_SHORT_TEXT)));
            }
            // ZAP writes the solution as a rule property.
            if remediation.is_none() {
                remediation = p.text_of("solution")?;
            }
        }
        if let Some(rels) = rule.opt_array("relationships")? {
            for (i, rel) in rels.iter().enumerate() {
                let rel = Obj::of(rel, rule.at("relationships").index(i))?;
                let Some(target) = rel.child("target")? else {
                    continue;
                };
                let taxonomy = match target.child("toolComponent")? {
                    Some(tc) => tc.opt_str("name")?.unwrap_or(""),
                    None => "",
                };
                if taxonomy.eq_ignore_ascii_case("CWE") && cwes.len() < MAX_TAGS {
                    cwes.extend(
                        target
                            .opt_str("id")?
                            .and_then(|id| cwe_number(head(id, MAX_SHORT_TEXT))),
                    );
                }
            }
        }
        let default_level = match rule.child("defaultConfiguration")? {
            Some(c) => c.opt_str("level")?.map(|l| (l, c.at("level"))),
            None => None,
        };
        let text = |s: Option<&'a str>, max: usize| s.map(|s| head(s, max));
        Ok(RuleInfo {
            id: text(rule.opt_str("id")?.map(str::trim), MAX_ID),
            name: text(rule.opt_str("name")?, 4 * MAX_TITLE),
            short: text(rule.text_of("shortDescription")?, 4 * MAX_TITLE),
            full: text(rule.text_of("fullDescription")?, MAX_LONG_TEXT + 1),
            remediation: text(remediation, MAX_LONG_TEXT + 1),
            help_uri: text(rule.opt_str("helpUri")?, MAX_ID),
            gravity,
            tags,
            cwes,
            default_level,
            messages: rule.child("messageStrings")?,
        })
    }
}

/// A component's rules, each of which must be an object.
pub(super) fn rules_of<'a>(component: &Obj<'a>) -> Result<Vec<RuleInfo<'a>>, ImportError> {
    let Some(rules) = component.opt_array("rules")? else {
        return Ok(Vec::new());
    };
    let at = component.at("rules");
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleInfo::read(&Obj::of(r, at.index(i))?))
        .collect()
}

/// The first [`MAX_TAGS`] tags of a property bag, each cut to [`MAX_ID`] characters.
pub(super) fn bounded_tags<'a>(props: &Obj<'a>) -> Result<Vec<&'a str>, ImportError> {
    Ok(props
        .opt_strings("tags", false)?
        .into_iter()
        .take(MAX_TAGS)
        .map(|t| head(t, MAX_ID))
        .collect())
}

/// `89`, `CWE-89` or `CWE-89: …` as a CWE number.
fn cwe_number(s: &str) -> Option<u32> {
    s.trim()
        .parse()
        .ok()
        .or_else(|| find_cwes(s).first().copied())
}

/// The most recent OWASP Top 10 entry among tags such as Semgrep's `OWASP-A03:2021 - Injection`.
pub(super) fn owasp<'t>(tags: &[&'t str]) -> Option<&'t str> {
    let year = |t: &str| {
        t.split(|c: char| !c.is_ascii_digit())
            .filter(|n| n.len() == 4)
            .filter_map(|n| n.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
    };
    let mut best: Option<&str> = None;
    for t in tags {
        let Some(entry) = t
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("owasp-"))
            .and_then(|_| t.get(6..))
        else {
            continue;
        };
        match best {
            Some(b) if year(entry) <= year(b) => {}
            _ => best = Some(entry),
        }
    }
    best
}

/// The category where it is obvious: a package vulnerability (Trivy), a well-known CWE, or a tag or rule-id segment
/// naming one.
pub(super) fn category(
    rule_id: &str,
    rule: &RuleInfo<'_>,
    tags: &[&str],
    message: &str,
) -> Option<Category> {
    let package_vuln = rule
        .name
        .is_some_and(|n| n.ends_with("PackageVulnerability"))
        || (tags.iter().any(|t| t.eq_ignore_ascii_case("vulnerability"))
            && message
                .lines()
                .any(|l| l.trim_start().starts_with("Package:")));
    if package_vuln {
        return Some(Category::VulnerableDependency);
    }
    let mut cwes = rule.cwes.clone();
    for t in tags.iter().copied().chain([rule_id]) {
        cwes.extend(find_cwes(t));
    }
    cwes.into_iter()
        .find_map(category_for_cwe)
        .or_else(|| tags.iter().find_map(|t| category_for_word(t)))
        .or_else(|| rule_id.split(['.', '/', ':']).find_map(category_for_word))
}
