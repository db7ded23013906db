//! Each of Slack's rules refuses the message that breaks it, and a message that keeps them all passes, so the fake
//! is neither laxer nor stricter than the rule it models.

use super::check_message;
use serde_json::{json, Value};

fn button(action_id: &str, url: Option<&str>) -> Value {
    let mut b = json!({"type": "button", "text": {"type": "plain_text", "text": "View"}, "action_id": action_id});
    if let Some(u) = url {
        b["url"] = json!(u);
    }
    b
}

fn overflow(n: usize) -> Value {
    let options: Vec<Value> = (0..n)
        .map(|i| json!({"text": {"type": "plain_text", "text": format!("o{i}")}, "value": format!("v{i}")}))
        .collect();
    json!({"type": "overflow", "action_id": "more", "options": options})
}

fn valid() -> Value {
    json!({"text": "fallback", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Critical"}},
        {"type": "section", "block_id": "a", "text": {"type": "mrkdwn", "text": "x".repeat(3000)},
         "fields": (0..10).map(|i| json!({"type": "mrkdwn", "text": format!("f{i}")})).collect::<Vec<_>>()},
        {"type": "actions", "block_id": "b", "elements": [button("view", Some(&format!("https://e.com/{}", "x".repeat(2980)))), button("fp", None), overflow(5)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}]},
        {"type": "divider"}
    ]})
}

fn refused(msg: &Value) -> (&'static str, String) {
    match check_message(msg) {
        Ok(()) => ("accepted", String::new()),
        Err(r) => (r.error, r.details.join("; ")),
    }
}

#[test]
fn a_message_within_every_limit_is_accepted() {
    assert_eq!(check_message(&valid()), Ok(()));
    assert_eq!(check_message(&json!({"text": "just text"})), Ok(()));
}

/// A change to the valid message that breaks one rule.
type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn each_rule_slack_enforces_refuses_the_message() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "empty header",
            Box::new(|m| m["blocks"][0]["text"]["text"] = json!("")),
        ),
        (
            "header of 151",
            Box::new(|m| m["blocks"][0]["text"]["text"] = json!("h".repeat(151))),
        ),
        (
            "mrkdwn header",
            Box::new(|m| m["blocks"][0]["text"]["type"] = json!("mrkdwn")),
        ),
        (
            "section text of 3001",
            Box::new(|m| m["blocks"][1]["text"]["text"] = json!("x".repeat(3001))),
        ),
        (
            "empty section text",
            Box::new(|m| m["blocks"][1]["text"]["text"] = json!("")),
        ),
        (
            "11 fields",
            Box::new(|m| {
                m["blocks"][1]["fields"]
                    .as_array_mut()
                    .expect("fields")
                    .push(json!({"type": "mrkdwn", "text": "more"}))
            }),
        ),
        (
            "duplicate action_id",
            Box::new(|m| m["blocks"][2]["elements"][1]["action_id"] = json!("view")),
        ),
        (
            "duplicate block_id",
            Box::new(|m| m["blocks"][2]["block_id"] = json!("a")),
        ),
        (
            "url of 3001",
            Box::new(|m| {
                m["blocks"][2]["elements"][0]["url"] =
                    json!(format!("https://e.com/{}", "x".repeat(2988)))
            }),
        ),
        (
            "url not http(s)",
            Box::new(|m| m["blocks"][2]["elements"][0]["url"] = json!("javascript:alert(1)")),
        ),
        (
            "relative url",
            Box::new(|m| m["blocks"][2]["elements"][0]["url"] = json!("/findings/1")),
        ),
        (
            "overflow of 6",
            Box::new(|m| m["blocks"][2]["elements"][2] = overflow(6)),
        ),
        (
            "overflow of 1",
            Box::new(|m| m["blocks"][2]["elements"][2] = overflow(1)),
        ),
        (
            "option value of 151",
            Box::new(|m| {
                m["blocks"][2]["elements"][2]["options"][0]["value"] = json!("v".repeat(151))
            }),
        ),
        (
            "button text of 76",
            Box::new(|m| m["blocks"][2]["elements"][0]["text"]["text"] = json!("b".repeat(76))),
        ),
        (
            "unknown block",
            Box::new(|m| m["blocks"][4]["type"] = json!("banner")),
        ),
        (
            "51 blocks",
            Box::new(|m| *m = json!({"blocks": vec![json!({"type": "divider"}); 51]})),
        ),
    ];
    for (name, edit) in cases {
        let mut m = valid();
        edit(&mut m);
        let (error, details) = refused(&m);
        assert_eq!(error, "invalid_blocks", "{name}: {details}");
    }
    // The same action_id in two blocks is fine: uniqueness is per block.
    let mut m = valid();
    m["blocks"][1]["accessory"] = button("view", None);
    assert_eq!(check_message(&m), Ok(()));
}

#[test]
fn a_message_with_nothing_to_show_is_no_text() {
    assert_eq!(refused(&json!({"text": ""})).0, "no_text");
    assert_eq!(refused(&json!({"blocks": []})).0, "no_text");
}

#[test]
fn a_legacy_attachment_holds_five_actions() {
    let actions = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"type": "button", "name": format!("b{i}"), "text": "B", "value": "v"}))
            .collect()
    };
    let five = json!({"text": "t", "attachments": [{"fallback": "f", "callback_id": "c", "actions": actions(5)}]});
    assert!(check_message(&five).is_ok());
    let six = json!({"text": "t", "attachments": [{"fallback": "f", "callback_id": "c", "actions": actions(6)}]});
    let (error, detail) = refused(&six);
    assert_eq!(error, "invalid_attachments");
    assert!(detail.contains("6 actions"), "{detail}");
}
