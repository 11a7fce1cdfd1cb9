//! Notes a person reads: a merged pair's probability and its strongest reasons; a review
//! pair's probability and every compared field with both records' values.

use super::super::input::MergeInput;
use super::block::Outcome;
use super::compare::MISSING;
use super::{Scorer, probability};

/// Characters of a value shown in a review note.
const SHOWN: usize = 40;
/// Contributions a merge note names.
const TOP: usize = 3;

/// A probability with four decimals, never rounded up to 1 or down to 0.
pub(crate) fn percent(p: f64) -> String {
    let floored = (p * 10_000.0).floor() / 10_000.0;
    format!("{:.4}", floored.max(0.0001))
}

fn signed(bits: f32) -> String {
    if bits.abs() < 0.05 {
        "0".to_string()
    } else {
        format!("{bits:+.1}")
    }
}

fn shown(v: Option<&str>) -> String {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => "—".to_string(),
        Some(v) if v.chars().count() > SHOWN => {
            format!("{}…", v.chars().take(SHOWN - 1).collect::<String>())
        }
        Some(v) => v.to_string(),
    }
}

impl Scorer {
    /// (field, level, bits) of every field for records `a` and `b` (a group member that
    /// does not count, a stronger one of its group does, weighs 0), and how the place was
    /// weighed: ` at one address`, ` near one address` (`given`), or nothing.
    pub(crate) fn explained(
        &self,
        out: &Outcome,
        a: usize,
        b: usize,
    ) -> (Vec<(usize, u8, f32)>, String) {
        let (fields, placed) = out.weights.per_field(&self.specs, &out.data, a, b);
        let contributions = fields
            .into_iter()
            .enumerate()
            .map(|(f, (l, w, counts))| (f, l, if counts { w } else { 0.0 }))
            .collect();
        let place = placed
            .map(|p| {
                let how = if p.near { "near" } else { "at" };
                format!(" {how} one {}", self.names[p.field])
            })
            .unwrap_or_default();
        (contributions, place)
    }

    /// The group field `f` is in, when some other member counts instead of it.
    fn counted_in(&self, f: usize) -> Option<&str> {
        self.groups
            .iter()
            .position(|g| g.contains(&f))
            .map(|g| self.group_names[g].as_str())
    }

    fn level_name(&self, f: usize, l: u8) -> String {
        if l == MISSING {
            "missing".to_string()
        } else {
            self.specs[f].kind.levels()[l as usize].replace('_', " ")
        }
    }

    /// `scored 0.9997 (email exact +8.1, lastname exact +6.0, firstname nickname +3.2)`, or
    /// `scored 0.9990 at one address (…)` (`near one address`) when weighed as pairs at
    /// (near) one place are.
    pub(crate) fn merge_reason(&self, out: &Outcome, a: usize, b: usize, bits: f32) -> String {
        let (mut c, place) = self.explained(out, a, b);
        c.retain(|&(_, l, _)| l != MISSING);
        c.sort_by(|x, y| y.2.abs().total_cmp(&x.2.abs()).then(x.0.cmp(&y.0)));
        let top: Vec<String> = c
            .iter()
            .take(TOP)
            .map(|&(f, l, w)| format!("{} {} {}", self.names[f], self.level_name(f, l), signed(w)))
            .collect();
        format!(
            "scored {}{} ({})",
            percent(probability(f64::from(bits))),
            place,
            top.join(", ")
        )
    }

    /// `match 0.94 — email: ann@x.com / ann@x.co (one edit, +2.9) · lastname: …`: every
    /// compared field, both records' values as stored.
    pub(crate) fn review_note(
        &self,
        input: &MergeInput,
        out: &Outcome,
        a: usize,
        b: usize,
        bits: f32,
    ) -> String {
        let (contributions, place) = self.explained(out, a, b);
        let parts: Vec<String> = contributions
            .into_iter()
            .map(|(f, l, w)| {
                let field = self.specs[f].input;
                let weight = match self.counted_in(f) {
                    Some(g) if w == 0.0 && l != MISSING && place.is_empty() => {
                        format!("{g} counts once")
                    }
                    _ => signed(w),
                };
                format!(
                    "{}: {} / {} ({}, {})",
                    self.names[f],
                    shown(input.value(a, field)),
                    shown(input.value(b, field)),
                    self.level_name(f, l),
                    weight
                )
            })
            .collect();
        format!(
            "match {}{} — {}",
            percent(probability(f64::from(bits))),
            place,
            parts.join(" · ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_never_round_to_certainty() {
        assert_eq!(percent(0.999_99), "0.9999");
        assert_eq!(percent(0.94), "0.9400");
        assert_eq!(percent(1e-9), "0.0001");
        assert_eq!(signed(2.94), "+2.9");
        assert_eq!(signed(-0.01), "0");
        assert_eq!(shown(Some(&"x".repeat(50))).chars().count(), SHOWN);
        assert_eq!(shown(Some(" ")), "—");
    }
}
