//! Field survivorship: the value each field of the master ends up with, from the values
//! of every record in its group. No rule ever empties a field that has a value somewhere
//! in the group, except `keep_master`.

use std::collections::HashMap;

use super::FieldRule;
use super::input::{MergeInput, NO_TIME};
use super::values::{compare, kind_of};

/// The value field `f` of the master ends up with. `members` are the group's rows, the
/// master first, then the others in id order (ties go to the earliest of them).
pub(crate) fn survive(
    rule: &FieldRule,
    input: &MergeInput,
    f: usize,
    members: &[u32],
) -> Option<String> {
    let valued = || {
        members
            .iter()
            .filter_map(move |&r| input.value(r as usize, f).map(|v| (r, v)))
    };
    let master = members.first().and_then(|&m| input.value(m as usize, f));
    let by_time = |newest: bool| -> Option<String> {
        let mut best: Option<(i64, &str)> = None;
        for (r, v) in valued() {
            let t = input.created[r as usize];
            let better = match best {
                None => true,
                // An unknown time never beats a known one.
                Some(_) if t == NO_TIME => false,
                Some((bt, _)) if bt == NO_TIME => true,
                Some((bt, _)) => {
                    if newest {
                        t > bt
                    } else {
                        t < bt
                    }
                }
            };
            if better {
                best = Some((t, v));
            }
        }
        best.map(|(_, v)| v.to_string())
    };
    match rule {
        FieldRule::KeepMaster => master.map(str::to_string),
        FieldRule::MasterUnlessEmpty => master.map(str::to_string).or_else(|| by_time(true)),
        FieldRule::Newest => by_time(true),
        FieldRule::Oldest => by_time(false),
        FieldRule::MostCommon => {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for (_, v) in valued() {
                *counts.entry(v).or_default() += 1;
            }
            let top = counts.values().copied().max()?;
            valued()
                .map(|(_, v)| v)
                .find(|v| counts[v] == top)
                .map(str::to_string)
        }
        FieldRule::Concatenate { separator } => {
            let mut seen: Vec<String> = Vec::new();
            let mut out: Vec<&str> = Vec::new();
            for (_, v) in valued() {
                let v = v.trim();
                let key = v.to_lowercase();
                if !seen.contains(&key) {
                    seen.push(key);
                    out.push(v);
                }
            }
            (!out.is_empty()).then(|| out.join(separator))
        }
        FieldRule::Union => {
            let mut out: Vec<&str> = Vec::new();
            for (_, v) in valued() {
                for option in v.split(';').map(str::trim).filter(|o| !o.is_empty()) {
                    if !out.contains(&option) {
                        out.push(option);
                    }
                }
            }
            (!out.is_empty()).then(|| out.join(";"))
        }
        FieldRule::Max | FieldRule::Min => {
            let largest = matches!(rule, FieldRule::Max);
            let kind = kind_of(valued().map(|(_, v)| v));
            let mut best: Option<&str> = None;
            for (_, v) in valued() {
                best = match best {
                    None => Some(v),
                    Some(b) => {
                        let o = compare(kind, v, b);
                        if (largest && o.is_gt()) || (!largest && o.is_lt()) {
                            Some(v)
                        } else {
                            Some(b)
                        }
                    }
                };
            }
            best.map(str::to_string)
        }
    }
}
