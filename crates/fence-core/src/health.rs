//! A channel's health as users see it: unverified until a message went through, healthy, or broken (Slack refused
//! the destination for good; its alerts are held until it is fixed).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    Unverified,
    Healthy,
    Broken,
}

impl ChannelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Unverified => "unverified",
            ChannelState::Healthy => "healthy",
            ChannelState::Broken => "broken",
        }
    }

    pub fn parse(s: &str) -> Result<ChannelState, String> {
        match s {
            "unverified" => Ok(ChannelState::Unverified),
            "healthy" => Ok(ChannelState::Healthy),
            "broken" => Ok(ChannelState::Broken),
            other => Err(format!(
                "unknown channel state {other:?}; expected unverified, healthy or broken"
            )),
        }
    }
}

impl fmt::Display for ChannelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
