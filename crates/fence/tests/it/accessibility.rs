//! Every page of the web UI passes axe-core's WCAG 2 A and AA checks (labels, contrast, names, structure) in a real
//! browser at 1280 and 390 pixels wide, with a screenshot of each. axe-core comes from `scripts/test`
//! (`FENCE_TEST_AXE`); it is injected through WebDriver, so the pages themselves still run no script.

use crate::browser::{add_user, Browser};
use crate::support::{seed_finding, Db, TestApp};
use serde_json::json;

fn axe_source() -> String {
    let path = std::env::var("FENCE_TEST_AXE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../test-output/tools/axe-core-4.10.3/axe.min.js"
        )
        .into()
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core at {path} ({e}): run the tests with scripts/test, which fetches it")
    })
}

impl Browser {
    /// Visits each of `pages` (`(screenshot name, path)`) at 1280 and 390 px: a screenshot, and axe-core's
    /// violations added to `failures`.
    async fn check(
        &self,
        base: &str,
        axe: &str,
        pages: &[(String, String)],
        failures: &mut Vec<String>,
    ) {
        for width in [1280, 390] {
            self.set_width(width).await;
            for (name, path) in pages {
                self.goto(&format!("{base}{path}")).await;
                self.wait_for_text("</main>").await;
                self.screenshot(&format!("{name}-{width}")).await;
                for v in self.violations(axe).await {
                    failures.push(format!("{path} at {width}px: {v:?}"));
                }
            }
        }
    }

    async fn set_width(&self, width: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": 1000})),
        )
        .await;
    }

    /// axe-core's WCAG 2 A/AA violations on the current page: `(rule, help, the first element's HTML)`.
    async fn violations(&self, axe: &str) -> Vec<(String, String, String)> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": format!("{axe}\nreturn typeof window.axe;"), "args": []})),
        )
        .await;
        let v = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": "const done = arguments[arguments.length - 1];
                    window.axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                      .then(r => done(r.violations.map(v => [v.id, v.help, (v.nodes[0] || {}).html || ''])))
                      .catch(e => done([['axe-error', String(e), '']]));", "args": []})),
            )
            .await;
        v["value"]
            .as_array()
            .unwrap_or_else(|| panic!("axe did not answer: {v}"))
            .iter()
            .map(|x| {
                let s = |i: usize| x[i].as_str().unwrap_or_default().to_string();
                (s(0), s(1), s(2))
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_the_accessibility_check_at_both_widths() {
    let axe = axe_source();
    // With Sign in with Slack configured, so the log-in page shows its button too.
    let t = TestApp::spawn_oidc(Db::Sqlite, "").await;
    add_user(&t, "ada@example.com", "correct horse battery", "admin").await;
    let (_, ch) = t
        .post(
            "/api/v1/channels",
            json!({"name": "a11y", "webhook_url": t.slack.webhook_url("a11y")}),
        )
        .await;
    let channel = ch["id"].as_str().expect("channel id").to_string();
    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let finding = f["ids"][0].as_str().expect("id").to_string();
    let (_, scan) = t
        .post(
            "/api/v1/scans",
            json!({"domain": "example.com", "external": true}),
        )
        .await;
    // The Silences page with one active and one ended silence.
    let (_, muted) = t
        .post(
            "/api/v1/silences",
            json!({"matchers": {"rule": "js/xss", "domain": "*.example.com"}, "duration": "7d", "reason": "Reviewed"}),
        )
        .await;
    t.request(
        reqwest::Method::DELETE,
        &format!(
            "/api/v1/silences/{}",
            muted["id"].as_str().unwrap_or_default()
        ),
        crate::support::ADMIN_TOKEN,
        None,
    )
    .await;
    t.post(
        "/api/v1/silences",
        json!({"matchers": {"severity": "low"}, "duration": "1d", "reason": "Triage week"}),
    )
    .await;
    let b = Browser::start().await;
    // The log-in page, then every page behind it.
    let mut pages: Vec<(String, String)> = vec![("login".into(), "/login".into())];
    let mut failures = Vec::new();
    b.goto(&format!("{}/login", t.url)).await;
    b.check(&t.url, &axe, &pages, &mut failures).await;
    b.set_width(1280).await;
    b.type_into("#email", "ada@example.com").await;
    b.type_into("#password", "correct horse battery").await;
    b.click("#login").await;
    b.wait_for_text("Dashboard").await;
    pages = [
        ("dashboard", "/dashboard".to_string()),
        ("findings", "/findings".to_string()),
        ("findings-empty", "/findings?severity=info".to_string()),
        ("finding", format!("/findings/{finding}")),
        ("scans", "/scans".to_string()),
        ("domain", "/domains/example.com".to_string()),
        ("certificate-docs", "/docs/certificates".to_string()),
        ("notifications", "/settings/notifications".to_string()),
        ("channel-new", "/settings/notifications/new".to_string()),
        ("channel-edit", format!("/settings/notifications/{channel}")),
        (
            "channel-preview",
            format!("/settings/notifications/{channel}/preview?type=vulnerability"),
        ),
        ("profile", "/settings/profile".to_string()),
        ("users", "/settings/users".to_string()),
        ("silences", "/silences".to_string()),
    ]
    .into_iter()
    .map(|(n, p)| (n.to_string(), p))
    .chain([(
        "scan".to_string(),
        format!("/scans/{}", scan["id"].as_str().expect("a scan was queued")),
    )])
    .collect();
    b.check(&t.url, &axe, &pages, &mut failures).await;
    assert!(
        failures.is_empty(),
        "accessibility violations:\n{}",
        failures.join("\n")
    );
    t.app.shutdown().await;
}
