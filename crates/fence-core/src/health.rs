//! A channel's health as users see it: unverified until a message went through, healthy, degraded (a bot-token
//! channel whose bot may not post there — not in the channel, or a scope missing — so its alerts go through the
//! channel's webhook, unthreaded, until the bot can post again), or broken (Slack refused the destination for good;
//! its alerts are held until it is fixed).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    Unverified,
    Healthy,
    Degraded,
    Broken,
}

impl ChannelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Unverified => "unverified",
            ChannelState::Healthy => "healthy",
            ChannelState::Degraded => "degraded",
            ChannelState::Broken => "broken",
        }
    }

    pub fn parse(s: &str) -> Result<ChannelState, String> {
        match s {
            "unverified" => Ok(ChannelState::Unverified),
            "healthy" => Ok(ChannelState::Healthy),
            "degraded" => Ok(ChannelState::Degraded),
            "broken" => Ok(ChannelState::Broken),
            other => Err(format!(
                "unknown channel state {other:?}; expected unverified, healthy, degraded or broken"
            )),
        }
    }
}

impl fmt::Display for ChannelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ChannelState;

    #[test]
    fn every_state_reads_back_as_it_is_stored() {
        for s in [
            ChannelState::Unverified,
            ChannelState::Healthy,
            ChannelState::Degraded,
            ChannelState::Broken,
        ] {
            assert_eq!(ChannelState::parse(s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::json!(s.as_str()))
            );
        }
        assert!(ChannelState::parse("sick").is_err());
    }
}
