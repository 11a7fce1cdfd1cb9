//! The module configs' JSON Schemas (what the OpenAPI document publishes and the server
//! checks requests against) agree with the deserializers: what one refuses, so does the other.

use std::sync::LazyLock;

use proptest::prelude::*;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::bulk::BulkConfig;
use super::filter::Filter;
use super::grid::{CellEdit, GridConfig};
use super::merge::MergeConfig;
use super::transform::{Step, TransformConfig};
use super::validate::{Rule, ValidateConfig};
use super::{Module, ModuleConfig};
use crate::schema::Validator;

fn schema_of<T: JsonSchema>() -> Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The door's validator, without format assertions: these tests hold the schemas' shapes
/// to serde's.
fn validator<T: JsonSchema>() -> Validator {
    Validator::compile(schema_of::<T>(), &T::schema_name(), false)
}

/// What a schema describes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Config(Module),
    Filter,
    Step,
    Rule,
    CellEdits,
}

static MERGE: LazyLock<Validator> = LazyLock::new(validator::<MergeConfig>);
static BULK: LazyLock<Validator> = LazyLock::new(validator::<BulkConfig>);
static TRANSFORM: LazyLock<Validator> = LazyLock::new(validator::<TransformConfig>);
static GRID: LazyLock<Validator> = LazyLock::new(validator::<GridConfig>);
static VALIDATE: LazyLock<Validator> = LazyLock::new(validator::<ValidateConfig>);
static FILTER: LazyLock<Validator> = LazyLock::new(validator::<Filter>);
static STEP: LazyLock<Validator> = LazyLock::new(validator::<Step>);
static RULE: LazyLock<Validator> = LazyLock::new(validator::<Rule>);
static CELL_EDITS: LazyLock<Validator> = LazyLock::new(validator::<Vec<CellEdit>>);

impl Kind {
    fn validator(self) -> &'static Validator {
        match self {
            Kind::Config(Module::Merge) => &MERGE,
            Kind::Config(Module::Bulk) => &BULK,
            Kind::Config(Module::Transform) => &TRANSFORM,
            Kind::Config(Module::Grid) => &GRID,
            Kind::Config(Module::Validate) => &VALIDATE,
            Kind::Filter => &FILTER,
            Kind::Step => &STEP,
            Kind::Rule => &RULE,
            Kind::CellEdits => &CELL_EDITS,
        }
    }

    fn schema_accepts(self, v: &Value) -> bool {
        self.validator().field_errors(v, "").is_empty()
    }

    /// Whether the deserializer accepts `v`, semantic checks aside. Configs go the way
    /// `ModuleConfig::parse` reads them: an object, then serde.
    fn serde_accepts(self, v: &Value) -> bool {
        fn de<T: DeserializeOwned>(v: &Value) -> bool {
            serde_json::from_value::<T>(v.clone()).is_ok()
        }
        match self {
            Kind::Config(m) => {
                v.is_object()
                    && match m {
                        Module::Merge => de::<MergeConfig>(v),
                        Module::Bulk => de::<BulkConfig>(v),
                        Module::Transform => de::<TransformConfig>(v),
                        Module::Grid => de::<GridConfig>(v),
                        Module::Validate => de::<ValidateConfig>(v),
                    }
            }
            Kind::Filter => de::<Filter>(v),
            Kind::Step => de::<Step>(v),
            Kind::Rule => de::<Rule>(v),
            Kind::CellEdits => de::<Vec<CellEdit>>(v),
        }
    }

    fn schema_errors(self, v: &Value) -> Vec<String> {
        self.validator()
            .field_errors(v, "")
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    }
}

const BULK_K: Kind = Kind::Config(Module::Bulk);
const GRID_K: Kind = Kind::Config(Module::Grid);
const MERGE_K: Kind = Kind::Config(Module::Merge);
const TRANSFORM_K: Kind = Kind::Config(Module::Transform);
const VALIDATE_K: Kind = Kind::Config(Module::Validate);

/// Valid under the schema, and parsed (serde and `check`) by `ModuleConfig::parse`; read
/// back from the store (`ModuleConfig::stored`, the worker's way) as the very same config.
fn assert_valid_config(module: Module, v: &Value) {
    let kind = Kind::Config(module);
    assert!(
        kind.schema_accepts(v),
        "schema refuses a valid {module} config: {:?}\n{v:#}",
        kind.schema_errors(v)
    );
    let parsed = match ModuleConfig::parse(module, v) {
        Ok(c) => c,
        Err(e) => {
            panic!("ModuleConfig::parse refuses a documented {module} config: {e:?}\n{v:#}")
        }
    };
    match ModuleConfig::stored(module, v) {
        Ok(stored) => assert_eq!(stored, parsed, "read back differently: {v:#}"),
        Err(e) => panic!("a stored {module} config that parse accepted is refused: {e:?}\n{v:#}"),
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn every_schema_compiles_standalone_and_filters_refer_to_themselves() {
    for kind in [
        MERGE_K,
        BULK_K,
        TRANSFORM_K,
        GRID_K,
        VALIDATE_K,
        Kind::Filter,
        Kind::Step,
        Kind::Rule,
        Kind::CellEdits,
    ] {
        kind.validator();
    }
    validator::<Module>();
    let modules = schema_of::<Module>();
    assert_eq!(
        modules["enum"],
        json!(["merge", "bulk", "transform", "grid", "validate"])
    );
    // A nested group is the same Filter, by reference, not an inlined copy.
    let bulk = schema_of::<BulkConfig>();
    let text = bulk.to_string();
    assert!(text.contains(r##""$ref":"#/$defs/Filter""##), "{bulk:#}");
    assert!(bulk["$defs"]["Filter"]["oneOf"].is_array(), "{bulk:#}");
}

/// The JSON blocks of docs/modules/*.md: full configs, template bodies, and fragments
/// (a filter, a step, cell edits, parts of a merge config).
#[test]
fn documented_examples_are_valid_and_parse() {
    let docs = [
        (Module::Bulk, include_str!("../../../docs/modules/bulk.md")),
        (Module::Grid, include_str!("../../../docs/modules/grid.md")),
        (
            Module::Merge,
            include_str!("../../../docs/modules/merge.md"),
        ),
        (
            Module::Transform,
            include_str!("../../../docs/modules/transform.md"),
        ),
        (
            Module::Validate,
            include_str!("../../../docs/modules/validate.md"),
        ),
    ];
    let mut seen = 0;
    for (module, text) in docs {
        for block in text.split("```json").skip(1) {
            let block = block.split("```").next().unwrap_or_default().trim();
            // A fragment of a config (`"master": {..}`) is read as an object's keys.
            let json_text = if block.starts_with('"') {
                format!("{{{block}}}")
            } else {
                block.to_string()
            };
            let v: Value = serde_json::from_str(&json_text)
                .unwrap_or_else(|e| panic!("{module} doc block is JSON: {e}\n{block}"));
            seen += 1;
            if v.is_array() {
                assert!(Kind::CellEdits.schema_accepts(&v), "{v:#}");
                assert!(Kind::CellEdits.serde_accepts(&v), "{v:#}");
            } else if let Some(m) = v.get("module").and_then(Value::as_str) {
                let m = Module::parse(m).expect("a module name");
                assert_eq!(m, module);
                assert_valid_config(m, &v["config"]);
            } else if block.starts_with('"') {
                // A merge fragment: completed into a config with one rule set.
                assert_eq!(module, Module::Merge);
                let mut config = json!({
                    "object": "contacts",
                    "rules": [{"all": [{"field": "email", "compare": "exact"}]}]
                });
                let map = config.as_object_mut().expect("an object");
                map.extend(v.as_object().expect("an object").clone());
                assert_valid_config(module, &config);
            } else if v.get("cursor").is_some() {
                // The grid view's request (`POST /grid/records`), not a config.
                assert_eq!(module, Module::Grid);
                crate::schema::decode::<crate::runs::grid_view::GridRecordsRequest>(&v, "")
                    .unwrap_or_else(|e| panic!("the grid view's example: {e:?}\n{v:#}"));
            } else if v.get("object").is_some() {
                assert_valid_config(module, &v);
            } else if v.get("fn").is_some() {
                assert!(Kind::Step.schema_accepts(&v), "{v:#}");
                assert!(Kind::Step.serde_accepts(&v), "{v:#}");
            } else {
                assert!(Kind::Filter.schema_accepts(&v), "{v:#}");
                assert!(Kind::Filter.serde_accepts(&v), "{v:#}");
            }
        }
    }
    assert_eq!(seen, 17, "a new doc example: check how it is read here");
}

/// Configs the modules' own tests use, valid on both sides (with their optional keys as
/// null, where serde reads null as absent).
#[test]
fn valid_configs_pass_the_schema_and_parse() {
    let cases = [
        (
            Module::Bulk,
            json!({"object": "contacts", "actions": [{"clear": {"field": "phone"}}]}),
        ),
        (
            Module::Bulk,
            json!({"object": "contacts", "filter": null, "actions": [{"delete": {"keep": ["email"]}}]}),
        ),
        (
            Module::Bulk,
            json!({"object": "c", "actions": [{"set": {"field": "n", "value": 3.5}}, {"set": {"field": "b", "value": true}}]}),
        ),
        (
            Module::Grid,
            json!({"object": "deals", "columns": ["amount"]}),
        ),
        (
            Module::Grid,
            json!({"object": "deals", "columns": ["amount"], "sort": {"field": "amount"}, "page_size": 500, "filter": null}),
        ),
        (
            // A whole number written as a float: parse reads it as the number, and so does
            // the worker reading it back.
            Module::Grid,
            json!({"object": "deals", "columns": ["amount"], "page_size": 500.0}),
        ),
        (
            Module::Merge,
            json!({"object": "contacts", "rules": [
                {"all": [{"field": "email", "compare": "normalized", "as": "email"}]}
            ]}),
        ),
        (
            Module::Merge,
            json!({
                "object": "contacts",
                "rules": [
                    {"name": "same email", "all": [
                        {"fields": ["email", "work_email"], "compare": "normalized", "as": "email",
                         "ignore_dots": true, "ignore_plus": true}
                    ]},
                    {"name": null, "all": [
                        {"field": "phone", "compare": "normalized", "as": "phone",
                         "default_region": "US", "region_field": "country"},
                        {"field": "lastname", "compare": "similar", "method": "levenshtein",
                         "threshold": 0.8},
                        {"field": "firstname", "compare": "first_chars", "n": 1, "allow_empty": true}
                    ]}
                ],
                "master": {"mode": "absolute", "rules": [
                    {"rule": "priority", "field": "lifecyclestage", "values": ["customer", "lead"]},
                    {"rule": "max", "field": "num_deals"},
                    {"rule": "oldest_created"}
                ]},
                "survivorship": {
                    "default": "newest",
                    "fields": {"notes": {"rule": "concatenate"}, "tags": {"rule": "union"},
                               "x": {"rule": "concatenate", "separator": " | "}}
                },
                "max_group_size": 5
            }),
        ),
        (
            Module::Transform,
            json!({"object": "contacts", "flag_problems": true, "steps": [
                {"field": "a", "fn": "trim", "collapse": false},
                {"field": "a", "fn": "upper"},
                {"field": "a", "fn": "title_case", "particles": false, "mac": true},
                {"field": "p", "fn": "phone", "default_region": null},
                {"field": "s", "fn": "state", "to": "name", "country": "CA"},
                {"field": "s", "fn": "state", "to": "code", "country": null},
                {"field": "full", "fn": "join", "from": ["first", "last"], "separator": ", "},
                {"field": "b", "fn": "copy", "from": "a"},
                {"field": "a", "fn": "replace", "pattern": "^x", "with": "y", "ignore_case": true},
                {"field": "a", "fn": "remove", "chars": "()", "classes": ["digits", "non_printable"]},
                {"field": "d", "fn": "date", "from": ["%d/%m/%Y"], "to": "%Y-%m-%d", "day_first": true},
                {"field": "e", "fn": "default", "value": "n/a"},
                {"field": "w", "fn": "domain"}
            ]}),
        ),
        (
            Module::Validate,
            json!({"object": "contacts", "rules": [
                {"rule": "required", "field": "email", "message": null},
                {"rule": "regex", "field": "zip", "pattern": "^[0-9]{5}$", "ignore_case": true},
                {"rule": "phone", "field": "phone", "region": null, "format": "international"},
                {"rule": "one_of", "field": "s", "values": ["a"], "ignore_case": true},
                {"rule": "length", "field": "s", "min": 1, "max": null},
                {"rule": "range", "field": "n", "min": -1.5, "max": 10},
                {"rule": "requires", "if_equals": {"field": "a", "value": "b"}, "then_required": "c"}
            ]}),
        ),
    ];
    for (module, v) in &cases {
        assert_valid_config(*module, v);
    }
}

/// Refused by serde (so by `ModuleConfig::parse`), and invalid under the schema: every
/// shape error of the modules' tests, and unknown keys, wrong types, unknown names and
/// nulls at each level.
#[test]
fn shapes_serde_refuses_are_invalid_under_the_schema() {
    let bulk = |actions: Value| json!({"object": "c", "actions": actions});
    let grid_filter = |filter: Value| json!({"object": "c", "columns": ["a"], "filter": filter});
    let merge = |extra: Value| {
        let mut c =
            json!({"object": "c", "rules": [{"all": [{"field": "a", "compare": "exact"}]}]});
        let map = c.as_object_mut().expect("an object");
        map.extend(extra.as_object().expect("an object").clone());
        c
    };
    let comparison = |cmp: Value| json!({"object": "c", "rules": [{"all": [cmp]}]});
    let steps = |step: Value| json!({"object": "c", "steps": [step]});
    let rules = |rule: Value| json!({"object": "c", "rules": [rule]});
    let cases: Vec<(Kind, Value)> = vec![
        // config.rs
        (BULK_K, bulk(json!([{"set": {"field": "a", "value": [1]}}]))),
        (BULK_K, bulk(json!([{"rename": {}}]))),
        (BULK_K, json!({"actions": []})),
        (
            GRID_K,
            json!({"object": "contacts", "columns": ["a"], "page_size": "ten"}),
        ),
        (
            GRID_K,
            grid_filter(json!({"any": [
                {"field": "a", "op": "eq", "value": "x"},
                {"field": "b", "op": "eq", "value": "y", "cas_sensitive": true}
            ]})),
        ),
        (GRID_K, json!(["contacts", ["email"]])),
        (TRANSFORM_K, json!({"object": "contacts", "surprise": 1})),
        (VALIDATE_K, json!({"object": "contacts", "surprise": 1})),
        (
            BULK_K,
            bulk(json!([{"set": {"field": "a", "value": "v", "a/b~c": 1}}])),
        ),
        (
            MERGE_K,
            comparison(json!({"field": "email", "compare": "fuzzy"})),
        ),
        // bulk: unknown keys, wrong types, nulls
        (
            BULK_K,
            json!({"object": "c", "actions": [], "dry_run": true}),
        ),
        (BULK_K, json!({"object": null, "actions": []})),
        (BULK_K, json!({"object": 5, "actions": []})),
        (
            BULK_K,
            json!({"object": "c", "actions": {"clear": {"field": "a"}}}),
        ),
        (BULK_K, json!({"object": "c", "actions": null})),
        (
            BULK_K,
            bulk(json!([{"set": {"field": "a", "value": null}}])),
        ),
        (
            BULK_K,
            bulk(json!([{"set": {"field": "a", "value": {"x": 1}}}])),
        ),
        (BULK_K, bulk(json!([{"set": {"field": "a"}}]))),
        (
            BULK_K,
            bulk(json!([{"clear": {"field": "a", "value": "x"}}])),
        ),
        (BULK_K, bulk(json!([{"clear": {}}]))),
        (BULK_K, bulk(json!([{"copy": {"from": "a"}}]))),
        (
            BULK_K,
            bulk(json!([{"copy": {"from": "a", "to": "b", "overwrite": true}}])),
        ),
        (BULK_K, bulk(json!([{"archive": {"keep": "a"}}]))),
        (BULK_K, bulk(json!([{"delete": {"keep": [5]}}]))),
        (BULK_K, bulk(json!([{"archive": null}]))),
        (BULK_K, bulk(json!(["archive"]))),
        (
            BULK_K,
            bulk(json!([{"clear": {"field": "a"}, "set": {"field": "b", "value": "x"}}])),
        ),
        (
            BULK_K,
            json!({"object": "c", "filter": "all", "actions": []}),
        ),
        // filters (filter.rs's refused shapes, and more)
        (
            Kind::Filter,
            json!({"field": "a", "op": "like", "value": "x"}),
        ),
        (Kind::Filter, json!({"field": "a", "op": "eq", "vale": "x"})),
        (Kind::Filter, json!({"all": [], "any": []})),
        (Kind::Filter, json!({"all": [], "field": "a"})),
        (Kind::Filter, json!({"any": [], "op": "eq"})),
        (Kind::Filter, json!({"field": "a"})),
        (Kind::Filter, json!({"op": "eq", "value": "x"})),
        (Kind::Filter, json!({})),
        (
            Kind::Filter,
            json!({"field": "a", "op": "eq", "value": null}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": "in", "value": [{"x": 1}]}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": "in", "value": ["x", null]}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": "in", "value": [["x"]]}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": "between", "value": {"low": 1, "high": 2}}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": "gt", "value": 1, "type": "money"}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": "eq", "value": "x", "case_sensitive": "yes"}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": "eq", "value": "x", "type": null}),
        ),
        (Kind::Filter, json!({"field": null, "op": "is_empty"})),
        (Kind::Filter, json!({"field": "a", "op": null})),
        (Kind::Filter, json!({"all": null})),
        (
            Kind::Filter,
            json!({"all": {"field": "a", "op": "is_empty"}}),
        ),
        (
            Kind::Filter,
            json!({"all": [{"any": [{"field": "a", "op": "eq", "value": "x", "extra": 1}]}]}),
        ),
        (
            Kind::Filter,
            json!({"all": [{"any": [{"all": [], "field": "a", "op": "is_empty"}]}]}),
        ),
        (Kind::Filter, json!("eq")),
        (Kind::Filter, json!(null)),
        (Kind::Filter, json!([{"field": "a", "op": "is_empty"}])),
        // grid
        (GRID_K, json!({"object": "c"})),
        (GRID_K, json!({"object": "c", "columns": "a"})),
        (GRID_K, json!({"object": "c", "columns": ["a", 1]})),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "page_size": -1}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "page_size": 1.5}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "page_size": 4_294_967_296u64}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "page_size": null}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "sort": {"field": "a", "direction": "up"}}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "sort": {"field": "a", "order": "asc"}}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "sort": {"direction": "asc"}}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "sort": "a"}),
        ),
        (
            GRID_K,
            grid_filter(json!({"field": "a", "op": "between", "value": {"x": 1}})),
        ),
        (
            Kind::CellEdits,
            json!([{"id": "1", "field": "a", "value": 1}]),
        ),
        (
            Kind::CellEdits,
            json!([{"id": "1", "field": "a", "value": "x", "old": "y"}]),
        ),
        (Kind::CellEdits, json!([{"id": null, "field": "a"}])),
        (Kind::CellEdits, json!([{"field": "a", "value": "x"}])),
        (Kind::CellEdits, json!({"id": "1", "field": "a"})),
        // merge (merge/tests.rs's refused shapes, and more)
        (MERGE_K, json!({"object": "c", "rules": [], "surprise": 1})),
        (
            MERGE_K,
            comparison(json!({"field": "a", "compare": "normalized", "as": "zip"})),
        ),
        (
            MERGE_K,
            merge(json!({"master": {"rules": [{"rule": "random"}]}})),
        ),
        (
            MERGE_K,
            merge(json!({"master": {"rules": [{"rule": "max"}]}})),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"default": "latest"}})),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"fields": {"a": {"rule": "max", "separator": ","}}}})),
        ),
        (
            MERGE_K,
            merge(
                json!({"survivorship": {"fields": {"a": {"rule": "concatenate", "separator": null}}}}),
            ),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"fields": {"a": {"rule": "concatenate", "sep": ","}}}})),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"fields": {"a": {"separator": ","}}}})),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"fields": {"a": {"rule": 5}}}})),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"fields": {"a": null}}})),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"fields": {"a": ["newest"]}}})),
        ),
        (
            MERGE_K,
            merge(json!({"survivorship": {"default": "newest", "other": "oldest"}})),
        ),
        (MERGE_K, merge(json!({"survivorship": null}))),
        (MERGE_K, merge(json!({"master": {"mode": "democratic"}}))),
        (
            MERGE_K,
            merge(json!({"master": {"rules": [{"rule": "priority", "field": "a"}]}})),
        ),
        (
            MERGE_K,
            merge(json!({"master": {"rules": [{"rule": "max", "field": "a", "values": []}]}})),
        ),
        (
            MERGE_K,
            merge(json!({"master": {"rules": ["oldest_created"]}})),
        ),
        (MERGE_K, merge(json!({"master": {"rules": null}}))),
        (MERGE_K, merge(json!({"master": {"tie_break": "id"}}))),
        (MERGE_K, merge(json!({"read_only": "a"}))),
        (MERGE_K, merge(json!({"max_group_size": -1}))),
        (MERGE_K, merge(json!({"max_group_size": "20"}))),
        (MERGE_K, merge(json!({"max_group_size": 2.5}))),
        (
            MERGE_K,
            merge(json!({"cross_object": {"lead_object": "Lead", "convert": true}})),
        ),
        (
            MERGE_K,
            merge(json!({"cross_object": {"lead_fields": {"a": 1}}})),
        ),
        (
            MERGE_K,
            merge(json!({"cross_object": {"lead_object": null}})),
        ),
        (MERGE_K, json!({"object": "c", "rules": [{"any": []}]})),
        (
            MERGE_K,
            json!({"object": "c", "rules": [{"all": [], "name": 5}]}),
        ),
        (
            MERGE_K,
            json!({"object": "c", "rules": [{"all": [], "weight": 1}]}),
        ),
        (MERGE_K, comparison(json!({"field": "a"}))),
        (MERGE_K, comparison(json!({"field": "a", "compare": null}))),
        (
            MERGE_K,
            comparison(json!({"field": "a", "compare": "similar", "threshold": "high"})),
        ),
        (
            MERGE_K,
            comparison(json!({"field": "a", "compare": "similar", "method": "soundex"})),
        ),
        (
            MERGE_K,
            comparison(json!({"field": "a", "compare": "first_chars", "n": -1})),
        ),
        (
            MERGE_K,
            comparison(json!({"field": "a", "compare": "first_chars", "n": 1.5})),
        ),
        (
            MERGE_K,
            comparison(json!({"fields": "a", "compare": "exact"})),
        ),
        (
            MERGE_K,
            comparison(json!({"field": "a", "compare": "exact", "ignore_dots": null})),
        ),
        (
            MERGE_K,
            comparison(json!({"field": "a", "compare": "exact", "fuzziness": 1})),
        ),
        // transform (transform/tests.rs's refused shapes, and more)
        (TRANSFORM_K, steps(json!({"field": "a", "fn": "titlecase"}))),
        (
            TRANSFORM_K,
            steps(json!({"field": "p", "fn": "phone", "format": "e165"})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "p", "fn": "phone", "formt": "e164"})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "p", "fn": "upper", "to": "x"})),
        ),
        (TRANSFORM_K, steps(json!({"field": 3, "fn": "upper"}))),
        (TRANSFORM_K, steps(json!({"fn": "upper"}))),
        (TRANSFORM_K, steps(json!({"field": "a"}))),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "join", "from": ["x", 2]})),
        ),
        (TRANSFORM_K, steps(json!({"field": "a", "fn": "country"}))),
        (TRANSFORM_K, steps(json!("trim"))),
        (TRANSFORM_K, json!({"object": "c", "steps": [], "extra": 1})),
        (
            TRANSFORM_K,
            json!({"object": "c", "steps": [], "flag_problems": null}),
        ),
        (TRANSFORM_K, json!({"object": "c"})),
        (TRANSFORM_K, steps(json!({"field": "a", "fn": null}))),
        (TRANSFORM_K, steps(json!({"field": null, "fn": "upper"}))),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "trim", "collapse": "yes"})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "trim", "collapse": null})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "country", "to": "iso"})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "state", "to": "code", "country": "FR"})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "split_name", "first": "f"})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "copy", "from": ["b"]})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "join", "from": "b"})),
        ),
        (TRANSFORM_K, steps(json!({"field": "a", "fn": "replace"}))),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "remove", "classes": ["vowels"]})),
        ),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "date", "from": ["%Y"]})),
        ),
        (TRANSFORM_K, steps(json!({"field": "a", "fn": "default"}))),
        (
            TRANSFORM_K,
            steps(json!({"field": "a", "fn": "domain", "field2": "b"})),
        ),
        // validate (validate.rs's refused shapes, and more)
        (
            VALIDATE_K,
            rules(json!({"rule": "mandatory", "field": "a"})),
        ),
        (
            VALIDATE_K,
            rules(json!({"rule": "length", "field": "a", "min": -1})),
        ),
        (
            VALIDATE_K,
            rules(json!({"rule": "email", "field": "a", "pattern": "x"})),
        ),
        (VALIDATE_K, rules(json!({"rule": "one_of", "field": "a"}))),
        (
            VALIDATE_K,
            rules(json!({"rule": "required", "field": "a", "message": 5})),
        ),
        (
            VALIDATE_K,
            rules(json!({"rule": "requires", "if_equals": {"field": "a"}, "then_required": "b"})),
        ),
        (VALIDATE_K, rules(json!({"field": "a"}))),
        (VALIDATE_K, rules(json!({"rule": null, "field": "a"}))),
        (VALIDATE_K, rules(json!({"rule": "required"}))),
        (
            VALIDATE_K,
            rules(json!({"rule": "length", "field": "a", "min": 1.5})),
        ),
        (
            VALIDATE_K,
            rules(json!({"rule": "range", "field": "a", "min": "1"})),
        ),
        (
            VALIDATE_K,
            rules(json!({"rule": "phone", "field": "a", "format": "e165"})),
        ),
        (
            VALIDATE_K,
            rules(
                json!({"rule": "requires", "if_equals": {"field": "a", "value": "b", "x": 1}, "then_required": "c"}),
            ),
        ),
        (
            VALIDATE_K,
            rules(json!({"rule": "requires", "if_present": "a"})),
        ),
        (VALIDATE_K, rules(json!("required"))),
        (
            VALIDATE_K,
            json!({"object": "c", "rules": [], "fix": [{"field": "a"}]}),
        ),
        (VALIDATE_K, json!({"object": "c", "rules": [], "fix": null})),
    ];
    let mut wrong = Vec::new();
    for (kind, v) in &cases {
        if kind.serde_accepts(v) {
            wrong.push(format!("serde accepts (not for this corpus): {kind:?} {v}"));
        }
        if kind.schema_accepts(v) {
            wrong.push(format!("the schema accepts: {kind:?} {v}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Semantic problems are `check`'s, not the schema's: these pass the schema and serde, and
/// `ModuleConfig::parse` still refuses them (so a request checked against the schema is
/// checked again, with every problem named).
#[test]
fn semantic_problems_pass_the_schema_and_are_left_to_check() {
    let cases = [
        (Module::Bulk, json!({"object": "c", "actions": []})),
        (
            Module::Bulk,
            json!({"object": "c", "filter": {"field": "a", "op": "between", "value": [3]}, "actions": [{"archive": {}}]}),
        ),
        (
            Module::Grid,
            json!({"object": "c", "columns": ["a"], "page_size": 0}),
        ),
        (Module::Merge, json!({"object": "c", "rules": []})),
        (Module::Transform, json!({"object": "c", "steps": []})),
        (
            Module::Validate,
            json!({"object": "c", "rules": [{"rule": "regex", "field": "a", "pattern": "("}]}),
        ),
    ];
    for (module, v) in &cases {
        let kind = Kind::Config(*module);
        assert!(kind.schema_accepts(v), "{v}: {:?}", kind.schema_errors(v));
        assert!(kind.serde_accepts(v), "{v}");
        assert!(ModuleConfig::parse(*module, v).is_err(), "{v}");
    }
}

/// Where serde is laxer than the schema, pinned so a change on either side is seen:
/// serde derives read a struct from a positional list, a unit variant from
/// `{"name": null}`, and ignore extra keys beside an internally tagged unit variant
/// (`{"rule": "oldest_created", "field": "a"}`, deny_unknown_fields notwithstanding); and
/// JSON Schema counts `10.0` as an integer. The schema keeps the documented forms; these
/// odd ones stay accepted by serde alone.
#[test]
fn known_disagreements_are_only_these() {
    let serde_only = [
        (
            BULK_K,
            json!({"object": "c", "actions": [{"set": ["a", "v"]}]}),
        ),
        (
            GRID_K,
            json!({"object": "c", "columns": ["a"], "sort": ["a", "desc"]}),
        ),
        (
            Kind::Filter,
            json!({"field": "a", "op": {"eq": null}, "value": "x"}),
        ),
        (
            MERGE_K,
            json!({"object": "c", "rules": [{"all": [{"field": "a", "compare": {"exact": null}}]}]}),
        ),
        (
            MERGE_K,
            json!({"object": "c", "rules": [], "master": {"rules": [["max", "amount"]]}}),
        ),
        (
            MERGE_K,
            json!({"object": "c", "rules": [], "master": {"rules": [{"rule": "oldest_created", "field": "a"}]}}),
        ),
    ];
    for (kind, v) in &serde_only {
        assert!(kind.serde_accepts(v), "{v}");
        assert!(!kind.schema_accepts(v), "{v}");
    }
    let schema_only = [(
        GRID_K,
        json!({"object": "c", "columns": ["a"], "page_size": 10.0}),
    )];
    for (kind, v) in &schema_only {
        assert!(!kind.serde_accepts(v), "{v}");
        assert!(kind.schema_accepts(v), "{v}");
    }
}

#[test]
fn field_rule_names_are_the_deserializers() {
    let schema = schema_of::<MergeConfig>();
    let names = &schema["$defs"]["FieldRule"]["oneOf"][0]["enum"];
    let names: Vec<&str> = names
        .as_array()
        .expect("a list of names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(names.len(), 9, "{names:?}");
    for name in names {
        let v = json!({"object": "c", "rules": [], "survivorship": {"default": name}});
        assert!(MERGE_K.serde_accepts(&v), "{name}");
        assert!(MERGE_K.schema_accepts(&v), "{name}");
        let object =
            json!({"object": "c", "rules": [], "survivorship": {"default": {"rule": name}}});
        assert!(MERGE_K.serde_accepts(&object), "{name}");
        assert!(MERGE_K.schema_accepts(&object), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Generated filters and steps: mostly well-formed, with a wrong key, type or name here and
// there, so both sides of the line are explored.

const OPS: &[&str] = &[
    "eq",
    "neq",
    "contains",
    "starts_with",
    "is_empty",
    "not_empty",
    "gt",
    "lt",
    "gte",
    "lte",
    "between",
    "in",
];
const WORDS: &[&str] = &[
    "",
    "x",
    "lead",
    "eq",
    "all",
    "any",
    "field",
    "value",
    "text",
    "number",
    "date",
    "datetime",
    "trim",
    "phone",
    "e164",
    "US",
    "CA",
    "digits",
    "name",
    "like",
    "2024-01-01",
];

/// Any small JSON value, but never an object of one key whose value is null (serde reads
/// that as a unit variant's name: a known, pinned disagreement).
fn junk() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..100).prop_map(Value::from),
        (-100.0f64..100.0).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
    ];
    scalar.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(WORDS), inner, 0..3).prop_map(|m| {
                let map: Map<String, Value> =
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                if map.len() == 1 && map.values().all(Value::is_null) {
                    Value::Object(Map::new())
                } else {
                    Value::Object(map)
                }
            }),
        ]
    })
}

/// `good` most of the time, otherwise junk.
fn mostly(good: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![6 => good, 1 => junk()].boxed()
}

fn word(words: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(words).prop_map(Value::from).boxed()
}

fn text_value() -> BoxedStrategy<Value> {
    prop_oneof![
        word(WORDS),
        (-5i64..100).prop_map(Value::from),
        (-10.0f64..10.0).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]
    .boxed()
}

/// An object from optional entries, and sometimes one key from outside.
fn object(entries: Vec<(&'static str, f64, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let parts: Vec<BoxedStrategy<Option<(&'static str, Value)>>> = entries
        .into_iter()
        .map(|(k, p, s)| prop::option::weighted(p, s.prop_map(move |v| (k, v))).boxed())
        .collect();
    let extra = prop::option::weighted(
        0.1,
        (prop::sample::select(WORDS), junk()).prop_map(|(k, v)| (k, v)),
    );
    (parts, extra)
        .prop_map(|(parts, extra)| {
            let mut map = Map::new();
            for (k, v) in parts.into_iter().flatten().chain(extra) {
                map.insert(k.to_string(), v);
            }
            Value::Object(map)
        })
        .boxed()
}

fn filter_like() -> impl Strategy<Value = Value> {
    let condition = object(vec![
        ("field", 0.95, mostly(word(&["a", "b", ""]))),
        ("op", 0.95, mostly(word(OPS))),
        (
            "value",
            0.6,
            mostly(
                prop_oneof![
                    text_value(),
                    prop::collection::vec(text_value(), 0..3).prop_map(Value::Array)
                ]
                .boxed(),
            ),
        ),
        (
            "type",
            0.3,
            mostly(word(&["text", "number", "date", "datetime", "money"])),
        ),
        (
            "case_sensitive",
            0.3,
            mostly(any::<bool>().prop_map(Value::from).boxed()),
        ),
    ]);
    let leaf = prop_oneof![8 => condition, 1 => junk().boxed()];
    leaf.prop_recursive(3, 16, 3, |inner| {
        let list = prop::collection::vec(inner, 0..3)
            .prop_map(Value::Array)
            .boxed();
        let key = prop::sample::select(&["all", "any"][..]);
        (
            key,
            mostly(list),
            prop::option::weighted(0.1, (Just("field"), junk())),
        )
            .prop_map(|(key, list, extra)| {
                let mut map = Map::new();
                map.insert(key.to_string(), list);
                if let Some((k, v)) = extra {
                    map.insert(k.to_string(), v);
                }
                Value::Object(map)
            })
            .boxed()
    })
}

const FNS: &[&str] = &[
    "trim",
    "upper",
    "lower",
    "title_case",
    "phone",
    "email",
    "country",
    "state",
    "split_name",
    "join",
    "copy",
    "replace",
    "remove",
    "date",
    "default",
    "domain",
    "titlecase",
];

/// A step's parameters as they are written, for the function named `name`.
fn params(name: &str) -> Vec<(&'static str, f64, BoxedStrategy<Value>)> {
    let boolean = || mostly(any::<bool>().prop_map(Value::from).boxed());
    let strings = || {
        mostly(
            prop::collection::vec(word(&["a", "b", "%Y"]), 0..3)
                .prop_map(Value::Array)
                .boxed(),
        )
    };
    let nullable = |words: &'static [&'static str]| {
        mostly(prop_oneof![word(words), Just(Value::Null).boxed()].boxed())
    };
    match name {
        "trim" => vec![("collapse", 0.5, boolean())],
        "title_case" => vec![("particles", 0.5, boolean()), ("mac", 0.5, boolean())],
        "phone" => vec![
            (
                "format",
                0.5,
                mostly(word(&["e164", "national", "international", "e165"])),
            ),
            ("default_region", 0.5, nullable(&["US", "GB"])),
        ],
        "country" => vec![(
            "to",
            0.9,
            mostly(word(&["name", "alpha2", "alpha3", "code"])),
        )],
        "state" => vec![
            ("to", 0.9, mostly(word(&["name", "code", "alpha2"]))),
            ("country", 0.5, nullable(&["US", "CA", "FR"])),
        ],
        "split_name" => vec![
            ("first", 0.9, mostly(word(&["f"]))),
            ("last", 0.9, mostly(word(&["l"]))),
        ],
        "join" => vec![
            ("from", 0.9, strings()),
            ("separator", 0.5, mostly(word(&[" ", ", "]))),
        ],
        "copy" => vec![("from", 0.9, mostly(word(&["a", "b"])))],
        "replace" => vec![
            ("pattern", 0.9, mostly(word(&["^a", "("]))),
            ("with", 0.5, mostly(word(&["$1", ""]))),
            ("ignore_case", 0.3, boolean()),
        ],
        "remove" => vec![
            ("chars", 0.5, mostly(word(&["()", ""]))),
            (
                "classes",
                0.5,
                mostly(
                    prop::collection::vec(
                        word(&["digits", "letters", "non_ascii", "vowels"]),
                        0..3,
                    )
                    .prop_map(Value::Array)
                    .boxed(),
                ),
            ),
        ],
        "date" => vec![
            ("from", 0.5, strings()),
            ("to", 0.9, mostly(word(&["%Y-%m-%d"]))),
            ("day_first", 0.3, boolean()),
        ],
        "default" => vec![("value", 0.9, mostly(word(&["n/a", ""])))],
        _ => vec![],
    }
}

/// Steps shaped after their function's parameters, with a wrong name, key or value here
/// and there (`object` adds a foreign key now and then).
fn step_like() -> impl Strategy<Value = Value> {
    let step = prop::sample::select(FNS).prop_flat_map(|name| {
        let mut entries = vec![
            ("field", 0.95, mostly(word(&["a", "b"]))),
            ("fn", 0.95, mostly(Just(Value::from(name)).boxed())),
        ];
        entries.extend(params(name));
        object(entries)
    });
    prop_oneof![12 => step, 1 => junk().boxed()]
}

const RULES: &[&str] = &[
    "required",
    "regex",
    "email",
    "phone",
    "one_of",
    "length",
    "range",
    "requires",
    "mandatory",
];

/// Validate rules shaped after their parameters, with a wrong name, key or value here and
/// there. `if_equals` is never a list: serde would read `["a", "b"]` positionally (pinned
/// above).
fn rule_like() -> impl Strategy<Value = Value> {
    let rule = prop::sample::select(RULES).prop_flat_map(|name| {
        let field = ("field", 0.95, mostly(word(&["a", "b"])));
        let nullable = |s: BoxedStrategy<Value>| {
            mostly(prop_oneof![3 => s, 1 => Just(Value::Null).boxed()].boxed())
        };
        let ignore_case = (
            "ignore_case",
            0.3,
            mostly(any::<bool>().prop_map(Value::from).boxed()),
        );
        let mut entries = vec![
            ("rule", 0.95, mostly(Just(Value::from(name)).boxed())),
            ("message", 0.3, nullable(word(&["bad", ""]))),
        ];
        entries.extend(match name {
            "regex" => vec![
                field,
                ("pattern", 0.9, mostly(word(&["^a", "("]))),
                ignore_case,
            ],
            "phone" => vec![
                field,
                ("region", 0.5, nullable(word(&["US", "XX"]))),
                (
                    "format",
                    0.5,
                    mostly(word(&["e164", "national", "international", "e165"])),
                ),
            ],
            "one_of" => vec![
                field,
                (
                    "values",
                    0.9,
                    mostly(
                        prop::collection::vec(word(&["a", "b"]), 0..3)
                            .prop_map(Value::Array)
                            .boxed(),
                    ),
                ),
                ignore_case,
            ],
            "length" => vec![
                field,
                (
                    "min",
                    0.5,
                    nullable((-1i64..5).prop_map(Value::from).boxed()),
                ),
                (
                    "max",
                    0.5,
                    nullable((0i64..5).prop_map(Value::from).boxed()),
                ),
            ],
            "range" => vec![
                field,
                (
                    "min",
                    0.5,
                    nullable((-5.0f64..5.0).prop_map(Value::from).boxed()),
                ),
                (
                    "max",
                    0.5,
                    nullable((0i64..5).prop_map(Value::from).boxed()),
                ),
            ],
            "requires" => vec![
                ("if_present", 0.5, nullable(word(&["a"]))),
                (
                    "if_equals",
                    0.5,
                    prop_oneof![
                        4 => object(vec![
                            ("field", 0.9, mostly(word(&["a"]))),
                            ("value", 0.9, mostly(word(&["x"]))),
                        ]),
                        1 => Just(Value::Null).boxed(),
                        1 => word(&["a"]),
                    ]
                    .boxed(),
                ),
                ("then_required", 0.9, mostly(word(&["b"]))),
            ],
            _ => vec![field],
        });
        object(entries)
    });
    prop_oneof![12 => rule, 1 => junk().boxed()]
}

/// The generators reach both sides of the line, so the properties below can fail.
#[test]
fn generators_make_valid_and_invalid_values() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut count = |kind: Kind, strategy: BoxedStrategy<Value>| {
        let valid = (0..400)
            .filter(|_| {
                let v = strategy.new_tree(&mut runner).expect("a value").current();
                kind.serde_accepts(&v)
            })
            .count();
        assert!(
            (40..=360).contains(&valid),
            "{kind:?}: {valid} of 400 valid"
        );
    };
    count(Kind::Filter, filter_like().boxed());
    count(Kind::Step, step_like().boxed());
    count(Kind::Rule, rule_like().boxed());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_filters_are_valid_exactly_when_serde_reads_them(v in filter_like()) {
        prop_assert_eq!(
            Kind::Filter.schema_accepts(&v),
            Kind::Filter.serde_accepts(&v),
            "{}: {:?}", v, Kind::Filter.schema_errors(&v)
        );
    }

    #[test]
    fn generated_rules_are_valid_exactly_when_serde_reads_them(v in rule_like()) {
        prop_assert_eq!(
            Kind::Rule.schema_accepts(&v),
            Kind::Rule.serde_accepts(&v),
            "{}: {:?}", v, Kind::Rule.schema_errors(&v)
        );
    }

    #[test]
    fn generated_steps_are_valid_exactly_when_serde_reads_them(v in step_like()) {
        prop_assert_eq!(
            Kind::Step.schema_accepts(&v),
            Kind::Step.serde_accepts(&v),
            "{}: {:?}", v, Kind::Step.schema_errors(&v)
        );
    }
}
