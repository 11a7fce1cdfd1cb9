//! The runs worker: scans the CRM, plans, writes the audit CSV, applies in the CRM's
//! largest batches, and checkpoints so that a crash or a deadline never applies a record
//! twice and never loses an outcome.
//!
//! Progress lives in `ACCT#<a>` / `RUNSTATE#<run_id>` (the stream ignores it), written
//! with version conditions, so a worker that lost its lease fails its next write and
//! stops (fencing). The phases:
//!
//! 1. **plan**: pages of the scan are planned; every `PART_CHANGES` changes (and at the
//!    end) the changes go to a plan part blob and the scan cursor to the state.
//! 2. **apply**: batch by batch. Before a batch's CRM call the state names it
//!    (`in_flight`); after the call, its rows (with outcomes) go to an output part blob
//!    and the next state write moves past it. A worker that finds a batch in flight when
//!    it starts reads those records back from the CRM: what already holds is recorded as
//!    applied, what still has its before-values is applied, anything else is a conflict.
//! 3. **finish**: the header and the parts are joined into `runs/<a>/<run_id>.csv`
//!    (streamed, multipart on S3), the run gets its final status and counts, the object's
//!    lock is released and runs waiting for it are woken.
//!
//! # The run's status
//!
//! ```text
//! queued  -> running    the lease is taken (an apply run: and the object's lock)
//! queued  -> waiting    an apply run finds the object's lock held by another run
//! running -> waiting    the same, at the start of a later slice
//! waiting -> running    the holder released the lock and woke it
//! running -> running    a yield: the deadline, or a batch not read back (woken again)
//! running -> succeeded | partial | failed | cancelled     the finish phase
//! ```
//!
//! Every status change is a write of the run item (`runs::update`); those marked *wake*
//! are written with `wake: true` and start another call of [`work`] (see below).
//!
//! - **queued**: `runs::create` (`create_with_id`) writes the new run (*wake*).
//! - **lease** ([`work`], every call): a run that is final or gone is `Ignored`. The
//!   state's lease is taken unless it is alive (`until` not passed, and a heartbeat,
//!   which every `save` renews, within [`STALE_AFTER`]) and the stream did not redeliver
//!   the record that started it: then the call is `Busy` and changes nothing. Taking it
//!   is a version-conditioned `save`; losing that race is `Busy` too. A call that fails
//!   drops the lease, so that its retry can take over at once.
//! - **→ waiting** (`Worker::go` → `Worker::lock` → `Worker::wait_for`): an apply run
//!   not yet finishing takes `LOCK#<object>` at the start of every slice; when another
//!   unfinished run holds it, the run drops its lease, becomes `waiting` with
//!   `waiting_for` (no wake) and the call returns `Waiting`. If the lock came free
//!   meanwhile, it wakes itself (*wake*).
//! - **waiting → running**: `release_lock` (at the holder's finish, or in [`fail`])
//!   writes every `waiting` apply run of the same object (*wake*); the next call takes the
//!   lock.
//! - **→ running** (`Worker::go`, every slice that does not wait): `running`,
//!   `waiting_for` and `error` cleared, `started_at` set once. This write happens even
//!   when the run goes straight to finish (a cancelled queued run passes through
//!   `running` within one slice).
//! - **yield** (`Worker::yield_now`): at the deadline (`plan_streamed` at a checkpoint,
//!   `apply` after a batch), or when an in-flight batch could not be read back (`apply`;
//!   at the `READ_BACK_ATTEMPTS`th try its rows are `UNKNOWN` instead): the lease is
//!   dropped, the counts written and `continuations` + 1 (*wake*). The run stays
//!   `running`.
//! - **cancel**: `runs::cancel` sets `cancel_requested` (*wake*). The worker ends the run
//!   `cancelled` at the start of a slice (`Worker::go`: also a queued or waiting run) or
//!   where it reads the run back (`Worker::progress`: each checkpoint of a streamed plan,
//!   before each batch). While a live worker holds the lease the woken call is `Busy`,
//!   and that worker sees the cancel there.
//! - **read-back on takeover** (`Worker::apply` → `Worker::apply_batch`): a state whose
//!   `in_flight` batch is at the position was cut off around its CRM call; that batch is
//!   read back (`Worker::read_back`, judged by `judge`, recorded by `Worker::settle`)
//!   and only what the CRM does not hold yet (an update: its before-values still there)
//!   is sent. A run that ends with a batch
//!   still in flight (cancelled, or its CRM could not be opened) reads it back without
//!   writing (`Worker::settle_in_flight`): what still has its before-values is skipped,
//!   what cannot be read is `UNKNOWN`.
//! - **→ failed**: the CRM connection does not open, or the config does not fit the CRM's
//!   schema (`Worker::go`); planning ends with a `Failure::Fatal` (`plan`,
//!   `plan_from_preview`, a fatal scan error in `plan_streamed`); or a fatal CRM error
//!   stops a batch (`apply`). The run still goes through finish. Locally, [`fail`] also
//!   ends a run whose slice failed three times (`serve_queue`), without the finish
//!   phase: no CSV, no report.
//! - **finish** (`Worker::finish`): `cancelled` or `failed` as set above, else `partial`
//!   when a row failed (or a revert left rows as they are), else `succeeded`; written
//!   with the CSV, the counts, `finished_at`, an apply run's `revertible`, and
//!   `delivery: pending` when the run has `notify` (no wake). Then an apply run releases
//!   the object's lock (waking the runs waiting for it), the output parts (an apply
//!   run's plan parts too) and the state are deleted, and a recipe's next step is
//!   started (`recipes::step_ended`).
//!
//! # What `wake: true` does
//!
//! `Run::to_item(true)` stores `wake: true` in the item. On AWS (`RunQueue::Stream`, whose
//! `wake` does nothing) the table's stream carries the write to the runs-worker Lambda:
//! template.yaml's `RunItems` filter passes INSERT/MODIFY records of `RUN#` items whose
//! new image has `wake: true`. `functions/runs/src/worker.rs` ends each slice a minute
//! before Lambda's deadline, and `steward_runs::handle_stream` calls [`work`] with the
//! record's sequence number as `event`: a call that fails (or times out) is delivered
//! again (up to 10 tries), and a redelivered record takes the lease over at once.
//!
//! Under `steward serve`, `runs::update` (and `create_with_id`) call `RunQueue::wake` after
//! the write, which sends the run to the in-process queue (`runs::queue`) that
//! [`serve_queue`] works: [`work_local`] for a slice (5 minutes under `steward serve`),
//! tried three times, then [`fail`].
//!
//! On both, [`sweep`] (the `StaleRunSweep` schedule every 5 minutes on AWS; a 60-second
//! timer in `steward serve`) writes again, with wake, every queued or running run that
//! has no live lease and nothing saved for [`STALE_AFTER`].
//!
//! # What `delivery: pending` does
//!
//! Finish writes it without waking the worker. On AWS the exports-events function's
//! `EndedRunsWithReports` stream filter (MODIFY of a `RUN#` item whose `delivery.status`
//! is `pending`) calls `steward_exports::send_reports` → `reports::deliver`, which claims
//! the delivery (`sending`, version-checked, so one of two deliverers sends), emails the
//! report and stores it `sent` or `failed`. Locally [`work_local`] calls
//! `reports::deliver` itself when [`work`] returns `Finished`.
//!
//! # Files
//!
//! `state` (the checkpoint, its lease, `save`, `yield_now`), `lock` (the object's lock),
//! `plan`, `apply` (the batch loop, the CRM calls, `settle`), `batch` (how a plan is cut
//! into batches), `read_back` (`judge`, `Found`, `Held`, unknown outcomes), `finish`,
//! `parts` (the run's blobs) and `local` (the in-process queue, `unfinished`, `sweep`).

mod apply;
mod batch;
mod finish;
mod local;
mod lock;
mod parts;
mod plan;
mod read_back;
mod state;

#[cfg(test)]
mod fixtures;
#[cfg(all(test, feature = "testing"))]
mod world;

use chrono::{DateTime, Utc};
use std::sync::Arc;

use super::{Acting, AppliedKinds, Mode, Run, Status};
use crate::app::{UsesBlobs, UsesClock, UsesCrm, UsesItems, UsesRunQueue};
use crate::crm::{Crm, CrmError};
use crate::error::{Error, Result};
use crate::identity::connections::Slot;

use apply::Window;
pub(super) use batch::read_batch;
pub use finish::fail;
pub use local::{serve_queue, sweep, unfinished, work_local};
pub(super) use parts::{read_plan_part_of, read_seen_part};
use state::{Lease, Phase, State};

/// Changes per plan part blob (at most).
pub const PART_CHANGES: usize = 2_000;
/// A holder that has not written its state for this long is taken to be dead.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(3);
/// Live progress is written to the run item at most this often.
const PROGRESS_EVERY: chrono::Duration = chrono::Duration::seconds(2);

/// What one call of `work` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worked {
    Finished(Status),
    /// Stopped at its deadline with work left; it woke itself to continue.
    Yielded,
    /// Another apply run holds the object; it is woken when that run ends.
    Waiting,
    /// Another worker holds the run.
    Busy,
    /// Nothing to do (ended, or gone).
    Ignored,
}

fn state_sk(run_id: crate::ids::RunId) -> String {
    crate::keys::run_state(run_id)
}

fn lock_sk(object: &str) -> String {
    crate::keys::lock(object)
}

/// Picks up the run and works on it until it ends or `deadline` comes. `event` is the
/// stream record's id on AWS (its redelivery proves the last holder died).
pub async fn work(
    s: &impl WorkerPorts,
    account_id: &crate::ids::AccountId,
    run_id: crate::ids::RunId,
    deadline: DateTime<Utc>,
    event: Option<&str>,
) -> Result<Worked> {
    let run = match super::load(s, account_id, run_id).await {
        Ok(r) => r,
        Err(Error::NotFound(_)) => return Ok(Worked::Ignored),
        Err(e) => return Err(e),
    };
    if run.status.is_final() {
        return Ok(Worked::Ignored);
    }
    let now = s.clock().now();
    let pk = crate::keys::account(account_id);
    let mut st = match s.items().get(&pk, &state_sk(run_id)).await? {
        Some(item) => {
            let mut st: State = item.decode("run state")?;
            st.version = item.version;
            st
        }
        None => State {
            applied: Some(AppliedKinds::default()),
            ..State::default()
        },
    };
    if let Some(l) = &st.lease {
        let alive = l.until > now && now - l.heartbeat < STALE_AFTER;
        let redelivered = event.is_some() && l.event.as_deref() == event;
        if alive && !redelivered {
            return Ok(Worked::Busy);
        }
        tracing::info!(%run_id, "taking over a run whose worker stopped");
    }
    st.lease = Some(Lease {
        holder: crate::ids::RunId::new().to_string(),
        until: deadline,
        heartbeat: now,
        event: event.map(str::to_string),
    });
    let mut w = Worker {
        s,
        run,
        st,
        deadline,
        crm: None,
        window: None,
        last_progress: None,
    };
    match w.save().await {
        Ok(()) => {}
        Err(Error::Conflict(_)) => return Ok(Worked::Busy),
        Err(e) => return Err(e),
    }
    let result = w.go().await;
    if result.is_err() {
        // Let the retry start at once rather than wait for the lease to run out.
        w.st.lease = None;
        if let Err(e) = w.save().await {
            tracing::warn!(%run_id, error = %e, "releasing a run's lease failed");
        }
    }
    result
}

/// The error code of a row whose outcome is unknown: its batch may have been applied,
/// and the CRM could not be read to tell.
pub const UNKNOWN: &str = "UNKNOWN";

enum Step {
    Next,
    Yield,
}

/// What the worker uses: the table, the audit bucket, the clock, the CRM, and the run
/// queue (to wake the runs that wait for an object's lock).
pub trait WorkerPorts: UsesItems + UsesBlobs + UsesClock + UsesCrm + UsesRunQueue {}

impl<T: UsesItems + UsesBlobs + UsesClock + UsesCrm + UsesRunQueue> WorkerPorts for T {}

struct Worker<'a, S> {
    s: &'a S,
    run: Run,
    st: State,
    deadline: DateTime<Utc>,
    crm: Option<Arc<dyn Crm>>,
    /// The plan's changes from the position on, a part or two at a time.
    window: Option<Window>,
    last_progress: Option<DateTime<Utc>>,
}

impl<S: WorkerPorts> Worker<'_, S> {
    fn pk(&self) -> String {
        crate::keys::account(&self.run.account_id)
    }

    fn past_deadline(&self) -> bool {
        self.s.clock().now() >= self.deadline
    }

    async fn go(&mut self) -> Result<Worked> {
        if self.run.cancel_requested && self.st.end.is_none() {
            self.st.end = Some(Status::Cancelled);
            self.st.phase = Phase::Finish;
        }
        if self.run.started_at.is_none()
            && self.st.end.is_none()
            && let Some(ids) = crate::recipes::gathered(self.s, &self.run).await?
        {
            // A recipe's first step: the records every call of its window handed over.
            self.run = super::update(self.s, &self.run.account_id, self.run.id, false, |r| {
                r.scope = super::Scope::Ids(ids.clone());
            })
            .await?;
        }
        if self.run.mode == Mode::Apply
            && self.st.phase != Phase::Finish
            && let Some(holder) = self.lock().await?
        {
            return self.wait_for(holder).await;
        }
        let (s, first) = (self.s, self.run.started_at.is_none());
        self.run = super::update(s, &self.run.account_id, self.run.id, false, |r| {
            r.status = Status::Running;
            r.waiting_for = None;
            r.error = None;
            if r.started_at.is_none() {
                r.started_at = Some(s.clock().now());
            }
        })
        .await?;
        if first {
            tracing::info!(run_id = %self.run.id, "run started");
        }
        if self.st.phase != Phase::Finish {
            match self.open_crm().await {
                Ok(crm) => self.crm = Some(crm),
                Err(e) => {
                    self.st.end = Some(Status::Failed);
                    self.st.error = Some(e.to_string());
                    self.st.phase = Phase::Finish;
                }
            }
        }
        let starting = self.st.phase == Phase::Plan
            && self.st.plan_parts == 0
            && self.st.scan_cursor.is_none()
            && self.run.revert_of.is_none();
        if starting {
            match self.fits_the_crm().await {
                Ok(()) => {}
                Err(Failure::Fatal(why)) => {
                    tracing::info!(run_id = %self.run.id, "the run's config does not fit the CRM");
                    self.st.end = Some(Status::Failed);
                    self.st.error = Some(why);
                    self.st.phase = Phase::Finish;
                }
                Err(Failure::Other(e)) => return Err(e),
            }
        }
        loop {
            let step = match self.st.phase {
                Phase::Plan => self.plan().await?,
                Phase::Apply => self.apply().await?,
                Phase::Finish => return self.finish().await.map(Worked::Finished),
            };
            if let Step::Yield = step {
                return self.yield_now().await;
            }
        }
    }

    async fn open_crm(&self) -> Result<Arc<dyn Crm>> {
        let slot = match &self.run.acting {
            Acting::Member { user_id } => Slot::User(user_id),
            Acting::Integration => Slot::Integration,
        };
        self.s.open_crm(&self.run.account_id, slot).await
    }

    /// The config against the CRM's schema described now (not the cache: it may have
    /// changed since the template was saved or the run was queued), before any scan or
    /// write. A mismatch ends the run failed, with every problem in its `error`.
    async fn fits_the_crm(&self) -> Result<(), Failure> {
        let config = self.run.config()?;
        let crm = self.crm()?.clone();
        let object = config.object();
        let problems = match crate::modules::fields::check_object(object, crm.objects()) {
            Some(e) => vec![e],
            None => {
                let schema = crm.describe(object).await.map_err(Failure::crm)?;
                let problems = config.check_schema(crm.objects(), &schema);
                self.s
                    .schemas()
                    .remember(&self.run.account_id, schema, self.s.clock().now());
                problems
            }
        };
        if problems.is_empty() {
            return Ok(());
        }
        Err(Failure::Fatal(format!(
            "the config does not fit the CRM's schema (nothing was written): {}",
            problems
                .iter()
                .map(|e| format!("{}: {}", e.pointer, e.detail))
                .collect::<Vec<_>>()
                .join("; ")
        )))
    }

    fn crm(&self) -> Result<&Arc<dyn Crm>> {
        self.crm
            .as_ref()
            .ok_or_else(|| Error::unexpected("the run's CRM is not open"))
    }

    /// Writes live counts to the run (at most every `PROGRESS_EVERY`, or when `force`)
    /// and reads back whether a cancel was asked for.
    async fn progress(&mut self, force: bool) -> Result<bool> {
        let now = self.s.clock().now();
        let due = self.last_progress.is_none_or(|t| now - t >= PROGRESS_EVERY);
        let counts = self.st.counts;
        if force || due {
            self.run = super::update(self.s, &self.run.account_id, self.run.id, false, |r| {
                r.counts = counts;
            })
            .await?;
            self.last_progress = Some(now);
        } else {
            self.run = super::load(self.s, &self.run.account_id, self.run.id).await?;
        }
        Ok(self.run.cancel_requested)
    }
}

/// Errors that no retry of this run can fix: the run ends failed.
fn is_fatal(e: &CrmError) -> bool {
    matches!(
        e,
        CrmError::Auth(_)
            | CrmError::Forbidden(_)
            | CrmError::Quota(_)
            | CrmError::Unsupported(_)
            | CrmError::Rejected(_)
            | CrmError::File(_)
    )
}

pub(super) enum Failure {
    /// Ends the run as failed, with this reason.
    Fatal(String),
    Other(Error),
}

impl Failure {
    pub(super) fn crm(e: CrmError) -> Failure {
        if is_fatal(&e) {
            Failure::Fatal(e.to_string())
        } else {
            Failure::Other(e.into())
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Other(e)
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use chrono::Duration;

    use super::world::{self, ACCOUNT};
    use super::*;

    /// A checkpoint whose lease another worker took, from the stream record `event`.
    fn held(until: DateTime<Utc>, heartbeat: DateTime<Utc>, event: &str) -> State {
        State {
            lease: Some(Lease {
                holder: "the first worker".into(),
                until,
                heartbeat,
                event: Some(event.into()),
            }),
            applied: Some(AppliedKinds::default()),
            ..State::default()
        }
    }

    /// A run whose member asked to cancel it while a worker held it: whoever takes it
    /// over ends it, cancelled (no CRM needed).
    async fn cancelled_run_held(s: &crate::app::Services, until: DateTime<Utc>) -> Run {
        let run = world::stored_run(s, Mode::Preview, true).await;
        let now = s.clock().now();
        world::store_state(s, &run, &held(until, now, "seq-1")).await;
        run
    }

    async fn status(s: &crate::app::Services, run: &Run) -> Status {
        crate::runs::load(s, &ACCOUNT.parse().unwrap(), run.id)
            .await
            .unwrap()
            .status
    }

    #[tokio::test]
    async fn a_live_lease_keeps_other_workers_out_until_its_heartbeat_is_stale() {
        let (world, clock) = world::world();
        let s = world.services();
        let until = s.clock().now() + Duration::minutes(15);
        let run = cancelled_run_held(s, until).await;
        let deadline = s.clock().now() + Duration::minutes(14);
        // The cancel's wake finds the holder alive: the run and the lease are left alone.
        let worked = work(
            s,
            &ACCOUNT.parse().unwrap(),
            run.id,
            deadline,
            Some("seq-2"),
        )
        .await;
        assert_eq!(worked.unwrap(), Worked::Busy);
        let lease = world::stored_state(s, &run).await.unwrap().lease.unwrap();
        assert_eq!(lease.holder, "the first worker");
        assert_eq!(status(s, &run).await, Status::Queued);
        // Silent for just under `STALE_AFTER`: still alive.
        clock.advance(STALE_AFTER - Duration::seconds(1));
        let worked = work(s, &ACCOUNT.parse().unwrap(), run.id, deadline, None).await;
        assert_eq!(worked.unwrap(), Worked::Busy);
        // Silent for `STALE_AFTER`: taken to be dead; the next worker takes the run over.
        clock.advance(Duration::seconds(1));
        let worked = work(s, &ACCOUNT.parse().unwrap(), run.id, deadline, None).await;
        assert_eq!(worked.unwrap(), Worked::Finished(Status::Cancelled));
        assert_eq!(status(s, &run).await, Status::Cancelled);
        assert!(world::stored_state(s, &run).await.is_none());
    }

    #[tokio::test]
    async fn a_lease_past_its_end_is_taken_over_however_recent_its_heartbeat() {
        let (world, clock) = world::world();
        let s = world.services();
        let until = s.clock().now() + Duration::minutes(1);
        let run = cancelled_run_held(s, until).await;
        clock.advance(Duration::minutes(1));
        let deadline = s.clock().now() + Duration::minutes(14);
        let worked = work(s, &ACCOUNT.parse().unwrap(), run.id, deadline, None).await;
        assert_eq!(worked.unwrap(), Worked::Finished(Status::Cancelled));
    }

    #[tokio::test]
    async fn a_redelivered_stream_record_takes_a_live_lease_over_at_once() {
        // The stream delivers a record again when the call it started failed or timed
        // out: that holder is gone, whatever its lease says.
        let (world, _clock) = world::world();
        let s = world.services();
        let until = s.clock().now() + Duration::minutes(15);
        let run = cancelled_run_held(s, until).await;
        let deadline = s.clock().now() + Duration::minutes(14);
        let worked = work(
            s,
            &ACCOUNT.parse().unwrap(),
            run.id,
            deadline,
            Some("seq-1"),
        )
        .await;
        assert_eq!(worked.unwrap(), Worked::Finished(Status::Cancelled));
        assert_eq!(status(s, &run).await, Status::Cancelled);
    }
}
