//! Certificate expiry thresholds: alert at 30, 14, 7, 3, 1 and 0 days left, each once per certificate, one alert
//! when several are crossed at once; short-lived certificates (≤ 10 days) alert once at a third of their lifetime.

/// Days-left thresholds of ordinary certificates.
pub const THRESHOLDS: [i64; 6] = [30, 14, 7, 3, 1, 0];
/// Marker for the single alert of a short-lived certificate.
pub const SHORT_LIVED_MARK: i64 = -1;
const DAY_MS: i64 = 86_400_000;

/// Whole days left (negative once expired).
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(DAY_MS)
}

/// Whether `alerted` already holds this certificate's thresholds; returns the new list when an alert is due now.
pub fn due(not_before: Option<i64>, not_after: i64, now: i64, alerted: &[i64]) -> Option<Vec<i64>> {
    let lifetime = not_before.map(|nb| not_after - nb).filter(|l| *l > 0);
    if let Some(l) = lifetime.filter(|l| *l <= 10 * DAY_MS) {
        let remaining = not_after - now;
        if remaining <= l / 3 && !alerted.contains(&SHORT_LIVED_MARK) {
            let mut out = alerted.to_vec();
            out.push(SHORT_LIVED_MARK);
            return Some(out);
        }
        return None;
    }
    let left = days_left(not_after, now);
    let crossed: Vec<i64> = THRESHOLDS
        .iter()
        .copied()
        .filter(|t| left <= *t && !alerted.contains(t))
        .collect();
    if crossed.is_empty() {
        return None;
    }
    let mut out = alerted.to_vec();
    out.extend(crossed);
    out.sort_unstable_by(|a, b| b.cmp(a));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn each_threshold_alerts_once_and_several_crossed_at_once_alert_once() {
        let at = |days: i64| NOW + days * DAY_MS + 1000;
        assert_eq!(due(None, at(40), NOW, &[]), None);
        let a = due(None, at(29), NOW, &[]).expect("30-day threshold");
        assert_eq!(a, vec![30]);
        assert_eq!(due(None, at(29), NOW, &a), None, "once");
        let b = due(None, at(6), NOW, &a).expect("14 and 7 crossed together");
        assert_eq!(b, vec![30, 14, 7]);
        let c = due(None, at(-1), NOW, &b).expect("expired");
        assert_eq!(c, vec![30, 14, 7, 3, 1, 0]);
        assert_eq!(due(None, at(-5), NOW, &c), None);
    }

    #[test]
    fn short_lived_certificates_alert_once_at_a_third_of_their_lifetime() {
        let not_before = NOW - 5 * DAY_MS;
        let not_after = NOW + 4 * DAY_MS; // 9-day certificate, 4 days left: more than a third
        assert_eq!(due(Some(not_before), not_after, NOW, &[]), None);
        let later = not_after - 2 * DAY_MS; // 2 days left < 3
        let a = due(Some(not_before), not_after, later, &[]).expect("a third left");
        assert_eq!(
            due(Some(not_before), not_after, not_after, &a),
            None,
            "not again, not even at expiry"
        );
    }
}
