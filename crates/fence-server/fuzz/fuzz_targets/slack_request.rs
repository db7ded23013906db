//! Fuzzes what Fence reads of a Slack request body (form, interaction payload, command words) before it looks
//! anything up: an answer or a refusal, never a panic; a command's words come back trimmed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((first, rest)) = fence_server::slack_app::read_untrusted(data) {
        assert_eq!(rest.trim(), rest);
        let _ = first;
    }
});
