//! People's names: title case that knows McDonald, O'Brien and "van der", and splitting a
//! full name into first and last.

/// Surname particles kept lowercase before the name they belong to (`Maria de la Cruz`).
const PARTICLES: &[&str] = &[
    "da", "das", "de", "del", "della", "den", "der", "des", "di", "do", "dos", "du", "la", "le",
    "ten", "ter", "van", "von", "y",
];

/// Generational suffixes written in capitals (`John Smith III`).
const ROMAN: &[&str] = &["ii", "iii", "iv"];

/// Names that start with "Mac" but are not Mac-names (from Lingua::EN::NameCase).
const NOT_MAC: &[&str] = &[
    "macevicius",
    "machado",
    "machar",
    "machin",
    "machlin",
    "macias",
    "maciulis",
    "mackie",
    "mackle",
    "macklin",
    "mackmin",
    "macquarie",
    "macomber",
    "macin",
    "mackintosh",
    "macken",
    "machen",
    "machiel",
    "machon",
    "machuca",
];

/// Honorifics dropped when splitting a name.
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr",
];

/// Suffixes that stay with the last name when splitting (`Smith Jr.`).
const SUFFIXES: &[&str] = &[
    "jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "cpa", "mba", "dds", "jd",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TitleOptions {
    /// Keep particles (van, de, la, ...) lowercase unless they are the last word.
    pub particles: bool,
    /// Capitalize after "Mac" (MacLeod), except for known non-Mac names (Machado, Mackie).
    pub mac: bool,
}

/// Title case for names: every word capitalized and the rest lowercased, with the
/// exceptions of names (McDonald, O'Brien, Smith-Jones, van der Berg, John Smith III).
pub(crate) fn title_case(value: &str, opts: TitleOptions) -> String {
    // Lowercasing first (as a whole, so a Greek final sigma is right) leaves whitespace
    // where it was: words are then slices of `lower`.
    let lower = super::lowercase(value);
    let mut out = String::with_capacity(lower.len() + 2);
    let last_word_start = lower
        .trim_end()
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let mut word_start: Option<usize> = None;
    let mut first = true;
    for (i, c) in lower.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = word_start.take() {
                title_word(&mut out, &lower[s..i], first, s >= last_word_start, opts);
                first = false;
            }
            out.push(c);
        } else if word_start.is_none() {
            word_start = Some(i);
        }
    }
    if let Some(s) = word_start {
        title_word(&mut out, &lower[s..], first, true, opts);
    }
    out
}

/// One lowercased word, title-cased onto `out`.
fn title_word(out: &mut String, word: &str, first: bool, last: bool, opts: TitleOptions) {
    if opts.particles && !last && PARTICLES.contains(&word) {
        out.push_str(word);
        return;
    }
    if !first && ROMAN.contains(&word) {
        out.extend(word.chars().map(|c| c.to_ascii_uppercase()));
        return;
    }
    // At the start of a segment (after a hyphen, a bracket, ...), the next letter is capitalized.
    let mut start = true;
    // Letters since the segment started: O' and D' capitalize what follows; John's does not.
    let mut letters = 0;
    let mut i = 0;
    while let Some(c) = word[i..].chars().next() {
        if is_apostrophe(c) {
            out.push(c);
            start = letters == 1;
            letters = 0;
        } else if is_mark(c) {
            out.push(c);
        } else if c.is_alphanumeric() {
            if start && c.is_alphabetic() {
                let segment = &word[i..i + segment_len(&word[i..])];
                if let Some((prefix, next)) = name_prefix(segment, opts) {
                    // `Mc`/`Mac`, then the rest capitalized: McDonald, MacLeod.
                    out.push(upper(c));
                    out.push_str(&segment[c.len_utf8()..prefix]);
                    out.push(upper(next));
                    letters += 3;
                    start = false;
                    i += prefix + next.len_utf8();
                    continue;
                }
                out.push(upper(c));
            } else {
                out.push(c);
            }
            if c.is_alphabetic() {
                letters += 1;
            }
            start = false;
        } else {
            out.push(c);
            start = true;
            letters = 0;
        }
        i += c.len_utf8();
    }
}

/// When `segment` is a Mc- or Mac-name: the prefix's length and the letter after it.
fn name_prefix(segment: &str, opts: TitleOptions) -> Option<(usize, char)> {
    let after = |p: &str| {
        segment
            .strip_prefix(p)
            .and_then(|rest| rest.chars().next())
            .filter(|&c| c.is_alphabetic() && upper(c) != c)
    };
    if let Some(next) = after("mc") {
        return Some((2, next));
    }
    let next = after("mac").filter(|_| opts.mac)?;
    let plain = segment.len() >= 6 && segment.bytes().all(|b| b.is_ascii_lowercase());
    let last = segment.chars().last().unwrap_or('a');
    (plain && !"aciozj".contains(last) && !NOT_MAC.contains(&segment)).then_some((3, next))
}

/// Letters, digits and marks up to the next separator or apostrophe, in bytes.
fn segment_len(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || is_mark(c)) || is_apostrophe(c))
        .map_or(s.len(), |(i, _)| i)
}

/// The uppercase of `c` when it is one character (`ß` stays: its uppercase is `SS`).
fn upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Combining marks (`e` + U+0301 is one letter `é`): part of the letter before them.
pub(crate) fn is_mark(c: char) -> bool {
    // Most text is below the first range: one comparison instead of every range's.
    if c < '\u{0300}' {
        return false;
    }
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0900}'..='\u{0903}'
        | '\u{093A}'..='\u{094F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{3099}'..='\u{309A}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// A full name split into first and last. `last` is None for a single word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitName {
    pub first: String,
    pub last: Option<String>,
}

/// Splits `John Smith`, `Smith, John`, `Dr. Maria de la Cruz`, `John Smith, Jr.`: the last
/// word (with the particles before it and any suffix after it) is the last name, the rest
/// the first name. Honorifics are dropped. None for an empty value.
pub(crate) fn split_name(value: &str) -> Option<SplitName> {
    if let Some((before, after)) = value.split_once(',') {
        let last: Vec<&str> = before.split_whitespace().collect();
        let mut first: Vec<&str> = after.split_whitespace().collect();
        let suffix_only = first.iter().all(|w| SUFFIXES.contains(&plain(w).as_str()));
        if !last.is_empty() && !first.is_empty() && !suffix_only {
            // "Smith, John": last name first.
            drop_honorifics(&mut first);
            return Some(SplitName {
                first: first.join(" "),
                last: Some(last.join(" ")),
            });
        }
    }
    let mut words: Vec<&str> = value
        .split_whitespace()
        .map(|w| w.trim_end_matches(','))
        .filter(|w| !w.is_empty())
        .collect();
    drop_honorifics(&mut words);
    match words.len() {
        0 => None,
        1 => Some(SplitName {
            first: words[0].to_string(),
            last: None,
        }),
        _ => {
            let mut end = words.len();
            while end > 2 && SUFFIXES.contains(&plain(words[end - 1]).as_str()) {
                end -= 1;
            }
            let mut start = end - 1;
            while start > 1 && PARTICLES.contains(&plain(words[start - 1]).as_str()) {
                start -= 1;
            }
            Some(SplitName {
                first: words[..start].join(" "),
                last: Some(words[start..].join(" ")),
            })
        }
    }
}

fn drop_honorifics(words: &mut Vec<&str>) {
    while words.len() > 1 && HONORIFICS.contains(&plain(words[0]).as_str()) {
        words.remove(0);
    }
}

/// Lowercase without dots or commas: `Jr.` -> `jr`, `Ph.D.` -> `phd`.
fn plain(word: &str) -> String {
    word.chars()
        .filter(|c| !matches!(c, '.' | ','))
        .flat_map(char::to_lowercase)
        .collect()
}
