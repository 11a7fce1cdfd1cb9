//! Templates over HTTP: CRUD, share links, permissions, validation (against the CRM's
//! schema too) and optimistic concurrency; the CRM schema routes.

use serde_json::{Value, json};
use std::sync::Arc;

use super::browser::{Browser, app_router};
use super::walk::bulk_template;
use super::*;
use steward_sandbox::Sandbox;

async fn put(b: &Browser<'_>, id: &str, version: &str, body: &Value) -> browser::Resp {
    b.send_with(
        "PUT",
        &format!("/templates/{id}"),
        Some(body),
        &[("if-match", version)],
    )
    .await
}

async fn count_templates(b: &Browser<'_>) -> usize {
    b.get("/templates").await.json()["templates"]
        .as_array()
        .map_or(0, Vec::len)
}

/// The router enforces what the catalogue declares for module routes: a member without
/// the access on any module is refused at the door, before the handler reads anything
/// (so not even a 404 or a 400 tells them what exists or what a body should be).
#[tokio::test]
async fn module_routes_refuse_members_without_that_access_on_any_module() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let nothing = member(
        s,
        &router,
        &owner,
        "hubspot",
        HANNAH,
        json!({"permissions": {}}),
    )
    .await;
    let reader = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"permissions": {"bulk": "read"}}),
    )
    .await;
    let unknown = "01JBZ0000000000000000000AA";
    let mine = nothing.get(&format!("/runs/{unknown}")).await;
    assert_eq!(mine.status, 403, "{}", mine.text);
    assert!(mine.text.contains("access to a module"), "{}", mine.text);
    // A reader of some module goes on to the handler: the run is not there.
    assert_eq!(reader.get(&format!("/runs/{unknown}")).await.status, 404);
    let r = nothing
        .send("POST", "/grid/records", Some(&json!({})))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Write routes need write somewhere: a reader's malformed template is refused, not
    // checked.
    let r = reader
        .send("POST", "/templates", Some(&json!({"module": 7})))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = owner
        .send("POST", "/templates", Some(&json!({"module": 7})))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Member routes stay open: the template list is there, empty.
    let r = nothing.get("/templates").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn templates_crud_share_links_and_versions() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let reader = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"permissions": {"bulk": "read"}}),
    )
    .await;

    let r = owner
        .send("POST", "/templates", Some(&bulk_template("Lifecycle fix")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers["etag"], "\"1\"");
    let t = r.json();
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(
        t["share_url"],
        format!("{}/modules/bulk?template={id}", s.web_base_url)
    );
    assert_eq!(t["version"], 1);

    // A member with read on the module opens it by id; cannot change it.
    let r = reader.get(&format!("/templates/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["name"], "Lifecycle fix");
    assert_eq!(
        put(&reader, &id, "\"1\"", &bulk_template("mine"))
            .await
            .status,
        403
    );
    assert_eq!(
        reader
            .send("POST", &format!("/templates/{id}/copy"), None)
            .await
            .status,
        403
    );
    // Filtered by module; a module they cannot read is a 403; an unknown one a 400.
    let r = reader.get("/templates?module=bulk").await;
    assert_eq!(
        r.json()["templates"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    assert_eq!(reader.get("/templates?module=merge").await.status, 403);
    assert_eq!(reader.get("/templates?module=nope").await.status, 400);

    // Update with the version read; a stale one is a 409; none is a 400.
    let r = put(&owner, &id, "\"1\"", &bulk_template("Lifecycle fix v2")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["version"], 2);
    let r = put(&owner, &id, "\"1\"", &bulk_template("stale")).await;
    assert_eq!(r.status, 409, "{}", r.text);
    let r = owner
        .send(
            "PUT",
            &format!("/templates/{id}"),
            Some(&bulk_template("x")),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("If-Match"), "{}", r.text);
    // The module cannot change.
    let mut other_module = bulk_template("x");
    other_module["module"] = json!("transform");
    let r = put(&owner, &id, "\"2\"", &other_module).await;
    assert_eq!(r.status, 400, "{}", r.text);

    // Copy, then delete.
    let r = owner
        .send("POST", &format!("/templates/{id}/copy"), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["name"], "Lifecycle fix v2 (copy)");
    let copy_id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(count_templates(&owner).await, 2);
    let r = owner
        .send("DELETE", &format!("/templates/{copy_id}"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        owner.get(&format!("/templates/{copy_id}")).await.status,
        404
    );
    assert_eq!(count_templates(&owner).await, 1);

    // Another account's template is a 404, and not listed.
    let other = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    assert_eq!(other.get(&format!("/templates/{id}")).await.status, 404);
    assert_eq!(count_templates(&other).await, 0);
}

#[tokio::test]
async fn bad_templates_are_400s_naming_the_field_and_nothing_is_stored() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"module": "dedupe", "name": "x", "config": {}}),
            "/module",
        ),
        (
            json!({"module": "bulk", "name": "", "config": {"object": "contacts", "actions": [{"clear": {"field": "phone"}}]}}),
            "/name",
        ),
        (
            json!({"module": "bulk", "name": "x", "config": {"object": "contacts", "actions": "set everything"}}),
            "/config/actions",
        ),
        (
            json!({"module": "transform", "name": "x", "config": {"object": "contacts", "steps": [{"field": "phone", "fn": "replace", "pattern": "([a-z", "with": ""}]}}),
            "/config/steps/0/pattern",
        ),
        (
            json!({"module": "transform", "name": "x", "config": {"object": "contacts", "steps": [{"field": "phone", "fn": "make_pretty"}]}}),
            "/config/steps/0",
        ),
        (
            json!({"module": "bulk", "name": "x", "config": {"object": "contacts", "actions": []}, "colour": "red"}),
            "/colour",
        ),
    ];
    for (body, pointer) in cases {
        let r = owner.send("POST", "/templates", Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(
            r.headers["content-type"], "application/problem+json",
            "{}",
            r.text
        );
        let errors = r.json()["errors"].clone();
        assert!(
            errors
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["pointer"].as_str().unwrap_or("").starts_with(pointer)),
            "{body}: wanted a problem at {pointer}, got {}",
            r.text
        );
    }
    assert_eq!(count_templates(&owner).await, 0, "nothing is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_with_one_version_one_wins() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let r = owner
        .send("POST", "/templates", Some(&bulk_template("Race")))
        .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    for round in 1..=5u64 {
        let v = format!("\"{round}\"");
        let (a, b) = (bulk_template("from tab A"), bulk_template("from tab B"));
        let (ra, rb) = tokio::join!(put(&owner, &id, &v, &a), put(&owner, &id, &v, &b));
        let mut statuses = [ra.status, rb.status];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{} / {}", ra.text, rb.text);
    }
    let t = owner.get(&format!("/templates/{id}")).await.json();
    assert_eq!(t["version"], 6);
}

// ---- checked against the CRM's schema ---------------------------------------------------

/// The problems of a 400 as `pointer: detail` lines.
fn problems(r: &browser::Resp) -> Vec<String> {
    r.json()["errors"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["pointer"].as_str().unwrap(),
                        e["detail"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn unknown_fields_are_refused_with_suggestions(
    crm: &str,
    object: &str,
    typo: &str,
    meant: &str,
    filter_typo: &str,
    filter_meant: &str,
) {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, crm, OWNER).await;
    let body = json!({"module": "bulk", "name": "Typos", "config": {
        "object": object,
        "filter": {"field": filter_typo, "op": "not_empty"},
        "actions": [{"set": {"field": typo, "value": "x"}}]
    }});
    let r = owner.send("POST", "/templates", Some(&body)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(
        problems(&r),
        vec![
            format!(
                "/config/filter/field: {object} has no field `{filter_typo}`; did you mean `{filter_meant}`?"
            ),
            format!(
                "/config/actions/0/set/field: {object} has no field `{typo}`; did you mean `{meant}`?"
            ),
        ],
        "every problem, each at its pointer"
    );
    assert_eq!(count_templates(&owner).await, 0, "nothing is stored");

    // The same config as an ad-hoc run is refused too: no run.
    let r = owner
        .send(
            "POST",
            "/runs",
            Some(&json!({"module": "bulk", "config": body["config"], "mode": "preview"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains(&format!("did you mean `{meant}`")),
        "{}",
        r.text
    );
    assert!(
        owner.get("/runs").await.json()["runs"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no run was created"
    );
}

#[tokio::test]
async fn a_template_naming_an_unknown_field_is_a_400_with_a_suggestion_on_hubspot() {
    unknown_fields_are_refused_with_suggestions(
        "hubspot", "contacts", "jobtitl", "jobtitle", "Email", "email",
    )
    .await;
}

#[tokio::test]
async fn a_template_naming_an_unknown_field_is_a_400_with_a_suggestion_on_salesforce() {
    unknown_fields_are_refused_with_suggestions(
        "salesforce",
        "Contact",
        "LeadSorce",
        "LeadSource",
        "email",
        "Email",
    )
    .await;
}

#[tokio::test]
async fn an_object_the_crm_lacks_is_a_400_suggesting_the_closest() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let mut body = bulk_template("Salesforce habits");
    body["config"]["object"] = json!("Contact");
    let r = owner.send("POST", "/templates", Some(&body)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        problems(&r),
        vec!["/config/object: the CRM has no object `Contact`; did you mean `contacts`?"]
    );
    assert_eq!(count_templates(&owner).await, 0, "nothing is stored");

    // A saved template cannot be changed into one, nor copied into a bad one.
    let r = owner
        .send("POST", "/templates", Some(&bulk_template("Good")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = put(&owner, &id, "\"1\"", &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let t = owner.get(&format!("/templates/{id}")).await.json();
    assert_eq!(
        t["config"]["object"], "contacts",
        "the stored template is unchanged"
    );
    assert_eq!(t["version"], 1);
}

#[tokio::test]
async fn the_crm_schema_routes_list_objects_and_fields_and_cache_them() {
    let sb = sandbox().await;
    let clock = Arc::new(steward_shared::clock::ManualClock::new(chrono::Utc::now()));
    let w = world_at(&sb, clock.clone());
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;

    let r = owner.get("/crm/objects").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"objects": [
            {"name": "contacts", "label": "Contacts"},
            {"name": "companies", "label": "Companies"},
            {"name": "deals", "label": "Deals"}
        ]})
    );

    let described = |sb: &Sandbox| -> u64 {
        sb.stats()
            .by_route
            .iter()
            .filter(|(k, _)| k.contains("/crm/v3/properties/deals"))
            .map(|(_, n)| *n)
            .sum()
    };
    let r = owner.get("/crm/objects/deals/fields").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["object"], "deals");
    let fields = body["fields"].as_array().unwrap();
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))
            .clone()
    };
    let stage = field("dealstage");
    assert_eq!(stage["type"], "enumeration", "{stage}");
    assert_eq!(stage["writable"], true, "{stage}");
    assert!(
        stage["options"]
            .as_array()
            .unwrap()
            .contains(&json!("closedwon")),
        "{stage}"
    );
    assert_eq!(field("amount")["type"], "number");
    assert_eq!(field("hs_object_id")["writable"], false);
    assert!(field("dealname")["label"].is_string());
    assert_eq!(described(&sb), 1);

    // Within the TTL the cache answers: no CRM call.
    let again = owner.get("/crm/objects/deals/fields").await;
    assert_eq!(again.json(), body);
    assert_eq!(
        described(&sb),
        1,
        "a second call within the TTL calls no CRM"
    );
    // After it, the CRM is described again.
    clock.advance(chrono::Duration::minutes(6));
    assert_eq!(owner.get("/crm/objects/deals/fields").await.status, 200);
    assert_eq!(described(&sb), 2);

    // An object the CRM does not have is a 404 naming those it has.
    let r = owner.get("/crm/objects/tickets/fields").await;
    assert_eq!(r.status, 404, "{}", r.text);
    let detail = r.json()["detail"].as_str().unwrap().to_string();
    for o in ["contacts", "companies", "deals"] {
        assert!(detail.contains(o), "{detail}");
    }

    // Salesforce's objects, by their own names.
    let sf = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    let r = sf.get("/crm/objects").await;
    let names: Vec<String> = r.json()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Account", "Contact", "Lead", "Opportunity"]);
    let r = sf.get("/crm/objects/Contact/fields").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("\"LeadSource\""), "{}", r.text);
}
