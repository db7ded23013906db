//! Fuzzes the configuration file: any TOML gives a configuration or an error naming a key, never a panic, and an
//! accepted configuration holds the limits Fence relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match fence_server::Config::from_sources(Some(text), None, &[]) {
        Ok(c) => {
            assert!(c.delivery.rate_per_second > 0.0 && c.delivery.rate_per_second <= 100.0);
            assert!(c.scan.max_queued_per_org >= 1 && c.scan.max_per_org_per_hour >= 1);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
