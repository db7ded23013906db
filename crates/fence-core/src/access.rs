//! Who may do what: an API token's scopes and a web UI user's role.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What an API token may do. `admin` includes the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Ingest,
    Read,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Read, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Scope, String> {
        match s.trim() {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!(
                "unknown scope {other:?}; expected ingest, read or admin"
            )),
        }
    }

    /// Parses a comma-separated list (`ingest,read`), refusing an empty one.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, String> {
        let scopes = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err("at least one scope is required: ingest, read or admin".into());
        }
        Ok(scopes)
    }

    /// Whether holding `self` grants `wanted` (`admin` grants everything).
    pub fn grants(self, wanted: Scope) -> bool {
        self == wanted || self == Scope::Admin
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A web UI user's role: viewers read; members also triage and change settings; admins also manage users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "unknown role {other:?}; expected admin, member or viewer"
            )),
        }
    }

    /// Whether the role may change things (triage, settings).
    pub fn can_edit(self) -> bool {
        self != Role::Viewer
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_every_scope_and_others_only_themselves() {
        assert!(Scope::ALL.iter().all(|s| Scope::Admin.grants(*s)));
        assert!(Scope::Read.grants(Scope::Read));
        assert!(!Scope::Read.grants(Scope::Ingest));
        assert!(!Scope::Ingest.grants(Scope::Admin));
    }

    #[test]
    fn scope_lists_parse_and_name_what_is_wrong() {
        assert_eq!(
            Scope::parse_list("ingest, read"),
            Ok(vec![Scope::Ingest, Scope::Read])
        );
        assert!(Scope::parse_list("ingest,write").is_err_and(|e| e.contains("\"write\"")));
        assert!(Scope::parse_list(" , ").is_err());
    }

    #[test]
    fn only_viewers_cannot_edit() {
        assert!(Role::Admin.can_edit() && Role::Member.can_edit());
        assert!(!Role::Viewer.can_edit());
        assert_eq!(Role::parse("viewer"), Ok(Role::Viewer));
        assert!(Role::parse("owner").is_err());
    }
}
