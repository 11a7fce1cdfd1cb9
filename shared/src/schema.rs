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

/// A type's schema, compiled: the set it lives in and its index there.
pub(crate) struct Validator {
    schemas: boon::Schemas,
    root: boon::SchemaIndex,
}

impl Validator {
    /// Compiles `schema` (draft 2020-12), with `format` asserted when `formats` is set.
    /// Steward's schemas are its own, derived: one that does not compile is a programming
    /// error that every route's tests meet at once, so it panics naming `name`.
    pub(crate) fn compile(schema: Value, name: &str, formats: bool) -> Self {
        let url = format!("urn:steward:{name}");
        let fail =
            |e: boon::CompileError| -> ! { panic!("the schema of {name} does not compile: {e:#}") };
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        if formats {
            compiler.enable_format_assertions();
        }
        if let Err(e) = compiler.add_resource(&url, schema) {
            fail(e)
        }
        match compiler.compile(&url, &mut schemas) {
            Ok(root) => Validator { schemas, root },
            Err(e) => fail(e),
        }
    }

    /// Every way `value` breaks the schema, in a JSON author's words, each at its
    /// pointer below `prefix`.
    pub(crate) fn field_errors(&self, value: &Value, prefix: &str) -> Vec<FieldError> {
        let mut out = Vec::new();
        if let Err(e) = self.schemas.validate(value, self.root) {
            for problem in problems(&e).into_iter().take(MAX_ERRORS) {
                describe(problem, prefix, &mut out);
            }
        }
        // Two routes to one problem (a choice and a condition over the same value) say it
        // once.
        let mut seen = std::collections::HashSet::new();
        out.retain(|e| seen.insert((e.pointer.clone(), e.detail.clone())));
        out
    }
}

type Validators = Mutex<HashMap<TypeId, Arc<Validator>>>;

/// `T`'s validator, compiled at first use and kept for the process (a Lambda's lifetime).
fn validator<T: JsonSchema + 'static>() -> Arc<Validator> {
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
    let built = Arc::new(Validator::compile(
        schema.to_value(),
        &T::schema_name(),
        true,
    ));
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
    let mut errors = validator::<T>().field_errors(value, prefix);
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

type Problem<'s, 'v> = boon::ValidationError<'s, 'v>;

/// The problems an error stands for. boon answers with a tree: a schema's several problems,
/// and those behind a `$ref` or an `allOf`, are grouped under one node that says nothing
/// itself; a choice (`oneOf`/`anyOf`) keeps each branch's problems as its causes.
fn problems<'a, 's, 'v>(e: &'a Problem<'s, 'v>) -> Vec<&'a Problem<'s, 'v>> {
    use boon::ErrorKind as K;
    match e.kind {
        K::Schema { .. } | K::Group | K::Reference { .. } | K::AllOf => {
            e.causes.iter().flat_map(problems).collect()
        }
        _ => vec![e],
    }
}

/// How deep a problem lies: the segments of its instance pointer, plus one.
fn depth(e: &Problem<'_, '_>) -> usize {
    e.instance_location.tokens.len() + 1
}

fn describe(e: &Problem<'_, '_>, prefix: &str, out: &mut Vec<FieldError>) {
    use boon::ErrorKind as K;
    let at = format!("{prefix}{}", e.instance_location);
    let child = |name: &str| format!("{at}/{}", crate::http::pointer_segment(name));
    let detail = match &e.kind {
        K::Required { want } => {
            for name in want {
                out.push(FieldError::new(child(name), "is required"));
            }
            return;
        }
        K::AdditionalProperties { got } => {
            for name in got {
                out.push(FieldError::new(
                    child(name),
                    format!("unknown field `{}`", name.escape_debug()),
                ));
            }
            return;
        }
        // `unevaluatedProperties: false` refuses a field by checking it against `false`.
        K::FalseSchema => match e.instance_location.tokens.last() {
            Some(boon::InstanceToken::Prop(name)) => {
                format!("unknown field `{}`", name.escape_debug())
            }
            _ => "is not allowed here".into(),
        },
        K::OneOf(None) | K::AnyOf => {
            // Each cause is one branch's problems. The branch the value was meant for is
            // the one whose problems lie deepest (`{"set": {"value": []}}` fails inside
            // `set`, the other actions at the top), or, all at the same place, the only
            // one that did not fail on the value's type (`"owner"` against `admin|user` or
            // null: the enum's).
            let branches: Vec<Vec<&Problem<'_, '_>>> = e.causes.iter().map(problems).collect();
            let deepest = |b: &Vec<&Problem<'_, '_>>| b.iter().map(|p| depth(p)).min().unwrap_or(0);
            let typed =
                |b: &Vec<&Problem<'_, '_>>| b.iter().any(|p| !matches!(p.kind, K::Type { .. }));
            let here = depth(e);
            // A choice of constants (an enum with documented values): name them.
            let constants: Option<Vec<Value>> = branches
                .iter()
                .map(|b| match b.as_slice() {
                    [only] => match &only.kind {
                        K::Const { want } => Some((*want).clone()),
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
            let best = branches.iter().max_by_key(|b| (deepest(b), typed(b)));
            let only_typed = branches.iter().filter(|b| typed(b)).count() == 1;
            match best {
                Some(branch) if deepest(branch) > here || (typed(branch) && only_typed) => {
                    for inner in branch {
                        describe(inner, prefix, out);
                    }
                    return;
                }
                _ => NO_SHAPE.to_string(),
            }
        }
        K::OneOf(Some(_)) => "matches more than one of the allowed forms".into(),
        K::Type { want, .. } => format!("expected {}", kinds(*want)),
        K::Enum { want } => format!("must be one of: {}", list(want)),
        K::Const { want } => format!("must be {want}"),
        K::Minimum { want, .. } => format!("must be at least {want}"),
        K::Maximum { want, .. } => format!("must be at most {want}"),
        K::ExclusiveMinimum { want, .. } => format!("must be more than {want}"),
        K::ExclusiveMaximum { want, .. } => format!("must be less than {want}"),
        K::MinLength { want, .. } => match want {
            1 => "must not be empty".into(),
            n => format!("must be at least {n} characters"),
        },
        K::MaxLength { want, .. } => format!("must be at most {want} characters"),
        K::MinItems { want, .. } => format!("must list at least {want}"),
        K::MaxItems { want, .. } => format!("must list at most {want}"),
        K::MinProperties { want, .. } => format!("must have at least {want} fields"),
        K::MaxProperties { want, .. } => format!("must have at most {want} fields"),
        K::UniqueItems { got: [_, repeat] } => {
            // Name the repeat itself: `/columns/1`, not the whole list.
            out.push(FieldError::new(
                format!("{at}/{repeat}"),
                "repeats an earlier value",
            ));
            return;
        }
        K::Pattern { want, .. } => format!("must match {want}"),
        K::Format { want, .. } => match *want {
            "date-time" => "must be a date and time (RFC 3339, e.g. 2025-01-31T09:00:00Z)".into(),
            "date" => "must be a date (YYYY-MM-DD)".into(),
            "email" => "must be an email address".into(),
            f => format!("must be a valid {f}"),
        },
        other => {
            let text = other.to_string();
            match text.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        }
    };
    out.push(FieldError::new(at, detail));
}

/// A value's allowed types in words, null last (`text or null`).
fn kinds(types: boon::Types) -> String {
    use boon::Type;
    let word = |t: Type| match t {
        Type::Array => "a list",
        Type::Boolean => "true or false",
        Type::Integer => "a whole number",
        Type::Number => "a number",
        Type::Object => "an object",
        Type::String => "text",
        Type::Null => "null",
    };
    let mut words: Vec<_> = types
        .iter()
        .filter(|t| *t != Type::Null)
        .map(word)
        .collect();
    if types.contains(Type::Null) {
        words.push("null");
    }
    words.join(" or ")
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

    /// What the door says of `v` read as `T` below `prefix`, a line per problem.
    fn problems_of<T: DeserializeOwned + JsonSchema + 'static>(
        v: Value,
        prefix: &str,
    ) -> Vec<String> {
        match decode::<T>(&v, prefix) {
            Ok(_) => vec![],
            Err(errors) => errors
                .into_iter()
                .map(|e| format!("{}: {}", e.pointer, e.detail))
                .collect(),
        }
    }

    fn problems(v: Value) -> Vec<String> {
        problems_of::<Invite>(v, "")
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

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Report {
        #[schemars(email)]
        to: String,
        columns: std::collections::BTreeSet<String>,
    }

    fn report_problems(v: Value) -> Vec<String> {
        problems_of::<Report>(v, "/report")
    }

    #[test]
    fn formats_and_repeats_serde_lets_through_are_named_where_they_are() {
        assert!(
            report_problems(json!({"to": "ops@example.com", "columns": ["a", "b"]})).is_empty()
        );
        assert_eq!(
            report_problems(json!({"to": "not an address", "columns": ["a", "b", "a"]})),
            vec![
                "/report/columns/2: repeats an earlier value",
                "/report/to: must be an email address",
            ]
        );
    }
}
