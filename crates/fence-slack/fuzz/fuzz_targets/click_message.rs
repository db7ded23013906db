//! Fuzzes the coalesced message a click sends back (Slack echoes the message; Fence replaces the clicked line):
//! any message and block id give a valid message or nothing, never a panic.
#![no_main]

use fence_core::{AlertType, ChannelKind, MessageFormat};
use fence_slack::buttons::ButtonSigner;
use fence_slack::render::{replace_line, RenderContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (block_id, message) = text.split_once('\n').unwrap_or(("fence_line_0", &text));
    let Ok(message) = serde_json::from_str::<serde_json::Value>(message) else {
        return;
    };
    let fence_core::Alert::Vulnerability(v) = fence_slack::template::sample(AlertType::Vulnerability) else {
        return;
    };
    let signer = ButtonSigner::new([7; 32]);
    let ctx = RenderContext {
        base_url: "https://fence.test",
        org_id: "org",
        kind: ChannelKind::Slack,
        format: MessageFormat::Blocks,
        run_scan: true,
        signer: &signer,
        detail: fence_core::Detail::Full,
        acknowledge: false,
    };
    if let Some(msg) = replace_line(&ctx, &message, block_id, &v, "✓ Marked as false positive") {
        assert!(fence_slack::limits::check_message(&msg).is_ok(), "{msg}");
    }
});
