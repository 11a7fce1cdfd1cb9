//! What a person-record matcher compares beyond the CRM basics — date of birth, postcode,
//! street address — the harder duplicate errors on them (transposed digits, swapped names,
//! a missing birth date, a replaced first name, a street written another way), and true
//! households: distinct people sharing an address, a last name and often a home phone.
//!
//! Everything here draws from its own seeded stream and runs after the records of the
//! older generator are made, so the fields it does not touch keep their values for a seed.

use super::geo::{Cc, PLACES, Place};
use super::names::{FIRST_NAMES, LAST_NAMES};
use super::rnd::{Rand, below, chance, pick, weighted};
use super::{CLOSE_DATE_ANCHOR, Person, civil_string, days_from_civil, text};

/// Mixed into the seed of the second stream (so it never mirrors the first).
const STREAM: u64 = 0x9e37_79b9_7f4a_7c15;

/// Share of originals with a date of birth on their record.
pub const DOB_PRESENT: f64 = 0.85;
/// Share of originals with a street address (and, mostly, a postcode).
pub const ADDRESS_PRESENT: f64 = 0.8;
/// Share of people (originals without duplicates or leads) who join another person's
/// household: a second person at the same address.
pub const HOUSEHOLD_SHARE: f64 = 0.06;
/// Share of households that share their home phone too.
pub const HOUSEHOLD_PHONE: f64 = 0.6;

/// The duplicate errors added here, applied to contacts' duplicates on top of the older
/// edits, each independently at its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Two adjacent digits swapped in the phone, postcode or date of birth (for the date
    /// sometimes day and month swapped).
    Transposed,
    /// First and last name swapped.
    NamesSwapped,
    /// Date of birth left out.
    MissingDob,
    /// A different first name (entry error, a middle name used): address and email or
    /// phone still agree.
    ReplacedFirstName,
    /// The street written another way (`Street` ↔ `St`, `Straße` ↔ `Str.`, case).
    StreetForm,
}

pub const ERRORS: usize = 5;

pub const ALL_ERRORS: [Error; ERRORS] = [
    Error::Transposed,
    Error::NamesSwapped,
    Error::MissingDob,
    Error::ReplacedFirstName,
    Error::StreetForm,
];

impl Error {
    /// Share of contact duplicates that get this error.
    pub fn share(self) -> f64 {
        match self {
            Error::Transposed => 0.10,
            Error::NamesSwapped => 0.04,
            Error::MissingDob => 0.10,
            Error::ReplacedFirstName => 0.04,
            Error::StreetForm => 0.08,
        }
    }
}

/// The second stream and how often each error was applied.
pub struct Extra {
    pub rng: Rand,
    pub tally: [u64; ERRORS],
    /// Duplicates that were offered the errors (the denominator of the shares).
    pub offered: u64,
}

impl Extra {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rand::new(seed ^ STREAM),
            tally: [0; ERRORS],
            offered: 0,
        }
    }
}

/// What every record of one person carries (before errors).
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub dob: Option<String>,
    pub postcode: Option<String>,
    pub address: Option<String>,
}

/// A new person's date of birth, postcode and street address at `place`.
pub fn identity(rng: &mut Rand, place: usize) -> Identity {
    let pl = PLACES.get(place).unwrap_or(&PLACES[0]);
    let dob = chance(rng, DOB_PRESENT).then(|| birth_date(rng));
    let (postcode, address) = if chance(rng, ADDRESS_PRESENT) {
        let code = chance(rng, 0.95).then(|| postcode(rng, pl));
        (code, Some(street_address(rng, pl.cc)))
    } else {
        // A postcode alone (a form that asked only for it) now and then.
        (chance(rng, 0.15).then(|| postcode(rng, pl)), None)
    };
    Identity {
        dob,
        postcode,
        address,
    }
}

pub fn apply(rec: &mut Person, id: &Identity) {
    rec.date_of_birth = id.dob.clone();
    rec.postcode = id.postcode.clone();
    rec.address = id.address.clone();
}

/// Someone aged 18 to 80 at the generator's anchor day.
fn birth_date(rng: &mut Rand) -> String {
    let anchor = days_from_civil(
        CLOSE_DATE_ANCHOR.0,
        CLOSE_DATE_ANCHOR.1,
        CLOSE_DATE_ANCHOR.2,
    );
    let age_days = 18 * 365 + below(rng, 62 * 365) as i64;
    civil_string(anchor - age_days)
}

/// A postcode in the country's format; the leading part follows the city, so people of
/// one city share it as they do in real data.
fn postcode(rng: &mut Rand, pl: &Place) -> String {
    let h = pl.city.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    let digit = |rng: &mut Rand| char::from(b'0' + below(rng, 10) as u8);
    let letter = |rng: &mut Rand| char::from(b'A' + below(rng, 26) as u8);
    match pl.cc {
        Cc::Us | Cc::De | Cc::Fr => {
            // Three digits from the city, two of the district.
            let lead = 100 + h % 900;
            format!("{lead:03}{}{}", digit(rng), digit(rng))
        }
        Cc::Au => format!("{}{}{}", 2 + h % 7, (h / 7) % 10, 10 + below(rng, 90)),
        Cc::Ca => {
            let l1 = char::from(b'A' + (h % 26) as u8);
            let d1 = char::from(b'0' + ((h / 26) % 10) as u8);
            format!(
                "{l1}{d1}{} {}{}{}",
                letter(rng),
                digit(rng),
                letter(rng),
                digit(rng)
            )
        }
        Cc::Gb => {
            let city: Vec<char> = pl
                .city
                .chars()
                .filter(char::is_ascii_alphabetic)
                .map(|c| c.to_ascii_uppercase())
                .collect();
            let area: String = city.iter().take(2).collect();
            format!(
                "{area}{} {}{}{}",
                1 + below(rng, 20),
                digit(rng),
                letter(rng),
                letter(rng)
            )
        }
    }
}

const STREETS: &[&str] = &[
    "Main",
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Church",
    "High",
    "Park",
    "Lake",
    "Hill",
    "Washington",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Franklin",
    "Highland",
    "Sunset",
    "River",
    "Mill",
    "Spring",
    "Forest",
    "Meadow",
    "Ridge",
    "Valley",
    "Victoria",
    "King",
    "Queen",
    "Station",
    "Garden",
    "Chestnut",
    "Walnut",
    "Willow",
    "Birch",
    "Grove",
    "Orchard",
    "Bridge",
    "Market",
    "School",
    "Union",
];
const STREET_KINDS: &[(&str, u32)] = &[
    ("Street", 30),
    ("St", 20),
    ("Avenue", 12),
    ("Ave", 10),
    ("Road", 10),
    ("Rd", 6),
    ("Lane", 4),
    ("Drive", 4),
    ("Dr", 2),
    ("Boulevard", 2),
];
const DE_STREETS: &[&str] = &[
    "Haupt",
    "Bahnhof",
    "Garten",
    "Schul",
    "Dorf",
    "Berg",
    "Wald",
    "Ring",
    "Linden",
    "Kirch",
    "Mühlen",
    "Goethe",
    "Schiller",
    "Friedrich",
    "Rosen",
    "Birken",
];
const FR_STREETS: &[&str] = &[
    "de la République",
    "Victor Hugo",
    "de la Gare",
    "Jean Jaurès",
    "Pasteur",
    "de l'Église",
    "du Moulin",
    "Gambetta",
    "des Écoles",
    "Nationale",
];

fn street_address(rng: &mut Rand, cc: Cc) -> String {
    let number = 1 + below(rng, 400);
    match cc {
        Cc::De => {
            let kind = *pick(rng, &["straße", "weg", "allee"]);
            format!("{}{kind} {number}", pick(rng, DE_STREETS))
        }
        Cc::Fr => {
            let kind = *pick(rng, &["rue", "avenue", "boulevard"]);
            format!("{number} {kind} {}", pick(rng, FR_STREETS))
        }
        _ => {
            // Some streets are named after people (last names), most after things.
            let name = if chance(rng, 0.3) {
                *pick(rng, LAST_NAMES)
            } else {
                *pick(rng, STREETS)
            };
            let kind = weighted(rng, STREET_KINDS);
            let unit = chance(rng, 0.1).then(|| format!(", Apt {}", 1 + below(rng, 40)));
            format!("{number} {name} {kind}{}", unit.unwrap_or_default())
        }
    }
}

/// Applies each error at its share to a contact's duplicate; `first` is the index of the
/// person's formal first name. Returns the errors applied.
pub fn dirty(x: &mut Extra, rec: &mut Person, first: usize) -> Vec<Error> {
    x.offered += 1;
    let mut done = Vec::new();
    for e in ALL_ERRORS {
        if chance(&mut x.rng, e.share()) && error(&mut x.rng, rec, first, e) {
            x.tally[e as usize] += 1;
            done.push(e);
        }
    }
    done
}

fn error(rng: &mut Rand, rec: &mut Person, first: usize, e: Error) -> bool {
    match e {
        Error::Transposed => {
            let fields: Vec<u8> = [
                (0, rec.phone.is_some()),
                (1, rec.postcode.is_some()),
                (2, rec.date_of_birth.is_some()),
            ]
            .iter()
            .filter(|(_, present)| *present)
            .map(|(f, _)| *f)
            .collect();
            if fields.is_empty() {
                return false;
            }
            match *pick(rng, &fields) {
                0 => transpose_in(rng, &mut rec.phone, 4),
                1 => transpose_in(rng, &mut rec.postcode, usize::MAX),
                _ => transpose_date(rng, &mut rec.date_of_birth),
            }
        }
        Error::NamesSwapped => {
            if rec.first_name.is_none()
                || rec.last_name.is_none()
                || rec.first_name == rec.last_name
            {
                return false;
            }
            std::mem::swap(&mut rec.first_name, &mut rec.last_name);
            true
        }
        Error::MissingDob => rec.date_of_birth.take().is_some(),
        Error::ReplacedFirstName => {
            // Only where something else still ties the record to the person.
            let anchored = rec.address.is_some() && (rec.email.is_some() || rec.phone.is_some());
            if !anchored || rec.first_name.is_none() {
                return false;
            }
            let own = FIRST_NAMES.get(first).map_or("", |f| f.0);
            let other = loop {
                let (f, _) = *pick(rng, FIRST_NAMES);
                if f != own {
                    break f;
                }
            };
            rec.first_name = Some(other.to_string());
            true
        }
        Error::StreetForm => match rec.address.as_deref().and_then(|a| restreet(rng, a)) {
            Some(v) => {
                rec.address = Some(v);
                true
            }
            None => false,
        },
    }
}

/// Swaps two adjacent, different digits among the last `tail` digits of `field`.
fn transpose_in(rng: &mut Rand, field: &mut Option<String>, tail: usize) -> bool {
    let Some(cur) = field.as_deref() else {
        return false;
    };
    let mut chars: Vec<char> = cur.chars().collect();
    let digits: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_ascii_digit())
        .collect();
    let from = digits.len().saturating_sub(tail);
    let spots: Vec<usize> = (from..digits.len().saturating_sub(1))
        .filter(|&k| digits[k + 1] == digits[k] + 1 && chars[digits[k]] != chars[digits[k + 1]])
        .collect();
    if spots.is_empty() {
        return false;
    }
    let k = *pick(rng, &spots);
    chars.swap(digits[k], digits[k + 1]);
    *field = Some(chars.into_iter().collect());
    true
}

/// A date typed with two adjacent digits swapped (`1985` → `1958`, `12` → `21`), or day
/// and month swapped; always a real date, never the same one.
fn transpose_date(rng: &mut Rand, field: &mut Option<String>) -> bool {
    let Some(cur) = field.clone() else {
        return false;
    };
    let valid = |s: &str| -> bool {
        let p: Vec<&str> = s.split('-').collect();
        let (Some(y), Some(m), Some(d)) = (
            p.first().and_then(|v| v.parse::<i64>().ok()),
            p.get(1).and_then(|v| v.parse::<u32>().ok()),
            p.get(2).and_then(|v| v.parse::<u32>().ok()),
        ) else {
            return false;
        };
        (1900..=2026).contains(&y)
            && (1..=12).contains(&m)
            && d >= 1
            && civil_string(days_from_civil(y, m, d)) == s
    };
    if chance(rng, 0.3)
        && let [y, m, d] = cur.split('-').collect::<Vec<_>>()[..]
    {
        let swapped = format!("{y}-{d}-{m}");
        if swapped != cur && valid(&swapped) {
            *field = Some(swapped);
            return true;
        }
    }
    for _ in 0..8 {
        let mut v = Some(cur.clone());
        if transpose_in(rng, &mut v, usize::MAX)
            && let Some(s) = v.filter(|s| valid(s))
        {
            *field = Some(s);
            return true;
        }
    }
    false
}

/// The street written another way: its kind abbreviated or spelled out, or another case.
fn restreet(rng: &mut Rand, a: &str) -> Option<String> {
    const PAIRS: &[(&str, &str)] = &[
        (" Street", " St"),
        (" Avenue", " Ave"),
        (" Road", " Rd"),
        (" Drive", " Dr"),
        (" Boulevard", " Blvd"),
        (" Lane", " Ln"),
        ("straße", "str."),
        ("rue ", "r. "),
        ("avenue ", "av. "),
        ("boulevard ", "bd "),
    ];
    for (long, short) in PAIRS {
        // Whole words only: " St" must not match " Street".
        let ends = |s: &str, w: &str| {
            s.find(w).filter(|&i| {
                let after = s[i + w.len()..].chars().next();
                after.is_none_or(|c| !c.is_alphanumeric()) || w.ends_with(' ') || w.ends_with('.')
            })
        };
        if let Some(i) = ends(a, long) {
            return Some(format!("{}{short}{}", &a[..i], &a[i + long.len()..]));
        }
        if let Some(i) = ends(a, short) {
            return Some(format!("{}{long}{}", &a[..i], &a[i + short.len()..]));
        }
    }
    let v = if chance(rng, 0.5) {
        a.to_uppercase()
    } else {
        text::title_case(&a.to_lowercase())
    };
    (v != a).then_some(v)
}

/// The household member's record: `head`'s last name, address, postcode and city (state
/// and country as written there), often its phone; the email follows the new last name
/// where it was made from the old one (`claim` takes an address if no one has it).
pub fn join_household(
    rng: &mut Rand,
    member: &mut Person,
    head: &Person,
    head_id: &Identity,
    mut claim: impl FnMut(&str) -> bool,
) {
    let old_last = member.last_name.clone().unwrap_or_default();
    member.last_name = head.last_name.clone();
    member.address = head_id.address.clone();
    member.postcode = head_id.postcode.clone();
    member.city = head.city.clone();
    member.state = head.state.clone();
    member.country = head.country.clone();
    if chance(rng, HOUSEHOLD_PHONE) && head.phone.is_some() {
        member.phone = head.phone.clone();
    }
    let (old, new) = (
        text::slug(&old_last),
        text::slug(head.last_name.as_deref().unwrap_or("")),
    );
    if let Some(e) = member.email.clone()
        && !old.is_empty()
        && !new.is_empty()
        && let Some((local, domain)) = e.split_once('@')
        && local.to_lowercase().contains(&old)
    {
        let v = format!("{}@{domain}", local.to_lowercase().replacen(&old, &new, 1));
        if claim(&v) {
            member.email = Some(v);
        }
    }
}

/// The same values in every field (keys, owners and dates aside).
pub fn same_record(a: &Person, b: &Person) -> bool {
    super::edits::same_person(a, b)
        && a.date_of_birth == b.date_of_birth
        && a.postcode == b.postcode
        && a.address == b.address
}
