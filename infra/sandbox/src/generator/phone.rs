//! Phone numbers valid for their region, and the ways people write them: the same number
//! in another style is one of the commonest differences between duplicate records.

use super::geo::{Cc, Place, country};
use super::rnd::{Rand, below, chance, pick, range_u64, weighted};

/// A number as its national significant digits (no trunk `0`, no country code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNum {
    pub cc: Cc,
    pub digits: String,
    /// Length of the area code (or mobile prefix) at the start of `digits`.
    pub area_len: usize,
    pub mobile: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `0161 496 0123`, `415 555 0123`.
    NatSpace,
    /// `(415) 555-0123`, `(030) 12345678`, `(02) 9876 5432`.
    NatParen,
    /// `415-555-0123`.
    NatDash,
    /// `415.555.0123`, `01.23.45.67.89`.
    NatDot,
    /// `4155550123`, `02079460123`.
    NatRaw,
    /// `+1 415 555 0123`, `+44 20 7946 0123`.
    IntlSpace,
    /// `+44 (0)20 7946 0123`: the trunk zero kept in brackets.
    IntlTrunk,
    /// `+14155550123`.
    E164,
    /// `1-415-555-0123`.
    NanpOne,
    /// `+1 (415) 555-0123`.
    IntlParen,
    /// `030/12345678`.
    DeSlash,
}

/// How often each style is how a record was first typed, per country.
fn styles(cc: Cc) -> &'static [(Style, u32)] {
    use Style::*;
    match cc {
        Cc::Us | Cc::Ca => &[
            (NatParen, 35),
            (NatDash, 30),
            (NatDot, 8),
            (IntlSpace, 8),
            (E164, 10),
            (NanpOne, 4),
            (NatRaw, 3),
            (IntlParen, 2),
        ],
        Cc::Gb => &[
            (NatSpace, 50),
            (IntlSpace, 25),
            (E164, 10),
            (IntlTrunk, 8),
            (NatRaw, 7),
        ],
        Cc::De => &[
            (NatSpace, 40),
            (DeSlash, 12),
            (NatParen, 10),
            (IntlSpace, 20),
            (IntlTrunk, 8),
            (E164, 6),
            (NatDash, 4),
        ],
        Cc::Fr => &[
            (NatSpace, 55),
            (NatDot, 12),
            (IntlSpace, 18),
            (IntlTrunk, 5),
            (E164, 6),
            (NatRaw, 4),
        ],
        Cc::Au => &[
            (NatParen, 25),
            (NatSpace, 40),
            (IntlSpace, 20),
            (E164, 10),
            (NatRaw, 5),
        ],
    }
}

/// `n` (at most 9) random digits, from one draw.
fn push_digits(rng: &mut Rand, out: &mut String, n: usize) {
    let n = n.min(9);
    let mut x = range_u64(rng, 0, 10u64.pow(n as u32));
    let mut buf = [b'0'; 9];
    for d in buf[..n].iter_mut().rev() {
        *d = b'0' + (x % 10) as u8;
        x /= 10;
    }
    out.extend(buf[..n].iter().map(|&b| char::from(b)));
}

/// A landline in `place`, or (where the country has separate mobile ranges) a mobile.
pub fn random_number(rng: &mut Rand, place: &Place, mobile_share: f64) -> PhoneNum {
    let c = country(place.cc);
    if !c.mobiles.is_empty() && chance(rng, mobile_share) {
        let &(prefix, rest) = pick(rng, c.mobiles);
        let mut digits = String::with_capacity(12);
        digits.push_str(prefix);
        push_digits(rng, &mut digits, usize::from(rest));
        let area_len = match place.cc {
            // UK mobiles are grouped 07xxx xxxxxx, Australian ones 04xx xxx xxx.
            Cc::Gb => 4,
            Cc::Au => 3,
            Cc::Fr => 1,
            _ => prefix.len(),
        };
        return PhoneNum {
            cc: place.cc,
            digits,
            area_len,
            mobile: true,
        };
    }
    let &(area, first, len) = pick(rng, place.areas);
    let mut digits = String::with_capacity(12);
    digits.push_str(area);
    let start = if first.contains('|') {
        let k = below(rng, first.split('|').count());
        first.split('|').nth(k).unwrap_or("2")
    } else {
        let i = below(rng, first.len());
        first.get(i..i + 1).unwrap_or("2")
    };
    digits.push_str(start);
    push_digits(
        rng,
        &mut digits,
        usize::from(len).saturating_sub(start.len()),
    );
    PhoneNum {
        cc: place.cc,
        digits,
        area_len: area.len(),
        mobile: false,
    }
}

/// The digit groups a country prints: area code (or mobile prefix), then the rest.
/// Returns the groups and how many there are (at most 5).
fn groups(p: &PhoneNum) -> ([&str; 5], usize) {
    let d = p.digits.as_str();
    let (area, rest) = d.split_at(p.area_len.min(d.len()));
    let sizes: &[usize] = match p.cc {
        Cc::Us | Cc::Ca => &[3, 4],
        Cc::Gb if p.mobile => &[6],
        Cc::Gb if rest.len() == 8 => &[4, 4],
        Cc::Gb => &[3, 4],
        Cc::De => &[rest.len()],
        Cc::Fr => &[2, 2, 2, 2],
        Cc::Au if p.mobile => &[3, 3],
        Cc::Au => &[4, 4],
    };
    let mut out = [""; 5];
    out[0] = area;
    let mut n = 1;
    let mut tail = rest;
    for &size in sizes {
        if tail.is_empty() || n == out.len() {
            break;
        }
        let (g, t) = tail.split_at(size.min(tail.len()));
        out[n] = g;
        n += 1;
        tail = t;
    }
    if !tail.is_empty() {
        // Longer than the plan (never for generated numbers): keep the digits anyway.
        let last = out[n - 1];
        let start = d.len() - tail.len() - last.len();
        out[n - 1] = &d[start..];
    }
    (out, n)
}

fn join(s: &mut String, groups: &[&str], sep: &str) {
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        s.push_str(g);
    }
}

/// Renders `p` in `style`. Styles that don't exist in a country fall back to the national
/// spaced form, so any style can be asked for.
pub fn format(p: &PhoneNum, style: Style) -> String {
    let nanp = matches!(p.cc, Cc::Us | Cc::Ca);
    let trunk = if nanp { "" } else { "0" };
    let dial = country(p.cc).dial;
    let (all, n) = groups(p);
    let g = &all[..n];
    let (first, rest) = (g[0], &g[1..]);
    let mut s = String::with_capacity(24);
    match style {
        Style::NatSpace => {
            s.push_str(trunk);
            join(&mut s, g, " ");
        }
        Style::NatParen => {
            s.push('(');
            s.push_str(trunk);
            s.push_str(first);
            s.push_str(") ");
            join(&mut s, rest, if nanp { "-" } else { " " });
        }
        Style::NatDash => {
            s.push_str(trunk);
            join(&mut s, g, "-");
        }
        Style::NatDot => {
            s.push_str(trunk);
            join(&mut s, g, ".");
        }
        Style::NatRaw => {
            s.push_str(trunk);
            s.push_str(&p.digits);
        }
        Style::IntlSpace => {
            s.push('+');
            s.push_str(dial);
            s.push(' ');
            join(&mut s, g, " ");
        }
        Style::IntlTrunk if !nanp => {
            s.push('+');
            s.push_str(dial);
            s.push_str(" (0)");
            join(&mut s, g, " ");
        }
        Style::E164 => {
            s.push('+');
            s.push_str(dial);
            s.push_str(&p.digits);
        }
        Style::NanpOne if nanp => {
            s.push_str("1-");
            join(&mut s, g, "-");
        }
        Style::IntlParen if nanp => {
            s.push_str("+1 (");
            s.push_str(first);
            s.push_str(") ");
            join(&mut s, rest, "-");
        }
        Style::DeSlash if p.cc == Cc::De => {
            s.push_str(trunk);
            s.push_str(first);
            s.push('/');
            join(&mut s, rest, "");
        }
        _ => return format(p, Style::NatSpace),
    }
    s
}

/// The style a record's creator would most likely have used.
pub fn original_style(rng: &mut Rand, p: &PhoneNum) -> Style {
    let style = *weighted(rng, styles(p.cc));
    // Nobody brackets an Australian mobile's prefix.
    if p.mobile && style == Style::NatParen {
        Style::NatSpace
    } else {
        style
    }
}

/// `p` written differently from `current` (another style of the same number).
pub fn reformat(rng: &mut Rand, p: &PhoneNum, current: &str) -> Option<String> {
    let options = styles(p.cc);
    for _ in 0..8 {
        let s = format(p, *weighted(rng, options));
        if s != current {
            return Some(s);
        }
    }
    options
        .iter()
        .map(|&(st, _)| format(p, st))
        .find(|s| s != current)
}
