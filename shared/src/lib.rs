//! Steward's library: the domain, module engines, ports with their AWS and embedded
//! adapters, and the HTTP plumbing every Lambda function and `steward serve` share.

pub mod api;
pub mod app;
pub mod automation;
pub mod aws;
pub mod clock;
pub mod config;
pub mod console;
pub mod crm;
pub mod crm_schema;
pub mod crypto;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod error;
pub mod http;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod lambda;
pub mod local_files;
pub mod modules;
pub mod openapi;
pub mod ports;
pub mod recipes;
pub mod reports;
pub mod runs;
pub mod schedule_expr;
pub mod schedules;
pub mod schema;
pub mod stream;
pub mod telemetry;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod wiring;

pub use app::Services;
pub use error::{Error, Result};
