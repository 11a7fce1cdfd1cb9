//! SOQL text from Steward's requests: names validated as identifiers and values quoted and
//! typed by the object's describe, so nothing a caller passes can change a query's shape.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::collections::HashMap;

use super::super::{Clause, CrmError, CrmResult, FieldType, Filter, Op};

/// Longest API name Salesforce allows (custom names are 40 plus namespace and suffix).
const MAX_NAME: usize = 255;
/// Relationship paths (`Account.Owner.Email`) go at most five levels deep in SOQL.
const MAX_PATH_DEPTH: usize = 5;

/// An object or field API name: a letter, then letters, digits and underscores.
pub fn identifier<'a>(what: &str, name: &'a str) -> CrmResult<&'a str> {
    let mut chars = name.chars();
    let ok = name.len() <= MAX_NAME
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(CrmError::Rejected(format!(
            "{what} {name:?} is not a Salesforce API name"
        )))
    }
}

/// A field, or a relationship path to one (`Account.Name`).
pub fn field_path(name: &str) -> CrmResult<&str> {
    let segments: Vec<&str> = name.split('.').collect();
    if segments.len() > MAX_PATH_DEPTH {
        return Err(CrmError::Rejected(format!(
            "field {name:?} goes deeper than {MAX_PATH_DEPTH} relationships"
        )));
    }
    for s in segments {
        identifier("field", s).map_err(|_| {
            CrmError::Rejected(format!("field {name:?} is not a Salesforce API name"))
        })?;
    }
    Ok(name)
}

/// A Salesforce record id: 15 (case-sensitive) or 18 (case-safe) letters and digits.
pub fn is_id(id: &str) -> bool {
    (id.len() == 15 || id.len() == 18) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A SOQL string literal: backslashes and quotes escaped, line breaks as escapes.
pub fn quote(value: &str) -> CrmResult<String> {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                return Err(CrmError::Rejected(format!(
                    "a filter value holds the control character U+{:04X}, which SOQL cannot express",
                    u32::from(c)
                )));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// How a value is written for a field: SOQL refuses quoted numbers, booleans and dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    Text,
    Number,
    Bool,
    Date,
    DateTime,
}

impl Literal {
    pub fn of(field_type: &FieldType) -> Self {
        match field_type {
            FieldType::Number => Literal::Number,
            FieldType::Bool => Literal::Bool,
            FieldType::Date => Literal::Date,
            FieldType::DateTime => Literal::DateTime,
            _ => Literal::Text,
        }
    }
}

/// Field types by lower-cased name, as the object's describe gives them.
pub type FieldTypes = HashMap<String, FieldType>;

fn literal_for(types: &FieldTypes, property: &str) -> Literal {
    types
        .get(&property.to_ascii_lowercase())
        .map_or(Literal::Text, Literal::of)
}

/// `value` written as a `kind` literal, or `Rejected` when it is not one.
pub fn literal(kind: Literal, property: &str, value: &str) -> CrmResult<String> {
    let bad = |what: &str| {
        CrmError::Rejected(format!(
            "{property} is a {what} field; {value:?} is not a {what}"
        ))
    };
    let v = value.trim();
    match kind {
        Literal::Text => quote(value),
        Literal::Number => {
            let (sign, digits) = v.strip_prefix('-').map_or(("", v), |d| ("-", d));
            let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
            let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if all_digits(int) && all_digits(frac) {
                Ok(format!("{sign}{digits}"))
            } else {
                Err(bad("number"))
            }
        }
        Literal::Bool => match v.to_ascii_lowercase().as_str() {
            b @ ("true" | "false") => Ok(b.to_string()),
            _ => Err(bad("boolean")),
        },
        Literal::Date => {
            let date = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .or_else(|| parse_instant(v).map(|t| t.date_naive()))
                .ok_or_else(|| bad("date"))?;
            Ok(date.format("%Y-%m-%d").to_string())
        }
        Literal::DateTime => {
            let t = parse_instant(v)
                .or_else(|| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc())
                })
                .ok_or_else(|| bad("datetime"))?;
            // SOQL datetime literals take whole seconds only.
            Ok(t.to_rfc3339_opts(SecondsFormat::Secs, true))
        }
    }
}

/// An instant as Salesforce (`2026-11-23T10:00:00.000+0000`), RFC 3339 or epoch
/// milliseconds (HubSpot's style, so one filter works on both CRMs) writes it.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_millis);
    }
    None
}

fn clause(c: &Clause, types: &FieldTypes) -> CrmResult<String> {
    let field = field_path(&c.property)?;
    let kind = literal_for(types, field);
    let one = || match c.values.as_slice() {
        [v] => literal(kind, field, v),
        _ => Err(CrmError::Rejected(format!(
            "{:?} on {field} takes exactly one value, not {}",
            c.op,
            c.values.len()
        ))),
    };
    let list = || -> CrmResult<String> {
        if c.values.is_empty() {
            return Err(CrmError::Rejected(format!(
                "{:?} on {field} needs at least one value",
                c.op
            )));
        }
        let items = c
            .values
            .iter()
            .map(|v| literal(kind, field, v))
            .collect::<CrmResult<Vec<_>>>()?;
        Ok(format!("({})", items.join(", ")))
    };
    Ok(match c.op {
        Op::Eq => format!("{field} = {}", one()?),
        Op::Neq => format!("{field} != {}", one()?),
        Op::Lt => format!("{field} < {}", one()?),
        Op::Lte => format!("{field} <= {}", one()?),
        Op::Gt => format!("{field} > {}", one()?),
        Op::Gte => format!("{field} >= {}", one()?),
        Op::In => format!("{field} IN {}", list()?),
        Op::NotIn => format!("{field} NOT IN {}", list()?),
        Op::HasProperty => format!("{field} != null"),
        Op::NotHasProperty => format!("{field} = null"),
    })
}

/// Whether rendering `filter` needs field types (any clause compares against a value).
pub fn needs_types(filter: &Filter) -> bool {
    filter.any_of.iter().flatten().any(|c| {
        !matches!(c.op, Op::HasProperty | Op::NotHasProperty) && c.property.split('.').count() == 1
    })
}

/// The WHERE condition for `filter` (an OR of AND groups), or None when it admits everything.
pub fn condition(filter: &Filter, types: &FieldTypes) -> CrmResult<Option<String>> {
    // An empty group is "true", and so is the OR around it.
    if filter.any_of.is_empty() || filter.any_of.iter().any(|g| g.is_empty()) {
        return Ok(None);
    }
    let groups = filter
        .any_of
        .iter()
        .map(|g| {
            let parts = g
                .iter()
                .map(|c| clause(c, types))
                .collect::<CrmResult<Vec<_>>>()?;
            Ok(format!("({})", parts.join(" AND ")))
        })
        .collect::<CrmResult<Vec<_>>>()?;
    Ok(Some(groups.join(" OR ")))
}

/// `SELECT <fields> FROM <object> [WHERE (<condition>) [AND Id > '<after>']] ORDER BY Id ASC`.
pub fn scan_query(
    object: &str,
    fields: &[String],
    condition: Option<&str>,
    after: Option<&str>,
) -> CrmResult<String> {
    let object = identifier("object", object)?;
    let mut conds = Vec::new();
    if let Some(c) = condition {
        conds.push(format!("({c})"));
    }
    if let Some(id) = after {
        if !is_id(id) {
            return Err(CrmError::Rejected(format!(
                "the scan cursor holds {id:?}, which is not a record id"
            )));
        }
        conds.push(format!("Id > {}", quote(id)?));
    }
    let mut q = format!("SELECT {} FROM {object}", fields.join(", "));
    if !conds.is_empty() {
        q.push_str(" WHERE ");
        q.push_str(&conds.join(" AND "));
    }
    q.push_str(" ORDER BY Id ASC");
    Ok(q)
}

/// `SELECT <fields> FROM <object> WHERE Id IN (<ids>)`; every id must be a record id.
pub fn by_ids(object: &str, fields: &[&str], ids: &[&str]) -> CrmResult<String> {
    let object = identifier("object", object)?;
    let list = ids
        .iter()
        .map(|id| {
            if is_id(id) {
                quote(id)
            } else {
                Err(CrmError::Rejected(format!("{id:?} is not a record id")))
            }
        })
        .collect::<CrmResult<Vec<_>>>()?;
    Ok(format!(
        "SELECT {} FROM {object} WHERE Id IN ({})",
        fields.join(", "),
        list.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> FieldTypes {
        [
            ("email", FieldType::Email),
            ("numberofemployees", FieldType::Number),
            ("donotcall", FieldType::Bool),
            ("birthdate", FieldType::Date),
            ("createddate", FieldType::DateTime),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    #[test]
    fn identifiers_are_validated() {
        assert!(identifier("object", "Contact").is_ok());
        assert!(identifier("object", "My_Object__c").is_ok());
        for bad in [
            "",
            "1abc",
            "Contact WHERE",
            "Id,Name",
            "Name'",
            "_x",
            "Näme",
            "a-b",
        ] {
            assert!(
                matches!(identifier("field", bad), Err(CrmError::Rejected(_))),
                "{bad}"
            );
        }
        assert!(field_path("Account.Owner.Email").is_ok());
        assert!(field_path("Account..Name").is_err());
        assert!(field_path("a.b.c.d.e.f").is_err());
    }

    #[test]
    fn string_literals_escape_quotes_and_backslashes() {
        assert_eq!(quote("O'Brien").unwrap(), r"'O\'Brien'");
        assert_eq!(quote(r"a\b").unwrap(), r"'a\\b'");
        assert_eq!(quote(r"\' OR Id != null").unwrap(), r"'\\\' OR Id != null'");
        assert_eq!(quote("l1\nl2\t\"x\"").unwrap(), r#"'l1\nl2\t\"x\"'"#);
        assert!(matches!(quote("a\u{0}b"), Err(CrmError::Rejected(_))));
    }

    #[test]
    fn literals_are_typed() {
        assert_eq!(literal(Literal::Number, "n", " 42 ").unwrap(), "42");
        assert_eq!(literal(Literal::Number, "n", "-1.50").unwrap(), "-1.50");
        assert!(literal(Literal::Number, "n", "1e9").is_err());
        assert!(literal(Literal::Number, "n", "1 OR Id != null").is_err());
        assert_eq!(literal(Literal::Bool, "b", "TRUE").unwrap(), "true");
        assert!(literal(Literal::Bool, "b", "yes").is_err());
        assert_eq!(
            literal(Literal::Date, "d", "2026-11-23").unwrap(),
            "2026-11-23"
        );
        assert_eq!(
            literal(Literal::DateTime, "t", "2026-11-23T10:00:00.123+0100").unwrap(),
            "2026-11-23T09:00:00Z"
        );
        assert_eq!(
            literal(Literal::DateTime, "t", "1795428000000").unwrap(),
            "2026-11-23T10:00:00Z"
        );
        assert_eq!(
            literal(Literal::DateTime, "t", "2026-11-23").unwrap(),
            "2026-11-23T00:00:00Z"
        );
        assert!(literal(Literal::DateTime, "t", "yesterday").is_err());
    }

    #[test]
    fn salesforce_instants_parse() {
        let t = parse_instant("2026-11-23T10:00:00.000+0000").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T10:00:00+00:00");
        assert!(parse_instant("2026-11-23T10:00:00Z").is_some());
        assert!(parse_instant("not a date").is_none());
    }

    #[test]
    fn filters_become_where_conditions() {
        let f = Filter {
            any_of: vec![
                vec![
                    Clause::new("Email", Op::Eq, &["a'b@x.com"]),
                    Clause::new("NumberOfEmployees", Op::Gte, &["10"]),
                ],
                vec![
                    Clause::new("LastName", Op::In, &["Smith", "O'Neil"]),
                    Clause::new("Phone", Op::HasProperty, &[]),
                    Clause::new("DoNotCall", Op::Neq, &["true"]),
                ],
                vec![
                    Clause::new("Birthdate", Op::NotHasProperty, &[]),
                    Clause::new("CreatedDate", Op::Lt, &["2026-01-01T00:00:00Z"]),
                    Clause::new("LeadSource", Op::NotIn, &["Web"]),
                ],
            ],
        };
        let c = condition(&f, &types()).unwrap().unwrap();
        assert_eq!(
            c,
            r"(Email = 'a\'b@x.com' AND NumberOfEmployees >= 10) OR (LastName IN ('Smith', 'O\'Neil') AND Phone != null AND DoNotCall != true) OR (Birthdate = null AND CreatedDate < 2026-01-01T00:00:00Z AND LeadSource NOT IN ('Web'))"
        );
        let q = scan_query(
            "Contact",
            &["Id".into(), "Email".into()],
            Some(&c),
            Some("003000000000001AAA"),
        )
        .unwrap();
        assert!(q.starts_with("SELECT Id, Email FROM Contact WHERE (("));
        assert!(q.ends_with(") AND Id > '003000000000001AAA' ORDER BY Id ASC"));
    }

    #[test]
    fn bad_filters_are_rejected_not_injected() {
        let t = types();
        for f in [
            Filter::all(vec![Clause::new("Email = '' OR Id", Op::Eq, &["x"])]),
            Filter::all(vec![Clause::new("Email", Op::Eq, &[])]),
            Filter::all(vec![Clause::new("Email", Op::Eq, &["a", "b"])]),
            Filter::all(vec![Clause::new("Email", Op::In, &[])]),
            Filter::all(vec![Clause::new(
                "NumberOfEmployees",
                Op::Eq,
                &["1 OR Name != null"],
            )]),
        ] {
            assert!(
                matches!(condition(&f, &t), Err(CrmError::Rejected(_))),
                "{f:?}"
            );
        }
        assert_eq!(condition(&Filter::default(), &t).unwrap(), None);
        assert_eq!(
            condition(
                &Filter {
                    any_of: vec![vec![]]
                },
                &t
            )
            .unwrap(),
            None
        );
        assert!(scan_query("Contact", &["Id".into()], None, Some("x' OR Id != '")).is_err());
        assert!(by_ids("Lead", &["Id"], &["00Q000000000001AAA", "bad id"]).is_err());
    }
}
