//! The one check of a config's names against the CRM's schema: each module lists the
//! fields it names (`FieldUse`, with the pointer where the config names it), and this
//! module says which the object lacks (suggesting the closest existing names) or cannot
//! write.

use crate::crm::{Field, ObjectSchema};
use crate::error::FieldError;

/// A field a config names, where, and whether a plan writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldUse {
    pub pointer: String,
    pub name: String,
    pub written: bool,
}

impl FieldUse {
    pub fn read(pointer: impl Into<String>, name: &str) -> Self {
        Self {
            pointer: pointer.into(),
            name: name.to_string(),
            written: false,
        }
    }

    pub fn written(pointer: impl Into<String>, name: &str) -> Self {
        Self {
            written: true,
            ..Self::read(pointer, name)
        }
    }
}

/// The field of `schema` named exactly `name` (CRM field names are matched as written:
/// records come back keyed by the CRM's own spelling).
pub fn find<'a>(schema: &'a ObjectSchema, name: &str) -> Option<&'a Field> {
    schema.fields.iter().find(|f| f.name == name)
}

/// Problems of `uses` against `schema`: unknown fields (with suggestions) and written
/// fields that are read-only. Empty names are `check`'s business and skipped here, as are
/// relationship paths (`Account.Name`), which name another object's field.
pub fn check_uses(uses: &[FieldUse], schema: &ObjectSchema) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for u in uses {
        if u.name.trim().is_empty() || u.name.contains('.') {
            continue;
        }
        match find(schema, &u.name) {
            None => errors.push(FieldError::new(&u.pointer, unknown_field(schema, &u.name))),
            Some(f) if u.written && !f.writable => errors.push(FieldError::new(
                &u.pointer,
                format!("`{}` is read-only on {}", f.name, schema.object),
            )),
            Some(_) => {}
        }
    }
    errors
}

/// "contacts has no field `lifecyclestag`; did you mean `lifecyclestage`?"
pub fn unknown_field(schema: &ObjectSchema, name: &str) -> String {
    let candidates = schema
        .fields
        .iter()
        .map(|f| (f.name.as_str(), Some(f.label.as_str())));
    let mut detail = format!("{} has no field `{name}`", schema.object);
    let close = closest(name, candidates);
    if !close.is_empty() {
        detail.push_str(&format!("; did you mean {}?", one_of(&close)));
    }
    detail
}

/// The object is one the CRM offers, else a problem at `/config/object` suggesting the
/// closest (`Contact` on HubSpot: did you mean `contacts`?).
pub fn check_object(object: &str, objects: &[&str]) -> Option<FieldError> {
    if object.trim().is_empty() || objects.contains(&object) {
        return None;
    }
    let close = closest(object, objects.iter().map(|o| (*o, None)));
    let mut detail = format!("the CRM has no object `{object}`");
    if close.is_empty() {
        detail.push_str(&format!("; it has {}", all_of(objects)));
    } else {
        detail.push_str(&format!("; did you mean {}?", one_of(&close)));
    }
    Some(FieldError::new("/config/object", detail))
}

/// `a`, `b` and `c`.
pub fn all_of(names: &[&str]) -> String {
    join(names, "and")
}

fn one_of(names: &[&str]) -> String {
    join(names, "or")
}

fn join(names: &[&str], last: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., end] => format!("{} {last} {end}", rest.join(", ")),
    }
}

/// Up to three names closest to `wanted`, by edit distance of the lower-cased name or
/// label (a case-only difference first), among those close enough to be a typo.
fn closest<'a>(
    wanted: &str,
    candidates: impl Iterator<Item = (&'a str, Option<&'a str>)>,
) -> Vec<&'a str> {
    let w = wanted.trim().to_lowercase();
    if w.is_empty() {
        return Vec::new();
    }
    let limit = (w.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .filter_map(|(name, label)| {
            let by_name = strsim::levenshtein(&w, &name.to_lowercase());
            let by_label = label
                .map(|l| strsim::levenshtein(&w, &l.to_lowercase()))
                .unwrap_or(usize::MAX);
            let d = by_name.min(by_label);
            (d <= limit).then_some((d, name))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::FieldType;

    fn schema() -> ObjectSchema {
        let f = |name: &str, label: &str, writable: bool| Field {
            name: name.into(),
            label: label.into(),
            field_type: FieldType::Text,
            writable,
            options: Vec::new(),
            unique: false,
        };
        ObjectSchema {
            object: "contacts".into(),
            fields: vec![
                f("lifecyclestage", "Lifecycle Stage", true),
                f("email", "Email", true),
                f("firstname", "First Name", true),
                f("hs_object_id", "Record ID", false),
            ],
        }
    }

    fn problems(uses: &[FieldUse]) -> Vec<String> {
        check_uses(uses, &schema())
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    }

    #[test]
    fn unknown_fields_get_the_closest_names_by_name_or_label() {
        assert_eq!(
            problems(&[
                FieldUse::written("/config/actions/0/set/field", "lifecyclestag"),
                FieldUse::read("/config/filter/field", "Email"),
                FieldUse::read("/config/steps/0/field", "first name"),
                FieldUse::read("/config/rules/0/field", "zzzzzzzz"),
                FieldUse::read("/config/rules/1/field", "email"),
            ]),
            vec![
                "/config/actions/0/set/field: contacts has no field `lifecyclestag`; did you mean `lifecyclestage`?",
                "/config/filter/field: contacts has no field `Email`; did you mean `email`?",
                "/config/steps/0/field: contacts has no field `first name`; did you mean `firstname`?",
                "/config/rules/0/field: contacts has no field `zzzzzzzz`",
            ]
        );
    }

    #[test]
    fn written_fields_must_be_writable_and_paths_are_left_alone() {
        assert_eq!(
            problems(&[
                FieldUse::written("/config/actions/0/clear/field", "hs_object_id"),
                FieldUse::read("/config/filter/field", "hs_object_id"),
                FieldUse::read("/config/rules/0/all/0/field", "Account.Name"),
                FieldUse::read("/config/columns/0", ""),
            ]),
            vec!["/config/actions/0/clear/field: `hs_object_id` is read-only on contacts"]
        );
    }

    #[test]
    fn objects_the_crm_lacks_suggest_the_closest() {
        let hubspot = ["contacts", "companies", "deals"];
        let e = check_object("Contact", &hubspot).expect("refused");
        assert_eq!(e.pointer, "/config/object");
        assert_eq!(
            e.detail,
            "the CRM has no object `Contact`; did you mean `contacts`?"
        );
        assert_eq!(
            check_object("tickets", &hubspot).unwrap().detail,
            "the CRM has no object `tickets`; it has `contacts`, `companies` and `deals`"
        );
        assert!(check_object("deals", &hubspot).is_none());
    }
}
