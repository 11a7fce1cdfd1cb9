//! The write log: one entry per record write a CRM applied through its API, so tests can
//! check that a client never applied the same change twice.
//!
//! Entries are appended where each CRM's record store is mutated (HubSpot's
//! `objects::Store`, Salesforce's `World` write methods), only for writes that took
//! effect: validation failures write nothing, and a Salesforce all-or-none rollback takes
//! back the entries of the call it undoes. Requests the fault layer rejects never reach a
//! store, so they log nothing. Seeding is not logged.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) const HUBSPOT: &str = "hubspot";
pub(crate) const SALESFORCE: &str = "salesforce";

/// One record write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteEntry {
    /// `"hubspot"` or `"salesforce"`.
    pub crm: String,
    /// The object as the CRM names it: `"contacts"`, `"companies"`, `"deals"`; `"Contact"`,
    /// `"Account"`, `"Lead"`, `"Opportunity"`.
    pub object: String,
    /// The record id as the CRM reports it (HubSpot's numeric id, Salesforce's 18-char id).
    pub id: String,
    /// `"create"`, `"update"`, `"archive"` (HubSpot), `"delete"` (Salesforce), `"merge"`
    /// (one entry per record merged away and one for the survivor), `"convert"` (the
    /// converted lead; the account, contact and opportunity it creates are `"create"`),
    /// `"reparent"` (a Salesforce child moved to the surviving account of a merge).
    pub op: String,
    /// Sequence number across both CRMs: increasing, never reused (not even after a
    /// reset), with gaps where a rollback took entries back.
    pub at: u64,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Update,
    Archive,
    Delete,
    Merge,
    Convert,
    Reparent,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Archive => "archive",
            Op::Delete => "delete",
            Op::Merge => "merge",
            Op::Convert => "convert",
            Op::Reparent => "reparent",
        }
    }
}

#[derive(Default)]
struct Inner {
    entries: Vec<WriteEntry>,
    next: u64,
}

/// The sandbox's write log, shared by both CRMs (cloning shares it). Its lock is only ever
/// taken last (inside a CRM's world lock, never the other way round).
#[derive(Clone, Default)]
pub struct WriteLog(Arc<Mutex<Inner>>);

impl WriteLog {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every entry since the last [`clear`](Self::clear), in write order.
    pub fn entries(&self) -> Vec<WriteEntry> {
        self.lock().entries.clone()
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }

    /// Forgets every entry (sequence numbers keep counting).
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    /// How many entries each `(object, id, op)` has: a count above 1 for `"update"` means
    /// the record was updated twice.
    pub fn per_record(&self) -> BTreeMap<(String, String, String), usize> {
        let mut out = BTreeMap::new();
        for e in &self.lock().entries {
            *out.entry((e.object.clone(), e.id.clone(), e.op.clone()))
                .or_default() += 1;
        }
        out
    }

    pub(crate) fn record(&self, crm: &str, object: &str, id: &str, op: Op) {
        let mut inner = self.lock();
        let at = inner.next;
        inner.next += 1;
        inner.entries.push(WriteEntry {
            crm: crm.to_string(),
            object: object.to_string(),
            id: id.to_string(),
            op: op.as_str().to_string(),
            at,
        });
    }

    /// The sequence number the next entry gets (for [`retract`](Self::retract)).
    pub(crate) fn mark(&self) -> u64 {
        self.lock().next
    }

    /// Takes back `crm`'s entries from `since` on (a rolled-back call's writes).
    pub(crate) fn retract(&self, crm: &str, since: u64) {
        let mut inner = self.lock();
        let start = inner.entries.partition_point(|e| e.at < since);
        let mut tail = inner.entries.split_off(start);
        tail.retain(|e| e.crm != crm);
        inner.entries.append(&mut tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retract_takes_back_only_one_crms_tail() {
        let log = WriteLog::default();
        log.record(SALESFORCE, "Contact", "a", Op::Create);
        let mark = log.mark();
        log.record(SALESFORCE, "Contact", "b", Op::Update);
        log.record(HUBSPOT, "contacts", "1", Op::Update);
        log.record(SALESFORCE, "Contact", "c", Op::Delete);
        log.retract(SALESFORCE, mark);
        let left: Vec<(String, u64)> = log.entries().into_iter().map(|e| (e.id, e.at)).collect();
        assert_eq!(left, vec![("a".into(), 0), ("1".into(), 2)]);
        log.clear();
        assert!(log.is_empty());
        log.record(HUBSPOT, "contacts", "1", Op::Update);
        log.record(HUBSPOT, "contacts", "1", Op::Update);
        assert_eq!(log.entries()[0].at, 4, "sequence survives a clear");
        assert_eq!(
            log.per_record()
                .get(&("contacts".into(), "1".into(), "update".into())),
            Some(&2)
        );
    }
}
