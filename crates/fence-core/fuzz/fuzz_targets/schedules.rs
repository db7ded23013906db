//! Fuzzes the schedule syntaxes users type: cron expressions (and their next/previous fire times, which must come
//! after/before the given time), durations and reminder intervals. An answer, never a panic or an endless search.
#![no_main]

use fence_core::digest::Cron;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = fence_core::text::parse_duration(text);
    let _ = fence_core::channel::parse_every(text);
    if let Ok(cron) = Cron::parse(text) {
        let tz = jiff::tz::TimeZone::UTC;
        let t = jiff::Timestamp::from_second(1_772_452_800).expect("timestamp");
        if let Some(next) = cron.next(t, &tz) {
            assert!(next > t);
        }
        if let Some(previous) = cron.previous(t, &tz) {
            assert!(previous <= t);
        }
    }
});
