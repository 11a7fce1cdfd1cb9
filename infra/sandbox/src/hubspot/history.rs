//! Property history, as `propertiesWithHistory` returns it: every value a property held,
//! newest first, each with when it was set and by what kind of source.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

use super::api::iso;
use super::objects::Record;
use super::schema::ObjectType;

/// `sourceType` of values written through the API (seeded values count as an import). [obs]
const SOURCE_API: &str = "API";
const SOURCE_IMPORT: &str = "IMPORT";

#[derive(Debug, Clone)]
struct Version {
    /// HubSpot records a cleared value as "".
    value: String,
    at: DateTime<Utc>,
    source: &'static str,
}

/// One object type's property histories. A property with no entry has held one value
/// since the record was created: its current one.
#[derive(Default)]
pub(crate) struct History {
    /// Versions per record and property, oldest first.
    versions: HashMap<u64, BTreeMap<&'static str, Vec<Version>>>,
}

impl History {
    /// `name` of record `id` went from `old` to `new` at `at` through the API.
    pub fn changed(
        &mut self,
        id: u64,
        created: DateTime<Utc>,
        name: &'static str,
        old: Option<&str>,
        new: Option<&str>,
        at: DateTime<Utc>,
    ) {
        let versions = self
            .versions
            .entry(id)
            .or_default()
            .entry(name)
            .or_default();
        if versions.is_empty()
            && let Some(old) = old
        {
            // The value it had since the record was created (seeded or set on create).
            versions.push(Version {
                value: old.to_string(),
                at: created,
                source: SOURCE_IMPORT,
            });
        }
        versions.push(Version {
            value: new.unwrap_or_default().to_string(),
            at,
            source: SOURCE_API,
        });
    }

    /// `propertiesWithHistory` of `rec` for the requested names: known properties with a
    /// value now or before, newest value first; other names are ignored, as in HubSpot.
    pub fn json(&self, ty: ObjectType, rec: &Record, names: &[String]) -> Value {
        let kept = self.versions.get(&rec.id);
        let mut out = Map::new();
        for name in names {
            if ty.prop(name).is_none() || out.contains_key(name.as_str()) {
                continue;
            }
            let entry = |v: &Version| json!({ "value": v.value, "timestamp": iso(v.at), "sourceType": v.source });
            let versions: Vec<Value> = match kept.and_then(|k| k.get(name.as_str())) {
                Some(vs) => vs.iter().rev().map(entry).collect(),
                None => match rec.value(ty, name) {
                    Some(v) => vec![entry(&Version {
                        value: v.into_owned(),
                        at: if name == ty.modified_prop() {
                            rec.updated
                        } else {
                            rec.created
                        },
                        source: SOURCE_IMPORT,
                    })],
                    None => Vec::new(),
                },
            };
            if !versions.is_empty() {
                out.insert(name.clone(), Value::Array(versions));
            }
        }
        Value::Object(out)
    }
}
