//! Sign-in with the CRM (OAuth 2.0 authorization code, PKCE S256): the login redirect,
//! the callback, and what a sign-in means for the account (new org, member, invitee,
//! stranger). Every CRM refusal becomes a page that says what to do, never a 500.

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::{Deserialize, Serialize};

use super::apps::{HUBSPOT_SCOPES, SALESFORCE_SCOPES};
use super::connections::{self, Slot, StoredConnection};
use super::{
    Account, Integration, Member, Need, Permission, Permissions, Role, Status, authorize, crm_name,
    crm_title, parse_crm, session, store,
};
use crate::app::Services;
use crate::crm::{CrmError, CrmKind, Identity};
use crate::crypto::{random_token, sha256_hex};
use crate::error::{Error, Result};
use crate::http::{path_param, query_param};
use crate::ports::items::Condition;

/// How long a sign-in may take between the redirect to the CRM and the callback.
pub const STATE_TTL_SECS: i64 = 600;
/// Binds a sign-in's `state` to the browser that started it.
pub const BINDING_COOKIE: &str = "steward_oauth";

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
    account_id: Option<String>,
    started_by: Option<String>,
    created_at: DateTime<Utc>,
}

fn state_pk(state: &str) -> String {
    format!("OAUTH#{}", sha256_hex(state.as_bytes()))
}

pub fn redirect_uri(s: &Services, crm: CrmKind) -> String {
    format!("{}/auth/{}/callback", s.web_base_url, crm_name(crm))
}

fn redirect(location: &str, cookies: &[String]) -> Result<Response<Body>> {
    let mut b = Response::builder()
        .status(302)
        .header(http::header::LOCATION, location)
        .header(http::header::CACHE_CONTROL, "no-store");
    for c in cookies {
        b = b.header(http::header::SET_COOKIE, c);
    }
    b.body(Body::Empty)
        .map_err(|e| Error::internal("building a redirect", e))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A page for the browser: what went wrong and what to do.
pub fn page(status: u16, title: &str, message: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t} | Steward</title></head>\
         <body><main><h1>{t}</h1><p>{m}</p><p><a href=\"/\">Back to Steward</a></p></main></body></html>",
        t = escape(title),
        m = escape(message)
    );
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(html))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// `GET /auth/{crm}/login[?purpose=integration]`: to the CRM's authorize page.
pub async fn login(s: &Services, req: &Request) -> Result<Response<Body>> {
    let crm_text = path_param(req, "crm")?;
    let crm = parse_crm(&crm_text)
        .ok_or_else(|| Error::NotFound(format!("sign-in with `{crm_text}`")))?;
    let purpose = match query_param(req, "purpose").as_deref() {
        None | Some("login") => Purpose::Login,
        Some("integration") => Purpose::Integration,
        Some(other) => {
            return Err(Error::invalid(
                "purpose",
                format!("must be `login` or `integration`, not `{other}`"),
            ));
        }
    };
    let (account_id, started_by) = match purpose {
        Purpose::Login => (None, None),
        Purpose::Integration => {
            let who = session::authenticate(s, req).await?;
            authorize(&who, Need::Admin)?;
            if who.crm != crm {
                // A valid request that this account's state refuses: a conflict.
                return Err(Error::Conflict(format!(
                    "this account is on {}; connect an integration user of it",
                    crm_title(who.crm)
                )));
            }
            (Some(who.account_id), Some(who.user_id))
        }
    };
    let (authorize_url, client_id, scopes) = match crm {
        CrmKind::HubSpot => {
            let app = s
                .crm
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
                .crm
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
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.iter().map(|sc| Scope::new(sc.to_string())))
        .set_pkce_challenge(challenge)
        .url();
    let binding = random_token()?;
    let now = s.clock.now();
    let pending = PendingLogin {
        crm,
        purpose,
        verifier: verifier.secret().clone(),
        binding: sha256_hex(binding.as_bytes()),
        account_id,
        started_by,
        created_at: now,
    };
    let item = store::to_item(state_pk(state.secret()), "META".into(), &pending)?
        .expiring_at(now.timestamp() + STATE_TTL_SECS);
    s.items.put_if_absent(item).await?;
    let cookie = session::set_cookie(
        &s.web_base_url,
        BINDING_COOKIE,
        &binding,
        "/auth",
        STATE_TTL_SECS,
    );
    redirect(url.as_str(), &[cookie])
}

/// `GET /auth/{crm}/callback?code&state` (or `?error&error_description&state`).
/// Answers with a redirect into Steward or a page; never with a 500 for a CRM's answer.
pub async fn callback(s: &Services, req: &Request) -> Result<Response<Body>> {
    let crm = path_param(req, "crm")
        .ok()
        .and_then(|c| parse_crm(&c))
        .ok_or_else(|| Error::NotFound("this sign-in callback".into()))?;
    let start_again = "Start the sign-in again from Steward.";
    let Some(state) = query_param(req, "state").filter(|v| !v.is_empty()) else {
        return Ok(page(
            400,
            "Sign-in failed",
            &format!(
                "The CRM's answer carries no state, so it cannot be matched to a sign-in. {start_again}"
            ),
        ));
    };
    let pk = state_pk(&state);
    let Some(item) = s.items.get(&pk, "META").await? else {
        return Ok(page(
            400,
            "Sign-in expired",
            &format!("This sign-in is unknown, expired or was already used. {start_again}"),
        ));
    };
    // Single use: of two callbacks with one state, one deletes it and the other fails.
    match s.items.delete(&pk, "META", Some(item.version)).await {
        Ok(()) => {}
        Err(Error::Conflict(_)) => {
            return Ok(page(
                400,
                "Sign-in expired",
                &format!("This sign-in was already used. {start_again}"),
            ));
        }
        Err(e) => return Err(e),
    }
    let pending: PendingLogin = store::from_item(&item)?;
    let binding = session::cookie(req, BINDING_COOKIE).map(|b| sha256_hex(b.as_bytes()));
    let clear_binding = session::set_cookie(&s.web_base_url, BINDING_COOKIE, "", "/auth", 0);
    if binding.as_deref() != Some(pending.binding.as_str()) || pending.crm != crm {
        return Ok(page(
            400,
            "Sign-in failed",
            &format!(
                "This sign-in was started in another browser or tab, so it is refused. {start_again}"
            ),
        ));
    }
    if let Some(error) = query_param(req, "error") {
        let description = query_param(req, "error_description").unwrap_or_default();
        return Ok(crm_refused(crm, &error, &description));
    }
    let Some(code) = query_param(req, "code").filter(|c| !c.is_empty()) else {
        return Ok(page(
            400,
            "Sign-in failed",
            &format!("The CRM's answer carries no authorization code. {start_again}"),
        ));
    };
    let connection = match exchange(s, crm, &code, &pending.verifier).await {
        Ok(c) => c,
        Err(e) => return Ok(exchange_failed(crm, &e)),
    };
    let identity = match identify(s, &connection).await {
        Ok(i) => i,
        Err(e) => return Ok(exchange_failed(crm, &e)),
    };
    if !identity.active {
        return Ok(inactive(crm));
    }
    let mut connection = connection;
    connection.crm_user_id = identity.user_id.clone();
    connection.email = identity.email.clone();
    let account_id = Account::id_for(crm, &identity.org_id);
    match pending.purpose {
        Purpose::Login => {
            let member = match sign_in(s, &identity, &account_id).await? {
                Ok(m) => m,
                Err(refusal) => return Ok(refusal),
            };
            connections::save(
                s.secrets.as_ref(),
                &account_id,
                Slot::User(&member.user_id),
                &connection,
            )
            .await?;
            let cookie = session::create(s, &account_id, &member.user_id).await?;
            tracing::info!(account = %account_id, user = %member.user_id, "signed in");
            redirect(&format!("{}/", s.web_base_url), &[cookie, clear_binding])
        }
        Purpose::Integration => {
            let expected = pending.account_id.unwrap_or_default();
            if account_id != expected {
                return Ok(page(
                    400,
                    "Wrong CRM account",
                    &format!(
                        "The integration user must belong to this account's {} ({expected}); the user you signed in with belongs to {account_id}.",
                        crm_title(crm)
                    ),
                ));
            }
            connections::save(
                s.secrets.as_ref(),
                &account_id,
                Slot::Integration,
                &connection,
            )
            .await?;
            let now = s.clock.now();
            let integration = Integration {
                crm_user_id: identity.user_id.clone(),
                email: identity.email.clone(),
                set_by: pending.started_by.unwrap_or_default(),
                set_at: now,
                healthy: true,
                checked_at: now,
                problem: None,
            };
            super::team::set_integration_record(s, &account_id, Some(integration)).await?;
            tracing::info!(account = %account_id, "integration user connected");
            redirect(
                &format!("{}/team?integration=connected", s.web_base_url),
                &[clear_binding],
            )
        }
    }
}

/// Trades the code for tokens; the connection is not yet tied to a user.
async fn exchange(
    s: &Services,
    crm: CrmKind,
    code: &str,
    verifier: &str,
) -> std::result::Result<StoredConnection, CrmError> {
    let redirect = redirect_uri(s, crm);
    let http = s.crm.http();
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
                s.crm.hubspot.as_ref().ok_or_else(|| {
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
            let app = s.crm.salesforce.as_ref().ok_or_else(|| {
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

async fn identify(s: &Services, c: &StoredConnection) -> std::result::Result<Identity, CrmError> {
    let crm = connections::client(&s.crm, None, "sign-in", c.clone())
        .map_err(|e| CrmError::Unsupported(e.to_string()))?;
    crm.identity().await
}

/// The CRM sent the browser back with an error instead of a code.
fn crm_refused(crm: CrmKind, error: &str, description: &str) -> Response<Body> {
    let name = crm_title(crm);
    match error {
        "OAUTH_APP_BLOCKED" | "OAUTH_APP_ACCESS_DENIED" => page(
            403,
            "Steward is blocked in your Salesforce org",
            "Your Salesforce admin must allow Steward's connected app: in Setup, open Connected Apps OAuth Usage, find Steward and choose Install (or Unblock), then set who may use it. \
             Or give your user the \"Approve Uninstalled Connected Apps\" permission (\"Use Any API Client\" where API Access Control is on). Then sign in again.",
        ),
        "access_denied" => page(
            403,
            "Access was not granted",
            &format!(
                "{name} says access was denied: {}. Steward needs you to choose Allow on {name}'s consent page. If your {name} admin restricts apps, ask them to approve Steward.",
                if description.is_empty() {
                    "no reason given"
                } else {
                    description
                }
            ),
        ),
        _ => page(
            400,
            "Sign-in failed",
            &format!(
                "{name} answered with the error `{error}`{}. Start the sign-in again; if it keeps failing, show this message to your {name} admin.",
                if description.is_empty() {
                    String::new()
                } else {
                    format!(" ({description})")
                }
            ),
        ),
    }
}

fn inactive(crm: CrmKind) -> Response<Body> {
    let name = crm_title(crm);
    page(
        403,
        "Your CRM user is inactive",
        &format!(
            "{name} says your user is deactivated, so you cannot sign in to Steward. Ask your {name} admin to reactivate you."
        ),
    )
}

fn exchange_failed(crm: CrmKind, e: &CrmError) -> Response<Body> {
    let name = crm_title(crm);
    match e {
        CrmError::Auth(m) if m.contains("inactive") => inactive(crm),
        CrmError::Auth(m) => page(
            400,
            "Sign-in failed",
            &format!(
                "{name} refused the sign-in ({m}). The code may have been used already or expired: start the sign-in again."
            ),
        ),
        CrmError::Forbidden(m) => page(
            403,
            "Permission missing",
            &format!(
                "{name} refused Steward a permission it needs ({m}). Ask your {name} admin to grant the scopes Steward asks for, then sign in again."
            ),
        ),
        CrmError::Unavailable(_) | CrmError::RateLimited(_) | CrmError::Quota(_) => page(
            503,
            "The CRM is not answering",
            &format!("{name} could not be reached or is busy. Try again in a minute."),
        ),
        other => page(
            502,
            "Sign-in failed",
            &format!(
                "{name} answered something unexpected ({}). Try again; if it persists, tell your Steward admin.",
                other.code()
            ),
        ),
    }
}

/// What signing in means for the account: creates it for a new org (this person is its
/// Owner), activates an invitee, refreshes a member; `Err(page)` for anyone else.
async fn sign_in(
    s: &Services,
    id: &Identity,
    account_id: &str,
) -> Result<std::result::Result<Member, Response<Body>>> {
    let items = s.items.as_ref();
    let now = s.clock.now();
    // Two rounds at most: a lost race to create the account, or to update the member.
    for _ in 0..3 {
        let Some(account) = store::get_account(items, account_id).await? else {
            let account = Account {
                id: account_id.into(),
                crm: id.crm,
                org_id: id.org_id.clone(),
                owner_user_id: id.user_id.clone(),
                created_at: now,
                integration: None,
                version: 0,
            };
            match store::put_account(items, &account, Condition::Absent).await {
                Ok(_) => {}
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
            let member = Member {
                user_id: id.user_id.clone(),
                email: id.email.clone(),
                name: id.name.clone(),
                role: Role::Admin,
                status: Status::Active,
                permissions: Permissions::all(Permission::Write),
                invitation: None,
                created_at: now,
                last_login_at: Some(now),
                removed_at: None,
                version: 0,
            };
            store::put_member(items, account_id, &member, Condition::None).await?;
            tracing::info!(account = %account_id, "account created");
            return Ok(Ok(member));
        };
        let member = store::get_member(items, &account.id, &id.user_id).await?;
        let mut m = match member {
            Some(m) if m.status == Status::Active => m,
            Some(m) if m.status == Status::Invited => {
                if m.invitation.as_ref().is_some_and(|i| i.expires_at <= now) {
                    return Ok(Err(page(
                        403,
                        "Your invitation has expired",
                        "Ask an admin of your Steward account to resend the invitation, then sign in again.",
                    )));
                }
                m
            }
            _ => {
                return Ok(Err(page(
                    403,
                    "You are not a member yet",
                    "Your CRM account already uses Steward, but you have not been invited. Ask an admin of your Steward account to invite you, then sign in again.",
                )));
            }
        };
        let cond = Condition::Version(m.version);
        m.status = Status::Active;
        m.invitation = None;
        m.last_login_at = Some(now);
        m.email = id.email.clone();
        if id.name.is_some() {
            m.name = id.name.clone();
        }
        match store::put_member(items, &account.id, &m, cond).await {
            Ok(v) => {
                m.version = v;
                return Ok(Ok(m));
            }
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Unavailable(
        "the account changed during sign-in; try again".into(),
    ))
}
