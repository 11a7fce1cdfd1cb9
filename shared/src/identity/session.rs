//! Sessions: a random id in an HttpOnly, SameSite=Lax cookie (Secure except on
//! localhost), stored only as its SHA-256 with an expiry; a CSRF token per session that
//! state-changing requests must echo in `X-CSRF-Token`.

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use super::{Principal, Status, store};
use crate::app::Services;
use crate::crypto::{random_token, sha256_hex};
use crate::error::{Error, Result};
use crate::ports::items::{Item, Query, WriteOp};

pub const SESSION_COOKIE: &str = "steward_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts from sign-in.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub account_id: crate::ids::AccountId,
    pub user_id: String,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// Whether cookies may go without `Secure` (a plain-http localhost, as `steward serve`).
fn is_local(web_base_url: &str) -> bool {
    let rest = web_base_url.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// A `Set-Cookie` value; `max_age` 0 clears it.
pub fn set_cookie(web_base_url: &str, name: &str, value: &str, path: &str, max_age: i64) -> String {
    let secure = if is_local(web_base_url) {
        ""
    } else {
        "; Secure"
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// Starts a session; returns its `Set-Cookie` value.
pub async fn create(s: &Services, account_id: &AccountId, user_id: &str) -> Result<String> {
    let id = random_token()?;
    let key = sha256_hex(id.as_bytes());
    let now = s.clock.now();
    let session = Session {
        account_id: account_id.clone(),
        user_id: user_id.into(),
        csrf: random_token()?,
        created_at: now,
    };
    let item = store::to_item(
        crate::keys::session(&key),
        crate::keys::META.into(),
        &session,
    )?
    .expiring_at(now.timestamp() + SESSION_TTL_SECS)
    .indexed(
        crate::keys::sessions_of(account_id, user_id),
        now.to_rfc3339(),
    );
    s.items.put_if_absent(item).await?;
    Ok(set_cookie(
        &s.web_base_url,
        SESSION_COOKIE,
        &id,
        "/",
        SESSION_TTL_SECS,
    ))
}

/// The live session the request's cookie names, with its stored key.
pub async fn current(s: &Services, req: &Request) -> Result<Option<(String, Session)>> {
    let Some(id) = cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let key = sha256_hex(id.as_bytes());
    let Some(item) = s
        .items
        .get(&crate::keys::session(&key), crate::keys::META)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((key, store::from_item(&item)?)))
}

fn unsafe_method(req: &Request) -> bool {
    !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS")
}

/// Constant-time comparison of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The signed-in, active member behind the request, or 401; a state-changing request
/// without the session's CSRF token is a 403.
pub async fn authenticate(s: &Services, req: &Request) -> Result<Principal> {
    let Some((key, session)) = current(s, req).await? else {
        return Err(Error::Unauthorized);
    };
    let account = store::get_account(s.items.as_ref(), &session.account_id).await?;
    let member = store::get_member(s.items.as_ref(), &session.account_id, &session.user_id).await?;
    let (Some(account), Some(member)) = (account, member) else {
        return Err(Error::Unauthorized);
    };
    if member.status != Status::Active {
        // Removed members' sessions end at once, whatever their expiry.
        return Err(Error::Unauthorized);
    }
    if unsafe_method(req) {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same(sent, &session.csrf) {
            return Err(Error::Forbidden(format!(
                "this request changes state and needs the `{CSRF_HEADER}` header from GET /me"
            )));
        }
    }
    Ok(Principal {
        account_id: account.id.clone(),
        crm: account.crm,
        user_id: member.user_id.clone(),
        email: member.email.clone(),
        role: member.role_in(&account),
        permissions: member.permissions_in(&account),
        session_key: key,
        csrf: session.csrf,
    })
}

/// Ends one session.
pub async fn end(s: &Services, key: &str) -> Result<()> {
    s.items
        .delete(&crate::keys::session(key), crate::keys::META, None)
        .await
}

/// Ends every session of a member (removal, purge).
pub async fn end_all(s: &Services, account_id: &AccountId, user_id: &str) -> Result<()> {
    let sessions = s
        .items
        .query_all(Query::partition(crate::keys::sessions_of(account_id, user_id)).on_gsi1())
        .await?;
    let ops: Vec<WriteOp> = sessions
        .into_iter()
        .map(|i: Item| WriteOp::Delete { pk: i.pk, sk: i.sk })
        .collect();
    if !ops.is_empty() {
        s.items.batch_write(ops).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_except_on_localhost() {
        let c = set_cookie("https://steward.example.com", "a", "v", "/", 60);
        assert_eq!(c, "a=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        let c = set_cookie("http://127.0.0.1:8080", "a", "v", "/", 60);
        assert!(!c.contains("Secure"));
        let c = set_cookie("http://localhost", "a", "", "/", 0);
        assert!(!c.contains("Secure"));
        assert!(set_cookie("http://localhost.evil.com", "a", "", "/", 0).contains("Secure"));
    }

    #[test]
    fn tokens_compare_in_constant_time_and_exactly() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
