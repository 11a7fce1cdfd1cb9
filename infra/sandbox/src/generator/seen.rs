//! Fingerprint sets of what is in use (names, emails, company names, domains) keep
//! originals distinct cheaply; only membership is asked, so output stays deterministic.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default)]
pub struct Seen(HashSet<u64, BuildHasherDefault<Mixed>>);

impl Seen {
    /// False if `fp` was already there.
    pub fn insert(&mut self, fp: u64) -> bool {
        self.0.insert(fp)
    }
}

/// Fingerprints are already uniform; the hasher just passes them through a final mix.
#[derive(Default)]
pub struct Mixed(u64);

impl Hasher for Mixed {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = mix(n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// SplitMix64's finaliser: spreads structured integers (packed indices) over all bits.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of `s` lowercased (ASCII), e.g. an email address as mail servers compare it.
pub fn lower(s: &str) -> u64 {
    let mut h = FNV_OFFSET;
    for b in s.bytes() {
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(FNV_PRIME);
    }
    h
}
