//! The delivery retry policy: exponential backoff with jitter, bounded by a maximum retry age.

use std::time::Duration;

/// How retryable failures are spaced out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1` after `attempt` failures (1-based): `base · 2^(attempt-1)`, capped, then
    /// scaled into `[50 %, 100 %]` by `jitter` (a number in `[0, 1)`), so simultaneous failures spread out.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let j = jitter.clamp(0.0, 1.0);
        raw.mul_f64(0.5 + 0.5 * j)
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
    fn retries_stop_at_the_maximum_age() {
        let p = RetryPolicy {
            max_age: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert!(p.may_retry(Duration::from_secs(59)));
        assert!(!p.may_retry(Duration::from_secs(60)));
    }
}
