//! The services: every operation on findings, channels, scans, digests and certificates, whichever edge asked for
//! it (the API, the web UI, the Slack app, the workers or the CLI). Services know neither HTTP nor HTML nor Slack's
//! requests; they take domain types and return domain types or a [`ServiceError`].

pub mod bootstrap;
pub mod certificates;
pub mod channels;
pub mod deliveries;
pub mod digests;
pub mod directory;
mod error;
pub mod findings;
pub mod intel;
pub mod membership;
pub mod org;
pub mod retention;
pub mod scans;
pub mod sign_in;
pub mod silences;
pub mod slack_access;
pub mod tokens;
pub mod triage;

pub use error::{ServiceError, ServiceResult};
