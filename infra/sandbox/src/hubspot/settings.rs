//! The portal's metadata endpoints: account details, users, owners and property
//! definitions (`/account-info/v3`, `/settings/v3/users`, `/crm/v3/owners`, `/crm/v3/properties`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

use super::api::{Api, HsError, HsResult, Params, Principal, UTC_OFFSET_SECS, iso};
use super::objects::respond;
use super::schema::{ObjectType, prop_json};
use super::{PORTAL_ID, User, World};
use crate::server::AppState;

/// Owners per page when the request names no `limit`. [spec]
const OWNERS_DEFAULT_LIMIT: usize = 100;
/// Largest owners page. [spec]
const OWNERS_MAX_LIMIT: usize = 500;
/// Users per page by default and at most. [obs]
const USERS_DEFAULT_LIMIT: usize = 100;
const USERS_MAX_LIMIT: usize = 100;

pub(super) async fn account_details(api: Api) -> Response {
    let r = api.who.require(&["oauth"]).map(|()| {
        let offset_ms = i64::from(UTC_OFFSET_SECS) * 1000;
        respond(
            StatusCode::OK,
            json!({
                "portalId": PORTAL_ID,
                "accountType": "STANDARD",
                "timeZone": "US/Eastern",
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": "-05:00",
                "utcOffsetMilliseconds": offset_ms,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }),
        )
    });
    api.finish(r)
}

/// A page of `items` from the cursor `after` (an index), with HubSpot's `paging` object.
fn page(
    items: Vec<Value>,
    params: &Params,
    default: usize,
    max: usize,
    link_base: &str,
) -> HsResult<Value> {
    let limit = params.number("limit", default)?.clamp(1, max);
    let after = params.number("after", 0)?;
    let end = after.saturating_add(limit).min(items.len());
    let results: Vec<Value> = items
        .get(after..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut body = json!({ "results": results });
    if end < items.len()
        && let Some(o) = body.as_object_mut()
    {
        o.insert(
            "paging".into(),
            json!({ "next": { "after": end.to_string(), "link": format!("{link_base}?after={end}&limit={limit}") } }),
        );
    }
    Ok(body)
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id.to_string(),
        "email": u.email,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "roleIds": [],
        "primaryTeamId": null,
        "secondaryTeamIds": [],
        "superAdmin": u.admin,
    })
}

const USERS_SCOPES: &[&str] = &["settings.users.read", "crm.objects.users.read"];

pub(super) async fn users(
    api: Api,
    State(s): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = users_inner(&api.who, &s, q.as_deref());
    api.finish(r)
}

fn users_inner(who: &Principal, s: &AppState, q: Option<&str>) -> HsResult<Response> {
    who.require(USERS_SCOPES)?;
    let params = Params::parse(q);
    let items = s.hubspot().users.iter().map(user_json).collect();
    let base = format!("{}/hubspot/settings/v3/users/", s.base_url);
    Ok(respond(
        StatusCode::OK,
        page(items, &params, USERS_DEFAULT_LIMIT, USERS_MAX_LIMIT, &base)?,
    ))
}

pub(super) async fn user(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = user_inner(&api.who, &s, &id, q.as_deref());
    api.finish(r)
}

fn user_inner(who: &Principal, s: &AppState, id: &str, q: Option<&str>) -> HsResult<Response> {
    who.require(USERS_SCOPES)?;
    let by_email = Params::parse(q)
        .get("idProperty")
        .is_some_and(|p| p.eq_ignore_ascii_case("EMAIL"));
    let world = s.hubspot();
    let found = world.users.iter().find(|u| {
        if by_email {
            u.email.eq_ignore_ascii_case(id)
        } else {
            u.id.to_string() == id
        }
    });
    found
        .map(|u| respond(StatusCode::OK, user_json(u)))
        .ok_or_else(|| HsError::not_found(format!("User {id} not found")))
}

/// An owner in `/crm/v3/owners` shape. Owners of deactivated users are archived.
fn owner_json(world: &World, u: &User) -> Value {
    json!({
        "id": u.owner_id.to_string(),
        "email": u.email,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "userId": if u.active { json!(u.id) } else { Value::Null },
        "userIdIncludingInactive": u.id,
        "type": "PERSON",
        "teams": [],
        "archived": !u.active,
        "createdAt": iso(world.epoch),
        "updatedAt": iso(world.epoch),
    })
}

const OWNERS_SCOPES: &[&str] = &["crm.objects.owners.read"];

pub(super) async fn owners(
    api: Api,
    State(s): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = owners_inner(&api.who, &s, q.as_deref());
    api.finish(r)
}

fn owners_inner(who: &Principal, s: &AppState, q: Option<&str>) -> HsResult<Response> {
    who.require(OWNERS_SCOPES)?;
    let params = Params::parse(q);
    let archived = params.flag("archived");
    let email = params.get("email");
    let world = s.hubspot();
    let items = world
        .users
        .iter()
        .filter(|u| u.active != archived)
        .filter(|u| email.is_none_or(|e| u.email.eq_ignore_ascii_case(e)))
        .map(|u| owner_json(&world, u))
        .collect();
    let base = format!("{}/hubspot/crm/v3/owners/", s.base_url);
    Ok(respond(
        StatusCode::OK,
        page(
            items,
            &params,
            OWNERS_DEFAULT_LIMIT,
            OWNERS_MAX_LIMIT,
            &base,
        )?,
    ))
}

pub(super) async fn owner(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = owner_inner(&api.who, &s, &id, q.as_deref());
    api.finish(r)
}

fn owner_inner(who: &Principal, s: &AppState, id: &str, q: Option<&str>) -> HsResult<Response> {
    who.require(OWNERS_SCOPES)?;
    let by_user = Params::parse(q).get("idProperty") == Some("userId");
    let world = s.hubspot();
    let found = world.users.iter().find(|u| {
        if by_user {
            u.id.to_string() == id
        } else {
            u.owner_id.to_string() == id
        }
    });
    found
        .map(|u| respond(StatusCode::OK, owner_json(&world, u)))
        .ok_or_else(|| HsError::not_found(format!("Owner {id} not found")))
}

pub(super) async fn properties(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(ty): Path<String>,
) -> Response {
    let r = properties_inner(&api.who, &s, &ty, None);
    api.finish(r)
}

pub(super) async fn property(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path((ty, name)): Path<(String, String)>,
) -> Response {
    let r = properties_inner(&api.who, &s, &ty, Some(&name));
    api.finish(r)
}

fn properties_inner(
    who: &Principal,
    s: &AppState,
    ty: &str,
    name: Option<&str>,
) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(ty.schema_scopes())?;
    let world = s.hubspot();
    let owners: Vec<(String, String)> = world
        .users
        .iter()
        .filter(|u| u.active)
        .map(|u| {
            (
                u.owner_id.to_string(),
                format!("{} {}", u.first_name, u.last_name),
            )
        })
        .collect();
    match name {
        None => {
            let results: Vec<Value> = ty
                .props()
                .iter()
                .filter(|d| world.has_property(ty, d.name))
                .map(|d| prop_json(d, &owners, world.epoch))
                .collect();
            Ok(respond(StatusCode::OK, json!({ "results": results })))
        }
        Some(n) => ty
            .prop(n)
            .filter(|d| world.has_property(ty, d.name))
            .map(|d| respond(StatusCode::OK, prop_json(d, &owners, world.epoch)))
            .ok_or_else(|| {
                HsError::not_found(format!(
                    "Unable to find property {n} for object type {}",
                    ty.name()
                ))
            }),
    }
}
