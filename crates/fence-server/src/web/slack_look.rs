//! A message as Slack (or Mattermost) would show it, for the preview page: Block Kit and attachments read into a
//! small tree of blocks and styled text spans that the template renders (and escapes) — never HTML built here.
//! The message may come from a custom template, so it is hostile input: only `http(s)` links become links
//! (`<javascript:…|x>` shows "x"), mentions show as inert text ("@here"), Slack's `&lt;` `&gt;` `&amp;` are
//! decoded once and escaped again by the page, and sizes are bounded.

use fence_core::ChannelKind;
use serde::Serialize;
use serde_json::Value;

/// Blocks, attachments, fields and spans read at most (Slack's own limits are lower: 50 blocks, 20 attachments).
const MAX_ITEMS: usize = 100;
/// Characters of one text read at most (Slack's longest, a section, is 3,000).
const MAX_TEXT: usize = 4_000;
/// Bytes a Markdown link (`[label](url)`) may span.
const LINK_WINDOW: usize = 600;

/// A run of text with one style.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Span {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub code: bool,
    /// A link's target: only `http://` or `https://`.
    pub href: Option<String>,
    /// A mention (`@here`, `@U123`, `#C123`): shown, never a link.
    pub mention: bool,
}

/// One line of text.
pub type Line = Vec<Span>;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Button {
    pub text: String,
    /// `primary` or `danger` (Block Kit's styles), else none.
    pub style: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: String,
    },
    Section {
        lines: Vec<Line>,
        fields: Vec<Vec<Line>>,
        button: Option<Button>,
    },
    Context {
        lines: Vec<Line>,
    },
    Actions {
        buttons: Vec<Button>,
    },
    Divider,
    Image {
        alt: String,
    },
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Field {
    pub title: String,
    pub value: Vec<Line>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Attachment {
    /// `#rrggbb` (anything else is dropped: it ends up in a `style` attribute).
    pub color: Option<String>,
    pub blocks: Vec<Block>,
    pub text: Vec<Line>,
    pub fields: Vec<Field>,
}

/// The whole message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Look {
    pub text: Vec<Line>,
    pub blocks: Vec<Block>,
    pub attachments: Vec<Attachment>,
}

/// Reads a message Fence would post to a channel of `kind`.
pub fn look(message: &Value, kind: ChannelKind) -> Look {
    Look {
        text: lines(str_of(message, "text"), kind),
        blocks: items(message, "blocks").map(|b| block(b, kind)).collect(),
        attachments: items(message, "attachments")
            .map(|a| attachment(a, kind))
            .collect(),
    }
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_ITEMS)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A text object's text (`{"type": "mrkdwn", "text": …}` or plain), as lines.
fn text_object(v: Option<&Value>, kind: ChannelKind) -> Vec<Line> {
    match v {
        Some(t) if str_of(t, "type") == "plain_text" => plain_lines(str_of(t, "text")),
        Some(t) => lines(str_of(t, "text"), kind),
        None => Vec::new(),
    }
}

fn plain_lines(s: &str) -> Vec<Line> {
    bounded(s)
        .lines()
        .map(|l| {
            vec![Span {
                text: l.to_string(),
                ..Span::default()
            }]
        })
        .collect()
}

fn bounded(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

fn button(v: &Value) -> Button {
    Button {
        text: bounded(str_of(v.get("text").unwrap_or(&Value::Null), "text")),
        style: match str_of(v, "style") {
            "primary" => Some("primary"),
            "danger" => Some("danger"),
            _ => None,
        },
    }
}

fn block(b: &Value, kind: ChannelKind) -> Block {
    match str_of(b, "type") {
        "header" => Block::Header {
            text: bounded(str_of(b.get("text").unwrap_or(&Value::Null), "text")),
        },
        "section" => Block::Section {
            lines: text_object(b.get("text"), kind),
            fields: items(b, "fields")
                .map(|f| text_object(Some(f), kind))
                .collect(),
            button: b
                .get("accessory")
                .filter(|a| str_of(a, "type") == "button")
                .map(button),
        },
        "context" => Block::Context {
            lines: items(b, "elements")
                .filter(|e| str_of(e, "type") != "image")
                .flat_map(|e| text_object(Some(e), kind))
                .collect(),
        },
        "actions" => Block::Actions {
            buttons: items(b, "elements")
                .filter(|e| str_of(e, "type") == "button")
                .map(button)
                .collect(),
        },
        "image" => Block::Image {
            alt: bounded(str_of(b, "alt_text")),
        },
        _ => Block::Divider,
    }
}

fn attachment(a: &Value, kind: ChannelKind) -> Attachment {
    let color = str_of(a, "color");
    let hex = color.len() == 7
        && color.starts_with('#')
        && color[1..].chars().all(|c| c.is_ascii_hexdigit());
    Attachment {
        color: hex.then(|| color.to_string()),
        blocks: items(a, "blocks").map(|b| block(b, kind)).collect(),
        text: lines(str_of(a, "text"), kind),
        fields: items(a, "fields")
            .map(|f| Field {
                title: bounded(str_of(f, "title")),
                value: lines(str_of(f, "value"), kind),
            })
            .collect(),
    }
}

/// Slack mrkdwn (or Mattermost Markdown) as lines of styled spans.
pub fn lines(s: &str, kind: ChannelKind) -> Vec<Line> {
    bounded(s).lines().map(|l| line(l, kind)).collect()
}

/// The styles in force while reading a line.
#[derive(Default, Clone, Copy)]
struct Style {
    bold: bool,
    italic: bool,
    strike: bool,
    code: bool,
}

impl Style {
    fn flag(&mut self, marker: char) -> &mut bool {
        match marker {
            '*' => &mut self.bold,
            '_' => &mut self.italic,
            '~' => &mut self.strike,
            _ => &mut self.code,
        }
    }

    fn has(mut self, marker: char) -> bool {
        *self.flag(marker)
    }

    fn toggle(&mut self, marker: char) {
        let f = self.flag(marker);
        *f = !*f;
    }
}

fn line(l: &str, kind: ChannelKind) -> Line {
    let mut out: Line = Vec::new();
    let mut style = Style::default();
    let mut buf = String::new();
    // Where each marker occurs last, so "is it closed later on the line?" costs nothing per character.
    let last = |pat: &str| l.rfind(pat);
    let (last_gt, last_star, last_stars) = (last(">"), last("*"), last("**"));
    let (last_under, last_tilde, last_tick) = (last("_"), last("~"), last("`"));
    let flush = |buf: &mut String, out: &mut Line, st: Style| {
        if !buf.is_empty() {
            out.push(span(&decode(buf), st, None, false));
            buf.clear();
        }
    };
    let mut i = 0;
    while let Some(c) = l[i..].chars().next() {
        let rest = &l[i..];
        // Slack's <…> tokens: links, mentions.
        if kind == ChannelKind::Slack && c == '<' && last_gt.is_some_and(|g| g > i) {
            if let Some(end) = rest.find('>') {
                flush(&mut buf, &mut out, style);
                out.push(token(&rest[1..end], style));
                i += end + 1;
                continue;
            }
        }
        // Mattermost's [label](url), looked for within a bounded window.
        if kind == ChannelKind::Mattermost && c == '[' {
            if let Some((label, url, used)) = markdown_link(rest) {
                flush(&mut buf, &mut out, style);
                out.push(span(&label, style, safe_href(&url), false));
                i += used;
                continue;
            }
        }
        let (marker, width, last_at) = match (kind, c) {
            (ChannelKind::Mattermost, '*') if rest.starts_with("**") => (Some('*'), 2, last_stars),
            (ChannelKind::Slack, '*') => (Some('*'), 1, last_star),
            (_, '_') => (Some('_'), 1, last_under),
            (_, '~') => (Some('~'), 1, last_tilde),
            (_, '`') => (Some('`'), 1, last_tick),
            _ => (None, 1, None),
        };
        if let Some(m) = marker {
            // A marker opens only when it is closed later on the line.
            if style.has(m) || last_at.is_some_and(|at| at >= i + width) {
                flush(&mut buf, &mut out, style);
                style.toggle(m);
                i += width;
                continue;
            }
        }
        buf.push(c);
        i += c.len_utf8();
    }
    flush(&mut buf, &mut out, style);
    out
}

fn span(text: &str, st: Style, href: Option<String>, mention: bool) -> Span {
    Span {
        text: text.to_string(),
        bold: st.bold,
        italic: st.italic,
        strike: st.strike,
        code: st.code,
        href,
        mention,
    }
}

/// `<…>` content: `@U…`, `!here`, `!subteam^S…|name`, `#C…|name`, or a link `url|label`.
fn token(inner: &str, st: Style) -> Span {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        return span(
            &format!("@{}", decode(label.unwrap_or(user))),
            st,
            None,
            true,
        );
    }
    if let Some(special) = target.strip_prefix('!') {
        let name = special.split('^').next().unwrap_or(special);
        let shown = match (name, label) {
            ("subteam", Some(l)) => l.trim_start_matches('@').to_string(),
            ("subteam", None) => special.trim_start_matches("subteam^").to_string(),
            (n, _) => n.to_string(),
        };
        return span(&format!("@{}", decode(&shown)), st, None, true);
    }
    if let Some(channel) = target.strip_prefix('#') {
        return span(
            &format!("#{}", decode(label.unwrap_or(channel))),
            st,
            None,
            true,
        );
    }
    let url = decode(target);
    let shown = label.map(decode).unwrap_or_else(|| url.clone());
    span(&shown, st, safe_href(&url), false)
}

/// `[label](url)` at the start of `s`: the label, the url and the characters used.
fn markdown_link(s: &str) -> Option<(String, String, usize)> {
    let window = &s[..s.floor_char_boundary(s.len().min(LINK_WINDOW))];
    let close = window.find("](")?;
    let end = window[close..].find(')')? + close;
    let label = &window[1..close];
    let url = &window[close + 2..end];
    (!label.contains('[')).then(|| (decode(label), url.to_string(), end + 1))
}

/// A link target the page may link to: `http(s)://` only, without spaces or quotes.
fn safe_href(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c.is_control());
    ok.then(|| url.to_string())
}

/// Slack's three entities, decoded once (the page escapes the text again).
fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(l: &Line) -> Vec<(&str, Option<&str>, bool)> {
        l.iter()
            .map(|s| (s.text.as_str(), s.href.as_deref(), s.mention))
            .collect()
    }

    #[test]
    fn only_http_links_link_and_mentions_stay_text() {
        let l = &lines(
            "<javascript:alert(1)|click> <https://fence.example.org/f/1|View Details> <!here> <@U123> <!subteam^S1|@sec> <#C9|alerts> <data:text/html,x>",
            ChannelKind::Slack,
        )[0];
        let got = texts(l);
        assert!(got.contains(&("click", None, false)), "{got:?}");
        assert!(got.contains(&("View Details", Some("https://fence.example.org/f/1"), false)));
        assert!(got.contains(&("@here", None, true)));
        assert!(got.contains(&("@U123", None, true)));
        assert!(got.contains(&("@sec", None, true)));
        assert!(got.contains(&("#alerts", None, true)));
        assert!(got.contains(&("data:text/html,x", None, false)));
        assert!(l
            .iter()
            .all(|s| s.href.as_deref().is_none_or(|h| h.starts_with("https://"))));
    }

    #[test]
    fn styles_and_entities_read_as_slack_shows_them() {
        let l = &lines(
            "*SQL* _in_ `login` &lt;script&gt; 5 * 3",
            ChannelKind::Slack,
        )[0];
        assert!(l[0].bold && l[0].text == "SQL");
        assert!(l.iter().any(|s| s.italic && s.text == "in"));
        assert!(l.iter().any(|s| s.code && s.text == "login"));
        // Decoded once: the page escapes "<script>" again; a lone "*" is just a star.
        assert!(
            l.iter()
                .any(|s| s.text.contains("<script> 5 * 3") && !s.bold),
            "{l:?}"
        );
        let mm = &lines(
            "**Bold** [Open](https://x.example/) [bad](javascript:x)",
            ChannelKind::Mattermost,
        )[0];
        assert!(mm[0].bold && mm[0].text == "Bold");
        assert!(mm
            .iter()
            .any(|s| s.text == "Open" && s.href.as_deref() == Some("https://x.example/")));
        assert!(mm.iter().any(|s| s.text == "bad" && s.href.is_none()));
    }

    #[test]
    fn a_hostile_message_is_read_within_bounds() {
        let msg = json!({
            "text": "x".repeat(100_000),
            "attachments": [{"color": "red;background:url(https://evil)", "blocks": (0..1000).map(|_| json!({"type": "divider"})).collect::<Vec<_>>()}],
            "blocks": [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}, "url": "javascript:alert(1)", "style": "evil"}]}],
        });
        let l = look(&msg, ChannelKind::Slack);
        assert_eq!(l.text[0][0].text.chars().count(), MAX_TEXT);
        assert_eq!(l.attachments[0].color, None);
        assert_eq!(l.attachments[0].blocks.len(), MAX_ITEMS);
        assert_eq!(
            l.blocks[0],
            Block::Actions {
                buttons: vec![Button {
                    text: "Go".into(),
                    style: None
                }]
            }
        );
    }

    /// The page built from Fence's own rendering of a hostile finding, and from a hostile custom template's output:
    /// no markup, script, mention or non-http link gets through; the look keeps colour, header, buttons and links.
    #[test]
    fn the_preview_page_shows_a_hostile_message_inert() {
        use crate::web::page::testing::render;
        use fence_core::alert::VulnerabilityAlert;
        use fence_core::{Alert, Severity};
        let signer = fence_slack::buttons::ButtonSigner::new([7u8; 32]);
        let ctx = fence_slack::render::RenderContext {
            base_url: "https://fence.example.org",
            org_id: "o1",
            kind: ChannelKind::Slack,
            format: fence_core::MessageFormat::Blocks,
            run_scan: false,
            signer: &signer,
            detail: fence_core::Detail::Full,
            acknowledge: false,
        };
        let alert = Alert::Vulnerability(VulnerabilityAlert {
            finding_id: "f1".into(),
            domain: "<!channel>.example.com".into(),
            title: "<script>alert(1)</script> <@U999> <javascript:alert(1)|click me>".into(),
            severity: Severity::Critical,
            cvss: None,
            cve: Some("<!everyone>".into()),
            owasp: None,
            category: None,
            affected_url: Some("javascript:alert(2)".into()),
            has_remediation: true,
            reopened: false,
            intel: None,
            now_exploited: false,
        });
        let ours = fence_slack::render::render(&ctx, &[&alert], &["<!here>".to_string()]);
        let theirs = json!({"text": "<javascript:alert(3)|x> <!channel>", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "<img src=x onerror=alert(4)> <https://ok.example/a|fine>"},
             "accessory": {"type": "button", "text": {"type": "plain_text", "text": "<b>Go</b>"}, "url": "javascript:alert(5)"}}]});
        let pages: Vec<String> = [ours, theirs]
            .iter()
            .map(|msg| {
                let look = look(msg, ChannelKind::Slack);
                #[derive(Serialize)]
                struct Page {
                    id: &'static str,
                    headline: &'static str,
                    look: Look,
                    message: String,
                    types: Vec<()>,
                }
                let out = render(
                    "web/channel_preview.html",
                    Page {
                        id: "c1",
                        headline: "h",
                        look,
                        message: String::new(),
                        types: Vec::new(),
                    },
                );
                let body = out
                    .split("id=slack-look")
                    .nth(1)
                    .expect("the look")
                    .to_string();
                // Scanner text shows as text ("javascript:alert(2)" may be read), never as markup or a link to it.
                for bad in [
                    "<script",
                    "<img",
                    "<b>Go",
                    "href=\"javascript",
                    "<!",
                    "<@",
                    "onerror=alert(4)>",
                ] {
                    assert!(!body.contains(bad), "{bad} in {body}");
                }
                body
            })
            .collect();
        let (out, theirs) = (&pages[0], &pages[1]);
        assert!(
            theirs.contains(
                "<a href=\"https:&#x2f;&#x2f;ok.example&#x2f;a\" rel=\"noopener noreferrer nofollow\">fine</a>"
            ),
            "an http(s) link stays a link: {theirs}"
        );
        assert!(
            theirs.contains("<span class=\"sl-button\">&lt;b&gt;Go&lt;&#x2f;b&gt;</span>"),
            "{theirs}"
        );
        assert!(
            out.contains("style=\"border-left-color:#"),
            "the severity colour: {out}"
        );
        assert!(
            out.contains("class=sl-header") || out.contains("sl-button"),
            "{out}"
        );
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "the title, escaped: {out}"
        );
        // Fence escaped the title's mention, so it reads as typed; the channel's own mention is one.
        assert!(out.contains("&lt;@U999&gt;"), "{out}");
        assert!(out.contains("<span class=sl-mention>@here</span>"), "{out}");
    }
}
