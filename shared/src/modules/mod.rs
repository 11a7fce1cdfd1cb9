//! Module engines: pure `records + config -> Plan` code (no I/O), shared by Lambda runs,
//! `steward serve` and offline CSV runs (`steward run`).
//!
//! Every module has a typed config (`serde`, unknown fields refused) with a `check`
//! that reports semantic errors (a regex that does not compile, an unknown function)
//! as `FieldError`s whose pointers start at `/config`. `ModuleConfig::parse` turns a
//! template's JSON into the typed config, or a 400 naming every wrong field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod bulk;
pub mod config;
pub mod csv;
pub mod fields;
pub mod filter;
pub mod grid;
pub mod merge;
pub mod plan;
#[cfg(test)]
mod schema_tests;
pub mod transform;
pub mod validate;

pub use config::ModuleConfig;
pub use plan::{Action, Change, Decisions, FieldChange, Plan};

use crate::crm::Record;

/// A module that decides record by record (bulk, transform, validate), so its plan can be
/// streamed: a run or `steward run` feeds records one at a time and writes each change
/// as it comes, whatever the number of records.
pub trait RecordEngine: Send + Sync {
    /// The CRM object the engine runs on (`contacts`, `Contact`, ...).
    fn object(&self) -> &str;
    /// Properties the engine reads (what a scan must fetch), in a stable order.
    fn reads(&self) -> Vec<String>;
    /// Fields that may appear in its changes: the audit CSV's field columns, stable order.
    fn columns(&self) -> Vec<String>;
    /// The change for one record, or None when the record needs none.
    fn plan(&self, record: &Record) -> Option<Change>;
    /// The object's field types (from the CRM's describe), for engines that decide "nothing
    /// left to change" by comparing values as the CRM stores them; others ignore them.
    fn compare_as(&mut self, _types: crate::crm::values::FieldTypes) {}
}

/// The five modules. Serialized in snake case (`merge`, `bulk`, ...), as templates and
/// share links name them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Module {
    Merge,
    Bulk,
    Transform,
    Grid,
    Validate,
}

impl Module {
    pub const ALL: &[Module] = <Module as strum::VariantArray>::VARIANTS;

    /// Its name in the API, URLs and keys (serde's, derived the same way).
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Module> {
        Module::ALL.iter().copied().find(|m| m.name() == s)
    }

    /// The module named `s`, or a 400 at `pointer` listing the modules.
    pub fn named(s: &str, pointer: &str) -> Result<Module, crate::Error> {
        Module::parse(s).ok_or_else(|| {
            crate::Error::invalid(
                pointer,
                format!(
                    "unknown module `{s}`; one of: {}",
                    Module::ALL
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
