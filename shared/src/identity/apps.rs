//! Steward's registered OAuth apps (a HubSpot public app, a Salesforce connected app) and
//! where each CRM is reached. A CRM without an app configured cannot be signed in with.

use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::crm::transport::{AccountLimiter, Transport};
use crate::crm::{CrmKind, OAuthApp, limits::Limits};

/// Scopes asked of HubSpot: records, schemas, and users/owners for the team and identity.
pub const HUBSPOT_SCOPES: &[&str] = &[
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.owners.read",
    "settings.users.read",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
];

/// Asked of HubSpot if the portal has them (`optional_scope`): `automation` lets a recipe
/// run complete the HubSpot workflow actions waiting on it (portals without workflows
/// sign in all the same).
pub const HUBSPOT_OPTIONAL_SCOPES: &[&str] = &["automation"];

/// Salesforce: the REST/SOAP API and a refresh token.
pub const SALESFORCE_SCOPES: &[&str] = &["api", "refresh_token"];

#[derive(Clone, Debug)]
pub struct HubSpotApp {
    /// `https://app.hubspot.com/oauth/authorize`.
    pub authorize_url: String,
    /// `https://api.hubapi.com` (the token endpoint is under it).
    pub api_base: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

#[derive(Clone, Debug)]
pub struct SalesforceApp {
    /// `https://login.salesforce.com` (or `test.salesforce.com`, or a My Domain).
    pub login_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

impl HubSpotApp {
    pub fn oauth(&self) -> OAuthApp {
        OAuthApp {
            token_url: format!("{}/oauth/v1/token", self.api_base),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        }
    }
}

impl SalesforceApp {
    pub fn authorize_url(&self) -> String {
        format!("{}/services/oauth2/authorize", self.login_url)
    }

    pub fn oauth(&self) -> OAuthApp {
        OAuthApp {
            token_url: format!("{}/services/oauth2/token", self.login_url),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        }
    }
}

/// The variable naming the Secrets Manager secret that holds the apps' client secrets.
pub const APPS_SECRET_VARIABLE: &str = "STEWARD_CRM_APPS_SECRET";

/// The client secrets, by the variables that hold them off AWS.
const CLIENT_SECRETS: [&str; 2] = [
    "STEWARD_HUBSPOT_CLIENT_SECRET",
    "STEWARD_SALESFORCE_CLIENT_SECRET",
];

/// Every variable `CrmApps::from_lookup` reads: (name, what it is for).
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "STEWARD_HUBSPOT_CLIENT_ID",
        "HubSpot public app's client id",
    ),
    (
        "STEWARD_HUBSPOT_CLIENT_SECRET",
        "HubSpot public app's client secret (on AWS, in STEWARD_CRM_APPS_SECRET)",
    ),
    (
        "STEWARD_HUBSPOT_AUTHORIZE_URL",
        "default https://app.hubspot.com/oauth/authorize",
    ),
    ("STEWARD_HUBSPOT_API_URL", "default https://api.hubapi.com"),
    (
        "STEWARD_SALESFORCE_CLIENT_ID",
        "Salesforce connected app's consumer key",
    ),
    (
        "STEWARD_SALESFORCE_CLIENT_SECRET",
        "Salesforce connected app's consumer secret (on AWS, in STEWARD_CRM_APPS_SECRET)",
    ),
    (
        "STEWARD_CRM_APPS_SECRET",
        "ARN of the Secrets Manager secret holding the two client secrets above, as JSON",
    ),
    (
        "STEWARD_SALESFORCE_LOGIN_URL",
        "default https://login.salesforce.com",
    ),
];

/// How long a CRM call may wait: to connect, and for each read of its answer (a stalled
/// CRM or a half-open connection fails the call, which the transport retries, instead of
/// holding a Lambda until its own timeout). No limit on a whole answer: a Bulk API result
/// can stream for minutes, but never stall for this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            // Salesforce ends a REST query that runs longer than 120 s itself.
            read: Duration::from_secs(130),
        }
    }
}

/// The apps, an HTTP client for the CRMs, and one rate limiter per account in this
/// process (every connection of an account shares the CRM's per-account limits).
#[derive(Clone, Default)]
pub struct CrmApps {
    pub hubspot: Option<HubSpotApp>,
    pub salesforce: Option<SalesforceApp>,
    pub timeouts: Timeouts,
    /// Built on first use, so functions that never call a CRM do not link an HTTP client
    /// (BENCHMARKS.md, Lambda sizes).
    http: Arc<std::sync::OnceLock<reqwest::Client>>,
    limiters: Arc<Mutex<HashMap<String, Arc<AccountLimiter>>>>,
}

impl std::fmt::Debug for CrmApps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmApps")
            .field("hubspot", &self.hubspot)
            .field("salesforce", &self.salesforce)
            .finish()
    }
}

impl CrmApps {
    pub fn new(hubspot: Option<HubSpotApp>, salesforce: Option<SalesforceApp>) -> Self {
        CrmApps {
            hubspot,
            salesforce,
            ..Default::default()
        }
    }

    /// Reads the apps from the environment; a client id without its secret is an error,
    /// and so is a CRM URL that is not https (plain http only on this machine's loopback,
    /// where the sandbox CRM runs).
    ///
    /// With `STEWARD_CRM_APPS_SECRET` set (on AWS), the client secrets are not in the
    /// environment: an app is made from its client id with its secret left empty, for
    /// [`CrmApps::fill_secrets`] to fill from that Secrets Manager secret at cold start.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let deferred = get(APPS_SECRET_VARIABLE).is_some();
        for name in CLIENT_SECRETS {
            if deferred && get(name).is_some() {
                problems.push(format!(
                    "{name} must not be set with {APPS_SECRET_VARIABLE} (the secret holds it)"
                ));
            }
        }
        let get_secret = |k: &str| match deferred {
            true => Some(String::new()),
            false => get(k),
        };
        for (name, _) in VARIABLES.iter().filter(|(n, _)| n.ends_with("_URL")) {
            if let Some(v) = get(name)
                && let Err(why) = crm_url(&v)
            {
                problems.push(format!("{name} {why}"));
            }
        }
        let mut pair = |id: &str, secret: &str| match (get(id), get_secret(secret)) {
            (Some(i), Some(s)) => Some((i, SecretString::from(s))),
            (None, None) => None,
            (None, Some(_)) if deferred => None,
            (Some(_), None) => {
                problems.push(format!("{secret} is missing (it goes with {id})"));
                None
            }
            (None, Some(_)) => {
                problems.push(format!("{id} is missing (it goes with {secret})"));
                None
            }
        };
        let hubspot = pair("STEWARD_HUBSPOT_CLIENT_ID", "STEWARD_HUBSPOT_CLIENT_SECRET").map(
            |(client_id, client_secret)| HubSpotApp {
                authorize_url: get("STEWARD_HUBSPOT_AUTHORIZE_URL")
                    .unwrap_or_else(|| "https://app.hubspot.com/oauth/authorize".into()),
                api_base: get("STEWARD_HUBSPOT_API_URL")
                    .unwrap_or_else(|| "https://api.hubapi.com".into())
                    .trim_end_matches('/')
                    .to_string(),
                client_id,
                client_secret,
            },
        );
        let salesforce = pair(
            "STEWARD_SALESFORCE_CLIENT_ID",
            "STEWARD_SALESFORCE_CLIENT_SECRET",
        )
        .map(|(client_id, client_secret)| SalesforceApp {
            login_url: get("STEWARD_SALESFORCE_LOGIN_URL")
                .unwrap_or_else(|| "https://login.salesforce.com".into())
                .trim_end_matches('/')
                .to_string(),
            client_id,
            client_secret,
        });
        if problems.is_empty() {
            Ok(CrmApps::new(hubspot, salesforce))
        } else {
            Err(problems)
        }
    }

    /// Fills the client secrets `from_lookup` left empty from the CRM apps' secret: a JSON
    /// object of the variables it stands in for (`STEWARD_HUBSPOT_CLIENT_SECRET`,
    /// `STEWARD_SALESFORCE_CLIENT_SECRET`). Each app signed in with needs its own; other
    /// keys are refused, so a misspelt one is told at once rather than at a sign-in.
    pub fn fill_secrets(&mut self, json: &str) -> Result<(), String> {
        let values: HashMap<String, String> = serde_json::from_str(json).map_err(|_| {
            format!("{APPS_SECRET_VARIABLE}'s value must be a JSON object of strings")
        })?;
        if let Some(unknown) = values
            .keys()
            .find(|k| !CLIENT_SECRETS.contains(&k.as_str()))
        {
            return Err(format!(
                "{APPS_SECRET_VARIABLE} has `{unknown}`; it holds only {}",
                CLIENT_SECRETS.join(", ")
            ));
        }
        let value = |name: &str| match values.get(name).map(|v| v.trim()) {
            Some(v) if !v.is_empty() => Ok(SecretString::from(v.to_string())),
            _ => Err(format!("{APPS_SECRET_VARIABLE} has no {name}")),
        };
        if let Some(app) = &mut self.hubspot
            && app.client_secret.expose_secret().is_empty()
        {
            app.client_secret = value(CLIENT_SECRETS[0])?;
        }
        if let Some(app) = &mut self.salesforce
            && app.client_secret.expose_secret().is_empty()
        {
            app.client_secret = value(CLIENT_SECRETS[1])?;
        }
        Ok(())
    }

    /// The same HTTP client and limits with no app: a function that never signs in or
    /// refreshes tokens is given no client secret.
    pub fn without_apps(&self) -> Self {
        CrmApps {
            hubspot: None,
            salesforce: None,
            ..self.clone()
        }
    }

    /// Apps for the sandbox CRM at `base` (`steward serve --demo`, tests).
    pub fn sandbox(base: &str, client_id: &str, client_secret: &str) -> Self {
        let base = base.trim_end_matches('/');
        CrmApps::new(
            Some(HubSpotApp {
                authorize_url: format!("{base}/hubspot/oauth/authorize"),
                api_base: format!("{base}/hubspot"),
                client_id: client_id.into(),
                client_secret: SecretString::from(client_secret.to_string()),
            }),
            Some(SalesforceApp {
                login_url: format!("{base}/salesforce"),
                client_id: client_id.into(),
                client_secret: SecretString::from(client_secret.to_string()),
            }),
        )
    }

    /// The same apps, their calls bounded by `timeouts` (tests use short ones).
    pub fn with_timeouts(self, timeouts: Timeouts) -> Self {
        CrmApps {
            timeouts,
            http: Arc::default(),
            ..self
        }
    }

    /// The HTTP client every CRM call of this process shares, bounded by `timeouts`.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            crate::tls::http_client()
                .connect_timeout(self.timeouts.connect)
                .read_timeout(self.timeouts.read)
                .build()
                // Only a TLS backend that cannot start fails here: nothing a CRM call
                // could recover from.
                .expect("the CRM HTTP client could not be built")
        })
    }

    /// A transport sharing the account's limiter.
    pub fn transport(&self, account_id: &str, crm: CrmKind) -> Transport {
        let limiter = {
            let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(account_id.to_string())
                .or_insert_with(|| {
                    Arc::new(AccountLimiter::new(match crm {
                        CrmKind::Salesforce => Limits::salesforce(),
                        _ => Limits::hubspot_oauth(),
                    }))
                })
                .clone()
        };
        Transport::new(self.http().clone(), limiter)
    }
}

/// `Err(why)` unless `url` is an https URL, or http on loopback (the sandbox CRM).
fn crm_url(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("is not a URL ({e}): `{url}`"))?;
    let host = u.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "must be an https URL (http only on loopback, for the sandbox CRM): `{url}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_come_from_the_environment_in_pairs() {
        let env: HashMap<&str, &str> = [
            ("STEWARD_HUBSPOT_CLIENT_ID", "id"),
            ("STEWARD_HUBSPOT_CLIENT_SECRET", "s"),
            ("STEWARD_SALESFORCE_CLIENT_ID", "sfid"),
        ]
        .into();
        let e = CrmApps::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(
            e,
            vec![
                "STEWARD_SALESFORCE_CLIENT_SECRET is missing (it goes with STEWARD_SALESFORCE_CLIENT_ID)"
            ]
        );
        let env: HashMap<&str, &str> = [
            ("STEWARD_HUBSPOT_CLIENT_ID", "id"),
            ("STEWARD_HUBSPOT_CLIENT_SECRET", "s"),
        ]
        .into();
        let apps = CrmApps::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        let hs = apps.hubspot.unwrap();
        assert_eq!(hs.api_base, "https://api.hubapi.com");
        assert_eq!(
            hs.oauth().token_url,
            "https://api.hubapi.com/oauth/v1/token"
        );
        assert!(apps.salesforce.is_none());
    }

    #[test]
    fn with_the_apps_secret_the_client_secrets_come_from_it_not_the_environment() {
        let env: HashMap<&str, &str> = [
            ("STEWARD_HUBSPOT_CLIENT_ID", "id"),
            ("STEWARD_SALESFORCE_CLIENT_ID", "sfid"),
            ("STEWARD_CRM_APPS_SECRET", "arn:aws:secretsmanager:x"),
        ]
        .into();
        let lookup = |k: &str| env.get(k).map(|v| v.to_string());
        let apps = CrmApps::from_lookup(lookup).unwrap();
        // Both apps wait for their secret.
        let mut a = apps.clone();
        assert_eq!(
            a.fill_secrets(r#"{"STEWARD_HUBSPOT_CLIENT_SECRET": "hs"}"#),
            Err("STEWARD_CRM_APPS_SECRET has no STEWARD_SALESFORCE_CLIENT_SECRET".into())
        );
        let mut a = apps.clone();
        assert_eq!(
            a.fill_secrets(r#"{"STEWARD_HUBSPOT_CLIENT_SECRT": "hs"}"#),
            Err(
                "STEWARD_CRM_APPS_SECRET has `STEWARD_HUBSPOT_CLIENT_SECRT`; it holds only \
                 STEWARD_HUBSPOT_CLIENT_SECRET, STEWARD_SALESFORCE_CLIENT_SECRET"
                    .into()
            )
        );
        let mut a = apps.clone();
        assert!(a.fill_secrets("hs").unwrap_err().contains("JSON object"));
        let mut a = apps;
        a.fill_secrets(
            r#"{"STEWARD_HUBSPOT_CLIENT_SECRET": "hs", "STEWARD_SALESFORCE_CLIENT_SECRET": "sf"}"#,
        )
        .unwrap();
        assert_eq!(a.hubspot.unwrap().client_secret.expose_secret(), "hs");
        assert_eq!(a.salesforce.unwrap().client_secret.expose_secret(), "sf");

        // A client secret in the environment as well is refused: one place holds it.
        let env: HashMap<&str, &str> = [
            ("STEWARD_HUBSPOT_CLIENT_ID", "id"),
            ("STEWARD_HUBSPOT_CLIENT_SECRET", "s"),
            ("STEWARD_CRM_APPS_SECRET", "arn:aws:secretsmanager:x"),
        ]
        .into();
        let e = CrmApps::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(
            e,
            vec![
                "STEWARD_HUBSPOT_CLIENT_SECRET must not be set with STEWARD_CRM_APPS_SECRET (the secret holds it)"
            ]
        );
    }

    #[test]
    fn crm_urls_must_be_https_but_on_loopback() {
        let env: HashMap<&str, &str> = [
            ("STEWARD_SALESFORCE_CLIENT_ID", "id"),
            ("STEWARD_SALESFORCE_CLIENT_SECRET", "s"),
            ("STEWARD_SALESFORCE_LOGIN_URL", "http://login.example.com"),
            ("STEWARD_HUBSPOT_API_URL", "api.hubapi.com"),
        ]
        .into();
        let e = CrmApps::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("STEWARD_HUBSPOT_API_URL is not a URL"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("STEWARD_SALESFORCE_LOGIN_URL must be an https URL"),
            "{e:?}"
        );
        for ok in [
            "https://test.salesforce.com",
            "http://127.0.0.1:4010/salesforce",
            "http://localhost:4010",
            "http://[::1]:4010",
        ] {
            assert_eq!(crm_url(ok), Ok(()), "{ok}");
        }
    }

    /// A CRM that accepts the connection and never answers fails the call after the read
    /// timeout, instead of holding it (and its Lambda) until something else gives up.
    #[tokio::test]
    async fn a_crm_that_never_answers_fails_the_call_after_the_read_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let apps =
            CrmApps::sandbox(&format!("http://{at}"), "id", "secret").with_timeouts(Timeouts {
                connect: Duration::from_secs(1),
                read: Duration::from_millis(300),
            });
        let app = apps.salesforce.clone().unwrap().oauth();
        let call =
            crate::crm::salesforce::exchange_code(apps.http(), &app, "code", "http://cb", None);
        let answer = tokio::time::timeout(Duration::from_secs(20), call)
            .await
            .expect("the call hung: no read timeout");
        assert!(
            matches!(&answer, Err(crate::crm::CrmError::Unavailable(m)) if m.contains("token endpoint")),
            "{:?}",
            answer.map(|_| ())
        );
        held.abort();
    }
}
