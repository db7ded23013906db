//! What every importer fuzz target checks of an accepted input: each result accounted for, findings on the import's
//! domain with bounded titles and distinct fingerprints, no more findings than the format allows.

use fence_core::DomainName;
use fence_scan::import::{import_file, Format};
use std::collections::HashSet;

/// Imports `data` as `format`; an error is fine, a panic or a broken invariant is a crash.
pub fn check(format: Format, data: &[u8]) {
    let Ok(domain) = DomainName::parse("fuzz.example.com") else {
        return;
    };
    let Ok(imported) = import_file(format, data, &domain) else {
        return;
    };
    let c = &imported.counts;
    assert!(imported.findings.len() <= format.max_findings());
    assert_eq!(
        c.results,
        imported.findings.len() + c.merged + c.suppressed + c.not_results,
        "{c:?}"
    );
    let mut seen = HashSet::new();
    for f in &imported.findings {
        assert_eq!(f.domain, domain);
        assert!(!f.title.trim().is_empty() && f.title.chars().count() <= 500);
        assert!(seen.insert(f.fingerprint.as_str().to_string()), "fingerprint repeated");
    }
}
