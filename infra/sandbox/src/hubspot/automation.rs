//! HubSpot's automation API v4 for custom workflow actions:
//!
//! - Definitions, authenticated with the developer account's API key (`?hapikey=`, see
//!   [`DEVELOPER_API_KEY`]) and only for the sandbox app ([`APP_ID`]):
//!   `POST /automation/v4/actions/{appId}` (create), `GET /automation/v4/actions/{appId}`
//!   (list), `GET` and `PATCH /automation/v4/actions/{appId}/{definitionId}`.
//! - Callbacks, authenticated with a portal token holding `automation`:
//!   `POST /automation/v4/actions/callbacks/complete` (`{"inputs":[{"callbackId",
//!   "outputFields"}]}`) and `POST /automation/v4/actions/callbacks/{callbackId}/complete`
//!   (`{"outputFields"}`), both 204. Every completion is recorded ([`CallbackCompletion`]).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::Arc;

use super::World;
use super::api::{Api, HsError, HsResult, Params, parse_json};
pub use super::oauth::APP_ID;
use super::objects::respond;
use crate::server::AppState;

/// The developer account's API key the sandbox accepts as `hapikey` on the definition
/// endpoints (HubSpot: the developer account's Apps → "Get HubSpot API key").
pub const DEVELOPER_API_KEY: &str = "dev-sandbox-hapikey";
/// Callbacks one batch completion may carry. [doc]
const MAX_BATCH: usize = 100;
/// Execution states a completion may set (BLOCK only answers the action request).
const COMPLETION_STATES: &[&str] = &["SUCCESS", "FAIL_CONTINUE"];
/// Object types a definition may name.
const OBJECT_TYPES: &[&str] = &["CONTACT", "COMPANY", "DEAL", "TICKET", "QUOTE", "LINE_ITEM"];

/// One callback completion Steward sent, as `GET /_sandbox/automation/callbacks` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackCompletion {
    pub callback_id: String,
    pub output_fields: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason_type: Option<String>,
    /// `batch` or `single`: which endpoint completed it.
    pub via: String,
    pub completed_at: DateTime<Utc>,
}

/// The app's action definitions and the completions received.
#[derive(Debug, Default)]
pub(crate) struct Automation {
    /// Definitions as HubSpot answers them (with `id` and `revisionId`), in creation order.
    definitions: Vec<Value>,
    next_id: u64,
    completions: Vec<CallbackCompletion>,
}

impl World {
    /// `(definitionId, revision)` of the live definition with this actionUrl.
    pub fn action_definition_for(&self, action_url: &str) -> Option<(u64, u64)> {
        self.automation
            .definitions
            .iter()
            .find(|d| d["actionUrl"] == action_url && d["archivedAt"].is_null())
            .map(|d| {
                let num = |k: &str| d[k].as_str().and_then(|v| v.parse().ok()).unwrap_or(1);
                (num("id"), num("revisionId"))
            })
    }

    /// The action definitions, as `GET /automation/v4/actions/{appId}` lists them.
    pub fn action_definitions(&self) -> Vec<Value> {
        self.automation.definitions.clone()
    }

    /// Every callback completion received, in order.
    pub fn callback_completions(&self) -> Vec<CallbackCompletion> {
        self.automation.completions.clone()
    }

    pub fn reset_callback_completions(&mut self) {
        self.automation.completions.clear();
    }
}

/// 401 unless `hapikey` is the developer key; 404 unless the app is the sandbox's.
fn developer(query: Option<&str>, app_id: &str) -> HsResult<()> {
    let params = Params::parse(query);
    match params.get("hapikey") {
        Some(k) if k == DEVELOPER_API_KEY => {}
        Some(_) => {
            return Err(HsError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_AUTHENTICATION",
                "The API key provided is invalid. View or manage your API key here: https://app.hubspot.com/l/api-key/",
            ));
        }
        None => return Err(super::api::auth_missing()),
    }
    if app_id.trim() != APP_ID.to_string() {
        return Err(HsError::not_found(format!(
            "App {app_id} does not exist or does not belong to this developer account"
        )));
    }
    Ok(())
}

fn invalid(field: &str, message: &str) -> HsError {
    HsError::validation(format!("Invalid action definition: {field} {message}")).with(
        "errors",
        json!([{ "message": format!("{field} {message}"), "in": field, "code": "INVALID" }]),
    )
}

/// Checks the fields present in `body` (and, when `create`, that the required ones are).
fn validate(body: &Map<String, Value>, create: bool) -> HsResult<()> {
    let present = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    for required in ["actionUrl", "objectTypes", "labels"] {
        if create && !present(required) {
            return Err(invalid(required, "is required"));
        }
    }
    if present("actionUrl") {
        let url = body["actionUrl"].as_str().unwrap_or("");
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(invalid("actionUrl", "must be an absolute URL"));
        }
    }
    if present("objectTypes") {
        let types = body["objectTypes"].as_array();
        if types.is_none_or(Vec::is_empty) {
            return Err(invalid("objectTypes", "must name at least one object type"));
        }
        for t in types.into_iter().flatten() {
            if !t.as_str().is_some_and(|t| OBJECT_TYPES.contains(&t)) {
                return Err(invalid(
                    "objectTypes",
                    &format!("has an unknown object type {t}"),
                ));
            }
        }
    }
    if present("labels") {
        let labels = body["labels"].as_object();
        if labels.is_none_or(Map::is_empty) {
            return Err(invalid(
                "labels",
                "must have labels for at least one language",
            ));
        }
        for (lang, l) in labels.into_iter().flatten() {
            if l["actionName"].as_str().is_none_or(|n| n.trim().is_empty()) {
                return Err(invalid(&format!("labels.{lang}.actionName"), "is required"));
            }
        }
    }
    for key in ["inputFields", "outputFields"] {
        if !present(key) {
            continue;
        }
        let Some(fields) = body[key].as_array() else {
            return Err(invalid(key, "must be a list"));
        };
        for (i, f) in fields.iter().enumerate() {
            let def = &f["typeDefinition"];
            if def["name"].as_str().is_none_or(str::is_empty) || !def["type"].is_string() {
                return Err(invalid(
                    &format!("{key}[{i}].typeDefinition"),
                    "needs a name and a type",
                ));
            }
        }
    }
    Ok(())
}

fn object(body: &Bytes) -> HsResult<Map<String, Value>> {
    match parse_json(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(HsError::validation(
            "The request body must be a JSON object",
        )),
    }
}

pub(super) async fn create_definition(
    State(s): State<Arc<AppState>>,
    Path(app_id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = developer(q.as_deref(), &app_id).and_then(|()| {
        let mut def = object(&body)?;
        validate(&def, true)?;
        let mut world = s.hubspot();
        let a = &mut world.automation;
        a.next_id += 1;
        let id = 1_000_000 + a.next_id;
        def.insert("id".into(), json!(id.to_string()));
        def.insert("revisionId".into(), json!("1"));
        for (k, v) in [
            ("inputFields", json!([])),
            ("outputFields", json!([])),
            ("functions", json!([])),
            ("published", json!(false)),
        ] {
            def.entry(k).or_insert(v);
        }
        let def = Value::Object(def);
        a.definitions.push(def.clone());
        Ok(respond(StatusCode::CREATED, def))
    });
    r.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn list_definitions(
    State(s): State<Arc<AppState>>,
    Path(app_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = developer(q.as_deref(), &app_id).and_then(|()| {
        let params = Params::parse(q.as_deref());
        let all: Vec<Value> = s
            .hubspot()
            .automation
            .definitions
            .iter()
            .filter(|d| params.flag("archived") || d["archivedAt"].is_null())
            .cloned()
            .collect();
        let limit = params.number("limit", 20)?.clamp(1, 1000);
        let after = params.number("after", 0)?;
        let end = after.saturating_add(limit).min(all.len());
        let results = all
            .get(after..end)
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        let mut out = json!({ "results": results });
        if end < all.len() {
            out["paging"] = json!({ "next": { "after": end.to_string() } });
        }
        Ok(respond(StatusCode::OK, out))
    });
    r.unwrap_or_else(IntoResponse::into_response)
}

fn find(world: &mut World, definition_id: &str) -> HsResult<usize> {
    world
        .automation
        .definitions
        .iter()
        .position(|d| d["id"] == definition_id)
        .ok_or_else(|| HsError::not_found(format!("No action definition with id {definition_id}")))
}

pub(super) async fn get_definition(
    State(s): State<Arc<AppState>>,
    Path((app_id, definition_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = developer(q.as_deref(), &app_id).and_then(|()| {
        let mut world = s.hubspot();
        let i = find(&mut world, &definition_id)?;
        Ok(respond(
            StatusCode::OK,
            world.automation.definitions[i].clone(),
        ))
    });
    r.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn update_definition(
    State(s): State<Arc<AppState>>,
    Path((app_id, definition_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = developer(q.as_deref(), &app_id).and_then(|()| {
        let patch = object(&body)?;
        validate(&patch, false)?;
        let mut world = s.hubspot();
        let i = find(&mut world, &definition_id)?;
        let def = &mut world.automation.definitions[i];
        let revision = def["revisionId"]
            .as_str()
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or(1);
        if let Some(d) = def.as_object_mut() {
            for (k, v) in patch {
                if k != "id" && k != "revisionId" {
                    d.insert(k, v);
                }
            }
            d.insert("revisionId".into(), json!((revision + 1).to_string()));
        }
        Ok(respond(StatusCode::OK, def.clone()))
    });
    r.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Completion {
    callback_id: Option<String>,
    output_fields: Option<Value>,
    failure_reason_type: Option<String>,
}

/// A completion's checks: outputFields an object, `hs_execution_state` one a completion
/// may set.
fn completion(c: Completion, path_id: Option<&str>, via: &str) -> HsResult<CallbackCompletion> {
    let callback_id = path_id
        .map(str::to_string)
        .or(c.callback_id)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| HsError::validation("callbackId is required"))?;
    let output_fields = c.output_fields.unwrap_or_else(|| json!({}));
    let Some(fields) = output_fields.as_object() else {
        return Err(HsError::validation("outputFields must be an object"));
    };
    if let Some(state) = fields.get("hs_execution_state")
        && !state
            .as_str()
            .is_some_and(|s| COMPLETION_STATES.contains(&s))
    {
        return Err(HsError::validation(format!(
            "hs_execution_state {state} is not one of {COMPLETION_STATES:?}"
        )));
    }
    Ok(CallbackCompletion {
        callback_id,
        output_fields,
        failure_reason_type: c.failure_reason_type,
        via: via.into(),
        completed_at: Utc::now(),
    })
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> HsResult<T> {
    serde_json::from_value(parse_json(body)?)
        .map_err(|e| HsError::validation(format!("Invalid input JSON: {e}")))
}

pub(super) async fn complete_batch(
    api: Api,
    State(s): State<Arc<AppState>>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Batch {
        inputs: Option<Vec<Completion>>,
    }
    let r = api.who.require(&["automation"]).and_then(|()| {
        let inputs = parse::<Batch>(&body)?
            .inputs
            .ok_or_else(|| HsError::validation("inputs is required"))?;
        if inputs.is_empty() || inputs.len() > MAX_BATCH {
            return Err(HsError::validation(format!(
                "inputs must hold between 1 and {MAX_BATCH} callbacks"
            )));
        }
        let done = inputs
            .into_iter()
            .map(|c| completion(c, None, "batch"))
            .collect::<HsResult<Vec<_>>>()?;
        s.hubspot().automation.completions.extend(done);
        Ok(StatusCode::NO_CONTENT.into_response())
    });
    api.finish(r)
}

pub(super) async fn complete_one(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(callback_id): Path<String>,
    body: Bytes,
) -> Response {
    let r = api.who.require(&["automation"]).and_then(|()| {
        let c = parse::<Completion>(&body)?;
        let done = completion(c, Some(&callback_id), "single")?;
        s.hubspot().automation.completions.push(done);
        Ok(StatusCode::NO_CONTENT.into_response())
    });
    api.finish(r)
}
