//! Fuzzes the dependabot importer: any input gives findings or an error, never a panic, and findings stay within bounds.
#![no_main]

use fence_core::DomainName;
use fence_scan::import::{import, Format, MAX_FINDINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(domain) = DomainName::parse("fuzz.example.com") else {
        return;
    };
    if let Ok(findings) = import(Format::Dependabot, data, &domain) {
        assert!(findings.len() <= MAX_FINDINGS);
        for f in &findings {
            assert_eq!(f.domain, domain);
            assert!(!f.title.trim().is_empty() && f.title.chars().count() <= 500);
        }
    }
});
