//! Sign-in with the CRM (OAuth 2.0 authorization code, PKCE S256): the login redirect,
//! the callback, and what a sign-in means for the account (new org, member, invitee,
//! stranger). Each takes plain values and answers a typed outcome (`ToCrm`,
//! `SignInOutcome`), which the auth function sends as a redirect. Every refusal is a
//! `Refusal`, a redirect to the console's `/signin?error=<code>`, which says what happened
//! and what to do (docs/api.md lists the codes), never a 500.

use crate::ids::{AccountId, MemberId};
use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::{Deserialize, Serialize};

use super::apps::{HUBSPOT_OPTIONAL_SCOPES, HUBSPOT_SCOPES, SALESFORCE_SCOPES};
use super::connections::{self, Slot, StoredConnection};
use super::session::Cookie;
use super::{
    Account, Integration, Member, Need, Principal, Status, authorize, crm_name, crm_title, session,
    store,
};
use crate::app::{UsesClock, UsesCrm, UsesItems, UsesLinks, UsesSecrets};
use crate::crm::{CrmError, CrmKind, Identity};
use crate::crypto::{random_token, sha256_hex};
use crate::error::{Error, Result};
use crate::ports::items::Condition;

/// How long a sign-in may take between the redirect to the CRM and the callback.
pub const STATE_TTL_SECS: i64 = 600;
/// Binds a sign-in's `state` to the browser that started it.
pub const BINDING_COOKIE: &str = "steward_oauth";
/// The binding cookie's path: only sign-in's own routes see it.
const BINDING_PATH: &str = "/auth";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A person signs in.
    Login,
    /// An owner or admin connects the account's integration (service) user.
    Integration,
}

/// What is kept between the redirect and the callback, under `OAUTH#<sha256(state)>`.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    crm: CrmKind,
    purpose: Purpose,
    verifier: String,
    /// sha256 of the binding cookie's value.
    binding: String,
    /// For an integration: the account and who started it.
    account_id: Option<crate::ids::AccountId>,
    started_by: Option<MemberId>,
    created_at: DateTime<Utc>,
    /// The console path to land on once signed in (checked by `safe_return_to`).
    #[serde(default)]
    return_to: Option<String>,
}

/// Longest `return_to` kept, in characters.
pub const RETURN_TO_MAX_CHARS: usize = 2000;

/// `return_to` when it is a path of this origin: a single leading `/` (not `//` nor
/// `/\`, which browsers read as another host), no backslash, no control character, at
/// most 2000 characters. Characters a `Location` header cannot carry are
/// percent-encoded. `None`: ignore it and land on `/`.
pub fn safe_return_to(raw: &str) -> Option<String> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(char::is_control)
        && raw.chars().count() <= RETURN_TO_MAX_CHARS;
    if !ok {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_graphic() {
            out.push(c);
        } else {
            for b in c.encode_utf8(&mut [0; 4]).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Some(out)
}

/// Why a sign-in did not happen: the `error` code of the console's `/signin` page, which
/// shows what happened and what to do next (docs/api.md, "Sign-in refusals").
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Refusal {
    /// The CRM's answer has no `state`, or no `code` and no `error`.
    InvalidCallback,
    /// The sign-in is unknown, expired (10 minutes) or already used.
    Expired,
    /// The callback arrived in another browser than the one that started it.
    OtherBrowser,
    /// Salesforce: the connected app is blocked or not approved for this user.
    AppBlocked,
    /// The person chose Deny on the CRM's consent page.
    ConsentDenied,
    /// The CRM answered another OAuth error.
    CrmError,
    /// The CRM refused the authorization code (used already, or expired).
    CodeRejected,
    /// The CRM refused a scope Steward needs.
    PermissionMissing,
    /// The CRM could not be reached, or is rate-limiting.
    CrmUnavailable,
    /// The CRM answered something Steward cannot use.
    CrmUnexpected,
    /// The CRM's answer named an org address that is not the CRM's own (Salesforce's
    /// `instance_url` or identity URL off Salesforce's domains): not followed.
    UntrustedAddress,
    /// The CRM says this user is deactivated.
    InactiveUser,
    /// The org uses Steward, and this person is not a member (or was removed).
    NotInvited,
    /// The person's invitation expired.
    InvitationExpired,
    /// Integration user: signed in with a user of another CRM org than the account's.
    WrongAccount,
}

impl Refusal {
    pub const ALL: &[Refusal] = <Refusal as strum::VariantArray>::VARIANTS;

    /// Its `error` code on the console's `/signin` page (its name in snake case).
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// Where a refused sign-in lands: `/signin?error=<code>&crm=<crm>[&return_to=<path>]`.
pub fn refusal_location(
    web_base_url: &str,
    why: Refusal,
    crm: CrmKind,
    return_to: Option<&str>,
) -> String {
    let mut url = format!(
        "{web_base_url}/signin?error={}&crm={}",
        why.code(),
        crm_name(crm)
    );
    if let Some(r) = return_to {
        url.push_str("&return_to=");
        url.push_str(&urlencoding::encode(r));
    }
    url
}

fn state_pk(state: &str) -> String {
    crate::keys::sign_in(&sha256_hex(state.as_bytes()))
}

pub fn redirect_uri(s: &impl UsesLinks, crm: CrmKind) -> String {
    format!("{}/auth/{}/callback", s.web_base_url(), crm_name(crm))
}

/// Who starts a sign-in.
pub enum Start {
    /// Anyone, to sign in.
    Login,
    /// A signed-in member (an owner or admin), to connect the account's integration user.
    Integration(Principal),
}

/// Where a sign-in's start sends the browser: the CRM's authorize page, with the cookie
/// that binds the sign-in to this browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToCrm {
    pub authorize_url: String,
    pub binding: Cookie,
}

/// What the CRM sent the browser back with (the callback's query), and the binding
/// cookie the browser presents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmAnswer {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The value of the `BINDING_COOKIE` cookie.
    pub binding: Option<String>,
}

/// How a sign-in's callback ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// A person signed in: their session starts, and they land on `to`, a path of the
    /// console.
    SignedIn {
        account_id: AccountId,
        member: Box<Member>,
        session: Cookie,
        to: String,
    },
    /// An owner or admin connected the account's integration user.
    IntegrationConnected { account_id: AccountId },
    /// Not signed in, for `why`; `return_to` is where the person was going.
    Refused {
        why: Refusal,
        return_to: Option<String>,
    },
}

impl SignInOutcome {
    /// The cookies the browser is sent: the binding cookie cleared whatever happened (its
    /// sign-in is over either way), and the session's when someone signed in.
    pub fn cookies(&self) -> Vec<Cookie> {
        let clear_binding = Cookie::cleared(BINDING_COOKIE, BINDING_PATH);
        match self {
            SignInOutcome::SignedIn { session, .. } => vec![session.clone(), clear_binding],
            SignInOutcome::IntegrationConnected { .. } | SignInOutcome::Refused { .. } => {
                vec![clear_binding]
            }
        }
    }
}

/// A refused sign-in, logged.
fn refused(crm: CrmKind, why: Refusal, return_to: Option<String>) -> SignInOutcome {
    tracing::info!(crm = crm_name(crm), refusal = why.code(), "sign-in refused");
    SignInOutcome::Refused { why, return_to }
}

/// A sign-in's start (`GET /auth/{crm}/login`): to the CRM's authorize page. A
/// `return_to` that is not a path of this origin is ignored (the sign-in still works and
/// lands on `/`), not refused: it is a convenience, and a mangled link should not stop
/// anyone signing in.
pub async fn login(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesCrm),
    crm: CrmKind,
    start: Start,
    return_to: Option<&str>,
) -> Result<ToCrm> {
    let (purpose, account_id, started_by) = match start {
        Start::Login => (Purpose::Login, None, None),
        Start::Integration(who) => {
            authorize(&who, Need::Admin)?;
            if who.crm != crm {
                // A valid request that this account's state refuses: a conflict.
                return Err(Error::Conflict(format!(
                    "this account is on {}; connect an integration user of it",
                    crm_title(who.crm)
                )));
            }
            (
                Purpose::Integration,
                Some(who.account_id),
                Some(who.user_id),
            )
        }
    };
    let (authorize_url, client_id, scopes) = match crm {
        CrmKind::HubSpot => {
            let app = s
                .crm_apps()
                .hubspot
                .as_ref()
                .ok_or_else(|| connections::not_configured(crm))?;
            (
                app.authorize_url.clone(),
                app.client_id.clone(),
                HUBSPOT_SCOPES,
            )
        }
        CrmKind::Salesforce => {
            let app = s
                .crm_apps()
                .salesforce
                .as_ref()
                .ok_or_else(|| connections::not_configured(crm))?;
            (
                app.authorize_url(),
                app.client_id.clone(),
                SALESFORCE_SCOPES,
            )
        }
        CrmKind::Csv => return Err(Error::NotFound("sign-in with a CSV file".into())),
    };
    let client = BasicClient::new(ClientId::new(client_id))
        .set_auth_uri(
            AuthUrl::new(authorize_url)
                .map_err(|e| Error::internal("the CRM's authorize URL", e))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri(s, crm))
                .map_err(|e| Error::internal("the redirect URI", e))?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.iter().map(|sc| Scope::new(sc.to_string())))
        .set_pkce_challenge(challenge);
    if crm == CrmKind::HubSpot {
        request = request.add_extra_param("optional_scope", HUBSPOT_OPTIONAL_SCOPES.join(" "));
    }
    let (url, state) = request.url();
    let binding = random_token()?;
    let now = s.clock().now();
    let pending = PendingLogin {
        crm,
        purpose,
        verifier: verifier.secret().clone(),
        binding: sha256_hex(binding.as_bytes()),
        account_id,
        started_by,
        created_at: now,
        return_to: return_to.and_then(safe_return_to),
    };
    let item = store::to_item(state_pk(state.secret()), crate::keys::META.into(), &pending)?
        .expiring_at(now.timestamp() + STATE_TTL_SECS);
    s.items().put_if_absent(item).await?;
    Ok(ToCrm {
        authorize_url: url.to_string(),
        binding: Cookie {
            name: BINDING_COOKIE,
            value: binding,
            path: BINDING_PATH,
            max_age: STATE_TTL_SECS,
        },
    })
}

/// A sign-in's callback (`GET /auth/{crm}/callback?code&state`, or
/// `?error&error_description&state`): signed in, connected or refused; never an error for
/// a CRM's answer.
pub async fn callback(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesCrm + UsesSecrets),
    crm: CrmKind,
    answer: &CrmAnswer,
) -> Result<SignInOutcome> {
    let Some(state) = answer.state.as_deref().filter(|v| !v.is_empty()) else {
        return Ok(refused(crm, Refusal::InvalidCallback, None));
    };
    let pk = state_pk(state);
    let Some(item) = s.items().get(&pk, crate::keys::META).await? else {
        return Ok(refused(crm, Refusal::Expired, None));
    };
    // Single use: of two callbacks with one state, one deletes it and the other fails.
    match s
        .items()
        .delete(&pk, crate::keys::META, Some(item.version))
        .await
    {
        Ok(()) => {}
        Err(Error::Conflict(_)) => return Ok(refused(crm, Refusal::Expired, None)),
        Err(e) => return Err(e),
    }
    let pending: PendingLogin = store::from_item(&item)?;
    // Refusals from here on keep where the person was going (an integration's start is
    // Settings > Users).
    let return_to = match pending.purpose {
        Purpose::Login => pending.return_to.clone(),
        Purpose::Integration => Some("/settings/users".to_string()),
    };
    let refuse = |why: Refusal| Ok(refused(crm, why, return_to.clone()));
    let binding = answer.binding.as_deref().map(|b| sha256_hex(b.as_bytes()));
    if binding.as_deref() != Some(pending.binding.as_str()) || pending.crm != crm {
        return refuse(Refusal::OtherBrowser);
    }
    if let Some(error) = answer.error.as_deref() {
        let description = answer.error_description.as_deref().unwrap_or_default();
        tracing::info!(
            crm = crm_name(crm),
            error,
            description,
            "the CRM refused the sign-in"
        );
        return refuse(crm_refusal(error));
    }
    let Some(code) = answer.code.as_deref().filter(|c| !c.is_empty()) else {
        return refuse(Refusal::InvalidCallback);
    };
    let connection = match exchange(s, crm, code, &pending.verifier).await {
        Ok(c) => c,
        Err(e) => return refuse(exchange_refusal(crm, &e)),
    };
    let identity = match identify(s, &connection).await {
        Ok(i) => i,
        Err(e) => return refuse(exchange_refusal(crm, &e)),
    };
    if !identity.active {
        return refuse(Refusal::InactiveUser);
    }
    let mut connection = connection;
    connection.crm_user_id = identity.user_id.clone();
    connection.email = identity.email.clone();
    let account_id = Account::id_for(crm, &identity.org_id);
    match pending.purpose {
        Purpose::Login => {
            let user_id = match member_id(&identity) {
                Ok(u) => u,
                Err(e) => return refuse(exchange_refusal(crm, &e)),
            };
            let member = match sign_in(s, &identity, &user_id, &account_id).await? {
                Ok(m) => m,
                Err(why) => return refuse(why),
            };
            connections::save(
                s.secrets(),
                &account_id,
                Slot::User(&member.user_id),
                &connection,
            )
            .await?;
            let session = session::create(s, &account_id, &member.user_id).await?;
            tracing::info!(account = %account_id, user = %member.user_id, "signed in");
            let to = pending.return_to.unwrap_or_else(|| "/".to_string());
            Ok(SignInOutcome::SignedIn {
                account_id,
                member: Box::new(member),
                session,
                to,
            })
        }
        Purpose::Integration => {
            if pending.account_id.as_ref() != Some(&account_id) {
                let expected = pending.account_id.as_deref().unwrap_or_default();
                tracing::info!(account = %expected, other = %account_id, "integration user of another org");
                return refuse(Refusal::WrongAccount);
            }
            // `login` keeps who started every integration sign-in.
            let set_by = pending.started_by.ok_or_else(|| {
                Error::unexpected("an integration sign-in does not say who started it")
            })?;
            connections::save(s.secrets(), &account_id, Slot::Integration, &connection).await?;
            let now = s.clock().now();
            let integration = Integration {
                crm_user_id: identity.user_id.clone(),
                email: identity.email.clone(),
                set_by,
                set_at: now,
                healthy: true,
                checked_at: now,
                problem: None,
            };
            super::team::set_integration_record(s, &account_id, Some(integration)).await?;
            tracing::info!(account = %account_id, "integration user connected");
            Ok(SignInOutcome::IntegrationConnected { account_id })
        }
    }
}

/// Trades the code for tokens; the connection is not yet tied to a user.
async fn exchange(
    s: &(impl UsesLinks + UsesCrm),
    crm: CrmKind,
    code: &str,
    verifier: &str,
) -> std::result::Result<StoredConnection, CrmError> {
    let redirect = redirect_uri(s, crm);
    let http = s.crm_apps().http();
    let empty = |tokens: crate::crm::Tokens, instance_url, identity_url| {
        let mut c = StoredConnection {
            crm,
            crm_user_id: String::new(),
            email: String::new(),
            access_token: String::new(),
            refresh_token: None,
            expires_at: None,
            instance_url,
            identity_url,
        };
        c.set_tokens(&tokens);
        c
    };
    match crm {
        CrmKind::HubSpot => {
            let app =
                s.crm_apps().hubspot.as_ref().ok_or_else(|| {
                    CrmError::Unsupported("HubSpot sign-in is not configured".into())
                })?;
            let tokens = crate::crm::hubspot::exchange_code(
                http,
                &app.oauth(),
                code,
                &redirect,
                Some(verifier),
            )
            .await?;
            Ok(empty(tokens, None, None))
        }
        CrmKind::Salesforce => {
            let app = s.crm_apps().salesforce.as_ref().ok_or_else(|| {
                CrmError::Unsupported("Salesforce sign-in is not configured".into())
            })?;
            let (tokens, instance, id_url) = crate::crm::salesforce::exchange_code(
                http,
                &app.oauth(),
                code,
                &redirect,
                Some(verifier),
            )
            .await?;
            Ok(empty(tokens, Some(instance), Some(id_url)))
        }
        CrmKind::Csv => Err(CrmError::Unsupported("CSV".into())),
    }
}

async fn identify(
    s: &impl UsesCrm,
    c: &StoredConnection,
) -> std::result::Result<Identity, CrmError> {
    let crm = connections::client(s.crm_apps(), "sign-in", c.clone())
        .map_err(|e| CrmError::Unsupported(e.to_string()))?;
    crm.identity().await
}

/// The member a CRM identity signs in as: its user id, which must fit in a key (a CRM
/// answering one that does not is answering something Steward cannot use).
fn member_id(id: &Identity) -> std::result::Result<MemberId, CrmError> {
    id.user_id.parse().map_err(|_| {
        CrmError::Protocol(format!(
            "the signed-in user's id `{}` cannot be a member id",
            id.user_id
        ))
    })
}

/// The CRM sent the browser back with an error instead of a code.
fn crm_refusal(error: &str) -> Refusal {
    match error {
        "OAUTH_APP_BLOCKED" | "OAUTH_APP_ACCESS_DENIED" => Refusal::AppBlocked,
        "access_denied" => Refusal::ConsentDenied,
        _ => Refusal::CrmError,
    }
}

/// The code exchange or the identity call failed.
fn exchange_refusal(crm: CrmKind, e: &CrmError) -> Refusal {
    tracing::info!(crm = crm_name(crm), error = %e, "the CRM refused the code or identity");
    match e {
        CrmError::Inactive(_) => Refusal::InactiveUser,
        CrmError::Auth(_) => Refusal::CodeRejected,
        CrmError::Forbidden(_) => Refusal::PermissionMissing,
        CrmError::Unavailable(_) | CrmError::RateLimited(_) | CrmError::Quota(_) => {
            Refusal::CrmUnavailable
        }
        CrmError::Untrusted(_) => Refusal::UntrustedAddress,
        _ => Refusal::CrmUnexpected,
    }
}

/// What signing in means for the account: creates it for a new org (this person is its
/// Owner), activates an invitee, refreshes a member; `Err(why)` for anyone else.
async fn sign_in(
    s: &(impl UsesItems + UsesClock),
    id: &Identity,
    user_id: &MemberId,
    account_id: &AccountId,
) -> Result<std::result::Result<Member, Refusal>> {
    let items = s.items();
    let now = s.clock().now();
    // When another sign-in of this org creates it first, this person is a member or not.
    if store::get_account(items, account_id).await?.is_none()
        && let Some(owner) = create_account(s, id, user_id, account_id).await?
    {
        return Ok(Ok(owner));
    }
    let read = || async {
        store::get_member(items, account_id, user_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("member {user_id}")))
    };
    let mut refused = None;
    let signed = crate::ports::items::update(items, 3, read, |m| {
        refused = match m.status {
            Status::Active => None,
            Status::Invited if m.invitation.as_ref().is_some_and(|i| i.expires_at <= now) => {
                Some(Refusal::InvitationExpired)
            }
            Status::Invited => None,
            _ => Some(Refusal::NotInvited),
        };
        if refused.is_some() {
            return Ok(None);
        }
        m.status = Status::Active;
        m.invitation = None;
        m.last_login_at = Some(now);
        m.email = id.email.clone();
        if id.name.is_some() {
            m.name = id.name.clone();
        }
        store::member_item(account_id, m).map(Some)
    })
    .await;
    match (signed, refused) {
        (Ok(_), Some(why)) => Ok(Err(why)),
        (Ok(Some(m)), None) => Ok(Ok(m)),
        (Ok(None), None) => Err(Error::Unavailable(
            "the account changed during sign-in; try again".into(),
        )),
        (Err(Error::NotFound(_)), _) => Ok(Err(Refusal::NotInvited)),
        (Err(e), _) => Err(e),
    }
}

/// The account of a new org, with this person as its Owner (`Account::owner_user_id`;
/// their member item says admin, with write everywhere); `None` when another sign-in
/// created it first.
async fn create_account(
    s: &(impl UsesItems + UsesClock),
    id: &Identity,
    user_id: &MemberId,
    account_id: &AccountId,
) -> Result<Option<Member>> {
    let items = s.items();
    let now = s.clock().now();
    let account = Account {
        id: account_id.clone(),
        crm: id.crm,
        org_id: id.org_id.clone(),
        owner_user_id: user_id.clone(),
        created_at: now,
        integration: None,
        version: 0,
    };
    match store::put_account(items, &account, Condition::Absent).await {
        Ok(_) => {}
        Err(Error::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    let member = Member::founder(user_id.clone(), id.email.clone(), id.name.clone(), now);
    store::put_member(items, account_id, &member, Condition::None).await?;
    tracing::info!(account = %account_id, "account created");
    Ok(Some(member))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_keeps_paths_of_this_origin_only() {
        for ok in [
            "/",
            "/modules/merge?template=01JABCDEFGHJKMNPQRSTVWXYZ0",
            "/activity/01JABCDEFGHJKMNPQRSTVWXYZ0#rows",
            "/settings/users",
        ] {
            assert_eq!(safe_return_to(ok).as_deref(), Some(ok));
        }
        assert_eq!(
            safe_return_to("/modules/merge?q=Zoë Müller").as_deref(),
            Some("/modules/merge?q=Zo%C3%AB%20M%C3%BCller")
        );
        let long = format!("/{}", "a".repeat(RETURN_TO_MAX_CHARS));
        for bad in [
            "",
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "/a\\b",
            "https://evil.com",
            "http:/evil.com",
            "evil.com",
            "javascript:alert(1)",
            "/\tevil",
            "/\r\nSet-Cookie: x=1",
            "/\u{7f}",
            long.as_str(),
        ] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
        assert!(safe_return_to(&long[..RETURN_TO_MAX_CHARS]).is_some());
    }

    #[test]
    fn every_callback_outcome_clears_the_binding_cookie() {
        let cleared = Cookie {
            name: BINDING_COOKIE,
            value: String::new(),
            path: "/auth",
            max_age: 0,
        };
        for outcome in [
            SignInOutcome::Refused {
                why: Refusal::Expired,
                return_to: None,
            },
            SignInOutcome::IntegrationConnected {
                account_id: "hubspot:1".parse().unwrap(),
            },
        ] {
            assert_eq!(outcome.cookies(), vec![cleared.clone()], "{outcome:?}");
        }
    }

    #[test]
    fn refusals_land_on_the_consoles_sign_in_page() {
        assert_eq!(
            refusal_location(
                "https://steward.example.com",
                Refusal::Expired,
                CrmKind::HubSpot,
                Some("/modules/merge?template=1&x=2")
            ),
            "https://steward.example.com/signin?error=expired&crm=hubspot&return_to=%2Fmodules%2Fmerge%3Ftemplate%3D1%26x%3D2"
        );
        let mut codes: Vec<&str> = Refusal::ALL.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Refusal::ALL.len(), "codes are distinct");
    }
}
