//! A scored run: values prepared, blocking keys hashed into partitions, the model trained
//! (unless given) on bounded samples, then every candidate pair scored on every core.
//!
//! Blocking: a record's key is the hashes of its normalized values of the key's fields
//! (name fields of one key in either order, so swapped names share it). Blocks up to
//! `MAX_BLOCK` records are compared pair by pair; larger ones in a sliding window once
//! sorted by a field outside the key (sorted neighbourhood). A pair that an earlier key
//! also blocks is scored there only.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::super::input::MergeInput;
use super::super::matching::{
    MAX_BLOCK, WINDOW, chunk_room, chunks, combine, hash, join_chunks, mix, run_all,
};
use super::compare::{FieldData, MISSING, ScoreCompare, Spec, derive, level};
use super::em::{Learn, MIN_PAIRS, em, level_shares};
use super::{Given, Key, MAX_BLOCKING_KEYS, ScoreModel, Scorer, bits, is_area};

/// Random pairs that estimate u.
pub(crate) const U_PAIRS: usize = 100_000;
/// Derived keys are loosened (a name dropped from a key) while the pairs the loosened
/// keys block stay within one per `LOOSE_RECORDS_PER_PAIR` records, or `LOOSE_MIN_PAIRS`
/// in all: a few thousand records are compared as widely as splink's usual blocking, a
/// million keep the tight keys (and their speed).
pub(crate) const LOOSE_RECORDS_PER_PAIR: u64 = 2;
pub(crate) const LOOSE_MIN_PAIRS: u64 = 300_000;
/// Candidate pairs per blocking key that EM trains on.
pub(crate) const EM_PAIRS: usize = 30_000;
/// A value's share of the records counts as at least this times the field's average
/// exact-agreement rate (splink's `tf_minimum_u_value`, relative): a last name two records
/// in a million share says as much about who was sampled as about the name, and one
/// household's rare name at one address would otherwise outweigh every disagreement.
pub(crate) const TF_FLOOR: f64 = 0.3;
const PARTS: usize = 64;
const SEED: u64 = 0x5EED_0019_DEAD_BEEF;

/// A pair at or above the review threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scored {
    pub a: u32,
    pub b: u32,
    /// Log2 odds of a match.
    pub bits: f32,
}

/// Weights of a model over these records.
pub(crate) struct Weights {
    pub prior: f32,
    /// Term-frequency fields: the exact level's weight for each record's value.
    exact: Vec<Option<Vec<f32>>>,
    /// The weights between records in general (first), then between records sharing a
    /// place field's value (`given`).
    tables: Vec<Table>,
    /// (place, table), the most specific place field first: a pair at the place
    /// (`Place::holds`) is weighed by the first such table.
    given: Vec<(Place, usize)>,
}

/// The levels of one pair, each computed once (fields past the first 64: every time).
pub(crate) struct Levels<'a> {
    specs: &'a [Spec],
    data: &'a [FieldData],
    a: usize,
    b: usize,
    known: [u8; 64],
}

impl<'a> Levels<'a> {
    const UNKNOWN: u8 = u8::MAX;

    pub(crate) fn new(specs: &'a [Spec], data: &'a [FieldData], a: usize, b: usize) -> Self {
        Self {
            specs,
            data,
            a,
            b,
            known: [Self::UNKNOWN; 64],
        }
    }

    pub(crate) fn of(&mut self, f: usize) -> u8 {
        match self.known.get(f) {
            Some(&l) if l != Self::UNKNOWN => l,
            _ => {
                let l = level(self.specs, self.data, f, self.a, self.b);
                if let Some(k) = self.known.get_mut(f) {
                    *k = l;
                }
                l
            }
        }
    }
}

/// Two records at one place by a field of a group: they share its value (one at most
/// `MAX_BLOCK` records have) and every other part of the place both have is equal or
/// nearly (its first level below exact), except phones
/// (people at one address keep their own lines) and areas (`AREA_NAMES`: a town written
/// two ways is one place; how often it differs there is learned).
pub(crate) struct Place {
    pub field: usize,
    parts: Vec<usize>,
}

impl Place {
    fn new(field: usize, specs: &[Spec], names: &[String], groups: &[Vec<usize>]) -> Self {
        let mut parts: Vec<usize> = groups
            .iter()
            .filter(|g| g.contains(&field))
            .flatten()
            .copied()
            .filter(|&f| f != field && specs[f].kind != ScoreCompare::Phone && !is_area(&names[f]))
            .collect();
        // Cheap comparisons first: a postcode that differs decides before the street's
        // Jaro–Winkler would run.
        parts.sort_by_key(|&f| (specs[f].kind.cost(), f));
        Self { field, parts }
    }

    fn holds(&self, l: &mut Levels) -> bool {
        let d = &l.data[self.field];
        let h = d.hash[l.a];
        h != 0 && h == d.hash[l.b] && d.count[l.a] as usize <= MAX_BLOCK && self.parts_agree(l)
    }

    /// Near the place: its field at the nearest level below exact, the parts as `holds`
    /// (checked first: they are often cheaper).
    fn near(&self, l: &mut Levels) -> bool {
        let d = &l.data[self.field];
        let (x, y) = (d.hash[l.a], d.hash[l.b]);
        x != 0 && y != 0 && x != y && self.parts_agree(l) && l.of(self.field) == 1
    }

    fn parts_agree(&self, l: &mut Levels) -> bool {
        self.parts.iter().all(|&f| {
            let (x, y) = (l.data[f].hash[l.a], l.data[f].hash[l.b]);
            // Missing, equal, or the nearest level below exact (`Rd` and `Road`).
            x == 0 || y == 0 || x == y || l.of(f) <= 1
        })
    }
}

/// The place a pair is weighed by: at it, or near it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
    pub field: usize,
    pub near: bool,
}

/// Weights of one kind of pair.
struct Table {
    /// Per field per level, in bits.
    level: Vec<Vec<f32>>,
    /// Per field, the most its exact level weighs (a rarer value's weight is capped).
    cap: Vec<f32>,
    /// Per field, added to its term-frequency exact weight.
    shift: Vec<f32>,
    /// Per field, the most its levels other than exact weigh.
    inexact: Vec<f32>,
    /// What a pair is scored by, in order (cheap comparisons first): single fields, and
    /// groups whose strongest member counts.
    units: Vec<Vec<usize>>,
}

impl Table {
    fn new(m: &[Vec<f64>], u: &[Vec<f64>], specs: &[Spec], groups: &[Vec<usize>]) -> Self {
        let level: Vec<Vec<f32>> = m
            .iter()
            .zip(u)
            .map(|(m, u)| {
                m.iter()
                    .zip(u)
                    .map(|(m, u)| (m / u).log2() as f32)
                    .collect()
            })
            .collect();
        let inexact: Vec<f32> = level
            .iter()
            .map(|l| l[1..].iter().copied().fold(f32::MIN, f32::max))
            .collect();
        let mut units: Vec<Vec<usize>> = groups.to_vec();
        units.extend(
            (0..specs.len())
                .filter(|f| !groups.iter().any(|g| g.contains(f)))
                .map(|f| vec![f]),
        );
        let unit_cost = |u: &Vec<usize>| u.iter().map(|&f| specs[f].kind.cost()).max();
        units.sort_by_key(|u| (unit_cost(u), u[0]));
        Self {
            cap: vec![f32::MAX; level.len()],
            shift: vec![0.0; level.len()],
            level,
            inexact,
            units,
        }
    }
}

/// What a scored run found.
pub(crate) struct Outcome {
    pub data: Vec<FieldData>,
    pub weights: Weights,
    pub model: ScoreModel,
    /// Pairs at or above the review threshold, most likely first.
    pub pairs: Vec<Scored>,
    pub candidates: u64,
    pub compared: u64,
    pub u_pairs: u64,
    pub em_pairs: u64,
}

impl Weights {
    fn new(
        model: &ScoreModel,
        specs: &[Spec],
        names: &[String],
        data: &[FieldData],
        groups: &[Vec<usize>],
    ) -> Self {
        let (m, u) = model.tables();
        let exact: Vec<Option<Vec<f32>>> = specs
            .iter()
            .zip(data)
            .enumerate()
            .map(|(f, (s, d))| {
                if !s.kind.term_frequency() {
                    return None;
                }
                let present = d.present().max(1) as f64;
                let m0 = m[f][0];
                let floor = u[f][0] * TF_FLOOR;
                Some(
                    d.count
                        .iter()
                        .map(|&c| {
                            if c == 0 {
                                0.0
                            } else {
                                (m0 / (f64::from(c) / present).max(floor)).log2() as f32
                            }
                        })
                        .collect(),
                )
            })
            .collect();
        let prior = bits(model.prior) as f32;
        let mut tables = vec![Table::new(&m, &u, specs, groups)];
        let mut given = Vec::new();
        let position = |name: &str| names.iter().position(|n| n == name);
        for g in &model.given {
            let Some(p) = position(&g.field) else {
                continue;
            };
            let mut uc = u.clone();
            for gf in &g.fields {
                if let Some(f) = position(&gf.field)
                    && gf.u.len() == uc[f].len()
                {
                    uc[f].clone_from(&gf.u);
                }
            }
            // The place's group counts field by field: its other fields' u are the ones
            // between records at that place.
            let others: Vec<Vec<usize>> =
                groups.iter().filter(|x| !x.contains(&p)).cloned().collect();
            let mut t = Table::new(&m, &uc, specs, &others);
            for f in (0..specs.len()).filter(|&f| f != p) {
                t.cap[f] = t.level[f][0];
            }
            // Sharing the value says what the share of duplicates among such pairs does
            // (a rarer value, a little more).
            let shared = bits(g.share) as f32 - prior;
            t.shift[p] = shared - t.level[p][0];
            t.level[p][0] = shared;
            tables.push(t);
            given.push((Place::new(p, specs, names, groups), tables.len() - 1));
        }
        given.sort_by(|x, y| {
            let (a, b) = (x.0.field, y.0.field);
            u[a][0].total_cmp(&u[b][0]).then(a.cmp(&b))
        });
        Self {
            prior,
            exact,
            tables,
            given,
        }
    }

    /// The table of a pair, and the place it is weighed by (if any): the first place the
    /// pair is at, else the first it is near.
    fn table(&self, l: &mut Levels) -> (&Table, Option<Placed>) {
        for near in [false, true] {
            for (place, t) in &self.given {
                if if near { place.near(l) } else { place.holds(l) } {
                    let field = place.field;
                    return (&self.tables[*t], Some(Placed { field, near }));
                }
            }
        }
        (&self.tables[0], None)
    }

    /// Each field's weight for records `a` and `b` (missing: none) and whether it counts (of
    /// a group weighed once, only the strongest member present counts); and the place the
    /// pair is weighed by, if any.
    pub fn per_field(
        &self,
        specs: &[Spec],
        data: &[FieldData],
        a: usize,
        b: usize,
    ) -> (Vec<(u8, f32, bool)>, Option<Placed>) {
        let mut levels = Levels::new(specs, data, a, b);
        let (t, placed) = self.table(&mut levels);
        let mut out: Vec<(u8, f32, bool)> = (0..specs.len())
            .map(|f| {
                let l = levels.of(f);
                (l, self.of(t, f, l, a), true)
            })
            .collect();
        for u in t.units.iter().filter(|u| u.len() > 1) {
            let strongest = u
                .iter()
                .copied()
                .filter(|&f| out[f].0 != MISSING)
                .max_by(|&x, &y| out[x].1.total_cmp(&out[y].1).then(y.cmp(&x)));
            for &f in u {
                out[f].2 = Some(f) == strongest;
            }
        }
        (out, placed)
    }

    /// The weight of field `f` at level `l` for records `a` (and `b`) in table `t`.
    fn of(&self, t: &Table, f: usize, l: u8, a: usize) -> f32 {
        if l == MISSING {
            return 0.0;
        }
        match (&self.exact[f], l) {
            (Some(e), 0) => (e[a] + t.shift[f]).min(t.cap[f]),
            _ => t.level[f][l as usize],
        }
    }

    /// The pair's log2 odds, or None as soon as it cannot reach `floor`.
    pub fn score(
        &self,
        specs: &[Spec],
        data: &[FieldData],
        a: usize,
        b: usize,
        floor: f32,
    ) -> Option<f32> {
        let mut levels = Levels::new(specs, data, a, b);
        let (t, _) = self.table(&mut levels);
        // `s` starts as the most the pair could score: a field whose values are missing
        // weighs 0, equal values (same hash) their exact weight, others at most their best
        // other level. Each unit compared replaces its bound by its weight, so `s` stays an
        // upper bound: equality tests decide most pairs before any Jaro–Winkler runs.
        let top = |f: usize| {
            let (x, y) = (data[f].hash[a], data[f].hash[b]);
            if x == 0 || y == 0 {
                0.0
            } else if x == y {
                self.of(t, f, 0, a)
            } else {
                t.inexact[f]
            }
        };
        let unit_top = |u: &[usize]| u.iter().map(|&f| top(f)).fold(f32::MIN, f32::max);
        let mut s = self.prior;
        for u in &t.units {
            s += unit_top(u);
        }
        for u in &t.units {
            if s < floor {
                return None;
            }
            let w = if let [f] = u[..] {
                self.of(t, f, levels.of(f), a)
            } else {
                // A group: its strongest member present (none present: 0).
                u.iter()
                    .filter_map(|&f| {
                        let l = levels.of(f);
                        (l != MISSING).then(|| self.of(t, f, l, a))
                    })
                    .fold(None, |m: Option<f32>, w| Some(m.map_or(w, |m| m.max(w))))
                    .unwrap_or(0.0)
            };
            s += w - unit_top(u);
        }
        (s >= floor).then_some(s)
    }
}

/// Per key, per alternative (a key with name prefixes has one per name field), per record:
/// the key's hash (its index in the low 4 bits), 0 for none.
type KeyHashes = Vec<Vec<Vec<u64>>>;

fn key_hashes(
    keys: &[Key],
    specs: &[Spec],
    data: &[FieldData],
    rows: usize,
    threads: usize,
) -> KeyHashes {
    let tag = |h: u64, k: usize| (h & !0xF) | k as u64 | 0x10;
    // The key's hash without name prefixes, or 0.
    let base = |k: usize, key: &Key, row: usize, names: &mut Vec<u64>| -> u64 {
        names.clear();
        let mut h = mix(SEED ^ k as u64);
        for &f in &key.fields {
            let v = data[f].hash[row];
            if v == 0 {
                return 0;
            }
            if specs[f].kind == ScoreCompare::Name {
                names.push(v);
            } else {
                h = combine(h, v);
            }
        }
        names.sort_unstable();
        for &v in names.iter() {
            h = combine(h, v);
        }
        h
    };
    // A name's first two letters (one for a one-letter name).
    let prefix = |f: usize, row: usize| -> Option<u64> {
        (data[f].hash[row] != 0).then(|| {
            let mut c = data[f].value(row).chars();
            let x = c.next().map_or(0, u64::from);
            let y = c.next().map_or(0, u64::from);
            x << 32 | y
        })
    };
    let part = |(lo, hi): (usize, usize)| -> KeyHashes {
        let mut names = Vec::new();
        keys.iter()
            .enumerate()
            .map(|(k, key)| {
                let alts = key.prefixes.len().max(1);
                let mut cols: Vec<Vec<u64>> =
                    vec![Vec::with_capacity(chunk_room((lo, hi), rows)); alts];
                for r in lo..hi {
                    let h = base(k, key, r, &mut names);
                    if key.prefixes.is_empty() || h == 0 {
                        cols[0].push(if h == 0 { 0 } else { tag(h, k) });
                        cols.iter_mut().skip(1).for_each(|c| c.push(0));
                        continue;
                    }
                    // One entry per distinct prefix; none: the key alone.
                    let mut seen: Vec<u64> = Vec::with_capacity(alts);
                    for (j, &f) in key.prefixes.iter().enumerate() {
                        let v = match prefix(f, r) {
                            Some(c) if !seen.contains(&c) => {
                                seen.push(c);
                                tag(combine(h, c), k)
                            }
                            _ => 0,
                        };
                        cols[j].push(v);
                    }
                    if seen.is_empty() {
                        cols[0][r - lo] = tag(h, k);
                    }
                }
                cols
            })
            .collect()
    };
    let parts: Vec<KeyHashes> = run_all(chunks(rows, threads), threads, part);
    join_chunks(parts, keys.len(), |cols, piece| {
        for (c, v) in cols.iter_mut().zip(piece) {
            c.extend(v);
        }
    })
}

/// Whether records `a` and `b` share a hash of `key` (below `before`, if given).
fn shares(key: &[Vec<u64>], a: usize, b: usize, before: u64) -> bool {
    key.iter().any(|x| {
        let h = x[a];
        h != 0 && h < before && key.iter().any(|y| y[b] == h)
    })
}

/// Each worker's state through `block` (the block's key hash, its records), partitions
/// handed out one at a time.
fn visit<W: Send>(
    parts: &[Vec<(u64, u32)>],
    threads: usize,
    make: impl Fn() -> W + Sync,
    block: impl Fn(&mut W, u64, &[u32]) + Sync,
) -> Vec<W> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut w = make();
        let mut members: Vec<u32> = Vec::new();
        loop {
            let p = next.fetch_add(1, Ordering::Relaxed);
            let Some(entries) = parts.get(p) else { break };
            let mut i = 0;
            while i < entries.len() {
                let key = entries[i].0;
                members.clear();
                while i < entries.len() && entries[i].0 == key {
                    members.push(entries[i].1);
                    i += 1;
                }
                if members.len() > 1 {
                    block(&mut w, key, &members);
                }
            }
        }
        w
    };
    run_all((0..threads.max(1)).collect(), threads, |_| work())
}

impl Scorer {
    /// The field a key's oversized blocks are sorted by: the first name or text field
    /// outside the key, else the first field outside it.
    fn sort_field(&self, key: &[usize]) -> usize {
        let outside: Vec<usize> = (0..self.specs.len()).filter(|f| !key.contains(f)).collect();
        outside
            .iter()
            .copied()
            .find(|&f| {
                matches!(
                    self.specs[f].kind,
                    ScoreCompare::Name | ScoreCompare::Text | ScoreCompare::Company
                )
            })
            .or(outside.first().copied())
            .unwrap_or(0)
    }

    /// Every pair of a block: all of them, or a window over the sorted members.
    fn pairs(
        &self,
        data: &[FieldData],
        idh: &[u64],
        key: usize,
        members: &[u32],
        mut f: impl FnMut(u32, u32),
    ) {
        if members.len() <= MAX_BLOCK {
            for (i, &a) in members.iter().enumerate() {
                for &b in &members[i + 1..] {
                    f(a, b);
                }
            }
            return;
        }
        let col = &data[self.sort_field(&self.keys[key].fields)];
        let mut sorted = members.to_vec();
        sorted.sort_by(|&a, &b| {
            col.value(a as usize)
                .cmp(col.value(b as usize))
                .then(idh[a as usize].cmp(&idh[b as usize]))
        });
        for i in 0..sorted.len() {
            for j in i + 1..(i + WINDOW).min(sorted.len()) {
                f(sorted[i], sorted[j]);
            }
        }
    }

    fn levels_into(&self, data: &[FieldData], a: usize, b: usize, out: &mut Vec<u8>) {
        for f in 0..self.specs.len() {
            out.push(level(&self.specs, data, f, a, b));
        }
    }

    /// Scores `input`'s records: every candidate pair at or above the review threshold.
    pub(crate) fn run(&self, input: &MergeInput, threads: usize) -> Outcome {
        let data = derive(input, &self.specs, threads);
        if self.derived {
            let keys = loosened(&self.keys, &self.specs, &data, input.len());
            if keys != self.keys {
                let loose = Scorer {
                    keys,
                    ..self.clone()
                };
                return loose.run_on(input, data, threads);
            }
        }
        self.run_on(input, data, threads)
    }

    fn run_on(&self, input: &MergeInput, data: Vec<FieldData>, threads: usize) -> Outcome {
        let rows = input.len();
        let (trace, lap) = (super::super::tracing(), super::super::lap);
        lap("derived");
        let idh: Vec<u64> = (0..rows).map(|r| hash(7, input.id(r))).collect();
        let mut keys = key_hashes(&self.keys, &self.specs, &data, rows, threads);

        // Entries (key hash, row), partitioned by the hash's top bits, each sorted.
        let mut sizes = [0usize; PARTS];
        for col in keys.iter().flatten() {
            for &h in col.iter().filter(|&&h| h != 0) {
                sizes[(h >> 58) as usize] += 1;
            }
        }
        let mut parts: Vec<Vec<(u64, u32)>> =
            sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
        for col in keys.iter().flatten() {
            for (r, &h) in col.iter().enumerate() {
                if h != 0 {
                    parts[(h >> 58) as usize].push((h, r as u32));
                }
            }
        }
        let parts: Vec<Vec<(u64, u32)>> = run_all(
            chunk_parts(parts, threads),
            threads,
            |mut ps: Vec<Vec<(u64, u32)>>| {
                ps.iter_mut().for_each(|p| p.sort_unstable());
                ps
            },
        )
        .into_iter()
        .flatten()
        .collect();

        // A pair an earlier key blocks is skipped, unless that key's block was too large
        // to compare every pair of: its records lose that key for the check.
        for p in &parts {
            let mut i = 0;
            while i < p.len() {
                let mut j = i;
                while j < p.len() && p[j].0 == p[i].0 {
                    j += 1;
                }
                if j - i > MAX_BLOCK {
                    let (h, k) = (p[i].0, (p[i].0 & 0xF) as usize);
                    for &(_, r) in &p[i..j] {
                        for col in &mut keys[k] {
                            if col[r as usize] == h {
                                col[r as usize] = 0;
                            }
                        }
                    }
                }
                i = j;
            }
        }

        lap("blocked");
        let (model, u_pairs, em_pairs) = match &self.model {
            Some(m) => (m.clone(), 0, 0),
            None => self.train(&data, &idh, &parts, rows, threads),
        };
        lap("trained");
        let weights = Weights::new(&model, &self.specs, &self.names, &data, &self.groups);
        let floor = bits(self.review) as f32;

        struct W {
            pairs: Vec<Scored>,
            /// Per key: candidate pairs, pairs compared.
            per_key: Vec<(u64, u64)>,
        }
        let workers = visit(
            &parts,
            threads,
            || W {
                pairs: Vec::new(),
                per_key: vec![(0, 0); self.keys.len()],
            },
            |w, h, members| {
                let k = (h & 0xF) as usize;
                self.pairs(&data, &idh, k, members, |a, b| {
                    w.per_key[k].0 += 1;
                    let (a, b) = (a as usize, b as usize);
                    // Scored in the first block the pair shares: an earlier key's, or
                    // this key's under a smaller hash (two name prefixes shared).
                    if keys[..k].iter().any(|key| shares(key, a, b, u64::MAX))
                        || shares(&keys[k], a, b, h)
                    {
                        return;
                    }
                    w.per_key[k].1 += 1;
                    if let Some(s) = weights.score(&self.specs, &data, a, b, floor) {
                        w.pairs.push(Scored {
                            a: a as u32,
                            b: b as u32,
                            bits: s,
                        });
                    }
                });
            },
        );
        lap("scored");
        let mut pairs = Vec::new();
        let mut per_key = vec![(0u64, 0u64); self.keys.len()];
        for w in workers {
            for (t, x) in per_key.iter_mut().zip(&w.per_key) {
                t.0 += x.0;
                t.1 += x.1;
            }
            pairs.extend(w.pairs);
        }
        let candidates: u64 = per_key.iter().map(|k| k.0).sum();
        let compared: u64 = per_key.iter().map(|k| k.1).sum();
        let tie = |s: &Scored| {
            let (x, y) = (idh[s.a as usize], idh[s.b as usize]);
            (x.min(y), x.max(y))
        };
        pairs.sort_by(|x, y| y.bits.total_cmp(&x.bits).then_with(|| tie(x).cmp(&tie(y))));
        // A pair two oversized blocks both windowed is scored twice: keep it once.
        pairs.dedup_by(|x, y| (x.a.min(x.b), x.a.max(x.b)) == (y.a.min(y.b), y.a.max(y.b)));
        lap("pairs sorted");
        if trace {
            for (k, (c, n)) in per_key.iter().enumerate() {
                let names: Vec<&str> = self.keys[k]
                    .fields
                    .iter()
                    .map(|&f| self.names[f].as_str())
                    .collect();
                eprintln!("score: key {names:?}: {c} candidates, {n} compared");
            }
            eprintln!(
                "score: {candidates} candidates, {compared} compared, {} kept; {:?}",
                pairs.len(),
                model
            );
        }
        Outcome {
            data,
            weights,
            model,
            pairs,
            candidates,
            compared,
            u_pairs,
            em_pairs,
        }
    }

    /// The model learned from these records: u from random pairs (and exact agreement's
    /// from the value counts), m and the prior by EM per blocking key.
    fn train(
        &self,
        data: &[FieldData],
        idh: &[u64],
        parts: &[Vec<(u64, u32)>],
        rows: usize,
        threads: usize,
    ) -> (ScoreModel, u64, u64) {
        let nf = self.specs.len();
        let nlevels: Vec<usize> = self.specs.iter().map(|s| s.kind.levels().len()).collect();
        let prior_m: Vec<Vec<f64>> = self
            .specs
            .iter()
            .map(|s| s.kind.prior_m().to_vec())
            .collect();
        let prior_u: Vec<Vec<f64>> = self
            .specs
            .iter()
            .map(|s| s.kind.prior_u().to_vec())
            .collect();

        // u: random pairs, drawn over the records in id-hash order (so the input's order
        // does not matter), seeded.
        let mut order: Vec<u32> = (0..rows as u32).collect();
        order.sort_unstable_by_key(|&r| (idh[r as usize], r));
        let all = rows.saturating_mul(rows.saturating_sub(1)) / 2;
        let picks: Vec<(u32, u32)> = if all <= U_PAIRS {
            (0..rows)
                .flat_map(|i| (i + 1..rows).map(move |j| (i, j)))
                .map(|(i, j)| (order[i], order[j]))
                .collect()
        } else {
            let mut state = SEED;
            let mut next = || {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                mix(state)
            };
            (0..U_PAIRS)
                .filter_map(|_| {
                    let i = (next() % rows as u64) as usize;
                    let j = (next() % rows as u64) as usize;
                    (i != j).then(|| (order[i], order[j]))
                })
                .collect()
        };
        let per = picks.len().div_ceil(threads.max(1)).max(1);
        let sample: Vec<u8> = run_all(
            picks.chunks(per).collect(),
            threads,
            |c: &[(u32, u32)]| {
                let mut out = Vec::with_capacity(c.len() * nf);
                for &(a, b) in c {
                    self.levels_into(data, a as usize, b as usize, &mut out);
                }
                out
            },
        )
        .concat();
        let u_pairs = (sample.len() / nf.max(1)) as u64;
        let mut u = level_shares(&sample, &nlevels, &prior_u);
        for (f, d) in data.iter().enumerate() {
            // Exact agreement between random records, from the value counts.
            let present = d.present() as f64;
            if present >= 2.0 {
                let same: f64 = d
                    .count
                    .iter()
                    .map(|&c| f64::from(c.saturating_sub(1)))
                    .sum();
                u[f][0] = (same / (present * (present - 1.0))).max(0.5 / (present * present));
            }
        }

        // m: EM per blocking key over a sample of its candidate pairs.
        let nkeys = self.keys.len();
        let mut totals = vec![0u64; nkeys];
        for p in parts {
            let mut i = 0;
            while i < p.len() {
                let mut j = i;
                while j < p.len() && p[j].0 == p[i].0 {
                    j += 1;
                }
                let s = (j - i) as u64;
                let k = (p[i].0 & 0xF) as usize;
                totals[k] += if s as usize <= MAX_BLOCK {
                    s * (s - 1) / 2
                } else {
                    (0..s).map(|x| (WINDOW as u64 - 1).min(s - 1 - x)).sum()
                };
                i = j;
            }
        }
        let rate: Vec<u64> = totals
            .iter()
            .zip(&self.keys)
            .map(|(&t, key)| if key.loose { 0 } else { sample_rate(t) })
            .collect();
        let workers = visit(
            parts,
            threads,
            || vec![Vec::<(u64, Vec<u8>)>::new(); nkeys],
            |w, h, members| {
                let k = (h & 0xF) as usize;
                if self.keys[k].loose {
                    return;
                }
                self.pairs(data, idh, k, members, |a, b| {
                    let h = mix(idh[a as usize]
                        ^ idh[b as usize]
                        ^ (k as u64).wrapping_mul(0x9E37_79B9));
                    if h <= rate[k] {
                        let mut levels = Vec::with_capacity(nf);
                        self.levels_into(data, a as usize, b as usize, &mut levels);
                        w[k].push((h, levels));
                    }
                });
            },
        );
        let mut samples: Vec<Vec<(u64, Vec<u8>)>> = vec![Vec::new(); nkeys];
        for w in workers {
            for (k, s) in w.into_iter().enumerate() {
                samples[k].extend(s);
            }
        }
        let mut em_pairs = 0u64;
        let mut m_sum: Vec<Vec<f64>> = nlevels.iter().map(|&n| vec![0.0; n]).collect();
        let mut m_n = vec![0usize; nf];
        let mut sessions: Vec<(usize, f64)> = Vec::new();
        for (k, mut s) in samples.into_iter().enumerate() {
            s.sort_unstable();
            em_pairs += s.len() as u64;
            if s.len() < MIN_PAIRS || self.keys[k].loose {
                continue;
            }
            let flat: Vec<u8> = s.into_iter().flat_map(|(_, l)| l).collect();
            // A key's fields, and the fields of their groups (they agree with the key
            // between non-duplicates too: one household's address and phone), keep out.
            let held = |f: usize| {
                let key = &self.keys[k].fields;
                key.contains(&f)
                    || self
                        .groups
                        .iter()
                        .any(|g| g.contains(&f) && key.iter().any(|x| g.contains(x)))
            };
            let active: Vec<bool> = (0..nf).map(|f| !held(f)).collect();
            let (m, lambda, _) = em(&flat, &active, &prior_m, &u, 0.1, Learn::M);
            for f in (0..nf).filter(|&f| active[f]) {
                for (x, y) in m_sum[f].iter_mut().zip(&m[f]) {
                    *x += y;
                }
                m_n[f] += 1;
            }
            sessions.push((k, lambda));
        }
        let m: Vec<Vec<f64>> = (0..nf)
            .map(|f| {
                if m_n[f] == 0 {
                    prior_m[f].clone()
                } else {
                    m_sum[f].iter().map(|x| x / m_n[f] as f64).collect()
                }
            })
            .collect();

        // The prior: the matches each key's EM found, over the share of all matches that
        // key can find (every field of it agreeing exactly, values on both sides).
        let pairs_all = (rows as f64) * (rows as f64 - 1.0) / 2.0;
        let mut estimates: Vec<f64> = sessions
            .iter()
            .map(|&(k, lambda)| {
                let recall: f64 = self.keys[k]
                    .fields
                    .iter()
                    .map(|&f| {
                        let share = data[f].present() as f64 / rows.max(1) as f64;
                        m[f][0] * share * share
                    })
                    .product();
                lambda * totals[k] as f64 / recall.max(1e-9)
            })
            .collect();
        estimates.sort_by(f64::total_cmp);
        let prior = match estimates.get(estimates.len() / 2) {
            Some(&matches) if pairs_all >= 1.0 => (matches / pairs_all).clamp(1e-12, 0.5),
            _ => (1.0 / rows.max(2) as f64).min(0.5),
        };
        let (given, given_pairs) = self.train_given(data, idh, rows, threads, &m, &u);
        (
            ScoreModel::build(prior, &self.names, &self.specs, &m, &u, &given),
            u_pairs,
            em_pairs + given_pairs,
        )
    }

    /// Per field of a group, the other fields' u between records at one place by it
    /// (`Place`): EM with m fixed over a sample of those pairs (people of one household,
    /// and duplicates). Fields too few pairs share have none. Returns them and the pairs
    /// sampled.
    fn train_given(
        &self,
        data: &[FieldData],
        idh: &[u64],
        rows: usize,
        threads: usize,
        m: &[Vec<f64>],
        u: &[Vec<f64>],
    ) -> (Vec<Given>, u64) {
        let nf = self.specs.len();
        let members: Vec<usize> = self.groups.iter().flatten().copied().collect();
        let learned = run_all(members, threads, |f| {
            let place = Place::new(f, &self.specs, &self.names, &self.groups);
            let d = &data[f];
            let shared = |r: usize| d.hash[r] != 0 && (2..=MAX_BLOCK as u32).contains(&d.count[r]);
            let mut entries: Vec<(u64, u32)> = (0..rows)
                .filter(|&r| shared(r))
                .map(|r| (d.hash[r], r as u32))
                .collect();
            let total: u64 = entries
                .iter()
                .map(|&(_, r)| u64::from(d.count[r as usize] - 1))
                .sum::<u64>()
                / 2;
            let rate = sample_rate(total);
            entries.sort_unstable();
            let mut sample: Vec<(u64, Vec<u8>)> = Vec::new();
            for block in entries.chunk_by(|x, y| x.0 == y.0) {
                for (i, &(_, a)) in block.iter().enumerate() {
                    for &(_, b) in &block[i + 1..] {
                        let (a, b) = (a as usize, b as usize);
                        let h = mix(idh[a] ^ idh[b] ^ SEED.wrapping_add(f as u64));
                        if h > rate {
                            continue;
                        }
                        let mut levels = Levels::new(&self.specs, data, a, b);
                        if place.holds(&mut levels) {
                            sample.push((h, (0..nf).map(|f| levels.of(f)).collect()));
                        }
                    }
                }
            }
            let n = sample.len() as u64;
            if sample.len() < MIN_PAIRS {
                return (None, n);
            }
            sample.sort_unstable();
            let flat: Vec<u8> = sample.into_iter().flat_map(|(_, l)| l).collect();
            let active: Vec<bool> = (0..nf).map(|x| x != f).collect();
            let (u, share, _) = em(&flat, &active, m, u, 0.5, Learn::U);
            (Some(Given { field: f, share, u }), n)
        });
        let pairs = learned.iter().map(|x| x.1).sum();
        (learned.into_iter().filter_map(|x| x.0).collect(), pairs)
    }
}

/// Derived `keys` loosened where these records allow: a date with name prefixes becomes
/// the date alone, a field with a name the field alone (replacing each key it loosens),
/// and the names each alone (added after the others), the loosenings that block the
/// fewest pairs first, while all of them together stay within the budget
/// (`LOOSE_RECORDS_PER_PAIR`, `LOOSE_MIN_PAIRS`).
pub(crate) fn loosened(keys: &[Key], specs: &[Spec], data: &[FieldData], rows: usize) -> Vec<Key> {
    let name = |f: usize| specs[f].kind == ScoreCompare::Name;
    // What a key loosens to: fields each alone, and whether they replace the key (a name
    // pair stays for its swaps; the names alone are added).
    let loosens = |k: &Key| -> (Vec<usize>, bool) {
        match k.fields[..] {
            [f] if !k.prefixes.is_empty() => (vec![f], true),
            [x, y] if name(x) && name(y) => (vec![x, y], false),
            [x, y] if name(y) && !name(x) => (vec![x], true),
            _ => (Vec::new(), false),
        }
    };
    let mut loose: Vec<usize> = Vec::new();
    for f in keys.iter().flat_map(|k| loosens(k).0) {
        if !loose.contains(&f) {
            loose.push(f);
        }
    }
    // The pairs a single-field key blocks, from the value counts: every pair of a value
    // at most `MAX_BLOCK` records have, a window's for larger ones.
    let pairs = |f: usize| -> u64 {
        let d = &data[f];
        let twice: u64 = (0..rows)
            .filter(|&r| d.hash[r] != 0)
            .map(|r| {
                let c = u64::from(d.count[r]);
                if c as usize <= MAX_BLOCK {
                    c - 1
                } else {
                    2 * (WINDOW as u64 - 1)
                }
            })
            .sum();
        twice / 2
    };
    let mut costs: Vec<(u64, usize)> = loose.into_iter().map(|f| (pairs(f), f)).collect();
    costs.sort_unstable();
    let budget = (rows as u64 / LOOSE_RECORDS_PER_PAIR).max(LOOSE_MIN_PAIRS);
    let mut spent = 0u64;
    let mut taken: Vec<usize> = Vec::new();
    for (c, f) in costs {
        if spent + c > budget {
            break;
        }
        spent += c;
        taken.push(f);
    }
    let mut out: Vec<Key> = Vec::new();
    let mut added: Vec<Key> = Vec::new();
    for k in keys {
        let (to, replaces) = loosens(k);
        let to: Vec<Key> = to
            .into_iter()
            .filter(|f| taken.contains(f))
            .map(Key::loose)
            .collect();
        match to.first() {
            Some(key) if replaces => {
                if !out.contains(key) {
                    out.push(key.clone());
                }
            }
            _ => {
                out.push(k.clone());
                added.extend(to);
            }
        }
    }
    for key in added {
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out.truncate(MAX_BLOCKING_KEYS);
    out
}

/// The hash threshold that samples about `EM_PAIRS` of `total` pairs (all when fewer).
fn sample_rate(total: u64) -> u64 {
    if total <= EM_PAIRS as u64 {
        u64::MAX
    } else {
        ((EM_PAIRS as f64 / total as f64) * u64::MAX as f64) as u64
    }
}

/// Partitions split into one run of consecutive ones per thread.
fn chunk_parts(parts: Vec<Vec<(u64, u32)>>, threads: usize) -> Vec<Vec<Vec<(u64, u32)>>> {
    let per = parts.len().div_ceil(threads.max(1)).max(1);
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for p in parts {
        cur.push(p);
        if cur.len() == per {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
