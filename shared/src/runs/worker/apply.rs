//! Phase 2, apply: batch by batch, each named in the state (`in_flight`) before its CRM
//! call and recorded in an output part after it.

use std::collections::HashMap;

use super::batch::{batch_len, by_kind};
use super::parts::{out_part_key, read_plan_part, rows_of};
use super::read_back::{Found, Held, judge, unread};
use super::state::Flight;
use super::{Phase, Step, Worker, WorkerPorts, is_fatal};
use crate::crm::{CrmError, LeadConvert, MergeGroup, Outcome, Update};
use crate::error::Result;
use crate::modules::csv::AuditWriter;
use crate::modules::{Action, Change};
use crate::runs::Status;

/// Marks, between `settle` and `apply_batch`, a merge whose master fields are still to set.
pub(super) const MASTER_FIELDS: &str = "MASTER_FIELDS";

pub(super) struct Window {
    pub(super) changes: std::collections::VecDeque<Change>,
    next_part: u32,
    /// Sizes of the parts loaded, to move the position across them.
    sizes: HashMap<u32, u32>,
    /// Changes of the first part loaded that were applied before (the position's offset).
    skip: usize,
}

/// More than any CRM batch takes: the window is filled to this before a batch is cut.
const BATCH_MAX_ANY: usize = 1_000;

/// Tries at reading back a batch whose outcome is unknown (a slice each) before its rows
/// are reported as unknown.
const READ_BACK_ATTEMPTS: u32 = 3;

/// What one batch came to.
pub(super) enum Applied {
    /// Each row's outcome (None: nothing written), and the error that ends the run (its
    /// rows not sent are skipped).
    Done(Vec<Option<Outcome>>, Option<CrmError>),
    /// The batch may have been applied and reading it back failed: try again later.
    Unsettled(CrmError),
}

impl<S: WorkerPorts> Worker<'_, S> {
    /// Fills the window of changes from the position `(part, offset)` on, loading plan
    /// parts until it holds `want` changes or the plan ends: a batch may span parts.
    pub(super) async fn fill(&mut self, want: usize) -> Result<()> {
        if self.window.is_none() {
            self.window = Some(Window {
                changes: std::collections::VecDeque::new(),
                next_part: self.st.part,
                sizes: HashMap::new(),
                skip: self.st.offset as usize,
            });
        }
        loop {
            let (len, next) = match &self.window {
                Some(w) => (w.changes.len(), w.next_part),
                None => return Ok(()),
            };
            if len >= want || next >= self.st.plan_parts {
                return Ok(());
            }
            let changes = read_plan_part(self.s, &self.run, next).await?;
            if let Some(w) = &mut self.window {
                w.sizes.insert(next, changes.len() as u32);
                let skip = std::mem::take(&mut w.skip);
                w.changes.extend(changes.into_iter().skip(skip));
                w.next_part += 1;
            }
        }
    }

    /// Moves the position past `n` changes (across part boundaries).
    pub(super) fn advance(&mut self, n: u32) {
        let Some(w) = &mut self.window else {
            return;
        };
        w.changes.drain(..n as usize);
        self.st.offset += n;
        while let Some(&size) = w.sizes.get(&self.st.part) {
            if self.st.offset < size {
                break;
            }
            self.st.offset -= size;
            self.st.part += 1;
        }
    }

    pub(super) async fn apply(&mut self) -> Result<Step> {
        let kind = self.crm()?.kind();
        loop {
            self.fill(BATCH_MAX_ANY).await?;
            let Some(window) = &self.window else { break };
            if window.changes.is_empty() {
                break;
            }
            if self.progress(false).await? {
                self.st.end = Some(Status::Cancelled);
                break;
            }
            let Some(window) = &mut self.window else {
                break;
            };
            let window = window.changes.make_contiguous();
            let (flight, resumed) = match self.st.in_flight {
                Some(f) if f.part == self.st.part && f.offset == self.st.offset => (f, true),
                _ => {
                    let f = Flight {
                        part: self.st.part,
                        offset: self.st.offset,
                        len: batch_len(kind, window) as u32,
                        read_back_failures: 0,
                    };
                    (f, false)
                }
            };
            let batch: Vec<Change> = window[..(flight.len as usize).min(window.len())].to_vec();
            let needs_call = batch.iter().any(|c| !c.action.writes_nothing());
            if needs_call && !resumed {
                self.st.in_flight = Some(flight);
                self.save().await?;
            }
            let last_try = flight.read_back_failures + 1 >= READ_BACK_ATTEMPTS;
            let (outcomes, fatal) = match self.apply_batch(&batch, resumed, last_try).await? {
                Applied::Done(outcomes, fatal) => (outcomes, fatal),
                Applied::Unsettled(e) => {
                    // It may have been applied: read it back in the next slice.
                    tracing::warn!(run_id = %self.run.id, error = %e, "reading a batch back failed; trying again in the next slice");
                    self.st.in_flight = Some(Flight {
                        read_back_failures: flight.read_back_failures + 1,
                        ..flight
                    });
                    self.save().await?;
                    return Ok(Step::Yield);
                }
            };
            self.write_out_part(&batch, &outcomes).await?;
            self.advance(flight.len);
            self.st.batches += 1;
            self.st.in_flight = None;
            if let Some(e) = fatal {
                self.st.end = Some(Status::Failed);
                self.st.error = Some(format!("applying to {}: {e}", self.run.object));
                break;
            }
            if self.past_deadline() {
                self.save().await?;
                return Ok(Step::Yield);
            }
        }
        self.st.phase = Phase::Finish;
        self.save().await?;
        Ok(Step::Next)
    }

    pub(super) async fn write_out_part(
        &mut self,
        batch: &[Change],
        outcomes: &[Option<Outcome>],
    ) -> Result<()> {
        let mut w = AuditWriter::continuing(Vec::new(), &self.st.columns, true)?;
        for (c, o) in batch.iter().zip(outcomes) {
            w.write_change(c, o.as_ref())?;
            self.st.rows += rows_of(c);
            match o {
                None => self.st.counts.skipped += 1,
                Some(Outcome { error: None, .. }) => {
                    self.st.counts.applied += 1;
                    if let Some(applied) = &mut self.st.applied {
                        applied.count(c, rows_of(c));
                    }
                }
                Some(_) => self.st.counts.failed += 1,
            }
        }
        let body = w.finish()?;
        self.s
            .blobs()
            .put(
                &out_part_key(&self.run, self.st.batches),
                body.into(),
                "text/csv",
            )
            .await
    }

    /// One batch's outcomes (None: nothing written: a flag, or not sent after an error that
    /// ends the run). `resumed`: the batch may have been applied by a worker that stopped;
    /// read it back first. `last_try`: a batch that cannot be read back now is not tried
    /// again: its rows are reported as unknown.
    async fn apply_batch(
        &self,
        batch: &[Change],
        resumed: bool,
        last_try: bool,
    ) -> Result<Applied> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        let mut todo: Vec<usize> = (0..batch.len())
            .filter(|&i| !batch[i].action.writes_nothing())
            .collect();
        if todo.is_empty() {
            return Ok(Applied::Done(outcomes, None));
        }
        if resumed {
            let found = match self.read_back(batch, &todo).await {
                Ok(found) => found,
                Err(e) => return Ok(unread(batch, &todo, outcomes, e, last_try)),
            };
            todo = self.settle(batch, todo, &found, &mut outcomes, None);
            if let Some(fatal) = self.set_pending_master_fields(batch, &mut outcomes).await? {
                return Ok(Applied::Done(outcomes, Some(fatal)));
            }
        }
        // One call per kind of write: a group's Leads are converted before it is merged.
        for group in by_kind(batch, &todo) {
            let subset: Vec<Change> = group.iter().map(|&i| batch[i].clone()).collect();
            match self.call(&subset).await {
                Ok(outs) => {
                    for (&i, o) in group.iter().zip(outs) {
                        outcomes[i] = Some(o);
                    }
                }
                // Refused before anything was written: the rest is not sent.
                Err(e) if is_fatal(&e) => return Ok(Applied::Done(outcomes, Some(e))),
                Err(e) => {
                    // Still failing after the transport's retries, or ambiguous: what holds
                    // now is applied, the rest failed with the error.
                    tracing::warn!(run_id = %self.run.id, error = %e, "a batch failed; reading it back");
                    match self.read_back(batch, &group).await {
                        Ok(found) => {
                            self.settle(batch, group, &found, &mut outcomes, Some(&e));
                        }
                        Err(read) => match unread(batch, &group, outcomes, read, last_try) {
                            Applied::Done(o, None) => outcomes = o,
                            other => return Ok(other),
                        },
                    }
                }
            }
        }
        Ok(Applied::Done(outcomes, None))
    }

    /// After a read-back: merges done before the stop whose masters still need their
    /// values get them. An error that ends the run is returned.
    async fn set_pending_master_fields(
        &self,
        batch: &[Change],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<Option<CrmError>> {
        let survivors: Vec<(usize, String)> = outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                Some(Outcome {
                    id: Some(id),
                    error: Some(e),
                }) if e.code == MASTER_FIELDS => Some((i, id.clone())),
                _ => None,
            })
            .collect();
        if survivors.is_empty() {
            return Ok(None);
        }
        let mut outs: Vec<Outcome> = survivors
            .iter()
            .map(|(_, id)| Outcome::ok(id.clone()))
            .collect();
        let picked: Vec<Change> = survivors.iter().map(|(i, _)| batch[*i].clone()).collect();
        let renumbered: Vec<(usize, String)> = survivors
            .iter()
            .enumerate()
            .map(|(k, (_, id))| (k, id.clone()))
            .collect();
        let fatal = match self
            .set_master_fields(&picked, &renumbered, &mut outs)
            .await
        {
            Ok(()) => None,
            Err(e) => {
                for o in &mut outs {
                    *o = Outcome::failed(
                        o.id.clone(),
                        e.code(),
                        format!("merged, but the master's fields were not set: {e}"),
                    );
                }
                is_fatal(&e).then_some(e)
            }
        };
        for ((i, _), o) in survivors.iter().zip(outs) {
            outcomes[*i] = Some(o);
        }
        Ok(fatal)
    }

    /// Sorts `todo` by what the CRM now holds: done (recorded applied), conflicting
    /// (recorded failed), or still to apply (returned). With `error`, nothing is left to
    /// apply: those fail with it.
    pub(super) fn settle(
        &self,
        batch: &[Change],
        todo: Vec<usize>,
        found: &Found,
        outcomes: &mut [Option<Outcome>],
        error: Option<&CrmError>,
    ) -> Vec<usize> {
        let mut left = Vec::new();
        for i in todo {
            let c = &batch[i];
            let id = c.id.clone();
            match (judge(c, found), error) {
                // Only the fields are left: `set_pending_master_fields` sets them.
                (Held::MasterFields(survivor), None) => {
                    outcomes[i] = Some(Outcome::failed(Some(survivor), MASTER_FIELDS, ""));
                }
                (Held::Done(surviving), _) => outcomes[i] = Some(Outcome::ok(surviving)),
                (Held::Conflict(why), _) => {
                    outcomes[i] = Some(Outcome::failed(id, "CONFLICT", why));
                }
                (Held::Todo, Some(e)) => {
                    outcomes[i] = Some(Outcome::failed(id, e.code(), e.to_string()));
                }
                (Held::Todo, None) => left.push(i),
                (Held::MasterFields(survivor), Some(e)) => {
                    outcomes[i] = Some(Outcome::failed(
                        Some(survivor),
                        e.code(),
                        "merged, but the master's fields were not set",
                    ));
                }
            }
        }
        left
    }

    /// The CRM call(s) for changes of one kind; outcomes in order.
    async fn call(&self, changes: &[Change]) -> Result<Vec<Outcome>, CrmError> {
        let crm = self.crm().map_err(|e| CrmError::Protocol(e.to_string()))?;
        let object = &self.run.object;
        let stamp = |mut p: crate::crm::Properties| {
            if let Some(prop) = &self.run.stamp_property {
                p.insert(prop.clone(), Some(self.run.id.to_string()));
            }
            p
        };
        let ids = || -> Vec<String> { changes.iter().filter_map(|c| c.id.clone()).collect() };
        match &changes[0].action {
            Action::Update => {
                let updates: Vec<Update> = changes
                    .iter()
                    .map(|c| Update {
                        id: c.id.clone().unwrap_or_default(),
                        properties: stamp(c.writes()),
                    })
                    .collect();
                crm.batch_update(object, &updates).await
            }
            Action::Archive => crm.batch_archive(object, &ids()).await,
            Action::Create => {
                let records: Vec<_> = changes.iter().map(|c| stamp(c.writes())).collect();
                crm.batch_create(object, &records).await
            }
            Action::Merge { .. } => {
                // The merge first, then the master's surviving values on the record that
                // remains (a unique field such as an email can only move once the
                // duplicate holding it is gone).
                let groups: Vec<MergeGroup> = changes
                    .iter()
                    .filter_map(|c| match &c.action {
                        Action::Merge { duplicate_ids, .. } => Some(MergeGroup {
                            primary_id: c.id.clone().unwrap_or_default(),
                            duplicate_ids: duplicate_ids.clone(),
                        }),
                        _ => None,
                    })
                    .collect();
                let mut merged: HashMap<String, Outcome> = crm
                    .merge(object, &groups)
                    .await?
                    .into_iter()
                    .map(|m| {
                        let o = Outcome {
                            id: m.surviving_id.clone().or(Some(m.primary_id.clone())),
                            error: m.error,
                        };
                        (m.primary_id, o)
                    })
                    .collect();
                let mut outcomes: Vec<Outcome> = changes
                    .iter()
                    .map(|c| {
                        let id = c.id.clone().unwrap_or_default();
                        merged.remove(&id).unwrap_or_else(|| {
                            Outcome::failed(Some(id), "PROTOCOL", "the CRM did not answer")
                        })
                    })
                    .collect();
                let survivors: Vec<(usize, String)> = outcomes
                    .iter()
                    .enumerate()
                    .filter(|(i, o)| o.error.is_none() && !changes[*i].fields.is_empty())
                    .filter_map(|(i, o)| o.id.clone().map(|id| (i, id)))
                    .collect();
                self.set_master_fields(changes, &survivors, &mut outcomes)
                    .await?;
                Ok(outcomes)
            }
            Action::ConvertLead { .. } => {
                let converts: Vec<LeadConvert> = changes
                    .iter()
                    .filter_map(|c| match &c.action {
                        Action::ConvertLead {
                            contact_id,
                            account_id,
                            converted_status,
                            ..
                        } => Some(LeadConvert {
                            lead_id: c.id.clone().unwrap_or_default(),
                            converted_status: converted_status.clone(),
                            account_id: account_id.clone(),
                            contact_id: Some(contact_id.clone()),
                            create_opportunity: false,
                        }),
                        _ => None,
                    })
                    .collect();
                Ok(crm
                    .convert_leads(&converts)
                    .await?
                    .into_iter()
                    .map(|o| Outcome {
                        id: Some(o.lead_id),
                        error: o.error,
                    })
                    .collect())
            }
            Action::Flag | Action::Review { .. } => Ok(Vec::new()),
        }
    }

    /// Writes merged groups' surviving values to the records that remain: `survivors`
    /// pairs a change's index with its record's id now. A failure is kept in `outcomes`.
    async fn set_master_fields(
        &self,
        changes: &[Change],
        survivors: &[(usize, String)],
        outcomes: &mut [Outcome],
    ) -> Result<(), CrmError> {
        if survivors.is_empty() {
            return Ok(());
        }
        let crm = self.crm().map_err(|e| CrmError::Protocol(e.to_string()))?;
        let updates: Vec<Update> = survivors
            .iter()
            .map(|(i, id)| {
                let mut properties = changes[*i].writes();
                if let Some(prop) = &self.run.stamp_property {
                    properties.insert(prop.clone(), Some(self.run.id.to_string()));
                }
                Update {
                    id: id.clone(),
                    properties,
                }
            })
            .collect();
        let results = crm.batch_update(&self.run.object, &updates).await?;
        for ((i, id), o) in survivors.iter().zip(results) {
            if let Some(e) = o.error {
                outcomes[*i] = Outcome::failed(
                    Some(id.clone()),
                    &e.code,
                    format!(
                        "merged, but the master's fields were not set: {}",
                        e.message
                    ),
                );
            }
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::crm::FieldType;
    use crate::runs::worker::UNKNOWN;
    use crate::runs::worker::fixtures::{archive, found, merge, record, update};
    use crate::runs::worker::state::State;
    use crate::runs::worker::world::{self, FakeCrm};
    use crate::runs::{AppliedKinds, Mode};

    /// An apply run's checkpoint at the start of its one plan part.
    fn at_start(in_flight: Option<Flight>) -> State {
        State {
            phase: Phase::Apply,
            columns: vec!["city".into()],
            plan_parts: 1,
            in_flight,
            applied: Some(AppliedKinds::default()),
            ..State::default()
        }
    }

    /// Three updates of `city` from "a" to "b", and the CRM as a worker that stopped
    /// mid-batch left it: 1 holds "b" (applied), 2 still holds "a", 3 was changed to "z"
    /// by someone since.
    fn three_updates() -> (Vec<Change>, Arc<FakeCrm>) {
        let plan = vec![
            update("1", "city", "a", "b"),
            update("2", "city", "a", "b"),
            update("3", "city", "a", "b"),
        ];
        let crm = FakeCrm::holding(vec![
            record("1", &[("city", "b")]),
            record("2", &[("city", "a")]),
            record("3", &[("city", "z")]),
        ]);
        (plan, crm)
    }

    /// The batch of all three, as the worker that stopped named it before its call.
    const FLIGHT: Flight = Flight {
        part: 0,
        offset: 0,
        len: 3,
        read_back_failures: 0,
    };

    fn row(id: &str, outcome: &str, code: Option<&str>) -> (String, String, Option<String>) {
        (id.into(), outcome.into(), code.map(str::to_string))
    }

    #[tokio::test]
    async fn a_batch_left_in_flight_is_read_back_and_only_what_is_still_to_do_is_sent() {
        let (world, _clock) = world::world();
        let s = world.services();
        let run = world::stored_run(s, Mode::Apply, false).await;
        let (plan, crm) = three_updates();
        world::store_plan(s, &run, &plan).await;
        let mut w = world::worker(s, run.clone(), at_start(Some(FLIGHT)), crm.clone());
        assert!(matches!(w.apply().await.unwrap(), Step::Next));
        assert_eq!(w.finish().await.unwrap(), Status::Partial);
        // One call, for the one record still holding its before-value: nothing twice, and
        // nobody's later edit overwritten.
        assert_eq!(crm.updates(), [["2"]]);
        assert_eq!(crm.value("3", "city").as_deref(), Some("z"));
        assert_eq!(
            world::audit(s, &run).await,
            [
                row("1", "applied", None),
                row("2", "applied", None),
                row("3", "failed", Some("CONFLICT")),
            ]
        );
    }

    #[tokio::test]
    async fn a_batch_not_in_flight_is_sent_as_planned() {
        // The same plan and CRM without the in-flight mark: the batch goes out whole (what
        // the read-back above prevents).
        let (world, _clock) = world::world();
        let s = world.services();
        let run = world::stored_run(s, Mode::Apply, false).await;
        let (plan, crm) = three_updates();
        world::store_plan(s, &run, &plan).await;
        let mut w = world::worker(s, run.clone(), at_start(None), crm.clone());
        assert!(matches!(w.apply().await.unwrap(), Step::Next));
        assert_eq!(w.finish().await.unwrap(), Status::Succeeded);
        assert_eq!(crm.updates(), [["1", "2", "3"]]);
        assert_eq!(crm.value("3", "city").as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn a_batch_in_flight_that_cannot_be_read_back_is_retried_then_reported_unknown() {
        let (world, _clock) = world::world();
        let s = world.services();
        let run = world::stored_run(s, Mode::Apply, false).await;
        let (plan, crm) = three_updates();
        world::store_plan(s, &run, &plan).await;
        crm.fail_reads(CrmError::Unavailable("HubSpot is down".into()));
        let mut st = at_start(Some(FLIGHT));
        // Each slice is a new worker from the checkpoint the last one saved.
        for tried in 1..READ_BACK_ATTEMPTS {
            let mut w = world::worker(s, run.clone(), st, crm.clone());
            assert!(
                matches!(w.apply().await.unwrap(), Step::Yield),
                "try {tried} is tried again in the next slice"
            );
            st = world::stored_state(s, &run).await.unwrap();
            assert_eq!(st.in_flight.map(|f| f.read_back_failures), Some(tried));
        }
        let mut w = world::worker(s, run.clone(), st, crm.clone());
        assert!(matches!(w.apply().await.unwrap(), Step::Next));
        assert_eq!(w.finish().await.unwrap(), Status::Partial);
        // Never sent again blind, never reported as skipped.
        assert!(crm.updates().is_empty(), "{:?}", crm.updates());
        assert_eq!(
            world::audit(s, &run).await,
            [
                row("1", "failed", Some(UNKNOWN)),
                row("2", "failed", Some(UNKNOWN)),
                row("3", "failed", Some(UNKNOWN)),
            ]
        );
    }

    #[tokio::test]
    async fn settle_records_what_the_crm_holds_and_returns_only_what_is_still_to_do() {
        let (world, _clock) = world::world();
        let s = world.services();
        let run = world::stored_run(s, Mode::Apply, false).await;
        let w = world::worker(s, run, State::default(), FakeCrm::holding(Vec::new()));
        let batch = [
            update("1", "city", "a", "b"),
            update("2", "city", "a", "b"),
            update("3", "city", "a", "b"),
            // Merged (its duplicate is gone), but the master lacks its surviving value.
            merge("10", &["11"], "city", "Oslo"),
            // Archived already.
            archive("20"),
        ];
        let found = found(
            vec![
                record("1", &[("city", "b")]),
                record("2", &[("city", "a")]),
                record("3", &[("city", "z")]),
                record("10", &[("city", "Bergen")]),
            ],
            &[("city", FieldType::Text)],
        );
        let all: Vec<usize> = (0..batch.len()).collect();
        let seen = |outcomes: &[Option<Outcome>]| -> Vec<Option<(String, Option<String>)>> {
            outcomes
                .iter()
                .map(|o| {
                    let o = o.as_ref()?;
                    Some((
                        o.id.clone().unwrap_or_default(),
                        o.error.as_ref().map(|e| e.code.clone()),
                    ))
                })
                .collect()
        };
        let some = |id: &str, code: Option<&str>| Some((id.to_string(), code.map(str::to_string)));

        // After a stop: what holds is applied, what changed is a conflict, and only 2 is
        // left to send; the merge's master gets its fields (`set_pending_master_fields`).
        let mut outcomes = vec![None; batch.len()];
        let left = w.settle(&batch, all.clone(), &found, &mut outcomes, None);
        assert_eq!(left, [1]);
        assert_eq!(
            seen(&outcomes),
            [
                some("1", None),
                None,
                some("3", Some("CONFLICT")),
                some("10", Some(MASTER_FIELDS)),
                some("20", None),
            ]
        );

        // After a call that failed: nothing is left to send; what did not happen fails with
        // the call's error.
        let e = CrmError::Unavailable("HubSpot is down".into());
        let mut outcomes = vec![None; batch.len()];
        let left = w.settle(&batch, all, &found, &mut outcomes, Some(&e));
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(
            seen(&outcomes),
            [
                some("1", None),
                some("2", Some("UNAVAILABLE")),
                some("3", Some("CONFLICT")),
                some("10", Some("UNAVAILABLE")),
                some("20", None),
            ]
        );
    }
}
