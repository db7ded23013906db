//! Slack's Web API rate limits (SLACK.md §2), as sliding windows: a call over its limit gets HTTP 429 with
//! `Retry-After` (whole seconds until the oldest call in the window leaves it) and is not counted.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// At most `calls` in any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub calls: usize,
    pub per: Duration,
}

impl Limit {
    pub const fn per_second(calls: usize) -> Limit {
        Limit {
            calls,
            per: Duration::from_secs(1),
        }
    }

    pub const fn per_minute(calls: usize) -> Limit {
        Limit {
            calls,
            per: Duration::from_secs(60),
        }
    }

    /// No limit, for tests that are not about pacing and must stay fast.
    pub const UNLIMITED: Limit = Limit {
        calls: usize::MAX,
        per: Duration::from_secs(1),
    };
}

/// The fake's limits; `RateLimits::default()` is Slack's documented minimum for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `chat.postMessage` per channel: "one message per second per channel" (SLACK.md §2, [RL], [PM]); Slack's bursts
    /// are not guaranteed, so the fake allows none.
    pub post_per_channel: Limit,
    /// `chat.postMessage` per workspace: "several hundred messages per minute" (SLACK.md §2, [PM]) — 200, the least
    /// that phrase promises.
    pub post_per_workspace: Limit,
    /// Tier 2, "20+ per minute" (SLACK.md §2): `users.list`, `usergroups.list`, `usergroups.users.list`,
    /// `conversations.list`.
    pub tier2: Limit,
    /// Tier 3, "50+ per minute": `chat.update`, `users.lookupByEmail`, `conversations.info`.
    pub tier3: Limit,
    /// Tier 4, "100+ per minute": `oauth.v2.access`, `users.info`.
    pub tier4: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            post_per_channel: Limit::per_second(1),
            post_per_workspace: Limit::per_minute(200),
            tier2: Limit::per_minute(20),
            tier3: Limit::per_minute(50),
            tier4: Limit::per_minute(100),
        }
    }
}

impl RateLimits {
    /// No limits at all.
    pub const fn unlimited() -> RateLimits {
        RateLimits {
            post_per_channel: Limit::UNLIMITED,
            post_per_workspace: Limit::UNLIMITED,
            tier2: Limit::UNLIMITED,
            tier3: Limit::UNLIMITED,
            tier4: Limit::UNLIMITED,
        }
    }

    /// The tier of a method (SLACK.md §2, from Slack's Java SDK table [JAVA-RL]); `chat.postMessage` is special.
    pub fn tier(&self, method: &str) -> Option<Limit> {
        match method {
            "users.list" | "usergroups.list" | "usergroups.users.list" | "conversations.list" => {
                Some(self.tier2)
            }
            "chat.update" | "users.lookupByEmail" | "conversations.info" => Some(self.tier3),
            "oauth.v2.access" | "users.info" => Some(self.tier4),
            _ => None,
        }
    }
}

/// Calls made, per key (method and workspace, or channel).
#[derive(Debug, Default)]
pub(crate) struct Windows {
    calls: HashMap<String, VecDeque<Instant>>,
}

impl Windows {
    /// Seconds to wait when any key is at its limit; otherwise counts the call under every key and returns `None`.
    pub fn admit(&mut self, keys: &[(String, Limit)], now: Instant) -> Option<u64> {
        let mut wait = None;
        for (key, limit) in keys {
            let q = self.calls.entry(key.clone()).or_default();
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= limit.per)
            {
                q.pop_front();
            }
            if q.len() >= limit.calls {
                let oldest = q.front().copied().unwrap_or(now);
                let left = limit.per.saturating_sub(now.duration_since(oldest));
                let secs = left.as_millis().div_ceil(1000).max(1) as u64;
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        if wait.is_none() {
            for (key, _) in keys {
                self.calls.entry(key.clone()).or_default().push_back(now);
            }
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_over_the_limit_waits_for_the_oldest_to_leave_the_window() {
        let mut w = Windows::default();
        let t0 = Instant::now();
        let key = |l: Limit| vec![("chat.postMessage C1".to_string(), l)];
        assert_eq!(w.admit(&key(Limit::per_second(1)), t0), None);
        assert_eq!(
            w.admit(&key(Limit::per_second(1)), t0 + Duration::from_millis(400)),
            Some(1)
        );
        assert_eq!(
            w.admit(&key(Limit::per_second(1)), t0 + Duration::from_secs(1)),
            None
        );
        let tier2 = vec![("users.list T".to_string(), Limit::per_minute(20))];
        for i in 0..20 {
            assert_eq!(w.admit(&tier2, t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(w.admit(&tier2, t0 + Duration::from_secs(20)), Some(40));
    }
}
