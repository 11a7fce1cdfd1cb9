//! A sandbox CRM: one HTTP server that speaks HubSpot's and Salesforce's wire formats for
//! everything Steward's connectors call, over seeded dirty data, with each CRM's rate
//! limits, error shapes and injectable faults. No test of Steward ever reaches a real CRM.
//! It is never kinder than the real CRMs: HubSpot's search sees a write only after
//! [`HubSpotLimits::search_lag_ms`] (tests that must not wait set 0, or call
//! [`Sandbox::settle_search`]), and its 429s may carry no `Retry-After`.
//!
//! Routes: HubSpot under `/hubspot` (its API base; `/hubspot/oauth/authorize` stands in
//! for app.hubspot.com), Salesforce under `/salesforce` (login host and instance host in
//! one), and `/_sandbox/*` to steer it from tests (faults, token expiry, call counts).
//!
//! Control routes: `GET /_sandbox/stats`, `POST /_sandbox/stats/reset`, `PUT /_sandbox/faults`,
//! `POST /_sandbox/expire-tokens`, `GET /_sandbox/ground-truth`, and the write log:
//! `GET /_sandbox/writes` (a JSON list of [`WriteEntry`], one per record write either CRM
//! applied, in order) and `POST /_sandbox/writes/reset`. In process, the same through
//! [`Sandbox::writes`], [`Sandbox::reset_writes`] and [`Sandbox::writes_per_record`].
//!
//! The CRMs' automation calling Steward (Flow callouts, HubSpot custom workflow actions,
//! signed as each CRM signs) is in [`automation`], with its control routes under
//! `/_sandbox/automation/*`; HubSpot's automation API v4 (action definitions with the
//! developer key [`HUBSPOT_DEVELOPER_API_KEY`], callback completions) is under `/hubspot`.

pub mod automation;
pub mod config;
pub mod generator;
pub mod hubspot;
pub mod salesforce;
mod server;
pub mod snapshot;
mod writes;

pub use config::{Faults, HubSpotLimits, RetryAfter, SalesforceLimits, SandboxConfig};
pub use hubspot::{APP_ID as HUBSPOT_APP_ID, DEVELOPER_API_KEY as HUBSPOT_DEVELOPER_API_KEY};
pub use server::{AppState, Sandbox, Stats, router};
pub use writes::{WriteEntry, WriteLog};

/// OAuth client both sandbox CRMs accept (Steward's config points at these locally).
pub const CLIENT_ID: &str = "steward-sandbox-client";
pub const CLIENT_SECRET: &str = "steward-sandbox-secret";
