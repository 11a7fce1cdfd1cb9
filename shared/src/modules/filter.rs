//! Record filters shared by bulk and grid: conditions on fields combined in `all`/`any`
//! groups, checked and compiled once, matched in memory, and pushed down to the CRM's own
//! filter when they can be, so a scan fetches fewer records.
//!
//! Shape (every object refuses unknown keys):
//!
//! ```json
//! {"all": [
//!   {"field": "lifecyclestage", "op": "in", "value": ["lead", "subscriber"]},
//!   {"any": [
//!     {"field": "createdate", "op": "between", "value": ["2024-01-01", "2024-01-31"]},
//!     {"field": "amount", "op": "gt", "value": 100, "type": "number"}
//!   ]}
//! ]}
//! ```

use chrono::{DateTime, Days, NaiveDate, Utc};
use schemars::{JsonSchema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use crate::crm::limits::hubspot::{
    SEARCH_MAX_FILTERS, SEARCH_MAX_FILTERS_PER_GROUP, SEARCH_MAX_GROUPS,
};
use crate::crm::{self, Clause, Op, Record};
use crate::error::FieldError;

/// A filter as a template writes it: a condition, or a group of filters that must all
/// (`all`) or at least one (`any`) match.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Condition(Condition),
}

/// `{"field": .., "op": .., "value": .., "type": .., "case_sensitive": ..}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: Operator,
    /// One value, a list (`in`, `between`), or none (`is_empty`, `not_empty`).
    pub value: Option<Operand>,
    /// How values compare; when absent, `eq`/`neq`/`in` compare text and the range
    /// operators take the kind their value parses as.
    pub value_type: Option<ValueType>,
    /// Text comparisons ignore case unless this is true.
    pub case_sensitive: bool,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Eq,
    Neq,
    Contains,
    StartsWith,
    IsEmpty,
    NotEmpty,
    Gt,
    Lt,
    Gte,
    Lte,
    Between,
    In,
}

impl Operator {
    pub fn name(self) -> &'static str {
        self.into()
    }

    fn is_range(self) -> bool {
        matches!(
            self,
            Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte | Operator::Between
        )
    }
}

/// The kind of value a condition compares.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Text,
    Number,
    /// `YYYY-MM-DD`; record values compare by their UTC calendar day.
    Date,
    /// RFC 3339; compares instants (a record's date-only value is midnight UTC).
    Datetime,
}

impl ValueType {
    fn name(self) -> &'static str {
        self.into()
    }
}

/// A condition's value: JSON strings, numbers and booleans are all kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    One(String),
    Many(Vec<String>),
}

// ---------------------------------------------------------------------------------------
// Serde: a hand-written visitor, so a wrong filter is reported at its own pointer with a
// message naming what was expected (an untagged enum would only say "no variant matched").

/// A scalar JSON value as text; `null`, arrays and objects are refused.
pub(crate) struct TextValue(pub String);

impl<'de> Deserialize<'de> for TextValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor).map(TextValue)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom(
            "null is not a value (use is_empty, or the clear action)",
        ))
    }
}

impl<'de> Deserialize<'de> for Operand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OperandVisitor)
    }
}

struct OperandVisitor;

impl<'de> Visitor<'de> for OperandVisitor {
    type Value = Operand;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, boolean, or a list of them")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Operand, E> {
        ScalarVisitor.visit_str(v).map(Operand::One)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Operand, E> {
        Ok(Operand::One(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Operand, E> {
        ScalarVisitor.visit_bool(v).map(Operand::One)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Operand, E> {
        ScalarVisitor.visit_i64(v).map(Operand::One)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Operand, E> {
        ScalarVisitor.visit_u64(v).map(Operand::One)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Operand, E> {
        ScalarVisitor.visit_f64(v).map(Operand::One)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Operand, E> {
        ScalarVisitor.visit_unit().map(Operand::One)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Operand, A::Error> {
        let mut out = Vec::new();
        while let Some(TextValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Operand::Many(out))
    }
}

impl Serialize for Operand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Operand::One(v) => s.serialize_str(v),
            Operand::Many(vs) => vs.serialize(s),
        }
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Key {
    All,
    Any,
    Field,
    Op,
    Value,
    Type,
    CaseSensitive,
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FilterVisitor)
    }
}

struct FilterVisitor;

impl<'de> Visitor<'de> for FilterVisitor {
    type Value = Filter;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            r#"a filter: {"all": [..]}, {"any": [..]} or {"field": .., "op": .., "value": ..}"#,
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Filter, A::Error> {
        let mut all = None;
        let mut any = None;
        let mut field = None;
        let mut op = None;
        let mut value = None;
        let mut value_type = None;
        let mut case_sensitive = None;
        fn set<T, E: de::Error>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<(), E> {
            if slot.replace(v).is_some() {
                return Err(E::duplicate_field(name));
            }
            Ok(())
        }
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::All => set::<_, A::Error>(&mut all, map.next_value::<Vec<Filter>>()?, "all")?,
                Key::Any => set::<_, A::Error>(&mut any, map.next_value::<Vec<Filter>>()?, "any")?,
                Key::Field => set::<_, A::Error>(&mut field, map.next_value::<String>()?, "field")?,
                Key::Op => set::<_, A::Error>(&mut op, map.next_value::<Operator>()?, "op")?,
                Key::Value => {
                    set::<_, A::Error>(&mut value, map.next_value::<Operand>()?, "value")?
                }
                Key::Type => {
                    set::<_, A::Error>(&mut value_type, map.next_value::<ValueType>()?, "type")?
                }
                Key::CaseSensitive => set::<_, A::Error>(
                    &mut case_sensitive,
                    map.next_value::<bool>()?,
                    "case_sensitive",
                )?,
            }
        }
        let condition_keys = field.is_some()
            || op.is_some()
            || value.is_some()
            || value_type.is_some()
            || case_sensitive.is_some();
        match (all, any) {
            (Some(_), Some(_)) => Err(de::Error::custom(
                "a group has either `all` or `any`; nest one inside the other to combine them",
            )),
            (Some(_), None) | (None, Some(_)) if condition_keys => Err(de::Error::custom(
                "a group (`all`/`any`) cannot also be a condition; put the condition inside the group",
            )),
            (Some(filters), None) => Ok(Filter::All(filters)),
            (None, Some(filters)) => Ok(Filter::Any(filters)),
            (None, None) => {
                if !condition_keys {
                    return Err(de::Error::custom(
                        "expected `all`, `any`, or a condition with `field` and `op`",
                    ));
                }
                Ok(Filter::Condition(Condition {
                    field: field.ok_or_else(|| de::Error::missing_field("field"))?,
                    op: op.ok_or_else(|| de::Error::missing_field("op"))?,
                    value,
                    value_type,
                    case_sensitive: case_sensitive.unwrap_or(false),
                }))
            }
        }
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Filter::All(fs) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("all", fs)?;
                m.end()
            }
            Filter::Any(fs) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("any", fs)?;
                m.end()
            }
            Filter::Condition(c) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("field", &c.field)?;
                m.serialize_entry("op", &c.op)?;
                if let Some(v) = &c.value {
                    m.serialize_entry("value", v)?;
                }
                if let Some(t) = &c.value_type {
                    m.serialize_entry("type", t)?;
                }
                if c.case_sensitive {
                    m.serialize_entry("case_sensitive", &true)?;
                }
                m.end()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// JSON Schemas, as strict as the visitors above: each object refuses unknown keys, a group
// is only `all` or only `any`, a condition needs `field` and `op`, and values are scalars
// (never null) or lists of them.

impl JsonSchema for TextValue {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "TextValue".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        json_schema!({
            "description": "A string, number or boolean, kept as text (never null).",
            "type": ["string", "number", "boolean"]
        })
    }
}

impl JsonSchema for Operand {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Operand".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
        let one = generator.subschema_for::<TextValue>();
        json_schema!({
            "description": "One value, or a list of them (`in`, `between`).",
            "anyOf": [one, {"type": "array", "items": one}]
        })
    }
}

impl JsonSchema for Filter {
    fn schema_name() -> Cow<'static, str> {
        "Filter".into()
    }
    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Filter").into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
        let filters = generator.subschema_for::<Vec<Filter>>();
        let group = |key: &str, description: &str| {
            json_schema!({
                "type": "object",
                "description": description,
                "properties": {(key): filters.clone()},
                "required": [key],
                "additionalProperties": false
            })
        };
        let condition = json_schema!({
            "type": "object",
            "description": "A condition on one field.",
            "properties": {
                "field": {"type": "string", "description": "The field compared."},
                "op": generator.subschema_for::<Operator>(),
                "value": generator.subschema_for::<Operand>(),
                "type": generator.subschema_for::<ValueType>(),
                "case_sensitive": {
                    "type": "boolean",
                    "description": "Text comparisons ignore case unless this is true.",
                    "default": false
                }
            },
            "required": ["field", "op"],
            "additionalProperties": false
        });
        json_schema!({
            "description": "A condition, or a group of filters that must all (`all`) or at least one (`any`) match.",
            "oneOf": [
                group("all", "Every filter matches."),
                group("any", "At least one filter matches."),
                condition
            ]
        })
    }
}

// ---------------------------------------------------------------------------------------
// Values: how record text is read as a number, a day or an instant.

pub(crate) use crate::crm::values::{parse_date, parse_datetime, parse_number};

/// A typed bound of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    Number(f64),
    /// Compared by UTC calendar day.
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Scalar {
    fn parse(kind: ValueType, s: &str) -> Option<Scalar> {
        match kind {
            ValueType::Text => None,
            ValueType::Number => parse_number(s).map(Scalar::Number),
            ValueType::Date => parse_date(s).map(Scalar::Day),
            ValueType::Datetime => parse_datetime(s).map(Scalar::Instant),
        }
    }

    /// The kind a bare value parses as: a number, a date, then a datetime.
    fn infer(s: &str) -> Option<Scalar> {
        [ValueType::Number, ValueType::Date, ValueType::Datetime]
            .into_iter()
            .find_map(|k| Scalar::parse(k, s))
    }

    fn kind(self) -> &'static str {
        match self {
            Scalar::Number(_) => "a number",
            Scalar::Day(_) => "a date",
            Scalar::Instant(_) => "a datetime",
        }
    }

    /// How a record's value compares with this bound; None when it is not of the kind.
    fn compare(self, record_value: &str) -> Option<Ordering> {
        match self {
            Scalar::Number(b) => parse_number(record_value)?.partial_cmp(&b),
            Scalar::Day(b) => {
                let day = parse_date(record_value)
                    .or_else(|| parse_datetime(record_value).map(|t| t.date_naive()))?;
                Some(day.cmp(&b))
            }
            Scalar::Instant(b) => {
                let t = parse_datetime(record_value).or_else(|| {
                    parse_date(record_value)
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc())
                })?;
                Some(t.cmp(&b))
            }
        }
    }

    /// The UTC day, for pushing a temporal bound down as a date.
    fn day(self) -> Option<NaiveDate> {
        match self {
            Scalar::Number(_) => None,
            Scalar::Day(d) => Some(d),
            Scalar::Instant(t) => Some(t.date_naive()),
        }
    }
}

fn blank(v: Option<&str>) -> bool {
    v.is_none_or(|v| v.trim().is_empty())
}

/// Whether `s` has no letter that changes with case (`123-45`), so case-insensitive and
/// case-sensitive equality agree on it.
fn uncased(s: &str) -> bool {
    s.to_lowercase() == s && s.to_uppercase() == s
}

/// Checks a field name from a template or a request: present, and without stray spaces.
pub(crate) fn check_field_name(pointer: &str, name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() {
        errors.push(FieldError::new(pointer, "the field name is empty"));
    } else if name.trim() != name {
        errors.push(FieldError::new(
            pointer,
            format!("the field name {name:?} has spaces around it"),
        ));
    }
}

/// JSON pointer segment for a key (`~` and `/` escaped as RFC 6901 says).

// ---------------------------------------------------------------------------------------
// Compilation.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextOp {
    Eq,
    Neq,
    Contains,
    StartsWith,
}

#[derive(Debug, Clone, PartialEq)]
struct Bound {
    value: Scalar,
    inclusive: bool,
    /// The value as written, pushed down as is when the CRM compares the same way.
    raw: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Empty,
    NotEmpty,
    /// `needle` is lower-cased when `fold`.
    Text {
        op: TextOp,
        needle: String,
        fold: bool,
    },
    TextIn {
        values: Vec<String>,
        fold: bool,
    },
    /// Typed `eq` (or `neq` when `negate`).
    Equal {
        value: Scalar,
        raw: String,
        negate: bool,
    },
    TypedIn {
        values: Vec<Scalar>,
        raws: Vec<String>,
    },
    Range {
        low: Option<Bound>,
        high: Option<Bound>,
        /// The `type` was declared (so a number range may go to the CRM as is).
        declared: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Test { field: String, test: Test },
}

/// A checked filter, ready to match records.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFilter {
    root: Node,
}

impl Filter {
    /// Every problem, with pointers under `pointer` (`/config/filter`).
    pub fn check(&self, pointer: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        compile_node(self, pointer, &mut errors);
        errors
    }

    pub fn compile(&self, pointer: &str) -> Result<CompiledFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        match compile_node(self, pointer, &mut errors) {
            Some(root) if errors.is_empty() => Ok(CompiledFilter { root }),
            _ => Err(errors),
        }
    }

    /// The fields the filter reads, in order of first use.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    /// Every field the filter names, with its pointer under `pointer`.
    pub fn field_uses(&self, pointer: &str, out: &mut Vec<super::fields::FieldUse>) {
        match self {
            Filter::All(fs) | Filter::Any(fs) => {
                let key = if matches!(self, Filter::All(_)) {
                    "all"
                } else {
                    "any"
                };
                for (i, f) in fs.iter().enumerate() {
                    f.field_uses(&format!("{pointer}/{key}/{i}"), out);
                }
            }
            Filter::Condition(c) => out.push(super::fields::FieldUse::read(
                format!("{pointer}/field"),
                &c.field,
            )),
        }
    }

    fn collect_fields(&self, out: &mut Vec<String>) {
        match self {
            Filter::All(fs) | Filter::Any(fs) => fs.iter().for_each(|f| f.collect_fields(out)),
            Filter::Condition(c) => push_unique(out, &c.field),
        }
    }
}

pub(crate) fn push_unique(out: &mut Vec<String>, field: &str) {
    if !out.iter().any(|f| f == field) {
        out.push(field.to_string());
    }
}

fn compile_node(filter: &Filter, ptr: &str, errors: &mut Vec<FieldError>) -> Option<Node> {
    let group = |fs: &[Filter], key: &str, errors: &mut Vec<FieldError>| {
        let ptr = format!("{ptr}/{key}");
        if fs.is_empty() {
            errors.push(FieldError::new(&ptr, "add at least one filter"));
            return None;
        }
        let nodes: Vec<Option<Node>> = fs
            .iter()
            .enumerate()
            .map(|(i, f)| compile_node(f, &format!("{ptr}/{i}"), errors))
            .collect();
        nodes.into_iter().collect::<Option<Vec<Node>>>()
    };
    match filter {
        Filter::All(fs) => group(fs, "all", errors).map(Node::All),
        Filter::Any(fs) => group(fs, "any", errors).map(Node::Any),
        Filter::Condition(c) => compile_condition(c, ptr, errors),
    }
}

fn compile_condition(c: &Condition, ptr: &str, errors: &mut Vec<FieldError>) -> Option<Node> {
    let before = errors.len();
    check_field_name(&format!("{ptr}/field"), &c.field, errors);
    let vptr = format!("{ptr}/value");
    let tptr = format!("{ptr}/type");
    let op = c.op;
    let name = op.name();
    let text_op = matches!(
        op,
        Operator::Eq | Operator::Neq | Operator::Contains | Operator::StartsWith | Operator::In
    );
    let typed = c.value_type.filter(|t| *t != ValueType::Text);
    let compares_text = text_op && typed.is_none();
    if c.case_sensitive && !compares_text {
        errors.push(FieldError::new(
            format!("{ptr}/case_sensitive"),
            format!(
                "case_sensitive applies to text comparisons; {name} does not compare text here"
            ),
        ));
    }

    // The value's shape for the operator.
    let one = |errors: &mut Vec<FieldError>| -> Option<String> {
        match &c.value {
            Some(Operand::One(v)) if v.is_empty() => {
                errors.push(FieldError::new(&vptr, "the value is empty; use is_empty"));
                None
            }
            Some(Operand::One(v)) => Some(v.clone()),
            Some(Operand::Many(_)) => {
                let hint = if op.is_range() { "between" } else { "in" };
                errors.push(FieldError::new(
                    &vptr,
                    format!("{name} takes one value, not a list (see {hint})"),
                ));
                None
            }
            None => {
                errors.push(FieldError::new(&vptr, format!("{name} needs a value")));
                None
            }
        }
    };
    let test = match op {
        Operator::IsEmpty | Operator::NotEmpty => {
            if c.value.is_some() {
                errors.push(FieldError::new(&vptr, format!("{name} takes no value")));
            }
            if let Some(t) = c.value_type {
                errors.push(FieldError::new(
                    &tptr,
                    format!(
                        "{name} does not compare values, so type {} has no use",
                        t.name()
                    ),
                ));
            }
            if op == Operator::IsEmpty {
                Some(Test::Empty)
            } else {
                Some(Test::NotEmpty)
            }
        }
        Operator::Contains | Operator::StartsWith => {
            if let Some(t) = typed {
                errors.push(FieldError::new(
                    &tptr,
                    format!("{name} compares text, not a {}", t.name()),
                ));
            }
            let v = one(errors)?;
            let op = if op == Operator::Contains {
                TextOp::Contains
            } else {
                TextOp::StartsWith
            };
            Some(text_test(op, &v, !c.case_sensitive))
        }
        Operator::Eq | Operator::Neq => {
            let v = one(errors)?;
            let negate = op == Operator::Neq;
            match typed {
                None => Some(text_test(
                    if negate { TextOp::Neq } else { TextOp::Eq },
                    &v,
                    !c.case_sensitive,
                )),
                Some(t) => {
                    let value = typed_value(t, &v, &vptr, errors)?;
                    Some(Test::Equal {
                        value,
                        raw: v,
                        negate,
                    })
                }
            }
        }
        Operator::In => {
            let values = match &c.value {
                Some(Operand::Many(vs)) if !vs.is_empty() => vs.clone(),
                _ => {
                    errors.push(FieldError::new(
                        &vptr,
                        "in needs a list of values, such as [\"lead\", \"customer\"]",
                    ));
                    return None;
                }
            };
            let mut ok = true;
            for (i, v) in values.iter().enumerate() {
                if v.is_empty() {
                    errors.push(FieldError::new(
                        format!("{vptr}/{i}"),
                        "the value is empty; use is_empty",
                    ));
                    ok = false;
                }
            }
            if !ok {
                return None;
            }
            match typed {
                None => {
                    let fold = !c.case_sensitive;
                    Some(Test::TextIn {
                        values: values.iter().map(|v| fold_if(v, fold)).collect(),
                        fold,
                    })
                }
                Some(t) => {
                    let parsed: Vec<Option<Scalar>> = values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| typed_value(t, v, &format!("{vptr}/{i}"), errors))
                        .collect();
                    Some(Test::TypedIn {
                        values: parsed.into_iter().collect::<Option<Vec<_>>>()?,
                        raws: values,
                    })
                }
            }
        }
        Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte => {
            if c.value_type == Some(ValueType::Text) {
                errors.push(range_on_text(&tptr, name));
            }
            let v = one(errors)?;
            let value = range_value(typed, &v, &vptr, name, errors)?;
            let bound = Bound {
                value,
                inclusive: matches!(op, Operator::Gte | Operator::Lte),
                raw: v,
            };
            let (low, high) = if matches!(op, Operator::Gt | Operator::Gte) {
                (Some(bound), None)
            } else {
                (None, Some(bound))
            };
            Some(Test::Range {
                low,
                high,
                declared: typed.is_some(),
            })
        }
        Operator::Between => {
            if c.value_type == Some(ValueType::Text) {
                errors.push(range_on_text(&tptr, name));
            }
            let (lo, hi) = match &c.value {
                Some(Operand::Many(vs)) if vs.len() == 2 => (vs[0].clone(), vs[1].clone()),
                _ => {
                    errors.push(FieldError::new(
                        &vptr,
                        "between needs two values: [low, high] (both included)",
                    ));
                    return None;
                }
            };
            let bound = |i: usize, v: &str, errors: &mut Vec<FieldError>| {
                let p = format!("{vptr}/{i}");
                if v.is_empty() {
                    errors.push(FieldError::new(&p, "the bound is empty"));
                    return None;
                }
                range_value(typed, v, &p, name, errors)
            };
            let low = bound(0, &lo, errors);
            let high = bound(1, &hi, errors);
            let (low, high) = (low?, high?);
            let numeric = |s: Scalar| matches!(s, Scalar::Number(_));
            if numeric(low) != numeric(high) {
                errors.push(FieldError::new(
                    &vptr,
                    format!(
                        "between's bounds must both be numbers or both dates/datetimes; got {} and {}",
                        low.kind(),
                        high.kind()
                    ),
                ));
                return None;
            }
            let inverted = match (low, high) {
                (Scalar::Number(a), Scalar::Number(b)) => a > b,
                (a, b) => {
                    // A date low bound starts at its day's midnight; a date high bound ends
                    // with its day, so compare days when either bound is a date.
                    match (a, b) {
                        (Scalar::Instant(x), Scalar::Instant(y)) => x > y,
                        _ => a.day() > b.day(),
                    }
                }
            };
            if inverted {
                errors.push(FieldError::new(
                    &vptr,
                    format!("between's low bound {lo:?} is above its high bound {hi:?}"),
                ));
                return None;
            }
            Some(Test::Range {
                low: Some(Bound {
                    value: low,
                    inclusive: true,
                    raw: lo,
                }),
                high: Some(Bound {
                    value: high,
                    inclusive: true,
                    raw: hi,
                }),
                declared: typed.is_some(),
            })
        }
    }?;
    if errors.len() > before {
        return None;
    }
    Some(Node::Test {
        field: c.field.clone(),
        test,
    })
}

fn range_on_text(tptr: &str, name: &str) -> FieldError {
    FieldError::new(
        tptr,
        format!("{name} compares numbers, dates or datetimes, not text"),
    )
}

fn fold_if(s: &str, fold: bool) -> String {
    if fold {
        s.to_lowercase()
    } else {
        s.to_string()
    }
}

fn text_test(op: TextOp, v: &str, fold: bool) -> Test {
    Test::Text {
        op,
        needle: fold_if(v, fold),
        fold,
    }
}

fn expected(t: ValueType) -> &'static str {
    match t {
        ValueType::Text => "text",
        ValueType::Number => "a number",
        ValueType::Date => "a date (YYYY-MM-DD)",
        ValueType::Datetime => "a datetime (RFC 3339, such as 2024-01-31T09:00:00Z)",
    }
}

fn typed_value(t: ValueType, v: &str, ptr: &str, errors: &mut Vec<FieldError>) -> Option<Scalar> {
    let parsed = Scalar::parse(t, v);
    if parsed.is_none() {
        errors.push(FieldError::new(
            ptr,
            format!("expected {}, got {v:?}", expected(t)),
        ));
    }
    parsed
}

fn range_value(
    typed: Option<ValueType>,
    v: &str,
    ptr: &str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Scalar> {
    match typed {
        Some(t) => typed_value(t, v, ptr, errors),
        None => {
            let parsed = Scalar::infer(v);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    ptr,
                    format!(
                        "{name} compares numbers, dates (YYYY-MM-DD) or datetimes (RFC 3339); {v:?} is none of these"
                    ),
                ));
            }
            parsed
        }
    }
}

// ---------------------------------------------------------------------------------------
// Matching.

impl CompiledFilter {
    pub fn matches(&self, record: &Record) -> bool {
        node_matches(&self.root, record)
    }

    /// The fields the filter reads, in order of first use.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        node_fields(&self.root, &mut out);
        out
    }

    /// A filter the CRM can apply while scanning, admitting at least every record this
    /// one matches (the engine checks each record again). None when the best such filter
    /// admits everything. Kept within HubSpot's search limits, the tightest of the CRMs.
    pub fn to_crm(&self) -> Option<crm::Filter> {
        pushdown(&self.root).map(|any_of| crm::Filter { any_of })
    }
}

fn node_fields(node: &Node, out: &mut Vec<String>) {
    match node {
        Node::All(ns) | Node::Any(ns) => ns.iter().for_each(|n| node_fields(n, out)),
        Node::Test { field, .. } => push_unique(out, field),
    }
}

fn node_matches(node: &Node, record: &Record) -> bool {
    match node {
        Node::All(ns) => ns.iter().all(|n| node_matches(n, record)),
        Node::Any(ns) => ns.iter().any(|n| node_matches(n, record)),
        Node::Test { field, test } => {
            let value = record.properties.get(field).and_then(|v| v.as_deref());
            test_matches(test, value)
        }
    }
}

fn test_matches(test: &Test, value: Option<&str>) -> bool {
    match test {
        Test::Empty => blank(value),
        Test::NotEmpty => !blank(value),
        Test::Text { op, needle, fold } => {
            let Some(v) = value else {
                return *op == TextOp::Neq;
            };
            let v = if *fold {
                std::borrow::Cow::Owned(v.to_lowercase())
            } else {
                std::borrow::Cow::Borrowed(v)
            };
            match op {
                TextOp::Eq => *v == **needle,
                TextOp::Neq => *v != **needle,
                TextOp::Contains => v.contains(needle.as_str()),
                TextOp::StartsWith => v.starts_with(needle.as_str()),
            }
        }
        Test::TextIn { values, fold } => value.is_some_and(|v| {
            let v = fold_if(v, *fold);
            values.contains(&v)
        }),
        Test::Equal {
            value: b, negate, ..
        } => {
            let equal = value.and_then(|v| b.compare(v)) == Some(Ordering::Equal);
            equal != *negate
        }
        Test::TypedIn { values, .. } => {
            value.is_some_and(|v| values.iter().any(|b| b.compare(v) == Some(Ordering::Equal)))
        }
        Test::Range { low, high, .. } => {
            let Some(v) = value else { return false };
            let above = |b: &Bound| match b.value.compare(v) {
                Some(Ordering::Greater) => true,
                Some(Ordering::Equal) => b.inclusive,
                _ => false,
            };
            let below = |b: &Bound| match b.value.compare(v) {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => b.inclusive,
                _ => false,
            };
            low.as_ref().is_none_or(above) && high.as_ref().is_none_or(below)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pushdown: each node becomes an OR of AND-groups admitting a superset of its records;
// None stands for "every record".

type Groups = Vec<Vec<Clause>>;

fn fits(groups: &Groups) -> bool {
    groups.len() <= SEARCH_MAX_GROUPS
        && groups
            .iter()
            .all(|g| g.len() <= SEARCH_MAX_FILTERS_PER_GROUP)
        && groups.iter().map(Vec::len).sum::<usize>() <= SEARCH_MAX_FILTERS
}

fn pushdown(node: &Node) -> Option<Groups> {
    match node {
        Node::Any(ns) => {
            let mut out: Groups = Vec::new();
            for n in ns {
                for g in pushdown(n)? {
                    if !out.contains(&g) {
                        out.push(g);
                    }
                }
            }
            fits(&out).then_some(out)
        }
        Node::All(ns) => {
            // Each part alone is a superset of the AND; add parts while the product fits.
            let mut acc: Option<Groups> = None;
            for part in ns.iter().filter_map(pushdown) {
                acc = Some(match acc {
                    None => part,
                    Some(a) => {
                        let product = and(&a, &part);
                        if fits(&product) { product } else { a }
                    }
                });
            }
            acc
        }
        Node::Test { field, test } => test_pushdown(field, test),
    }
}

fn and(a: &Groups, b: &Groups) -> Groups {
    let mut out: Groups = Vec::new();
    for ga in a {
        for gb in b {
            let mut g = ga.clone();
            for c in gb {
                if !g.contains(c) {
                    g.push(c.clone());
                }
            }
            if !out.contains(&g) {
                out.push(g);
            }
        }
    }
    out
}

/// Plain decimals (`-12.5`), the only numbers every CRM adapter accepts in a filter.
fn plain_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let all = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all(int) && all(frac)
}

fn test_pushdown(field: &str, test: &Test) -> Option<Groups> {
    let clause = |op: Op, values: Vec<String>| Clause {
        property: field.to_string(),
        op,
        values,
    };
    let has = || Some(vec![vec![clause(Op::HasProperty, vec![])]]);
    // Case-insensitive text equality goes to the CRM as is only when case cannot matter:
    // a CRM comparing case-sensitively would otherwise miss records.
    let exact = |needle: &str, fold: bool| !fold || uncased(needle);
    match test {
        Test::Empty => None,
        Test::NotEmpty => has(),
        Test::Text { op, needle, fold } => match op {
            TextOp::Eq if exact(needle, *fold) => {
                Some(vec![vec![clause(Op::Eq, vec![needle.clone()])]])
            }
            TextOp::Eq | TextOp::Contains | TextOp::StartsWith => has(),
            // A CRM's NEQ can be coarser than ours (case- or accent-insensitive), and then
            // it leaves out records ours matches: `neq` is never pushed down.
            TextOp::Neq => None,
        },
        Test::TextIn { values, fold } => {
            if values.iter().all(|v| exact(v, *fold)) {
                Some(vec![vec![clause(Op::In, values.clone())]])
            } else {
                has()
            }
        }
        Test::Equal {
            value: Scalar::Number(_),
            raw,
            negate: false,
        } if plain_decimal(raw.trim()) => {
            Some(vec![vec![clause(Op::Eq, vec![raw.trim().to_string()])]])
        }
        Test::Equal { negate: false, .. } => has(),
        Test::Equal { negate: true, .. } => None,
        Test::TypedIn { values, raws } => {
            let numbers = values.iter().all(|v| matches!(v, Scalar::Number(_)))
                && raws.iter().all(|r| plain_decimal(r.trim()));
            if numbers {
                let raws = raws.iter().map(|r| r.trim().to_string()).collect();
                Some(vec![vec![clause(Op::In, raws)]])
            } else {
                has()
            }
        }
        Test::Range {
            low,
            high,
            declared,
        } => {
            let mut group = Vec::new();
            // Bounds are widened (strict to inclusive; dates by a day each way) so a CRM
            // comparing text, or dates in another time zone, still admits every match.
            if let Some(b) = low {
                group.push(match b.value {
                    Scalar::Number(_) if *declared && plain_decimal(b.raw.trim()) => {
                        clause(Op::Gte, vec![b.raw.trim().to_string()])
                    }
                    Scalar::Number(_) => clause(Op::HasProperty, vec![]),
                    s => clause(
                        Op::Gte,
                        vec![day_text(s.day()?.checked_sub_days(Days::new(1))?)],
                    ),
                });
            }
            if let Some(b) = high {
                let c = match b.value {
                    Scalar::Number(_) if *declared && plain_decimal(b.raw.trim()) => {
                        clause(Op::Lte, vec![b.raw.trim().to_string()])
                    }
                    Scalar::Number(_) => clause(Op::HasProperty, vec![]),
                    s => clause(
                        Op::Lt,
                        vec![day_text(s.day()?.checked_add_days(Days::new(2))?)],
                    ),
                };
                if !group.contains(&c) {
                    group.push(c);
                }
            }
            Some(vec![group])
        }
    }
}

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(props: &[(&str, &str)]) -> Record {
        Record {
            id: "1".into(),
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            created_at: None,
            updated_at: None,
        }
    }

    fn parse(v: serde_json::Value) -> Filter {
        serde_json::from_value(v).expect("filter parses")
    }

    fn compile(v: serde_json::Value) -> CompiledFilter {
        parse(v).compile("/config/filter").expect("filter compiles")
    }

    fn errors(v: serde_json::Value) -> Vec<String> {
        parse(v)
            .check("/config/filter")
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    }

    /// Whether `{"field": "f", ...cond}` matches a record whose `f` is `value`.
    fn on(cond: serde_json::Value, value: Option<&str>) -> bool {
        let mut c = cond;
        c["field"] = json!("f");
        let r = match value {
            Some(v) => rec(&[("f", v)]),
            None => rec(&[]),
        };
        compile(c).matches(&r)
    }

    #[test]
    fn eq_and_neq_ignore_case_unless_asked() {
        let eq = json!({"op": "eq", "value": "Lead"});
        assert!(on(eq.clone(), Some("lead")));
        assert!(on(eq.clone(), Some("LEAD")));
        assert!(!on(eq.clone(), Some("leads")));
        assert!(!on(eq.clone(), None));
        let strict = json!({"op": "eq", "value": "Lead", "case_sensitive": true});
        assert!(!on(strict.clone(), Some("lead")));
        assert!(on(strict, Some("Lead")));
        let neq = json!({"op": "neq", "value": "lead"});
        assert!(!on(neq.clone(), Some("LEAD")));
        assert!(on(neq.clone(), Some("customer")));
        assert!(on(neq, None), "a missing value is not equal to anything");
    }

    #[test]
    fn text_comparisons_are_unicode_aware() {
        assert!(on(
            json!({"op": "contains", "value": "ZOË"}),
            Some("Chez zoë")
        ));
        assert!(on(
            json!({"op": "starts_with", "value": "ÉL"}),
            Some("élan")
        ));
        assert!(!on(
            json!({"op": "starts_with", "value": "el"}),
            Some("élan")
        ));
        assert!(on(json!({"op": "eq", "value": "straße"}), Some("STRAßE")));
        assert!(on(
            json!({"op": "contains", "value": "日本"}),
            Some("東京, 日本")
        ));
        assert!(!on(
            json!({"op": "contains", "value": "zoë", "case_sensitive": true}),
            Some("ZOË")
        ));
    }

    #[test]
    fn contains_and_starts_with_need_a_value_in_the_record() {
        assert!(!on(json!({"op": "contains", "value": "a"}), None));
        assert!(!on(json!({"op": "starts_with", "value": "a"}), Some("")));
        assert!(on(json!({"op": "starts_with", "value": "Ab"}), Some("abc")));
        assert!(!on(json!({"op": "starts_with", "value": "b"}), Some("abc")));
    }

    #[test]
    fn is_empty_counts_missing_null_and_blank() {
        let e = json!({"op": "is_empty"});
        assert!(on(e.clone(), None));
        assert!(on(e.clone(), Some("")));
        assert!(on(e.clone(), Some("  ")));
        assert!(!on(e, Some("x")));
        let null = Record {
            properties: [("f".to_string(), None)].into(),
            ..rec(&[])
        };
        assert!(compile(json!({"field": "f", "op": "is_empty"})).matches(&null));
        let ne = json!({"op": "not_empty"});
        assert!(on(ne.clone(), Some("x")));
        assert!(!on(ne.clone(), Some(" ")));
        assert!(!on(ne, None));
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(on(json!({"op": "gt", "value": 9}), Some("10")));
        assert!(!on(json!({"op": "gt", "value": "10"}), Some("10")));
        assert!(on(json!({"op": "gte", "value": "10"}), Some("10.0")));
        assert!(on(json!({"op": "lt", "value": 2.5}), Some("-3")));
        assert!(on(json!({"op": "lte", "value": "2.5"}), Some(" 2.5 ")));
        assert!(!on(json!({"op": "lt", "value": 100}), Some("1,000")));
        assert!(!on(json!({"op": "gt", "value": 1}), Some("NaN")));
        assert!(!on(json!({"op": "gt", "value": 1}), Some("inf")));
        assert!(!on(json!({"op": "gt", "value": 1}), Some("n/a")));
        assert!(!on(json!({"op": "gt", "value": 1}), None));
    }

    #[test]
    fn between_includes_both_bounds() {
        let b = json!({"op": "between", "value": [1, 10]});
        assert!(on(b.clone(), Some("1")));
        assert!(on(b.clone(), Some("10")));
        assert!(on(b.clone(), Some("5.5")));
        assert!(!on(b.clone(), Some("10.01")));
        assert!(!on(b, Some("ten")));
    }

    #[test]
    fn dates_compare_by_day_and_datetimes_as_instants() {
        let jan = json!({"op": "between", "value": ["2024-01-01", "2024-01-31"]});
        assert!(on(jan.clone(), Some("2024-01-31")));
        assert!(on(jan.clone(), Some("2024-01-31T23:59:59Z")));
        assert!(on(jan.clone(), Some("2024-01-31T10:00:00.000+0000")));
        assert!(
            on(jan.clone(), Some("2024-02-01T01:00:00+02:00")),
            "Jan 31 in UTC"
        );
        assert!(!on(jan.clone(), Some("2024-02-01")));
        assert!(!on(jan.clone(), Some("2023-12-31T23:59:59Z")));
        assert!(!on(jan.clone(), Some("31/01/2024")));
        assert!(!on(jan, Some("1706659200000")));
        let after = json!({"op": "gt", "value": "2024-01-31T12:00:00Z"});
        assert!(on(after.clone(), Some("2024-01-31T12:00:01Z")));
        assert!(!on(after.clone(), Some("2024-01-31T12:00:00Z")));
        assert!(
            !on(after.clone(), Some("2024-01-31")),
            "midnight is before noon"
        );
        assert!(on(after, Some("2024-02-01")));
        let eq_day = json!({"op": "eq", "value": "2024-01-31", "type": "date"});
        assert!(on(eq_day.clone(), Some("2024-01-31T08:00:00Z")));
        assert!(!on(eq_day, Some("2024-02-01")));
    }

    #[test]
    fn a_declared_type_changes_how_eq_and_in_compare() {
        assert!(!on(json!({"op": "eq", "value": "10"}), Some("10.0")));
        assert!(on(
            json!({"op": "eq", "value": "10", "type": "number"}),
            Some("10.0")
        ));
        assert!(on(
            json!({"op": "neq", "value": "10", "type": "number"}),
            Some("x")
        ));
        assert!(!on(
            json!({"op": "neq", "value": "10", "type": "number"}),
            Some("1e1")
        ));
        let inn = json!({"op": "in", "value": [1, 2], "type": "number"});
        assert!(on(inn.clone(), Some("2.0")));
        assert!(!on(inn, Some("3")));
        let dt = json!({"op": "eq", "value": "2024-01-31T10:00:00Z", "type": "datetime"});
        assert!(on(dt, Some("2024-01-31T11:00:00+01:00")));
    }

    #[test]
    fn in_matches_any_listed_value() {
        let inn = json!({"op": "in", "value": ["Lead", "Customer"]});
        assert!(on(inn.clone(), Some("customer")));
        assert!(!on(inn.clone(), Some("partner")));
        assert!(!on(inn, None));
        let strict = json!({"op": "in", "value": ["Lead"], "case_sensitive": true});
        assert!(!on(strict, Some("lead")));
    }

    #[test]
    fn groups_nest() {
        let f = compile(json!({"any": [
            {"all": [
                {"field": "a", "op": "eq", "value": "1"},
                {"field": "b", "op": "eq", "value": "2"}
            ]},
            {"field": "c", "op": "not_empty"}
        ]}));
        assert!(f.matches(&rec(&[("a", "1"), ("b", "2")])));
        assert!(!f.matches(&rec(&[("a", "1"), ("b", "3")])));
        assert!(f.matches(&rec(&[("c", "x")])));
        assert_eq!(f.fields(), vec!["a", "b", "c"]);
    }

    #[test]
    fn malformed_values_are_named_by_pointer() {
        assert_eq!(
            errors(json!({"any": [
                {"field": "a", "op": "is_empty"},
                {"field": "b", "op": "between", "value": [1]}
            ]})),
            vec![
                "/config/filter/any/1/value: between needs two values: [low, high] (both included)"
            ]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "gt", "value": "soon"})),
            vec![
                "/config/filter/value: gt compares numbers, dates (YYYY-MM-DD) or datetimes (RFC 3339); \"soon\" is none of these"
            ]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "eq", "value": "x", "type": "number"})),
            vec!["/config/filter/value: expected a number, got \"x\""]
        );
        assert_eq!(
            errors(
                json!({"field": "a", "op": "in", "value": ["2024-12-01", "2024-13-01"], "type": "date"})
            ),
            vec!["/config/filter/value/1: expected a date (YYYY-MM-DD), got \"2024-13-01\""]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "between", "value": [5, 1]})),
            vec!["/config/filter/value: between's low bound \"5\" is above its high bound \"1\""]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "between", "value": [1, "2024-01-01"]})),
            vec![
                "/config/filter/value: between's bounds must both be numbers or both dates/datetimes; got a number and a date"
            ]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "is_empty", "value": "x"})),
            vec!["/config/filter/value: is_empty takes no value"]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "eq"})),
            vec!["/config/filter/value: eq needs a value"]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "eq", "value": ""})),
            vec!["/config/filter/value: the value is empty; use is_empty"]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "eq", "value": ["x"]})),
            vec!["/config/filter/value: eq takes one value, not a list (see in)"]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "in", "value": "x"})),
            vec![
                "/config/filter/value: in needs a list of values, such as [\"lead\", \"customer\"]"
            ]
        );
        assert_eq!(
            errors(json!({"field": " a", "op": "gt", "value": 1, "type": "text"})),
            vec![
                "/config/filter/field: the field name \" a\" has spaces around it",
                "/config/filter/type: gt compares numbers, dates or datetimes, not text"
            ]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "contains", "value": "1", "type": "number"})),
            vec!["/config/filter/type: contains compares text, not a number"]
        );
        assert_eq!(
            errors(json!({"field": "a", "op": "gt", "value": 1, "case_sensitive": true})),
            vec![
                "/config/filter/case_sensitive: case_sensitive applies to text comparisons; gt does not compare text here"
            ]
        );
        assert_eq!(
            errors(json!({"all": [{"any": []}, {"field": "", "op": "not_empty"}]})),
            vec![
                "/config/filter/all/0/any: add at least one filter",
                "/config/filter/all/1/field: the field name is empty"
            ]
        );
    }

    #[test]
    fn wrong_shapes_are_refused_when_parsing() {
        let bad = |v: serde_json::Value| {
            serde_json::from_value::<Filter>(v)
                .expect_err("refused")
                .to_string()
        };
        assert!(
            bad(json!({"field": "a", "op": "like", "value": "x"}))
                .contains("unknown variant `like`")
        );
        assert!(
            bad(json!({"field": "a", "op": "eq", "vale": "x"})).contains("unknown field `vale`")
        );
        assert!(bad(json!({"all": [], "any": []})).contains("either `all` or `any`"));
        assert!(bad(json!({"all": [], "field": "a"})).contains("cannot also be a condition"));
        assert!(bad(json!({"field": "a"})).contains("missing field `op`"));
        assert!(bad(json!({})).contains("expected `all`, `any`"));
        assert!(
            bad(json!({"field": "a", "op": "eq", "value": null})).contains("null is not a value")
        );
        assert!(
            bad(json!({"field": "a", "op": "in", "value": [{"x": 1}]}))
                .contains("a string, number or boolean")
        );
        assert!(bad(json!("eq")).contains("a filter"));
    }

    #[test]
    fn filters_serialize_back_to_their_json() {
        let v = json!({"any": [
            {"field": "a", "op": "in", "value": ["1", "2"], "type": "number"},
            {"all": [{"field": "b", "op": "eq", "value": "X", "case_sensitive": true}]}
        ]});
        assert_eq!(serde_json::to_value(parse(v.clone())).unwrap(), v);
    }

    fn crm_of(v: serde_json::Value) -> Option<crm::Filter> {
        compile(v).to_crm()
    }

    fn c(p: &str, op: Op, vs: &[&str]) -> Clause {
        Clause::new(p, op, vs)
    }

    #[test]
    fn pushdown_keeps_what_the_crm_can_compare_the_same_way() {
        // Case-insensitive text with letters only tells the CRM the property is set.
        assert_eq!(
            crm_of(json!({"field": "s", "op": "eq", "value": "lead"})),
            Some(crm::Filter::all(vec![c("s", Op::HasProperty, &[])]))
        );
        assert_eq!(
            crm_of(json!({"field": "s", "op": "eq", "value": "lead", "case_sensitive": true})),
            Some(crm::Filter::all(vec![c("s", Op::Eq, &["lead"])]))
        );
        assert_eq!(
            crm_of(json!({"field": "z", "op": "in", "value": ["75001", "75002"]})),
            Some(crm::Filter::all(vec![c("z", Op::In, &["75001", "75002"])]))
        );
        assert_eq!(
            crm_of(json!({"field": "s", "op": "neq", "value": "x", "case_sensitive": true})),
            None
        );
        assert_eq!(crm_of(json!({"field": "s", "op": "is_empty"})), None);
        assert_eq!(
            crm_of(json!({"field": "n", "op": "gt", "value": 5, "type": "number"})),
            Some(crm::Filter::all(vec![c("n", Op::Gte, &["5"])]))
        );
        // Without a declared type the CRM might compare numbers as text.
        assert_eq!(
            crm_of(json!({"field": "n", "op": "gt", "value": 5})),
            Some(crm::Filter::all(vec![c("n", Op::HasProperty, &[])]))
        );
        assert_eq!(
            crm_of(
                json!({"field": "d", "op": "between", "value": ["2024-01-01", "2024-01-31T12:00:00Z"]})
            ),
            Some(crm::Filter::all(vec![
                c("d", Op::Gte, &["2023-12-31"]),
                c("d", Op::Lt, &["2024-02-02"])
            ]))
        );
    }

    #[test]
    fn pushdown_combines_groups_within_limits() {
        let f = json!({"all": [
            {"field": "a", "op": "not_empty"},
            {"any": [
                {"field": "b", "op": "not_empty"},
                {"field": "c", "op": "not_empty"}
            ]},
            {"field": "d", "op": "is_empty"}
        ]});
        assert_eq!(
            crm_of(f),
            Some(crm::Filter {
                any_of: vec![
                    vec![c("a", Op::HasProperty, &[]), c("b", Op::HasProperty, &[])],
                    vec![c("a", Op::HasProperty, &[]), c("c", Op::HasProperty, &[])],
                ]
            })
        );
        // Any branch that admits everything makes the OR admit everything.
        assert_eq!(
            crm_of(
                json!({"any": [{"field": "a", "op": "not_empty"}, {"field": "b", "op": "is_empty"}]})
            ),
            None
        );
        // A product too large for the CRM keeps only what fits.
        let wide: Vec<_> = (0..4)
            .map(|i| {
                json!({"any": [
                    {"field": format!("x{i}"), "op": "not_empty"},
                    {"field": format!("y{i}"), "op": "not_empty"}
                ]})
            })
            .collect();
        let pushed = crm_of(json!({"all": wide})).expect("some pushdown");
        assert!(fits(&pushed.any_of));
        assert_eq!(pushed.any_of.len(), 4);
    }

    #[test]
    fn pushdown_admits_every_record_the_filter_matches() {
        // The CRM CSV adapter's semantics stand in for a CRM here: compare as numbers when
        // both parse, else case-insensitively; so a pushed filter must never be narrower.
        let filters = [
            json!({"field": "f", "op": "eq", "value": "Lead"}),
            json!({"field": "f", "op": "neq", "value": "lead", "case_sensitive": true}),
            json!({"field": "f", "op": "between", "value": ["2024-01-01", "2024-01-31"]}),
            json!({"field": "f", "op": "lte", "value": "2024-01-31T00:00:00Z"}),
            json!({"field": "f", "op": "gt", "value": "9", "type": "number"}),
            json!({"field": "f", "op": "in", "value": ["1", "2"], "type": "number"}),
        ];
        let values = [
            "lead",
            "Lead",
            "x",
            "2024-01-31",
            "2024-01-31T23:00:00Z",
            "2024-02-01T01:00:00+02:00",
            "10",
            "9.5",
            "2.0",
            "1",
        ];
        for f in filters {
            let compiled = compile(f.clone());
            let pushed = compiled.to_crm();
            for v in values {
                let r = rec(&[("f", v)]);
                if compiled.matches(&r) {
                    let admitted = pushed
                        .as_ref()
                        .is_none_or(|p| p.any_of.iter().any(|g| g.iter().all(|c| csv_like(c, v))));
                    assert!(
                        admitted,
                        "{f} matches {v:?} but {pushed:?} does not admit it"
                    );
                }
            }
        }
    }

    /// A clause as the CSV adapter evaluates it on a present value.
    fn csv_like(c: &Clause, v: &str) -> bool {
        let cmp = |b: &str| match (v.trim().parse::<f64>(), b.trim().parse::<f64>()) {
            (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => v.to_lowercase().cmp(&b.to_lowercase()),
        };
        let first = c.values.first().map(String::as_str).unwrap_or_default();
        match c.op {
            Op::HasProperty => true,
            Op::NotHasProperty => false,
            Op::Eq => cmp(first).is_eq(),
            Op::Neq => !cmp(first).is_eq(),
            Op::Lt => cmp(first).is_lt(),
            Op::Lte => cmp(first).is_le(),
            Op::Gt => cmp(first).is_gt(),
            Op::Gte => cmp(first).is_ge(),
            Op::In => c.values.iter().any(|x| cmp(x).is_eq()),
            Op::NotIn => !c.values.iter().any(|x| cmp(x).is_eq()),
        }
    }
}
