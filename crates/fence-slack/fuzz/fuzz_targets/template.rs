//! Fuzzes custom templates: any source renders a message Slack accepts or is refused, never a panic, and never
//! builds more than the output limit (the bound is checked before the template runs).
#![no_main]

use fence_core::AlertType;
use fence_slack::template::{coalesced_variables, render, sample, sample_burst, variables, MAX_OUTPUT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if source.len() > 20_000 {
        return;
    }
    let burst = sample_burst();
    let refs: Vec<_> = burst.iter().collect();
    let all = [
        variables(&sample(AlertType::Vulnerability), "https://fence.test", "<@U1>", Some("d"), Some("r")),
        variables(&sample(AlertType::Digest), "https://fence.test", "", None, None),
        coalesced_variables(&refs, "https://fence.test", "", false),
    ];
    for vars in &all {
        if let Ok(msg) = render(source, vars) {
            assert!(msg.is_object());
            assert!(fence_slack::limits::check_message(&msg).is_ok(), "{msg}");
            assert!(msg.to_string().len() <= 2 * MAX_OUTPUT);
        }
    }
});
