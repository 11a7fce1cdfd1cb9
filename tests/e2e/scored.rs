//! Scored merges over HTTP (issue #19), both CRMs: a scored template's preview shows merge
//! groups and pairs to review, each with its reasons; a person's decisions on the pairs
//! start a follow-up run that merges what was accepted and never what was rejected; the run
//! keeps the model it learned, and decisions are checked at the door.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

use crate::browser::{Browser, app_router};
use crate::runs::{csv_rows, drain_all, queue, run_json, sized, start, with_mode};
use crate::{OWNER, world};
use steward_shared::modules::csv::{AuditRow, Role, RowAction};

/// (first name, last name, email, phone, city) field names and the contact object.
fn fields(crm: &str) -> (&'static str, [&'static str; 5]) {
    match crm {
        "hubspot" => (
            "contacts",
            ["firstname", "lastname", "email", "phone", "city"],
        ),
        _ => (
            "Contact",
            ["FirstName", "LastName", "Email", "Phone", "MailingCity"],
        ),
    }
}

/// A scored merge with default weights (learned from the records) and a wide review band.
fn scored(crm: &str) -> Value {
    let (object, [first, last, email, phone, city]) = fields(crm);
    json!({"module": "merge", "config": {"object": object,
        "score": {"fields": [
            {"field": first, "compare": "name", "swap_with": last},
            {"field": last, "compare": "name", "swap_with": first},
            {"field": email, "compare": "email"},
            {"field": phone, "compare": "phone", "default_region": "US"},
            {"field": city, "compare": "text"}],
            "review_threshold": 0.5},
        "master": {"rules": [{"rule": "oldest_created"}, {"rule": "most_complete"}]}}})
}

/// Record id -> merge group, and the review pairs (ids sorted) with their notes.
type Seen = (BTreeMap<String, String>, BTreeMap<(String, String), String>);

fn read(rows: &[AuditRow]) -> Seen {
    let mut groups = BTreeMap::new();
    let mut pairs: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
    for r in rows {
        let (Some(id), Some(g)) = (r.record_id.clone(), r.group_id.clone()) else {
            continue;
        };
        match r.action {
            RowAction::Merge => {
                groups.insert(id, g);
            }
            RowAction::Review => {
                assert_eq!(r.role, Some(Role::Candidate), "{r:?}");
                let e = pairs.entry(g).or_default();
                e.0.push(id);
                if let Some(n) = &r.note {
                    e.1 = n.clone();
                }
            }
            _ => {}
        }
    }
    let pairs = pairs
        .into_values()
        .map(|(mut ids, note)| {
            assert_eq!(ids.len(), 2, "a review pair is two rows: {ids:?}");
            ids.sort();
            ((ids[0].clone(), ids[1].clone()), note)
        })
        .collect();
    (groups, pairs)
}

#[tokio::test]
async fn a_scored_preview_shows_merges_and_pairs_to_review_and_a_follow_up_follows_the_decisions() {
    for crm in ["hubspot", "salesforce"] {
        let sb = sized(200).await;
        let w = world(&sb);
        let mut rx = queue(&w);
        let router = app_router();
        let s = w.services();
        let owner = Browser::signed_in(s, &router, crm, OWNER).await;

        let preview = start(&owner, with_mode(scored(crm), "preview")).await;
        drain_all(s, &mut rx).await;
        let run = run_json(&owner, &preview).await;
        assert_eq!(run["status"], "succeeded", "{crm}: {run}");
        assert!(
            run["score_model"].is_object(),
            "{crm}: the run keeps the model it learned: {run}"
        );
        let (_, rows) = csv_rows(&owner, s, &preview).await;
        let (groups, pairs) = read(&rows);
        assert!(!groups.is_empty(), "{crm}: the scored preview merges");
        assert!(pairs.len() >= 2, "{crm}: pairs to review: {pairs:?}");
        for r in rows.iter().filter(|r| r.role == Some(Role::Master)) {
            let note = r.note.as_deref().unwrap_or_default();
            assert!(
                note.contains(" scored 0."),
                "{crm}: a merge says why: {note}"
            );
        }
        for ((a, b), note) in &pairs {
            assert!(note.contains("match 0."), "{crm}: {note}");
            assert!(
                !groups.contains_key(a) || groups.get(a) != groups.get(b),
                "{crm}: a pair to review is never inside one group: {a} {b}"
            );
        }

        // Accept one pair and reject another. When the accepted link does not touch the
        // rejected pair, the follow-up merges the one and never the other; when it joins the
        // rejected pair's two sides, the group is reported with why, and nothing of it merged.
        let part = |id: &String| groups.get(id).cloned().unwrap_or_else(|| id.clone());
        let (a1, b1) = pairs.keys().next().unwrap().clone();
        let touched = [part(&a1), part(&b1)];
        let apart = pairs
            .keys()
            .skip(1)
            .find(|(a, b)| !touched.contains(&part(a)) && !touched.contains(&part(b)));
        let (a2, b2) = apart
            .unwrap_or_else(|| pairs.keys().nth(1).unwrap())
            .clone();
        let contradicts = apart.is_none()
            && [part(&a2), part(&b2)].iter().all(|p| touched.contains(p))
            && part(&a2) != part(&b2);
        let mut body = with_mode(scored(crm), "preview");
        body["decisions"] = json!({"accept": [[a1, b1]], "reject": [[b2, a2]]});
        let follow = start(&owner, body).await;
        drain_all(s, &mut rx).await;
        let run = run_json(&owner, &follow).await;
        assert_eq!(run["status"], "succeeded", "{crm}: {run}");
        assert_eq!(run["decisions"]["accept"], json!([[a1, b1]]), "{run}");
        let (_, rows) = csv_rows(&owner, s, &follow).await;
        let (groups, pairs) = read(&rows);
        let decided: BTreeSet<(String, String)> =
            [(a1.clone(), b1.clone()), (a2.clone(), b2.clone())].into();
        assert!(
            pairs.keys().all(|p| !decided.contains(p)),
            "{crm}: a decided pair is not asked again: {pairs:?}"
        );
        assert!(
            !groups.contains_key(&a2) || groups.get(&a2) != groups.get(&b2),
            "{crm}: the rejected pair is not merged: {a2} {b2}"
        );
        if contradicts {
            let flagged: Vec<&AuditRow> = rows
                .iter()
                .filter(|r| r.action == RowAction::Flag)
                .filter(|r| {
                    [&a1, &b1, &a2, &b2].contains(&&r.record_id.clone().unwrap_or_default())
                })
                .collect();
            assert_eq!(
                flagged.len(),
                4 - usize::from(a1 == a2 || a1 == b2 || b1 == a2 || b1 == b2),
                "{crm}: {flagged:?}"
            );
            let note = flagged[0].note.as_deref().unwrap_or_default();
            assert!(note.contains("a pair a person rejected"), "{crm}: {note}");
        } else {
            assert!(
                groups.contains_key(&a1) && groups.get(&a1) == groups.get(&b1),
                "{crm}: the accepted pair is merged: {a1} {b1}"
            );
        }
    }
}

#[tokio::test]
async fn decisions_are_for_merge_runs_and_each_pair_names_two_records_once() {
    let sb = sized(20).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let transform = json!({"module": "transform", "mode": "preview", "config": {
        "object": "contacts", "steps": [{"field": "firstname", "fn": "trim"}]}});
    let merge = with_mode(scored("hubspot"), "preview");
    let with = |mut body: Value, decisions: Value| {
        body["decisions"] = decisions;
        body
    };
    for (body, pointer) in [
        (
            with(transform, json!({"accept": [["1", "2"]]})),
            "/decisions",
        ),
        (
            with(merge.clone(), json!({"accept": [["1", " 1 "]]})),
            "/decisions/accept/0",
        ),
        (
            with(merge.clone(), json!({"accept": [["1", ""]]})),
            "/decisions/accept/0",
        ),
        (
            with(
                merge.clone(),
                json!({"accept": [["1", "2"]], "reject": [["2", "1"]]}),
            ),
            "/decisions/reject/0",
        ),
        (
            with(merge.clone(), json!({"accept": [["1", "2", "3"]]})),
            "/decisions/accept/0",
        ),
    ] {
        let r = owner.send("POST", "/runs", Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(
            r.json()["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["pointer"].as_str().unwrap().starts_with(pointer)),
            "{pointer} not in {}",
            r.text
        );
    }
    assert!(rx.try_recv().is_err(), "no run was started");
}
