//! What runs tell over HTTP, against the sandbox CRM: values compared as the CRM stores
//! them (revert, "nothing left to change"), batches that rows writing nothing never split
//! (counted by the sandbox), the record a HubSpot merge leaves, and a batch whose outcome
//! cannot be read back reported as unknown, never as skipped.

use serde_json::{Value, json};

use super::browser::{Browser, app_router};
use super::runs::{
    HUBSPOT, by_status, crm_of, crm_values, crm_write, csv_rows, drain_all, merge, queue, run_json,
    sized, start, with_mode,
};
use super::*;
use steward_shared::crm::ScanRequest;
use steward_shared::modules::csv::{AuditRow, Role, RowAction, Status as RowStatus};
use steward_shared::runs::worker::{self, Worked};

/// The first `n` ids of `object` in the CRM.
async fn some_ids(
    b: &Browser<'_>,
    s: &steward_shared::Services,
    object: &str,
    n: usize,
) -> Vec<String> {
    let crm = crm_of(s, b).await;
    let request = ScanRequest {
        object: object.into(),
        properties: Vec::new(),
        filter: None,
    };
    let records = steward_shared::crm::scan_all(crm.as_ref(), &request)
        .await
        .unwrap();
    assert!(records.len() >= n, "{object}: {}", records.len());
    records.into_iter().take(n).map(|r| r.id).collect()
}

fn account_and_user(me: &Value) -> (AccountId, String) {
    (
        me["account"]["id"].as_str().unwrap().parse().unwrap(),
        me["user"]["id"].as_str().unwrap().to_string(),
    )
}

fn conflicts(rows: &[AuditRow]) -> Vec<&AuditRow> {
    rows.iter()
        .filter(|r| r.note.as_deref().is_some_and(|n| n.starts_with("CONFLICT")))
        .collect()
}

/// A grid apply writes `value` to `field` of three records, in a form the CRM stores
/// differently; someone else then changes the third. The same edits again change nothing,
/// and the revert restores the first two (their values read back as stored, not as
/// "changed since by someone else"), skips the third, and so ends `partial`.
async fn revert_compares_as_stored(
    crm: &str,
    object: &str,
    field: &str,
    value: &str,
    elsewhere: &str,
) {
    let sb = sized(20).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, crm, OWNER).await;
    let (account, user) = account_and_user(&owner.me().await.json());
    let ids = some_ids(&owner, s, object, 3).await;
    let before = crm_values(s, &account, &user, object, &ids, &[field]).await;
    let edits: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "field": field, "value": value}))
        .collect();
    let grid =
        json!({"module": "grid", "config": {"object": object, "columns": [field]}, "edits": edits});
    let apply = start(&owner, with_mode(grid.clone(), "apply")).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &apply).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["applied"], 3, "{run}");
    let stored = crm_values(s, &account, &user, object, &ids, &[field]).await;
    assert_ne!(
        stored[&ids[0]][field].as_deref(),
        Some(value),
        "the CRM stores {value} in another form; this test needs it to"
    );

    // Nothing is left to change: the same edits plan nothing.
    let again = start(&owner, with_mode(grid, "preview")).await;
    drain_all(s, &mut rx).await;
    let again = run_json(&owner, &again).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(again["counts"]["planned"], 0, "{again}");

    crm_write(s, (&account, &user), object, &ids[2], field, elsewhere).await;
    let r = owner
        .send("POST", &format!("/runs/{apply}/revert"), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let revert = r.json()["id"].as_str().unwrap().to_string();
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &revert).await;
    assert_eq!(run["status"], "partial", "it skipped a record: {run}");
    assert_eq!(run["counts"]["applied"], 2, "{run}");
    let (_, rows) = csv_rows(&owner, s, &revert).await;
    let skipped = conflicts(&rows);
    assert_eq!(skipped.len(), 1, "{rows:#?}");
    assert_eq!(skipped[0].record_id.as_deref(), Some(ids[2].as_str()));
    let now = crm_values(s, &account, &user, object, &ids, &[field]).await;
    for id in &ids[..2] {
        assert_eq!(now[id][field], before[id][field], "{id} restored");
    }
}

#[tokio::test]
async fn a_revert_compares_datetimes_as_hubspot_stores_them_and_is_partial_when_it_skips() {
    revert_compares_as_stored(
        "hubspot",
        "deals",
        "closedate",
        "2024-04-30T00:00:00Z",
        "2025-01-01T00:00:00Z",
    )
    .await;
}

#[tokio::test]
async fn a_revert_compares_numbers_as_salesforce_stores_them_and_is_partial_when_it_skips() {
    revert_compares_as_stored("salesforce", "Opportunity", "Amount", "12000", "99").await;
}

/// A bulk set of a Salesforce number: applied once, it leaves nothing to change, though
/// Salesforce answers `12000` with `12000.0`.
#[tokio::test]
async fn a_bulk_set_leaves_nothing_to_change_once_salesforce_stores_it() {
    let sb = sized(20).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    let body = json!({"module": "bulk", "config": {"object": "Opportunity",
        "actions": [{"set": {"field": "Amount", "value": "12000"}}]}});
    let apply = start(&owner, with_mode(body.clone(), "apply")).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &apply).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["counts"]["applied"].as_u64().unwrap() > 0, "{run}");
    let again = start(&owner, with_mode(body, "preview")).await;
    drain_all(s, &mut rx).await;
    let again = run_json(&owner, &again).await;
    assert_eq!(again["counts"]["planned"], 0, "{again}");
}

/// A validate apply whose plan interleaves flags (rows it cannot fix) with updates: the
/// CRM gets exactly `ceil(updates / 100)` batch updates, as the sandbox counts them.
#[tokio::test]
async fn flags_between_updates_never_split_a_batch_of_crm_writes() {
    let sb = sized(150).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let body = json!({"module": "validate", "mode": "apply", "config": {"object": "contacts",
        "rules": [{"rule": "phone", "field": "phone", "region": "US", "format": "e164"}],
        "fix": [{"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"}]}});
    sb.reset_stats();
    let id = start(&owner, body).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, rows) = csv_rows(&owner, s, &id).await;
    let updates = rows
        .iter()
        .filter(|r| r.action == RowAction::Update)
        .count();
    // The plan this test needs: flags between updates, splitting them into more runs of
    // consecutive updates than batches.
    let kinds: Vec<RowAction> = rows.iter().map(|r| r.action).collect();
    let runs_of_updates = (0..kinds.len())
        .filter(|&i| kinds[i] == RowAction::Update && (i == 0 || kinds[i - 1] != RowAction::Update))
        .count();
    assert!(runs_of_updates > updates.div_ceil(100), "{kinds:?}");
    let calls = sb
        .stats()
        .by_route
        .get("POST /hubspot/crm/v3/objects/contacts/batch/update")
        .copied()
        .unwrap_or(0);
    assert_eq!(calls, updates.div_ceil(100) as u64, "{updates} updates");
}

/// HubSpot gives a merged record a new id: the apply's CSV names it on the master's row
/// (the planned master's id in its note), and it is the record the CRM has now.
#[tokio::test]
async fn the_merge_audit_names_the_record_that_remains_on_hubspot() {
    let sb = sized(80).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let body = with_mode(merge(&HUBSPOT), "apply");
    let id = start(&owner, body).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, rows) = csv_rows(&owner, s, &id).await;
    let masters: Vec<&AuditRow> = rows
        .iter()
        .filter(|r| r.role == Some(Role::Master))
        .collect();
    assert!(!masters.is_empty(), "the sandbox has duplicates");
    let crm = crm_of(s, &owner).await;
    for m in masters {
        let survivor = m.record_id.clone().unwrap();
        let note = m.note.clone().unwrap_or_default();
        let (_, planned) = note
            .split_once("the master was ")
            .unwrap_or_else(|| panic!("the note names the planned master: {m:?}"));
        assert_ne!(planned, survivor, "{m:?}");
        // The record that remains answers with the id the CSV names, for itself and for
        // the planned master.
        for asked in [survivor.as_str(), planned] {
            let found = crm
                .batch_read("contacts", &[asked.to_string()], &[])
                .await
                .unwrap();
            assert_eq!(found.len(), 1, "{asked}");
            assert_eq!(found[0].id, survivor, "{asked} reads as {}", found[0].id);
        }
    }
}

/// A Salesforce bulk apply of 230 contacts stopped after its first batch (200); the next
/// batch was sent and its worker died before it could record that: the run's state names
/// it in flight. Returns the run id and the ids of that batch.
async fn a_batch_in_flight(
    s: &steward_shared::Services,
    owner: &Browser<'_>,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<steward_shared::runs::queue::RunRef>,
) -> (String, Vec<String>) {
    let (account, _) = account_and_user(&owner.me().await.json());
    let body = json!({"module": "bulk", "mode": "apply", "config": {"object": "Contact",
        "actions": [{"set": {"field": "Title", "value": "Data steward"}}]}});
    let id = start(owner, body).await;
    // One slice past its deadline: it plans and applies the first batch, then stops.
    let r = rx.try_recv().unwrap();
    let out = worker::work(s, &account, r.run_id, s.clock.now(), None)
        .await
        .unwrap();
    assert_eq!(out, Worked::Yielded);
    while rx.try_recv().is_ok() {}
    let pk = format!("ACCT#{account}");
    let sk = format!("RUNSTATE#{id}");
    let state = s.items.get(&pk, &sk).await.unwrap().unwrap();
    let offset = state.data["offset"].as_u64().unwrap();
    assert_eq!(offset, 200, "{:?}", state.data);
    let plan = s
        .blobs
        .get(&format!("runs/{account}/{id}/plan/000000.jsonl"))
        .await
        .unwrap()
        .unwrap();
    let rest: Vec<String> = plan
        .bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .skip(offset as usize)
        .map(|l| {
            serde_json::from_slice::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!rest.is_empty());
    let updates: Vec<steward_shared::crm::Update> = rest
        .iter()
        .map(|id| steward_shared::crm::Update {
            id: id.clone(),
            properties: [("Title".to_string(), Some("Data steward".to_string()))].into(),
        })
        .collect();
    let sent = crm_of(s, owner)
        .await
        .batch_update("Contact", &updates)
        .await;
    assert!(sent.unwrap().iter().all(|o| o.error.is_none()));
    let mut item = state.clone();
    item.data.insert(
        "in_flight".into(),
        json!({"part": 0, "offset": offset, "len": rest.len()}),
    );
    s.items
        .put(
            item,
            steward_shared::ports::items::Condition::Version(state.version),
        )
        .await
        .unwrap();
    (id, rest)
}

fn with_code<'a>(rows: &'a [AuditRow], code: &str) -> Vec<&'a AuditRow> {
    rows.iter()
        .filter(|r| {
            r.outcome.as_ref().is_some_and(|o| {
                o.status == RowStatus::Failed && o.error.as_ref().is_some_and(|e| e.code == code)
            })
        })
        .collect()
}

/// The batch in flight cannot be read back any more (the acting user was deactivated in
/// the CRM): its rows may have been applied, so they are reported with the error code
/// UNKNOWN, never as skipped, and the run does not succeed.
#[tokio::test]
async fn an_in_flight_batch_that_cannot_be_read_back_is_unknown_never_skipped() {
    let sb = sized(230).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    let (account, _) = account_and_user(&owner.me().await.json());
    let (id, in_flight) = a_batch_in_flight(s, &owner, &mut rx).await;
    assert!(sb.set_user_active(OWNER, false));
    sb.expire_tokens();
    s.runs.wake(&account, id.parse().unwrap());
    drain_all(s, &mut rx).await;

    let run = run_json(&owner, &id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["counts"]["skipped"], 0, "{run}");
    let (_, rows) = csv_rows(&owner, s, &id).await;
    assert_eq!(
        by_status(&rows).get("skipped"),
        None,
        "{:?}",
        by_status(&rows)
    );
    let unknown = with_code(&rows, "UNKNOWN");
    let mut named: Vec<String> = unknown.iter().filter_map(|r| r.record_id.clone()).collect();
    named.sort();
    let mut want = in_flight.clone();
    want.sort();
    assert_eq!(named, want, "{rows:#?}");
    let message = &unknown[0]
        .outcome
        .as_ref()
        .unwrap()
        .error
        .as_ref()
        .unwrap()
        .message;
    assert!(
        message.contains("may or may not have been changed"),
        "{message}"
    );
}

/// A run cancelled while a batch is in flight reads that batch back before it ends: what
/// the CRM holds is recorded applied, not skipped.
#[tokio::test]
async fn a_run_cancelled_with_a_batch_in_flight_records_what_the_crm_holds() {
    let sb = sized(230).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    let (id, _) = a_batch_in_flight(s, &owner, &mut rx).await;
    sb.reset_writes();
    let r = owner
        .send("POST", &format!("/runs/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    drain_all(s, &mut rx).await;

    let run = run_json(&owner, &id).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    assert_eq!(run["counts"]["applied"], 230, "{run}");
    assert_eq!(run["counts"]["skipped"], 0, "{run}");
    assert!(sb.writes().is_empty(), "nothing written after the cancel");
    let (_, rows) = csv_rows(&owner, s, &id).await;
    assert_eq!(by_status(&rows).get("applied"), Some(&230));
}
