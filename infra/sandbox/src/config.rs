//! How a sandbox is set up: data size and seed, each CRM's limits (defaults are the
//! documented figures from the wire reference), and the faults to inject.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Share of API requests answered 429 (with each CRM's body and headers).
    pub rate_429: f64,
    /// Share of API requests answered 500/502/503.
    pub rate_5xx: f64,
    /// Added to every API request.
    pub latency_ms: u64,
    /// Share of API requests whose connection is dropped without an answer.
    pub drop_rate: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_429: 0.0,
            rate_5xx: 0.0,
            latency_ms: 0,
            drop_rate: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubSpotLimits {
    /// Requests per rolling window per account (Professional private app: 190 / 10 s).
    pub burst: u32,
    pub window_ms: u64,
    /// Search requests per second per account (exempt from the burst window).
    pub search_per_sec: u32,
    /// Daily cap; `None` for OAuth apps (no daily cap, no daily headers).
    pub daily: Option<u64>,
    /// Access-token lifetime (HubSpot: 1800 s).
    pub token_ttl_secs: u64,
    /// Whether the burst window is enforced at all.
    pub enforce: bool,
}

impl Default for HubSpotLimits {
    fn default() -> Self {
        Self {
            burst: 190,
            window_ms: 10_000,
            search_per_sec: 5,
            daily: None,
            token_ttl_secs: 1800,
            enforce: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesforceLimits {
    /// The org's rolling 24-hour API request allowance (`api-usage=n/max`).
    pub daily: u64,
    /// Session lifetime; an expired token gets 401 INVALID_SESSION_ID.
    pub session_ttl_secs: u64,
}

impl Default for SalesforceLimits {
    fn default() -> Self {
        Self {
            daily: 100_000,
            session_ttl_secs: 7200,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub seed: u64,
    /// Records generated per main object (contacts/Contact, companies/Account, Lead...).
    pub records: usize,
    /// Share of generated records that are dirty duplicates of another one.
    pub duplicate_rate: f64,
    pub faults: Faults,
    pub hubspot: HubSpotLimits,
    pub salesforce: SalesforceLimits,
    /// Salesforce's authorize answers `error=OAUTH_APP_BLOCKED` instead of a login page.
    pub salesforce_app_blocked: bool,
    /// Where to write the ground-truth duplicate clusters (JSON lines), if anywhere.
    pub ground_truth: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            records: 1_000,
            duplicate_rate: 0.2,
            faults: Faults::default(),
            hubspot: HubSpotLimits::default(),
            salesforce: SalesforceLimits::default(),
            salesforce_app_blocked: false,
            ground_truth: None,
        }
    }
}
