//! Randomness: ChaCha8 from the caller's seed, read in 16/32-bit slices (ChaCha dominates
//! debug-build time); only integer and exact float maths, so output is the same everywhere.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct Rand {
    chacha: ChaCha8Rng,
    bits: u64,
    left: u32,
}

impl Rand {
    pub fn new(seed: u64) -> Self {
        Self {
            chacha: ChaCha8Rng::seed_from_u64(seed),
            bits: 0,
            left: 0,
        }
    }

    fn take(&mut self, n: u32) -> u64 {
        if self.left < n {
            self.bits = self.chacha.next_u64();
            self.left = 64;
        }
        let v = self.bits & ((1u64 << n) - 1);
        self.bits >>= n;
        self.left -= n;
        v
    }
}

/// Uniform in `0..n` (0 when `n` is 0), by multiply-shift: the bias is below 0.4% even
/// for the largest tables, and large ranges draw a full `u64`.
pub fn below(rng: &mut Rand, n: usize) -> usize {
    match n {
        0 | 1 => 0,
        2..=256 => ((rng.take(16) * n as u64) >> 16) as usize,
        257..=65_536 => ((rng.take(32) * n as u64) >> 32) as usize,
        _ => rng.chacha.random_range(0..n as u64) as usize,
    }
}

/// True with probability `p` (to 1/65536).
pub fn chance(rng: &mut Rand, p: f64) -> bool {
    (rng.take(16) as f64) < p * 65_536.0
}

/// Uniform in `[0, 1)`.
pub fn unit(rng: &mut Rand) -> f64 {
    rng.take(32) as f64 / 4_294_967_296.0
}

/// Uniform in `lo..hi` (`lo` when the range is empty).
pub fn range_u64(rng: &mut Rand, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let span = hi - lo;
    if span <= u64::from(u32::MAX) {
        lo + ((rng.take(32) * span) >> 32)
    } else {
        rng.chacha.random_range(lo..hi)
    }
}

/// One element; `items` must not be empty (all callers pass non-empty constant tables).
pub fn pick<'a, T>(rng: &mut Rand, items: &'a [T]) -> &'a T {
    let i = below(rng, items.len());
    &items[i]
}

/// One element by weight; `items` must not be empty.
pub fn weighted<'a, T>(rng: &mut Rand, items: &'a [(T, u32)]) -> &'a T {
    let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut x = (rng.take(32) * total) >> 32;
    for (item, w) in items {
        if x < u64::from(*w) {
            return item;
        }
        x -= u64::from(*w);
    }
    &items[items.len() - 1].0
}

/// Fisher–Yates with `below`.
pub fn shuffle<T>(rng: &mut Rand, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}
