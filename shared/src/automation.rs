//! CRM automation: the Owner activates it for the account (Settings → CRM account), and
//! the CRM's own automation then runs recipes through signed calls.
//!
//! - **Activation** keeps `ACCT#<a>` / `AUTOMATION` (active, the coalescing window, the
//!   API reserve) and a signing secret in the Secrets port (`automation/<a>/signing`).
//!   Rotation keeps the previous secret valid for `ROTATION_OVERLAP`; deactivation deletes
//!   both, and every later call is a 403. Only the Owner activates, rotates or deactivates.
//! - **Salesforce Flows** (and any caller that holds the secret) call
//!   `POST /hooks/{crm}/recipes/{recipe_id}` signed with Steward's scheme v1: headers
//!   `X-Steward-Account`, `X-Steward-Timestamp` (Unix seconds, within 5 minutes) and
//!   `X-Steward-Signature: v1=<hex HMAC-SHA256(secret, "{ts}:{METHOD}:{path}:{sha256_hex(body)}")>`.
//! - **HubSpot workflows** call Steward's custom workflow action
//!   (`POST /hooks/hubspot/workflow-action`), signed by HubSpot with Steward's app client
//!   secret (`X-HubSpot-Signature-v3`, else v2). The action answers at once with
//!   `hs_execution_state: BLOCK`; the recipe run completes it when it ends.
//!
//! What a call may do is checked before anything is stored: the signature, then the
//! body, then the recipe (of that account). Then `recipes::invoke` coalesces it.

use crate::ids::AccountId;
use chrono::{DateTime, Duration, Utc};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::{UsesClock, UsesCrm, UsesItems, UsesLinks, UsesRunQueue, UsesSecrets};
use crate::crm::CrmKind;
use crate::crypto;
use crate::error::{Error, FieldError, Result};
use crate::identity::{Need, Principal, authorize};
use crate::ports::items::{Condition, Item};
use crate::recipes::{self, Accepted, Invocation};

/// How far a signed call's timestamp may be from Steward's clock.
pub const SIGNATURE_WINDOW: Duration = Duration::minutes(5);
/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(1);
pub const DEFAULT_WINDOW_SECONDS: u32 = 10;
pub const MAX_WINDOW_SECONDS: u32 = 300;
pub const DEFAULT_RESERVE_PERCENT: u8 = 10;

pub const ACCOUNT_HEADER: &str = "x-steward-account";
pub const TIMESTAMP_HEADER: &str = "x-steward-timestamp";
pub const SIGNATURE_HEADER: &str = "x-steward-signature";

fn secret_name(account_id: &AccountId) -> String {
    format!("automation/{account_id}/signing")
}

fn previous_secret_name(account_id: &AccountId) -> String {
    format!("automation/{account_id}/signing-previous")
}

/// The account's automation settings, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Settings {
    active: bool,
    window_seconds: u32,
    reserve_percent: u8,
    activated_by_email: Option<String>,
    activated_at: Option<DateTime<Utc>>,
    rotated_at: Option<DateTime<Utc>>,
    previous_valid_until: Option<DateTime<Utc>>,
    #[serde(skip)]
    version: u64,
}

/// What the Owner and admins see in Settings → CRM account.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AutomationView {
    pub active: bool,
    pub account_id: String,
    pub crm: CrmKind,
    /// Where Salesforce (or any caller with the secret) sends a recipe's calls:
    /// `{recipe_id}` is the recipe's id.
    pub endpoint: String,
    /// HubSpot: the custom workflow action's URL (registered once per deployment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hubspot_action_url: Option<String>,
    /// The value a caller sends in `X-Steward-Account`.
    pub account_header: String,
    /// Calls for one recipe within this many seconds join one recipe run.
    pub window_seconds: u32,
    /// Percent of the CRM's daily API allowance kept for other tools.
    pub reserve_percent: u8,
    pub activated_by_email: Option<String>,
    pub activated_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    /// After a rotation, the previous secret still signs until then.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// `POST /account/automation/activate`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationInput {
    /// Seconds calls for one recipe join one recipe run (default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 300))]
    pub window_seconds: Option<u32>,
    /// Percent of the daily API allowance kept for other tools (default 10).
    #[serde(default)]
    #[schemars(range(max = 90))]
    pub reserve_percent: Option<u8>,
}

/// The answer to activation and rotation: the secret, shown this once.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Activated {
    pub automation: AutomationView,
    /// Paste it into the CRM side (Salesforce: the External Credential's `SigningSecret`).
    /// Steward shows it only now.
    pub signing_secret: String,
}

async fn load(s: &impl UsesItems, account_id: &AccountId) -> Result<Settings> {
    match s
        .items()
        .get(&crate::keys::account(account_id), crate::keys::AUTOMATION)
        .await?
    {
        Some(item) => {
            let mut st: Settings = item.decode("automation settings")?;
            st.version = item.version;
            Ok(st)
        }
        None => Ok(Settings {
            window_seconds: DEFAULT_WINDOW_SECONDS,
            reserve_percent: DEFAULT_RESERVE_PERCENT,
            ..Settings::default()
        }),
    }
}

async fn save(s: &impl UsesItems, account_id: &AccountId, st: &Settings) -> Result<()> {
    let cond = match st.version {
        0 => Condition::Absent,
        v => Condition::Version(v),
    };
    s.items()
        .put(
            Item::of(
                crate::keys::account(account_id),
                crate::keys::AUTOMATION,
                st.version,
                st,
            )?,
            cond,
        )
        .await
        .map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict(
                "the automation settings changed meanwhile; look at them again".into(),
            ),
            e => e,
        })?;
    Ok(())
}

fn view(s: &impl UsesLinks, who: &Principal, st: &Settings) -> AutomationView {
    let base = s.web_base_url().trim_end_matches('/');
    let crm = crate::identity::crm_name(who.crm);
    AutomationView {
        active: st.active,
        account_id: who.account_id.to_string(),
        crm: who.crm,
        endpoint: format!("{base}/hooks/{crm}/recipes/{{recipe_id}}"),
        hubspot_action_url: (who.crm == CrmKind::HubSpot)
            .then(|| format!("{base}/hooks/hubspot/workflow-action")),
        account_header: who.account_id.to_string(),
        window_seconds: st.window_seconds,
        reserve_percent: st.reserve_percent,
        activated_by_email: st.activated_by_email.clone(),
        activated_at: st.activated_at,
        rotated_at: st.rotated_at,
        previous_valid_until: st.previous_valid_until,
    }
}

/// A new signing secret, stored as the account's current one.
async fn store_new_secret(s: &impl UsesSecrets, account_id: &AccountId) -> Result<String> {
    let secret = format!("whsec_{}", crypto::random_token()?);
    s.secrets()
        .put(&secret_name(account_id), SecretString::from(secret.clone()))
        .await?;
    Ok(secret)
}

/// `GET /account/automation` (owners and admins).
pub async fn get(s: &(impl UsesItems + UsesLinks), who: &Principal) -> Result<AutomationView> {
    authorize(who, Need::Admin)?;
    Ok(view(s, who, &load(s, &who.account_id).await?))
}

/// `POST /account/automation/activate` (the Owner): a new signing secret, shown once.
pub async fn activate(
    s: &(impl UsesItems + UsesClock + UsesSecrets + UsesLinks),
    who: &Principal,
    input: ActivationInput,
) -> Result<Activated> {
    authorize(who, Need::Owner)?;
    let mut errors = Vec::new();
    if input
        .window_seconds
        .is_some_and(|w| w == 0 || w > MAX_WINDOW_SECONDS)
    {
        errors.push(FieldError::new(
            "/window_seconds",
            format!("must be 1 to {MAX_WINDOW_SECONDS} seconds"),
        ));
    }
    if input.reserve_percent.is_some_and(|p| p > 90) {
        errors.push(FieldError::new(
            "/reserve_percent",
            "must be 0 to 90 (percent of the daily API allowance kept for other tools)",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid_all(errors));
    }
    let mut st = load(s, &who.account_id).await?;
    if st.active {
        return Err(Error::Conflict(
            "CRM automation is already active; rotate the secret to get a new one".into(),
        ));
    }
    let secret = store_new_secret(s, &who.account_id).await?;
    let now = s.clock().now();
    st.active = true;
    st.window_seconds = input.window_seconds.unwrap_or(DEFAULT_WINDOW_SECONDS);
    st.reserve_percent = input.reserve_percent.unwrap_or(DEFAULT_RESERVE_PERCENT);
    st.activated_by_email = Some(who.email.clone());
    st.activated_at = Some(now);
    st.rotated_at = None;
    st.previous_valid_until = None;
    save(s, &who.account_id, &st).await?;
    tracing::info!(account_id = %who.account_id, "CRM automation activated");
    Ok(Activated {
        automation: view(s, who, &st),
        signing_secret: secret,
    })
}

/// `POST /account/automation/rotate` (the Owner): a new secret; the previous one still
/// signs for `ROTATION_OVERLAP`, so the CRM side can be updated without a gap.
pub async fn rotate(
    s: &(impl UsesItems + UsesClock + UsesSecrets + UsesLinks),
    who: &Principal,
) -> Result<Activated> {
    authorize(who, Need::Owner)?;
    let mut st = load(s, &who.account_id).await?;
    if !st.active {
        return Err(Error::Conflict(
            "CRM automation is not active: activate it first".into(),
        ));
    }
    if let Some(current) = s.secrets().get(&secret_name(&who.account_id)).await? {
        s.secrets()
            .put(&previous_secret_name(&who.account_id), current)
            .await?;
    }
    let secret = store_new_secret(s, &who.account_id).await?;
    let now = s.clock().now();
    st.rotated_at = Some(now);
    st.previous_valid_until = Some(now + ROTATION_OVERLAP);
    save(s, &who.account_id, &st).await?;
    tracing::info!(account_id = %who.account_id, "CRM automation secret rotated");
    Ok(Activated {
        automation: view(s, who, &st),
        signing_secret: secret,
    })
}

/// `POST /account/automation/deactivate` (the Owner): every later call is a 403.
pub async fn deactivate(
    s: &(impl UsesItems + UsesSecrets + UsesLinks),
    who: &Principal,
) -> Result<AutomationView> {
    authorize(who, Need::Owner)?;
    let mut st = load(s, &who.account_id).await?;
    st.active = false;
    st.previous_valid_until = None;
    save(s, &who.account_id, &st).await?;
    for name in [
        secret_name(&who.account_id),
        previous_secret_name(&who.account_id),
    ] {
        s.secrets().delete(&name).await?;
    }
    tracing::info!(account_id = %who.account_id, "CRM automation deactivated");
    Ok(view(s, who, &st))
}

// ---- signatures ---------------------------------------------------------------------------

/// Steward's v1 signed message: `{timestamp}:{METHOD}:{path}:{sha256_hex(body)}`.
pub fn signed_message(timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
    format!(
        "{timestamp}:{}:{path}:{}",
        method.to_ascii_uppercase(),
        crypto::sha256_hex(body)
    )
}

/// `v1=<hex HMAC-SHA256>` of `message` under `secret` (what a caller sends).
pub fn sign(secret: &str, message: &str) -> String {
    format!(
        "v1={}",
        crypto::hex(&crypto::hmac_sha256(secret.as_bytes(), message.as_bytes()))
    )
}

/// Whether `header` (one or more comma-separated `v1=<hex>`) carries a signature of
/// `message` under one of `secrets`; constant-time per comparison.
pub fn signature_matches(header: &str, message: &str, secrets: &[&str]) -> bool {
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(crypto::from_hex)
        .any(|tag| {
            secrets
                .iter()
                .any(|k| crypto::hmac_sha256_matches(k.as_bytes(), message.as_bytes(), &tag))
        })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A timestamp within the window of `now`, else why not.
fn fresh(timestamp: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if (now - timestamp).abs() > SIGNATURE_WINDOW {
        return Err(Error::BadSignature(format!(
            "the request's timestamp is more than {} minutes from Steward's clock (sign each request when it is sent)",
            SIGNATURE_WINDOW.num_minutes()
        )));
    }
    Ok(())
}

/// The account's settings, when automation is active for it (else a 403).
async fn active(s: &impl UsesItems, account_id: &AccountId) -> Result<Settings> {
    let st = load(s, account_id).await?;
    if !st.active {
        return Err(Error::Forbidden(format!(
            "CRM automation is not active for {account_id}: the account's Owner activates it in Steward (Settings → CRM account)"
        )));
    }
    Ok(st)
}

/// A signed request as it arrived.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent, without the query.
    pub path: &'a str,
    /// The query as sent (without `?`), for HubSpot's signed URI.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// What a v1 caller sends.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookInput {
    /// The caller's id of this call: a call delivered again carries the same, and starts
    /// nothing new.
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9._:-]+$"))]
    pub invocation_id: String,
    /// The records to run the recipe on (of the recipe's object).
    #[schemars(length(min = 1, max = 2000))]
    pub record_ids: Vec<String>,
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let (pointer, message) = crate::http::serde_problem(e.path(), &e.inner().to_string());
        Error::invalid(pointer, message)
    })
}

/// `POST /hooks/{crm}/recipes/{recipe_id}` signed with Steward's scheme v1.
pub async fn hook(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesRunQueue + UsesSecrets),
    crm: CrmKind,
    recipe_id: &str,
    req: SignedRequest<'_>,
) -> Result<Accepted> {
    let (Some(account_id), Some(ts), Some(signature)) = (
        header(req.headers, ACCOUNT_HEADER),
        header(req.headers, TIMESTAMP_HEADER),
        header(req.headers, SIGNATURE_HEADER),
    ) else {
        return Err(Error::BadSignature(
            "a signed call carries X-Steward-Account, X-Steward-Timestamp and X-Steward-Signature"
                .into(),
        ));
    };
    let refused = || {
        Error::BadSignature(format!(
            "X-Steward-Account `{account_id}` is not a {} account (`{}:<id>`)",
            crate::identity::crm_title(crm),
            crate::identity::crm_name(crm),
        ))
    };
    let account_id: AccountId = account_id.parse().map_err(|_| refused())?;
    if account_id.crm() != crm {
        return Err(Error::BadSignature(format!(
            "X-Steward-Account `{account_id}` is not a {} account (`{}:<id>`)",
            crate::identity::crm_title(crm),
            crate::identity::crm_name(crm),
        )));
    }
    let at = ts
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or_else(|| {
            Error::BadSignature("X-Steward-Timestamp must be Unix time in seconds".into())
        })?;
    fresh(at, s.clock().now())?;
    let settings = active(s, &account_id).await?;
    let mut keys: Vec<SecretString> = Vec::new();
    if let Some(k) = s.secrets().get(&secret_name(&account_id)).await? {
        keys.push(k);
    }
    if settings
        .previous_valid_until
        .is_some_and(|until| until > s.clock().now())
        && let Some(k) = s.secrets().get(&previous_secret_name(&account_id)).await?
    {
        keys.push(k);
    }
    let message = signed_message(ts.trim(), req.method, req.path, req.body);
    let keys: Vec<&str> = keys.iter().map(|k| k.expose_secret()).collect();
    if keys.is_empty() || !signature_matches(signature, &message, &keys) {
        return Err(Error::BadSignature(
            "the signature does not match (sign `{timestamp}:{METHOD}:{path}:{sha256_hex(body)}` with the account's signing secret; see docs/recipes.md)"
                .into(),
        ));
    }
    let input: HookInput = parse_body(req.body)?;
    let ok_id = !input.invocation_id.is_empty()
        && input.invocation_id.len() <= 128
        && input
            .invocation_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c));
    if !ok_id {
        return Err(Error::invalid(
            "/invocation_id",
            "must be 1 to 128 of A-Z a-z 0-9 . _ : -",
        ));
    }
    let record_ids = crate::runs::check_record_ids(&input.record_ids, "/record_ids")?;
    recipes::invoke(
        s,
        Invocation {
            crm,
            account_id: account_id.clone(),
            recipe_id: recipe_id.to_string(),
            invocation_id: input.invocation_id,
            record_ids,
            callback_id: None,
            window: std::time::Duration::from_secs(settings.window_seconds.into()),
            reserve_percent: settings.reserve_percent,
        },
    )
    .await
}

// ---- HubSpot ------------------------------------------------------------------------------

/// HubSpot's v3 URI: these percent-encodings are decoded before signing.
fn hubspot_uri(uri: &str) -> String {
    const DECODE: [(&str, &str); 12] = [
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ];
    let mut out = uri.to_string();
    for (from, to) in DECODE {
        out = out
            .replace(from, to)
            .replace(&from.to_ascii_lowercase(), to);
    }
    out
}

/// Whether HubSpot signed the request with `client_secret`: v3 when its header is there
/// (timestamp within 5 minutes), else v2. `uris` are the full URLs the request may have
/// been sent to (HubSpot signs the URL it called).
fn hubspot_signed(
    client_secret: &str,
    req: &SignedRequest<'_>,
    uris: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let body = std::str::from_utf8(req.body)
        .map_err(|_| Error::invalid("", "the body must be UTF-8 JSON"))?;
    if let Some(sig) = header(req.headers, "x-hubspot-signature-v3") {
        let ts = header(req.headers, "x-hubspot-request-timestamp")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .ok_or_else(|| {
                Error::BadSignature(
                    "X-HubSpot-Request-Timestamp (milliseconds) must come with the v3 signature"
                        .into(),
                )
            })?;
        let at = DateTime::from_timestamp_millis(ts).ok_or_else(|| {
            Error::BadSignature("X-HubSpot-Request-Timestamp is not a time".into())
        })?;
        fresh(at, now)?;
        use base64::Engine;
        let tag = base64::engine::general_purpose::STANDARD
            .decode(sig.trim())
            .map_err(|_| Error::BadSignature("X-HubSpot-Signature-v3 is not base64".into()))?;
        let ok = uris.iter().any(|uri| {
            let message = format!("{}{}{body}{ts}", req.method, hubspot_uri(uri));
            crypto::hmac_sha256_matches(client_secret.as_bytes(), message.as_bytes(), &tag)
        });
        return if ok {
            Ok(())
        } else {
            Err(Error::BadSignature(
                "X-HubSpot-Signature-v3 does not match Steward's HubSpot app".into(),
            ))
        };
    }
    if let Some(sig) = header(req.headers, "x-hubspot-signature") {
        let version = header(req.headers, "x-hubspot-signature-version").unwrap_or("v1");
        let Some(tag) = crypto::from_hex(sig.trim()) else {
            return Err(Error::BadSignature("X-HubSpot-Signature is not hex".into()));
        };
        let ok = uris.iter().any(|uri| {
            let source = match version {
                "v2" => format!("{client_secret}{}{uri}{body}", req.method),
                _ => format!("{client_secret}{body}"),
            };
            crypto::same_bytes(&crypto::sha256(source.as_bytes()), &tag)
        });
        return if ok {
            Ok(())
        } else {
            Err(Error::BadSignature(
                "X-HubSpot-Signature does not match Steward's HubSpot app".into(),
            ))
        };
    }
    Err(Error::BadSignature(
        "a HubSpot call carries X-HubSpot-Signature-v3 (or X-HubSpot-Signature)".into(),
    ))
}

/// The full URLs a HubSpot call may have been sent to: as the request arrived (scheme from
/// `X-Forwarded-Proto`, else the console's), and under the console's base URL.
fn candidate_uris(s: &impl UsesLinks, req: &SignedRequest<'_>) -> Vec<String> {
    let tail = match req.query {
        Some(q) if !q.is_empty() => format!("{}?{q}", req.path),
        _ => req.path.to_string(),
    };
    let base = s.web_base_url().trim_end_matches('/');
    let mut out = vec![format!("{base}{tail}")];
    if let Some(host) = header(req.headers, "host") {
        let scheme = header(req.headers, "x-forwarded-proto")
            .map(str::to_string)
            .unwrap_or_else(|| base.split("://").next().unwrap_or("https").to_string());
        let here = format!("{scheme}://{host}{tail}");
        if !out.contains(&here) {
            out.push(here);
        }
    }
    out
}

fn hubspot_secret(s: &impl UsesCrm) -> Result<String> {
    s.crm_apps()
        .hubspot
        .as_ref()
        .map(|a| a.client_secret.expose_secret().to_string())
        .ok_or_else(|| Error::Forbidden("Steward has no HubSpot app configured".into()))
}

/// The HubSpot object type of a workflow's records as Steward's object name.
fn hubspot_object(object_type: &str) -> String {
    match object_type.to_ascii_uppercase().as_str() {
        "CONTACT" | "0-1" => "contacts".into(),
        "COMPANY" | "0-2" => "companies".into(),
        "DEAL" | "0-3" => "deals".into(),
        "TICKET" | "0-5" => "tickets".into(),
        other => other.to_ascii_lowercase(),
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Origin {
    #[serde(rename = "portalId")]
    portal_id: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct ActionObject {
    #[serde(rename = "objectId")]
    object_id: Value,
    #[serde(rename = "objectType")]
    object_type: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ActionRequest {
    #[serde(rename = "callbackId")]
    callback_id: String,
    origin: Origin,
    object: ActionObject,
    #[serde(rename = "inputFields", default)]
    input_fields: serde_json::Map<String, Value>,
}

/// `POST /hooks/hubspot/workflow-action` (and `/hooks/hubspot/recipes/{id}` when HubSpot
/// signs it): the recipe named by the path or the `recipe_id` input field runs on the
/// enrolled record. Answers HubSpot's way: BLOCK now, completed when the recipe run ends.
pub async fn hubspot_action(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesRunQueue + UsesLinks),
    recipe_in_path: Option<&str>,
    req: SignedRequest<'_>,
) -> Result<Value> {
    let secret = hubspot_secret(s)?;
    hubspot_signed(&secret, &req, &candidate_uris(s, &req), s.clock().now())?;
    let action: ActionRequest = parse_body(req.body)?;
    let account_id = AccountId::new(CrmKind::HubSpot, &action.origin.portal_id.to_string());
    let settings = active(s, &account_id).await?;
    let recipe_id = match recipe_in_path {
        Some(id) => id.to_string(),
        None => action
            .input_fields
            .get("recipe_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::invalid("/inputFields/recipe_id", "choose the recipe to run"))?,
    };
    let record = match &action.object.object_id {
        Value::Number(n) => n.to_string(),
        Value::String(t) => t.clone(),
        _ => return Err(Error::invalid("/object/objectId", "must be a record id")),
    };
    let recipe = recipes::peek(s, &account_id, &recipe_id).await?;
    let object = hubspot_object(&action.object.object_type);
    if object != recipe.object {
        return Err(Error::invalid(
            "/object/objectType",
            format!(
                "the recipe `{}` works on {}; this workflow's records are {object}",
                recipe.name, recipe.object
            ),
        ));
    }
    let accepted = recipes::invoke(
        s,
        Invocation {
            crm: CrmKind::HubSpot,
            account_id,
            recipe_id,
            invocation_id: action.callback_id.clone(),
            record_ids: crate::runs::check_record_ids(&[record], "/object/objectId")?,
            callback_id: Some(action.callback_id),
            window: std::time::Duration::from_secs(settings.window_seconds.into()),
            reserve_percent: settings.reserve_percent,
        },
    )
    .await?;
    Ok(json!({
        "outputFields": {
            "hs_execution_state": "BLOCK",
            "hs_expiration_duration": "P1D",
            "steward_run_id": accepted.recipe_run_id,
        }
    }))
}

/// `POST /hooks/hubspot/workflow-action/options`: the portal's recipes, for the action's
/// recipe field.
pub async fn hubspot_options(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesLinks),
    req: SignedRequest<'_>,
) -> Result<Value> {
    let secret = hubspot_secret(s)?;
    hubspot_signed(&secret, &req, &candidate_uris(s, &req), s.clock().now())?;
    #[derive(Deserialize)]
    struct OptionsRequest {
        origin: Origin,
    }
    let r: OptionsRequest = parse_body(req.body)?;
    let account_id = AccountId::new(CrmKind::HubSpot, &r.origin.portal_id.to_string());
    active(s, &account_id).await?;
    let options: Vec<Value> = recipes::all(s, &account_id)
        .await?
        .into_iter()
        .map(|r| {
            json!({
                "label": r.name,
                "value": r.id,
                "description": format!("{} step(s) on {}", r.steps.len(), r.object),
            })
        })
        .collect();
    Ok(json!({ "options": options, "searchable": false }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/recipes.md.
    #[test]
    fn the_documented_signature_example_holds() {
        let body =
            br#"{"invocation_id":"sf-00D5g0000000001EAA-1","record_ids":["0035g00000AbCdEAAV"]}"#;
        let message = signed_message(
            "1767225600",
            "POST",
            "/hooks/salesforce/recipes/01KBZ3J5X4M2Q8R7T6V5W4Y3Z2",
            body,
        );
        assert_eq!(
            message,
            "1767225600:POST:/hooks/salesforce/recipes/01KBZ3J5X4M2Q8R7T6V5W4Y3Z2:8b7811b2b8620c2d813a3b26e8d60c9615cd39ee4ee83747e9674a86196c673b"
        );
        let secret = "whsec_9f3Kq2LmZx7TbVn4Rw8YcP1dHs6Ju0Ae";
        let sig = sign(secret, &message);
        assert_eq!(
            sig,
            "v1=652ed2537fe2e71c5411dcdc6d57a80a58c1a4856e37a4fbe808fa39d6f91ae7"
        );
        assert!(signature_matches(&sig, &message, &[secret]));
        assert!(signature_matches(
            &format!("v1=00, {sig}"),
            &message,
            &["other", secret]
        ));
        assert!(!signature_matches(&sig, &message, &["whsec_other"]));
        assert!(!signature_matches(
            &sig.to_uppercase().replace("V1=", "v1=x"),
            &message,
            &[secret]
        ));
        let tampered = message.replace("1767225600", "1767225601");
        assert!(!signature_matches(&sig, &tampered, &[secret]));
    }

    #[test]
    fn timestamps_outside_five_minutes_either_way_are_refused() {
        let now: DateTime<Utc> = "2026-12-05T06:00:00Z".parse().unwrap();
        assert!(fresh(now - Duration::seconds(299), now).is_ok());
        assert!(fresh(now + Duration::seconds(299), now).is_ok());
        assert!(matches!(
            fresh(now - Duration::seconds(301), now),
            Err(Error::BadSignature(_))
        ));
        assert!(matches!(
            fresh(now + Duration::seconds(301), now),
            Err(Error::BadSignature(_))
        ));
    }

    #[test]
    fn hubspot_v3_and_v2_are_checked_over_the_uri_and_body() {
        use base64::Engine;
        let secret = "hubspot-app-secret";
        let now: DateTime<Utc> = "2026-12-05T06:00:00Z".parse().unwrap();
        let uri = "https://steward.example.com/hooks/hubspot/workflow-action".to_string();
        let body = br#"{"callbackId":"ap-1"}"#;
        let ts = now.timestamp_millis().to_string();
        let v3 = base64::engine::general_purpose::STANDARD.encode(crypto::hmac_sha256(
            secret.as_bytes(),
            format!("POST{uri}{}{ts}", std::str::from_utf8(body).unwrap()).as_bytes(),
        ));
        let mut headers = HeaderMap::new();
        headers.insert("x-hubspot-signature-v3", v3.parse().unwrap());
        headers.insert("x-hubspot-request-timestamp", ts.parse().unwrap());
        let req = |headers: &HeaderMap| -> bool {
            let r = SignedRequest {
                method: "POST",
                path: "/hooks/hubspot/workflow-action",
                query: None,
                headers,
                body,
            };
            hubspot_signed(secret, &r, std::slice::from_ref(&uri), now).is_ok()
        };
        assert!(req(&headers));
        let mut stale = headers.clone();
        stale.insert(
            "x-hubspot-request-timestamp",
            (now - Duration::minutes(6))
                .timestamp_millis()
                .to_string()
                .parse()
                .unwrap(),
        );
        assert!(!req(&stale), "the timestamp is signed, and must be fresh");
        let mut v2 = HeaderMap::new();
        let digest = crypto::sha256(
            format!("{secret}POST{uri}{}", std::str::from_utf8(body).unwrap()).as_bytes(),
        );
        v2.insert("x-hubspot-signature", crypto::hex(&digest).parse().unwrap());
        v2.insert("x-hubspot-signature-version", "v2".parse().unwrap());
        assert!(req(&v2));
        v2.insert(
            "x-hubspot-signature",
            crypto::hex(&[0u8; 32]).parse().unwrap(),
        );
        assert!(!req(&v2));
        assert!(!req(&HeaderMap::new()));
    }

    #[test]
    fn hubspot_uris_decode_what_hubspot_decodes() {
        assert_eq!(
            hubspot_uri("https://x.test/a%3Ab?c=%2Fd%2cE"),
            "https://x.test/a:b?c=/d,E"
        );
    }
}
