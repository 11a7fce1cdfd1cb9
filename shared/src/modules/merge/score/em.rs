//! Learning the weights without labels (Fellegi–Sunter): u per level from random pairs,
//! m per level by expectation–maximisation over blocked candidate pairs with u fixed.
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

/// One EM session: m of the `active` fields and the share of matches λ among `sample`'s
/// pairs, u fixed. Inactive fields (the session's blocking key: every pair agrees on
/// them) neither inform the match probability nor change. Returns (m, λ, iterations).
pub(crate) fn em(
    sample: &[u8],
    active: &[bool],
    m0: &[Vec<f64>],
    u: &[Vec<f64>],
    lambda0: f64,
) -> (Vec<Vec<f64>>, f64, usize) {
    let nf = active.len();
    let pairs = sample.len() / nf.max(1);
    let mut m: Vec<Vec<f64>> = m0.to_vec();
    let mut lambda = lambda0.clamp(1e-6, 1.0 - 1e-6);
    if pairs < MIN_PAIRS {
        return (m, lambda, 0);
    }
    let mut iterations = 0;
    let mut weights: Vec<Vec<f64>> = m.iter().map(|l| vec![0.0; l.len()]).collect();
    let mut sums: Vec<Vec<f64>> = m.iter().map(|l| vec![0.0; l.len()]).collect();
    for _ in 0..ITERATIONS {
        iterations += 1;
        for f in 0..nf {
            for l in 0..m[f].len() {
                weights[f][l] = (m[f][l] / u[f][l]).ln();
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
            for (f, &l) in pair.iter().enumerate() {
                if active[f] && l != MISSING {
                    sums[f][l as usize] += p;
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
            for l in 0..m[f].len() {
                let next = (sums[f][l] + PRIOR_PAIRS * m0[f][l]) / (seen + PRIOR_PAIRS);
                moved = moved.max((next - m[f][l]).abs());
                m[f][l] = next;
            }
        }
        if moved < TOLERANCE {
            break;
        }
    }
    (m, lambda, iterations)
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

    #[test]
    fn em_recovers_the_m_and_lambda_the_pairs_were_drawn_from() {
        let m_true = [
            vec![0.90, 0.06, 0.04],
            vec![0.70, 0.20, 0.10],
            vec![0.85, 0.05, 0.10],
            vec![0.60, 0.30, 0.10],
        ];
        let u = [
            vec![0.02, 0.08, 0.90],
            vec![0.05, 0.15, 0.80],
            vec![0.01, 0.04, 0.95],
            vec![0.10, 0.20, 0.70],
        ];
        let lambda_true = 0.3;
        let mut rng = Rng(42);
        let mut sample = Vec::new();
        for _ in 0..40_000 {
            let matched = rng.next() < lambda_true;
            for f in 0..4 {
                // Some values missing: neutral, never counted.
                if rng.next() < 0.05 {
                    sample.push(MISSING);
                } else {
                    sample.push(rng.pick(if matched { &m_true[f] } else { &u[f] }));
                }
            }
        }
        let m0 = vec![vec![0.5, 0.3, 0.2]; 4];
        let (m, lambda, iterations) = em(&sample, &[true; 4], &m0, &u, 0.1);
        assert!(iterations > 1);
        assert!((lambda - lambda_true).abs() < 0.02, "λ {lambda}");
        for f in 0..4 {
            for l in 0..3 {
                assert!(
                    (m[f][l] - m_true[f][l]).abs() < 0.03,
                    "m[{f}][{l}] {} vs {}",
                    m[f][l],
                    m_true[f][l]
                );
            }
        }
    }

    #[test]
    fn inactive_fields_keep_their_m_and_too_few_pairs_keep_the_prior() {
        let u = vec![vec![0.1, 0.9], vec![0.1, 0.9]];
        let m0 = vec![vec![0.8, 0.2], vec![0.7, 0.3]];
        let sample: Vec<u8> = (0..400).flat_map(|i| [0, (i % 2) as u8]).collect();
        let (m, _, _) = em(&sample, &[false, true], &m0, &u, 0.5);
        assert_eq!(m[0], m0[0]);
        assert_ne!(m[1], m0[1]);
        let (m, lambda, iterations) = em(&sample[..20], &[true, true], &m0, &u, 0.5);
        assert_eq!((m, lambda, iterations), (m0, 0.5, 0));
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
