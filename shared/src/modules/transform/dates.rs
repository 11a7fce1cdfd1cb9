//! Dates from whatever layout a CRM import left (`3/5/2024`, `5 March 2024`,
//! `2024-03-05T10:00:00Z`, epoch milliseconds) to one chrono format.

use std::fmt::Write;
use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, Utc};

use super::{Out, quote};

type Items = Vec<Item<'static>>;

/// A parsed value: its wall-clock date and time, and its offset when it had one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moment {
    pub local: NaiveDateTime,
    pub offset: Option<FixedOffset>,
}

/// Compiles a chrono format; the error says what is wrong with it.
pub(crate) fn compile(format: &str) -> Result<Items, String> {
    let items = StrftimeItems::new(format).parse_to_owned().map_err(|_| {
        format!("{format:?} is not a valid chrono format (an unknown %-specifier?)")
    })?;
    if !items
        .iter()
        .any(|i| matches!(i, Item::Numeric(..) | Item::Fixed(_)))
    {
        return Err(format!("{format:?} has no date field (%Y, %m, %d, ...)"));
    }
    Ok(items)
}

/// Checks that `items` can write a date: formatting a sample must succeed.
pub(crate) fn check_output(format: &str, items: &Items) -> Result<(), String> {
    let sample = sample();
    render(&sample, items)
        .map(drop)
        .ok_or_else(|| format!("{format:?} cannot be used to write a date"))
}

/// Checks that `items` can read a whole date (year, month and day) back from what it writes.
pub(crate) fn check_input(format: &str, items: &Items) -> Result<(), String> {
    let sample = sample();
    render(&sample, items)
        .and_then(|s| parse_with(&s, items))
        .map(drop)
        .ok_or_else(|| format!("{format:?} cannot read a whole date (year, month and day)"))
}

fn sample() -> Moment {
    Moment {
        local: NaiveDate::from_ymd_opt(2024, 3, 5)
            .and_then(|d| d.and_hms_opt(14, 7, 9))
            .unwrap_or_default(),
        offset: FixedOffset::east_opt(3600),
    }
}

/// `m` written with `items`; None when the format cannot be written (chrono's formatter
/// reports an error rather than panicking, as `to_string` would).
pub(crate) fn render(m: &Moment, items: &Items) -> Option<String> {
    let offset = m.offset.unwrap_or_else(|| Utc.fix());
    let dt = m.local.and_local_timezone(offset).single()?;
    let mut out = String::with_capacity(24);
    write!(out, "{}", dt.format_with_items(items.iter())).ok()?;
    Some(out)
}

/// `s` read with `items`: a date is required; a missing time is midnight.
pub(crate) fn parse_with(s: &str, items: &Items) -> Option<Moment> {
    let mut p = Parsed::new();
    chrono::format::parse(&mut p, s, items.iter()).ok()?;
    let date = p.to_naive_date().ok()?;
    let time = p.to_naive_time().unwrap_or(NaiveTime::MIN);
    Some(Moment {
        local: date.and_time(time),
        offset: p.to_fixed_offset().ok(),
    })
}

/// Layouts tried when a step gives no `from`, by the shape of the value. Two-digit years
/// come before four-digit ones because `%Y` also reads `24` as the year 24.
struct Auto {
    /// `2024-03-05...`, `2024/03/05`, `2024.03.05`.
    iso: Vec<Items>,
    /// `05.03.2024`: dotted dates are day-first wherever they are written.
    dotted: Vec<Items>,
    /// `3/5/2024`, `3-5-24 10:30 AM`: month first and day first, by separator.
    slash_month_first: Vec<Items>,
    slash_day_first: Vec<Items>,
    dash_month_first: Vec<Items>,
    dash_day_first: Vec<Items>,
    /// Month names: `March 5, 2024`, `5 Mar 2024`, `05-Mar-2024`, `Tuesday, March 5, 2024`.
    text: Vec<Items>,
}

static AUTO: LazyLock<Auto> = LazyLock::new(|| {
    let compile_all = |formats: &[String]| -> Vec<Items> {
        formats
            .iter()
            .filter_map(|f| StrftimeItems::new(f).parse_to_owned().ok())
            .collect()
    };
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let numeric = |d1: &str, d2: &str, sep: &str| -> Vec<Items> {
        let mut out = Vec::new();
        for time in ["", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p"] {
            for year in ["%y", "%Y"] {
                out.push(format!("{d1}{sep}{d2}{sep}{year}{time}"));
            }
        }
        compile_all(&out)
    };
    Auto {
        iso: compile_all(&strings(&[
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f %z",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d",
            "%Y/%m/%d %H:%M:%S",
            "%Y/%m/%d",
            "%Y.%m.%d",
        ])),
        dotted: compile_all(&strings(&[
            "%d.%m.%y",
            "%d.%m.%Y",
            "%d.%m.%Y %H:%M",
            "%d.%m.%Y %H:%M:%S",
        ])),
        slash_month_first: numeric("%m", "%d", "/"),
        slash_day_first: numeric("%d", "%m", "/"),
        dash_month_first: numeric("%m", "%d", "-"),
        dash_day_first: numeric("%d", "%m", "-"),
        text: compile_all(&strings(&[
            "%B %d, %Y",
            "%B %d %Y",
            "%B %d, %Y %I:%M %p",
            "%B. %d, %Y",
            "%d %B %Y",
            "%d %B, %Y",
            "%d %B %Y %H:%M",
            "%d-%B-%y",
            "%d-%B-%Y",
            "%d/%B/%Y",
            "%A, %B %d, %Y",
            "%A, %d %B %Y",
            "%a %B %d %Y",
            "%a %B %d %H:%M:%S %Y",
        ])),
    }
});

/// Reads `s` in any common layout.
pub(crate) fn parse_auto(s: &str, day_first: bool) -> Option<Moment> {
    let b = s.as_bytes();
    let lead = b.iter().take_while(|b| b.is_ascii_digit()).count();
    if lead == b.len() {
        return parse_digits(s);
    }
    let auto = &*AUTO;
    let sep = b[lead];
    let after = b.get(lead + 1).copied().unwrap_or(b' ');
    let none: &[Items] = &[];
    let (first, then): (&[Items], &[Items]) = match (lead, sep) {
        (4, b'-' | b'/' | b'.') => {
            if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
                return Some(Moment {
                    local: dt.naive_local(),
                    offset: Some(*dt.offset()),
                });
            }
            (&auto.iso, none)
        }
        (1..=2, b'.') => (&auto.dotted, none),
        (1..=2, b'/' | b'-') if after.is_ascii_digit() => {
            let (mdy, dmy) = if sep == b'/' {
                (&auto.slash_month_first, &auto.slash_day_first)
            } else {
                (&auto.dash_month_first, &auto.dash_day_first)
            };
            if day_first { (dmy, mdy) } else { (mdy, dmy) }
        }
        _ => (&auto.text, none),
    };
    first
        .iter()
        .chain(then)
        // `%Y` reads `24` as the year 24: a year before 1000 means another layout fits.
        .find_map(|items| parse_with(s, items).filter(|m| m.local.year() >= 1000))
        .or_else(|| {
            DateTime::parse_from_rfc2822(s).ok().map(|dt| Moment {
                local: dt.naive_local(),
                offset: Some(*dt.offset()),
            })
        })
}

/// `20240305`, epoch seconds (10 digits) or milliseconds (13 digits, as HubSpot stores dates).
fn parse_digits(s: &str) -> Option<Moment> {
    let at = |secs: i64, millis: u32| {
        DateTime::<Utc>::from_timestamp(secs, millis * 1_000_000).map(|dt| Moment {
            local: dt.naive_utc(),
            offset: Some(Utc.fix()),
        })
    };
    match s.len() {
        8 => NaiveDate::parse_from_str(s, "%Y%m%d").ok().map(|d| Moment {
            local: d.and_time(NaiveTime::MIN),
            offset: None,
        }),
        10 => at(s.parse().ok()?, 0),
        13 => {
            let ms: i64 = s.parse().ok()?;
            at(ms.div_euclid(1000), ms.rem_euclid(1000) as u32)
        }
        _ => None,
    }
}

/// The `date` function.
#[derive(Debug, Clone)]
pub(crate) struct DateFn {
    /// Layouts to read, in order; empty: any common layout (`parse_auto`).
    pub from: Vec<Items>,
    pub to: Items,
    pub day_first: bool,
}

impl DateFn {
    pub fn apply(&self, value: &str) -> Out {
        let t = value.trim();
        if t.is_empty() {
            return Out::Same;
        }
        // Already in the target layout: nothing to parse further.
        if let Some(m) = parse_with(t, &self.to)
            && render(&m, &self.to).as_deref() == Some(value)
        {
            return Out::Same;
        }
        let parsed = if self.from.is_empty() {
            parse_auto(t, self.day_first)
        } else {
            self.from.iter().find_map(|items| parse_with(t, items))
        };
        match parsed.and_then(|m| render(&m, &self.to)) {
            Some(s) if s == value => Out::Same,
            Some(s) => Out::Set(s),
            None if self.from.is_empty() => Out::Problem(format!("{} is not a date", quote(value))),
            None => Out::Problem(format!(
                "{} is not a date in any of the `from` formats",
                quote(value)
            )),
        }
    }
}
