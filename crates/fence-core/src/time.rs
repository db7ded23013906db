//! Timestamps as Fence shows them: milliseconds since the epoch (how everything is stored) as RFC 3339 text.

/// RFC 3339 text (UTC) for a millisecond timestamp; empty when it is out of range.
pub fn fmt_ts(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::fmt_ts;

    #[test]
    fn timestamps_print_as_utc_rfc3339() {
        assert_eq!(fmt_ts(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_ts(1_764_560_000_123), "2025-12-01T03:33:20.123Z");
        assert_eq!(fmt_ts(i64::MAX), "");
    }
}
