//! The CRM's schema as Steward uses it: the objects an account's CRM offers and each
//! object's fields, cached per account for a few minutes (a warm Lambda or `steward serve`
//! describes an object once per `SCHEMA_TTL`), for the console's field pickers and for
//! checking every config's names at the door (template save, `POST /runs`).

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::app::{UsesClock, UsesCrm};
use crate::crm::{Crm, CrmKind, ObjectSchema, Record};
use crate::error::{Error, FieldError, Result};
use crate::identity::Principal;
use crate::identity::connections::Slot;
use crate::modules::ModuleConfig;
use crate::modules::fields::all_of;
use crate::modules::grid::CellEdit;

/// How long a described object is reused.
pub const SCHEMA_TTL: chrono::Duration = chrono::Duration::minutes(5);

/// `(account, object)`.
type Key = (String, String);
/// A described object and when it was described.
type Entry = (DateTime<Utc>, Arc<ObjectSchema>);

/// Described objects per `(account, object)`, each with when it was described.
#[derive(Default)]
pub struct SchemaCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl SchemaCache {
    fn fresh(&self, key: &Key, now: DateTime<Utc>) -> Option<Arc<ObjectSchema>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| now - *at < SCHEMA_TTL && *at <= now)
            .map(|(_, s)| s.clone())
    }

    /// Keeps a schema just described elsewhere (the runs worker describes afresh).
    pub fn remember(&self, account_id: &AccountId, schema: ObjectSchema, now: DateTime<Utc>) {
        let key = (account_id.to_string(), schema.object.clone());
        self.keep(key, now, Arc::new(schema));
    }

    fn keep(&self, key: Key, now: DateTime<Utc>, schema: Arc<ObjectSchema>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Expired entries go when another is added: the map stays as small as the
        // accounts and objects used within one TTL.
        entries.retain(|_, (at, _)| now - *at < SCHEMA_TTL);
        entries.insert(key, (now, schema));
    }
}

/// One object the CRM offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CrmObject {
    /// The API name configs use (`contacts`, `Contact`).
    pub name: String,
    /// How people call it.
    pub label: String,
}

/// `GET /crm/objects`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CrmObjects {
    /// The objects Steward's modules can run on, in the CRM's order.
    pub objects: Vec<CrmObject>,
}

/// The CRM as the signed-in member's own connection (as their runs act).
pub async fn crm_of(s: &impl UsesCrm, who: &Principal) -> Result<Arc<dyn Crm>> {
    s.open_crm(&who.account_id, Slot::User(&who.user_id)).await
}

fn label_of(kind: CrmKind, name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    match kind {
        CrmKind::HubSpot => format!("{}{}", first.unwrap_or_default(), chars.as_str()),
        _ => name.to_string(),
    }
}

/// The objects the CRM offers, or a 404 naming them when `object` is not one.
fn offered(crm: &dyn Crm, object: &str) -> Result<()> {
    let objects = crm.objects();
    if objects.contains(&object) {
        return Ok(());
    }
    Err(Error::NotFound(format!(
        "the CRM object `{object}` (it has {})",
        all_of(objects)
    )))
}

/// The object's schema, described at most once per `SCHEMA_TTL` for the account.
pub async fn describe(
    s: &(impl UsesCrm + UsesClock),
    account_id: &AccountId,
    crm: &dyn Crm,
    object: &str,
) -> Result<Arc<ObjectSchema>> {
    offered(crm, object)?;
    let key = (account_id.to_string(), object.to_string());
    if let Some(schema) = s.schemas().fresh(&key, s.clock().now()) {
        return Ok(schema);
    }
    let schema = Arc::new(crm.describe(object).await?);
    s.schemas().keep(key, s.clock().now(), schema.clone());
    Ok(schema)
}

/// `GET /crm/objects`.
pub async fn objects(s: &impl UsesCrm, who: &Principal) -> Result<CrmObjects> {
    let crm = crm_of(s, who).await?;
    Ok(CrmObjects {
        objects: crm
            .objects()
            .iter()
            .map(|o| CrmObject {
                name: o.to_string(),
                label: label_of(crm.kind(), o),
            })
            .collect(),
    })
}

/// `GET /crm/objects/{object}/fields`.
pub async fn fields(
    s: &(impl UsesCrm + UsesClock),
    who: &Principal,
    object: &str,
) -> Result<ObjectSchema> {
    let crm = crm_of(s, who).await?;
    Ok(describe(s, &who.account_id, crm.as_ref(), object)
        .await?
        .as_ref()
        .clone())
}

/// The config's problems against the CRM (`ModuleConfig::check_schema`), with `schema`
/// already described; empty when it fits.
pub fn problems(crm: &dyn Crm, config: &ModuleConfig, schema: &ObjectSchema) -> Vec<FieldError> {
    config.check_schema(crm.objects(), schema)
}

/// Checks `config` against the CRM (the cached schema): a 400 naming every problem, or
/// the object's schema.
pub async fn check_config(
    s: &(impl UsesCrm + UsesClock),
    account_id: &AccountId,
    crm: &dyn Crm,
    config: &ModuleConfig,
) -> Result<Arc<ObjectSchema>> {
    let objects = crm.objects();
    if let Some(e) = crate::modules::fields::check_object(config.object(), objects) {
        return Err(invalid(vec![e]).unwrap_or_else(|| Error::unexpected("no problem")));
    }
    let schema = describe(s, account_id, crm, config.object()).await?;
    match invalid(problems(crm, config, &schema)) {
        Some(e) => Err(e),
        None => Ok(schema),
    }
}

/// Checks a grid run's cell edits before it is queued: each edited record exists and is
/// among the grid's records (its filter holds for it), each value fits its field. The
/// records are read from the CRM (only the fields the filter and the edits need).
pub async fn check_grid_edits(
    crm: &dyn Crm,
    config: &ModuleConfig,
    schema: &ObjectSchema,
    edits: &[CellEdit],
) -> Result<()> {
    let ModuleConfig::Grid(grid) = config else {
        return Ok(());
    };
    let grid = grid
        .compile()
        .map_err(|e| invalid(e).unwrap_or_else(|| Error::unexpected("no problem")))?;
    let records = read_edited(crm, grid.config(), schema, edits).await?;
    match crate::modules::grid::check_edits(&grid, schema, &records, edits) {
        Ok(_) => Ok(()),
        Err(errors) => Err(invalid(errors).unwrap_or_else(|| Error::unexpected("no problem"))),
    }
}

/// The edited records, with the fields the edits and the grid's filter read (those the
/// object has: an edit naming another is refused by `check_edits`).
pub async fn read_edited(
    crm: &dyn Crm,
    grid: &crate::modules::grid::GridConfig,
    schema: &ObjectSchema,
    edits: &[CellEdit],
) -> crate::crm::CrmResult<Vec<Record>> {
    let mut ids: Vec<String> = Vec::new();
    let mut fields: Vec<String> = grid
        .filter
        .as_ref()
        .map(crate::modules::filter::Filter::fields)
        .unwrap_or_default();
    for e in edits {
        if !e.id.trim().is_empty() && !ids.contains(&e.id) {
            ids.push(e.id.clone());
        }
        if !e.field.trim().is_empty() && !fields.contains(&e.field) {
            fields.push(e.field.clone());
        }
    }
    fields.retain(|f| crate::modules::fields::find(schema, f).is_some());
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    crm.batch_read(&grid.object, &ids, &fields).await
}

/// `errors` as one 400 (`None` when there are none).
pub fn invalid(errors: Vec<FieldError>) -> Option<Error> {
    crate::modules::config::invalid(errors)
}
