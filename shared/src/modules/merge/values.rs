//! Ordering field values for `max`/`min` (master rules and survivorship): as numbers when
//! every value is one, else as dates when every value is one, else as text ignoring case.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Number,
    Date,
    Text,
}

fn number(v: &str) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Seconds since the epoch of a date or datetime (`2024-01-31`, RFC 3339, Salesforce's
/// `2024-01-31T09:00:00.000+0000`, `2024-01-31 09:00:00`).
pub(crate) fn date(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp());
    }
    if let Ok(t) = DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.timestamp());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Some(t.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// How a set of (non-empty) values compare.
pub(crate) fn kind_of<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Kind {
    if values.clone().all(|v| number(v).is_some()) {
        Kind::Number
    } else if values.clone().all(|v| date(v).is_some()) {
        Kind::Date
    } else {
        Kind::Text
    }
}

pub(crate) fn compare(kind: Kind, a: &str, b: &str) -> Ordering {
    match kind {
        Kind::Number => number(a)
            .unwrap_or(f64::NAN)
            .partial_cmp(&number(b).unwrap_or(f64::NAN))
            .unwrap_or(Ordering::Equal),
        Kind::Date => date(a).cmp(&date(b)),
        Kind::Text => {
            let (a, b) = (a.trim(), b.trim());
            if a.is_ascii() && b.is_ascii() {
                a.bytes()
                    .map(|c| c.to_ascii_lowercase())
                    .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
            } else {
                a.to_lowercase().cmp(&b.to_lowercase())
            }
        }
    }
}

/// Record ids in natural order: numbers by value (`2` before `10`), others as text.
pub(crate) fn id_order(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        ta.len()
            .cmp(&tb.len())
            .then_with(|| ta.cmp(tb))
            .then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_dates_and_text() {
        assert_eq!(kind_of(["10", "9.5", "-1"].into_iter()), Kind::Number);
        assert_eq!(
            kind_of(["2024-01-31", "2023-05-02T10:00:00Z"].into_iter()),
            Kind::Date
        );
        assert_eq!(kind_of(["10", "ten"].into_iter()), Kind::Text);
        assert_eq!(compare(Kind::Number, "10", "9.5"), Ordering::Greater);
        assert_eq!(compare(Kind::Text, "10", "9.5"), Ordering::Less);
        assert_eq!(
            compare(Kind::Date, "2024-01-31", "2024-01-30T23:00:00.000+0000"),
            Ordering::Greater
        );
        assert_eq!(compare(Kind::Text, "abc", "ABD"), Ordering::Less);
        assert_eq!(compare(Kind::Text, "Zoë", "zoë"), Ordering::Equal);
    }

    #[test]
    fn dates_in_crm_forms() {
        let day = 1_706_659_200; // 2024-01-31T00:00:00Z
        assert_eq!(date("2024-01-31"), Some(day));
        assert_eq!(date("2024-01-31T00:00:00Z"), Some(day));
        assert_eq!(date("2024-01-31T01:00:00.000+0100"), Some(day));
        assert_eq!(date("2024-01-31 00:00:00"), Some(day));
        assert_eq!(date("31/01/2024"), None);
    }

    #[test]
    fn ids_in_natural_order() {
        assert_eq!(id_order("2", "10"), Ordering::Less);
        assert_eq!(id_order("010", "10"), Ordering::Less);
        assert_eq!(id_order("a2", "a10"), Ordering::Greater);
        assert_eq!(id_order("003A", "003B"), Ordering::Less);
    }
}
