//! Scored comparisons: each record's values normalized once per field (with a hash, the
//! formal first name, the parsed date and how many records share the value), and the
//! agreement level of two records on a field, cheap tests first.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::super::input::{Column, MergeInput};
use super::super::matching::{chunk_room, chunks, hash, join_chunks, run_all};
use super::super::normalize::{Norm, Scratch, formal};
use super::super::similarity::{Method, jaro_winkler, one_transposition, within_one_edit};

/// How a scored field is compared; each kind has its ordered agreement levels.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ScoreCompare {
    /// A person's name: exact (term-frequency adjusted), nickname (same formal name),
    /// similar (Jaro–Winkler ≥ 0.92), somewhat similar (≥ 0.80), swapped (with the
    /// `swap_with` field, crosswise: equal, or each crosswise pair similar), different.
    Name,
    /// Text: exact (term-frequency adjusted), similar (≥ 0.92), somewhat similar (≥ 0.80),
    /// different.
    Text,
    /// A company name, legal forms dropped: levels as `text`.
    Company,
    /// An email address (Gmail dots and `+tags` folded): exact, one edit (a typo),
    /// different. (The same local part at another domain is no level: addresses built from
    /// names share it between namesakes, and it overlaps the name fields' weight.)
    Email,
    /// A phone number in E.164: exact, one digit off (one digit changed, added, dropped or
    /// two adjacent digits swapped), different.
    Phone,
    /// An id, postcode or account number: exact (term-frequency adjusted), transposed (two
    /// adjacent characters swapped), one edit, different.
    Code,
    /// A date: exact, day and month swapped, year off by one, one part off, different.
    /// Values that are not dates are compared as text: exact or different.
    Date,
}

/// A level index meaning "a value is missing on one side": weight 0.
pub(crate) const MISSING: u8 = u8::MAX;

impl ScoreCompare {
    /// How costly a comparison of two different values is, in order: equality tests and
    /// single edits (0), dates (1), names (2: nicknames, swaps, Jaro–Winkler), free text
    /// (3: Jaro–Winkler over longer values).
    pub(crate) fn cost(self) -> u8 {
        match self {
            ScoreCompare::Email | ScoreCompare::Phone | ScoreCompare::Code => 0,
            ScoreCompare::Date => 1,
            ScoreCompare::Name => 2,
            ScoreCompare::Text | ScoreCompare::Company => 3,
        }
    }

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The agreement levels, best first; the last is `different`.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            ScoreCompare::Name => &[
                "exact",
                "nickname",
                "similar",
                "somewhat_similar",
                "swapped",
                "different",
            ],
            ScoreCompare::Text | ScoreCompare::Company => {
                &["exact", "similar", "somewhat_similar", "different"]
            }
            ScoreCompare::Email => &["exact", "one_edit", "different"],
            ScoreCompare::Phone => &["exact", "one_digit_off", "different"],
            ScoreCompare::Code => &["exact", "transposed", "one_edit", "different"],
            ScoreCompare::Date => &[
                "exact",
                "day_month_swapped",
                "year_off_by_one",
                "one_part_off",
                "different",
            ],
        }
    }

    /// Whether exact agreement is weighed by how common the value is.
    pub fn term_frequency(self) -> bool {
        matches!(
            self,
            ScoreCompare::Name | ScoreCompare::Text | ScoreCompare::Company | ScoreCompare::Code
        )
    }

    /// Default m per level (share of true duplicates at each level), used before training
    /// and as EM's prior.
    pub fn prior_m(self) -> &'static [f64] {
        match self {
            ScoreCompare::Name => &[0.80, 0.04, 0.07, 0.03, 0.02, 0.04],
            ScoreCompare::Text | ScoreCompare::Company => &[0.85, 0.07, 0.03, 0.05],
            ScoreCompare::Email => &[0.85, 0.08, 0.07],
            ScoreCompare::Phone => &[0.85, 0.07, 0.08],
            ScoreCompare::Code => &[0.85, 0.04, 0.05, 0.06],
            ScoreCompare::Date => &[0.85, 0.02, 0.02, 0.06, 0.05],
        }
    }

    /// Default u per level (share of random pairs at each level).
    pub fn prior_u(self) -> &'static [f64] {
        match self {
            ScoreCompare::Name => &[0.002, 0.001, 0.003, 0.02, 0.0005, 0.9735],
            ScoreCompare::Text | ScoreCompare::Company => &[0.01, 0.005, 0.03, 0.955],
            ScoreCompare::Email => &[0.0001, 0.0005, 0.9994],
            ScoreCompare::Phone => &[0.0001, 0.0005, 0.9994],
            ScoreCompare::Code => &[0.01, 0.0002, 0.002, 0.9878],
            ScoreCompare::Date => &[0.0003, 0.000_01, 0.0005, 0.01, 0.989_19],
        }
    }

    fn norm(self) -> Norm {
        match self {
            ScoreCompare::Name => Norm::Name,
            ScoreCompare::Text | ScoreCompare::Date => Norm::Text,
            ScoreCompare::Company => Norm::Company,
            ScoreCompare::Email => Norm::Email {
                dots: true,
                plus: true,
            },
            ScoreCompare::Phone => Norm::Phone {
                default: None,
                region_field: None,
                quick: true,
            },
            ScoreCompare::Code => Norm::Compact,
        }
    }
}

/// A field as compiled: where its values are and how they are read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub kind: ScoreCompare,
    /// Index in the input's fields.
    pub input: usize,
    pub norm: Norm,
    /// Phone: index in the input's fields of the region field.
    pub region: Option<usize>,
    /// Name: index (in the scored fields) of the field it is compared with crosswise.
    pub swap: Option<usize>,
}

impl Spec {
    pub fn new(kind: ScoreCompare, input: usize) -> Self {
        Self {
            kind,
            input,
            norm: kind.norm(),
            region: None,
            swap: None,
        }
    }
}

/// One field's values for every record.
#[derive(Debug, Default)]
pub(crate) struct FieldData {
    pub values: Column,
    /// Hash of the normalized value; 0 when the record has none.
    pub hash: Vec<u64>,
    /// Name: hash of the formal first name (`bob` -> `robert`); 0 for none.
    pub alt: Vec<u64>,
    /// Date: `yyyymmdd`; 0 when the value is not a date.
    pub date: Vec<u32>,
    /// How many records have this normalized value (0 for none).
    pub count: Vec<u32>,
}

impl FieldData {
    fn with_capacity(rows: usize) -> Self {
        Self {
            values: Column::with_capacity(rows),
            hash: Vec::with_capacity(rows),
            alt: Vec::with_capacity(rows),
            date: Vec::with_capacity(rows),
            count: Vec::new(),
        }
    }

    fn extend(&mut self, o: FieldData) {
        self.values.extend(&o.values);
        self.hash.extend(o.hash);
        self.alt.extend(o.alt);
        self.date.extend(o.date);
    }

    pub fn value(&self, row: usize) -> &str {
        self.values.get(row)
    }

    /// Records that have a value.
    pub fn present(&self) -> usize {
        self.hash.iter().filter(|&&h| h != 0).count()
    }
}

fn nonzero(h: u64) -> u64 {
    h.max(1)
}

/// `y`, `m`, `d` of a date in the common forms: `YYYY-MM-DD` (and datetimes starting so),
/// `YYYY/MM/DD`, `YYYYMMDD`, `MM/DD/YYYY` (`DD/MM/YYYY` when the first part is over 12),
/// `DD.MM.YYYY`.
pub(crate) fn parse_date(v: &str) -> Option<(u32, u32, u32)> {
    let v = v.trim();
    let v = v.split(['T', ' ']).next().unwrap_or(v);
    let ok = |y: u32, m: u32, d: u32| {
        ((1000..3000).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
            .then_some((y, m, d))
    };
    if v.len() == 8 && v.bytes().all(|c| c.is_ascii_digit()) {
        let n = |r: std::ops::Range<usize>| v[r].parse::<u32>().ok();
        return ok(n(0..4)?, n(4..6)?, n(6..8)?);
    }
    let sep = v.bytes().find(|c| matches!(c, b'-' | b'/' | b'.'))?;
    let parts: Vec<&str> = v.split(sep as char).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    if parts[0].len() == 4 {
        ok(n[0], n[1], n[2])
    } else if parts[2].len() == 4 {
        if n[0] > 12 || sep == b'.' {
            ok(n[2], n[1], n[0])
        } else {
            ok(n[2], n[0], n[1])
        }
    } else {
        None
    }
}

/// Every scored field of every record, normalized on `threads` threads.
pub(crate) fn derive(input: &MergeInput, specs: &[Spec], threads: usize) -> Vec<FieldData> {
    let rows = input.len();
    let part = |(lo, hi): (usize, usize)| -> Vec<FieldData> {
        let mut scratch = Scratch::default();
        specs
            .iter()
            .map(|s| {
                let mut f = FieldData::with_capacity(chunk_room((lo, hi), rows));
                for row in lo..hi {
                    let raw = input.raw(row, s.input);
                    let buf = f.values.buffer();
                    let start = buf.len();
                    let mut date = 0;
                    if !raw.trim().is_empty() {
                        if s.kind == ScoreCompare::Date
                            && let Some((y, m, d)) = parse_date(raw)
                        {
                            use std::fmt::Write;
                            let _ = write!(buf, "{y:04}-{m:02}-{d:02}");
                            date = y * 10_000 + m * 100 + d;
                        } else {
                            let region = s.region.map(|r| input.raw(row, r));
                            s.norm.apply(raw, region, buf, &mut scratch);
                        }
                    }
                    let v = &buf[start..];
                    let h = if v.is_empty() { 0 } else { nonzero(hash(1, v)) };
                    let a = if s.kind == ScoreCompare::Name && h != 0 {
                        // The nickname normalizer: the name's formal form, if it has one.
                        formal(v).map_or(h, |f| nonzero(hash(1, f)))
                    } else {
                        0
                    };
                    f.values.end_row();
                    f.hash.push(h);
                    f.alt.push(a);
                    f.date.push(date);
                }
                f
            })
            .collect()
    };
    let parts: Vec<Vec<FieldData>> = run_all(chunks(rows, threads), threads, part);
    let mut out = join_chunks(parts, specs.len(), FieldData::extend);
    // Term frequencies: how many records share each value.
    let count = |f: &FieldData| -> Vec<u32> {
        let mut sorted: Vec<(u64, u32)> = f
            .hash
            .iter()
            .enumerate()
            .filter(|(_, h)| **h != 0)
            .map(|(r, &h)| (h, r as u32))
            .collect();
        sorted.sort_unstable();
        let mut counts = vec![0u32; f.hash.len()];
        let mut i = 0;
        while i < sorted.len() {
            let mut j = i;
            while j < sorted.len() && sorted[j].0 == sorted[i].0 {
                j += 1;
            }
            for &(_, r) in &sorted[i..j] {
                counts[r as usize] = (j - i) as u32;
            }
            i = j;
        }
        counts
    };
    let counts: Vec<Vec<u32>> = if threads <= 1 || out.len() < 2 {
        out.iter().map(count).collect()
    } else {
        let per = out.len().div_ceil(threads);
        std::thread::scope(|s| {
            let hs: Vec<_> = out
                .chunks(per)
                .map(|fs| s.spawn(move || fs.iter().map(count).collect::<Vec<_>>()))
                .collect();
            hs.into_iter()
                .flat_map(|h| h.join().expect("a counting thread panicked"))
                .collect()
        })
    };
    for (f, c) in out.iter_mut().zip(counts) {
        f.count = c;
    }
    out
}

/// The level of records `a` and `b` on field `i`: an index into the kind's levels, or
/// `MISSING`.
pub(crate) fn level(specs: &[Spec], data: &[FieldData], i: usize, a: usize, b: usize) -> u8 {
    let f = &data[i];
    let (ha, hb) = (f.hash[a], f.hash[b]);
    if ha == 0 || hb == 0 {
        return MISSING;
    }
    let kind = specs[i].kind;
    if ha == hb && f.value(a) == f.value(b) {
        return 0;
    }
    let (va, vb) = (f.value(a), f.value(b));
    match kind {
        ScoreCompare::Name => {
            if f.alt[a] == f.alt[b] {
                return 1;
            }
            let o = specs[i].swap.map(|s| &data[s]);
            if let Some(o) = o
                && o.hash[b] == ha
                && o.hash[a] == hb
                && o.value(b) == va
                && o.value(a) == vb
            {
                return 4;
            }
            let direct = similar_levels(va, vb, 2, 5);
            // Swapped with a typo: each crosswise pair at least similar (Jaro–Winkler ≥ 0.92).
            if direct == 5
                && let Some(o) = o
                && o.hash[a] != 0
                && o.hash[b] != 0
            {
                let close = |x: &str, y: &str| x == y || jaro_winkler(x, y) >= 0.92;
                if close(va, o.value(b)) && close(o.value(a), vb) {
                    return 4;
                }
            }
            direct
        }
        ScoreCompare::Text | ScoreCompare::Company => similar_levels(va, vb, 1, 3),
        ScoreCompare::Email => {
            if within_one_edit(va, vb) {
                1
            } else {
                2
            }
        }
        ScoreCompare::Phone => {
            if within_one_edit(va, vb) || one_transposition(va, vb) {
                1
            } else {
                2
            }
        }
        ScoreCompare::Code => {
            if one_transposition(va, vb) {
                1
            } else if within_one_edit(va, vb) {
                2
            } else {
                3
            }
        }
        ScoreCompare::Date => date_level(f.date[a], f.date[b]),
    }
}

/// Jaro–Winkler ≥ 0.92 → `first`, ≥ 0.80 → `first + 1`, else `different`.
fn similar_levels(a: &str, b: &str, first: u8, different: u8) -> u8 {
    if !Method::JaroWinkler.may_reach(a, b, 0.80) {
        return different;
    }
    match jaro_winkler(a, b) {
        s if s >= 0.92 => first,
        s if s >= 0.80 => first + 1,
        _ => different,
    }
}

/// Levels of two different dates (`yyyymmdd`, 0 when not a date).
fn date_level(a: u32, b: u32) -> u8 {
    if a == 0 || b == 0 {
        return 4;
    }
    let (ya, ma, da) = (a / 10_000, a / 100 % 100, a % 100);
    let (yb, mb, db) = (b / 10_000, b / 100 % 100, b % 100);
    if ya == yb && ma == db && da == mb {
        return 1;
    }
    if ma == mb && da == db && ya.abs_diff(yb) == 1 {
        return 2;
    }
    let off = u8::from(ya != yb) + u8::from(ma != mb) + u8::from(da != db);
    if off == 1 { 3 } else { 4 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The level of two values of a field of `kind` (`swap` values: the records' other
    /// name field, for `name`).
    fn lv(kind: ScoreCompare, a: &str, b: &str) -> &'static str {
        lv_swap(kind, (a, ""), (b, ""))
    }

    fn lv_swap(kind: ScoreCompare, a: (&str, &str), b: (&str, &str)) -> &'static str {
        let mut input = MergeInput::new(vec!["f".into(), "g".into()]);
        for (v, w) in [a, b] {
            input.push("x", None, None, |f| Some(if f == "f" { v } else { w }));
        }
        let mut f = Spec::new(kind, 0);
        let mut g = Spec::new(kind, 1);
        if kind == ScoreCompare::Name {
            f.swap = Some(1);
            g.swap = Some(0);
        }
        let specs = [f, g];
        let data = derive(&input, &specs, 1);
        let l = level(&specs, &data, 0, 0, 1);
        assert_eq!(l, level(&specs, &data, 0, 1, 0), "symmetric: {a:?} {b:?}");
        if l == MISSING {
            "missing"
        } else {
            kind.levels()[l as usize]
        }
    }

    #[test]
    fn name_levels() {
        use ScoreCompare::Name;
        assert_eq!(lv(Name, "Dr. Anne-Marie", "anne marie"), "exact");
        assert_eq!(lv(Name, "Bob", "Robert"), "nickname");
        assert_eq!(lv(Name, "Jonathan", "Jonathon"), "similar");
        assert_eq!(lv(Name, "Katherine", "Kathleen"), "somewhat_similar");
        assert_eq!(
            lv_swap(Name, ("John", "Smith"), ("Smith", "John")),
            "swapped"
        );
        assert_eq!(
            lv_swap(
                Name,
                ("Stephenson", "Elizbeth"),
                ("Elizabeth", "Stephenson")
            ),
            "swapped"
        );
        assert_eq!(
            lv_swap(Name, ("John", "Smith"), ("Smith", "Jones")),
            "different"
        );
        assert_eq!(lv(Name, "Mary", "Zoltan"), "different");
        assert_eq!(lv(Name, "", "Zoltan"), "missing");
        assert_eq!(lv(Name, "  ", ""), "missing");
    }

    #[test]
    fn text_and_company_levels() {
        use ScoreCompare::{Company, Text};
        assert_eq!(lv(Text, "San Francisco", "san  francisco"), "exact");
        assert_eq!(lv(Text, "San Francisco", "San Fransisco"), "similar");
        assert_eq!(lv(Text, "Springfield", "Springvale"), "somewhat_similar");
        assert_eq!(lv(Text, "Boston", "Denver"), "different");
        assert_eq!(lv(Text, "Boston", ""), "missing");
        assert_eq!(lv(Company, "Acme Inc.", "ACME"), "exact");
        assert_eq!(lv(Company, "Acme Widgets", "Acme Widget"), "similar");
        assert_eq!(lv(Company, "Initech", "Globex"), "different");
    }

    #[test]
    fn email_levels() {
        use ScoreCompare::Email;
        assert_eq!(lv(Email, "J.Doe+news@gmail.com", "jdoe@gmail.com"), "exact");
        assert_eq!(lv(Email, "jdoe@acme.com", "jdoe@acme.co"), "one_edit");
        assert_eq!(lv(Email, "jdoe@acme.com", "jdoe@initech.com"), "different");
        assert_eq!(lv(Email, "jdoe@acme.com", "asmith@acme.com"), "different");
        assert_eq!(lv(Email, "", "asmith@acme.com"), "missing");
    }

    #[test]
    fn phone_levels() {
        let phone = |a: &str, b: &str| {
            let mut input = MergeInput::new(vec!["p".into()]);
            for v in [a, b] {
                input.push("x", None, None, |_| Some(v));
            }
            let mut s = Spec::new(ScoreCompare::Phone, 0);
            s.norm = Norm::Phone {
                default: crate::modules::transform::phone::Region::parse("US"),
                region_field: None,
                quick: true,
            };
            let specs = [s];
            let data = derive(&input, &specs, 1);
            match level(&specs, &data, 0, 0, 1) {
                MISSING => "missing",
                l => ScoreCompare::Phone.levels()[l as usize],
            }
        };
        assert_eq!(phone("(650) 253-0000", "+1 650 253 0000"), "exact");
        // Not a valid number (no such area code), written two ways: still the same.
        assert_eq!(phone("555 010 0100", "+1 (555) 010-0100"), "exact");
        assert_eq!(phone("+44 20 7946 0958", "020 7946 0958"), "different");
        assert_eq!(phone("+44 20 7946 0958", "+44 (20) 7946-0958"), "exact");
        assert_eq!(phone("650 253 0000", "650 235 0000"), "one_digit_off");
        assert_eq!(phone("650 253 0000", "650 253 0001"), "one_digit_off");
        assert_eq!(phone("650 253 0000", "415 555 0199"), "different");
        assert_eq!(phone("", "415 555 0199"), "missing");
    }

    #[test]
    fn code_levels() {
        use ScoreCompare::Code;
        assert_eq!(lv(Code, "90210", " 90210 "), "exact");
        assert_eq!(lv(Code, "90210", "92010"), "transposed");
        assert_eq!(lv(Code, "90210", "90211"), "one_edit");
        assert_eq!(lv(Code, "90210", "9021"), "one_edit");
        assert_eq!(lv(Code, "90210", "10001"), "different");
        assert_eq!(lv(Code, "", "10001"), "missing");
    }

    #[test]
    fn date_levels() {
        use ScoreCompare::Date;
        assert_eq!(lv(Date, "1980-03-04", "03/04/1980"), "exact");
        assert_eq!(lv(Date, "1980-03-04", "1980-03-04T00:00:00Z"), "exact");
        assert_eq!(lv(Date, "1980-03-04", "1980-04-03"), "day_month_swapped");
        assert_eq!(lv(Date, "1980-03-04", "1981-03-04"), "year_off_by_one");
        assert_eq!(lv(Date, "1980-03-04", "1980-03-14"), "one_part_off");
        assert_eq!(lv(Date, "1980-03-04", "1990-03-04"), "one_part_off");
        assert_eq!(lv(Date, "1980-03-04", "1975-11-20"), "different");
        assert_eq!(lv(Date, "unknown", "Unknown"), "exact");
        assert_eq!(lv(Date, "unknown", "1980-03-04"), "different");
        assert_eq!(lv(Date, "", "1980-03-04"), "missing");
    }

    #[test]
    fn dates_in_common_forms() {
        assert_eq!(parse_date("1980-03-04"), Some((1980, 3, 4)));
        assert_eq!(parse_date("1980/3/4"), Some((1980, 3, 4)));
        assert_eq!(parse_date("19800304"), Some((1980, 3, 4)));
        assert_eq!(parse_date("03/04/1980"), Some((1980, 3, 4)));
        assert_eq!(parse_date("25/04/1980"), Some((1980, 4, 25)));
        assert_eq!(parse_date("04.03.1980"), Some((1980, 3, 4)));
        assert_eq!(parse_date("1980-13-04"), None);
        assert_eq!(parse_date("03/04/80"), None);
        assert_eq!(parse_date("soon"), None);
    }

    #[test]
    fn counts_are_term_frequencies() {
        let mut input = MergeInput::new(vec!["f".into()]);
        for v in ["Smith", "smith", "Zed", ""] {
            input.push("x", None, None, |_| Some(v));
        }
        let data = derive(&input, &[Spec::new(ScoreCompare::Name, 0)], 1);
        assert_eq!(data[0].count, [2, 2, 1, 0]);
        assert_eq!(data[0].present(), 3);
    }
}
