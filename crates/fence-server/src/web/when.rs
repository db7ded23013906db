//! Times on the pages: in the reader's time zone (their own, else their organization's), as a person writes them
//! ("Dec 1, 2026, 04:39 CET"), with the exact UTC time kept in the `<time>` element (`datetime` and its title).

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

/// One time as a page shows it (`m.when` in `macros.html`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct When {
    /// In the reader's time zone: "Dec 1, 2026, 04:39 CET".
    pub text: String,
    /// RFC 3339 in UTC, for `datetime`: "2026-12-01T03:39:07.814Z".
    pub utc: String,
    /// The exact time for the title: "2026-12-01 03:39:07 UTC".
    pub exact: String,
}

/// The zone a reader's pages use: `user`'s own when it names a zone, else the organization's, else UTC.
pub fn reader_zone(user: Option<&str>, org: Option<&str>) -> TimeZone {
    user.into_iter()
        .chain(org)
        .find_map(|name| TimeZone::get(name).ok())
        .unwrap_or(TimeZone::UTC)
}

/// Whether `name` is a time zone Fence knows (an IANA name such as `Europe/Berlin`, or `UTC`).
pub fn is_zone(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && TimeZone::get(name).is_ok()
}

impl When {
    /// `ms` (since the epoch) in `zone`; `None` when it is out of range.
    pub fn at(ms: i64, zone: &TimeZone) -> Option<When> {
        let t = Timestamp::from_millisecond(ms).ok()?;
        let local = t.to_zoned(zone.clone());
        Some(When {
            text: local.strftime("%b %-d, %Y, %H:%M %Z").to_string(),
            utc: t.to_string(),
            exact: t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_reads_in_the_readers_zone_and_keeps_the_exact_utc_time() {
        let ms = 1_796_096_347_814; // 2026-12-01T03:39:07.814Z
        let berlin = reader_zone(None, Some("Europe/Berlin"));
        let w = When::at(ms, &berlin).expect("in range");
        assert_eq!(w.text, "Dec 1, 2026, 04:39 CET");
        assert_eq!(w.utc, "2026-12-01T03:39:07.814Z");
        assert_eq!(w.exact, "2026-12-01 03:39:07 UTC");
        // The user's own zone wins; an unknown one falls back to the organization's, then to UTC.
        let ny = reader_zone(Some("America/New_York"), Some("Europe/Berlin"));
        assert_eq!(
            When::at(ms, &ny).expect("in range").text,
            "Nov 30, 2026, 22:39 EST"
        );
        let fallback = reader_zone(Some("Mars/Olympus"), None);
        assert_eq!(
            When::at(ms, &fallback).expect("in range").text,
            "Dec 1, 2026, 03:39 UTC"
        );
        assert!(When::at(i64::MAX, &fallback).is_none());
        assert!(
            is_zone("Europe/Berlin") && is_zone("UTC") && !is_zone("Mars/Olympus") && !is_zone("")
        );
    }
}
