//! A message's alerts gathered one at a time: of a burst only the [`KEPT`] worst findings are kept (what the
//! message lists), the others are counted by severity in [`Unlisted`], so a send's memory does not grow with the
//! backlog it counts (a million findings waiting after an outage go out as one message, from 15 kept alerts).

use fence_core::{Alert, Severity, VulnerabilityAlert};
use std::cmp::Ordering;

/// Findings of a burst kept to be listed: the coalesced message and a burst template list the 15 worst, and so does
/// the plain-text fallback of a gathered burst (a list of alerts that is not one lists up to 50).
pub const KEPT: usize = super::COALESCE_LISTED;

/// Findings of a burst a message counts but does not carry, by severity (in [`Severity::ALL`] order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unlisted(pub [usize; 5]);

impl Unlisted {
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    pub fn of(&self, s: Severity) -> usize {
        self.0[slot(s)]
    }

    fn add(&mut self, s: Severity) {
        self.0[slot(s)] += 1;
    }
}

fn slot(s: Severity) -> usize {
    Severity::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// Whether `a` lists before `b`: more severe, then higher CVSS, then as they came (a lower `seq`). The order
/// [`super::coalesced`] lists a burst in, so the kept findings' worst are the whole burst's worst.
fn lists_before((i, a): (u64, &VulnerabilityAlert), (j, b): (u64, &VulnerabilityAlert)) -> bool {
    let cvss = |v: &VulnerabilityAlert| v.cvss.map(|c| c.value()).unwrap_or(-1.0);
    b.severity
        .cmp(&a.severity)
        .then_with(|| cvss(b).total_cmp(&cvss(a)))
        .then(i.cmp(&j))
        == Ordering::Less
}

/// Alerts gathered for one message: every alert that is not a burst's finding, the [`KEPT`] worst findings, and
/// the count of the others.
#[derive(Debug, Default)]
pub struct Gathered {
    kept: Vec<(u64, Alert)>,
    unlisted: Unlisted,
    seen: u64,
    /// Index in `kept` of the ranked alert that lists last, once `KEPT` are kept: the one a worse finding replaces.
    last: Option<usize>,
}

impl Gathered {
    /// Adds an alert (cloned only when it is kept).
    pub fn push(&mut self, alert: &Alert) {
        let seq = self.seen;
        self.seen += 1;
        let Some(v) = alert.finding() else {
            self.kept.push((seq, alert.clone()));
            return;
        };
        let ranked_kept = self
            .kept
            .iter()
            .filter(|(_, a)| a.finding().is_some())
            .count();
        if ranked_kept < KEPT {
            self.kept.push((seq, alert.clone()));
            self.last = None;
            return;
        }
        let last = match self.last {
            Some(i) => i,
            None => {
                let i = self.last_listed();
                self.last = Some(i);
                i
            }
        };
        let (lseq, lalert) = &self.kept[last];
        let Some(lv) = lalert.finding() else {
            self.unlisted.add(v.severity);
            return;
        };
        if lists_before((seq, v), (*lseq, lv)) {
            self.unlisted.add(lv.severity);
            self.kept[last] = (seq, alert.clone());
            self.last = Some(self.last_listed());
        } else {
            self.unlisted.add(v.severity);
        }
    }

    /// Index of the kept finding that lists last.
    fn last_listed(&self) -> usize {
        let mut last: Option<(usize, u64, &VulnerabilityAlert)> = None;
        for (i, (seq, a)) in self.kept.iter().enumerate() {
            let Some(v) = a.finding() else { continue };
            if last.is_none_or(|(_, lseq, lv)| lists_before((lseq, lv), (*seq, v))) {
                last = Some((i, *seq, v));
            }
        }
        last.map_or(0, |(i, ..)| i)
    }

    /// The kept alerts in the order they came, and the count of the others.
    pub fn finish(mut self) -> (Vec<Alert>, Unlisted) {
        self.kept.sort_unstable_by_key(|(seq, _)| *seq);
        (
            self.kept.into_iter().map(|(_, a)| a).collect(),
            self.unlisted,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::listed_findings;

    fn vuln(id: usize, severity: Severity, cvss: Option<f64>) -> Alert {
        let Alert::Vulnerability(mut v) =
            crate::template::sample(fence_core::AlertType::Vulnerability)
        else {
            unreachable!("the sample vulnerability is a vulnerability")
        };
        v.finding_id = format!("f{id}");
        v.severity = severity;
        v.cvss = cvss.and_then(|c| fence_core::Cvss::new(c).ok());
        Alert::Vulnerability(v)
    }

    #[test]
    fn a_burst_keeps_its_worst_findings_and_counts_the_rest_as_a_full_list_would() {
        let all: Vec<Alert> = (0..5_000)
            .map(|i| {
                let s = Severity::ALL[(i * 7) % 5];
                vuln(i, s, Some(((i * 13) % 100) as f64 / 10.0))
            })
            .collect();
        let mut g = Gathered::default();
        for a in &all {
            g.push(a);
        }
        let (kept, unlisted) = g.finish();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(unlisted.total(), 5_000 - KEPT);
        assert_eq!(
            listed_findings(&kept),
            listed_findings(&all),
            "the message lists the same findings from the kept ones"
        );
        for s in Severity::ALL {
            let in_all = all
                .iter()
                .filter(|a| a.finding().is_some_and(|v| v.severity == s))
                .count();
            let in_kept = kept
                .iter()
                .filter(|a| a.finding().is_some_and(|v| v.severity == s))
                .count();
            assert_eq!(in_kept + unlisted.of(s), in_all, "{s:?} counted once");
        }
    }

    #[test]
    fn ties_keep_the_findings_that_came_first_and_small_batches_keep_everything() {
        let mut g = Gathered::default();
        for i in 0..(KEPT + 10) {
            g.push(&vuln(i, Severity::High, Some(7.5)));
        }
        let (kept, unlisted) = g.finish();
        let ids: Vec<String> = kept
            .iter()
            .filter_map(Alert::finding)
            .map(|v| v.finding_id.clone())
            .collect();
        let first: Vec<String> = (0..KEPT).map(|i| format!("f{i}")).collect();
        assert_eq!(ids, first);
        assert_eq!(unlisted.of(Severity::High), 10);
        let mut small = Gathered::default();
        small.push(&vuln(1, Severity::Low, None));
        let (kept, unlisted) = small.finish();
        assert_eq!((kept.len(), unlisted), (1, Unlisted::default()));
    }

    #[test]
    fn a_gathered_burst_renders_as_the_whole_burst_would_in_every_form() {
        use fence_core::{ChannelKind, Detail, MessageFormat};
        let all: Vec<Alert> = (0..600)
            .map(|i| {
                vuln(
                    i,
                    Severity::ALL[(i * 3) % 5],
                    Some(((i * 17) % 100) as f64 / 10.0),
                )
            })
            .collect();
        let mut g = Gathered::default();
        all.iter().for_each(|a| g.push(a));
        let (kept, unlisted) = g.finish();
        let signer = crate::ButtonSigner::new([1; 32]);
        for (kind, format) in [
            (ChannelKind::Slack, MessageFormat::Blocks),
            (ChannelKind::Slack, MessageFormat::Attachments),
            (ChannelKind::Mattermost, MessageFormat::Attachments),
        ] {
            for detail in [Detail::Full, Detail::Minimal] {
                let ctx = crate::render::RenderContext {
                    base_url: "https://fence.example.org",
                    org_id: "org1",
                    kind,
                    format,
                    run_scan: false,
                    signer: &signer,
                    detail,
                    acknowledge: false,
                };
                let mentions = ["<!here>".to_string()];
                assert_eq!(
                    crate::render::render_gathered(&ctx, &kept, unlisted, &mentions),
                    crate::render::render(&ctx, &all, &mentions),
                    "{kind:?} {format:?} {detail:?}"
                );
            }
        }
        let refs = |v: &[Alert]| -> Vec<VulnerabilityAlert> {
            v.iter().filter_map(Alert::finding).cloned().collect()
        };
        let (all_v, kept_v) = (refs(&all), refs(&kept));
        let all_r: Vec<&VulnerabilityAlert> = all_v.iter().collect();
        let kept_r: Vec<&VulnerabilityAlert> = kept_v.iter().collect();
        assert_eq!(
            crate::template::gathered_variables(&kept_r, unlisted, "https://f", "", false),
            crate::template::coalesced_variables(&all_r, "https://f", "", false),
            "a burst template sees the same variables"
        );
        let plain = crate::render::plain_in(
            &crate::render::RenderContext {
                base_url: "https://f",
                org_id: "o",
                kind: ChannelKind::Slack,
                format: MessageFormat::Blocks,
                run_scan: false,
                signer: &signer,
                detail: Detail::Full,
                acknowledge: false,
            },
            &kept,
            unlisted,
        );
        assert!(
            plain["text"]
                .as_str()
                .is_some_and(|t| t.ends_with("…and 585 more")),
            "the plain form counts what it does not list: {plain}"
        );
    }
}
