//! The edits that make a duplicate: each changes one field of a copy of an earlier record
//! the way a second data entry, an import or a form fill would, and is counted per kind.

use super::geo::{PLACES, Place, country};
use super::names::FIRST_NAMES;
use super::phone::{self, PhoneNum};
use super::rnd::{Rand, below, chance, pick, weighted};
use super::seen::{self, Seen};
use super::text::{self, alt_suffix, fold, join_suffix, recase, respace, split_suffix, typo};
use super::words::{FREE_MAIL, PLUS_TAGS, TITLES};
use super::{Company, Person};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    NameCase,
    Whitespace,
    NameTypo,
    Nickname,
    MiddleInitial,
    NameAccent,
    NameSwap,
    PhoneFormat,
    CountryForm,
    StateForm,
    CityForm,
    EmailCase,
    EmailVariant,
    EmailTypo,
    CompanyForm,
    TitleForm,
    Blank,
    Suffix,
    AndThe,
    DomainForm,
}

pub const EDIT_KINDS: usize = 20;

#[cfg(test)]
pub const ALL_EDITS: [Edit; EDIT_KINDS] = [
    Edit::NameCase,
    Edit::Whitespace,
    Edit::NameTypo,
    Edit::Nickname,
    Edit::MiddleInitial,
    Edit::NameAccent,
    Edit::NameSwap,
    Edit::PhoneFormat,
    Edit::CountryForm,
    Edit::StateForm,
    Edit::CityForm,
    Edit::EmailCase,
    Edit::EmailVariant,
    Edit::EmailTypo,
    Edit::CompanyForm,
    Edit::TitleForm,
    Edit::Blank,
    Edit::Suffix,
    Edit::AndThe,
    Edit::DomainForm,
];

#[cfg(test)]
impl Edit {
    pub fn name(self) -> &'static str {
        match self {
            Edit::NameCase => "name case",
            Edit::Whitespace => "extra whitespace",
            Edit::NameTypo => "typo",
            Edit::Nickname => "nickname",
            Edit::MiddleInitial => "middle initial",
            Edit::NameAccent => "accents/punctuation dropped",
            Edit::NameSwap => "first/last swapped",
            Edit::PhoneFormat => "phone format",
            Edit::CountryForm => "country form",
            Edit::StateForm => "state form",
            Edit::CityForm => "city form",
            Edit::EmailCase => "email case",
            Edit::EmailVariant => "email variant (dots, +tag, other address)",
            Edit::EmailTypo => "email typo",
            Edit::CompanyForm => "company written differently",
            Edit::TitleForm => "job title spelling",
            Edit::Blank => "field blanked",
            Edit::Suffix => "company suffix",
            Edit::AndThe => "&/and, The",
            Edit::DomainForm => "website form",
        }
    }
}

/// Edits to people, weighted by how often they happen in real duplicate contacts.
const PERSON_EDITS: &[(Edit, u32)] = &[
    (Edit::NameCase, 12),
    (Edit::Whitespace, 7),
    (Edit::NameTypo, 15),
    (Edit::Nickname, 16),
    (Edit::MiddleInitial, 3),
    (Edit::NameAccent, 3),
    (Edit::NameSwap, 2),
    (Edit::PhoneFormat, 12),
    (Edit::CountryForm, 6),
    (Edit::StateForm, 5),
    (Edit::CityForm, 2),
    (Edit::EmailCase, 5),
    (Edit::EmailVariant, 7),
    (Edit::EmailTypo, 2),
    (Edit::CompanyForm, 5),
    (Edit::TitleForm, 3),
    (Edit::Blank, 8),
];

const COMPANY_EDITS: &[(Edit, u32)] = &[
    (Edit::NameCase, 12),
    (Edit::Whitespace, 7),
    (Edit::NameTypo, 14),
    (Edit::Suffix, 18),
    (Edit::AndThe, 4),
    (Edit::DomainForm, 14),
    (Edit::PhoneFormat, 10),
    (Edit::CountryForm, 7),
    (Edit::StateForm, 5),
    (Edit::CityForm, 2),
    (Edit::Blank, 9),
];

/// What the generator knows about a person beyond the record (shared by its duplicates).
#[derive(Debug, Clone)]
pub struct PersonMeta {
    pub first: usize,
    pub last: String,
    pub place: usize,
    pub phone: Option<PhoneNum>,
    pub title: Option<usize>,
    pub company: Option<String>,
    pub work_domain: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CompanyMeta {
    pub place: usize,
    pub phone: Option<PhoneNum>,
    pub domain: String,
}

/// Generation state: the one RNG, emails in use (compared lowercased, so no two entities
/// share an address), and how often each edit was applied to people (and leads) and to
/// companies.
pub struct Env {
    pub rng: Rand,
    pub emails: Seen,
    pub tally: [[u64; EDIT_KINDS]; 2],
}

fn place(i: usize) -> &'static Place {
    PLACES.get(i).unwrap_or(&PLACES[0])
}

/// How many edits a duplicate gets: mostly one, some two or three.
pub fn edit_count(rng: &mut Rand) -> usize {
    match below(rng, 100) {
        0..50 => 1,
        50..85 => 2,
        _ => 3,
    }
}

/// Turns `rec` (a copy of an earlier record of the same person) into a duplicate with `n`
/// distinct edits, and makes sure it ends up different from every record in `others`.
pub fn dirty_person(
    env: &mut Env,
    rec: &mut Person,
    meta: &PersonMeta,
    lead: bool,
    n: usize,
    others: &[&Person],
) {
    let mut done: Vec<Edit> = Vec::with_capacity(3);
    let mut tries = 0;
    while (done.len() < n || others.iter().any(|o| same_person(o, rec))) && tries < 40 {
        tries += 1;
        let edit = *weighted(&mut env.rng, PERSON_EDITS);
        if done.contains(&edit) {
            continue;
        }
        if person_edit(env, rec, meta, lead, edit) {
            env.tally[0][edit as usize] += 1;
            done.push(edit);
        }
    }
    // Last resort (never seen in practice): a trailing space no other copy has.
    while others.iter().any(|o| same_person(o, rec)) {
        let last = rec.last_name.get_or_insert_with(String::new);
        last.push(' ');
    }
}

pub fn dirty_company(
    env: &mut Env,
    rec: &mut Company,
    meta: &CompanyMeta,
    n: usize,
    others: &[&Company],
) {
    let mut done: Vec<Edit> = Vec::with_capacity(3);
    let mut tries = 0;
    while (done.len() < n || others.iter().any(|o| same_company(o, rec))) && tries < 40 {
        tries += 1;
        let edit = *weighted(&mut env.rng, COMPANY_EDITS);
        if done.contains(&edit) {
            continue;
        }
        if company_edit(env, rec, meta, edit) {
            env.tally[1][edit as usize] += 1;
            done.push(edit);
        }
    }
    while others.iter().any(|o| same_company(o, rec)) {
        let name = rec.name.get_or_insert_with(String::new);
        name.push(' ');
    }
}

/// Same field values (keys, owners and dates aside).
pub fn same_person(a: &Person, b: &Person) -> bool {
    a.first_name == b.first_name
        && a.last_name == b.last_name
        && a.email == b.email
        && a.phone == b.phone
        && a.company == b.company
        && a.job_title == b.job_title
        && a.city == b.city
        && a.state == b.state
        && a.country == b.country
}

pub fn same_company(a: &Company, b: &Company) -> bool {
    a.name == b.name
        && a.domain == b.domain
        && a.phone == b.phone
        && a.city == b.city
        && a.state == b.state
        && a.country == b.country
        && a.industry == b.industry
}

/// Sets `field` to `v` if that changes it.
fn set(field: &mut Option<String>, v: String) -> bool {
    if field.as_deref() == Some(v.as_str()) {
        return false;
    }
    *field = Some(v);
    true
}

fn person_edit(env: &mut Env, rec: &mut Person, meta: &PersonMeta, lead: bool, edit: Edit) -> bool {
    let rng = &mut env.rng;
    let pl = place(meta.place);
    match edit {
        Edit::NameCase => {
            let (first, last) = match below(rng, 10) {
                0..3 => (true, false),
                3..6 => (false, true),
                _ => (true, true),
            };
            let mut changed = false;
            if first && let Some(v) = rec.first_name.as_deref().and_then(|s| recase(rng, s)) {
                changed |= set(&mut rec.first_name, v);
            }
            if last && let Some(v) = rec.last_name.as_deref().and_then(|s| recase(rng, s)) {
                changed |= set(&mut rec.last_name, v);
            }
            changed
        }
        Edit::Whitespace => {
            let field = match *weighted(rng, &[(0, 35), (1, 35), (2, 15), (3, 10), (4, 5)]) {
                0 => &mut rec.first_name,
                1 => &mut rec.last_name,
                2 => &mut rec.company,
                3 => &mut rec.job_title,
                _ => &mut rec.city,
            };
            match field.as_deref() {
                Some(s) if !s.is_empty() => {
                    let v = respace(rng, s);
                    set(field, v)
                }
                _ => false,
            }
        }
        Edit::NameTypo => {
            let field = if chance(rng, 0.45) {
                &mut rec.first_name
            } else {
                &mut rec.last_name
            };
            match field.as_deref().and_then(|s| typo(rng, s)) {
                Some((v, _)) => set(field, v),
                None => false,
            }
        }
        Edit::Nickname => {
            let Some(cur) = rec.first_name.as_deref() else {
                return false;
            };
            let Some(&(formal, nicks)) = FIRST_NAMES.get(meta.first) else {
                return false;
            };
            if nicks.is_empty() {
                return false;
            }
            let v = if cur.trim().eq_ignore_ascii_case(formal) {
                (*pick(rng, nicks)).to_string()
            } else if chance(rng, 0.7) {
                formal.to_string()
            } else {
                (*pick(rng, nicks)).to_string()
            };
            set(&mut rec.first_name, v)
        }
        Edit::MiddleInitial => {
            let Some(cur) = rec.first_name.as_deref() else {
                return false;
            };
            if cur.contains(' ') {
                return false;
            }
            let initial = char::from(b'A' + below(rng, 26) as u8);
            let v = if chance(rng, 0.6) {
                format!("{cur} {initial}.")
            } else {
                format!("{cur} {initial}")
            };
            set(&mut rec.first_name, v)
        }
        Edit::NameAccent => {
            let mut changed = false;
            for field in [&mut rec.first_name, &mut rec.last_name] {
                let Some(cur) = field.as_deref() else {
                    continue;
                };
                let v = if !cur.is_ascii() {
                    fold(cur, chance(rng, 0.5))
                } else if cur.contains('\'') {
                    match below(rng, 3) {
                        0 => cur.replace('\'', ""),
                        1 => cur.replace('\'', " "),
                        _ => cur.replace('\'', "’"),
                    }
                } else if cur.contains('-') {
                    if chance(rng, 0.5) {
                        cur.replace('-', " ")
                    } else {
                        cur.replace('-', "")
                    }
                } else if cur.contains(' ') && cur.starts_with(|c: char| c.is_lowercase()) {
                    // "van der Berg" -> "Vanderberg" / "Van der Berg".
                    if chance(rng, 0.5) {
                        text::title_case(&cur.replace(' ', "").to_lowercase())
                    } else {
                        let mut c = cur.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect())
                            .unwrap_or_default()
                    }
                } else if let Some(rest) =
                    cur.strip_prefix("Mc").or_else(|| cur.strip_prefix("Mac"))
                {
                    // "McDonald" -> "Mc Donald".
                    let prefix = &cur[..cur.len() - rest.len()];
                    format!("{prefix} {rest}")
                } else {
                    continue;
                };
                changed |= set(field, v);
            }
            changed
        }
        Edit::NameSwap => {
            if rec.first_name.is_none() || rec.last_name.is_none() {
                return false;
            }
            std::mem::swap(&mut rec.first_name, &mut rec.last_name);
            rec.first_name != rec.last_name
        }
        Edit::PhoneFormat => rephone(rng, meta.phone.as_ref(), &mut rec.phone),
        Edit::CountryForm => reform(rng, &mut rec.country, country(pl.cc).forms),
        Edit::StateForm => restate(rng, &mut rec.state, pl),
        Edit::CityForm => recity(rng, &mut rec.city, pl),
        Edit::EmailCase => {
            let Some(cur) = rec.email.as_deref() else {
                return false;
            };
            let Some((local, domain)) = cur.split_once('@') else {
                return false;
            };
            let v = match below(rng, 3) {
                0 => cur.to_uppercase(),
                1 => format!(
                    "{}@{domain}",
                    text::title_case(&local.replace('.', ". ")).replace(". ", ".")
                ),
                _ => format!("{local}@{}", domain.to_uppercase()),
            };
            set(&mut rec.email, v)
        }
        Edit::EmailVariant => {
            let Some(cur) = rec.email.clone() else {
                return false;
            };
            let Some((local, domain)) = cur.split_once('@') else {
                return false;
            };
            let gmail = domain.eq_ignore_ascii_case("gmail.com")
                || domain.eq_ignore_ascii_case("googlemail.com");
            let r = below(rng, 100);
            let v = if gmail && r < 50 {
                format!("{}@{domain}", text::toggle_dots(rng, local))
            } else if gmail && r < 65 {
                let other = if domain.eq_ignore_ascii_case("gmail.com") {
                    "googlemail.com"
                } else {
                    "gmail.com"
                };
                format!("{local}@{other}")
            } else if r < 55 || local.contains('+') {
                let base = local.split('+').next().unwrap_or(local);
                format!("{base}+{}@{domain}", pick(rng, PLUS_TAGS))
            } else {
                // The same person's other address: personal instead of work, or back.
                let first = slug(FIRST_NAMES.get(meta.first).map_or("", |f| f.0));
                let last = slug(&meta.last);
                let personal = FREE_MAIL
                    .iter()
                    .any(|(d, _)| d.eq_ignore_ascii_case(domain));
                match (&meta.work_domain, personal) {
                    (Some(work), true) => format!("{first}.{last}@{work}"),
                    _ => personal_email(rng, &first, &last),
                }
            };
            claim_email(&mut env.emails, &mut rec.email, v)
        }
        Edit::EmailTypo => {
            let Some(cur) = rec.email.clone() else {
                return false;
            };
            let Some((local, domain)) = cur.split_once('@') else {
                return false;
            };
            let Some((l2, _)) = typo(rng, local) else {
                return false;
            };
            claim_email(&mut env.emails, &mut rec.email, format!("{l2}@{domain}"))
        }
        Edit::CompanyForm => match rec.company.as_deref() {
            Some(cur) => {
                let (base, suffix, comma) = split_suffix(cur);
                // People mostly leave the legal form off; some write it another way.
                let v = match suffix {
                    Some(_) if chance(rng, 0.6) => base.to_string(),
                    Some(s) => match alt_suffix(rng, s, comma) {
                        Some((s2, c2)) => join_suffix(base, Some(&s2), c2),
                        None => base.to_string(),
                    },
                    None => match recase(rng, cur) {
                        Some(v) => v,
                        None => return false,
                    },
                };
                if v.trim().is_empty() {
                    return false;
                }
                set(&mut rec.company, v)
            }
            None => match &meta.company {
                Some(c) => set(&mut rec.company, c.clone()),
                None => false,
            },
        },
        Edit::TitleForm => {
            let Some(group) = meta.title.and_then(|g| TITLES.get(g)) else {
                return false;
            };
            let cur = rec.job_title.as_deref().unwrap_or("");
            let options: Vec<&&str> = group.iter().filter(|t| **t != cur).collect();
            if options.is_empty() {
                return false;
            }
            let v = (**pick(rng, &options)).to_string();
            set(&mut rec.job_title, v)
        }
        Edit::Blank => {
            // Which field a second entry leaves out (or, for a blank one, fills in).
            let choice = *weighted(
                rng,
                &[
                    (0, 25),
                    (1, 25),
                    (2, 15),
                    (3, 10),
                    (4, 10),
                    (5, 8),
                    (6, 8),
                    (7, 3),
                ],
            );
            let field = match choice {
                0 => &mut rec.email,
                1 => &mut rec.phone,
                2 => &mut rec.job_title,
                3 if !lead => &mut rec.company,
                4 => &mut rec.city,
                5 => &mut rec.state,
                6 => &mut rec.country,
                7 => &mut rec.first_name,
                _ => return false,
            };
            if field.is_some() {
                *field = None;
                true
            } else {
                false
            }
        }
        Edit::Suffix | Edit::AndThe | Edit::DomainForm => false,
    }
}

fn company_edit(env: &mut Env, rec: &mut Company, meta: &CompanyMeta, edit: Edit) -> bool {
    let rng = &mut env.rng;
    let pl = place(meta.place);
    match edit {
        Edit::NameCase => match rec.name.as_deref().and_then(|s| recase(rng, s)) {
            Some(v) => set(&mut rec.name, v),
            None => false,
        },
        Edit::Whitespace => {
            let field = if chance(rng, 0.85) {
                &mut rec.name
            } else {
                &mut rec.city
            };
            match field.as_deref() {
                Some(s) if !s.is_empty() => {
                    let v = respace(rng, s);
                    set(field, v)
                }
                _ => false,
            }
        }
        Edit::NameTypo => {
            let Some(cur) = rec.name.as_deref() else {
                return false;
            };
            let (base, suffix, comma) = split_suffix(cur);
            match typo(rng, base) {
                Some((b2, _)) => {
                    let v = join_suffix(&b2, suffix, comma);
                    set(&mut rec.name, v)
                }
                None => false,
            }
        }
        Edit::Suffix => {
            let Some(cur) = rec.name.as_deref() else {
                return false;
            };
            let (base, suffix, comma) = split_suffix(cur);
            let v = match suffix {
                Some(_) if chance(rng, 0.4) => base.to_string(),
                Some(s) => match alt_suffix(rng, s, comma) {
                    Some((s2, c2)) => join_suffix(base, Some(&s2), c2),
                    None => base.to_string(),
                },
                None => {
                    let options: Vec<&(&str, u32)> = country(pl.cc)
                        .suffixes
                        .iter()
                        .filter(|(s, _)| !s.is_empty())
                        .collect();
                    let s = pick(rng, &options).0;
                    join_suffix(base, Some(s), s.starts_with("Inc") && chance(rng, 0.3))
                }
            };
            set(&mut rec.name, v)
        }
        Edit::AndThe => {
            let Some(cur) = rec.name.as_deref() else {
                return false;
            };
            let v = if cur.contains(" & ") && !cur.contains("& Co") {
                cur.replacen(" & ", " and ", 1)
            } else if cur.contains(" and ") {
                cur.replacen(" and ", " & ", 1)
            } else if let Some(rest) = cur.strip_prefix("The ") {
                rest.to_string()
            } else {
                format!("The {cur}")
            };
            set(&mut rec.name, v)
        }
        Edit::DomainForm => {
            let bare = meta.domain.as_str();
            let v = match below(rng, 8) {
                0 | 1 => format!("www.{bare}"),
                2 | 3 => format!("https://{bare}"),
                4 => format!("https://www.{bare}/"),
                5 => format!("http://www.{bare}"),
                6 => format!("{bare}/"),
                _ => bare.to_string(),
            };
            set(&mut rec.domain, v)
        }
        Edit::PhoneFormat => rephone(rng, meta.phone.as_ref(), &mut rec.phone),
        Edit::CountryForm => reform(rng, &mut rec.country, country(pl.cc).forms),
        Edit::StateForm => restate(rng, &mut rec.state, pl),
        Edit::CityForm => recity(rng, &mut rec.city, pl),
        Edit::Blank => {
            let field = match *weighted(rng, &[(0, 30), (1, 25), (2, 15), (3, 12), (4, 9), (5, 9)])
            {
                0 => &mut rec.domain,
                1 => &mut rec.phone,
                2 => &mut rec.industry,
                3 => &mut rec.city,
                4 => &mut rec.state,
                _ => &mut rec.country,
            };
            if field.is_some() {
                *field = None;
                true
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Another spelling from `forms` than the field has (or one, if it is blank).
/// The same number in another format (or, where the field is empty, its first format).
fn rephone(rng: &mut Rand, num: Option<&PhoneNum>, field: &mut Option<String>) -> bool {
    let Some(p) = num else { return false };
    match field.as_deref() {
        Some(cur) => match phone::reformat(rng, p, cur) {
            Some(v) => set(field, v),
            None => false,
        },
        None => {
            let style = phone::original_style(rng, p);
            set(field, phone::format(p, style))
        }
    }
}

fn reform(rng: &mut Rand, field: &mut Option<String>, forms: &[&str]) -> bool {
    let cur = field.as_deref().unwrap_or("");
    let options: Vec<&&str> = forms.iter().filter(|f| **f != cur).collect();
    if options.is_empty() {
        return false;
    }
    let v = (**pick(rng, &options)).to_string();
    set(field, v)
}

/// State code ↔ name ↔ alternative names, or a lowercase code as some forms save it.
fn restate(rng: &mut Rand, field: &mut Option<String>, pl: &Place) -> bool {
    let mut forms: Vec<String> = pl.state_names.iter().map(|s| s.to_string()).collect();
    if !pl.state_code.is_empty() {
        forms.push(pl.state_code.to_string());
        forms.push(pl.state_code.to_string());
        forms.push(pl.state_code.to_lowercase());
    }
    let refs: Vec<&str> = forms.iter().map(String::as_str).collect();
    reform(rng, field, &refs)
}

fn recity(rng: &mut Rand, field: &mut Option<String>, pl: &Place) -> bool {
    let mut forms: Vec<String> = pl.city_alt.iter().map(|s| s.to_string()).collect();
    forms.push(pl.city.to_string());
    forms.push(pl.city.to_lowercase());
    forms.push(pl.city.to_uppercase());
    let refs: Vec<&str> = forms.iter().map(String::as_str).collect();
    reform(rng, field, &refs)
}

fn slug(s: &str) -> String {
    text::slug(s)
}

/// A personal address for someone: `first.last@gmail.com`, `firstlast84@yahoo.com`, ...
pub fn personal_email(rng: &mut Rand, first: &str, last: &str) -> String {
    let domain = weighted(rng, FREE_MAIL);
    let initial = first.chars().next().map(String::from).unwrap_or_default();
    let n = 1 + below(rng, 99);
    match below(rng, 100) {
        0..40 => format!("{first}.{last}@{domain}"),
        40..65 => format!("{first}{last}@{domain}"),
        65..80 => format!("{first}.{last}{n}@{domain}"),
        80..90 => format!("{initial}{last}{n}@{domain}"),
        _ => format!("{first}_{last}@{domain}"),
    }
}

/// Uses `v` as the record's email unless another entity already has that address.
fn claim_email(emails: &mut Seen, field: &mut Option<String>, v: String) -> bool {
    if field.as_deref() == Some(v.as_str()) {
        return false;
    }
    let same_mailbox = field.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&v));
    if !same_mailbox && !emails.insert(seen::lower(&v)) {
        return false;
    }
    *field = Some(v);
    true
}
