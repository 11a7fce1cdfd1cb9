//! What the worker's unit tests share: changes, records, and what a read-back found.

use super::read_back::Found;
use crate::crm::values::FieldTypes;
use crate::crm::{Field, FieldType, ObjectSchema, Record};
use crate::modules::{Action, Change, FieldChange};

pub(super) fn update(id: &str, field: &str, before: &str, after: &str) -> Change {
    Change {
        id: Some(id.into()),
        action: Action::Update,
        fields: vec![FieldChange {
            field: field.into(),
            before: Some(before.into()),
            after: Some(after.into()),
        }],
        note: None,
    }
}

pub(super) fn flag(id: &str) -> Change {
    Change {
        id: Some(id.into()),
        action: Action::Flag,
        fields: Vec::new(),
        note: Some("phone: not a phone number".into()),
    }
}

pub(super) fn record(id: &str, values: &[(&str, &str)]) -> Record {
    Record {
        id: id.into(),
        properties: values
            .iter()
            .map(|(f, v)| (f.to_string(), Some(v.to_string())))
            .collect(),
        created_at: None,
        updated_at: None,
    }
}

pub(super) fn found(records: Vec<Record>, types: &[(&str, FieldType)]) -> Found {
    let schema = ObjectSchema {
        object: "deals".into(),
        fields: types
            .iter()
            .map(|(name, t)| Field {
                name: name.to_string(),
                label: name.to_string(),
                field_type: t.clone(),
                writable: true,
                options: Vec::new(),
                unique: false,
            })
            .collect(),
    };
    Found {
        records: records.into_iter().map(|r| (r.id.clone(), r)).collect(),
        types: FieldTypes::of(&schema),
    }
}

pub(super) fn merge(master: &str, duplicates: &[&str], field: &str, after: &str) -> Change {
    Change {
        id: Some(master.into()),
        action: Action::Merge {
            group_id: format!("g{master}"),
            duplicate_ids: duplicates.iter().map(|d| d.to_string()).collect(),
        },
        fields: vec![FieldChange {
            field: field.into(),
            before: None,
            after: Some(after.into()),
        }],
        note: None,
    }
}

pub(super) fn archive(id: &str) -> Change {
    Change {
        id: Some(id.into()),
        action: Action::Archive,
        fields: Vec::new(),
        note: None,
    }
}
