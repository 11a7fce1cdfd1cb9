//! A template's module config, typed: `ModuleConfig::parse` turns the template's JSON into
//! the module's config, or an `Error::Invalid` naming every wrong field by JSON pointer.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::bulk::BulkConfig;
use super::fields::{self, FieldUse};
use super::grid::GridConfig;
use super::merge::MergeConfig;
use super::transform::TransformConfig;
use super::validate::ValidateConfig;
use super::{Module, RecordEngine};
use crate::crm::ObjectSchema;
use crate::error::{Error, FieldError};

/// Every module's config.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleConfig {
    Merge(MergeConfig),
    Bulk(BulkConfig),
    Transform(TransformConfig),
    Grid(GridConfig),
    Validate(ValidateConfig),
}

impl ModuleConfig {
    /// The typed, checked config of `module`. Errors point from `/config`
    /// (`/config/actions/0/set/value: ...`); a shape error stops at the first problem,
    /// semantic errors are all reported.
    pub fn parse(module: Module, config: &Value) -> Result<ModuleConfig, Error> {
        Self::read::<Given>(module, config)
    }

    /// A config Steward stored after `parse` accepted it (a run's, a template's), read
    /// back by the worker, a schedule or a recipe step: serde and the semantic checks,
    /// without the JSON Schema check that only outside input needs. So the binaries that
    /// only read configs back link no schema validator (BENCHMARKS.md, binary sizes).
    pub fn stored(module: Module, config: &Value) -> Result<ModuleConfig, Error> {
        Self::read::<Stored>(module, config)
    }

    fn read<R: Reading>(module: Module, config: &Value) -> Result<ModuleConfig, Error> {
        let parsed = match module {
            Module::Merge => ModuleConfig::Merge(typed::<_, R>(config)?),
            Module::Bulk => ModuleConfig::Bulk(typed::<_, R>(config)?),
            Module::Transform => ModuleConfig::Transform(typed::<_, R>(config)?),
            Module::Grid => ModuleConfig::Grid(typed::<_, R>(config)?),
            Module::Validate => ModuleConfig::Validate(typed::<_, R>(config)?),
        };
        match invalid(parsed.check()) {
            Some(e) => Err(e),
            None => Ok(parsed),
        }
    }

    pub fn module(&self) -> Module {
        match self {
            ModuleConfig::Merge(_) => Module::Merge,
            ModuleConfig::Bulk(_) => Module::Bulk,
            ModuleConfig::Transform(_) => Module::Transform,
            ModuleConfig::Grid(_) => Module::Grid,
            ModuleConfig::Validate(_) => Module::Validate,
        }
    }

    /// The CRM object the config runs on.
    pub fn object(&self) -> &str {
        match self {
            ModuleConfig::Merge(c) => c.object(),
            ModuleConfig::Bulk(c) => c.object(),
            ModuleConfig::Transform(c) => c.object(),
            ModuleConfig::Grid(c) => c.object(),
            ModuleConfig::Validate(c) => c.object(),
        }
    }

    /// Semantic problems, with pointers from `/config`.
    pub fn check(&self) -> Vec<FieldError> {
        match self {
            ModuleConfig::Merge(c) => c.check(),
            ModuleConfig::Bulk(c) => c.check(),
            ModuleConfig::Transform(c) => c.check(),
            ModuleConfig::Grid(c) => c.check(),
            ModuleConfig::Validate(c) => c.check(),
        }
    }

    /// Every field the config names, with its pointer from `/config`.
    pub fn field_uses(&self) -> Vec<FieldUse> {
        match self {
            ModuleConfig::Merge(c) => c.field_uses(),
            ModuleConfig::Bulk(c) => c.field_uses(),
            ModuleConfig::Transform(c) => c.field_uses(),
            ModuleConfig::Grid(c) => c.field_uses(),
            ModuleConfig::Validate(c) => c.field_uses(),
        }
    }

    /// The config against the CRM: its object is one of `objects` (else that is the only
    /// problem reported, suggesting the closest), and against the object's `schema` every
    /// field it names exists (suggesting the closest names), those it writes are
    /// writable, and bulk `set` values suit their type. Every problem, pointers from
    /// `/config`.
    pub fn check_schema(&self, objects: &[&str], schema: &ObjectSchema) -> Vec<FieldError> {
        if let Some(e) = fields::check_object(self.object(), objects) {
            return vec![e];
        }
        match self {
            ModuleConfig::Bulk(c) => c.check_schema(schema),
            other => fields::check_uses(&other.field_uses(), schema),
        }
    }

    /// The record-by-record engine (bulk, transform, validate). The grid has none: its
    /// changes are cell edits (`grid::plan_edits`). Nor has merge: it plans whole groups
    /// at once (`MergeConfig::engine`).
    pub fn engine(&self) -> Result<Box<dyn RecordEngine>, Error> {
        let built = match self {
            ModuleConfig::Bulk(c) => c.engine(),
            ModuleConfig::Transform(c) => c.engine(),
            ModuleConfig::Validate(c) => c.engine(),
            ModuleConfig::Grid(_) => {
                return Err(Error::invalid(
                    "/module",
                    "the grid plans cell edits, not a run over every record",
                ));
            }
            ModuleConfig::Merge(_) => {
                return Err(Error::invalid(
                    "/module",
                    "merge compares records with each other, not one by one: use the merge \
                     engine (MergeConfig::engine) over all the records",
                ));
            }
        };
        built.map_err(|errors| {
            invalid(errors)
                .unwrap_or_else(|| Error::unexpected("an engine failed without a reason"))
        })
    }
}

/// The schema of a request's `config`: an object, which must be the config of the
/// request's `module`. Carries each module's config schema (`x-by-module`) for
/// `config_by_module` to turn into conditions on the request that holds it.
pub fn config_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut by_module = serde_json::Map::new();
    for &m in Module::ALL {
        let schema = match m {
            Module::Merge => g.subschema_for::<MergeConfig>(),
            Module::Bulk => g.subschema_for::<BulkConfig>(),
            Module::Transform => g.subschema_for::<TransformConfig>(),
            Module::Grid => g.subschema_for::<GridConfig>(),
            Module::Validate => g.subschema_for::<ValidateConfig>(),
        };
        by_module.insert(m.name().into(), schema.to_value());
    }
    schemars::json_schema!({
        "type": "object",
        "description": "The module's config: MergeConfig, BulkConfig, TransformConfig, GridConfig or ValidateConfig, as `module` says",
        "x-by-module": by_module,
    })
}

/// A request schema's transform: `config` must be the config of the request's `module`
/// (one `if module is M then config is MConfig` per module), so the document says which
/// config goes with which module, and the door holds a body to it.
pub fn config_by_module(schema: &mut schemars::Schema) {
    let by_module = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("config"))
        .and_then(|c| c.as_object_mut())
        .and_then(|c| c.remove("x-by-module"));
    let Some(Value::Object(by_module)) = by_module else {
        return;
    };
    if let Some(config) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("config"))
        .and_then(|c| c.as_object_mut())
    {
        // A generated client types `config` as one of the five; the conditions below say
        // which one goes with which module. (No `default`: an absent config is not null.)
        config.insert(
            "anyOf".into(),
            Value::Array(by_module.values().cloned().collect()),
        );
        config.remove("default");
    }
    let conditions: Vec<Value> = by_module
        .into_iter()
        .map(|(module, config)| {
            serde_json::json!({
                "if": {"properties": {"module": {"const": module}}, "required": ["module"]},
                "then": {"properties": {"config": config}}
            })
        })
        .collect();
    schema.insert("allOf".into(), Value::Array(conditions));
}

/// `errors` as one 400, its detail naming the first (and how many more there are).
pub fn invalid(errors: Vec<FieldError>) -> Option<Error> {
    let first = errors.first()?;
    let mut detail = format!("{}: {}", first.pointer, first.detail);
    if errors.len() > 1 {
        detail.push_str(&format!(" (and {} more)", errors.len() - 1));
    }
    Some(Error::Invalid { detail, errors })
}

/// How a config's JSON becomes its type: checked against the module's published schema
/// (input from outside), or read back as Steward stored it. A type, not a flag, so a binary
/// that only reads stored configs links no schema validator at all.
trait Reading {
    fn decode<T: DeserializeOwned + schemars::JsonSchema + 'static>(
        config: &Value,
    ) -> Result<T, Error>;
}

struct Given;
struct Stored;

impl Reading for Given {
    fn decode<T: DeserializeOwned + schemars::JsonSchema + 'static>(
        config: &Value,
    ) -> Result<T, Error> {
        // The module's published schema names every problem; serde's words come first.
        crate::schema::decode(config, "/config").map_err(Error::invalid_all)
    }
}

impl Reading for Stored {
    fn decode<T: DeserializeOwned + schemars::JsonSchema + 'static>(
        config: &Value,
    ) -> Result<T, Error> {
        crate::schema::read(config, "/config").map_err(|e| Error::invalid_all(vec![e]))
    }
}

fn typed<T: DeserializeOwned + schemars::JsonSchema + 'static, R: Reading>(
    config: &Value,
) -> Result<T, Error> {
    // serde would read a list positionally, as a tuple of the config's fields.
    if !config.is_object() {
        let got = match config {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
        };
        return Err(Error::invalid(
            "/config",
            format!("expected an object, got {got}"),
        ));
    }
    R::decode(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(module: Module, v: Value) -> Vec<String> {
        match ModuleConfig::parse(module, &v) {
            Err(Error::Invalid { errors, .. }) => errors
                .into_iter()
                .map(|e| format!("{}: {}", e.pointer, e.detail))
                .collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_bulk_config_parses() {
        let c = ModuleConfig::parse(
            Module::Bulk,
            &json!({"object": "contacts", "actions": [{"clear": {"field": "phone"}}]}),
        )
        .expect("valid");
        assert_eq!(c.module(), Module::Bulk);
        assert_eq!(c.object(), "contacts");
        assert_eq!(c.engine().expect("an engine").columns(), vec!["phone"]);
    }

    #[test]
    fn shape_errors_point_into_the_config() {
        assert_eq!(
            refused(
                Module::Bulk,
                json!({"object": "contacts", "actions": [{"set": {"field": "a", "value": [1]}}]})
            ),
            vec![
                "/config/actions/0/set/value: invalid type: list, expected a string, number or boolean"
            ]
        );
        assert_eq!(
            refused(
                Module::Bulk,
                json!({"object": "contacts", "actions": [{"rename": {}}]})
            ),
            vec![
                "/config/actions/0: unknown variant `rename`, expected one of `set`, `clear`, `copy`, `archive`, `delete`"
            ]
        );
        assert_eq!(
            refused(Module::Bulk, json!({"actions": []})),
            vec!["/config/object: is required"]
        );
        assert_eq!(
            refused(
                Module::Grid,
                json!({"object": "contacts", "columns": ["a"], "page_size": "ten"})
            ),
            vec!["/config/page_size: invalid type: string \"ten\", expected a whole number"]
        );
        assert_eq!(
            refused(
                Module::Grid,
                json!({"object": "c", "columns": ["a"], "filter": {"any": [
                    {"field": "a", "op": "eq", "value": "x"},
                    {"field": "b", "op": "eq", "value": "y", "cas_sensitive": true}
                ]}})
            ),
            vec![
                "/config/filter/any/1/cas_sensitive: unknown field `cas_sensitive`, expected one of `all`, `any`, `field`, `op`, `value`, `type`, `case_sensitive`"
            ]
        );
        assert_eq!(
            refused(Module::Grid, json!(["contacts", ["email"]])),
            vec!["/config: expected an object, got a list"]
        );
    }

    #[test]
    fn semantic_errors_are_all_reported() {
        let err = ModuleConfig::parse(
            Module::Bulk,
            &json!({
                "object": "contacts",
                "filter": {"any": [
                    {"field": "a", "op": "is_empty"},
                    {"field": "b", "op": "between", "value": [3]}
                ]},
                "actions": [{"copy": {"from": "x", "to": "x"}}, {"archive": {}}]
            }),
        )
        .unwrap_err();
        let Error::Invalid { detail, errors } = err else {
            panic!("expected Invalid")
        };
        assert_eq!(
            detail,
            "/config/filter/any/1/value: between needs two values: [low, high] (both included) (and 2 more)"
        );
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec![
                "/config/filter/any/1/value",
                "/config/actions/0/copy/to",
                "/config/actions/1"
            ]
        );
    }

    #[test]
    fn merge_configs_parse_and_have_no_record_engine() {
        let c = ModuleConfig::parse(
            Module::Merge,
            &json!({"object": "contacts", "rules": [
                {"all": [{"field": "email", "compare": "normalized", "as": "email"}]}
            ]}),
        )
        .expect("valid");
        assert_eq!(c.module(), Module::Merge);
        assert_eq!(c.object(), "contacts");
        assert!(c.check().is_empty());
        assert!(matches!(c.engine(), Err(Error::Invalid { .. })));
        assert_eq!(
            refused(Module::Merge, json!({"object": "contacts", "rules": []})),
            vec!["/config/rules: needs at least one rule set: {\"all\": [comparisons]}"]
        );
        assert_eq!(
            refused(
                Module::Merge,
                json!({"object": "contacts", "rules": [{"all": [{"field": "email", "compare": "fuzzy"}]}]})
            ),
            vec![
                "/config/rules/0/all/0/compare: unknown variant `fuzzy`, expected one of `exact`, `normalized`, `similar`, `first_words`, `first_chars`"
            ]
        );
    }

    #[test]
    fn the_grid_has_no_record_engine() {
        let c = ModuleConfig::parse(
            Module::Grid,
            &json!({"object": "deals", "columns": ["amount"]}),
        )
        .expect("valid");
        assert_eq!(c.module(), Module::Grid);
        assert_eq!(c.object(), "deals");
        assert!(matches!(c.engine(), Err(Error::Invalid { .. })));
    }

    #[test]
    fn transform_and_validate_configs_are_dispatched_to_their_modules() {
        for module in [Module::Transform, Module::Validate] {
            let errors = refused(module, json!({"object": "contacts", "surprise": 1}));
            assert!(
                errors[0].starts_with("/config/surprise: unknown field `surprise`"),
                "{errors:?}"
            );
            assert!(
                errors.iter().all(|e| e.starts_with("/config")),
                "{errors:?}"
            );
        }
    }

    fn contacts() -> ObjectSchema {
        use crate::crm::{Field, FieldType};
        let f = |name: &str, label: &str, t: FieldType, writable: bool| Field {
            name: name.into(),
            label: label.into(),
            field_type: t,
            writable,
            options: Vec::new(),
            unique: false,
        };
        ObjectSchema {
            object: "contacts".into(),
            fields: vec![
                f("firstname", "First Name", FieldType::Text, true),
                f("lastname", "Last Name", FieldType::Text, true),
                f("email", "Email", FieldType::Email, true),
                f("phone", "Phone Number", FieldType::Phone, true),
                f("lifecyclestage", "Lifecycle Stage", FieldType::Text, true),
                f("createdate", "Create Date", FieldType::DateTime, false),
            ],
        }
    }

    fn schema_problems(module: Module, v: Value) -> Vec<String> {
        ModuleConfig::parse(module, &v)
            .expect("a valid config")
            .check_schema(&["contacts", "companies", "deals"], &contacts())
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    }

    #[test]
    fn every_module_is_checked_against_the_schema_with_every_problem_reported() {
        assert_eq!(
            schema_problems(
                Module::Bulk,
                json!({"object": "Contact", "actions": [{"set": {"field": "lifecyclestag", "value": "x"}}]})
            ),
            vec!["/config/object: the CRM has no object `Contact`; did you mean `contacts`?"],
            "a wrong object is the one problem"
        );
        assert_eq!(
            schema_problems(
                Module::Bulk,
                json!({"object": "contacts", "filter": {"field": "emial", "op": "not_empty"},
                       "actions": [{"set": {"field": "lifecyclestag", "value": "x"}}]})
            ),
            vec![
                "/config/filter/field: contacts has no field `emial`; did you mean `email`?",
                "/config/actions/0/set/field: contacts has no field `lifecyclestag`; did you mean `lifecyclestage`?",
            ]
        );
        assert_eq!(
            schema_problems(
                Module::Transform,
                json!({"object": "contacts", "steps": [
                    {"field": "firstname", "fn": "trim"},
                    {"field": "phon", "fn": "trim"},
                    {"field": "createdate", "fn": "trim"},
                    {"field": "fullname", "fn": "split_name", "first": "firstname", "last": "lastnam"}
                ]})
            ),
            vec![
                "/config/steps/1/field: contacts has no field `phon`; did you mean `phone`?",
                "/config/steps/2/field: `createdate` is read-only on contacts",
                "/config/steps/3/field: contacts has no field `fullname`",
                "/config/steps/3/last: contacts has no field `lastnam`; did you mean `lastname`?",
            ]
        );
        assert_eq!(
            schema_problems(
                Module::Validate,
                json!({"object": "contacts", "rules": [
                    {"rule": "email", "field": "Email"},
                    {"rule": "requires", "if_present": "phone", "then_required": "emali"}
                ], "fix": [{"field": "mail", "fn": "email"}]})
            ),
            vec![
                "/config/rules/0/field: contacts has no field `Email`; did you mean `email`?",
                "/config/rules/1/then_required: contacts has no field `emali`; did you mean `email`?",
                "/config/fix/0/field: contacts has no field `mail`; did you mean `email`?",
            ]
        );
        assert_eq!(
            schema_problems(
                Module::Merge,
                json!({"object": "contacts", "rules": [
                    {"all": [{"field": "emails", "compare": "exact"}]}
                ], "master": {"rules": [{"rule": "max", "field": "createdat"}]},
                   "survivorship": {"fields": {"phones": "newest"}}})
            ),
            vec![
                "/config/rules/0/all/0/field: contacts has no field `emails`; did you mean `email`?",
                "/config/master/rules/0/field: contacts has no field `createdat`; did you mean `createdate`?",
                "/config/survivorship/fields/phones: contacts has no field `phones`; did you mean `phone`?",
            ]
        );
        assert_eq!(
            schema_problems(
                Module::Grid,
                json!({"object": "contacts", "columns": ["email", "firstnme"], "sort": {"field": "nope"}})
            ),
            vec![
                "/config/columns/1: contacts has no field `firstnme`; did you mean `firstname`?",
                "/config/sort/field: contacts has no field `nope`",
            ]
        );
    }

    #[test]
    fn pointer_segments_are_escaped() {
        let errors = refused(
            Module::Bulk,
            json!({"object": "c", "actions": [{"set": {"field": "a", "value": "v", "a/b~c": 1}}]}),
        );
        assert_eq!(
            errors[0].split(':').next(),
            Some("/config/actions/0/set/a~1b~0c")
        );
    }
}
