//! One finding under construction from a scanner's data: bounded text, optional enrichments that are dropped when they
//! would not validate, a tool-derived fingerprint, and the final check by `NewFinding::from_json`.

use super::json::Loc;
use super::ImportError;
use fence_core::finding::{MAX_LONG_TEXT, MAX_SHORT_TEXT, MAX_TITLE};
use fence_core::text::truncate_chars;
use fence_core::{Category, Cvss, DomainName, Fingerprint, NewFinding, Severity};
use serde_json::{Map, Value};

/// How many CVE or CWE ids are taken from one text, and how many extra CVE ids are listed.
const MAX_IDS: usize = 32;

/// Optional fields that are moved into the description, rather than failing the import, when Fence rejects them.
const DROPPABLE: &[(&str, &str)] = &[
    ("cvss_vector", "CVSS vector"),
    ("cvss", "CVSS score"),
    ("cve", "CVE"),
    ("affected_url", "Affected URL"),
    ("detected_at", "Detected at"),
    ("category", "Category"),
    ("owasp", "OWASP"),
];

/// A finding being assembled in Fence's API shape.
pub(crate) struct Draft {
    domain: DomainName,
    title: Option<String>,
    fields: Map<String, Value>,
    description: Vec<String>,
    notes: Vec<String>,
    remediation: Option<String>,
}

impl Draft {
    pub(crate) fn new(domain: &DomainName, scanner: &str) -> Self {
        let mut fields = Map::new();
        if !scanner.trim().is_empty() {
            fields.insert(
                "scanner".into(),
                Value::String(truncate_chars(scanner.trim(), 100)),
            );
        }
        Draft {
            domain: domain.clone(),
            title: None,
            fields,
            description: Vec::new(),
            notes: Vec::new(),
            remediation: None,
        }
    }

    /// Sets the title from the first candidate with visible text: its first non-blank line, cut to 500 characters.
    pub(crate) fn title<'s>(&mut self, candidates: impl IntoIterator<Item = Option<&'s str>>) {
        self.title = candidates
            .into_iter()
            .flatten()
            .find_map(|s| {
                head(s, 4 * MAX_TITLE)
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
            })
            .map(|l| cut_words(l, MAX_TITLE));
    }

    pub(crate) fn has_title(&self) -> bool {
        self.title.is_some()
    }

    pub(crate) fn severity(&mut self, s: Severity) {
        self.set("severity", s.as_str());
    }

    /// A CVSS-like score; one outside 0–10 is noted in the description instead.
    pub(crate) fn cvss(&mut self, score: f64) {
        match (Cvss::new(score), serde_json::Number::from_f64(score)) {
            (Ok(_), Some(n)) => {
                self.fields.insert("cvss".into(), Value::Number(n));
            }
            _ => self.note(format!("CVSS score: {score}")),
        }
    }

    pub(crate) fn cvss_vector(&mut self, v: &str) {
        self.set("cvss_vector", v.trim());
    }

    /// CVE ids in order of preference: the first well-formed one becomes `cve`, the others are listed in the
    /// description.
    pub(crate) fn cves<'s>(&mut self, ids: impl IntoIterator<Item = &'s str>) {
        let mut others: Vec<String> = Vec::new();
        for id in ids {
            let id = head(id.trim(), 64);
            if id.is_empty() {
                continue;
            }
            let up = id.to_ascii_uppercase();
            if is_cve(&up) && !self.fields.contains_key("cve") {
                self.set("cve", &up);
            } else if self.fields.get("cve").and_then(Value::as_str) != Some(up.as_str())
                && !others.contains(&up)
                && others.len() < MAX_IDS
            {
                others.push(up);
            }
        }
        if !others.is_empty() {
            self.note(format!("Other CVE ids: {}", others.join(", ")));
        }
    }

    /// The well-formed CVE id accepted so far.
    pub(crate) fn cve(&self) -> Option<String> {
        self.fields
            .get("cve")
            .and_then(Value::as_str)
            .map(String::from)
    }

    pub(crate) fn category(&mut self, c: Option<Category>) {
        if let Some(c) = c {
            self.set("category", c.as_str());
        }
    }

    pub(crate) fn owasp(&mut self, s: &str) {
        if !s.trim().is_empty() {
            self.set("owasp", &truncate_chars(s.trim(), MAX_SHORT_TEXT));
        }
    }

    /// The affected URL when it is an absolute http(s) URL; anything else is noted as a location in the description.
    pub(crate) fn location(&mut self, s: &str) {
        let s = s.trim();
        if s.is_empty() {
            return;
        }
        if is_http_url(s) && !self.fields.contains_key("affected_url") {
            self.set("affected_url", s);
        } else {
            self.note(format!("Location: {s}"));
        }
    }

    /// A paragraph of the description; blank text is ignored.
    pub(crate) fn describe(&mut self, text: &str) {
        let text = head(text, MAX_LONG_TEXT + 1).trim();
        if !text.is_empty() && !self.description.iter().any(|p| p == text) {
            self.description.push(text.to_string());
        }
    }

    /// A paragraph of the description, without its first line when that line is the title.
    pub(crate) fn describe_beyond_title(&mut self, text: &str) {
        let text = head(text, MAX_LONG_TEXT + 1);
        let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
        let first = lines.next().map(str::trim);
        if first.is_some() && first == self.title.as_deref() {
            let rest: Vec<&str> = lines.collect();
            self.describe(&rest.join("\n"));
        } else {
            self.describe(text);
        }
    }

    /// A short line added after the description's paragraphs.
    pub(crate) fn note(&mut self, line: String) {
        if !line.trim().is_empty() {
            self.notes.push(line);
        }
    }

    pub(crate) fn remediation(&mut self, text: &str) {
        let text = head(text, MAX_LONG_TEXT + 1).trim();
        if self.remediation.is_none() && !text.is_empty() {
            self.remediation = Some(cut_words(text, MAX_LONG_TEXT));
        }
    }

    /// When the scanner found it, if the time is RFC 3339 with an offset; otherwise left out.
    pub(crate) fn detected_at(&mut self, s: &str) {
        if looks_like_rfc3339(s.trim()) {
            self.set("detected_at", s.trim());
        }
    }

    /// A stable identity from the tool's own identity fields: `kind:` and a hash of the parts and the domain.
    pub(crate) fn fingerprint(&mut self, kind: &str, parts: &[&str]) {
        let identity = parts.join("\u{1f}");
        let hash = Fingerprint::derive(&self.domain, None, &identity, None);
        self.set("fingerprint", &format!("{kind}:{}", hash.as_str()));
    }

    /// The scanner's rule or check id, bounded; silences match on it.
    pub(crate) fn rule(&mut self, id: &str) {
        self.bounded_id("rule", id);
    }

    /// The rule (an advisory id) and the affected package's name where known, bounded; silences match on them.
    pub(crate) fn identify(&mut self, rule: Option<&str>, package: Option<&str>) {
        if let Some(r) = rule {
            self.rule(r);
        }
        if let Some(p) = package {
            self.bounded_id("package", p);
        }
    }

    fn bounded_id(&mut self, key: &str, value: &str) {
        let value = value.trim();
        if !value.is_empty() {
            self.set(key, &truncate_chars(value, MAX_SHORT_TEXT));
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        self.fields.insert(key.into(), Value::String(value.into()));
    }

    /// Validates the draft. A rejected enrichment (say a CVSS v4 vector) is moved into the description and the
    /// finding checked again; any other rejection is an error at `loc` plus the field.
    pub(crate) fn finish(mut self, loc: &Loc) -> Result<NewFinding, ImportError> {
        for _ in 0..=DROPPABLE.len() {
            let value = self.to_value();
            let errs = match NewFinding::from_json(&value) {
                Ok(f) => return Ok(f),
                Err(errs) => errs,
            };
            let Some(first) = errs.first() else {
                return Err(loc.error("is not a valid finding"));
            };
            let droppable = DROPPABLE.iter().find(|(f, _)| *f == first.field);
            match (droppable, self.fields.remove(&first.field)) {
                (Some((_, label)), Some(v)) => {
                    let shown = match v {
                        Value::String(s) => truncate_chars(&s, MAX_SHORT_TEXT),
                        other => other.to_string(),
                    };
                    self.notes.push(format!("{label}: {shown}"));
                }
                _ => return Err(loc.key(&first.field).error(first.message.clone())),
            }
        }
        Err(loc.error("is not a valid finding"))
    }

    fn to_value(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("domain".into(), Value::String(self.domain.as_str().into()));
        if let Some(t) = &self.title {
            m.insert("title".into(), Value::String(t.clone()));
        }
        let mut parts = self.description.clone();
        if !self.notes.is_empty() {
            parts.push(self.notes.join("\n"));
        }
        if !parts.is_empty() {
            let text = cut_words(&parts.join("\n\n"), MAX_LONG_TEXT);
            m.insert("description".into(), Value::String(text));
        }
        if let Some(r) = &self.remediation {
            m.insert("remediation".into(), Value::String(r.clone()));
        }
        Value::Object(m)
    }
}

/// How far back from the limit a cut looks for a space.
const WORD_LOOKBACK: usize = 40;

/// `s` when it has at most `max` characters; otherwise cut after its last whole word within the limit (or at the
/// limit, for a word longer than [`WORD_LOOKBACK`]) and ended with "…", `max` characters at most.
pub(crate) fn cut_words(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    if s.char_indices().nth(max).is_none() {
        return s.to_string();
    }
    let kept = head(s, max - 1);
    let tail_start = kept
        .char_indices()
        .rev()
        .nth(WORD_LOOKBACK)
        .map_or(0, |(i, _)| i);
    let at_space = kept[tail_start..]
        .rfind(char::is_whitespace)
        .map(|i| tail_start + i)
        .filter(|&i| !kept[..i].trim().is_empty());
    let cut = match at_space {
        Some(i) => kept[..i].trim_end(),
        None => kept,
    };
    format!("{cut}…")
}

/// The first `max` characters of `s` (all of it when shorter), found without reading the rest.
pub(crate) fn head(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `CVE-YYYY-NNNN…`, upper case.
fn is_cve(s: &str) -> bool {
    s.strip_prefix("CVE-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(year, num)| {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && num.len() >= 4
                && num.bytes().all(|b| b.is_ascii_digit())
        })
}

/// The first [`MAX_IDS`] distinct `CVE-\d{4}-\d{4,}` in free text (any case), upper-cased, in order.
pub(crate) fn find_cves(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() && out.len() < MAX_IDS {
        let starts_word = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if starts_word && b[i..i + 4].eq_ignore_ascii_case(b"cve-") {
            let year = digits(b, i + 4);
            if year == 4 && b.get(i + 8) == Some(&b'-') {
                let num = digits(b, i + 9);
                if num >= 4 {
                    let id = String::from_utf8_lossy(&b[i..i + 9 + num]).to_ascii_uppercase();
                    if !out.contains(&id) {
                        out.push(id);
                    }
                    i += 9 + num;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// The first [`MAX_IDS`] CWE numbers in free text (`CWE-89: …`, `external/cwe/cwe-089`), in order.
pub(crate) fn find_cwes(text: &str) -> Vec<u32> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() && out.len() < MAX_IDS {
        if b[i..i + 4].eq_ignore_ascii_case(b"cwe-") {
            let n = digits(b, i + 4);
            if (1..=7).contains(&n) {
                if let Some(id) = std::str::from_utf8(&b[i + 4..i + 4 + n])
                    .ok()
                    .and_then(|s| s.parse().ok())
                {
                    out.push(id);
                }
            }
            i += 4 + n;
            continue;
        }
        i += 1;
    }
    out
}

fn digits(b: &[u8], from: usize) -> usize {
    b.get(from..).map_or(0, |rest| {
        rest.iter().take_while(|c| c.is_ascii_digit()).count()
    })
}

/// The category a well-known weakness belongs to.
pub(crate) fn category_for_cwe(cwe: u32) -> Option<Category> {
    Some(match cwe {
        89 | 564 => Category::SqlInjection,
        79 | 80 => Category::Xss,
        352 => Category::Csrf,
        22 | 23 | 35 => Category::PathTraversal,
        918 => Category::Ssrf,
        601 => Category::OpenRedirect,
        77 | 78 | 94 | 95 | 502 => Category::RemoteCodeExecution,
        287 | 288 | 306 => Category::AuthenticationBypass,
        200 | 209 | 497 | 538 | 548 => Category::InformationDisclosure,
        _ => return None,
    })
}

/// The category a scanner tag or rule-id segment names unambiguously (`sqli`, `xss`, `lfi`, `misconfig`, or a Fence
/// category id); `None` for anything vaguer.
pub(crate) fn category_for_word(word: &str) -> Option<Category> {
    let key: String = word
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    Some(match key.as_str() {
        "sqli" | "sql_injection" => Category::SqlInjection,
        "xss" | "cross_site_scripting" => Category::Xss,
        "csrf" | "xsrf" | "cross_site_request_forgery" => Category::Csrf,
        "ssrf" | "server_side_request_forgery" => Category::Ssrf,
        "lfi" | "path_traversal" | "directory_traversal" | "traversal" => Category::PathTraversal,
        "redirect" | "open_redirect" => Category::OpenRedirect,
        "rce" | "remote_code_execution" | "command_injection" | "code_injection" | "cmdi" => {
            Category::RemoteCodeExecution
        }
        "auth_bypass" | "authentication_bypass" => Category::AuthenticationBypass,
        "exposure" | "information_disclosure" | "info_disclosure" => {
            Category::InformationDisclosure
        }
        "misconfig" | "misconfiguration" => Category::Misconfiguration,
        _ => {
            return Category::ALL
                .iter()
                .copied()
                .find(|c| *c != Category::Other && c.as_str() == key)
        }
    })
}

/// `http://host…` or `https://host…` (any case) with a non-empty host and no spaces.
pub(crate) fn is_http_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !s.chars().any(char::is_whitespace)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`: the shape of an RFC 3339 time with an offset.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let date = [0, 1, 2, 3, 5, 6, 8, 9].into_iter().all(digit) && at(4, b'-') && at(7, b'-');
    let sep = matches!(b.get(10), Some(b'T' | b't' | b' '));
    let time = [11, 12, 14, 15, 17, 18].into_iter().all(digit) && at(13, b':') && at(16, b':');
    if !(date && sep && time) {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let n = digits(b, i);
        if n == 0 {
            return false;
        }
        i += n;
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && digit(i + 1)
                && digit(i + 2)
                && at(i + 3, b':')
                && digit(i + 4)
                && digit(i + 5)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_word_boundary_with_an_ellipsis() {
        assert_eq!(cut_words("short", 10), "short");
        assert_eq!(cut_words("exactly ten", 11), "exactly ten");
        assert_eq!(cut_words("the quick brown fox jumps", 12), "the quick…");
        let word = "x".repeat(100);
        assert_eq!(cut_words(&word, 50).chars().count(), 50);
        assert!(cut_words(&word, 50).ends_with('…'));
        assert_eq!(cut_words("ab", 1), "…");
    }

    #[test]
    fn cves_and_cwes_are_found_in_free_text() {
        assert_eq!(
            find_cves("fixes cve-2021-44228 and CVE-2024-123456; not XCVE-2020-1234 or CVE-20-1"),
            vec!["CVE-2021-44228", "CVE-2024-123456"]
        );
        assert_eq!(
            find_cwes("CWE-89: SQL injection, external/cwe/cwe-079, CWE-"),
            vec![89, 79]
        );
    }

    #[test]
    fn words_map_to_categories_only_when_unambiguous() {
        assert_eq!(category_for_word("sqli"), Some(Category::SqlInjection));
        assert_eq!(category_for_word("LFI"), Some(Category::PathTraversal));
        assert_eq!(category_for_word("weak_tls"), Some(Category::WeakTls));
        assert_eq!(category_for_word("tls"), None);
        assert_eq!(category_for_word("other"), None);
        assert_eq!(category_for_word("security"), None);
    }

    #[test]
    fn only_absolute_http_urls_and_offset_times_are_accepted() {
        assert!(is_http_url("https://example.com/login?x=1"));
        assert!(is_http_url("HTTP://example.com"));
        assert!(!is_http_url("https:///path"));
        assert!(!is_http_url("src/app.py"));
        assert!(!is_http_url("example.com:443"));
        assert!(looks_like_rfc3339("2024-01-20T09:00:00.000000+00:00"));
        assert!(looks_like_rfc3339("2024-01-20T09:00:00Z"));
        assert!(!looks_like_rfc3339("2024-01-20T09:00:00"));
        assert!(!looks_like_rfc3339("2024-01-20 09:00"));
    }
}
