//! HubSpot's wire format (see the wire reference): OAuth, CRM objects v3, search, batch,
//! merge, properties, owners, users, account info, rate limits and error shapes.
//!
//! One seeded portal ([`PORTAL_ID`]). Users come from the dataset (ids from 9000001), each
//! with an owner (ids from 41000001); contacts, companies and deals get numeric ids from
//! per-type counters. The static private-app token [`PRIVATE_APP_TOKEN`] never expires.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::config::SandboxConfig;
use crate::generator::{Dataset, SeedUser};
use crate::server::AppState;
use crate::writes::WriteLog;

mod api;
mod automation;
mod history;
mod index;
mod oauth;
mod objects;
pub(crate) mod saved;
mod schema;
mod search;
mod settings;
#[cfg(test)]
mod tests;

pub use automation::{APP_ID, CallbackCompletion, DEVELOPER_API_KEY};

use api::{AppKind, HsError, Limiter, hubspot_limits};
use oauth::AuthState;
use objects::Store;
use schema::ObjectType;

/// The seeded portal (HubSpot account) id: account-info's `portalId`, tokens' `hub_id`.
pub const PORTAL_ID: u64 = 24_681_357;
/// A private-app token that is always accepted, holds every scope and never expires.
pub const PRIVATE_APP_TOKEN: &str = "pat-na1-sandbox";
const FIRST_USER_ID: u64 = 9_000_001;
const FIRST_OWNER_ID: u64 = 41_000_001;
/// Seeded records are created `created_secs_ago` before this instant (fixed, so the same
/// seed serves byte-identical data): 2026-01-01T00:00:00Z.
const REFERENCE_INSTANT_SECS: i64 = 1_767_225_600;
/// When the portal's owners and property definitions were created.
const PORTAL_CREATED_SECS: i64 = 1_420_070_400;

/// A portal user, with the owner that stands for it on records.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u64,
    pub owner_id: u64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub active: bool,
    pub admin: bool,
}

/// Users seeded when the dataset has none, so the OAuth flow always has someone to log in.
fn fallback_users() -> Vec<SeedUser> {
    let u = |first: &str, last: &str, email: &str, active, admin| SeedUser {
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        active,
        admin,
    };
    vec![
        u("Ada", "Admin", "ada.admin@sandbox.example.com", true, true),
        u(
            "Sam",
            "Seller",
            "sam.seller@sandbox.example.com",
            true,
            false,
        ),
        u("Rita", "Rep", "rita.rep@sandbox.example.com", true, false),
        u(
            "Olly",
            "Former",
            "olly.former@sandbox.example.com",
            false,
            false,
        ),
    ]
}

pub struct World {
    pub(crate) users: Vec<User>,
    stores: [Store; 3],
    /// Generator key to the id its record was seeded with.
    keys: HashMap<String, String>,
    pub(crate) auth: AuthState,
    pub(crate) limiter: Limiter,
    /// Creation time of owners and property definitions.
    pub(crate) epoch: DateTime<Utc>,
    /// Properties deleted from the portal's schema (object type, name): no longer listed.
    /// Records keep their values and writes are not refused, so a test can tell whether a
    /// client checked the schema before writing.
    pub(crate) deleted_props: std::collections::HashSet<(&'static str, String)>,
    /// Custom workflow action definitions and callback completions (not in snapshots).
    pub(crate) automation: automation::Automation,
}

fn text_props(pairs: &[(&'static str, &Option<String>)]) -> objects::Props {
    let mut props = objects::Props::new();
    for (name, value) in pairs {
        if let Some(v) = value.as_deref().map(str::trim)
            && !v.is_empty()
        {
            props.insert(name, v.to_string());
        }
    }
    props
}

impl World {
    pub fn seed(data: &Dataset, config: &SandboxConfig) -> Self {
        let seed_users = if data.users.is_empty() {
            fallback_users()
        } else {
            data.users.clone()
        };
        let users: Vec<User> = seed_users
            .iter()
            .enumerate()
            .map(|(i, u)| User {
                id: FIRST_USER_ID + i as u64,
                owner_id: FIRST_OWNER_ID + i as u64,
                first_name: u.first_name.clone(),
                last_name: u.last_name.clone(),
                email: u.email.clone(),
                active: u.active,
                admin: u.admin,
            })
            .collect();
        let reference = Utc
            .timestamp_opt(REFERENCE_INSTANT_SECS, 0)
            .single()
            .unwrap_or_else(Utc::now);
        let epoch = Utc
            .timestamp_opt(PORTAL_CREATED_SECS, 0)
            .single()
            .unwrap_or(reference);
        // Seeded records were last modified somewhere between creation and the reference.
        let times = |secs_ago: u64| {
            let ago = i64::try_from(secs_ago).unwrap_or(i64::MAX / 4_000_000);
            let created = reference - chrono::Duration::seconds(ago);
            (created, created + chrono::Duration::seconds(ago / 2))
        };
        let owner = |i: usize| users.get(i).map(|u| u.owner_id.to_string());
        let mut stores = ObjectType::ALL.map(Store::new);
        let mut keys = HashMap::new();

        for p in &data.people {
            let mut props = text_props(&[
                ("firstname", &p.first_name),
                ("lastname", &p.last_name),
                ("email", &p.email),
                ("phone", &p.phone),
                ("company", &p.company),
                ("jobtitle", &p.job_title),
                ("city", &p.city),
                ("state", &p.state),
                ("country", &p.country),
                ("date_of_birth", &p.date_of_birth),
                ("zip", &p.postcode),
                ("address", &p.address),
            ]);
            props.extend(owner(p.owner).map(|o| ("hubspot_owner_id", o)));
            let (created, updated) = times(p.created_secs_ago);
            let id = stores[ObjectType::Contacts.index()].seed(props, created, updated);
            keys.insert(p.key.clone(), id.to_string());
        }
        for c in &data.companies {
            let mut props = text_props(&[
                ("name", &c.name),
                ("domain", &c.domain),
                ("phone", &c.phone),
                ("city", &c.city),
                ("state", &c.state),
                ("country", &c.country),
                ("industry", &c.industry),
            ]);
            props.extend(owner(c.owner).map(|o| ("hubspot_owner_id", o)));
            let (created, updated) = times(c.created_secs_ago);
            let id = stores[ObjectType::Companies.index()].seed(props, created, updated);
            keys.insert(c.key.clone(), id.to_string());
        }
        for d in &data.deals {
            let mut props = text_props(&[
                ("dealname", &Some(d.name.clone())),
                ("amount", &Some(d.amount.clone())),
            ]);
            props.insert("dealstage", schema::deal_stage(&d.stage).to_string());
            props.insert("pipeline", "default".into());
            if let Some(t) = schema::parse_instant(&d.close_date) {
                props.insert("closedate", api::iso(t));
            }
            props.extend(owner(d.owner).map(|o| ("hubspot_owner_id", o)));
            let (created, updated) = times(d.created_secs_ago);
            let id = stores[ObjectType::Deals.index()].seed(props, created, updated);
            keys.insert(d.key.clone(), id.to_string());
        }
        let lag = std::time::Duration::from_millis(config.hubspot.search_lag_ms);
        for store in &mut stores {
            store.index.set_lag(lag);
        }
        let auth = AuthState::new(&users);
        World {
            users,
            stores,
            keys,
            auth,
            limiter: Limiter::default(),
            epoch,
            deleted_props: Default::default(),
            automation: Default::default(),
        }
    }

    /// Deletes a property from `object_type`'s schema (as an admin deleting a custom
    /// property): `/crm/v3/properties` no longer lists it. False when there is none.
    pub fn delete_property(&mut self, object_type: &str, name: &str) -> bool {
        let Some(ty) = ObjectType::parse(object_type) else {
            return false;
        };
        if !self.has_property(ty, name) {
            return false;
        }
        self.deleted_props.insert((ty.name(), name.to_string()))
    }

    /// Whether the portal's schema has the property (not deleted).
    pub(crate) fn has_property(&self, ty: ObjectType, name: &str) -> bool {
        ty.prop(name).is_some() && !self.deleted_props.contains(&(ty.name(), name.to_string()))
    }

    /// The CRM id the generator's record `key` was given.
    pub fn id_of_key(&self, key: &str) -> Option<String> {
        self.keys.get(key).cloned()
    }

    /// Every issued access token stops working (refresh tokens still do).
    pub fn expire_tokens(&mut self) {
        self.auth.expire_all(Instant::now());
    }

    /// How long writes take to reach search from now on (0: at once, and every write
    /// still on its way arrives now).
    pub fn set_search_lag(&mut self, lag: std::time::Duration) {
        for store in &mut self.stores {
            store.index.set_lag(lag);
        }
    }

    /// Every write on its way to search arrives now (the lag itself is kept).
    pub fn settle_search(&mut self) {
        for store in &mut self.stores {
            store.index.settle();
        }
    }

    /// Logs every record write from now on to `log` (each store appends as it mutates).
    pub(crate) fn log_writes_to(&mut self, log: &WriteLog) {
        for store in &mut self.stores {
            store.log = log.clone();
        }
    }

    /// Deactivates (or reactivates) the user with this email, as a super admin would in
    /// HubSpot's settings; false when there is none.
    pub fn set_user_active(&mut self, email: &str, active: bool) -> bool {
        let mut found = false;
        for u in self
            .users
            .iter_mut()
            .filter(|u| u.email.eq_ignore_ascii_case(email))
        {
            u.active = active;
            found = true;
        }
        found
    }

    pub(crate) fn store(&self, ty: ObjectType) -> &Store {
        &self.stores[ty.index()]
    }

    pub(crate) fn store_mut(&mut self, ty: ObjectType) -> &mut Store {
        &mut self.stores[ty.index()]
    }

    /// Whether `hubspot_owner_id` may be set to `value` (an active user's owner).
    pub(crate) fn owner_is_assignable(&self, value: &str) -> bool {
        self.users
            .iter()
            .any(|u| u.active && u.owner_id.to_string() == value)
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/oauth/authorize",
            get(oauth::authorize_page).post(oauth::authorize_submit),
        )
        .route(
            "/oauth/{portal}/authorize",
            get(oauth::authorize_page_portal).post(oauth::authorize_submit_portal),
        )
        .route("/oauth/v1/token", post(oauth::token))
        .route("/oauth/v3/token", post(oauth::token))
        .route(
            "/oauth/v1/access-tokens/{token}",
            get(oauth::access_token_info),
        )
        .route(
            "/oauth/v1/refresh-tokens/{token}",
            get(oauth::refresh_token_info).delete(oauth::revoke_refresh),
        )
        .route("/account-info/v3/details", get(settings::account_details))
        .route("/settings/v3/users", get(settings::users))
        .route("/settings/v3/users/", get(settings::users))
        .route("/settings/v3/users/{id}", get(settings::user))
        .route("/crm/v3/owners", get(settings::owners))
        .route("/crm/v3/owners/", get(settings::owners))
        .route("/crm/v3/owners/{id}", get(settings::owner))
        .route(
            "/crm/v3/properties/{object_type}",
            get(settings::properties),
        )
        .route(
            "/crm/v3/properties/{object_type}/{name}",
            get(settings::property),
        )
        .route(
            "/crm/v3/objects/{object_type}",
            get(objects::list).post(objects::create),
        )
        .route("/crm/v3/objects/{object_type}/search", post(search::search))
        .route("/crm/v3/objects/{object_type}/merge", post(objects::merge))
        .route(
            "/crm/v3/objects/{object_type}/batch/{op}",
            post(objects::batch),
        )
        .route(
            "/crm/v3/objects/{object_type}/{id}",
            get(objects::read)
                .patch(objects::update)
                .delete(objects::archive),
        )
        .route(
            "/automation/v4/actions/callbacks/complete",
            post(automation::complete_batch),
        )
        .route(
            "/automation/v4/actions/callbacks/{callback_id}/complete",
            post(automation::complete_one),
        )
        .route(
            "/automation/v4/actions/{app_id}",
            get(automation::list_definitions).post(automation::create_definition),
        )
        .route(
            "/automation/v4/actions/{app_id}/{definition_id}",
            get(automation::get_definition).patch(automation::update_definition),
        )
        .fallback(unknown_route)
}

async fn unknown_route() -> Response {
    HsError::new(
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        "Unable to route request: no such endpoint",
    )
    .into_response()
}

pub fn server_error(code: u16) -> Response {
    api::server_error(code)
}

/// The burst-limit 429 for a request that carried `authorization` (the private-app token
/// draws on its own bucket).
pub fn ten_secondly_429(state: &AppState, authorization: Option<&str>) -> Response {
    let limits = hubspot_limits(state);
    let private = authorization
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(_, token)| token.trim() == PRIVATE_APP_TOKEN);
    let app = if private {
        AppKind::Private
    } else {
        AppKind::OAuth
    };
    state.hubspot().limiter.ten_secondly_429(&limits, app)
}
