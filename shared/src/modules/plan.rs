//! A Plan: what a module would change, record by record, with before and after values.
//! Preview renders it to the audit CSV and stops; apply sends it to the CRM and adds
//! each record's outcome to the same CSV layout.

use serde::{Deserialize, Serialize};

use crate::crm::Properties;

/// One field's value before and after. `None` is empty/null in the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[cfg_attr(test, derive(strum::EnumIter))]
#[serde(tag = "kind", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Set `fields` on the record `id` (only fields whose value changes are listed).
    Update,
    /// Archive (HubSpot) or delete to the recycle bin (Salesforce); `fields` keep the
    /// record's last values for the audit and a revert.
    Archive,
    /// Create a record with `fields` (`before` is None); `id` is None until applied.
    Create,
    /// Merge `duplicate_ids` into the master `id`; `fields` are set on the master.
    Merge {
        group_id: String,
        duplicate_ids: Vec<String>,
    },
    /// Salesforce: convert the Lead `id` into the existing Contact `contact_id` (its
    /// group's master, in `account_id`'s Account), before the group's `Merge` runs.
    ConvertLead {
        group_id: String,
        contact_id: String,
        account_id: Option<String>,
        converted_status: String,
    },
    /// Nothing to write: the record is reported (a failed validation rule). `note` says why.
    Flag,
    /// Nothing to write: scored matching found `id` and `other_id` likely, not surely, the
    /// same (a match probability between the review and merge thresholds). A person
    /// accepts or rejects the pair (`Decisions`); an accepted pair is merged by a
    /// follow-up run. `note` says the probability and why.
    Review { pair_id: String, other_id: String },
}

impl Action {
    /// Its `kind` (serde's tag), as the CSV's `action` column writes it.
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// Whether the change writes nothing to the CRM (it is reported only).
    pub fn writes_nothing(&self) -> bool {
        matches!(self, Action::Flag | Action::Review { .. })
    }
}

/// A person's decisions on a merge preview's review pairs, for a follow-up run: accepted
/// pairs are linked (and merged with their groups), rejected pairs never are, whatever
/// their score. A pair names two record ids, in either order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decisions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10000))]
    pub accept: Vec<[String; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10000))]
    pub reject: Vec<[String; 2]>,
}

impl Decisions {
    pub fn is_empty(&self) -> bool {
        self.accept.is_empty() && self.reject.is_empty()
    }
}

/// One record's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: Option<String>,
    pub action: Action,
    pub fields: Vec<FieldChange>,
    /// Why (a rule and reason for Flag; a skipped group's reason; empty for most changes).
    pub note: Option<String>,
}

impl Change {
    /// The properties an update or create writes.
    pub fn writes(&self) -> Properties {
        self.fields
            .iter()
            .map(|f| (f.field.clone(), f.after.clone()))
            .collect()
    }
}

/// The fields `changes` set, in first-seen order: the audit CSV's field columns when the
/// changes, not an engine, decide them (grid edits, a revert).
pub fn field_columns<'a>(changes: impl IntoIterator<Item = &'a FieldChange>) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for f in changes {
        if !columns.contains(&f.field) {
            columns.push(f.field.clone());
        }
    }
    columns
}

/// A whole plan, for modules that are not streamed (merge) and for tests.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    pub object: String,
    pub changes: Vec<Change>,
}

#[cfg(test)]
mod tests {
    use super::Action;

    /// The CSV's `action` column and the plan's JSON name an action alike.
    #[test]
    fn an_actions_name_is_its_json_kind() {
        let mut kinds = 0;
        for action in <Action as strum::IntoEnumIterator>::iter() {
            let json = serde_json::to_value(&action).unwrap();
            assert_eq!(json["kind"], action.name(), "{action:?}");
            kinds += 1;
        }
        assert_eq!(kinds, 7);
    }
}
