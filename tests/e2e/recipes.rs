//! Recipes in process, against the sandbox CRM: saving them (what a step may be), running
//! one now, a step that stops the rest, the signing secret's rotation, and a window whose
//! calls hold more records than one run takes. (Flows and workflows calling over HTTP are
//! `infra/steward/tests/serve.rs`.)

use serde_json::{Value, json};
use std::sync::Arc;

use crate::browser::{Browser, app_router};
use crate::runs::{drain_all, queue};
use crate::{OWNER, PRIYA, member, sandbox, world, world_at};
use steward_sandbox::automation::{flow_callout, salesforce_account};
use steward_shared::clock::{Clock, ManualClock};

fn transform(name: &str) -> Value {
    json!({"module": "transform", "name": name,
        "config": {"object": "Contact", "steps": [{"field": "LastName", "fn": "title_case"}]}})
}

fn bulk(name: &str) -> Value {
    json!({"module": "bulk", "name": name,
        "config": {"object": "Contact", "actions": [{"set": {"field": "LeadSource", "value": "Web"}}]}})
}

async fn template(b: &Browser<'_>, body: Value) -> String {
    let r = b.send("POST", "/templates", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_str().unwrap().to_string()
}

async fn recipe(b: &Browser<'_>, steps: Value) -> String {
    let r = b
        .send(
            "POST",
            "/recipes",
            Some(&json!({"name": "Tidy", "steps": steps})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_str().unwrap().to_string()
}

fn pointers(r: &crate::browser::Resp) -> Vec<String> {
    r.json()["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["pointer"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Owner signed in to Salesforce, their connection the integration user's.
async fn owner_with_integration<'a>(
    s: &'a steward_shared::Services,
    router: &'a steward_shared::http::Router<steward_shared::Services>,
) -> Browser<'a> {
    let owner = Browser::signed_in(s, router, "salesforce", OWNER).await;
    let me = owner.me().await.json();
    let r = owner
        .send(
            "PUT",
            "/team/integration",
            Some(&json!({"user_id": me["user"]["id"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    owner
}

/// `owner_with_integration`, a one-step recipe (a transform, previewed) and automation
/// active with a `window` of seconds: (owner, recipe id, signing secret).
async fn automated<'a>(
    s: &'a steward_shared::Services,
    router: &'a steward_shared::http::Router<steward_shared::Services>,
    window: u32,
) -> (Browser<'a>, String, String) {
    let owner = owner_with_integration(s, router).await;
    let t = template(&owner, transform("Names")).await;
    let id = recipe(&owner, json!([{"template_id": t, "mode": "preview"}])).await;
    let r = owner
        .send(
            "POST",
            "/account/automation/activate",
            Some(&json!({ "window_seconds": window })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.json()["signing_secret"].as_str().unwrap().to_string();
    (owner, id, secret)
}

#[tokio::test]
async fn a_recipe_takes_templates_of_one_object_a_member_may_run() {
    let sb = sandbox().await;
    let w = world(&sb);
    let s = w.services();
    let router = app_router();
    let owner = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    let t = template(&owner, transform("Names")).await;
    let b = template(&owner, bulk("Source")).await;
    let grid = template(
        &owner,
        json!({"module": "grid", "name": "Cells", "config": {"object": "Contact", "columns": ["LastName"]}}),
    )
    .await;
    let leads = template(
        &owner,
        json!({"module": "transform", "name": "Leads", "config": {"object": "Lead", "steps": [{"field": "LastName", "fn": "title_case"}]}}),
    )
    .await;
    // A grid step and a step on another object: each named where it is.
    let r = owner
        .send(
            "POST",
            "/recipes",
            Some(&json!({"name": "Mixed", "steps": [
                {"template_id": t, "mode": "apply"},
                {"template_id": grid, "mode": "apply"},
                {"template_id": leads, "mode": "preview"},
            ]})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        pointers(&r),
        ["/steps/1/template_id", "/steps/2/template_id"],
        "{}",
        r.text
    );
    // A template that is not there: 404, as for a run or a schedule.
    let r = owner
        .send(
            "POST",
            "/recipes",
            Some(&json!({"name": "Gone", "steps": [
                {"template_id": t, "mode": "apply"},
                {"template_id": "01KBZ3J5X4M2Q8R7T6V5W4Y3Z2", "mode": "preview"},
            ]})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(r.text.contains("(step 2)"), "{}", r.text);
    let id = recipe(
        &owner,
        json!([{"template_id": t, "mode": "apply"}, {"template_id": b, "mode": "preview"}]),
    )
    .await;
    let got = owner.get(&format!("/recipes/{id}")).await;
    assert_eq!(got.status, 200);
    let got = got.json();
    assert_eq!(got["object"], "Contact");
    assert_eq!(got["steps"][0]["template_name"], "Names");
    assert_eq!(got["steps"][1]["module"], "bulk");

    // A member who may only read transform: sees no recipe that applies it, cannot run it.
    let priya = member(
        s,
        &router,
        &owner,
        "salesforce",
        PRIYA,
        json!({"role": "user", "permissions": {"merge": "none", "bulk": "write", "transform": "read", "grid": "none", "validate": "none"}}),
    )
    .await;
    let r = priya
        .send("POST", &format!("/recipes/{id}/runs"), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = priya
        .send(
            "POST",
            "/recipes",
            Some(&json!({"name": "Mine", "steps": [{"template_id": t, "mode": "apply"}]})),
        )
        .await;
    assert_eq!(
        (r.status, pointers(&r)),
        (400, vec!["/steps/0/mode".to_string()]),
        "{}",
        r.text
    );
}

/// Run now: the steps run in order on the same records; a step cancelled stops the rest,
/// and the recipe run says which and why.
#[tokio::test]
async fn steps_run_in_order_and_a_cancelled_step_stops_the_rest() {
    let sb = sandbox().await;
    let w = world(&sb);
    let s = w.services();
    let mut rx = queue(&w);
    let router = app_router();
    let owner = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    let t = template(&owner, transform("Names")).await;
    let b = template(&owner, bulk("Source")).await;
    let id = recipe(
        &owner,
        json!([{"template_id": t, "mode": "apply"}, {"template_id": b, "mode": "preview"}]),
    )
    .await;
    let r = owner
        .send("POST", &format!("/recipes/{id}/runs"), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let rr_id = r.json()["id"].as_str().unwrap().to_string();
    drain_all(s, &mut rx).await;
    let rr = owner.get(&format!("/recipe-runs/{rr_id}")).await.json();
    assert_eq!(rr["status"], "succeeded", "{rr}");
    assert_eq!(rr["trigger"], "manual");
    let (first, second) = (
        rr["steps"][0]["run_id"].as_str().unwrap(),
        rr["steps"][1]["run_id"].as_str().unwrap(),
    );
    let one = owner.get(&format!("/runs/{first}")).await.json();
    let two = owner.get(&format!("/runs/{second}")).await.json();
    assert_eq!(
        (one["module"].as_str(), one["mode"].as_str()),
        (Some("transform"), Some("apply"))
    );
    assert_eq!(
        (two["module"].as_str(), two["mode"].as_str()),
        (Some("bulk"), Some("preview"))
    );
    assert_eq!(two["recipe"]["step"], 1);
    assert!(
        two["created_at"].as_str() >= one["finished_at"].as_str(),
        "the second step starts when the first has ended: {one} {two}"
    );
    assert_eq!(one["acting"]["kind"], "member");

    // Again, the first step cancelled before it starts: the second never runs.
    let r = owner
        .send("POST", &format!("/recipes/{id}/runs"), None)
        .await;
    let rr_id = r.json()["id"].as_str().unwrap().to_string();
    let first = r.json()["steps"][0]["run_id"].as_str().unwrap().to_string();
    let c = owner
        .send("POST", &format!("/runs/{first}/cancel"), None)
        .await;
    assert_eq!(c.status, 202, "{}", c.text);
    drain_all(s, &mut rx).await;
    let rr = owner.get(&format!("/recipe-runs/{rr_id}")).await.json();
    assert_eq!(rr["status"], "failed", "{rr}");
    assert_eq!(rr["steps"][0]["status"], "cancelled");
    assert_eq!(rr["steps"][1]["run_id"], Value::Null, "{rr}");
    let why = rr["error"].as_str().unwrap();
    assert!(
        why.contains("step 1 (Names) cancelled") && why.contains("the last step did not run"),
        "{why}"
    );

    // A step whose template was deleted since: the recipe run fails saying so.
    let r = owner.send("DELETE", &format!("/templates/{b}"), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = owner
        .send("POST", &format!("/recipes/{id}/runs"), None)
        .await;
    let rr_id = r.json()["id"].as_str().unwrap().to_string();
    drain_all(s, &mut rx).await;
    let rr = owner.get(&format!("/recipe-runs/{rr_id}")).await.json();
    assert_eq!(rr["status"], "failed", "{rr}");
    assert_eq!(rr["steps"][0]["status"], "succeeded");
    assert!(
        rr["error"]
            .as_str()
            .unwrap()
            .contains("“Source”, which was deleted"),
        "{rr}"
    );
    let listed = owner
        .get(&format!("/recipe-runs?recipe_id={id}"))
        .await
        .json();
    assert_eq!(listed["recipe_runs"].as_array().unwrap().len(), 3);
}

/// A signed call, from the sandbox's Flow callout, through the router.
async fn call(
    anyone: &Browser<'_>,
    base: &str,
    recipe: &str,
    secret: &str,
    invocation: &str,
    ids: &[String],
    at: chrono::DateTime<chrono::Utc>,
) -> crate::browser::Resp {
    let req = flow_callout(
        base,
        recipe,
        &salesforce_account(),
        secret,
        invocation,
        ids,
        at.timestamp(),
    );
    let path = req.url.strip_prefix(base).unwrap().to_string();
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    anyone
        .send_raw(
            "POST",
            &path,
            Some(("application/json", req.body.clone())),
            &headers,
        )
        .await
}

/// Rotation: the previous secret still signs for an hour, then only the new one does.
#[tokio::test]
async fn a_rotated_secret_keeps_the_previous_one_for_an_hour() {
    let sb = sandbox().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let w = world_at(&sb, clock.clone());
    let s = w.services();
    let router = app_router();
    let owner = owner_with_integration(s, &router).await;
    let t = template(&owner, transform("Names")).await;
    let id = recipe(&owner, json!([{"template_id": t, "mode": "preview"}])).await;
    let r = owner.send("POST", "/account/automation/rotate", None).await;
    assert_eq!(r.status, 409, "rotating needs activation first: {}", r.text);
    let first = owner
        .send("POST", "/account/automation/activate", None)
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let old = first.json()["signing_secret"].as_str().unwrap().to_string();
    let view = owner.get("/account/automation").await.json();
    assert_eq!(view["active"], true);
    assert_eq!(view["account_header"], salesforce_account());
    assert!(
        !view.to_string().contains(&old),
        "the secret is shown once: {view}"
    );
    let again = owner
        .send("POST", "/account/automation/activate", None)
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    let rotated = owner.send("POST", "/account/automation/rotate", None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new = rotated.json()["signing_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(old, new);

    let anyone = Browser::new(s, &router);
    let base = s.web_base_url.clone();
    let ids = vec!["003000000000001AAA".to_string()];
    let r = call(&anyone, &base, &id, &old, "a-1", &ids, clock.now()).await;
    assert_eq!(
        r.status, 202,
        "the previous secret, within the hour: {}",
        r.text
    );
    let r = call(&anyone, &base, &id, &new, "a-2", &ids, clock.now()).await;
    assert_eq!(r.status, 202, "{}", r.text);
    clock.advance(chrono::Duration::minutes(61));
    let r = call(&anyone, &base, &id, &old, "a-3", &ids, clock.now()).await;
    assert_eq!(
        r.status, 401,
        "the previous secret, after the hour: {}",
        r.text
    );
    let r = call(&anyone, &base, &id, &new, "a-4", &ids, clock.now()).await;
    assert_eq!(r.status, 202, "{}", r.text);
    // A body that breaks the schema, correctly signed: 400 at its pointer.
    let r = call(&anyone, &base, &id, &new, "bad id!", &ids, clock.now()).await;
    assert_eq!(
        (r.status, pointers(&r)),
        (400, vec!["/invocation_id".to_string()]),
        "{}",
        r.text
    );
}

/// One window's calls hold 3,000 records: the recipe run takes 2,000 (a run's most) and
/// hands the other calls on to a successor, each call in exactly one of them; a call
/// delivered again afterwards is found where it went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_a_runs_records_go_on_to_a_successor() {
    let sb = sandbox().await;
    let w = world(&sb);
    let s = w.services();
    let mut rx = queue(&w);
    let router = app_router();
    let (owner, id, secret) = automated(s, &router, 1).await;
    let anyone = Browser::new(s, &router);
    let base = s.web_base_url.clone();
    let mut opened = None;
    for n in 0..3 {
        let ids: Vec<String> = (0..1000).map(|i| format!("003FAKE{n}{i:07}AAA")).collect();
        let r = call(
            &anyone,
            &base,
            &id,
            &secret,
            &format!("load-{n}"),
            &ids,
            chrono::Utc::now(),
        )
        .await;
        assert_eq!(r.status, 202, "{}", r.text);
        let rr = r.json()["recipe_run_id"].as_str().unwrap().to_string();
        assert_eq!(
            opened.get_or_insert(rr.clone()),
            &rr,
            "one window, one recipe run"
        );
    }
    drain_all(s, &mut rx).await;
    let first = owner
        .get(&format!("/recipe-runs/{}", opened.unwrap()))
        .await
        .json();
    let next_id = first["successor"]
        .as_str()
        .expect("a successor")
        .to_string();
    let next = owner.get(&format!("/recipe-runs/{next_id}")).await.json();
    for rr in [&first, &next] {
        assert_eq!(rr["status"], "succeeded", "{rr}");
    }
    let records = |rr: &Value| rr["scope"]["ids"].as_array().unwrap().len();
    assert_eq!((records(&first), records(&next)), (2000, 1000));
    let mut calls: Vec<String> = [&first, &next]
        .iter()
        .flat_map(|rr| rr["invocations"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    calls.sort();
    assert_eq!(calls, ["load-0", "load-1", "load-2"]);
    // Delivered again: a duplicate, answered with the recipe run that holds it.
    let moved = next["invocations"][0].as_str().unwrap();
    let n = &moved[5..];
    let ids: Vec<String> = (0..1000).map(|i| format!("003FAKE{n}{i:07}AAA")).collect();
    let r = call(
        &anyone,
        &base,
        &id,
        &secret,
        moved,
        &ids,
        chrono::Utc::now(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["duplicate"], true, "{}", r.text);
    assert_eq!(r.json()["recipe_run_id"], next_id.as_str());
    let runs = owner.get("/runs?trigger=flow").await.json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2, "{runs}");
}

/// A call that finds its recipe run sealed after writing itself withdraws, and opens the
/// next one: the sealed run never takes it, so no record runs twice or is lost.
#[tokio::test]
async fn a_call_that_arrives_as_the_run_is_sealed_goes_to_the_next_one() {
    let sb = sandbox().await;
    let w = world(&sb);
    let s = w.services();
    let mut rx = queue(&w);
    let router = app_router();
    let (owner, id, secret) = automated(s, &router, 300).await;
    let anyone = Browser::new(s, &router);
    let base = s.web_base_url.clone();
    let one = vec!["003000000000001AAA".to_string()];
    let r = call(
        &anyone,
        &base,
        &id,
        &secret,
        "early",
        &one,
        chrono::Utc::now(),
    )
    .await;
    let first = r.json()["recipe_run_id"].as_str().unwrap().to_string();
    // The worker seals it now (its window is still open on the pointer).
    let account = owner.account_id().await;
    let pk = format!("ACCT#{account}");
    let sk = format!("RRUN#{first}");
    let mut item = s.items.get(&pk, &sk).await.unwrap().unwrap();
    item.data.insert("status".into(), json!("running"));
    let v = item.version;
    s.items
        .put(item, steward_shared::ports::items::Condition::Version(v))
        .await
        .unwrap();
    let two = vec!["003000000000002AAA".to_string()];
    let r = call(
        &anyone,
        &base,
        &id,
        &secret,
        "late",
        &two,
        chrono::Utc::now(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let second = r.json()["recipe_run_id"].as_str().unwrap().to_string();
    assert_ne!(second, first, "a sealed run takes no more calls");
    let left: Vec<String> = s
        .items
        .query(&steward_shared::ports::Query::partition(&pk).prefix(format!("RCALL#{first}#")))
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.data["invocation_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        left,
        ["early"],
        "the late call withdrew from the sealed run"
    );
    // The late call's own run: the worker waits its window; end it now for the test.
    let mut g = s
        .items
        .get(&pk, &format!("RRUN#{second}"))
        .await
        .unwrap()
        .unwrap();
    g.data.insert(
        "gather_until".into(),
        json!(chrono::Utc::now().to_rfc3339()),
    );
    let v = g.version;
    s.items
        .put(g, steward_shared::ports::items::Condition::Version(v))
        .await
        .unwrap();
    drain_all(s, &mut rx).await;
    for (rr, ids) in [(&first, &one), (&second, &two)] {
        let rr = owner.get(&format!("/recipe-runs/{rr}")).await.json();
        assert_eq!(rr["scope"]["ids"], json!(ids), "{rr}");
        assert_eq!(rr["status"], "succeeded", "{rr}");
    }
}

/// A HubSpot workflow action through the router, signed (v3) as HubSpot signs it.
async fn workflow_action(
    anyone: &Browser<'_>,
    base: &str,
    recipe: &str,
    callback: &str,
    object_id: u64,
) -> crate::browser::Resp {
    use steward_sandbox::automation::{HubSpotAction, HubSpotSignature, hubspot_action_request};
    let url = format!("{base}/hooks/hubspot/workflow-action");
    let action = HubSpotAction {
        callback_id: callback.into(),
        portal_id: steward_sandbox::hubspot::PORTAL_ID,
        action_definition_id: 1,
        action_definition_version: 1,
        workflow_id: 7,
        object_type: "CONTACT".into(),
        object_id,
        recipe_id: recipe.into(),
    };
    let req = hubspot_action_request(
        &url,
        steward_sandbox::CLIENT_SECRET,
        &action,
        chrono::Utc::now().timestamp_millis(),
        HubSpotSignature::V3,
    );
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    anyone
        .send_raw(
            "POST",
            "/hooks/hubspot/workflow-action",
            Some(("application/json", req.body.clone())),
            &headers,
        )
        .await
}

/// A HubSpot recipe run that fails completes its waiting workflow actions with
/// FAIL_CONTINUE and the reason; a recipe whose template is gone is refused at once (409),
/// so the workflow shows the failure without waiting.
#[tokio::test]
async fn a_failed_recipe_run_completes_its_workflow_actions_as_failed() {
    let sb = sandbox().await;
    let w = world(&sb);
    let s = w.services();
    let mut rx = queue(&w);
    let router = app_router();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let me = owner.me().await.json();
    let r = owner
        .send(
            "PUT",
            "/team/integration",
            Some(&json!({"user_id": me["user"]["id"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = template(
        &owner,
        json!({"module": "transform", "name": "Names",
            "config": {"object": "contacts", "steps": [{"field": "lastname", "fn": "title_case"}]}}),
    )
    .await;
    let id = recipe(&owner, json!([{"template_id": t, "mode": "apply"}])).await;
    let anyone = Browser::new(s, &router);
    let base = s.web_base_url.clone();
    let r = workflow_action(&anyone, &base, &id, "ap-1", 1).await;
    assert_eq!(r.status, 403, "automation not active: {}", r.text);
    let r = owner
        .send(
            "POST",
            "/account/automation/activate",
            Some(&json!({"window_seconds": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = workflow_action(&anyone, &base, &id, "ap-2", 1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["outputFields"]["hs_execution_state"], "BLOCK");
    let rr_id = r.json()["outputFields"]["steward_run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let rr = owner.get(&format!("/recipe-runs/{rr_id}")).await.json();
    let step = rr["steps"][0]["run_id"].as_str().unwrap();
    let c = owner
        .send("POST", &format!("/runs/{step}/cancel"), None)
        .await;
    assert_eq!(c.status, 202, "{}", c.text);
    drain_all(s, &mut rx).await;
    let done = sb.callback_completions();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].callback_id, "ap-2");
    let out = &done[0].output_fields;
    assert_eq!(out["hs_execution_state"], "FAIL_CONTINUE", "{out}");
    assert_eq!(out["steward_status"], "failed");
    assert_eq!(out["steward_run_id"], rr_id.as_str());
    assert!(
        out["steward_error"].as_str().unwrap().contains("cancelled"),
        "{out}"
    );

    let r = owner.send("DELETE", &format!("/templates/{t}"), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = workflow_action(&anyone, &base, &id, "ap-3", 2).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("which was deleted"), "{}", r.text);
}
