//! Choosing a group's master: master rules in priority order (each breaking the ties the
//! ones before it left) or all agreeing. A group they cannot decide is reported, never
//! merged by chance.

use super::input::{MergeInput, NO_TIME};
use super::values::{compare, kind_of};
use super::{MasterMode, MasterRule};

/// A master rule with its field resolved to an input column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Compiled {
    pub name: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    OldestCreated,
    NewestCreated,
    LastModified,
    MostComplete,
    /// Values lowercased and trimmed, in order of preference.
    Priority(usize, Vec<String>),
    Max(usize),
    Min(usize),
}

impl Compiled {
    pub fn new(rule: &MasterRule, field: Option<usize>) -> Self {
        let f = field.unwrap_or(0);
        let kind = match rule {
            MasterRule::OldestCreated => Kind::OldestCreated,
            MasterRule::NewestCreated => Kind::NewestCreated,
            MasterRule::LastModified => Kind::LastModified,
            MasterRule::MostComplete => Kind::MostComplete,
            MasterRule::Priority { values, .. } => {
                Kind::Priority(f, values.iter().map(|v| v.trim().to_lowercase()).collect())
            }
            MasterRule::Max { .. } => Kind::Max(f),
            MasterRule::Min { .. } => Kind::Min(f),
        };
        Self {
            name: rule.describe(),
            kind,
        }
    }

    /// The candidates this rule prefers (all of them when it cannot tell them apart).
    pub fn best(&self, input: &MergeInput, cands: &[u32]) -> Vec<u32> {
        let by_key = |key: &dyn Fn(u32) -> Option<i64>, largest: bool| -> Vec<u32> {
            let keyed: Vec<(u32, i64)> = cands
                .iter()
                .filter_map(|&r| key(r).map(|k| (r, k)))
                .collect();
            let best = if largest {
                keyed.iter().map(|x| x.1).max()
            } else {
                keyed.iter().map(|x| x.1).min()
            };
            match best {
                None => cands.to_vec(),
                Some(b) => keyed.iter().filter(|x| x.1 == b).map(|x| x.0).collect(),
            }
        };
        let time = |t: i64| (t != NO_TIME).then_some(t);
        match &self.kind {
            Kind::OldestCreated => by_key(&|r| time(input.created[r as usize]), false),
            Kind::NewestCreated => by_key(&|r| time(input.created[r as usize]), true),
            Kind::LastModified => by_key(&|r| time(input.modified[r as usize]), true),
            Kind::MostComplete => by_key(
                &|r| {
                    let filled = (0..input.fields().len())
                        .filter(|&f| input.value(r as usize, f).is_some())
                        .count();
                    Some(filled as i64)
                },
                true,
            ),
            Kind::Priority(f, values) => by_key(
                &|r| {
                    let rank = input.value(r as usize, *f).and_then(|v| {
                        let v = v.trim().to_lowercase();
                        values.iter().position(|p| *p == v)
                    });
                    Some(rank.unwrap_or(values.len()) as i64)
                },
                false,
            ),
            Kind::Max(f) | Kind::Min(f) => {
                let largest = matches!(self.kind, Kind::Max(_));
                let valued: Vec<(u32, &str)> = cands
                    .iter()
                    .filter_map(|&r| input.value(r as usize, *f).map(|v| (r, v)))
                    .collect();
                if valued.is_empty() {
                    return cands.to_vec();
                }
                let kind = kind_of(valued.iter().map(|x| x.1));
                let mut best = valued[0].1;
                for &(_, v) in &valued[1..] {
                    let o = compare(kind, v, best);
                    if (largest && o.is_gt()) || (!largest && o.is_lt()) {
                        best = v;
                    }
                }
                valued
                    .iter()
                    .filter(|x| compare(kind, x.1, best).is_eq())
                    .map(|x| x.0)
                    .collect()
            }
        }
    }
}

/// The master among `cands` (rows in id order), or why there is none.
pub(crate) fn choose(
    rules: &[Compiled],
    mode: MasterMode,
    input: &MergeInput,
    cands: &[u32],
) -> Result<u32, String> {
    if let [only] = cands {
        return Ok(*only);
    }
    let ids = |rows: &[u32]| {
        rows.iter()
            .map(|&r| input.id(r as usize))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match mode {
        MasterMode::ByPriority => {
            let mut left = cands.to_vec();
            for rule in rules {
                left = rule.best(input, &left);
                if let [one] = left.as_slice() {
                    return Ok(*one);
                }
            }
            Err(format!(
                "the master rules cannot choose between {}",
                ids(&left)
            ))
        }
        MasterMode::Absolute => {
            let picks: Vec<(&str, Vec<u32>)> = rules
                .iter()
                .map(|r| (r.name.as_str(), r.best(input, cands)))
                .collect();
            let common: Vec<u32> = cands
                .iter()
                .copied()
                .filter(|c| picks.iter().all(|(_, p)| p.contains(c)))
                .collect();
            match common.as_slice() {
                [one] => Ok(*one),
                [] => Err(format!(
                    "the master rules disagree: {}",
                    picks
                        .iter()
                        .map(|(name, p)| format!("{name} picks {}", ids(p)))
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
                tied => Err(format!(
                    "the master rules cannot choose between {}",
                    ids(tied)
                )),
            }
        }
    }
}
