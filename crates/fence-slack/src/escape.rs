//! Untrusted text made safe for Slack mrkdwn: `&`, `<`, `>` escaped, links defanged, length bounded.

/// Zero-width space: inserted where Slack would otherwise auto-link (`://`, `.com`), invisible to readers.
pub const ZWSP: char = '\u{200B}';

/// Escapes the three control characters Slack documents. Nothing else is encoded.
pub fn escape(s: &str) -> String {
    bounded(s, usize::MAX)
}

/// Escapes, defangs and bounds a scanner-supplied value so that it can never mention anyone, inject a link, or
/// auto-link a URL or domain, and so that the escaped result is at most `max` characters (ending with "…" when cut).
pub fn bounded(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    let mut count = 0usize;
    let chars: Vec<char> = s.chars().collect();
    let mut cut = false;
    for (i, &c) in chars.iter().enumerate() {
        let piece: &str = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => "",
        };
        let next = chars.get(i + 1).copied();
        let defang = (c == '.' && next.is_some_and(|n| n.is_alphabetic()))
            || (c == ':' && next == Some('/'));
        let mut buf = [0u8; 4];
        let text = if piece.is_empty() {
            c.encode_utf8(&mut buf) as &str
        } else {
            piece
        };
        let len = text.chars().count() + usize::from(defang);
        // Keep one character of room for the ellipsis unless this is the very end.
        let room = if i + 1 == chars.len() {
            max
        } else {
            max.saturating_sub(1)
        };
        if count + len > room {
            cut = true;
            break;
        }
        out.push_str(text);
        if defang {
            out.push(ZWSP);
        }
        count += len;
    }
    if cut {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_links_are_shown_literally() {
        assert_eq!(
            escape("<!channel> & <https://evil|click>"),
            "&lt;!channel&gt; &amp; &lt;https:\u{200B}//evil|click&gt;"
        );
    }

    #[test]
    fn bare_urls_and_domains_are_defanged_but_versions_are_not() {
        assert_eq!(escape("see evil.com"), "see evil.\u{200B}com");
        assert_eq!(escape("Django 3.2.0"), "Django 3.2.0");
    }

    #[test]
    fn bounded_output_never_exceeds_the_limit_even_when_escaping_grows_it() {
        let s = "<".repeat(1000);
        let out = bounded(&s, 2000);
        assert!(out.chars().count() <= 2000);
        assert!(out.ends_with('…'));
        assert!(!out.contains('<'));
        // An entity is never cut in half.
        assert!(out.trim_end_matches('…').ends_with("&lt;"));
        assert_eq!(bounded("short", 10), "short");
    }
}
