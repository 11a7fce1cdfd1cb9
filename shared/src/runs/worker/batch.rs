//! How a plan is cut into batches: as many changes as one CRM call per kind of write takes.

use crate::crm::CrmKind;
use crate::crm::limits::{hubspot, salesforce};
use crate::modules::{Action, Change};

/// Ids per batch read: the CRM's largest.
pub(in crate::runs) fn read_batch(kind: CrmKind) -> usize {
    match kind {
        CrmKind::Salesforce => salesforce::RETRIEVE_MAX,
        _ => hubspot::BATCH_MAX,
    }
}

/// Merge groups per batch, on either CRM.
const MERGES_PER_BATCH: usize = 50;

/// Changes of this kind one CRM call takes (HubSpot's merges: one batch).
fn per_call(action: &Action, kind: CrmKind) -> usize {
    match (action, kind) {
        (Action::Flag | Action::Review { .. }, _) => usize::MAX,
        // Salesforce: one SOAP call. HubSpot merges one pair per call, a few groups at
        // once (`GROUPS_IN_FLIGHT` in `crm::hubspot`): batching them keeps a run's
        // checkpoints (a state write and an output part each) per 50 groups, not per pair.
        (Action::Merge { .. }, _) => MERGES_PER_BATCH,
        (Action::ConvertLead { .. }, _) => salesforce::CONVERT_PER_CALL,
        (_, CrmKind::Salesforce) => salesforce::COLLECTION_MAX,
        _ => hubspot::BATCH_MAX,
    }
}

/// Kinds of write one batch may hold together (one call each): a merge group's Lead
/// conversions and its merge.
fn share_a_batch(a: &Action, b: &Action) -> bool {
    let merging = |x: &Action| matches!(x, Action::Merge { .. } | Action::ConvertLead { .. });
    std::mem::discriminant(a) == std::mem::discriminant(b) || (merging(a) && merging(b))
}

/// The next batch: as many changes as one CRM call per kind of write takes. Rows that
/// write nothing (flags) ride along and never end a batch, so the write calls of a run
/// are `ceil(writes / batch)` whatever the plan's mix of rows.
pub(super) fn batch_len(kind: CrmKind, changes: &[Change]) -> usize {
    let mut writes: Vec<(&Action, usize)> = Vec::new();
    let mut n = 0;
    for c in changes {
        if !c.action.writes_nothing() {
            if !writes.iter().all(|(a, _)| share_a_batch(a, &c.action)) {
                break;
            }
            let key = std::mem::discriminant(&c.action);
            match writes
                .iter_mut()
                .find(|(a, _)| std::mem::discriminant(*a) == key)
            {
                Some((_, k)) if *k >= per_call(&c.action, kind) => break,
                Some((_, k)) => *k += 1,
                None => writes.push((&c.action, 1)),
            }
        }
        n += 1;
    }
    n
}

/// The rows of `todo` by kind of write, in the order their calls go: Lead conversions
/// before the merges they prepare.
pub(super) fn by_kind(batch: &[Change], todo: &[usize]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in todo {
        let key = std::mem::discriminant(&batch[i].action);
        match groups
            .iter_mut()
            .find(|g| std::mem::discriminant(&batch[g[0]].action) == key)
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups.sort_by_key(|g| matches!(batch[g[0]].action, Action::Merge { .. }));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::worker::fixtures::{flag, update};

    /// The batches `batch_len` cuts a plan into.
    fn batches(kind: CrmKind, plan: &[Change]) -> Vec<Vec<Change>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < plan.len() {
            let n = batch_len(kind, &plan[at..]);
            assert!(n > 0);
            out.push(plan[at..at + n].to_vec());
            at += n;
        }
        out
    }

    #[test]
    fn flags_between_updates_never_split_a_batch() {
        // 250 updates, each after a flag or two: as many batches (calls) as 250 updates
        // need, whatever lies between them.
        let mut plan = Vec::new();
        for i in 0..250 {
            plan.push(flag(&format!("f{i}")));
            if i % 3 == 0 {
                plan.push(flag(&format!("g{i}")));
            }
            plan.push(update(&i.to_string(), "city", "a", "b"));
        }
        for (kind, per_call) in [(CrmKind::HubSpot, 100), (CrmKind::Salesforce, 200)] {
            let cut = batches(kind, &plan);
            let writes: Vec<usize> = cut
                .iter()
                .map(|b| b.iter().filter(|c| c.action != Action::Flag).count())
                .collect();
            assert_eq!(writes.len(), 250usize.div_ceil(per_call), "{writes:?}");
            assert!(writes.iter().all(|&n| n <= per_call), "{writes:?}");
        }
    }

    #[test]
    fn a_merge_shares_its_batch_with_the_lead_conversions_it_needs() {
        let mut plan = Vec::new();
        for g in 0..60 {
            plan.push(Change {
                id: Some(format!("00Q{g}")),
                action: Action::ConvertLead {
                    group_id: format!("g{g}"),
                    contact_id: format!("003{g}"),
                    account_id: None,
                    converted_status: "Closed - Converted".into(),
                },
                fields: Vec::new(),
                note: None,
            });
            plan.push(Change {
                id: Some(format!("003{g}")),
                action: Action::Merge {
                    group_id: format!("g{g}"),
                    duplicate_ids: vec![format!("003d{g}")],
                },
                fields: Vec::new(),
                note: None,
            });
        }
        let cut = batches(CrmKind::Salesforce, &plan);
        // 50 merges per call: two batches (the 51st group's conversion rides in the first,
        // its merge starts the second), not one per change of kind.
        assert_eq!(cut.iter().map(Vec::len).collect::<Vec<_>>(), [101, 19]);
        // Within a batch the conversions are called before the merges.
        let order = by_kind(&cut[0], &(0..cut[0].len()).collect::<Vec<_>>());
        assert!(matches!(
            cut[0][order[0][0]].action,
            Action::ConvertLead { .. }
        ));
        assert!(matches!(cut[0][order[1][0]].action, Action::Merge { .. }));
        // An update after merges starts its own batch.
        let mixed = [plan[1].clone(), update("9", "city", "a", "b")];
        assert_eq!(batch_len(CrmKind::Salesforce, &mixed), 1);
    }

    #[test]
    fn hubspot_merges_are_checkpointed_per_fifty_groups_not_per_pair() {
        let merges: Vec<Change> = (0..120)
            .map(|g| Change {
                id: Some(format!("{g}")),
                action: Action::Merge {
                    group_id: format!("g{g}"),
                    duplicate_ids: vec![format!("{}", 1000 + g)],
                },
                fields: Vec::new(),
                note: None,
            })
            .collect();
        // Each batch is one output part and one state write: 3, not 120.
        let cut = batches(CrmKind::HubSpot, &merges);
        assert_eq!(cut.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    }
}
