//! What a SARIF result says of itself: its message (inline or by id, with `{0}`… filled from `arguments`), its
//! locations, whether it is suppressed, and the evidence of its identity (the tool's fingerprints, the primary
//! location's URI, logical location and snippet, the package it is about).

use super::MAX_LOCATIONS;
use crate::import::draft::{head, is_http_url, Draft};
use crate::import::json::Obj;
use crate::import::ImportError;
use fence_core::finding::MAX_LONG_TEXT;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How many `arguments` of a message are substituted, and the longest one, in characters.
const MAX_ARGUMENTS: usize = 64;
const MAX_ARGUMENT: usize = 1_000;

/// The primary location's identity.
#[derive(Default)]
pub(super) struct Primary {
    pub(super) uri: String,
    pub(super) line: Option<u64>,
    pub(super) column: Option<u64>,
    /// The fully qualified name (or name) of the first logical location.
    pub(super) logical: String,
    /// A hash of the region's snippet, spaces collapsed.
    pub(super) snippet: String,
    /// The package a location's message names (Trivy: `image.tar: libssl1.1@1.1.1c-r0`), without its version.
    pub(super) package: Option<String>,
}

/// Adds the result's locations to the draft (the first http(s) URL becomes the affected URL) and returns the
/// primary one.
pub(super) fn locations(r: &Obj<'_>, d: &mut Draft) -> Result<Primary, ImportError> {
    let mut primary = Primary::default();
    let Some(locations) = r.opt_array("locations")? else {
        return Ok(primary);
    };
    let at = r.at("locations");
    for (i, l) in locations.iter().take(MAX_LOCATIONS).enumerate() {
        let l = Obj::of(l, at.index(i))?;
        if i == 0 {
            primary.logical = logical(&l)?;
            primary.package = l
                .text_of("message")?
                .and_then(|m| m.rsplit_once(": "))
                .and_then(|(_, p)| p.split_once('@'))
                .map(|(name, _)| head(name.trim(), 200).to_string());
        }
        let Some(phys) = l.child("physicalLocation")? else {
            continue;
        };
        let uri = match phys.child("artifactLocation")? {
            Some(a) => a.opt_str("uri")?.unwrap_or("").trim(),
            None => "",
        };
        let region = phys.child("region")?;
        let (line, column) = match &region {
            Some(region) => (region.opt_u64("startLine")?, region.opt_u64("startColumn")?),
            None => (None, None),
        };
        if i == 0 {
            primary.uri = head(uri, 2_000).to_string();
            primary.line = line;
            primary.column = column;
            if let Some(text) = region.as_ref().map(|r| r.text_of("snippet")).transpose()? {
                primary.snippet = snippet_hash(text.unwrap_or(""));
            }
        }
        match line {
            Some(n) if !uri.is_empty() && !is_http_url(uri) => d.location(&format!("{uri}:{n}")),
            _ => d.location(uri),
        }
    }
    if locations.len() > MAX_LOCATIONS {
        d.note(format!(
            "… and {} more locations",
            locations.len() - MAX_LOCATIONS
        ));
    }
    Ok(primary)
}

/// The first logical location's fully qualified name, or its name.
fn logical(l: &Obj<'_>) -> Result<String, ImportError> {
    let Some(first) = l.opt_array("logicalLocations")?.and_then(|a| a.first()) else {
        return Ok(String::new());
    };
    let ll = Obj::of(first, l.at("logicalLocations").index(0))?;
    let name = match ll.opt_str("fullyQualifiedName")? {
        Some(n) => Some(n),
        None => ll.opt_str("name")?,
    };
    Ok(head(name.unwrap_or("").trim(), 2_000).to_string())
}

fn snippet_hash(text: &str) -> String {
    let text: Vec<&str> = head(text, MAX_LONG_TEXT).split_whitespace().collect();
    if text.is_empty() {
        return String::new();
    }
    hex::encode(&Sha256::digest(text.join(" ").as_bytes())[..12])
}

/// The package a message names on a `Package: name` line (Trivy), without its version.
pub(super) fn package_name(message: &str) -> Option<String> {
    message.lines().find_map(|l| {
        let name = l.trim().strip_prefix("Package:")?.trim();
        (!name.is_empty()).then(|| head(name, 200).to_string())
    })
}

/// A result's message text (inline, or by id from the rule's message strings; `text`, else `markdown`), with its
/// placeholders `{0}`… replaced by the message's `arguments` (SARIF 2.1.0 §3.11.5) and bounded.
pub(super) fn message_text<'a>(
    r: &Obj<'a>,
    strings: Option<&Obj<'a>>,
) -> Result<String, ImportError> {
    let m = r
        .child("message")?
        .ok_or_else(|| r.at("message").error("is required"))?;
    fn visible(s: Option<&str>) -> Option<&str> {
        s.filter(|t| !t.trim().is_empty())
    }
    let mut text = visible(m.opt_str("text")?).or(visible(m.opt_str("markdown")?));
    if text.is_none() {
        if let (Some(id), Some(strings)) = (m.opt_str("id")?, strings) {
            if let Some(s) = strings.child(id)? {
                text = visible(s.opt_str("text")?).or(visible(s.opt_str("markdown")?));
            }
        }
    }
    let text = text.ok_or_else(|| {
        m.at("text")
            .error("is required (or an id of the rule's messageStrings)")
    })?;
    let args = m.opt_strings("arguments", false)?;
    Ok(fill(head(text, MAX_LONG_TEXT + 1), &args))
}

/// `{n}` replaced by argument n (kept when there is none), `{{` and `}}` by braces.
fn fill(text: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let digits = tail[1..].bytes().take_while(u8::is_ascii_digit).count();
        let arg = tail[1..1 + digits]
            .parse::<usize>()
            .ok()
            .filter(|n| *n < MAX_ARGUMENTS)
            .and_then(|n| args.get(n));
        match arg {
            Some(a) if tail.starts_with('{') && tail.as_bytes().get(1 + digits) == Some(&b'}') => {
                out.push_str(head(a, MAX_ARGUMENT));
                rest = &tail[digits + 2..];
            }
            _ => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
        if out.len() > 4 * MAX_LONG_TEXT {
            break;
        }
    }
    out.push_str(rest);
    out
}

/// Whether the result is suppressed (in source or externally) and the suppression not rejected or under review.
pub(super) fn is_suppressed(r: &Obj<'_>) -> Result<bool, ImportError> {
    let Some(list) = r.opt_array("suppressions")? else {
        return Ok(false);
    };
    for (i, s) in list.iter().enumerate() {
        let s = Obj::of(s, r.at("suppressions").index(i))?;
        if !matches!(s.opt_str("status")?, Some("rejected" | "underReview")) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The tool's own fingerprint: its `fingerprints`, else its `partialFingerprints`, as one stable string (keys
/// sorted, blank values left out) and whether it is whole (`fingerprints`); `None` when it gave none. Partial
/// fingerprints (SARIF §3.27.17) only contribute to an identity: the caller adds the rule, the artifact and the
/// message's gist (CodeQL gives two results on one line, escaping `[` and `]`, the same partial fingerprints).
pub(super) fn own_fingerprint(r: &Obj<'_>) -> Result<Option<(bool, String)>, ImportError> {
    for key in ["fingerprints", "partialFingerprints"] {
        let Some(map) = r.opt_obj(key)? else {
            continue;
        };
        let mut pairs: Vec<String> = map
            .iter()
            .take(64)
            .filter_map(|(k, v)| match v {
                Value::String(s) if s.trim().is_empty() => None,
                Value::String(s) => Some(format!("{}={}", head(k, 200), head(s, 1_000))),
                Value::Null => None,
                other => Some(format!(
                    "{}={}",
                    head(k, 200),
                    head(&other.to_string(), 1_000)
                )),
            })
            .collect();
        if !pairs.is_empty() {
            pairs.sort();
            return Ok(Some((key == "fingerprints", pairs.join(";"))));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_from_arguments() {
        assert_eq!(fill("{0} in {1}", &["x", "f()"]), "x in f()");
        assert_eq!(fill("{{0}} {2} {", &["a"]), "{0} {2} {");
        assert_eq!(fill("{0}{0}", &["ab"]), "abab");
    }

    #[test]
    fn package_names_drop_their_version() {
        assert_eq!(
            package_name("Package: libssl1.1\nInstalled Version: 1.1.1c-r0").as_deref(),
            Some("libssl1.1")
        );
        assert_eq!(package_name("no package"), None);
    }
}
