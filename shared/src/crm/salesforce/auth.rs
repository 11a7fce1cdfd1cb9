//! Salesforce OAuth: the web-server flow's code exchange and the refresh grant. Sessions
//! carry no expiry, so a refresh happens only when the CRM says INVALID_SESSION_ID.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::super::transport::{Lane, Reply, Verdict};
use super::super::{CrmError, CrmResult, OAuthApp, Tokens};
use super::Salesforce;

/// The token endpoint's answer; `refresh_token` is absent from refresh answers unless the
/// connected app rotates refresh tokens.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    instance_url: Option<String>,
    id: Option<String>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

/// `application/x-www-form-urlencoded` (reqwest's `form` feature is off in this workspace).
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a refused token call means, from `error`/`error_description` only: the rest of
/// the body is never echoed, since a token endpoint's body may hold secrets.
fn refused(status: u16, body: &[u8]) -> CrmError {
    let e: TokenError = serde_json::from_slice(body).unwrap_or_default();
    let what = match (e.error, e.error_description) {
        (Some(c), Some(d)) => format!("{c}: {d}"),
        (Some(c), None) => c,
        (None, Some(d)) => d,
        (None, None) => format!("HTTP {status}"),
    };
    CrmError::Auth(format!("Salesforce's token endpoint refused: {what}"))
}

/// A refused code exchange, as `refused`; a user or org Salesforce says is deactivated
/// (`invalid_grant` with "inactive user" or "inactive organization", its documented
/// descriptions) is `Inactive`, so sign-in can say so.
fn code_refused(status: u16, body: &[u8]) -> CrmError {
    let e: TokenError = serde_json::from_slice(body).unwrap_or_default();
    let inactive = e.error.as_deref() == Some("invalid_grant")
        && matches!(
            e.error_description.as_deref(),
            Some("inactive user" | "inactive organization")
        );
    match refused(status, body) {
        CrmError::Auth(m) if inactive => CrmError::Inactive(m),
        other => other,
    }
}

fn parse(status: u16, body: &[u8]) -> CrmResult<TokenAnswer> {
    serde_json::from_slice(body).map_err(|e| {
        CrmError::Protocol(format!(
            "the token answer (HTTP {status}) is not a token response: {}",
            e.classify_name()
        ))
    })
}

/// The domains Salesforce serves orgs and identity URLs from (Salesforce's "Allowlist
/// Salesforce Domains"): `*.my.salesforce.com`, `login.salesforce.com`, `*.force.com`,
/// Government Cloud's `salesforce.mil`, the China instance's `sfcrmproducts.cn`.
const SALESFORCE_DOMAINS: &[&str] = &[
    "salesforce.com",
    "force.com",
    "cloudforce.com",
    "salesforce.mil",
    "sfcrmproducts.cn",
];

/// A URL a token answer names (the org's `instance_url`, its identity URL) is where
/// Steward sends the access token next, so it must be https on one of Salesforce's
/// domains, on the default port, with no user info; or on the configured login host's own
/// origin (`token_url`'s), which is how the sandbox CRM answers. Anything else fails the
/// sign-in: the URL is named in the error (it is the CRM's answer, not a secret).
pub(crate) fn check_org_url(what: &str, url: &str, token_url: &str) -> CrmResult<()> {
    let untrusted = || {
        CrmError::Untrusted(format!(
            "Salesforce's token answer gave {what} `{url}`, which is not an https URL on a \
             Salesforce domain ({})",
            SALESFORCE_DOMAINS.join(", ")
        ))
    };
    let u = reqwest::Url::parse(url).map_err(|_| untrusted())?;
    if reqwest::Url::parse(token_url).is_ok_and(|t| t.origin() == u.origin()) {
        return Ok(());
    }
    let host = u.host_str().unwrap_or_default();
    let on_salesforce = SALESFORCE_DOMAINS.iter().any(|d| {
        host.len() > d.len() && host.ends_with(d) && host[..host.len() - d.len()].ends_with('.')
    });
    if u.scheme() == "https"
        && on_salesforce
        && u.port().is_none()
        && u.username().is_empty()
        && u.password().is_none()
    {
        Ok(())
    } else {
        Err(untrusted())
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    /// The error's category only: its message could quote the body, tokens included.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "fields missing or of the wrong type",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// Trades the login flow's authorization code for tokens. Returns the tokens, the org's
/// `instance_url` and its identity URL (the answer's `id`). Sent once: a code is single-use.
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &OAuthApp,
    code: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
) -> CrmResult<(Tokens, String, String)> {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose_secret()),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = code_verifier {
        pairs.push(("code_verifier", v));
    }
    let resp = http
        .post(&app.token_url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(form(&pairs))
        .send()
        .await
        .map_err(|e| CrmError::Unavailable(format!("Salesforce's token endpoint: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(|e| {
        CrmError::Unavailable(format!("Salesforce's token answer was cut off: {e}"))
    })?;
    match status {
        200..=299 => {}
        400..=499 => return Err(code_refused(status, &body)),
        _ => {
            return Err(CrmError::Unavailable(format!(
                "Salesforce's token endpoint answered HTTP {status}"
            )));
        }
    }
    let t = parse(status, &body)?;
    let instance_url = t
        .instance_url
        .ok_or_else(|| CrmError::Protocol("the token answer has no instance_url".into()))?;
    let identity_url =
        t.id.ok_or_else(|| CrmError::Protocol("the token answer has no id (identity URL)".into()))?;
    check_org_url("instance_url", &instance_url, &app.token_url)?;
    check_org_url("identity URL", &identity_url, &app.token_url)?;
    let tokens = Tokens {
        access_token: SecretString::from(t.access_token),
        refresh_token: t.refresh_token.map(SecretString::from),
        expires_at: None,
    };
    Ok((tokens, instance_url, identity_url))
}

impl Salesforce {
    /// The refresh grant, through the transport (it retries a flaky token endpoint).
    /// Keeps the refresh token when the answer omits it.
    pub(super) async fn refresh_grant(&self, current: &Tokens) -> CrmResult<Tokens> {
        let app = self.app.as_ref().ok_or_else(|| {
            CrmError::Auth(
                "the session expired and no OAuth app is configured to refresh it".into(),
            )
        })?;
        let refresh = current.refresh_token.as_ref().ok_or_else(|| {
            CrmError::Auth("the session expired and the connection has no refresh token".into())
        })?;
        let body = bytes::Bytes::from(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.expose_secret()),
        ]));
        let http = &self.transport.http;
        let build = || {
            http.post(&app.token_url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .body(body.clone())
        };
        let classify = |r: &Reply| match r.status {
            200..=299 => Verdict::Done,
            429 => Verdict::Throttled {
                after: r.retry_after(),
            },
            400..=499 => Verdict::Stop(refused(r.status, &r.body)),
            500..=599 => Verdict::Failed,
            s => Verdict::Stop(CrmError::Protocol(format!(
                "Salesforce's token endpoint answered HTTP {s}"
            ))),
        };
        let reply = self
            .transport
            .send(Lane::Standard, true, &build, &classify)
            .await?;
        let t = parse(reply.status, &reply.body)?;
        Ok(Tokens {
            access_token: SecretString::from(t.access_token),
            refresh_token: t
                .refresh_token
                .map(SecretString::from)
                .or_else(|| current.refresh_token.clone()),
            expires_at: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded() {
        assert_eq!(
            form(&[("a", "x y&z=1"), ("redirect_uri", "http://h/cb?x=1")]),
            "a=x%20y%26z%3D1&redirect_uri=http%3A%2F%2Fh%2Fcb%3Fx%3D1"
        );
    }

    #[test]
    fn refusals_never_echo_the_body() {
        let e = refused(
            400,
            br#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        );
        assert_eq!(
            e,
            CrmError::Auth(
                "Salesforce's token endpoint refused: invalid_grant: expired access/refresh token"
                    .into()
            )
        );
        let e = refused(400, b"secret-token-material");
        assert!(!e.to_string().contains("secret"));
        let e = parse(200, br#"{"access_token": 5, "x": "secret"}"#)
            .err()
            .unwrap();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn a_code_refused_for_a_deactivated_user_or_org_is_inactive() {
        for d in ["inactive user", "inactive organization"] {
            let body = format!(r#"{{"error":"invalid_grant","error_description":"{d}"}}"#);
            assert_eq!(
                code_refused(400, body.as_bytes()),
                CrmError::Inactive(format!(
                    "Salesforce's token endpoint refused: invalid_grant: {d}"
                ))
            );
        }
        for other in [
            &br#"{"error":"invalid_grant","error_description":"expired authorization code"}"#[..],
            br#"{"error":"invalid_client","error_description":"inactive user"}"#,
            b"inactive user",
        ] {
            assert!(
                matches!(code_refused(400, other), CrmError::Auth(_)),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn org_addresses_are_followed_only_on_salesforces_domains_or_the_login_origin() {
        let login = "https://login.salesforce.com/services/oauth2/token";
        for ok in [
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com/id/00D/005",
            "https://acme--uat.sandbox.my.salesforce.com/",
            "https://acme.lightning.force.com",
            "https://acme.my.salesforce.mil",
        ] {
            assert_eq!(check_org_url("instance_url", ok, login), Ok(()), "{ok}");
        }
        for bad in [
            "https://evil.example.com",
            "http://acme.my.salesforce.com",
            "https://acme.my.salesforce.com.evil.example",
            "https://evilsalesforce.com",
            "https://salesforce.com",
            "https://acme.my.salesforce.com:8443",
            "https://user:pw@acme.my.salesforce.com",
            "file:///etc/passwd",
            "acme.my.salesforce.com",
        ] {
            let e = check_org_url("instance_url", bad, login).unwrap_err();
            assert!(
                matches!(&e, CrmError::Untrusted(m) if m.contains(bad)),
                "{bad}: {e}"
            );
        }
        // The sandbox answers on its own origin, which is the configured login host's.
        let sandbox = "http://127.0.0.1:4010/salesforce/services/oauth2/token";
        assert_eq!(
            check_org_url("instance_url", "http://127.0.0.1:4010/salesforce", sandbox),
            Ok(())
        );
        assert!(check_org_url("instance_url", "http://127.0.0.1:4011/x", sandbox).is_err());
    }
}
