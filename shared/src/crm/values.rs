//! Values as the CRMs store them. A value Steward writes may come back in another form
//! (HubSpot: `2024-04-30T00:00:00Z` is read back as `2024-04-30T00:00:00.000Z`;
//! Salesforce: `12000` as `12000.0`, a datetime as `…00.000+0000`, a 15-character id as
//! its 18-character form, a multi-select in its picklist's order), so every "already
//! applied", "changed since" and "nothing left to change" check compares through here.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::collections::{BTreeSet, HashMap};

use super::{FieldType, ObjectSchema};

/// Whether `a` and `b` are one value to the CRM in a field of type `field_type` (None
/// when the type is not known: then only as text). Empty is no value, and surrounding
/// blanks do not count (Salesforce trims them when it saves). Beyond that, by type:
///
/// - number: numerically (`12000.00`, `12000`, `1.2e4`);
/// - bool: `true`/`false` in any case, `1`/`0`;
/// - datetime: the same instant to the millisecond (RFC 3339 with or without fractions,
///   `Z`, `+00:00` or Salesforce's `+0000`, epoch milliseconds, a bare date at midnight UTC);
/// - date: the same calendar day (`2024-04-30`, or a datetime's UTC day);
/// - enumeration: by value; a multi-select (`;`-separated) as a set;
/// - id/reference: a Salesforce 15-character id and its 18-character form.
///
/// Phones, emails and other text compare as text: neither CRM reformats them when they
/// are written through its API, and a module that reformats them means the change.
pub fn same_as_stored(field_type: Option<&FieldType>, a: Option<&str>, b: Option<&str>) -> bool {
    let a = a.map(str::trim).filter(|v| !v.is_empty());
    let b = b.map(str::trim).filter(|v| !v.is_empty());
    let (a, b) = match (a, b) {
        (None, None) => return true,
        (Some(a), Some(b)) if a == b => return true,
        (Some(a), Some(b)) => (a, b),
        _ => return false,
    };
    let typed = |parse: &dyn Fn(&str) -> Option<Stored>| match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    match field_type {
        Some(FieldType::Number) => typed(&|v| parse_number(v).map(Stored::Number)),
        Some(FieldType::Bool) => typed(&|v| parse_bool(v).map(Stored::Bool)),
        Some(FieldType::DateTime) => {
            typed(&|v| stored_instant(v).map(|t| Stored::Millis(t.timestamp_millis())))
        }
        Some(FieldType::Date) => typed(&|v| stored_day(v).map(Stored::Day)),
        Some(FieldType::Enumeration) if a.contains(';') || b.contains(';') => {
            typed(&|v| Some(Stored::Set(options(v))))
        }
        Some(FieldType::Id | FieldType::Reference) => same_salesforce_id(a, b),
        _ => false,
    }
}

/// A value read as its type.
#[derive(Debug, PartialEq)]
enum Stored {
    Number(f64),
    Bool(bool),
    Millis(i64),
    Day(NaiveDate),
    Set(BTreeSet<String>),
}

/// The types of one object's fields, to compare its values with `same_as_stored`; a field
/// it does not know compares as text. Salesforce names match in any case.
#[derive(Debug, Clone, Default)]
pub struct FieldTypes {
    by_name: HashMap<String, FieldType>,
}

impl FieldTypes {
    pub fn of(schema: &ObjectSchema) -> Self {
        FieldTypes {
            by_name: schema
                .fields
                .iter()
                .map(|f| (f.name.to_ascii_lowercase(), f.field_type.clone()))
                .collect(),
        }
    }

    pub fn get(&self, field: &str) -> Option<&FieldType> {
        self.by_name.get(&field.to_ascii_lowercase())
    }

    /// `same_as_stored` with `field`'s type.
    pub fn same(&self, field: &str, a: Option<&str>, b: Option<&str>) -> bool {
        same_as_stored(self.get(field), a, b)
    }
}

/// A finite decimal number (`12`, `-3.5`, `1e3`); `inf`, `NaN` and `1,000` are not.
pub fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Exactly `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// An RFC 3339 datetime, or Salesforce's `2024-01-31T10:00:00.000+0000`.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A datetime as either CRM sends or takes it: `parse_datetime`, epoch milliseconds
/// (HubSpot), or a bare date (HubSpot stores it as midnight UTC).
fn stored_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = parse_datetime(s) {
        return Some(t);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    }
    parse_date(s)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A date as either CRM sends or takes it: `YYYY-MM-DD`, or a datetime's UTC day.
fn stored_day(s: &str) -> Option<NaiveDate> {
    parse_date(s).or_else(|| stored_instant(s).map(|t| t.date_naive()))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A multi-select's values (HubSpot and Salesforce separate them with `;`).
fn options(s: &str) -> BTreeSet<String> {
    s.split(';')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// A Salesforce id in its 15-character (case-sensitive) form and its 18-character form
/// (the same 15 plus a case checksum), which is how Salesforce answers.
fn same_salesforce_id(a: &str, b: &str) -> bool {
    let (short, long) = match (a.len(), b.len()) {
        (15, 18) => (a, b),
        (18, 15) => (b, a),
        _ => return false,
    };
    short.bytes().all(|c| c.is_ascii_alphanumeric()) && long.starts_with(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(t: FieldType, a: &str, b: &str) -> bool {
        same_as_stored(Some(&t), Some(a), Some(b))
    }

    #[test]
    fn datetimes_are_one_instant_in_any_form_either_crm_uses() {
        for stored in [
            "2024-04-30T00:00:00.000Z",
            "2024-04-30T00:00:00.000+0000",
            "2024-04-30T02:00:00+02:00",
            "1714435200000",
            "2024-04-30",
        ] {
            assert!(
                same(FieldType::DateTime, "2024-04-30T00:00:00Z", stored),
                "{stored}"
            );
        }
        assert!(!same(
            FieldType::DateTime,
            "2024-04-30T00:00:00Z",
            "2024-04-30T00:00:01.000Z"
        ));
        // Without the type, only text compares.
        assert!(!same_as_stored(
            None,
            Some("2024-04-30T00:00:00Z"),
            Some("2024-04-30T00:00:00.000Z")
        ));
    }

    #[test]
    fn numbers_booleans_dates_picklists_and_ids_compare_as_stored() {
        assert!(same(FieldType::Number, "12000.00", "12000"));
        assert!(same(FieldType::Number, "12000", "12000.0"));
        assert!(!same(FieldType::Number, "12000", "12000.5"));
        assert!(same(FieldType::Bool, "True", "true"));
        assert!(same(FieldType::Bool, "1", "true"));
        assert!(!same(FieldType::Bool, "true", "false"));
        assert!(same(
            FieldType::Date,
            "2024-04-30",
            "2024-04-30T00:00:00.000Z"
        ));
        assert!(!same(FieldType::Date, "2024-04-30", "2024-05-01"));
        assert!(same(FieldType::Enumeration, "b;a", "a;b"));
        assert!(!same(FieldType::Enumeration, "a", "A"));
        assert!(same(
            FieldType::Reference,
            "0035g00000AbCdE",
            "0035g00000AbCdEAAX"
        ));
        assert!(!same(
            FieldType::Reference,
            "0035g00000abcde",
            "0035g00000AbCdEAAX"
        ));
    }

    #[test]
    fn text_phones_and_emails_compare_as_text_less_surrounding_blanks() {
        assert!(same(FieldType::Text, " Ann ", "Ann"));
        assert!(same_as_stored(Some(&FieldType::Text), Some(""), None));
        assert!(!same(FieldType::Phone, "+1 555 0100", "+15550100"));
        assert!(!same(FieldType::Email, "A@x.co", "a@x.co"));
        assert!(!same(FieldType::Number, "abc", "12"));
    }

    #[test]
    fn field_types_look_names_up_in_any_case() {
        let schema = ObjectSchema {
            object: "Opportunity".into(),
            fields: vec![crate::crm::Field {
                name: "Amount".into(),
                label: "Amount".into(),
                field_type: FieldType::Number,
                writable: true,
                options: Vec::new(),
                unique: false,
            }],
        };
        let types = FieldTypes::of(&schema);
        assert!(types.same("amount", Some("12000"), Some("12000.0")));
        assert!(!types.same("Other", Some("12000"), Some("12000.0")));
    }
}
