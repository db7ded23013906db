//! What a service operation refuses, in terms of the domain; each edge shows it in its own form (an HTTP status and
//! JSON, an HTML page, a Slack message).

use fence_core::{FieldError, FieldErrors};
use fence_store::StoreError;
use std::fmt;

/// Why a service operation did nothing.
#[derive(Debug)]
pub enum ServiceError {
    /// The input broke a rule; the errors name their fields.
    Invalid(FieldErrors),
    /// The input is not the expected shape at all.
    Malformed(String),
    /// The named thing does not exist in the caller's organization.
    NotFound(&'static str),
    /// The organization's plan does not include this.
    PlanLimit(String),
    /// The operation contradicts what is stored.
    Conflict(String),
    /// A feature is used that Fence's configuration does not enable.
    NotConfigured(String),
    /// The input is larger than Fence accepts.
    TooLarge(String),
    /// Slack (or another service Fence called) refused or failed.
    Upstream(String),
    /// Not possible yet; the same request will succeed shortly (a workspace's first directory read).
    Unavailable(String),
    /// The organization used up a quota; the same request may succeed after `retry_after_secs`.
    Quota {
        message: String,
        retry_after_secs: u64,
    },
    /// The store failed.
    Store(StoreError),
    /// Anything else; logged where it is shown.
    Internal(anyhow::Error),
}

impl ServiceError {
    /// One field's error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Invalid(FieldError::new(field, message).into())
    }

    /// Turns the store's `NotFound` into the name of what was looked for.
    pub fn not_found_as(what: &'static str) -> impl Fn(StoreError) -> ServiceError {
        move |e| match e {
            StoreError::NotFound => ServiceError::NotFound(what),
            other => ServiceError::Store(other),
        }
    }
}

impl ServiceError {
    /// What a user may be shown: the refusal, or a pointer to the log for internal failures (whose details stay
    /// in the log).
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                "internal error; see the server log".into()
            }
            other => other.to_string(),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Invalid(e) => write!(f, "{e}"),
            ServiceError::NotFound(what) => write!(f, "{what} not found"),
            ServiceError::Malformed(m)
            | ServiceError::PlanLimit(m)
            | ServiceError::Conflict(m)
            | ServiceError::NotConfigured(m)
            | ServiceError::TooLarge(m)
            | ServiceError::Upstream(m)
            | ServiceError::Unavailable(m)
            | ServiceError::Quota { message: m, .. } => f.write_str(m),
            ServiceError::Store(e) => write!(f, "store: {e}"),
            ServiceError::Internal(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ServiceError {}

impl From<FieldErrors> for ServiceError {
    fn from(e: FieldErrors) -> Self {
        ServiceError::Invalid(e)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

impl From<anyhow::Error> for ServiceError {
    fn from(e: anyhow::Error) -> Self {
        ServiceError::Internal(e)
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
