//! HubSpot's OAuth: the authorize page (a user picker standing in for app.hubspot.com),
//! the v1/v3 token endpoint (code with optional PKCE, refresh), token info, and the
//! bearer-token check every API route goes through.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::api::{
    AppKind, HsError, HsResult, Params, Principal, auth_expired, auth_missing, hubspot_limits, uuid,
};
use super::{PORTAL_ID, PRIVATE_APP_TOKEN, User};
use crate::server::AppState;
use crate::{CLIENT_ID, CLIENT_SECRET};

/// The sandbox app's id, as token info reports it.
pub const APP_ID: u64 = 3_141_592;
/// How long an authorization code can be exchanged.
const CODE_TTL: Duration = Duration::from_secs(600);
const HUB_DOMAIN: &str = "steward-sandbox.hubspot.com";
/// Every scope this sandbox checks: the private-app token holds them all.
pub(crate) const ALL_SCOPES: &[&str] = &[
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.owners.read",
    "crm.objects.users.read",
    "settings.users.read",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
    "automation",
];

#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub(super) user_id: u64,
    pub(super) scopes: Arc<[String]>,
}

struct Code {
    grant: Grant,
    redirect_uri: String,
    challenge: Option<String>,
    issued: Instant,
}

pub(super) struct AccessToken {
    pub(super) grant: Grant,
    pub(super) expires_at: Instant,
}

/// Issued codes and tokens.
pub(crate) struct AuthState {
    codes: HashMap<String, Code>,
    pub(super) access: HashMap<String, AccessToken>,
    pub(super) refresh: HashMap<String, Grant>,
    /// Who the private-app token acts as (the first active admin).
    pat: Grant,
}

fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(buf.as_mut_slice());
    URL_SAFE_NO_PAD.encode(buf)
}

impl AuthState {
    pub fn new(users: &[User]) -> Self {
        let pat_user = users
            .iter()
            .find(|u| u.active && u.admin)
            .or_else(|| users.iter().find(|u| u.active))
            .or(users.first())
            .map(|u| u.id)
            .unwrap_or(0);
        AuthState {
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            pat: Grant {
                user_id: pat_user,
                scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    /// The bearer token's principal, or HubSpot's 401.
    pub fn authenticate(&self, token: Option<&str>, now: Instant) -> HsResult<Principal> {
        let token = token.filter(|t| !t.is_empty()).ok_or_else(auth_missing)?;
        if token == PRIVATE_APP_TOKEN {
            return Ok(Principal {
                scopes: self.pat.scopes.clone(),
                app: AppKind::Private,
            });
        }
        let at = self.access.get(token).ok_or_else(auth_missing)?;
        if now >= at.expires_at {
            return Err(auth_expired(now.duration_since(at.expires_at)));
        }
        Ok(Principal {
            scopes: at.grant.scopes.clone(),
            app: AppKind::OAuth,
        })
    }

    pub fn expire_all(&mut self, now: Instant) {
        for at in self.access.values_mut() {
            at.expires_at = at.expires_at.min(now);
        }
    }

    fn issue(&mut self, grant: &Grant, refresh: String, ttl: Duration) -> Value {
        let access = format!("sbx-at-na1-{}", random_text(48));
        self.access.insert(
            access.clone(),
            AccessToken {
                grant: grant.clone(),
                expires_at: Instant::now() + ttl,
            },
        );
        json!({
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ttl.as_secs(),
            "token_type": "bearer",
            "token_use": "access_token",
            "hub_id": PORTAL_ID,
            "user_id": grant.user_id,
            "scopes": grant.scopes.as_ref(),
        })
    }
}

// ---- authorize page ------------------------------------------------------------------

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn error_page(message: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
         <body><h1>Something went wrong</h1><p class=\"error\">{}</p></body></html>",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(html)).into_response()
}

/// The authorize request's parameters, checked the way HubSpot checks them before
/// showing the login page.
struct AuthorizeRequest {
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    challenge: Option<String>,
    params: Params,
}

fn check_authorize(params: Params, portal: Option<&str>) -> Result<AuthorizeRequest, String> {
    if let Some(p) = portal
        && p != PORTAL_ID.to_string()
    {
        return Err(format!("You don't have access to account {p}."));
    }
    if params.get("client_id") != Some(CLIENT_ID) {
        return Err(format!(
            "Authorization failed because this application is misconfigured: unknown client_id {:?}.",
            params.get("client_id").unwrap_or("")
        ));
    }
    let redirect_uri = params.get("redirect_uri").unwrap_or("").to_string();
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return Err("Authorization failed because the redirect_uri is missing or invalid.".into());
    }
    let challenge = params
        .get("code_challenge")
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if challenge.is_some() && params.get("code_challenge_method").unwrap_or("S256") != "S256" {
        return Err("Authorization failed: code_challenge_method must be S256.".into());
    }
    // Optional scopes are granted along with the required ones (the sandbox portal has
    // every feature); `oauth` is every app's base scope.
    let mut scopes = vec!["oauth".to_string()];
    for key in ["scope", "optional_scope"] {
        for s in params.get(key).unwrap_or("").split_whitespace() {
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_string());
            }
        }
    }
    Ok(AuthorizeRequest {
        redirect_uri,
        scopes,
        state: params.get("state").map(str::to_string),
        challenge,
        params,
    })
}

pub(super) async fn authorize_page(
    State(s): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Response {
    render_login(&s, Params::parse(q.as_deref()), None)
}

pub(super) async fn authorize_page_portal(
    State(s): State<Arc<AppState>>,
    Path(portal): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    render_login(&s, Params::parse(q.as_deref()), Some(&portal))
}

fn render_login(s: &AppState, params: Params, portal: Option<&str>) -> Response {
    let req = match check_authorize(params, portal) {
        Ok(r) => r,
        Err(msg) => return error_page(&msg),
    };
    let action = match portal {
        Some(p) => format!("{}/hubspot/oauth/{}/authorize", s.base_url, escape(p)),
        None => format!("{}/hubspot/oauth/authorize", s.base_url),
    };
    let hidden: String = req
        .params
        .0
        .iter()
        .filter(|(k, _)| k != "user_id")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let world = s.hubspot();
    let mut rows = String::new();
    for u in &world.users {
        let name = escape(&format!("{} {} <{}>", u.first_name, u.last_name, u.email));
        if u.active {
            rows.push_str(&format!(
                "<li><form method=\"post\" action=\"{action}\">{hidden}\
                 <input type=\"hidden\" name=\"user_id\" value=\"{}\">\
                 <button type=\"submit\">Log in as {name}</button></form></li>",
                u.id
            ));
        } else {
            rows.push_str(&format!(
                "<li><button type=\"button\" disabled>{name} (deactivated)</button></li>"
            ));
        }
    }
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Choose an account | HubSpot sandbox</title></head>\
         <body><h1>Connect to portal {PORTAL_ID}</h1>\
         <p>The app <code>{}</code> asks for: <code>{}</code></p><ul>{rows}</ul></body></html>",
        escape(CLIENT_ID),
        escape(&req.scopes.join(" "))
    );
    (StatusCode::OK, Html(html)).into_response()
}

pub(super) async fn authorize_submit(State(s): State<Arc<AppState>>, body: Bytes) -> Response {
    approve(&s, &body, None)
}

pub(super) async fn authorize_submit_portal(
    State(s): State<Arc<AppState>>,
    Path(portal): Path<String>,
    body: Bytes,
) -> Response {
    approve(&s, &body, Some(&portal))
}

/// The login form's POST (the authorize parameters plus `user_id` or `email`): issues a
/// code and sends the browser back to the app.
fn approve(s: &AppState, body: &Bytes, portal: Option<&str>) -> Response {
    let params = Params::parse(Some(&String::from_utf8_lossy(body)));
    let user_id = params.get("user_id").map(str::to_string);
    let email = params.get("email").map(str::to_string);
    let req = match check_authorize(params, portal) {
        Ok(r) => r,
        Err(msg) => return error_page(&msg),
    };
    let mut world = s.hubspot();
    let user = world
        .users
        .iter()
        .find(|u| {
            user_id.as_deref() == Some(u.id.to_string().as_str())
                || email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&u.email))
        })
        .map(|u| (u.id, u.active));
    let user_id = match user {
        Some((id, true)) => id,
        Some((_, false)) => return error_page("This user has been deactivated and cannot log in."),
        None => return error_page("Unknown user."),
    };
    let code = uuid();
    world.auth.codes.insert(
        code.clone(),
        Code {
            grant: Grant {
                user_id,
                scopes: req.scopes.into(),
            },
            redirect_uri: req.redirect_uri.clone(),
            challenge: req.challenge,
            issued: Instant::now(),
        },
    );
    drop(world);
    let sep = if req.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let mut location = format!(
        "{}{sep}code={}",
        req.redirect_uri,
        urlencoding::encode(&code)
    );
    if let Some(st) = &req.state {
        location.push_str(&format!("&state={}", urlencoding::encode(st)));
    }
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

// ---- token endpoint ------------------------------------------------------------------

fn token_error(status: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "status": status, "message": message, "correlationId": uuid() })),
    )
        .into_response()
}

use steward_shared::crypto::pkce_s256 as s256;

/// `POST /oauth/v1/token` and `/oauth/v3/token` (form-encoded body).
pub(super) async fn token(State(s): State<Arc<AppState>>, body: Bytes) -> Response {
    let params = Params::parse(Some(&String::from_utf8_lossy(&body)));
    let ttl = Duration::from_secs(hubspot_limits(&s).token_ttl_secs);
    let grant_type = params.get("grant_type").unwrap_or("");
    if grant_type != "authorization_code" && grant_type != "refresh_token" {
        return token_error("BAD_GRANT_TYPE", "missing or unsupported grant_type");
    }
    if params.get("client_id") != Some(CLIENT_ID) {
        return token_error("BAD_CLIENT_ID", "missing or unknown client id");
    }
    if params.get("client_secret") != Some(CLIENT_SECRET) {
        // HubSpot reports a wrong secret under the client-id status too.
        return token_error("BAD_CLIENT_ID", "missing or invalid client secret");
    }
    let mut world = s.hubspot();
    let auth = &mut world.auth;
    if grant_type == "refresh_token" {
        let rt = params.get("refresh_token").unwrap_or("");
        let Some(grant) = auth.refresh.get(rt).cloned() else {
            return token_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token");
        };
        let body = auth.issue(&grant, rt.to_string(), ttl);
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    let code_text = params.get("code").unwrap_or("");
    let Some(code) = auth.codes.get(code_text) else {
        return token_error("BAD_AUTH_CODE", "missing or unknown auth code");
    };
    if code.issued.elapsed() > CODE_TTL {
        auth.codes.remove(code_text);
        return token_error("BAD_AUTH_CODE", "auth code expired");
    }
    if params.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return token_error(
            "BAD_REDIRECT_URI",
            "redirect_uri does not match the one used to authorize",
        );
    }
    if let Some(challenge) = &code.challenge {
        match params.get("code_verifier") {
            None | Some("") => return token_error("BAD_AUTH_CODE", "missing code_verifier"),
            Some(v) if s256(v) != *challenge => {
                return token_error(
                    "BAD_AUTH_CODE",
                    "code_verifier does not match the code_challenge",
                );
            }
            Some(_) => {}
        }
    }
    // Codes are single-use; a failed exchange above leaves the code usable.
    let Some(code) = auth.codes.remove(code_text) else {
        return token_error("BAD_AUTH_CODE", "missing or unknown auth code");
    };
    let refresh = format!("na1-{}", uuid());
    auth.refresh.insert(refresh.clone(), code.grant.clone());
    let body = auth.issue(&code.grant, refresh, ttl);
    (StatusCode::OK, axum::Json(body)).into_response()
}

// ---- token info ----------------------------------------------------------------------

fn user_email(s: &AppState, user_id: u64) -> String {
    s.hubspot()
        .users
        .iter()
        .find(|u| u.id == user_id)
        .map(|u| u.email.clone())
        .unwrap_or_default()
}

fn token_not_found() -> Response {
    HsError::not_found("Token not found").into_response()
}

/// `GET /oauth/v1/access-tokens/{token}` (no auth header).
pub(super) async fn access_token_info(
    State(s): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Response {
    let now = Instant::now();
    let found = s
        .hubspot()
        .auth
        .access
        .get(&token)
        .map(|at| (at.grant.clone(), at.expires_at));
    let Some((grant, expires_at)) = found else {
        return token_not_found();
    };
    if now >= expires_at {
        return auth_expired(now.duration_since(expires_at)).into_response();
    }
    let left = expires_at.duration_since(now);
    let expires_at_ms =
        Utc::now().timestamp_millis() + i64::try_from(left.as_millis()).unwrap_or(0);
    let body = json!({
        "token": token,
        "user": user_email(&s, grant.user_id),
        "hub_domain": HUB_DOMAIN,
        "scopes": grant.scopes.as_ref(),
        "signed_access_token": {
            "expiresAt": expires_at_ms,
            "scopes": grant.scopes.join(" "),
            "hubId": PORTAL_ID,
            "userId": grant.user_id,
            "appId": APP_ID,
            "signature": random_text(24),
            "hublet": "na1",
            "isUserLevel": false,
            "installingUserId": grant.user_id,
            "isServiceAccount": false,
            "isPrivateDistribution": false,
        },
        "hub_id": PORTAL_ID,
        "app_id": APP_ID,
        "expires_in": left.as_secs(),
        "user_id": grant.user_id,
        "token_type": "access",
        "is_private_distribution": false,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `GET /oauth/v1/refresh-tokens/{token}`.
pub(super) async fn refresh_token_info(
    State(s): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Response {
    let grant = s.hubspot().auth.refresh.get(&token).cloned();
    let Some(grant) = grant else {
        return token_not_found();
    };
    let body = json!({
        "token": token,
        "user": user_email(&s, grant.user_id),
        "hub_domain": HUB_DOMAIN,
        "scopes": grant.scopes.as_ref(),
        "hub_id": PORTAL_ID,
        "client_id": CLIENT_ID,
        "user_id": grant.user_id,
        "token_type": "refresh",
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `DELETE /oauth/v1/refresh-tokens/{token}`: revokes it (the app is uninstalled).
pub(super) async fn revoke_refresh(
    State(s): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Response {
    if s.hubspot().auth.refresh.remove(&token).is_some() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        token_not_found()
    }
}

#[cfg(test)]
mod unit {
    #[test]
    fn s256_is_base64url_sha256() {
        assert_eq!(
            super::s256("dBjftJeZ4CVP-mJ0bA-kNjvLYI2yJz1AzVdzz-yrX0M"),
            "87uGPNsC_L_F-6bNPfBfFDLdheb0xc7SMWZdueEcveo"
        );
    }
}
