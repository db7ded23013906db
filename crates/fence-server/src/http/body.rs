//! Request bodies for the HTTP edges: the size limit (a larger body is read to its end and refused with 413), JSON
//! bodies, and the check that refuses unknown fields by name.

use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::Value;

/// Largest accepted request body (SPEC §3).
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// Largest accepted batch of findings.
pub const MAX_FINDINGS: usize = 10_000;

/// The API's routes; the wiring adds the other edges, the fallback and the body limit.
/// Refuses a field that is not in `allowed`, naming it and the fields that are.
pub fn only_fields(obj: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let (last, rest) = allowed.split_last().unwrap_or((&"", &[]));
            let list = if rest.is_empty() {
                last.to_string()
            } else {
                format!("{} or {last}", rest.join(", "))
            };
            Err(ApiError::invalid(
                k.clone(),
                format!("unknown field; expected {list}"),
            ))
        }
    }
}

/// Reads a body of at most [`MAX_BODY`] bytes. A larger one is read to its end (up to a bound) and discarded, so the
/// client receives the 413 instead of a connection closed under it.
pub async fn read_limited(req: Request) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    const DRAIN_MAX: usize = 8 * MAX_BODY;
    let mut stream = req.into_body().into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::malformed("cannot read the request body"))?;
        seen += chunk.len();
        if seen <= MAX_BODY {
            buf.extend_from_slice(&chunk);
        } else if seen > DRAIN_MAX {
            break;
        }
    }
    if seen > MAX_BODY {
        return Err(ApiError::too_large(format!(
            "the body is larger than {} MiB",
            MAX_BODY / 1024 / 1024
        )));
    }
    Ok(Bytes::from(buf))
}

/// A JSON body: 413 over the size limit, 400 when it is not JSON. An empty body reads as `{}`.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_limited(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Object(Default::default())));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))
    }
}
