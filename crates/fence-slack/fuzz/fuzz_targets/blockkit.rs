//! Fuzzes Fence's Block Kit checker with any JSON: an answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = fence_slack::limits::check_message(&msg);
    }
});
