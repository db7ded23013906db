//! Domain names (assets): validated, lower-cased hostnames.

use serde::{Deserialize, Serialize};

/// A hostname such as `api.example.com`: lower-cased, 1–253 chars, labels of letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > 253 {
            return Err("must be at most 253 characters".into());
        }
        for label in s.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(format!("{raw:?} is not a valid hostname"));
            }
        }
        Ok(DomainName(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Matches a filter pattern: an exact name, or `*.example.com` for any subdomain of example.com.
    pub fn matches_pattern(&self, pattern: &str) -> bool {
        let p = pattern.trim().to_ascii_lowercase();
        match p.strip_prefix("*.") {
            Some(suffix) => self.0.len() > suffix.len() && self.0.ends_with(&format!(".{suffix}")),
            None => self.0 == p,
        }
    }
}

impl TryFrom<String> for DomainName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DomainName::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> String {
        d.0
    }
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_lower_cased_and_checked() {
        assert_eq!(
            DomainName::parse("API.Example.COM").map(|d| d.0),
            Ok("api.example.com".into())
        );
        assert!(DomainName::parse("exa mple.com").is_err());
        assert!(DomainName::parse("https://example.com").is_err());
        assert!(DomainName::parse("").is_err());
    }

    #[test]
    fn wildcard_patterns_match_subdomains_only() {
        let d = DomainName::parse("v1.api.example.com").expect("valid");
        assert!(d.matches_pattern("*.api.example.com"));
        assert!(d.matches_pattern("v1.api.example.com"));
        assert!(!d.matches_pattern("api.example.com"));
        let apex = DomainName::parse("api.example.com").expect("valid");
        assert!(!apex.matches_pattern("*.api.example.com"));
    }
}
