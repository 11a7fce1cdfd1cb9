//! Steward's registered OAuth apps (a HubSpot public app, a Salesforce connected app) and
//! where each CRM is reached. A CRM without an app configured cannot be signed in with.

use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// Every variable `CrmApps::from_lookup` reads: (name, what it is for).
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "STEWARD_HUBSPOT_CLIENT_ID",
        "HubSpot public app's client id",
    ),
    (
        "STEWARD_HUBSPOT_CLIENT_SECRET",
        "HubSpot public app's client secret",
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
        "Salesforce connected app's consumer secret",
    ),
    (
        "STEWARD_SALESFORCE_LOGIN_URL",
        "default https://login.salesforce.com",
    ),
];

/// The apps, an HTTP client for the CRMs, and one rate limiter per account in this
/// process (every connection of an account shares the CRM's per-account limits).
#[derive(Clone, Default)]
pub struct CrmApps {
    pub hubspot: Option<HubSpotApp>,
    pub salesforce: Option<SalesforceApp>,
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

    /// Reads the apps from the environment; a client id without its secret is an error.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut pair = |id: &str, secret: &str| match (get(id), get(secret)) {
            (Some(i), Some(s)) => Some((i, SecretString::from(s))),
            (None, None) => None,
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

    /// The HTTP client every CRM call of this process shares.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(reqwest::Client::new)
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
}
