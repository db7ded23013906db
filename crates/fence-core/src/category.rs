//! Vulnerability categories, with the display names users and scanners write ("SQL Injection").

use serde::{Deserialize, Serialize};

macro_rules! categories {
    ($($variant:ident => $id:literal, $display:literal, [$($alias:literal),*];)*) => {
        /// A vulnerability type, used by filters and shown in messages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Category { $($variant),* }

        impl Category {
            pub const ALL: &'static [Category] = &[$(Category::$variant),*];

            /// The stable identifier (`sql_injection`).
            pub fn as_str(self) -> &'static str {
                match self { $(Category::$variant => $id),* }
            }

            /// The name shown to people (`SQL Injection`).
            pub fn display_name(self) -> &'static str {
                match self { $(Category::$variant => $display),* }
            }

            /// Parses an identifier, a display name (any case, spaces or hyphens) or a common alias.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let key = normalize(raw);
                $(
                    if key == $id || key == normalize($display) $(|| key == $alias)* {
                        return Ok(Category::$variant);
                    }
                )*
                let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
                Err(format!("unknown category {raw:?}; expected one of {} (or their display names)", known.join(", ")))
            }
        }
    };
}

categories! {
    SqlInjection => "sql_injection", "SQL Injection", ["sqli"];
    RemoteCodeExecution => "remote_code_execution", "Remote Code Execution", ["rce", "code_execution", "command_injection"];
    AuthenticationBypass => "authentication_bypass", "Authentication Bypass", ["auth_bypass"];
    Xss => "xss", "XSS", ["cross_site_scripting"];
    Csrf => "csrf", "CSRF", ["cross_site_request_forgery"];
    InformationDisclosure => "information_disclosure", "Information Disclosure", ["info_disclosure", "information_leak"];
    Ssrf => "ssrf", "SSRF", ["server_side_request_forgery"];
    PathTraversal => "path_traversal", "Path Traversal", ["directory_traversal"];
    OpenRedirect => "open_redirect", "Open Redirect", [];
    WeakTls => "weak_tls", "Weak TLS", ["weak_tls_ciphers", "tls"];
    MissingSecurityHeader => "missing_security_header", "Missing Security Header", ["security_header", "missing_header"];
    Certificate => "certificate", "Certificate", ["ssl_certificate", "tls_certificate"];
    VulnerableDependency => "vulnerable_dependency", "Vulnerable Dependency", ["dependency", "vulnerable_component"];
    Misconfiguration => "misconfiguration", "Misconfiguration", ["security_misconfiguration"];
    Other => "other", "Other", [];
}

fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_ids_and_aliases_map_to_categories() {
        for (raw, want) in [
            ("SQL Injection", Category::SqlInjection),
            ("sql_injection", Category::SqlInjection),
            ("Remote Code Execution", Category::RemoteCodeExecution),
            ("authentication-bypass", Category::AuthenticationBypass),
            ("Cross-Site Scripting", Category::Xss),
            ("XSS", Category::Xss),
            ("Information Disclosure", Category::InformationDisclosure),
        ] {
            assert_eq!(Category::parse(raw), Ok(want), "{raw}");
        }
        assert!(Category::parse("quantum tunnelling").is_err());
    }
}
