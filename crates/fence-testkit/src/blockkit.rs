//! Block Kit as Slack checks it (SLACK.md §7 and the list): a message Slack would refuse is refused here,
//! with `invalid_blocks` (400 on webhooks, `ok: false` with `errors` on the Web API, SLACK.md §1 and §6).
//!
//! This is the fake's own reading of Slack's rules, written without Fence's checker, so the two can disagree and a
//! test shows it.

use serde_json::Value;
use std::collections::HashSet;

/// Why Slack refuses a message: the error code it answers with and, for `invalid_blocks`, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `invalid_blocks`, `no_text`, `too_many_attachments` or `invalid_blocks_format`.
    pub error: &'static str,
    pub details: Vec<String>,
}

const BLOCK_TYPES: &[&str] = &[
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "rich_text",
    "markdown",
    "input",
    "file",
    "video",
];

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Checks a message payload (`text`, `blocks`, `attachments`) as Slack does before posting it.
pub fn check_message(msg: &Value) -> Result<(), Refusal> {
    let blocks = match msg.get("blocks") {
        // Form-encoded calls send `blocks` as a JSON string.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => Some(v),
            Err(_) => return Err(refuse("invalid_blocks_format", "blocks is not JSON")),
        },
        Some(v) => Some(v.clone()),
        None => None,
    };
    let attachments = msg.get("attachments").and_then(Value::as_array);
    let has_text = msg["text"].as_str().is_some_and(|t| !t.is_empty());
    let has_blocks = blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty());
    if !has_text && !has_blocks && attachments.is_none_or(|a| a.is_empty()) {
        return Err(refuse("no_text", "no text, blocks or attachments"));
    }
    let mut errors = Vec::new();
    if let Some(b) = &blocks {
        check_blocks(b, "blocks", &mut errors);
    }
    if let Some(atts) = attachments {
        if atts.len() > 100 {
            return Err(refuse("too_many_attachments", "more than 100 attachments"));
        }
        for (i, a) in atts.iter().enumerate() {
            // Legacy attachment buttons: at most five per attachment (SLACK.md §5).
            let actions = a
                .get("actions")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if actions > 5 {
                return Err(refuse(
                    "invalid_attachments",
                    &format!("attachments[{i}].actions has {actions} actions; at most 5"),
                ));
            }
            if let Some(b) = a.get("blocks") {
                check_blocks(b, &format!("attachments[{i}].blocks"), &mut errors);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal {
            error: "invalid_blocks",
            details: errors,
        })
    }
}

fn refuse(error: &'static str, detail: &str) -> Refusal {
    Refusal {
        error,
        details: vec![detail.to_string()],
    }
}

fn check_blocks(blocks: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(blocks) = blocks.as_array() else {
        errors.push(format!("{path} must be an array"));
        return;
    };
    if blocks.len() > 50 {
        errors.push(format!("{path}: more than 50 blocks"));
    }
    let mut block_ids = HashSet::new();
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if let Some(id) = b.get("block_id") {
            let n = chars(id);
            if !id.is_string() || n == 0 || n > 255 {
                errors.push(format!("{at}.block_id must be 1–255 characters"));
            } else if !block_ids.insert(id.as_str().unwrap_or_default().to_string()) {
                errors.push(format!("{at}.block_id {id} is not unique in the message"));
            }
        }
        check_block(b, &at, errors);
    }
}

fn check_block(b: &Value, at: &str, errors: &mut Vec<String>) {
    let kind = b["type"].as_str().unwrap_or_default();
    match kind {
        "header" => {
            if b["text"]["type"] != "plain_text" {
                errors.push(format!("{at}.text must be plain_text"));
            }
            let n = chars(&b["text"]["text"]);
            if n == 0 || n > 150 {
                errors.push(format!("{at}.text must be 1–150 characters, has {n}"));
            }
        }
        "section" => check_section(b, at, errors),
        "context" => {
            let elements = b["elements"].as_array().map_or(&[][..], Vec::as_slice);
            if elements.is_empty() || elements.len() > 10 {
                errors.push(format!("{at}.elements must have 1–10 items"));
            }
            for (j, e) in elements.iter().enumerate() {
                if e["type"] != "image" {
                    check_text(e, &format!("{at}.elements[{j}]"), 3000, errors);
                }
            }
        }
        "actions" => check_actions(b, at, errors),
        "markdown" if chars(&b["text"]) == 0 || chars(&b["text"]) > 12_000 => {
            errors.push(format!("{at}.text must be 1–12000 characters"));
        }
        k if BLOCK_TYPES.contains(&k) => {}
        other => errors.push(format!("{at}: unknown block type {other:?}")),
    }
}

fn check_section(b: &Value, at: &str, errors: &mut Vec<String>) {
    let fields = b.get("fields").and_then(Value::as_array);
    if b.get("text").is_none() && fields.is_none() {
        errors.push(format!("{at} needs text or fields"));
    }
    if let Some(t) = b.get("text") {
        check_text(t, &format!("{at}.text"), 3000, errors);
    }
    if let Some(fields) = fields {
        if fields.is_empty() || fields.len() > 10 {
            errors.push(format!(
                "{at}.fields must have 1–10 items, has {}",
                fields.len()
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            check_text(f, &format!("{at}.fields[{j}]"), 2000, errors);
        }
    }
    if let Some(e) = b.get("accessory") {
        check_element(e, &format!("{at}.accessory"), errors);
    }
}

fn check_actions(b: &Value, at: &str, errors: &mut Vec<String>) {
    let elements = b["elements"].as_array().map_or(&[][..], Vec::as_slice);
    if elements.is_empty() || elements.len() > 25 {
        errors.push(format!("{at}.elements must have 1–25 items"));
    }
    let mut action_ids = HashSet::new();
    for (j, e) in elements.iter().enumerate() {
        let path = format!("{at}.elements[{j}]");
        if let Some(id) = e["action_id"].as_str() {
            if !action_ids.insert(id.to_string()) {
                errors.push(format!(
                    "{path}.action_id {id:?} is not unique in the block"
                ));
            }
        }
        check_element(e, &path, errors);
    }
}

/// A text object: `plain_text` or `mrkdwn`, 1 to `max` characters.
fn check_text(t: &Value, at: &str, max: usize, errors: &mut Vec<String>) {
    let kind = t["type"].as_str().unwrap_or_default();
    if kind != "plain_text" && kind != "mrkdwn" {
        errors.push(format!("{at} must be a plain_text or mrkdwn text object"));
        return;
    }
    let n = chars(&t["text"]);
    if n == 0 || n > max {
        errors.push(format!("{at}.text must be 1–{max} characters, has {n}"));
    }
}

fn check_plain(t: &Value, at: &str, max: usize, errors: &mut Vec<String>) {
    if t["type"] != "plain_text" {
        errors.push(format!("{at} must be plain_text"));
    }
    check_text(t, at, max, errors);
}

fn check_url(url: &Value, at: &str, errors: &mut Vec<String>) {
    let u = url.as_str().unwrap_or_default();
    if !(u.starts_with("https://") || u.starts_with("http://")) || u.chars().count() > 3000 {
        errors.push(format!(
            "{at} must be an http(s) URL of at most 3000 characters"
        ));
    }
}

fn check_element(e: &Value, at: &str, errors: &mut Vec<String>) {
    if e.get("action_id")
        .is_some_and(|id| chars(id) == 0 || chars(id) > 255)
    {
        errors.push(format!("{at}.action_id must be 1–255 characters"));
    }
    match e["type"].as_str().unwrap_or_default() {
        "button" => {
            check_plain(&e["text"], &format!("{at}.text"), 75, errors);
            if chars(&e["value"]) > 2000 {
                errors.push(format!("{at}.value is over 2000 characters"));
            }
            if let Some(u) = e.get("url") {
                check_url(u, &format!("{at}.url"), errors);
            }
            if let Some(s) = e.get("style").and_then(Value::as_str) {
                if s != "primary" && s != "danger" {
                    errors.push(format!("{at}.style must be primary or danger"));
                }
            }
        }
        "overflow" => {
            let options = e["options"].as_array().map_or(&[][..], Vec::as_slice);
            // Slack's reference (and its SDKs' validators) ask for two to five options.
            if options.len() < 2 || options.len() > 5 {
                errors.push(format!(
                    "{at}.options must have 2–5 items, has {}",
                    options.len()
                ));
            }
            for (k, o) in options.iter().enumerate() {
                check_option(o, &format!("{at}.options[{k}]"), errors);
            }
        }
        "static_select"
        | "multi_static_select"
        | "users_select"
        | "conversations_select"
        | "channels_select"
        | "datepicker"
        | "timepicker"
        | "checkboxes"
        | "radio_buttons"
        | "image"
        | "plain_text_input" => {}
        other => errors.push(format!("{at}: unknown element type {other:?}")),
    }
}

fn check_option(o: &Value, at: &str, errors: &mut Vec<String>) {
    check_plain(&o["text"], &format!("{at}.text"), 75, errors);
    let n = chars(&o["value"]);
    if n == 0 || n > 150 {
        errors.push(format!("{at}.value must be 1–150 characters, has {n}"));
    }
    if let Some(u) = o.get("url") {
        check_url(u, &format!("{at}.url"), errors);
    }
}

#[cfg(test)]
mod tests;
