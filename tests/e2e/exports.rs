//! Run reports by email (SES through moto, and the embedded outbox) and schedules (the
//! EventBridge Scheduler through moto, and the in-process scheduler under a controllable
//! clock), over HTTP against the sandbox CRM.

use async_trait::async_trait;
use mail_parser::MimeHeaders;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::browser::{Browser, app_router, functions};
use super::runs::{csv_rows, drain_all, queue, run_json, start, written_twice};
use super::*;
use steward_shared::clock::Clock;
use steward_shared::modules::csv::read_audit;
use steward_shared::ports::Scheduler;
use steward_shared::ports::mail::{Email, Mailer};
use steward_shared::ports::scheduler::ScheduleSpec;
use steward_shared::ports::scheduler::local::FireTarget;
use steward_shared::stream::StreamEvent;
use steward_tests::World;

fn transform_run(mode: &str, notify: Value) -> Value {
    json!({"module": "transform", "mode": mode, "notify": notify, "config": {"object": "contacts", "steps": [
        {"field": "lastname", "fn": "title_case"},
        {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"}
    ]}})
}

fn run_item_event(account: &str, run_id: &str) -> StreamEvent {
    serde_json::from_value(json!({"Records": [{"eventName": "MODIFY", "dynamodb": {
        "Keys": {"pk": {"S": format!("ACCT#{account}")}, "sk": {"S": format!("RUN#{run_id}")}},
        "SequenceNumber": "7"}}]}))
    .unwrap()
}

/// Parses a report: recipients, subject, the attachment's name and CSV rows.
fn check_report(raw: &[u8], run: &Value, recipients: &[&str]) {
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    let to: Vec<String> = msg
        .to()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap().to_string())
        .collect();
    assert_eq!(to, recipients);
    let id = run["id"].as_str().unwrap();
    let text = msg.body_text(0).unwrap().to_string();
    assert!(text.starts_with("Numbers are now E.164."), "{text}");
    assert!(text.contains(&format!("Run ID: {id}")), "{text}");
    assert!(text.contains(&format!("/activity?run={id}")), "{text}");
    assert!(
        text.contains(&format!(
            "{} applied",
            run["counts"]["applied"].as_u64().unwrap()
        )),
        "{text}"
    );
    let att = msg.attachments().next().expect("the CSV is attached");
    let name = att.attachment_name().unwrap();
    assert!(name.contains(id) && name.ends_with(".csv"), "{name}");
    let rows: Vec<_> = read_audit(att.contents())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len() as u64, run["csv"]["rows"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r.outcome.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_in_the_outbox_parses() {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let notify = json!({"recipients": ["ops@example.com", "vendor@partner.example"],
        "subject": "Phones fixed", "message": "Numbers are now E.164."});
    let id = start(&owner, transform_run("apply", notify)).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &id).await;
    assert_eq!(run["delivery"]["status"], "sent", "{run}");
    assert_eq!(run["delivery"]["attached"], true, "{run}");
    let raw = steward_tests::LocalWorld(w).sent_mail("Phones fixed").await;
    check_report(&raw, &run, &["ops@example.com", "vendor@partner.example"]);
}

#[tokio::test]
async fn a_report_through_ses_parses_and_is_sent_once() {
    let sb = sandbox().await;
    let w = steward_tests::AwsWorld::with_crm(apps(&sb)).await;
    let router = app_router();
    let s = &w.services;
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let account = owner.account_id().await;
    let subject = format!("Phones fixed {}", ulid::Ulid::new());
    let notify = json!({"recipients": ["ops@example.com"], "subject": subject,
        "message": "Numbers are now E.164."});
    let id = start(&owner, transform_run("apply", notify)).await;
    // The runs worker, as the stream drives it.
    let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
    steward_runs::handle_stream(s, run_item_event(&account, &id), deadline).await;
    let run = run_json(&owner, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["delivery"]["status"], "pending", "{run}");
    // The exports function, as the stream hands it the ended run; twice (redelivery).
    for _ in 0..2 {
        let out = steward_exports::send_reports(s, run_item_event(&account, &id)).await;
        assert!(out.failures.is_empty(), "{out:?}");
    }
    let run = run_json(&owner, &id).await;
    assert_eq!(run["delivery"]["status"], "sent", "{run}");
    assert_eq!(run["delivery"]["attempts"], 1, "{run}");
    let raw = w.sent_mail(&subject).await;
    check_report(&raw, &run, &["ops@example.com"]);
}

#[tokio::test]
async fn notify_with_header_injection_or_too_many_recipients_is_a_400() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let many: Vec<String> = (0..51).map(|i| format!("p{i}@example.com")).collect();
    for (notify, pointer) in [
        (
            json!({"recipients": ["a@example.com"], "subject": "Report\r\nBcc: victim@example.com"}),
            "/notify/subject",
        ),
        (
            json!({"recipients": ["a@example.com\r\nBcc: victim@example.com"]}),
            "/notify/recipients/0",
        ),
        (
            json!({"recipients": ["not an address"]}),
            "/notify/recipients/0",
        ),
        (json!({"recipients": many}), "/notify/recipients"),
        (json!({"recipients": []}), "/notify/recipients"),
    ] {
        let r = owner
            .send(
                "POST",
                "/runs",
                Some(&transform_run("preview", notify.clone())),
            )
            .await;
        assert_eq!(r.status, 400, "{notify}: {}", r.text);
        assert!(r.text.contains(pointer), "{pointer}: {}", r.text);
        let t = owner
            .send("POST", "/templates", Some(&super::walk::bulk_template("T")))
            .await
            .json();
        let r = owner
            .send(
                "POST",
                "/schedules",
                Some(&json!({"template_id": t["id"], "mode": "preview",
                    "expression": "rate(1 day)", "notify": notify})),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.text.contains(pointer), "{pointer}: {}", r.text);
    }
    let (_, runs) = (0, owner.get("/runs").await.json());
    assert!(
        runs["runs"].as_array().unwrap().is_empty(),
        "nothing was started"
    );
}

/// A mailer that is throttled `throttled` times, then sends through `inner`.
struct Throttled {
    inner: Arc<dyn Mailer>,
    throttled: AtomicU32,
    fail_with: Option<fn() -> steward_shared::Error>,
}

#[async_trait]
impl Mailer for Throttled {
    fn kind(&self) -> &'static str {
        "throttled"
    }
    async fn send(&self, email: &Email) -> steward_shared::Result<String> {
        if let Some(f) = self.fail_with {
            return Err(f());
        }
        if self.throttled.load(Ordering::SeqCst) > 0 {
            self.throttled.fetch_sub(1, Ordering::SeqCst);
            return Err(steward_shared::Error::Unavailable(
                "Throttling: rate exceeded".into(),
            ));
        }
        self.inner.send(email).await
    }
}

#[tokio::test]
async fn throttled_mail_is_retried_and_a_failure_is_kept_on_the_run() {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let owner_services = w.services().clone();
    let owner = Browser::signed_in(&owner_services, &router, "hubspot", OWNER).await;
    for (throttled, fail_with, status) in [
        (2, None, "sent"),
        (
            0,
            Some(
                (|| steward_shared::Error::invalid("/to/0", "refused by the mail service"))
                    as fn() -> steward_shared::Error,
            ),
            "failed",
        ),
    ] {
        let mut s = owner_services.clone();
        s.mailer = Arc::new(Throttled {
            inner: owner_services.mailer.clone(),
            throttled: AtomicU32::new(throttled),
            fail_with,
        });
        let notify = json!({"recipients": ["ops@example.com"]});
        let id = start(&owner, transform_run("preview", notify)).await;
        drain_all(&s, &mut rx).await;
        let run = run_json(&owner, &id).await;
        assert_eq!(run["delivery"]["status"], status, "{run}");
        if status == "sent" {
            assert_eq!(run["delivery"]["attempts"], 3, "{run}");
        } else {
            assert!(
                run["delivery"]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("refused"),
                "{run}"
            );
        }
    }
}

#[tokio::test]
async fn a_csv_too_large_to_attach_is_linked() {
    let sb = sandbox().await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let id = start(&owner, transform_run("preview", Value::Null)).await;
    drain_all(s, &mut rx).await;
    let account: AccountId = run_json(&owner, &id).await["account_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut run = steward_shared::runs::load(s, &account, id.parse().unwrap())
        .await
        .unwrap();
    let notify = steward_shared::runs::Notify {
        recipients: vec!["ops@example.com".into()],
        subject: None,
        message: None,
    };
    let (email, attached) = steward_shared::reports::message(s, &run, &notify)
        .await
        .unwrap();
    assert!(attached && email.attachments.len() == 1);
    // As SES would see a 9 MB CSV: base64 would push the message past 10 MB.
    run.csv.as_mut().unwrap().bytes = 9_000_000;
    let (email, attached) = steward_shared::reports::message(s, &run, &notify)
        .await
        .unwrap();
    assert!(!attached && email.attachments.is_empty());
    assert!(email.text.contains("too large to attach"), "{}", email.text);
    assert!(email.text.contains("expires="), "{}", email.text);
    assert!(email.subject.contains(&id), "{}", email.subject);
}

// ---- schedules ----------------------------------------------------------------------

pub(crate) async fn template(b: &Browser<'_>, module_body: Value) -> String {
    let r = b.send("POST", "/templates", Some(&module_body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()["id"].as_str().unwrap().to_string()
}

fn transform_template() -> Value {
    json!({"module": "transform", "name": "Phones", "config": {"object": "contacts", "steps": [
        {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"}
    ]}})
}

/// Fails the Scheduler calls named in `fail` (as a network fault between the two writes).
struct Faulty {
    inner: Arc<dyn Scheduler>,
    fail: &'static [&'static str],
}

#[async_trait]
impl Scheduler for Faulty {
    fn kind(&self) -> &'static str {
        "faulty"
    }
    async fn create(&self, spec: &ScheduleSpec) -> steward_shared::Result<()> {
        if self.fail.contains(&"create") {
            return Err(steward_shared::Error::Unavailable("injected fault".into()));
        }
        self.inner.create(spec).await
    }
    async fn update(&self, spec: &ScheduleSpec) -> steward_shared::Result<()> {
        if self.fail.contains(&"update") {
            return Err(steward_shared::Error::Unavailable("injected fault".into()));
        }
        self.inner.update(spec).await
    }
    async fn delete(&self, name: &str) -> steward_shared::Result<()> {
        if self.fail.contains(&"delete") {
            return Err(steward_shared::Error::Unavailable("injected fault".into()));
        }
        self.inner.delete(name).await
    }
    async fn get(&self, name: &str) -> steward_shared::Result<Option<ScheduleSpec>> {
        self.inner.get(name).await
    }
}

#[tokio::test]
async fn schedules_on_eventbridge_scheduler_stay_in_step() {
    let sb = sandbox().await;
    let w = steward_tests::AwsWorld::with_crm(apps(&sb)).await;
    let router = app_router();
    let s = &w.services;
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let account = owner.account_id().await;
    let tpl = template(&owner, transform_template()).await;

    // A bad expression or zone is a 400 naming it; nothing is made.
    for (body, pointer) in [
        (
            json!({"template_id": tpl, "mode": "apply", "expression": "cron(0 9 * * MON-FRI *)"}),
            "/expression",
        ),
        (
            json!({"template_id": tpl, "mode": "apply", "expression": "rate(1 days)"}),
            "/expression",
        ),
        (
            json!({"template_id": tpl, "mode": "apply", "expression": "rate(1 day)", "timezone": "Mars/Olympus"}),
            "/timezone",
        ),
    ] {
        let r = owner.send("POST", "/schedules", Some(&body)).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.text.contains(pointer), "{}", r.text);
    }
    let r = owner
        .send(
            "POST",
            "/schedules",
            Some(&json!({"template_id": tpl, "mode": "apply",
                "expression": "cron(0 9 ? * MON-FRI *)", "timezone": "America/New_York",
                "notify": {"recipients": ["ops@example.com"]}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.json();
    let id = created["id"].as_str().unwrap().to_string();
    let next: Vec<&str> = created["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(next.len(), 5, "{created}");
    // 09:00 in New York is 13:00 or 14:00 UTC.
    assert!(
        next.iter()
            .all(|t| t.contains("T13:00:00") || t.contains("T14:00:00")),
        "{next:?}"
    );

    let name = steward_shared::schedules::scheduler_name(&id);
    let fetch = || {
        w.clients
            .scheduler
            .get_schedule()
            .group_name(&w.settings.schedule_group)
            .name(&name)
            .send()
    };
    let got = fetch().await.expect("the Scheduler has the schedule");
    assert_eq!(got.schedule_expression(), Some("cron(0 9 ? * MON-FRI *)"));
    assert_eq!(got.schedule_expression_timezone(), Some("America/New_York"));
    let target = got.target().unwrap();
    assert_eq!(target.arn(), w.settings.schedule_target_arn);
    assert_eq!(target.role_arn(), w.settings.scheduler_role_arn);
    // A fire Scheduler cannot deliver goes to the dead-letter queue within the hour
    // (Scheduler's own default would keep retrying for a day, 185 times).
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(w.settings.schedule_dead_letter_arn.as_str())
    );
    let retry = target.retry_policy().expect("a retry policy");
    assert_eq!(
        (
            retry.maximum_event_age_in_seconds(),
            retry.maximum_retry_attempts()
        ),
        (Some(3600), Some(10))
    );
    let input: Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(
        input,
        json!({"account_id": account, "schedule_id": id, "scheduled_time": "<aws.scheduler.scheduled-time>"})
    );

    // Update and pause reach the Scheduler.
    let r = owner
        .send(
            "PUT",
            &format!("/schedules/{id}"),
            Some(&json!({"template_id": tpl, "mode": "preview", "expression": "rate(6 hours)", "timezone": "UTC"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let spec = s.scheduler.get(&name).await.unwrap().unwrap();
    assert_eq!(
        (spec.expression.as_str(), spec.timezone.as_str()),
        ("rate(6 hours)", "UTC")
    );
    let updated = fetch().await.unwrap();
    assert_eq!(
        updated
            .target()
            .and_then(|t| t.dead_letter_config())
            .and_then(|d| d.arn()),
        Some(w.settings.schedule_dead_letter_arn.as_str()),
        "an update keeps the dead-letter queue"
    );
    let r = owner
        .send("POST", &format!("/schedules/{id}/pause"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["next"].as_array().unwrap().is_empty());
    assert!(!s.scheduler.get(&name).await.unwrap().unwrap().enabled);
    let r = owner
        .send("POST", &format!("/schedules/{id}/resume"), None)
        .await;
    assert!(
        s.scheduler.get(&name).await.unwrap().unwrap().enabled,
        "{}",
        r.text
    );

    // A fault at the Scheduler after Steward's item was written: the item is put back.
    let mut faulty = s.clone();
    faulty.scheduler = Arc::new(Faulty {
        inner: s.scheduler.clone(),
        fail: &["create", "update"],
    });
    let broken = Browser::signed_in(&faulty, &router, "hubspot", OWNER).await;
    let r = broken
        .send(
            "PUT",
            &format!("/schedules/{id}"),
            Some(&json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 day)"})),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    let now = owner.get(&format!("/schedules/{id}")).await.json();
    assert_eq!(
        now["expression"], "rate(6 hours)",
        "the item is as it was: {now}"
    );
    assert_eq!(
        s.scheduler.get(&name).await.unwrap().unwrap().expression,
        "rate(6 hours)"
    );
    let r = broken
        .send(
            "POST",
            "/schedules",
            Some(&json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 day)"})),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    let listed = owner.get("/schedules").await.json();
    assert_eq!(
        listed["schedules"].as_array().unwrap().len(),
        1,
        "no orphan item: {listed}"
    );

    // A fault deleting at the Scheduler leaves both; a delete then removes both.
    faulty.scheduler = Arc::new(Faulty {
        inner: s.scheduler.clone(),
        fail: &["delete"],
    });
    let broken = Browser::signed_in(&faulty, &router, "hubspot", OWNER).await;
    let r = broken
        .send("DELETE", &format!("/schedules/{id}"), None)
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(owner.get(&format!("/schedules/{id}")).await.status, 200);
    assert!(s.scheduler.get(&name).await.unwrap().is_some());
    let r = owner
        .send("DELETE", &format!("/schedules/{id}"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(owner.get(&format!("/schedules/{id}")).await.status, 404);
    assert!(s.scheduler.get(&name).await.unwrap().is_none());
}

/// The console's frequency builder: an expression's next fire times before saving; wrong
/// input named by its query parameter; never read as the schedule called "preview".
#[tokio::test]
async fn a_schedule_expression_is_previewed_before_saving() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let user = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"permissions": {}}),
    )
    .await;
    let q = |expr: &str, tz: Option<&str>| {
        let mut t = format!(
            "/schedules/preview?expression={}",
            urlencoding::encode(expr)
        );
        if let Some(tz) = tz {
            t.push_str(&format!("&timezone={}", urlencoding::encode(tz)));
        }
        t
    };
    // Any member may preview, module permissions or not.
    let r = user
        .get(&q("cron(0 9 ? * MON-FRI *)", Some("Asia/Tokyo")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = r.json();
    assert_eq!(p["expression"], "cron(0 9 ? * MON-FRI *)");
    assert_eq!(p["timezone"], "Asia/Tokyo");
    let next: Vec<chrono::DateTime<chrono::Utc>> = p["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(next.len(), 5, "{p}");
    assert!(next.windows(2).all(|w| w[0] < w[1]), "{p}");
    // 09:00 in Tokyo (UTC+9, no daylight saving) is 00:00 UTC, the same weekday.
    use chrono::{Datelike, Timelike};
    for t in &next {
        assert_eq!((t.hour(), t.minute()), (0, 0), "{t}");
        assert!(t.weekday().number_from_monday() <= 5, "{t}");
        assert!(*t > chrono::Utc::now());
    }
    assert!(
        p["next"][0].as_str().unwrap().ends_with('Z')
            || p["next"][0].as_str().unwrap().ends_with("+00:00")
    );
    // UTC by default.
    let r = owner.get(&q("rate(1 day)", None)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["expression"], "rate(1 day)");
    assert_eq!(r.json()["timezone"], "UTC");
    // Wrong input: a 400 whose pointers are the query parameters.
    for (target, pointers) in [
        (q("rate(0 minutes)", None), vec!["expression"]),
        (q("every day", Some("UTC")), vec!["expression"]),
        (q("rate(1 day)", Some("Mars/Olympus")), vec!["timezone"]),
        (
            q("cron(bad)", Some("Nowhere")),
            vec!["expression", "timezone"],
        ),
        ("/schedules/preview".to_string(), vec!["expression"]),
    ] {
        let r = owner.get(&target).await;
        assert_eq!(r.status, 400, "{target}: {}", r.text);
        let problem = r.json();
        let got: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap())
            .collect();
        assert_eq!(got, pointers, "{target}: {}", r.text);
    }
    // `/schedules/preview` is its own route, not the schedule with id "preview".
    let r = owner
        .send(
            "PUT",
            "/schedules/preview",
            Some(&json!({"template_id": "x", "mode": "preview", "expression": "rate(1 day)"})),
        )
        .await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.headers[http::header::ALLOW], "GET");
    // Signed out: refused like every member route.
    let r = Browser::new(s, &router).get(&q("rate(1 day)", None)).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn an_apply_schedule_needs_write_on_the_module() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let tpl = template(&owner, transform_template()).await;
    let reader = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"permissions": {"transform": "read"}}),
    )
    .await;
    let body = |mode: &str| json!({"template_id": tpl, "mode": mode, "expression": "rate(1 day)"});
    let r = reader
        .send("POST", "/schedules", Some(&body("apply")))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = reader
        .send("POST", "/schedules", Some(&body("preview")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_string();
    // Nor can they turn it into an apply schedule.
    let r = reader
        .send("PUT", &format!("/schedules/{id}"), Some(&body("apply")))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // An owner's apply schedule is not theirs to change.
    let r = owner.send("POST", "/schedules", Some(&body("apply"))).await;
    let theirs = r.json()["id"].as_str().unwrap().to_string();
    let r = reader
        .send("POST", &format!("/schedules/{theirs}/pause"), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn a_rate_schedule_fires_under_the_clock_makes_one_run_and_mails_it() {
    let sb = sandbox().await;
    let clock = Arc::new(steward_shared::clock::ManualClock::new(chrono::Utc::now()));
    let w = world_at(&sb, clock.clone());
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let me = owner.me().await.json();
    let tpl = template(&owner, transform_template()).await;
    // Every minute is EventBridge's floor; the account's policy allows it once lowered.
    let r = owner
        .send_with(
            "PUT",
            "/account/policy",
            Some(&json!({"allowed_recipient_domains": [], "min_schedule_interval_minutes": 1})),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = owner
        .send(
            "POST",
            "/schedules",
            Some(
                &json!({"template_id": tpl, "mode": "apply", "expression": "rate(1 minute)",
                "notify": {"recipients": ["ops@example.com"], "subject": "Hourly phones"}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let target = steward_shared::schedules::LocalTarget(functions(s).events_services().clone());

    // Without an integration user, the fire is skipped with the reason on the schedule.
    clock.advance(chrono::Duration::seconds(61));
    let fires = w.embedded.scheduler.fire_due(clock.now()).unwrap();
    assert_eq!(fires.len(), 1);
    for f in fires {
        target.fire(f).await;
    }
    let sched = owner.get(&format!("/schedules/{id}")).await.json();
    assert!(
        sched["last_fire"]["skipped"]
            .as_str()
            .unwrap()
            .contains("integration"),
        "{sched}"
    );

    // The owner's connection becomes the integration user's: the next fire makes a run.
    let r = owner
        .send(
            "PUT",
            "/team/integration",
            Some(&json!({"user_id": me["user"]["id"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    clock.advance(chrono::Duration::seconds(60));
    let fires = w.embedded.scheduler.fire_due(clock.now()).unwrap();
    assert_eq!(fires.len(), 1);
    let fire = fires[0].clone();
    target.fire(fire.clone()).await;
    // Delivered again (EventBridge may): still one run.
    target.fire(fire).await;
    drain_all(s, &mut rx).await;
    let runs = owner.get("/runs?trigger=schedule").await.json();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["schedule_id"], id.as_str());
    assert_eq!(run["acting"]["kind"], "integration");
    assert_eq!(run["delivery"]["status"], "sent", "{run}");
    let sched = owner.get(&format!("/schedules/{id}")).await.json();
    assert_eq!(sched["last_fire"]["run_id"], run["id"], "{sched}");
    let raw = steward_tests::LocalWorld(w)
        .sent_mail("Hourly phones")
        .await;
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let att = msg.attachments().next().expect("the CSV is attached");
    assert!(
        att.attachment_name()
            .unwrap()
            .contains(run["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_fire_is_skipped_when_the_template_is_gone_or_the_quota_reserve_is_reached() {
    let sb = Sandbox::start(SandboxConfig {
        records: 20,
        salesforce: steward_sandbox::SalesforceLimits {
            daily: 10,
            ..Default::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "salesforce", OWNER).await;
    let me = owner.me().await.json();
    let account: AccountId = me["account"]["id"].as_str().unwrap().parse().unwrap();
    let r = owner
        .send(
            "PUT",
            "/team/integration",
            Some(&json!({"user_id": me["user"]["id"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tpl = template(
        &owner,
        json!({"module": "transform", "name": "Phones", "config": {"object": "Contact", "steps": [
            {"field": "Phone", "fn": "phone", "format": "e164", "default_region": "US"}]}}),
    )
    .await;
    let schedule = |reserve: u8| json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 day)", "reserve_percent": reserve});
    let fire = |sid: &str| steward_shared::schedules::FireEvent {
        account_id: account.clone(),
        schedule_id: sid.to_string(),
        scheduled_time: Some("2026-11-23T10:00:00Z".into()),
    };
    // Reserve 90% of 10 calls: 1 for Steward, which the check itself uses.
    let r = owner.send("POST", "/schedules", Some(&schedule(90))).await;
    let tight = r.json()["id"].as_str().unwrap().to_string();
    let fired = steward_shared::schedules::fire(s, &fire(&tight))
        .await
        .unwrap();
    match fired {
        steward_shared::schedules::Fired::Skipped(why) => {
            assert!(why.contains("daily API calls"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // With no reserve it runs.
    let r = owner.send("POST", "/schedules", Some(&schedule(0))).await;
    let loose = r.json()["id"].as_str().unwrap().to_string();
    let fired = steward_shared::schedules::fire(s, &fire(&loose))
        .await
        .unwrap();
    assert!(
        matches!(fired, steward_shared::schedules::Fired::Run(_)),
        "{fired:?}"
    );
    drain_all(s, &mut rx).await;
    // The template is deleted: the next fire is skipped, and says why.
    let r = owner
        .send("DELETE", &format!("/templates/{tpl}"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let later = steward_shared::schedules::FireEvent {
        scheduled_time: Some("2026-11-24T10:00:00Z".into()),
        ..fire(&loose)
    };
    let fired = steward_shared::schedules::fire(s, &later).await.unwrap();
    assert!(
        matches!(fired, steward_shared::schedules::Fired::Skipped(ref why) if why.contains("deleted")),
        "{fired:?}"
    );
    let sched = owner.get(&format!("/schedules/{loose}")).await.json();
    assert!(
        sched["last_fire"]["skipped"]
            .as_str()
            .unwrap()
            .contains("deleted"),
        "{sched}"
    );
    assert!(written_twice(&sb).is_empty());
    let _ = csv_rows;
}

/// Refuses to delete schedule items (a fault on Steward's side of a delete).
struct NoScheduleDeletes(Arc<dyn steward_shared::ports::ItemStore>);

#[async_trait]
impl steward_shared::ports::ItemStore for NoScheduleDeletes {
    fn kind(&self) -> &'static str {
        "faulty"
    }
    async fn get(
        &self,
        pk: &str,
        sk: &str,
    ) -> steward_shared::Result<Option<steward_shared::ports::items::Item>> {
        self.0.get(pk, sk).await
    }
    async fn put(
        &self,
        item: steward_shared::ports::items::Item,
        condition: steward_shared::ports::items::Condition,
    ) -> steward_shared::Result<u64> {
        self.0.put(item, condition).await
    }
    async fn delete(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<u64>,
    ) -> steward_shared::Result<()> {
        if sk.starts_with("SCHED#") {
            return Err(steward_shared::Error::Unavailable("injected fault".into()));
        }
        self.0.delete(pk, sk, expected).await
    }
    async fn query(
        &self,
        q: &steward_shared::ports::items::Query,
    ) -> steward_shared::Result<steward_shared::ports::items::Page> {
        self.0.query(q).await
    }
    async fn batch_write(
        &self,
        ops: Vec<steward_shared::ports::items::WriteOp>,
    ) -> steward_shared::Result<()> {
        self.0.batch_write(ops).await
    }
}

#[tokio::test]
async fn a_schedule_whose_item_cannot_be_deleted_keeps_its_scheduler_schedule() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let tpl = template(&owner, transform_template()).await;
    let r = owner
        .send(
            "POST",
            "/schedules",
            Some(&json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 hour)"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let name = steward_shared::schedules::scheduler_name(&id);
    let mut faulty = s.clone();
    faulty.items = Arc::new(NoScheduleDeletes(s.items.clone()));
    let broken = Browser::signed_in(&faulty, &router, "hubspot", OWNER).await;
    let r = broken
        .send("DELETE", &format!("/schedules/{id}"), None)
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    // Both sides are still there, and still agree.
    assert_eq!(owner.get(&format!("/schedules/{id}")).await.status, 200);
    let spec = s.scheduler.get(&name).await.unwrap().expect("re-created");
    assert_eq!(spec.expression, "rate(1 hour)");
}
