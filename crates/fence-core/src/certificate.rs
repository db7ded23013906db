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

/// A certificate issuer as people call it: "Let's Encrypt (R11)" for `C=US, O=Let's Encrypt, CN=R11`; the CN alone
/// when there is no O, the O alone when there is no CN. Text that is not a distinguished name is kept as it is.
pub fn issuer_label(issuer: &str) -> String {
    let mut cn = None;
    let mut org = None;
    let mut is_dn = false;
    for part in split_rdns(issuer) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim().replace("\\,", ",");
        match k.trim().to_ascii_uppercase().as_str() {
            "CN" => cn = cn.or(Some(v)),
            "O" => org = org.or(Some(v)),
            "C" | "L" | "ST" | "OU" | "DC" => {}
            _ => continue,
        }
        is_dn = true;
    }
    match (is_dn, org, cn) {
        (true, Some(o), Some(c)) if o != c => format!("{o} ({c})"),
        (true, Some(o), _) => o,
        (true, None, Some(c)) => c,
        _ => issuer.trim().to_string(),
    }
}

/// The relative names of a distinguished name: split at commas that are not escaped (`\,`).
fn split_rdns(dn: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        match c {
            ',' if !escaped => parts.push(std::mem::take(&mut cur)),
            '\\' => {
                escaped = true;
                cur.push(c);
                continue;
            }
            _ => cur.push(c),
        }
        escaped = false;
    }
    parts.push(cur);
    parts
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

    #[test]
    fn issuers_read_as_people_call_them() {
        assert_eq!(
            issuer_label("C=US, O=Let's Encrypt, CN=R11"),
            "Let's Encrypt (R11)"
        );
        assert_eq!(issuer_label("CN=Internal Root"), "Internal Root");
        assert_eq!(issuer_label("C=US, O=DigiCert Inc"), "DigiCert Inc");
        assert_eq!(
            issuer_label("O=Acme\\, Inc., CN=Acme CA"),
            "Acme, Inc. (Acme CA)"
        );
        assert_eq!(issuer_label("R11"), "R11");
        assert_eq!(issuer_label("Let's Encrypt"), "Let's Encrypt");
    }
}
