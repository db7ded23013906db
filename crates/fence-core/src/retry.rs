//! The delivery retry policy: exponential backoff with jitter up to the probe interval, then one probe per interval
//! while the destination is in an outage; retries end at a maximum retry age that outage time does not count toward.

use std::time::Duration;

/// How retryable failures are spaced out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_age: Duration,
    /// Once the backoff reaches this, the destination is in an outage: one attempt (a probe) per interval.
    pub probe: Duration,
}

/// When a destination is tried next after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDelay {
    pub delay: Duration,
    /// The destination is in an outage: this attempt is a probe, and waiting does not age its deliveries.
    pub probing: bool,
}

/// Jitter added to a probe interval: probes of destinations that failed together spread out, and are never closer
/// than the interval.
const PROBE_JITTER: Duration = Duration::from_millis(250);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            max_age: Duration::from_secs(24 * 3600),
            probe: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// `base · 2^(failures-1)`, before any cap or jitter.
    fn doubled(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exp)
    }

    /// Delay before attempt `attempt + 1` after `attempt` failures (1-based): `base · 2^(attempt-1)`, capped, then
    /// scaled into `[50 %, 100 %]` by `jitter` (a number in `[0, 1)`), so simultaneous failures spread out.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let j = jitter.clamp(0.0, 1.0);
        self.doubled(attempt).min(self.cap).mul_f64(0.5 + 0.5 * j)
    }

    /// The wait of a destination in an outage: the probe interval plus up to 250 ms of jitter.
    fn probe_wait(&self, jitter: f64) -> RetryDelay {
        RetryDelay {
            delay: self.probe + PROBE_JITTER.mul_f64(jitter.clamp(0.0, 1.0)),
            probing: true,
        }
    }

    /// The wait after the `failures`-th retryable failure in a row of a destination: the backoff while it is
    /// shorter than the probe interval, else the probe interval plus up to 250 ms of jitter (`jitter` in `[0, 1)`).
    pub fn after_failure(&self, failures: u32, jitter: f64) -> RetryDelay {
        if self.doubled(failures) >= self.probe {
            return self.probe_wait(jitter);
        }
        RetryDelay {
            delay: self.backoff(failures, jitter),
            probing: false,
        }
    }

    /// The wait after a retryable failure of a destination failing since `streak_for` (the time since its first
    /// failure in a row): as [`RetryPolicy::after_failure`], except that a streak as long as the probe interval is an
    /// outage too (failures that each take long, such as timeouts, reach it before the back-off does).
    pub fn after_failure_for(
        &self,
        failures: u32,
        streak_for: Duration,
        jitter: f64,
    ) -> RetryDelay {
        if streak_for >= self.probe {
            return self.probe_wait(jitter);
        }
        self.after_failure(failures, jitter)
    }

    /// Whether a delivery first attempted `age` ago may still be retried.
    pub fn may_retry(&self, age: Duration) -> bool {
        age < self.max_age
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jitter_stays_within_half_to_full() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(2, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(5, 1.0), Duration::from_secs(16));
        assert_eq!(p.backoff(30, 1.0), Duration::from_secs(300));
        assert_eq!(p.backoff(3, 0.0), Duration::from_secs(2));
        for attempt in 1..40 {
            let lo = p.backoff(attempt, 0.0);
            let hi = p.backoff(attempt, 0.999);
            assert!(lo <= hi && hi <= p.cap, "attempt {attempt}");
        }
    }

    #[test]
    fn backoff_turns_into_probes_once_per_interval() {
        let p = RetryPolicy::default();
        // 1 s, 2 s, 4 s (each jittered down to half), then 5 s probes: never sooner, at most 250 ms later.
        for (failures, hi) in [(1, 1000), (2, 2000), (3, 4000)] {
            let d = p.after_failure(failures, 0.999);
            assert!(!d.probing, "failure {failures}");
            assert!(d.delay <= Duration::from_millis(hi));
            assert!(p.after_failure(failures, 0.0).delay >= Duration::from_millis(hi / 2));
        }
        for failures in [4, 5, 30, 1000] {
            let lo = p.after_failure(failures, 0.0);
            let hi = p.after_failure(failures, 0.999);
            assert!(lo.probing && hi.probing, "failure {failures}");
            assert_eq!(lo.delay, Duration::from_secs(5));
            assert!(hi.delay > lo.delay && hi.delay <= Duration::from_millis(5250));
        }
    }

    #[test]
    fn a_streak_as_long_as_the_probe_interval_is_an_outage_whatever_the_back_off() {
        let p = RetryPolicy::default();
        // Two timeouts of 10 s each: the second failure comes 11 s into the streak.
        let d = p.after_failure_for(2, Duration::from_secs(11), 0.0);
        assert!(d.probing);
        assert_eq!(d.delay, Duration::from_secs(5));
        let d = p.after_failure_for(2, Duration::from_secs(1), 0.0);
        assert!(!d.probing);
        assert_eq!(d.delay, Duration::from_secs(1));
    }

    #[test]
    fn retries_stop_at_the_maximum_age() {
        let p = RetryPolicy {
            max_age: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert!(p.may_retry(Duration::from_secs(59)));
        assert!(!p.may_retry(Duration::from_secs(60)));
    }
}
