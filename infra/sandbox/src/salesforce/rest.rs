//! The REST API under `/services/data/vXX.X/`: versions, limits, SOQL query and queryAll
//! with cursor paging, describe, record CRUD and sObject Collections.
// Handlers bail out with a finished `Response` as their error: it is built once per request
// and moved straight out, so boxing it would only add noise.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

use super::query::{self, Cursor};
use super::records::{ROLLED_BACK, RecError};
use super::schema::{self, FieldType, ObjectDef};
use super::{
    Ctx, Denied, J, Row, World, bearer, json, rest_error, rest_error_fields, with_limit_info,
};
use crate::server::AppState;
use crate::writes::{self, Op};

/// Query batch size bounds and default (`Sforce-Query-Options: batchSize=N`). [doc]
const BATCH_DEFAULT: usize = 2000;
const BATCH_MIN: usize = 200;
/// Records per sObject Collections create/update/delete call. [doc]
const COLLECTION_MAX: usize = 200;
/// Ids per sObject Collections retrieve call.
const RETRIEVE_MAX: usize = 2000;
/// API versions this org answers (Winter '11 … Winter '27).
const MIN_VERSION: u32 = 20;
const MAX_VERSION: u32 = 68;

/// Each resource once, without a trailing slash: `super::routes` answers `…/` paths too.
pub fn routes() -> Router<Arc<AppState>> {
    let d = "/services/data/{v}";
    Router::new()
        .route("/services/data", get(versions))
        .route(d, get(resources))
        .route(&format!("{d}/limits"), get(limits))
        .route(&format!("{d}/query"), get(query))
        .route(&format!("{d}/query/{{locator}}"), get(more))
        .route(&format!("{d}/queryAll"), get(query_all))
        .route(&format!("{d}/queryAll/{{locator}}"), get(more))
        .route(&format!("{d}/sobjects"), get(global_describe))
        .route(
            &format!("{d}/sobjects/{{ty}}"),
            get(sobject_info).post(create),
        )
        .route(&format!("{d}/sobjects/{{ty}}/describe"), get(describe))
        .route(
            &format!("{d}/sobjects/{{ty}}/{{id}}"),
            get(read).patch(update).delete(delete),
        )
        .route(
            &format!("{d}/composite/sobjects"),
            post(collection_create)
                .patch(collection_update)
                .delete(collection_delete),
        )
        .route(
            &format!("{d}/composite/sobjects/{{ty}}"),
            get(collection_retrieve).post(collection_retrieve_post),
        )
}

pub async fn not_found() -> Response {
    rest_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

pub async fn method_not_allowed(method: Method) -> Response {
    rest_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed."),
    )
}

fn version_ok(v: &str) -> bool {
    let Some((major, minor)) = v.strip_prefix('v').and_then(|x| x.split_once('.')) else {
        return false;
    };
    matches!((major.parse::<u32>(), minor), (Ok(m), "0") if (MIN_VERSION..=MAX_VERSION).contains(&m))
}

fn resource_missing() -> Response {
    rest_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

/// Runs one API call: version check, session, the org's allowance, then `f` on the org.
fn run(
    s: &AppState,
    v: &str,
    headers: &HeaderMap,
    f: impl FnOnce(&mut World, &Ctx) -> Response,
) -> Response {
    if !version_ok(v) {
        return resource_missing();
    }
    let config = s.config();
    let resp = {
        let mut w = s.salesforce();
        match w.gate(bearer(headers), &config) {
            Ok(user) => {
                let now = w.tick();
                f(&mut w, &Ctx { user, now })
            }
            Err(Denied::Session) => rest_error(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            ),
            Err(Denied::Limit) => rest_error(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            ),
        }
    };
    with_limit_info(s, resp)
}

async fn versions() -> Response {
    const LABELS: &[(u32, &str)] = &[
        (58, "Summer '23"),
        (59, "Winter '24"),
        (60, "Spring '24"),
        (61, "Summer '24"),
        (62, "Winter '25"),
        (63, "Spring '25"),
        (64, "Summer '25"),
        (65, "Winter '26"),
        (66, "Spring '26"),
        (67, "Summer '26"),
        (68, "Winter '27"),
    ];
    let list = LABELS
        .iter()
        .map(|(v, label)| {
            J::obj([
                ("label", J::from(*label)),
                ("url", J::from(format!("/services/data/v{v}.0"))),
                ("version", J::from(format!("{v}.0"))),
            ])
        })
        .collect();
    json(StatusCode::OK, &J::Arr(list))
}

async fn resources(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |_, _| {
        let p = |r: &str| J::from(format!("/services/data/{v}/{r}"));
        json(
            StatusCode::OK,
            &J::obj([
                ("sobjects", p("sobjects")),
                ("query", p("query")),
                ("queryAll", p("queryAll")),
                ("limits", p("limits")),
                ("composite", p("composite")),
            ]),
        )
    })
}

async fn limits(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    headers: HeaderMap,
) -> Response {
    let max = s.config().salesforce.daily;
    run(&s, &v, &headers, |w, _| {
        json(
            StatusCode::OK,
            &J::obj([(
                "DailyApiRequests",
                J::obj([
                    ("Max", J::from(max)),
                    ("Remaining", J::from(max.saturating_sub(w.api_used))),
                ]),
            )]),
        )
    })
}

/// `Sforce-Query-Options: batchSize=N`, clamped to what Salesforce honours.
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        })
        .map(|n| n.clamp(BATCH_MIN, BATCH_DEFAULT))
        .unwrap_or(BATCH_DEFAULT)
}

fn render_page(w: &World, c: &Cursor, from: usize, v: &str) -> (Vec<J>, usize) {
    let end = (from + c.batch).min(c.ids.len());
    let records = c
        .ids
        .get(from..end)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| {
            w.row(c.table, id)
                .map(|row| query::render(w, c.table, id, row, &c.sels, v))
        })
        .collect();
    (records, end)
}

fn page_body(total: usize, next: Option<String>, records: Vec<J>) -> J {
    let mut fields = vec![
        ("totalSize".to_string(), J::from(total)),
        ("done".into(), J::Bool(next.is_none())),
    ];
    if let Some(n) = next {
        fields.push(("nextRecordsUrl".into(), J::from(n)));
    }
    fields.push(("records".into(), J::Arr(records)));
    J::Obj(fields)
}

fn run_query(w: &mut World, v: &str, q: Option<&String>, batch: usize, all: bool) -> Response {
    let Some(src) = q.filter(|q| !q.trim().is_empty()) else {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        );
    };
    let compiled = match query::compile(src, chrono::Utc::now().date_naive()) {
        Ok(c) => c,
        Err(e) => return rest_error(StatusCode::BAD_REQUEST, e.code, e.message),
    };
    let ids = query::execute(w, &compiled, all);
    if compiled.count {
        return json(StatusCode::OK, &page_body(ids.len(), None, Vec::new()));
    }
    let total = ids.len();
    let cursor = Cursor {
        table: compiled.table,
        sels: compiled.sels,
        ids,
        batch,
    };
    let (records, end) = render_page(w, &cursor, 0, v);
    let next = (end < total).then(|| {
        let locator = w.cursors.open(cursor);
        format!("/services/data/{v}/query/{locator}-{end}")
    });
    json(StatusCode::OK, &page_body(total, next, records))
}

async fn query(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let batch = batch_size(&headers);
    run(&s, &v, &headers, |w, _| {
        run_query(w, &v, q.get("q"), batch, false)
    })
}

async fn query_all(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let batch = batch_size(&headers);
    run(&s, &v, &headers, |w, _| {
        run_query(w, &v, q.get("q"), batch, true)
    })
}

async fn more(
    State(s): State<Arc<AppState>>,
    Path((v, locator)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |w, _| {
        let bad = || {
            rest_error(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator",
            )
        };
        let Some((loc, offset)) = locator.rsplit_once('-') else {
            return bad();
        };
        let Ok(offset) = offset.parse::<usize>() else {
            return bad();
        };
        let Some(c) = w.cursors.get(loc) else {
            return bad();
        };
        if offset > c.ids.len() {
            return bad();
        }
        let (records, end) = render_page(w, c, offset, &v);
        let next = (end < c.ids.len()).then(|| format!("/services/data/{v}/query/{loc}-{end}"));
        json(StatusCode::OK, &page_body(c.ids.len(), next, records))
    })
}

fn object_urls(def: &ObjectDef, v: &str) -> J {
    let base = format!("/services/data/{v}/sobjects/{}", def.name);
    J::obj([
        ("sobject", J::from(base.clone())),
        ("describe", J::from(format!("{base}/describe"))),
        ("rowTemplate", J::from(format!("{base}/{{ID}}"))),
    ])
}

fn object_summary(def: &ObjectDef, v: &str) -> Vec<(String, J)> {
    vec![
        ("name".into(), J::from(def.name)),
        ("label".into(), J::from(def.label)),
        ("labelPlural".into(), J::from(def.label_plural)),
        ("keyPrefix".into(), J::from(def.key_prefix)),
        ("custom".into(), J::Bool(false)),
        ("createable".into(), J::Bool(def.createable)),
        ("updateable".into(), J::Bool(def.updateable)),
        ("deletable".into(), J::Bool(def.deletable)),
        ("queryable".into(), J::Bool(true)),
        ("retrieveable".into(), J::Bool(true)),
        ("searchable".into(), J::Bool(true)),
        ("mergeable".into(), J::Bool(def.mergeable)),
        ("undeletable".into(), J::Bool(def.deletable)),
        ("urls".into(), object_urls(def, v)),
    ]
}

async fn global_describe(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |_, _| {
        let list = schema::objects()
            .iter()
            .map(|d| J::Obj(object_summary(d, &v)))
            .collect();
        json(
            StatusCode::OK,
            &J::obj([
                ("encoding", J::from("UTF-8")),
                ("maxBatchSize", J::from(COLLECTION_MAX)),
                ("sobjects", J::Arr(list)),
            ]),
        )
    })
}

async fn sobject_info(
    State(s): State<Arc<AppState>>,
    Path((v, ty)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |_, _| match schema::object(&ty) {
        Some((_, def)) => json(
            StatusCode::OK,
            &J::obj([
                ("objectDescribe", J::Obj(object_summary(def, &v))),
                ("recentItems", J::Arr(Vec::new())),
            ]),
        ),
        None => resource_missing(),
    })
}

fn describe_field(f: &schema::FieldDef) -> J {
    let picklist = f
        .picklist
        .iter()
        .map(|p| {
            J::obj([
                ("active", J::Bool(true)),
                ("defaultValue", J::Bool(f.default_value == Some(*p))),
                ("label", J::from(*p)),
                ("validFor", J::Null),
                ("value", J::from(*p)),
            ])
        })
        .collect();
    let (precision, scale) = match f.ty {
        FieldType::Currency => (18, 2),
        FieldType::Double => (18, 0),
        _ => (0, 0),
    };
    J::obj([
        ("name", J::from(f.name)),
        ("label", J::from(f.label)),
        ("type", J::from(f.ty.as_str())),
        ("soapType", J::from(f.ty.soap_type())),
        ("length", J::Int(i64::from(f.length))),
        ("precision", J::Int(precision)),
        ("scale", J::Int(scale)),
        ("nillable", J::Bool(f.nillable)),
        ("createable", J::Bool(f.createable)),
        ("updateable", J::Bool(f.updateable)),
        ("unique", J::Bool(f.unique)),
        ("externalId", J::Bool(false)),
        ("idLookup", J::Bool(f.ty == FieldType::Id)),
        ("calculated", J::Bool(f.calculated)),
        ("defaultedOnCreate", J::Bool(f.defaulted)),
        ("nameField", J::Bool(f.name_field)),
        ("filterable", J::Bool(true)),
        (
            "sortable",
            J::Bool(!(f.ty == FieldType::TextArea && f.length > 255)),
        ),
        (
            "referenceTo",
            J::Arr(f.reference_to.iter().map(|r| J::from(*r)).collect()),
        ),
        (
            "relationshipName",
            J::from(f.relationship.map(str::to_string)),
        ),
        ("picklistValues", J::Arr(picklist)),
        ("defaultValue", J::from(f.default_value.map(str::to_string))),
    ])
}

async fn describe(
    State(s): State<Arc<AppState>>,
    Path((v, ty)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |w, _| {
        let Some((_, def)) = schema::object(&ty) else {
            return resource_missing();
        };
        let mut body = object_summary(def, &v);
        body.push((
            "fields".into(),
            J::Arr(
                def.fields
                    .iter()
                    .filter(|f| w.has_field(def.name, f.name))
                    .map(describe_field)
                    .collect(),
            ),
        ));
        let children = def
            .children
            .iter()
            .map(|(child, field, rel)| {
                J::obj([
                    ("childSObject", J::from(*child)),
                    ("field", J::from(*field)),
                    ("relationshipName", J::from(*rel)),
                    ("cascadeDelete", J::Bool(false)),
                ])
            })
            .collect();
        body.push(("childRelationships".into(), J::Arr(children)));
        body.push(("recordTypeInfos".into(), J::Arr(Vec::new())));
        json(StatusCode::OK, &J::Obj(body))
    })
}

fn parse_json(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        rest_error(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            format!("Unexpected character in the request body: {e}"),
        )
    })
}

fn bad_request(e: &RecError) -> Response {
    rest_error_fields(StatusCode::BAD_REQUEST, e.code, &e.message, &e.fields)
}

/// The record of a `/sobjects/{Type}/{id}` path, or the 404 Salesforce gives.
fn locate_for_path(w: &World, ty: &str, raw: &str) -> Result<(usize, Arc<str>), Response> {
    let Some((t, _)) = schema::object(ty) else {
        return Err(resource_missing());
    };
    let Some(id) = super::ids::to18(raw) else {
        return Err(rest_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {raw}"),
        ));
    };
    match w.find(Some(t), &id) {
        Ok(found) => Ok(found),
        Err(e) if e.code == "ENTITY_IS_DELETED" => Err(rest_error(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        )),
        Err(_) => Err(resource_missing()),
    }
}

async fn create(
    State(s): State<Arc<AppState>>,
    Path((v, ty)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&s, &v, &headers, |w, ctx| {
        let Some((t, _)) = schema::object(&ty) else {
            return resource_missing();
        };
        let fields = match parse_json(&body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return rest_error(
                    StatusCode::BAD_REQUEST,
                    "JSON_PARSER_ERROR",
                    "The request body must be a JSON object",
                );
            }
            Err(r) => return r,
        };
        match w.prepare_create(t, &fields, ctx) {
            Ok(row) => {
                let id = w.create(t, row);
                json(
                    StatusCode::CREATED,
                    &J::obj([
                        ("id", J::from(id.as_ref())),
                        ("success", J::Bool(true)),
                        ("errors", J::Arr(Vec::new())),
                    ]),
                )
            }
            Err(e) => bad_request(&e),
        }
    })
}

async fn read(
    State(s): State<Arc<AppState>>,
    Path((v, ty, id)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |w, _| {
        let (t, id) = match locate_for_path(w, &ty, &id) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let sels = match q.get("fields").filter(|f| !f.trim().is_empty()) {
            Some(list) => match query::field_list(t, list) {
                Ok(s) => s,
                Err(e) => return rest_error(StatusCode::BAD_REQUEST, e.code, e.message),
            },
            None => query::all_fields(t),
        };
        match w.row(t, &id) {
            Some(row) => json(StatusCode::OK, &query::render(w, t, &id, row, &sels, &v)),
            None => resource_missing(),
        }
    })
}

async fn update(
    State(s): State<Arc<AppState>>,
    Path((v, ty, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&s, &v, &headers, |w, ctx| {
        let (t, id) = match locate_for_path(w, &ty, &id) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let fields = match parse_json(&body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return rest_error(
                    StatusCode::BAD_REQUEST,
                    "JSON_PARSER_ERROR",
                    "The request body must be a JSON object",
                );
            }
            Err(r) => return r,
        };
        match w.prepare_update(Some(t), &id, &fields, ctx) {
            Ok((t, id, row)) => {
                w.write(t, id, row, Op::Update);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(e) => bad_request(&e),
        }
    })
}

async fn delete(
    State(s): State<Arc<AppState>>,
    Path((v, ty, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |w, ctx| {
        let (t, id) = match locate_for_path(w, &ty, &id) {
            Ok(x) => x,
            Err(r) => return r,
        };
        match w.prepare_delete(Some(t), &id) {
            Ok((t, id)) => {
                w.delete(t, &id, None, ctx);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(e) => bad_request(&e),
        }
    })
}

/// What a collection item changed, so an all-or-none failure can put it back.
enum Undo {
    Created(usize, Arc<str>),
    Changed(usize, Arc<str>, Row),
}

/// One collection item: its input id (update/delete), and the id written or the error.
type ItemResult = (Option<String>, Result<Arc<str>, RecError>);

/// Runs items in order; with all-or-none, any failure undoes every change (and takes its
/// write-log entries back) and marks the other items rolled back.
fn run_batch(
    w: &mut World,
    all_or_none: bool,
    n: usize,
    mut each: impl FnMut(&mut World, usize, &mut Vec<Undo>) -> ItemResult,
) -> J {
    let mark = w.writes.mark();
    let mut undo = Vec::new();
    let results: Vec<ItemResult> = (0..n).map(|i| each(w, i, &mut undo)).collect();
    let failed = results.iter().any(|(_, r)| r.is_err());
    if all_or_none && failed {
        // The org's lock is held throughout, so every Salesforce entry since `mark` is ours.
        w.writes.retract(writes::SALESFORCE, mark);
        for u in undo.into_iter().rev() {
            match u {
                Undo::Created(t, id) => w.remove(t, &id),
                Undo::Changed(t, id, row) => w.put(t, id, row),
            }
        }
    }
    let item = |id: Option<J>, ok: bool, errors: Vec<J>| {
        let mut f = Vec::new();
        if let Some(id) = id {
            f.push(("id".to_string(), id));
        }
        f.push(("success".into(), J::Bool(ok)));
        f.push(("errors".into(), J::Arr(errors)));
        J::Obj(f)
    };
    let out = results
        .into_iter()
        .map(|(input, r)| match r {
            Ok(_) if all_or_none && failed => item(
                input.map(J::from),
                false,
                vec![RecError::new("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK).to_j()],
            ),
            Ok(id) => item(Some(J::from(id.as_ref())), true, Vec::new()),
            Err(e) => item(input.map(J::from), false, vec![e.to_j()]),
        })
        .collect();
    J::Arr(out)
}

fn too_many() -> Response {
    rest_error(
        StatusCode::BAD_REQUEST,
        "EXCEEDED_ID_LIMIT",
        format!(
            "record limit reached. cannot submit more than {COLLECTION_MAX} records into this call"
        ),
    )
}

/// `{"allOrNone":…, "records":[…]}` of a collections create or update.
fn collection_body(body: &[u8]) -> Result<(bool, Vec<Map<String, Value>>), Response> {
    let v = parse_json(body)?;
    let bad = |m: &str| rest_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", m.to_string());
    let all_or_none = match v.get("allOrNone") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("allOrNone must be a boolean")),
    };
    let Some(Value::Array(records)) = v.get("records") else {
        return Err(bad("The request body must have a 'records' array"));
    };
    if records.len() > COLLECTION_MAX {
        return Err(too_many());
    }
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        match r {
            Value::Object(m) => out.push(m.clone()),
            _ => return Err(bad("Each record must be a JSON object")),
        }
    }
    Ok((all_or_none, out))
}

/// The sObject named by a record's `attributes.type`.
fn record_type(r: &Map<String, Value>) -> Result<usize, RecError> {
    let ty = r
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RecError::new(
                "INVALID_TYPE",
                "Must specify a type in the attributes of each record",
            )
        })?;
    schema::object(ty).map(|(t, _)| t).ok_or_else(|| {
        RecError::new(
            "INVALID_TYPE",
            format!("sObject type '{ty}' is not supported."),
        )
    })
}

async fn collection_create(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&s, &v, &headers, |w, ctx| {
        let (all_or_none, records) = match collection_body(&body) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let out = run_batch(w, all_or_none, records.len(), |w, i, undo| {
            let Some(r) = records.get(i) else {
                return (
                    None,
                    Err(RecError::new("UNKNOWN_EXCEPTION", "missing record")),
                );
            };
            let res = record_type(r).and_then(|t| w.prepare_create(t, r, ctx).map(|row| (t, row)));
            match res {
                Ok((t, row)) => {
                    let id = w.create(t, row);
                    undo.push(Undo::Created(t, id.clone()));
                    (None, Ok(id))
                }
                Err(e) => (None, Err(e)),
            }
        });
        json(StatusCode::OK, &out)
    })
}

async fn collection_update(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&s, &v, &headers, |w, ctx| {
        let (all_or_none, records) = match collection_body(&body) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let out = run_batch(w, all_or_none, records.len(), |w, i, undo| {
            let Some(r) = records.get(i) else {
                return (
                    None,
                    Err(RecError::new("UNKNOWN_EXCEPTION", "missing record")),
                );
            };
            let raw = r
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("id"))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string);
            let Some(raw) = raw else {
                return (
                    None,
                    Err(RecError::new(
                        "MISSING_ARGUMENT",
                        "Id not specified in an update call",
                    )),
                );
            };
            let res = record_type(r).and_then(|t| w.prepare_update(Some(t), &raw, r, ctx));
            match res {
                Ok((t, id, row)) => {
                    if let Some(old) = w.row(t, &id).cloned() {
                        undo.push(Undo::Changed(t, id.clone(), old));
                    }
                    w.write(t, id.clone(), row, Op::Update);
                    (Some(raw), Ok(id))
                }
                Err(e) => (Some(raw), Err(e)),
            }
        });
        json(StatusCode::OK, &out)
    })
}

async fn collection_delete(
    State(s): State<Arc<AppState>>,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |w, ctx| {
        let ids: Vec<String> = q
            .get("ids")
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if ids.is_empty() {
            return rest_error(
                StatusCode::BAD_REQUEST,
                "MISSING_ARGUMENT",
                "The 'ids' parameter is required",
            );
        }
        if ids.len() > COLLECTION_MAX {
            return too_many();
        }
        let all_or_none = q
            .get("allOrNone")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let out = run_batch(w, all_or_none, ids.len(), |w, i, undo| {
            let raw = ids.get(i).cloned().unwrap_or_default();
            match w.prepare_delete(None, &raw) {
                Ok((t, id)) => {
                    if let Some(old) = w.row(t, &id).cloned() {
                        undo.push(Undo::Changed(t, id.clone(), old));
                    }
                    w.delete(t, &id, None, ctx);
                    (Some(raw), Ok(id))
                }
                Err(e) => (Some(raw), Err(e)),
            }
        });
        json(StatusCode::OK, &out)
    })
}

fn retrieve(w: &World, v: &str, ty: &str, ids: &[String], fields: &[String]) -> Response {
    let Some((t, _)) = schema::object(ty) else {
        return resource_missing();
    };
    if fields.is_empty() {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "MISSING_ARGUMENT",
            "The 'fields' parameter is required",
        );
    }
    if ids.is_empty() {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "MISSING_ARGUMENT",
            "The 'ids' parameter is required",
        );
    }
    if ids.len() > RETRIEVE_MAX {
        return rest_error(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            format!(
                "record limit reached. cannot submit more than {RETRIEVE_MAX} records into this call"
            ),
        );
    }
    let sels = match query::field_list(t, &fields.join(",")) {
        Ok(s) => s,
        Err(e) => return rest_error(StatusCode::BAD_REQUEST, e.code, e.message),
    };
    let mut out = Vec::with_capacity(ids.len());
    for raw in ids {
        let Some(id) = super::ids::to18(raw) else {
            return rest_error(
                StatusCode::BAD_REQUEST,
                "MALFORMED_ID",
                format!("malformed id {raw}"),
            );
        };
        let rec = match w.find(Some(t), &id) {
            Ok((t, key)) => w
                .row(t, &key)
                .map(|row| query::render(w, t, &key, row, &sels, v)),
            Err(_) => None,
        };
        out.push(rec.unwrap_or(J::Null));
    }
    json(StatusCode::OK, &J::Arr(out))
}

fn split_list(s: Option<&String>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

async fn collection_retrieve(
    State(s): State<Arc<AppState>>,
    Path((v, ty)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run(&s, &v, &headers, |w, _| {
        retrieve(
            w,
            &v,
            &ty,
            &split_list(q.get("ids")),
            &split_list(q.get("fields")),
        )
    })
}

/// The POST form of retrieve, for id lists too long for a URL.
async fn collection_retrieve_post(
    State(s): State<Arc<AppState>>,
    Path((v, ty)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&s, &v, &headers, |w, _| {
        let body = match parse_json(&body) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let list = |k: &str| -> Vec<String> {
            body.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        retrieve(w, &v, &ty, &list("ids"), &list("fields"))
    })
}
