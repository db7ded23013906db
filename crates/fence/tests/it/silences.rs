//! Silences end to end: matching findings are stored, counted and marked but never alerted; the API refuses bad
//! silences naming the field; ending one lets the next matching finding alert; "Mute this rule for 30 days" from
//! Slack creates one for the finding's rule and domain; digests list the silences about to end.

use crate::slack_app::{click, connect, slack_post};
use crate::support::{Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn silence(t: &TestApp, body: Value) -> Value {
    let (s, v) = t.post("/api/v1/silences", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn texts(t: &TestApp, hook: &str) -> Vec<String> {
    t.slack
        .accepted(hook)
        .iter()
        .map(|m| m.body.to_string())
        .collect()
}

async fn silenced_findings_are_stored_and_counted_but_never_alerted(db: Db) {
    let t = TestApp::spawn(db).await;
    t.channel("hook", json!({})).await;
    let (s, d) = t
        .post(
            "/api/v1/domains",
            json!({"name": "pay.example.net", "tags": ["payments"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let by_rule = silence(
        &t,
        json!({"matchers": {"rule": "js/xss", "domain": "*.example.com"}, "duration": "1d", "reason": "Accepted: the sanitiser is reviewed"}),
    )
    .await;
    assert_eq!(by_rule["active"], true);
    assert_eq!(
        by_rule["matchers"],
        json!({"rule": "js/xss", "domain": "*.example.com"})
    );
    assert!(
        by_rule["created_by"]
            .as_str()
            .unwrap_or_default()
            .starts_with("token:"),
        "{by_rule}"
    );
    // More than a year ahead is refused; the others name their fields and store nothing.
    let (s, v) = t
        .post(
            "/api/v1/silences",
            json!({"matchers": {"tag": "payments"}, "expires_at": "2099-01-01T00:00:00Z", "reason": "r"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "expires_at", "{v}");
    let by_tag = silence(
        &t,
        json!({"matchers": {"tag": "payments", "severity": "low"}, "duration": "30d", "reason": "Handled by the payments team"}),
    )
    .await;
    for (body, field) in [
        (
            json!({"matchers": {}, "duration": "1d", "reason": "r"}),
            "matchers",
        ),
        (
            json!({"matchers": {"cve": "CVE-12"}, "duration": "1d", "reason": "r"}),
            "matchers.cve",
        ),
        (
            json!({"matchers": {"colour": "red"}, "duration": "1d", "reason": "r"}),
            "matchers.colour",
        ),
        (
            json!({"matchers": {"rule": "r"}, "duration": "1d"}),
            "reason",
        ),
        (
            json!({"matchers": {"rule": "r"}, "duration": "soon", "reason": "r"}),
            "duration",
        ),
        (
            json!({"matchers": {"rule": "r"}, "reason": "r"}),
            "expires_at",
        ),
        (
            json!({"matchers": {"rule": "r"}, "expires_at": "2000-01-01T00:00:00Z", "reason": "r"}),
            "expires_at",
        ),
    ] {
        let (s, v) = t.post("/api/v1/silences", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (_, all) = t.get("/api/v1/silences").await;
    assert_eq!(all["silences"].as_array().map(Vec::len), Some(2), "{all}");

    let (s, out) = t
        .post(
            "/api/v1/findings",
            json!({"findings": [
                {"domain": "app.example.com", "title": "Muted XSS in search", "severity": "high", "rule": "js/xss"},
                {"domain": "other.org", "title": "Loud XSS elsewhere", "severity": "high", "rule": "js/xss"},
                {"domain": "app.example.com", "title": "Loud SQL injection", "severity": "critical", "rule": "js/sqli"},
                {"domain": "pay.example.net", "title": "Muted low header", "severity": "low"},
                {"domain": "pay.example.net", "title": "Loud high header", "severity": "high"}
            ]}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{out}");
    assert_eq!(out["new"], 5, "{out}");
    assert_eq!(out["silenced"], 2, "{out}");
    let ids: Vec<String> = out["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_str().unwrap_or_default().to_string())
        .collect();

    let got = t.slack.wait_accepted("hook", 1, WAIT).await;
    let body = got[0].body.to_string();
    for loud in [
        "Loud XSS elsewhere",
        "Loud SQL injection",
        "Loud high header",
    ] {
        assert!(body.contains(loud), "{loud}: {body}");
    }
    assert!(
        !body.contains("Muted"),
        "a silenced finding was alerted: {body}"
    );

    let (_, muted) = t.get(&format!("/api/v1/findings/{}", ids[0])).await;
    assert_eq!(muted["silenced_by"]["id"], by_rule["id"], "{muted}");
    assert_eq!(
        muted["silenced_by"]["reason"],
        "Accepted: the sanitiser is reviewed"
    );
    assert_eq!(muted["rule"], "js/xss");
    assert_eq!(muted["status"], "open", "stored like any other: {muted}");
    let (_, tagged) = t.get(&format!("/api/v1/findings/{}", ids[3])).await;
    assert_eq!(tagged["silenced_by"]["id"], by_tag["id"], "{tagged}");
    let (_, loud) = t.get(&format!("/api/v1/findings/{}", ids[1])).await;
    assert_eq!(loud["silenced_by"], Value::Null, "{loud}");
    let (_, list) = t.get("/api/v1/findings?status=open").await;
    assert_eq!(list["findings"].as_array().map(Vec::len), Some(5), "{list}");

    let (_, audit) = t.get("/api/v1/audit").await;
    let entries = audit["audit"].as_array().cloned().unwrap_or_default();
    assert!(
        entries.iter().any(|e| e["action"] == "finding.silenced"
            && e["target"] == ids[0].as_str()
            && e["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(by_rule["id"].as_str().unwrap_or("?"))),
        "{audit}"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "silence.create"),
        "{audit}"
    );

    let (_, active) = t.get("/api/v1/silences?active=true").await;
    let listed = active["silences"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 2, "{active}");
    let rule_row = listed
        .iter()
        .find(|s| s["id"] == by_rule["id"])
        .expect("listed");
    assert_eq!(rule_row["matched"], 1, "{active}");

    // The dashboard counts what the silences keep quiet.
    let admin = crate::web_text::Reader::new(&t, "admin@example.com", "admin").await;
    let page = admin.page("/dashboard").await;
    assert!(
        page.contains("2 open findings are kept quiet by 2 active silences"),
        "{page}"
    );

    // Ended now: it stays listed, inactive, and the next matching finding alerts.
    let sid = by_rule["id"].as_str().expect("id");
    let (s, ended) = t
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/silences/{sid}"),
            crate::support::ADMIN_TOKEN,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ended}");
    assert_eq!(ended["active"], false, "{ended}");
    let (_, active) = t.get("/api/v1/silences?active=true").await;
    assert_eq!(
        active["silences"].as_array().map(Vec::len),
        Some(1),
        "{active}"
    );
    let (_, out) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "api.example.com", "title": "XSS after the silence", "severity": "high", "rule": "js/xss"}),
        )
        .await;
    assert_eq!(out["silenced"], 0, "{out}");
    let got = t.slack.wait_accepted("hook", 2, WAIT).await;
    assert!(got[1].body.to_string().contains("XSS after the silence"));
    // The first batch's muted finding was not announced when its silence ended.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !texts(&t, "hook")
            .iter()
            .any(|m| m.contains("Muted XSS in search")),
        "{:?}",
        texts(&t, "hook")
    );

    // The web UI: a refused silence names its input and stores nothing; a good one is listed.
    let (s, body) = admin
        .post_form(
            "/silences",
            "/silences",
            &[
                ("cve", "nope"),
                ("duration", "2d"),
                ("reason", "from the UI"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"error-cve\""), "{body}");
    let (s, body) = admin
        .post_form(
            "/silences",
            "/silences",
            &[
                ("rule", "semgrep.<b>r9</b>"),
                ("duration", "2d"),
                ("reason", "from the UI"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let page = admin.page("/silences").await;
    assert!(
        page.contains("rule=semgrep.&lt;b&gt;r9&lt;&#x2f;b&gt;") && page.contains("from the UI"),
        "{page}"
    );
    let (_, active) = t.get("/api/v1/silences?active=true").await;
    assert!(
        active["silences"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .any(|s| s["created_by"] == "user:admin@example.com"),
        "{active}"
    );

    // A digest lists the silences that end within 7 days (the UI's, in two days), not those further off.
    let digest = t
        .channel(
            "digest",
            json!({"digest": {"frequency": "daily", "time": "09:00"}}),
        )
        .await;
    let (s, preview) = t
        .post(
            &format!("/api/v1/channels/{digest}/digest/preview"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    let text = preview.to_string();
    assert!(
        text.contains("Silences Ending") && text.contains("from the UI"),
        "{text}"
    );
    assert!(
        !text.contains("Handled by the payments team"),
        "ends in 30 days: {text}"
    );
    assert!(text.contains("(2 silenced)"), "{text}");
    t.app.shutdown().await;
}
crate::both_dbs!(silenced_findings_are_stored_and_counted_but_never_alerted);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_this_rule_from_slack_silences_its_rule_on_its_domain() {
    let t = TestApp::spawn(Db::Sqlite).await;
    connect(&t, "T0ACME").await;
    crate::slack_app::checkable(&t).await;
    t.channel("sec", json!({})).await;
    let (_, f) = t
        .post(
            "/api/v1/findings",
            json!({"domain": "shop.example.com", "title": "Exposed admin panel", "severity": "high", "rule": "nuclei/exposed-panel"}),
        )
        .await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let got = t.slack.wait_accepted("sec", 1, WAIT).await;
    let elements = got[0].body["attachments"][0]["blocks"][2]["elements"]
        .as_array()
        .cloned()
        .expect("buttons");
    let menu = elements
        .iter()
        .find(|e| e["type"] == "overflow")
        .expect("the alert's overflow menu");
    assert_eq!(
        menu["options"][0]["text"]["text"],
        "Mute this rule for 30 days"
    );
    let value = menu["options"][0]["value"].as_str().expect("value");

    let url = t.slack.response_url("mute");
    let body = click(
        "T0ACME",
        "U0ALICE",
        "finding_more",
        "fence_finding",
        value,
        &url,
    );
    // An overflow click carries the chosen option, not a value.
    let payload: Value = serde_json::from_str(
        &serde_urlencoded::from_str::<Vec<(String, String)>>(&body).expect("form")[0].1,
    )
    .expect("payload");
    let mut payload = payload;
    payload["actions"][0] = json!({"type": "overflow", "action_id": "finding_more", "block_id": "fence_finding",
        "selected_option": {"text": {"type": "plain_text", "text": "Mute this rule for 30 days"}, "value": value}});
    let form = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
    let (s, _) = slack_post(&t, "/api/slack/interactions", &form, None).await;
    assert_eq!(s, StatusCode::OK);
    let answers = t.slack.wait_responses("mute", 2, WAIT).await;
    let all = serde_json::to_string(&answers).unwrap_or_default();
    assert!(
        answers.iter().any(|a| a["response_type"] == "ephemeral"
            && a["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Muted for 30 days (rule=nuclei/exposed-panel")
            && a["text"]
                .as_str()
                .unwrap_or_default()
                .contains("shop.example.com")),
        "{all}"
    );
    assert!(all.contains("muted for 30 days by <@U0ALICE>"), "{all}");

    let (_, active) = t.get("/api/v1/silences?active=true").await;
    let s0 = &active["silences"][0];
    assert_eq!(
        s0["matchers"],
        json!({"rule": "nuclei/exposed-panel", "domain": "shop.example.com"}),
        "{active}"
    );
    assert_eq!(s0["created_by"], "slack:U0ALICE", "{active}");
    // The same rule on the same domain again (another finding) is kept quiet; on another domain it alerts.
    let (_, out) = t
        .post(
            "/api/v1/findings",
            json!({"findings": [
                {"domain": "shop.example.com", "title": "Exposed admin panel on /manage", "severity": "high", "rule": "nuclei/exposed-panel"},
                {"domain": "blog.example.com", "title": "Exposed admin panel on the blog", "severity": "high", "rule": "nuclei/exposed-panel"}
            ]}),
        )
        .await;
    assert_eq!(out["silenced"], 1, "{out}");
    let got = t.slack.wait_accepted("sec", 2, WAIT).await;
    let second = got[1].body.to_string();
    assert!(
        second.contains("on the blog") && !second.contains("/manage"),
        "{second}"
    );
    let (_, audit) = t.get("/api/v1/audit").await;
    assert!(
        audit["audit"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .any(|e| e["action"] == "silence.create" && e["actor"] == "slack:U0ALICE"),
        "{audit}"
    );
    let _ = id;
    t.app.shutdown().await;
}
