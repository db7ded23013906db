//! Importers: SARIF 2.1.0, nuclei JSON lines, GitHub Dependabot alerts, OWASP ZAP reports and Fence JSON into
//! validated findings, each problem once (see `identity`), with what became of every result of the file.
//!
//! Every importer reads untrusted bytes and is all-or-nothing: it returns every finding of the file, or the first place
//! the file broke. Findings are built in Fence's API shape and validated by [`fence_core::NewFinding::from_json`], the
//! same check `POST /api/v1/findings` applies.

mod dependabot;
mod draft;
mod fence;
mod identity;
mod json;
mod nuclei;
mod sarif;
mod source;
mod zap;

use fence_core::{DomainName, Fingerprint, NewFinding};
use identity::{identities, Basis, Evidence, Pending};
use json::Loc;
use std::collections::HashMap;

pub use source::Source;

/// The largest input accepted of the formats read as one document (all but SARIF), in bytes (10 MiB).
pub const MAX_INPUT_BYTES: usize = 10 * 1024 * 1024;

/// The most findings one import of a format read as one document may return.
pub const MAX_FINDINGS: usize = 10_000;

/// The most findings one SARIF import (read as a stream, of any size) may return.
pub const MAX_STREAMED_FINDINGS: usize = 250_000;

/// How many findings [`import_stream`] hands over at a time.
pub const CHUNK: usize = 500;

/// How many merges are explained in [`FileCounts::merged_why`]; the rest are only counted.
pub const MAX_MERGE_REASONS: usize = 20;

/// What one file held: its findings, what became of each of its results, and what its tool closed upstream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// One finding per distinct problem, in the order of the file.
    pub findings: Vec<NewFinding>,
    pub counts: FileCounts,
    /// Problems the tool reports as no longer open (Dependabot alerts fixed or dismissed upstream).
    pub upstream: Vec<Upstream>,
    /// The tools the file speaks for (each SARIF run's driver, `nuclei`, `dependabot`), even with no results: what
    /// a scan covers when it closes the findings it no longer sees.
    pub tools: Vec<String>,
}

/// What became of each result of a file: `results = findings + merged + suppressed + not_results`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCounts {
    /// Every result (SARIF result, nuclei line, Dependabot alert, Fence finding) in the file.
    pub results: usize,
    /// Results that repeat a problem the file already reported.
    pub merged: usize,
    /// Why, for the first [`MAX_MERGE_REASONS`] merges: `runs[0].results[3] repeats runs[0].results[1]: …`.
    pub merged_why: Vec<String>,
    /// Results the file itself marks as suppressed (SARIF `suppressions`, dismissed Dependabot alerts).
    pub suppressed: usize,
    /// Entries that are not problems: SARIF `kind` pass or notApplicable, `baselineState` absent, fixed Dependabot
    /// alerts.
    pub not_results: usize,
}

/// A problem the tool says is closed upstream, by the fingerprint its open finding has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub fingerprint: Fingerprint,
    pub state: UpstreamState,
}

/// How a problem was closed upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamState {
    /// Fixed: its finding is resolved.
    Fixed,
    /// Dismissed (also auto-dismissed): its finding is marked a false positive.
    Dismissed,
}

/// The scanner output formats Fence imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// SARIF 2.1.0, as written by OWASP ZAP, Trivy, Semgrep and GitHub code scanning.
    Sarif,
    /// nuclei's JSON lines (`nuclei -jsonl`).
    Nuclei,
    /// The GitHub REST response of `GET /repos/{owner}/{repo}/dependabot/alerts`.
    Dependabot,
    /// The body of `POST /api/v1/findings`.
    Fence,
    /// OWASP ZAP's traditional JSON report (`-J`), or its SARIF report.
    Zap,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Sarif,
        Format::Nuclei,
        Format::Dependabot,
        Format::Fence,
        Format::Zap,
    ];

    /// "sarif" | "nuclei" | "dependabot" | "fence" | "zap" (case-insensitive); the error message lists the accepted names.
    pub fn parse(s: &str) -> Result<Format, String> {
        let key = s.trim();
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(key))
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown import format {:?}; expected one of {}",
                    draft::head(s, 40),
                    names.join(", ")
                )
            })
    }

    /// The most findings one import of this format may return.
    pub fn max_findings(self) -> usize {
        match self {
            Format::Sarif => MAX_STREAMED_FINDINGS,
            _ => MAX_FINDINGS,
        }
    }

    /// Whether the format is read as a stream, whatever its size (SARIF), rather than as one document of at most
    /// [`MAX_INPUT_BYTES`].
    pub fn is_streamed(self) -> bool {
        self == Format::Sarif
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sarif => "sarif",
            Format::Nuclei => "nuclei",
            Format::Dependabot => "dependabot",
            Format::Fence => "fence",
            Format::Zap => "zap",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the input broke and why. `location` names the place: a JSON path such as
/// `runs[0].results[3].level`, or `line 17` (nuclei JSON lines), or `line 17: info.severity`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ImportError {
    pub kind: ImportErrorKind,
    pub location: String,
    pub message: String,
}

/// Why an import was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportErrorKind {
    /// Too big for one import: more than [`MAX_INPUT_BYTES`] bytes of a format read whole, or more findings than
    /// [`Format::max_findings`].
    TooLarge,
    /// Not a readable document: empty, not JSON (or not UTF-8), or nested too deeply.
    Malformed,
    /// Readable JSON that is not valid in the format: a missing or mistyped field, an unknown value, an invalid
    /// finding.
    Invalid,
    /// The receiver of [`import_stream`]'s findings stopped taking them (its own error says why).
    Stopped,
}

impl ImportError {
    pub(crate) fn new(
        kind: ImportErrorKind,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ImportError {
            kind,
            location: location.into(),
            message: message.into(),
        }
    }

    /// Whether the input was refused for its size (too many bytes or findings) rather than its content.
    pub fn is_too_large(&self) -> bool {
        self.kind == ImportErrorKind::TooLarge
    }

    /// An error about the input as a whole.
    fn input(kind: ImportErrorKind, message: impl Into<String>) -> Self {
        ImportError::new(kind, "input", message)
    }
}

/// Parses a whole scanner output file into validated findings for `domain` (the asset the import is for).
/// All-or-nothing: any malformed entry is an error naming where it broke; nothing partial is returned.
pub fn import(
    format: Format,
    input: &[u8],
    domain: &DomainName,
) -> Result<Vec<NewFinding>, ImportError> {
    import_file(format, input, domain).map(|i| i.findings)
}

/// [`import`] with what became of each result of the file ([`FileCounts`]) and what it closed upstream.
pub fn import_file(
    format: Format,
    input: &[u8],
    domain: &DomainName,
) -> Result<Imported, ImportError> {
    let mut findings = Vec::new();
    let mut imported = import_stream(format, Source::Bytes(input), domain, &mut |chunk| {
        findings.extend(chunk);
        Ok(())
    })?;
    imported.findings = findings;
    Ok(imported)
}

/// The receiver of an import's findings, [`CHUNK`] at a time; `Err(Stopped)` ends the import.
pub type Sink<'s> = dyn FnMut(Vec<NewFinding>) -> Result<(), Stopped> + 's;

/// What a [`Sink`] answers when it takes no more findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// Imports `src`, handing its findings to `sink` a chunk at a time — only once the whole file has been read and found
/// valid, so an invalid file gives nothing to the sink. Returns what became of each result; its `findings` are empty
/// (they went to the sink). SARIF is read as a stream in passes, holding a few dozen bytes per result; the other
/// formats are read whole and limited to [`MAX_INPUT_BYTES`].
pub fn import_stream(
    format: Format,
    src: Source<'_>,
    domain: &DomainName,
    sink: &mut Sink<'_>,
) -> Result<Imported, ImportError> {
    if format.is_streamed() {
        let mut out = Emitter::new(sink);
        sarif::import(src, domain, &mut out)?;
        return Ok(out.finish());
    }
    let bytes = src.bytes(MAX_INPUT_BYTES)?;
    let input = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut out = Findings::default();
    match format {
        Format::Nuclei => nuclei::import(input, domain, &mut out)?,
        Format::Dependabot => dependabot::import(document(input)?, domain, &mut out)?,
        Format::Fence => fence::import(document(input)?, domain, &mut out)?,
        Format::Zap | Format::Sarif => {
            let doc = document(input)?;
            if zap::is_sarif(&doc) {
                drop(doc);
                let mut out = Emitter::new(sink);
                sarif::import(Source::Bytes(input), domain, &mut out)?;
                return Ok(out.finish());
            }
            zap::import(doc, domain, &mut out)?
        }
    }
    let mut imported = out.finish()?;
    let findings = std::mem::take(&mut imported.findings);
    let mut rest = findings.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<NewFinding> = rest.by_ref().take(CHUNK).collect();
        sink(chunk).map_err(|_| stopped())?;
    }
    Ok(imported)
}

fn stopped() -> ImportError {
    ImportError::input(ImportErrorKind::Stopped, "the import was stopped")
}

/// Adds a tool the file speaks for (at most 64, each once).
fn add_tool(tools: &mut Vec<String>, name: &str) {
    let name = name.trim();
    if !name.is_empty() && !tools.iter().any(|t| t == name) && tools.len() < 64 {
        tools.push(name.to_string());
    }
}

/// The findings of a streamed import on their way to the sink: each fingerprint once (repeats counted as merged,
/// with why), in chunks of [`CHUNK`].
pub(crate) struct Emitter<'s, 'k> {
    sink: &'s mut Sink<'k>,
    chunk: Vec<NewFinding>,
    /// Where each fingerprint (by digest) was first seen.
    first: HashMap<u128, String>,
    pub(crate) counts: FileCounts,
    tools: Vec<String>,
}

impl<'s, 'k> Emitter<'s, 'k> {
    fn new(sink: &'s mut Sink<'k>) -> Self {
        Emitter {
            sink,
            chunk: Vec::with_capacity(CHUNK),
            first: HashMap::new(),
            counts: FileCounts::default(),
            tools: Vec::new(),
        }
    }

    pub(crate) fn tool(&mut self, name: &str) {
        add_tool(&mut self.tools, name);
    }

    /// A result the file marks as suppressed.
    pub(crate) fn suppressed(&mut self) {
        self.counts.results += 1;
        self.counts.suppressed += 1;
    }

    /// An entry that is not a problem (a pass).
    pub(crate) fn not_result(&mut self) {
        self.counts.results += 1;
        self.counts.not_results += 1;
    }

    /// A finding with its identity, found at `here`; a repeat of an earlier one is merged.
    pub(crate) fn push(
        &mut self,
        f: NewFinding,
        here: &Loc,
        basis: Basis,
    ) -> Result<(), ImportError> {
        let key = identity::digest([f.fingerprint.as_str()]);
        if let Some(there) = self.first.get(&key) {
            self.counts.merged += 1;
            if self.counts.merged_why.len() < MAX_MERGE_REASONS {
                let why = format!("{here} repeats {there}: {}", basis.why());
                self.counts.merged_why.push(why);
            }
            return Ok(());
        }
        self.first.insert(key, here.to_string());
        self.chunk.push(f);
        if self.chunk.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands over what is waiting.
    pub(crate) fn flush(&mut self) -> Result<(), ImportError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        (self.sink)(chunk).map_err(|_| stopped())
    }

    fn finish(self) -> Imported {
        Imported {
            findings: Vec::new(),
            counts: self.counts,
            upstream: Vec::new(),
            tools: self.tools,
        }
    }
}

/// Parses a whole-document input, which must not be empty.
fn document(input: &[u8]) -> Result<serde_json::Value, ImportError> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::input(
            ImportErrorKind::Malformed,
            "is empty; expected a JSON document",
        ));
    }
    json::parse(input, None)
}

/// The results of one import as they are read: drafts waiting for their identity (or findings given whole, for
/// Fence JSON) and the counts so far; bounded by [`MAX_FINDINGS`].
#[derive(Default)]
struct Findings {
    pending: Vec<Pending>,
    whole: Vec<(NewFinding, Loc)>,
    counts: FileCounts,
    tools: Vec<String>,
}

impl Findings {
    fn room(&self) -> Result<(), ImportError> {
        if self.pending.len() + self.whole.len() >= MAX_FINDINGS {
            return Err(ImportError::input(
                ImportErrorKind::TooLarge,
                format!("has more than {MAX_FINDINGS} findings; split it into smaller imports"),
            ));
        }
        Ok(())
    }

    /// A result that is a problem, identified once the whole file is read.
    fn push(&mut self, p: Pending) -> Result<(), ImportError> {
        self.room()?;
        self.counts.results += 1;
        self.pending.push(p);
        Ok(())
    }

    /// A finding given whole, with its own fingerprint (Fence JSON).
    fn push_whole(&mut self, f: NewFinding, loc: Loc) -> Result<(), ImportError> {
        self.room()?;
        if let Some(s) = f.scanner.clone() {
            self.tool(&s);
        }
        self.counts.results += 1;
        self.whole.push((f, loc));
        Ok(())
    }

    /// A tool the file speaks for (its findings' `scanner`).
    fn tool(&mut self, name: &str) {
        add_tool(&mut self.tools, name);
    }

    /// Gives each draft its identity, validates it, and merges the results that repeat one problem.
    fn finish(self) -> Result<Imported, ImportError> {
        let Findings {
            pending,
            whole,
            mut counts,
            tools,
        } = self;
        let evidence: Vec<Evidence> = pending.iter().map(|p| p.evidence.clone()).collect();
        let mut done: Vec<(NewFinding, Loc, Basis)> =
            whole.into_iter().map(|(f, l)| (f, l, Basis::Own)).collect();
        let mut upstream = Vec::new();
        for (p, (parts, basis)) in pending.into_iter().zip(identities(&evidence)) {
            let mut draft = p.draft;
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            draft.fingerprint(p.kind, &parts);
            let f = draft.finish(&p.loc)?;
            match p.upstream {
                Some(state) => {
                    match state {
                        UpstreamState::Fixed => counts.not_results += 1,
                        UpstreamState::Dismissed => counts.suppressed += 1,
                    }
                    upstream.push(Upstream {
                        fingerprint: f.fingerprint,
                        state,
                    })
                }
                None => done.push((f, p.loc, basis)),
            }
        }
        let findings = merge(done, &mut counts);
        Ok(Imported {
            findings,
            counts,
            upstream,
            tools,
        })
    }
}

/// One finding per fingerprint, in the order of the file; each repeat counted as merged, with why.
fn merge(done: Vec<(NewFinding, Loc, Basis)>, counts: &mut FileCounts) -> Vec<NewFinding> {
    let mut first: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(done.len());
    for (f, loc, basis) in done {
        let here = loc.to_string();
        match first.get(f.fingerprint.as_str()) {
            Some(there) => {
                counts.merged += 1;
                if counts.merged_why.len() < MAX_MERGE_REASONS {
                    counts
                        .merged_why
                        .push(format!("{here} repeats {there}: {}", basis.why()));
                }
            }
            None => {
                first.insert(f.fingerprint.as_str().to_string(), here);
                out.push(f);
            }
        }
    }
    out
}

/// Helpers shared by the importers' tests: fixtures, a domain, and shorthands for success and failure.
#[cfg(test)]
pub(crate) mod testing {
    use super::{import, Format, ImportError};
    use fence_core::{DomainName, NewFinding};

    pub(crate) fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }

    pub(crate) fn domain() -> DomainName {
        DomainName::parse("shop.example.com").expect("valid domain")
    }

    pub(crate) fn ok(format: Format, input: &[u8]) -> Vec<NewFinding> {
        import(format, input, &domain()).unwrap_or_else(|e| panic!("{format} import failed: {e}"))
    }

    pub(crate) fn err(format: Format, input: &[u8]) -> ImportError {
        match import(format, input, &domain()) {
            Ok(f) => panic!("{format} import should fail, got {} findings", f.len()),
            Err(e) => e,
        }
    }

    /// The location of the error, after checking the message is not empty.
    pub(crate) fn err_at(format: Format, input: &[u8]) -> String {
        let e = err(format, input);
        assert!(!e.message.trim().is_empty(), "error without message: {e:?}");
        e.location
    }

    /// `depth` nested arrays: past serde_json's recursion limit when deep enough.
    pub(crate) fn nested(depth: usize) -> Vec<u8> {
        let mut s = "[".repeat(depth);
        s.push_str(&"]".repeat(depth));
        s.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{domain, err_at, fixture, nested, ok};
    use super::*;

    #[test]
    fn format_names_parse_in_any_case_and_errors_list_them() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Ok(f));
            assert_eq!(Format::parse(&f.as_str().to_uppercase()), Ok(f));
        }
        assert_eq!(Format::parse(" Nuclei "), Ok(Format::Nuclei));
        let e = Format::parse("xml").expect_err("unknown format");
        for name in ["sarif", "nuclei", "dependabot", "fence", "zap"] {
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn errors_display_location_then_message() {
        let e = ImportError::new(
            ImportErrorKind::Invalid,
            "runs[0].results[3].level",
            "unknown level \"fatal\"",
        );
        assert_eq!(
            e.to_string(),
            "runs[0].results[3].level: unknown level \"fatal\""
        );
    }

    #[test]
    fn inputs_over_10_mib_are_refused_before_parsing_unless_streamed() {
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        for f in Format::ALL.into_iter().filter(|f| !f.is_streamed()) {
            let e = super::testing::err(f, &big);
            assert_eq!(e.location, "input", "{f}");
            assert!(e.message.contains("10 MiB"), "{f}: {e}");
        }
        // Exactly the limit is parsed (and, being blank, is empty).
        let at_limit = vec![b' '; MAX_INPUT_BYTES];
        assert_eq!(err_at(Format::Dependabot, &at_limit), "input");
        assert!(ok(Format::Nuclei, &at_limit).is_empty());
        // SARIF is read as a stream: a log over 10 MiB imports.
        let log = serde_json::json!({
            "version": "2.1.0",
            "properties": {"padding": "x".repeat(MAX_INPUT_BYTES)},
            "runs": [{"tool": {"driver": {"name": "T"}}, "results": [{"message": {"text": "Bad thing"}}]}]
        })
        .to_string();
        assert!(log.len() > MAX_INPUT_BYTES);
        assert_eq!(ok(Format::Sarif, log.as_bytes()).len(), 1);
    }

    #[test]
    fn more_than_10000_findings_are_refused() {
        let line = |i: usize| {
            format!(
                r#"{{"template-id":"t","info":{{"name":"n","severity":"low"}},"matched-at":"https://shop.example.com/{i}"}}"#
            )
        };
        let mut input = String::new();
        for i in 0..MAX_FINDINGS {
            input.push_str(&line(i));
            input.push('\n');
        }
        assert_eq!(ok(Format::Nuclei, input.as_bytes()).len(), MAX_FINDINGS);
        input.push_str(&line(0));
        let e = super::testing::err(Format::Nuclei, input.as_bytes());
        assert_eq!(e.location, "input");
        assert!(e.message.contains("10000"), "{e}");
    }

    #[test]
    fn only_size_and_count_limits_are_too_large() {
        use super::testing::err;
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        for f in Format::ALL.into_iter().filter(|f| !f.is_streamed()) {
            let e = err(f, &big);
            assert_eq!(e.kind, ImportErrorKind::TooLarge, "{f}: {e}");
            assert!(e.is_too_large(), "{f}: {e}");
        }
        let line = r#"{"template-id":"t","info":{"name":"n","severity":"low"},"matched-at":"https://shop.example.com/"}"#;
        let many = format!("{line}\n").repeat(MAX_FINDINGS + 1);
        let e = err(Format::Nuclei, many.as_bytes());
        assert_eq!(e.kind, ImportErrorKind::TooLarge, "{e}");
        assert!(e.is_too_large(), "{e}");

        let not_json = err(Format::Sarif, b"{\"version\": ");
        assert_eq!(not_json.kind, ImportErrorKind::Malformed, "{not_json}");
        assert!(!not_json.is_too_large(), "{not_json}");
        let empty = err(Format::Fence, b"  ");
        assert_eq!(empty.kind, ImportErrorKind::Malformed, "{empty}");
        assert!(!empty.is_too_large(), "{empty}");
        let wrong_shape = err(Format::Sarif, br#"{"version": "2.1.0", "runs": {}}"#);
        assert_eq!(wrong_shape.kind, ImportErrorKind::Invalid, "{wrong_shape}");
        assert!(!wrong_shape.is_too_large(), "{wrong_shape}");
        // A message that happens to mention the limits is still about content.
        let mentions = err(
            Format::Fence,
            br#"{"title": "(10 MiB) findings; split it", "severity": "bad"}"#,
        );
        assert!(!mentions.is_too_large(), "{mentions}");
    }

    #[test]
    fn empty_input_is_an_error_except_for_nuclei_lines() {
        for f in [Format::Sarif, Format::Dependabot, Format::Fence] {
            assert_eq!(err_at(f, b""), "input", "{f}");
            assert_eq!(err_at(f, b" \n\t\r\n"), "input", "{f}");
        }
        // A nuclei run that found nothing writes an empty file.
        assert!(ok(Format::Nuclei, b"").is_empty());
        assert!(ok(Format::Nuclei, b"\n\n").is_empty());
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_crash() {
        let deep = nested(10_000);
        for f in Format::ALL {
            assert_eq!(err_at(f, &deep), "line 1", "{f}");
        }
        let mut line = br#"{"template-id":"t","info":"#.to_vec();
        line.extend(nested(5_000));
        line.push(b'}');
        let mut input = b"\n".to_vec();
        input.extend(line);
        assert_eq!(err_at(Format::Nuclei, &input), "line 2");
    }

    /// A cheap stand-in for the fuzzers: every prefix and many one-byte corruptions of every fixture, in every
    /// format, give findings or an error, never a panic, and every result of an accepted one is accounted for.
    #[test]
    fn truncated_and_corrupted_fixtures_never_panic() {
        let fixtures = [
            "zap.json",
            "zap.sarif",
            "trivy.sarif",
            "semgrep.sarif",
            "nuclei.jsonl",
            "dependabot.json",
            "fence.json",
        ];
        for name in fixtures {
            let bytes = fixture(name);
            for f in Format::ALL {
                for cut in (0..bytes.len()).step_by(3) {
                    accounted(import_file(f, &bytes[..cut], &domain()));
                }
                for at in (0..bytes.len()).step_by(11) {
                    for b in [b'"', b'0', b'{', b']', b'\n', 0xff] {
                        let mut m = bytes.clone();
                        m[at] = b;
                        accounted(import_file(f, &m, &domain()));
                    }
                }
            }
        }
    }

    /// Every result of an accepted file is a finding, merged, suppressed or not a result.
    fn accounted(got: Result<Imported, ImportError>) {
        if let Ok(i) = got {
            let c = &i.counts;
            assert_eq!(
                c.results,
                i.findings.len() + c.merged + c.suppressed + c.not_results,
                "{c:?}"
            );
        }
    }

    #[test]
    fn a_utf8_byte_order_mark_is_ignored() {
        let mut input = b"\xEF\xBB\xBF".to_vec();
        input.extend(fixture("fence.json"));
        assert_eq!(ok(Format::Fence, &input).len(), 2);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert_eq!(
            err_at(
                Format::Fence,
                b"{\"title\": \"\xff\", \"severity\": \"low\"}"
            ),
            "line 1"
        );
        assert_eq!(
            err_at(Format::Nuclei, b"{\"template-id\": \"\xc3\"}"),
            "line 1"
        );
    }
}
