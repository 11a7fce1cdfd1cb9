//! Phase 3, finish: the audit CSV joined from its parts, the run's final status and counts,
//! the lock released and the run's parts and state deleted.

use super::apply::MASTER_FIELDS;
use super::lock::release_lock;
use super::parts::{out_part_key, plan_part_key, read_plan_part, rows_of, seen_part_key};
use super::read_back::unknown;
use super::{Worker, WorkerPorts, state_sk};
use crate::app::{UsesClock, UsesCrm, UsesItems, UsesRunQueue};
use crate::crm::{CrmError, Outcome};
use crate::error::{Error, Result};
use crate::modules::Change;
use crate::modules::csv::AuditWriter;
use crate::ports::blobs::BlobWriter;
use crate::runs::{self, CsvFile, Mode, Revertible, Run, Status};

/// Marks a run failed when its worker cannot go on (local retries exhausted).
pub async fn fail(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesRunQueue),
    account_id: &crate::ids::AccountId,
    run_id: crate::ids::RunId,
    why: &str,
) -> Result<()> {
    let run = runs::update(s, account_id, run_id, false, |r| {
        if !r.status.is_final() {
            r.status = Status::Failed;
            r.error = Some(why.to_string());
            r.finished_at = Some(s.clock().now());
        }
    })
    .await?;
    release_lock(s, &run).await;
    crate::recipes::step_ended(s, &run).await;
    Ok(())
}

impl<S: WorkerPorts> Worker<'_, S> {
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

    pub(super) async fn finish(&mut self) -> Result<Status> {
        let apply = self.run.mode == Mode::Apply;
        if apply {
            self.settle_in_flight().await?;
        }
        let key = runs::csv_key(&self.run.account_id, self.run.id);
        let mut out = BlobWriter::new(self.s.shared_blobs(), &key, "text/csv")?;
        let header = AuditWriter::new(Vec::new(), &self.st.columns, apply)?.finish()?;
        out.write(&header).await?;
        let mut rows = 0u64;
        if apply {
            for n in 0..self.st.batches {
                let part = self
                    .s
                    .blobs()
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
        let file_name = runs::csv_file_name(&self.run);
        let error = self.st.error.clone();
        let applied = self.st.applied;
        let score_model = self.st.score_model.take();
        let crm = self.run.account_id.crm();
        let now = self.s.clock().now();
        self.run = runs::update(self.s, &self.run.account_id, self.run.id, false, |r| {
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
        if let Some(source) = self.run.revert_of {
            let id = self.run.id;
            if let Err(e) = runs::update(self.s, &self.run.account_id, source, false, |r| {
                r.reverted_by = Some(id);
            })
            .await
            {
                tracing::warn!(error = %e, "recording the revert on its source run failed");
            }
        }
        if let Some(source) = self.run.from_preview {
            // Applied once: the preview's plan and what it saw are not needed any more.
            for n in 0..self.st.preview_parts {
                let source = Run {
                    id: source,
                    ..self.run.clone()
                };
                let _ = self.s.blobs().delete(&plan_part_key(&source, n)).await;
                let _ = self.s.blobs().delete(&seen_part_key(&source, n)).await;
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
                let _ = s.blobs().delete(&plan_part_key(&self.run, n)).await;
            }
        }
        for n in 0..self.st.batches {
            let _ = s.blobs().delete(&out_part_key(&self.run, n)).await;
        }
        if let Err(e) = s
            .items()
            .delete(&self.pk(), &state_sk(self.run.id), None)
            .await
        {
            tracing::warn!(run_id = %self.run.id, error = %e, "deleting a run's state failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::crm::CrmKind;
    use crate::runs::{AppliedKinds, Revertible};

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
