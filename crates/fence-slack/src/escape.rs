//! Untrusted text made safe for Slack and Mattermost without changing what it says: `&`, `<`, `>` escaped, every
//! URL and host name inside free text shown as inline code (which neither platform links nor unfurls), and length
//! bounded. No invisible characters are added: what a reader copies or searches for is what the scanner wrote.

use fence_core::ChannelKind;

/// Free text with no length bound (see [`bounded`]).
pub fn escape(s: &str) -> String {
    bounded(s, usize::MAX)
}

/// A validated host name (a finding's domain, a certificate's name): shown as it is, only escaped and bounded.
pub fn host(s: &str, max: usize) -> String {
    let pieces = vec![Piece::Plain(escape_units(s))];
    assemble(&pieces, max)
}

/// Free text from a scanner (a title, a description, evidence): escaped, with every URL or host name in it as
/// inline code, so it can never mention anyone, inject a link or unfurl, and at most `max` characters (ending with
/// "…" when cut; an entity or a code span is never cut in half).
pub fn bounded(s: &str, max: usize) -> String {
    assemble(&pieces(s, ChannelKind::Slack), max)
}

/// Free text for a platform: Slack as [`bounded`]; on Mattermost, whose Markdown also links `[x](…)`, embeds
/// `![](…)` and notifies on `@all`, `@channel`, `@here` and `@user` written as plain words, those are inert too —
/// mentions as inline code (Mattermost finds no mentions in code), link brackets escaped (`\[`), SLACK.md §10.
pub fn bounded_in(kind: ChannelKind, s: &str, max: usize) -> String {
    assemble(&pieces(s, kind), max)
}

/// A stretch of output: plain text (escaped, cut anywhere between units) or a code span (kept whole).
enum Piece {
    Plain(Vec<String>),
    Code(String),
}

/// Each character as it is written in Slack's text: `&`, `<`, `>` as entities.
fn escape_units(s: &str) -> Vec<String> {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Whether Slack or Mattermost would link this word: a scheme (`https://`, `//host`) or a dot before a letter
/// (`evil.com`, `www.x`, `a@b.io`) — but not a version (`3.2.0`).
fn links(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    word.contains("//")
        || chars
            .windows(2)
            .any(|w| w[0] == '.' && w[1].is_alphabetic())
}

/// Whether a word is inert on this platform only as code: a link everywhere, a mention on Mattermost.
fn needs_code(kind: ChannelKind, core: &str) -> bool {
    links(core) || (kind == ChannelKind::Mattermost && core.starts_with('@') && core.len() > 1)
}

/// Each character of a plain run, escaped for the platform: Slack's three entities; on Mattermost also Markdown's
/// link and image brackets.
fn plain_units(kind: ChannelKind, s: &str) -> Vec<String> {
    let mut units = escape_units(s);
    if kind == ChannelKind::Mattermost {
        for u in &mut units {
            if matches!(u.as_str(), "[" | "]") {
                u.insert(0, '\\');
            }
        }
    }
    units
}

/// Splits text into plain runs and code spans around its linkable words (without their surrounding punctuation).
fn pieces(s: &str, kind: ChannelKind) -> Vec<Piece> {
    const OPEN: &[char] = &['(', '[', '{', '"', '\'', '<'];
    const CLOSE: &[char] = &[')', ']', '}', '"', '\'', '>', '.', ',', ';', ':', '!', '?'];
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let ws_end = rest[end..]
            .find(|c: char| !c.is_whitespace())
            .map_or(rest.len(), |i| end + i);
        let word = &rest[..end];
        let core = word.trim_start_matches(OPEN);
        let lead = &word[..word.len() - core.len()];
        let core_trimmed = core.trim_end_matches(CLOSE);
        let trail = &core[core_trimmed.len()..];
        if !core_trimmed.is_empty() && needs_code(kind, core_trimmed) {
            plain.push_str(lead);
            out.push(Piece::Plain(plain_units(kind, &std::mem::take(&mut plain))));
            // A backtick would end the code span early; it is shown as an apostrophe.
            let code: String = escape_units(&core_trimmed.replace('`', "'")).concat();
            out.push(Piece::Code(format!("`{code}`")));
            plain.push_str(trail);
        } else {
            plain.push_str(word);
        }
        plain.push_str(&rest[end..ws_end]);
        rest = &rest[ws_end..];
    }
    out.push(Piece::Plain(plain_units(kind, &plain)));
    out
}

/// Joins pieces within `max` characters, cutting the last plain run that does not fit and adding "…".
fn assemble(pieces: &[Piece], max: usize) -> String {
    let total: usize = pieces.iter().map(piece_len).sum();
    let mut out = String::new();
    if total <= max {
        for p in pieces {
            match p {
                Piece::Plain(units) => units.iter().for_each(|u| out.push_str(u)),
                Piece::Code(c) => out.push_str(c),
            }
        }
        return out;
    }
    // Keep one character of room for the ellipsis.
    let room = max.saturating_sub(1);
    let mut count = 0usize;
    'pieces: for p in pieces {
        match p {
            Piece::Plain(units) => {
                for u in units {
                    let n = u.chars().count();
                    if count + n > room {
                        break 'pieces;
                    }
                    out.push_str(u);
                    count += n;
                }
            }
            Piece::Code(c) => {
                let n = c.chars().count();
                if count + n > room {
                    break 'pieces;
                }
                out.push_str(c);
                count += n;
            }
        }
    }
    out.push('…');
    out
}

fn piece_len(p: &Piece) -> usize {
    match p {
        Piece::Plain(units) => units.iter().map(|u| u.chars().count()).sum(),
        Piece::Code(c) => c.chars().count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_links_are_shown_literally() {
        assert_eq!(
            escape("<!channel> & <https://evil|click>"),
            "&lt;!channel&gt; &amp; &lt;`https://evil|click`&gt;"
        );
    }

    #[test]
    fn urls_and_hosts_in_free_text_are_code_and_versions_are_not() {
        assert_eq!(escape("see evil.com."), "see `evil.com`.");
        assert_eq!(
            escape("(from https://x.io/a?b=1&c=2)"),
            "(from `https://x.io/a?b=1&amp;c=2`)"
        );
        assert_eq!(escape("Django 3.2.0"), "Django 3.2.0");
        assert_eq!(escape("mail a@b.io now"), "mail `a@b.io` now");
        assert_eq!(escape("tick`evil.com"), "`tick'evil.com`");
    }

    #[test]
    fn text_gains_no_invisible_characters() {
        let s = "SQL injection at https://shop.example.com/login via example.com";
        let out = escape(s);
        assert!(!out
            .chars()
            .any(|c| matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')));
        assert_eq!(out.replace('`', ""), s);
    }

    #[test]
    fn mattermost_text_can_neither_mention_nor_link_nor_embed() {
        let mm = |s| bounded_in(ChannelKind::Mattermost, s, 1000);
        assert_eq!(
            mm("hey @all and @channel, @here: ping @alice"),
            "hey `@all` and `@channel`, `@here`: ping `@alice`"
        );
        assert_eq!(
            mm("[click](javascript:x) ![img](/x.png)"),
            "\\[click\\](javascript:x) `![img](/x.png`)"
        );
        assert_eq!(mm("see //evil.host/p"), "see `//evil.host/p`");
        // Slack shows the same words as written: its mentions need `<!here>`, which is escaped.
        assert_eq!(
            bounded_in(ChannelKind::Slack, "@here [x](y)", 100),
            "@here [x](y)"
        );
    }

    #[test]
    fn host_names_are_shown_as_they_are() {
        assert_eq!(host("shop.example.com", 253), "shop.example.com");
        assert_eq!(host("a.example.com", 5), "a.ex…");
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
        // Nor a code span.
        let out = bounded("see https://example.com/a/very/long/path now", 20);
        assert_eq!(out, "see …");
    }
}
