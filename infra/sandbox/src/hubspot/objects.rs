//! CRM records and the object endpoints: list, read, create, update, archive, batch
//! read/create/update/archive and merge (new ids for contacts and companies, old ids kept
//! as aliases), all in HubSpot's v3 shapes and status codes; reads answer
//! `propertiesWithHistory`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use steward_shared::crm::limits::hubspot as figures;

use super::World;
use super::api::{Api, HsError, HsResult, Params, Principal, iso, parse_json};
use super::history::History;
use super::index::SearchIndex;
use super::schema::{Change, ObjectType, validate};
use crate::server::AppState;
use crate::writes::{self, Op, WriteLog};

/// Stored property values, keyed by the schema's own names (no per-record key strings).
pub(crate) type Props = BTreeMap<&'static str, String>;

#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub id: u64,
    /// Stored values only (never null); `hs_object_id` and the dates are derived.
    pub props: Props,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// Which properties a response carries.
pub(crate) enum Selection<'a> {
    /// The type's defaults (nothing was requested).
    Defaults,
    /// What was requested (unknown names ignored) plus the always-returned three.
    Named(&'a [String]),
    /// Every property with a value (write and merge responses).
    AllSet,
}

impl<'a> Selection<'a> {
    pub fn from_request(requested: &'a [String]) -> Self {
        if requested.is_empty() {
            Selection::Defaults
        } else {
            Selection::Named(requested)
        }
    }
}

impl Record {
    pub fn value(&self, ty: ObjectType, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "hs_object_id" => Some(Cow::Owned(self.id.to_string())),
            "createdate" => Some(Cow::Owned(iso(self.created))),
            n if n == ty.modified_prop() => Some(Cow::Owned(iso(self.updated))),
            n => self.props.get(n).map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    pub fn json(&self, ty: ObjectType, sel: &Selection) -> Value {
        let mut props = Map::new();
        let mut put = |name: &str| {
            if ty.prop(name).is_some() && !props.contains_key(name) {
                let v = self
                    .value(ty, name)
                    .map(|v| Value::String(v.into_owned()))
                    .unwrap_or(Value::Null);
                props.insert(name.to_string(), v);
            }
        };
        match sel {
            Selection::Defaults => ty.default_props().iter().for_each(|n| put(n)),
            Selection::Named(names) => {
                names.iter().for_each(|n| put(n));
                ty.always_props().iter().for_each(|n| put(n));
            }
            Selection::AllSet => {
                self.props.keys().for_each(|n| put(n));
                ty.always_props().iter().for_each(|n| put(n));
            }
        }
        let mut v = json!({
            "id": self.id.to_string(),
            "properties": props,
            "createdAt": iso(self.created),
            "updatedAt": iso(self.updated),
            "archived": self.archived_at.is_some(),
        });
        if let (Some(at), Some(o)) = (self.archived_at, v.as_object_mut()) {
            o.insert("archivedAt".into(), json!(iso(at)));
        }
        v
    }
}

/// One object type's records. Live and archived records are kept apart in id order so a
/// list page is a range scan.
pub(crate) struct Store {
    pub ty: ObjectType,
    pub(super) next_id: u64,
    pub live: BTreeMap<u64, Record>,
    pub archived: BTreeMap<u64, Record>,
    /// Ids that were merged away, to the id that now answers for them.
    pub(super) aliases: HashMap<u64, u64>,
    /// Lower-cased contact email to contact id (HubSpot keeps emails unique).
    pub(super) emails: HashMap<String, u64>,
    /// Where every successful write is logged (create, update, archive, merge).
    pub(super) log: WriteLog,
    /// What search sees: writes reach it only after the search lag.
    pub(super) index: SearchIndex,
    /// Every value each property held (`propertiesWithHistory`).
    pub(super) history: History,
}

/// `limit` of list calls that ask for `propertiesWithHistory`: the spec says history
/// lowers it; 50 is the figure seen. [obs]
const LIST_PAGE_MAX_WITH_HISTORY: usize = 50;

pub(crate) fn parse_id(raw: &str) -> Option<u64> {
    raw.trim().parse().ok()
}

fn conflict(existing: u64) -> HsError {
    HsError::conflict(format!("Contact already exists. Existing ID: {existing}"))
}

impl Store {
    pub fn new(ty: ObjectType) -> Self {
        Store {
            ty,
            next_id: ty.first_id(),
            live: BTreeMap::new(),
            archived: BTreeMap::new(),
            aliases: HashMap::new(),
            emails: HashMap::new(),
            log: WriteLog::default(),
            index: SearchIndex::default(),
            history: History::default(),
        }
    }

    /// After a write of `id`: logs it, and sends it on its way to search.
    fn logged(&mut self, id: u64, op: Op) {
        self.log
            .record(writes::HUBSPOT, self.ty.name(), &id.to_string(), op);
        self.index.written(id, self.live.get(&id));
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The id that answers for `id` now (itself unless it was merged away).
    pub fn resolve(&self, id: u64) -> u64 {
        self.aliases.get(&id).copied().unwrap_or(id)
    }

    pub fn get(&self, raw: &str) -> Option<&Record> {
        self.live.get(&self.resolve(parse_id(raw)?))
    }

    pub fn email_owner(&self, email: &str) -> Option<u64> {
        self.emails.get(&email.to_lowercase()).copied()
    }

    /// A record by `idProperty` (`hs_object_id` by default; `email` for contacts).
    pub fn find(
        &self,
        raw: &str,
        id_property: Option<&str>,
        archived: bool,
    ) -> HsResult<Option<&Record>> {
        match id_property {
            None | Some("") | Some("hs_object_id") => {
                let Some(id) = parse_id(raw) else {
                    return Ok(None);
                };
                let id = self.resolve(id);
                Ok(if archived {
                    self.archived.get(&id)
                } else {
                    self.live.get(&id)
                })
            }
            Some("email") if self.ty == ObjectType::Contacts => Ok(if archived {
                None
            } else {
                self.email_owner(raw).and_then(|id| self.live.get(&id))
            }),
            Some(other) => Err(HsError::validation(format!(
                "Property \"{other}\" is not a unique identifier property for {}",
                self.ty.name()
            ))),
        }
    }

    /// Seeds a record without validation (seeded data is dirty on purpose). A contact whose
    /// email another contact already has keeps no email: HubSpot cannot hold both.
    pub fn seed(
        &mut self,
        mut props: Props,
        created: DateTime<Utc>,
        updated: DateTime<Utc>,
    ) -> u64 {
        let id = self.alloc_id();
        if let Some(email) = props.get("email").map(|e| e.to_lowercase()) {
            match self.emails.entry(email) {
                Entry::Occupied(_) => {
                    props.remove("email");
                }
                Entry::Vacant(slot) => {
                    slot.insert(id);
                }
            }
        }
        self.live.insert(
            id,
            Record {
                id,
                props,
                created,
                updated,
                archived_at: None,
            },
        );
        id
    }

    /// 409 if `changes` would give a contact an email another contact has.
    fn check_email(&self, changes: &[Change], own_id: Option<u64>) -> HsResult<()> {
        if self.ty != ObjectType::Contacts {
            return Ok(());
        }
        for (name, value) in changes {
            if *name == "email"
                && let Some(v) = value
                && let Some(existing) = self.email_owner(v)
                && Some(existing) != own_id
            {
                return Err(conflict(existing));
            }
        }
        Ok(())
    }

    pub fn create(&mut self, changes: Vec<Change>, now: DateTime<Utc>) -> HsResult<&Record> {
        self.check_email(&changes, None)?;
        let id = self.alloc_id();
        let mut props = BTreeMap::new();
        for (name, value) in changes {
            if let Some(v) = value {
                props.insert(name, v);
            }
        }
        if let Some(email) = props.get("email") {
            self.emails.insert(email.to_lowercase(), id);
        }
        let rec = Record {
            id,
            props,
            created: now,
            updated: now,
            archived_at: None,
        };
        self.live.insert(id, rec);
        self.logged(id, Op::Create);
        self.live
            .get(&id)
            .ok_or_else(|| HsError::not_found("resource not found"))
    }

    pub fn update(
        &mut self,
        id: u64,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> HsResult<&Record> {
        let id = self.resolve(id);
        if !self.live.contains_key(&id) {
            return Err(HsError::not_found("resource not found"));
        }
        self.check_email(&changes, Some(id))?;
        self.index.before_write(id, self.live.get(&id));
        let Some(rec) = self.live.get_mut(&id) else {
            return Err(HsError::not_found("resource not found"));
        };
        for (name, value) in changes {
            if name == "email" {
                if let Some(old) = rec.props.get("email") {
                    self.emails.remove(&old.to_lowercase());
                }
                if let Some(v) = &value {
                    self.emails.insert(v.to_lowercase(), id);
                }
            }
            let old = match value {
                Some(v) => rec.props.insert(name, v),
                None => rec.props.remove(name),
            };
            let new = rec.props.get(name).map(String::as_str);
            if old.as_deref() != new {
                self.history
                    .changed(id, rec.created, name, old.as_deref(), new, now);
            }
        }
        rec.updated = now;
        self.logged(id, Op::Update);
        self.live
            .get(&id)
            .ok_or_else(|| HsError::not_found("resource not found"))
    }

    /// Moves a record to the recycle bin; false if there was none.
    pub fn archive(&mut self, id: u64, now: DateTime<Utc>) -> bool {
        let id = self.resolve(id);
        let Some(mut rec) = self.live.remove(&id) else {
            return false;
        };
        self.index.before_write(id, Some(&rec));
        if let Some(email) = rec.props.get("email") {
            self.emails.remove(&email.to_lowercase());
        }
        rec.archived_at = Some(now);
        rec.updated = now;
        self.archived.insert(id, rec);
        self.logged(id, Op::Archive);
        true
    }

    /// Merges `secondary` into `primary` (both already resolved, distinct, live). The
    /// primary's values win and its gaps are filled from the secondary.
    pub fn merge(&mut self, primary: u64, secondary: u64, now: DateTime<Utc>) -> Option<&Record> {
        let p = self.live.remove(&primary)?;
        let Some(s) = self.live.remove(&secondary) else {
            self.live.insert(primary, p);
            return None;
        };
        self.index.before_write(primary, Some(&p));
        self.index.before_write(secondary, Some(&s));
        for rec in [&p, &s] {
            if let Some(e) = rec.props.get("email") {
                self.emails.remove(&e.to_lowercase());
            }
        }
        let split = |rec: &Record, name: &str| -> Vec<String> {
            rec.props
                .get(name)
                .map(|v| {
                    v.split(';')
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut merged_ids: BTreeSet<u64> = split(&p, "hs_merged_object_ids")
            .into_iter()
            .chain(split(&s, "hs_merged_object_ids"))
            .filter_map(|v| v.parse().ok())
            .collect();
        merged_ids.insert(secondary);
        let new_id = if self.ty.merge_makes_new_id() {
            merged_ids.insert(primary);
            self.alloc_id()
        } else {
            primary
        };
        let mut props = s.props.clone();
        for (k, v) in &p.props {
            props.insert(k, v.clone());
        }
        props.insert(
            "hs_merged_object_ids",
            merged_ids
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(";"),
        );
        if self.ty == ObjectType::Contacts {
            // The losing email stays findable as an additional email, as in HubSpot.
            let kept = props.get("email").map(|e| e.to_lowercase());
            let mut extra: Vec<String> = split(&p, "hs_additional_emails");
            extra.extend(split(&s, "hs_additional_emails"));
            extra.extend(s.props.get("email").cloned());
            let mut seen: BTreeSet<String> = kept.iter().cloned().collect();
            extra.retain(|e| seen.insert(e.to_lowercase()));
            if extra.is_empty() {
                props.remove("hs_additional_emails");
            } else {
                props.insert("hs_additional_emails", extra.join(";"));
            }
            if let Some(e) = kept {
                self.emails.insert(e, new_id);
            }
        }
        for gone in [primary, secondary] {
            if gone != new_id {
                self.aliases.insert(gone, new_id);
            }
        }
        for target in self.aliases.values_mut() {
            if *target == primary || *target == secondary {
                *target = new_id;
            }
        }
        let rec = Record {
            id: new_id,
            props,
            created: p.created.min(s.created),
            updated: now,
            archived_at: None,
        };
        self.live.insert(new_id, rec);
        // Each record merged away, then the survivor (the primary, or a new record).
        for id in [primary, secondary] {
            if id != new_id {
                self.logged(id, Op::Merge);
            }
        }
        self.logged(new_id, Op::Merge);
        self.live.get(&new_id)
    }
}

/// `rec` as a read answers it, with `propertiesWithHistory` when any were asked for.
fn shown(store: &Store, rec: &Record, sel: &Selection, with_history: &[String]) -> Value {
    let mut v = rec.json(store.ty, sel);
    if !with_history.is_empty()
        && let Some(o) = v.as_object_mut()
    {
        o.insert(
            "propertiesWithHistory".into(),
            store.history.json(store.ty, rec, with_history),
        );
    }
    v
}

pub(crate) fn respond(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn owner_check(world: &World) -> impl Fn(&str) -> bool + '_ {
    |v: &str| world.owner_is_assignable(v)
}

/// The `properties` object of a write body (absent counts as empty).
fn props_of(input: &Value) -> HsResult<Map<String, Value>> {
    match input.get("properties") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(HsError::validation(
            "Invalid input JSON: \"properties\" must be an object",
        )),
    }
}

/// A JSON id that may be sent as a string or a number.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

// ---- list, read, create, update, archive -------------------------------------------

pub(super) async fn list(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(ty): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = list_inner(&api.who, &s, &ty, q.as_deref());
    api.finish(r)
}

fn list_inner(who: &Principal, s: &AppState, ty: &str, q: Option<&str>) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(&ty.read_scopes())?;
    let params = Params::parse(q);
    let limit = params.number("limit", 10)?;
    // History makes pages smaller. (`associations` is accepted and lists nothing: this
    // portal holds no associations, and HubSpot ignores types a record has none of.)
    let with_history = params.list("propertiesWithHistory");
    let max = if with_history.is_empty() {
        figures::LIST_PAGE_MAX
    } else {
        LIST_PAGE_MAX_WITH_HISTORY
    };
    if limit == 0 || limit > max {
        return Err(HsError::validation(format!(
            "limit: must be between 1 and {max}, but was {limit}"
        )));
    }
    let after = match params.get("after") {
        None | Some("") => 0,
        Some(a) => parse_id(a).ok_or_else(|| {
            HsError::validation(format!("after: '{a}' is not a valid paging cursor"))
        })?,
    };
    let requested = params.list("properties");
    let sel = Selection::from_request(&requested);
    let world = s.hubspot();
    let store = world.store(ty);
    let map = if params.flag("archived") {
        &store.archived
    } else {
        &store.live
    };
    let mut page = map.range(after..);
    let results: Vec<Value> = page
        .by_ref()
        .take(limit)
        .map(|(_, r)| shown(store, r, &sel, &with_history))
        .collect();
    let mut body = json!({ "results": results });
    if let Some((next, _)) = page.next() {
        let mut link_params: Vec<(String, String)> = params
            .0
            .iter()
            .filter(|(k, _)| k != "after")
            .cloned()
            .collect();
        link_params.push(("after".into(), next.to_string()));
        let query: Vec<String> = link_params
            .iter()
            .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
            .collect();
        let link = format!(
            "{}/hubspot/crm/v3/objects/{}?{}",
            s.base_url,
            ty.name(),
            query.join("&")
        );
        if let Some(o) = body.as_object_mut() {
            o.insert(
                "paging".into(),
                json!({ "next": { "after": next.to_string(), "link": link } }),
            );
        }
    }
    Ok(respond(StatusCode::OK, body))
}

pub(super) async fn read(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path((ty, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = read_inner(&api.who, &s, &ty, &id, q.as_deref());
    api.finish(r)
}

fn read_inner(
    who: &Principal,
    s: &AppState,
    ty: &str,
    id: &str,
    q: Option<&str>,
) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(&ty.read_scopes())?;
    let params = Params::parse(q);
    let requested = params.list("properties");
    let world = s.hubspot();
    let store = world.store(ty);
    let rec = store
        .find(id, params.get("idProperty"), params.flag("archived"))?
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    let with_history = params.list("propertiesWithHistory");
    Ok(respond(
        StatusCode::OK,
        shown(
            store,
            rec,
            &Selection::from_request(&requested),
            &with_history,
        ),
    ))
}

pub(super) async fn create(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(ty): Path<String>,
    body: Bytes,
) -> Response {
    let r = create_inner(&api.who, &s, &ty, &body);
    api.finish(r)
}

fn create_inner(who: &Principal, s: &AppState, ty: &str, body: &Bytes) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(&[ty.write_scope()])?;
    let input = parse_json(body)?;
    let props = props_of(&input)?;
    let mut world = s.hubspot();
    let changes = validate(ty, &props, &owner_check(&world))?;
    let rec = world.store_mut(ty).create(changes, Utc::now())?;
    Ok(respond(
        StatusCode::CREATED,
        rec.json(ty, &Selection::AllSet),
    ))
}

pub(super) async fn update(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path((ty, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = update_inner(&api.who, &s, &ty, &id, q.as_deref(), &body);
    api.finish(r)
}

fn update_inner(
    who: &Principal,
    s: &AppState,
    ty: &str,
    id: &str,
    q: Option<&str>,
    body: &Bytes,
) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(&[ty.write_scope()])?;
    let params = Params::parse(q);
    let input = parse_json(body)?;
    let props = props_of(&input)?;
    let mut world = s.hubspot();
    let target = world
        .store(ty)
        .find(id, params.get("idProperty"), false)?
        .map(|r| r.id)
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    let changes = validate(ty, &props, &owner_check(&world))?;
    let rec = world.store_mut(ty).update(target, changes, Utc::now())?;
    Ok(respond(StatusCode::OK, rec.json(ty, &Selection::AllSet)))
}

pub(super) async fn archive(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path((ty, id)): Path<(String, String)>,
) -> Response {
    let r = archive_inner(&api.who, &s, &ty, &id);
    api.finish(r)
}

fn archive_inner(who: &Principal, s: &AppState, ty: &str, id: &str) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(&[ty.write_scope()])?;
    if let Some(id) = parse_id(id) {
        // HubSpot answers 204 whether or not the record existed.
        s.hubspot().store_mut(ty).archive(id, Utc::now());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- batch ---------------------------------------------------------------------------

/// The `inputs` array of a batch body, or 400 when missing or over the batch limit.
fn batch_inputs(body: &Value) -> HsResult<&Vec<Value>> {
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            HsError::validation("Invalid input JSON: \"inputs\" is required and must be an array")
        })?;
    if inputs.len() > figures::BATCH_MAX {
        return Err(HsError::validation(format!(
            "Batch input size is {}, which exceeds the limit of {} inputs per request",
            inputs.len(),
            figures::BATCH_MAX
        ))
        .with(
            "context",
            json!({ "maxInputs": [figures::BATCH_MAX.to_string()] }),
        ));
    }
    Ok(inputs)
}

/// A StandardError entry of a 207 batch response.
fn standard_error(category: &str, message: &str, context: Value) -> Value {
    json!({
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    })
}

fn not_found_error(ty: ObjectType, ids: &[String]) -> Value {
    standard_error(
        "OBJECT_NOT_FOUND",
        &format!(
            "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
            ty.label()
        ),
        json!({ "ids": ids }),
    )
}

/// `{"status":"COMPLETE",…}`: 207 with `numErrors`/`errors` when any input failed.
fn batch_response(
    ok_status: StatusCode,
    results: Vec<Value>,
    errors: Vec<Value>,
    started: DateTime<Utc>,
) -> Response {
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started),
        "completedAt": iso(Utc::now()),
    });
    if errors.is_empty() {
        return respond(ok_status, body);
    }
    if let Some(o) = body.as_object_mut() {
        o.insert("numErrors".into(), json!(errors.len()));
        o.insert("errors".into(), Value::Array(errors));
    }
    respond(StatusCode::MULTI_STATUS, body)
}

pub(super) async fn batch(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path((ty, op)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = batch_inner(&api.who, &s, &ty, &op, q.as_deref(), &body);
    api.finish(r)
}

fn batch_inner(
    who: &Principal,
    s: &AppState,
    ty: &str,
    op: &str,
    q: Option<&str>,
    body: &Bytes,
) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    match op {
        "read" => who.require(&ty.read_scopes())?,
        "create" | "update" | "archive" => who.require(&[ty.write_scope()])?,
        _ => return Err(HsError::not_found(format!("Unknown batch operation: {op}"))),
    }
    let body = parse_json(body)?;
    let inputs = batch_inputs(&body)?;
    let started = Utc::now();
    let mut world = s.hubspot();
    match op {
        "read" => Ok(batch_read(
            &world,
            ty,
            &body,
            inputs,
            Params::parse(q).flag("archived"),
            started,
        )),
        "create" => batch_create(&mut world, ty, inputs, started),
        "update" => batch_update(&mut world, ty, inputs, started),
        _ => {
            let store = world.store_mut(ty);
            for input in inputs {
                if let Some(id) = id_text(input.get("id")).as_deref().and_then(parse_id) {
                    store.archive(id, started);
                }
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

fn batch_read(
    world: &World,
    ty: ObjectType,
    body: &Value,
    inputs: &[Value],
    archived: bool,
    started: DateTime<Utc>,
) -> Response {
    let requested = string_list(body.get("properties"));
    let sel = Selection::from_request(&requested);
    let with_history = string_list(body.get("propertiesWithHistory"));
    let id_property = body.get("idProperty").and_then(Value::as_str);
    let store = world.store(ty);
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for input in inputs {
        let Some(raw) = id_text(input.get("id")) else {
            missing.push(String::new());
            continue;
        };
        match store.find(&raw, id_property, archived) {
            Ok(Some(rec)) => {
                if seen.insert(rec.id) {
                    results.push(shown(store, rec, &sel, &with_history));
                }
            }
            _ => missing.push(raw),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(ty, &missing)]
    };
    batch_response(StatusCode::OK, results, errors, started)
}

/// Creates every input. Without `objectWriteTraceId`s HubSpot's batch create is all or
/// nothing (the first failure is the answer); with them it is multi-status (207).
fn batch_create(
    world: &mut World,
    ty: ObjectType,
    inputs: &[Value],
    started: DateTime<Utc>,
) -> HsResult<Response> {
    let multi_status = inputs.iter().any(|i| i.get("objectWriteTraceId").is_some());
    let mut prepared: Vec<(Option<String>, HsResult<Vec<Change>>)> =
        Vec::with_capacity(inputs.len());
    {
        let owners = owner_check(world);
        for input in inputs {
            let trace = id_text(input.get("objectWriteTraceId"));
            prepared.push((
                trace,
                props_of(input).and_then(|p| validate(ty, &p, &owners)),
            ));
        }
    }
    let store = world.store_mut(ty);
    if !multi_status {
        let mut batch_emails: HashMap<String, usize> = HashMap::new();
        let mut all = Vec::with_capacity(prepared.len());
        for (_, changes) in prepared {
            let changes = changes?;
            store.check_email(&changes, None)?;
            for (name, value) in &changes {
                if *name == "email"
                    && let Some(v) = value
                    && batch_emails.insert(v.to_lowercase(), all.len()).is_some()
                {
                    return Err(HsError::conflict(format!(
                        "Duplicate email in batch input: {v}"
                    )));
                }
            }
            all.push(changes);
        }
        let results = all
            .into_iter()
            .filter_map(|c| {
                store
                    .create(c, started)
                    .ok()
                    .map(|r| r.json(ty, &Selection::AllSet))
            })
            .collect();
        return Ok(batch_response(
            StatusCode::CREATED,
            results,
            Vec::new(),
            started,
        ));
    }
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (trace, changes) in prepared {
        let context = json!({ "objectWriteTraceId": trace.iter().collect::<Vec<_>>() });
        match changes.and_then(|c| {
            store
                .create(c, started)
                .map(|r| r.json(ty, &Selection::AllSet))
        }) {
            Ok(mut rec) => {
                if let (Some(t), Some(o)) = (&trace, rec.as_object_mut()) {
                    o.insert("objectWriteTraceId".into(), json!(t));
                }
                results.push(rec);
            }
            Err(e) => errors.push(standard_error(e.category(), e.message(), context)),
        }
    }
    Ok(batch_response(
        StatusCode::CREATED,
        results,
        errors,
        started,
    ))
}

/// Updates every input that exists. Invalid properties fail the whole batch (400); ids
/// that don't exist and email conflicts are per-input errors (207).
fn batch_update(
    world: &mut World,
    ty: ObjectType,
    inputs: &[Value],
    started: DateTime<Utc>,
) -> HsResult<Response> {
    let mut ids = Vec::with_capacity(inputs.len());
    let mut seen = BTreeSet::new();
    let mut dupes = Vec::new();
    for input in inputs {
        let raw = id_text(input.get("id")).ok_or_else(|| {
            HsError::validation("Invalid input JSON: every input needs an \"id\"")
        })?;
        if !seen.insert(raw.clone()) {
            dupes.push(raw.clone());
        }
        ids.push(raw);
    }
    if !dupes.is_empty() {
        return Err(HsError::validation(format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            dupes.join(", ")
        )));
    }
    let mut changes = Vec::with_capacity(inputs.len());
    {
        let owners = owner_check(world);
        for input in inputs {
            changes.push(validate(ty, &props_of(input)?, &owners)?);
        }
    }
    let store = world.store_mut(ty);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    let mut errors = Vec::new();
    for ((raw, input), change) in ids.into_iter().zip(inputs).zip(changes) {
        let id_property = input.get("idProperty").and_then(Value::as_str);
        let target = match store.find(&raw, id_property, false) {
            Ok(Some(rec)) => rec.id,
            Ok(None) => {
                missing.push(raw);
                continue;
            }
            Err(e) => return Err(e),
        };
        match store.update(target, change, started) {
            Ok(rec) => results.push(rec.json(ty, &Selection::AllSet)),
            Err(e) => errors.push(standard_error(
                e.category(),
                e.message(),
                json!({ "ids": [raw] }),
            )),
        }
    }
    if !missing.is_empty() {
        errors.insert(0, not_found_error(ty, &missing));
    }
    Ok(batch_response(StatusCode::OK, results, errors, started))
}

// ---- merge ---------------------------------------------------------------------------

pub(super) async fn merge(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(ty): Path<String>,
    body: Bytes,
) -> Response {
    let r = merge_inner(&api.who, &s, &ty, &body);
    api.finish(r)
}

fn merge_inner(who: &Principal, s: &AppState, ty: &str, body: &Bytes) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(&[ty.write_scope()])?;
    let body = parse_json(body)?;
    let field = |name: &str| {
        id_text(body.get(name)).ok_or_else(|| {
            HsError::validation(format!("Invalid input JSON: \"{name}\" is required"))
        })
    };
    let (primary_raw, other_raw) = (field("primaryObjectId")?, field("objectIdToMerge")?);
    let mut world = s.hubspot();
    let store = world.store_mut(ty);
    let resolve = |raw: &str| {
        store
            .get(raw)
            .map(|r| r.id)
            .ok_or_else(|| HsError::not_found(format!("{} {raw} does not exist", ty.label())))
    };
    let primary = resolve(&primary_raw)?;
    let other = resolve(&other_raw)?;
    if primary == other {
        return Err(HsError::validation(format!(
            "Cannot merge a {} with itself: {primary_raw} and {other_raw} are the same record",
            ty.label()
        )));
    }
    let rec = store
        .merge(primary, other, Utc::now())
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    Ok(respond(StatusCode::OK, rec.json(ty, &Selection::AllSet)))
}
