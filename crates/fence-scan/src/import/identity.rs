//! Identity: which results of one file are one problem, and the fingerprint each problem keeps across scans.
//!
//! Order of evidence: the tool's own fingerprint (SARIF `fingerprints`/`partialFingerprints`, nuclei's template,
//! matcher, matched-at and extracted results, Dependabot's repository and alert number); when a file has none, or
//! repeats one of them for results with a different rule or location, the identity key (rule, artifact URI,
//! logical location, snippet hash, package name without version). Results that agree on the key are told apart by
//! their message (digits left out, so counters and ids do not matter), then by their order of lines: the line
//! number itself is never part of an identity, so inserting lines above every result changes nothing. Results
//! that agree on everything, line and message included, are one problem the file repeated: merged.

use super::draft::{head, Draft};
use super::json::Loc;
use std::collections::{HashMap, HashSet};

/// The longest message prefix that tells results apart, in characters.
const MAX_MESSAGE: usize = 500;

/// What a result says about who it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    /// The tool (and the importer) the result came from: identities never cross it.
    pub(crate) scope: String,
    /// The tool's own fingerprint, if it gave one.
    pub(crate) own: Option<String>,
    /// Rule, artifact URI, logical location, snippet hash, package name: each may be empty.
    pub(crate) key: Vec<String>,
    /// The result's message, which tells apart results agreeing on the key.
    pub(crate) message: String,
    /// The result's line and column, which only order results agreeing on key and message.
    pub(crate) line: Option<u64>,
    pub(crate) column: Option<u64>,
}

/// How an identity was reached: the reason a repeat is merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Basis {
    Own,
    Key,
}

impl Basis {
    pub(crate) fn why(self) -> &'static str {
        match self {
            Basis::Own => "the same tool fingerprint",
            Basis::Key => "the same rule, location, line and message",
        }
    }
}

/// The scopes whose own fingerprints are usable in this file: none of their fingerprints is given to results with
/// a different key or line.
fn usable_own(evs: &[Evidence]) -> HashSet<&str> {
    type Place<'e> = (&'e [String], Option<u64>, Option<u64>);
    let mut seen: HashMap<(&str, &str), Place<'_>> = HashMap::new();
    let mut spoiled: HashSet<&str> = HashSet::new();
    for e in evs {
        let Some(own) = e.own.as_deref() else {
            continue;
        };
        let here = (e.key.as_slice(), e.line, e.column);
        match seen.get(&(e.scope.as_str(), own)) {
            Some(first) if *first != here => {
                spoiled.insert(e.scope.as_str());
            }
            Some(_) => {}
            None => {
                seen.insert((e.scope.as_str(), own), here);
            }
        }
    }
    evs.iter()
        .filter(|e| e.own.is_some() && !spoiled.contains(e.scope.as_str()))
        .map(|e| e.scope.as_str())
        .collect()
}

/// The message with digits left out and spaces collapsed: what tells apart results agreeing on their key.
pub(crate) fn gist(message: &str) -> String {
    let text: String = head(message, MAX_MESSAGE)
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Each result's identity parts and basis, in the order given.
pub(crate) fn identities(evs: &[Evidence]) -> Vec<(Vec<String>, Basis)> {
    let own_ok = usable_own(evs);
    let mut out: Vec<Option<(Vec<String>, Basis)>> = vec![None; evs.len()];
    let mut groups: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
    for (i, e) in evs.iter().enumerate() {
        match e.own.as_deref() {
            Some(own) if own_ok.contains(e.scope.as_str()) => {
                out[i] = Some((vec![e.scope.clone(), "own".into(), own.into()], Basis::Own));
            }
            _ => {
                let mut key = vec![e.scope.as_str()];
                key.extend(e.key.iter().map(String::as_str));
                groups.entry(key).or_default().push(i);
            }
        }
    }
    for (key, members) in groups {
        let base: Vec<String> = key.iter().map(|s| s.to_string()).collect();
        for (i, parts) in separate(evs, &base, &members) {
            out[i] = Some((parts, Basis::Key));
        }
    }
    out.into_iter()
        .map(|p| p.unwrap_or_else(|| (Vec::new(), Basis::Key)))
        .collect()
}

/// Tells apart the members of one key group: by the gist of their message when it differs, then by their rank
/// among the distinct (line, column, message) places. The first keeps the bare key, so a problem found once keeps its
/// identity when a second one like it appears later.
fn separate(evs: &[Evidence], base: &[String], members: &[usize]) -> Vec<(usize, Vec<String>)> {
    if let [only] = members {
        return vec![(*only, base.to_vec())];
    }
    let gists: Vec<String> = members.iter().map(|&i| gist(&evs[i].message)).collect();
    let by_gist = gists.iter().collect::<HashSet<_>>().len() > 1;
    let mut sub: HashMap<&str, Vec<usize>> = HashMap::new();
    for (n, &i) in members.iter().enumerate() {
        let g = if by_gist { gists[n].as_str() } else { "" };
        sub.entry(g).or_default().push(i);
    }
    let mut out = Vec::new();
    for (g, list) in sub {
        let place = |i: usize| {
            let e = &evs[i];
            (e.line, e.column, head(&e.message, MAX_MESSAGE))
        };
        let mut pairs: Vec<(Option<u64>, Option<u64>, &str)> =
            list.iter().map(|&i| place(i)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        for &i in &list {
            let me = place(i);
            let rank = pairs.binary_search(&me).unwrap_or(0);
            let mut parts = base.to_vec();
            if by_gist {
                parts.push(format!("message={g}"));
            }
            if rank > 0 {
                parts.push(format!("#{rank}"));
            }
            out.push((i, parts));
        }
    }
    out
}

/// A result waiting for its identity: its draft, where it is in the file, and its evidence.
pub(crate) struct Pending {
    /// The importer: the fingerprint's prefix.
    pub(crate) kind: &'static str,
    pub(crate) draft: Draft,
    pub(crate) loc: Loc,
    pub(crate) evidence: Evidence,
    /// Not open upstream (a Dependabot alert fixed or dismissed): closes its finding instead of reporting it.
    pub(crate) upstream: Option<super::UpstreamState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(own: Option<&str>, key: &[&str], message: &str, line: Option<u64>) -> Evidence {
        Evidence {
            scope: "tool".into(),
            own: own.map(String::from),
            key: key.iter().map(|s| s.to_string()).collect(),
            message: message.into(),
            line,
            column: None,
        }
    }

    fn ids(evs: &[Evidence]) -> Vec<Vec<String>> {
        identities(evs).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn own_fingerprints_win_unless_repeated_at_another_place() {
        let a = ev(Some("h1"), &["r", "a.py"], "m", Some(1));
        let b = ev(Some("h2"), &["r", "b.py"], "m", Some(1));
        let got = identities(&[a.clone(), b.clone()]);
        assert!(got.iter().all(|(_, basis)| *basis == Basis::Own));
        assert_ne!(got[0].0, got[1].0);
        // Semgrep OSS writes "requires login" as every fingerprint: useless, so the key decides.
        let c = ev(Some("h1"), &["r", "c.py"], "m", Some(1));
        let got = identities(&[a, b, c]);
        assert!(got.iter().all(|(_, basis)| *basis == Basis::Key));
        assert_eq!(got[0].0, vec!["tool", "r", "a.py"]);
    }

    #[test]
    fn lines_only_order_results_that_agree_on_everything_else() {
        let before = [
            ev(None, &["r", "a.py"], "x", Some(10)),
            ev(None, &["r", "a.py"], "x", Some(20)),
            ev(None, &["r", "b.py"], "x", Some(5)),
        ];
        let after = [
            ev(None, &["r", "a.py"], "x", Some(13)),
            ev(None, &["r", "a.py"], "x", Some(23)),
            ev(None, &["r", "b.py"], "x", Some(8)),
        ];
        let (b, a) = (ids(&before), ids(&after));
        assert_eq!(b, a);
        assert_ne!(b[0], b[1]);
        assert_eq!(b[0], vec!["tool", "r", "a.py"]);
    }

    #[test]
    fn ten_thousand_look_alikes_are_ranked_quickly() {
        let evs: Vec<Evidence> = (0..10_000)
            .map(|i| ev(None, &["r", ""], &format!("{} {i}", "x".repeat(400)), None))
            .collect();
        let started = std::time::Instant::now();
        let got = ids(&evs);
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), 10_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn messages_tell_apart_endpoints_and_exact_repeats_merge() {
        let got = ids(&[
            ev(
                None,
                &["r", "unknown-file"],
                "Bad in 'GET /a'. defects/12",
                None,
            ),
            ev(
                None,
                &["r", "unknown-file"],
                "Bad in 'GET /b'. defects/13",
                None,
            ),
            ev(
                None,
                &["r", "unknown-file"],
                "Bad in 'GET /b'. defects/13",
                None,
            ),
        ]);
        assert_ne!(got[0], got[1]);
        assert_eq!(got[1], got[2]);
        // The ids in a message do not change its identity between scans.
        let later = ids(&[
            ev(
                None,
                &["r", "unknown-file"],
                "Bad in 'GET /a'. defects/99",
                None,
            ),
            ev(
                None,
                &["r", "unknown-file"],
                "Bad in 'GET /b'. defects/98",
                None,
            ),
        ]);
        assert_eq!(later[0], got[0]);
        assert_eq!(later[1], got[1]);
    }
}
