//! Salesforce's wire format (see the wire reference): OAuth web-server flow, identity,
//! SOQL query paging, describe, sObject Collections, SOAP merge and convertLead, limits.

mod ids;
mod oauth;
mod query;
mod records;
mod rest;
pub(crate) mod saved;
mod schema;
mod soap;
mod soql;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::ser::{SerializeMap, SerializeSeq};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::config::SandboxConfig;
use crate::generator::Dataset;
use crate::server::AppState;
use crate::writes::WriteLog;
use schema::{ACCOUNT, CONTACT, LEAD, OPPORTUNITY, USER};

/// The org every sandbox run seeds (`00D` key prefix; the id's suffix is checked in tests).
pub const ORG_ID: &str = "00D5g0000000001EAA";
/// A session id that never expires and needs no OAuth dance, for tools and benchmarks. It
/// acts as the first active user.
pub const STATIC_SESSION_TOKEN: &str = "00D-sandbox-static!session";
/// Seeded records are created `created_secs_ago` before this instant (the generator's
/// reference, the same as the HubSpot half's, so both CRMs date a record alike).
const SEED_INSTANT: &str = "2026-01-01T00:00:00Z";
/// First counter of record ids, so they look like real ones (mixed-case base62).
const ID_COUNTER_START: u64 = 1_000_000_000;

/// A field value. Dates are `YYYY-MM-DD` strings; datetimes are epoch milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Str(Arc<str>),
    Num(f64),
    Bool(bool),
    Time(i64),
}

impl Val {
    fn s(s: impl AsRef<str>) -> Val {
        Val::Str(Arc::from(s.as_ref()))
    }

    fn opt(s: Option<&String>) -> Val {
        match s.map(|s| s.trim()).filter(|s| !s.is_empty()) {
            Some(s) => Val::s(s),
            None => Val::Null,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn to_j(&self) -> J {
        match self {
            Val::Null => J::Null,
            Val::Str(s) => J::Str(s.to_string()),
            Val::Num(n) => J::Num(*n),
            Val::Bool(b) => J::Bool(*b),
            Val::Time(ms) => J::Str(format_time(*ms)),
        }
    }
}

/// `2026-11-23T10:00:00.000+0000`, Salesforce's REST datetime format.
pub(crate) fn format_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// A record: one value per field of its object, in describe order (Id first).
pub(crate) type Row = Vec<Val>;

/// One sObject's records keyed by 18-character id; ids sort in issue order.
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) rows: BTreeMap<Arc<str>, Row>,
    next: u64,
}

/// JSON with keys in the order written (the org's bodies put `attributes` first).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub(crate) fn obj<const N: usize>(pairs: [(&str, J); N]) -> J {
        J::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

impl From<&str> for J {
    fn from(s: &str) -> J {
        J::Str(s.to_string())
    }
}
impl From<String> for J {
    fn from(s: String) -> J {
        J::Str(s)
    }
}
impl From<bool> for J {
    fn from(b: bool) -> J {
        J::Bool(b)
    }
}
impl From<u64> for J {
    fn from(n: u64) -> J {
        J::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<usize> for J {
    fn from(n: usize) -> J {
        J::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<Option<String>> for J {
    fn from(s: Option<String>) -> J {
        s.map(J::Str).unwrap_or(J::Null)
    }
}
impl From<Vec<J>> for J {
    fn from(v: Vec<J>) -> J {
        J::Arr(v)
    }
}

impl serde::Serialize for J {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Int(n) => s.serialize_i64(*n),
            J::Num(n) => s.serialize_f64(*n),
            J::Str(v) => s.serialize_str(v),
            J::Arr(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            J::Obj(v) => {
                let mut map = s.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    map.serialize_entry(k, x)?;
                }
                map.end()
            }
        }
    }
}

pub(crate) fn json(status: StatusCode, body: &J) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        )],
        bytes,
    )
        .into_response()
}

/// A REST error: a JSON array of `{message, errorCode[, fields]}`.
pub(crate) fn rest_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json(
        status,
        &J::Arr(vec![J::obj([
            ("message", J::Str(message.into())),
            ("errorCode", J::from(code)),
        ])]),
    )
}

pub(crate) fn rest_error_fields(
    status: StatusCode,
    code: &str,
    message: &str,
    fields: &[String],
) -> Response {
    json(
        status,
        &J::Arr(vec![J::obj([
            ("message", J::from(message)),
            ("errorCode", J::from(code)),
            (
                "fields",
                J::Arr(fields.iter().map(|f| J::from(f.as_str())).collect()),
            ),
        ])]),
    )
}

/// Why a request got no further than its session or the org's limit.
pub(crate) enum Denied {
    Session,
    Limit,
}

/// What a handler knows about the call it serves.
pub(crate) struct Ctx {
    pub(crate) user: Arc<str>,
    pub(crate) now: i64,
}

/// The org: its records, OAuth state, API usage and open query cursors.
pub struct World {
    pub(crate) tables: Vec<Table>,
    keys: HashMap<String, String>,
    /// Account id -> its Contacts and Opportunities (merge reparents them in O(children)).
    children: HashMap<Arc<str>, BTreeSet<Arc<str>>>,
    pub(crate) auth: oauth::Auth,
    pub(crate) api_used: u64,
    pub(crate) cursors: query::Cursors,
    last_ms: i64,
    /// The user the static session token acts as.
    pub(crate) admin: Arc<str>,
    /// Where every record write through the API is logged (see `records.rs`).
    pub(crate) writes: WriteLog,
    /// Fields deleted from the org's schema (object, field): describe no longer lists them.
    pub(crate) deleted_fields: std::collections::HashSet<(&'static str, String)>,
}

fn seed_ms() -> i64 {
    DateTime::parse_from_rfc3339(SEED_INSTANT)
        .map(|d| d.timestamp_millis())
        .unwrap_or(0)
}

impl World {
    /// Deletes a field from `object`'s schema (as an admin deleting a custom field):
    /// describe no longer lists it. False when there is none.
    pub fn delete_field(&mut self, object: &str, field: &str) -> bool {
        let Some((_, def)) = schema::object(object) else {
            return false;
        };
        let Some(i) = def.index(field) else {
            return false;
        };
        self.deleted_fields
            .insert((def.name, def.fields[i].name.to_string()))
    }

    /// Whether `field` of `object` is still in the org's schema.
    pub(crate) fn has_field(&self, object: &'static str, field: &str) -> bool {
        !self.deleted_fields.contains(&(object, field.to_string()))
    }

    pub fn seed(data: &Dataset, _config: &SandboxConfig) -> Self {
        let mut w = World {
            tables: schema::objects().iter().map(|_| Table::default()).collect(),
            keys: HashMap::new(),
            children: HashMap::new(),
            auth: oauth::Auth::default(),
            api_used: 0,
            cursors: query::Cursors::default(),
            last_ms: seed_ms(),
            admin: Arc::from(""),
            writes: WriteLog::default(),
            deleted_fields: Default::default(),
        };
        let base = seed_ms();
        let at = |secs_ago: u64| base - i64::try_from(secs_ago.saturating_mul(1000)).unwrap_or(0);

        let fallback = [
            ("Ada", "Admin", "ada.admin@example.com", true),
            ("Sam", "Seller", "sam.seller@example.com", true),
            ("Ina", "Inactive", "ina.inactive@example.com", false),
        ];
        let users: Vec<(String, String, String, bool, bool)> = if data.users.is_empty() {
            fallback
                .iter()
                .enumerate()
                .map(|(i, (f, l, e, a))| (f.to_string(), l.to_string(), e.to_string(), *a, i == 0))
                .collect()
        } else {
            data.users
                .iter()
                .map(|u| {
                    (
                        u.first_name.clone(),
                        u.last_name.clone(),
                        u.email.clone(),
                        u.active,
                        u.admin,
                    )
                })
                .collect()
        };
        let mut user_ids: Vec<Arc<str>> = Vec::new();
        for (i, (first, last, email, active, _)) in users.iter().enumerate() {
            let mut row = w.blank(USER);
            let alias: String = first
                .chars()
                .take(1)
                .chain(last.chars().take(4))
                .collect::<String>()
                .to_lowercase();
            w.set(&mut row, USER, "Username", Val::s(email.to_lowercase()));
            w.set(&mut row, USER, "FirstName", Val::s(first));
            w.set(&mut row, USER, "LastName", Val::s(last));
            w.set(&mut row, USER, "Alias", Val::s(alias));
            w.set(&mut row, USER, "Email", Val::s(email));
            w.set(&mut row, USER, "IsActive", Val::Bool(*active));
            let t = Val::Time(at(86_400 * 400 + i as u64));
            for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
                w.set(&mut row, USER, f, t.clone());
            }
            derive_name(USER, &mut row);
            user_ids.push(w.insert(USER, row));
        }
        // The static session acts as the admin (else the first active user).
        let active_admin = users
            .iter()
            .zip(&user_ids)
            .find(|((.., active, admin), _)| *active && *admin);
        let first_active = users
            .iter()
            .zip(&user_ids)
            .find(|((.., active, _), _)| *active);
        w.admin = active_admin
            .or(first_active)
            .map(|(_, id)| id.clone())
            .or_else(|| user_ids.first().cloned())
            .unwrap_or_else(|| Arc::from(""));
        let owner = |i: usize| -> Val {
            match user_ids.get(i).or(user_ids.first()) {
                Some(id) => Val::Str(id.clone()),
                None => Val::Null,
            }
        };

        let mut account_by_key: HashMap<&str, Arc<str>> = HashMap::new();
        let mut account_by_name: HashMap<String, (Arc<str>, String)> = HashMap::new();
        for c in &data.companies {
            let mut row = w.blank(ACCOUNT);
            let name = c
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "[not provided]".into());
            w.set(&mut row, ACCOUNT, "Name", Val::s(&name));
            w.set(&mut row, ACCOUNT, "Website", Val::opt(c.domain.as_ref()));
            w.set(&mut row, ACCOUNT, "Phone", Val::opt(c.phone.as_ref()));
            w.set(&mut row, ACCOUNT, "BillingCity", Val::opt(c.city.as_ref()));
            w.set(
                &mut row,
                ACCOUNT,
                "BillingState",
                Val::opt(c.state.as_ref()),
            );
            w.set(
                &mut row,
                ACCOUNT,
                "BillingCountry",
                Val::opt(c.country.as_ref()),
            );
            w.set(&mut row, ACCOUNT, "Industry", Val::opt(c.industry.as_ref()));
            w.stamp_seeded(&mut row, ACCOUNT, owner(c.owner), at(c.created_secs_ago));
            let id = w.insert(ACCOUNT, row);
            w.keys.insert(c.key.clone(), id.to_string());
            account_by_key.insert(c.key.as_str(), id.clone());
            account_by_name
                .entry(name.to_lowercase())
                .or_insert((id, name));
        }
        // A person's `company` is a company key when the generator links them, else the
        // company's name as typed on the record.
        let account_of = |company: Option<&String>| -> Option<Arc<str>> {
            let c = company?;
            account_by_key.get(c.as_str()).cloned().or_else(|| {
                account_by_name
                    .get(&c.trim().to_lowercase())
                    .map(|(id, _)| id.clone())
            })
        };
        let company_name = |company: Option<&String>| -> Option<String> {
            let c = company?;
            match account_by_key.get(c.as_str()) {
                Some(id) => data
                    .companies
                    .iter()
                    .find(|co| co.key == *c)
                    .and_then(|co| co.name.clone())
                    .or_else(|| {
                        account_by_name
                            .values()
                            .find(|(i, _)| i == id)
                            .map(|(_, n)| n.clone())
                    }),
                None => Some(c.clone()),
            }
        };

        for p in &data.people {
            let mut row = w.blank(CONTACT);
            w.set(
                &mut row,
                CONTACT,
                "FirstName",
                Val::opt(p.first_name.as_ref()),
            );
            let last = p
                .last_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "[not provided]".into());
            w.set(&mut row, CONTACT, "LastName", Val::s(last));
            w.set(&mut row, CONTACT, "Email", Val::opt(p.email.as_ref()));
            w.set(&mut row, CONTACT, "Phone", Val::opt(p.phone.as_ref()));
            w.set(&mut row, CONTACT, "Title", Val::opt(p.job_title.as_ref()));
            w.set(&mut row, CONTACT, "MailingCity", Val::opt(p.city.as_ref()));
            w.set(
                &mut row,
                CONTACT,
                "MailingStreet",
                Val::opt(p.address.as_ref()),
            );
            w.set(
                &mut row,
                CONTACT,
                "MailingPostalCode",
                Val::opt(p.postcode.as_ref()),
            );
            w.set(
                &mut row,
                CONTACT,
                "Birthdate",
                Val::opt(p.date_of_birth.as_ref()),
            );
            w.set(
                &mut row,
                CONTACT,
                "MailingState",
                Val::opt(p.state.as_ref()),
            );
            w.set(
                &mut row,
                CONTACT,
                "MailingCountry",
                Val::opt(p.country.as_ref()),
            );
            if let Some(acc) = account_of(p.company.as_ref()) {
                w.set(&mut row, CONTACT, "AccountId", Val::Str(acc));
            }
            derive_name(CONTACT, &mut row);
            w.stamp_seeded(&mut row, CONTACT, owner(p.owner), at(p.created_secs_ago));
            let id = w.insert(CONTACT, row);
            w.keys.insert(p.key.clone(), id.to_string());
        }

        for p in &data.leads {
            let mut row = w.blank(LEAD);
            w.set(&mut row, LEAD, "FirstName", Val::opt(p.first_name.as_ref()));
            let last = p
                .last_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "[not provided]".into());
            w.set(&mut row, LEAD, "LastName", Val::s(last));
            let company = company_name(p.company.as_ref())
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| "[not provided]".into());
            w.set(&mut row, LEAD, "Company", Val::s(company));
            w.set(&mut row, LEAD, "Email", Val::opt(p.email.as_ref()));
            w.set(&mut row, LEAD, "Phone", Val::opt(p.phone.as_ref()));
            w.set(&mut row, LEAD, "Title", Val::opt(p.job_title.as_ref()));
            w.set(&mut row, LEAD, "Street", Val::opt(p.address.as_ref()));
            w.set(&mut row, LEAD, "City", Val::opt(p.city.as_ref()));
            w.set(&mut row, LEAD, "PostalCode", Val::opt(p.postcode.as_ref()));
            w.set(&mut row, LEAD, "State", Val::opt(p.state.as_ref()));
            w.set(&mut row, LEAD, "Country", Val::opt(p.country.as_ref()));
            derive_name(LEAD, &mut row);
            w.stamp_seeded(&mut row, LEAD, owner(p.owner), at(p.created_secs_ago));
            let id = w.insert(LEAD, row);
            w.keys.insert(p.key.clone(), id.to_string());
        }

        for d in &data.deals {
            let mut row = w.blank(OPPORTUNITY);
            w.set(&mut row, OPPORTUNITY, "Name", Val::s(&d.name));
            if let Ok(amount) = d.amount.trim().parse::<f64>() {
                w.set(&mut row, OPPORTUNITY, "Amount", Val::Num(amount));
            }
            w.set(
                &mut row,
                OPPORTUNITY,
                "StageName",
                Val::s(stage_name(&d.stage)),
            );
            w.set(&mut row, OPPORTUNITY, "CloseDate", Val::s(&d.close_date));
            if let Some(acc) = d.company.as_deref().and_then(|k| account_by_key.get(k)) {
                w.set(&mut row, OPPORTUNITY, "AccountId", Val::Str(acc.clone()));
            }
            w.stamp_seeded(
                &mut row,
                OPPORTUNITY,
                owner(d.owner),
                at(d.created_secs_ago),
            );
            let id = w.insert(OPPORTUNITY, row);
            w.keys.insert(d.key.clone(), id.to_string());
        }
        w
    }

    /// The CRM id the generator's record `key` was given.
    pub fn id_of_key(&self, key: &str) -> Option<String> {
        self.keys.get(key).cloned()
    }

    /// Every issued access token stops working (refresh tokens still do).
    pub fn expire_tokens(&mut self) {
        self.auth.expire_access();
    }

    /// Logs every record write through the API to `log` from now on.
    pub(crate) fn log_writes_to(&mut self, log: &WriteLog) {
        self.writes = log.clone();
    }

    /// Sets `User.IsActive` of the user with this email; false when there is none.
    pub fn set_user_active(&mut self, email: &str, active: bool) -> bool {
        let def = schema::def(USER);
        let (Some(ei), Some(ai)) = (def.index("Email"), def.index("IsActive")) else {
            return false;
        };
        let Some(table) = self.tables.get_mut(USER) else {
            return false;
        };
        let mut found = false;
        for row in table.rows.values_mut() {
            if matches!(row.get(ei), Some(Val::Str(e)) if e.eq_ignore_ascii_case(email)) {
                row[ai] = Val::Bool(active);
                found = true;
            }
        }
        found
    }

    /// A record with every field null except the defaults Salesforce sets.
    pub(crate) fn blank(&self, table: usize) -> Row {
        let def = schema::def(table);
        def.fields
            .iter()
            .map(|f| match (f.ty, f.default_value) {
                (schema::FieldType::Boolean, _) => Val::Bool(false),
                (_, Some(d)) => Val::s(d),
                _ => Val::Null,
            })
            .collect()
    }

    pub(crate) fn set(&self, row: &mut Row, table: usize, field: &str, v: Val) {
        set(row, table, field, v);
    }

    fn stamp_seeded(&self, row: &mut Row, table: usize, owner: Val, at: i64) {
        set(row, table, "OwnerId", owner.clone());
        set(row, table, "CreatedById", owner.clone());
        set(row, table, "LastModifiedById", owner);
        for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            set(row, table, f, Val::Time(at));
        }
    }

    pub(crate) fn row(&self, table: usize, id: &str) -> Option<&Row> {
        self.tables.get(table)?.rows.get(id)
    }

    /// The live or deleted record an id names, whichever object it belongs to.
    pub(crate) fn locate(&self, id18: &str) -> Option<(usize, Arc<str>, &Row)> {
        let (t, _) = schema::object_of_id(id18)?;
        let (k, row) = self.tables.get(t)?.rows.get_key_value(id18)?;
        Some((t, k.clone(), row))
    }

    /// Stores a new record under a fresh id (written into its `Id` field) and returns the id.
    /// Not logged: API writes go through `create`, `write` and `delete` (records.rs).
    pub(crate) fn insert(&mut self, table: usize, mut row: Row) -> Arc<str> {
        let def = schema::def(table);
        let Some(t) = self.tables.get_mut(table) else {
            return Arc::from("");
        };
        let id: Arc<str> = Arc::from(ids::make(def.key_prefix, ID_COUNTER_START + t.next));
        t.next += 1;
        if let Some(slot) = row.get_mut(0) {
            *slot = Val::Str(id.clone());
        }
        self.put(table, id.clone(), row);
        id
    }

    /// Writes a record, keeping the account -> children index in step. Not logged (seeding,
    /// rollbacks); API writes go through `create`, `write` and `delete` (records.rs).
    pub(crate) fn put(&mut self, table: usize, id: Arc<str>, row: Row) {
        if table == CONTACT || table == OPPORTUNITY {
            let ix = schema::def(table).index("AccountId");
            let new = ix
                .and_then(|i| row.get(i))
                .and_then(Val::as_str)
                .map(Arc::<str>::from);
            let old = self
                .row(table, &id)
                .and_then(|r| ix.and_then(|i| r.get(i)))
                .and_then(Val::as_str)
                .map(Arc::<str>::from);
            if old != new {
                if let Some(o) = old
                    && let Some(set) = self.children.get_mut(&o)
                {
                    set.remove(&id);
                }
                if let Some(n) = new {
                    self.children.entry(n).or_default().insert(id.clone());
                }
            }
        }
        if let Some(t) = self.tables.get_mut(table) {
            t.rows.insert(id, row);
        }
    }

    pub(crate) fn children_of(&self, account: &str) -> Vec<Arc<str>> {
        self.children
            .get(account)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The time of a write: never earlier than the seeded data, never repeating.
    pub(crate) fn tick(&mut self) -> i64 {
        let now = Utc::now()
            .timestamp_millis()
            .max(seed_ms() + 1000)
            .max(self.last_ms + 1);
        self.last_ms = now;
        now
    }

    /// Checks the session and the org's daily allowance, and counts the call.
    pub(crate) fn gate(
        &mut self,
        token: Option<&str>,
        config: &SandboxConfig,
    ) -> Result<Arc<str>, Denied> {
        let user = token
            .and_then(|t| {
                self.auth
                    .session_user(t, config.salesforce.session_ttl_secs, &self.admin)
            })
            .ok_or(Denied::Session)?;
        if self.api_used >= config.salesforce.daily {
            return Err(Denied::Limit);
        }
        self.api_used += 1;
        Ok(user)
    }

    pub(crate) fn user_active(&self, id: &str) -> bool {
        self.row(USER, id)
            .map(|r| matches!(get(r, USER, "IsActive"), Val::Bool(true)))
            .unwrap_or(false)
    }
}

/// A field of a row by name (Null when the object has no such field).
pub(crate) fn get<'a>(row: &'a Row, table: usize, field: &str) -> &'a Val {
    schema::def(table)
        .index(field)
        .and_then(|i| row.get(i))
        .unwrap_or(&Val::Null)
}

pub(crate) fn set(row: &mut Row, table: usize, field: &str, v: Val) {
    if let Some(slot) = schema::def(table).index(field).and_then(|i| row.get_mut(i)) {
        *slot = v;
    }
}

/// The read-only compound `Name` of Contacts, Leads and Users: "First Last".
pub(crate) fn derive_name(table: usize, row: &mut Row) {
    if !matches!(table, CONTACT | LEAD | USER) {
        return;
    }
    let first = get(row, table, "FirstName")
        .as_str()
        .unwrap_or("")
        .trim()
        .to_string();
    let last = get(row, table, "LastName")
        .as_str()
        .unwrap_or("")
        .trim()
        .to_string();
    let name = format!("{first} {last}").trim().to_string();
    set(
        row,
        table,
        "Name",
        if name.is_empty() {
            Val::Null
        } else {
            Val::s(name)
        },
    );
}

/// A generator stage (HubSpot's pipeline ids or Salesforce names) as a StageName value.
fn stage_name(stage: &str) -> String {
    if let Some(s) = schema::STAGES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(stage))
    {
        return s.to_string();
    }
    match stage.to_ascii_lowercase().as_str() {
        "appointmentscheduled" => "Prospecting",
        "qualifiedtobuy" => "Qualification",
        "presentationscheduled" => "Needs Analysis",
        "decisionmakerboughtin" => "Id. Decision Makers",
        "contractsent" => "Negotiation/Review",
        "closedwon" => "Closed Won",
        "closedlost" => "Closed Lost",
        _ => stage,
    }
    .to_string()
}

/// The session id of a request: `Authorization: Bearer …` (or the older `OAuth …`).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then_some(token.trim())
}

/// Adds `Sforce-Limit-Info` with the org's current usage.
pub(crate) fn with_limit_info(state: &AppState, mut resp: Response) -> Response {
    let used = state.salesforce().api_used;
    let max = state.config().salesforce.daily;
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        resp.headers_mut().insert("sforce-limit-info", v);
    }
    resp
}

pub fn routes() -> Router<Arc<AppState>> {
    let org = Router::new()
        .merge(oauth::routes())
        .merge(rest::routes())
        .merge(soap::routes())
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::method_not_allowed);
    // Salesforce ignores one trailing slash on any resource (`/sobjects/Contact/`, the
    // docs' own `/query/?q=`): a path that matches nothing is tried once without it.
    let without_slash = org.clone();
    org.fallback(
        move |State(state): State<Arc<AppState>>, req: axum::extract::Request| {
            let router = without_slash.clone();
            async move {
                let path = req.uri().path();
                let Some(trimmed) = path.strip_suffix('/').filter(|p| !p.ends_with('/')) else {
                    return rest::not_found().await;
                };
                let uri = match req.uri().query() {
                    Some(q) => format!("{trimmed}?{q}"),
                    None => trimmed.to_string(),
                };
                let Ok(uri) = uri.parse::<axum::http::Uri>() else {
                    return rest::not_found().await;
                };
                let (mut parts, body) = req.into_parts();
                parts.uri = uri;
                let req = axum::extract::Request::from_parts(parts, body);
                match tower::ServiceExt::oneshot(router.with_state(state), req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                }
            }
        },
    )
}

/// Salesforce's error array for a 5xx (injected faults use it too).
pub fn server_error(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (error_code, message) = match code {
        503 => (
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable. Please try again later.".to_string(),
        ),
        _ => (
            "UNKNOWN_EXCEPTION",
            format!(
                "An unexpected error occurred. Please include this ErrorId if you contact support: \
                 {}-{} ({})",
                1_234_567_890 + u64::from(code),
                4242,
                -1_729_318_426
            ),
        ),
    };
    rest_error(status, error_code, message)
}
