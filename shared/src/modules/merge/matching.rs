//! Finding the duplicate groups: normalized values computed once, candidate pairs from
//! blocking keys chosen from the rules, pairs compared on every core, and union-find over
//! the pairs that match.
//!
//! Blocking, per rule set:
//! - Equality comparisons (`exact`, `normalized`, `first_words`, `first_chars`) give
//!   keys: records that can match share all of them, so records are grouped by the
//!   combined key. A rule set of equalities only links each block's records without
//!   comparing every pair.
//! - `similar` comparisons are checked on the pairs of a block. A block too large to
//!   compare pair by pair is split by the similar values' first and last two
//!   characters (a typo rarely changes both), and a part still too large is compared in
//!   a sliding window over its sorted values (sorted neighbourhood).
//! - A rule set of `similar` comparisons only is blocked on those prefix/suffix keys.
//!
//! Rule sets run one after the other, equality-only ones first; a pair the earlier ones
//! already linked is not compared again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::input::{Column, MergeInput};
use super::normalize::{Norm, Scratch, first_chars, first_words};
use super::similarity::Method;

/// Blocks up to this size are compared pair by pair.
pub(crate) const MAX_BLOCK: usize = 64;
/// Sorted-neighbourhood window over oversized blocks.
pub(crate) const WINDOW: usize = 24;
/// Characters of a similar value's prefix and suffix keys (two: `Jon` and `John` share `jo`).
const AFFIX: usize = 2;
/// Below this many records a run stays on one thread.
const PARALLEL_FROM: usize = 4_096;

/// One normalized column: a field through a normalizer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Derivation {
    pub field: usize,
    pub norm: Norm,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Equal,
    FirstWords(usize),
    FirstChars(usize),
    Similar { method: Method, threshold: f64 },
}

impl Op {
    fn test(self, a: &str, b: &str) -> bool {
        match self {
            Op::Equal => a == b,
            Op::FirstWords(n) => first_words(a, n) == first_words(b, n),
            Op::FirstChars(n) => first_chars(a, n) == first_chars(b, n),
            Op::Similar { method, threshold } => method.at_least(a, b, threshold),
        }
    }

    /// The part of a value equal records share (None: not an equality).
    fn key(self, v: &str) -> Option<&str> {
        match self {
            Op::Equal => Some(v),
            Op::FirstWords(n) => Some(first_words(v, n)),
            Op::FirstChars(n) => Some(first_chars(v, n)),
            Op::Similar { .. } => None,
        }
    }
}

/// A compiled comparison: its normalized columns (one per field), compared as one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cmp {
    pub derivs: Vec<usize>,
    pub op: Op,
    pub allow_empty: bool,
}

impl Cmp {
    pub fn matches(&self, d: &Derived, a: usize, b: usize) -> bool {
        let mut a_has = false;
        let mut b_has = false;
        for &ca in &self.derivs {
            let va = d.get(ca, a);
            if va.is_empty() {
                continue;
            }
            a_has = true;
            for &cb in &self.derivs {
                let vb = d.get(cb, b);
                if vb.is_empty() {
                    continue;
                }
                b_has = true;
                if self.op.test(va, vb) {
                    return true;
                }
            }
        }
        if !a_has {
            b_has = self.derivs.iter().any(|&c| !d.get(c, b).is_empty());
        }
        self.allow_empty && !a_has && !b_has
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub name: String,
    pub cmps: Vec<Cmp>,
    /// Indices (in `cmps`) of equality comparisons and of similar ones.
    eq: Vec<usize>,
    sim: Vec<usize>,
}

impl Rule {
    pub fn new(name: String, cmps: Vec<Cmp>) -> Self {
        let (sim, eq): (Vec<usize>, Vec<usize>) =
            (0..cmps.len()).partition(|&i| matches!(cmps[i].op, Op::Similar { .. }));
        Self {
            name,
            cmps,
            eq,
            sim,
        }
    }

    pub fn matches(&self, d: &Derived, a: usize, b: usize) -> bool {
        // Equalities first: they are cheap and usually decide.
        self.eq
            .iter()
            .chain(&self.sim)
            .all(|&i| self.cmps[i].matches(d, a, b))
    }

    fn equality_only(&self) -> bool {
        self.sim.is_empty()
    }
}

/// The normalized columns, one per derivation.
pub(crate) struct Derived {
    cols: Vec<Column>,
}

impl Derived {
    pub fn get(&self, col: usize, row: usize) -> &str {
        self.cols[col].get(row)
    }
}

pub(crate) fn threads_for(rows: usize) -> usize {
    if rows < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(16))
}

/// Row ranges, one per thread.
pub(crate) fn chunks(rows: usize, threads: usize) -> Vec<(usize, usize)> {
    let per = rows.div_ceil(threads.max(1)).max(1);
    (0..rows)
        .step_by(per)
        .map(|lo| (lo, (lo + per).min(rows)))
        .collect()
}

/// `f` over `items`, on up to `threads` threads, results in `items`' order: the one way
/// the merge engine spreads work over row ranges or workers.
pub(crate) fn run_all<I: Send, T: Send>(
    items: Vec<I>,
    threads: usize,
    f: impl Fn(I) -> T + Sync,
) -> Vec<T> {
    if threads <= 1 || items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let hs: Vec<_> = items.into_iter().map(|i| s.spawn(move || f(i))).collect();
        hs.into_iter()
            .map(|h| h.join().expect("a merge worker thread panicked"))
            .collect()
    })
}

/// Room for a chunk's share of `rows`: the first chunk's columns take every row, since
/// `join_chunks` appends the other chunks to them (no second copy of the whole).
pub(crate) fn chunk_room((lo, hi): (usize, usize), rows: usize) -> usize {
    if lo == 0 { rows } else { hi - lo }
}

/// `n` columns per chunk (from `run_all` over `chunks`) joined into `n` whole columns:
/// the first chunk's, with the others appended to them by `append`.
pub(crate) fn join_chunks<T: Default>(
    parts: Vec<Vec<T>>,
    n: usize,
    mut append: impl FnMut(&mut T, T),
) -> Vec<T> {
    let mut parts = parts.into_iter();
    let mut out = parts
        .next()
        .unwrap_or_else(|| (0..n).map(|_| T::default()).collect());
    for part in parts {
        for (col, piece) in out.iter_mut().zip(part) {
            append(col, piece);
        }
    }
    out
}

/// Every derivation of every record, computed in parallel.
pub(crate) fn derive(input: &MergeInput, derivations: &[Derivation], threads: usize) -> Derived {
    let rows = input.len();
    let part = |(lo, hi): (usize, usize)| -> Vec<Column> {
        let mut scratch = Scratch::default();
        derivations
            .iter()
            .map(|d| {
                let mut col = Column::with_capacity(chunk_room((lo, hi), rows));
                let region = match &d.norm {
                    Norm::Phone { region_field, .. } => *region_field,
                    _ => None,
                };
                for row in lo..hi {
                    let v = input.raw(row, d.field);
                    if !v.is_empty() {
                        let r = region.map(|f| input.raw(row, f));
                        d.norm.apply(v, r, col.buffer(), &mut scratch);
                    }
                    col.end_row();
                }
                col
            })
            .collect()
    };
    let parts: Vec<Vec<Column>> = run_all(chunks(rows, threads), threads, part);
    let cols = join_chunks(parts, derivations.len(), |col, piece| col.extend(&piece));
    Derived { cols }
}

/// Union-find over row numbers (path halving, union by size).
pub(crate) struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }

    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return false;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
        true
    }

    /// Every row's root.
    pub fn roots(&mut self) -> Vec<u32> {
        (0..self.parent.len() as u32)
            .map(|x| self.find(x))
            .collect()
    }
}

/// Counts of a clustering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Pairs blocking put together (a pair met in several blocks counts each time).
    pub candidates: u64,
    /// Pairs whose rules were evaluated (not already linked).
    pub compared: u64,
    /// Pairs that matched and were linked.
    pub matched: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.candidates += o.candidates;
        self.compared += o.compared;
        self.matched += o.matched;
    }
}

/// The clustering: every row's root, and for each root the rule sets that linked it.
pub(crate) struct Clusters {
    pub roots: Vec<u32>,
    /// Bit `r` set when rule set `r` linked records of the root's group.
    pub rules: Vec<u64>,
    pub counts: Counts,
}

/// Links the rows that `rules` match.
pub(crate) fn cluster(
    rules: &[Rule],
    derived: &Derived,
    ids: &Column,
    rows: usize,
    threads: usize,
) -> Clusters {
    let mut uf = UnionFind::new(rows);
    let mut counts = Counts::default();
    let mut linked: Vec<(u32, u8)> = Vec::new();
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_by_key(|&r| !rules[r].equality_only());
    for r in order {
        let roots = uf.roots();
        let (edges, c) = run_rule(&rules[r], derived, ids, &roots, threads);
        counts.add(c);
        for (a, b) in edges {
            uf.union(a, b);
            linked.push((a, r as u8));
        }
    }
    let roots = uf.roots();
    let mut masks = vec![0u64; rows];
    for (a, r) in linked {
        masks[roots[a as usize] as usize] |= 1 << r;
    }
    Clusters {
        roots,
        rules: masks,
        counts,
    }
}

const SEED: u64 = 0x243F_6A88_85A3_08D3;
const EMPTY: u64 = 0x1319_8A2E_0370_7344;

pub(crate) fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub(crate) fn hash(tag: u8, s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ u64::from(tag);
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    mix(h ^ (s.len() as u64).rotate_left(32))
}

pub(crate) fn combine(h: u64, k: u64) -> u64 {
    mix(h.rotate_left(23) ^ k.wrapping_add(0x9E37_79B9_7F4A_7C15))
}

/// The keys a comparison gives a record: equality keys of each value, or for `similar`
/// the value's first and last characters. Empty when the record cannot match.
fn comparison_keys(cmp: &Cmp, d: &Derived, row: usize, out: &mut Vec<u64>) {
    out.clear();
    for &c in &cmp.derivs {
        let v = d.get(c, row);
        if v.is_empty() {
            continue;
        }
        match cmp.op.key(v) {
            Some(k) => out.push(hash(1, k)),
            None => {
                let chars = v.chars().count();
                if chars <= AFFIX {
                    out.push(hash(2, v));
                } else {
                    out.push(hash(2, first_chars(v, AFFIX)));
                    let (at, _) = v.char_indices().nth(chars - AFFIX).unwrap_or((0, ' '));
                    out.push(hash(3, &v[at..]));
                }
            }
        }
    }
    if out.is_empty() && cmp.allow_empty {
        out.push(EMPTY);
    }
    out.sort_unstable();
    out.dedup();
}

/// The combined keys of `cmps` for a record (their cross product), into `out`.
fn keys(cmps: &[&Cmp], d: &Derived, row: usize, out: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    out.clear();
    out.push(SEED);
    for cmp in cmps {
        comparison_keys(cmp, d, row, tmp);
        if tmp.is_empty() {
            out.clear();
            return;
        }
        let before = out.len();
        for i in 0..before {
            let h = out[i];
            for &k in tmp.iter() {
                out.push(combine(h, k));
            }
        }
        out.drain(..before);
    }
}

/// Partitions of the key space, so each is sorted and scanned by one thread.
const PARTS: usize = 64;

fn part_of(h: u64) -> usize {
    (h >> 58) as usize
}

type Entries = Vec<(u64, u32)>;

/// One rule set: candidate pairs from its blocks, compared; the matching ones.
fn run_rule(
    rule: &Rule,
    derived: &Derived,
    ids: &Column,
    roots: &[u32],
    threads: usize,
) -> (Vec<(u32, u32)>, Counts) {
    let rows = roots.len();
    let block_cmps: Vec<&Cmp> = if rule.eq.is_empty() {
        rule.sim.iter().take(2).map(|&i| &rule.cmps[i]).collect()
    } else {
        rule.eq.iter().map(|&i| &rule.cmps[i]).collect()
    };
    // Keys, scattered by partition.
    let produce = |(lo, hi): (usize, usize)| -> Vec<Entries> {
        let mut parts: Vec<Entries> = (0..PARTS).map(|_| Vec::new()).collect();
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        for row in lo..hi {
            keys(&block_cmps, derived, row, &mut out, &mut tmp);
            for &k in &out {
                parts[part_of(k)].push((k, row as u32));
            }
        }
        parts
    };
    let produced: Vec<Vec<Entries>> = run_all(chunks(rows, threads), threads, produce);
    let mut by_part: Vec<Vec<Entries>> = (0..PARTS).map(|_| Vec::new()).collect();
    for producer in produced {
        for (p, entries) in producer.into_iter().enumerate() {
            if !entries.is_empty() {
                by_part[p].push(entries);
            }
        }
    }
    let work: Vec<Mutex<Vec<Entries>>> = by_part.into_iter().map(Mutex::new).collect();
    let next = AtomicUsize::new(0);
    let consume = || -> (Vec<(u32, u32)>, Counts) {
        let mut w = Worker {
            rule,
            derived,
            ids,
            uf: roots.to_vec(),
            edges: Vec::new(),
            counts: Counts::default(),
        };
        loop {
            let p = next.fetch_add(1, Ordering::Relaxed);
            if p >= PARTS {
                break;
            }
            let pieces = std::mem::take(&mut *work[p].lock().expect("a blocking thread panicked"));
            let mut entries: Entries = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
            for piece in pieces {
                entries.extend(piece);
            }
            entries.sort_unstable();
            let mut members: Vec<u32> = Vec::new();
            let mut i = 0;
            while i < entries.len() {
                let key = entries[i].0;
                let mut j = i;
                members.clear();
                while j < entries.len() && entries[j].0 == key {
                    members.push(entries[j].1);
                    j += 1;
                }
                if members.len() > 1 {
                    w.block(&members, !rule.eq.is_empty());
                }
                i = j;
            }
        }
        (w.edges, w.counts)
    };
    let results: Vec<(Vec<(u32, u32)>, Counts)> = if threads <= 1 {
        vec![consume()]
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|_| s.spawn(consume)).collect();
            hs.into_iter()
                .map(|h| h.join().expect("a comparing thread panicked"))
                .collect()
        })
    };
    let mut edges = Vec::new();
    let mut counts = Counts::default();
    for (e, c) in results {
        edges.extend(e);
        counts.add(c);
    }
    counts.matched = edges.len() as u64;
    // The same edge order whatever the threads did, for reproducible unions.
    edges.sort_unstable();
    (edges, counts)
}

struct Worker<'a> {
    rule: &'a Rule,
    derived: &'a Derived,
    ids: &'a Column,
    /// This thread's links, over the roots the earlier rule sets left.
    uf: Vec<u32>,
    edges: Vec<(u32, u32)>,
    counts: Counts,
}

impl Worker<'_> {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.uf[x as usize] != x {
            let p = self.uf[x as usize];
            self.uf[x as usize] = self.uf[p as usize];
            x = self.uf[x as usize];
        }
        x
    }

    fn pair(&mut self, a: u32, b: u32) -> bool {
        self.counts.candidates += 1;
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        self.counts.compared += 1;
        if self.rule.matches(self.derived, a as usize, b as usize) {
            self.uf[ra.max(rb) as usize] = ra.min(rb);
            self.edges.push((a.min(b), a.max(b)));
            true
        } else {
            false
        }
    }

    /// One block. `sub_block`: it came from equality keys and may be split by the
    /// similar comparisons' keys.
    fn block(&mut self, members: &[u32], sub_block: bool) {
        if members.len() < 2 {
            return;
        }
        if self.rule.equality_only() {
            // Every record of the block shares the key: each matches the first it is
            // tried against (more than one representative only on a hash collision).
            let mut reps: Vec<u32> = Vec::with_capacity(1);
            for &m in members {
                if !reps.iter().any(|&r| self.pair(r, m)) {
                    reps.push(m);
                }
            }
            return;
        }
        if members.len() <= MAX_BLOCK {
            for (i, &a) in members.iter().enumerate() {
                for &b in &members[i + 1..] {
                    self.pair(a, b);
                }
            }
            return;
        }
        if sub_block {
            let cmps: Vec<&Cmp> = self
                .rule
                .sim
                .iter()
                .take(2)
                .map(|&i| &self.rule.cmps[i])
                .collect();
            let (mut out, mut tmp) = (Vec::new(), Vec::new());
            let mut entries: Entries = Vec::with_capacity(members.len() * 2);
            for &m in members {
                keys(&cmps, self.derived, m as usize, &mut out, &mut tmp);
                entries.extend(out.iter().map(|&k| (k, m)));
            }
            entries.sort_unstable();
            let mut i = 0;
            let mut sub: Vec<u32> = Vec::new();
            while i < entries.len() {
                let key = entries[i].0;
                sub.clear();
                while i < entries.len() && entries[i].0 == key {
                    sub.push(entries[i].1);
                    i += 1;
                }
                self.block(&sub, false);
            }
            return;
        }
        self.neighbourhood(members);
    }

    /// Pairs within `WINDOW` of each other once sorted by the first similar value (ids
    /// break ties, so the input's order never matters).
    fn neighbourhood(&mut self, members: &[u32]) {
        let cmp = &self.rule.cmps[self.rule.sim[0]];
        let col = cmp.derivs[0];
        let mut sorted = members.to_vec();
        let (d, ids) = (self.derived, self.ids);
        sorted.sort_by(|&a, &b| {
            d.get(col, a as usize)
                .cmp(d.get(col, b as usize))
                .then_with(|| ids.get(a as usize).cmp(ids.get(b as usize)))
                .then(a.cmp(&b))
        });
        for i in 0..sorted.len() {
            for j in i + 1..(i + WINDOW).min(sorted.len()) {
                self.pair(sorted[i], sorted[j]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derived(values: &[&str]) -> Derived {
        let mut col = Column::default();
        for v in values {
            col.push(v);
        }
        Derived { cols: vec![col] }
    }

    fn cmp(op: Op, allow_empty: bool) -> Cmp {
        Cmp {
            derivs: vec![0],
            op,
            allow_empty,
        }
    }

    #[test]
    fn empty_values_match_only_when_allowed() {
        let d = derived(&["", "", "x"]);
        assert!(!cmp(Op::Equal, false).matches(&d, 0, 1));
        assert!(cmp(Op::Equal, true).matches(&d, 0, 1));
        assert!(!cmp(Op::Equal, true).matches(&d, 0, 2));
        assert!(!cmp(Op::Equal, true).matches(&d, 2, 0));
    }

    #[test]
    fn related_fields_match_across() {
        let mut a = Column::default();
        let mut b = Column::default();
        for (x, y) in [("a@x.co", ""), ("", "a@x.co"), ("b@x.co", "c@x.co")] {
            a.push(x);
            b.push(y);
        }
        let d = Derived { cols: vec![a, b] };
        let c = Cmp {
            derivs: vec![0, 1],
            op: Op::Equal,
            allow_empty: false,
        };
        assert!(c.matches(&d, 0, 1));
        assert!(c.matches(&d, 1, 0));
        assert!(!c.matches(&d, 0, 2));
    }

    #[test]
    fn ops_compare_prefixes_and_similarity() {
        assert!(Op::FirstWords(1).test("john a", "john"));
        assert!(!Op::FirstWords(2).test("john a", "john b"));
        assert!(Op::FirstChars(3).test("smith", "smithe"));
        assert!(!Op::FirstChars(3).test("smith", "snith"));
        let sim = Op::Similar {
            method: Method::JaroWinkler,
            threshold: 0.9,
        };
        assert!(sim.test("martha", "marhta"));
        assert!(!sim.test("martha", "mary"));
    }

    #[test]
    fn union_find_links_transitively() {
        let mut uf = UnionFind::new(5);
        assert!(uf.union(0, 1));
        assert!(uf.union(3, 1));
        assert!(!uf.union(0, 3));
        let roots = uf.roots();
        assert_eq!(roots[0], roots[3]);
        assert_ne!(roots[0], roots[2]);
        assert_ne!(roots[4], roots[2]);
    }

    #[test]
    fn similar_keys_survive_a_typo_at_either_end() {
        let d = derived(&["jonathan", "jpnathan", "jonathon", "smith"]);
        let c = cmp(
            Op::Similar {
                method: Method::JaroWinkler,
                threshold: 0.8,
            },
            false,
        );
        let keys_of = |row| {
            let mut out = Vec::new();
            comparison_keys(&c, &d, row, &mut out);
            out
        };
        let shares = |a: usize, b: usize| keys_of(a).iter().any(|k| keys_of(b).contains(k));
        assert!(shares(0, 1), "same end");
        assert!(shares(0, 2), "same start");
        assert!(!shares(0, 3));
    }

    #[test]
    fn chunks_cover_every_row_once() {
        for (rows, threads) in [(0, 2), (1, 2), (10, 3), (4096, 2)] {
            let c = chunks(rows, threads);
            let covered: usize = c.iter().map(|(lo, hi)| hi - lo).sum();
            assert_eq!(covered, rows);
            assert!(c.windows(2).all(|w| w[0].1 == w[1].0));
        }
    }
}
