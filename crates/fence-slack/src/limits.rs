//! Slack's message limits (SLACK.md §7) and a checker that every rendered message must pass.

use serde_json::Value;

pub const MAX_BLOCKS: usize = 50;
pub const MAX_HEADER: usize = 150;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_TEXT: usize = 2000;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_ACTIONS: usize = 25;
pub const MAX_BUTTON_TEXT: usize = 75;
pub const MAX_ACTION_ID: usize = 255;
pub const MAX_BLOCK_ID: usize = 255;
pub const MAX_BUTTON_VALUE: usize = 2000;
pub const MAX_BUTTON_URL: usize = 3000;
/// Slack recommends at most 4,000 characters of top-level text.
pub const MAX_TEXT: usize = 4000;
pub const MAX_ATTACHMENTS: usize = 100;
/// Legacy attachment footer.
pub const MAX_FOOTER: usize = 300;

pub const MAX_OPTIONS: usize = 5;
/// The fewest options an overflow menu may have.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTION_VALUE: usize = 150;
/// Buttons of one legacy attachment.
pub const MAX_ATTACHMENT_ACTIONS: usize = 5;

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Checks a message payload against Block Kit's rules as Slack applies them (SLACK.md §7): sizes and counts, and
/// the rules Slack refuses with `invalid_blocks` — empty texts, duplicate `block_id`s in a message or `action_id`s
/// in a block, links that are not http(s), overflow menus of more than five options. The error names the first
/// violation and where it is.
pub fn check_message(msg: &Value) -> Result<(), String> {
    let text_len = chars(&msg["text"]);
    if text_len > MAX_TEXT {
        return Err(format!("text has {text_len} characters (max {MAX_TEXT})"));
    }
    let has_blocks = msg["blocks"].as_array().is_some_and(|b| !b.is_empty());
    let has_attachments = msg["attachments"].as_array().is_some_and(|a| !a.is_empty());
    if text_len == 0 && !has_blocks && !has_attachments {
        return Err("message has no text, blocks or attachments".into());
    }
    if let Some(blocks) = msg.get("blocks") {
        check_blocks(blocks, "blocks")?;
    }
    if let Some(atts) = msg.get("attachments") {
        check_attachments(atts)?;
    }
    Ok(())
}

fn check_attachments(atts: &Value) -> Result<(), String> {
    let atts = atts
        .as_array()
        .ok_or_else(|| "attachments must be a list".to_string())?;
    if atts.len() > MAX_ATTACHMENTS {
        return Err(format!(
            "{} attachments (max {MAX_ATTACHMENTS})",
            atts.len()
        ));
    }
    for (i, a) in atts.iter().enumerate() {
        if let Some(blocks) = a.get("blocks") {
            check_blocks(blocks, &format!("attachments[{i}].blocks"))?;
        }
        if let Some(fields) = a.get("fields").and_then(Value::as_array) {
            for (j, f) in fields.iter().enumerate() {
                if chars(&f["value"]) > MAX_FIELD_TEXT {
                    return Err(format!("attachments[{i}].fields[{j}].value is too long"));
                }
            }
        }
        if chars(&a["footer"]) > MAX_FOOTER {
            return Err(format!("attachments[{i}].footer is too long"));
        }
        let actions = a["actions"].as_array().map_or(0, Vec::len);
        if actions > MAX_ATTACHMENT_ACTIONS {
            return Err(format!(
                "attachments[{i}].actions has {actions} actions (max {MAX_ATTACHMENT_ACTIONS})"
            ));
        }
    }
    Ok(())
}

fn check_blocks(blocks: &Value, path: &str) -> Result<(), String> {
    let blocks = blocks
        .as_array()
        .ok_or_else(|| format!("{path} must be a list"))?;
    if blocks.len() > MAX_BLOCKS {
        return Err(format!(
            "{path} has {} blocks (max {MAX_BLOCKS})",
            blocks.len()
        ));
    }
    let mut block_ids = std::collections::HashSet::new();
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if let Some(id) = b.get("block_id") {
            let n = chars(id);
            if !id.is_string() || n == 0 || n > MAX_BLOCK_ID {
                return Err(format!(
                    "{at}.block_id must have 1–{MAX_BLOCK_ID} characters"
                ));
            }
            if !block_ids.insert(id.as_str().unwrap_or_default()) {
                return Err(format!("{at}.block_id {id} is used twice in the message"));
            }
        }
        check_block(b, &at)?;
    }
    Ok(())
}

fn check_block(b: &Value, at: &str) -> Result<(), String> {
    match b["type"].as_str().unwrap_or("") {
        "header" => check_plain(&b["text"], &format!("{at}.text"), MAX_HEADER),
        "section" => check_section(b, at),
        "context" => check_context(b, at),
        "actions" => check_actions(b, at),
        "divider" => Ok(()),
        "image" => {
            check_url(&b["image_url"], &format!("{at}.image_url"))?;
            let n = chars(&b["alt_text"]);
            if n == 0 || n > MAX_FIELD_TEXT {
                return Err(format!(
                    "{at}.alt_text must have 1–{MAX_FIELD_TEXT} characters"
                ));
            }
            Ok(())
        }
        other => Err(format!("{at}: unknown block type {other:?}")),
    }
}

/// A text object: `plain_text` or `mrkdwn`, 1 to `max` characters.
fn check_text(t: &Value, at: &str, max: usize) -> Result<(), String> {
    let kind = t["type"].as_str().unwrap_or_default();
    if kind != "plain_text" && kind != "mrkdwn" {
        return Err(format!("{at} must be a plain_text or mrkdwn text object"));
    }
    let n = chars(&t["text"]);
    if n == 0 || n > max {
        return Err(format!("{at} must have 1–{max} characters, has {n}"));
    }
    Ok(())
}

fn check_plain(t: &Value, at: &str, max: usize) -> Result<(), String> {
    if t["type"] != "plain_text" {
        return Err(format!("{at} must be plain_text"));
    }
    check_text(t, at, max)
}

fn check_url(url: &Value, at: &str) -> Result<(), String> {
    let u = url.as_str().unwrap_or_default();
    if !(u.starts_with("https://") || u.starts_with("http://"))
        || u.chars().count() > MAX_BUTTON_URL
    {
        return Err(format!(
            "{at} must be an http(s) URL of at most {MAX_BUTTON_URL} characters"
        ));
    }
    Ok(())
}

fn check_section(b: &Value, at: &str) -> Result<(), String> {
    if b.get("text").is_none() && b.get("fields").is_none() {
        return Err(format!("{at}: a section needs text or fields"));
    }
    if let Some(t) = b.get("text") {
        check_text(t, &format!("{at}.text"), MAX_SECTION_TEXT)?;
    }
    if let Some(fields) = b.get("fields") {
        let fields = fields
            .as_array()
            .ok_or_else(|| format!("{at}.fields must be a list"))?;
        if fields.is_empty() || fields.len() > MAX_FIELDS {
            return Err(format!(
                "{at}.fields must have 1–{MAX_FIELDS} items, has {}",
                fields.len()
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            check_text(f, &format!("{at}.fields[{j}]"), MAX_FIELD_TEXT)?;
        }
    }
    if let Some(acc) = b.get("accessory") {
        check_element(acc, &format!("{at}.accessory"))?;
    }
    Ok(())
}

fn check_context(b: &Value, at: &str) -> Result<(), String> {
    let els = b["elements"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if els.is_empty() || els.len() > MAX_CONTEXT_ELEMENTS {
        return Err(format!(
            "{at}: context needs 1–{MAX_CONTEXT_ELEMENTS} elements, has {}",
            els.len()
        ));
    }
    for (j, e) in els.iter().enumerate() {
        if e["type"] != "image" {
            check_text(e, &format!("{at}.elements[{j}]"), MAX_SECTION_TEXT)?;
        }
    }
    Ok(())
}

fn check_actions(b: &Value, at: &str) -> Result<(), String> {
    let els = b["elements"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if els.is_empty() || els.len() > MAX_ACTIONS {
        return Err(format!(
            "{at}: actions need 1–{MAX_ACTIONS} elements, has {}",
            els.len()
        ));
    }
    let mut action_ids = std::collections::HashSet::new();
    for (j, e) in els.iter().enumerate() {
        let path = format!("{at}.elements[{j}]");
        if let Some(id) = e["action_id"].as_str() {
            if !action_ids.insert(id) {
                return Err(format!(
                    "{path}.action_id {id:?} is used twice in the block"
                ));
            }
        }
        check_element(e, &path)?;
    }
    Ok(())
}

fn check_element(e: &Value, at: &str) -> Result<(), String> {
    if e.get("action_id")
        .is_some_and(|id| chars(id) == 0 || chars(id) > MAX_ACTION_ID)
    {
        return Err(format!(
            "{at}.action_id must have 1–{MAX_ACTION_ID} characters"
        ));
    }
    match e["type"].as_str().unwrap_or_default() {
        "button" => check_button(e, at),
        "overflow" => check_overflow(e, at),
        "image" => check_url(&e["image_url"], &format!("{at}.image_url")),
        other => Err(format!("{at}: unknown element type {other:?}")),
    }
}

fn check_button(e: &Value, at: &str) -> Result<(), String> {
    check_plain(&e["text"], &format!("{at}.text"), MAX_BUTTON_TEXT)?;
    if chars(&e["value"]) > MAX_BUTTON_VALUE {
        return Err(format!("{at}.value is too long"));
    }
    if let Some(u) = e.get("url") {
        check_url(u, &format!("{at}.url"))?;
    }
    match e.get("style").map(|s| s.as_str()) {
        None | Some(Some("primary" | "danger")) => Ok(()),
        Some(_) => Err(format!("{at}.style must be primary or danger")),
    }
}

fn check_overflow(e: &Value, at: &str) -> Result<(), String> {
    let options = e["options"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if options.len() < MIN_OPTIONS || options.len() > MAX_OPTIONS {
        return Err(format!(
            "{at}.options must have {MIN_OPTIONS}–{MAX_OPTIONS} items, has {}",
            options.len()
        ));
    }
    for (k, o) in options.iter().enumerate() {
        let path = format!("{at}.options[{k}]");
        check_plain(&o["text"], &format!("{path}.text"), MAX_BUTTON_TEXT)?;
        let n = chars(&o["value"]);
        if n == 0 || n > MAX_OPTION_VALUE {
            return Err(format!(
                "{path}.value must have 1–{MAX_OPTION_VALUE} characters, has {n}"
            ));
        }
        if let Some(u) = o.get("url") {
            check_url(u, &format!("{path}.url"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_checker_rejects_each_limit() {
        let too_many: Vec<Value> = (0..51).map(|_| json!({"type": "divider"})).collect();
        assert!(check_message(&json!({"text": "x", "blocks": too_many})).is_err());
        let header =
            json!({"type": "header", "text": {"type": "plain_text", "text": "h".repeat(151)}});
        assert!(check_message(&json!({"text": "x", "blocks": [header]})).is_err());
        let fields: Vec<Value> = (0..11)
            .map(|_| json!({"type": "mrkdwn", "text": "f"}))
            .collect();
        assert!(check_message(
            &json!({"text": "x", "blocks": [{"type": "section", "fields": fields}]})
        )
        .is_err());
        let button = json!({"type": "button", "text": {"type": "plain_text", "text": "b"}, "value": "v".repeat(2001)});
        assert!(check_message(
            &json!({"text": "x", "blocks": [{"type": "actions", "elements": [button]}]})
        )
        .is_err());
        assert!(check_message(&json!({"text": "t".repeat(4001)})).is_err());
        assert!(check_message(&json!({"text": "ok"})).is_ok());
    }
}
