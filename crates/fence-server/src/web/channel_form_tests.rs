//! The channel form round-trips: a channel object with every field set, shown in the rendered form, submitted as a
//! browser would submit it, comes back as the same channel object; and every input the form shows changes what is
//! saved.

use super::*;
use crate::web::page::testing::session;
use crate::web::settings::FormPage;
use fence_core::Plan;

fn full_channel() -> Value {
    json!({
        "type": "slack",
        "name": "Security <Alerts> & \"Co\"",
        "webhook_url": "https://hooks.slack.com/services/T0/B0/secret'/x",
        "channel": "#security-alerts",
        "channel_id": "C0123456789",
        "alert_types": ["vulnerability", "certificate_expiring", "digest"],
        "filters": {
            "severities": ["critical", "high"],
            "domains": ["example.com", "*.example.org"],
            "categories": ["sql_injection", "xss"],
            "tags": ["payments", "pci"], "known_exploited": true, "min_epss": 0.5,
            "schedule": {"days": ["mon", "wed", "fri"], "start": "08:30", "end": "17:45", "timezone": "Europe/Berlin"}
        },
        "mentions": {
            "critical": ["<!here>", "<@U0123ABC>"],
            "high": ["@security-team"],
            "medium": ["<!subteam^S0123>"],
            "low": ["@alice"],
            "info": ["@bob", "@carol"],
            "vulnerability": ["#triage"],
            "certificate_expiring": ["@ops"],
            "scan_completed": ["<!channel>"],
            "digest": ["@lead"],
            "reminder": ["@oncall"],
            "known_exploited": ["@vuln-mgmt"]
        },
        "digest": {"frequency": "weekly", "time": "10:15", "weekday": "tue", "timezone": "Europe/Paris"},
        "reminders": {"every": "12h", "severities": ["critical", "medium"]},
        "escalation": {"after": "30m", "severities": ["critical"], "mentions": ["<!subteam^S0SEC>", "@oncall"]},
        "format": "attachments",
        "detail": "minimal",
        "template": "{\"text\": \"{{ title }} <b>&</b>\"}\n",
        "identity": {"username": "Acme <Security>", "icon_url": "https://example.com/icon.png?a=1&b=2", "icon_emoji": ":shield:"}
    })
}

/// The channel with each digest frequency (each uses a different input).
fn variants() -> Vec<Value> {
    let digests = [
        json!({"frequency": "weekly", "time": "10:15", "weekday": "tue", "timezone": "Europe/Paris"}),
        json!({"frequency": "monthly", "time": "07:00", "day": 15, "timezone": "UTC"}),
        json!({"frequency": "cron", "time": "09:00", "cron": "0 9 * * 1-5", "timezone": "America/New_York"}),
        json!({"frequency": "daily", "time": "06:00", "timezone": "Asia/Tokyo"}),
    ];
    digests
        .into_iter()
        .map(|d| {
            let mut c = full_channel();
            c["digest"] = d;
            c
        })
        .collect()
}

/// The form page for a channel on the custom plan, which shows every input.
fn rendered(c: &Value) -> String {
    let form = ChannelForm::from_channel_json(c);
    FormPage::new(&form, Plan::Custom, None)
        .render("Edit", &session())
        .0
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// A tag's attributes (`name=value`, `name="value"` or a bare `name`), values unescaped.
fn attributes(tag: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start();
    while !rest.is_empty() {
        let end = rest.find(['=', ' ']).unwrap_or(rest.len());
        let name = rest[..end].to_string();
        rest = &rest[end..];
        if let Some(v) = rest.strip_prefix('=') {
            let (value, after) = match v.strip_prefix('"') {
                Some(q) => q.split_once('"').expect("closing quote"),
                None => v.split_once(' ').unwrap_or((v, "")),
            };
            out.push((name, Some(unescape(value))));
            rest = after;
        } else {
            out.push((name, None));
        }
        rest = rest.trim_start();
    }
    out
}

fn attr(attrs: &[(String, Option<String>)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone().unwrap_or_default())
}

/// One input of the rendered form: its name, what a browser submits for it, and for selects the other choices.
#[derive(Debug, Clone)]
struct Input {
    name: String,
    value: String,
    checkbox: bool,
    options: Vec<String>,
}

/// The inputs of `#channel-form` as a browser submits them: text and hidden inputs, checked checkboxes, textareas
/// and each select's selected option.
fn inputs(html: &str) -> Vec<Input> {
    let start = html.find("id=channel-form>").expect("the form");
    let form = &html[start..start + html[start..].find("</form>").expect("form end")];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let (tag, after) = rest.split_once('>').expect("tag end");
        let (kind, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        let attrs = attributes(attrs);
        let name = attr(&attrs, "name").unwrap_or_default();
        match kind {
            "input" => {
                let checkbox = attr(&attrs, "type").as_deref() == Some("checkbox");
                if !checkbox || attr(&attrs, "checked").is_some() {
                    let value = attr(&attrs, "value").unwrap_or_default();
                    out.push(Input {
                        name,
                        value,
                        checkbox,
                        options: vec![],
                    });
                }
            }
            "textarea" => {
                let value = unescape(&after[..after.find("</textarea>").expect("textarea end")]);
                out.push(Input {
                    name,
                    value,
                    checkbox: false,
                    options: vec![],
                });
            }
            "select" => {
                let body = &after[..after.find("</select>").expect("select end")];
                let options: Vec<(String, bool)> = body
                    .split("<option ")
                    .skip(1)
                    .map(|o| {
                        let a = attributes(o.split_once('>').expect("option").0);
                        (
                            attr(&a, "value").unwrap_or_default(),
                            attr(&a, "selected").is_some(),
                        )
                    })
                    .collect();
                let value = options
                    .iter()
                    .find(|(_, selected)| *selected)
                    .or(options.first())
                    .map(|(v, _)| v.clone())
                    .unwrap_or_default();
                let options = options.into_iter().map(|(v, _)| v).collect();
                out.push(Input {
                    name,
                    value,
                    checkbox: false,
                    options,
                });
            }
            _ => {}
        }
        rest = after;
    }
    out
}

fn pairs(inputs: &[Input]) -> Vec<(String, String)> {
    inputs
        .iter()
        .map(|i| (i.name.clone(), i.value.clone()))
        .chain([("action".to_string(), "save".to_string())])
        .collect()
}

fn saved(inputs: &[Input]) -> Value {
    ChannelForm::from_submitted(&pairs(inputs)).to_channel_json()
}

#[test]
fn a_channel_shown_in_the_form_and_submitted_comes_back_unchanged() {
    for c in variants() {
        let form = ChannelForm::from_channel_json(&c);
        assert_eq!(form.to_channel_json(), c, "form values → channel object");
        let inputs = inputs(&rendered(&c));
        assert_eq!(
            ChannelForm::from_submitted(&pairs(&inputs)),
            form,
            "rendered form → submitted form values"
        );
        assert_eq!(
            saved(&inputs),
            c,
            "rendered form → submitted → channel object"
        );
    }
}

#[test]
fn every_input_the_form_shows_is_saved() {
    let not_channel_fields = ["_csrf", "id"];
    let mut matter = std::collections::BTreeSet::new();
    let mut shown = std::collections::BTreeSet::new();
    for c in variants() {
        let inputs = inputs(&rendered(&c));
        let before = saved(&inputs);
        for (i, input) in inputs.iter().enumerate() {
            shown.insert(input.name.clone());
            let mut changed = inputs.clone();
            if input.checkbox {
                changed.remove(i);
            } else if let Some(other) = input.options.iter().find(|o| **o != input.value) {
                changed[i].value = other.clone();
            } else {
                changed[i].value.push('9');
            }
            if saved(&changed) != before {
                matter.insert(input.name.clone());
            }
        }
    }
    let ignored: Vec<&String> = shown
        .iter()
        .filter(|n| !matter.contains(*n) && !not_channel_fields.contains(&n.as_str()))
        .collect();
    assert!(ignored.is_empty(), "shown but never saved: {ignored:?}");
    for name in [
        "identity_icon_emoji",
        "mention_vulnerability",
        "bot_token",
        "digest_day",
        "digest_cron",
    ] {
        assert!(shown.contains(name), "{name} is an input of the form");
    }
}

#[test]
fn the_form_escapes_what_it_shows() {
    let html = rendered(&full_channel());
    assert!(
        html.contains("value=\"Security &lt;Alerts&gt; &amp; &quot;Co&quot;\""),
        "{html}"
    );
    assert!(!html.contains("<Alerts>") && !html.contains("<Security>"));
}

#[test]
fn errors_point_at_their_input() {
    assert_eq!(
        crate::web::settings::input_of("filters.schedule.start"),
        "schedule"
    );
    assert_eq!(
        crate::web::settings::input_of("filters.severities[0]"),
        "severities"
    );
    assert_eq!(
        crate::web::settings::input_of("mentions.critical[0]"),
        "mention_critical"
    );
    assert_eq!(
        crate::web::settings::input_of("identity.icon_emoji"),
        "identity"
    );
    assert_eq!(crate::web::settings::input_of("digest.day"), "digest");
}

#[test]
fn the_form_shows_each_resolved_name_with_its_id() {
    let mut c = full_channel();
    c["mentions"] =
        json!({"critical": ["@security-team", "<!here>"], "high": ["alice@example.com"]});
    c["resolved_labels"] = json!({"@security-team": "user group @security-team (S0SECTEAM)",
                                  "alice@example.com": "user @alice (U0ALICE)"});
    let html = rendered(&c);
    assert!(
        html.contains("@security-team → user group @security-team (S0SECTEAM)"),
        "{html}"
    );
    assert!(html.contains("alice@example.com → user @alice (U0ALICE)"));
}
