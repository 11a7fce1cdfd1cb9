//! The API's schemas, used twice: published in the OpenAPI document, and enforced at the
//! door. A request body or module config is checked against the JSON Schema derived from
//! the very serde type that reads it, so every wrong field is named at once, at its own
//! pointer, and a client generated from the document cannot disagree with the server.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::FieldError;

/// Writes a type's schema into a generator's definitions and returns its reference: how the
/// route catalogue names request and response bodies without building anything at start.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The `SchemaFn` of `T`.
pub fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// How far a value may be from its schema before the door stops listing problems.
const MAX_ERRORS: usize = 50;

type Validators = Mutex<HashMap<TypeId, Arc<jsonschema::Validator>>>;

/// `T`'s validator, compiled at first use and kept for the process (a Lambda's lifetime).
fn validator<T: JsonSchema + 'static>() -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    if let Some(v) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return v.clone();
    }
    let schema = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<T>();
    let built = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema.as_value())
        // Our own derived schemas: one that does not compile is a programming error that
        // every route's tests meet at once.
        .unwrap_or_else(|e| panic!("the schema of {} does not compile: {e}", T::schema_name()));
    let built = Arc::new(built);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, built.clone());
    built
}

/// Reads `value` as `T` after checking it against `T`'s schema. Every problem is named,
/// each at its pointer below `prefix` (`""` for a whole body, `/config` for a template's
/// config). When serde refuses the value too, its message comes first: it is the most
/// specific one (`unknown variant`, `expected one of`), and schema problems that say the
/// same thing at the same place are left out.
pub fn decode<T: DeserializeOwned + JsonSchema + 'static>(
    value: &Value,
    prefix: &str,
) -> Result<T, Vec<FieldError>> {
    let mut errors = schema_errors(&validator::<T>(), value, prefix);
    match read::<T>(value, prefix) {
        Ok(t) if errors.is_empty() => Ok(t),
        Ok(_) => Err(errors),
        Err(first) => {
            errors.retain(|s| !covers(s, &first));
            errors.insert(0, first);
            Err(errors)
        }
    }
}

/// Reads `value` as `T` with serde alone, its first problem at its pointer below `prefix`.
/// `decode` is this after the schema check; alone it is for values Steward stored after
/// `decode` accepted them (a run's or template's config read back by the worker), so the
/// binaries that only read them back do not link the schema validator.
pub fn read<T: DeserializeOwned>(value: &Value, prefix: &str) -> Result<T, FieldError> {
    // JSON has one kind of number: `89.0` is the whole number the schema accepts, so serde
    // reads it as one too (`u8` would refuse the float).
    let whole;
    let value = if has_whole_float(value) {
        whole = whole_numbers(value.clone());
        &whole
    } else {
        value
    };
    serde_path_to_error::deserialize::<_, T>(value)
        .map_err(|e| serde_error(prefix, e.path(), &e.inner().to_string()))
}

fn is_whole_float(n: &serde_json::Number) -> bool {
    n.as_f64()
        .is_some_and(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15)
}

fn has_whole_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => is_whole_float(n),
        Value::Array(a) => a.iter().any(has_whole_float),
        Value::Object(m) => m.values().any(has_whole_float),
        _ => false,
    }
}

fn whole_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) if is_whole_float(&n) => {
            Value::from(n.as_f64().unwrap_or_default() as i64)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(whole_numbers).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, whole_numbers(v))).collect())
        }
        other => other,
    }
}

/// Whether the schema problem `s` only repeats the serde problem `first`: the same place,
/// or a choice (`oneOf`/`anyOf`) above it that failed because of it.
fn covers(s: &FieldError, first: &FieldError) -> bool {
    // A hand-written reader may name the key in its message instead of its pointer:
    // `/config/steps/1: format: unknown variant` is the schema's `/config/steps/1/format`.
    let named_key = s.pointer.rsplit_once('/').is_some_and(|(parent, key)| {
        parent == first.pointer && first.detail.starts_with(&format!("{key}: "))
    });
    s.pointer == first.pointer
        || named_key
        || (s.detail.starts_with(NO_SHAPE) && is_within(&first.pointer, &s.pointer))
}

fn is_within(pointer: &str, ancestor: &str) -> bool {
    pointer
        .strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// serde's message at its own pointer; a missing field is reported where it belongs
/// (`/user_id: is required`), not at the object that lacks it.
fn serde_error(prefix: &str, path: &serde_path_to_error::Path, message: &str) -> FieldError {
    let pointer = format!("{prefix}{}", crate::http::json_pointer(path));
    let message = crate::http::serde_message(message);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        return FieldError::new(
            format!("{pointer}/{}", crate::http::pointer_segment(field)),
            "is required",
        );
    }
    FieldError::new(pointer, message)
}

const NO_SHAPE: &str = "matches none of the allowed forms";

/// Every way `value` breaks the validator's schema, in a JSON author's words.
fn schema_errors(v: &jsonschema::Validator, value: &Value, prefix: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    for e in v.iter_errors(value).take(MAX_ERRORS) {
        describe(&e, prefix, &mut out);
    }
    // Two routes to one problem (a choice and a condition over the same value) say it once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|e| seen.insert((e.pointer.clone(), e.detail.clone())));
    out
}

fn describe(e: &jsonschema::ValidationError<'_>, prefix: &str, out: &mut Vec<FieldError>) {
    use jsonschema::error::ValidationErrorKind as K;
    let at = format!("{prefix}{}", e.instance_path().as_str());
    let child = |name: &str| format!("{at}/{}", crate::http::pointer_segment(name));
    let detail = match e.kind() {
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            out.push(FieldError::new(child(name), "is required"));
            return;
        }
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            for name in unexpected {
                out.push(FieldError::new(
                    child(name),
                    format!("unknown field `{}`", name.escape_debug()),
                ));
            }
            return;
        }
        K::OneOfNotValid { context } | K::AnyOf { context } => {
            // The branch the value was meant for is the one whose problems lie deepest
            // (`{"set": {"value": []}}` fails inside `set`, the other actions at the top),
            // or, all at the same place, the only one that did not fail on the value's type
            // (`"owner"` against `admin|user` or null: the enum's).
            let depth = |branch: &Vec<jsonschema::ValidationError<'static>>| {
                branch
                    .iter()
                    .map(|e| e.instance_path().as_str().matches('/').count() + 1)
                    .min()
                    .unwrap_or(0)
            };
            let typed = |branch: &Vec<jsonschema::ValidationError<'static>>| {
                branch.iter().any(|e| !matches!(e.kind(), K::Type { .. }))
            };
            let here = e.instance_path().as_str().matches('/').count() + 1;
            // A choice of constants (an enum with documented values): name them.
            let constants: Option<Vec<Value>> = context
                .iter()
                .map(|b| match b.as_slice() {
                    [only] => match only.kind() {
                        K::Constant { expected_value } => Some((**expected_value).clone()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            if let Some(values) = constants.filter(|v| !v.is_empty()) {
                out.push(FieldError::new(
                    at,
                    format!("must be one of: {}", list(&values)),
                ));
                return;
            }
            let best = context.iter().max_by_key(|b| (depth(b), typed(b)));
            let only_typed = context.iter().filter(|b| typed(b)).count() == 1;
            match best {
                Some(branch) if depth(branch) > here || (typed(branch) && only_typed) => {
                    for inner in branch {
                        describe(inner, prefix, out);
                    }
                    return;
                }
                _ => NO_SHAPE.to_string(),
            }
        }
        K::OneOfMultipleValid { .. } => "matches more than one of the allowed forms".into(),
        K::Type { kind } => format!("expected {}", kinds(kind)),
        K::Enum { options } => match options.as_array() {
            Some(values) => format!("must be one of: {}", list(values)),
            None => "is not one of the allowed values".into(),
        },
        K::Constant { expected_value } => format!("must be {expected_value}"),
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::Maximum { limit } => format!("must be at most {limit}"),
        K::ExclusiveMinimum { limit } => format!("must be more than {limit}"),
        K::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        K::MinLength { limit } => match limit {
            1 => "must not be empty".into(),
            n => format!("must be at least {n} characters"),
        },
        K::MaxLength { limit } => format!("must be at most {limit} characters"),
        K::MinItems { limit } => format!("must list at least {limit}"),
        K::MaxItems { limit } => format!("must list at most {limit}"),
        K::MinProperties { limit } => format!("must have at least {limit} fields"),
        K::MaxProperties { limit } => format!("must have at most {limit} fields"),
        K::UniqueItems => {
            // Name the repeat itself: `/columns/1`, not the whole list.
            let items = e.instance().as_array().cloned().unwrap_or_default();
            let repeat = (1..items.len()).find(|&i| items[..i].contains(&items[i]));
            match repeat {
                Some(i) => {
                    out.push(FieldError::new(
                        format!("{at}/{i}"),
                        "repeats an earlier value",
                    ));
                    return;
                }
                None => "must not repeat a value".into(),
            }
        }
        K::Pattern { pattern } => format!("must match {pattern}"),
        K::Format { format } => match format.as_str() {
            "date-time" => "must be a date and time (RFC 3339, e.g. 2025-01-31T09:00:00Z)".into(),
            "date" => "must be a date (YYYY-MM-DD)".into(),
            "email" => "must be an email address".into(),
            f => format!("must be a valid {f}"),
        },
        _ => {
            let text = e.to_string();
            match text.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        }
    };
    out.push(FieldError::new(at, detail));
}

fn kinds(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let word = |t: jsonschema::JsonType| match t.as_str() {
        "array" => "a list",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        "object" => "an object",
        "string" => "text",
        _ => "null",
    };
    match kind {
        TypeKind::Single(t) => word(*t).to_string(),
        TypeKind::Multiple(set) => set.iter().map(word).collect::<Vec<_>>().join(" or "),
    }
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The generator the OpenAPI document uses for one side of the contract: request bodies
/// are described as they are read, responses as they are written (a field serde skips
/// when empty is optional in a response, a defaulted one optional in a request).
pub fn generator(requests: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    if requests {
        settings.for_deserialize().into_generator()
    } else {
        settings.for_serialize().into_generator()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Invite {
        user_id: String,
        #[serde(default)]
        role: Option<Role>,
        #[schemars(range(min = 1, max = 10))]
        seats: u32,
        #[serde(default)]
        actions: Vec<Action>,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Role {
        Admin,
        User,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Action {
        Set { field: String, value: String },
        Clear { field: String },
    }

    fn problems(v: Value) -> Vec<String> {
        match decode::<Invite>(&v, "") {
            Ok(_) => vec![],
            Err(errors) => errors
                .into_iter()
                .map(|e| format!("{}: {}", e.pointer, e.detail))
                .collect(),
        }
    }

    #[test]
    fn a_good_body_reads() {
        assert!(problems(json!({"user_id": "7", "seats": 3})).is_empty());
    }

    #[test]
    fn every_wrong_field_is_named_at_its_own_pointer() {
        assert_eq!(
            problems(json!({"role": "owner", "seats": 0, "colour": "red"})),
            vec![
                "/colour: unknown field `colour`, expected one of `user_id`, `role`, `seats`, `actions`",
                "/user_id: is required",
                "/role: must be one of: admin, user",
                "/seats: must be at least 1",
            ]
        );
    }

    #[test]
    fn serde_says_it_first_and_the_schema_does_not_repeat_it() {
        assert_eq!(
            problems(
                json!({"user_id": "7", "seats": 2, "actions": [{"rename": {}}, {"set": {"field": "a", "value": 1}}]})
            ),
            vec![
                "/actions/0: unknown variant `rename`, expected `set` or `clear`",
                "/actions/1/set/value: expected text",
            ]
        );
    }

    #[test]
    fn a_whole_number_written_as_a_float_is_that_number() {
        assert!(problems(json!({"user_id": "7", "seats": 3.0})).is_empty());
        assert_eq!(
            problems(json!({"user_id": "7", "seats": 3.5})),
            vec!["/seats: invalid type: floating point `3.5`, expected a whole number"]
        );
    }

    #[test]
    fn limits_the_schema_states_are_enforced_even_when_serde_would_read_the_value() {
        assert_eq!(
            problems(json!({"user_id": "7", "seats": 11})),
            vec!["/seats: must be at most 10"]
        );
    }
}
