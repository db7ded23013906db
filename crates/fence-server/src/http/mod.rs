//! What the HTTP edges share, without being an edge: the JSON error answer (`{"error": {code, message, field}}`)
//! with the status each refusal implies, bearer-token authentication with scopes, request bodies and query strings.

pub mod auth;
pub mod body;
pub mod client_ip;
pub mod error;
pub mod query;
