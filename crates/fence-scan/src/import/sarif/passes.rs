//! A SARIF import in three passes over the log, none holding more than one result's JSON tree: the log without its
//! results (tools and rules), then every result checked and reduced to a few digests (what deciding identities
//! needs), then every result again, now with its identity, handed to the sink a chunk at a time. Nothing reaches the
//! sink unless the whole log is valid.

use super::stream::{OnResult, Skeleton, Walker};
use super::{runs_of, Outcome, Run};
use crate::import::identity::{self, Compact};
use crate::import::json::{Loc, Obj};
use crate::import::source::Source;
use crate::import::{Emitter, ImportError, ImportErrorKind, MAX_STREAMED_FINDINGS};
use fence_core::DomainName;
use serde_json::Value;

/// Imports the SARIF log `src` into `out`.
pub(in crate::import) fn import(
    src: Source<'_>,
    domain: &DomainName,
    out: &mut Emitter<'_, '_>,
) -> Result<(), ImportError> {
    if src.is_blank()? {
        return Err(ImportError::new(
            ImportErrorKind::Malformed,
            "input",
            "is empty; expected a JSON document",
        ));
    }
    let budget = fence_core::json_budget::Budget::new(fence_core::json_budget::MAX_TREE);
    let doc = src.read(Skeleton::new(&budget))?;
    let runs = runs_of(&doc)?;
    for run in &runs {
        out.tool(run.tool);
    }

    // Every result checked, and what its identity depends on kept as digests.
    let mut compact: Vec<Compact> = Vec::new();
    walk(src, &mut |run, i, value| {
        let loc = place(run, i);
        match outcome(&runs, run, &value, domain, &loc)? {
            Outcome::Problem(p) => {
                if compact.len() >= MAX_STREAMED_FINDINGS {
                    return Err(ImportError::new(
                        ImportErrorKind::TooLarge,
                        "input",
                        format!(
                            "has more than {MAX_STREAMED_FINDINGS} results; split it into smaller imports"
                        ),
                    ));
                }
                compact.push(p.evidence.compact());
                let mut draft = p.draft;
                draft.fingerprint(p.kind, &[]);
                draft.finish(&loc)?;
                out.counts.results += 1;
            }
            Outcome::Suppressed => out.suppressed(),
            Outcome::NotResult => out.not_result(),
        }
        Ok(())
    })?;
    let decisions = identity::decide(&compact);
    drop(compact);

    // Every problem again, with its identity.
    let mut next = decisions.iter().copied();
    walk(src, &mut |run, i, value| {
        let loc = place(run, i);
        let Outcome::Problem(p) = outcome(&runs, run, &value, domain, &loc)? else {
            return Ok(());
        };
        let decision = next
            .next()
            .ok_or_else(|| loc.error("changed while it was read"))?;
        let (parts, basis) = identity::parts(&p.evidence, decision);
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let mut draft = p.draft;
        draft.fingerprint(p.kind, &parts);
        out.push(draft.finish(&loc)?, &loc, basis)
    })?;
    out.flush()
}

/// `runs[run].results[i]`.
fn place(run: usize, i: usize) -> Loc {
    Loc::root().key("runs").index(run).key("results").index(i)
}

fn outcome(
    runs: &[Run<'_>],
    run: usize,
    value: &Value,
    domain: &DomainName,
    loc: &Loc,
) -> Result<Outcome, ImportError> {
    let r = runs
        .get(run)
        .ok_or_else(|| loc.error("belongs to no run"))?;
    r.result(Obj::of(value, loc.clone())?, domain, loc)
}

/// Hands every result of the log to `on_result`, in order.
fn walk(src: Source<'_>, on_result: &mut OnResult<'_>) -> Result<(), ImportError> {
    let mut raised = None;
    let walker = Walker::new(on_result, &mut raised);
    // The walker borrows `raised`; it is read back only once the walk is over.
    let got = src.read(walker);
    match (got, raised) {
        (_, Some(e)) => Err(e),
        (got, None) => got,
    }
}

#[cfg(test)]
mod tests {
    use crate::import::testing::domain;
    use crate::import::{import_file, import_stream, Format, Source, Stopped, CHUNK};
    use serde_json::json;

    fn result(i: usize) -> serde_json::Value {
        json!({"ruleId": "r1", "message": {"text": format!("Bad call in f{}", i % 7)},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/m{}.py", i / 3)},
               "region": {"startLine": 10 + i}}}]})
    }

    /// A log whose run lists its results before its tool (key order is the writer's choice).
    fn log(n: usize) -> Vec<u8> {
        let results: Vec<_> = (0..n).map(result).collect();
        json!({"version": "2.1.0", "runs": [
            {"results": results, "tool": {"driver": {"name": "Tool", "rules": [{"id": "r1", "shortDescription": {"text": "Bad call"}}]}}},
            {"tool": {"driver": {"name": "Other"}}, "results": [result(0), result(0)]}
        ]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_file_streams_to_the_same_findings_in_chunks() {
        let bytes = log(2 * CHUNK + 10);
        let whole = import_file(Format::Sarif, &bytes, &domain()).expect("import");
        assert_eq!(whole.findings.len(), 2 * CHUNK + 11);
        assert_eq!(
            (whole.counts.results, whole.counts.merged),
            (2 * CHUNK + 12, 1)
        );
        assert_eq!(
            whole.counts.merged_why,
            ["runs[1].results[1] repeats runs[1].results[0]: the same rule, location, line and message"]
        );
        assert_eq!(whole.tools, ["Tool", "Other"]);

        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("log.sarif");
        std::fs::write(&path, &bytes).expect("write");
        let mut chunks = Vec::new();
        let streamed = import_stream(Format::Sarif, Source::File(&path), &domain(), &mut |c| {
            chunks.push(c);
            Ok(())
        })
        .expect("stream");
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [CHUNK, CHUNK, 11]);
        assert_eq!(streamed.counts, whole.counts);
        assert!(streamed.findings.is_empty());
        let fingerprints = |fs: &[fence_core::NewFinding]| -> Vec<String> {
            fs.iter()
                .map(|f| f.fingerprint.as_str().to_string())
                .collect()
        };
        assert_eq!(
            fingerprints(&chunks.concat()),
            fingerprints(&whole.findings)
        );
    }

    #[test]
    fn an_invalid_result_anywhere_gives_the_sink_nothing() {
        let mut doc: serde_json::Value = serde_json::from_slice(&log(3 * CHUNK)).expect("json");
        doc["runs"][1]["results"][1]["level"] = json!("fatal");
        let bytes = doc.to_string().into_bytes();
        let mut given = 0;
        let e = import_stream(Format::Sarif, Source::Bytes(&bytes), &domain(), &mut |c| {
            given += c.len();
            Ok(())
        })
        .expect_err("invalid");
        assert_eq!(e.location, "runs[1].results[1].level");
        assert_eq!(given, 0);
        // A sink that stops ends the import.
        let bytes = log(3 * CHUNK);
        let e = import_stream(Format::Sarif, Source::Bytes(&bytes), &domain(), &mut |_| {
            Err(Stopped)
        })
        .expect_err("stopped");
        assert_eq!(e.kind, crate::import::ImportErrorKind::Stopped);
    }

    #[test]
    fn more_results_than_a_streamed_import_takes_are_refused_as_too_large() {
        let one = r#"{"message":{"text":"m"}}"#;
        let mut text = String::from(
            r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"T"}},"results":["#,
        );
        text.push_str(&vec![one; crate::import::MAX_STREAMED_FINDINGS + 1].join(","));
        text.push_str("]}]}");
        let mut given = 0;
        let e = import_stream(
            Format::Sarif,
            Source::Bytes(text.as_bytes()),
            &domain(),
            &mut |c| {
                given += c.len();
                Ok(())
            },
        )
        .expect_err("too many");
        assert!(e.is_too_large(), "{e}");
        assert!(e.message.contains("250000"), "{e}");
        assert_eq!(given, 0);
    }

    #[test]
    fn results_of_the_wrong_type_and_repeated_members_are_refused() {
        let at = |text: &str| {
            import_file(Format::Sarif, text.as_bytes(), &domain())
                .expect_err("refused")
                .location
        };
        let tool = r#"{"driver": {"name": "T"}}"#;
        assert_eq!(
            at(&format!(
                r#"{{"version": "2.1.0", "runs": [{{"tool": {tool}, "results": {{}}}}]}}"#
            )),
            "runs[0].results"
        );
        assert_eq!(at(r#"{"version": "2.1.0", "runs": {"a": 1}}"#), "runs");
        assert_eq!(
            at(&format!(
                r#"{{"version": "2.1.0", "runs": [{{"tool": {tool}, "results": [], "results": []}}]}}"#
            )),
            "line 1"
        );
    }
}
