//! Learning the weights without labels (Fellegi–Sunter): u per level from random pairs,
//! m per level by expectation–maximisation over blocked candidate pairs with u fixed, and
//! u among pairs that share a place by the same EM with m fixed.
//!
//! Samples are flat: `fields` level indices (`MISSING` for a missing value) per pair.

use super::compare::MISSING;

/// EM iterations at most; it stops earlier once no probability moves by `TOLERANCE`.
const ITERATIONS: usize = 40;
const TOLERANCE: f64 = 1e-5;
/// Weight, in pairs, of the prior m per level (keeps levels no pair reached away from 0).
const PRIOR_PAIRS: f64 = 2.0;
/// Fewer sampled pairs than this, and a session teaches nothing: the priors stay.
pub(crate) const MIN_PAIRS: usize = 50;

/// Shares of `sample`'s pairs at each level of each field (among pairs where the field
/// has values on both sides), with half a pair added to every level so none is 0; fields
/// no pair of the sample has keep `prior`.
pub(crate) fn level_shares(sample: &[u8], levels: &[usize], prior: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let nf = levels.len();
    let mut counts: Vec<Vec<f64>> = levels.iter().map(|&n| vec![0.0; n]).collect();
    for pair in sample.chunks_exact(nf) {
        for (f, &l) in pair.iter().enumerate() {
            if l != MISSING {
                counts[f][l as usize] += 1.0;
            }
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(f, c)| {
            let total: f64 = c.iter().sum();
            if total < MIN_PAIRS as f64 {
                return prior[f].clone();
            }
            let n = c.len() as f64;
            c.iter().map(|x| (x + 0.5) / (total + 0.5 * n)).collect()
        })
        .collect()
}

/// What an EM session learns besides λ: the level probabilities among duplicates (m,
/// u fixed) or among the other pairs (u, m fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Learn {
    M,
    U,
}

/// One EM session: the learned side's probabilities (`Learn`) of the `active` fields and
/// the share of matches λ among `sample`'s pairs, the other side fixed. Inactive fields
/// (the session's blocking key: every pair agrees on them) neither inform the match
/// probability nor change. Returns (the learned side, λ, iterations).
pub(crate) fn em(
    sample: &[u8],
    active: &[bool],
    m0: &[Vec<f64>],
    u0: &[Vec<f64>],
    lambda0: f64,
    learn: Learn,
) -> (Vec<Vec<f64>>, f64, usize) {
    let nf = active.len();
    let pairs = sample.len() / nf.max(1);
    let start = match learn {
        Learn::M => m0,
        Learn::U => u0,
    };
    let mut learned: Vec<Vec<f64>> = start.to_vec();
    let mut lambda = lambda0.clamp(1e-6, 1.0 - 1e-6);
    if pairs < MIN_PAIRS {
        return (learned, lambda, 0);
    }
    let mut iterations = 0;
    let mut weights: Vec<Vec<f64>> = start.iter().map(|l| vec![0.0; l.len()]).collect();
    let mut sums: Vec<Vec<f64>> = start.iter().map(|l| vec![0.0; l.len()]).collect();
    for _ in 0..ITERATIONS {
        iterations += 1;
        for f in 0..nf {
            for l in 0..learned[f].len() {
                let (m, u) = match learn {
                    Learn::M => (learned[f][l], u0[f][l]),
                    Learn::U => (m0[f][l], learned[f][l]),
                };
                weights[f][l] = (m / u).ln();
            }
        }
        let base = (lambda / (1.0 - lambda)).ln();
        sums.iter_mut()
            .for_each(|s| s.iter_mut().for_each(|x| *x = 0.0));
        let mut total = 0.0;
        for pair in sample.chunks_exact(nf) {
            let mut logit = base;
            for (f, &l) in pair.iter().enumerate() {
                if active[f] && l != MISSING {
                    logit += weights[f][l as usize];
                }
            }
            let p = 1.0 / (1.0 + (-logit).exp());
            total += p;
            // Counted for the side being learned: duplicates', or the others'.
            let q = if learn == Learn::M { p } else { 1.0 - p };
            for (f, &l) in pair.iter().enumerate() {
                if active[f] && l != MISSING {
                    sums[f][l as usize] += q;
                }
            }
        }
        let mut moved: f64 = 0.0;
        let new_lambda = (total / pairs as f64).clamp(1e-6, 1.0 - 1e-6);
        moved = moved.max((new_lambda - lambda).abs());
        lambda = new_lambda;
        for f in 0..nf {
            if !active[f] {
                continue;
            }
            let seen: f64 = sums[f].iter().sum();
            for l in 0..learned[f].len() {
                let next = (sums[f][l] + PRIOR_PAIRS * start[f][l]) / (seen + PRIOR_PAIRS);
                moved = moved.max((next - learned[f][l]).abs());
                learned[f][l] = next;
            }
        }
        if moved < TOLERANCE {
            break;
        }
    }
    (learned, lambda, iterations)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded generator (splitmix64).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let z = super::super::super::matching::mix(self.0);
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
        fn pick(&mut self, p: &[f64]) -> u8 {
            let mut x = self.next();
            for (i, &q) in p.iter().enumerate() {
                if x < q {
                    return i as u8;
                }
                x -= q;
            }
            (p.len() - 1) as u8
        }
    }

    /// `n` pairs of 4 fields, a share `lambda` drawn from `m`, the rest from `u`, 5% of
    /// values missing.
    fn draw(m: &[Vec<f64>], u: &[Vec<f64>], lambda: f64, n: usize) -> Vec<u8> {
        let mut rng = Rng(42);
        let mut sample = Vec::new();
        for _ in 0..n {
            let matched = rng.next() < lambda;
            for f in 0..4 {
                // Some values missing: neutral, never counted.
                if rng.next() < 0.05 {
                    sample.push(MISSING);
                } else {
                    sample.push(rng.pick(if matched { &m[f] } else { &u[f] }));
                }
            }
        }
        sample
    }

    fn assert_near(got: &[Vec<f64>], want: &[Vec<f64>], what: &str) {
        for f in 0..4 {
            for l in 0..3 {
                assert!(
                    (got[f][l] - want[f][l]).abs() < 0.03,
                    "{what}[{f}][{l}] {} vs {}",
                    got[f][l],
                    want[f][l]
                );
            }
        }
    }

    fn m_true() -> Vec<Vec<f64>> {
        vec![
            vec![0.90, 0.06, 0.04],
            vec![0.70, 0.20, 0.10],
            vec![0.85, 0.05, 0.10],
            vec![0.60, 0.30, 0.10],
        ]
    }

    #[test]
    fn em_recovers_the_m_and_lambda_the_pairs_were_drawn_from() {
        let u = [
            vec![0.02, 0.08, 0.90],
            vec![0.05, 0.15, 0.80],
            vec![0.01, 0.04, 0.95],
            vec![0.10, 0.20, 0.70],
        ];
        let sample = draw(&m_true(), &u, 0.3, 40_000);
        let m0 = vec![vec![0.5, 0.3, 0.2]; 4];
        let (m, lambda, iterations) = em(&sample, &[true; 4], &m0, &u, 0.1, Learn::M);
        assert!(iterations > 1);
        assert!((lambda - 0.3).abs() < 0.02, "λ {lambda}");
        assert_near(&m, &m_true(), "m");
    }

    #[test]
    fn em_recovers_the_u_of_pairs_sharing_a_place_with_m_fixed() {
        // Between people of one household, the last name (field 1) mostly agrees.
        let u_true = [
            vec![0.02, 0.08, 0.90],
            vec![0.70, 0.10, 0.20],
            vec![0.01, 0.04, 0.95],
            vec![0.10, 0.20, 0.70],
        ];
        let sample = draw(&m_true(), &u_true, 0.6, 40_000);
        let u0 = vec![vec![0.01, 0.09, 0.90]; 4];
        let (u, lambda, iterations) = em(&sample, &[true; 4], &m_true(), &u0, 0.5, Learn::U);
        assert!(iterations > 1);
        assert!((lambda - 0.6).abs() < 0.02, "λ {lambda}");
        assert_near(&u, &u_true, "u");
    }

    #[test]
    fn inactive_fields_keep_their_m_and_too_few_pairs_keep_the_prior() {
        let u = vec![vec![0.1, 0.9], vec![0.1, 0.9]];
        let m0 = vec![vec![0.8, 0.2], vec![0.7, 0.3]];
        let sample: Vec<u8> = (0..400).flat_map(|i| [0, (i % 2) as u8]).collect();
        let (m, _, _) = em(&sample, &[false, true], &m0, &u, 0.5, Learn::M);
        assert_eq!(m[0], m0[0]);
        assert_ne!(m[1], m0[1]);
        let (m, lambda, iterations) = em(&sample[..20], &[true, true], &m0, &u, 0.5, Learn::M);
        assert_eq!((m, lambda, iterations), (m0.clone(), 0.5, 0));
        let (u1, _, _) = em(&sample, &[false, true], &m0, &u, 0.5, Learn::U);
        assert_eq!(u1[0], u[0]);
        assert_ne!(u1[1], u[1]);
    }

    #[test]
    fn shares_count_present_values_only() {
        let sample = [0u8, MISSING, 1, MISSING].repeat(100);
        let prior = vec![vec![0.3, 0.7], vec![0.2, 0.8]];
        let s = level_shares(&sample, &[2, 2], &prior);
        assert!((s[0][0] - 100.5 / 201.0).abs() < 1e-9);
        assert_eq!(s[1], prior[1]);
    }
}
