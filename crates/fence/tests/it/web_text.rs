//! The pages speak people's words: times in the reader's time zone (their own, else the organization's) with the
//! exact UTC time in the `<time>` element, labels instead of identifiers, and only the triage actions a finding's
//! status allows. A time zone Fence does not know is refused beside its field and nothing is saved.

use crate::browser::{add_user, login, login_from};
use crate::support::{seed_finding, Db, TestApp};
use reqwest::StatusCode;

/// A logged-in reader of the pages over plain HTTP.
pub(crate) struct Reader {
    http: reqwest::Client,
    cookie: String,
    base: String,
}

impl Reader {
    pub(crate) async fn new(t: &TestApp, email: &str, role: &str) -> Reader {
        add_user(t, email, "correct horse battery", role).await;
        let (_, cookie) = login(t, email, "correct horse battery").await;
        Reader {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: cookie.expect("session"),
            base: t.url.clone(),
        }
    }

    pub(crate) async fn page(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.text().await.expect("body")
    }

    /// Posts `fields` to `path` with the CSRF token of the page at `form_page`.
    pub(crate) async fn post_form(
        &self,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let page = self.page(form_page).await;
        let csrf = page
            .split("name=_csrf value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("csrf field")
            .to_string();
        let mut form = vec![("_csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&form).expect("form"))
            .send()
            .await
            .expect("post");
        let status = r.status();
        (status, r.text().await.unwrap_or_default())
    }

    /// Posts the profile form with the page's CSRF token.
    async fn save_zones(&self, fields: &[(&str, &str)]) -> (StatusCode, String) {
        self.post_form("/settings/profile", "/settings/profile", fields)
            .await
    }
}

/// A page as a new viewer `email` sees it.
pub(crate) async fn page_as(t: &TestApp, email: &str, path: &str) -> String {
    Reader::new(t, email, "viewer").await.page(path).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_read_in_the_readers_zone_and_a_finding_offers_only_what_its_status_allows() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let admin = Reader::new(&t, "admin@example.com", "admin").await;
    let member = Reader::new(&t, "member@example.com", "member").await;
    let page = admin.page("/settings/profile").await;
    assert!(page.contains("the organization's (UTC)"), "{page}");

    // Refused: named beside its field, and nothing saved (not even the valid one).
    let (status, body) = admin
        .save_zones(&[
            ("timezone", "America/New_York"),
            ("org_timezone", "Mars/Olympus"),
        ])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"error-org_timezone\""), "{body}");
    assert!(
        body.contains("org_timezone: &quot;Mars&#x2f;Olympus&quot; is not a time zone"),
        "{body}"
    );
    assert!(admin
        .page("/settings/profile")
        .await
        .contains("name=timezone value=\"\""));

    let (status, _) = admin
        .save_zones(&[
            ("timezone", "America/New_York"),
            ("org_timezone", "Europe/Berlin"),
        ])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // A member cannot change the organization's zone (the field is not even shown), only their own.
    let page = member.page("/settings/profile").await;
    assert!(
        !page.contains("name=org_timezone")
            && page.contains("the organization's (Europe&#x2f;Berlin)")
    );

    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let stored = t.get(&format!("/api/v1/findings/{id}")).await.1;
    let first_seen = stored["first_seen"]
        .as_str()
        .expect("first_seen")
        .to_string();
    let mine = admin.page(&format!("/findings/{id}")).await;
    // The exact time stays in the element; the text is in the reader's zone (New York for the admin, the
    // organization's Berlin for the member).
    assert!(
        mine.contains(&format!("<time datetime=\"{first_seen}\"")),
        "{first_seen} {mine}"
    );
    assert!(
        mine.contains(" UTC\">") && (mine.contains(" EST</time>") || mine.contains(" EDT</time>")),
        "{mine}"
    );
    let theirs = member.page(&format!("/findings/{id}")).await;
    assert!(
        theirs.contains(" CET</time>") || theirs.contains(" CEST</time>"),
        "{theirs}"
    );
    // Words, not identifiers; the actions of an open finding.
    assert!(mine.contains("<th>Status</th><td>Open</td>"), "{mine}");
    assert!(
        mine.contains("<tr><th>Category</th><td>SQL Injection</td></tr>"),
        "{mine}"
    );
    for shown in ["triage-false_positive", "triage-snooze", "triage-resolve"] {
        assert!(mine.contains(shown), "{shown}");
    }
    assert!(!mine.contains("triage-reopen"));

    // Marked false positive: it says so in words, in the history too, and offers only Reopen.
    let (s, v) = t
        .post(
            &format!("/api/v1/findings/{id}/false-positive"),
            serde_json::json!({}),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let after = admin.page(&format!("/findings/{id}")).await;
    assert!(
        after.contains("<th>Status</th><td>False positive</td>"),
        "{after}"
    );
    assert!(after.contains("Marked as false positive"), "{after}");
    assert!(after.contains("triage-reopen") && !after.contains("triage-false_positive"));
    let list = admin.page("/findings?status=false_positive").await;
    assert!(list.contains("<option value=\"false_positive\" selected>False positive</option>"));
    let none = admin.page("/findings?severity=low").await;
    assert!(none.contains("No findings match these filters."), "{none}");
    t.app.shutdown().await;
}

/// View Details in Slack opens `/findings/{id}`: without a session that is the log-in page, and logging in lands on
/// the finding, not the dashboard. A `next` that points elsewhere (another site) is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_from_a_findings_link_lands_on_the_finding() {
    let t = TestApp::spawn(Db::Sqlite).await;
    add_user(&t, "carol@example.com", "correct horse battery", "viewer").await;
    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let id = f["ids"][0].as_str().expect("id").to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .get(format!("{}/findings/{id}", t.url))
        .send()
        .await
        .expect("finding");
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert_eq!(to, format!("/login?next=%2Ffindings%2F{id}"));
    for (next, lands) in [
        (format!("/findings/{id}"), format!("/findings/{id}")),
        ("//evil.example/".to_string(), "/dashboard".to_string()),
    ] {
        let l = login_from(
            &t,
            "carol@example.com",
            "correct horse battery",
            Some(&next),
        )
        .await;
        assert_eq!(l.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(l.location.as_deref(), Some(lands.as_str()), "{next}");
    }
    t.app.shutdown().await;
}

/// The findings list pages through everything, 50 at a time, newest first, keeping its filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_findings_list_pages_through_every_finding() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let findings: Vec<_> = (0..120)
        .map(|i| serde_json::json!({"domain": "example.com", "title": format!("paged {i:03}"), "severity": "high"}))
        .collect();
    let (s, _) = t
        .post(
            "/api/v1/findings",
            serde_json::json!({ "findings": findings }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let reader = Reader::new(&t, "pager@example.com", "viewer").await;
    let mut path = "/findings?severity=high".to_string();
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let html = reader.page(&path).await;
        pages += 1;
        let rows: Vec<String> = html
            .split("\">paged ")
            .skip(1)
            .filter_map(|s| s.get(..3).map(str::to_string))
            .collect();
        assert!(rows.len() <= 50, "{}", rows.len());
        for r in rows {
            assert!(seen.insert(r.clone()), "{r} shown twice");
        }
        let next = html
            .split("id=next-page href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(|n| n.replace("&#x2f;", "/").replace("&amp;", "&"));
        match next {
            Some(n) => {
                assert!(n.contains("severity=high"), "the filter is kept: {n}");
                path = n;
            }
            None => break,
        }
        assert!(pages < 10, "the pages never end");
    }
    assert_eq!((pages, seen.len()), (3, 120));
    t.app.shutdown().await;
}

/// "Most severe first" lists every critical finding, then every high one, and so on, each severity newest first,
/// across pages without a repeat or a gap, keeping the other filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_findings_list_sorts_most_severe_first_across_pages() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let severities = ["low", "critical", "medium", "high", "info"];
    // 130 findings, their severities interleaved so newest-first order is not severity order.
    let findings: Vec<_> = (0..130)
        .map(|i| {
            serde_json::json!({"domain": "example.com", "title": format!("sorted {i:03}"),
            "severity": severities[i % 5]})
        })
        .collect();
    let (s, _) = t
        .post(
            "/api/v1/findings",
            serde_json::json!({ "findings": findings }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let reader = Reader::new(&t, "sorter@example.com", "viewer").await;
    let mut path = "/findings?status=open&sort=severity".to_string();
    let mut shown: Vec<usize> = Vec::new();
    for _ in 0..10 {
        let html = reader.page(&path).await;
        assert!(
            html.contains("<option value=\"severity\" selected>Most severe first</option>"),
            "{html}"
        );
        shown.extend(
            html.split("\">sorted ")
                .skip(1)
                .filter_map(|s| s.get(..3).and_then(|n| n.parse::<usize>().ok())),
        );
        let next = html
            .split("id=next-page href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(|n| n.replace("&#x2f;", "/").replace("&amp;", "&"));
        match next {
            Some(n) => {
                assert!(
                    n.contains("status=open") && n.contains("sort=severity"),
                    "{n}"
                );
                path = n;
            }
            None => break,
        }
    }
    let rank = |i: usize| {
        ["critical", "high", "medium", "low", "info"]
            .iter()
            .position(|s| *s == severities[i % 5])
            .unwrap_or(9)
    };
    let mut expected: Vec<usize> = (0..130).collect();
    // Most severe first; within a severity, newest first (a batch's findings are stored in order, so the later
    // one is newer).
    expected.sort_by_key(|i| (rank(*i), std::cmp::Reverse(*i)));
    assert_eq!(shown, expected);
    t.app.shutdown().await;
}

/// An admin changes roles on Settings → Users; the last admin stays one; members cannot see the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_changes_roles_but_not_away_from_the_last_admin() {
    let t = TestApp::spawn(Db::Sqlite).await;
    let admin = Reader::new(&t, "boss@example.com", "admin").await;
    let member = Reader::new(&t, "dev@example.com", "member").await;
    let store = &t.app.state.store;
    let user_id = |email: &'static str| async move {
        store
            .user_by_email(email)
            .await
            .expect("user")
            .expect("exists")
            .id
    };
    let (dev, boss) = (
        user_id("dev@example.com").await,
        user_id("boss@example.com").await,
    );
    let r = member
        .http
        .get(format!("{}/settings/users", member.base))
        .header("cookie", &member.cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (s, _) = admin
        .post_form(
            "/settings/users",
            &format!("/settings/users/{dev}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let dev_row = store
        .user_by_email("dev@example.com")
        .await
        .expect("user")
        .expect("exists");
    assert_eq!(dev_row.role, fence_core::Role::Viewer);
    // The demoted member's open session reads as a viewer at once: no triage buttons any more.
    let (_, f) = t.post("/api/v1/findings", seed_finding()).await;
    let id = f["ids"][0].as_str().expect("id");
    assert!(!member
        .page(&format!("/findings/{id}"))
        .await
        .contains("triage-"));
    // The only admin cannot demote themselves.
    let (s, body) = admin
        .post_form(
            "/settings/users",
            &format!("/settings/users/{boss}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        body.contains("role: the organization&#x27;s last admin stays an admin"),
        "{body}"
    );
    assert_eq!(
        store
            .user_by_email("boss@example.com")
            .await
            .expect("user")
            .expect("exists")
            .role,
        fence_core::Role::Admin
    );
    let history = admin.page("/settings/users").await;
    assert!(
        history.contains("dev@example.com")
            && history.contains("<option value=\"viewer\" selected>")
    );
    t.app.shutdown().await;
}
