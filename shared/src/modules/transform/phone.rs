//! Phone numbers to E.164, national or international format with libphonenumber's
//! metadata (`phonenumber`). A value that is not a valid number is reported, never
//! rewritten.

use std::fmt::Write;
use std::sync::{LazyLock, OnceLock};

use phonenumber::country::Id;
use phonenumber::metadata::{DATABASE, Descriptor, Descriptors, Metadata};
use phonenumber::{Mode, PhoneNumber};
use regex::{Regex, RegexBuilder};
use regex_automata::Anchored;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::syntax;
use regex_automata::util::{primitives::StateID, start};
use serde::{Deserialize, Serialize};

use super::{Out, quote};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PhoneFormat {
    /// `+16502530000`
    #[default]
    E164,
    /// `(650) 253-0000`; numbers of another country than the default region are written
    /// internationally, so the country is never lost.
    National,
    /// `+1 650-253-0000`
    International,
}

impl PhoneFormat {
    pub fn name(self) -> &'static str {
        match self {
            PhoneFormat::E164 => "e164",
            PhoneFormat::National => "national",
            PhoneFormat::International => "international",
        }
    }
}

/// A region phonenumber knows (`US`, `GB`), with its country calling code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub id: Id,
    pub calling_code: u16,
}

impl Region {
    /// The region of a country as a record names it (`DE`, `DEU`, `Germany`).
    pub fn of_country(country: &str) -> Option<Region> {
        super::places::country(country).and_then(|i| Region::parse(super::places::COUNTRIES[i].0))
    }

    pub fn parse(code: &str) -> Option<Region> {
        let id: Id = code.trim().to_ascii_uppercase().parse().ok()?;
        let meta = DATABASE.by_id(id.as_ref())?;
        Some(Region {
            id,
            calling_code: meta.country_code(),
        })
    }
}

/// What a value is as a phone number.
pub(crate) enum Parsed {
    Number(PhoneNumber),
    /// Not a phone number at all (`n/a`, `12`).
    NotANumber,
    /// Parses, but no such number exists (`555-1234` in the US: too short).
    Invalid,
}

pub(crate) fn parse(value: &str, region: Option<Region>) -> Parsed {
    let canonical = canonical(value, region);
    let text = canonical.as_deref().unwrap_or(value.trim());
    match phonenumber::parse(region.map(|r| r.id), text) {
        Ok(n) if is_valid(&n) => Parsed::Number(n),
        Ok(_) => Parsed::Invalid,
        Err(_) => Parsed::NotANumber,
    }
}

/// In a North American region, digits and separators only (no `+`, no letters) starting
/// with 0 (but not the 011 international prefix), or fewer than 10 digits starting 2-9,
/// cannot be a valid number: libphonenumber's parse finds none (a property test checks).
/// Such values are common in exports (European national numbers with a US default) and
/// each cost a full parse, which recompiles patterns from its small cache.
pub(crate) fn surely_invalid_nanp(value: &str, region: Option<Region>) -> bool {
    if region.is_none_or(|r| r.calling_code != 1) {
        return false;
    }
    let t = value.trim();
    let mut digits = 0usize;
    let mut first3 = [0u8; 3];
    for b in t.bytes() {
        match b {
            b'0'..=b'9' => {
                if digits < 3 {
                    first3[digits] = b;
                }
                digits += 1;
            }
            b' ' | b'-' | b'.' | b'(' | b')' | b'/' => {}
            _ => return false,
        }
    }
    // Only the shapes that are common and certain: a national number of another country
    // (leading 0, not the 011 prefix), or too few digits — but for Canada's seven-digit
    // universal access numbers (`310\d{4}`, valid anywhere in the +1 zone). (A leading 1
    // can be read as the country code, and longer runs as a number with trailing digits:
    // left to the parse.)
    match first3[0] {
        b'0' => &first3 != b"011",
        b'2'..=b'9' => digits < 10 && !(digits == 7 && &first3 == b"310"),
        _ => false,
    }
}

/// The value as `+<digits>` when that is certain to be the same number: `+` then digits
/// and separators, or in a North American region 10 digits (11 with the leading 1).
/// libphonenumber parses this form several times faster than `(650) 253-0000`.
pub(crate) fn canonical(value: &str, region: Option<Region>) -> Option<String> {
    let t = value.trim();
    if t.contains("(0)") {
        // `+44 (0)20 ...`: the bracketed trunk zero is not part of the number.
        return None;
    }
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for (i, c) in t.char_indices() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    if plus {
        let ok = (7..=15).contains(&digits.len()) && !digits.starts_with('0');
        return ok.then(|| format!("+{digits}"));
    }
    if region.is_none_or(|r| r.calling_code != 1) {
        return None;
    }
    match digits.len() {
        10 => Some(format!("+1{digits}")),
        11 if digits.starts_with('1') => Some(format!("+{digits}")),
        _ => None,
    }
}

/// `number` in `format`. None when phonenumber cannot render it (it then has no metadata
/// for the number's country, which a valid number always has).
pub(crate) fn format(
    number: &PhoneNumber,
    format: PhoneFormat,
    home: Option<Region>,
) -> Option<String> {
    let mode = match format {
        // As phonenumber writes it, without its formatter's pattern lookups.
        PhoneFormat::E164 => {
            return Some(format!("+{}{}", number.code().value(), number.national()));
        }
        PhoneFormat::International => Mode::International,
        PhoneFormat::National => match home {
            Some(r) if r.calling_code == number.code().value() => Mode::National,
            _ => Mode::International,
        },
    };
    let mut out = String::with_capacity(20);
    write!(out, "{}", number.format().mode(mode)).ok()?;
    Some(out)
}

/// The `phone` function.
#[derive(Debug, Clone)]
pub(crate) struct PhoneFn {
    pub format: PhoneFormat,
    pub region: Option<Region>,
}

impl PhoneFn {
    /// The function for a record of `country` (a name or code, as `country` reads it):
    /// that country's region, or this function's own when the country is unknown.
    pub fn in_country(&self, country: Option<&str>) -> PhoneFn {
        let region = country.and_then(Region::of_country);
        PhoneFn {
            format: self.format,
            region: region.or(self.region),
        }
    }

    pub fn apply(&self, value: &str) -> Out {
        if value.trim().is_empty() || self.already_formatted(value) {
            return Out::Same;
        }
        // E.164 of a value that is `+digits` (or North American digits) in disguise, and
        // valid: no parse needed. Anything else takes libphonenumber's full parse.
        if surely_invalid_nanp(value, self.region) {
            return Out::Problem(self.invalid(value));
        }
        if self.format == PhoneFormat::E164
            && let Some(c) = canonical(value, self.region)
        {
            match e164_shortcut(&c) {
                Shortcut::Valid(..) if c == value => return Out::Same,
                Shortcut::Valid(..) => return Out::Set(c),
                Shortcut::Invalid => return Out::Problem(self.invalid(value)),
                Shortcut::Unsure => {}
            }
        }
        let number = match parse(value, self.region) {
            Parsed::Number(n) => n,
            Parsed::NotANumber => {
                return Out::Problem(format!("{} is not a phone number", quote(value)));
            }
            Parsed::Invalid => return Out::Problem(self.invalid(value)),
        };
        if self.format == PhoneFormat::E164 && number.extension().is_some() {
            return Out::Problem(format!(
                "{} has an extension, which E.164 cannot hold",
                quote(value)
            ));
        }
        match format(&number, self.format, self.region) {
            Some(s) if s == value => Out::Same,
            Some(s) => Out::Set(s),
            None => Out::Problem(self.invalid(value)),
        }
    }

    fn invalid(&self, value: &str) -> String {
        match self.region {
            Some(r) => format!(
                "{} is not a valid phone number for {}",
                quote(value),
                r.id.as_ref()
            ),
            None => format!("{} is not a valid phone number", quote(value)),
        }
    }

    /// Whether `value` already has the target layout, checked without parsing (which is
    /// slow): E.164 for any country, national and international for North America.
    fn already_formatted(&self, value: &str) -> bool {
        let b = value.as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        match self.format {
            PhoneFormat::E164 => {
                (9..=16).contains(&b.len()) && b[0] == b'+' && b[1] != b'0' && digits(&b[1..])
            }
            PhoneFormat::National => {
                // (650) 253-0000
                self.region.is_some_and(|r| r.calling_code == 1)
                    && b.len() == 14
                    && b[0] == b'('
                    && digits(&b[1..4])
                    && &b[4..6] == b") "
                    && digits(&b[6..9])
                    && b[9] == b'-'
                    && digits(&b[10..])
                    && nanp(b[1], b[6])
            }
            PhoneFormat::International => {
                // +1 650-253-0000
                b.len() == 15
                    && &b[..3] == b"+1 "
                    && digits(&b[3..6])
                    && b[6] == b'-'
                    && digits(&b[7..10])
                    && b[10] == b'-'
                    && digits(&b[11..])
                    && nanp(b[3], b[7])
            }
        }
    }
}

/// North American area codes and exchanges start with 2-9.
fn nanp(area: u8, exchange: u8) -> bool {
    area >= b'2' && exchange >= b'2'
}

/// libphonenumber's validity rule exactly as `phonenumber::is_valid` applies it (same
/// metadata, same patterns, same prefix matching), over regexes of our own. phonenumber
/// reaches every pattern through one global, mutex-guarded LRU cache of 100 regexes,
/// which serializes threads and, with numbers of many countries, recompiles patterns.
pub(crate) fn is_valid(number: &PhoneNumber) -> bool {
    valid_parts(number.code().value(), &number.national().to_string())
}

/// The validity rule on a calling code and national number.
fn valid_parts(code: u16, national: &str) -> bool {
    let Some(regions) = regions(code) else {
        return false;
    };
    // The region the number belongs to, as phonenumber's `source_for` picks it.
    let region = match regions {
        [only] => Some(only),
        _ => regions.iter().find(|r| match r.leads(national) {
            Some(leads) => leads,
            None => r.has_type(national),
        }),
    };
    region.is_some_and(|r| r.has_type(national))
}

/// What the shortcut knows of a `+<digits>` value without libphonenumber's parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shortcut<'a> {
    /// A valid number: (calling code, national number), as the parse would give.
    Valid(u16, &'a str),
    /// The parse would find no valid number in it.
    Invalid,
    /// Leave it to the parse (a national prefix might be stripped, or no known code).
    Unsure,
}

/// `+<digits>` judged without libphonenumber's parse (the slow part, behind a global
/// lock): calling codes are prefix-free (ITU-T E.164), so the first 1 to 3 digits naming
/// a known code are the code, and the rest is the national number unless a national
/// prefix could be stripped. Checked against the parse by a property test.
pub(crate) fn e164_shortcut(canonical: &str) -> Shortcut<'_> {
    let Some(digits) = canonical.strip_prefix('+') else {
        return Shortcut::Unsure;
    };
    let Some((code, national, rules)) = (1..=3).find_map(|n| {
        let code: u16 = digits.get(..n)?.parse().ok()?;
        Some((code, digits.get(n..)?, regions(code)?))
    }) else {
        return Shortcut::Unsure;
    };
    // libphonenumber strips a national prefix even after a `+code` (`+261 0 32 ...`):
    // where one might apply, leave the number to its parse.
    if rules.iter().any(|r| r.may_strip_prefix(national)) {
        return Shortcut::Unsure;
    }
    if valid_parts(code, national) {
        Shortcut::Valid(code, national)
    } else {
        Shortcut::Invalid
    }
}

/// The shortcut's valid numbers only.
#[cfg(test)]
pub(crate) fn valid_e164(canonical: &str) -> Option<(u16, &str)> {
    match e164_shortcut(canonical) {
        Shortcut::Valid(c, n) => Some((c, n)),
        _ => None,
    }
}

/// The regions of a calling code, in the metadata's order, each compiled on first use.
fn regions(code: u16) -> Option<&'static [RegionRule]> {
    static CODES: LazyLock<Vec<OnceLock<Vec<RegionRule>>>> =
        LazyLock::new(|| (0..1000).map(|_| OnceLock::new()).collect());
    let rules = CODES.get(usize::from(code))?.get_or_init(|| {
        let ids = DATABASE.region(&code).unwrap_or_default();
        ids.iter()
            .filter_map(|id| match *id {
                // Non-geographic codes (+800, +979) are one entity each.
                "001" => DATABASE.by_code(&code)?.into_iter().next(),
                id => DATABASE.by_id(id),
            })
            .map(|meta| RegionRule {
                meta,
                leading: OnceLock::new(),
                national_prefix: OnceLock::new(),
                types: OnceLock::new(),
            })
            .collect()
    });
    (!rules.is_empty()).then_some(rules.as_slice())
}

struct RegionRule {
    meta: &'static Metadata,
    leading: OnceLock<Option<Prefix>>,
    /// `national_prefix_for_parsing`, anchored.
    national_prefix: OnceLock<Option<Prefix>>,
    types: OnceLock<Types>,
}

/// A region's number types (fixed line, mobile, ...) that it has. Any type makes a
/// number valid, so the common ones come first.
fn number_types(d: &Descriptors) -> impl Iterator<Item = &Descriptor> {
    [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
}

/// A region's general pattern and the patterns of its number types.
struct Types {
    general: Option<Pattern>,
    kinds: Vec<Pattern>,
}

struct Pattern {
    re: Prefix,
    lengths: &'static [u16],
}

impl Pattern {
    fn new(d: &'static Descriptor) -> Option<Pattern> {
        Some(Pattern {
            re: prefix_regex(d.national_number().as_str())?,
            lengths: d.possible_length(),
        })
    }

    /// phonenumber's `Descriptor::is_match`: a possible length, and a match at the start.
    fn is_match(&self, national: &str) -> bool {
        let len = u16::try_from(national.len()).unwrap_or(u16::MAX);
        (self.lengths.is_empty() || self.lengths.contains(&len)) && self.re.is_match(national)
    }
}

/// A metadata pattern matched at the start of a national number, as phonenumber matches
/// it (its leftmost match must start at 0: an anchored match). Compiled to a full DFA,
/// which needs no search cache, so threads share it freely; a pattern too large for one
/// keeps the regex engine.
enum Prefix {
    /// The DFA and its anchored start state (the same for every number: no look-behind).
    Dfa(Box<dense::DFA<Vec<u32>>>, StateID),
    Regex(Regex),
}

/// A DFA larger than this (or whose construction needs more) is not built.
const DFA_LIMIT: usize = 2 << 20;

/// The metadata writes its patterns with insignificant whitespace. National numbers are
/// ASCII digits, so `\d` need not take in every Unicode digit.
fn prefix_regex(pattern: &str) -> Option<Prefix> {
    let dfa = dense::Builder::new()
        .syntax(
            syntax::Config::new()
                .ignore_whitespace(true)
                .unicode(false)
                .utf8(false),
        )
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(DFA_LIMIT))
                .determinize_size_limit(Some(DFA_LIMIT)),
        )
        .build(pattern);
    let start = |dfa: &dense::DFA<Vec<u32>>| {
        dfa.start_state(&start::Config::new().anchored(Anchored::Yes))
            .ok()
    };
    match dfa {
        Ok(dfa) if let Some(start) = start(&dfa) => Some(Prefix::Dfa(Box::new(dfa), start)),
        _ => RegexBuilder::new(&format!("^(?:{pattern})"))
            .ignore_whitespace(true)
            .build()
            .ok()
            .map(Prefix::Regex),
    }
}

impl Prefix {
    fn is_match(&self, national: &str) -> bool {
        match self {
            // The DFA walked byte by byte (a search's set-up costs more than these few
            // digits): a match state is reached one byte after a match ends, or at the end.
            // It has no quit states: none are configured, and a pattern that would need
            // them (a Unicode word boundary) fails to build and keeps the regex engine.
            Prefix::Dfa(dfa, start) => {
                let mut state = *start;
                for &b in national.as_bytes() {
                    state = dfa.next_state(state, b);
                    if dfa.is_special_state(state) {
                        if dfa.is_match_state(state) {
                            return true;
                        }
                        if dfa.is_dead_state(state) {
                            return false;
                        }
                    }
                }
                dfa.is_match_state(dfa.next_eoi_state(state))
            }
            Prefix::Regex(re) => re.is_match(national),
        }
    }
}

impl RegionRule {
    /// Whether libphonenumber's parse could strip a national prefix from `national`.
    fn may_strip_prefix(&self, national: &str) -> bool {
        if self
            .meta
            .national_prefix()
            .is_some_and(|p| !p.is_empty() && national.starts_with(p))
        {
            return true;
        }
        let re = self.national_prefix.get_or_init(|| {
            self.meta
                .national_prefix_for_parsing()
                .and_then(|p| prefix_regex(p.as_str()))
        });
        // A pattern that cannot be compiled here might still apply: be safe.
        self.meta.national_prefix_for_parsing().is_some()
            && re.as_ref().is_none_or(|re| re.is_match(national))
    }

    /// Whether the number starts with the region's leading digits; None when it has none.
    fn leads(&self, national: &str) -> Option<bool> {
        let source = self.meta.leading_digits()?;
        let re = self.leading.get_or_init(|| prefix_regex(source.as_str()));
        Some(re.as_ref().is_some_and(|re| re.is_match(national)))
    }

    /// phonenumber's `number_type(..) != Unknown`: the general pattern and one type's.
    fn has_type(&self, national: &str) -> bool {
        let types = self.types.get_or_init(|| {
            let d = self.meta.descriptors();
            Types {
                general: Pattern::new(d.general()),
                kinds: number_types(d).filter_map(Pattern::new).collect(),
            }
        });
        types.general.as_ref().is_some_and(|g| g.is_match(national))
            && types.kinds.iter().any(|k| k.is_match(national))
    }
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    /// A region's example numbers, each prefix of them and each with one digit changed.
    fn samples(meta: &Metadata) -> Vec<String> {
        let d = meta.descriptors();
        let examples: Vec<&str> = [d.fixed_line(), d.mobile(), d.toll_free(), d.voip()]
            .into_iter()
            .flatten()
            .filter_map(|d| d.example())
            .collect();
        let mut all = Vec::new();
        for s in examples {
            for end in 0..=s.len() {
                all.push(s[..end].to_string());
            }
            for (i, b) in s.bytes().enumerate() {
                let mut v = s.as_bytes().to_vec();
                v[i] = b'0' + (b - b'0' + 3) % 10;
                all.push(String::from_utf8(v).expect("digits"));
            }
        }
        all
    }

    /// Every metadata pattern becomes a DFA (none falls back to the regex engine), and the
    /// DFA answers as the anchored regex does on its region's example numbers, every
    /// prefix of them and every one-digit change of them.
    #[test]
    fn every_metadata_pattern_is_a_dfa_that_agrees_with_the_regex() {
        let (mut checked, mut fallbacks) = (0, Vec::new());
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            let patterns = std::iter::once(d.general())
                .chain(number_types(d))
                .map(|d| d.national_number())
                .chain(meta.leading_digits())
                .chain(meta.national_prefix_for_parsing());
            let samples = samples(meta);
            for pattern in patterns {
                let pattern = pattern.as_str();
                let name = format!("{} /{pattern}/", meta.id());
                let prefix = prefix_regex(pattern).expect("compiles");
                if matches!(prefix, Prefix::Regex(_)) {
                    fallbacks.push(name.clone());
                }
                let re = RegexBuilder::new(&format!("^(?:{pattern})"))
                    .ignore_whitespace(true)
                    .build()
                    .expect("compiles");
                for s in &samples {
                    assert_eq!(prefix.is_match(s), re.is_match(s), "{name} on {s}");
                    checked += 1;
                }
            }
        }
        assert!(fallbacks.is_empty(), "kept as regexes: {fallbacks:?}");
        assert!(checked > 50_000, "only {checked} comparisons");
    }
}
