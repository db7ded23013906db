//! Fuzzes the exploitability feed parsers with arbitrary bytes: as a KEV catalog (JSON) every entry is a valid CVE
//! with a date, or the error names a path; as an EPSS CSV every row is a CVE with scores in 0–1, or the error names a
//! line — never a panic.
#![no_main]

use fence_core::intel::{epss_rows, parse_kev};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) {
        match parse_kev(&doc) {
            Ok(entries) => assert!(entries.iter().all(|e| e.cve.starts_with("CVE-") && !e.known.date_added.is_empty())),
            Err(e) => assert!(!e.at.is_empty()),
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for row in epss_rows(text) {
            match row {
                Ok(r) => assert!((0.0..=1.0).contains(&r.epss.score) && (0.0..=1.0).contains(&r.epss.percentile)),
                Err(e) => {
                    assert!(e.at.starts_with("line "));
                    break;
                }
            }
        }
    }
});
