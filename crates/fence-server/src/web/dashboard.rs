//! The dashboard (open findings by severity, certificates expiring), a domain's page and the certificate renewal
//! help.

use super::page::{page, Static};
use super::Session;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use fence_core::{FindingStatus, Severity};
use serde::Serialize;

/// A domain's certificate as last observed.
#[derive(Serialize)]
struct CertificateView {
    issuer: String,
    expires: Option<super::when::When>,
    days_left: i64,
    names: Vec<String>,
    fingerprint: String,
}

#[derive(Serialize)]
struct DomainPage<'a> {
    name: &'a str,
    certificate: Option<CertificateView>,
}

pub async fn domain(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let now = state.clock.now_ms();
    let certificate = state
        .store
        .certificate(&session.user.org_id, &name)
        .await
        .ok()
        .map(|c| CertificateView {
            expires: session.when(c.not_after),
            days_left: fence_core::certificate::days_left(c.not_after, now),
            issuer: c.issuer,
            names: c.sans,
            fingerprint: c.fingerprint,
        });
    let ctx = DomainPage {
        name: &name,
        certificate,
    };
    page("web/domain.html", &name, &session, ctx).into_response()
}

pub async fn certificate_docs(session: Session) -> Response {
    page(
        "web/certificate_docs.html",
        "Renewing a certificate",
        &session,
        Static {},
    )
    .into_response()
}

/// Open findings of one severity.
#[derive(Serialize)]
struct OpenCount {
    severity: &'static str,
    count: usize,
}

/// A certificate that expires soon.
#[derive(Serialize)]
struct Expiring {
    domain: String,
    days_left: i64,
}

#[derive(Serialize)]
struct Dashboard {
    open: Vec<OpenCount>,
    expiring: Vec<Expiring>,
    /// New and closed per day, and the mean times, over the last 30 or 90 days; none when unreadable.
    trend: Option<super::trend::Trend>,
    /// Deliveries and channels; none when unreadable.
    health: Option<Health>,
    /// The domains with the most open findings (counted once a minute), and when they were counted.
    domains: Vec<AffectedDomain>,
    domains_counted: Option<super::when::When>,
    /// Open findings an active silence keeps quiet (counted above too), and the active silences.
    silenced: i64,
    silences: usize,
}

#[derive(Serialize)]
struct AffectedDomain {
    domain: String,
    open: i64,
    /// Its open findings in the list.
    url: String,
}

impl AffectedDomain {
    fn new(domain: String, open: i64) -> Self {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("domain", &domain)
            .append_pair("status", "open")
            .finish();
        AffectedDomain {
            url: format!("/findings?{q}"),
            domain,
            open,
        }
    }
}

/// Delivery health: messages per hour over the last day, 429s and failed attempts, what waits or died, and the
/// channels' states.
#[derive(Serialize)]
struct Health {
    sent: super::trend::Sparkline,
    /// 429 answers and failed attempts in the last 24 hours.
    rate_limited: i64,
    failed: i64,
    waiting: i64,
    retried: i64,
    dead: i64,
    healthy: usize,
    degraded: usize,
    broken: usize,
}

async fn health(state: &AppState, org: &str, now: i64) -> Option<Health> {
    let d = state.store.delivery_health(org, now).await.ok()?;
    let channels = state.store.list_channels(org).await.ok()?;
    let count = |s: fence_core::ChannelState| channels.iter().filter(|c| c.state == s).count();
    Some(Health {
        sent: super::trend::sparkline(&d.sent_per_hour),
        rate_limited: d.rate_limited,
        failed: d.failed,
        waiting: d.waiting,
        retried: d.retried,
        dead: d.dead,
        healthy: channels.len()
            - count(fence_core::ChannelState::Degraded)
            - count(fence_core::ChannelState::Broken),
        degraded: count(fence_core::ChannelState::Degraded),
        broken: count(fence_core::ChannelState::Broken),
    })
}

/// The trend's periods, in days: `?days=90` asks for the longer one.
const PERIODS: [i64; 2] = [30, 90];

pub async fn dashboard(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let org = &session.user.org_id;
    // Kept counts (a few hundred rows to sum at most), not a count of the findings themselves.
    let counts = state.store.finding_counts(org).await.unwrap_or_default();
    let open = Severity::ALL
        .iter()
        .map(|sev| OpenCount {
            severity: sev.as_str(),
            count: counts
                .iter()
                .filter(|c| c.severity == sev.as_str() && c.status == FindingStatus::Open.as_str())
                .map(|c| usize::try_from(c.n).unwrap_or(0))
                .sum(),
        })
        .collect();
    let now = state.clock.now_ms();
    let expiring = state
        .store
        .expiring_certificates(org, now + 30 * 86_400_000)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| Expiring {
            days_left: fence_core::certificate::days_left(c.not_after, now),
            domain: c.domain,
        })
        .collect();
    let days = q
        .get("days")
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(PERIODS[0]);
    let today = now.div_euclid(fence_store::days::DAY_MS);
    let trend = state
        .store
        .finding_days(org, today - (days - 1), today)
        .await
        .ok()
        .map(|d| super::trend::trend(&d));
    let top = state.store.top_domains(org).await.unwrap_or_default();
    let silenced = state.store.count_silenced_open(org, now).await.unwrap_or(0);
    let silences = state
        .store
        .list_silences(org, Some(now), 500)
        .await
        .map_or(0, |s| s.len());
    let ctx = Dashboard {
        silenced,
        silences,
        open,
        expiring,
        trend,
        health: health(&state, org, now).await,
        domains_counted: top.first().and_then(|d| session.when(d.counted_at)),
        domains: top
            .into_iter()
            .map(|d| AffectedDomain::new(d.domain, d.open))
            .collect(),
    };
    page("web/dashboard.html", "Dashboard", &session, ctx).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::page::testing::render;

    #[test]
    fn the_dashboard_a_domain_and_the_renewal_help_render() {
        let ctx = Dashboard {
            open: vec![OpenCount {
                severity: "critical",
                count: 3,
            }],
            expiring: vec![Expiring {
                domain: "example.com".into(),
                days_left: 7,
            }],
            trend: Some(super::super::trend::trend(&[fence_store::days::Day {
                day: 20_423,
                opened: 5,
                closed: 2,
                ..Default::default()
            }])),
            health: Some(Health {
                sent: super::super::trend::sparkline(&[0, 3, 1]),
                rate_limited: 2,
                failed: 1,
                waiting: 4,
                retried: 1,
                dead: 2,
                healthy: 3,
                degraded: 0,
                broken: 1,
            }),
            domains: vec![AffectedDomain::new("<b>x.example".into(), 12)],
            domains_counted: None,
            silenced: 2,
            silences: 1,
        };
        let out = render("web/dashboard.html", ctx);
        assert!(out.contains("<h2 style=\"margin:.3em 0\">3</h2>"), "{out}");
        assert!(
            out.contains("2 open findings are kept quiet by 1 active silence"),
            "{out}"
        );
        assert!(out.contains("expires in 7 days"));
        assert!(
            out.contains("slow down 2 times (429, each message sent later) and 1 attempt failed"),
            "{out}"
        );
        // The trend: one bar per value with its day in words, the totals, and the other period to switch to.
        assert!(
            out.contains("<title>Dec 1: 5 new, 2 closed</title>"),
            "{out}"
        );
        assert!(
            out.contains("class=opened") && out.contains("class=closed"),
            "{out}"
        );
        assert!(
            out.contains(
                "</span> 5 new, <span class=\"key closed\"></span> 2 closed in the last 1 days"
            ),
            "{out}"
        );
        assert!(
            out.contains("<b>30 days</b> · <a href=\"/dashboard?days=90\">90 days</a>"),
            "{out}"
        );
        assert!(
            out.contains("No finding was triaged in this period."),
            "{out}"
        );
        let empty = render(
            "web/dashboard.html",
            Dashboard {
                open: vec![],
                expiring: vec![],
                trend: None,
                health: None,
                domains: vec![],
                domains_counted: None,
                silenced: 0,
                silences: 0,
            },
        );
        assert!(empty.contains("No certificate expires within 30 days."));
        assert!(empty.contains("No domain has open findings"), "{empty}");
        let certificate = CertificateView {
            issuer: "Let's <Encrypt>".into(),
            expires: None,
            days_left: 10,
            names: vec!["example.com".into(), "www.example.com".into()],
            fingerprint: "ab:cd".into(),
        };
        let ctx = DomainPage {
            name: "example.com",
            certificate: Some(certificate),
        };
        let out = render("web/domain.html", ctx);
        assert!(out.contains("Let&#x27;s &lt;Encrypt&gt;"), "{out}");
        assert!(out.contains("Names: example.com, www.example.com"));
        let ctx = DomainPage {
            name: "example.com",
            certificate: None,
        };
        assert!(render("web/domain.html", ctx).contains("No certificate observed"));
        assert!(render("web/certificate_docs.html", Static {}).contains("certbot renew"));
    }
}
