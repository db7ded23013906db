//! Fuzzes the budgeted JSON parser against serde_json's own: any input parses to the same value or fails with both,
//! and with a small budget it either gives that same value within the budget or says it ran out.
#![no_main]

use fence_core::json_budget::{parse, ParseError, MAX_TREE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let theirs = serde_json::from_slice::<serde_json::Value>(data).ok();
    match (parse(data, MAX_TREE), &theirs) {
        (Ok((ours, _)), Some(theirs)) => assert_eq!(&ours, theirs),
        (Err(ParseError::Syntax(_)), None) => {}
        (got, theirs) => panic!("budgeted {got:?}, serde_json {theirs:?}"),
    }
    match parse(data, 2_000) {
        Ok((ours, cost)) => {
            assert!(cost <= 2_000);
            assert_eq!(Some(ours), theirs);
        }
        Err(ParseError::TooManyValues(_)) => {}
        Err(ParseError::Syntax(_)) => assert!(theirs.is_none()),
    }
});
