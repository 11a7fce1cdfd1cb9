//! Objects tagged by one key (`{"fn": "phone", ...}`, `{"rule": "email", ...}`) whose other
//! keys depend on the tag. Unlike serde's internally tagged enums, errors here name the key
//! at fault (`format: unknown variant ...`), so a template's author sees what to fix.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Error};
use serde_json::{Map, Value};

/// Reads the value as a JSON object; `example` shows the expected shape in the error.
pub(crate) fn object<'de, D>(d: D, example: &str) -> Result<Map<String, Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match Value::deserialize(d)? {
        Value::Object(map) => Ok(map),
        other => Err(D::Error::custom(format!(
            "expected an object like {example}, found {}",
            kind(&other)
        ))),
    }
}

/// Removes and reads a required key.
pub(crate) fn take<T: DeserializeOwned, E: Error>(
    map: &mut Map<String, Value>,
    key: &str,
) -> Result<T, E> {
    let value = map
        .remove(key)
        .ok_or_else(|| E::custom(format!("missing field `{key}`")))?;
    T::deserialize(value).map_err(|e| E::custom(format!("{key}: {e}")))
}

/// Removes and reads an optional key (absent or null is None).
pub(crate) fn take_opt<T: DeserializeOwned, E: Error>(
    map: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<T>, E> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|e| E::custom(format!("{key}: {e}"))),
    }
}

/// Reads the remaining keys as `T`, prefixing an error with the path to the bad key.
pub(crate) fn rest<T: DeserializeOwned, E: Error>(map: Map<String, Value>) -> Result<T, E> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            E::custom(inner)
        } else {
            E::custom(format!("{path}: {inner}"))
        }
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Adds `key` to every variant of a tagged enum's schema (`oneOf` of objects, as schemars
/// writes `#[serde(tag = ..)]`): the keys `Step` and `Rule` read beside the tag.
pub(crate) fn add_property(
    schema: &mut schemars::Schema,
    key: &str,
    property: Value,
    required: bool,
) {
    let Some(variants) = schema.get_mut("oneOf").and_then(Value::as_array_mut) else {
        return;
    };
    for variant in variants {
        let Some(obj) = variant.as_object_mut() else {
            continue;
        };
        if let Some(props) = obj
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            props.insert(key.to_string(), property.clone());
        }
        if required
            && let Some(list) = obj
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
        {
            list.push(key.into());
        }
    }
}

/// No parameters: only an empty remainder is accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}
