//! The `Crm` port: everything Steward reads from or writes to a CRM, in one record model,
//! with adapters for HubSpot, Salesforce and CSV files. Adapters chunk to each CRM's
//! largest batch and go through one rate-limit and retry layer (`transport`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

pub mod csv;
pub mod hubspot;
pub mod limits;
pub mod salesforce;
pub mod transport;
pub mod values;

/// Property values are strings or null, as both CRMs send them.
pub type Properties = BTreeMap<String, Option<String>>;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum CrmKind {
    HubSpot,
    Salesforce,
    Csv,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub properties: Properties,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// HubSpot's property listing the ids merged into a record: a merged record gets a new id,
/// and the old ones resolve to it.
pub const MERGED_IDS: &str = "hs_merged_object_ids";

impl Record {
    /// The ids this record answers for besides its own (HubSpot: those merged into it,
    /// when `MERGED_IDS` was read).
    pub fn merged_ids(&self) -> impl Iterator<Item = &str> {
        self.properties
            .get(MERGED_IDS)
            .and_then(|v| v.as_deref())
            .unwrap_or_default()
            .split([';', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Who a connection acts as. `org_id` is HubSpot's portal id or Salesforce's 18-char org id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub crm: CrmKind,
    pub org_id: String,
    pub user_id: String,
    pub email: String,
    pub name: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmUser {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub active: bool,
}

/// A field's type, as Steward checks values against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Bool,
    Date,
    DateTime,
    Enumeration,
    Email,
    Phone,
    Url,
    Reference,
    Id,
    Other,
}

/// One field of a CRM object, from the CRM's describe (Salesforce) or properties (HubSpot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Field {
    /// The API name a config uses (`lifecyclestage`, `LeadSource`).
    pub name: String,
    /// The name people see in the CRM.
    pub label: String,
    /// What values it takes.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// False for ids, calculated and system fields: never written by a plan.
    pub writable: bool,
    /// Allowed values of an enumeration/picklist.
    pub options: Vec<String>,
    /// No two records may share a value.
    pub unique: bool,
}

/// A CRM object's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ObjectSchema {
    /// The object's API name (`contacts`, `Contact`).
    pub object: String,
    /// Its fields, in the CRM's order.
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    /// Any of `values`.
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    pub property: String,
    pub op: Op,
    #[serde(default)]
    pub values: Vec<String>,
}

impl Clause {
    pub fn new(property: &str, op: Op, values: &[&str]) -> Self {
        Self {
            property: property.to_string(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }
}

/// An OR of AND-groups, which both CRMs can express (HubSpot filterGroups, SOQL WHERE).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Filter {
    pub any_of: Vec<Vec<Clause>>,
}

impl Filter {
    pub fn all(clauses: Vec<Clause>) -> Self {
        Self {
            any_of: vec![clauses],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRequest {
    pub object: String,
    /// Only these are fetched (plus id and timestamps); empty means the CRM's defaults.
    pub properties: Vec<String>,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanPage {
    pub records: Vec<Record>,
    /// Opaque; resumes the scan exactly after this page (it can be checkpointed).
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    pub code: String,
    pub message: String,
}

/// One input's result, in input order. `id` is the record's id (a new one for creates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: Option<String>,
    pub error: Option<RecordError>,
}

impl Outcome {
    pub fn ok(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            error: None,
        }
    }

    pub fn failed(id: Option<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            id,
            error: Some(RecordError {
                code: code.to_string(),
                message: message.into(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub id: String,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeGroup {
    pub primary_id: String,
    pub duplicate_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeOutcome {
    pub primary_id: String,
    /// The record that remains: HubSpot gives merged contacts and companies a new id.
    pub surviving_id: Option<String>,
    pub merged_ids: Vec<String>,
    pub error: Option<RecordError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadConvert {
    pub lead_id: String,
    pub converted_status: String,
    pub account_id: Option<String>,
    pub contact_id: Option<String>,
    pub create_opportunity: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadConvertOutcome {
    pub lead_id: String,
    pub account_id: Option<String>,
    pub contact_id: Option<String>,
    pub opportunity_id: Option<String>,
    pub error: Option<RecordError>,
}

/// API calls as the connection sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    /// Requests this connection sent (retries included).
    pub calls: u64,
    /// What the CRM last said was used today, and its daily limit.
    pub used_today: Option<u64>,
    pub daily_limit: Option<u64>,
    pub burst_limit: u32,
    pub burst_window: Duration,
    pub retries: u64,
    pub throttled: u64,
}

impl ApiUsage {
    /// Why no new run may start when `reserve_percent` of the CRM's daily allowance is kept
    /// for other tools and the CRM says that much is all that is left (None: it may, or
    /// the CRM has not said).
    pub fn reserve_refusal(&self, reserve_percent: u8) -> Option<String> {
        let (used, limit) = (self.used_today?, self.daily_limit?);
        let allowance = limits::Reserve::Percent(reserve_percent).allowance(limit);
        (used >= allowance).then(|| {
            format!(
                "the CRM reports {used} of {limit} daily API calls used; {reserve_percent}% is kept for other tools"
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// The connection must be re-authorized (refresh failed, user inactive, app revoked).
    #[error("the CRM refused the connection's credentials: {0}")]
    Auth(String),
    /// The CRM refused to sign this user in because it says they (or their org) are
    /// deactivated: signing in again cannot help until the CRM's admin reactivates them.
    #[error("the CRM says the user is inactive: {0}")]
    Inactive(String),
    #[error("the CRM user lacks a permission: {0}")]
    Forbidden(String),
    /// The daily API allowance, or the reserve kept for other tools, would be breached.
    #[error("API quota: {0}")]
    Quota(String),
    /// Still throttled after every retry the policy allows.
    #[error("rate limited: {0}")]
    RateLimited(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The CRM rejected the request as invalid (bad property, bad filter).
    #[error("rejected by the CRM: {0}")]
    Rejected(String),
    /// Down or unreachable after retries.
    #[error("the CRM is unavailable: {0}")]
    Unavailable(String),
    /// A non-idempotent call failed in a way that leaves its effect unknown.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
    /// The CRM answered something this connector does not understand.
    #[error("unexpected answer from the CRM: {0}")]
    Protocol(String),
    /// The CRM's answer points Steward's next call (with its token) at an address that is
    /// not the CRM's own.
    #[error("an address that is not the CRM's: {0}")]
    Untrusted(String),
    /// A file standing in for the CRM (`steward run`'s CSV) cannot be read or written:
    /// the message names the file and the line.
    #[error("{0}")]
    File(String),
}

pub type CrmResult<T> = Result<T, CrmError>;

impl CrmError {
    /// The same kind of error, its message passed through `f` (to redact it).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            CrmError::Auth(m) => CrmError::Auth(f(m)),
            CrmError::Inactive(m) => CrmError::Inactive(f(m)),
            CrmError::Forbidden(m) => CrmError::Forbidden(f(m)),
            CrmError::Quota(m) => CrmError::Quota(f(m)),
            CrmError::RateLimited(m) => CrmError::RateLimited(f(m)),
            CrmError::Unsupported(m) => CrmError::Unsupported(f(m)),
            CrmError::NotFound(m) => CrmError::NotFound(f(m)),
            CrmError::Rejected(m) => CrmError::Rejected(f(m)),
            CrmError::Unavailable(m) => CrmError::Unavailable(f(m)),
            CrmError::Ambiguous(m) => CrmError::Ambiguous(f(m)),
            CrmError::Protocol(m) => CrmError::Protocol(f(m)),
            CrmError::Untrusted(m) => CrmError::Untrusted(f(m)),
            CrmError::File(m) => CrmError::File(f(m)),
        }
    }

    /// A short code for outcomes an error kept from being processed (`QUOTA`, `AUTH`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            // A refusal of the user's credentials, as `Auth`.
            CrmError::Auth(_) | CrmError::Inactive(_) => "AUTH",
            CrmError::Forbidden(_) => "FORBIDDEN",
            CrmError::Quota(_) => "QUOTA",
            CrmError::RateLimited(_) => "RATE_LIMITED",
            CrmError::Unsupported(_) => "UNSUPPORTED",
            CrmError::NotFound(_) => "NOT_FOUND",
            CrmError::Rejected(_) => "REJECTED",
            CrmError::Unavailable(_) => "UNAVAILABLE",
            CrmError::Ambiguous(_) => "AMBIGUOUS",
            CrmError::Protocol(_) => "PROTOCOL",
            CrmError::Untrusted(_) => "UNTRUSTED",
            CrmError::File(_) => "FILE",
        }
    }
}

impl From<CrmError> for crate::Error {
    fn from(e: CrmError) -> Self {
        use crate::Error;
        match e {
            CrmError::Auth(m) | CrmError::Inactive(m) => Error::SignInAgain(format!(
                "the CRM refused your connection ({m}); sign in again to reconnect"
            )),
            CrmError::Forbidden(m) => Error::Forbidden(m),
            CrmError::NotFound(m) => Error::NotFound(m),
            CrmError::Rejected(m) | CrmError::Unsupported(m) => Error::invalid("crm", m),
            CrmError::File(m) => Error::invalid("csv", m),
            CrmError::Quota(m) | CrmError::RateLimited(m) | CrmError::Unavailable(m) => {
                Error::Unavailable(m)
            }
            CrmError::Ambiguous(m) | CrmError::Protocol(m) | CrmError::Untrusted(m) => {
                Error::unexpected(m)
            }
        }
    }
}

#[async_trait]
pub trait Crm: Send + Sync {
    fn kind(&self) -> CrmKind;

    /// Object names this CRM serves (`contacts`, `companies`, `deals`; `Contact`, ...).
    fn objects(&self) -> &'static [&'static str];

    async fn identity(&self) -> CrmResult<Identity>;

    async fn list_users(&self) -> CrmResult<Vec<CrmUser>>;

    async fn describe(&self, object: &str) -> CrmResult<ObjectSchema>;

    /// One page of a scan; pass the returned cursor to continue. Values are as the CRM
    /// holds them now, but a filtered scan may miss or include a record written moments
    /// ago (HubSpot's search lags writes): check the filter again on the values.
    async fn scan_page(&self, request: &ScanRequest, cursor: Option<&str>) -> CrmResult<ScanPage>;

    /// Records by id, in the CRM's largest batches; missing ids are left out.
    async fn batch_read(
        &self,
        object: &str,
        ids: &[String],
        properties: &[String],
    ) -> CrmResult<Vec<Record>>;

    async fn batch_create(&self, object: &str, records: &[Properties]) -> CrmResult<Vec<Outcome>>;

    async fn batch_update(&self, object: &str, updates: &[Update]) -> CrmResult<Vec<Outcome>>;

    /// Archive (HubSpot) or delete to the recycle bin (Salesforce).
    async fn batch_archive(&self, object: &str, ids: &[String]) -> CrmResult<Vec<Outcome>>;

    /// Merges each group into its primary, in as few calls as the CRM allows.
    async fn merge(&self, object: &str, groups: &[MergeGroup]) -> CrmResult<Vec<MergeOutcome>>;

    /// Salesforce only.
    async fn convert_leads(&self, converts: &[LeadConvert]) -> CrmResult<Vec<LeadConvertOutcome>>;

    fn api_usage(&self) -> ApiUsage;

    /// HubSpot: lets custom workflow actions blocked on Steward go on, each with
    /// `output_fields` (`hs_execution_state` SUCCESS or FAIL_CONTINUE, and Steward's own).
    async fn complete_workflow_actions(
        &self,
        callback_ids: &[String],
        _output_fields: &serde_json::Map<String, serde_json::Value>,
    ) -> CrmResult<()> {
        Err(CrmError::Unsupported(format!(
            "{} has no workflow action callbacks ({} waiting)",
            self.kind_name(),
            callback_ids.len()
        )))
    }

    fn kind_name(&self) -> &'static str {
        match self.kind() {
            CrmKind::HubSpot => "HubSpot",
            CrmKind::Salesforce => "Salesforce",
            CrmKind::Csv => "a CSV file",
        }
    }
}

/// An OAuth client registered with the CRM (Steward's connected app / public app).
#[derive(Clone, Debug)]
pub struct OAuthApp {
    /// HubSpot `…/oauth/v1/token`; Salesforce `{login host}/services/oauth2/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: secrecy::SecretString,
}

/// A connection's tokens. Salesforce sends no expiry (`expires_at` None): a 401 tells.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access_token: secrecy::SecretString,
    pub refresh_token: Option<secrecy::SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Told about refreshed tokens, so they can be stored (through the `Secrets` port), and
/// about a refresh the CRM refused, so whoever relies on the connection can be told.
#[async_trait]
pub trait TokenSink: Send + Sync {
    async fn tokens_refreshed(&self, tokens: &Tokens);

    /// The CRM refused the refresh token (revoked, expired, the app uninstalled or the
    /// user deactivated): the connection works again only after a new sign-in. `why` is
    /// the CRM's reason, with no token in it.
    async fn refresh_refused(&self, _refused: &Tokens, _why: &str) {}
}

/// Every page of a scan, for callers that want it all (tests, small objects).
pub async fn scan_all(crm: &dyn Crm, request: &ScanRequest) -> CrmResult<Vec<Record>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = crm.scan_page(request, cursor.as_deref()).await?;
        out.extend(page.records);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}
