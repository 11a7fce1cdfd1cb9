//! Phase 1, plan: the scan (or the preview's plan, or a whole-plan module) written to plan
//! part blobs, checkpointed by the scan cursor.

use std::collections::HashMap;

use super::parts::{plan_part_key, seen_part_key};
use super::{Failure, PART_CHANGES, Phase, Step, Worker, WorkerPorts, is_fatal, read_batch};
use crate::crm::{CrmError, Outcome, Record, ScanRequest};
use crate::error::{Error, Result};
use crate::modules::{Change, ModuleConfig};
use crate::runs::apply_preview::Seen;
use crate::runs::{self, Mode, Scope, Status};

/// Scan pages between two planning checkpoints at most: a stopped worker scans no more
/// than this again.
const PAGES_PER_CHECKPOINT: usize = 10;

impl<S: WorkerPorts> Worker<'_, S> {
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
                .blobs()
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
            .blobs()
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

    pub(super) async fn plan(&mut self) -> Result<Step> {
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
                        .flat_map(runs::apply_preview::members)
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
        match runs::apply_preview::plan(self.s, &self.run, crm.as_ref()).await {
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
            runs::field_types(self.s, &self.run.account_id, crm.as_ref(), &object).await?,
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
        let changes = if let Some(source) = self.run.revert_of {
            let (columns, changes, scanned) =
                runs::revert::plan(self.s, &self.run, source, crm.as_ref()).await?;
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
                            .flat_map(runs::apply_preview::members)
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
}
