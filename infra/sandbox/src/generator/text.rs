//! String edits that turn one spelling of a value into another the way people and imports
//! do: case, stray spaces, keyboard typos, dropped accents, company legal-form suffixes.

use super::rnd::{Rand, below, chance, pick};

/// The ASCII spelling of a letter with a diacritic (`None` for plain ASCII and others).
fn fold_char(c: char, german: bool) -> Option<&'static str> {
    if c.is_ascii() {
        return None;
    }
    Some(match c {
        'ä' if german => "ae",
        'ö' if german => "oe",
        'ü' if german => "ue",
        'Ä' if german => "Ae",
        'Ö' if german => "Oe",
        'Ü' if german => "Ue",
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a",
        'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => "A",
        'é' | 'è' | 'ê' | 'ë' | 'ě' => "e",
        'É' | 'È' | 'Ê' | 'Ë' => "E",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'Í' | 'Î' => "I",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
        'Ó' | 'Ô' | 'Ö' | 'Ø' => "O",
        'ú' | 'ù' | 'û' | 'ü' => "u",
        'Ú' | 'Û' | 'Ü' => "U",
        'ñ' | 'ń' => "n",
        'Ñ' => "N",
        'ç' => "c",
        'Ç' => "C",
        'ś' | 'š' => "s",
        'Ś' | 'Š' => "S",
        'ř' => "r",
        'ž' | 'ź' | 'ż' => "z",
        'ł' => "l",
        'ß' => "ss",
        '’' => "'",
        _ => return None,
    })
}

/// `s` without diacritics; `german` spells umlauts `ae/oe/ue` as Germans do.
pub fn fold(s: &str, german: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match fold_char(c, german) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
    out
}

/// Lowercase ASCII letters and digits only: the part of a name an email or domain keeps.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_slug(&mut out, s);
    out
}

/// Appends the slug of `s` to `out`.
pub fn push_slug(out: &mut String, s: &str) {
    slug_bytes(s, |b| out.push(char::from(b)));
}

/// Feeds the slug of `s` to `f`, byte by byte.
pub fn slug_bytes(s: &str, mut f: impl FnMut(u8)) {
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            f(c.to_ascii_lowercase() as u8);
        } else if let Some(r) = fold_char(c, true) {
            r.bytes()
                .filter(u8::is_ascii_alphanumeric)
                .for_each(|b| f(b.to_ascii_lowercase()));
        }
    }
}

/// Naive title case, word by word on whitespace, as CRM imports do it: `McDonald` becomes
/// `Mcdonald`, `O'Brien` becomes `O'brien`, `van der Berg` becomes `Van Der Berg`.
pub fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_whitespace() {
            start = true;
            out.push(c);
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// One case change of a name: all caps, all lower, or title case; `None` if none changes it.
pub fn recase(rng: &mut Rand, s: &str) -> Option<String> {
    let start = below(rng, 3);
    for k in 0..3 {
        let t = match (start + k) % 3 {
            0 => s.to_uppercase(),
            1 => s.to_lowercase(),
            _ => title_case(s),
        };
        if t != s {
            return Some(t);
        }
    }
    None
}

/// A stray space: trailing, leading, doubled between words, or two trailing.
pub fn respace(rng: &mut Rand, s: &str) -> String {
    let r = below(rng, 100);
    if r < 30 && s.contains(' ') {
        let spaces: Vec<usize> = s.match_indices(' ').map(|(i, _)| i).collect();
        let at = *pick(rng, &spaces);
        let mut out = String::with_capacity(s.len() + 1);
        out.push_str(&s[..at]);
        out.push(' ');
        out.push_str(&s[at..]);
        return out;
    }
    match r % 4 {
        0 | 1 => format!("{s} "),
        2 => format!(" {s}"),
        _ => format!("{s}  "),
    }
}

/// Letters next to each other on a QWERTY keyboard.
fn neighbours(c: char) -> &'static str {
    match c {
        'q' => "wa",
        'w' => "qeas",
        'e' => "wrds",
        'r' => "etdf",
        't' => "ryfg",
        'y' => "tugh",
        'u' => "yihj",
        'i' => "uojk",
        'o' => "ipkl",
        'p' => "ol",
        'a' => "qwsz",
        's' => "awedxz",
        'd' => "serfcx",
        'f' => "drtgvc",
        'g' => "ftyhbv",
        'h' => "gyujnb",
        'j' => "huikmn",
        'k' => "jiolm",
        'l' => "kop",
        'z' => "asx",
        'x' => "zsdc",
        'c' => "xdfv",
        'v' => "cfgb",
        'b' => "vghn",
        'n' => "bhjm",
        'm' => "njk",
        _ => "",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typo {
    Swap,
    Drop,
    Double,
    Neighbour,
}

/// One keyboard typo, rarely on the first letter (people get that one right). `None` when
/// the text is too short to misspell believably.
pub fn typo(rng: &mut Rand, s: &str) -> Option<(String, Typo)> {
    let chars: Vec<char> = s.chars().collect();
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    // Short words rarely get typos that still leave them recognisable ("Icon" -> "Ico").
    if letters.len() < 4 {
        return None;
    }
    for _ in 0..6 {
        let kind = match below(rng, 100) {
            0..30 => Typo::Swap,
            30..55 => Typo::Drop,
            55..75 => Typo::Double,
            _ => Typo::Neighbour,
        };
        // Position among letters, skipping the first most of the time.
        let lo = if chance(rng, 0.9) { 1 } else { 0 };
        let li = lo + below(rng, letters.len() - lo);
        let i = letters[li];
        let mut out = chars.clone();
        match kind {
            Typo::Swap => {
                let Some(&j) = letters.get(li + 1) else {
                    continue;
                };
                if j != i + 1 || out[i].to_lowercase().eq(out[j].to_lowercase()) {
                    continue;
                }
                // Keep the capital where it was: "Jhon", not "jHon".
                let (a, b) = (out[i], out[j]);
                let (a2, b2) = if a.is_uppercase() && !b.is_uppercase() {
                    (
                        b.to_uppercase().next().unwrap_or(b),
                        a.to_lowercase().next().unwrap_or(a),
                    )
                } else {
                    (b, a)
                };
                out[i] = a2;
                out[j] = b2;
            }
            Typo::Drop => {
                if letters.len() < 5 {
                    continue;
                }
                out.remove(i);
            }
            Typo::Double => {
                let c = out[i].to_lowercase().next().unwrap_or(out[i]);
                out.insert(i + 1, c);
            }
            Typo::Neighbour => {
                let lower = out[i].to_ascii_lowercase();
                let n = neighbours(lower);
                if n.is_empty() {
                    continue;
                }
                let bytes = n.as_bytes();
                let mut r = char::from(bytes[below(rng, bytes.len())]);
                if out[i].is_uppercase() {
                    r = r.to_ascii_uppercase();
                }
                out[i] = r;
            }
        }
        let t: String = out.into_iter().collect();
        if t != s {
            return Some((t, kind));
        }
    }
    None
}

/// Legal-form suffixes, each with the spellings that mean the same thing. Longer spellings
/// first within the whole table so `Pty Ltd` is found before `Ltd`.
pub const SUFFIX_CLASSES: &[&[&str]] = &[
    &["GmbH & Co. KG", "GmbH & Co KG"],
    &["Pty Ltd", "Pty. Ltd.", "Pty Limited"],
    &["Inc", "Inc.", "Incorporated"],
    &["LLC", "L.L.C."],
    &["Ltd", "Ltd.", "Limited"],
    &["Corp", "Corp.", "Corporation"],
    &["Co.", "Company"],
    &["GmbH", "Gmbh", "GMBH"],
    &["AG"],
    &["SAS", "S.A.S."],
    &["SARL", "S.A.R.L.", "Sarl"],
    &["SA", "S.A."],
    &["PLC", "plc"],
];

/// Splits `"Acme, Inc."` into `("Acme", Some("Inc."), true)` (base, suffix, comma).
pub fn split_suffix(name: &str) -> (&str, Option<&str>, bool) {
    let t = name.trim_end();
    let mut best: Option<(&str, usize)> = None;
    for class in SUFFIX_CLASSES {
        for suf in *class {
            if t.len() > suf.len() + 1 {
                let at = t.len() - suf.len();
                if t.is_char_boundary(at)
                    && t[at..].eq_ignore_ascii_case(suf)
                    && t[..at].ends_with(' ')
                    && best.is_none_or(|(_, len)| suf.len() > len)
                {
                    best = Some((&t[at..], suf.len()));
                }
            }
        }
    }
    match best {
        Some((suf, len)) => {
            let base = t[..t.len() - len].trim_end();
            let (base, comma) = match base.strip_suffix(',') {
                Some(b) => (b.trim_end(), true),
                None => (base, false),
            };
            (base, Some(suf), comma)
        }
        None => (t, None, false),
    }
}

pub fn join_suffix(base: &str, suffix: Option<&str>, comma: bool) -> String {
    match suffix {
        Some(s) if !s.is_empty() => format!("{base}{} {s}", if comma { "," } else { "" }),
        _ => base.to_string(),
    }
}

/// Another way of writing the same legal form (`Inc` ↔ `Inc.` ↔ `, Inc.` ↔ `Incorporated`).
pub fn alt_suffix(rng: &mut Rand, suffix: &str, comma: bool) -> Option<(String, bool)> {
    let class = SUFFIX_CLASSES
        .iter()
        .find(|c| c.iter().any(|s| s.eq_ignore_ascii_case(suffix)))?;
    let commas = class.iter().any(|s| matches!(*s, "Inc" | "LLC" | "Ltd"));
    for _ in 0..6 {
        let s = *pick(rng, class);
        let c = if commas && chance(rng, 0.35) {
            !comma
        } else {
            comma
        };
        if s != suffix || c != comma {
            return Some((s.to_string(), c));
        }
    }
    None
}

/// Gmail ignores dots in the local part, so people write it both ways.
pub fn toggle_dots(rng: &mut Rand, local: &str) -> String {
    if local.contains('.') {
        local.replace('.', "")
    } else {
        let chars: Vec<char> = local.chars().collect();
        let at = 1 + below(rng, chars.len().saturating_sub(1).max(1));
        let mut out: String = chars.iter().take(at).collect();
        out.push('.');
        out.extend(chars.iter().skip(at));
        out
    }
}
