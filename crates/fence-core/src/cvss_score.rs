//! CVSS base scores (0.0–10.0) and their computation from a CVSS v3.x vector.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A CVSS base score, always within 0.0–10.0 and rounded to one decimal.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Cvss(f64);

impl Cvss {
    pub fn new(score: f64) -> Result<Self, String> {
        if !score.is_finite() || !(0.0..=10.0).contains(&score) {
            return Err(format!(
                "CVSS score must be between 0.0 and 10.0, got {score}"
            ));
        }
        Ok(Cvss((score * 10.0).round() / 10.0))
    }

    /// Computes the base score of a CVSS v3.0/v3.1 vector such as
    /// `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
    pub fn from_vector(vector: &str) -> Result<Self, String> {
        let base = cvss::v3::Base::from_str(vector.trim())
            .map_err(|e| format!("not a valid CVSS v3 vector ({e}); expected e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"))?;
        Cvss::new(base.score().value())
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Cvss {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Cvss::new(v)
    }
}

impl From<Cvss> for f64 {
    fn from(c: Cvss) -> f64 {
        c.0
    }
}

impl std::fmt::Display for Cvss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_rce_vector_scores_9_8() {
        let c = Cvss::from_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
            .expect("valid vector");
        assert_eq!(c.value(), 9.8);
        assert_eq!(c.to_string(), "9.8");
    }

    #[test]
    fn out_of_range_scores_and_bad_vectors_are_rejected() {
        assert!(Cvss::new(10.1).is_err());
        assert!(Cvss::new(-0.1).is_err());
        assert!(Cvss::new(f64::NAN).is_err());
        assert!(Cvss::from_vector("AV:N/AC:L").is_err());
    }
}
