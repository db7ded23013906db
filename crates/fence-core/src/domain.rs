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
}

/// A domain filter, parsed once: an exact host name, or `*.suffix` for the suffix's subdomains (not the suffix
/// itself). Stored lower-cased, so matching a host allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPattern(String);

impl DomainPattern {
    pub fn parse(s: &str) -> Result<DomainPattern, String> {
        let s = s.trim();
        let name = s.strip_prefix("*.").unwrap_or(s);
        DomainName::parse(name)?;
        Ok(DomainPattern(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `host` (a validated domain name) is this pattern's host, or one of its subdomains for `*.`.
    pub fn matches(&self, host: &str) -> bool {
        match self.0.strip_prefix('*') {
            // ".suffix": a subdomain ends with it and is longer.
            Some(dot_suffix) => {
                host.len() > dot_suffix.len()
                    && host
                        .get(host.len() - dot_suffix.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(dot_suffix))
            }
            None => host.eq_ignore_ascii_case(&self.0),
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
        assert!(DomainPattern::parse("*.api.example.com")
            .expect("pattern")
            .matches(d.as_str()));
        let p = DomainPattern::parse(" *.API.example.com ").expect("pattern");
        assert_eq!(p.as_str(), "*.api.example.com");
        assert!(p.matches("v1.api.example.com") && p.matches("V1.Api.Example.com"));
        assert!(!p.matches("api.example.com") && !p.matches("xapi.example.com"));
        let exact = DomainPattern::parse("api.example.com").expect("pattern");
        assert!(exact.matches("api.example.com") && !exact.matches("v1.api.example.com"));
        assert!(DomainPattern::parse("*.not a domain").is_err());
        assert!(DomainPattern::parse("v1.api.example.com")
            .expect("pattern")
            .matches(d.as_str()));
        assert!(!DomainPattern::parse("api.example.com")
            .expect("pattern")
            .matches(d.as_str()));
        let apex = DomainName::parse("api.example.com").expect("valid");
        assert!(!DomainPattern::parse("*.api.example.com")
            .expect("pattern")
            .matches(apex.as_str()));
    }
}
