//! The HTTP contract at the door: bodies that are not JSON, every wrong field named at
//! its own pointer, the answers the OpenAPI document promises (Location, Allow).

use serde_json::json;

use super::browser::{Browser, app_router};
use super::*;

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_and_nothing_is_stored() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let template = walk::bulk_template("Sent as a form").to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let r = owner
            .send_raw(
                "POST",
                "/templates",
                Some((content_type, template.clone())),
                &[],
            )
            .await;
        assert_eq!(r.status, 415, "{content_type}: {}", r.text);
        assert_eq!(r.headers["content-type"], "application/problem+json");
        assert!(r.text.contains("application/json"), "{}", r.text);
    }
    // JSON with a charset parameter, or a +json type, is JSON.
    let r = owner
        .send_raw(
            "POST",
            "/templates",
            Some(("application/json; charset=utf-8", template)),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let listed = owner.get("/templates").await.json();
    assert_eq!(listed["templates"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn every_wrong_field_of_a_body_is_named_at_its_own_pointer() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let r = owner
        .send(
            "POST",
            "/team/invitations",
            Some(&json!({"role": "boss", "permissions": {"merge": "all"}, "colour": "red"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let mut pointers: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_string())
        .collect();
    pointers.sort();
    assert_eq!(
        pointers,
        ["/colour", "/permissions/merge", "/role", "/user_id"],
        "{}",
        r.text
    );
    let missing = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pointer"] == "/user_id")
        .cloned()
        .unwrap();
    assert_eq!(missing["detail"], "is required");
    let team = owner.get("/team/members").await.json();
    assert_eq!(
        team["members"].as_array().unwrap().len(),
        1,
        "nobody invited"
    );

    // A body that is not JSON at all says so, at the root.
    let r = owner
        .send_raw(
            "POST",
            "/team/invitations",
            Some(("application/json", "{\"user_id\": ".into())),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["pointer"], "");
    assert!(r.text.contains("not valid JSON"), "{}", r.text);
}

#[tokio::test]
async fn a_config_with_several_mistakes_names_each() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let r = owner
        .send(
            "POST",
            "/templates",
            Some(&json!({
                "module": "bulk",
                "name": "",
                "config": {"object": "contacts", "actions": [{"clear": {"field": "phone"}}]},
                "colour": "red"
            })),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let body = r.json();
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/colour"), "{}", r.text);
    assert!(pointers.contains(&"/name"), "{}", r.text);
    assert_eq!(owner.get("/templates").await.json()["templates"], json!([]));
}

#[tokio::test]
async fn created_things_say_where_they_are() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let r = owner
        .send("POST", "/templates", Some(&walk::bulk_template("Located")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], format!("/templates/{id}"));
    assert_eq!(r.headers["etag"], "\"1\"");
    let r = owner.get(r.headers["location"].to_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = owner
        .send(
            "POST",
            "/runs",
            Some(&json!({"template_id": id, "mode": "preview"})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let run_id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], format!("/runs/{run_id}"));
}

#[tokio::test]
async fn a_health_route_is_never_taken_for_an_id() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    for function in ["templates", "runs"] {
        let r = owner.get(&format!("/{function}/health")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["function"], function);
        for method in ["PUT", "DELETE", "POST"] {
            let r = owner
                .send(method, &format!("/{function}/health"), None)
                .await;
            assert_eq!(r.status, 405, "{method} /{function}/health: {}", r.text);
            assert_eq!(r.headers["allow"], "GET", "{method} /{function}/health");
        }
    }
    // An unknown method on a path with several lists each allowed method once.
    let r = owner
        .send("PATCH", "/templates/01J00000000000000000000000", None)
        .await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.headers["allow"], "GET, PUT, DELETE");
}

#[tokio::test]
async fn a_cursor_of_one_listing_is_refused_by_another() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    for name in ["A", "B"] {
        let r = owner
            .send("POST", "/templates", Some(&walk::bulk_template(name)))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let page = owner.get("/templates?limit=1").await.json();
    let cursor = page["cursor"].as_str().expect("a next page").to_string();
    for listing in ["/runs", "/schedules"] {
        let r = owner.get(&format!("{listing}?cursor={cursor}")).await;
        assert_eq!(r.status, 400, "{listing}: {}", r.text);
        assert_eq!(r.json()["errors"][0]["pointer"], "cursor", "{}", r.text);
    }
    let r = owner.get(&format!("/templates?cursor={cursor}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["templates"].as_array().unwrap().len(), 1);
}
