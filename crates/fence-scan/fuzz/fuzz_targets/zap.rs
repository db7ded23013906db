//! Fuzzes the ZAP importer (traditional JSON report or SARIF): any input gives findings or an error, never a panic;
//! findings stay within bounds and every result is accounted for.
#![no_main]

use fence_core::DomainName;
use fence_scan::import::{import_file, Format, MAX_FINDINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(domain) = DomainName::parse("fuzz.example.com") else {
        return;
    };
    if let Ok(imported) = import_file(Format::Zap, data, &domain) {
        let c = &imported.counts;
        assert!(imported.findings.len() <= MAX_FINDINGS);
        assert_eq!(
            c.results,
            imported.findings.len() + c.merged + c.suppressed + c.not_results
        );
        for f in &imported.findings {
            assert_eq!(f.domain, domain);
            assert!(!f.title.trim().is_empty() && f.title.chars().count() <= 500);
        }
    }
});
