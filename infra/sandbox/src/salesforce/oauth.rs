//! Salesforce's OAuth 2.0 web-server flow: the login page, the token endpoint (codes with
//! PKCE, refresh), revoke, the identity URL and userinfo, and session checks for the API.
// Handlers bail out with a finished `Response` as their error: it is built once per request
// and moved straight out, so boxing it would only add noise.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::schema::USER;
use super::{J, ORG_ID, STATIC_SESSION_TOKEN, World, bearer, get as field, json};
use crate::server::AppState;

/// How long an authorization code can be exchanged (Salesforce: 15 minutes).
const CODE_TTL: Duration = Duration::from_secs(15 * 60);
/// Scopes granted when the authorize call names none (the connected app's configuration).
const DEFAULT_SCOPE: &str = "api refresh_token id";
const KNOWN_SCOPES: &[&str] = &[
    "api",
    "refresh_token",
    "offline_access",
    "id",
    "profile",
    "email",
    "address",
    "phone",
    "openid",
    "full",
    "web",
    "chatter_api",
    "visualforce",
    "custom_permissions",
    "wave_api",
    "lightning",
    "content",
];
const ERROR_PAGE: &str = "/setup/secur/RemoteAccessErrorPage.apexp";

struct Code {
    user: Arc<str>,
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
    issued: Instant,
}

pub(super) struct Access {
    pub(super) user: Arc<str>,
    pub(super) issued: Instant,
}

pub(super) struct Refresh {
    pub(super) user: Arc<str>,
    pub(super) scope: String,
}

/// Issued codes and tokens. Tokens are opaque random strings behind the org id, as on a real org.
#[derive(Default)]
pub struct Auth {
    codes: HashMap<String, Code>,
    pub(super) access: HashMap<String, Access>,
    pub(super) refresh: HashMap<String, Refresh>,
}

impl Auth {
    pub fn expire_access(&mut self) {
        self.access.clear();
    }

    /// The user of a live session, or None if unknown or past its lifetime.
    pub fn session_user(&self, token: &str, ttl_secs: u64, admin: &Arc<str>) -> Option<Arc<str>> {
        if token == STATIC_SESSION_TOKEN {
            return Some(admin.clone());
        }
        let a = self.access.get(token)?;
        (a.issued.elapsed() < Duration::from_secs(ttl_secs)).then(|| a.user.clone())
    }

    fn issue_access(&mut self, user: &Arc<str>) -> String {
        let token = format!("{}!{}", &ORG_ID[..15], random("AR"));
        self.access.insert(
            token.clone(),
            Access {
                user: user.clone(),
                issued: Instant::now(),
            },
        );
        token
    }
}

fn random(prefix: &str) -> String {
    let r = steward_shared::crypto::random_token()
        .unwrap_or_else(|_| format!("{:032x}", rand::random::<u128>()));
    format!("{prefix}{r}")
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/services/oauth2/authorize", get(authorize).post(approve))
        .route("/services/oauth2/token", post(token))
        .route("/services/oauth2/revoke", post(revoke).get(revoke_get))
        .route("/services/oauth2/userinfo", get(userinfo).post(userinfo))
        .route("/id/{org}/{user}", get(identity))
        .route(ERROR_PAGE, get(error_page))
}

/// A 302 Found, as Salesforce redirects (axum's helpers send 303 or 307).
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", q.join("&"))
}

/// An authorize error sent back to the app's callback.
fn redirect_error(
    redirect_uri: &str,
    code: &str,
    description: &str,
    state: Option<&String>,
) -> Response {
    let mut pairs = vec![("error", code), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s.as_str()));
    }
    found(&with_query(redirect_uri, &pairs))
}

/// An authorize error Salesforce cannot send to the app: its own error page.
fn page_error(base: &str, code: &str, description: &str) -> Response {
    found(&with_query(
        &format!("{base}/salesforce{ERROR_PAGE}"),
        &[("error", code), ("error_description", description)],
    ))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn error_page(Query(q): Query<HashMap<String, String>>) -> Response {
    let code = q
        .get("error")
        .map(String::as_str)
        .unwrap_or("OAUTH_APPROVAL_ERROR_GENERIC");
    let desc = q.get("error_description").map(String::as_str).unwrap_or("");
    let body = format!(
        "<!DOCTYPE html><html><head><title>Remote Access Authorization Error</title></head><body>\
         <h1>OAuth Error</h1><p>We can't authorize you because of an OAuth error. For more information, contact \
         your Salesforce administrator.</p><p>{} : {}</p></body></html>",
        esc(code),
        esc(desc)
    );
    Html(body).into_response()
}

/// Checks an authorize request; on success returns (redirect_uri, scope).
fn check_authorize(
    s: &AppState,
    q: &HashMap<String, String>,
    approving: bool,
) -> Result<(String, String), Response> {
    let base = &s.base_url;
    if q.get("client_id").map(String::as_str) != Some(crate::CLIENT_ID) {
        return Err(page_error(
            base,
            "invalid_client_id",
            "client identifier invalid",
        ));
    }
    let Some(redirect_uri) = q.get("redirect_uri").filter(|r| r.starts_with("http")) else {
        return Err(page_error(
            base,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        ));
    };
    let state = q.get("state");
    if s.config().salesforce_app_blocked {
        return Err(redirect_error(
            redirect_uri,
            "OAUTH_APP_BLOCKED",
            "this app is blocked by admin",
            state,
        ));
    }
    if !approving && q.get("response_type").map(String::as_str) != Some("code") {
        return Err(redirect_error(
            redirect_uri,
            "unsupported_response_type",
            "response type not supported",
            state,
        ));
    }
    if let Some(m) = q.get("code_challenge_method")
        && m != "S256"
    {
        return Err(redirect_error(
            redirect_uri,
            "invalid_request",
            "invalid code_challenge_method",
            state,
        ));
    }
    let scope = match q.get("scope").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => DEFAULT_SCOPE.to_string(),
        Some(sc) => {
            let parts: Vec<&str> = sc.split([' ', '+']).filter(|p| !p.is_empty()).collect();
            if parts.iter().any(|p| !KNOWN_SCOPES.contains(p)) {
                return Err(redirect_error(
                    redirect_uri,
                    "invalid_scope",
                    "the requested scope is not allowed",
                    state,
                ));
            }
            parts.join(" ")
        }
    };
    Ok((redirect_uri.clone(), scope))
}

async fn authorize(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(resp) = check_authorize(&s, &q, false) {
        return resp;
    }
    login_page(&s, &q, None)
}

fn login_page(s: &AppState, q: &HashMap<String, String>, problem: Option<&str>) -> Response {
    let mut hidden = String::new();
    for k in [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "response_type",
    ] {
        if let Some(v) = q.get(k) {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">\n",
                esc(v)
            ));
        }
    }
    let mut users = String::new();
    {
        let w = s.salesforce();
        let mut first = true;
        if let Some(t) = w.tables.get(USER) {
            for (id, row) in &t.rows {
                let name = field(row, USER, "Name").as_str().unwrap_or("").to_string();
                let username = field(row, USER, "Username")
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let active = w.user_active(id);
                let attrs = if !active {
                    " disabled".to_string()
                } else if first {
                    first = false;
                    " checked".to_string()
                } else {
                    String::new()
                };
                users.push_str(&format!(
                    "<li><label><input type=\"radio\" name=\"user_id\" value=\"{id}\"{attrs}> {} &lt;{}&gt;{}</label></li>\n",
                    esc(&name),
                    esc(&username),
                    if active { "" } else { " (inactive)" }
                ));
            }
        }
    }
    let problem = problem
        .map(|p| format!("<p class=\"error\">{}</p>", esc(p)))
        .unwrap_or_default();
    let body = format!(
        "<!DOCTYPE html><html><head><title>Login | Salesforce</title></head><body>\
         <h1>Sandbox org {ORG_ID}</h1>{problem}\
         <form method=\"post\" action=\"{}/salesforce/services/oauth2/authorize\">\n{hidden}\
         <p>Log in as:</p><ul>\n{users}</ul>\
         <button type=\"submit\" name=\"action\" value=\"allow\">Allow</button> \
         <button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\
         </form></body></html>",
        s.base_url
    );
    Html(body).into_response()
}

/// The login form's answer: `user_id` (or `username`) approves, `action=deny` refuses.
async fn approve(
    State(s): State<Arc<AppState>>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (redirect_uri, scope) = match check_authorize(&s, &f, true) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let state = f.get("state");
    if f.get("action").map(String::as_str) == Some("deny") {
        return redirect_error(
            &redirect_uri,
            "access_denied",
            "end-user denied authorization",
            state,
        );
    }
    let user = {
        let w = s.salesforce();
        let wanted = f
            .get("user_id")
            .cloned()
            .or_else(|| f.get("username").cloned());
        let found = w.tables.get(USER).and_then(|t| {
            t.rows.iter().find(|(id, row)| {
                wanted.as_deref().is_some_and(|u| {
                    super::ids::to18(u).is_some_and(|x| x == id.as_ref())
                        || field(row, USER, "Username")
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(u))
                })
            })
        });
        match found {
            Some((id, _)) if w.user_active(id) => Ok(id.clone()),
            Some(_) => Err("Your login attempt has failed: the user is inactive."),
            None => Err(
                "Please check your username and password. If you still can't log in, contact your Salesforce administrator.",
            ),
        }
    };
    let user = match user {
        Ok(u) => u,
        Err(problem) => return login_page(&s, &f, Some(problem)),
    };
    let code = random("aPrx");
    s.salesforce().auth.codes.insert(
        code.clone(),
        Code {
            user,
            redirect_uri: redirect_uri.clone(),
            challenge: f.get("code_challenge").filter(|c| !c.is_empty()).cloned(),
            scope,
            issued: Instant::now(),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(st) = state {
        pairs.push(("state", st.as_str()));
    }
    found(&with_query(&redirect_uri, &pairs))
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &J::obj([
            ("error", J::from(error)),
            ("error_description", J::from(description)),
        ]),
    )
}

fn invalid_grant(description: &str) -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub use steward_shared::crypto::pkce_s256 as pkce_challenge;

fn token_answer(
    s: &AppState,
    access: &str,
    refresh: Option<&str>,
    user: &str,
    scope: &str,
) -> Response {
    let id_url = format!("{}/salesforce/id/{ORG_ID}/{user}", s.base_url);
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let sig = steward_shared::crypto::Signer::new(crate::CLIENT_SECRET.as_bytes())
        .sign(format!("{id_url}{issued_at}").as_bytes());
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map(|b| STANDARD.encode(b))
        .unwrap_or_default();
    let mut fields = vec![("access_token".to_string(), J::from(access))];
    if let Some(r) = refresh {
        fields.push(("refresh_token".into(), J::from(r)));
    }
    fields.extend([
        ("signature".to_string(), J::from(signature)),
        ("scope".into(), J::from(scope)),
        (
            "instance_url".into(),
            J::from(
                s.config()
                    .salesforce_instance_url
                    .clone()
                    .unwrap_or_else(|| format!("{}/salesforce", s.base_url)),
            ),
        ),
        ("id".into(), J::from(id_url)),
        ("token_type".into(), J::from("Bearer")),
        ("issued_at".into(), J::from(issued_at)),
    ]);
    let mut resp = json(StatusCode::OK, &J::Obj(fields));
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    resp
}

async fn token(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let f: HashMap<String, String> = serde_urlencoded_pairs(&body);
    if f.get("client_id").map(String::as_str) != Some(crate::CLIENT_ID) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_id",
            "client identifier invalid",
        );
    }
    if f.get("client_secret").map(String::as_str) != Some(crate::CLIENT_SECRET) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "invalid client credentials",
        );
    }
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let mut w = s.salesforce();
            let Some(code) = f.get("code").and_then(|c| w.auth.codes.remove(c)) else {
                return invalid_grant("expired authorization code");
            };
            if code.issued.elapsed() > CODE_TTL {
                return invalid_grant("expired authorization code");
            }
            if f.get("redirect_uri") != Some(&code.redirect_uri) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "redirect_uri must match configuration",
                );
            }
            if let Some(challenge) = &code.challenge {
                match f.get("code_verifier").filter(|v| !v.is_empty()) {
                    None => return invalid_grant("invalid code verifier"),
                    Some(v) if pkce_challenge(v) != *challenge => {
                        return token_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_request",
                            "invalid code verifier",
                        );
                    }
                    Some(_) => {}
                }
            }
            if !w.user_active(&code.user) {
                return invalid_grant("inactive user");
            }
            let access = w.auth.issue_access(&code.user);
            let wants_refresh = code
                .scope
                .split(' ')
                .any(|p| p == "refresh_token" || p == "offline_access");
            let refresh = wants_refresh.then(|| {
                let r = random("5Aep861");
                w.auth.refresh.insert(
                    r.clone(),
                    Refresh {
                        user: code.user.clone(),
                        scope: code.scope.clone(),
                    },
                );
                r
            });
            drop(w);
            token_answer(&s, &access, refresh.as_deref(), &code.user, &code.scope)
        }
        Some("refresh_token") => {
            let mut w = s.salesforce();
            let Some((user, scope)) = f
                .get("refresh_token")
                .and_then(|r| w.auth.refresh.get(r))
                .map(|r| (r.user.clone(), r.scope.clone()))
            else {
                return invalid_grant("expired access/refresh token");
            };
            if !w.user_active(&user) {
                return invalid_grant("inactive user");
            }
            let access = w.auth.issue_access(&user);
            drop(w);
            token_answer(&s, &access, None, &user, &scope)
        }
        _ => token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant type not supported",
        ),
    }
}

/// Form pairs without failing on odd input (the token endpoint answers in its own shape).
fn serde_urlencoded_pairs(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                let s = s.replace('+', " ");
                urlencoding::decode(&s).map(|c| c.into_owned()).unwrap_or(s)
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn revoke_token(s: &AppState, token: Option<&String>) -> Response {
    let mut w = s.salesforce();
    let Some(t) = token else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            "this token type is not supported",
        );
    };
    if let Some(r) = w.auth.refresh.remove(t) {
        // Revoking a refresh token ends the sessions it issued too.
        w.auth.access.retain(|_, a| a.user != r.user);
        return StatusCode::OK.into_response();
    }
    if w.auth.access.remove(t).is_some() {
        return StatusCode::OK.into_response();
    }
    token_error(StatusCode::BAD_REQUEST, "invalid_token", "invalid token")
}

async fn revoke(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let f = serde_urlencoded_pairs(&body);
    revoke_token(&s, f.get("token"))
}

async fn revoke_get(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    revoke_token(&s, q.get("token"))
}

/// 403 with a plain-text code, as the identity service answers a bad token.
fn bad_token() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain")],
        "Bad_OAuth_Token",
    )
        .into_response()
}

fn user_info(w: &World, base: &str, user: &str, oidc: bool) -> Option<J> {
    let row = w.row(USER, user)?;
    let s = |f: &str| J::from(field(row, USER, f).as_str().map(str::to_string));
    let instance = format!("{base}/salesforce");
    let org15 = &ORG_ID[..15];
    let urls = J::obj([
        (
            "enterprise",
            J::from(format!("{instance}/services/Soap/c/{{version}}/{org15}")),
        ),
        (
            "metadata",
            J::from(format!("{instance}/services/Soap/m/{{version}}/{org15}")),
        ),
        (
            "partner",
            J::from(format!("{instance}/services/Soap/u/{{version}}/{org15}")),
        ),
        (
            "rest",
            J::from(format!("{instance}/services/data/v{{version}}/")),
        ),
        (
            "sobjects",
            J::from(format!("{instance}/services/data/v{{version}}/sobjects/")),
        ),
        (
            "search",
            J::from(format!("{instance}/services/data/v{{version}}/search/")),
        ),
        (
            "query",
            J::from(format!("{instance}/services/data/v{{version}}/query/")),
        ),
        (
            "recent",
            J::from(format!("{instance}/services/data/v{{version}}/recent/")),
        ),
        ("profile", J::from(format!("{instance}/{user}"))),
        ("custom_domain", J::from(instance.clone())),
    ]);
    let id_url = format!("{base}/salesforce/id/{ORG_ID}/{user}");
    let active = w.user_active(user);
    Some(if oidc {
        J::obj([
            ("sub", J::from(id_url)),
            ("user_id", J::from(user)),
            ("organization_id", J::from(ORG_ID)),
            ("preferred_username", s("Username")),
            ("nickname", s("Alias")),
            ("name", s("Name")),
            ("email", s("Email")),
            ("email_verified", J::Bool(true)),
            ("given_name", s("FirstName")),
            ("family_name", s("LastName")),
            ("zoneinfo", J::from("Europe/London")),
            ("active", J::Bool(active)),
            ("user_type", J::from("STANDARD")),
            ("language", J::from("en_US")),
            ("locale", J::from("en_US")),
            ("urls", urls),
        ])
    } else {
        J::obj([
            ("id", J::from(id_url)),
            ("asserted_user", J::Bool(true)),
            ("user_id", J::from(user)),
            ("organization_id", J::from(ORG_ID)),
            ("username", s("Username")),
            ("nick_name", s("Alias")),
            ("display_name", s("Name")),
            ("email", s("Email")),
            ("email_verified", J::Bool(true)),
            ("first_name", s("FirstName")),
            ("last_name", s("LastName")),
            ("timezone", J::from("Europe/London")),
            (
                "photos",
                J::obj([("picture", J::Null), ("thumbnail", J::Null)]),
            ),
            ("urls", urls),
            ("active", J::Bool(active)),
            ("user_type", J::from("STANDARD")),
            ("language", J::from("en_US")),
            ("locale", J::from("en_US")),
            ("utcOffset", J::Int(0)),
        ])
    })
}

async fn identity(
    State(s): State<Arc<AppState>>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let ttl = s.config().salesforce.session_ttl_secs;
    let w = s.salesforce();
    let Some(me) = bearer(&headers).and_then(|t| w.auth.session_user(t, ttl, &w.admin)) else {
        return bad_token();
    };
    let user18 = super::ids::to18(&user).unwrap_or_default();
    if super::ids::to18(&org).as_deref() != Some(ORG_ID) || user18 != me.as_ref() {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain")],
            "Bad_Id",
        )
            .into_response();
    }
    match user_info(&w, &s.base_url, &user18, false) {
        Some(j) => json(StatusCode::OK, &j),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "Bad_Id",
        )
            .into_response(),
    }
}

async fn userinfo(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let ttl = s.config().salesforce.session_ttl_secs;
    let w = s.salesforce();
    let Some(me) = bearer(&headers).and_then(|t| w.auth.session_user(t, ttl, &w.admin)) else {
        return bad_token();
    };
    match user_info(&w, &s.base_url, &me, true) {
        Some(j) => json(StatusCode::OK, &j),
        None => bad_token(),
    }
}
