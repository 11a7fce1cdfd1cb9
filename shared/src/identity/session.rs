//! Sessions: a random id in an HttpOnly, SameSite=Lax cookie (Secure except on
//! localhost), stored only as its SHA-256 with an expiry; a CSRF token per session that
//! state-changing requests must echo in `X-CSRF-Token`. The HTTP edge (`crate::http`)
//! reads a request's cookie, method and header into `Credentials`, and sends `Cookie`s as
//! `Set-Cookie`.

use crate::ids::{AccountId, MemberId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Principal, Status, store};
use crate::app::{UsesClock, UsesItems};
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
    pub user_id: MemberId,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
}

/// A cookie for the browser to keep; the HTTP edge sends it as `Set-Cookie`
/// (`crate::http::set_cookie_of`: HttpOnly, SameSite=Lax, Secure except on localhost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: &'static str,
    pub value: String,
    pub path: &'static str,
    /// Seconds the browser keeps it; 0 clears it.
    pub max_age: i64,
}

impl Cookie {
    /// Clears the browser's cookie `name` at `path`.
    pub fn cleared(name: &'static str, path: &'static str) -> Self {
        Cookie {
            name,
            value: String::new(),
            path,
            max_age: 0,
        }
    }
}

/// What a request presents of a session, as the HTTP edge read it
/// (`crate::http::credentials`).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The session cookie's value.
    pub session_id: Option<String>,
    /// Whether the request changes state (any method but GET, HEAD and OPTIONS): it must
    /// then carry the session's CSRF token.
    pub changes_state: bool,
    /// The `X-CSRF-Token` header's value.
    pub csrf: Option<String>,
}

/// Starts a session; returns its cookie.
pub async fn create(
    s: &(impl UsesItems + UsesClock),
    account_id: &AccountId,
    user_id: &MemberId,
) -> Result<Cookie> {
    let id = random_token()?;
    let key = sha256_hex(id.as_bytes());
    let now = s.clock().now();
    let session = Session {
        account_id: account_id.clone(),
        user_id: user_id.clone(),
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
    s.items().put_if_absent(item).await?;
    Ok(Cookie {
        name: SESSION_COOKIE,
        value: id,
        path: "/",
        max_age: SESSION_TTL_SECS,
    })
}

/// The live session a session cookie's value names, with its stored key.
pub async fn current(s: &impl UsesItems, id: Option<&str>) -> Result<Option<(String, Session)>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let key = sha256_hex(id.as_bytes());
    let Some(item) = s
        .items()
        .get(&crate::keys::session(&key), crate::keys::META)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((key, store::from_item(&item)?)))
}

/// Constant-time comparison of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The signed-in, active member behind the credentials, or 401; a state-changing request
/// without the session's CSRF token is a 403.
pub async fn authenticate(s: &impl UsesItems, presented: &Credentials) -> Result<Principal> {
    let Some((key, session)) = current(s, presented.session_id.as_deref()).await? else {
        return Err(Error::Unauthorized);
    };
    let account = store::get_account(s.items(), &session.account_id).await?;
    let member = store::get_member(s.items(), &session.account_id, &session.user_id).await?;
    let (Some(account), Some(member)) = (account, member) else {
        return Err(Error::Unauthorized);
    };
    if member.status != Status::Active {
        // Removed members' sessions end at once, whatever their expiry.
        return Err(Error::Unauthorized);
    }
    if presented.changes_state {
        let sent = presented.csrf.as_deref().unwrap_or("");
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
pub async fn end(s: &impl UsesItems, key: &str) -> Result<()> {
    s.items()
        .delete(&crate::keys::session(key), crate::keys::META, None)
        .await
}

/// Ends every session of a member (removal, purge).
pub async fn end_all(s: &impl UsesItems, account_id: &AccountId, user_id: &MemberId) -> Result<()> {
    let sessions = s
        .items()
        .query_all(Query::partition(crate::keys::sessions_of(account_id, user_id)).on_gsi1())
        .await?;
    let ops: Vec<WriteOp> = sessions
        .into_iter()
        .map(|i: Item| WriteOp::Delete { pk: i.pk, sk: i.sk })
        .collect();
    if !ops.is_empty() {
        s.items().batch_write(ops).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_in_constant_time_and_exactly() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
