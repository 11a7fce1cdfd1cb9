//! Every CRM figure the connectors and the sandbox rely on, in one place, each tagged as in
//! `../shared/reference/crm-wire.md`: [doc] documented, [obs] seen only in third-party code.

use serde::{Deserialize, Serialize};
use std::time::Duration;

pub mod hubspot {
    use std::time::Duration;

    /// Inputs per batch read/create/update/archive call. [obs]
    pub const BATCH_MAX: usize = 100;
    /// `limit` of list calls. [doc]
    pub const LIST_PAGE_MAX: usize = 100;
    /// `limit` of search calls. [doc]
    pub const SEARCH_PAGE_MAX: usize = 200;
    /// Search cannot page past this many results. [doc/obs]
    pub const SEARCH_RESULT_CAP: usize = 10_000;
    /// Filter groups / filters per group / filters in all, per search. [obs]
    pub const SEARCH_MAX_GROUPS: usize = 5;
    pub const SEARCH_MAX_FILTERS_PER_GROUP: usize = 6;
    pub const SEARCH_MAX_FILTERS: usize = 18;
    /// Requests per rolling window: public OAuth apps, and Professional/Enterprise private apps. [doc]
    pub const BURST_OAUTH: u32 = 110;
    pub const BURST_PROFESSIONAL: u32 = 190;
    pub const WINDOW: Duration = Duration::from_secs(10);
    /// Search requests per second per account. [obs]
    pub const SEARCH_PER_SEC: u32 = 5;
    /// The search limit's window: the wait after a `SECONDLY` 429 without `Retry-After`. [sdk]
    pub const SEARCH_WINDOW: Duration = Duration::from_secs(1);
    /// Access-token lifetime. [doc]
    pub const TOKEN_TTL: Duration = Duration::from_secs(1800);
    /// Refresh this long before the token expires.
    pub const REFRESH_MARGIN: Duration = Duration::from_secs(120);
}

pub mod salesforce {
    use std::time::Duration;

    /// Records per sObject Collections call. [doc]
    pub const COLLECTION_MAX: usize = 200;
    /// Records merged into the master per SOAP merge request (3 with the master). [doc]
    pub const MERGE_DUPLICATES_MAX: usize = 2;
    /// Merge requests in one SOAP call. [doc]
    pub const MERGE_REQUESTS_PER_CALL: usize = 200;
    /// LeadConvert entries per SOAP convertLead call. [doc]
    pub const CONVERT_PER_CALL: usize = 100;
    /// Query batch size bounds (`Sforce-Query-Options: batchSize`). [doc]
    pub const QUERY_BATCH_MAX: usize = 2000;
    /// A query locator (`nextRecordsUrl`) expires after this long unused. [doc]
    pub const QUERY_LOCATOR_IDLE: Duration = Duration::from_secs(15 * 60);
    /// Ids per sObject Collections retrieve (`GET /composite/sobjects/{Type}?ids=`): the
    /// collection size, well inside the GET's URL length limit. [obs]
    pub const RETRIEVE_MAX: usize = 200;
    pub const API_VERSION: &str = "v66.0";
}

/// What a run may not eat into: kept for the customer's other integrations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Reserve {
    #[default]
    None,
    /// Percent of the daily limit.
    Percent(u8),
    Absolute(u64),
}

impl Reserve {
    /// How many calls of `daily` Steward may use in all.
    pub fn allowance(self, daily: u64) -> u64 {
        match self {
            Reserve::None => daily,
            Reserve::Percent(p) => daily - daily * u64::from(p.min(100)) / 100,
            Reserve::Absolute(n) => daily.saturating_sub(n),
        }
    }
}

/// The limits one account's connection obeys (per account and tier; defaults from above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Requests per `window` (0 = no client-side limit).
    pub burst: u32,
    pub window: Duration,
    /// Extra window length to absorb network jitter, so the CRM never sees a burst.
    pub margin: Duration,
    pub search_per_sec: Option<u32>,
    /// Steward's own daily cap for this account, if any (the CRM's is read from headers).
    pub daily: Option<u64>,
    pub reserve: Reserve,
}

impl Limits {
    pub fn hubspot_private_professional() -> Self {
        Limits {
            burst: hubspot::BURST_PROFESSIONAL,
            window: hubspot::WINDOW,
            margin: Duration::from_millis(250),
            search_per_sec: Some(hubspot::SEARCH_PER_SEC),
            daily: None,
            reserve: Reserve::None,
        }
    }

    pub fn hubspot_oauth() -> Self {
        Limits {
            burst: hubspot::BURST_OAUTH,
            ..Self::hubspot_private_professional()
        }
    }

    /// Salesforce has no burst window, only the rolling daily allowance (from headers);
    /// a politeness cap keeps Steward from monopolising concurrent-request slots.
    pub fn salesforce() -> Self {
        Limits {
            burst: 250,
            window: Duration::from_secs(10),
            margin: Duration::ZERO,
            search_per_sec: None,
            daily: None,
            reserve: Reserve::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves() {
        assert_eq!(Reserve::None.allowance(1000), 1000);
        assert_eq!(Reserve::Percent(10).allowance(1000), 900);
        assert_eq!(Reserve::Percent(200).allowance(1000), 0);
        assert_eq!(Reserve::Absolute(50).allowance(1000), 950);
        assert_eq!(Reserve::Absolute(5000).allowance(1000), 0);
    }
}
