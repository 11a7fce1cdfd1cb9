//! Record writes as the org validates them: unknown and read-only fields, value types,
//! required fields, lookups, deleted and converted records; shared by REST, collections and SOAP.
//! Every write the API applies goes through `create`, `write` or `delete` here, which
//! append to the write log.

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};
use std::sync::Arc;

use super::schema::{self, FieldDef, FieldType, LEAD, USER};
use super::{Ctx, J, Row, Val, World, derive_name, get, ids, set};
use crate::writes::{self, Op};

/// A per-record failure: `statusCode`, message and the fields concerned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecError {
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl RecError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub(crate) fn on(code: &'static str, message: impl Into<String>, fields: Vec<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields,
        }
    }

    /// As an element of a collection result's `errors`.
    pub(crate) fn to_j(&self) -> J {
        J::obj([
            ("statusCode", J::from(self.code)),
            ("message", J::from(self.message.as_str())),
            (
                "fields",
                J::Arr(self.fields.iter().map(|f| J::from(f.as_str())).collect()),
            ),
        ])
    }
}

pub(crate) const ROLLED_BACK: &str = "Record rolled back because not all records were valid and the request was using AllOrNone header";

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(b) if *b => "VALUE_TRUE",
        Value::Bool(_) => "VALUE_FALSE",
        Value::Null => "VALUE_NULL",
    }
}

impl World {
    /// Resolves a record id for update/delete: malformed, unknown, wrong type or deleted ids
    /// fail as Salesforce reports them.
    pub(crate) fn find(
        &self,
        table: Option<usize>,
        raw: &str,
    ) -> Result<(usize, Arc<str>), RecError> {
        let id = ids::to18(raw)
            .ok_or_else(|| RecError::new("MALFORMED_ID", format!("malformed id {raw}")))?;
        let Some((t, key, row)) = self.locate(&id) else {
            return Err(RecError::new(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
            ));
        };
        if let Some(want) = table
            && want != t
        {
            return Err(RecError::new(
                "MALFORMED_ID",
                format!(
                    "{} ID: id value of incorrect type: {raw}",
                    schema::def(want).label
                ),
            ));
        }
        if matches!(get(row, t, "IsDeleted"), Val::Bool(true)) {
            return Err(RecError::new("ENTITY_IS_DELETED", "entity is deleted"));
        }
        Ok((t, key))
    }

    fn coerce(&self, f: &FieldDef, v: &Value) -> Result<Val, RecError> {
        let parse_err = |kind: &str| {
            RecError::on(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of {kind} from {} value {v} or request may be missing a required field",
                    type_name(v)
                ),
                vec![f.name.to_string()],
            )
        };
        if v.is_null() {
            return Ok(Val::Null);
        }
        let text = match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match f.ty {
            ty if ty.is_text() => {
                let s = text.ok_or_else(|| parse_err("string"))?;
                if s.chars().count() > f.length as usize {
                    return Err(RecError::on(
                        "STRING_TOO_LONG",
                        format!(
                            "{}: data value too large: {s} (max length={})",
                            f.label, f.length
                        ),
                        vec![f.name.to_string()],
                    ));
                }
                if ty == FieldType::Email && !s.is_empty() && !is_email(&s) {
                    return Err(RecError::on(
                        "INVALID_EMAIL_ADDRESS",
                        format!("{}: invalid email address: {s}", f.label),
                        vec![f.name.to_string()],
                    ));
                }
                Ok(if s.is_empty() { Val::Null } else { Val::s(s) })
            }
            FieldType::Id | FieldType::Reference => {
                let s = text.ok_or_else(|| parse_err("reference"))?;
                if s.is_empty() {
                    return Ok(Val::Null);
                }
                let wrong = |code| {
                    RecError::on(
                        code,
                        format!("{}: id value of incorrect type: {s}", f.label),
                        vec![f.name.to_string()],
                    )
                };
                let id = ids::to18(&s).ok_or_else(|| wrong("MALFORMED_ID"))?;
                let Some((t, key, row)) = self.locate(&id) else {
                    return Err(
                        if f.reference_to.iter().any(|o| {
                            schema::object(o)
                                .is_some_and(|(_, d)| d.key_prefix == ids::key_prefix(&id))
                        }) {
                            RecError::on(
                                "INVALID_CROSS_REFERENCE_KEY",
                                format!("invalid cross reference id: {}", f.name),
                                vec![f.name.to_string()],
                            )
                        } else {
                            wrong("FIELD_INTEGRITY_EXCEPTION")
                        },
                    );
                };
                if !f.reference_to.contains(&schema::def(t).name) {
                    return Err(wrong("FIELD_INTEGRITY_EXCEPTION"));
                }
                if matches!(get(row, t, "IsDeleted"), Val::Bool(true)) {
                    return Err(RecError::on(
                        "ENTITY_IS_DELETED",
                        "entity is deleted",
                        vec![f.name.to_string()],
                    ));
                }
                if t == USER && f.name == "OwnerId" && !self.user_active(&key) {
                    return Err(RecError::on(
                        "INACTIVE_OWNER_OR_USER",
                        format!(
                            "operation performed with inactive user [{key}] as owner of record"
                        ),
                        vec![f.name.to_string()],
                    ));
                }
                Ok(Val::Str(key))
            }
            FieldType::Currency | FieldType::Double => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                    _ => None,
                };
                n.map(Val::Num).ok_or_else(|| parse_err("double"))
            }
            FieldType::Boolean => match v {
                Value::Bool(b) => Ok(Val::Bool(*b)),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Val::Bool(true)),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Val::Bool(false)),
                _ => Err(parse_err("boolean")),
            },
            FieldType::Date => {
                let s = text.ok_or_else(|| parse_err("date"))?;
                let day = s.get(..10).unwrap_or(&s);
                NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .map(|d| Val::s(d.format("%Y-%m-%d").to_string()))
                    .map_err(|_| parse_err("date"))
            }
            _ => {
                let s = text.ok_or_else(|| parse_err("datetime"))?;
                DateTime::parse_from_rfc3339(&s)
                    .or_else(|_| DateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f%z"))
                    .map(|d| Val::Time(d.timestamp_millis()))
                    .map_err(|_| parse_err("datetime"))
            }
        }
    }

    /// Validates `fields` for a create (`existing` None) or an update, and applies them to `row`.
    fn apply_fields(
        &self,
        table: usize,
        row: &mut Row,
        fields: &Map<String, Value>,
        creating: bool,
    ) -> Result<(), RecError> {
        let def = schema::def(table);
        let mut resolved: Vec<(usize, &Value)> = Vec::new();
        let mut read_only: Vec<String> = Vec::new();
        for (k, v) in fields {
            if k == "attributes" {
                continue;
            }
            if k.eq_ignore_ascii_case("id") {
                if creating {
                    return Err(RecError::on(
                        "INVALID_FIELD",
                        "cannot specify Id in an insert call",
                        vec!["Id".into()],
                    ));
                }
                continue;
            }
            let Some(i) = def.index(k) else {
                return Err(RecError::new(
                    "INVALID_FIELD",
                    format!("No such column '{k}' on sobject of type {}", def.name),
                ));
            };
            let f = &def.fields[i];
            if (creating && !f.createable) || (!creating && !f.updateable) {
                read_only.push(f.name.to_string());
            }
            resolved.push((i, v));
        }
        if !read_only.is_empty() {
            return Err(RecError::on(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify \
                     that it is read/write for your profile or permission set.",
                    read_only.join(", ")
                ),
                read_only,
            ));
        }
        for (i, v) in resolved {
            let val = self.coerce(&def.fields[i], v)?;
            if let Some(slot) = row.get_mut(i) {
                *slot = val;
            }
        }
        let missing: Vec<String> = def
            .fields
            .iter()
            .zip(row.iter())
            .filter(|(f, v)| f.required_on_create() && v.is_null())
            .map(|(f, _)| f.name.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(RecError::on(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
                missing,
            ));
        }
        Ok(())
    }

    /// A new record built from `fields`, not yet stored (its Id is set by `insert`).
    pub(crate) fn prepare_create(
        &self,
        table: usize,
        fields: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<Row, RecError> {
        let def = schema::def(table);
        if !def.createable {
            return Err(RecError::new(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                format!("entity type cannot be inserted: {}", def.name),
            ));
        }
        let mut row = self.blank(table);
        set(&mut row, table, "OwnerId", Val::Str(ctx.user.clone()));
        self.apply_fields(table, &mut row, fields, true)?;
        set(&mut row, table, "CreatedById", Val::Str(ctx.user.clone()));
        set(
            &mut row,
            table,
            "LastModifiedById",
            Val::Str(ctx.user.clone()),
        );
        for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            set(&mut row, table, f, Val::Time(ctx.now));
        }
        derive_name(table, &mut row);
        Ok(row)
    }

    /// The record `id` with `fields` applied, not yet stored.
    pub(crate) fn prepare_update(
        &self,
        table: Option<usize>,
        raw_id: &str,
        fields: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(usize, Arc<str>, Row), RecError> {
        let (t, id) = self.find(table, raw_id)?;
        let def = schema::def(t);
        if !def.updateable {
            return Err(RecError::new(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                format!("entity type cannot be updated: {}", def.name),
            ));
        }
        let mut row = self.row(t, &id).cloned().unwrap_or_default();
        if t == LEAD && matches!(get(&row, t, "IsConverted"), Val::Bool(true)) {
            return Err(RecError::new(
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
            ));
        }
        self.apply_fields(t, &mut row, fields, false)?;
        self.touch(t, &mut row, ctx);
        derive_name(t, &mut row);
        Ok((t, id, row))
    }

    /// Stamps a modification by the caller.
    pub(crate) fn touch(&self, table: usize, row: &mut Row, ctx: &Ctx) {
        set(row, table, "LastModifiedById", Val::Str(ctx.user.clone()));
        set(row, table, "LastModifiedDate", Val::Time(ctx.now));
        set(row, table, "SystemModstamp", Val::Time(ctx.now));
    }

    /// Checks that `raw_id` can be deleted.
    pub(crate) fn prepare_delete(
        &self,
        table: Option<usize>,
        raw_id: &str,
    ) -> Result<(usize, Arc<str>), RecError> {
        let (t, id) = self.find(table, raw_id)?;
        if !schema::def(t).deletable {
            return Err(RecError::new(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                format!("entity type cannot be deleted: {}", schema::def(t).name),
            ));
        }
        Ok((t, id))
    }

    fn log(&self, table: usize, id: &str, op: Op) {
        self.writes
            .record(writes::SALESFORCE, schema::def(table).name, id, op);
    }

    /// Stores a new record (logged as a create) and returns its id.
    pub(crate) fn create(&mut self, table: usize, row: Row) -> Arc<str> {
        let id = self.insert(table, row);
        self.log(table, &id, Op::Create);
        id
    }

    /// Stores a changed record, logged as `op` (update, merge, convert or reparent).
    pub(crate) fn write(&mut self, table: usize, id: Arc<str>, row: Row, op: Op) {
        self.log(table, &id, op);
        self.put(table, id, row);
    }

    /// Soft-deletes a record (it stays visible to queryAll), optionally as a merge loser;
    /// logged as a delete, or a merge for a loser.
    pub(crate) fn delete(
        &mut self,
        table: usize,
        id: &Arc<str>,
        master: Option<&Arc<str>>,
        ctx: &Ctx,
    ) {
        let Some(mut row) = self.row(table, id).cloned() else {
            return;
        };
        set(&mut row, table, "IsDeleted", Val::Bool(true));
        if let Some(m) = master {
            set(&mut row, table, "MasterRecordId", Val::Str(m.clone()));
        }
        self.touch(table, &mut row, ctx);
        self.put(table, id.clone(), row);
        let op = if master.is_some() {
            Op::Merge
        } else {
            Op::Delete
        };
        self.log(table, id, op);
    }

    /// Removes a record outright (undoing a create in an all-or-none rollback).
    pub(crate) fn remove(&mut self, table: usize, id: &Arc<str>) {
        let mut blank = self.row(table, id).cloned().unwrap_or_default();
        // Clearing the lookup first keeps the account -> children index in step.
        set(&mut blank, table, "AccountId", Val::Null);
        self.put(table, id.clone(), blank);
        if let Some(t) = self.tables.get_mut(table) {
            t.rows.remove(id);
        }
    }
}
