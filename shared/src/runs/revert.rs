//! Revert: a new apply run that puts back the before-values of the fields an earlier apply
//! run changed. A record whose value is no longer what the run wrote (compared as the CRM
//! stores it) was changed since by someone else: it is reported as a conflict (a flagged
//! row), never overwritten. What a CRM cannot undo (merges, archives) is reported per row,
//! as `Revertible` says; a run of which nothing can be undone is refused before any run
//! starts. A revert that leaves any record as it is ends `partial`.

use std::collections::HashMap;

use super::worker::Failure;
use super::{Mode, NewRun, Revertible, Run, Status, Trigger};
use crate::app::{UsesBlobs, UsesClock, UsesCrm, UsesItems, UsesRunQueue};
use crate::crm::Crm;
use crate::error::{Error, Result};
use crate::identity::{Permission, Principal};
use crate::modules::csv::{RowAction, Status as RowStatus, read_audit};
use crate::modules::{Action, Change, FieldChange};

/// `POST /runs/{id}/revert`: write on the run's module; an ended apply run, reverted once.
pub async fn start(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    who: &Principal,
    run_id: crate::ids::RunId,
) -> Result<Run> {
    let source = who.grant_on(
        super::get(s, who, run_id).await?.into_inner(),
        Permission::Write,
    )?;
    if source.mode != Mode::Apply {
        return Err(Error::Conflict(
            "a preview changed nothing; there is nothing to revert".into(),
        ));
    }
    if !source.status.is_final() || source.csv.is_none() {
        return Err(Error::Conflict(format!(
            "run {run_id} is {}; revert it when it has ended",
            source.status.name()
        )));
    }
    if source.status == Status::Failed && source.counts.applied == 0 {
        return Err(Error::Conflict(format!(
            "run {run_id} applied nothing; there is nothing to revert"
        )));
    }
    if let Some(by) = &source.reverted_by {
        return Err(Error::Conflict(format!(
            "run {run_id} is already reverted by run {by}"
        )));
    }
    // Nothing a revert could do: no run, and the run's one revert is not used up.
    if let Some(r) = &source.revertible
        && r.rows == Some(0)
    {
        return Err(Error::Conflict(format!(
            "run {run_id} cannot be reverted: {}",
            r.reason
                .as_deref()
                .unwrap_or("what it applied cannot be undone by a revert")
        )));
    }
    super::follow_up(
        s,
        who,
        &source,
        Trigger::Revert,
        |run, id| run.reverted_by = Some(id),
        |new| NewRun {
            revert_of: Some(source.id),
            ..new
        },
    )
    .await
}

/// The revert's plan: (field columns, changes, records read).
pub(super) async fn plan(
    s: &(impl UsesBlobs + UsesCrm + UsesClock),
    run: &Run,
    source_id: crate::ids::RunId,
    crm: &dyn Crm,
) -> Result<(Vec<String>, Vec<Change>, u64), Failure> {
    let key = super::csv_key(&run.account_id, source_id);
    let blob = s
        .blobs()
        .get(&key)
        .await?
        .ok_or_else(|| Failure::Fatal(format!("run {source_id}'s CSV is gone")))?;
    let mut rows = read_audit(blob.bytes.as_ref()).map_err(Error::from)?;
    let columns = rows.columns().to_vec();
    let revertible = Revertible::for_crm(crm.kind());
    let mut changes: Vec<Change> = Vec::new();
    // Updates to check against the CRM: (index in `changes`, fields as the run left them).
    let mut pending: Vec<(String, Vec<FieldChange>)> = Vec::new();
    for row in rows.by_ref() {
        let row = row.map_err(Error::from)?;
        let applied = row
            .outcome
            .as_ref()
            .is_some_and(|o| o.status == RowStatus::Applied);
        let Some(id) = row.record_id.clone() else {
            continue;
        };
        if !applied {
            continue;
        }
        let note = match row.action {
            RowAction::Update if !row.fields.is_empty() => {
                pending.push((id, row.fields));
                continue;
            }
            RowAction::Merge | RowAction::ConvertLead => &revertible.merges,
            RowAction::Archive => &revertible.archives,
            _ => continue,
        };
        changes.push(Change {
            id: Some(id),
            action: Action::Flag,
            fields: Vec::new(),
            note: Some(format!("NOT REVERTIBLE: {note}")),
        });
    }
    let fields = crate::modules::plan::field_columns(pending.iter().flat_map(|(_, fs)| fs));
    let ids: Vec<String> = pending.iter().map(|(id, _)| id.clone()).collect();
    let mut current = HashMap::new();
    for chunk in ids.chunks(super::worker::read_batch(crm.kind())) {
        for r in crm
            .batch_read(&run.object, chunk, &fields)
            .await
            .map_err(Failure::crm)?
        {
            current.insert(r.id.clone(), r);
        }
    }
    let scanned = current.len() as u64;
    let types = super::field_types(s, &run.account_id, crm, &run.object)
        .await
        .map_err(Failure::crm)?;
    for (id, fs) in pending {
        let Some(record) = current.get(&id) else {
            changes.push(Change {
                id: Some(id),
                action: Action::Flag,
                fields: Vec::new(),
                note: Some("CONFLICT: the record no longer exists".into()),
            });
            continue;
        };
        let now = |f: &str| record.properties.get(f).cloned().flatten();
        let moved: Vec<&FieldChange> = fs
            .iter()
            .filter(|f| !types.same(&f.field, now(&f.field).as_deref(), f.after.as_deref()))
            .collect();
        let back: Vec<FieldChange> = fs
            .iter()
            .map(|f| FieldChange {
                field: f.field.clone(),
                before: now(&f.field),
                after: f.before.clone(),
            })
            .collect();
        if moved.is_empty() {
            changes.push(Change {
                id: Some(id),
                action: Action::Update,
                fields: back,
                note: None,
            });
        } else {
            let what = moved
                .iter()
                .map(|f| {
                    format!(
                        "{} is now {:?}, the run wrote {:?}",
                        f.field,
                        now(&f.field).unwrap_or_default(),
                        f.after.as_deref().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            changes.push(Change {
                id: Some(id),
                action: Action::Flag,
                fields: back,
                note: Some(format!(
                    "CONFLICT: changed since by someone else ({what}); not reverted"
                )),
            });
        }
    }
    Ok((columns, changes, scanned))
}
