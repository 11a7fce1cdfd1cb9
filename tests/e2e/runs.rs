//! Runs over HTTP against the sandbox CRM: every module in preview and apply on HubSpot
//! and Salesforce with the audit CSV read back, the worker stopped and resumed, injected
//! 429s and 5xx, cancel, revert, locking, and the Activity Tracker.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;

use super::browser::{Browser, app_router};
use super::*;
use steward::Services;
use steward::clock::Clock;
use steward::modules::csv::{AuditRow, RowAction, Status as RowStatus, read_audit};
use steward::runs::queue::RunRef;
use steward::runs::worker::{self, Worked};

/// The world's in-process run queue, for the test to work by hand.
pub fn queue(w: &TestWorld) -> UnboundedReceiver<RunRef> {
    w.embedded
        .run_queue
        .lock()
        .unwrap()
        .take()
        .expect("the run queue is taken once")
}

/// Works every woken run until none is woken any more (each slice ends by `slice`).
pub async fn drain(s: &Services, rx: &mut UnboundedReceiver<RunRef>, slice: chrono::Duration) {
    while let Ok(r) = rx.try_recv() {
        let deadline = s.clock.now() + slice;
        worker::work(s, &r.account_id, &r.run_id, deadline, None)
            .await
            .expect("a slice works");
    }
}

pub async fn drain_all(s: &Services, rx: &mut UnboundedReceiver<RunRef>) {
    drain(s, rx, chrono::Duration::hours(1)).await
}

pub async fn start(b: &Browser<'_>, body: Value) -> String {
    let r = b.send("POST", "/runs", Some(&body)).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let run = r.json();
    assert_eq!(run["status"], "queued", "{run}");
    run["id"].as_str().unwrap().to_string()
}

pub async fn run_json(b: &Browser<'_>, id: &str) -> Value {
    let r = b.get(&format!("/runs/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

/// The run's CSV as `GET /runs/{id}/csv` links it: the link is checked, the file read.
pub async fn csv_rows(b: &Browser<'_>, s: &Services, id: &str) -> (Vec<String>, Vec<AuditRow>) {
    let r = b.get(&format!("/runs/{id}/csv")).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let link = r.location();
    assert!(link.contains(id), "the link names the Run ID: {link}");
    assert!(link.contains("expires="), "{link}");
    let run = run_json(b, id).await;
    let account = run["account_id"].as_str().unwrap();
    let blob = s
        .blobs
        .get(&steward::runs::csv_key(account, id))
        .await
        .unwrap()
        .expect("the CSV exists");
    assert_eq!(run["csv"]["bytes"], blob.bytes.len() as u64);
    let rows = read_audit(blob.bytes.as_ref()).unwrap();
    let columns = rows.columns().to_vec();
    let rows: Vec<AuditRow> = rows.map(|r| r.unwrap()).collect();
    assert_eq!(run["csv"]["rows"], rows.len() as u64);
    (columns, rows)
}

/// A sandbox with `records` records per object (`sandbox_with` keeps the sign-in tests'
/// small 20).
pub async fn sized(records: usize) -> Sandbox {
    Sandbox::start(SandboxConfig {
        records,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts")
}

/// Record ids written more than once with one op, from the sandbox's own write log.
pub fn written_twice(sb: &Sandbox) -> Vec<(String, String, String)> {
    sb.writes_per_record()
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
        .collect()
}

struct Crm {
    name: &'static str,
    contacts: &'static str,
    first: &'static str,
    last: &'static str,
    phone: &'static str,
    email: &'static str,
    title: &'static str,
    city: &'static str,
    company: Option<&'static str>,
}

const HUBSPOT: Crm = Crm {
    name: "hubspot",
    contacts: "contacts",
    first: "firstname",
    last: "lastname",
    phone: "phone",
    email: "email",
    title: "jobtitle",
    city: "city",
    company: Some("company"),
};

const SALESFORCE: Crm = Crm {
    name: "salesforce",
    contacts: "Contact",
    first: "FirstName",
    last: "LastName",
    phone: "Phone",
    email: "Email",
    title: "Title",
    city: "MailingCity",
    company: None,
};

fn transform(c: &Crm) -> Value {
    json!({"module": "transform", "config": {"object": c.contacts, "steps": [
        {"field": c.first, "fn": "trim"},
        {"field": c.last, "fn": "title_case"},
        {"field": c.phone, "fn": "phone", "format": "e164", "default_region": "US"},
        {"field": c.email, "fn": "email"}
    ]}})
}

fn bulk(c: &Crm) -> Value {
    json!({"module": "bulk", "config": {"object": c.contacts, "actions": [
        {"set": {"field": c.title, "value": "Data steward"}}
    ]}})
}

fn validate(c: &Crm) -> Value {
    json!({"module": "validate", "config": {"object": c.contacts, "rules": [
        {"rule": "phone", "field": c.phone, "region": "US", "format": "e164"}
    ], "fix": [{"field": c.phone, "fn": "phone", "format": "e164", "default_region": "US"}]}})
}

fn merge(c: &Crm) -> Value {
    let mut rules = vec![
        json!({"name": "same email", "all": [
            {"field": c.email, "compare": "normalized", "as": "email", "ignore_dots": true, "ignore_plus": true}
        ]}),
        json!({"name": "same phone, similar name", "all": [
            {"field": c.phone, "compare": "normalized", "as": "phone", "default_region": "US"},
            {"fields": [c.first, c.last], "compare": "similar", "as": "name", "threshold": 0.85}
        ]}),
        json!({"name": "similar name, same city", "all": [
            {"field": c.city, "compare": "normalized"},
            {"field": c.last, "compare": "similar", "as": "name", "threshold": 0.9},
            {"field": c.first, "compare": "similar", "as": "nickname", "threshold": 0.85}
        ]}),
    ];
    if let Some(company) = c.company {
        rules.push(json!({"name": "similar name, same company", "all": [
            {"field": company, "compare": "normalized", "as": "company"},
            {"field": c.last, "compare": "similar", "as": "name", "threshold": 0.9}
        ]}));
    }
    json!({"module": "merge", "config": {"object": c.contacts, "rules": rules,
        "master": {"rules": [{"rule": "oldest_created"}, {"rule": "most_complete"}]},
        "survivorship": {"default": "master_unless_empty"},
        "max_group_size": 10}})
}

fn with_mode(mut body: Value, mode: &str) -> Value {
    body["mode"] = json!(mode);
    body
}

/// Every data row of an apply run's CSV, by status.
fn by_status(rows: &[AuditRow]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for r in rows {
        let k = match r.outcome.as_ref().map(|o| o.status) {
            None => "preview",
            Some(RowStatus::Applied) => "applied",
            Some(RowStatus::Failed) => "failed",
            Some(RowStatus::Skipped) => "skipped",
        };
        *out.entry(k).or_default() += 1;
    }
    out
}

/// A module in preview, then in apply: counts, the CSVs, the CRM's writes.
async fn preview_then_apply(c: &Crm, body: Value, expect_writes: &str) {
    let sb = sized(60).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::new(s, &router);
    assert_eq!(owner.sign_in(c.name, OWNER).await.status, 302);

    sb.reset_writes();
    let preview = start(&owner, with_mode(body.clone(), "preview")).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &preview).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["counts"]["scanned"].as_u64().unwrap() > 0, "{run}");
    let planned = run["counts"]["planned"].as_u64().unwrap();
    assert!(planned > 0, "the sandbox's dirty data needs changes: {run}");
    assert!(
        sb.writes().is_empty(),
        "a preview writes nothing: {:?}",
        sb.writes()
    );
    let (columns, rows) = csv_rows(&owner, s, &preview).await;
    assert!(!columns.is_empty());
    assert!(
        rows.iter().all(|r| r.outcome.is_none()),
        "no outcome columns"
    );
    assert!(
        rows.iter()
            .any(|r| r.fields.iter().any(|f| f.before != f.after))
            || body["module"] == "merge"
    );

    let apply = start(&owner, with_mode(body, "apply")).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &apply).await;
    if run["status"] != "succeeded" {
        let (_, rows) = csv_rows(&owner, s, &apply).await;
        let failed: Vec<_> = rows
            .iter()
            .filter(|r| {
                r.outcome
                    .as_ref()
                    .is_some_and(|o| o.status == RowStatus::Failed)
            })
            .collect();
        panic!("{run}\n{failed:#?}");
    }
    assert_eq!(run["counts"]["planned"].as_u64().unwrap(), planned, "{run}");
    assert_eq!(run["counts"]["failed"], 0, "{run}");
    assert!(run["revertible"]["updates"].as_bool().unwrap(), "{run}");
    let (_, rows) = csv_rows(&owner, s, &apply).await;
    let statuses = by_status(&rows);
    assert!(
        statuses.get("applied").copied().unwrap_or(0) > 0,
        "{statuses:?}"
    );
    assert_eq!(statuses.get("failed"), None, "{statuses:?}");
    // Each record once in the CSV, each written once by the CRM.
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        let id = r.record_id.clone().unwrap();
        assert!(
            seen.insert((id, r.action as u8)),
            "a record twice in the CSV: {r:?}"
        );
    }
    // A master is in one merge call per duplicate (HubSpot: one pair a call, each giving
    // the survivor a new id) or per two (Salesforce): only each duplicate is merged away
    // exactly once; every other record is written once.
    let duplicates: std::collections::HashSet<String> = rows
        .iter()
        .filter(|r| r.role == Some(steward::modules::csv::Role::Duplicate))
        .filter_map(|r| r.record_id.clone())
        .collect();
    let twice: Vec<_> = written_twice(&sb)
        .into_iter()
        .filter(|(_, id, op)| op != "merge" || duplicates.contains(id))
        .collect();
    assert!(twice.is_empty(), "{twice:?}");
    let writes = sb.writes();
    assert!(
        writes.iter().any(|e| e.op == expect_writes),
        "{expect_writes} expected in {writes:?}"
    );
    for r in rows.iter().filter(|r| {
        r.outcome
            .as_ref()
            .is_some_and(|o| o.status == RowStatus::Applied)
    }) {
        if r.action == RowAction::Update {
            let id = r.record_id.as_deref().unwrap();
            assert!(
                writes.iter().any(|e| e.id == id && e.op == "update"),
                "{id} applied in the CSV, not written in the CRM"
            );
        }
    }
    // A second preview after the apply finds nothing left to do (record engines).
    if expect_writes == "update" {
        let again = start(&owner, with_mode(transform_or(&run), "preview")).await;
        drain_all(s, &mut rx).await;
        let again = run_json(&owner, &again).await;
        assert_eq!(again["status"], "succeeded");
    }
}

fn transform_or(run: &Value) -> Value {
    json!({"module": run["module"], "config": run["config"]})
}

#[tokio::test]
async fn transform_preview_and_apply_on_hubspot() {
    preview_then_apply(&HUBSPOT, transform(&HUBSPOT), "update").await;
}

#[tokio::test]
async fn transform_preview_and_apply_on_salesforce() {
    preview_then_apply(&SALESFORCE, transform(&SALESFORCE), "update").await;
}

#[tokio::test]
async fn bulk_preview_and_apply_on_hubspot() {
    preview_then_apply(&HUBSPOT, bulk(&HUBSPOT), "update").await;
}

#[tokio::test]
async fn bulk_preview_and_apply_on_salesforce() {
    preview_then_apply(&SALESFORCE, bulk(&SALESFORCE), "update").await;
}

#[tokio::test]
async fn validate_preview_and_apply_on_hubspot() {
    preview_then_apply(&HUBSPOT, validate(&HUBSPOT), "update").await;
}

#[tokio::test]
async fn validate_preview_and_apply_on_salesforce() {
    preview_then_apply(&SALESFORCE, validate(&SALESFORCE), "update").await;
}

#[tokio::test]
async fn merge_preview_and_apply_on_hubspot() {
    preview_then_apply(&HUBSPOT, merge(&HUBSPOT), "merge").await;
}

#[tokio::test]
async fn merge_preview_and_apply_on_salesforce() {
    preview_then_apply(&SALESFORCE, merge(&SALESFORCE), "merge").await;
}

async fn grid_on(c: &Crm) {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::new(s, &router);
    assert_eq!(owner.sign_in(c.name, OWNER).await.status, 302);
    // Two records from a preview of a transform (it lists ids).
    let probe = start(&owner, with_mode(bulk(c), "preview")).await;
    drain_all(s, &mut rx).await;
    let (_, rows) = csv_rows(&owner, s, &probe).await;
    let ids: Vec<String> = rows
        .iter()
        .take(2)
        .map(|r| r.record_id.clone().unwrap())
        .collect();
    let edits = json!([
        {"id": ids[0], "field": c.title, "value": "Head of Data"},
        {"id": ids[1], "field": c.city, "value": "Lisbon"}
    ]);
    let body = json!({"module": "grid", "config": {"object": c.contacts, "columns": [c.title, c.city]}, "edits": edits});
    sb.reset_writes();
    let preview = start(&owner, with_mode(body.clone(), "preview")).await;
    drain_all(s, &mut rx).await;
    assert_eq!(run_json(&owner, &preview).await["status"], "succeeded");
    assert!(sb.writes().is_empty());
    let (_, rows) = csv_rows(&owner, s, &preview).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].fields[0].after.as_deref(), Some("Head of Data"));

    let apply = start(&owner, with_mode(body, "apply")).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &apply).await;
    if run["status"] != "succeeded" {
        let (_, rows) = csv_rows(&owner, s, &apply).await;
        let failed: Vec<_> = rows
            .iter()
            .filter(|r| {
                r.outcome
                    .as_ref()
                    .is_some_and(|o| o.status == RowStatus::Failed)
            })
            .collect();
        panic!("{run}\n{failed:#?}");
    }
    assert_eq!(run["counts"]["applied"], 2, "{run}");
    let (_, rows) = csv_rows(&owner, s, &apply).await;
    assert_eq!(by_status(&rows).get("applied"), Some(&2));
    let mut written: Vec<String> = sb.writes().into_iter().map(|e| e.id).collect();
    written.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(written, want, "one update per edited record");

    // A bad edit fails the run with the reason, nothing written.
    sb.reset_writes();
    let bad = json!({"module": "grid", "config": {"object": c.contacts, "columns": [c.title]}, "mode": "apply",
        "edits": [{"id": ids[0], "field": "no_such_field", "value": "x"}]});
    let id = start(&owner, bad).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"].as_str().unwrap().contains("no_such_field"),
        "{run}"
    );
    assert!(sb.writes().is_empty());
}

#[tokio::test]
async fn grid_preview_and_apply_on_hubspot() {
    grid_on(&HUBSPOT).await;
}

#[tokio::test]
async fn grid_preview_and_apply_on_salesforce() {
    grid_on(&SALESFORCE).await;
}

// ---- faults -------------------------------------------------------------------------

/// The worker is cut off at random points (its task aborted mid-batch, between the CRM's
/// answer and the checkpoint included) and resumed, again and again, until the run ends.
async fn killed_and_resumed(c: &Crm) {
    let sb = sized(400).await;
    let clock = Arc::new(steward::clock::ManualClock::new(chrono::Utc::now()));
    let w = world_at(&sb, clock.clone());
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services().clone();
    let owner = Browser::new(&s, &router);
    assert_eq!(owner.sign_in(c.name, OWNER).await.status, 302);
    sb.reset_writes();
    let id = start(&owner, with_mode(bulk(c), "apply")).await;
    let account = run_json(&owner, &id).await["account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = rx.try_recv();
    let mut kills = 0;
    let mut finished = false;
    for round in 0..400u64 {
        let (s2, a2, i2) = (s.clone(), account.clone(), id.clone());
        let deadline = clock.now() + chrono::Duration::hours(1);
        let task = tokio::spawn(async move { worker::work(&s2, &a2, &i2, deadline, None).await });
        // Cut it off after a varying number of CRM writes (0: at the first, often
        // between the CRM's answer and the checkpoint) or a varying time.
        let target = sb.writes().len() + (round as usize * 37) % 150;
        let limit =
            std::time::Instant::now() + std::time::Duration::from_millis(40 + (round % 10) * 40);
        while !task.is_finished()
            && sb.writes().len() <= target
            && std::time::Instant::now() < limit
        {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        if task.is_finished() {
            if let Worked::Finished(_) = task.await.unwrap().unwrap() {
                finished = true;
                break;
            }
        } else {
            task.abort();
            let _ = task.await;
            kills += 1;
        }
        // The next worker takes over once the dead one's lease is stale.
        clock.advance(worker::STALE_AFTER + chrono::Duration::seconds(1));
    }
    assert!(finished, "the run did not finish in 400 rounds");
    drain_all(&s, &mut rx).await;
    let run = run_json(&owner, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(kills > 0, "the test killed no worker");
    assert!(
        written_twice(&sb).is_empty(),
        "applied twice: {:?}",
        written_twice(&sb)
    );
    let (_, rows) = csv_rows(&owner, &s, &id).await;
    let mut ids = std::collections::HashSet::new();
    for r in &rows {
        assert!(
            ids.insert(r.record_id.clone().unwrap()),
            "twice in the CSV: {r:?}"
        );
    }
    let applied = by_status(&rows).get("applied").copied().unwrap_or(0);
    assert_eq!(applied as u64, run["counts"]["applied"].as_u64().unwrap());
    assert_eq!(
        applied,
        rows.len(),
        "every record applied: {:?}",
        by_status(&rows)
    );
    assert_eq!(sb.writes().len(), rows.len(), "one CRM write per record");
    println!("{}: {kills} kills, {} records", c.name, rows.len());
}

#[tokio::test]
async fn a_killed_worker_resumes_without_applying_twice_on_hubspot() {
    killed_and_resumed(&HUBSPOT).await;
}

#[tokio::test]
async fn a_killed_worker_resumes_without_applying_twice_on_salesforce() {
    killed_and_resumed(&SALESFORCE).await;
}

/// 20% 429s and 5% 5xx, with the worker also stopped at its deadline after every batch:
/// apply runs (each changing every record) until both kinds of fault were injected, each
/// run checked on its own.
async fn throttled_and_failing(c: &Crm) {
    let sb = sized(1_000).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::new(s, &router);
    assert_eq!(owner.sign_in(c.name, OWNER).await.status, 302);
    sb.reset_stats();
    let mut runs = 0;
    while runs < 40 {
        let stats = sb.stats();
        if runs > 0 && stats.injected_429 > 0 && stats.injected_5xx > 0 {
            break;
        }
        runs += 1;
        sb.reset_writes();
        sb.set_faults(steward_sandbox::Faults {
            rate_429: 0.2,
            rate_5xx: 0.05,
            ..Default::default()
        });
        let body = json!({"module": "bulk", "mode": "apply", "config": {"object": c.contacts,
            "actions": [{"set": {"field": c.title, "value": format!("Steward run {runs}")}}]}});
        let id = start(&owner, body).await;
        // A deadline already passed: every slice does one step and continues in the next.
        drain(s, &mut rx, chrono::Duration::zero()).await;
        sb.set_faults(steward_sandbox::Faults::default());
        let run = run_json(&owner, &id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert!(run["continuations"].as_u64().unwrap() > 1, "{run}");
        assert!(written_twice(&sb).is_empty(), "{:?}", written_twice(&sb));
        let (_, rows) = csv_rows(&owner, s, &id).await;
        let mut ids = std::collections::HashSet::new();
        for r in &rows {
            assert!(
                ids.insert(r.record_id.clone().unwrap()),
                "twice in the CSV: {r:?}"
            );
        }
        assert_eq!(rows.len(), 1_000, "every record is in the CSV");
        assert_eq!(by_status(&rows).get("applied").copied(), Some(rows.len()));
        assert_eq!(sb.writes().len(), rows.len(), "one CRM write per record");
    }
    let stats = sb.stats();
    assert!(
        stats.injected_429 > 0 && stats.injected_5xx > 0,
        "{stats:?}"
    );
    println!("{}: {runs} runs, {stats:?}", c.name);
}

#[tokio::test]
async fn injected_429s_and_5xx_on_hubspot_apply_each_record_once() {
    throttled_and_failing(&HUBSPOT).await;
}

#[tokio::test]
async fn injected_429s_and_5xx_on_salesforce_apply_each_record_once() {
    throttled_and_failing(&SALESFORCE).await;
}
