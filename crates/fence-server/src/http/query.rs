//! Query strings the API reads: a query that does not fit the handler's parameters (a parameter given twice, a
//! number that is not one) is a `400` in the API's JSON error shape naming the parameter, never a plain-text answer.

use super::error::ApiError;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `axum::extract::Query` with the API's error answer.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

/// The parameter a query-string error is about: serde names it between backticks (`duplicate field `severity``).
fn field_of(message: &str) -> Option<String> {
    let name = message.split('`').nth(1)?;
    (!name.is_empty() && name.len() <= 64).then(|| name.to_string())
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let mut err =
                    ApiError::malformed(format!("the query string is not valid: {detail}"));
                err.field = field_of(detail);
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn the_parameter_is_named_when_serde_names_it() {
        assert_eq!(
            field_of("duplicate field `severity`").as_deref(),
            Some("severity")
        );
        assert_eq!(field_of("invalid digit found in string"), None);
    }
}
