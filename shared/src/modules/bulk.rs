//! Bulk edits: every record matching a filter gets the same actions (set, clear, copy a
//! field) or is archived. Record by record, so a run streams its plan.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::fields::{self, FieldUse};
use super::filter::{CompiledFilter, Filter, TextValue, check_field_name, push_unique};
use super::grid::check_value;
use super::{Action, Change, FieldChange, RecordEngine};
use crate::crm::values::FieldTypes;
use crate::crm::{ObjectSchema, Record};
use crate::error::FieldError;

/// A bulk module's config: `{"object", "filter"?, "actions": [..]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a bulk config: {\"object\", \"filter\", \"actions\"}"
)]
pub struct BulkConfig {
    pub object: String,
    /// Which records to change; absent means every record of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    pub actions: Vec<BulkAction>,
}

/// One action, written `{"set": {..}}`, `{"clear": {..}}`, `{"copy": {..}}` or
/// `{"archive": {..}}` (`delete` is accepted for archive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(transform = archive_alias)]
pub enum BulkAction {
    Set(SetAction),
    Clear(ClearAction),
    Copy(CopyAction),
    #[serde(alias = "delete")]
    Archive(ArchiveAction),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAction {
    pub field: String,
    /// Strings, numbers and booleans are all written as text.
    #[serde(with = "text_value")]
    #[schemars(with = "TextValue")]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearAction {
    pub field: String,
}

/// Copies `from` into `to`. An empty `from` leaves `to` as it is: copy never erases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyAction {
    pub from: String,
    pub to: String,
}

/// Archives (HubSpot) or deletes to the recycle bin (Salesforce) each matching record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveAction {
    /// Fields whose last values the audit keeps (with the filter's), for a restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
}

/// serde also reads `{"delete": {..}}` as archive (an alias schemars does not see): the
/// schema gets the same variant under that name.
fn archive_alias(schema: &mut schemars::Schema) {
    let Some(variants) = schema.get_mut("oneOf").and_then(|v| v.as_array_mut()) else {
        return;
    };
    let archive = variants.iter().find_map(|v| {
        let props = v.get("properties")?.as_object()?;
        let inner = props.get("archive")?.clone();
        let mut alias = v.clone();
        let obj = alias.as_object_mut()?;
        obj.insert("properties".into(), serde_json::json!({"delete": inner}));
        obj.insert("required".into(), serde_json::json!(["delete"]));
        obj.insert("description".into(), "Another name for `archive`.".into());
        Some(alias)
    });
    variants.extend(archive);
}

mod text_value {
    use super::TextValue;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        TextValue::deserialize(d).map(|t| t.0)
    }
}

impl BulkAction {
    /// The field this action writes, and the pointer to where the config names it.
    fn target(&self) -> Option<(&str, &'static str)> {
        match self {
            BulkAction::Set(a) => Some((&a.field, "set/field")),
            BulkAction::Clear(a) => Some((&a.field, "clear/field")),
            BulkAction::Copy(a) => Some((&a.to, "copy/to")),
            BulkAction::Archive(_) => None,
        }
    }
}

impl BulkConfig {
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Semantic problems, with pointers from `/config`.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.object.trim().is_empty() {
            errors.push(FieldError::new(
                "/config/object",
                "name the CRM object, such as contacts",
            ));
        }
        if let Some(f) = &self.filter {
            errors.extend(f.check("/config/filter"));
        }
        if self.actions.is_empty() {
            errors.push(FieldError::new(
                "/config/actions",
                "add at least one action (set, clear, copy or archive)",
            ));
        }
        let archive_at = self
            .actions
            .iter()
            .position(|a| matches!(a, BulkAction::Archive(_)));
        let mut targets: Vec<(&str, usize)> = Vec::new();
        for (i, action) in self.actions.iter().enumerate() {
            let at = |rest: &str| format!("/config/actions/{i}/{rest}");
            match action {
                BulkAction::Set(a) => {
                    check_field_name(&at("set/field"), &a.field, &mut errors);
                    if a.value.is_empty() {
                        errors.push(FieldError::new(
                            at("set/value"),
                            "the value is empty; use clear to empty a field",
                        ));
                    }
                }
                BulkAction::Clear(a) => check_field_name(&at("clear/field"), &a.field, &mut errors),
                BulkAction::Copy(a) => {
                    check_field_name(&at("copy/from"), &a.from, &mut errors);
                    check_field_name(&at("copy/to"), &a.to, &mut errors);
                    if a.from == a.to && !a.from.trim().is_empty() {
                        errors.push(FieldError::new(
                            at("copy/to"),
                            format!("copies `{}` onto itself", a.to),
                        ));
                    }
                }
                BulkAction::Archive(a) => {
                    if archive_at != Some(i) {
                        errors.push(FieldError::new(
                            format!("/config/actions/{i}"),
                            "archive appears more than once",
                        ));
                    } else if self.actions.len() > 1 {
                        errors.push(FieldError::new(
                            format!("/config/actions/{i}"),
                            "archive removes the record, so it cannot be combined with other actions",
                        ));
                    }
                    for (k, f) in a.keep.iter().enumerate() {
                        check_field_name(&at(&format!("archive/keep/{k}")), f, &mut errors);
                    }
                }
            }
            if let Some((field, rest)) = action.target() {
                match targets.iter().find(|(f, _)| *f == field) {
                    Some((_, first)) => errors.push(FieldError::new(
                        at(rest),
                        format!("`{field}` is already changed by action {first}"),
                    )),
                    None => targets.push((field, i)),
                }
            }
        }
        errors
    }

    /// Every field the config names, with its pointer, and whether a plan writes it.
    pub fn field_uses(&self) -> Vec<FieldUse> {
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            f.field_uses("/config/filter", &mut out);
        }
        for (i, action) in self.actions.iter().enumerate() {
            let at = |rest: &str| format!("/config/actions/{i}/{rest}");
            match action {
                BulkAction::Set(a) => out.push(FieldUse::written(at("set/field"), &a.field)),
                BulkAction::Clear(a) => out.push(FieldUse::written(at("clear/field"), &a.field)),
                BulkAction::Copy(a) => {
                    out.push(FieldUse::read(at("copy/from"), &a.from));
                    out.push(FieldUse::written(at("copy/to"), &a.to));
                }
                BulkAction::Archive(a) => {
                    for (k, f) in a.keep.iter().enumerate() {
                        out.push(FieldUse::read(at(&format!("archive/keep/{k}")), f));
                    }
                }
            }
        }
        out
    }

    /// Checks the config against the object's describe: the fields it names exist, those
    /// it writes are writable, and set values suit their field's type. Pointers from
    /// `/config`.
    pub fn check_schema(&self, schema: &ObjectSchema) -> Vec<FieldError> {
        let mut errors = fields::check_uses(&self.field_uses(), schema);
        for (i, action) in self.actions.iter().enumerate() {
            if let BulkAction::Set(a) = action
                && let Some(f) = fields::find(schema, &a.field)
                && f.writable
                && !a.value.is_empty()
                && let Err(detail) = check_value(f, &a.value)
            {
                errors.push(FieldError::new(
                    format!("/config/actions/{i}/set/value"),
                    detail,
                ));
            }
        }
        errors
    }

    /// The engine, or every problem `check` finds.
    pub fn engine(&self) -> Result<Box<dyn RecordEngine>, Vec<FieldError>> {
        Ok(Box::new(self.compile()?))
    }

    /// The typed engine (what `engine` boxes).
    pub fn compile(&self) -> Result<BulkEngine, Vec<FieldError>> {
        let errors = self.check();
        if !errors.is_empty() {
            return Err(errors);
        }
        let filter = self
            .filter
            .as_ref()
            .map(|f| f.compile("/config/filter"))
            .transpose()?;
        let filter_fields = filter
            .as_ref()
            .map(CompiledFilter::fields)
            .unwrap_or_default();
        let mut reads = filter_fields.clone();
        let mut columns = Vec::new();
        for action in &self.actions {
            match action {
                BulkAction::Set(a) => push_unique(&mut columns, &a.field),
                BulkAction::Clear(a) => push_unique(&mut columns, &a.field),
                BulkAction::Copy(a) => {
                    push_unique(&mut reads, &a.from);
                    push_unique(&mut columns, &a.to);
                }
                BulkAction::Archive(a) => {
                    for f in filter_fields.iter().chain(&a.keep) {
                        push_unique(&mut columns, f);
                    }
                }
            }
        }
        for c in &columns {
            push_unique(&mut reads, c);
        }
        Ok(BulkEngine {
            object: self.object.clone(),
            filter,
            actions: self.actions.clone(),
            reads,
            columns,
            types: FieldTypes::default(),
        })
    }
}

/// A checked bulk config, planning record by record.
#[derive(Debug, Clone)]
pub struct BulkEngine {
    object: String,
    filter: Option<CompiledFilter>,
    actions: Vec<BulkAction>,
    reads: Vec<String>,
    columns: Vec<String>,
    /// How the CRM stores each field's values: a record already holding what an action
    /// would write, as the CRM stores it, needs no change.
    types: FieldTypes,
}

impl BulkEngine {
    /// What the scan can ask the CRM to filter on (a superset; `plan` checks again).
    pub fn crm_filter(&self) -> Option<crate::crm::Filter> {
        self.filter.as_ref().and_then(CompiledFilter::to_crm)
    }
}

/// A value as the CRMs see it: empty text is no value.
fn value<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record
        .properties
        .get(field)
        .and_then(|v| v.as_deref())
        .filter(|v| !v.is_empty())
}

impl RecordEngine for BulkEngine {
    fn object(&self) -> &str {
        &self.object
    }

    fn reads(&self) -> Vec<String> {
        self.reads.clone()
    }

    fn columns(&self) -> Vec<String> {
        self.columns.clone()
    }

    fn compare_as(&mut self, types: FieldTypes) {
        self.types = types;
    }

    fn plan(&self, record: &Record) -> Option<Change> {
        if !self.filter.as_ref().is_none_or(|f| f.matches(record)) {
            return None;
        }
        if self
            .actions
            .iter()
            .any(|a| matches!(a, BulkAction::Archive(_)))
        {
            let fields = self
                .columns
                .iter()
                .filter_map(|f| {
                    value(record, f).map(|v| FieldChange {
                        field: f.clone(),
                        before: Some(v.to_string()),
                        after: None,
                    })
                })
                .collect();
            return Some(Change {
                id: Some(record.id.clone()),
                action: Action::Archive,
                fields,
                note: None,
            });
        }
        // Every action reads the record as scanned, so their order does not matter and two
        // copies can swap fields.
        let fields: Vec<FieldChange> = self
            .actions
            .iter()
            .filter_map(|action| {
                let (field, after) = match action {
                    BulkAction::Set(a) => (&a.field, Some(a.value.as_str())),
                    BulkAction::Clear(a) => (&a.field, None),
                    BulkAction::Copy(a) => (&a.to, Some(value(record, &a.from)?)),
                    BulkAction::Archive(_) => return None,
                };
                let before = value(record, field);
                (!self.types.same(field, before, after)).then(|| FieldChange {
                    field: field.clone(),
                    before: before.map(str::to_string),
                    after: after.map(str::to_string),
                })
            })
            .collect();
        (!fields.is_empty()).then(|| Change {
            id: Some(record.id.clone()),
            action: Action::Update,
            fields,
            note: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::{Field, FieldType};
    use proptest::prelude::*;
    use serde_json::json;

    fn rec(id: &str, props: &[(&str, Option<&str>)]) -> Record {
        Record {
            id: id.into(),
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            created_at: None,
            updated_at: None,
        }
    }

    fn config(v: serde_json::Value) -> BulkConfig {
        serde_json::from_value(v).expect("bulk config parses")
    }

    fn engine(v: serde_json::Value) -> BulkEngine {
        config(v).compile().expect("bulk config compiles")
    }

    fn fc(field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
        FieldChange {
            field: field.into(),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
        }
    }

    fn problems(v: serde_json::Value) -> Vec<String> {
        config(v)
            .check()
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    }

    #[test]
    fn set_changes_only_matching_records_whose_value_differs() {
        let e = engine(json!({
            "object": "contacts",
            "filter": {"field": "lifecyclestage", "op": "eq", "value": "lead"},
            "actions": [{"set": {"field": "lifecyclestage", "value": "customer"}}]
        }));
        let change = e
            .plan(&rec("1", &[("lifecyclestage", Some("Lead"))]))
            .expect("a change");
        assert_eq!(change.id.as_deref(), Some("1"));
        assert_eq!(change.action, Action::Update);
        assert_eq!(
            change.fields,
            vec![fc("lifecyclestage", Some("Lead"), Some("customer"))]
        );
        assert_eq!(
            e.plan(&rec("2", &[("lifecyclestage", Some("customer"))])),
            None
        );
        assert_eq!(e.plan(&rec("3", &[])), None);
        assert_eq!(e.reads(), vec!["lifecyclestage"]);
        assert_eq!(e.columns(), vec!["lifecyclestage"]);
    }

    #[test]
    fn a_set_the_crm_would_store_as_the_value_it_holds_changes_nothing() {
        let mut e = engine(json!({
            "object": "Opportunity",
            "actions": [{"set": {"field": "Amount", "value": "12000"}}]
        }));
        // Salesforce answers a number written as 12000 with 12000.0.
        let held = rec("1", &[("Amount", Some("12000.0"))]);
        assert!(e.plan(&held).is_some(), "as text, it differs");
        let schema = ObjectSchema {
            object: "Opportunity".into(),
            fields: vec![crate::crm::Field {
                name: "Amount".into(),
                label: "Amount".into(),
                field_type: FieldType::Number,
                writable: true,
                options: Vec::new(),
                unique: false,
            }],
        };
        e.compare_as(FieldTypes::of(&schema));
        assert_eq!(e.plan(&held), None);
        assert!(e.plan(&rec("2", &[("Amount", Some("9000.0"))])).is_some());
    }

    #[test]
    fn set_without_filter_reaches_every_record_but_skips_no_ops() {
        let e = engine(json!({
            "object": "deals",
            "actions": [
                {"set": {"field": "amount", "value": 100}},
                {"set": {"field": "closed", "value": true}}
            ]
        }));
        let change = e
            .plan(&rec("9", &[("amount", Some("100")), ("closed", None)]))
            .expect("a change");
        assert_eq!(change.fields, vec![fc("closed", None, Some("true"))]);
        assert_eq!(
            e.plan(&rec(
                "9",
                &[("amount", Some("100")), ("closed", Some("true"))]
            )),
            None
        );
    }

    #[test]
    fn clear_empties_and_skips_already_empty_fields() {
        let e = engine(json!({"object": "contacts", "actions": [{"clear": {"field": "phone"}}]}));
        assert_eq!(
            e.plan(&rec("1", &[("phone", Some("+331"))]))
                .map(|c| c.fields),
            Some(vec![fc("phone", Some("+331"), None)])
        );
        assert_eq!(e.plan(&rec("2", &[("phone", Some(""))])), None);
        assert_eq!(e.plan(&rec("3", &[("phone", None)])), None);
        assert_eq!(e.plan(&rec("4", &[])), None);
    }

    #[test]
    fn copy_reads_the_scanned_record_and_never_erases() {
        let e = engine(json!({"object": "contacts", "actions": [
            {"copy": {"from": "firstname", "to": "lastname"}},
            {"copy": {"from": "lastname", "to": "firstname"}}
        ]}));
        let swapped = e
            .plan(&rec(
                "1",
                &[("firstname", Some("Smith")), ("lastname", Some("Ann"))],
            ))
            .expect("a swap");
        assert_eq!(
            swapped.fields,
            vec![
                fc("lastname", Some("Ann"), Some("Smith")),
                fc("firstname", Some("Smith"), Some("Ann"))
            ]
        );
        let one_empty = e
            .plan(&rec("2", &[("firstname", None), ("lastname", Some("Ann"))]))
            .expect("a change");
        assert_eq!(one_empty.fields, vec![fc("firstname", None, Some("Ann"))]);
        assert_eq!(
            e.plan(&rec(
                "3",
                &[("firstname", Some("A")), ("lastname", Some("A"))]
            )),
            None
        );
        assert_eq!(e.reads(), vec!["firstname", "lastname"]);
    }

    #[test]
    fn archive_keeps_the_filter_and_kept_values_for_the_audit() {
        for word in ["archive", "delete"] {
            let e = engine(json!({
                "object": "contacts",
                "filter": {"field": "email", "op": "contains", "value": "@test."},
                "actions": [{word: {"keep": ["firstname"]}}]
            }));
            let c = e
                .plan(&rec(
                    "7",
                    &[("email", Some("a@test.com")), ("firstname", Some("Al"))],
                ))
                .expect("archived");
            assert_eq!(c.action, Action::Archive);
            assert_eq!(
                c.fields,
                vec![
                    fc("email", Some("a@test.com"), None),
                    fc("firstname", Some("Al"), None)
                ]
            );
            assert_eq!(e.plan(&rec("8", &[("email", Some("a@real.com"))])), None);
            assert_eq!(e.columns(), vec!["email", "firstname"]);
        }
        let bare = engine(json!({"object": "contacts", "actions": [{"archive": {}}]}));
        assert_eq!(
            bare.plan(&rec("1", &[])).map(|c| c.action),
            Some(Action::Archive)
        );
    }

    #[test]
    fn semantic_errors_point_at_the_action() {
        assert_eq!(
            problems(json!({"object": "contacts", "actions": []})),
            vec!["/config/actions: add at least one action (set, clear, copy or archive)"]
        );
        assert_eq!(
            problems(json!({"object": "contacts", "actions": [
                {"set": {"field": "a", "value": "x"}}, {"archive": {}}
            ]})),
            vec![
                "/config/actions/1: archive removes the record, so it cannot be combined with other actions"
            ]
        );
        assert_eq!(
            problems(json!({"object": "contacts", "actions": [
                {"copy": {"from": "email", "to": "email"}}
            ]})),
            vec!["/config/actions/0/copy/to: copies `email` onto itself"]
        );
        assert_eq!(
            problems(json!({"object": "contacts", "actions": [
                {"set": {"field": "phone", "value": "1"}},
                {"clear": {"field": "phone"}},
                {"copy": {"from": "mobile", "to": "phone"}}
            ]})),
            vec![
                "/config/actions/1/clear/field: `phone` is already changed by action 0",
                "/config/actions/2/copy/to: `phone` is already changed by action 0"
            ]
        );
        assert_eq!(
            problems(json!({"object": " ", "actions": [
                {"set": {"field": "", "value": ""}}
            ], "filter": {"field": "a", "op": "between", "value": [1]}})),
            vec![
                "/config/object: name the CRM object, such as contacts",
                "/config/filter/value: between needs two values: [low, high] (both included)",
                "/config/actions/0/set/field: the field name is empty",
                "/config/actions/0/set/value: the value is empty; use clear to empty a field"
            ]
        );
        let e = config(json!({"object": "c", "actions": []})).engine();
        assert!(e.is_err());
    }

    #[test]
    fn actions_are_checked_against_the_describe() {
        let field = |name: &str, t: FieldType, writable: bool| Field {
            name: name.into(),
            label: name.into(),
            field_type: t,
            writable,
            options: vec!["lead".into(), "customer".into()],
            unique: false,
        };
        let schema = ObjectSchema {
            object: "contacts".into(),
            fields: vec![
                field("amount", FieldType::Number, true),
                field("stage", FieldType::Enumeration, true),
                field("hs_object_id", FieldType::Id, false),
            ],
        };
        let errors: Vec<String> = config(json!({"object": "contacts", "actions": [
            {"set": {"field": "amount", "value": "ten"}},
            {"set": {"field": "stage", "value": "partner"}},
            {"clear": {"field": "hs_object_id"}},
            {"copy": {"from": "nope", "to": "missing"}}
        ]}))
        .check_schema(&schema)
        .into_iter()
        .map(|e| format!("{}: {}", e.pointer, e.detail))
        .collect();
        assert_eq!(
            errors,
            vec![
                "/config/actions/2/clear/field: `hs_object_id` is read-only on contacts",
                "/config/actions/3/copy/from: contacts has no field `nope`",
                "/config/actions/3/copy/to: contacts has no field `missing`",
                "/config/actions/0/set/value: expected a number, got \"ten\"",
                "/config/actions/1/set/value: expected one of lead, customer, got \"partner\"",
            ]
        );
    }

    #[test]
    fn the_pushdown_comes_from_the_filter() {
        let e = engine(json!({
            "object": "contacts",
            "filter": {"field": "zip", "op": "eq", "value": "75001"},
            "actions": [{"clear": {"field": "zip"}}]
        }));
        assert_eq!(
            e.crm_filter(),
            Some(crate::crm::Filter::all(vec![crate::crm::Clause::new(
                "zip",
                crate::crm::Op::Eq,
                &["75001"]
            )]))
        );
    }

    /// The worked example of docs/modules/bulk.md, kept true here.
    #[test]
    fn the_documented_example_holds() {
        let e = engine(json!({
            "object": "contacts",
            "filter": {"all": [
                {"field": "lifecyclestage", "op": "in", "value": ["lead", "subscriber"]},
                {"field": "createdate", "op": "lt", "value": "2024-01-01"}
            ]},
            "actions": [
                {"set": {"field": "lifecyclestage", "value": "other"}},
                {"copy": {"from": "mobilephone", "to": "phone"}}
            ]
        }));
        let input = [
            rec(
                "101",
                &[
                    ("lifecyclestage", Some("lead")),
                    ("createdate", Some("2023-05-02T10:00:00Z")),
                    ("mobilephone", Some("+33 6 12 34 56 78")),
                    ("phone", None),
                ],
            ),
            rec(
                "102",
                &[
                    ("lifecyclestage", Some("Subscriber")),
                    ("createdate", Some("2022-11-30")),
                    ("mobilephone", None),
                    ("phone", Some("555-0100")),
                ],
            ),
            rec(
                "103",
                &[
                    ("lifecyclestage", Some("lead")),
                    ("createdate", Some("2024-02-01T09:00:00Z")),
                    ("mobilephone", Some("+1 555 0199")),
                    ("phone", None),
                ],
            ),
            rec(
                "104",
                &[
                    ("lifecyclestage", Some("customer")),
                    ("createdate", Some("2021-07-14")),
                    ("mobilephone", Some("+44 20 7946 0958")),
                    ("phone", None),
                ],
            ),
        ];
        let mut w = crate::modules::csv::AuditWriter::new(Vec::new(), &e.columns(), false).unwrap();
        for r in &input {
            if let Some(c) = e.plan(r) {
                w.write_change(&c, None).unwrap();
            }
        }
        assert_eq!(
            String::from_utf8(w.finish().unwrap()).unwrap(),
            "record_id,action,group_id,role,note,lifecyclestage (before),lifecyclestage (after),phone (before),phone (after)\r\n\
             101,update,,,,lead,other,,'+33 6 12 34 56 78\r\n\
             102,update,,,,Subscriber,other,,\r\n"
        );
        assert_eq!(
            e.reads(),
            vec!["lifecyclestage", "createdate", "mobilephone", "phone"]
        );
        assert_eq!(
            e.crm_filter(),
            Some(crate::crm::Filter::all(vec![
                crate::crm::Clause::new("lifecyclestage", crate::crm::Op::HasProperty, &[]),
                crate::crm::Clause::new("createdate", crate::crm::Op::Lt, &["2024-01-03"]),
            ]))
        );
    }

    fn record_strategy() -> impl Strategy<Value = Record> {
        let value = prop::option::of(prop_oneof![
            "",
            "lead",
            "Lead",
            "customer",
            "[a-zA-Zë ]{0,6}"
        ]);
        (
            "[0-9]{1,3}",
            prop::collection::btree_map(
                prop_oneof!["stage", "email", "phone", "mobile"],
                value,
                0..4,
            ),
        )
            .prop_map(|(id, properties)| Record {
                id,
                properties,
                created_at: None,
                updated_at: None,
            })
    }

    fn sample_engine() -> BulkEngine {
        engine(json!({
            "object": "contacts",
            "filter": {"any": [
                {"field": "stage", "op": "in", "value": ["lead", "subscriber"]},
                {"field": "email", "op": "is_empty"}
            ]},
            "actions": [
                {"set": {"field": "stage", "value": "customer"}},
                {"copy": {"from": "mobile", "to": "phone"}},
                {"clear": {"field": "email"}}
            ]
        }))
    }

    proptest! {
        #[test]
        /// A record's plan depends on that record alone (fresh engines, or one engine
        /// planning them all in reverse order, agree), and changes only its own columns.
        fn a_records_plan_depends_on_it_alone_and_is_its_own(
            records in prop::collection::vec(record_strategy(), 1..20)
        ) {
            let e = sample_engine();
            let alone: Vec<Option<Change>> = records.iter().map(|r| sample_engine().plan(r)).collect();
            let again: Vec<Option<Change>> = records.iter().rev().map(|r| e.plan(r)).collect();
            let again: Vec<Option<Change>> = again.into_iter().rev().collect();
            prop_assert_eq!(&alone, &again);
            for (r, c) in records.iter().zip(&alone) {
                if let Some(c) = c {
                    prop_assert_eq!(c.id.as_deref(), Some(r.id.as_str()));
                    prop_assert!(!c.fields.is_empty());
                    for f in &c.fields {
                        prop_assert_ne!(&f.before, &f.after);
                        prop_assert!(e.columns().contains(&f.field));
                    }
                }
            }
        }
    }
}
