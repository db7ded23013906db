//! Fence's server, in layers: edges (`api` for JSON, `web` for HTML, `slack_app` for Slack's requests, `workers`
//! for the dispatcher, scan workers and scheduler) parse their input and call `services`, which do the work over
//! the libraries (fence-store, fence-slack, fence-scan, fence-core) with the shared `state`. `app` wires it all
//! into one running process. No edge imports another edge, and no service imports an edge.

#![cfg_attr(test, allow(clippy::too_many_lines))] // test scenarios and tables read top to bottom

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod html;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod services;
pub mod slack_app;
pub mod state;
pub mod web;
pub mod workers;

pub use app::{open_store, App, RunningApp};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use services::bootstrap::{bootstrap, Bootstrap};
pub use state::AppState;
