//! Custom templates judged by Slack's rules: Fence's checker refuses what the strict fake (Slack's reading,
//! SLACK.md §7) refuses, the seed's template makes a valid message for every alert type, a template Slack would
//! refuse for one alert type is refused at save naming the type and the rule, and bursts are templated only by
//! templates that say how (`alert_type == "coalesced"`).

use crate::support::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// The seed's custom payload, verbatim.
const SEED_TEMPLATE: &str = "{\n\"text\": \"Security Alert for {{ domain }}\",\n\"blocks\": [\n{\n\"type\": \"header\",\n\"text\": {\"type\": \"plain_text\", \"text\": \"{{ title }}\"}\n},\n{\n\"type\": \"section\",\n\"text\": {\"type\": \"mrkdwn\", \"text\": \"*CVSS:* {{ cvss_score }}\\n*CVE:* {{ cve_id }}\"}\n}\n]\n}";

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": text}})
}

fn button(action_id: &str, url: Option<&str>) -> Value {
    let mut b = json!({"type": "button", "text": {"type": "plain_text", "text": "Open"}, "action_id": action_id});
    if let Some(u) = url {
        b["url"] = json!(u);
    }
    b
}

fn option(value: &str) -> Value {
    json!({"text": {"type": "plain_text", "text": "Snooze"}, "value": value})
}

/// Messages Slack refuses with `invalid_blocks` or `no_text` (SLACK.md §1, §6, §7), one rule each.
fn refused_by_slack() -> Vec<(&'static str, Value)> {
    let actions = |els: Vec<Value>| json!({"type": "actions", "elements": els});
    let overflow = |n: usize, value: &str| {
        json!({"type": "section", "text": {"type": "mrkdwn", "text": "x"},
               "accessory": {"type": "overflow", "action_id": "more", "options": vec![option(value); n]}})
    };
    vec![
        ("empty header", json!({"text": "x", "blocks": [header("")]})),
        (
            "long header",
            json!({"text": "x", "blocks": [header(&"h".repeat(151))]}),
        ),
        (
            "empty section text",
            json!({"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]}),
        ),
        (
            "long section text",
            json!({"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s".repeat(3001)}}]}),
        ),
        (
            "eleven fields",
            json!({"text": "x", "blocks": [{"type": "section", "fields": vec![json!({"type": "mrkdwn", "text": "f"}); 11]}]}),
        ),
        (
            "section without text",
            json!({"text": "x", "blocks": [{"type": "section"}]}),
        ),
        (
            "duplicate action_id",
            json!({"text": "x", "blocks": [actions(vec![button("a", None), button("a", None)])]}),
        ),
        (
            "duplicate block_id",
            json!({"text": "x", "blocks": [
            {"type": "divider", "block_id": "b1"}, {"type": "divider", "block_id": "b1"}]}),
        ),
        (
            "button url not http",
            json!({"text": "x", "blocks": [actions(vec![button("a", Some("javascript:alert(1)"))])]}),
        ),
        (
            "button url too long",
            json!({"text": "x", "blocks": [actions(vec![button("a", Some(&format!("https://e.com/{}", "p".repeat(3000))))])]}),
        ),
        (
            "six overflow options",
            json!({"text": "x", "blocks": [overflow(6, "v")]}),
        ),
        (
            "overflow value over 150",
            json!({"text": "x", "blocks": [overflow(2, &"v".repeat(151))]}),
        ),
        (
            "empty actions",
            json!({"text": "x", "blocks": [actions(vec![])]}),
        ),
        (
            "unknown block",
            json!({"text": "x", "blocks": [{"type": "marquee"}]}),
        ),
        ("empty message", json!({"text": ""})),
        (
            "fifty-one blocks",
            json!({"text": "x", "blocks": vec![json!({"type": "divider"}); 51]}),
        ),
        (
            "plain header as mrkdwn",
            json!({"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]}),
        ),
        (
            "bad button style",
            json!({"text": "x", "blocks": [actions(vec![{
            let mut b = button("a", None); b["style"] = json!("loud"); b }])]}),
        ),
    ]
}

/// Fence validates templates and its own messages with its checker; wherever it lets through what Slack refuses,
/// the alert would reach Slack only as plain text. Each rule Slack applies is applied by Fence too, and messages
/// Slack takes are taken by both.
#[test]
fn fences_checker_refuses_every_message_slack_refuses() {
    for (rule, msg) in refused_by_slack() {
        assert!(
            fence_testkit::blockkit::check_message(&msg).is_err(),
            "the fake takes {rule}"
        );
        assert!(
            fence_slack::limits::check_message(&msg).is_err(),
            "Fence's checker takes {rule}: {msg}"
        );
    }
    let fine = [
        json!({"text": "x", "blocks": [header("h"), {"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "b"}]}),
        json!({"text": "x", "blocks": [{"type": "actions", "elements": [button("a", Some("https://fence.test/f/1")), button("b", None)]},
                                       {"type": "actions", "elements": [button("a", None)]}]}),
        json!({"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"},
               "accessory": {"type": "overflow", "action_id": "more", "options": vec![option(&"v".repeat(150)); 5]}}]}),
    ];
    for msg in fine {
        assert_eq!(
            fence_testkit::blockkit::check_message(&msg),
            Ok(()),
            "{msg}"
        );
        assert_eq!(fence_slack::limits::check_message(&msg), Ok(()), "{msg}");
    }
}

/// The seed's template saved for every alert type a channel can receive: each preview is a message Slack accepts,
/// with a header that says what the alert is about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_template_makes_a_valid_message_for_every_alert_type() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let id = t
        .channel(
            "all",
            json!({"template": SEED_TEMPLATE,
                   "alert_types": ["vulnerability", "certificate_expiring", "scan_completed", "digest"],
                   "digest": {"frequency": "daily", "time": "09:00", "timezone": "UTC"}}),
        )
        .await;
    let want = [
        ("vulnerability", "SQL Injection in login form"),
        (
            "certificate_expiring",
            "SSL certificate expiring: example.com",
        ),
        ("scan_completed", "Scan completed: example.com"),
        ("digest", "Daily security digest"),
    ];
    for (alert_type, title) in want {
        let (s, p) = t
            .post(
                &format!("/api/v1/channels/{id}/preview"),
                json!({"alert_type": alert_type}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{alert_type}: {p}");
        assert_eq!(p["template"], true, "{alert_type}");
        assert_eq!(
            fence_testkit::blockkit::check_message(&p["message"]),
            Ok(()),
            "{alert_type}"
        );
        assert_eq!(
            p["message"]["blocks"][0]["text"]["text"], title,
            "{alert_type}"
        );
    }
    t.app.shutdown().await;
}

/// A template that is fine for findings but renders an empty header for certificate alerts (which have no CVE) is
/// refused when the channel receives both, naming the alert type and Slack's rule; for findings alone it is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_slack_would_refuse_for_one_alert_type_is_refused_naming_it() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let template = r#"{"text": "{{ domain }}", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "{{ cve_id }}"}}]}"#;
    let body = |types: Value| json!({"name": "cve", "webhook_url": t.slack.webhook_url("cve"), "template": template, "alert_types": types});
    let (s, e) = t
        .post(
            "/api/v1/channels",
            body(json!(["vulnerability", "certificate_expiring"])),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "template");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("certificate_expiring alerts")
            && message.contains("blocks[0].text must have 1–150 characters"),
        "{message}"
    );
    let dup = r#"{"text": "x", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "A"}, "action_id": "go", "url": "{{ finding_url }}"},
        {"type": "button", "text": {"type": "plain_text", "text": "B"}, "action_id": "go", "url": "{{ finding_url }}"}]}]}"#;
    let (s, e) = t
        .post(
            "/api/v1/channels",
            json!({"name": "dup", "webhook_url": t.slack.webhook_url("dup"), "template": dup}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("action_id \\\"go\\\" is used twice in the block")
            || e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("action_id \"go\" is used twice in the block"),
        "{e}"
    );
    let (s, c) = t
        .post("/api/v1/channels", body(json!(["vulnerability"])))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    t.app.shutdown().await;
}

/// How many findings messages account for: "N findings," or "N new vulnerabilities" for a burst, one otherwise.
fn counted(msgs: &[fence_testkit::Received]) -> usize {
    msgs.iter()
        .map(|m| {
            let text = m.body["text"].as_str().unwrap_or_default();
            let lead = |marker: &str| {
                text.split(marker)
                    .next()
                    .filter(|_| text.contains(marker))
                    .and_then(|h| h.split_whitespace().last()?.parse::<usize>().ok())
            };
            lead(" findings,")
                .or_else(|| lead(" new vulnerabilities"))
                .unwrap_or(1)
        })
        .sum()
}

/// Five findings at once, so the dispatcher's first batch holds several.
async fn burst(t: &TestApp) {
    let findings: Vec<Value> = (0..5)
        .map(|i| {
            json!({"domain": "example.com", "title": format!("Finding {i}"),
                        "severity": if i == 3 { "critical" } else { "medium" }})
        })
        .collect();
    let (s, _) = t
        .post("/api/v1/findings", json!({"findings": findings}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
}

/// A template that names `coalesced` renders bursts with their `alerts` (worst first) and `counts`; the seed's
/// template, written for one finding, leaves bursts to Fence's coalesced message instead of showing a burst as if
/// it were one finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_are_templated_only_by_templates_that_handle_them() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let burst_template = r#"{% if alert_type == "coalesced" %}{"text": "{{ counts.total }} findings, {{ counts.critical }} critical, worst: {{ alerts[0].title }}"}{% else %}{"text": "one: {{ title }}"}{% endif %}"#;
    t.channel("bursts", json!({"template": burst_template}))
        .await;
    t.channel("seed", json!({"template": SEED_TEMPLATE})).await;
    burst(&t).await;
    let got = t
        .slack
        .wait_until("bursts", WAIT, |m| counted(m) >= 5)
        .await;
    assert_eq!(counted(&got), 5);
    let texts: Vec<String> = got.iter().map(|m| m.all_text()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("findings,") && t.contains("worst: Finding 3")),
        "a templated burst, worst first: {texts:?}"
    );
    let seed = t.slack.wait_until("seed", WAIT, |m| counted(m) >= 5).await;
    assert_eq!(counted(&seed), 5);
    assert!(
        seed.iter()
            .any(|m| m.all_text().contains("new vulnerabilities")),
        "the burst is Fence's coalesced message"
    );
    for m in &seed {
        let text = m.all_text();
        assert!(
            text.starts_with("Security Alert for") || text.contains("new vulnerabilities"),
            "single alerts from the template, bursts from Fence: {text}"
        );
    }
    t.app.shutdown().await;
}

/// The review's attack: a template that doubles a 50 MB string three times answered 201 after 5.4 s with the server
/// at 1.1 GB. Its syntax shows how large it can grow, so it is refused at once, naming the template and the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_builds_huge_strings_is_refused_before_it_runs() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let bombs = [
        r#"{% set a="x"*50000000 %}{% set b=a~a %}{% set c=b~b %}{% set d=c~c %}{"text": "{{ d|length }}"}"#,
        r#"{% set a=title~title %}{% set b=a~a %}{% set c=b~b %}{% set d=c~c %}{% set e=d~d %}{% set f=e~e %}{% set g=f~f %}{% set h=g~g %}{% set i=h~h %}{% set j=i~i %}{% set k=j~j %}{"text": "{{ k|length }}"}"#,
        r#"{"text": "{{ title|replace("", title)|replace("", title)|replace("", title) }}"}"#,
        r#"{% macro m(x) %}{{ m(x ~ x) }}{% endmacro %}{"text": "{{ m(title) }}"}"#,
    ];
    for bomb in bombs {
        let (s, e) = t
            .post(
                "/api/v1/channels",
                json!({"name": "bomb", "webhook_url": t.slack.webhook_url("bomb"), "template": bomb}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bomb}: {e}");
        assert_eq!(e["error"]["field"], "template", "{e}");
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("bytes") || message.contains("`macro`"),
            "{message}"
        );
    }
    let (_, list) = t.get("/api/v1/channels").await;
    assert!(
        list.to_string().find("bomb").is_none(),
        "nothing stored: {list}"
    );
    t.app.shutdown().await;
}

/// A plan without templates is refused before the template is looked at — on save and on Test Integration (which
/// used to send a templated test message whatever the plan).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_is_checked_before_any_template_runs() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let startup = t.other_org("small", "startup", &["admin"]).await;
    for path in ["/api/v1/channels", "/api/v1/channels/test"] {
        let (s, e) = t
            .request(
                reqwest::Method::POST,
                path,
                &startup,
                Some(json!({"name": "c", "webhook_url": t.slack.webhook_url("small"), "template": "{{ broken"})),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].clone()),
            (StatusCode::FORBIDDEN, json!("plan_limit")),
            "{path}: {e}"
        );
    }
    assert!(t.slack.requests("small").is_empty(), "no test was sent");
    t.app.shutdown().await;
}

/// A template that is small on the sample data but grows with a real finding's text (each character of the title
/// replaced by the title) is refused for that finding at send time: the finding still arrives, as Fence's default
/// message, and the channel says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_would_explode_on_real_data_sends_the_default_message() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let template = r#"{"text": "{{ title|replace("", title) }}"}"#;
    let id = t
        .channel(
            "grows",
            json!({"template": template, "alert_types": ["vulnerability"]}),
        )
        .await;
    let title = format!("Long {}", "a".repeat(490));
    t.post(
        "/api/v1/findings",
        json!({"domain": "example.com", "title": title, "severity": "high"}),
    )
    .await;
    let got = t.slack.wait_accepted("grows", 1, WAIT).await;
    assert!(got[0].all_text().contains("Long aaaa"), "{:?}", got[0].body);
    assert!(got[0].body.to_string().len() < 20_000);
    let (_, c) = t.get(&format!("/api/v1/channels/{id}")).await;
    let warning = c["status"]["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("bytes"), "{c}");
    t.app.shutdown().await;
}

/// A template that took the process down while rendering (seen as renders begun and never finished) would crash
/// every restart on the same delivery. After two such renders the alert goes out as Fence's default message and
/// the channel says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_template_never_finished_twice_is_sent_without_it() {
    let r = crate::pacing::Rig::new(crate::pacing::T0).await;
    r.channel(
        "crashy",
        json!({"template": r#"{"text": "templated {{ title }}"}"#, "alert_types": ["vulnerability"]}),
    )
    .await;
    r.finding("Exposed admin panel", "high").await;
    // Two earlier processes began rendering this delivery and died before finishing.
    sqlx::query("UPDATE deliveries SET template_renders = 2")
        .execute(r.app.state.store.pool())
        .await
        .expect("update");
    assert_eq!(r.at(0).await, 1);
    let got = r.slack.wait_accepted("crashy", 1, WAIT).await;
    let text = got[0].all_text();
    assert!(
        !text.contains("templated") && text.contains("Exposed admin panel"),
        "{text}"
    );
    let channels = r.get("/api/v1/channels").await;
    assert!(
        channels.to_string().contains("stopped Fence twice"),
        "{channels}"
    );
    // A template that renders normally is used: the next alert of the channel is templated again.
    r.finding("Second finding", "high").await;
    assert_eq!(r.at(5_000).await, 1);
    let got = r.slack.wait_accepted("crashy", 2, WAIT).await;
    assert!(
        got[1].all_text().contains("templated Second finding"),
        "{:?}",
        got[1].body
    );
}
