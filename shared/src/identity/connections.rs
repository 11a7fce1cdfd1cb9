//! Connections: a member's (or the integration user's) CRM tokens, stored only through
//! the `Secrets` port (one secret per connection), never in the table, never returned,
//! never logged; and the CRM adapter built from one, which stores refreshed tokens back.

use crate::ids::{AccountId, MemberId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::CrmApps;
use crate::app::Services;
use crate::crm::hubspot::{HubSpot, HubSpotConfig};
use crate::crm::limits::salesforce::API_VERSION;
use crate::crm::salesforce::{Salesforce, SalesforceConfig};
use crate::crm::{Crm, CrmKind, TokenSink, Tokens};
use crate::error::{Error, Result};
use crate::ports::Secrets;

/// Whose connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    /// A member's own, saved at each sign-in (by CRM user id).
    User(&'a MemberId),
    /// The account's integration user, used by scheduled runs.
    Integration,
}

/// What a secret holds. `Debug` shows no token.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredConnection {
    pub crm: CrmKind,
    pub crm_user_id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Salesforce: where the org's API is, and the identity URL.
    pub instance_url: Option<String>,
    pub identity_url: Option<String>,
}

impl std::fmt::Debug for StoredConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredConnection")
            .field("crm", &self.crm)
            .field("crm_user_id", &self.crm_user_id)
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

impl StoredConnection {
    pub fn tokens(&self) -> Tokens {
        Tokens {
            access_token: SecretString::from(self.access_token.clone()),
            refresh_token: self.refresh_token.clone().map(SecretString::from),
            expires_at: self.expires_at,
        }
    }

    pub fn set_tokens(&mut self, t: &Tokens) {
        self.access_token = t.access_token.expose_secret().to_string();
        if let Some(r) = &t.refresh_token {
            self.refresh_token = Some(r.expose_secret().to_string());
        }
        self.expires_at = t.expires_at;
    }
}

/// `conn/<account>/user-<id>` or `conn/<account>/integration`.
pub fn secret_name(account_id: &AccountId, slot: Slot<'_>) -> String {
    match slot {
        Slot::User(u) => format!("conn/{account_id}/user-{u}"),
        Slot::Integration => format!("conn/{account_id}/integration"),
    }
}

pub async fn save(
    secrets: &dyn Secrets,
    account_id: &AccountId,
    slot: Slot<'_>,
    c: &StoredConnection,
) -> Result<()> {
    let json = serde_json::to_string(c)?;
    secrets
        .put(&secret_name(account_id, slot), SecretString::from(json))
        .await
}

pub async fn load(
    secrets: &dyn Secrets,
    account_id: &AccountId,
    slot: Slot<'_>,
) -> Result<Option<StoredConnection>> {
    let Some(s) = secrets.get(&secret_name(account_id, slot)).await? else {
        return Ok(None);
    };
    serde_json::from_str(s.expose_secret())
        .map(Some)
        .map_err(|_| Error::unexpected("a stored connection does not parse"))
}

pub async fn delete(secrets: &dyn Secrets, account_id: &AccountId, slot: Slot<'_>) -> Result<()> {
    secrets.delete(&secret_name(account_id, slot)).await
}

/// Stores refreshed tokens back into the connection's secret; and when the CRM refuses
/// the integration connection's refresh, marks the account's integration user unhealthy.
struct SaveBack {
    secrets: Arc<dyn Secrets>,
    name: String,
    connection: tokio::sync::Mutex<StoredConnection>,
    /// The account's services when this is its integration connection.
    integration_of: Option<(Services, AccountId)>,
}

#[async_trait]
impl TokenSink for SaveBack {
    async fn refresh_refused(&self, refused: &Tokens, why: &str) {
        let Some((s, account_id)) = &self.integration_of else {
            return;
        };
        if let Err(e) = super::team::integration_refused(s, account_id, refused, why).await {
            tracing::warn!(error = %e, account = %account_id, "marking the integration user unhealthy failed");
        }
    }

    async fn tokens_refreshed(&self, tokens: &Tokens) {
        let mut c = self.connection.lock().await;
        c.set_tokens(tokens);
        let stored = serde_json::to_string(&*c).map(SecretString::from);
        match stored {
            Ok(s) => {
                if let Err(e) = self.secrets.put(&self.name, s).await {
                    tracing::warn!(error = %e, "storing refreshed CRM tokens failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "serializing refreshed CRM tokens failed"),
        }
    }
}

/// The CRM adapter for a connection, with no sink: refreshed tokens are not stored
/// (a connection being checked before it is saved).
pub fn client(apps: &CrmApps, account_id: &str, c: StoredConnection) -> Result<Arc<dyn Crm>> {
    adapter(apps, None, account_id, c)
}

/// The CRM adapter for a connection, telling `sink` of refreshes.
fn adapter(
    apps: &CrmApps,
    sink: Option<Arc<dyn TokenSink>>,
    account_id: &str,
    c: StoredConnection,
) -> Result<Arc<dyn Crm>> {
    let transport = apps.transport(account_id, c.crm);
    match c.crm {
        CrmKind::HubSpot => {
            let app = apps.hubspot.as_ref().ok_or_else(|| not_configured(c.crm))?;
            Ok(Arc::new(HubSpot::new(
                HubSpotConfig {
                    api_base: app.api_base.clone(),
                    app: Some(app.oauth()),
                    tokens: c.tokens(),
                    sink,
                },
                transport,
            )))
        }
        CrmKind::Salesforce => {
            let app = apps
                .salesforce
                .as_ref()
                .ok_or_else(|| not_configured(c.crm))?;
            let instance_url = c
                .instance_url
                .clone()
                .ok_or_else(|| Error::unexpected("a Salesforce connection has no instance URL"))?;
            Ok(Arc::new(Salesforce::new(
                SalesforceConfig {
                    instance_url,
                    identity_url: c.identity_url.clone(),
                    api_version: API_VERSION.to_string(),
                    app: Some(app.oauth()),
                    tokens: c.tokens(),
                    sink,
                },
                transport,
            )))
        }
        CrmKind::Csv => Err(Error::unexpected("a CSV file is not a stored connection")),
    }
}

pub fn not_configured(crm: CrmKind) -> Error {
    Error::NotFound(format!(
        "sign-in with {} (no OAuth app is configured for it)",
        super::crm_name(crm)
    ))
}

/// The CRM as the slot's connection, or a 403 telling who must reconnect (the member:
/// [`Error::SignInAgain`]). Refreshed tokens are stored back; a refresh the CRM refuses
/// on the integration connection marks the integration user unhealthy.
pub async fn open(s: &Services, account_id: &AccountId, slot: Slot<'_>) -> Result<Arc<dyn Crm>> {
    let Some(c) = load(s.secrets.as_ref(), account_id, slot).await? else {
        return Err(match slot {
            Slot::User(_) => {
                Error::SignInAgain("your CRM connection is missing; sign in again".into())
            }
            Slot::Integration => Error::Forbidden("the account has no integration user".into()),
        });
    };
    let sink = Arc::new(SaveBack {
        secrets: s.secrets.clone(),
        name: secret_name(account_id, slot),
        connection: tokio::sync::Mutex::new(c.clone()),
        integration_of: (slot == Slot::Integration).then(|| (s.clone(), account_id.clone())),
    });
    adapter(&s.crm, Some(sink), account_id, c)
}
