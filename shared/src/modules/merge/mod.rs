//! Merge: finds duplicate records with match rules, picks each group's master with master
//! rules, and plans the master's field values with per-field survivorship.
//!
//! A run normalizes every value a rule compares once, blocks records on keys chosen from
//! the rules (so comparisons stay near-linear in the record count), compares candidate
//! pairs on both cores, links matching pairs with union-find, and turns each group into
//! one `Action::Merge` change (after `Action::ConvertLead` changes for matched Salesforce
//! Leads). Groups that are too large, or whose master the rules cannot tell, are reported
//! as `Action::Flag` changes and never merged.

use std::collections::{BTreeMap, HashMap};

use schemars::{JsonSchema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;

use super::filter::check_field_name;
use crate::error::FieldError;

mod engine;
mod input;
mod master;
mod matching;
mod normalize;
mod score;
mod similarity;
mod survive;
#[cfg(test)]
mod tests;
mod values;

pub use engine::{Group, MatchStats, MergeEngine, MergePlan};
pub use input::MergeInput;
pub use normalize::Normalizer;
pub use score::{
    DEFAULT_MERGE_THRESHOLD, DEFAULT_REVIEW_THRESHOLD, FieldModel, LevelModel, MAX_REVIEW_PAIRS,
    ScoreCompare, ScoreConfig, ScoreField, ScoreModel,
};
pub use similarity::{
    Method, damerau_levenshtein, jaro_winkler, levenshtein, one_transposition, within_one_edit,
};

use matching::{Cmp, Derivation, Op, Rule};
use normalize::Norm;

/// Groups larger than this are reported, not merged, unless the config says otherwise.
pub const DEFAULT_MAX_GROUP_SIZE: usize = 20;
/// Rule sets a config may have (each group notes which of them linked it).
pub const MAX_RULE_SETS: usize = 64;

/// Fields that are never written, whatever the config says: ids and system timestamps.
pub const SYSTEM_FIELDS: &[&str] = &[
    "id",
    "Id",
    "ID",
    "hs_object_id",
    "record_id",
    "createdate",
    "hs_createdate",
    "CreatedDate",
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "LastModifiedDate",
    "SystemModstamp",
];

/// A merge template's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeConfig {
    /// The CRM object (`contacts`, `companies`, `Contact`, `Account`, `Lead`).
    pub object: String,
    /// Two records are duplicates when any rule set matches (OR); a rule set matches when
    /// all its comparisons do (AND).
    #[serde(default)]
    pub rules: Vec<RuleSet>,
    /// Scored matching: two records are duplicates when their match probability reaches
    /// the merge threshold (with `rules` too: when either links them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Box<ScoreConfig>>,
    /// How each group's master (the record that stays) is chosen.
    #[serde(default)]
    pub master: MasterConfig,
    /// Which value each field of the master ends up with.
    #[serde(default)]
    pub survivorship: Survivorship,
    /// Fields never written (ids and system timestamps never are, whatever this says).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_only: Vec<String>,
    /// Groups with more records are reported and left alone: a huge group nearly always
    /// means a rule that is too loose (a shared switchboard number, `n/a` emails).
    #[serde(default = "default_max_group_size")]
    pub max_group_size: usize,
    /// Salesforce: match Leads against the Contacts too; a matched Lead is converted into
    /// its group's master Contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_object: Option<CrossObject>,
}

fn default_max_group_size() -> usize {
    DEFAULT_MAX_GROUP_SIZE
}

/// Comparisons that must all match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Shown in the audit's note of each group it linked (default: `rule 1`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub all: Vec<Comparison>,
}

/// One field (or several compared as one) compared between two records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Related fields compared as one: any value of one record against any of the other's
    /// (`["email", "work_email"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    pub compare: Compare,
    /// How values are normalized first (not for `exact`); `text` when absent.
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub normalizer: Option<Normalizer>,
    /// `similar` only: `jaro_winkler` (default) or `levenshtein`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// `similar` only: the least score that matches, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// `first_words` / `first_chars` only: how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Whether two empty values match (default: no, an empty value matches nothing).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_empty: bool,
    /// `as: email`: Gmail ignores dots in the local part, so `j.doe@gmail.com` is
    /// `jdoe@gmail.com`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_dots: bool,
    /// `as: email`: `jdoe+news@x.com` is `jdoe@x.com`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_plus: bool,
    /// `as: phone`: ISO alpha-2 region of numbers written without a country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,
    /// `as: phone`: a field holding the record's country, whose region reads national
    /// numbers (`default_region` when it is empty or names no country).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_field: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
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
pub enum Compare {
    /// The values exactly as stored.
    Exact,
    /// Equal once normalized.
    Normalized,
    /// Normalized values scoring at least `threshold`.
    Similar,
    /// The first `n` words of the normalized values are equal.
    FirstWords,
    /// The first `n` characters of the normalized values are equal.
    FirstChars,
}

impl Compare {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MasterConfig {
    #[serde(default)]
    pub mode: MasterMode,
    #[serde(default = "default_master_rules")]
    pub rules: Vec<MasterRule>,
}

impl Default for MasterConfig {
    fn default() -> Self {
        Self {
            mode: MasterMode::default(),
            rules: default_master_rules(),
        }
    }
}

fn default_master_rules() -> Vec<MasterRule> {
    vec![MasterRule::OldestCreated, MasterRule::MostComplete]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MasterMode {
    /// Rules in order, each breaking the ties the ones before it left: the first rule
    /// that singles out one record decides.
    #[default]
    ByPriority,
    /// Every rule must agree: the master is the one record that is among every rule's
    /// best (a rule that cannot tell the records apart agrees with anything).
    Absolute,
}

/// One master rule: `{"rule": "oldest_created"}`, `{"rule": "max", "field": "amount"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum MasterRule {
    /// The record created first.
    OldestCreated,
    /// The record created last.
    NewestCreated,
    /// The record modified last.
    LastModified,
    /// The record with the most non-empty fields (of those the template reads).
    MostComplete,
    /// The record whose `field` comes first in `values` (case-insensitive); records
    /// with another value or none come after every listed value.
    Priority { field: String, values: Vec<String> },
    /// The record with the largest `field` (numbers, else dates, else text).
    Max { field: String },
    /// The record with the smallest `field`.
    Min { field: String },
}

impl MasterRule {
    pub fn describe(&self) -> String {
        match self {
            MasterRule::OldestCreated => "oldest_created".into(),
            MasterRule::NewestCreated => "newest_created".into(),
            MasterRule::LastModified => "last_modified".into(),
            MasterRule::MostComplete => "most_complete".into(),
            MasterRule::Priority { field, .. } => format!("priority of {field}"),
            MasterRule::Max { field } => format!("max of {field}"),
            MasterRule::Min { field } => format!("min of {field}"),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            MasterRule::Priority { field, .. }
            | MasterRule::Max { field }
            | MasterRule::Min { field } => Some(field),
            _ => None,
        }
    }
}

/// Field survivorship: a default rule and rules for named fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Survivorship {
    #[serde(default)]
    pub default: FieldRule,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldRule>,
}

/// Which value a field of the master ends up with. Written as a name (`"newest"`), or for
/// `concatenate` with its separator as `{"rule": "concatenate", "separator": " | "}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum FieldRule {
    /// The master's value, even when empty.
    KeepMaster,
    /// The master's value, or when it is empty the newest non-empty one.
    #[default]
    MasterUnlessEmpty,
    /// The value of the most recently created record that has one.
    Newest,
    /// The value of the first created record that has one.
    Oldest,
    /// The value most records of the group have (ties: the master's, then the first
    /// record's by id).
    MostCommon,
    /// Every distinct value (case-insensitively), the master's first, joined.
    Concatenate { separator: String },
    /// Multi-select values (`a;b`): every distinct option of every record, `;`-joined.
    Union,
    /// The largest value (numbers, else dates, else text).
    Max,
    /// The smallest value.
    Min,
}

const DEFAULT_SEPARATOR: &str = "; ";

impl FieldRule {
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// Every rule's name, in declaration order (the deserializer's error lists them).
    fn names() -> impl Iterator<Item = &'static str> {
        <FieldRule as strum::IntoEnumIterator>::iter().map(|r| r.name())
    }

    fn named(name: &str) -> Option<FieldRule> {
        <FieldRule as strum::IntoEnumIterator>::iter()
            .find(|r| r.name() == name)
            .map(|r| match r {
                FieldRule::Concatenate { .. } => FieldRule::Concatenate {
                    separator: DEFAULT_SEPARATOR.into(),
                },
                r => r,
            })
    }
}

impl Serialize for FieldRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldRule::Concatenate { separator } if separator != DEFAULT_SEPARATOR => {
                let mut map = serde_json::Map::new();
                map.insert("rule".into(), Value::from("concatenate"));
                map.insert("separator".into(), Value::from(separator.as_str()));
                map.serialize(s)
            }
            other => s.serialize_str(other.name()),
        }
    }
}

impl<'de> Deserialize<'de> for FieldRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let unknown = |name: &str| {
            D::Error::custom(format!(
                "unknown field rule `{name}`, expected one of {}",
                FieldRule::names()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        match Value::deserialize(d)? {
            Value::String(name) => FieldRule::named(&name).ok_or_else(|| unknown(&name)),
            Value::Object(mut map) => {
                let name = match map.remove("rule") {
                    Some(Value::String(s)) => s,
                    Some(_) => return Err(D::Error::custom("rule: expected a string")),
                    None => return Err(D::Error::custom("missing field `rule`")),
                };
                let mut rule = FieldRule::named(&name).ok_or_else(|| unknown(&name))?;
                if let FieldRule::Concatenate { separator } = &mut rule
                    && let Some(v) = map.remove("separator")
                {
                    match v {
                        Value::String(s) => *separator = s,
                        _ => return Err(D::Error::custom("separator: expected a string")),
                    }
                }
                if let Some(key) = map.keys().next() {
                    return Err(D::Error::custom(format!(
                        "unknown field `{key}` for the `{name}` rule"
                    )));
                }
                Ok(rule)
            }
            _ => Err(D::Error::custom(
                "expected a rule name like \"newest\" or an object like \
                 {\"rule\": \"concatenate\", \"separator\": \"; \"}",
            )),
        }
    }
}

/// A name, or `{"rule": name}` (with `separator` for `concatenate` only), unknown keys
/// refused: the names are the ones the deserializer's error lists.
impl JsonSchema for FieldRule {
    fn schema_name() -> Cow<'static, str> {
        "FieldRule".into()
    }
    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::FieldRule").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = FieldRule::names().collect();
        let plain: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| *n != "concatenate")
            .collect();
        schemars::json_schema!({
            "description": "Which value a field of the master ends up with: a name (`\"newest\"`), \
                            or for `concatenate` with its separator \
                            `{\"rule\": \"concatenate\", \"separator\": \" | \"}`.",
            "oneOf": [
                {"type": "string", "enum": names},
                {
                    "type": "object",
                    "properties": {
                        "rule": {"type": "string", "const": "concatenate"},
                        "separator": {"type": "string", "default": DEFAULT_SEPARATOR}
                    },
                    "required": ["rule"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"rule": {"type": "string", "enum": plain}},
                    "required": ["rule"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// Salesforce Lead↔Contact matching. The config's `object` is the Contact object; Leads
/// are read from `lead_object`, under the same field names unless `lead_fields` maps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossObject {
    #[serde(default = "default_lead_object")]
    pub lead_object: String,
    /// The status a converted Lead gets (a converted status of the org's Lead process).
    #[serde(default = "default_converted_status")]
    pub converted_status: String,
    /// The Contact field holding the Account a Lead is converted into.
    #[serde(default = "default_account_field")]
    pub account_field: String,
    /// Contact field -> Lead field, where they differ (`{"Account.Name": "Company"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lead_fields: BTreeMap<String, String>,
}

fn default_lead_object() -> String {
    "Lead".into()
}

fn default_converted_status() -> String {
    "Closed - Converted".into()
}

fn default_account_field() -> String {
    "AccountId".into()
}

/// Field names registered in the order first met: the engine's `reads`.
#[derive(Debug, Default)]
struct Fields {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Fields {
    fn add(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

impl MergeConfig {
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Every semantic error, with a pointer under `/config`. Empty when the config is good.
    pub fn check(&self) -> Vec<FieldError> {
        self.engine().err().unwrap_or_default()
    }

    /// Every field of `object` the config names, with its pointer. All are reads here:
    /// what survivorship writes is the engine's choice among them (read-only ones never).
    /// Lead fields of `cross_object` are another object's and are not listed.
    pub fn field_uses(&self) -> Vec<super::fields::FieldUse> {
        use super::fields::FieldUse;
        let mut out = Vec::new();
        for (i, set) in self.rules.iter().enumerate() {
            for (j, c) in set.all.iter().enumerate() {
                let at = format!("/config/rules/{i}/all/{j}");
                if let Some(f) = &c.field {
                    out.push(FieldUse::read(format!("{at}/field"), f));
                }
                for (k, f) in c.fields.iter().enumerate() {
                    out.push(FieldUse::read(format!("{at}/fields/{k}"), f));
                }
                if let Some(f) = &c.region_field {
                    out.push(FieldUse::read(format!("{at}/region_field"), f));
                }
            }
        }
        if let Some(sc) = &self.score {
            for (i, f) in sc.fields.iter().enumerate() {
                let at = format!("/config/score/fields/{i}");
                out.push(FieldUse::read(format!("{at}/field"), &f.field));
                if let Some(r) = &f.region_field {
                    out.push(FieldUse::read(format!("{at}/region_field"), r));
                }
            }
        }
        for (i, rule) in self.master.rules.iter().enumerate() {
            if let Some(f) = rule.field() {
                out.push(FieldUse::read(format!("/config/master/rules/{i}/field"), f));
            }
        }
        for f in self.survivorship.fields.keys() {
            let at = format!("/config/survivorship/fields/{}", pointer_segment(f));
            out.push(FieldUse::read(at, f));
        }
        for (i, f) in self.read_only.iter().enumerate() {
            out.push(FieldUse::read(format!("/config/read_only/{i}"), f));
        }
        if let Some(x) = &self.cross_object {
            out.push(FieldUse::read(
                "/config/cross_object/account_field",
                &x.account_field,
            ));
        }
        out
    }

    /// The engine, with every comparison and normalizer compiled once.
    pub fn engine(&self) -> Result<MergeEngine, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fields = Fields::default();
        if self.object.trim().is_empty() {
            errors.push(FieldError::new("/config/object", "must not be empty"));
        }
        if self.rules.is_empty() && self.score.is_none() {
            errors.push(FieldError::new(
                "/config/rules",
                "needs at least one rule set: {\"all\": [comparisons]}",
            ));
        }
        if self.rules.len() > MAX_RULE_SETS {
            errors.push(FieldError::new(
                "/config/rules",
                format!("at most {MAX_RULE_SETS} rule sets"),
            ));
        }
        let mut derivations: Vec<Derivation> = Vec::new();
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, set) in self.rules.iter().enumerate() {
            let at = format!("/config/rules/{i}");
            if set.all.is_empty() {
                errors.push(FieldError::new(
                    format!("{at}/all"),
                    "needs at least one comparison",
                ));
            }
            let cmps = set
                .all
                .iter()
                .enumerate()
                .filter_map(|(j, c)| {
                    compile_comparison(
                        c,
                        &format!("{at}/all/{j}"),
                        &mut fields,
                        &mut derivations,
                        &mut errors,
                    )
                })
                .collect();
            let name = match set.name.as_deref().map(str::trim) {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => format!("rule {}", i + 1),
            };
            rules.push(Rule::new(name, cmps));
        }

        let scorer = self
            .score
            .as_ref()
            .and_then(|sc| score::compile(sc, &mut |f| fields.add(f), &mut errors));

        if self.master.rules.is_empty() {
            errors.push(FieldError::new(
                "/config/master/rules",
                "needs at least one rule, such as {\"rule\": \"oldest_created\"}",
            ));
        }
        let mut master = Vec::with_capacity(self.master.rules.len());
        for (i, rule) in self.master.rules.iter().enumerate() {
            let at = format!("/config/master/rules/{i}");
            let field = rule.field().map(|f| {
                check_field_name(&format!("{at}/field"), f, &mut errors);
                fields.add(f)
            });
            if let MasterRule::Priority { values, .. } = rule
                && values.iter().all(|v| v.trim().is_empty())
            {
                errors.push(FieldError::new(
                    format!("{at}/values"),
                    "needs the values in order of preference",
                ));
            }
            master.push(master::Compiled::new(rule, field));
        }

        for (i, f) in self.read_only.iter().enumerate() {
            check_field_name(&format!("/config/read_only/{i}"), f, &mut errors);
        }
        let read_only =
            |f: &str| SYSTEM_FIELDS.contains(&f) || self.read_only.iter().any(|r| r == f);
        for (f, rule) in &self.survivorship.fields {
            let at = format!("/config/survivorship/fields/{}", pointer_segment(f));
            check_field_name(&at, f, &mut errors);
            if read_only(f) {
                errors.push(FieldError::new(
                    at,
                    format!("`{f}` is read-only: it is never written, so it has no rule"),
                ));
            }
            if let FieldRule::Concatenate { separator } = rule
                && separator.is_empty()
            {
                errors.push(FieldError::new(
                    format!(
                        "/config/survivorship/fields/{}/separator",
                        pointer_segment(f)
                    ),
                    "must not be empty",
                ));
            }
            fields.add(f);
        }
        if let FieldRule::Concatenate { separator } = &self.survivorship.default
            && separator.is_empty()
        {
            errors.push(FieldError::new(
                "/config/survivorship/default/separator",
                "must not be empty",
            ));
        }
        if self.max_group_size < 2 {
            errors.push(FieldError::new(
                "/config/max_group_size",
                "must be at least 2",
            ));
        }
        let mut account_field = None;
        if let Some(x) = &self.cross_object {
            if x.lead_object.trim().is_empty() {
                errors.push(FieldError::new(
                    "/config/cross_object/lead_object",
                    "must not be empty",
                ));
            } else if x.lead_object == self.object {
                errors.push(FieldError::new(
                    "/config/cross_object/lead_object",
                    "must differ from `object` (the Contact object)",
                ));
            }
            if x.converted_status.trim().is_empty() {
                errors.push(FieldError::new(
                    "/config/cross_object/converted_status",
                    "must not be empty",
                ));
            }
            check_field_name(
                "/config/cross_object/account_field",
                &x.account_field,
                &mut errors,
            );
            for (contact, lead) in &x.lead_fields {
                let at = format!(
                    "/config/cross_object/lead_fields/{}",
                    pointer_segment(contact)
                );
                check_field_name(&at, contact, &mut errors);
                check_field_name(&at, lead, &mut errors);
            }
            account_field = Some(fields.add(&x.account_field));
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        let columns: Vec<(usize, FieldRule)> = fields
            .names
            .iter()
            .enumerate()
            .filter(|(i, f)| !read_only(f) && Some(*i) != account_field)
            .map(|(i, f)| {
                let rule = self
                    .survivorship
                    .fields
                    .get(f)
                    .unwrap_or(&self.survivorship.default);
                (i, rule.clone())
            })
            .collect();
        Ok(MergeEngine::new(engine::Parts {
            config: self.clone(),
            fields: fields.names,
            derivations,
            rules,
            scorer,
            master,
            columns,
            account_field,
        }))
    }
}

/// RFC 6901 segment for a map key.
fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn compile_comparison(
    c: &Comparison,
    at: &str,
    fields: &mut Fields,
    derivations: &mut Vec<Derivation>,
    errors: &mut Vec<FieldError>,
) -> Option<Cmp> {
    let before = errors.len();
    let names: Vec<&str> = match (&c.field, c.fields.as_slice()) {
        (Some(f), []) => {
            check_field_name(&format!("{at}/field"), f, errors);
            vec![f.as_str()]
        }
        (None, []) => {
            errors.push(FieldError::new(
                at,
                "needs `field` (one field) or `fields` (several compared as one)",
            ));
            vec![]
        }
        (Some(_), _) => {
            errors.push(FieldError::new(
                format!("{at}/fields"),
                "give `field` or `fields`, not both",
            ));
            vec![]
        }
        (None, list) => {
            for (k, f) in list.iter().enumerate() {
                check_field_name(&format!("{at}/fields/{k}"), f, errors);
            }
            list.iter().map(String::as_str).collect()
        }
    };
    let kind = c.compare;
    let only = |errors: &mut Vec<FieldError>, key: &str, present: bool, who: &str| {
        if present {
            errors.push(FieldError::new(
                format!("{at}/{key}"),
                format!("only {who} takes `{key}`"),
            ));
        }
    };
    let op = match kind {
        Compare::Exact | Compare::Normalized => Some(Op::Equal),
        Compare::Similar => match c.threshold {
            None => {
                errors.push(FieldError::new(
                    format!("{at}/threshold"),
                    "`similar` needs a threshold between 0 and 1 (0.9 is a good start)",
                ));
                None
            }
            Some(t) if !(0.0..=1.0).contains(&t) => {
                errors.push(FieldError::new(
                    format!("{at}/threshold"),
                    format!("{t} is not between 0 and 1"),
                ));
                None
            }
            Some(t) => Some(Op::Similar {
                method: c.method.unwrap_or_default(),
                threshold: t,
            }),
        },
        Compare::FirstWords | Compare::FirstChars => match c.n {
            None | Some(0) => {
                errors.push(FieldError::new(
                    format!("{at}/n"),
                    format!("`{}` needs `n`, a count of at least 1", kind.name()),
                ));
                None
            }
            Some(n) if kind == Compare::FirstWords => Some(Op::FirstWords(n)),
            Some(n) => Some(Op::FirstChars(n)),
        },
    };
    if kind != Compare::Similar {
        only(errors, "threshold", c.threshold.is_some(), "`similar`");
        only(errors, "method", c.method.is_some(), "`similar`");
    }
    if !matches!(kind, Compare::FirstWords | Compare::FirstChars) {
        only(errors, "n", c.n.is_some(), "`first_words` or `first_chars`");
    }
    if kind == Compare::Exact && c.normalizer.is_some() {
        errors.push(FieldError::new(
            format!("{at}/as"),
            "`exact` compares values as stored; use `normalized` to normalize them",
        ));
    }
    let normalizer = c.normalizer.unwrap_or_default();
    let is = |n: Normalizer| kind != Compare::Exact && normalizer == n;
    only(
        errors,
        "ignore_dots",
        c.ignore_dots && !is(Normalizer::Email),
        "`as: email`",
    );
    only(
        errors,
        "ignore_plus",
        c.ignore_plus && !is(Normalizer::Email),
        "`as: email`",
    );
    only(
        errors,
        "default_region",
        c.default_region.is_some() && !is(Normalizer::Phone),
        "`as: phone`",
    );
    only(
        errors,
        "region_field",
        c.region_field.is_some() && !is(Normalizer::Phone),
        "`as: phone`",
    );
    let default_region = match c.default_region.as_deref() {
        Some(code) => match crate::modules::transform::phone::Region::parse(code) {
            Some(r) => Some(r),
            None => {
                errors.push(FieldError::new(
                    format!("{at}/default_region"),
                    crate::modules::transform::unknown_region(code),
                ));
                None
            }
        },
        None => None,
    };
    let region_field = c.region_field.as_deref().inspect(|f| {
        check_field_name(&format!("{at}/region_field"), f, errors);
    });
    if errors.len() > before {
        return None;
    }
    let op = op?;
    let ids: Vec<usize> = names.iter().map(|n| fields.add(n)).collect();
    let region_index = region_field.map(|f| fields.add(f));
    let norm = if kind == Compare::Exact {
        Norm::Raw
    } else {
        match normalizer {
            Normalizer::Text => Norm::Text,
            Normalizer::Compact => Norm::Compact,
            Normalizer::Name => Norm::Name,
            Normalizer::Nickname => Norm::Nickname,
            Normalizer::Company => Norm::Company,
            Normalizer::Email => Norm::Email {
                dots: c.ignore_dots,
                plus: c.ignore_plus,
            },
            Normalizer::Phone => Norm::Phone {
                default: default_region,
                region_field: region_index,
                quick: false,
            },
            Normalizer::Domain => Norm::Domain,
            Normalizer::Country => Norm::Country,
        }
    };
    let mut derivs = Vec::with_capacity(names.len());
    for field in ids {
        let d = Derivation {
            field,
            norm: norm.clone(),
        };
        let k = match derivations.iter().position(|x| *x == d) {
            Some(k) => k,
            None => {
                derivations.push(d);
                derivations.len() - 1
            }
        };
        if !derivs.contains(&k) {
            derivs.push(k);
        }
    }
    Some(Cmp {
        derivs,
        op,
        allow_empty: c.allow_empty,
    })
}

/// When `STEWARD_SCORE_TRACE` is set: the time of the process's first lap (`steward run`
/// laps at its start), which later laps count from.
fn trace_start() -> Option<std::time::Instant> {
    static START: std::sync::OnceLock<Option<std::time::Instant>> = std::sync::OnceLock::new();
    *START
        .get_or_init(|| std::env::var_os("STEWARD_SCORE_TRACE").map(|_| std::time::Instant::now()))
}

/// Whether runs trace their phases and blocking keys on stderr (`STEWARD_SCORE_TRACE`).
pub(crate) fn tracing() -> bool {
    trace_start().is_some()
}

/// When tracing, prints `score: {what} at {seconds}s` on stderr.
pub fn lap(what: &str) {
    if let Some(t0) = trace_start() {
        eprintln!("score: {what} at {:.2}s", t0.elapsed().as_secs_f64());
    }
}
