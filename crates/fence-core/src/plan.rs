//! Plans: what each organization may use (SPEC §8).

use std::fmt;

/// An organization's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plan {
    Hobby,
    Startup,
    Enterprise,
    Custom,
}

impl Plan {
    pub fn parse(s: &str) -> Result<Plan, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hobby" => Ok(Plan::Hobby),
            "startup" => Ok(Plan::Startup),
            "enterprise" => Ok(Plan::Enterprise),
            "custom" => Ok(Plan::Custom),
            other => Err(format!(
                "unknown plan {other:?}; expected hobby, startup, enterprise or custom"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Hobby => "hobby",
            Plan::Startup => "startup",
            Plan::Enterprise => "enterprise",
            Plan::Custom => "custom",
        }
    }

    /// How many Slack/Mattermost channels the plan allows; `None` is unlimited.
    pub fn channel_limit(self) -> Option<u32> {
        match self {
            Plan::Hobby => Some(0),
            Plan::Startup => Some(5),
            Plan::Enterprise => Some(20),
            Plan::Custom => None,
        }
    }

    /// Slash commands, custom payloads and Run Scan buttons.
    pub fn has_enterprise_features(self) -> bool {
        self >= Plan::Enterprise
    }

    /// White-label bot identity.
    pub fn has_identity(self) -> bool {
        self == Plan::Custom
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_grant_the_seed_channel_limits_and_features() {
        assert_eq!(Plan::Hobby.channel_limit(), Some(0));
        assert_eq!(Plan::Startup.channel_limit(), Some(5));
        assert_eq!(Plan::Enterprise.channel_limit(), Some(20));
        assert_eq!(Plan::Custom.channel_limit(), None);
        assert!(
            !Plan::Startup.has_enterprise_features() && Plan::Enterprise.has_enterprise_features()
        );
        assert!(!Plan::Enterprise.has_identity() && Plan::Custom.has_identity());
    }
}
