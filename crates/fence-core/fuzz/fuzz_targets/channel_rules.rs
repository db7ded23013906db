//! Fuzzes a channel's rules as the API and the web form send them: any JSON object gives rules or field errors
//! naming what is wrong, never a panic, and the rules it gives admit or refuse an alert without panicking.
#![no_main]

use fence_core::{ChannelConfig, ChannelKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for kind in [ChannelKind::Slack, ChannelKind::Mattermost] {
        match ChannelConfig::from_json(&obj, kind) {
            Ok(config) => {
                assert!(config.filters.domains.len() <= fence_core::MAX_LIST_ITEMS);
                let _ = config.mention_names();
            }
            Err(errs) => assert!(!errs.is_empty()),
        }
    }
});
