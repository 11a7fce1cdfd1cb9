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

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

use super::apply_preview::Seen;
use super::{Acting, AppliedKinds, Counts, CsvFile, Mode, Revertible, Run, Scope, Status};
use crate::app::Services;
use crate::crm::limits::{hubspot, salesforce};
use crate::crm::values::{FieldTypes, same_as_stored};
use crate::crm::{
    Crm, CrmError, CrmKind, FieldType, LeadConvert, MERGED_IDS, MergeGroup, Outcome, Record,
    ScanRequest, Update,
};
use crate::error::{Error, Result};
use crate::identity::connections::{self, Slot};
use crate::modules::csv::AuditWriter;
use crate::modules::{Action, Change, FieldChange, ModuleConfig};
use crate::ports::blobs::BlobWriter;
use crate::ports::items::{Condition, Item, Query};

/// Marks, between `settle` and `apply_batch`, a merge whose master fields are still to set.
const MASTER_FIELDS: &str = "MASTER_FIELDS";

/// Scan pages between two planning checkpoints at most: a stopped worker scans no more
/// than this again.
const PAGES_PER_CHECKPOINT: usize = 10;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    #[default]
    Plan,
    Apply,
    Finish,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Lease {
    holder: String,
    until: DateTime<Utc>,
    heartbeat: DateTime<Utc>,
    /// The stream record that started it: its redelivery means this holder died.
    event: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Flight {
    part: u32,
    offset: u32,
    len: u32,
    /// Times reading this batch back failed (its outcome unknown): at
    /// `READ_BACK_ATTEMPTS`, its rows are reported as unknown.
    #[serde(default)]
    read_back_failures: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    phase: Phase,
    lease: Option<Lease>,
    columns: Vec<String>,
    scan_cursor: Option<String>,
    plan_parts: u32,
    part: u32,
    offset: u32,
    /// Output parts written (one per applied batch).
    batches: u32,
    in_flight: Option<Flight>,
    counts: Counts,
    /// CSV data rows in the output parts.
    rows: u64,
    /// Set when the run must end early (`cancelled`, or `failed` with `error`).
    end: Option<Status>,
    /// An apply of a preview: the preview's plan parts, deleted when it ends.
    #[serde(default)]
    preview_parts: u32,
    /// What was applied, by what a revert can do with it (None in the state of a run
    /// begun before Steward counted it: its revert is not judged by a part count).
    #[serde(default)]
    applied: Option<AppliedKinds>,
    /// A scored merge: the model its plan used, for the run once it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    score_model: Option<serde_json::Value>,
    /// When a worker last saved it: how the sweep tells a stalled run from a moving one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    saved_at: Option<DateTime<Utc>>,
    error: Option<String>,
    #[serde(skip)]
    version: u64,
}

fn state_sk(run_id: &str) -> String {
    crate::keys::run_state(run_id)
}

fn lock_sk(object: &str) -> String {
    crate::keys::lock(object)
}

fn base(run: &Run) -> String {
    format!("runs/{}/{}", run.account_id, run.id)
}

fn plan_part_key(run: &Run, n: u32) -> String {
    format!("{}/plan/{n:06}.jsonl", base(run))
}

/// A preview's snapshot of the values it read of the records plan part `n` names.
fn seen_part_key(run: &Run, n: u32) -> String {
    format!("{}/seen/{n:06}.jsonl", base(run))
}

fn out_part_key(run: &Run, n: u32) -> String {
    format!("{}/out/{n:08}.csv", base(run))
}

/// Picks up the run and works on it until it ends or `deadline` comes. `event` is the
/// stream record's id on AWS (its redelivery proves the last holder died).
pub async fn work(
    s: &Services,
    account_id: &crate::ids::AccountId,
    run_id: &str,
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
    let now = s.clock.now();
    let pk = crate::keys::account(account_id);
    let mut st = match s.items.get(&pk, &state_sk(run_id)).await? {
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
        tracing::info!(run_id, "taking over a run whose worker stopped");
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
            tracing::warn!(run_id, error = %e, "releasing a run's lease failed");
        }
    }
    result
}

/// Marks a run failed when its worker cannot go on (local retries exhausted).
pub async fn fail(s: &Services, account_id: &AccountId, run_id: &str, why: &str) -> Result<()> {
    let run = super::update(s, account_id, run_id, false, |r| {
        if !r.status.is_final() {
            r.status = Status::Failed;
            r.error = Some(why.to_string());
            r.finished_at = Some(s.clock.now());
        }
    })
    .await?;
    release_lock(s, &run).await;
    crate::recipes::step_ended(s, &run).await;
    Ok(())
}

struct Window {
    changes: std::collections::VecDeque<Change>,
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

/// The error code of a row whose outcome is unknown: its batch may have been applied,
/// and the CRM could not be read to tell.
pub const UNKNOWN: &str = "UNKNOWN";

enum Step {
    Next,
    Yield,
}

/// What one batch came to.
enum Applied {
    /// Each row's outcome (None: nothing written), and the error that ends the run (its
    /// rows not sent are skipped).
    Done(Vec<Option<Outcome>>, Option<CrmError>),
    /// The batch may have been applied and reading it back failed: try again later.
    Unsettled(CrmError),
}

struct Worker<'a> {
    s: &'a Services,
    run: Run,
    st: State,
    deadline: DateTime<Utc>,
    crm: Option<Arc<dyn Crm>>,
    /// The plan's changes from the position on, a part or two at a time.
    window: Option<Window>,
    last_progress: Option<DateTime<Utc>>,
}

impl Worker<'_> {
    fn pk(&self) -> String {
        crate::keys::account(&self.run.account_id)
    }

    async fn save(&mut self) -> Result<()> {
        let now = self.s.clock.now();
        if let Some(l) = &mut self.st.lease {
            l.heartbeat = now;
        }
        self.st.saved_at = Some(now);
        let item = Item::of(self.pk(), state_sk(&self.run.id), self.st.version, &self.st)?;
        let cond = match self.st.version {
            0 => Condition::Absent,
            v => Condition::Version(v),
        };
        self.st.version = self.s.items.put(item, cond).await?;
        Ok(())
    }

    fn past_deadline(&self) -> bool {
        self.s.clock.now() >= self.deadline
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
            self.run = super::update(self.s, &self.run.account_id, &self.run.id, false, |r| {
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
        self.run = super::update(s, &self.run.account_id, &self.run.id, false, |r| {
            r.status = Status::Running;
            r.waiting_for = None;
            r.error = None;
            if r.started_at.is_none() {
                r.started_at = Some(s.clock.now());
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
        connections::open(self.s, &self.run.account_id, slot).await
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
                    .schemas
                    .remember(&self.run.account_id, schema, self.s.clock.now());
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

    /// Saves the state without the lease and wakes the run to continue.
    async fn yield_now(&mut self) -> Result<Worked> {
        self.st.lease = None;
        self.save().await?;
        let counts = self.st.counts;
        super::update(self.s, &self.run.account_id, &self.run.id, true, |r| {
            r.counts = counts;
            r.continuations += 1;
        })
        .await?;
        Ok(Worked::Yielded)
    }

    /// Writes live counts to the run (at most every `PROGRESS_EVERY`, or when `force`)
    /// and reads back whether a cancel was asked for.
    async fn progress(&mut self, force: bool) -> Result<bool> {
        let now = self.s.clock.now();
        let due = self.last_progress.is_none_or(|t| now - t >= PROGRESS_EVERY);
        let counts = self.st.counts;
        if force || due {
            self.run = super::update(self.s, &self.run.account_id, &self.run.id, false, |r| {
                r.counts = counts;
            })
            .await?;
            self.last_progress = Some(now);
        } else {
            self.run = super::load(self.s, &self.run.account_id, &self.run.id).await?;
        }
        Ok(self.run.cancel_requested)
    }

    // ---- lock -----------------------------------------------------------------------

    /// Takes the object's lock for this run; `Some(holder)` when another run has it.
    async fn lock(&self) -> Result<Option<String>> {
        let (pk, sk) = (self.pk(), lock_sk(&self.run.object));
        let until = self.deadline.max(self.s.clock.now()) + STALE_AFTER;
        for _ in 0..3 {
            let current = self.s.items.get(&pk, &sk).await?;
            let cond = match &current {
                Some(item) => {
                    let holder = item.data.get("run_id").and_then(|v| v.as_str());
                    if holder != Some(self.run.id.as_str()) {
                        let holder = holder.unwrap_or_default().to_string();
                        // A holder that ended without releasing (it crashed at the end)
                        // does not block: its run is final.
                        match super::load(self.s, &self.run.account_id, &holder).await {
                            Ok(h) if !h.status.is_final() => return Ok(Some(holder)),
                            _ => {}
                        }
                    }
                    Condition::Version(item.version)
                }
                None => Condition::Absent,
            };
            let item = Item::new(&pk, &sk)
                .with("run_id", self.run.id.clone())
                .expiring_at(until.timestamp());
            match self.s.items.put(item, cond).await {
                Ok(_) => return Ok(None),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable("the object's lock is contended".into()))
    }

    async fn wait_for(&mut self, holder: String) -> Result<Worked> {
        self.st.lease = None;
        self.save().await?;
        super::update(self.s, &self.run.account_id, &self.run.id, false, |r| {
            r.status = Status::Waiting;
            r.waiting_for = Some(holder.clone());
        })
        .await?;
        // The holder may have ended between our look and our write: look once more.
        if self.lock().await?.is_none() {
            release_lock(self.s, &self.run).await;
            super::update(self.s, &self.run.account_id, &self.run.id, true, |_| {}).await?;
        }
        Ok(Worked::Waiting)
    }

    // ---- plan -----------------------------------------------------------------------

    /// Writes plan part `plan_parts`; a preview also keeps what it saw of the part's
    /// records (`seen`), for an apply of it to check them against.
    async fn write_plan_part(&mut self, changes: &[Change], seen: &[Seen]) -> Result<()> {
        if self.run.mode == Mode::Preview && !seen.is_empty() {
            let mut body = Vec::with_capacity(seen.len() * 256);
            for one in seen {
                serde_json::to_writer(&mut body, one)?;
                body.push(b'\n');
            }
            let key = seen_part_key(&self.run, self.st.plan_parts);
            self.s
                .blobs
                .put(&key, body.into(), "application/x-ndjson")
                .await?;
        }
        let mut body = Vec::with_capacity(changes.len() * 256);
        for c in changes {
            serde_json::to_writer(&mut body, c)?;
            body.push(b'\n');
        }
        let key = plan_part_key(&self.run, self.st.plan_parts);
        self.s
            .blobs
            .put(&key, body.into(), "application/x-ndjson")
            .await?;
        self.st.plan_parts += 1;
        self.st.counts.planned += changes.len() as u64;
        Ok(())
    }

    fn after_plan(&mut self) {
        self.st.scan_cursor = None;
        self.st.phase = match self.run.mode {
            Mode::Apply if self.st.end.is_none() => Phase::Apply,
            _ => Phase::Finish,
        };
    }

    async fn plan(&mut self) -> Result<Step> {
        if self.run.from_preview.is_some() {
            return self.plan_from_preview().await;
        }
        let config = self.run.config()?;
        let planned = match &config {
            ModuleConfig::Merge(_) | ModuleConfig::Grid(_) => self.plan_whole(&config).await,
            _ if self.run.revert_of.is_some() => self.plan_whole(&config).await,
            _ => return self.plan_streamed(&config).await,
        };
        match planned {
            Ok((changes, seen)) => {
                for chunk in changes.chunks(PART_CHANGES) {
                    let seen: Vec<Seen> = chunk
                        .iter()
                        .flat_map(super::apply_preview::members)
                        .filter_map(|id| seen.get(id).cloned())
                        .collect();
                    self.write_plan_part(chunk, &seen).await?;
                }
            }
            Err(Failure::Fatal(msg)) => {
                self.st.end = Some(Status::Failed);
                self.st.error = Some(msg);
            }
            Err(Failure::Other(e)) => return Err(e),
        }
        self.after_plan();
        self.save().await?;
        self.progress(true).await?;
        Ok(Step::Next)
    }

    /// An apply of a preview: its plan less what was left out, checked against the CRM
    /// now. Conflicts are recorded at once (failed, `CONFLICT`), the rest is applied.
    async fn plan_from_preview(&mut self) -> Result<Step> {
        let crm = self.crm()?.clone();
        match super::apply_preview::plan(self.s, &self.run, crm.as_ref()).await {
            Ok(planned) => {
                self.st.columns = planned.columns;
                self.st.counts.scanned = planned.scanned;
                self.st.preview_parts = planned.parts;
                let conflicts = planned.checked.conflicts;
                if !conflicts.is_empty() {
                    let changes: Vec<Change> = conflicts.iter().map(|(c, _)| c.clone()).collect();
                    let outcomes: Vec<Option<Outcome>> = conflicts
                        .iter()
                        .map(|(c, why)| {
                            Some(Outcome::failed(c.id.clone(), "CONFLICT", why.clone()))
                        })
                        .collect();
                    self.write_out_part(&changes, &outcomes).await?;
                    self.st.batches += 1;
                    self.st.counts.planned += changes.len() as u64;
                }
                for chunk in planned.checked.apply.chunks(PART_CHANGES) {
                    self.write_plan_part(chunk, &[]).await?;
                }
            }
            Err(Failure::Fatal(msg)) => {
                self.st.end = Some(Status::Failed);
                self.st.error = Some(msg);
            }
            Err(Failure::Other(e)) => return Err(e),
        }
        self.after_plan();
        self.save().await?;
        self.progress(true).await?;
        Ok(Step::Next)
    }

    /// Records of the run's scope, a page at a time: the CRM's scan, or the named ids.
    async fn page(
        &self,
        request: &ScanRequest,
        cursor: Option<&str>,
    ) -> Result<(Vec<Record>, Option<String>), CrmError> {
        let crm = self.crm().map_err(|e| CrmError::Protocol(e.to_string()))?;
        match &self.run.scope {
            Scope::All => {
                let page = crm.scan_page(request, cursor).await?;
                Ok((page.records, page.cursor))
            }
            Scope::Ids(ids) => {
                let at: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
                let end = (at + read_batch(crm.kind())).min(ids.len());
                let records = crm
                    .batch_read(&request.object, &ids[at..end], &request.properties)
                    .await?;
                Ok((records, (end < ids.len()).then(|| end.to_string())))
            }
        }
    }

    /// Bulk, transform, validate: page by page, checkpointed by plan part.
    async fn plan_streamed(&mut self, config: &ModuleConfig) -> Result<Step> {
        let mut engine = config.engine()?;
        let crm = self.crm()?.clone();
        let object = engine.object().to_string();
        engine.compare_as(
            super::field_types(self.s, &self.run.account_id, crm.as_ref(), &object).await?,
        );
        if self.st.columns.is_empty() {
            self.st.columns = engine.columns();
        }
        let filter = match config {
            ModuleConfig::Bulk(b) => b.compile().ok().and_then(|e| e.crm_filter()),
            _ => None,
        };
        let request = ScanRequest {
            object: engine.object().to_string(),
            properties: engine.reads(),
            filter,
        };
        let mut cursor = self.st.scan_cursor.clone();
        let mut buffer: Vec<Change> = Vec::new();
        let mut seen: Vec<Seen> = Vec::new();
        let preview = self.run.mode == Mode::Preview;
        let mut scanned = 0u64;
        let mut pages = 0usize;
        loop {
            let (records, next) = match self.page(&request, cursor.as_deref()).await {
                Ok(p) => p,
                Err(e) if is_fatal(&e) => {
                    self.st.end = Some(Status::Failed);
                    self.st.error = Some(format!("reading {}: {e}", request.object));
                    self.after_plan();
                    self.save().await?;
                    return Ok(Step::Next);
                }
                Err(e) => return Err(e.into()),
            };
            scanned += records.len() as u64;
            for r in &records {
                if let Some(c) = engine.plan(r) {
                    if preview {
                        seen.push(Seen {
                            object: request.object.clone(),
                            id: r.id.clone(),
                            values: r.properties.clone(),
                        });
                    }
                    buffer.push(c);
                }
            }
            cursor = next;
            pages += 1;
            let done = cursor.is_none();
            let stop = self.past_deadline();
            if done || stop || buffer.len() >= PART_CHANGES || pages >= PAGES_PER_CHECKPOINT {
                pages = 0;
                if !buffer.is_empty() {
                    self.write_plan_part(&buffer, &seen).await?;
                    buffer.clear();
                    seen.clear();
                }
                self.st.counts.scanned += scanned;
                scanned = 0;
                self.st.scan_cursor = cursor.clone();
                if done {
                    self.after_plan();
                }
                self.save().await?;
                if self.progress(done).await? && !done {
                    self.st.end = Some(Status::Cancelled);
                    self.st.phase = Phase::Finish;
                    return Ok(Step::Next);
                }
                if done {
                    return Ok(Step::Next);
                }
                if stop {
                    return Ok(Step::Yield);
                }
            }
        }
    }

    /// Merge, grid and revert plan over all their records at once; with the plan, what a
    /// preview saw of the records it names, by id.
    async fn plan_whole(
        &mut self,
        config: &ModuleConfig,
    ) -> Result<(Vec<Change>, HashMap<String, Seen>), Failure> {
        let crm = self.crm()?.clone();
        let preview = self.run.mode == Mode::Preview;
        let mut seen: HashMap<String, Seen> = HashMap::new();
        let changes = if let Some(source) = self.run.revert_of.clone() {
            let (columns, changes, scanned) =
                super::revert::plan(self.s, &self.run, &source, crm.as_ref()).await?;
            self.st.columns = columns;
            self.st.counts.scanned = scanned;
            changes
        } else {
            match config {
                ModuleConfig::Merge(c) => {
                    let engine = c.engine().map_err(|errors| {
                        Failure::Other(Error::Invalid {
                            detail: "the merge config is invalid".into(),
                            errors,
                        })
                    })?;
                    self.st.columns = engine.columns();
                    let mut input = engine.input();
                    let request = ScanRequest {
                        object: engine.object().to_string(),
                        properties: engine.reads(),
                        filter: None,
                    };
                    let mut scanned = self.scan_into(&request, |r| input.push_record(r)).await?;
                    if let Some(leads) = engine.lead_object() {
                        let request = ScanRequest {
                            object: leads.to_string(),
                            properties: engine.lead_reads(),
                            filter: None,
                        };
                        scanned += self
                            .scan_into(&request, |r| engine.add_lead(&mut input, r))
                            .await?;
                    }
                    self.st.counts.scanned = scanned;
                    let planned = engine.plan_with(&input, &self.run.decisions);
                    self.st.score_model = planned
                        .model
                        .as_ref()
                        .and_then(|m| serde_json::to_value(m).ok());
                    let changes = planned.plan.changes;
                    if preview {
                        let ids: std::collections::HashSet<&str> = changes
                            .iter()
                            .flat_map(super::apply_preview::members)
                            .collect();
                        for (object, id, values) in engine.seen(&input, &ids) {
                            seen.insert(id.clone(), Seen { object, id, values });
                        }
                    }
                    changes
                }
                ModuleConfig::Grid(g) => {
                    let grid = g.compile().map_err(|errors| {
                        Failure::Other(Error::Invalid {
                            detail: "the grid config is invalid".into(),
                            errors,
                        })
                    })?;
                    let schema = crm.describe(&g.object).await.map_err(Failure::crm)?;
                    let records =
                        crate::crm_schema::read_edited(crm.as_ref(), g, &schema, &self.run.edits)
                            .await
                            .map_err(Failure::crm)?;
                    self.st.counts.scanned = records.len() as u64;
                    let changes = crate::modules::grid::check_edits(
                        &grid,
                        &schema,
                        &records,
                        &self.run.edits,
                    )
                    .map_err(|errors| {
                        Failure::Fatal(
                            errors
                                .iter()
                                .map(|e| format!("{}: {}", e.pointer, e.detail))
                                .collect::<Vec<_>>()
                                .join("; "),
                        )
                    })?;
                    self.st.columns =
                        crate::modules::plan::field_columns(changes.iter().flat_map(|c| &c.fields));
                    if preview {
                        for r in records
                            .iter()
                            .filter(|r| changes.iter().any(|c| c.id.as_ref() == Some(&r.id)))
                        {
                            let one = Seen {
                                object: g.object.clone(),
                                id: r.id.clone(),
                                values: r.properties.clone(),
                            };
                            seen.insert(r.id.clone(), one);
                        }
                    }
                    changes
                }
                _ => return Err(Failure::Other(Error::unexpected("not a whole-plan module"))),
            }
        };
        Ok((changes, seen))
    }

    async fn scan_into(
        &self,
        request: &ScanRequest,
        mut each: impl FnMut(&Record),
    ) -> Result<u64, Failure> {
        let mut cursor: Option<String> = None;
        let mut n = 0u64;
        loop {
            let (records, next) = self
                .page(request, cursor.as_deref())
                .await
                .map_err(Failure::crm)?;
            n += records.len() as u64;
            records.iter().for_each(&mut each);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(n),
            }
        }
    }

    // ---- apply ----------------------------------------------------------------------

    /// Fills the window of changes from the position `(part, offset)` on, loading plan
    /// parts until it holds `want` changes or the plan ends: a batch may span parts.
    async fn fill(&mut self, want: usize) -> Result<()> {
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
    fn advance(&mut self, n: u32) {
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

    async fn apply(&mut self) -> Result<Step> {
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

    async fn write_out_part(
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
            .blobs
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
    fn settle(
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

    /// The batch's records as the CRM holds them now, with the types to compare their
    /// values by.
    async fn read_back(&self, batch: &[Change], todo: &[usize]) -> Result<Found, CrmError> {
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
            types: super::field_types(self.s, &self.run.account_id, crm.as_ref(), &self.run.object)
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

    /// The CRM call(s) for changes of one kind; outcomes in order.
    async fn call(&self, changes: &[Change]) -> Result<Vec<Outcome>, CrmError> {
        let crm = self.crm().map_err(|e| CrmError::Protocol(e.to_string()))?;
        let object = &self.run.object;
        let stamp = |mut p: crate::crm::Properties| {
            if let Some(prop) = &self.run.stamp_property {
                p.insert(prop.clone(), Some(self.run.id.clone()));
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
                    properties.insert(prop.clone(), Some(self.run.id.clone()));
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

    // ---- finish ---------------------------------------------------------------------

    /// A batch left in flight when the run ends before another worker read it back
    /// (cancelled, or the CRM could not be opened) may have been applied: it is read back
    /// now, without writing anything, and recorded as found (what still holds its
    /// before-values was not applied: skipped); what cannot be read is unknown.
    async fn settle_in_flight(&mut self) -> Result<()> {
        let Some(f) = self.st.in_flight.take() else {
            return Ok(());
        };
        if (f.part, f.offset) != (self.st.part, self.st.offset) {
            return Ok(());
        }
        self.fill(f.len as usize).await?;
        let Some(window) = &self.window else {
            return Ok(());
        };
        let batch: Vec<Change> = window
            .changes
            .iter()
            .take(f.len as usize)
            .cloned()
            .collect();
        let todo: Vec<usize> = (0..batch.len())
            .filter(|&i| !batch[i].action.writes_nothing())
            .collect();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        if self.crm.is_none() {
            self.crm = self.open_crm().await.ok();
        }
        let read = match &self.crm {
            Some(_) => self.read_back(&batch, &todo).await,
            None => Err(CrmError::Auth(
                "the run's CRM connection could not be opened".into(),
            )),
        };
        match read {
            Ok(found) => {
                self.settle(&batch, todo, &found, &mut outcomes, None);
                for o in outcomes.iter_mut().flatten() {
                    if o.error.as_ref().is_some_and(|e| e.code == MASTER_FIELDS) {
                        *o = Outcome::failed(
                            o.id.clone(),
                            "INCOMPLETE",
                            "merged, but the run ended before the master's fields were set",
                        );
                    }
                }
            }
            Err(e) => unknown(&batch, &todo, &mut outcomes, &e),
        }
        self.write_out_part(&batch, &outcomes).await?;
        self.advance(f.len);
        self.st.batches += 1;
        self.save().await
    }

    async fn finish(&mut self) -> Result<Status> {
        let apply = self.run.mode == Mode::Apply;
        if apply {
            self.settle_in_flight().await?;
        }
        let key = super::csv_key(&self.run.account_id, &self.run.id);
        let mut out = BlobWriter::new(self.s.blobs.clone(), &key, "text/csv")?;
        let header = AuditWriter::new(Vec::new(), &self.st.columns, apply)?.finish()?;
        out.write(&header).await?;
        let mut rows = 0u64;
        if apply {
            for n in 0..self.st.batches {
                let part = self
                    .s
                    .blobs
                    .get(&out_part_key(&self.run, n))
                    .await?
                    .ok_or_else(|| Error::unexpected(format!("output part {n} is missing")))?;
                out.write(&part.bytes).await?;
            }
            rows += self.st.rows;
        }
        // What was planned and not applied (all of a preview; a stopped run's rest).
        let (from_part, from_offset) = match apply {
            true => (self.st.part, self.st.offset as usize),
            false => (0, 0),
        };
        let mut skipped = 0u64;
        for n in from_part..self.st.plan_parts {
            let changes = read_plan_part(self.s, &self.run, n).await?;
            let start = if n == from_part { from_offset } else { 0 };
            let mut w = AuditWriter::continuing(Vec::new(), &self.st.columns, apply)?;
            for c in changes.iter().skip(start) {
                w.write_change(c, None)?;
                rows += rows_of(c);
                skipped += 1;
            }
            out.write(&w.finish()?).await?;
        }
        let bytes = out.finish().await?;
        if apply {
            self.st.counts.skipped += skipped;
        }
        let counts = self.st.counts;
        let status = match self.st.end {
            Some(s) => s,
            None if counts.failed > 0 => Status::Partial,
            // A revert that left records as they are (changed since, or what it cannot
            // undo) did not revert the whole run.
            None if self.run.revert_of.is_some() && counts.skipped > 0 => Status::Partial,
            None => Status::Succeeded,
        };
        let file_name = super::csv_file_name(&self.run);
        let error = self.st.error.clone();
        let applied = self.st.applied;
        let score_model = self.st.score_model.take();
        let crm = self.run.account_id.crm();
        let now = self.s.clock.now();
        self.run = super::update(self.s, &self.run.account_id, &self.run.id, false, |r| {
            r.status = status;
            r.counts = counts;
            r.finished_at = Some(now);
            r.error = error.clone();
            r.waiting_for = None;
            if score_model.is_some() {
                r.score_model = score_model.clone();
            }
            r.csv = Some(CsvFile {
                file_name: file_name.clone(),
                bytes,
                rows,
            });
            if r.mode == Mode::Apply {
                r.revertible = Some(match applied {
                    Some(applied) => Revertible::for_run(crm, applied),
                    None => Revertible::for_crm(crm),
                });
            }
            // The exports function sends the report (on AWS the stream delivers this
            // write to it; locally `work_local` calls it).
            if r.notify.is_some() && r.delivery.is_none() {
                r.delivery = Some(crate::reports::Delivery::pending());
            }
        })
        .await?;
        tracing::info!(run_id = %self.run.id, status = status.name(), "run ended");
        if let Some(source) = &self.run.revert_of {
            let id = self.run.id.clone();
            if let Err(e) = super::update(self.s, &self.run.account_id, source, false, |r| {
                r.reverted_by = Some(id.clone());
            })
            .await
            {
                tracing::warn!(error = %e, "recording the revert on its source run failed");
            }
        }
        if let Some(source) = &self.run.from_preview {
            // Applied once: the preview's plan and what it saw are not needed any more.
            for n in 0..self.st.preview_parts {
                let source = Run {
                    id: source.clone(),
                    ..self.run.clone()
                };
                let _ = self.s.blobs.delete(&plan_part_key(&source, n)).await;
                let _ = self.s.blobs.delete(&seen_part_key(&source, n)).await;
            }
        }
        if apply {
            release_lock(self.s, &self.run).await;
        }
        self.clean_up().await;
        crate::recipes::step_ended(self.s, &self.run).await;
        Ok(status)
    }

    /// Parts and state are only the way to the CSV: gone once it is written. A preview
    /// keeps its plan and what it saw, to be applied as reviewed (`apply_preview`).
    async fn clean_up(&self) {
        let s = self.s;
        for n in 0..self.st.plan_parts {
            if self.run.mode == Mode::Apply {
                let _ = s.blobs.delete(&plan_part_key(&self.run, n)).await;
            }
        }
        for n in 0..self.st.batches {
            let _ = s.blobs.delete(&out_part_key(&self.run, n)).await;
        }
        if let Err(e) = s
            .items
            .delete(&self.pk(), &state_sk(&self.run.id), None)
            .await
        {
            tracing::warn!(run_id = %self.run.id, error = %e, "deleting a run's state failed");
        }
    }
}

/// Releases the object's lock if `run` holds it, and wakes the runs waiting for it.
async fn release_lock(s: &Services, run: &Run) {
    let (pk, sk) = (crate::keys::account(&run.account_id), lock_sk(&run.object));
    if let Ok(Some(item)) = s.items.get(&pk, &sk).await
        && item.data.get("run_id").and_then(|v| v.as_str()) == Some(run.id.as_str())
        && let Err(e) = s.items.delete(&pk, &sk, Some(item.version)).await
    {
        tracing::warn!(run_id = %run.id, error = %e, "releasing an object lock failed");
    }
    let prefix = crate::keys::active_runs_on(&run.account_id, &run.object);
    let q = Query::partition(crate::keys::RUNS_ACTIVE)
        .on_gsi1()
        .prefix(prefix)
        .limit(100);
    let Ok(page) = s.items.query(&q).await else {
        return;
    };
    for item in page.items {
        let Ok(other) = Run::from_item(&item) else {
            continue;
        };
        if other.id != run.id && other.mode == Mode::Apply && other.status == Status::Waiting {
            let _ = super::update(s, &other.account_id, &other.id, true, |_| {}).await;
        }
    }
}

async fn read_plan_part(s: &Services, run: &Run, n: u32) -> Result<Vec<Change>> {
    read_plan_part_of(s, run, n)
        .await?
        .ok_or_else(|| Error::unexpected(format!("plan part {n} is missing")))
}

/// Plan part `n` of `run`, if it is there (a preview's is kept).
pub(super) async fn read_plan_part_of(
    s: &Services,
    run: &Run,
    n: u32,
) -> Result<Option<Vec<Change>>> {
    let Some(blob) = s.blobs.get(&plan_part_key(run, n)).await? else {
        return Ok(None);
    };
    read_lines(&blob.bytes, "reading a plan part").map(Some)
}

/// What preview `run` saw of the records its plan part `n` names (none when not kept).
pub(super) async fn read_seen_part(s: &Services, run: &Run, n: u32) -> Result<Vec<Seen>> {
    match s.blobs.get(&seen_part_key(run, n)).await? {
        Some(blob) => read_lines(&blob.bytes, "reading what a preview saw"),
        None => Ok(Vec::new()),
    }
}

fn read_lines<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<Vec<T>> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).map_err(|e| Error::internal(what, e)))
        .collect()
}

/// CSV rows a change writes (a merge: the master and each duplicate).
fn rows_of(c: &Change) -> u64 {
    crate::modules::csv::rows_of(c)
}

/// Ids per batch read: the CRM's largest.
pub(super) fn read_batch(kind: CrmKind) -> usize {
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
fn batch_len(kind: CrmKind, changes: &[Change]) -> usize {
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
fn by_kind(batch: &[Change], todo: &[usize]) -> Vec<Vec<usize>> {
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

/// Rows of a batch that may have been applied and could not be read back (`e`): tried
/// again later, or, on the last try or when nothing can fix it, reported as unknown.
fn unread(
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
fn unknown(batch: &[Change], rows: &[usize], outcomes: &mut [Option<Outcome>], e: &CrmError) {
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

/// What the CRM holds for a change that may have been applied.
enum Held {
    /// Already applied (the record's id now).
    Done(String),
    Todo,
    Conflict(String),
    /// A merge done whose master (this id: the record that remains) still lacks its
    /// surviving values.
    MasterFields(String),
}

/// What the CRM holds now for a batch that may have been applied.
struct Found {
    /// By the id each record answers with.
    records: HashMap<String, Record>,
    /// The run object's field types: values compare as the CRM stores them.
    types: FieldTypes,
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

fn judge(c: &Change, found: &Found) -> Held {
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

/// One slice as the in-process queue runs it: `work` under the worker's services, then,
/// when the run ended, its report under the report sender's (what exports-events does on
/// AWS when the stream shows the ended run).
pub async fn work_local(
    worker: &Services,
    reports: &Services,
    account_id: &AccountId,
    run_id: &str,
    deadline: DateTime<Utc>,
) -> Result<Worked> {
    let worked = work(worker, account_id, run_id, deadline, None).await?;
    if let Worked::Finished(_) = worked
        && let Err(e) = crate::reports::deliver(reports, account_id, run_id).await
    {
        tracing::warn!(run_id, error = %e, "sending a run's report failed");
    }
    Ok(worked)
}

/// Works the in-process queue (`steward serve`, tests): each woken run gets a slice of
/// `slice`; a slice that fails is retried twice, then the run fails.
pub async fn serve_queue(
    worker: Services,
    reports: Services,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<super::queue::RunRef>,
    slice: std::time::Duration,
) {
    while let Some(r) = rx.recv().await {
        let (s, reports) = (worker.clone(), reports.clone());
        tokio::spawn(async move {
            for attempt in 1..=3 {
                let deadline = s.clock.now()
                    + chrono::Duration::from_std(slice).unwrap_or(chrono::Duration::minutes(5));
                match work_local(&s, &reports, &r.account_id, &r.run_id, deadline).await {
                    Ok(_) => return,
                    Err(e) => {
                        tracing::warn!(run_id = %r.run_id, attempt, error = %e, "a run's slice failed");
                        tokio::time::sleep(std::time::Duration::from_secs(2 * attempt)).await;
                    }
                }
            }
            if let Err(e) = fail(
                &s,
                &r.account_id,
                &r.run_id,
                "the worker failed three times in a row; see the server log",
            )
            .await
            {
                tracing::error!(run_id = %r.run_id, error = %e, "marking a run failed failed");
            }
        });
    }
}

/// Runs still to finish, for `steward serve` to resume after a restart.
pub async fn unfinished(s: &Services) -> Result<Vec<super::queue::RunRef>> {
    Ok(active(s)
        .await?
        .into_iter()
        .map(|run| super::queue::RunRef {
            account_id: run.account_id,
            run_id: run.id,
        })
        .collect())
}

/// Wakes the runs that should be moving and are not: queued or running, no live lease, and
/// nothing saved for [`STALE_AFTER`]. That is a run whose stream record's retries ran out,
/// whose worker was killed past its last retry, or that `steward serve` found inside a
/// dead lease when it restarted. Each is written again with `wake` (the stream invokes the
/// worker on AWS; the in-process queue here), and that worker takes it over from its
/// checkpoint. Runs every few minutes (a Scheduler schedule on AWS, a timer locally).
pub async fn sweep(s: &Services) -> Result<Vec<super::queue::RunRef>> {
    let now = s.clock.now();
    let mut woken = Vec::new();
    for run in active(s).await? {
        if !matches!(run.status, Status::Queued | Status::Running) {
            // Waiting runs are woken by the run they wait for, which this sweep resumes.
            continue;
        }
        let pk = crate::keys::account(&run.account_id);
        let last = match s.items.get(&pk, &state_sk(&run.id)).await? {
            Some(item) => {
                let st: State = item.decode("run state")?;
                if let Some(l) = &st.lease
                    && l.until > now
                    && now - l.heartbeat < STALE_AFTER
                {
                    continue;
                }
                st.saved_at
                    .or(st.lease.map(|l| l.heartbeat))
                    .unwrap_or(run.created_at)
            }
            None => run.created_at,
        };
        if now - last < STALE_AFTER {
            continue;
        }
        tracing::warn!(run_id = %run.id, last = %last, "waking a stalled run");
        super::update(s, &run.account_id, &run.id, true, |_| {}).await?;
        woken.push(super::queue::RunRef {
            account_id: run.account_id,
            run_id: run.id,
        });
    }
    Ok(woken)
}

/// Every unfinished run (the `gsi1` partition of active runs).
async fn active(s: &Services) -> Result<Vec<Run>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .items
            .query(
                &Query::partition(crate::keys::RUNS_ACTIVE)
                    .on_gsi1()
                    .limit(500)
                    .after(cursor),
            )
            .await?;
        for item in &page.items {
            if let Ok(run) = Run::from_item(item) {
                out.push(run);
            }
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::{Field, ObjectSchema};

    fn update(id: &str, field: &str, before: &str, after: &str) -> Change {
        Change {
            id: Some(id.into()),
            action: Action::Update,
            fields: vec![FieldChange {
                field: field.into(),
                before: Some(before.into()),
                after: Some(after.into()),
            }],
            note: None,
        }
    }

    fn flag(id: &str) -> Change {
        Change {
            id: Some(id.into()),
            action: Action::Flag,
            fields: Vec::new(),
            note: Some("phone: not a phone number".into()),
        }
    }

    fn record(id: &str, values: &[(&str, &str)]) -> Record {
        Record {
            id: id.into(),
            properties: values
                .iter()
                .map(|(f, v)| (f.to_string(), Some(v.to_string())))
                .collect(),
            created_at: None,
            updated_at: None,
        }
    }

    fn found(records: Vec<Record>, types: &[(&str, FieldType)]) -> Found {
        let schema = ObjectSchema {
            object: "deals".into(),
            fields: types
                .iter()
                .map(|(name, t)| Field {
                    name: name.to_string(),
                    label: name.to_string(),
                    field_type: t.clone(),
                    writable: true,
                    options: Vec::new(),
                    unique: false,
                })
                .collect(),
        };
        Found {
            records: records.into_iter().map(|r| (r.id.clone(), r)).collect(),
            types: FieldTypes::of(&schema),
        }
    }

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
    fn the_run_says_what_a_revert_would_do() {
        let merges = AppliedKinds {
            merges: 304,
            ..Default::default()
        };
        let r = Revertible::for_run(CrmKind::HubSpot, merges);
        assert_eq!((r.rows, r.not_revertible), (Some(0), Some(304)));
        let why = r.reason.unwrap();
        assert!(
            why.contains("304 records merged") && why.contains("no unmerge"),
            "{why}"
        );
        let part = Revertible::for_run(
            CrmKind::Salesforce,
            AppliedKinds {
                updates: 12,
                archives: 3,
                ..Default::default()
            },
        );
        assert_eq!((part.rows, part.not_revertible), (Some(12), Some(3)));
        let why = part.reason.unwrap();
        assert!(
            why.contains("12 records") && why.contains("Recycle Bin"),
            "{why}"
        );
        let all = Revertible::for_run(
            CrmKind::HubSpot,
            AppliedKinds {
                updates: 5,
                ..Default::default()
            },
        );
        assert_eq!(
            (all.rows, all.not_revertible, all.reason),
            (Some(5), Some(0), None)
        );
    }
}
