//! Fence's Slack adapter: the only place that knows Slack's (and Mattermost's) wire formats — escaping, Block Kit
//! limits, message rendering, webhook URL rules, the HTTP client and the classification of Slack's answers.

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

pub mod answer;
pub mod buttons;
pub mod client;
pub mod escape;
pub mod limits;
pub mod membership;
pub mod render;
pub mod signature;
pub mod template;
pub mod users;
pub mod webapi;
pub mod webhook;

pub use answer::{bot_fix, classify, degraded_hint, hint_for, is_bot_refusal, SendOutcome};
pub use buttons::{ButtonSigner, ButtonValue};
pub use client::WebhookClient;
pub use membership::Access;
pub use render::{render, RenderContext};
pub use users::{SlackUser, UserCache};
pub use webapi::{DirectoryList, ListError, Page, Posted, WebApi};
pub use webhook::{WebhookHosts, WebhookUrl};
