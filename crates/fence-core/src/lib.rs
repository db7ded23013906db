//! Fence's domain core: validated finding input, severities and CVSS, categories, alerts, channel routing rules and
//! the delivery retry policy. It performs no I/O and knows nothing of HTTP, SQL, Slack's JSON or tokio.

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

pub mod access;
pub mod alert;
pub mod category;
pub mod certificate;
pub mod channel;
pub mod cvss_score;
pub mod digest;
pub mod domain;
pub mod error;
pub mod finding;
pub mod health;
pub mod intel;
pub mod json_budget;
pub mod retry;
pub mod severity;
pub mod silence;
pub mod text;
pub mod time;

pub use access::{Role, Scope};
pub use alert::{Alert, AlertType, VulnerabilityAlert};
pub use category::Category;
pub use channel::{ChannelConfig, ChannelKind, Detail, Filters, MessageFormat};
pub use cvss_score::Cvss;
pub use domain::DomainName;
pub use error::{too_many_items, FieldError, FieldErrors, MAX_LIST_ITEMS};
pub use finding::{FindingStatus, Fingerprint, NewFinding};
pub use health::ChannelState;
pub use severity::Severity;
pub mod secret;
pub use secret::Secret;
pub mod plan;
pub use plan::Plan;
