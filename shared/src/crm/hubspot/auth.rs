//! HubSpot OAuth tokens: the authorization-code exchange, refresh ahead of expiry and once
//! after a 401, one refresh shared by concurrent callers, and the sink told of each.

use bytes::Bytes;
use chrono::Utc;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{Call, HubSpot, exposed, figures, wire};
use crate::crm::transport::Reply;
use crate::crm::{CrmError, CrmResult, OAuthApp, Tokens};

/// The token endpoint's answer (crm-wire §1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// Tokens from a token-endpoint answer; `previous_refresh` is kept when the answer has
/// none (a refresh grant may leave it out).
fn tokens_from(reply: &Reply, previous_refresh: Option<&SecretString>) -> CrmResult<Tokens> {
    let t: TokenResponse = serde_json::from_slice(&reply.body)
        .map_err(|e| CrmError::Protocol(format!("HubSpot's token answer does not parse: {e}")))?;
    if t.access_token.is_empty() {
        return Err(CrmError::Protocol(
            "HubSpot's token answer has an empty access_token".into(),
        ));
    }
    let expires_at = t
        .expires_in
        .filter(|s| *s > 0)
        .map(|s| Utc::now() + chrono::Duration::seconds(s));
    Ok(Tokens {
        access_token: SecretString::from(t.access_token),
        refresh_token: t
            .refresh_token
            .filter(|r| !r.is_empty())
            .map(SecretString::from)
            .or_else(|| previous_refresh.cloned()),
        expires_at,
    })
}

/// `k=v&…`, form-encoded.
fn form(pairs: &[(&str, &str)]) -> Bytes {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    Bytes::from(body)
}

/// A refused grant (400 `BAD_AUTH_CODE`, `BAD_REFRESH_TOKEN`, …): the user must reconnect.
fn grant_refused(reply: &Reply, grant: &str) -> CrmError {
    let status = wire::field_of(reply, "status");
    let message = wire::message_of(reply);
    CrmError::Auth(match status {
        Some(s) => format!("HubSpot refused the {grant} ({s}): {message}"),
        None => format!("HubSpot refused the {grant}: {message}"),
    })
}

/// Trades the code from HubSpot's authorize redirect for tokens (the login flow). Sent
/// once: a code is single-use, so a failed exchange means starting the flow again.
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &OAuthApp,
    code: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
) -> CrmResult<Tokens> {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose_secret()),
        ("redirect_uri", redirect_uri),
        ("code", code),
    ];
    if let Some(v) = code_verifier {
        pairs.push(("code_verifier", v));
    }
    let resp = http
        .post(app.token_url.as_str())
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form(&pairs))
        .send()
        .await
        .map_err(|e| {
            CrmError::Unavailable(format!("HubSpot's token endpoint: {}", e.without_url()))
        })?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(|e| {
        CrmError::Unavailable(format!(
            "HubSpot's token answer was cut off: {}",
            e.without_url()
        ))
    })?;
    let reply = Reply {
        status,
        headers,
        body,
    };
    match status {
        200..=299 => tokens_from(&reply, None),
        400 | 401 | 403 => Err(grant_refused(&reply, "authorization code")),
        500..=599 => Err(CrmError::Unavailable(format!(
            "HubSpot's token endpoint failed with HTTP {status}"
        ))),
        _ => Err(wire::reply_error(&reply, "authorization-code exchange")),
    }
}

impl HubSpot {
    /// Whether these tokens can and should be refreshed before use.
    fn due(&self, t: &Tokens) -> bool {
        let margin = chrono::Duration::from_std(figures::REFRESH_MARGIN)
            .unwrap_or_else(|_| chrono::Duration::seconds(120));
        self.app.is_some()
            && t.refresh_token.is_some()
            && t.expires_at.is_some_and(|at| Utc::now() + margin >= at)
    }

    /// The access token to send, refreshed first when it is about to expire. A fresh token
    /// costs no call.
    pub(super) async fn bearer(&self) -> CrmResult<String> {
        let mut t = self.tokens.lock().await;
        if self.due(&t) {
            self.refresh_locked(&mut t).await?;
        }
        Ok(exposed(&t.access_token).to_string())
    }

    /// After a 401 on `used`: refresh, unless another caller already did (then its token
    /// is used). `Auth` when the token cannot be refreshed (private app, no refresh token).
    pub(super) async fn refresh_after_401(&self, used: &str, reply: &Reply) -> CrmResult<String> {
        let mut t = self.tokens.lock().await;
        if exposed(&t.access_token) != used {
            return Ok(exposed(&t.access_token).to_string());
        }
        if self.app.is_none() || t.refresh_token.is_none() {
            return Err(CrmError::Auth(format!(
                "HubSpot refused the token and it cannot be refreshed: {}",
                wire::message_of(reply)
            )));
        }
        self.refresh_locked(&mut t).await?;
        Ok(exposed(&t.access_token).to_string())
    }

    /// Refreshes `t` in place (the caller holds the lock) and tells the sink.
    async fn refresh_locked(&self, t: &mut Tokens) -> CrmResult<()> {
        let (Some(app), Some(refresh)) = (&self.app, &t.refresh_token) else {
            return Err(CrmError::Auth(
                "the HubSpot token cannot be refreshed (no app or refresh token)".into(),
            ));
        };
        let body = form(&[
            ("grant_type", "refresh_token"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.expose_secret()),
            ("refresh_token", refresh.expose_secret()),
        ]);
        let http = self.transport.http.clone();
        let url = app.token_url.clone();
        let build = move || {
            http.request(Method::POST, url.as_str())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone())
        };
        let limiter = self.transport.limiter.clone();
        let classify = move |r: &Reply| super::classify(&limiter, r);
        // HubSpot hands back the same refresh token, so resending a refresh is harmless.
        let reply = self
            .transport
            .send(
                crate::crm::transport::Lane::Standard,
                true,
                &build,
                &classify,
            )
            .await?;
        let fresh = match reply.status {
            200..=299 => tokens_from(&reply, Some(refresh))?,
            400 | 401 | 403 => {
                let refused = grant_refused(&reply, "refresh token");
                if let (Some(sink), CrmError::Auth(why)) = (&self.sink, &refused) {
                    sink.refresh_refused(t, why).await;
                }
                return Err(refused);
            }
            _ => return Err(wire::reply_error(&reply, "token refresh")),
        };
        *t = fresh;
        tracing::info!(expires_at = ?t.expires_at, "refreshed the HubSpot access token");
        if let Some(sink) = &self.sink {
            sink.tokens_refreshed(t).await;
        }
        Ok(())
    }

    /// `GET /oauth/v1/access-tokens/{token}`: the token's portal and user, sent without a
    /// bearer header. `None` when HubSpot has no info for it (private-app tokens).
    pub(super) async fn token_info(&self, token: &str) -> CrmResult<Option<Reply>> {
        let call = Call::get(format!(
            "/oauth/v1/access-tokens/{}",
            urlencoding::encode(token)
        ));
        // The token is in the path: keep it out of any error message.
        let reply = self
            .send_with(&call, None)
            .await
            .map_err(|e| wire::redact(e, token))?;
        match reply.status {
            200..=299 => Ok(Some(reply)),
            400 | 401 | 404 => Ok(None),
            _ => Err(wire::redact(wire::reply_error(&reply, "token info"), token)),
        }
    }

    /// Refreshes now whatever the expiry says (a token HubSpot no longer knows).
    pub(super) async fn force_refresh(&self, used: &str) -> CrmResult<String> {
        let mut t = self.tokens.lock().await;
        if exposed(&t.access_token) != used {
            return Ok(exposed(&t.access_token).to_string());
        }
        self.refresh_locked(&mut t).await?;
        Ok(exposed(&t.access_token).to_string())
    }

    /// Whether this connection can refresh its token (an OAuth install, not a private app).
    pub(super) async fn refreshable(&self) -> bool {
        self.app.is_some() && self.tokens.lock().await.refresh_token.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn token_answers_parse_and_keep_the_refresh_token() {
        let old = SecretString::from("r-old".to_string());
        let t = tokens_from(
            &reply(
                200,
                r#"{"access_token":"a1","expires_in":1800,"token_type":"bearer"}"#,
            ),
            Some(&old),
        )
        .unwrap();
        assert_eq!(t.access_token.expose_secret(), "a1");
        assert_eq!(t.refresh_token.unwrap().expose_secret(), "r-old");
        let left = t.expires_at.unwrap() - Utc::now();
        assert!(left.num_seconds() > 1790 && left.num_seconds() <= 1800);
        let t = tokens_from(
            &reply(
                200,
                r#"{"access_token":"a2","refresh_token":"r-new","expires_in":60}"#,
            ),
            Some(&old),
        )
        .unwrap();
        assert_eq!(t.refresh_token.unwrap().expose_secret(), "r-new");
        assert!(matches!(
            tokens_from(&reply(200, "{}"), None),
            Err(CrmError::Protocol(_))
        ));
    }

    #[test]
    fn refused_grants_are_auth_errors_without_secrets() {
        let e = grant_refused(
            &reply(
                400,
                r#"{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token","correlationId":"x"}"#,
            ),
            "refresh token",
        );
        assert_eq!(
            e,
            CrmError::Auth(
                "HubSpot refused the refresh token (BAD_REFRESH_TOKEN): missing or invalid refresh token"
                    .into()
            )
        );
    }

    #[test]
    fn forms_are_encoded() {
        assert_eq!(
            form(&[("a", "x y"), ("b", "1&2=3")]),
            Bytes::from("a=x%20y&b=1%262%3D3")
        );
    }
}
