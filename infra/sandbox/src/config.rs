//! How a sandbox is set up: data size and seed, each CRM's limits (defaults are the
//! documented figures from the wire reference), and the faults to inject.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use steward_shared::crm::limits::hubspot as figures;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Share of API requests answered 429 (with each CRM's body and headers).
    pub rate_429: f64,
    /// Share of API requests answered 500/502/503/504.
    pub rate_5xx: f64,
    /// Added to every API request.
    pub latency_ms: u64,
    /// Share of API requests whose connection is dropped without an answer.
    pub drop_rate: f64,
    /// Injected 5xx come from the gateway in front of the CRM instead: 502 or 504 with an
    /// HTML page (`text/html`), not the CRM's JSON error, as a load balancer or CDN answers.
    pub gateway_html: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_429: 0.0,
            rate_5xx: 0.0,
            latency_ms: 0,
            drop_rate: 0.0,
            gateway_html: false,
        }
    }
}

/// What a 429 says about when to come back (`Retry-After`, RFC 9110 §10.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`, as HubSpot's 429s have been seen to carry. [obs]
    #[default]
    Seconds,
    /// `Retry-After: <HTTP-date>`, the header's other form (proxies send it).
    HttpDate,
    /// No `Retry-After` at all: the client must back off on its own.
    Absent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HubSpotLimits {
    /// Requests per rolling window per account for a public OAuth app, as Steward
    /// connects (110 / 10 s). [doc]
    pub burst: u32,
    /// The same for private-app tokens, a bucket of their own (Professional: 190 / 10 s).
    pub private_app_burst: u32,
    pub window_ms: u64,
    /// Search requests per second per account (exempt from the burst window).
    pub search_per_sec: u32,
    /// Daily cap; `None` for OAuth apps (no daily cap, no daily headers).
    pub daily: Option<u64>,
    /// Access-token lifetime (HubSpot: 1800 s).
    pub token_ttl_secs: u64,
    /// Whether the burst window is enforced at all.
    pub enforce: bool,
    /// How every 429 (limits and injected faults alike) says when to come back.
    pub retry_after: RetryAfter,
    /// How long a write (create, update, merge, archive) takes to reach search: until then
    /// search finds the record as it was before, or not at all. HubSpot's search index is
    /// eventually consistent [doc]; 0 makes it immediate.
    pub search_lag_ms: u64,
}

/// Search lag of the default sandbox: a few seconds, as HubSpot's index is seen to lag. [obs]
pub const DEFAULT_SEARCH_LAG_MS: u64 = 3_000;

impl Default for HubSpotLimits {
    fn default() -> Self {
        Self {
            burst: figures::BURST_OAUTH,
            private_app_burst: figures::BURST_PROFESSIONAL,
            window_ms: u64::try_from(figures::WINDOW.as_millis()).unwrap_or(10_000),
            search_per_sec: figures::SEARCH_PER_SEC,
            daily: None,
            token_ttl_secs: figures::TOKEN_TTL.as_secs(),
            enforce: true,
            retry_after: RetryAfter::Seconds,
            search_lag_ms: DEFAULT_SEARCH_LAG_MS,
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
    /// The token answer's `instance_url` instead of the sandbox's own: an org address
    /// Steward must refuse to follow (tests).
    pub salesforce_instance_url: Option<String>,
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
            salesforce_instance_url: None,
            ground_truth: None,
        }
    }
}
