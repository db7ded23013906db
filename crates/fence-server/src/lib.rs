//! Fence's server: configuration, the HTTP API (findings, channels, deliveries, health, metrics), the delivery
//! dispatcher, and the wiring that starts them in one process.

pub mod api;
pub mod app;
pub mod auth;
pub mod certs;
pub mod channels;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod digests;
pub mod dispatcher;
pub mod error;
pub mod metrics;
pub mod scan_worker;
pub mod scheduler;
pub mod slack_app;
pub mod triage;
pub mod web;

pub use app::{bootstrap, App, RunningApp};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
