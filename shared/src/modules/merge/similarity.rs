//! String similarity for `similar` comparisons: Jaro-Winkler and normalized Levenshtein,
//! both in 0..=1. Same results as the `strsim` crate (the tests check it), without its
//! per-call allocations: a million-record run calls these tens of millions of times.

use serde::{Deserialize, Serialize};

/// How `similar` scores two values.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Jaro-Winkler: rewards a shared start; suits names (`Jon`/`John` 0.93).
    #[default]
    JaroWinkler,
    /// 1 - edits / length of the longer value (`Jon`/`John` 0.75).
    Levenshtein,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::JaroWinkler => "jaro_winkler",
            Method::Levenshtein => "levenshtein",
        }
    }

    pub fn score(self, a: &str, b: &str) -> f64 {
        match self {
            Method::JaroWinkler => jaro_winkler(a, b),
            Method::Levenshtein => levenshtein(a, b),
        }
    }

    /// Whether `a` and `b` score at least `threshold`, skipping the computation when
    /// their lengths alone rule it out.
    pub fn at_least(self, a: &str, b: &str, threshold: f64) -> bool {
        a == b || (self.may_reach(a, b, threshold) && self.score(a, b) >= threshold)
    }

    /// False when the values' lengths alone keep their score below `threshold`.
    pub fn may_reach(self, a: &str, b: &str, threshold: f64) -> bool {
        let (la, lb) = (len(a), len(b));
        let (short, long) = (la.min(lb) as f64, la.max(lb) as f64);
        if long > 0.0 {
            let bound = match self {
                // At most `short` characters match, none transposed; then the prefix boost.
                Method::JaroWinkler => {
                    let jaro = (short / la as f64 + short / lb as f64 + 1.0) / 3.0;
                    jaro + 0.4 * (1.0 - jaro)
                }
                // At least `long - short` edits.
                Method::Levenshtein => short / long,
            };
            // (A hair of slack: the bound and the score round differently.)
            if bound + 1e-12 < threshold {
                return false;
            }
        }
        true
    }
}

fn len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Jaro-Winkler similarity: prefix scale 0.1 over at most 4 characters, applied when the
/// Jaro similarity is above 0.7. Two empty values score 1, one empty value 0.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if (1..=64).contains(&a.len()) && (1..=64).contains(&b.len()) {
            boost(jaro_short(a, b), a, b)
        } else {
            winkler(a, b)
        }
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        winkler(&a, &b)
    }
}

/// 1 - Levenshtein distance / length of the longer value (in characters). Two empty
/// values score 1.
pub fn levenshtein(a: &str, b: &str) -> f64 {
    let (d, longest) = if a.is_ascii() && b.is_ascii() {
        (
            edit_distance(a.as_bytes(), b.as_bytes()),
            a.len().max(b.len()),
        )
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        (edit_distance(&a, &b), a.len().max(b.len()))
    };
    if longest == 0 {
        1.0
    } else {
        1.0 - d as f64 / longest as f64
    }
}

fn winkler<T: PartialEq + Copy>(a: &[T], b: &[T]) -> f64 {
    boost(jaro(a, b), a, b)
}

/// Winkler's prefix boost of a Jaro similarity `sim`.
fn boost<T: PartialEq>(sim: f64, a: &[T], b: &[T]) -> f64 {
    if sim > 0.7 {
        let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

const STACK: usize = 128;

/// `jaro` of two ASCII values of 1 to 64 bytes, with bit masks: each byte of `a` takes
/// the first unmatched equal byte of `b` in its window, as `jaro` does, found by a mask
/// of where each byte is in `b`, not by a scan.
fn jaro_short(a: &[u8], b: &[u8]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    debug_assert!((1..=64).contains(&la) && (1..=64).contains(&lb));
    let range = (la.max(lb) / 2).saturating_sub(1);
    let mut at = [0u64; 128];
    for (j, &c) in b.iter().enumerate() {
        at[usize::from(c & 0x7F)] |= 1 << j;
    }
    let below = |n: usize| if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    let (mut a_matched, mut b_matched) = (0u64, 0u64);
    for (i, &c) in a.iter().enumerate() {
        let window = below((i + range + 1).min(lb)) & !below(i.saturating_sub(range));
        let free = at[usize::from(c & 0x7F)] & window & !b_matched;
        if free != 0 {
            b_matched |= free & free.wrapping_neg();
            a_matched |= 1 << i;
        }
    }
    let matches = a_matched.count_ones() as usize;
    if matches == 0 {
        return 0.0;
    }
    let (mut x, mut y) = (a_matched, b_matched);
    let mut transpositions = 0usize;
    while x != 0 {
        let (i, j) = (x.trailing_zeros() as usize, y.trailing_zeros() as usize);
        transpositions += usize::from(a[i] != b[j]);
        x &= x - 1;
        y &= y - 1;
    }
    let m = matches as f64;
    (m / la as f64 + m / lb as f64 + (matches - transpositions / 2) as f64 / m) / 3.0
}

fn jaro<T: PartialEq + Copy>(a: &[T], b: &[T]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    if la == 0 && lb == 0 {
        return 1.0;
    }
    if la == 0 || lb == 0 {
        return 0.0;
    }
    let range = (la.max(lb) / 2).saturating_sub(1);
    let mut stack = [false; 2 * STACK];
    let mut heap = Vec::new();
    let flags: &mut [bool] = if la <= STACK && lb <= STACK {
        &mut stack[..la + lb]
    } else {
        heap.resize(la + lb, false);
        &mut heap
    };
    let (a_flags, b_flags) = flags.split_at_mut(la);
    let mut matches = 0usize;
    for (i, x) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(lb);
        for j in lo..hi {
            if !b_flags[j] && b[j] == *x {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0;
    for (i, x) in a.iter().enumerate() {
        if !a_flags[i] {
            continue;
        }
        while !b_flags[k] {
            k += 1;
        }
        if b[k] != *x {
            transpositions += 1;
        }
        k += 1;
    }
    let m = matches as f64;
    (m / la as f64 + m / lb as f64 + (matches - transpositions / 2) as f64 / m) / 3.0
}

fn edit_distance<T: PartialEq + Copy>(a: &[T], b: &[T]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    let mut stack = [0usize; STACK + 1];
    let mut heap = Vec::new();
    let row: &mut [usize] = if b.len() <= STACK {
        &mut stack[..b.len() + 1]
    } else {
        heap.resize(b.len() + 1, 0);
        &mut heap
    };
    for (j, cell) in row.iter_mut().enumerate() {
        *cell = j;
    }
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            let cost = usize::from(x != y);
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + cost);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Optimal-string-alignment Damerau–Levenshtein distance: insertions, deletions,
/// substitutions and swaps of two adjacent characters each count one (`1234`/`1324` is 1).
pub fn damerau_levenshtein(a: &str, b: &str) -> usize {
    if a.is_ascii() && b.is_ascii() {
        osa(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa(&a, &b)
    }
}

/// Whether `b` is `a` with exactly two adjacent characters swapped (`90210`/`92010`).
pub fn one_transposition(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.len() < 2 {
        return false;
    }
    let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) else {
        return false;
    };
    i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..]
}

/// Whether `a` and `b` are at most one insertion, deletion or substitution apart, in
/// characters (linear, no table).
pub fn within_one_edit(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        one_edit(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        one_edit(&a, &b)
    }
}

fn one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        short[prefix + 1..] == long[prefix + 1..]
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

fn osa<T: PartialEq + Copy>(a: &[T], b: &[T]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    if b.is_empty() {
        return a.len();
    }
    let width = b.len() + 1;
    let mut stack = [0usize; 3 * (STACK + 1)];
    let mut heap = Vec::new();
    let rows: &mut [usize] = if b.len() <= STACK {
        &mut stack[..3 * width]
    } else {
        heap.resize(3 * width, 0);
        &mut heap
    };
    // Rows i-2, i-1 and i, rotating.
    for (j, cell) in rows[width..2 * width].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (cur, prev, prev2) = ((i + 1) % 3, i % 3, (i + 2) % 3);
        rows[cur * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev * width + j] + 1)
                .min(rows[cur * width + j - 1] + 1)
                .min(rows[prev * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2 * width + j - 2] + 1);
            }
            rows[cur * width + j] = d;
        }
    }
    rows[((a.len() + 1) % 3) * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn jaro_winkler_known_values() {
        // Winkler's examples.
        assert!((jaro_winkler("MARTHA", "MARHTA") - 0.9611).abs() < 1e-4);
        assert!((jaro_winkler("DWAYNE", "DUANE") - 0.84).abs() < 1e-4);
        assert!((jaro_winkler("DIXON", "DICKSONX") - 0.8133).abs() < 1e-4);
        assert!(close(jaro_winkler("", ""), 1.0));
        assert!(close(jaro_winkler("a", ""), 0.0));
        assert!(close(jaro_winkler("abc", "abc"), 1.0));
        assert!(close(jaro_winkler("abc", "xyz"), 0.0));
        assert!(jaro_winkler("zoë", "zoe") > 0.8);
    }

    #[test]
    fn levenshtein_known_values() {
        assert!(close(levenshtein("kitten", "sitting"), 1.0 - 3.0 / 7.0));
        assert!(close(levenshtein("", ""), 1.0));
        assert!(close(levenshtein("abc", ""), 0.0));
        assert!(close(levenshtein("jon", "john"), 0.75));
        assert!(close(levenshtein("zoë", "zoe"), 1.0 - 1.0 / 3.0));
    }

    #[test]
    fn the_length_bound_never_refuses_a_pair_that_scores_enough() {
        for (a, b) in [("jon", "jonathan"), ("a", "abcdefgh"), ("martha", "marhta")] {
            for m in [Method::JaroWinkler, Method::Levenshtein] {
                let s = m.score(a, b);
                assert!(m.at_least(a, b, s), "{m:?} {a} {b}");
                assert!(!m.at_least(a, b, s + 1e-6), "{m:?} {a} {b}");
            }
        }
    }

    proptest! {
        #[test]
        fn same_scores_as_strsim(a in "[a-eé ]{0,12}", b in "[a-eé ]{0,12}") {
            prop_assert!(close(jaro_winkler(&a, &b), strsim::jaro_winkler(&a, &b)));
            prop_assert!(close(levenshtein(&a, &b), strsim::normalized_levenshtein(&a, &b)));
            for m in [Method::JaroWinkler, Method::Levenshtein] {
                let s = m.score(&a, &b);
                prop_assert!(m.at_least(&a, &b, s));
                prop_assert_eq!(m.at_least(&a, &b, 0.8), s >= 0.8);
            }
        }

        #[test]
        fn short_ascii_values_score_as_the_general_jaro(a in "[a-f .]{1,64}", b in "[a-f .]{1,64}") {
            let general = boost(jaro(a.as_bytes(), b.as_bytes()), a.as_bytes(), b.as_bytes());
            prop_assert_eq!(jaro_winkler(&a, &b), general);
        }

        #[test]
        fn long_values_use_the_heap_and_agree(a in "[ab]{120,140}", b in "[ab]{120,140}") {
            prop_assert!(close(jaro_winkler(&a, &b), strsim::jaro_winkler(&a, &b)));
            prop_assert!(close(levenshtein(&a, &b), strsim::normalized_levenshtein(&a, &b)));
        }
    }

    #[test]
    fn transpositions_and_single_edits() {
        assert_eq!(damerau_levenshtein("1234", "1324"), 1);
        assert_eq!(damerau_levenshtein("ca", "abc"), 3);
        assert_eq!(damerau_levenshtein("", "ab"), 2);
        assert_eq!(damerau_levenshtein("kitten", "sitting"), 3);
        assert_eq!(damerau_levenshtein("zoë", "zeo"), 2);
        assert!(one_transposition("90210", "92010"));
        assert!(one_transposition("ab", "ba"));
        assert!(!one_transposition("90210", "90210"));
        assert!(!one_transposition("90210", "01290"));
        assert!(!one_transposition("abc", "acd"));
        assert!(within_one_edit("smith", "smyth"));
        assert!(within_one_edit("smith", "smit"));
        assert!(within_one_edit("smith", "smiths"));
        assert!(!within_one_edit("smith", "smtih"));
        assert!(within_one_edit("zoë", "zoe"));
        assert!(within_one_edit("", "a"));
    }

    proptest! {
        #[test]
        fn the_fast_checks_agree_with_the_distances(a in "[a-c]{0,7}", b in "[a-c]{0,7}") {
            prop_assert_eq!(within_one_edit(&a, &b), edit_distance(a.as_bytes(), b.as_bytes()) <= 1);
            prop_assert_eq!(damerau_levenshtein(&a, &b), damerau_levenshtein(&b, &a));
            prop_assert!(damerau_levenshtein(&a, &b) <= edit_distance(a.as_bytes(), b.as_bytes()));
            if one_transposition(&a, &b) {
                prop_assert_eq!(damerau_levenshtein(&a, &b), 1);
            }
        }
    }
}
