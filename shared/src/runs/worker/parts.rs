//! The run's blobs under `runs/<a>/<run_id>/`: plan parts, what a preview saw, output parts.

use crate::app::UsesBlobs;
use crate::error::{Error, Result};
use crate::modules::Change;
use crate::runs::Run;
use crate::runs::apply_preview::Seen;

fn base(run: &Run) -> String {
    format!("runs/{}/{}", run.account_id, run.id)
}

pub(super) fn plan_part_key(run: &Run, n: u32) -> String {
    format!("{}/plan/{n:06}.jsonl", base(run))
}

/// A preview's snapshot of the values it read of the records plan part `n` names.
pub(super) fn seen_part_key(run: &Run, n: u32) -> String {
    format!("{}/seen/{n:06}.jsonl", base(run))
}

pub(super) fn out_part_key(run: &Run, n: u32) -> String {
    format!("{}/out/{n:08}.csv", base(run))
}

pub(super) async fn read_plan_part(s: &impl UsesBlobs, run: &Run, n: u32) -> Result<Vec<Change>> {
    read_plan_part_of(s, run, n)
        .await?
        .ok_or_else(|| Error::unexpected(format!("plan part {n} is missing")))
}

/// Plan part `n` of `run`, if it is there (a preview's is kept).
pub(in crate::runs) async fn read_plan_part_of(
    s: &impl UsesBlobs,
    run: &Run,
    n: u32,
) -> Result<Option<Vec<Change>>> {
    let Some(blob) = s.blobs().get(&plan_part_key(run, n)).await? else {
        return Ok(None);
    };
    read_lines(&blob.bytes, "reading a plan part").map(Some)
}

/// What preview `run` saw of the records its plan part `n` names (none when not kept).
pub(in crate::runs) async fn read_seen_part(
    s: &impl UsesBlobs,
    run: &Run,
    n: u32,
) -> Result<Vec<Seen>> {
    match s.blobs().get(&seen_part_key(run, n)).await? {
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
pub(super) fn rows_of(c: &Change) -> u64 {
    crate::modules::csv::rows_of(c)
}
