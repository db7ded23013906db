//! Request bodies for the HTTP edges: the size limit (a larger body is read to its end and refused with 413), JSON
//! bodies within the memory budget of `json_budget`, the check that refuses unknown fields by name, and large uploads spooled to a temporary file.

use crate::http::error::ApiError;
use crate::http::json_budget::BodyMemory;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use fence_core::json_budget;
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
pub async fn read_limited(req: Request, memory: &mut BodyMemory) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    const DRAIN_MAX: usize = 8 * MAX_BODY;
    let mut stream = req.into_body().into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::malformed("cannot read the request body"))?;
        seen += chunk.len();
        if seen <= MAX_BODY {
            memory.grow(chunk.len()).ok_or_else(busy)?;
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

/// How much of a refused upload is still read (and dropped) so the client receives the 413 instead of a closed
/// connection; beyond it the connection is closed.
const SPOOL_DRAIN_MAX: u64 = 64 * 1024 * 1024;

/// Writes a body of at most `max` bytes to a temporary file (removed when the returned path is dropped), never
/// holding more than one chunk in memory. A larger body (by its `Content-Length` or as it arrives) is refused with
/// 413 naming `key`, the setting that limits it, and nothing of it is kept.
pub async fn spool(req: Request, max: u64, key: &str) -> Result<tempfile::TempPath, ApiError> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let too_large = || {
        ApiError::too_large(format!(
            "the file is larger than {key} ({max} bytes); raise {key} or split the file"
        ))
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let internal =
        |e: std::io::Error| ApiError::from(crate::services::ServiceError::Internal(e.into()));
    let tmp = tempfile::NamedTempFile::new().map_err(internal)?;
    let (file, path) = tmp.into_parts();
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
    let mut stream = req.into_body().into_data_stream();
    let mut seen = 0u64;
    let over_from_start = declared.is_some_and(|n| n > max);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::malformed("cannot read the request body"))?;
        seen += chunk.len() as u64;
        if seen > max || over_from_start {
            if seen > max.saturating_add(SPOOL_DRAIN_MAX) {
                break;
            }
            continue;
        }
        out.write_all(&chunk).await.map_err(internal)?;
    }
    if seen > max || over_from_start {
        return Err(too_large());
    }
    out.flush().await.map_err(internal)?;
    Ok(path)
}

/// A JSON body: 413 over the size limit or when its values would cost more than `fence_core::json_budget::MAX_TREE` parsed,
/// 400 when it is not JSON, 503 while request bodies in flight hold the memory they may. An empty body reads as `{}`.
/// The second field is the body's share of that memory: a handler keeps it as long as it keeps the value.
pub struct JsonBody(pub Value, pub BodyMemory);

/// The answer while request bodies in flight hold all the memory they may (`json_budget`).
fn busy() -> ApiError {
    ApiError {
        retry_after: Some(1),
        ..ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "retry_later",
            "the server is holding as many request bodies as it takes at once; retry in a moment",
        )
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let mut raw = BodyMemory::none();
        let bytes = read_limited(req, &mut raw).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Object(Default::default()), raw));
        }
        let (value, cost) = json_budget::parse(&bytes, json_budget::MAX_TREE).map_err(|e| match e {
            json_budget::ParseError::Syntax(e) => {
                ApiError::malformed(format!("the body is not valid JSON: {e}"))
            }
            json_budget::ParseError::TooManyValues(_) => ApiError::too_large(format!(
                "the body holds too many JSON values (more than {} MiB once parsed); send fewer findings per request",
                json_budget::MAX_TREE / 1024 / 1024
            )),
        })?;
        drop(bytes);
        let mut parsed = BodyMemory::none();
        parsed.grow(cost).ok_or_else(busy)?;
        drop(raw);
        Ok(JsonBody(value, parsed))
    }
}
