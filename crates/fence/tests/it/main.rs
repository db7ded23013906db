//! End-to-end tests: Fence over HTTP against the test kit's fake Slack, on SQLite always and on PostgreSQL when
//! `FENCE_TEST_DATABASE_URL` is set.

#![allow(clippy::too_many_lines)] // end-to-end scenarios read top to bottom

mod support;

mod accessibility;
mod browser;
mod cert_monitor;
mod channels;
mod cli;
mod coalesced;
mod counts;
mod degraded;
mod delivery;
mod escalations;
mod findings;
mod hardening;
mod imports;
mod intel;
mod links;
mod login;
mod mentions;
mod metadata;
mod minimal;
mod openapi;
mod outages;
pub mod pacing;
mod plans;
mod processes;
mod reads;
mod report_csv;
mod retention;
mod routing;
mod scan_limits;
mod scheduled;
mod secrets;
mod sign_in;
mod silences;
mod slack_access;
mod slack_app;
mod slack_install;
mod slack_strict;
mod snoozes;
mod templates;
mod trends;
mod wakeups;
mod web_text;
