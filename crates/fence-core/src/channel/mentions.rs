//! A message's mentions gathered alert by alert: each kind of alert (severity, type, known exploited) is looked up
//! once, and each mention kept once, in first-seen order.

use super::ChannelConfig;
use crate::{Alert, Severity};

/// The mentions of a message, gathered alert by alert (see [`ChannelConfig::mentions`]).
#[derive(Debug)]
pub struct Mentions<'c> {
    pub(super) config: &'c ChannelConfig,
    /// The kinds already looked up: severity, alert type, known exploited.
    pub(super) seen: Vec<(Option<Severity>, Option<&'static str>, bool)>,
    pub(super) out: Vec<String>,
}

impl Mentions<'_> {
    pub fn add(&mut self, a: &Alert) {
        let (severity, exploited) = match a {
            Alert::Vulnerability(v) => (
                Some(v.severity),
                v.intel
                    .as_ref()
                    .is_some_and(|i| i.known_exploited.is_some()),
            ),
            Alert::Reminder(r) => (Some(r.finding.severity), false),
            _ => (None, false),
        };
        let key = (severity, a.alert_type().map(|t| t.as_str()), exploited);
        if self.seen.contains(&key) {
            return;
        }
        self.seen.push(key);
        for m in self.config.mentions_for(a) {
            if !self.out.contains(&m) {
                self.out.push(m);
            }
        }
    }

    pub fn finish(self) -> Vec<String> {
        self.out
    }
}
