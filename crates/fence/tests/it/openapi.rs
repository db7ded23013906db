//! The published OpenAPI document against the running server: it is served without a token, and real answers of
//! the main endpoints (successes and errors) match the schemas it declares for them, checked by a small
//! JSON-schema validator covering the keywords the document uses.

use crate::both_dbs;
use crate::support::{seed_finding, Db, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Resolves a local `$ref` (`#/components/schemas/X`).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        _ => false,
    }
}

/// The violations of `v` against `schema`, each as "at: what"; empty when it conforms.
fn violations(doc: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let s = resolve(doc, schema);
    let mut out = Vec::new();
    let mut fail = |m: String| out.push(format!("{at}: {m}"));
    match &s["type"] {
        Value::String(t) if !type_ok(t, v) => fail(format!("expected {t}, got {v}")),
        Value::Array(ts) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            fail(format!("expected one of {ts:?}, got {v}"));
        }
        _ => {}
    }
    if let Some(e) = s["enum"].as_array() {
        if !e.contains(v) {
            fail(format!("{v} is not one of {e:?}"));
        }
    }
    if let Some(n) = v.as_f64() {
        if s["minimum"].as_f64().is_some_and(|m| n < m)
            || s["maximum"].as_f64().is_some_and(|m| n > m)
        {
            fail(format!("{n} is out of range"));
        }
    }
    if let Some(text) = v.as_str() {
        if s["maxLength"]
            .as_u64()
            .is_some_and(|m| text.chars().count() as u64 > m)
        {
            fail("string too long".into());
        }
    }
    if let Some(items) = v.as_array() {
        if s["maxItems"]
            .as_u64()
            .is_some_and(|m| items.len() as u64 > m)
        {
            fail("too many items".into());
        }
        if let Some(item) = s.get("items") {
            for (i, x) in items.iter().enumerate() {
                out.extend(violations(doc, item, x, &format!("{at}[{i}]")));
            }
        }
    }
    if let Some(obj) = v.as_object() {
        for r in s["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(r) {
                out.push(format!("{at}: required `{r}` missing"));
            }
        }
        for (k, x) in obj {
            match (s["properties"].get(k), s.get("additionalProperties")) {
                (Some(p), _) => out.extend(violations(doc, p, x, &format!("{at}.{k}"))),
                (None, Some(Value::Bool(false))) => out.push(format!("{at}: unexpected `{k}`")),
                (None, Some(extra @ Value::Object(_))) => {
                    out.extend(violations(doc, extra, x, &format!("{at}.{k}")));
                }
                _ => {}
            }
        }
    }
    if let Some(alts) = s["oneOf"].as_array() {
        let ok = alts
            .iter()
            .filter(|a| violations(doc, a, v, at).is_empty())
            .count();
        if ok != 1 {
            out.push(format!("{at}: matches {ok} of oneOf"));
        }
    }
    if let Some(alts) = s["anyOf"].as_array() {
        if alts.iter().all(|a| !violations(doc, a, v, at).is_empty()) {
            out.push(format!("{at}: matches none of anyOf"));
        }
    }
    if let Some(not) = s.get("not") {
        if violations(doc, not, v, at).is_empty() {
            out.push(format!("{at}: matches a schema it must not"));
        }
    }
    out
}

/// Sends a request and asserts the answer is one the document declares for this operation, with a body that
/// matches that answer's schema. Returns the body.
async fn call(
    t: &TestApp,
    doc: &Value,
    method: Method,
    (template, path): (&str, &str),
    body: Option<Value>,
    expected: StatusCode,
) -> Value {
    let token = crate::support::ADMIN_TOKEN;
    let (status, v) = t.request(method.clone(), path, token, body).await;
    assert_eq!(status, expected, "{method} {path}: {v}");
    let op = &doc["paths"][template][method.as_str().to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {template} is not in the document");
    let answer = &op["responses"][status.as_str()];
    assert!(
        answer.is_object(),
        "{method} {template} does not declare {status}"
    );
    match answer["content"]["application/json"].get("schema") {
        Some(schema) => {
            let errs = violations(doc, schema, &v, "$");
            assert!(
                errs.is_empty(),
                "{method} {path} answered outside its schema: {errs:#?}\n{v}"
            );
        }
        None => assert!(
            v.as_str().is_some_and(str::is_empty),
            "{method} {path}: body {v}"
        ),
    }
    v
}

async fn real_answers_match_the_published_schemas(db: Db) {
    let t = TestApp::spawn(db).await;
    let resp = t
        .http
        .get(format!("{}/api/v1/openapi.json", t.url))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), StatusCode::OK, "served without a token");
    assert!(resp.headers()["content-type"]
        .to_str()
        .is_ok_and(|c| c.starts_with("application/json")));
    let doc: Value = resp.json().await.expect("document");
    assert_eq!(doc["openapi"], "3.1.0");
    let d = &doc;
    let ok = StatusCode::OK;

    let v = call(
        &t,
        d,
        Method::POST,
        ("/api/v1/findings", "/api/v1/findings"),
        Some(seed_finding()),
        StatusCode::ACCEPTED,
    )
    .await;
    let id = v["ids"][0].as_str().expect("id").to_string();
    let one = format!("/api/v1/findings/{id}");
    call(
        &t,
        d,
        Method::GET,
        (
            "/api/v1/findings",
            "/api/v1/findings?severity=critical&limit=5",
        ),
        None,
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/findings/{id}", &one),
        None,
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::POST,
        ("/api/v1/findings/{id}/snooze", &format!("{one}/snooze")),
        Some(json!({"hours": 2})),
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::POST,
        ("/api/v1/findings/{id}/resolve", &format!("{one}/resolve")),
        None,
        ok,
    )
    .await;

    let hook = t.slack.webhook_url("openapi");
    let c = call(
        &t,
        d,
        Method::POST,
        ("/api/v1/channels", "/api/v1/channels"),
        Some(json!({"name": "Sec", "webhook_url": hook, "filters": {"severities": ["critical"]}})),
        StatusCode::CREATED,
    )
    .await;
    let ch = format!("/api/v1/channels/{}", c["id"].as_str().expect("channel id"));
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/channels", "/api/v1/channels"),
        None,
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::PATCH,
        ("/api/v1/channels/{id}", &ch),
        Some(json!({"format": "attachments"})),
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::POST,
        ("/api/v1/channels/{id}/test", &format!("{ch}/test")),
        None,
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::POST,
        ("/api/v1/channels/{id}/preview", &format!("{ch}/preview")),
        Some(json!({"alert_type": "digest"})),
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/deliveries", "/api/v1/deliveries"),
        None,
        ok,
    )
    .await;

    call(
        &t,
        d,
        Method::POST,
        ("/api/v1/domains", "/api/v1/domains"),
        Some(json!({"name": "shop.example.com", "tags": ["prod"], "monitor_certificates": true})),
        StatusCode::CREATED,
    )
    .await;
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/domains/{name}", "/api/v1/domains/shop.example.com"),
        None,
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/domains", "/api/v1/domains"),
        None,
        ok,
    )
    .await;
    call(&t, d, Method::POST, ("/api/v1/certificates", "/api/v1/certificates"), Some(json!({"domain": "shop.example.com", "not_after": "2030-01-01T00:00:00Z", "fingerprint": "AB:CD"})), StatusCode::ACCEPTED).await;

    let s = call(
        &t,
        d,
        Method::POST,
        ("/api/v1/scans", "/api/v1/scans"),
        Some(json!({"domain": "shop.example.com", "type": "tls", "external": true})),
        StatusCode::ACCEPTED,
    )
    .await;
    let sc = format!("/api/v1/scans/{}", s["id"].as_str().expect("scan id"));
    call(&t, d, Method::POST, ("/api/v1/scans/{id}/results", &format!("{sc}/results")), Some(json!({"findings": [{"title": "Weak TLS", "severity": "medium"}], "status": "completed", "duration_seconds": 12})), ok).await;
    call(&t, d, Method::GET, ("/api/v1/scans/{id}", &sc), None, ok).await;
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/scans", "/api/v1/scans"),
        None,
        ok,
    )
    .await;

    call(
        &t,
        d,
        Method::PATCH,
        ("/api/v1/org", "/api/v1/org"),
        Some(json!({"triage_allow": ["U0ALICE"]})),
        ok,
    )
    .await;
    call(&t, d, Method::GET, ("/api/v1/org", "/api/v1/org"), None, ok).await;
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/audit", "/api/v1/audit"),
        None,
        ok,
    )
    .await;
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/tokens", "/api/v1/tokens"),
        None,
        ok,
    )
    .await;

    // Errors carry the declared error object, naming the field.
    let e = call(
        &t,
        d,
        Method::POST,
        ("/api/v1/findings", "/api/v1/findings"),
        Some(json!({"domain": "example.com", "title": "x", "cvss": 11})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["field"], "cvss", "{e}");
    call(
        &t,
        d,
        Method::GET,
        ("/api/v1/findings/{id}", "/api/v1/findings/nope"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    call(
        &t,
        d,
        Method::DELETE,
        ("/api/v1/channels/{id}", &ch),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    t.app.shutdown().await;
}
both_dbs!(real_answers_match_the_published_schemas);

#[test]
fn the_validator_rejects_what_the_schemas_forbid() {
    let doc = json!({"components": {"schemas": {"E": {"type": "object", "required": ["code"], "additionalProperties": false,
        "properties": {"code": {"type": "string", "enum": ["a"]}, "n": {"type": ["integer", "null"], "maximum": 10}}}}}});
    let e = json!({"$ref": "#/components/schemas/E"});
    assert!(violations(&doc, &e, &json!({"code": "a", "n": null}), "$").is_empty());
    for bad in [
        json!({"n": 1}),
        json!({"code": "b"}),
        json!({"code": "a", "n": 11}),
        json!({"code": "a", "x": 1}),
        json!({"code": "a", "n": "1"}),
    ] {
        assert!(
            !violations(&doc, &e, &bad, "$").is_empty(),
            "{bad} accepted"
        );
    }
}

/// Requests the document forbids that schemathesis found accepted: each is refused naming the field, and stores
/// nothing.
async fn requests_the_document_forbids_are_refused(db: Db) {
    let t = TestApp::spawn(db).await;
    let refused = |v: &Value, field: &str| {
        assert_eq!(v["error"]["code"], "validation_failed", "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    };
    let (s, v) = t.get("/api/v1/deliveries?limit=1001").await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a limit out of range was clamped: {v}"
    );
    refused(&v, "limit");

    let (s, v) = t.post("/api/v1/certificates", json!({"domain": "certs.example.com", "not_after": "2030-01-01T00:00:00Z", "fingerprint": "ab", "sans": ["certs.example.com", 7]})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a number among the names was dropped silently: {v}"
    );
    refused(&v, "sans[1]");
    let (_, domains) = t.get("/api/v1/domains").await;
    assert_eq!(
        domains["domains"],
        json!([]),
        "the refused certificate stored its domain"
    );

    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let (s, v) = t
        .post(
            &format!("/api/v1/findings/{id}/snooze"),
            json!({"hours": 2, "until": "forever"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown snooze field was ignored: {v}"
    );
    refused(&v, "until");
    let (_, f) = t.get(&format!("/api/v1/findings/{id}")).await;
    assert_eq!(f["status"], "open", "{f}");

    for (field, bad) in [("not_before", json!(-1.5)), ("issuer", json!([[]]))] {
        let mut cert = json!({"domain": "certs.example.com", "not_after": "2030-01-01T00:00:00Z", "fingerprint": "ab"});
        cert[field] = bad;
        let (s, v) = t.post("/api/v1/certificates", cert).await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a non-string {field} was ignored: {v}"
        );
        refused(&v, field);
    }
    t.post("/api/v1/domains", json!({"name": "keep.example.com"}))
        .await;
    let (s, v) = t
        .patch(
            "/api/v1/domains/keep.example.com",
            json!({"name": "not a host", "port": 8443}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a patch's name was ignored: {v}"
    );
    refused(&v, "name");
    let (_, d) = t.get("/api/v1/domains/keep.example.com").await;
    assert_eq!(d["port"], 443, "the refused patch changed the port: {d}");

    let (s, v) = t
        .post(
            "/api/v1/scans",
            json!({"domain": "example.com", "type": {}}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a non-string type became a full scan: {v}"
    );
    refused(&v, "type");
    let (_, scans) = t.get("/api/v1/scans").await;
    assert_eq!(scans["scans"], json!([]), "the refused scan was queued");
    let scan = t
        .post(
            "/api/v1/scans",
            json!({"domain": "example.com", "external": true}),
        )
        .await
        .1;
    let sc = format!("/api/v1/scans/{}", scan["id"].as_str().expect("scan id"));
    let (s, v) = t
        .post(
            &format!("{sc}/results"),
            json!({"status": "failed", "error": {}}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a non-string error was dropped: {v}"
    );
    refused(&v, "error");
    let (_, after) = t.get(&sc).await;
    assert_eq!(
        after["status"], scan["status"],
        "the refused results ended the scan: {after}"
    );
    t.app.shutdown().await;
}
both_dbs!(requests_the_document_forbids_are_refused);

/// Schemathesis: a domain created as `Name.With.Dot.` is stored as `name.with.dot`, and the link to it with the
/// name as it was typed must find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_is_found_by_its_name_as_it_was_typed() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let (s, d) = t
        .post("/api/v1/domains", json!({"name": "Name.With.Dot."}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    for path in ["Name.With.Dot.", "name.with.dot"] {
        let (s, got) = t.get(&format!("/api/v1/domains/{path}")).await;
        assert_eq!(s, StatusCode::OK, "{path}: {got}");
        assert_eq!(got["name"], "name.with.dot");
    }
    t.app.shutdown().await;
}

/// Schemathesis' second run: a scan report whose `status` is not a string was taken as "completed", and a renew
/// link whose host is no domain name (`https://0.com*`) was stored. Both are refused naming the field, storing
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_status_and_a_renew_link_must_be_what_the_document_says() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let id = t.external_scan().await;
    let id = id.as_str();
    let (s, e) = t
        .post(
            &format!("/api/v1/scans/{id}/results"),
            json!({"findings": [], "status": {}}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("status")),
        "{e}"
    );
    let (_, still) = t.get(&format!("/api/v1/scans/{id}")).await;
    assert_eq!(still["status"], "running", "{still}");
    for bad in [
        "https://0.com*",
        "https://user:pw@example.com/",
        "javascript:alert(1)",
        "https://exa mple.com/",
        // Schemathesis' fourth run: a `%` that starts no escape is no URI.
        "https://X:7318#%r",
    ] {
        let (s, e) = t
            .post(
                "/api/v1/domains",
                json!({"name": "renew.example", "renew_url": bad}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("renew_url")),
            "{bad}: {e}"
        );
    }
    let (s, d) = t
        .post(
            "/api/v1/domains",
            json!({"name": "renew.example", "renew_url": "https://ca.example.com/renew?id=1"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    t.app.shutdown().await;
}

/// Schemathesis' runs with channels reachable: six severities or alert types (the document allows five), a preview
/// with an unknown field or a non-string `alert_type`, and a PATCH setting `webhook_url` to null were accepted; a channel test without a name was refused by the
/// document but is what Fence takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_requests_the_document_forbids_are_refused() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let hook = t.slack.webhook_url("schema");
    let (s, e) = t
        .post(
            "/api/v1/channels",
            json!({"name": "six", "webhook_url": hook, "filters": {"severities": ["low", "low", "low", "low", "low", "low"]}}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("filters.severities")
        ),
        "{e}"
    );
    let (s, e) = t
        .post(
            "/api/v1/channels",
            json!({"name": "six", "webhook_url": hook, "alert_types": ["digest", "digest", "digest", "digest", "digest", "digest"]}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("alert_types")),
        "{e}"
    );
    let (s, c) = t
        .post(
            "/api/v1/channels",
            json!({"name": "ok", "webhook_url": hook}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().expect("id");
    let (s, e) = t
        .post(
            &format!("/api/v1/channels/{id}/preview"),
            json!({"alert_type": "digest", "surprise": 42}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = t
        .post(
            &format!("/api/v1/channels/{id}/preview"),
            json!({"alert_type": {}}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("alert_type")),
        "{e}"
    );
    let (s, e) = t
        .patch(
            &format!("/api/v1/channels/{id}"),
            json!({"webhook_url": null}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("webhook_url")),
        "{e}"
    );
    let (_, still) = t.get(&format!("/api/v1/channels/{id}")).await;
    assert!(still["webhook_url_hint"].is_string(), "{still}");
    let (s, r) = t
        .post("/api/v1/channels/test", json!({"webhook_url": hook}))
        .await;
    assert_eq!((s, r["ok"].clone()), (StatusCode::OK, json!(true)), "{r}");
    t.app.shutdown().await;
}
