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

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Checks a message payload against Block Kit limits; the error names the first violation.
pub fn check_message(msg: &Value) -> Result<(), String> {
    let text_len = chars(&msg["text"]);
    if text_len > MAX_TEXT {
        return Err(format!("text has {text_len} characters (max {MAX_TEXT})"));
    }
    if let Some(blocks) = msg.get("blocks") {
        check_blocks(blocks, "blocks")?;
    }
    if let Some(atts) = msg.get("attachments").and_then(Value::as_array) {
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
        }
    }
    if msg.get("text").is_none() && msg.get("blocks").is_none() && msg.get("attachments").is_none()
    {
        return Err("message has no text, blocks or attachments".into());
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
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if chars(&b["block_id"]) > MAX_BLOCK_ID {
            return Err(format!("{at}.block_id is too long"));
        }
        match b["type"].as_str().unwrap_or("") {
            "header" => {
                if b["text"]["type"] != "plain_text" || chars(&b["text"]["text"]) > MAX_HEADER {
                    return Err(format!(
                        "{at}: header must be plain_text of at most {MAX_HEADER} characters"
                    ));
                }
            }
            "section" => check_section(b, &at)?,
            "context" => check_context(b, &at)?,
            "actions" => check_actions(b, &at)?,
            "divider" => {}
            other => return Err(format!("{at}: unknown block type {other:?}")),
        }
    }
    Ok(())
}

fn check_section(b: &Value, at: &str) -> Result<(), String> {
    let n = chars(&b["text"]["text"]);
    if b.get("text").is_some() && (n == 0 || n > MAX_SECTION_TEXT) {
        return Err(format!(
            "{at}.text must have 1–{MAX_SECTION_TEXT} characters, has {n}"
        ));
    }
    if let Some(fields) = b.get("fields").and_then(Value::as_array) {
        if fields.len() > MAX_FIELDS {
            return Err(format!(
                "{at}.fields has {} items (max {MAX_FIELDS})",
                fields.len()
            ));
        }
        if let Some(j) = fields
            .iter()
            .position(|f| chars(&f["text"]) > MAX_FIELD_TEXT || chars(&f["text"]) == 0)
        {
            return Err(format!(
                "{at}.fields[{j}] must have 1–{MAX_FIELD_TEXT} characters"
            ));
        }
    }
    if b.get("text").is_none() && b.get("fields").is_none() {
        return Err(format!("{at}: a section needs text or fields"));
    }
    if let Some(acc) = b.get("accessory") {
        check_element(acc, &format!("{at}.accessory"))?;
    }
    Ok(())
}

fn check_context(b: &Value, at: &str) -> Result<(), String> {
    let n = b["elements"].as_array().map(Vec::len).unwrap_or(0);
    if n == 0 || n > MAX_CONTEXT_ELEMENTS {
        return Err(format!(
            "{at}: context needs 1–{MAX_CONTEXT_ELEMENTS} elements, has {n}"
        ));
    }
    for e in b["elements"].as_array().into_iter().flatten() {
        if chars(&e["text"]) > MAX_SECTION_TEXT {
            return Err(format!("{at}: context text is too long"));
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
    for (j, e) in els.iter().enumerate() {
        check_element(e, &format!("{at}.elements[{j}]"))?;
    }
    Ok(())
}

fn check_element(e: &Value, at: &str) -> Result<(), String> {
    if e["type"] == "button" {
        let t = chars(&e["text"]["text"]);
        if t == 0 || t > MAX_BUTTON_TEXT {
            return Err(format!(
                "{at}: button text must have 1–{MAX_BUTTON_TEXT} characters"
            ));
        }
        if chars(&e["action_id"]) > MAX_ACTION_ID {
            return Err(format!("{at}.action_id is too long"));
        }
        if chars(&e["value"]) > MAX_BUTTON_VALUE {
            return Err(format!("{at}.value is too long"));
        }
        if chars(&e["url"]) > MAX_BUTTON_URL {
            return Err(format!("{at}.url is too long"));
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
