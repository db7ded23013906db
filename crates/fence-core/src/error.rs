//! Validation errors that name the offending field (`findings[3].severity`).

use std::fmt;

/// The most items any list a client sends may have (filters, mentions, `triage_allow`, categories, …): longer ones
/// are refused with a 422 naming the field, before any item is looked at.
pub const MAX_LIST_ITEMS: usize = 500;

/// The refusal of a list longer than [`MAX_LIST_ITEMS`], naming it, or `None`.
pub fn too_many_items(field: &str, len: usize) -> Option<FieldError> {
    (len > MAX_LIST_ITEMS).then(|| {
        FieldError::new(
            field,
            format!("must have at most {MAX_LIST_ITEMS} items (it has {len})"),
        )
    })
}

/// One invalid field: its path in the request and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Prefixes the field path, e.g. `severity` under `findings[3]` becomes `findings[3].severity`.
    pub fn under(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.field = if self.field.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}.{}", self.field)
            };
        }
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Several field errors; the first is the one reported as `error.field`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }

    /// The first error with the fields of the others: `name: is required (and 2 more: type, webhook_url)`.
    pub fn summary(&self) -> String {
        let Some(first) = self.0.first() else {
            return ": invalid input".into();
        };
        let mut out = first.to_string();
        if self.0.len() > 1 {
            let others: Vec<&str> = self.0[1..].iter().map(|f| f.field.as_str()).collect();
            out = format!("{out} (and {} more: {})", others.len(), others.join(", "));
        }
        out
    }
    pub fn into_result<T>(self, ok: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        FieldErrors(vec![e])
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}
