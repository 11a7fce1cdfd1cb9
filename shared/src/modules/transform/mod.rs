//! Transform: ordered field functions (trim, case, phone, email, country, state, name
//! split, join, regex replace, dates, ...) applied to every record of one object.
//!
//! Steps chain: each works on the value the steps before it left. A record's change lists
//! only the fields whose final value differs from what the CRM holds, with a note naming
//! every value a function had to leave alone (`phone: "n/a" is not a phone number`).

use std::borrow::Cow;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use super::fields::FieldUse;
use super::filter::check_field_name;
use super::{Action, Change, FieldChange, RecordEngine};
use crate::crm::Record;
use crate::error::FieldError;

pub(crate) mod dates;
pub(crate) mod names;
pub(crate) mod phone;
pub(crate) mod places;
pub(crate) mod tagged;
pub(crate) mod web;

#[cfg(test)]
mod tests;

pub use phone::PhoneFormat;

/// A transform template's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// The CRM object (`contacts`, `Contact`, ...).
    pub object: String,
    /// Applied in order to every record.
    pub steps: Vec<Step>,
    /// Report records whose only news is a problem (a phone that is no phone number) as
    /// `Flag` changes, so the audit lists them. Off: such records produce no change.
    #[serde(default, skip_serializing_if = "is_false")]
    pub flag_problems: bool,
}

/// One function applied to one field: `{"field": "phone", "fn": "phone", "format": "e164"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The field the function rewrites (for `split_name`: the field it reads; for `join`
    /// and `copy`: the field they write).
    pub field: String,
    #[serde(flatten)]
    pub function: Function,
}

/// The functions, named by `fn`, with their parameters.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "fn", rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub enum Function {
    /// Strip leading and trailing whitespace; with `collapse` (the default) also turn every
    /// run of whitespace inside into one space.
    Trim(Trim),
    Upper,
    Lower,
    /// Name-aware title case: `JOHN mcdonald-o'brien` -> `John McDonald-O'Brien`.
    TitleCase(TitleCase),
    Phone(Phone),
    /// Trim and lowercase a valid address; an invalid one is left alone and reported.
    Email,
    Country(Country),
    State(State),
    /// Split the full name in `field` into `first` and `last`.
    SplitName(SplitName),
    /// Write the non-empty `from` values, joined by `separator`, into `field`.
    Join(Join),
    /// Write `from`'s value into `field`.
    Copy(CopyFrom),
    /// Regex replace, every match.
    Replace(Replace),
    /// Remove characters: a literal set and/or classes.
    Remove(Remove),
    Date(Date),
    /// Set `value` when the field is empty.
    Default(DefaultValue),
    /// A web address (or email) reduced to its domain: `https://www.Acme.com/x` -> `acme.com`.
    Domain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trim {
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub collapse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TitleCase {
    /// Keep `van`, `de`, `la`, ... lowercase unless last: `van der Berg`, `Maria de la Cruz`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub particles: bool,
    /// `macleod` -> `MacLeod` (known non-Mac names such as Machado and Mackie excepted).
    #[serde(default, skip_serializing_if = "is_false")]
    pub mac: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    #[serde(default)]
    pub format: PhoneFormat,
    /// ISO 3166 alpha-2 region for numbers written without a country code (`US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,
    /// A field holding each record's country (`DE`, `DEU`, `Germany`): its numbers written
    /// without a country code are read, and written nationally, as that country's. A
    /// record whose country is empty or not a country falls back to `default_region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountryForm {
    /// `United States`
    Name,
    /// `US`
    Alpha2,
    /// `USA`
    Alpha3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Country {
    pub to: CountryForm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateForm {
    /// `CA`, `ON`
    Code,
    /// `California`, `Ontario`
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StateCountry {
    US,
    CA,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub to: StateForm,
    /// Only this country's states; both US and Canada when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<StateCountry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitName {
    pub first: String,
    pub last: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    pub from: Vec<String>,
    #[serde(default = "space")]
    pub separator: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyFrom {
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replace {
    /// A Rust `regex` pattern.
    pub pattern: String,
    /// The replacement; `$1`, `${name}` insert groups, `$$` is a dollar sign.
    #[serde(default)]
    pub with: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CharClass {
    /// Decimal digits of any script.
    Digits,
    /// Letters (with their accents) of any script.
    Letters,
    /// Punctuation: `.,;:!?'"()[]{}-_/` and the like, of any script.
    Punctuation,
    /// Symbols: `$+<=>^`|~`, currency signs, emoji.
    Symbols,
    Whitespace,
    /// Control and invisible formatting characters (zero-width space, BOM), except tab
    /// and line breaks.
    NonPrintable,
    /// Everything outside ASCII.
    NonAscii,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Remove {
    /// Characters to remove, literally (`"()-."`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chars: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<CharClass>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Date {
    /// chrono formats to read, tried in order; absent: every common layout is recognised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    /// The chrono format to write (`%Y-%m-%d`).
    pub to: String,
    /// Read `03/05/2024` as 3 May rather than March 5 (automatic recognition only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub day_first: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultValue {
    pub value: String,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn space() -> String {
    " ".to_string()
}

/// The `fn` names, for deserializing: serde lists them when one is unknown.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum FnName {
    Trim,
    Upper,
    Lower,
    TitleCase,
    Phone,
    Email,
    Country,
    State,
    SplitName,
    Join,
    Copy,
    Replace,
    Remove,
    Date,
    Default,
    Domain,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = tagged::object(d, r#"{"field": "phone", "fn": "phone"}"#)?;
        let field: String = tagged::take(&mut map, "field")?;
        let name: FnName = tagged::take(&mut map, "fn")?;
        let unit = |map, f: Function| tagged::rest::<tagged::NoParams, D::Error>(map).map(|_| f);
        let function = match name {
            FnName::Trim => Function::Trim(tagged::rest(map)?),
            FnName::Upper => unit(map, Function::Upper)?,
            FnName::Lower => unit(map, Function::Lower)?,
            FnName::TitleCase => Function::TitleCase(tagged::rest(map)?),
            FnName::Phone => Function::Phone(tagged::rest(map)?),
            FnName::Email => unit(map, Function::Email)?,
            FnName::Country => Function::Country(tagged::rest(map)?),
            FnName::State => Function::State(tagged::rest(map)?),
            FnName::SplitName => Function::SplitName(tagged::rest(map)?),
            FnName::Join => Function::Join(tagged::rest(map)?),
            FnName::Copy => Function::Copy(tagged::rest(map)?),
            FnName::Replace => Function::Replace(tagged::rest(map)?),
            FnName::Remove => Function::Remove(tagged::rest(map)?),
            FnName::Date => Function::Date(tagged::rest(map)?),
            FnName::Default => Function::Default(tagged::rest(map)?),
            FnName::Domain => unit(map, Function::Domain)?,
        };
        Ok(Step { field, function })
    }
}

/// Built from `Function`'s schema (each function's parameters, under its `fn` name), with
/// `field` added to every variant: one object, unknown keys refused, as the visitor reads it.
impl JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }
    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Step").into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
        let field = serde_json::json!({
            "type": "string",
            "description": "The field the function rewrites (for `split_name`: the field it \
                            reads; for `join` and `copy`: the field they write)."
        });
        let mut schema = Function::json_schema(generator);
        tagged::add_property(&mut schema, "field", field, true);
        schema.insert(
            "description".into(),
            "One function applied to one field: `{\"field\": \"phone\", \"fn\": \"phone\", \
             \"format\": \"e164\"}`."
                .into(),
        );
        schema
    }
}

impl TransformConfig {
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Every semantic error (a regex that does not compile, an unknown region), each with
    /// a pointer under `/config`. Empty when the config is good.
    pub fn check(&self) -> Vec<FieldError> {
        self.compile().err().unwrap_or_default()
    }

    /// The engine, with regexes, formats and regions compiled once.
    pub fn compile(&self) -> Result<TransformEngine, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.object.trim().is_empty() {
            errors.push(FieldError::new("/config/object", "must not be empty"));
        }
        if self.steps.is_empty() {
            errors.push(FieldError::new("/config/steps", "needs at least one step"));
        }
        let mut fields = Fields::default();
        let steps = compile_steps(&self.steps, "/config/steps", &mut fields, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TransformEngine {
            object: self.object.clone(),
            fields,
            steps,
            flag_problems: self.flag_problems,
        })
    }

    pub fn engine(&self) -> Result<Box<dyn RecordEngine>, Vec<FieldError>> {
        Ok(Box::new(self.compile()?))
    }

    /// Every field the config names, with its pointer, and whether a step writes it.
    pub fn field_uses(&self) -> Vec<FieldUse> {
        let mut out = Vec::new();
        step_field_uses(&self.steps, "/config/steps", &mut out);
        out
    }
}

/// The fields `steps` name (under `base`, such as `/config/steps`), as `compile_steps`
/// reads and writes them.
pub(crate) fn step_field_uses(steps: &[Step], base: &str, out: &mut Vec<FieldUse>) {
    for (i, step) in steps.iter().enumerate() {
        let at = |rest: &str| format!("{base}/{i}/{rest}");
        match &step.function {
            Function::SplitName(s) => {
                out.push(FieldUse::read(at("field"), &step.field));
                out.push(FieldUse::written(at("first"), &s.first));
                out.push(FieldUse::written(at("last"), &s.last));
            }
            Function::Join(j) => {
                out.push(FieldUse::written(at("field"), &step.field));
                for (k, f) in j.from.iter().enumerate() {
                    out.push(FieldUse::read(at(&format!("from/{k}")), f));
                }
            }
            Function::Copy(c) => {
                out.push(FieldUse::written(at("field"), &step.field));
                out.push(FieldUse::read(at("from"), &c.from));
            }
            _ => out.push(FieldUse::written(at("field"), &step.field)),
        }
    }
}

/// The fields an engine touches, each with a slot in the per-record working values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    names: Vec<String>,
    index: HashMap<String, usize>,
    written: Vec<bool>,
}

impl Fields {
    fn slot(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.written.push(false);
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }

    fn write(&mut self, name: &str) -> usize {
        let i = self.slot(name);
        self.written[i] = true;
        i
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn columns(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.names.len()).filter(|&i| self.written[i])
    }
}

/// One step ready to run.
#[derive(Debug, Clone)]
pub struct CompiledStep {
    field: String,
    slot: usize,
    op: Op,
}

#[derive(Debug, Clone)]
enum Op {
    Value(ValueFn),
    SplitName {
        first: (usize, String),
        last: (usize, String),
    },
    Join {
        from: Vec<(usize, String)>,
        separator: String,
    },
    Copy {
        from: (usize, String),
    },
    /// `phone` with `region_field`: the region is the record's country where it has one.
    PhoneIn {
        phone: phone::PhoneFn,
        country: (usize, String),
    },
}

/// A function of one value.
#[derive(Debug, Clone)]
enum ValueFn {
    Trim {
        collapse: bool,
    },
    Upper,
    Lower,
    TitleCase(names::TitleOptions),
    Phone(phone::PhoneFn),
    Email,
    Country(CountryForm),
    State {
        to: StateForm,
        countries: &'static [&'static str],
    },
    Replace {
        re: Regex,
        with: String,
    },
    Remove(Regex),
    Date(dates::DateFn),
    Default(String),
    Domain,
}

/// What a value function did to one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    Same,
    /// The new value; empty clears the field.
    Set(String),
    /// Left as it was, because (`"abc" is not a phone number`).
    Problem(String),
}

/// What one step does to a record: the public face of a step, for callers that apply a
/// single function (a grid column, a preview of one cell).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepResult {
    /// Fields to write and their new value (None: empty). Empty when nothing changes.
    pub writes: Vec<(String, Option<String>)>,
    /// Why the value was left as it was (`"abc" is not a phone number`).
    pub problem: Option<String>,
}

impl CompiledStep {
    /// The field the step rewrites (or, for `split_name`, reads).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Applies the step to `value`, the step's field as the steps before it left it.
    /// `join` and `copy` read their sources from `record`.
    pub fn apply(&self, value: Option<&str>, record: &Record) -> StepResult {
        let get = |name: &str| non_empty(record.properties.get(name).and_then(|v| v.as_deref()));
        let mut writes = Vec::new();
        let mut problem = None;
        let mut write = |name: &str, current: Option<&str>, new: Option<String>| {
            if non_empty(current) != new.as_deref() {
                writes.push((name.to_string(), new));
            }
        };
        match &self.op {
            Op::Value(f) => match f.apply(value) {
                Out::Same => {}
                Out::Set(s) => write(&self.field, value, Some(s).filter(|s| !s.is_empty())),
                Out::Problem(p) => problem = Some(p),
            },
            Op::SplitName { first, last } => {
                if let Some(split) = value.and_then(names::split_name) {
                    write(&first.1, get(&first.1), Some(split.first));
                    if let Some(l) = split.last {
                        write(&last.1, get(&last.1), Some(l));
                    }
                }
            }
            Op::Join { from, separator } => {
                if let Some(joined) = join(from.iter().map(|(_, f)| get(f)), separator) {
                    write(&self.field, value, Some(joined));
                }
            }
            Op::Copy { from } => {
                if let Some(v) = get(&from.1) {
                    write(&self.field, value, Some(v.to_string()));
                }
            }
            Op::PhoneIn { phone, country } => {
                if let Some(v) = value {
                    match phone.in_country(get(&country.1)).apply(v) {
                        Out::Same => {}
                        Out::Set(s) => write(&self.field, value, Some(s).filter(|s| !s.is_empty())),
                        Out::Problem(p) => problem = Some(p),
                    }
                }
            }
        }
        StepResult { writes, problem }
    }

    /// Runs the step on a record's working values, noting problems.
    fn run(&self, vals: &mut [Option<Cow<'_, str>>], notes: &mut String) {
        match &self.op {
            Op::Value(f) => match f.apply(vals[self.slot].as_deref()) {
                Out::Same => {}
                Out::Set(s) => vals[self.slot] = (!s.is_empty()).then_some(Cow::Owned(s)),
                Out::Problem(p) => note(notes, &self.field, &p),
            },
            Op::SplitName { first, last } => {
                if let Some(split) = vals[self.slot].as_deref().and_then(names::split_name) {
                    vals[first.0] = Some(Cow::Owned(split.first));
                    if let Some(l) = split.last {
                        vals[last.0] = Some(Cow::Owned(l));
                    }
                }
            }
            Op::Join { from, separator } => {
                let joined = join(
                    from.iter().map(|(s, _)| non_empty(vals[*s].as_deref())),
                    separator,
                );
                if let Some(j) = joined {
                    vals[self.slot] = Some(Cow::Owned(j));
                }
            }
            Op::Copy { from } => {
                if non_empty(vals[from.0].as_deref()).is_some() {
                    vals[self.slot] = vals[from.0].clone();
                }
            }
            Op::PhoneIn { phone, country } => {
                let Some(v) = vals[self.slot].as_deref() else {
                    return;
                };
                match phone
                    .in_country(non_empty(vals[country.0].as_deref()))
                    .apply(v)
                {
                    Out::Same => {}
                    Out::Set(s) => vals[self.slot] = (!s.is_empty()).then_some(Cow::Owned(s)),
                    Out::Problem(p) => note(notes, &self.field, &p),
                }
            }
        }
    }
}

/// The non-empty values, trimmed, joined; None when every value is empty.
fn join<'a>(values: impl Iterator<Item = Option<&'a str>>, separator: &str) -> Option<String> {
    let mut out = String::new();
    let mut any = false;
    for v in values.flatten().map(str::trim).filter(|v| !v.is_empty()) {
        if any {
            out.push_str(separator);
        }
        out.push_str(v);
        any = true;
    }
    any.then_some(out)
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

fn note(notes: &mut String, field: &str, problem: &str) {
    if !notes.is_empty() {
        notes.push_str("; ");
    }
    notes.push_str(field);
    notes.push_str(": ");
    notes.push_str(problem);
}

/// A value for a note: quoted, escaped, and cut after 60 characters.
pub(crate) fn quote(v: &str) -> String {
    const MAX: usize = 60;
    match v.char_indices().nth(MAX) {
        None => format!("{v:?}"),
        Some((cut, _)) => format!("{:?}…", &v[..cut]),
    }
}

/// Lowercase, without allocating twice for ASCII.
pub(crate) fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

impl ValueFn {
    fn apply(&self, value: Option<&str>) -> Out {
        match (self, value) {
            (ValueFn::Default(d), v) if v.is_none_or(|s| s.trim().is_empty()) => {
                Out::Set(d.clone())
            }
            (_, None) => Out::Same,
            (_, Some(v)) => self.apply_str(v),
        }
    }

    fn apply_str(&self, v: &str) -> Out {
        let changed = |new: String| if new == v { Out::Same } else { Out::Set(new) };
        match self {
            ValueFn::Trim { collapse } => trim(v, *collapse),
            ValueFn::Upper => {
                if v.is_ascii() && !v.bytes().any(|b| b.is_ascii_lowercase()) {
                    Out::Same
                } else {
                    changed(v.to_uppercase())
                }
            }
            ValueFn::Lower => {
                if v.is_ascii() && !v.bytes().any(|b| b.is_ascii_uppercase()) {
                    Out::Same
                } else {
                    changed(lowercase(v))
                }
            }
            ValueFn::TitleCase(opts) => changed(names::title_case(v, *opts)),
            ValueFn::Phone(f) => f.apply(v),
            ValueFn::Email => web::email(v),
            ValueFn::Domain => web::domain(v),
            ValueFn::Country(form) => {
                if v.trim().is_empty() {
                    return Out::Same;
                }
                match places::country(v) {
                    Some(i) => {
                        let (a2, a3, name, _) = places::COUNTRIES[i];
                        let target = match form {
                            CountryForm::Name => name,
                            CountryForm::Alpha2 => a2,
                            CountryForm::Alpha3 => a3,
                        };
                        if target == v {
                            Out::Same
                        } else {
                            Out::Set(target.to_string())
                        }
                    }
                    None => Out::Problem(format!("{} is not a country", quote(v))),
                }
            }
            ValueFn::State { to, countries } => {
                if v.trim().is_empty() {
                    return Out::Same;
                }
                match places::state(v, countries) {
                    Some(i) => {
                        let (_, code, name, _) = places::STATES[i];
                        let target = if *to == StateForm::Code { code } else { name };
                        if target == v {
                            Out::Same
                        } else {
                            Out::Set(target.to_string())
                        }
                    }
                    None => Out::Problem(format!(
                        "{} is not a {}",
                        quote(v),
                        match *countries {
                            ["US"] => "US state",
                            ["CA"] => "Canadian province",
                            _ => "US state or Canadian province",
                        }
                    )),
                }
            }
            ValueFn::Replace { re, with } => match re.replace_all(v, with.as_str()) {
                Cow::Borrowed(_) => Out::Same,
                Cow::Owned(s) => changed(s),
            },
            ValueFn::Remove(re) => match re.replace_all(v, regex::NoExpand("")) {
                Cow::Borrowed(_) => Out::Same,
                Cow::Owned(s) => changed(s),
            },
            ValueFn::Date(f) => f.apply(v),
            ValueFn::Default(_) => Out::Same,
        }
    }
}

/// Trims, and with `collapse` turns each whitespace run inside into one space.
fn trim(v: &str, collapse: bool) -> Out {
    let t = v.trim();
    if !collapse || t.is_empty() {
        return if t.len() == v.len() {
            Out::Same
        } else {
            Out::Set(t.to_string())
        };
    }
    let mut after_space = false;
    let regular = t.chars().all(|c| {
        let ok = !c.is_whitespace() || (c == ' ' && !after_space);
        after_space = c.is_whitespace();
        ok
    });
    if regular && t.len() == v.len() {
        return Out::Same;
    }
    let mut out = String::with_capacity(t.len());
    for (i, word) in t.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    Out::Set(out)
}

/// Collects the errors of one config element, with pointers under its own.
pub(crate) struct Errors<'a> {
    pub at: String,
    pub list: &'a mut Vec<FieldError>,
}

impl Errors<'_> {
    fn pointer(&self, key: &str) -> String {
        if key.is_empty() {
            self.at.clone()
        } else {
            format!("{}/{key}", self.at)
        }
    }

    /// An error at `key` under this element (`""`: the element itself).
    pub(crate) fn add(&mut self, key: &str, detail: impl Into<String>) {
        let pointer = self.pointer(key);
        self.list.push(FieldError::new(pointer, detail));
    }

    /// Checks the field name at `key`: present, without stray spaces.
    pub(crate) fn field(&mut self, key: &str, name: &str) {
        let pointer = self.pointer(key);
        check_field_name(&pointer, name, self.list);
    }
}

/// Compiles `steps` (pointers `{base}/{i}/...`), registering their fields in `fields`.
pub(crate) fn compile_steps(
    steps: &[Step],
    base: &str,
    fields: &mut Fields,
    errors: &mut Vec<FieldError>,
) -> Vec<CompiledStep> {
    let mut out = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let mut e = Errors {
            at: format!("{base}/{i}"),
            list: errors,
        };
        e.field("field", &step.field);
        // The step's own field first, so reads keep the config's order; written unless it
        // is the full name `split_name` reads.
        let slot = if matches!(step.function, Function::SplitName(_)) {
            fields.slot(&step.field)
        } else {
            fields.write(&step.field)
        };
        if let Some(op) = compile_op(step, fields, &mut e) {
            out.push(CompiledStep {
                field: step.field.clone(),
                slot,
                op,
            });
        }
    }
    out
}

/// The step's operation, or None (with errors) when its parameters are wrong.
fn compile_op(step: &Step, fields: &mut Fields, e: &mut Errors<'_>) -> Option<Op> {
    let mut named = |key: &str, name: &str, write: bool, e: &mut Errors<'_>| {
        e.field(key, name);
        let slot = if write {
            fields.write(name)
        } else {
            fields.slot(name)
        };
        (slot, name.to_string())
    };
    let f = match &step.function {
        Function::Trim(t) => ValueFn::Trim {
            collapse: t.collapse,
        },
        Function::Upper => ValueFn::Upper,
        Function::Lower => ValueFn::Lower,
        Function::TitleCase(t) => ValueFn::TitleCase(names::TitleOptions {
            particles: t.particles,
            mac: t.mac,
        }),
        Function::Email => ValueFn::Email,
        Function::Domain => ValueFn::Domain,
        Function::Country(c) => ValueFn::Country(c.to),
        Function::State(s) => ValueFn::State {
            to: s.to,
            countries: match s.country {
                None => &["US", "CA"],
                Some(StateCountry::US) => &["US"],
                Some(StateCountry::CA) => &["CA"],
            },
        },
        Function::Phone(p) => {
            let region = p.default_region.as_deref().and_then(|code| {
                let region = phone::Region::parse(code);
                if region.is_none() {
                    e.add("default_region", unknown_region(code));
                }
                region
            });
            if p.format == PhoneFormat::National
                && p.default_region.is_none()
                && p.region_field.is_none()
            {
                e.add(
                    "default_region",
                    "is needed with the national format (or `region_field`): numbers of this \
                     region are written nationally, others internationally",
                );
            }
            let phone = phone::PhoneFn {
                format: p.format,
                region,
            };
            if let Some(f) = &p.region_field {
                if *f == step.field {
                    e.add(
                        "region_field",
                        "is the phone field itself: name the field holding the record's country",
                    );
                }
                return Some(Op::PhoneIn {
                    phone,
                    country: named("region_field", f, false, e),
                });
            }
            ValueFn::Phone(phone)
        }
        Function::Replace(r) => {
            if r.pattern.is_empty() {
                e.add("pattern", "must not be empty");
                return None;
            }
            let re = RegexBuilder::new(&r.pattern)
                .case_insensitive(r.ignore_case)
                .build()
                .map_err(|err| e.add("pattern", regex_error(&err)))
                .ok()?;
            if let Err(err) = check_replacement(&r.with, &re) {
                e.add("with", err);
            }
            ValueFn::Replace {
                re,
                with: r.with.clone(),
            }
        }
        Function::Remove(r) => {
            if r.chars.is_empty() && r.classes.is_empty() {
                e.add("", "needs `chars`, `classes` or both");
                return None;
            }
            let re = Regex::new(&remove_class(&r.chars, &r.classes))
                .map_err(|err| e.add("chars", regex_error(&err)))
                .ok()?;
            ValueFn::Remove(re)
        }
        Function::Date(d) => {
            let mut from = Vec::with_capacity(d.from.len());
            for (j, f) in d.from.iter().enumerate() {
                match dates::compile(f)
                    .and_then(|items| dates::check_input(f, &items).map(|()| items))
                {
                    Ok(items) => from.push(items),
                    Err(err) => e.add(&format!("from/{j}"), err),
                }
            }
            let to = dates::compile(&d.to)
                .and_then(|items| dates::check_output(&d.to, &items).map(|()| items))
                .map_err(|err| e.add("to", err))
                .ok()?;
            ValueFn::Date(dates::DateFn {
                from,
                to,
                day_first: d.day_first,
            })
        }
        Function::Default(d) => {
            if d.value.trim().is_empty() {
                e.add("value", "must not be empty");
            }
            ValueFn::Default(d.value.clone())
        }
        Function::SplitName(s) => {
            if s.first == s.last && !s.first.trim().is_empty() {
                e.add("last", "must differ from `first`");
            }
            return Some(Op::SplitName {
                first: named("first", &s.first, true, e),
                last: named("last", &s.last, true, e),
            });
        }
        Function::Join(j) => {
            if j.from.is_empty() {
                e.add("from", "needs at least one field");
            }
            let mut from = Vec::with_capacity(j.from.len());
            for (k, f) in j.from.iter().enumerate() {
                if *f == step.field {
                    e.add(
                        &format!("from/{k}"),
                        format!(
                            "{f:?} is the field being written: joining a field into itself \
                             would grow it on every run"
                        ),
                    );
                }
                from.push(named(&format!("from/{k}"), f, false, e));
            }
            return Some(Op::Join {
                from,
                separator: j.separator.clone(),
            });
        }
        Function::Copy(c) => {
            if c.from == step.field {
                e.add(
                    "from",
                    "is the field being written: copying a field onto itself does nothing",
                );
            }
            return Some(Op::Copy {
                from: named("from", &c.from, false, e),
            });
        }
    };
    Some(Op::Value(f))
}

pub(crate) fn unknown_region(code: &str) -> String {
    format!(
        "{code:?} is not a region known to libphonenumber (an ISO 3166 alpha-2 code such \
         as US or GB)"
    )
}

/// regex's multi-line error as one line: `regex parse error: unclosed group`.
pub(crate) fn regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => {
            let reason = s
                .lines()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or(s.trim());
            format!("regex parse error: {reason}")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("pattern is too big once compiled (more than {limit} bytes)")
        }
        other => format!("regex error: {other}"),
    }
}

/// Checks that every `$group` in a replacement names a group of `re`. regex silently
/// inserts nothing for an unknown one, and reads `$1a` as the group named `1a`.
fn check_replacement(with: &str, re: &Regex) -> Result<(), String> {
    let mut rest = with;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            rest = r;
            continue;
        }
        let (name, braced) = if let Some(r) = rest.strip_prefix('{') {
            match r.find('}') {
                Some(end) => (&r[..end], true),
                None => return Err("has `${` without a closing `}`".into()),
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], false)
        };
        if name.is_empty() {
            continue;
        }
        let known = match name.parse::<usize>() {
            Ok(n) => n < re.captures_len(),
            Err(_) => re.capture_names().flatten().any(|n| n == name),
        };
        if !known {
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            let hint = if !braced && !digits.is_empty() && digits.len() < name.len() {
                format!(
                    " (regex reads `${name}` as a group named {name:?}; write `${{{digits}}}{}`)",
                    &name[digits.len()..]
                )
            } else {
                String::new()
            };
            return Err(format!(
                "`${name}` refers to no group of the pattern, which has {} numbered group(s){hint}",
                re.captures_len() - 1
            ));
        }
        rest = &rest[name.len() + if braced { 2 } else { 0 }..];
    }
    Ok(())
}

/// One regex character class for `remove`: the literal characters and the classes.
fn remove_class(chars: &str, classes: &[CharClass]) -> String {
    let mut class = String::from("[");
    for c in chars.chars() {
        class.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
    }
    for c in classes {
        class.push_str(match c {
            CharClass::Digits => r"\p{Nd}",
            CharClass::Letters => r"\p{L}\p{M}",
            CharClass::Punctuation => r"\p{P}",
            CharClass::Symbols => r"\p{S}",
            CharClass::Whitespace => r"\s",
            CharClass::NonPrintable => r"[[\p{Cc}\p{Cf}]--[\t\n\r]]",
            CharClass::NonAscii => r"[^\x00-\x7F]",
        });
    }
    class.push(']');
    class
}

/// A compiled transform: the `RecordEngine` for transform templates, and the fix step of
/// validate templates.
#[derive(Debug, Clone)]
pub struct TransformEngine {
    object: String,
    fields: Fields,
    steps: Vec<CompiledStep>,
    flag_problems: bool,
}

impl TransformEngine {
    pub(crate) fn from_parts(object: String, fields: Fields, steps: Vec<CompiledStep>) -> Self {
        TransformEngine {
            object,
            fields,
            steps,
            flag_problems: false,
        }
    }

    pub fn steps(&self) -> &[CompiledStep] {
        &self.steps
    }

    /// The fields whose final value differs from the record's, and the problems noted.
    pub fn evaluate(&self, record: &Record) -> (Vec<FieldChange>, String) {
        let names = self.fields.names();
        let originals: Vec<Option<&str>> = names
            .iter()
            .map(|name| record.properties.get(name).and_then(|v| v.as_deref()))
            .collect();
        let mut vals: Vec<Option<Cow<'_, str>>> =
            originals.iter().map(|v| v.map(Cow::Borrowed)).collect();
        let mut notes = String::new();
        for step in &self.steps {
            step.run(&mut vals, &mut notes);
        }
        let mut changes = Vec::new();
        for slot in self.fields.columns() {
            let before = originals[slot];
            let after = vals[slot].take().filter(|v| !v.is_empty());
            if non_empty(before) != after.as_deref() {
                changes.push(FieldChange {
                    field: names[slot].clone(),
                    before: before.map(str::to_string),
                    after: after.map(Cow::into_owned),
                });
            }
        }
        (changes, notes)
    }
}

impl RecordEngine for TransformEngine {
    fn object(&self) -> &str {
        &self.object
    }

    fn reads(&self) -> Vec<String> {
        self.fields.names().to_vec()
    }

    fn columns(&self) -> Vec<String> {
        let names = self.fields.names();
        self.fields.columns().map(|i| names[i].clone()).collect()
    }

    fn plan(&self, record: &Record) -> Option<Change> {
        let (fields, notes) = self.evaluate(record);
        let note = (!notes.is_empty()).then_some(notes);
        let action = if !fields.is_empty() {
            Action::Update
        } else if self.flag_problems && note.is_some() {
            Action::Flag
        } else {
            return None;
        };
        Some(Change {
            id: Some(record.id.clone()),
            action,
            fields,
            note,
        })
    }
}
