//! The grid: a spreadsheet-like view of an object's records (filtered, sorted, chosen
//! columns), and the cell edits made in it turned into a checked plan.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::HashMap;

use super::filter::{
    CompiledFilter, Filter, check_field_name, parse_date, parse_datetime, parse_number,
};
use super::{Action, Change, FieldChange};
use crate::crm::values::same_as_stored;
use crate::crm::{Field, FieldType, ObjectSchema, Record};
use crate::error::FieldError;

pub const PAGE_SIZE_DEFAULT: u32 = 100;
pub const PAGE_SIZE_MAX: u32 = 500;

/// A grid module's config: `{"object", "columns", "filter"?, "page_size"?, "sort"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a grid config: {\"object\", \"columns\", \"filter\", \"page_size\", \"sort\"}"
)]
pub struct GridConfig {
    pub object: String,
    /// The fields shown, in order.
    pub columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// Rows per page, 1 to 500.
    #[serde(default = "default_page_size")]
    #[schemars(range(max = u32::MAX))]
    pub page_size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Sort>,
}

fn default_page_size() -> u32 {
    PAGE_SIZE_DEFAULT
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    pub field: String,
    #[serde(default)]
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

impl GridConfig {
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
        if self.columns.is_empty() {
            errors.push(FieldError::new(
                "/config/columns",
                "choose at least one column",
            ));
        }
        for (i, c) in self.columns.iter().enumerate() {
            let at = format!("/config/columns/{i}");
            check_field_name(&at, c, &mut errors);
            if let Some(first) = self.columns[..i].iter().position(|p| p == c) {
                errors.push(FieldError::new(
                    at,
                    format!("`{c}` is already column {first}"),
                ));
            }
        }
        if let Some(f) = &self.filter {
            errors.extend(f.check("/config/filter"));
        }
        if !(1..=PAGE_SIZE_MAX).contains(&self.page_size) {
            errors.push(FieldError::new(
                "/config/page_size",
                format!(
                    "must be between 1 and {PAGE_SIZE_MAX}, got {}",
                    self.page_size
                ),
            ));
        }
        if let Some(s) = &self.sort {
            check_field_name("/config/sort/field", &s.field, &mut errors);
        }
        errors
    }

    /// The checked grid, or every problem `check` finds.
    pub fn compile(&self) -> Result<Grid, Vec<FieldError>> {
        let errors = self.check();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Grid {
            config: self.clone(),
            filter: self
                .filter
                .as_ref()
                .map(|f| f.compile("/config/filter"))
                .transpose()?,
        })
    }

    /// Every field the config names, with its pointer (the grid writes only by edits,
    /// checked one by one).
    pub fn field_uses(&self) -> Vec<super::fields::FieldUse> {
        use super::fields::FieldUse;
        let mut out: Vec<FieldUse> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| FieldUse::read(format!("/config/columns/{i}"), c))
            .collect();
        if let Some(f) = &self.filter {
            f.field_uses("/config/filter", &mut out);
        }
        if let Some(s) = &self.sort {
            out.push(FieldUse::read("/config/sort/field", &s.field));
        }
        out
    }

    /// What a scan must fetch: the columns, then what the filter and sort read.
    pub fn reads(&self) -> Vec<String> {
        let mut out = self.columns.clone();
        let extra = self.filter.iter().flat_map(Filter::fields);
        for f in extra.chain(self.sort.iter().map(|s| s.field.clone())) {
            super::filter::push_unique(&mut out, &f);
        }
        out
    }
}

/// A checked grid config.
#[derive(Debug, Clone)]
pub struct Grid {
    config: GridConfig,
    filter: Option<CompiledFilter>,
}

impl Grid {
    pub fn config(&self) -> &GridConfig {
        &self.config
    }

    /// What the scan can ask the CRM to filter on (a superset; `view` checks again).
    pub fn crm_filter(&self) -> Option<crate::crm::Filter> {
        self.filter.as_ref().and_then(CompiledFilter::to_crm)
    }

    /// The matching records, sorted, each holding exactly the grid's columns (a missing
    /// property is an empty cell). Paging by `page_size` is the caller's.
    pub fn view(&self, records: &[Record]) -> Vec<Record> {
        let mut rows: Vec<&Record> = records
            .iter()
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
            .collect();
        if let Some(sort) = &self.config.sort {
            let mut keyed: Vec<(SortKey, &Record)> = rows
                .into_iter()
                .map(|r| {
                    let v = r.properties.get(&sort.field).and_then(|v| v.as_deref());
                    (SortKey::of(v), r)
                })
                .collect();
            // Empty cells go last in either direction; ties keep a stable id order.
            keyed.sort_by(|(ka, ra), (kb, rb)| {
                let by_value = match (ka, kb) {
                    (SortKey::Empty, SortKey::Empty) => Ordering::Equal,
                    (SortKey::Empty, _) => Ordering::Greater,
                    (_, SortKey::Empty) => Ordering::Less,
                    _ if sort.direction == Direction::Desc => kb.cmp(ka),
                    _ => ka.cmp(kb),
                };
                by_value.then_with(|| ra.id.cmp(&rb.id))
            });
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        rows.into_iter()
            .map(|r| Record {
                id: r.id.clone(),
                properties: self
                    .config
                    .columns
                    .iter()
                    .map(|c| (c.clone(), r.properties.get(c).cloned().flatten()))
                    .collect(),
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect()
    }
}

/// How a cell sorts: numbers, then dates and datetimes, then text (case-insensitive),
/// then empty cells. A total order, whatever a column mixes.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Number(f64),
    Instant(DateTime<Utc>),
    Text(String, String),
    Empty,
}

impl SortKey {
    fn of(v: Option<&str>) -> SortKey {
        let Some(v) = v.filter(|v| !v.trim().is_empty()) else {
            return SortKey::Empty;
        };
        if let Some(n) = parse_number(v) {
            return SortKey::Number(n);
        }
        if let Some(t) = parse_datetime(v).or_else(|| {
            parse_date(v)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        }) {
            return SortKey::Instant(t);
        }
        SortKey::Text(v.to_lowercase(), v.to_string())
    }

    fn rank(&self) -> u8 {
        match self {
            SortKey::Number(_) => 0,
            SortKey::Instant(_) => 1,
            SortKey::Text(..) => 2,
            SortKey::Empty => 3,
        }
    }
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Instant(a), SortKey::Instant(b)) => a.cmp(b),
            (SortKey::Text(fa, a), SortKey::Text(fb, b)) => fa.cmp(fb).then_with(|| a.cmp(b)),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// One edited cell: `value` None (or empty) clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CellEdit {
    pub id: String,
    pub field: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// Whether `value` (not empty) may be written to `field`, by the field's type. The error
/// says what was expected. Used by grid edits and bulk `set`.
pub fn check_value(field: &Field, value: &str) -> Result<(), String> {
    let got = |what: &str| format!("expected {what}, got {value:?}");
    let ok = match field.field_type {
        FieldType::Number => parse_number(value).is_some(),
        FieldType::Bool => matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "false"),
        FieldType::Date => parse_date(value).is_some(),
        // Strict RFC 3339 (a `T` between date and time), as both CRMs take it.
        FieldType::DateTime => {
            matches!(value.as_bytes().get(10), Some(b'T' | b't'))
                && DateTime::parse_from_rfc3339(value).is_ok()
        }
        FieldType::Enumeration => {
            if field.options.is_empty() || field.options.iter().any(|o| o == value) {
                true
            } else {
                return Err(got(&format!("one of {}", field.options.join(", "))));
            }
        }
        FieldType::Email => is_email(value),
        FieldType::Text
        | FieldType::Phone
        | FieldType::Url
        | FieldType::Reference
        | FieldType::Id
        | FieldType::Other => true,
    };
    if ok {
        return Ok(());
    }
    Err(match field.field_type {
        FieldType::Number => got("a number"),
        FieldType::Bool => got("true or false"),
        FieldType::Date => got("a date (YYYY-MM-DD)"),
        FieldType::DateTime => got("a datetime (RFC 3339, such as 2024-01-31T09:00:00Z)"),
        _ => got("an email address (name@example.com)"),
    })
}

/// A deliberately basic check: one `@`, something before it, a dotted domain after it,
/// no spaces. The CRM has the last word.
fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    v.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

/// How a checked value is written: booleans in lower case, others trimmed of nothing.
fn normalized(field: &Field, value: &str) -> String {
    match field.field_type {
        FieldType::Bool => value.trim().to_ascii_lowercase(),
        FieldType::Number | FieldType::Date => value.trim().to_string(),
        _ => value.to_string(),
    }
}

/// `plan_edits` for a grid: also refuses edits of records the grid's filter does not
/// show (a cell can only be edited where the grid lists it). Errors point at
/// `/edits/<n>/...`.
pub fn check_edits(
    grid: &Grid,
    schema: &ObjectSchema,
    current: &[Record],
    edits: &[CellEdit],
) -> Result<Vec<Change>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Some(filter) = &grid.filter {
        for (i, edit) in edits.iter().enumerate() {
            if let Some(r) = current.iter().find(|r| r.id == edit.id)
                && !filter.matches(r)
            {
                errors.push(FieldError::new(
                    format!("/edits/{i}/id"),
                    format!(
                        "record {:?} is not among the grid's records: the grid's filter does not match it",
                        edit.id
                    ),
                ));
            }
        }
    }
    match plan_edits(schema, current, edits) {
        Ok(changes) if errors.is_empty() => Ok(changes),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// Cell edits as changes, one per record (in order of first edit, fields in edit order),
/// type-checked against the describe. Edits that leave a value as it is produce nothing.
/// Errors point at `/edits/<n>/<id|field|value>`.
pub fn plan_edits(
    schema: &ObjectSchema,
    current: &[Record],
    edits: &[CellEdit],
) -> Result<Vec<Change>, Vec<FieldError>> {
    let records: HashMap<&str, &Record> = current.iter().map(|r| (r.id.as_str(), r)).collect();
    let fields: HashMap<&str, &Field> =
        schema.fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut errors = Vec::new();
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, edit) in edits.iter().enumerate() {
        let at = |rest: &str| format!("/edits/{i}/{rest}");
        let record = if edit.id.trim().is_empty() {
            errors.push(FieldError::new(at("id"), "the record id is empty"));
            None
        } else {
            let r = records.get(edit.id.as_str()).copied();
            if r.is_none() {
                errors.push(FieldError::new(
                    at("id"),
                    format!("record {:?} is not among the grid's records", edit.id),
                ));
            }
            r
        };
        let field = match fields.get(edit.field.as_str()) {
            None if edit.field.is_empty() => {
                errors.push(FieldError::new(at("field"), "the field name is empty"));
                None
            }
            None => {
                errors.push(FieldError::new(
                    at("field"),
                    format!("{} has no field `{}`", schema.object, edit.field),
                ));
                None
            }
            Some(f) if !f.writable => {
                errors.push(FieldError::new(
                    at("field"),
                    format!("`{}` is read-only", f.name),
                ));
                None
            }
            Some(f) => Some(*f),
        };
        if let Some(first) = seen.insert((edit.id.as_str(), edit.field.as_str()), i) {
            errors.push(FieldError::new(
                at("field"),
                format!(
                    "`{}` of record {:?} is already edited by edit {first}",
                    edit.field, edit.id
                ),
            ));
            continue;
        }
        let value = edit.value.as_deref().filter(|v| !v.is_empty());
        let (Some(record), Some(field)) = (record, field) else {
            continue;
        };
        if let Some(v) = value
            && let Err(detail) = check_value(field, v)
        {
            errors.push(FieldError::new(at("value"), detail));
            continue;
        }
        let before = record
            .properties
            .get(&field.name)
            .and_then(|v| v.as_deref())
            .filter(|v| !v.is_empty());
        // Nothing left to change when the CRM would store the edit as the value it holds.
        if same_as_stored(Some(&field.field_type), before, value) {
            continue;
        }
        let change = FieldChange {
            field: field.name.clone(),
            before: before.map(str::to_string),
            after: value.map(|v| normalized(field, v)),
        };
        match index.get(edit.id.as_str()) {
            Some(&k) => changes[k].fields.push(change),
            None => {
                index.insert(edit.id.as_str(), changes.len());
                changes.push(Change {
                    id: Some(edit.id.clone()),
                    action: Action::Update,
                    fields: vec![change],
                    note: None,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn rec(id: &str, props: &[(&str, &str)]) -> Record {
        Record {
            id: id.into(),
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            created_at: None,
            updated_at: None,
        }
    }

    fn grid(v: serde_json::Value) -> Grid {
        serde_json::from_value::<GridConfig>(v)
            .expect("grid config parses")
            .compile()
            .expect("grid config compiles")
    }

    fn field(name: &str, t: FieldType) -> Field {
        Field {
            name: name.into(),
            label: name.into(),
            field_type: t,
            writable: true,
            options: Vec::new(),
            unique: false,
        }
    }

    fn schema() -> ObjectSchema {
        let mut stage = field("stage", FieldType::Enumeration);
        stage.options = vec!["lead".into(), "customer".into()];
        let mut id = field("hs_object_id", FieldType::Id);
        id.writable = false;
        ObjectSchema {
            object: "contacts".into(),
            fields: vec![
                field("name", FieldType::Text),
                field("amount", FieldType::Number),
                field("optin", FieldType::Bool),
                field("birthday", FieldType::Date),
                field("seen", FieldType::DateTime),
                field("email", FieldType::Email),
                stage,
                id,
            ],
        }
    }

    fn edit(id: &str, f: &str, v: Option<&str>) -> CellEdit {
        CellEdit {
            id: id.into(),
            field: f.into(),
            value: v.map(str::to_string),
        }
    }

    fn errors_of(edits: &[CellEdit]) -> Vec<String> {
        let current = [rec("1", &[("amount", "10"), ("optin", "true")])];
        plan_edits(&schema(), &current, edits)
            .expect_err("refused")
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    }

    #[test]
    fn the_view_filters_sorts_and_projects() {
        let g = grid(json!({
            "object": "deals",
            "columns": ["name", "amount"],
            "filter": {"field": "stage", "op": "neq", "value": "lost"},
            "sort": {"field": "amount", "direction": "desc"}
        }));
        let records = [
            rec("1", &[("name", "A"), ("amount", "9"), ("stage", "won")]),
            rec("2", &[("name", "B"), ("amount", "10"), ("stage", "won")]),
            rec("3", &[("name", "C"), ("amount", "99"), ("stage", "lost")]),
            rec("4", &[("name", "D"), ("stage", "open")]),
            rec("5", &[("name", "E"), ("amount", "abc")]),
        ];
        let rows = g.view(&records);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["5", "2", "1", "4"],
            "text above numbers in desc, empty last"
        );
        assert_eq!(
            rows[3].properties,
            [
                ("amount".to_string(), None),
                ("name".to_string(), Some("D".to_string()))
            ]
            .into()
        );
        assert_eq!(g.config().page_size, 100);
    }

    #[test]
    fn sorting_mixed_columns_is_total_and_stable() {
        let g = grid(json!({"object": "c", "columns": ["v"], "sort": {"field": "v"}}));
        let values = [
            "2",
            "10",
            "1a",
            "b",
            "B",
            "2024-01-02",
            "",
            "2023-12-31T23:00:00Z",
            "-1",
        ];
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| rec(&i.to_string(), &[("v", v)]))
            .collect();
        let sorted: Vec<String> = g
            .view(&records)
            .into_iter()
            .map(|r| r.properties["v"].clone().unwrap_or_default())
            .collect();
        assert_eq!(
            sorted,
            vec![
                "-1",
                "2",
                "10",
                "2023-12-31T23:00:00Z",
                "2024-01-02",
                "1a",
                "B",
                "b",
                ""
            ]
        );
    }

    #[test]
    fn config_errors_name_the_field() {
        let errs: Vec<String> = serde_json::from_value::<GridConfig>(json!({
            "object": "contacts",
            "columns": ["email", "email", ""],
            "page_size": 501,
            "sort": {"field": ""}
        }))
        .unwrap()
        .check()
        .into_iter()
        .map(|e| format!("{}: {}", e.pointer, e.detail))
        .collect();
        assert_eq!(
            errs,
            vec![
                "/config/columns/1: `email` is already column 0",
                "/config/columns/2: the field name is empty",
                "/config/page_size: must be between 1 and 500, got 501",
                "/config/sort/field: the field name is empty",
            ]
        );
        let none = serde_json::from_value::<GridConfig>(json!({
            "object": "contacts", "columns": [], "page_size": 0
        }))
        .unwrap()
        .check();
        assert_eq!(none[0].pointer, "/config/columns");
        assert_eq!(none[1].detail, "must be between 1 and 500, got 0");
    }

    #[test]
    fn edits_of_one_record_become_one_change() {
        let current = [
            rec("1", &[("name", "Ann"), ("amount", "10")]),
            rec("2", &[("name", "Bob")]),
        ];
        let changes = plan_edits(
            &schema(),
            &current,
            &[
                edit("2", "name", Some("Robert")),
                edit("1", "amount", Some("10.0")),
                edit("1", "name", Some("Anne")),
                edit("1", "optin", Some("TRUE")),
                edit("2", "email", None),
            ],
        )
        .expect("valid edits");
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].id.as_deref(), Some("2"));
        assert_eq!(
            changes[0].writes(),
            [("name".to_string(), Some("Robert".to_string()))].into()
        );
        assert_eq!(changes[1].id.as_deref(), Some("1"));
        assert_eq!(
            changes[1].fields,
            vec![
                FieldChange {
                    field: "name".into(),
                    before: Some("Ann".into()),
                    after: Some("Anne".into())
                },
                FieldChange {
                    field: "optin".into(),
                    before: None,
                    after: Some("true".into())
                },
            ]
        );
    }

    #[test]
    fn edits_that_change_nothing_plan_nothing() {
        let current = [rec("1", &[("name", "Ann"), ("optin", "true")])];
        let changes = plan_edits(
            &schema(),
            &current,
            &[
                edit("1", "name", Some("Ann")),
                edit("1", "optin", Some("True")),
                edit("1", "email", Some("")),
            ],
        )
        .unwrap();
        assert!(changes.is_empty());
    }

    #[test]
    fn an_edit_the_crm_would_store_as_the_value_it_holds_plans_nothing() {
        // As HubSpot stores a datetime, and a number with its decimals.
        let current = [rec(
            "1",
            &[
                ("seen", "2024-04-30T00:00:00.000Z"),
                ("amount", "12000"),
                ("birthday", "2024-04-30"),
            ],
        )];
        let changes = plan_edits(
            &schema(),
            &current,
            &[
                edit("1", "seen", Some("2024-04-30T00:00:00Z")),
                edit("1", "amount", Some("12000.00")),
                edit("1", "birthday", Some("2024-04-30")),
            ],
        )
        .unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        let moved = plan_edits(
            &schema(),
            &current,
            &[edit("1", "seen", Some("2024-04-30T00:00:01Z"))],
        )
        .unwrap();
        assert_eq!(moved.len(), 1);
    }

    #[test]
    fn every_type_is_checked() {
        let cases = [
            ("amount", "ten", "expected a number, got \"ten\""),
            ("amount", "1,5", "expected a number, got \"1,5\""),
            ("optin", "yes", "expected true or false, got \"yes\""),
            (
                "birthday",
                "31/01/2024",
                "expected a date (YYYY-MM-DD), got \"31/01/2024\"",
            ),
            (
                "birthday",
                "2024-02-30",
                "expected a date (YYYY-MM-DD), got \"2024-02-30\"",
            ),
            (
                "seen",
                "2024-01-31 10:00:00Z",
                "expected a datetime (RFC 3339, such as 2024-01-31T09:00:00Z), got \"2024-01-31 10:00:00Z\"",
            ),
            (
                "stage",
                "Lead",
                "expected one of lead, customer, got \"Lead\"",
            ),
            (
                "email",
                "ann@",
                "expected an email address (name@example.com), got \"ann@\"",
            ),
            (
                "email",
                "ann smith@x.com",
                "expected an email address (name@example.com), got \"ann smith@x.com\"",
            ),
            (
                "email",
                "ann@x",
                "expected an email address (name@example.com), got \"ann@x\"",
            ),
        ];
        for (i, (f, v, msg)) in cases.iter().enumerate() {
            assert_eq!(
                errors_of(&[edit("1", f, Some(v))]),
                vec![format!("/edits/0/value: {msg}")],
                "case {i}"
            );
        }
        let fine = [
            ("amount", "-3.5"),
            ("optin", "false"),
            ("birthday", "2024-02-29"),
            ("seen", "2024-01-31T10:00:00+01:00"),
            ("stage", "customer"),
            ("email", "ann.o'neil+crm@mail.example.co.uk"),
            ("name", "=anything goes in text"),
        ];
        for (f, v) in fine {
            assert!(
                plan_edits(&schema(), &[rec("1", &[])], &[edit("1", f, Some(v))]).is_ok(),
                "{f} = {v}"
            );
        }
    }

    #[test]
    fn wrong_ids_fields_and_duplicates_are_refused() {
        assert_eq!(
            errors_of(&[
                edit("1", "name", Some("x")),
                edit("404", "name", Some("x")),
                edit("1", "nope", Some("x")),
                edit("1", "hs_object_id", Some("5")),
                edit("1", "name", Some("y")),
                edit("", "", None),
                edit("1", "amount", Some("x")),
            ]),
            vec![
                "/edits/1/id: record \"404\" is not among the grid's records",
                "/edits/2/field: contacts has no field `nope`",
                "/edits/3/field: `hs_object_id` is read-only",
                "/edits/4/field: `name` of record \"1\" is already edited by edit 0",
                "/edits/5/id: the record id is empty",
                "/edits/5/field: the field name is empty",
                "/edits/6/value: expected a number, got \"x\"",
            ]
        );
    }

    /// The worked example of docs/modules/grid.md, kept true here.
    #[test]
    fn the_documented_example_holds() {
        let config: GridConfig = serde_json::from_value(json!({
            "object": "deals",
            "columns": ["dealname", "amount", "closedate", "dealstage"],
            "filter": {"field": "dealstage", "op": "neq", "value": "closedlost"},
            "sort": {"field": "amount", "direction": "desc"},
            "page_size": 50
        }))
        .unwrap();
        let g = config.compile().unwrap();
        let deal = |id: &str, name: &str, amount: &str, close: &str, stage: &str| {
            let mut r = rec(
                id,
                &[
                    ("dealname", name),
                    ("closedate", close),
                    ("dealstage", stage),
                    ("hs_priority", "high"),
                ],
            );
            if !amount.is_empty() {
                r.properties.insert("amount".into(), Some(amount.into()));
            }
            r
        };
        let input = [
            deal("D1", "Acme renewal", "12000", "2024-03-31", "contractsent"),
            deal(
                "D2",
                "Globex pilot",
                "900",
                "2024-02-15",
                "appointmentscheduled",
            ),
            deal("D3", "Initech", "50000", "2024-01-10", "closedlost"),
            deal("D4", "Umbrella", "", "2024-05-01", "qualifiedtobuy"),
        ];
        let rows = g.view(&input);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["D1", "D2", "D4"]);
        assert_eq!(rows[2].properties.len(), 4, "exactly the columns");
        assert_eq!(
            config.reads(),
            ["dealname", "amount", "closedate", "dealstage"]
        );

        let mut stage = field("dealstage", FieldType::Enumeration);
        stage.options = [
            "appointmentscheduled",
            "qualifiedtobuy",
            "contractsent",
            "closedwon",
            "closedlost",
        ]
        .map(String::from)
        .to_vec();
        let schema = ObjectSchema {
            object: "deals".into(),
            fields: vec![
                field("dealname", FieldType::Text),
                field("amount", FieldType::Number),
                field("closedate", FieldType::Date),
                stage,
            ],
        };
        let edits: Vec<CellEdit> = serde_json::from_value(json!([
            {"id": "D2", "field": "amount", "value": "1500"},
            {"id": "D2", "field": "closedate", "value": "2024-04-30"},
            {"id": "D1", "field": "amount", "value": "12000.00"},
            {"id": "D4", "field": "amount", "value": "-250"}
        ]))
        .unwrap();
        let changes = plan_edits(&schema, &input, &edits).unwrap();
        let mut w =
            crate::modules::csv::AuditWriter::new(Vec::new(), &config.columns, false).unwrap();
        for c in &changes {
            w.write_change(c, None).unwrap();
        }
        assert_eq!(
            String::from_utf8(w.finish().unwrap()).unwrap(),
            "record_id,action,group_id,role,note,dealname (before),dealname (after),amount (before),amount (after),closedate (before),closedate (after),dealstage (before),dealstage (after)\r\n\
             D2,update,,,,,,900,1500,2024-02-15,2024-04-30,,\r\n\
             D4,update,,,,,,,'-250,,,,\r\n"
        );
        let bad: Vec<CellEdit> = serde_json::from_value(json!([
            {"id": "D2", "field": "amount", "value": "1.500,00"},
            {"id": "D2", "field": "dealstage", "value": "won"}
        ]))
        .unwrap();
        let errors: Vec<String> = plan_edits(&schema, &input, &bad)
            .unwrap_err()
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect();
        assert_eq!(
            errors,
            [
                "/edits/0/value: expected a number, got \"1.500,00\"",
                "/edits/1/value: expected one of appointmentscheduled, qualifiedtobuy, contractsent, closedwon, closedlost, got \"won\"",
            ]
        );
    }

    proptest! {
        #[test]
        /// An edit that changes a cell is planned once, from the value the record holds to
        /// the one typed; an edit to what is already there (spaces aside) plans nothing;
        /// records come in the order of their first edit.
        fn a_plan_writes_exactly_the_edits_that_change_a_cell(
            first in prop::option::of("[ab ]{0,3}"),
            second in prop::option::of("[ab ]{0,3}"),
            second_first in any::<bool>(),
        ) {
            let current = [rec("1", &[("name", "a")]), rec("2", &[])];
            let mut edits = vec![edit("1", "name", first.as_deref()), edit("2", "name", second.as_deref())];
            if second_first {
                edits.reverse();
            }
            let held = |id: &str| current
                .iter()
                .find(|r| r.id == id)
                .and_then(|r| r.properties.get("name").cloned().flatten());
            let words = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
            let expected: Vec<Change> = edits
                .iter()
                .filter(|e| words(&held(&e.id)) != words(&e.value))
                .map(|e| Change {
                    id: Some(e.id.clone()),
                    action: Action::Update,
                    fields: vec![FieldChange {
                        field: "name".into(),
                        before: held(&e.id),
                        after: e.value.clone().filter(|v| !v.is_empty()),
                    }],
                    note: None,
                })
                .collect();
            prop_assert_eq!(plan_edits(&schema(), &current, &edits), Ok(expected));
        }
    }
}
