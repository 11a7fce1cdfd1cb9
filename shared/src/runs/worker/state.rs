//! The run's checkpoint (`RUNSTATE#<run_id>`): its phase, position and lease, saved under a
//! version condition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Worked, Worker, WorkerPorts, state_sk};
use crate::error::Result;
use crate::ports::items::{Condition, Item};
use crate::runs::{self, AppliedKinds, Counts, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Phase {
    #[default]
    Plan,
    Apply,
    Finish,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Lease {
    pub(super) holder: String,
    pub(super) until: DateTime<Utc>,
    pub(super) heartbeat: DateTime<Utc>,
    /// The stream record that started it: its redelivery means this holder died.
    pub(super) event: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Flight {
    pub(super) part: u32,
    pub(super) offset: u32,
    pub(super) len: u32,
    /// Times reading this batch back failed (its outcome unknown): at
    /// `READ_BACK_ATTEMPTS`, its rows are reported as unknown.
    #[serde(default)]
    pub(super) read_back_failures: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) phase: Phase,
    pub(super) lease: Option<Lease>,
    pub(super) columns: Vec<String>,
    pub(super) scan_cursor: Option<String>,
    pub(super) plan_parts: u32,
    pub(super) part: u32,
    pub(super) offset: u32,
    /// Output parts written (one per applied batch).
    pub(super) batches: u32,
    pub(super) in_flight: Option<Flight>,
    pub(super) counts: Counts,
    /// CSV data rows in the output parts.
    pub(super) rows: u64,
    /// Set when the run must end early (`cancelled`, or `failed` with `error`).
    pub(super) end: Option<Status>,
    /// An apply of a preview: the preview's plan parts, deleted when it ends.
    #[serde(default)]
    pub(super) preview_parts: u32,
    /// What was applied, by what a revert can do with it (None in the state of a run
    /// begun before Steward counted it: its revert is not judged by a part count).
    #[serde(default)]
    pub(super) applied: Option<AppliedKinds>,
    /// A scored merge: the model its plan used, for the run once it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) score_model: Option<serde_json::Value>,
    /// When a worker last saved it: how the sweep tells a stalled run from a moving one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) saved_at: Option<DateTime<Utc>>,
    pub(super) error: Option<String>,
    #[serde(skip)]
    pub(super) version: u64,
}

impl<S: WorkerPorts> Worker<'_, S> {
    pub(super) async fn save(&mut self) -> Result<()> {
        let now = self.s.clock().now();
        if let Some(l) = &mut self.st.lease {
            l.heartbeat = now;
        }
        self.st.saved_at = Some(now);
        let item = Item::of(self.pk(), state_sk(self.run.id), self.st.version, &self.st)?;
        let cond = match self.st.version {
            0 => Condition::Absent,
            v => Condition::Version(v),
        };
        self.st.version = self.s.items().put(item, cond).await?;
        Ok(())
    }

    /// Saves the state without the lease and wakes the run to continue.
    pub(super) async fn yield_now(&mut self) -> Result<Worked> {
        self.st.lease = None;
        self.save().await?;
        let counts = self.st.counts;
        runs::update(self.s, &self.run.account_id, self.run.id, true, |r| {
            r.counts = counts;
            r.continuations += 1;
        })
        .await?;
        Ok(Worked::Yielded)
    }
}
