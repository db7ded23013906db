//! Message metadata on `chat.postMessage` as Slack reads it: `metadata` must be an object (or its JSON as a string,
//! in a form-encoded call) with a string `event_type` and an object `event_payload`, else `invalid_metadata_format`
//! and nothing is posted; an `event_type` with characters other than letters, digits, `_` and `-` (or over 255) is
//! posted without its metadata and answered with the warning `invalid_metadata_schema`. Beyond Slack's documented
//! checks, the fake refuses a `null` anywhere in the payload (`invalid_metadata_format`): Fence promises to leave
//! absent fields out, and this holds it to that.

use serde_json::Value;

/// The most bytes of metadata Slack takes (`metadata_too_large` beyond).
const MAX_BYTES: usize = 8 * 1024;

/// What the post's metadata means: none, kept (`Ok(Some)`), or dropped with a warning; or the refusal.
pub(crate) enum Read {
    None,
    Kept(Value),
    Dropped(&'static str),
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

pub(crate) fn read(body: &Value) -> Result<Read, &'static str> {
    let m = match body.get("metadata") {
        None => return Ok(Read::None),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| "invalid_metadata_format")?,
        Some(v) => v.clone(),
    };
    if m.to_string().len() > MAX_BYTES {
        return Err("metadata_too_large");
    }
    let (Some(event_type), Some(payload)) = (m["event_type"].as_str(), m.get("event_payload"))
    else {
        return Err("invalid_metadata_format");
    };
    if !payload.is_object() || has_null(payload) {
        return Err("invalid_metadata_format");
    }
    let valid_type = !event_type.is_empty()
        && event_type.len() <= 255
        && event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_type {
        return Ok(Read::Dropped("invalid_metadata_schema"));
    }
    Ok(Read::Kept(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_is_read_as_slack_reads_it() {
        assert!(matches!(read(&json!({})), Ok(Read::None)));
        let good =
            json!({"metadata": {"event_type": "fence_finding", "event_payload": {"id": "f1"}}});
        assert!(matches!(read(&good), Ok(Read::Kept(_))));
        let as_string = json!({"metadata": good["metadata"].to_string()});
        assert!(matches!(read(&as_string), Ok(Read::Kept(_))));
        for bad in [
            json!({"metadata": "not json"}),
            json!({"metadata": {"event_type": "x"}}),
            json!({"metadata": {"event_type": "x", "event_payload": [1]}}),
            json!({"metadata": {"event_type": "x", "event_payload": {"cve": null}}}),
            json!({"metadata": {"event_payload": {}}}),
        ] {
            assert_eq!(read(&bad).err(), Some("invalid_metadata_format"), "{bad}");
        }
        let dotted = json!({"metadata": {"event_type": "fence.finding", "event_payload": {}}});
        assert!(matches!(
            read(&dotted),
            Ok(Read::Dropped("invalid_metadata_schema"))
        ));
        let big =
            json!({"metadata": {"event_type": "x", "event_payload": {"a": "b".repeat(9000)}}});
        assert_eq!(read(&big).err(), Some("metadata_too_large"));
    }
}
