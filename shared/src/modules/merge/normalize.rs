//! What `normalized`, `similar` and the prefix comparisons compare: a value with case,
//! accents, punctuation and the noise of its kind removed (`ACME, Inc.` = `Acme`,
//! `(650) 253-0000` = `+16502530000`). Phones, emails, domains and countries go through
//! the transform module's parsers, so both modules agree on what a value is.

use icu_normalizer::DecomposingNormalizerBorrowed;
use serde::{Deserialize, Serialize};

use crate::modules::transform::names::is_mark;
use crate::modules::transform::phone::{self, Parsed, Region};
use crate::modules::transform::{Out, PhoneFormat, places, web};

/// How a comparison reads values (`"as"` in a comparison).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Normalizer {
    /// Lowercase, accents folded (`é` -> `e`, `ß` -> `ss`), apostrophes and dots dropped
    /// (`O'Brien` -> `obrien`), other punctuation and whitespace as single spaces.
    #[default]
    Text,
    /// `text` without spaces: `Mc Donald`, `McDonald` and `Mc-Donald` are one value.
    Compact,
    /// A person's name: `text` without honorifics (`Dr.`), generational and degree
    /// suffixes (`Jr.`, `PhD`) and middle initials, without spaces.
    Name,
    /// A first name as `name` reads it, common English nicknames read as the formal name
    /// (`Bob`, `Bobby`, `Rob` -> `robert`; `Liz`, `Beth` -> `elizabeth`).
    Nickname,
    /// A company name: `text` without a leading `the`, without `and`/`&`, and without
    /// trailing legal forms (Inc, LLC, Ltd, GmbH, SA, Pty Ltd, ...).
    Company,
    /// An email address, trimmed and lowercased (`mailto:` and `<>` removed),
    /// `googlemail.com` read as `gmail.com`; see `ignore_dots` and `ignore_plus`.
    Email,
    /// A phone number in E.164 (`+16502530000`), read with `default_region` or the region
    /// of the record's `region_field`. A value that is not a valid number is compared by
    /// its digits.
    Phone,
    /// A domain from a web address or an email: `https://www.Acme.com/x` and
    /// `bob@acme.com` -> `acme.com`.
    Domain,
    /// A country as its ISO alpha-2 code (`United States`, `USA`, `U.S.` -> `US`); text
    /// that names no country is compared as `text`.
    Country,
}

impl Normalizer {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// A normalizer with its options, ready to run. `Raw` is the `exact` comparison's: the
/// value as it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Norm {
    Raw,
    Text,
    Compact,
    Name,
    Nickname,
    Company,
    Email {
        dots: bool,
        plus: bool,
    },
    Phone {
        default: Option<Region>,
        /// Index (in the input's fields) of the field whose country sets the region.
        region_field: Option<usize>,
        /// Comparing only (scored matching): in a North American region, 10 digits (11
        /// with the leading 1) and separators are `+1` and the digits without validating
        /// the number, several times faster; two records' values compare as they would.
        quick: bool,
    },
    Domain,
    Country,
}

/// Per-thread buffers and caches, so normalizing a million values allocates little.
#[derive(Default)]
pub(crate) struct Scratch {
    buf: String,
    regions: std::collections::HashMap<String, Option<Region>>,
    /// Regions known to use a plain trunk zero, or not.
    trunks: Vec<(u16, String, bool)>,
}

impl Norm {
    /// Appends the normalized `value` to `out` (nothing for a value that normalizes to
    /// empty). `region` gives the record's region-field value for phones.
    pub(crate) fn apply(
        &self,
        value: &str,
        region: Option<&str>,
        out: &mut String,
        scratch: &mut Scratch,
    ) {
        match self {
            Norm::Raw => out.push_str(value),
            Norm::Text => text(value, out),
            Norm::Compact => compact(value, out),
            Norm::Name => {
                scratch.buf.clear();
                text(value, &mut scratch.buf);
                name_words(&scratch.buf, out);
            }
            Norm::Nickname => {
                scratch.buf.clear();
                text(value, &mut scratch.buf);
                let start = out.len();
                name_words(&scratch.buf, out);
                if let Some(formal) = NICKNAMES.get(&out[start..]) {
                    out.truncate(start);
                    out.push_str(formal);
                }
            }
            Norm::Company => {
                scratch.buf.clear();
                text(value, &mut scratch.buf);
                company_words(&scratch.buf, out);
            }
            Norm::Email { dots, plus } => email(value, *dots, *plus, out),
            Norm::Phone {
                default,
                region_field,
                quick,
            } => {
                let r = match (region_field, region) {
                    (Some(_), Some(country)) if !country.trim().is_empty() => {
                        region_of(country, &mut scratch.regions).or(*default)
                    }
                    _ => *default,
                };
                // Quick: a North American number's canonical form (`+1` and 10 digits).
                let nanp = quick
                    .then(|| phone::canonical(value, r))
                    .flatten()
                    .filter(|c| c.len() == 12 && c.starts_with("+1"));
                match nanp {
                    Some(c) => out.push_str(&c),
                    None => phone_e164(value, r, out, scratch),
                }
            }
            Norm::Domain => match web::domain(value) {
                Out::Set(host) => out.push_str(&host),
                Out::Same => out.push_str(value.trim()),
                Out::Problem(_) => {}
            },
            Norm::Country => match places::country(value) {
                Some(i) => out.push_str(places::COUNTRIES[i].0),
                None => text(value, out),
            },
        }
    }
}

/// Letters and digits pushed as words: one space between words, none at the ends.
struct Words<'a> {
    out: &'a mut String,
    start: usize,
    gap: bool,
}

impl<'a> Words<'a> {
    fn new(out: &'a mut String) -> Self {
        let start = out.len();
        Self {
            out,
            start,
            gap: false,
        }
    }

    fn push(&mut self, c: char) {
        if self.gap && self.out.len() > self.start {
            self.out.push(' ');
        }
        self.gap = false;
        self.out.push(c);
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push(c);
        }
    }

    fn gap(&mut self) {
        self.gap = true;
    }
}

/// Letters that Unicode decomposition leaves whole, spelled without their stroke or as
/// two letters (`ø` -> `o`, `æ` -> `ae`). Lowercase input.
fn special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'đ' | 'ð' => "d",
        'ł' => "l",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        'ŀ' => "l",
        _ => return None,
    })
}

/// Characters that join the letters around them: `O'Brien` -> `obrien`, `J.R.` -> `jr`.
fn joins(c: char) -> bool {
    matches!(
        c,
        '\'' | '.' | '`' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}'
    )
}

/// The `text` normalizer, appended to `out`.
pub(crate) fn text(value: &str, out: &mut String) {
    let mut w = Words::new(out);
    if value.is_ascii() {
        for b in value.bytes() {
            match b {
                b'a'..=b'z' | b'0'..=b'9' => w.push(char::from(b)),
                b'A'..=b'Z' => w.push(char::from(b + 32)),
                _ if joins(char::from(b)) => {}
                _ => w.gap(),
            }
        }
        return;
    }
    const NFD: DecomposingNormalizerBorrowed<'static> = DecomposingNormalizerBorrowed::new_nfd();
    for c in NFD.normalize_iter(value.chars()) {
        if c.is_ascii() {
            match c {
                'a'..='z' | '0'..='9' => w.push(c),
                'A'..='Z' => w.push(c.to_ascii_lowercase()),
                _ if joins(c) => {}
                _ => w.gap(),
            }
        } else if is_mark(c) || joins(c) {
            // An accent (decomposed from its letter) or an apostrophe: part of the word.
        } else if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                match special(l) {
                    Some(s) => w.push_str(s),
                    None if is_mark(l) => {}
                    None => w.push(l),
                }
            }
        } else {
            w.gap();
        }
    }
}

/// The `compact` normalizer: `text` without its spaces.
pub(crate) fn compact(value: &str, out: &mut String) {
    let start = out.len();
    text(value, out);
    if out[start..].contains(' ') {
        let joined: String = out[start..].split(' ').collect();
        out.truncate(start);
        out.push_str(&joined);
    }
}

const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr", "herr", "frau",
    "mme", "mlle", "m",
];
const NAME_SUFFIXES: &[&str] = &[
    "jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "cpa", "mba", "dds", "jd",
];

/// `text` words of a name without honorifics, suffixes and middle initials, joined.
fn name_words(words: &str, out: &mut String) {
    let mut list: Vec<&str> = words.split(' ').filter(|w| !w.is_empty()).collect();
    while list.len() > 1 && HONORIFICS.contains(&list[0]) {
        list.remove(0);
    }
    while list.len() > 1 && NAME_SUFFIXES.contains(&list[list.len() - 1]) {
        list.pop();
    }
    for (i, w) in list.iter().enumerate() {
        // A single letter after the first word is a middle initial (`John A.`).
        if i > 0 && w.chars().nth(1).is_none() {
            continue;
        }
        out.push_str(w);
    }
}

/// Formal first names and the nicknames and spellings that stand for them. A nickname
/// shared by several names (`Chris`, `Alex`, `Sam`) is listed under the commonest or not
/// at all, so that no two formal names become one.
const FORMAL_NAMES: &[(&str, &[&str])] = &[
    ("abigail", &["abby", "abbie", "gail"]),
    ("alexander", &["alex", "xander", "alec"]),
    ("alexandra", &["alexa", "lexi", "lexie"]),
    ("allison", &["alison", "allie"]),
    ("amanda", &["mandy"]),
    ("andrew", &["andy", "drew"]),
    ("angela", &["angie"]),
    ("anthony", &["tony", "antony"]),
    ("arthur", &["art", "artie"]),
    ("barbara", &["barb", "babs"]),
    ("benjamin", &["ben", "benny", "benji"]),
    ("bradley", &["brad"]),
    ("cassandra", &["cassie"]),
    ("charles", &["charlie", "chuck", "chas"]),
    ("christine", &["chrissy"]),
    ("christopher", &["chris", "kit", "topher"]),
    ("clifford", &["cliff"]),
    ("cynthia", &["cindy"]),
    ("daniel", &["dan", "danny"]),
    ("david", &["dave", "davey"]),
    ("deborah", &["deb", "debbie", "debra"]),
    ("dominic", &["dom", "dominick"]),
    ("donald", &["don", "donnie"]),
    ("dorothy", &["dot", "dottie"]),
    ("douglas", &["doug"]),
    ("edward", &["ed", "eddie", "ted", "teddy", "ned"]),
    ("eleanor", &["ellie", "nell", "nellie"]),
    (
        "elizabeth",
        &[
            "liz",
            "lizzie",
            "beth",
            "betty",
            "eliza",
            "libby",
            "betsy",
            "elisabeth",
        ],
    ),
    ("emily", &["em", "emmy"]),
    ("eugene", &["gene"]),
    ("florence", &["flo"]),
    ("frances", &["fran", "frannie"]),
    ("frederick", &["fred", "freddie", "freddy", "frederic"]),
    ("gabriel", &["gabe"]),
    ("gerald", &["gerry", "jerry"]),
    ("gregory", &["greg"]),
    ("gwendolyn", &["gwen"]),
    ("harold", &["hal"]),
    ("henry", &["hank", "harry"]),
    ("jacob", &["jake"]),
    ("jacqueline", &["jackie"]),
    ("james", &["jim", "jimmy", "jamie"]),
    ("jeffrey", &["jeff", "geoffrey", "geoff"]),
    ("jennifer", &["jen", "jenny", "jenn"]),
    ("jessica", &["jess", "jessie"]),
    ("john", &["jack", "johnny"]),
    ("jonathan", &["jon", "jonny"]),
    ("joseph", &["joe", "joey"]),
    ("josephine", &["josie", "jo"]),
    ("joshua", &["josh"]),
    ("judith", &["judy"]),
    (
        "katherine",
        &[
            "kate",
            "katie",
            "kathy",
            "kat",
            "kitty",
            "catherine",
            "kathryn",
            "cathy",
        ],
    ),
    ("kenneth", &["ken", "kenny"]),
    ("kimberly", &["kim"]),
    ("lawrence", &["larry", "laurence"]),
    ("leonard", &["len", "lenny"]),
    ("madeline", &["maddie", "maddy", "madeleine"]),
    ("margaret", &["maggie", "meg", "peggy", "marge", "margie"]),
    ("matthew", &["matt", "matty"]),
    ("maximilian", &["max"]),
    ("michael", &["mike", "mikey", "mick", "mickey"]),
    ("mitchell", &["mitch"]),
    ("nathan", &["nate"]),
    ("nicholas", &["nick", "nicky", "nico"]),
    ("nicole", &["nikki"]),
    ("oliver", &["ollie"]),
    ("pamela", &["pam"]),
    ("patricia", &["patty", "trish", "tricia"]),
    ("patrick", &["pat", "paddy"]),
    ("penelope", &["penny"]),
    ("peter", &["pete"]),
    ("philip", &["phil", "phillip"]),
    ("randall", &["randy"]),
    ("raymond", &["ray"]),
    ("rebecca", &["becky", "becca"]),
    ("richard", &["rick", "ricky", "rich", "richie", "dick"]),
    ("robert", &["bob", "bobby", "rob", "robbie", "bert"]),
    ("ronald", &["ron", "ronnie"]),
    ("russell", &["russ"]),
    ("samuel", &["sam", "sammy"]),
    ("sandra", &["sandy"]),
    ("sebastian", &["seb"]),
    ("stanley", &["stan"]),
    ("stephanie", &["steph"]),
    ("steven", &["steve", "stevie", "stephen"]),
    ("susan", &["sue", "susie", "suzy"]),
    ("teresa", &["tess", "terri", "theresa"]),
    ("terrence", &["terry", "terence"]),
    ("theodore", &["theo"]),
    ("thomas", &["tom", "tommy"]),
    ("timothy", &["tim", "timmy"]),
    ("valerie", &["val"]),
    ("victor", &["vic"]),
    ("victoria", &["vicky", "vickie", "tori"]),
    ("vincent", &["vince", "vinny"]),
    ("virginia", &["ginny"]),
    ("walter", &["walt", "wally"]),
    ("william", &["bill", "billy", "will", "willie", "liam"]),
    ("zachary", &["zach", "zack"]),
];

/// Nickname -> formal name.
/// The formal first name of a `name`-normalized nickname (`bob` -> `robert`).
pub(crate) fn formal(name: &str) -> Option<&'static str> {
    NICKNAMES.get(name).copied()
}

static NICKNAMES: std::sync::LazyLock<std::collections::HashMap<&'static str, &'static str>> =
    std::sync::LazyLock::new(|| {
        FORMAL_NAMES
            .iter()
            .flat_map(|(formal, nicks)| nicks.iter().map(move |n| (*n, *formal)))
            .collect()
    });

/// Legal forms, as `text` spells them (`S.A.` -> `sa`, `GmbH & Co. KG` -> `gmbh co kg`).
const LEGAL_FORMS: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "llc",
    "llp",
    "lp",
    "pllc",
    "ltd",
    "limited",
    "plc",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "ug",
    "ev",
    "se",
    "sa",
    "sas",
    "sarl",
    "sasu",
    "eurl",
    "cie",
    "srl",
    "spa",
    "sl",
    "bv",
    "nv",
    "pty",
    "oy",
    "ab",
    "as",
    "aps",
    "kk",
    "pte",
    "pvt",
];

/// `text` words of a company name without `the`, `and` and trailing legal forms.
fn company_words(words: &str, out: &mut String) {
    let mut list: Vec<&str> = words
        .split(' ')
        .filter(|w| !w.is_empty() && *w != "and")
        .collect();
    if list.len() > 1 && list[0] == "the" {
        list.remove(0);
    }
    while list.len() > 1 && LEGAL_FORMS.contains(&list[list.len() - 1]) {
        list.pop();
    }
    // `et cie`, `und co`: a connective left dangling before a stripped form.
    while list.len() > 1 && matches!(list[list.len() - 1], "et" | "und" | "y") {
        list.pop();
    }
    for (i, w) in list.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
}

/// The `email` normalizer. An address the syntax check refuses is still compared,
/// trimmed and lowercased.
fn email(value: &str, dots: bool, plus: bool, out: &mut String) {
    let lower = match web::email(value) {
        Out::Set(s) => s,
        Out::Same => value.trim().to_string(),
        Out::Problem(_) => crate::modules::transform::lowercase(value.trim()),
    };
    let Some((local, domain)) = lower.rsplit_once('@') else {
        out.push_str(&lower);
        return;
    };
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let local = match local.split_once('+') {
        Some((base, _)) if plus && !base.is_empty() => base,
        _ => local,
    };
    if dots && domain == "gmail.com" {
        out.extend(local.chars().filter(|&c| c != '.'));
    } else {
        out.push_str(local);
    }
    out.push('@');
    out.push_str(domain);
}

/// The region a country value names (`United Kingdom`, `GB`, `UK`), cached per value.
fn region_of(
    country: &str,
    cache: &mut std::collections::HashMap<String, Option<Region>>,
) -> Option<Region> {
    if let Some(r) = cache.get(country) {
        return *r;
    }
    let r = Region::of_country(country);
    if cache.len() < 10_000 {
        cache.insert(country.to_string(), r);
    }
    r
}

/// Whether numbers of `region` are dialled nationally with a plain `0` before the
/// national number (GB, DE, FR, AU, ...), which libphonenumber strips and nothing else.
fn plain_trunk_zero(region: Region, cache: &mut Vec<(u16, String, bool)>) -> bool {
    let code = region.id.as_ref();
    if let Some(&(_, _, plain)) = cache
        .iter()
        .find(|(c, id, _)| *c == region.calling_code && id == code)
    {
        return plain;
    }
    let plain = phonenumber::metadata::DATABASE
        .by_id(code)
        .is_some_and(|m| {
            m.national_prefix() == Some("0")
                && m.national_prefix_transform_rule().is_none()
                && m.national_prefix_for_parsing()
                    .is_none_or(|r| r.as_str() == "0")
        });
    cache.push((region.calling_code, code.to_string(), plain));
    plain
}

/// The value as `+<digits>` when it is written internationally (`+44 (0)20 ...` without
/// its bracketed trunk zero) or nationally with a plain trunk zero: libphonenumber reads
/// that form several times faster, and reads it as the same number. None when unsure.
fn international(value: &str, region: Option<Region>, scratch: &mut Scratch) -> Option<String> {
    let t = value.trim();
    let (body, plus) = match t.strip_prefix('+') {
        Some(rest) => (rest, true),
        None => (t, false),
    };
    let mut digits = String::with_capacity(16);
    let mut rest = body;
    if plus && let Some(i) = body.find("(0)") {
        // `+44 (0)20 ...`: a bracketed trunk zero, dropped only where it is one (the
        // record's own country, which dials a plain trunk zero).
        let code = body[..i].trim();
        let r = region?;
        if code != r.calling_code.to_string() || !plain_trunk_zero(r, &mut scratch.trunks) {
            return None;
        }
        digits.push_str(code);
        rest = &body[i + 3..];
    }
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return None,
        }
    }
    if plus {
        return Some(format!("+{digits}"));
    }
    let r = region?;
    let national = digits
        .strip_prefix('0')
        .filter(|d| d.len() >= 5 && !d.starts_with('0'))?;
    plain_trunk_zero(r, &mut scratch.trunks).then(|| format!("+{}{national}", r.calling_code))
}

/// E.164 when the value is a valid number; else its digits after a `#` (so it can never
/// equal a valid number), when it has at least 5; else nothing.
fn phone_e164(value: &str, region: Option<Region>, out: &mut String, scratch: &mut Scratch) {
    if value.trim().is_empty() {
        return;
    }
    let quick = international(value, region, scratch);
    let number = match quick.as_deref().map(|q| phone::parse(q, region)) {
        Some(Parsed::Number(n)) => Some(n),
        _ => match phone::parse(value, region) {
            Parsed::Number(n) => Some(n),
            _ => None,
        },
    };
    if let Some(n) = number
        && let Some(s) = phone::format(&n, PhoneFormat::E164, region)
    {
        out.push_str(&s);
        return;
    }
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 5 {
        out.push('#');
        out.extend(value.chars().filter(char::is_ascii_digit));
    }
}

/// The first `n` words of a normalized value (all of it when it has fewer).
pub(crate) fn first_words(v: &str, n: usize) -> &str {
    match v.match_indices(' ').nth(n.saturating_sub(1)) {
        Some((i, _)) if n > 0 => &v[..i],
        _ if n == 0 => "",
        _ => v,
    }
}

/// The first `n` characters of a value (all of it when it is shorter).
pub(crate) fn first_chars(v: &str, n: usize) -> &str {
    match v.char_indices().nth(n) {
        Some((i, _)) => &v[..i],
        None => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(norm: &Norm, v: &str) -> String {
        run_in(norm, v, None)
    }

    fn run_in(norm: &Norm, v: &str, region: Option<&str>) -> String {
        let mut out = String::new();
        norm.apply(v, region, &mut out, &mut Scratch::default());
        out
    }

    #[test]
    fn text_folds_case_accents_and_punctuation() {
        for (raw, want) in [
            ("  John   SMITH ", "john smith"),
            ("Zoë Ångström", "zoe angstrom"),
            ("O'Brien", "obrien"),
            ("O’Brien", "obrien"),
            ("Smith-Jones", "smith jones"),
            ("J.R.R. Tolkien", "jrr tolkien"),
            ("Straße", "strasse"),
            ("Søren Kierkegård", "soren kierkegard"),
            ("Łódź", "lodz"),
            ("ÆSIR", "aesir"),
            ("Nguyễn Thị", "nguyen thi"),
            ("e\u{301}cole", "ecole"),
            ("---", ""),
            ("", ""),
            ("Müller & Söhne, GmbH", "muller sohne gmbh"),
            ("Δημήτρης", "δημητρης"),
        ] {
            assert_eq!(run(&Norm::Text, raw), want, "{raw:?}");
        }
    }

    #[test]
    fn compact_drops_spaces() {
        assert_eq!(run(&Norm::Compact, "Mc Donald"), "mcdonald");
        assert_eq!(run(&Norm::Compact, "van der Berg"), "vanderberg");
        assert_eq!(run(&Norm::Compact, "Smith-Jones"), "smithjones");
    }

    #[test]
    fn names_lose_honorifics_suffixes_and_middle_initials() {
        for (raw, want) in [
            ("Dr. John A. Smith Jr.", "johnsmith"),
            ("John A", "john"),
            ("Mary Ann", "maryann"),
            ("Mr", "mr"),
            ("A. Smith", "asmith"),
            ("Ms. Zoë", "zoe"),
        ] {
            assert_eq!(run(&Norm::Name, raw), want, "{raw:?}");
        }
    }

    #[test]
    fn nicknames_read_as_formal_names() {
        for (raw, want) in [
            ("Bob", "robert"),
            ("BOBBY ", "robert"),
            ("Robert", "robert"),
            ("Dr. Liz A.", "elizabeth"),
            ("Stephen", "steven"),
            ("Zoë", "zoe"),
            ("Mary Ann", "maryann"),
        ] {
            assert_eq!(run(&Norm::Nickname, raw), want, "{raw:?}");
        }
        // Every nickname stands for one formal name, and no formal name is a nickname.
        let mut seen = std::collections::HashSet::new();
        for (formal, nicks) in FORMAL_NAMES {
            assert!(!NICKNAMES.contains_key(formal), "{formal}");
            for n in *nicks {
                assert!(seen.insert(*n), "{n} is listed twice");
            }
        }
    }

    #[test]
    fn companies_lose_legal_forms() {
        for (raw, want) in [
            ("Acme, Inc.", "acme"),
            ("ACME Inc", "acme"),
            ("Acme LLC", "acme"),
            ("The Acme Company", "acme"),
            ("Müller GmbH & Co. KG", "muller"),
            ("Dupont S.A.", "dupont"),
            ("Blue Harbor Pty. Ltd.", "blue harbor"),
            ("Smith & Sons", "smith sons"),
            ("Smith and Sons Ltd", "smith sons"),
            ("Inc", "inc"),
            ("Co", "co"),
        ] {
            assert_eq!(run(&Norm::Company, raw), want, "{raw:?}");
        }
    }

    #[test]
    fn emails_fold_case_gmail_dots_and_plus_tags() {
        let plain = Norm::Email {
            dots: false,
            plus: false,
        };
        let folded = Norm::Email {
            dots: true,
            plus: true,
        };
        assert_eq!(run(&plain, " Bob.Smith@Gmail.COM "), "bob.smith@gmail.com");
        assert_eq!(run(&plain, "mailto:bob@acme.com"), "bob@acme.com");
        assert_eq!(run(&plain, "bob@googlemail.com"), "bob@gmail.com");
        assert_eq!(run(&plain, "bob+crm@acme.com"), "bob+crm@acme.com");
        assert_eq!(
            run(&folded, "Bob.Smith+news@gmail.com"),
            "bobsmith@gmail.com"
        );
        assert_eq!(run(&folded, "b.o.b@googlemail.com"), "bob@gmail.com");
        // Dots matter outside Gmail.
        assert_eq!(run(&folded, "bob.smith+x@acme.com"), "bob.smith@acme.com");
        // Not an address, still comparable.
        assert_eq!(run(&folded, "Bob at Acme"), "bob at acme");
        assert_eq!(run(&folded, "+tag@acme.com"), "+tag@acme.com");
    }

    #[test]
    fn phones_become_e164() {
        let us = Norm::Phone {
            default: Region::parse("US"),
            region_field: None,
            quick: false,
        };
        for raw in [
            "(650) 253-0000",
            "650-253-0000",
            "+1 650 253 0000",
            "1-650-253-0000",
            "650.253.0000",
        ] {
            assert_eq!(run(&us, raw), "+16502530000", "{raw:?}");
        }
        // A number of another country, written internationally.
        assert_eq!(run(&us, "+44 20 7946 0958"), "+442079460958");
        // Not valid: compared by digits, never equal to a valid number.
        assert_eq!(run(&us, "555-0100"), "#5550100");
        assert_eq!(run(&us, "n/a"), "");
        assert_eq!(run(&us, ""), "");
        // The record's country decides national numbers.
        let by_country = Norm::Phone {
            default: Region::parse("US"),
            region_field: Some(0),
            quick: false,
        };
        assert_eq!(
            run_in(&by_country, "020 7946 0958", Some("United Kingdom")),
            "+442079460958"
        );
        assert_eq!(
            run_in(&by_country, "030 12345678", Some("DE")),
            "+493012345678"
        );
        assert_eq!(
            run_in(&by_country, "(650) 253-0000", Some("")),
            "+16502530000"
        );
        assert_eq!(
            run_in(&by_country, "(650) 253-0000", Some("Narnia")),
            "+16502530000"
        );
        for (raw, country, want) in [
            ("+44 (0)20 7946 0958", "GB", "+442079460958"),
            ("030/12345678", "Germany", "+493012345678"),
            ("01 23 45 67 89", "France", "+33123456789"),
            ("(02) 9876 5432", "Australia", "+61298765432"),
            ("06 1234 5678", "IT", "+390612345678"),
            ("0044 20 7946 0958", "GB", "+442079460958"),
        ] {
            assert_eq!(run_in(&by_country, raw, Some(country)), want, "{raw:?}");
        }
    }

    proptest::proptest! {
        /// The `+<digits>` shortcut reads a number exactly as libphonenumber's full parse
        /// of what was written: where the shortcut finds a valid number, so does the parse.
        #[test]
        fn the_international_shortcut_agrees_with_a_full_parse(
            region in proptest::sample::select(vec!["GB", "DE", "FR", "AU", "US", "IT", "NZ", "IE", "BR", "AR", "MX"]),
            text in "(\\+[1-9][0-9]{0,2} ?(\\(0\\))?)?0?[1-9][0-9]{1,3}[ /.-]?[0-9]{3,8}",
        ) {
            let r = Region::parse(region);
            let mut scratch = Scratch::default();
            if let Some(quick) = international(&text, r, &mut scratch)
                && let Parsed::Number(fast) = phone::parse(&quick, r)
            {
                let full = match phone::parse(&text, r) {
                    Parsed::Number(n) => phone::format(&n, PhoneFormat::E164, r),
                    _ => None,
                };
                proptest::prop_assert_eq!(phone::format(&fast, PhoneFormat::E164, r), full, "{} in {}", text, region);
            }
        }
    }

    #[test]
    fn domains_from_urls_and_emails() {
        for (raw, want) in [
            ("https://www.Acme.com/about", "acme.com"),
            ("acme.com", "acme.com"),
            ("bob@acme.com", "acme.com"),
            ("http://www.acme.co.uk:8080", "acme.co.uk"),
            ("not a site", ""),
        ] {
            assert_eq!(run(&Norm::Domain, raw), want, "{raw:?}");
        }
    }

    #[test]
    fn countries_become_codes() {
        for (raw, want) in [
            ("United States", "US"),
            ("usa", "US"),
            ("U.S.", "US"),
            ("Deutschland", "DE"),
            ("Atlantis Prime", "atlantis prime"),
        ] {
            assert_eq!(run(&Norm::Country, raw), want, "{raw:?}");
        }
    }

    #[test]
    fn raw_keeps_the_value() {
        assert_eq!(run(&Norm::Raw, " A b "), " A b ");
    }

    #[test]
    fn prefixes_by_words_and_characters() {
        assert_eq!(first_words("john a smith", 1), "john");
        assert_eq!(first_words("john a smith", 2), "john a");
        assert_eq!(first_words("john", 3), "john");
        assert_eq!(first_chars("zoë", 2), "zo");
        assert_eq!(first_chars("zoë", 3), "zoë");
        assert_eq!(first_chars("al", 4), "al");
    }
}
