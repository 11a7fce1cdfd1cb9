//! What leaves the account is its owner's and admins' call (the account policy): report
//! recipients limited to listed domains, at input and again when a report is sent; a
//! least interval between a schedule's fires; every report's recipients on its run; and
//! internationalized addresses sent in punycode, never raw.

use serde_json::{Value, json};

use super::browser::{Browser, Resp, app_router};
use super::runs::{drain_all, queue, run_json, start};
use super::*;
use steward_shared::schedules::{FireEvent, Fired};

fn phones(mode: &str, notify: Value) -> Value {
    json!({"module": "transform", "mode": mode, "notify": notify, "config": {"object": "contacts", "steps": [
        {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"}
    ]}})
}

fn phones_template() -> Value {
    json!({"module": "transform", "name": "Phones", "config": {"object": "contacts", "steps": [
        {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"}
    ]}})
}

async fn template(b: &Browser<'_>) -> String {
    let r = b.send("POST", "/templates", Some(&phones_template())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_str().unwrap().to_string()
}

/// The owner's connection becomes the integration user's (schedules fire); the account id.
async fn owner_is_the_integration_user(owner: &Browser<'_>) -> AccountId {
    let me = owner.me().await.json();
    let r = owner
        .send(
            "PUT",
            "/team/integration",
            Some(&json!({"user_id": me["user"]["id"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    me["account"]["id"].as_str().unwrap().parse().unwrap()
}

/// `PUT /account/policy` as `b`, over the version it reads first.
async fn set_policy(b: &Browser<'_>, domains: &[&str], minutes: u32) -> Resp {
    let current = b.get("/account/policy").await;
    assert_eq!(current.status, 200, "{}", current.text);
    let version = current.json()["version"].to_string();
    b.send_with(
        "PUT",
        "/account/policy",
        Some(&json!({"allowed_recipient_domains": domains, "min_schedule_interval_minutes": minutes})),
        &[("if-match", &format!("\"{version}\""))],
    )
    .await
}

/// The problem's field errors as (pointer, detail).
fn fields(r: &Resp) -> Vec<(String, String)> {
    r.json()["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no field errors: {}", r.text))
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The recipients of a raw message's `To` header, as written (unparsed).
fn raw_to(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap().to_string();
    let mut to = String::new();
    let mut in_to = false;
    for line in head.split("\r\n") {
        if line.to_ascii_lowercase().starts_with("to:") {
            in_to = true;
            to.push_str(&line[3..]);
        } else if in_to && line.starts_with([' ', '\t']) {
            to.push_str(line);
        } else {
            in_to = false;
        }
    }
    to.trim().to_string()
}

/// (subject, `To` as written) of every message in the world's outbox.
fn outbox(w: &TestWorld) -> Vec<(String, String)> {
    std::fs::read_dir(&w.embedded.outbox)
        .expect("outbox")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| {
            let raw = std::fs::read(e.path()).unwrap();
            let subject = mail_parser::MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.subject().map(str::to_string))
                .unwrap_or_default();
            (subject, raw_to(&raw))
        })
        .collect()
}

#[tokio::test]
async fn the_account_policy_is_read_by_members_and_changed_by_owners_and_admins_only() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let admin = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"role": "admin"}),
    )
    .await;
    let user = member(s, &router, &owner, "hubspot", DANIEL, json!({})).await;

    // Never set: reports may go anywhere, schedules fire at most every 15 minutes.
    let r = user.get("/account/policy").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = r.json();
    assert_eq!(p["allowed_recipient_domains"], json!([]), "{p}");
    assert_eq!(p["min_schedule_interval_minutes"], 15, "{p}");
    assert_eq!(r.headers[http::header::ETAG], "\"0\"");

    // A user may not change it.
    let r = set_policy(&user, &["acme.com"], 15).await;
    assert_eq!(r.status, 403, "{}", r.text);
    // An owner or admin may, with the version read.
    let r = owner
        .send(
            "PUT",
            "/account/policy",
            Some(&json!({"allowed_recipient_domains": ["acme.com"], "min_schedule_interval_minutes": 15})),
        )
        .await;
    assert_eq!(r.status, 400, "If-Match is required: {}", r.text);
    let r = set_policy(&admin, &["Acme.com", "bücher.example"], 30).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = r.json();
    assert_eq!(
        p["allowed_recipient_domains"],
        json!(["acme.com", "xn--bcher-kva.example"])
    );
    assert_eq!(p["min_schedule_interval_minutes"], 30);
    assert_eq!(p["updated_by"], PRIYA);
    assert_eq!(r.headers[http::header::ETAG], "\"1\"");
    // A write over a stale version is a 409, and changes nothing.
    let r = owner
        .send_with(
            "PUT",
            "/account/policy",
            Some(&json!({"allowed_recipient_domains": [], "min_schedule_interval_minutes": 15})),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    // Wrong values are named at their pointers.
    let r = set_policy(&owner, &["ok.io", "ops@acme.com", "nodot"], 30).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let pointers: Vec<String> = fields(&r).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        pointers,
        [
            "/allowed_recipient_domains/1",
            "/allowed_recipient_domains/2"
        ],
        "{}",
        r.text
    );
    let r = set_policy(&owner, &[], 0).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        fields(&r)[0].0,
        "/min_schedule_interval_minutes",
        "{}",
        r.text
    );
    let p = user.get("/account/policy").await.json();
    assert_eq!(p["min_schedule_interval_minutes"], 30, "unchanged: {p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_recipients_outside_the_allowed_domains_are_refused_at_their_pointer() {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    // A preview made while reports could go anywhere, to apply as reviewed below.
    let preview = start(&owner, phones("preview", Value::Null)).await;
    drain_all(s, &mut rx).await;

    let r = set_policy(&owner, &["example.com"], 15).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let notify = json!({"recipients": ["ops@example.com", "ops@eu.example.com", "me@gmail.com"]});
    let refused = |r: &Resp, what: &str| {
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        let f = fields(r);
        assert_eq!(f.len(), 1, "{what}: {}", r.text);
        let (pointer, detail) = &f[0];
        assert_eq!(pointer, "/notify/recipients/2", "{what}: {}", r.text);
        assert!(
            detail.contains("me@gmail.com") && detail.contains("example.com"),
            "{what}: {detail}"
        );
    };
    let r = owner
        .send("POST", "/runs", Some(&phones("apply", notify.clone())))
        .await;
    refused(&r, "POST /runs");
    let tpl = template(&owner).await;
    let body = json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 day)", "notify": notify});
    let r = owner.send("POST", "/schedules", Some(&body)).await;
    refused(&r, "POST /schedules");
    let ok = json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 day)"});
    let r = owner.send("POST", "/schedules", Some(&ok)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = owner
        .send("PUT", &format!("/schedules/{id}"), Some(&body))
        .await;
    refused(&r, "PUT /schedules/{id}");
    let r = owner
        .send(
            "POST",
            &format!("/runs/{preview}/apply"),
            Some(&json!({"notify": notify})),
        )
        .await;
    refused(&r, "POST /runs/{id}/apply");

    // Nothing was started, and the preview can still be applied.
    let runs = owner.get("/runs").await.json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(run_json(&owner, &preview).await["applied_by"], Value::Null);
    // Within the listed domains (a subdomain counts), it starts.
    let ok = json!({"recipients": ["ops@example.com", "ops@eu.example.com"]});
    start(&owner, phones("preview", ok)).await;
}

#[tokio::test]
async fn a_report_is_not_sent_to_a_recipient_the_policy_no_longer_allows_and_the_run_says_so() {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let account = owner_is_the_integration_user(&owner).await;
    let tpl = template(&owner).await;
    // Saved while reports could go anywhere.
    let schedule = |subject: &str, recipients: &[&str]| {
        json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 day)",
            "notify": {"recipients": recipients, "subject": subject}})
    };
    let both = owner
        .send(
            "POST",
            "/schedules",
            Some(&schedule(
                "Tightened",
                &["ops@example.com", "vendor@partner.example"],
            )),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let outside = owner
        .send(
            "POST",
            "/schedules",
            Some(&schedule("Nobody left", &["vendor@partner.example"])),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Then the admins keep reports inside example.com.
    let r = set_policy(&owner, &["example.com"], 15).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let fire = |id: &str| FireEvent {
        account_id: account.clone(),
        schedule_id: id.to_string(),
        scheduled_time: Some("2026-11-23T10:00:00Z".into()),
    };
    let Fired::Run(run_id) = steward_shared::schedules::fire(s, &fire(&both))
        .await
        .unwrap()
    else {
        panic!("the fire made no run")
    };
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &run_id.to_string()).await;
    let d = &run["delivery"];
    assert_eq!(d["status"], "sent", "{run}");
    assert_eq!(d["recipients"], json!(["ops@example.com"]), "{run}");
    assert_eq!(
        d["refused"][0]["address"], "vendor@partner.example",
        "{run}"
    );
    assert!(
        d["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("example.com"),
        "{run}"
    );

    // With no recipient left, nothing is sent, and the run says why.
    let Fired::Run(run_id) = steward_shared::schedules::fire(s, &fire(&outside))
        .await
        .unwrap()
    else {
        panic!("the fire made no run")
    };
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &run_id.to_string()).await;
    let d = &run["delivery"];
    assert_eq!(d["status"], "failed", "{run}");
    assert_eq!(d["recipients"], json!([]), "{run}");
    assert!(d["reason"].as_str().unwrap().contains("policy"), "{run}");
    assert_eq!(
        d["refused"][0]["address"], "vendor@partner.example",
        "{run}"
    );

    let sent = outbox(&w);
    let to: Vec<&String> = sent
        .iter()
        .filter(|(subject, _)| subject == "Tightened")
        .map(|(_, to)| to)
        .collect();
    assert_eq!(to, ["<ops@example.com>"], "{sent:?}");
    assert!(
        !sent.iter().any(|(subject, _)| subject == "Nobody left"),
        "a report with no allowed recipient was sent: {sent:?}"
    );
}

#[tokio::test]
async fn a_schedule_firing_more_often_than_every_15_minutes_is_refused_until_an_admin_lowers_it() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let admin = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"role": "admin"}),
    )
    .await;
    let account = owner_is_the_integration_user(&owner).await;
    let tpl = template(&owner).await;
    let body =
        |expression: &str| json!({"template_id": tpl, "mode": "preview", "expression": expression});
    let every5 = "cron(0/5 * * * ? *)";

    // A cron every 5 minutes is refused like a rate, at the expression, saying both intervals.
    for e in [every5, "cron(0,10 9 ? * MON-FRI *)", "rate(5 minutes)"] {
        let r = owner.send("POST", "/schedules", Some(&body(e))).await;
        assert_eq!(r.status, 400, "{e}: {}", r.text);
        let f = fields(&r);
        assert_eq!(f[0].0, "/expression", "{e}: {}", r.text);
        assert!(f[0].1.contains("every 15 minutes"), "{e}: {}", r.text);
    }
    let r = owner.send("POST", "/schedules", Some(&body(every5))).await;
    assert!(fields(&r)[0].1.contains("every 5 minutes"), "{}", r.text);
    // The frequency builder's preview says it before anything is saved.
    let r = owner
        .get(&format!(
            "/schedules/preview?expression={}",
            urlencoding::encode(every5)
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(fields(&r)[0].0, "expression", "{}", r.text);
    // Every 15 minutes is allowed; an update to faster is not.
    let r = owner
        .send("POST", "/schedules", Some(&body("rate(15 minutes)")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let quarter = r.json()["id"].as_str().unwrap().to_string();
    let r = owner
        .send(
            "PUT",
            &format!("/schedules/{quarter}"),
            Some(&body("rate(1 minute)")),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(fields(&r)[0].0, "/expression", "{}", r.text);

    // An admin lowers the minimum to EventBridge's floor: now it is taken.
    let r = set_policy(&admin, &[], 1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = owner.send("POST", "/schedules", Some(&body(every5))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let fast = r.json()["id"].as_str().unwrap().to_string();

    // Raised again: the saved schedule is skipped when it fires, saying why.
    let r = set_policy(&admin, &[], 60).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fired = steward_shared::schedules::fire(
        s,
        &FireEvent {
            account_id: account,
            schedule_id: fast.clone(),
            scheduled_time: Some("2026-11-23T10:05:00Z".into()),
        },
    )
    .await
    .unwrap();
    let Fired::Skipped(why) = fired else {
        panic!("{fired:?}")
    };
    assert!(
        why.contains("every 5 minutes") && why.contains("every hour"),
        "{why}"
    );
    let sched = owner.get(&format!("/schedules/{fast}")).await.json();
    assert_eq!(sched["last_fire"]["skipped"], why.as_str(), "{sched}");
    assert!(
        owner.get("/runs").await.json()["runs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_recipient_at_an_internationalized_domain_is_sent_in_punycode_and_a_non_ascii_local_part_is_refused()
 {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;

    let r = owner
        .send(
            "POST",
            "/runs",
            Some(&phones(
                "preview",
                json!({"recipients": ["ops@example.com", "jösé@example.com"]}),
            )),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let f = fields(&r);
    assert_eq!(f[0].0, "/notify/recipients/1", "{}", r.text);
    assert!(f[0].1.contains("plain ASCII before the @"), "{}", r.text);

    let notify = json!({"recipients": ["Ops@Bücher.example"], "subject": "Umlauts"});
    let id = start(&owner, phones("preview", notify)).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &id).await;
    assert_eq!(run["delivery"]["status"], "sent", "{run}");
    assert_eq!(
        run["delivery"]["recipients"],
        json!(["Ops@xn--bcher-kva.example"]),
        "{run}"
    );
    let sent = outbox(&w);
    let (_, to) = sent.iter().find(|(s, _)| s == "Umlauts").expect("sent");
    assert_eq!(to, "<Ops@xn--bcher-kva.example>");
}

#[tokio::test]
async fn every_report_sent_shows_on_its_run_with_recipients_time_and_attached_or_linked() {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let before = chrono::Utc::now();
    let notify =
        json!({"recipients": ["ops@example.com", "vendor@partner.example"], "subject": "Seen"});
    let id = start(&owner, phones("apply", notify)).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &id).await;
    let d = &run["delivery"];
    assert_eq!(d["status"], "sent", "{run}");
    assert_eq!(
        d["recipients"],
        json!(["ops@example.com", "vendor@partner.example"]),
        "{run}"
    );
    assert_eq!(d["refused"], json!([]), "{run}");
    assert_eq!(d["attached"], true, "{run}");
    let at: chrono::DateTime<chrono::Utc> = d["at"].as_str().unwrap().parse().unwrap();
    assert!(at >= before, "{run}");
    // The Activity Tracker's listing carries it too.
    let listed = owner.get(&format!("/runs?run_id={id}")).await.json();
    assert_eq!(listed["runs"][0]["delivery"], *d, "{listed}");
}
