//! Slack message metadata (SPEC §11) on messages posted with a bot token, so a Slack app or workflow function can
//! act on an alert: `event_type` `fence_finding` (a new finding, a reminder, an escalation of one), `fence_certificate`, `fence_scan`
//! or `fence_digest`, and an `event_payload` of `id`, `domain`, `severity`, `cvss`, `cve`, `status`, `url` — absent
//! fields left out, never null; on a `minimal` channel only `id`, `severity` and `url`. A one-finding escalation and
//! a "Now Known Exploited" alert are `fence_finding` too; bursts, follow-ups and notices carry none.

use super::RenderContext;
use fence_core::{Alert, Detail};
use serde_json::{json, Map, Value};

/// The metadata of a message carrying these alerts, when it is about one thing.
pub fn metadata<A: std::borrow::Borrow<Alert>>(
    ctx: &RenderContext<'_>,
    alerts: &[A],
) -> Option<Value> {
    let [alert] = alerts else { return None };
    let mut p = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            p.insert(k.to_string(), v);
        }
    };
    // A new finding, a reminder, or the escalation of one finding: all about one finding.
    let finding = match alert.borrow() {
        Alert::Vulnerability(v)
        | Alert::Reminder(fence_core::alert::ReminderAlert { finding: v, .. }) => Some(v),
        Alert::Escalation(e) if e.findings.len() == 1 && e.total() == 1 => e.findings.first(),
        _ => None,
    };
    let event_type = match (finding, alert.borrow()) {
        (Some(v), _) => {
            put("id", json!(v.finding_id));
            put("domain", json!(v.domain));
            put("severity", json!(v.severity.as_str()));
            put("cvss", json!(v.cvss.map(|c| c.value())));
            put("cve", json!(v.cve));
            put("status", json!("open"));
            put("url", json!(ctx.finding_url(&v.finding_id)));
            "fence_finding"
        }
        (None, Alert::CertificateExpiring(c)) => {
            put("id", json!(c.fingerprint));
            put("domain", json!(c.domain));
            put("severity", json!(c.severity().as_str()));
            put(
                "url",
                json!(match ctx.detail {
                    Detail::Minimal => format!("{}/dashboard", ctx.base_url),
                    Detail::Full =>
                        format!("{}/domains/{}", ctx.base_url, super::url_segment(&c.domain)),
                }),
            );
            "fence_certificate"
        }
        (None, Alert::ScanCompleted(s)) => {
            put("id", json!(s.scan_id));
            put("domain", json!(s.domain));
            put("severity", json!(s.severity().as_str()));
            put("status", json!("completed"));
            put(
                "url",
                json!(format!(
                    "{}/scans/{}",
                    ctx.base_url,
                    super::url_segment(&s.scan_id)
                )),
            );
            "fence_scan"
        }
        (None, Alert::Digest(d)) => {
            put(
                "id",
                json!(format!("{}-{}", d.label.to_ascii_lowercase(), d.period_end)),
            );
            put("url", json!(format!("{}/dashboard", ctx.base_url)));
            "fence_digest"
        }
        (None, _) => return None,
    };
    if ctx.detail == Detail::Minimal {
        p.retain(|k, _| matches!(k.as_str(), "id" | "severity" | "url"));
    }
    Some(json!({"event_type": event_type, "event_payload": p}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buttons::ButtonSigner;
    use fence_core::{AlertType, ChannelKind, MessageFormat};

    fn ctx(signer: &ButtonSigner, detail: Detail) -> RenderContext<'_> {
        RenderContext {
            base_url: "https://fence.test",
            org_id: "org",
            kind: ChannelKind::Slack,
            format: MessageFormat::Blocks,
            run_scan: false,
            signer,
            detail,
            acknowledge: false,
        }
    }

    #[test]
    fn each_alert_names_its_event_with_no_null_and_minimal_channels_get_three_fields() {
        let signer = ButtonSigner::new([1; 32]);
        let full = ctx(&signer, Detail::Full);
        let m = metadata(&full, &[crate::template::sample(AlertType::Vulnerability)])
            .expect("metadata");
        assert_eq!(m["event_type"], "fence_finding");
        assert_eq!(
            m["event_payload"],
            json!({"id": "sample", "domain": "example.com", "severity": "critical", "cvss": 9.8,
                   "cve": "CVE-2024-12345", "status": "open", "url": "https://fence.test/findings/sample"})
        );
        for (t, event) in [
            (AlertType::Reminder, "fence_finding"),
            (AlertType::CertificateExpiring, "fence_certificate"),
            (AlertType::ScanCompleted, "fence_scan"),
            (AlertType::Digest, "fence_digest"),
        ] {
            let m = metadata(&full, &[crate::template::sample(t)]).expect("metadata");
            assert_eq!(m["event_type"], event, "{t:?}");
            assert!(!m.to_string().contains("null"), "{m}");
        }
        let Alert::Vulnerability(mut v) = crate::template::sample(AlertType::Vulnerability) else {
            unreachable!("a vulnerability sample");
        };
        v.cvss = None;
        v.cve = None;
        let m = metadata(&full, &[Alert::Vulnerability(v)]).expect("metadata");
        assert!(
            m["event_payload"].get("cve").is_none() && m["event_payload"].get("cvss").is_none()
        );
        let minimal = ctx(&signer, Detail::Minimal);
        for t in AlertType::ALL {
            let m = metadata(&minimal, &[crate::template::sample(t)]).expect("metadata");
            let keys: Vec<&String> = m["event_payload"]
                .as_object()
                .expect("object")
                .keys()
                .collect();
            assert!(
                keys.iter()
                    .all(|k| ["id", "severity", "url"].contains(&k.as_str())),
                "{t:?}: {m}"
            );
            assert!(!m.to_string().contains("example.com"), "{t:?}: {m}");
        }
        let two = [
            crate::template::sample(AlertType::Vulnerability),
            crate::template::sample(AlertType::Vulnerability),
        ];
        assert!(metadata(&full, &two).is_none(), "a burst carries none");
    }
}
