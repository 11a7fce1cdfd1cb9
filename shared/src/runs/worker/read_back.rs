//! Reading back a batch that may have been applied: what the CRM holds now decides each
//! row (applied, still to apply, conflict), and what cannot be read is unknown.

use std::collections::HashMap;

use super::apply::Applied;
use super::{UNKNOWN, Worker, WorkerPorts, is_fatal, read_batch};
use crate::crm::values::{FieldTypes, same_as_stored};
use crate::crm::{CrmError, CrmKind, FieldType, MERGED_IDS, Outcome, Record};
use crate::modules::{Action, Change, FieldChange};
use crate::runs;

impl<S: WorkerPorts> Worker<'_, S> {
    /// The batch's records as the CRM holds them now, with the types to compare their
    /// values by.
    pub(super) async fn read_back(
        &self,
        batch: &[Change],
        todo: &[usize],
    ) -> Result<Found, CrmError> {
        let crm = self.crm().map_err(|e| CrmError::Protocol(e.to_string()))?;
        let mut by_object: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
        for &i in todo {
            let c = &batch[i];
            let object = match &c.action {
                Action::ConvertLead { .. } => "Lead".to_string(),
                _ => self.run.object.clone(),
            };
            let entry = by_object.entry(object).or_default();
            entry.0.extend(c.id.clone());
            let mut wanted: Vec<&str> = c.fields.iter().map(|f| f.field.as_str()).collect();
            match &c.action {
                Action::Merge { duplicate_ids, .. } => {
                    entry.0.extend(duplicate_ids.iter().cloned());
                    // HubSpot gives a merged record a new id: find it by the ids it absorbed.
                    if crm.kind() == CrmKind::HubSpot {
                        wanted.push(MERGED_IDS);
                    }
                }
                Action::ConvertLead { .. } => wanted.push("IsConverted"),
                _ => {}
            }
            for f in wanted {
                if !entry.1.iter().any(|p| p == f) {
                    entry.1.push(f.to_string());
                }
            }
        }
        let mut out = Found {
            records: HashMap::new(),
            types: runs::field_types(self.s, &self.run.account_id, crm.as_ref(), &self.run.object)
                .await?,
        };
        for (object, (ids, props)) in by_object {
            for chunk in ids.chunks(read_batch(crm.kind())) {
                for r in crm.batch_read(&object, chunk, &props).await? {
                    out.records.insert(r.id.clone(), r);
                }
            }
        }
        Ok(out)
    }
}

/// Rows of a batch that may have been applied and could not be read back (`e`): tried
/// again later, or, on the last try or when nothing can fix it, reported as unknown.
pub(super) fn unread(
    batch: &[Change],
    rows: &[usize],
    mut outcomes: Vec<Option<Outcome>>,
    e: CrmError,
    last_try: bool,
) -> Applied {
    let fatal = is_fatal(&e);
    if !fatal && !last_try {
        return Applied::Unsettled(e);
    }
    unknown(batch, rows, &mut outcomes, &e);
    Applied::Done(outcomes, fatal.then_some(e))
}

/// `rows` of `batch` may or may not have been applied, and reading them back failed (`e`).
pub(super) fn unknown(
    batch: &[Change],
    rows: &[usize],
    outcomes: &mut [Option<Outcome>],
    e: &CrmError,
) {
    for &i in rows {
        outcomes[i] = Some(Outcome::failed(
            batch[i].id.clone(),
            UNKNOWN,
            format!(
                "outcome unknown: the CRM's answer was lost and reading the record back failed ({e}); it may or may not have been changed: check it in the CRM"
            ),
        ));
    }
}

/// What the CRM holds for a change that may have been applied.
pub(super) enum Held {
    /// Already applied (the record's id now).
    Done(String),
    Todo,
    Conflict(String),
    /// A merge done whose master (this id: the record that remains) still lacks its
    /// surviving values.
    MasterFields(String),
}

/// What the CRM holds now for a batch that may have been applied.
pub(super) struct Found {
    /// By the id each record answers with.
    pub(super) records: HashMap<String, Record>,
    /// The run object's field types: values compare as the CRM stores them.
    pub(super) types: FieldTypes,
}

impl Found {
    /// The record that answers for `id` now: itself, or the one it was merged into.
    fn answering(&self, id: &str) -> Option<&Record> {
        self.records.get(id).or_else(|| {
            self.records
                .values()
                .find(|r| r.merged_ids().any(|m| m == id))
        })
    }

    /// Whether `r` holds each field's value as `pick` gives it, as the CRM stores it.
    fn holds(&self, r: &Record, c: &Change, pick: impl Fn(&FieldChange) -> Option<&str>) -> bool {
        c.fields.iter().all(|f| {
            let now = r.properties.get(&f.field).cloned().flatten();
            self.types.same(&f.field, now.as_deref(), pick(f))
        })
    }
}

pub(super) fn judge(c: &Change, found: &Found) -> Held {
    let id = c.id.clone().unwrap_or_default();
    match &c.action {
        Action::Update => {
            let Some(r) = found.records.get(&id) else {
                return Held::Conflict("the record no longer exists".into());
            };
            if found.holds(r, c, |f| f.after.as_deref()) {
                Held::Done(id)
            } else if found.holds(r, c, |f| f.before.as_deref()) {
                Held::Todo
            } else {
                Held::Conflict("changed in the CRM since it was planned".into())
            }
        }
        Action::Archive => match found.records.contains_key(&id) {
            true => Held::Todo,
            false => Held::Done(id),
        },
        Action::Merge { duplicate_ids, .. } => {
            let left = duplicate_ids
                .iter()
                .filter(|d| found.records.contains_key(*d))
                .count();
            if left == 0 {
                // Merged; were the master's fields set on the record that remains?
                match found.answering(&id) {
                    Some(r) if !found.holds(r, c, |f| f.after.as_deref()) => {
                        Held::MasterFields(r.id.clone())
                    }
                    Some(r) => Held::Done(r.id.clone()),
                    None => Held::Done(id),
                }
            } else if left == duplicate_ids.len() {
                Held::Todo
            } else {
                Held::Conflict("the group was merged in part; merge the rest in the CRM".into())
            }
        }
        Action::ConvertLead { .. } => match found.records.get(&id) {
            Some(r)
                if same_as_stored(
                    Some(&FieldType::Bool),
                    r.properties
                        .get("IsConverted")
                        .cloned()
                        .flatten()
                        .as_deref(),
                    Some("true"),
                ) =>
            {
                Held::Done(id)
            }
            Some(_) => Held::Todo,
            None => Held::Done(id),
        },
        Action::Create => Held::Conflict(
            "AMBIGUOUS: the worker stopped while creating it; check the CRM before running again"
                .into(),
        ),
        Action::Flag | Action::Review { .. } => Held::Done(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::worker::fixtures::{archive, flag, found, merge, record, update};

    #[test]
    fn a_read_back_finds_what_was_written_as_the_crm_stores_it() {
        // The run wrote `…00Z` and `12000.00`; HubSpot holds `…00.000Z`, and `12000`.
        let c = Change {
            fields: vec![
                FieldChange {
                    field: "closedate".into(),
                    before: Some("2024-01-01T00:00:00.000Z".into()),
                    after: Some("2024-04-30T00:00:00Z".into()),
                },
                FieldChange {
                    field: "amount".into(),
                    before: None,
                    after: Some("12000.00".into()),
                },
            ],
            ..update("7", "x", "", "")
        };
        let types = [
            ("closedate", FieldType::DateTime),
            ("amount", FieldType::Number),
        ];
        let now = record(
            "7",
            &[
                ("closedate", "2024-04-30T00:00:00.000Z"),
                ("amount", "12000"),
            ],
        );
        assert!(matches!(judge(&c, &found(vec![now], &types)), Held::Done(id) if id == "7"));
        let before = record("7", &[("closedate", "1704067200000")]);
        assert!(matches!(
            judge(&c, &found(vec![before], &types)),
            Held::Todo
        ));
        let moved = record("7", &[("closedate", "2024-05-01T00:00:00.000Z")]);
        assert!(matches!(
            judge(&c, &found(vec![moved], &types)),
            Held::Conflict(_)
        ));
    }

    #[test]
    fn a_resumed_merge_names_the_record_that_remains() {
        let merge = Change {
            id: Some("10".into()),
            action: Action::Merge {
                group_id: "g1".into(),
                duplicate_ids: vec!["11".into()],
            },
            fields: vec![FieldChange {
                field: "phone".into(),
                before: None,
                after: Some("555".into()),
            }],
            note: None,
        };
        // HubSpot merged 10 and 11 into the new record 99, which answers for both.
        let merged = |phone: &str| record("99", &[(MERGED_IDS, "10;11"), ("phone", phone)]);
        let types = [("phone", FieldType::Phone)];
        assert!(matches!(
            judge(&merge, &found(vec![merged("555")], &types)),
            Held::Done(id) if id == "99"
        ));
        assert!(matches!(
            judge(&merge, &found(vec![merged("")], &types)),
            Held::MasterFields(id) if id == "99"
        ));
    }

    #[test]
    fn rows_that_cannot_be_read_back_are_unknown_never_skipped() {
        let batch = [update("1", "city", "a", "b"), flag("2")];
        let none = vec![None, None];
        let e = CrmError::Unavailable("HubSpot is down".into());
        assert!(matches!(
            unread(&batch, &[0], none.clone(), e.clone(), false),
            Applied::Unsettled(_)
        ));
        let Applied::Done(out, fatal) = unread(&batch, &[0], none.clone(), e, true) else {
            panic!("the last try settles");
        };
        assert!(fatal.is_none());
        assert_eq!(
            out[0].as_ref().unwrap().error.as_ref().unwrap().code,
            UNKNOWN
        );
        assert!(out[1].is_none(), "a flag writes nothing");
        // An error no retry fixes settles at once, and ends the run.
        let Applied::Done(out, fatal) =
            unread(&batch, &[0], none, CrmError::Auth("revoked".into()), false)
        else {
            panic!("a fatal error settles");
        };
        assert!(fatal.is_some());
        assert_eq!(
            out[0].as_ref().unwrap().error.as_ref().unwrap().code,
            UNKNOWN
        );
    }

    #[test]
    fn judge_tells_done_from_still_to_do_from_changed_since_for_each_kind_of_write() {
        let types = [("city", FieldType::Text)];
        let judged = |c: &Change, records: Vec<Record>| judge(c, &found(records, &types));
        let city = |id: &str, v: &str| record(id, &[("city", v)]);

        // An update: its after-values are there (done), its before-values (to do), or
        // something else (a conflict, as is a record gone).
        let u = update("1", "city", "Paris", "PARIS");
        assert!(matches!(judged(&u, vec![city("1", "PARIS")]), Held::Done(id) if id == "1"));
        assert!(matches!(judged(&u, vec![city("1", "Paris")]), Held::Todo));
        assert!(matches!(
            judged(&u, vec![city("1", "Lyon")]),
            Held::Conflict(why) if why.contains("changed in the CRM")
        ));
        assert!(matches!(
            judged(&u, Vec::new()),
            Held::Conflict(why) if why.contains("no longer exists")
        ));

        // An archive: gone is done.
        assert!(matches!(judged(&archive("2"), Vec::new()), Held::Done(id) if id == "2"));
        assert!(matches!(
            judged(&archive("2"), vec![city("2", "x")]),
            Held::Todo
        ));

        // A merge: every duplicate gone is done (its master's fields too), none gone is
        // to do, some gone is a conflict.
        let m = merge("10", &["11", "12"], "city", "Oslo");
        assert!(matches!(judged(&m, vec![city("10", "Oslo")]), Held::Done(id) if id == "10"));
        let all = vec![city("10", "Bergen"), city("11", "Oslo"), city("12", "")];
        assert!(matches!(judged(&m, all), Held::Todo));
        let some = vec![city("10", "Bergen"), city("12", "")];
        assert!(matches!(
            judged(&m, some),
            Held::Conflict(why) if why.contains("merged in part")
        ));

        // A Lead conversion: done once the CRM says it is converted.
        let convert = Change {
            id: Some("00Q1".into()),
            action: Action::ConvertLead {
                group_id: "g1".into(),
                contact_id: "003A".into(),
                account_id: None,
                converted_status: "Closed - Converted".into(),
            },
            fields: Vec::new(),
            note: None,
        };
        let lead = |converted: &str| vec![record("00Q1", &[("IsConverted", converted)])];
        assert!(matches!(judged(&convert, lead("true")), Held::Done(_)));
        assert!(matches!(judged(&convert, lead("false")), Held::Todo));

        // A create cannot be told from a record someone made since: never sent twice.
        let create = Change {
            id: None,
            action: Action::Create,
            ..update("", "city", "", "Rome")
        };
        assert!(matches!(
            judged(&create, Vec::new()),
            Held::Conflict(why) if why.starts_with("AMBIGUOUS")
        ));
    }
}
