//! What the HTTP edges share, without being an edge: the JSON error answer (`{"error": {code, message, field}}`)
//! with the status each refusal implies, bearer-token authentication with scopes, request bodies, query strings, the
//! client's address and the session cookies.

pub mod auth;
pub mod body;
pub mod client_ip;
pub mod error;
pub mod json_budget;
pub mod query;
pub mod session;
