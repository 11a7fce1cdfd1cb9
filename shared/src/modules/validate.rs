//! Validate: rules (required, regex, email, phone, allowed values, length, range,
//! cross-field) that report each failing record, and an optional fix (transform steps)
//! that runs on failing records only.
//!
//! A failing record is a `Flag` change whose note lists `field: reason` per failure; with
//! a fix that changes something, an `Update` whose note also says what the fix resolved.

use regex::{Regex, RegexBuilder};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;

use super::fields::FieldUse;
use super::transform::phone::{self, PhoneFormat, Region};
use super::transform::step_field_uses;
use super::transform::{
    Errors, Fields, Step, TransformEngine, compile_steps, quote, regex_error, tagged,
    unknown_region, web,
};
use super::{Action, Change, RecordEngine};
use crate::crm::Record;
use crate::error::FieldError;

/// A validate template's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    /// The CRM object (`contacts`, `Contact`, ...).
    pub object: String,
    /// Every rule is checked on every record.
    pub rules: Vec<Rule>,
    /// Transform steps run on failing records; absent or empty: failing records are
    /// only reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix: Vec<Step>,
}

/// One rule: `{"rule": "email", "field": "email", "message": "needs a real address"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    #[serde(flatten)]
    pub check: Check,
    /// Replaces the reason in the note (`email: needs a real address`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a rule checks. Every rule but `required` and `requires` passes on an empty
/// value: pair it with `required` when the field must also be filled.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub enum Check {
    /// The field is not empty (nor only whitespace).
    Required(FieldRule),
    /// The value matches `pattern` (anywhere: anchor with `^...$` for the whole value).
    Regex(RegexRule),
    /// The value is a syntactically valid email address.
    Email(FieldRule),
    /// The value is a valid phone number (for `region`, when written without a country
    /// code), and with `format` also written in that format.
    Phone(PhoneRule),
    /// The value is one of `values`.
    OneOf(OneOfRule),
    /// The value's length in characters is within `min`..=`max`.
    Length(LengthRule),
    /// The value is a number within `min`..=`max`.
    Range(RangeRule),
    /// `then_required` is filled when `if_present` is filled, or when `if_equals.field`
    /// has `if_equals.value`.
    Requires(RequiresRule),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexRule {
    pub field: String,
    pub pattern: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneRule {
    pub field: String,
    /// ISO 3166 alpha-2 region for numbers written without a country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<PhoneFormat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OneOfRule {
    pub field: String,
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LengthRule {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeRule {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiresRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_present: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_equals: Option<IfEquals>,
    pub then_required: String,
}

/// `field` holds `value` (trimmed, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IfEquals {
    pub field: String,
    pub value: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The `rule` names, for deserializing: serde lists them when one is unknown.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RuleName {
    Required,
    Regex,
    Email,
    Phone,
    OneOf,
    Length,
    Range,
    Requires,
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = tagged::object(d, r#"{"rule": "required", "field": "email"}"#)?;
        let name: RuleName = tagged::take(&mut map, "rule")?;
        let message: Option<String> = tagged::take_opt(&mut map, "message")?;
        let check = match name {
            RuleName::Required => Check::Required(tagged::rest(map)?),
            RuleName::Regex => Check::Regex(tagged::rest(map)?),
            RuleName::Email => Check::Email(tagged::rest(map)?),
            RuleName::Phone => Check::Phone(tagged::rest(map)?),
            RuleName::OneOf => Check::OneOf(tagged::rest(map)?),
            RuleName::Length => Check::Length(tagged::rest(map)?),
            RuleName::Range => Check::Range(tagged::rest(map)?),
            RuleName::Requires => Check::Requires(tagged::rest(map)?),
        };
        Ok(Rule { check, message })
    }
}

/// Built from `Check`'s schema (each rule's parameters under its `rule` name), with the
/// optional `message` added to every variant, as the deserializer reads it.
impl JsonSchema for Rule {
    fn schema_name() -> Cow<'static, str> {
        "Rule".into()
    }
    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Rule").into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
        let message = serde_json::json!({
            "type": ["string", "null"],
            "description": "Replaces the reason in the note (`email: needs a real address`)."
        });
        let mut schema = Check::json_schema(generator);
        tagged::add_property(&mut schema, "message", message, false);
        schema.insert(
            "description".into(),
            "One rule: `{\"rule\": \"email\", \"field\": \"email\", \"message\": \"needs a real \
             address\"}`."
                .into(),
        );
        schema
    }
}

impl Check {
    /// Every field the rule reads.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Check::Requires(r) => r
                .if_present
                .iter()
                .map(String::as_str)
                .chain(r.if_equals.iter().map(|e| e.field.as_str()))
                .chain([r.then_required.as_str()])
                .collect(),
            other => vec![other.field()],
        }
    }

    /// The field a failure is reported on.
    pub fn field(&self) -> &str {
        match self {
            Check::Required(r) | Check::Email(r) => &r.field,
            Check::Regex(r) => &r.field,
            Check::Phone(r) => &r.field,
            Check::OneOf(r) => &r.field,
            Check::Length(r) => &r.field,
            Check::Range(r) => &r.field,
            Check::Requires(r) => &r.then_required,
        }
    }
}

impl ValidateConfig {
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Every semantic error, each with a pointer under `/config`. Empty when good.
    pub fn check(&self) -> Vec<FieldError> {
        self.compile().err().unwrap_or_default()
    }

    /// The engine, with regexes and regions compiled once.
    pub fn compile(&self) -> Result<ValidateEngine, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.object.trim().is_empty() {
            errors.push(FieldError::new("/config/object", "must not be empty"));
        }
        if self.rules.is_empty() {
            errors.push(FieldError::new("/config/rules", "needs at least one rule"));
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, rule) in self.rules.iter().enumerate() {
            let mut e = Errors {
                at: format!("/config/rules/{i}"),
                list: &mut errors,
            };
            if rule.message.as_deref().is_some_and(|m| m.trim().is_empty()) {
                e.add(
                    "message",
                    "must not be empty (leave it out for the default reason)",
                );
            }
            if let Some(test) = compile_test(&rule.check, &mut e) {
                rules.push(CompiledRule {
                    field: rule.check.field().to_string(),
                    test,
                    message: rule.message.clone(),
                });
            }
        }
        let mut fields = Fields::default();
        let steps = compile_steps(&self.fix, "/config/fix", &mut fields, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut reads: Vec<String> = Vec::new();
        let rule_fields = self.rules.iter().flat_map(|r| r.check.fields());
        for f in rule_fields.chain(fields.names().iter().map(String::as_str)) {
            if !reads.iter().any(|r| r == f) {
                reads.push(f.to_string());
            }
        }
        let fix = (!steps.is_empty())
            .then(|| TransformEngine::from_parts(self.object.clone(), fields, steps));
        Ok(ValidateEngine {
            object: self.object.clone(),
            rules,
            fix,
            reads,
        })
    }

    pub fn engine(&self) -> Result<Box<dyn RecordEngine>, Vec<FieldError>> {
        Ok(Box::new(self.compile()?))
    }

    /// Every field the config names, with its pointer: rules read, fix steps write.
    pub fn field_uses(&self) -> Vec<FieldUse> {
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |rest: &str| format!("/config/rules/{i}/{rest}");
            match &rule.check {
                Check::Requires(r) => {
                    if let Some(f) = &r.if_present {
                        out.push(FieldUse::read(at("if_present"), f));
                    }
                    if let Some(e) = &r.if_equals {
                        out.push(FieldUse::read(at("if_equals/field"), &e.field));
                    }
                    out.push(FieldUse::read(at("then_required"), &r.then_required));
                }
                other => out.push(FieldUse::read(at("field"), other.field())),
            }
        }
        step_field_uses(&self.fix, "/config/fix", &mut out);
        out
    }
}

/// A rule's test, or None (with errors) when its parameters are wrong.
fn compile_test(check: &Check, e: &mut Errors<'_>) -> Option<Test> {
    fn field(key: &str, name: &str, e: &mut Errors<'_>) -> String {
        e.field(key, name);
        name.to_string()
    }
    fn bounds(min: Option<f64>, max: Option<f64>, e: &mut Errors<'_>) {
        match (min, max) {
            (None, None) => e.add("", "needs `min`, `max` or both"),
            (Some(min), Some(max)) if min > max => {
                e.add("min", format!("{min} is more than max ({max})"))
            }
            _ => {}
        }
    }
    Some(match check {
        Check::Required(r) => Test::Required(field("field", &r.field, e)),
        Check::Email(r) => Test::Email(field("field", &r.field, e)),
        Check::Regex(r) => {
            let f = field("field", &r.field, e);
            if r.pattern.is_empty() {
                e.add("pattern", "must not be empty");
                return None;
            }
            let re = RegexBuilder::new(&r.pattern)
                .case_insensitive(r.ignore_case)
                .build()
                .map_err(|err| e.add("pattern", regex_error(&err)))
                .ok()?;
            Test::Regex(f, re)
        }
        Check::Phone(r) => {
            let f = field("field", &r.field, e);
            let region = r.region.as_deref().and_then(|code| {
                let region = Region::parse(code);
                if region.is_none() {
                    e.add("region", unknown_region(code));
                }
                region
            });
            if r.format == Some(PhoneFormat::National) && r.region.is_none() {
                e.add("region", "is needed with the national format");
            }
            Test::Phone {
                field: f,
                region,
                format: r.format,
            }
        }
        Check::OneOf(r) => {
            let f = field("field", &r.field, e);
            if r.values.is_empty() {
                e.add("values", "needs at least one value");
            }
            Test::OneOf {
                field: f,
                values: r.values.clone(),
                ignore_case: r.ignore_case,
            }
        }
        Check::Length(r) => {
            let f = field("field", &r.field, e);
            bounds(r.min.map(|n| n as f64), r.max.map(|n| n as f64), e);
            Test::Length {
                field: f,
                min: r.min,
                max: r.max,
            }
        }
        Check::Range(r) => {
            let f = field("field", &r.field, e);
            bounds(r.min, r.max, e);
            Test::Range {
                field: f,
                min: r.min,
                max: r.max,
            }
        }
        Check::Requires(r) => {
            let then = field("then_required", &r.then_required, e);
            let when = match (&r.if_present, &r.if_equals) {
                (Some(p), None) => When::Present(field("if_present", p, e)),
                (None, Some(eq)) => When::Equals(
                    field("if_equals/field", &eq.field, e),
                    eq.value.trim().to_lowercase(),
                ),
                _ => {
                    e.add("", "needs exactly one of `if_present` and `if_equals`");
                    return None;
                }
            };
            let condition = match &when {
                When::Present(f) | When::Equals(f, _) => f,
            };
            if *condition == then {
                e.add(
                    "then_required",
                    "is the field of the condition: the rule could never fail",
                );
            }
            Test::Requires { when, then }
        }
    })
}

#[derive(Debug, Clone)]
struct CompiledRule {
    field: String,
    test: Test,
    message: Option<String>,
}

#[derive(Debug, Clone)]
enum Test {
    Required(String),
    Regex(String, Regex),
    Email(String),
    Phone {
        field: String,
        region: Option<Region>,
        format: Option<PhoneFormat>,
    },
    OneOf {
        field: String,
        values: Vec<String>,
        ignore_case: bool,
    },
    Length {
        field: String,
        min: Option<usize>,
        max: Option<usize>,
    },
    Range {
        field: String,
        min: Option<f64>,
        max: Option<f64>,
    },
    Requires {
        when: When,
        then: String,
    },
}

#[derive(Debug, Clone)]
enum When {
    Present(String),
    /// The field, and the value lowercased and trimmed.
    Equals(String, String),
}

/// A value that counts as filled: not missing, not only whitespace.
fn filled(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.trim().is_empty())
}

impl CompiledRule {
    /// Why the record fails this rule (`"bob@" is not a valid email`), or None.
    fn failure<'a>(&self, get: &dyn Fn(&str) -> Option<&'a str>) -> Option<String> {
        let value = |f: &str| filled(get(f));
        match &self.test {
            Test::Required(f) => value(f).is_none().then(|| "is required".to_string()),
            Test::Requires { when, then } => {
                let applies = match when {
                    When::Present(f) => value(f).is_some(),
                    When::Equals(f, v) => value(f).is_some_and(|x| x.trim().to_lowercase() == *v),
                };
                (applies && value(then).is_none()).then(|| match when {
                    When::Present(f) => format!("is required when {f} is present"),
                    When::Equals(f, _) => format!(
                        "is required when {f} is {}",
                        quote(value(f).unwrap_or_default().trim())
                    ),
                })
            }
            Test::Regex(f, re) => {
                let v = value(f)?;
                (!re.is_match(v)).then(|| format!("{} does not match {}", quote(v), re.as_str()))
            }
            Test::Email(f) => {
                let v = value(f)?;
                (!web::is_email(v)).then(|| format!("{} is not a valid email", quote(v)))
            }
            Test::Phone {
                field,
                region,
                format,
            } => {
                let v = value(field)?;
                let number = match phone::parse(v, *region) {
                    phone::Parsed::Number(n) => n,
                    phone::Parsed::NotANumber => {
                        return Some(format!("{} is not a phone number", quote(v)));
                    }
                    phone::Parsed::Invalid => {
                        return Some(match region {
                            Some(r) => format!(
                                "{} is not a valid phone number for {}",
                                quote(v),
                                r.id.as_ref()
                            ),
                            None => format!("{} is not a valid phone number", quote(v)),
                        });
                    }
                };
                let format = (*format)?;
                let expected = phone::format(&number, format, *region)?;
                (expected != v).then(|| {
                    format!(
                        "{} is not in {} format ({expected})",
                        quote(v),
                        format.name()
                    )
                })
            }
            Test::OneOf {
                field,
                values,
                ignore_case,
            } => {
                let v = value(field)?;
                let found = if *ignore_case {
                    let lower = v.to_lowercase();
                    values.iter().any(|a| a.to_lowercase() == lower)
                } else {
                    values.iter().any(|a| a == v)
                };
                (!found).then(|| {
                    const SHOWN: usize = 10;
                    let mut list = values
                        .iter()
                        .take(SHOWN)
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ");
                    if values.len() > SHOWN {
                        list.push_str(&format!(" and {} more", values.len() - SHOWN));
                    }
                    format!("{} is not one of: {list}", quote(v))
                })
            }
            Test::Length { field, min, max } => {
                let v = value(field)?;
                let n = v.chars().count();
                let chars = |n: usize| if n == 1 { "character" } else { "characters" };
                if let Some(min) = min.filter(|&m| n < m) {
                    Some(format!(
                        "{} is {n} {}, fewer than {min}",
                        quote(v),
                        chars(n)
                    ))
                } else {
                    max.filter(|&m| n > m)
                        .map(|max| format!("{} is {n} {}, more than {max}", quote(v), chars(n)))
                }
            }
            Test::Range { field, min, max } => {
                let v = value(field)?;
                let Some(n) = number(v) else {
                    return Some(format!("{} is not a number", quote(v)));
                };
                if let Some(min) = min.filter(|&m| n < m) {
                    Some(format!("{} is less than {min}", quote(v)))
                } else {
                    max.filter(|&m| n > m)
                        .map(|max| format!("{} is more than {max}", quote(v)))
                }
            }
        }
    }
}

/// A plain decimal number (`-12`, `3.5`, `1e6`); not `inf`, `NaN` or `1,000`.
fn number(v: &str) -> Option<f64> {
    let t = v.trim();
    let plain = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    t.parse::<f64>().ok().filter(|n| plain && n.is_finite())
}

/// A compiled validate config: the `RecordEngine` for validate templates.
#[derive(Debug, Clone)]
pub struct ValidateEngine {
    object: String,
    rules: Vec<CompiledRule>,
    fix: Option<TransformEngine>,
    reads: Vec<String>,
}

impl ValidateEngine {
    /// `field: reason` for each rule the record fails, with the rule's index.
    fn failures<'a>(&self, get: &dyn Fn(&str) -> Option<&'a str>) -> Vec<(usize, String)> {
        self.rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                let reason = rule.failure(get)?;
                let reason = rule.message.clone().unwrap_or(reason);
                Some((i, format!("{}: {reason}", rule.field)))
            })
            .collect()
    }
}

fn list(failures: &[(usize, String)]) -> String {
    failures
        .iter()
        .map(|(_, f)| f.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl RecordEngine for ValidateEngine {
    fn object(&self) -> &str {
        &self.object
    }

    fn reads(&self) -> Vec<String> {
        self.reads.clone()
    }

    fn columns(&self) -> Vec<String> {
        self.fix.as_ref().map(|f| f.columns()).unwrap_or_default()
    }

    fn plan(&self, record: &Record) -> Option<Change> {
        let get = |f: &str| record.properties.get(f).and_then(|v| v.as_deref());
        let failures = self.failures(&get);
        if failures.is_empty() {
            return None;
        }
        let flag = |note: String| Change {
            id: Some(record.id.clone()),
            action: Action::Flag,
            fields: Vec::new(),
            note: Some(note),
        };
        let Some(fix) = &self.fix else {
            return Some(flag(list(&failures)));
        };
        let (fields, _) = fix.evaluate(record);
        if fields.is_empty() {
            return Some(flag(list(&failures)));
        }
        let fixed_get = |f: &str| match fields.iter().find(|c| c.field == f) {
            Some(c) => c.after.as_deref(),
            None => get(f),
        };
        let remaining = self.failures(&fixed_get);
        let resolved: Vec<(usize, String)> = failures
            .into_iter()
            .filter(|(i, _)| !remaining.iter().any(|(j, _)| i == j))
            .collect();
        let note = match (remaining.is_empty(), resolved.is_empty()) {
            (true, _) => format!("fixed: {}", list(&resolved)),
            (false, true) => list(&remaining),
            (false, false) => format!("{}; fixed: {}", list(&remaining), list(&resolved)),
        };
        Some(Change {
            id: Some(record.id.clone()),
            action: Action::Update,
            fields,
            note: Some(note),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn config(rules: Value, fix: Value) -> ValidateConfig {
        serde_json::from_value(json!({"object": "contacts", "rules": rules, "fix": fix}))
            .expect("a valid config shape")
    }

    fn engine(rules: Value) -> ValidateEngine {
        config(rules, json!([])).compile().expect("a valid config")
    }

    fn record(props: &[(&str, &str)]) -> Record {
        Record {
            id: "7".into(),
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            created_at: None,
            updated_at: None,
        }
    }

    /// The note of the flag one rule raises on `value` in field `f`, or None when it passes.
    fn verdict(rule: Value, value: Option<&str>) -> Option<String> {
        let mut rule = rule;
        if rule.get("field").is_none() && rule["rule"] != "requires" {
            rule["field"] = json!("f");
        }
        let e = engine(json!([rule]));
        let r = match value {
            Some(v) => record(&[("f", v)]),
            None => record(&[]),
        };
        e.plan(&r).map(|c| {
            assert_eq!(c.action, Action::Flag);
            assert!(c.fields.is_empty());
            c.note.unwrap_or_default()
        })
    }

    fn errors(c: Value) -> Vec<String> {
        let c: ValidateConfig = serde_json::from_value(c).expect("a valid config shape");
        c.check()
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    }

    #[test]
    fn a_config_round_trips_through_json() {
        let c = config(
            json!([
                {"rule": "required", "field": "email", "message": "we need an email"},
                {"rule": "regex", "field": "zip", "pattern": "^\\d{5}$"},
                {"rule": "email", "field": "email"},
                {"rule": "phone", "field": "phone", "region": "US", "format": "e164"},
                {"rule": "one_of", "field": "stage", "values": ["lead", "customer"], "ignore_case": true},
                {"rule": "length", "field": "firstname", "min": 1, "max": 40},
                {"rule": "range", "field": "employees", "min": 0, "max": 1e6},
                {"rule": "requires", "if_present": "state", "then_required": "country"},
                {"rule": "requires", "if_equals": {"field": "country", "value": "US"}, "then_required": "state"},
            ]),
            json!([{"field": "email", "fn": "email"}]),
        );
        assert!(c.check().is_empty(), "{:?}", c.check());
        let text = serde_json::to_value(&c).expect("serializes");
        assert_eq!(
            text["rules"][0],
            json!({"rule": "required", "field": "email", "message": "we need an email"})
        );
        let back: ValidateConfig = serde_json::from_value(text).expect("parses back");
        assert_eq!(back, c);
        assert_eq!(c.object(), "contacts");
    }

    #[test]
    fn shape_errors_name_the_key_and_list_the_rules() {
        let shape = |rule: Value| {
            serde_json::from_value::<ValidateConfig>(json!({"object": "c", "rules": [rule]}))
                .expect_err("a shape error")
                .to_string()
        };
        let e = shape(json!({"rule": "mandatory", "field": "a"}));
        assert!(e.contains("rule: unknown variant `mandatory`"), "{e}");
        assert!(e.contains("`required`") && e.contains("`requires`"), "{e}");
        let e = shape(json!({"rule": "length", "field": "a", "min": -1}));
        assert!(e.starts_with("min: invalid value: integer `-1`"), "{e}");
        let e = shape(json!({"rule": "email", "field": "a", "pattern": "x"}));
        assert!(e.contains("unknown field `pattern`"), "{e}");
        let e = shape(json!({"rule": "one_of", "field": "a"}));
        assert!(e.contains("missing field `values`"), "{e}");
        let e = shape(json!({"rule": "required", "field": "a", "message": 5}));
        assert!(e.starts_with("message: invalid type: integer `5`"), "{e}");
        let e =
            shape(json!({"rule": "requires", "if_equals": {"field": "a"}, "then_required": "b"}));
        assert!(e.starts_with("if_equals: missing field `value`"), "{e}");
    }

    #[test]
    fn check_points_at_every_wrong_field() {
        let e = errors(json!({"object": "", "rules": []}));
        assert_eq!(
            e,
            [
                "/config/object: must not be empty",
                "/config/rules: needs at least one rule"
            ]
        );
        let e = errors(json!({"object": "c", "rules": [
            {"rule": "required", "field": " "},
            {"rule": "regex", "field": "a", "pattern": "a)"},
            {"rule": "phone", "field": "a", "region": "ZZ"},
            {"rule": "one_of", "field": "a", "values": []},
            {"rule": "length", "field": "a"},
            {"rule": "length", "field": "a", "min": 5, "max": 2},
            {"rule": "range", "field": "a", "min": 10, "max": 1.5},
            {"rule": "requires", "then_required": "b"},
            {"rule": "requires", "if_present": "b", "then_required": "b"},
            {"rule": "required", "field": "a", "message": ""},
            {"rule": "phone", "field": "a", "format": "national"},
            {"rule": "regex", "field": "a", "pattern": ""},
        ], "fix": [{"field": "a", "fn": "date", "to": "%Y-%Q"}]}));
        let expected = [
            "/config/rules/0/field: the field name is empty",
            "/config/rules/1/pattern: regex parse error: unopened group",
            "/config/rules/2/region: \"ZZ\" is not a region known to libphonenumber",
            "/config/rules/3/values: needs at least one value",
            "/config/rules/4: needs `min`, `max` or both",
            "/config/rules/5/min: 5 is more than max (2)",
            "/config/rules/6/min: 10 is more than max (1.5)",
            "/config/rules/7: needs exactly one of `if_present` and `if_equals`",
            "/config/rules/8/then_required: is the field of the condition",
            "/config/rules/9/message: must not be empty",
            "/config/rules/10/region: is needed with the national format",
            "/config/rules/11/pattern: must not be empty",
            "/config/fix/0/to: \"%Y-%Q\" is not a valid chrono format",
        ];
        assert_eq!(e.len(), expected.len(), "{e:#?}");
        for (got, want) in e.iter().zip(expected) {
            assert!(got.starts_with(want), "{got}\n  should start with\n{want}");
        }
        let c: ValidateConfig = serde_json::from_value(
            json!({"object": "c", "rules": [{"rule": "regex", "field": "a", "pattern": "("}]}),
        )
        .expect("shape");
        assert!(c.engine().is_err());
    }

    #[test]
    fn required_fails_on_missing_empty_and_blank_values() {
        let req = || json!({"rule": "required"});
        assert_eq!(verdict(req(), None).as_deref(), Some("f: is required"));
        assert_eq!(verdict(req(), Some("")).as_deref(), Some("f: is required"));
        assert_eq!(
            verdict(req(), Some(" \t")).as_deref(),
            Some("f: is required")
        );
        assert_eq!(verdict(req(), Some("x")), None);
    }

    #[test]
    fn other_rules_pass_on_empty_values() {
        for rule in [
            json!({"rule": "regex", "pattern": "^x$"}),
            json!({"rule": "email"}),
            json!({"rule": "phone"}),
            json!({"rule": "one_of", "values": ["a"]}),
            json!({"rule": "length", "min": 3}),
            json!({"rule": "range", "min": 3}),
        ] {
            assert_eq!(verdict(rule.clone(), None), None, "{rule}");
            assert_eq!(verdict(rule.clone(), Some("  ")), None, "{rule}");
        }
    }

    #[test]
    fn regex_must_match() {
        let zip = || json!({"rule": "regex", "pattern": "^\\d{5}(-\\d{4})?$"});
        assert_eq!(verdict(zip(), Some("02139")), None);
        assert_eq!(verdict(zip(), Some("02139-1234")), None);
        assert_eq!(
            verdict(zip(), Some("2139")).as_deref(),
            Some(r#"f: "2139" does not match ^\d{5}(-\d{4})?$"#)
        );
        let ci = json!({"rule": "regex", "pattern": "^acme", "ignore_case": true});
        assert_eq!(verdict(ci, Some("ACME Corp")), None);
    }

    #[test]
    fn email_checks_syntax() {
        let em = || json!({"rule": "email"});
        assert_eq!(verdict(em(), Some("bob@acme.com")), None);
        assert_eq!(verdict(em(), Some("zoë@bücher.de")), None);
        assert_eq!(
            verdict(em(), Some("bob@")).as_deref(),
            Some(r#"f: "bob@" is not a valid email"#)
        );
        assert!(
            verdict(em(), Some(" bob@acme.com")).is_some(),
            "spaces are not allowed"
        );
    }

    #[test]
    fn phone_checks_validity_for_the_region_and_the_format() {
        let us = || json!({"rule": "phone", "region": "US"});
        assert_eq!(verdict(us(), Some("(650) 253-0000")), None);
        assert_eq!(verdict(us(), Some("+44 20 7946 0958")), None);
        assert_eq!(
            verdict(us(), Some("555-1234")).as_deref(),
            Some(r#"f: "555-1234" is not a valid phone number for US"#)
        );
        assert_eq!(
            verdict(us(), Some("call me")).as_deref(),
            Some(r#"f: "call me" is not a phone number"#)
        );
        let e164 = || json!({"rule": "phone", "region": "US", "format": "e164"});
        assert_eq!(verdict(e164(), Some("+16502530000")), None);
        assert_eq!(
            verdict(e164(), Some("(650) 253-0000")).as_deref(),
            Some(r#"f: "(650) 253-0000" is not in e164 format (+16502530000)"#)
        );
        let anywhere = json!({"rule": "phone"});
        assert!(
            verdict(anywhere, Some("650 253 0000")).is_some(),
            "no region, no country code"
        );
    }

    #[test]
    fn one_of_checks_allowed_values() {
        let exact = || json!({"rule": "one_of", "values": ["lead", "customer"]});
        assert_eq!(verdict(exact(), Some("lead")), None);
        assert_eq!(
            verdict(exact(), Some("Lead")).as_deref(),
            Some(r#"f: "Lead" is not one of: lead, customer"#)
        );
        let loose = json!({"rule": "one_of", "values": ["Émile"], "ignore_case": true});
        assert_eq!(verdict(loose, Some("éMILE")), None);
        let many: Vec<String> = (0..15).map(|i| format!("v{i}")).collect();
        let note = verdict(json!({"rule": "one_of", "values": many}), Some("x")).expect("fails");
        assert!(note.ends_with("v9 and 5 more"), "{note}");
    }

    #[test]
    fn length_counts_characters() {
        let len = || json!({"rule": "length", "min": 2, "max": 4});
        assert_eq!(verdict(len(), Some("zoë")), None);
        assert_eq!(verdict(len(), Some("ÉMIL")), None);
        assert_eq!(
            verdict(len(), Some("é")).as_deref(),
            Some(r#"f: "é" is 1 character, fewer than 2"#)
        );
        assert_eq!(
            verdict(len(), Some("émile")).as_deref(),
            Some(r#"f: "émile" is 5 characters, more than 4"#)
        );
    }

    #[test]
    fn range_needs_a_number_within_bounds() {
        let range = || json!({"rule": "range", "min": 0, "max": 100});
        for ok in ["0", "100", "42.5", " 7 ", "1e2", "-0"] {
            assert_eq!(verdict(range(), Some(ok)), None, "{ok}");
        }
        assert_eq!(
            verdict(range(), Some("150")).as_deref(),
            Some(r#"f: "150" is more than 100"#)
        );
        assert_eq!(
            verdict(range(), Some("-1")).as_deref(),
            Some(r#"f: "-1" is less than 0"#)
        );
        for bad in ["abc", "1,000", "NaN", "inf", "12 apples", "0x10"] {
            assert_eq!(
                verdict(range(), Some(bad)),
                Some(format!("f: {bad:?} is not a number")),
                "{bad}"
            );
        }
    }

    #[test]
    fn requires_links_two_fields() {
        let e = engine(json!([
            {"rule": "requires", "if_present": "state", "then_required": "country"},
            {"rule": "requires", "if_equals": {"field": "country", "value": "US"}, "then_required": "zip"},
        ]));
        let note = |props: &[(&str, &str)]| e.plan(&record(props)).and_then(|c| c.note);
        assert_eq!(note(&[]), None);
        assert_eq!(
            note(&[("state", "CA")]).as_deref(),
            Some("country: is required when state is present")
        );
        assert_eq!(
            note(&[("state", "CA"), ("country", " us ")]).as_deref(),
            Some(r#"zip: is required when country is "us""#)
        );
        assert_eq!(note(&[("country", "Canada")]), None);
        assert_eq!(note(&[("country", "US"), ("zip", "02139")]), None);
        assert_eq!(e.reads(), ["state", "country", "zip"]);
        assert!(e.columns().is_empty());
    }

    #[test]
    fn every_failure_is_listed_and_a_custom_message_replaces_the_reason() {
        let e = engine(json!([
            {"rule": "required", "field": "lastname"},
            {"rule": "email", "field": "email", "message": "needs a real address"},
            {"rule": "length", "field": "firstname", "max": 3},
        ]));
        let c = e
            .plan(&record(&[("email", "bob@"), ("firstname", "Robert")]))
            .expect("fails");
        assert_eq!(c.id.as_deref(), Some("7"));
        assert_eq!(c.action, Action::Flag);
        assert_eq!(
            c.note.as_deref(),
            Some(
                r#"lastname: is required; email: needs a real address; firstname: "Robert" is 6 characters, more than 3"#
            )
        );
        assert_eq!(
            e.plan(&record(&[
                ("email", "bob@acme.com"),
                ("firstname", "Bob"),
                ("lastname", "X")
            ])),
            None
        );
    }

    #[test]
    fn a_fix_updates_failing_records_and_says_what_it_fixed() {
        let e = config(
            json!([
                {"rule": "email", "field": "email"},
                {"rule": "phone", "field": "phone", "region": "US", "format": "e164"},
                {"rule": "required", "field": "country"},
            ]),
            json!([
                {"field": "email", "fn": "email"},
                {"field": "phone", "fn": "phone", "default_region": "US"},
                {"field": "lastname", "fn": "title_case"},
            ]),
        )
        .compile()
        .expect("valid");
        assert_eq!(e.reads(), ["email", "phone", "country", "lastname"]);
        assert_eq!(e.columns(), ["email", "phone", "lastname"]);

        // Fully fixed.
        let c = e
            .plan(&record(&[
                ("email", " Bob@Acme.com"),
                ("phone", "650 253 0000"),
                ("country", "US"),
            ]))
            .expect("a change");
        assert_eq!(c.action, Action::Update);
        let after: Vec<(&str, Option<&str>)> = c
            .fields
            .iter()
            .map(|f| (f.field.as_str(), f.after.as_deref()))
            .collect();
        assert_eq!(
            after,
            [
                ("email", Some("bob@acme.com")),
                ("phone", Some("+16502530000"))
            ]
        );
        assert_eq!(
            c.note.as_deref(),
            Some(
                r#"fixed: email: " Bob@Acme.com" is not a valid email; phone: "650 253 0000" is not in e164 format (+16502530000)"#
            )
        );

        // Partly fixed: the missing country stays a failure.
        let c = e
            .plan(&record(&[
                ("email", "BOB@acme.com "),
                ("phone", "+16502530000"),
            ]))
            .expect("a change");
        assert_eq!(c.action, Action::Update);
        assert_eq!(
            c.note.as_deref(),
            Some(r#"country: is required; fixed: email: "BOB@acme.com " is not a valid email"#)
        );

        // The fix changes nothing that helps: still a flag, with the reasons.
        let c = e
            .plan(&record(&[("email", "bob@"), ("country", "US")]))
            .expect("a change");
        assert_eq!(c.action, Action::Flag);
        assert!(c.fields.is_empty());
        assert_eq!(
            c.note.as_deref(),
            Some(r#"email: "bob@" is not a valid email"#)
        );

        // The fix changes other fields only: an update, the failure still listed.
        let c = e
            .plan(&record(&[
                ("email", "bob@"),
                ("country", "US"),
                ("lastname", "SMITH"),
            ]))
            .expect("a change");
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.fields[0].field, "lastname");
        assert_eq!(
            c.note.as_deref(),
            Some(r#"email: "bob@" is not a valid email"#)
        );

        // A passing record is never touched, even where the fix would change it.
        assert_eq!(
            e.plan(&record(&[
                ("email", "bob@acme.com"),
                ("country", "US"),
                ("lastname", "SMITH")
            ])),
            None
        );
    }

    #[test]
    fn a_records_failures_are_noted_in_the_rules_order() {
        let e = engine(json!([
            {"rule": "phone", "field": "phone", "region": "US"},
            {"rule": "email", "field": "email"},
        ]));
        assert_eq!(
            e.plan(&record(&[("email", "x@"), ("phone", "555-1234")])),
            Some(Change {
                id: Some("7".into()),
                action: Action::Flag,
                fields: vec![],
                note: Some(
                    r#"phone: "555-1234" is not a valid phone number for US; email: "x@" is not a valid email"#
                        .into()
                ),
            })
        );
    }
}

#[cfg(test)]
mod documented {
    use super::*;
    use serde_json::json;

    /// The worked example of `docs/modules/validate.md`.
    #[test]
    fn the_documented_example_holds() {
        let template = json!({
            "module": "validate",
            "name": "Contact hygiene",
            "config": {
                "object": "contacts",
                "rules": [
                    {"rule": "required", "field": "email"},
                    {"rule": "email", "field": "email"},
                    {"rule": "phone", "field": "phone", "region": "US", "format": "e164"},
                    {"rule": "one_of", "field": "lifecyclestage", "values": ["subscriber", "lead", "customer"]},
                    {"rule": "requires", "if_present": "state", "then_required": "country",
                     "message": "a state needs a country"}
                ],
                "fix": [
                    {"field": "email", "fn": "email"},
                    {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"}
                ]
            }
        });
        let config: ValidateConfig =
            serde_json::from_value(template["config"].clone()).expect("the documented config");
        let e = config.engine().expect("valid");
        let fields = ["email", "phone", "lifecyclestage", "state", "country"];
        let input = [
            (
                "301",
                [" Ann@Example.com", "(650) 253-0000", "lead", "CA", "US"],
            ),
            ("302", ["bob@", "+16502530000", "Lead", "NY", ""]),
            ("303", ["", "555-1234", "customer", "", ""]),
            (
                "304",
                ["dee@example.org", "+14155550123", "customer", "", ""],
            ),
        ];
        let mut w = crate::modules::csv::AuditWriter::new(Vec::new(), &e.columns(), false)
            .expect("a writer");
        for (id, values) in input {
            let r = Record {
                id: id.into(),
                properties: fields
                    .iter()
                    .zip(values)
                    .map(|(f, v)| (f.to_string(), Some(v.to_string())))
                    .collect(),
                created_at: None,
                updated_at: None,
            };
            if let Some(c) = e.plan(&r) {
                w.write_change(&c, None).expect("written");
            }
        }
        let csv = String::from_utf8(w.finish().expect("finished")).expect("utf-8");
        assert_eq!(
            csv,
            "record_id,action,group_id,role,note,email (before),email (after),phone (before),phone (after)\r\n\
             301,update,,,\"fixed: email: \"\" Ann@Example.com\"\" is not a valid email; phone: \"\"(650) 253-0000\"\" is not in e164 format (+16502530000)\", Ann@Example.com,ann@example.com,(650) 253-0000,'+16502530000\r\n\
             302,flag,,,\"email: \"\"bob@\"\" is not a valid email; lifecyclestage: \"\"Lead\"\" is not one of: subscriber, lead, customer; country: a state needs a country\",,,,\r\n\
             303,flag,,,\"email: is required; phone: \"\"555-1234\"\" is not a valid phone number for US\",,,,\r\n",
            "{csv}"
        );
        assert_eq!(
            e.reads(),
            ["email", "phone", "lifecyclestage", "state", "country"]
        );
    }
}
