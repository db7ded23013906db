//! Markdown help made readable as plain text: headings without their `#`, tables as `cell — cell` lines without
//! their rules, emphasis markers dropped, links as `text (url)`, code fences removed around their code.

use crate::import::draft::head;
use fence_core::finding::MAX_LONG_TEXT;

/// Plain text from Markdown (bounded to about the longest long text Fence keeps).
pub(crate) fn readable_markdown(md: &str) -> String {
    let md = head(md, 2 * MAX_LONG_TEXT);
    let mut out: Vec<String> = Vec::new();
    for line in md.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") || is_table_rule(t) {
            continue;
        }
        let line = if let Some(h) = heading(t) {
            h.to_string()
        } else if t.starts_with('|') && t.ends_with('|') && t.len() > 1 {
            let cells: Vec<&str> = t[1..t.len() - 1]
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            cells.join(" — ")
        } else {
            line.trim_end().to_string()
        };
        out.push(inline(&line));
    }
    // At most one blank line in a row.
    let mut text = String::new();
    let mut blank = true;
    for l in out {
        if l.trim().is_empty() {
            if !blank {
                text.push('\n');
            }
            blank = true;
        } else {
            text.push_str(&l);
            text.push('\n');
            blank = false;
        }
    }
    text.trim().to_string()
}

/// `| --- | :-: |`: a table's rule line.
fn is_table_rule(t: &str) -> bool {
    t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// The text of an ATX heading (`## Title` → `Title`).
fn heading(t: &str) -> Option<&str> {
    let level = t.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&level) && t[level..].starts_with(' ') {
        Some(t[level..].trim().trim_end_matches('#').trim())
    } else {
        None
    }
}

/// Emphasis markers dropped and `[text](url)` written `text (url)`.
fn inline(s: &str) -> String {
    let s = s.replace("**", "").replace("__", "");
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            let url_start = close + 2;
            after[url_start..]
                .find(')')
                .map(|end| (&after[..close], &after[url_start..url_start + end]))
        });
        match link {
            Some((text, url)) if !text.contains('[') => {
                out.push_str(&rest[..open]);
                if text.trim() == url.trim() || text.trim().is_empty() {
                    out.push_str(url);
                } else {
                    out.push_str(&format!("{text} ({url})"));
                }
                rest = &after[text.len() + url.len() + 3..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_tables_links_and_emphasis_become_plain_text() {
        let md = "**Vulnerability CVE-2023-1**\n| Severity | Package | Fixed Version | Link |\n| --- | --- | --- | --- |\n|CRITICAL|django|4.2.1|[CVE-2023-1](https://avd.aquasec.com/nvd/cve-2023-1)|\n\n\n## Fix\n\nUse `x`.\n```python\nfoo()\n```";
        assert_eq!(
            readable_markdown(md),
            "Vulnerability CVE-2023-1\nSeverity — Package — Fixed Version — Link\nCRITICAL — django — 4.2.1 — CVE-2023-1 (https://avd.aquasec.com/nvd/cve-2023-1)\n\nFix\n\nUse `x`.\nfoo()"
        );
        assert_eq!(readable_markdown("[a [b](c)"), "[a b (c)");
        assert_eq!(readable_markdown("x_y and #tag"), "x_y and #tag");
    }
}
