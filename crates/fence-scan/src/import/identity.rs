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

/// A 128-bit digest of some strings, each length-prefixed so that no two lists share one.
pub(crate) fn digest<'s>(parts: impl IntoIterator<Item = &'s str>) -> u128 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_le_bytes(b)
}

/// What deciding identities needs of a result: digests of its evidence, a few dozen bytes however long its text,
/// so a file of 100,000 results is decided without keeping their text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compact {
    scope: u128,
    own: Option<u128>,
    /// The scope and the key.
    key: u128,
    gist: u128,
    /// The message's first [`MAX_MESSAGE`] characters.
    head: u128,
    line: Option<u64>,
    column: Option<u64>,
}

impl Evidence {
    pub(crate) fn compact(&self) -> Compact {
        Compact {
            scope: digest([self.scope.as_str()]),
            own: self.own.as_deref().map(|o| digest([o])),
            key: digest(
                std::iter::once(self.scope.as_str()).chain(self.key.iter().map(String::as_str)),
            ),
            gist: digest([gist(&self.message).as_str()]),
            head: digest([head(&self.message, MAX_MESSAGE)]),
            line: self.line,
            column: self.column,
        }
    }
}

/// How a result's identity is made: from its tool's fingerprint, or from its key, then (when its group needs it)
/// its message's gist and its rank among the group's places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Own,
    Key { by_gist: bool, rank: usize },
}

/// The scopes whose own fingerprints are usable in this file: none of their fingerprints is given to results with
/// a different key or line.
fn usable_own(evs: &[Compact]) -> HashSet<u128> {
    type Place = (u128, Option<u64>, Option<u64>);
    let mut seen: HashMap<(u128, u128), Place> = HashMap::new();
    let mut spoiled: HashSet<u128> = HashSet::new();
    for e in evs {
        let Some(own) = e.own else {
            continue;
        };
        let here = (e.key, e.line, e.column);
        match seen.get(&(e.scope, own)) {
            Some(first) if *first != here => {
                spoiled.insert(e.scope);
            }
            Some(_) => {}
            None => {
                seen.insert((e.scope, own), here);
            }
        }
    }
    evs.iter()
        .filter(|e| e.own.is_some() && !spoiled.contains(&e.scope))
        .map(|e| e.scope)
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
    let compact: Vec<Compact> = evs.iter().map(Evidence::compact).collect();
    decide(&compact)
        .into_iter()
        .zip(evs)
        .map(|(d, e)| parts(e, d))
        .collect()
}

/// How each result's identity is made, in the order given.
pub(crate) fn decide(evs: &[Compact]) -> Vec<Decision> {
    let own_ok = usable_own(evs);
    let mut out = vec![
        Decision::Key {
            by_gist: false,
            rank: 0
        };
        evs.len()
    ];
    let mut groups: HashMap<u128, Vec<u32>> = HashMap::new();
    for (i, e) in evs.iter().enumerate() {
        if e.own.is_some() && own_ok.contains(&e.scope) {
            out[i] = Decision::Own;
        } else {
            groups.entry(e.key).or_default().push(i as u32);
        }
    }
    for members in groups.into_values() {
        separate(evs, &members, &mut out);
    }
    out
}

/// The identity parts of a result decided `d`.
pub(crate) fn parts(e: &Evidence, d: Decision) -> (Vec<String>, Basis) {
    match d {
        Decision::Own => (
            vec![
                e.scope.clone(),
                "own".into(),
                e.own.clone().unwrap_or_default(),
            ],
            Basis::Own,
        ),
        Decision::Key { by_gist, rank } => {
            let mut parts = vec![e.scope.clone()];
            parts.extend(e.key.iter().cloned());
            if by_gist {
                parts.push(format!("message={}", gist(&e.message)));
            }
            if rank > 0 {
                parts.push(format!("#{rank}"));
            }
            (parts, Basis::Key)
        }
    }
}

/// Tells apart the members of one key group: by the gist of their message when it differs, then by their rank
/// among the distinct (line, column, message) places. The first keeps the bare key, so a problem found once keeps its
/// identity when a second one like it appears later.
fn separate(evs: &[Compact], members: &[u32], out: &mut [Decision]) {
    if members.len() == 1 {
        return;
    }
    let first = evs[members[0] as usize].gist;
    let by_gist = members.iter().any(|&i| evs[i as usize].gist != first);
    let mut sub: HashMap<u128, Vec<u32>> = HashMap::new();
    for &i in members {
        let g = if by_gist { evs[i as usize].gist } else { 0 };
        sub.entry(g).or_default().push(i);
    }
    for list in sub.into_values() {
        let place = |i: u32| {
            let e = &evs[i as usize];
            (e.line, e.column, e.head)
        };
        let mut places: Vec<_> = list.iter().map(|&i| place(i)).collect();
        places.sort_unstable();
        places.dedup();
        for &i in &list {
            let rank = places.binary_search(&place(i)).unwrap_or(0);
            out[i as usize] = Decision::Key { by_gist, rank };
        }
    }
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
