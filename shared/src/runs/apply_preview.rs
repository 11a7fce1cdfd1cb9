//! Apply what you reviewed: a new apply run of a preview's stored plan, less the merge
//! groups and records left out. Nothing is planned again: each record is checked against
//! what the preview saw, and one changed (or gone) since is a CONFLICT row, not written.
//!
//! A preview keeps its plan parts, and beside each a snapshot of the values it read of
//! the records the part names (`seen`), under `runs/<account>/<run_id>/`: as long as its
//! audit CSV (the bucket's `runs/` expiry on AWS), or until it is applied (the apply run
//! deletes them when it ends).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::worker::{Failure, read_batch};
use super::{Mode, NewRun, Notify, Run, Status, Trigger};
use crate::app::{UsesBlobs, UsesClock, UsesCrm, UsesItems, UsesRunQueue};
use crate::crm::values::FieldTypes;
use crate::crm::{Crm, Properties, Record};
use crate::error::{Error, FieldError, Result};
use crate::identity::{Permission, Principal};
use crate::modules::{Action, Change};

/// What `POST /runs/{id}/apply` takes: what to leave out of the preview's plan.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyInput {
    /// Merge groups (`group_id` of the preview's rows) not to merge.
    #[serde(default)]
    #[schemars(
        length(max = 2000),
        inner(length(min = 1, max = 64), regex(pattern = r"\S"))
    )]
    pub exclude_groups: Option<Vec<String>>,
    /// Records (`record_id` of the preview's rows) not to change. A record of a merge
    /// group is left out with its group (`exclude_groups`).
    #[serde(default)]
    #[schemars(
        length(max = 2000),
        inner(length(min = 1, max = 64), regex(pattern = r"\S"))
    )]
    pub exclude_records: Option<Vec<String>>,
    #[serde(default)]
    pub notify: Option<Notify>,
}

/// The preview an apply run is made of, and what it leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub run_id: crate::ids::RunId,
    pub exclude_groups: Vec<String>,
    pub exclude_records: Vec<String>,
}

/// The values a preview read of one record it planned a change for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub object: String,
    pub id: String,
    pub values: Properties,
}

/// `POST /runs/{id}/apply`: write on the preview's module; a preview that succeeded,
/// applied once.
pub async fn start(
    s: &(impl UsesItems + UsesClock + UsesRunQueue + UsesBlobs),
    who: &Principal,
    run_id: crate::ids::RunId,
    input: ApplyInput,
) -> Result<Run> {
    let source = who.grant_on(
        super::get(s, who, run_id).await?.into_inner(),
        Permission::Write,
    )?;
    if source.mode != Mode::Preview {
        return Err(Error::Conflict(format!(
            "run {run_id} is an apply run; only a preview's plan can be applied"
        )));
    }
    if !source.status.is_final() || source.csv.is_none() {
        return Err(Error::Conflict(format!(
            "preview {run_id} is {}; apply it when it has ended",
            source.status.name()
        )));
    }
    if source.status != Status::Succeeded {
        return Err(Error::Conflict(format!(
            "preview {run_id} ended {}; only a preview that succeeded can be applied: preview again",
            source.status.name()
        )));
    }
    if let Some(by) = &source.applied_by {
        return Err(Error::Conflict(format!(
            "preview {run_id} is already applied by run {by}"
        )));
    }
    let mut errors = Vec::new();
    let groups = listed_ids(
        input.exclude_groups.as_deref(),
        "/exclude_groups",
        &mut errors,
    );
    let records = listed_ids(
        input.exclude_records.as_deref(),
        "/exclude_records",
        &mut errors,
    );
    errors.extend(super::notify_problems(s, &who.account_id, input.notify.as_ref()).await?);
    if !errors.is_empty() {
        return Err(Error::invalid_all(errors));
    }
    let (changes, _) = read_plan(s, &source).await?;
    let kept = pick(&changes, &groups, &records).map_err(Error::invalid_all)?;
    if kept.iter().all(|c| c.action.writes_nothing()) {
        return Err(Error::Conflict(format!(
            "nothing of preview {run_id} is left to apply: every change is left out, or it only flags records"
        )));
    }
    super::follow_up(
        s,
        who,
        &source,
        Trigger::Manual,
        |run, id| run.applied_by = Some(id),
        |new| NewRun {
            scope: source.scope.clone(),
            edits: source.edits.clone(),
            notify: input.notify,
            from_preview: Some(Pick {
                run_id: source.id,
                exclude_groups: groups,
                exclude_records: records,
            }),
            ..new
        },
    )
    .await
}

/// A list of ids as given: trimmed, deduplicated, at most `MAX_SCOPE_IDS`; problems go
/// to `errors` with pointers under `at`.
fn listed_ids(ids: Option<&[String]>, at: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let ids = ids.unwrap_or_default();
    if ids.len() > super::MAX_SCOPE_IDS {
        errors.push(FieldError::new(
            at,
            format!("at most {} ids", super::MAX_SCOPE_IDS),
        ));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let t = id.trim();
        if t.is_empty() || t.len() > 64 {
            errors.push(FieldError::new(
                format!("{at}/{i}"),
                "must be an id (text, 1 to 64 characters)",
            ));
        } else if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// The merge group a change belongs to.
fn group_of(c: &Change) -> Option<&str> {
    match &c.action {
        Action::Merge { group_id, .. } | Action::ConvertLead { group_id, .. } => Some(group_id),
        _ => None,
    }
}

/// The records a change acts on: its own, and a merge's duplicates.
pub(super) fn members(c: &Change) -> Vec<&str> {
    let mut out: Vec<&str> = c.id.as_deref().into_iter().collect();
    if let Action::Merge { duplicate_ids, .. } = &c.action {
        out.extend(duplicate_ids.iter().map(String::as_str));
    }
    out
}

/// The plan's changes less those left out; every id left out must name a group or a
/// record of the plan (pointers `/exclude_groups/<i>`, `/exclude_records/<i>`).
pub fn pick(
    changes: &[Change],
    groups: &[String],
    records: &[String],
) -> Result<Vec<Change>, Vec<FieldError>> {
    let mut group_ids: HashSet<&str> = HashSet::new();
    let mut record_group: HashMap<&str, Option<&str>> = HashMap::new();
    for c in changes {
        let g = group_of(c);
        group_ids.extend(g);
        for m in members(c) {
            record_group.insert(m, g);
        }
    }
    let mut errors = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        if !group_ids.contains(g.as_str()) {
            errors.push(FieldError::new(
                format!("/exclude_groups/{i}"),
                format!("{g:?} is not a merge group of the preview"),
            ));
        }
    }
    for (i, r) in records.iter().enumerate() {
        match record_group.get(r.as_str()) {
            None => errors.push(FieldError::new(
                format!("/exclude_records/{i}"),
                format!("record {r:?} is not in the preview"),
            )),
            Some(Some(g)) if !groups.iter().any(|x| x == g) => {
                errors.push(FieldError::new(
                    format!("/exclude_records/{i}"),
                    format!(
                        "record {r:?} is in merge group {g:?}: a group is merged whole, so leave it out with `exclude_groups`"
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(changes
        .iter()
        .filter(|c| !group_of(c).is_some_and(|g| groups.iter().any(|x| x == g)))
        .filter(|c| !c.id.as_ref().is_some_and(|id| records.contains(id)))
        .cloned()
        .collect())
}

/// The changes to write, and those whose records changed since the preview (with why).
#[derive(Debug, Default, PartialEq)]
pub struct Checked {
    pub apply: Vec<Change>,
    pub conflicts: Vec<(Change, String)>,
}

/// Where a change's member record lives: what the preview saw says, else the run's
/// object (a Lead to convert is a `Lead`).
fn object_of<'a>(
    c: &Change,
    id: &str,
    seen: &'a HashMap<String, Seen>,
    run_object: &'a str,
) -> &'a str {
    match seen.get(id) {
        Some(s) => &s.object,
        None if matches!(c.action, Action::ConvertLead { .. }) => "Lead",
        None => run_object,
    }
}

/// Sorts `changes` by whether their records still hold what the preview saw (`seen`, and
/// each change's before-values) in `found` (the records now, by object and id), values
/// compared as the CRM stores them (`types`, by object). A merge group is one: any record
/// of it changed or gone makes all of its changes conflicts.
pub fn check(
    changes: Vec<Change>,
    seen: &HashMap<String, Seen>,
    found: &HashMap<(String, String), Record>,
    types: &HashMap<String, FieldTypes>,
    run_object: &str,
) -> Checked {
    let untyped = FieldTypes::default();
    let value = |r: &Record, f: &str| r.properties.get(f).cloned().flatten();
    let reasons: Vec<Option<String>> = changes
        .iter()
        .map(|c| {
            if c.action == Action::Create || c.action.writes_nothing() {
                return None;
            }
            let mut why: Vec<String> = Vec::new();
            for id in members(c) {
                let object = object_of(c, id, seen, run_object);
                let Some(now) = found.get(&(object.to_string(), id.to_string())) else {
                    why.push(format!("record {id} no longer exists"));
                    continue;
                };
                let mut saw: Vec<(&str, Option<&str>)> = Vec::new();
                if let Some(s) = seen.get(id) {
                    saw.extend(s.values.iter().map(|(f, v)| (f.as_str(), v.as_deref())));
                }
                if c.id.as_deref() == Some(id) && !matches!(c.action, Action::ConvertLead { .. }) {
                    for f in &c.fields {
                        if !saw.iter().any(|(g, _)| *g == f.field) {
                            saw.push((&f.field, f.before.as_deref()));
                        }
                    }
                }
                let types = types.get(object).unwrap_or(&untyped);
                for (f, before) in saw {
                    let current = value(now, f);
                    if !types.same(f, current.as_deref(), before) {
                        why.push(format!(
                            "record {id}'s {f} is now {:?}, the preview saw {:?}",
                            current.unwrap_or_default(),
                            before.unwrap_or_default()
                        ));
                    }
                }
            }
            (!why.is_empty()).then(|| why.join("; "))
        })
        .collect();
    let mut groups: HashMap<String, String> = HashMap::new();
    for (c, why) in changes.iter().zip(&reasons) {
        if let (Some(g), Some(why)) = (group_of(c), why) {
            groups.entry(g.to_string()).or_insert_with(|| why.clone());
        }
    }
    let mut out = Checked::default();
    for (c, why) in changes.into_iter().zip(reasons) {
        let why = why.or_else(|| {
            group_of(&c).and_then(|g| groups.get(g)).map(|w| {
                format!("another record of its merge group changed since the preview ({w})")
            })
        });
        match why {
            Some(w) => out
                .conflicts
                .push((c, format!("changed since the preview: {w}; not written"))),
            None => out.apply.push(c),
        }
    }
    out
}

/// The preview's plan, in order, and how many parts it is in (409 when it was not kept).
async fn read_plan(s: &impl UsesBlobs, preview: &Run) -> Result<(Vec<Change>, u32)> {
    let mut changes = Vec::new();
    let mut n = 0u32;
    while (changes.len() as u64) < preview.counts.planned {
        match super::worker::read_plan_part_of(s, preview, n).await? {
            Some(part) if !part.is_empty() => changes.extend(part),
            _ => {
                return Err(Error::Conflict(format!(
                    "preview {}'s plan was not kept (previews before this version, or older than the audit retention): preview again",
                    preview.id
                )));
            }
        }
        n += 1;
    }
    Ok((changes, n))
}

/// What an apply of a preview writes: the field columns, the changes to apply, the
/// conflicts, records read, and the preview's plan parts (to delete at the end).
pub(super) struct Planned {
    pub columns: Vec<String>,
    pub checked: Checked,
    pub scanned: u64,
    pub parts: u32,
}

/// The worker's plan of an apply of a preview: its plan less what is left out, checked
/// against the CRM now (read in the CRM's batch sizes).
pub(super) async fn plan(
    s: &(impl UsesItems + UsesBlobs + UsesCrm + UsesClock),
    run: &Run,
    crm: &dyn Crm,
) -> Result<Planned, Failure> {
    let Some(preview_id) = run.from_preview else {
        return Err(Failure::Other(Error::unexpected(
            "not an apply of a preview",
        )));
    };
    let preview = super::load(s, &run.account_id, preview_id).await?;
    let (changes, parts) = read_plan(s, &preview).await.map_err(|e| match e {
        Error::Conflict(why) => Failure::Fatal(why),
        e => Failure::Other(e),
    })?;
    let mut seen: HashMap<String, Seen> = HashMap::new();
    for n in 0..parts {
        for one in super::worker::read_seen_part(s, &preview, n).await? {
            seen.insert(one.id.clone(), one);
        }
    }
    let kept = pick(&changes, &run.exclude_groups, &run.exclude_records).map_err(|errors| {
        Failure::Fatal(format!(
            "the exclusions no longer fit the preview: {}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.pointer, e.detail))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let columns = crate::modules::plan::field_columns(kept.iter().flat_map(|c| &c.fields));
    // What to read back, per object: the ids, and the fields the preview saw or the
    // changes' before-values name.
    let mut wanted: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
    for c in kept
        .iter()
        .filter(|c| c.action != Action::Create && !c.action.writes_nothing())
    {
        for id in members(c) {
            let object = object_of(c, id, &seen, &run.object).to_string();
            let entry = wanted.entry(object).or_default();
            entry.0.push(id.to_string());
            let mut fields: Vec<&str> = Vec::new();
            if let Some(s) = seen.get(id) {
                fields.extend(s.values.keys().map(String::as_str));
            }
            if c.id.as_deref() == Some(id) && !matches!(c.action, Action::ConvertLead { .. }) {
                fields.extend(c.fields.iter().map(|f| f.field.as_str()));
            }
            for f in fields {
                if !entry.1.iter().any(|g| g == f) {
                    entry.1.push(f.to_string());
                }
            }
        }
    }
    let mut found: HashMap<(String, String), Record> = HashMap::new();
    let mut types: HashMap<String, FieldTypes> = HashMap::new();
    for (object, (mut ids, fields)) in wanted {
        let typed = super::field_types(s, &run.account_id, crm, &object)
            .await
            .map_err(Failure::crm)?;
        types.insert(object.clone(), typed);
        ids.sort();
        ids.dedup();
        for chunk in ids.chunks(read_batch(crm.kind())) {
            for r in crm
                .batch_read(&object, chunk, &fields)
                .await
                .map_err(Failure::crm)?
            {
                found.insert((object.clone(), r.id.clone()), r);
            }
        }
    }
    let scanned = found.len() as u64;
    Ok(Planned {
        columns,
        checked: check(kept, &seen, &found, &types, &run.object),
        scanned,
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::FieldChange;

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

    fn merge(group: &str, master: &str, dups: &[&str]) -> Change {
        Change {
            id: Some(master.into()),
            action: Action::Merge {
                group_id: group.into(),
                duplicate_ids: dups.iter().map(|d| d.to_string()).collect(),
            },
            fields: vec![FieldChange {
                field: "phone".into(),
                before: None,
                after: Some("555".into()),
            }],
            note: None,
        }
    }

    fn record(id: &str, values: &[(&str, &str)]) -> ((String, String), Record) {
        (
            ("contacts".into(), id.into()),
            Record {
                id: id.into(),
                properties: values
                    .iter()
                    .map(|(f, v)| (f.to_string(), Some(v.to_string())))
                    .collect(),
                created_at: None,
                updated_at: None,
            },
        )
    }

    fn seen(id: &str, values: &[(&str, &str)]) -> (String, Seen) {
        let (_, r) = record(id, values);
        (
            id.into(),
            Seen {
                object: "contacts".into(),
                id: id.into(),
                values: r.properties,
            },
        )
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pick_leaves_out_groups_and_records_and_names_unknown_ids_by_pointer() {
        let plan = vec![
            merge("g1", "1", &["2"]),
            merge("g2", "3", &["4", "5"]),
            update("9", "city", "x", "X"),
            update("10", "city", "y", "Y"),
        ];
        let kept = pick(&plan, &strings(&["g2"]), &strings(&["10"])).unwrap();
        assert_eq!(kept, vec![plan[0].clone(), plan[2].clone()]);
        let errors = pick(&plan, &strings(&["g1", "g9"]), &strings(&["77", "4", "2"])).unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        // g9 is no group; 77 no record; 4's group g2 is not left out; 2's group g1 is.
        assert_eq!(
            pointers,
            [
                "/exclude_groups/1",
                "/exclude_records/0",
                "/exclude_records/1"
            ]
        );
        assert!(errors[2].detail.contains("exclude_groups"), "{errors:?}");
    }

    #[test]
    fn a_changed_or_gone_member_makes_its_whole_group_a_conflict() {
        let plan = vec![
            merge("g1", "1", &["2"]),
            merge("g2", "3", &["4"]),
            merge("g3", "5", &["6"]),
            update("9", "city", "x", "X"),
            update("10", "city", "y", "Y"),
        ];
        let seen: HashMap<String, Seen> = [
            seen("1", &[("email", "a@x.co")]),
            seen("2", &[("email", "a@x.co")]),
            seen("3", &[("email", "b@x.co")]),
            seen("4", &[("email", "b@x.co")]),
            seen("5", &[("email", "c@x.co")]),
            seen("6", &[("email", "c@x.co")]),
        ]
        .into();
        let found: HashMap<_, _> = [
            record("1", &[("email", "a@x.co ")]),
            record("2", &[("email", "a@x.co")]),
            // A duplicate edited since the preview.
            record("3", &[("email", "b@x.co")]),
            record("4", &[("email", "someone.else@x.co")]),
            // Record 6 is gone.
            record("5", &[("email", "c@x.co")]),
            record("9", &[("city", "x")]),
            record("10", &[("city", "elsewhere")]),
        ]
        .into();
        let out = check(plan.clone(), &seen, &found, &HashMap::new(), "contacts");
        assert_eq!(out.apply, vec![plan[0].clone(), plan[3].clone()]);
        let conflicted: Vec<&str> = out
            .conflicts
            .iter()
            .map(|(c, _)| c.id.as_deref().unwrap())
            .collect();
        assert_eq!(conflicted, ["3", "5", "10"]);
        assert!(
            out.conflicts[0].1.contains("someone.else@x.co"),
            "{:?}",
            out.conflicts
        );
        assert!(out.conflicts[1].1.contains("record 6 no longer exists"));
        assert!(
            out.conflicts[2]
                .1
                .contains("city is now \"elsewhere\", the preview saw \"y\"")
        );
    }

    #[test]
    fn a_lead_of_a_group_that_changed_holds_its_contacts_back_too() {
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
        let plan = vec![convert, merge("g1", "003A", &["003B"])];
        let found: HashMap<_, _> = [record("003A", &[]), record("003B", &[])].into();
        // The Lead is read as a Lead: not found there, it is gone.
        let out = check(plan, &HashMap::new(), &found, &HashMap::new(), "contacts");
        assert!(out.apply.is_empty());
        assert_eq!(out.conflicts.len(), 2);
        assert!(
            out.conflicts[1]
                .1
                .contains("another record of its merge group")
        );
    }

    #[test]
    fn listed_ids_are_trimmed_deduplicated_and_bounded() {
        let mut errors = Vec::new();
        let ids = listed_ids(
            Some(&strings(&[" a", "a", "b", " "])),
            "/exclude_records",
            &mut errors,
        );
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(errors[0].pointer, "/exclude_records/3");
        let many: Vec<String> = (0..=super::super::MAX_SCOPE_IDS)
            .map(|i| i.to_string())
            .collect();
        let mut errors = Vec::new();
        listed_ids(Some(&many), "/exclude_groups", &mut errors);
        assert_eq!(errors[0].pointer, "/exclude_groups");
    }
}
