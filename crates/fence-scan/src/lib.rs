//! Fence's scanners: importers that turn other scanners' output into findings, and Fence's built-in checks (TLS
//! certificate, security headers) against a target that may not be private unless allowed.

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

pub mod checks;
pub mod headers;
pub mod import;
pub mod target;
pub mod tls;
