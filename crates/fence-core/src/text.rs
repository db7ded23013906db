//! Small text helpers: length bounds for untrusted text (cut on a character boundary with "…") and durations
//! written as `30s`, `15m`, `6h`, `1d` or `1h30m`.

/// Cuts `s` to at most `max` characters (Unicode scalar values), ending with "…" when it was cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let mut iter = s.char_indices();
    match iter.nth(max) {
        None => s.to_string(),
        Some(_) => {
            let cut = s
                .char_indices()
                .nth(max - 1)
                .map(|(i, _)| i)
                .unwrap_or(s.len());
            let mut out = s[..cut].to_string();
            out.push('…');
            out
        }
    }
}

/// Parses durations such as `90s`, `15m`, `6h`, `1d`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{s:?} is not a duration; use e.g. 30s, 15m, 6h, 1d or 1h30m");
    let (mut total, mut num, mut any) = (0u64, String::new(), false);
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged_and_long_text_ends_with_an_ellipsis() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééééé", 4).chars().count(), 4);
    }
}
