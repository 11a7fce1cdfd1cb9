//! The HubSpot connector against the sandbox CRM: the OAuth code flow, paging, filtered
//! scans past the search cap, batches, merges, token expiry, throttling and call counts.

use async_trait::async_trait;
use secrecy::SecretString;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use steward_sandbox::hubspot::PRIVATE_APP_TOKEN;
use steward_sandbox::{
    CLIENT_ID, CLIENT_SECRET, Faults, HubSpotLimits, RetryAfter, Sandbox, SandboxConfig,
};
use steward_shared::crm::hubspot::{HubSpot, HubSpotConfig, exchange_code};
use steward_shared::crm::limits::{Limits, Reserve};
use steward_shared::crm::transport::{AccountLimiter, Transport};
use steward_shared::crm::{
    Clause, Crm, CrmError, Filter, MergeGroup, OAuthApp, Op, Properties, ScanRequest, TokenSink,
    Tokens, Update, scan_all,
};

/// The portal the sandbox seeds.
const PORTAL_ID: &str = "24681357";
const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";
const SCOPES: &str = "crm.objects.contacts.read crm.objects.contacts.write crm.objects.companies.read \
     crm.objects.companies.write crm.objects.deals.read crm.objects.deals.write \
     crm.schemas.contacts.read settings.users.read";
/// Search calls per second in the sandbox and the adapter alike (HubSpot's 5/s would make
/// the 10,000-record test take a dozen seconds).
const FAST_SEARCH_PER_SEC: u32 = 100;

// ---- set-up -------------------------------------------------------------------------

/// A sandbox that does not enforce the burst window, so tests run at full speed.
async fn sandbox(records: usize) -> Sandbox {
    Sandbox::start(SandboxConfig {
        records,
        hubspot: HubSpotLimits {
            enforce: false,
            search_per_sec: FAST_SEARCH_PER_SEC,
            ..HubSpotLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// Limits matching `sandbox()`: no client-side burst window.
fn fast_limits() -> Limits {
    Limits {
        burst: 0,
        search_per_sec: Some(FAST_SEARCH_PER_SEC),
        ..Limits::hubspot_oauth()
    }
}

fn transport(limits: Limits) -> Transport {
    Transport::new(
        steward_shared::tls::client(),
        Arc::new(AccountLimiter::new(limits)),
    )
}

fn app(sb: &Sandbox) -> OAuthApp {
    OAuthApp {
        token_url: format!("{}/oauth/v1/token", sb.hubspot_base()),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET.to_string()),
    }
}

/// Counts refreshed token pairs.
#[derive(Default)]
struct CountingSink(AtomicUsize);

#[async_trait]
impl TokenSink for CountingSink {
    async fn tokens_refreshed(&self, _tokens: &Tokens) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn private_app(sb: &Sandbox, limits: Limits) -> HubSpot {
    HubSpot::new(
        HubSpotConfig {
            api_base: sb.hubspot_base(),
            app: None,
            tokens: Tokens {
                access_token: SecretString::from(PRIVATE_APP_TOKEN.to_string()),
                refresh_token: None,
                expires_at: None,
            },
            sink: None,
        },
        transport(limits),
    )
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `attr="…"` in `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[start..].find('"')?;
    Some(html_unescape(&tag[start..start + len]))
}

/// Runs HubSpot's authorization-code flow (with PKCE) the way a browser would: opens the
/// authorize page, submits its first approve form, reads `code` from the redirect, and
/// exchanges it through the connector. Returns the tokens and the approving user's id.
async fn code_flow(sb: &Sandbox) -> (Tokens, String) {
    let browser = steward_shared::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let verifier = "steward-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let challenge = steward_shared::crypto::pkce_s256(verifier);
    let url = format!(
        "{}/oauth/authorize?client_id={}&redirect_uri={}&scope={}&state=st-1&code_challenge={}&code_challenge_method=S256",
        sb.hubspot_base(),
        urlencoding(CLIENT_ID),
        urlencoding(REDIRECT_URI),
        urlencoding(SCOPES),
        challenge
    );
    let page = browser.get(&url).send().await.expect("authorize page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("page text");
    let form_start = html.find("<form").expect("an approve form");
    let form_end = form_start + html[form_start..].find("</form>").expect("form end");
    let form = &html[form_start..form_end];
    let open_tag = &form[..form.find('>').expect("form tag")];
    let action = attr(open_tag, "action").expect("form action");
    let mut fields: Vec<(String, String)> = Vec::new();
    for piece in form.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
            fields.push((n, v));
        }
    }
    let user_id = fields
        .iter()
        .find(|(k, _)| k == "user_id")
        .map(|(_, v)| v.clone())
        .expect("the form names its user");
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencoding(k), urlencoding(v)))
        .collect::<Vec<_>>()
        .join("&");
    let approved = browser
        .post(&action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("approve");
    assert_eq!(approved.status().as_u16(), 302, "approve redirects");
    let location = approved
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_string();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert!(location.contains("state=st-1"), "{location}");
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("a code")
        .to_string();
    let http = steward_shared::tls::client();
    // A wrong verifier is refused as an authorization error, and leaves the code usable.
    let refused = exchange_code(&http, &app(sb), &code, REDIRECT_URI, Some("wrong")).await;
    assert!(matches!(refused, Err(CrmError::Auth(_))), "{refused:?}");
    let tokens = exchange_code(&http, &app(sb), &code, REDIRECT_URI, Some(verifier))
        .await
        .expect("code exchange");
    assert!(tokens.refresh_token.is_some() && tokens.expires_at.is_some());
    let reused = exchange_code(&http, &app(sb), &code, REDIRECT_URI, Some(verifier)).await;
    assert!(
        matches!(reused, Err(CrmError::Auth(_))),
        "codes are single-use"
    );
    (tokens, user_id)
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn oauth_adapter(sb: &Sandbox, tokens: Tokens, limits: Limits) -> (HubSpot, Arc<CountingSink>) {
    let sink = Arc::new(CountingSink::default());
    let hs = HubSpot::new(
        HubSpotConfig {
            api_base: sb.hubspot_base(),
            app: Some(app(sb)),
            tokens,
            sink: Some(sink.clone()),
        },
        transport(limits),
    );
    (hs, sink)
}

fn contacts(properties: &[&str], filter: Option<Filter>) -> ScanRequest {
    ScanRequest {
        object: "contacts".into(),
        properties: properties.iter().map(|p| p.to_string()).collect(),
        filter,
    }
}

fn route(sb: &Sandbox, key: &str) -> u64 {
    sb.stats().by_route.get(key).copied().unwrap_or(0)
}

fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect()
}

fn ids_of(records: &[steward_shared::crm::Record]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

// ---- tests --------------------------------------------------------------------------

#[tokio::test]
async fn the_code_flow_connects_and_the_connection_knows_who_it_is() {
    let sb = sandbox(50).await;
    let (tokens, user_id) = code_flow(&sb).await;
    let (hs, sink) = oauth_adapter(&sb, tokens, fast_limits());

    let me = hs.identity().await.expect("identity");
    assert_eq!(me.org_id, PORTAL_ID);
    assert_eq!(me.user_id, user_id);
    assert!(me.email.contains('@'), "{me:?}");
    assert!(me.active && me.name.is_some(), "{me:?}");

    let users = hs.list_users().await.expect("users");
    assert!(users.iter().any(|u| u.id == user_id && u.email == me.email));

    let schema = hs.describe("contacts").await.expect("describe");
    let field = |n: &str| schema.fields.iter().find(|f| f.name == n).expect(n);
    assert!(field("email").writable);
    assert!(!field("hs_object_id").writable);
    assert!(!field("createdate").writable);
    assert!(!schema.fields.is_empty());

    // A private-app token has no token info: the portal is known, the user is not.
    let pat = private_app(&sb, fast_limits());
    let who = pat.identity().await.expect("private-app identity");
    assert_eq!(who.org_id, PORTAL_ID);
    assert!(who.user_id.is_empty() && who.active);

    assert!(matches!(
        hs.convert_leads(&[]).await,
        Err(CrmError::Unsupported(_))
    ));
    assert_eq!(
        sink.0.load(Ordering::SeqCst),
        0,
        "a fresh token is not refreshed"
    );
}

#[tokio::test]
async fn a_scan_pages_through_every_record_once_and_resumes_from_a_cursor() {
    let sb = sandbox(1_050).await;
    let hs = private_app(&sb, fast_limits());
    sb.reset_stats();
    let before = hs.api_usage().calls;
    let all = scan_all(&hs, &contacts(&["email", "firstname"], None))
        .await
        .expect("scan");
    assert_eq!(all.len(), 1_050);
    let unique: HashSet<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(unique.len(), all.len(), "no record twice");
    assert!(
        all.iter()
            .all(|r| r.created_at.is_some() && r.updated_at.is_some())
    );
    assert!(all.iter().all(|r| r.properties.contains_key("email")));
    assert_eq!(route(&sb, "GET /hubspot/crm/v3/objects/contacts"), 11);
    assert_eq!(hs.api_usage().calls - before, 11);

    // A checkpointed cursor alone continues the scan, in a connection that never saw it.
    let req = contacts(&["email"], None);
    let mut cursor = None;
    let mut first = Vec::new();
    for _ in 0..3 {
        let page = hs.scan_page(&req, cursor.as_deref()).await.expect("page");
        first.extend(ids_of(&page.records));
        cursor = page.cursor;
    }
    let other = private_app(&sb, fast_limits());
    let mut rest = Vec::new();
    while let Some(c) = cursor {
        let page = other.scan_page(&req, Some(&c)).await.expect("page");
        rest.extend(ids_of(&page.records));
        cursor = page.cursor;
    }
    assert_eq!(first.len(), 300);
    let joined: Vec<String> = first.into_iter().chain(rest).collect();
    assert_eq!(joined, ids_of(&all), "resumed scan = one scan");
}

#[tokio::test]
async fn a_filtered_scan_uses_search_and_creates_come_back_in_input_order() {
    let sb = sandbox(200).await;
    let hs = private_app(&sb, fast_limits());
    let inputs: Vec<Properties> = (0..250)
        .map(|i| {
            props(&[
                ("email", &format!("probe{i}@filter.example.com")),
                ("firstname", &format!("Probe{i}")),
                (
                    "jobtitle",
                    if i % 2 == 0 { "Steward Probe" } else { "Other" },
                ),
            ])
        })
        .collect();
    sb.reset_stats();
    let created = hs.batch_create("contacts", &inputs).await.expect("create");
    assert_eq!(
        route(&sb, "POST /hubspot/crm/v3/objects/contacts/batch/create"),
        3
    );
    assert!(created.iter().all(|o| o.error.is_none()), "{created:?}");
    let new_ids: Vec<String> = created.iter().filter_map(|o| o.id.clone()).collect();
    let back = hs
        .batch_read("contacts", &new_ids, &["email".into()])
        .await
        .expect("read back");
    assert_eq!(back.len(), 250);
    for (i, rec) in back.iter().enumerate() {
        assert_eq!(rec.id, new_ids[i]);
        assert_eq!(
            rec.properties["email"].as_deref(),
            Some(format!("probe{i}@filter.example.com").as_str()),
            "outcome {i} is input {i}'s record"
        );
    }

    // Search finds the new records once they have reached its index.
    sb.settle_search();
    // (jobtitle = Steward Probe AND firstname set) OR email IN (two of the others).
    let filter = Filter {
        any_of: vec![
            vec![
                Clause::new("jobtitle", Op::Eq, &["Steward Probe"]),
                Clause::new("firstname", Op::HasProperty, &[]),
            ],
            vec![Clause::new(
                "email",
                Op::In,
                &["probe1@filter.example.com", "probe3@filter.example.com"],
            )],
        ],
    };
    sb.reset_stats();
    let found = scan_all(&hs, &contacts(&["email", "jobtitle"], Some(filter)))
        .await
        .expect("filtered scan");
    assert_eq!(found.len(), 127);
    let ids: Vec<u64> = found
        .iter()
        .map(|r| r.id.parse().expect("numeric"))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "sorted by id, no repeats"
    );
    assert_eq!(
        route(&sb, "POST /hubspot/crm/v3/objects/contacts/search"),
        1
    );

    // A filter HubSpot cannot take is refused before anything is sent.
    let too_many = Filter {
        any_of: vec![vec![Clause::new("email", Op::HasProperty, &[])]; 6],
    };
    sb.reset_stats();
    let err = hs
        .scan_page(&contacts(&[], Some(too_many)), None)
        .await
        .expect_err("too complex");
    assert!(matches!(err, CrmError::Rejected(_)), "{err:?}");
    assert_eq!(sb.stats().hubspot, 0);
}

#[tokio::test]
async fn a_partial_batch_failure_fails_only_its_record() {
    let sb = sandbox(100).await;
    let hs = private_app(&sb, fast_limits());
    let page = hs
        .scan_page(&contacts(&["email"], None), None)
        .await
        .expect("page");
    let mut updates: Vec<Update> = page.records[..5]
        .iter()
        .map(|r| Update {
            id: r.id.clone(),
            properties: props(&[("jobtitle", "Updated by Steward")]),
        })
        .collect();
    updates.insert(
        2,
        Update {
            id: "999999999".into(),
            properties: props(&[("jobtitle", "Updated by Steward")]),
        },
    );
    sb.reset_stats();
    let outcomes = hs.batch_update("contacts", &updates).await.expect("update");
    assert_eq!(sb.stats().hubspot, 1, "one batch call");
    assert_eq!(outcomes.len(), 6);
    for (u, o) in updates.iter().zip(&outcomes) {
        if u.id == "999999999" {
            let e = o.error.as_ref().expect("the unknown id fails");
            assert_eq!(e.code, "OBJECT_NOT_FOUND");
        } else {
            assert_eq!(o.id.as_deref(), Some(u.id.as_str()));
            assert!(o.error.is_none(), "{o:?}");
        }
    }
    let ids: Vec<String> = page.records[..5].iter().map(|r| r.id.clone()).collect();
    let back = hs
        .batch_read("contacts", &ids, &["jobtitle".into()])
        .await
        .expect("read back");
    assert_eq!(ids_of(&back), ids);
    assert!(
        back.iter()
            .all(|r| r.properties["jobtitle"].as_deref() == Some("Updated by Steward"))
    );

    // Unknown ids are left out of reads; archived records are gone.
    let archived = hs
        .batch_archive("contacts", &ids[..2])
        .await
        .expect("archive");
    assert!(archived.iter().all(|o| o.error.is_none()));
    let mut asked = ids.clone();
    asked.push("999999999".into());
    let left = hs
        .batch_read("contacts", &asked, &[])
        .await
        .expect("read after archive");
    assert_eq!(ids_of(&left), ids[2..].to_vec());
}

#[tokio::test]
async fn an_expired_token_mid_scan_is_refreshed_once() {
    let sb = sandbox(500).await;
    let (tokens, _) = code_flow(&sb).await;
    let (hs, sink) = oauth_adapter(&sb, tokens, fast_limits());
    let req = contacts(&["email"], None);
    sb.reset_stats();
    let first = hs.scan_page(&req, None).await.expect("page 1");
    sb.expire_tokens();
    let mut n = first.records.len();
    let mut cursor = first.cursor;
    while let Some(c) = cursor {
        let page = hs.scan_page(&req, Some(&c)).await.expect("page");
        n += page.records.len();
        cursor = page.cursor;
    }
    assert_eq!(n, 500);
    assert_eq!(route(&sb, "POST /hubspot/oauth/v1/token"), 1, "one refresh");
    assert_eq!(sink.0.load(Ordering::SeqCst), 1, "the sink heard of it");
    // Five pages, plus the one that met the expired token.
    assert_eq!(route(&sb, "GET /hubspot/crm/v3/objects/contacts"), 6);

    // Concurrent callers that all meet an expired token share one refresh.
    sb.expire_tokens();
    sb.reset_stats();
    let hs = Arc::new(hs);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let hs = hs.clone();
        tasks.spawn(async move { hs.scan_page(&contacts(&["email"], None), None).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task").expect("page");
    }
    assert_eq!(
        route(&sb, "POST /hubspot/oauth/v1/token"),
        1,
        "one shared refresh"
    );
    assert_eq!(sink.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_use() {
    let sb = sandbox(20).await;
    let (mut tokens, _) = code_flow(&sb).await;
    tokens.expires_at = Some(chrono::Utc::now() + chrono::Duration::seconds(30));
    let (hs, sink) = oauth_adapter(&sb, tokens, fast_limits());
    sb.reset_stats();
    hs.scan_page(&contacts(&[], None), None)
        .await
        .expect("page");
    assert_eq!(route(&sb, "POST /hubspot/oauth/v1/token"), 1);
    assert_eq!(
        route(&sb, "GET /hubspot/crm/v3/objects/contacts"),
        1,
        "no 401 first"
    );
    assert_eq!(sink.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_token_that_cannot_be_refreshed_is_an_auth_error() {
    let sb = sandbox(20).await;
    let hs = HubSpot::new(
        HubSpotConfig {
            api_base: sb.hubspot_base(),
            app: None,
            tokens: Tokens {
                access_token: SecretString::from("pat-na1-not-a-token".to_string()),
                refresh_token: None,
                expires_at: None,
            },
            sink: None,
        },
        transport(fast_limits()),
    );
    sb.reset_stats();
    let err = hs
        .scan_page(&contacts(&[], None), None)
        .await
        .expect_err("refused");
    assert!(matches!(err, CrmError::Auth(_)), "{err:?}");
    assert!(!err.to_string().contains("pat-na1-not-a-token"));
    assert_eq!(sb.stats().hubspot, 1, "not retried");
}

#[tokio::test]
async fn a_429_storm_slows_the_work_down_but_fails_nothing() {
    // The one test that keeps HubSpot's burst window, with the adapter's matching limits.
    let sb = Sandbox::start(SandboxConfig {
        records: 400,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let hs = private_app(&sb, Limits::hubspot_private_professional());
    sb.set_faults(Faults {
        rate_429: 0.3,
        ..Faults::default()
    });
    let all = scan_all(&hs, &contacts(&["email"], None))
        .await
        .expect("scan through the storm");
    assert_eq!(all.len(), 400);
    let updates: Vec<Update> = all[..300]
        .iter()
        .map(|r| Update {
            id: r.id.clone(),
            properties: props(&[("jobtitle", "Stormproof")]),
        })
        .collect();
    let outcomes = hs
        .batch_update("contacts", &updates)
        .await
        .expect("update through the storm");
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    let usage = hs.api_usage();
    let injected = sb.stats().injected_429;
    sb.set_faults(Faults::default());
    eprintln!(
        "429 storm: {} calls, {} throttled, {} retries, {injected} injected",
        usage.calls, usage.throttled, usage.retries
    );
    assert_eq!(usage.throttled, injected, "every 429 was waited out");
    let ids: Vec<String> = updates.iter().map(|u| u.id.clone()).collect();
    let back = hs
        .batch_read("contacts", &ids, &["jobtitle".into()])
        .await
        .expect("read back");
    assert_eq!(back.len(), 300);
    assert!(
        back.iter()
            .all(|r| r.properties["jobtitle"].as_deref() == Some("Stormproof"))
    );
}

#[tokio::test]
async fn merges_chain_new_ids_and_cost_one_call_per_duplicate() {
    let sb = sandbox(60).await;
    let hs = private_app(&sb, fast_limits());
    let page = hs
        .scan_page(&contacts(&["email"], None), None)
        .await
        .expect("page");
    let id = |i: usize| page.records[i].id.clone();
    let groups = vec![
        MergeGroup {
            primary_id: id(0),
            duplicate_ids: vec![id(1), id(2)],
        },
        MergeGroup {
            primary_id: id(3),
            duplicate_ids: vec![id(4)],
        },
        MergeGroup {
            primary_id: id(5),
            duplicate_ids: vec!["999999999".into()],
        },
    ];
    sb.reset_stats();
    let before = hs.api_usage().calls;
    let out = hs.merge("contacts", &groups).await.expect("merge");
    assert_eq!(route(&sb, "POST /hubspot/crm/v3/objects/contacts/merge"), 4);
    assert_eq!(hs.api_usage().calls - before, 4, "one call per duplicate");

    let three = &out[0];
    assert!(three.error.is_none(), "{three:?}");
    assert_eq!(three.merged_ids, vec![id(1), id(2)]);
    let survivor = three.surviving_id.clone().expect("a survivor");
    assert!(
        ![id(0), id(1), id(2)].contains(&survivor),
        "contacts get a new id"
    );
    let two = &out[1];
    assert!(two.error.is_none() && two.merged_ids == vec![id(4)]);
    assert_ne!(two.surviving_id.as_deref(), Some(id(3).as_str()));
    let missing = &out[2];
    assert_eq!(
        missing.error.as_ref().map(|e| e.code.as_str()),
        Some("NOT_FOUND")
    );
    assert!(missing.merged_ids.is_empty());

    // Every old id now reads as the survivor.
    let back = hs
        .batch_read("contacts", &[id(0), id(1), id(2)], &["email".into()])
        .await
        .expect("read old ids");
    assert_eq!(ids_of(&back), vec![survivor]);

    // Deals keep the primary's id.
    let deals = scan_all(
        &hs,
        &ScanRequest {
            object: "deals".into(),
            properties: vec![],
            filter: None,
        },
    )
    .await
    .expect("deals");
    assert!(deals.len() >= 2, "the sandbox seeds deals");
    let out = hs
        .merge(
            "deals",
            &[MergeGroup {
                primary_id: deals[0].id.clone(),
                duplicate_ids: vec![deals[1].id.clone()],
            }],
        )
        .await
        .expect("merge deals");
    assert_eq!(out[0].surviving_id.as_deref(), Some(deals[0].id.as_str()));
}

/// `n` groups of one pair each, from the first `2n` contacts of a scan.
async fn pairs(hs: &HubSpot, n: usize) -> Vec<MergeGroup> {
    let page = hs
        .scan_page(&contacts(&["email"], None), None)
        .await
        .expect("page");
    page.records
        .chunks(2)
        .take(n)
        .map(|p| MergeGroup {
            primary_id: p[0].id.clone(),
            duplicate_ids: vec![p[1].id.clone()],
        })
        .collect()
}

#[tokio::test]
async fn groups_are_merged_four_at_a_time_and_answered_in_order() {
    let sb = Sandbox::start(SandboxConfig {
        records: 40,
        hubspot: HubSpotLimits {
            enforce: false,
            ..HubSpotLimits::default()
        },
        faults: Faults {
            latency_ms: 40,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let hs = private_app(&sb, fast_limits());
    let groups = pairs(&hs, 12).await;
    sb.reset_stats();
    let out = hs.merge("contacts", &groups).await.expect("merge");
    assert_eq!(
        route(&sb, "POST /hubspot/crm/v3/objects/contacts/merge"),
        12
    );
    assert_eq!(
        sb.stats().peak_in_flight,
        4,
        "a merge waits on HubSpot's round trip: four groups go at once"
    );
    // Each outcome is its own group's, in the groups' order.
    for (g, o) in groups.iter().zip(&out) {
        assert_eq!(o.primary_id, g.primary_id);
        assert_eq!(o.merged_ids, g.duplicate_ids, "{o:?}");
        assert!(o.error.is_none(), "{o:?}");
    }
}

#[tokio::test]
async fn an_error_about_the_call_stops_the_groups_not_yet_sent() {
    let sb = Sandbox::start(SandboxConfig {
        records: 40,
        hubspot: HubSpotLimits {
            enforce: false,
            // One scan page, six merges, then the day is over.
            daily: Some(7),
            ..HubSpotLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let hs = private_app(
        &sb,
        Limits {
            reserve: Reserve::None,
            ..fast_limits()
        },
    );
    let groups = pairs(&hs, 16).await;
    sb.reset_stats();
    let out = hs.merge("contacts", &groups[..12]).await.expect("merge");
    let sent = route(&sb, "POST /hubspot/crm/v3/objects/contacts/merge");
    // Four go at once, so which six of the first groups HubSpot took is a race; that six
    // were merged, and every other group was refused or not sent, is not.
    let (merged, refused): (Vec<_>, Vec<_>) = out.iter().partition(|o| o.error.is_none());
    assert_eq!(merged.len(), 6, "the day's allowance: {out:?}");
    assert!(merged.iter().all(|o| o.merged_ids.len() == 1), "{out:?}");
    for o in &refused {
        assert!(o.merged_ids.is_empty(), "{o:?}");
        assert_eq!(o.error.as_ref().map(|e| e.code.as_str()), Some("QUOTA"));
    }
    assert!(
        refused
            .iter()
            .any(|o| o.error.as_ref().unwrap().message.starts_with("not sent")),
        "groups after the stop are not sent: {out:?}"
    );
    assert!(
        (sent as usize) < out.len(),
        "not sent means no call: {sent} calls for {} groups",
        out.len()
    );

    // When no group merged at all, the call itself failed.
    let err = hs
        .merge("contacts", &groups[12..])
        .await
        .expect_err("over the day's limit");
    assert!(matches!(err, CrmError::Quota(_)), "{err:?}");
}

#[tokio::test]
async fn a_filtered_scan_gets_past_the_search_cap() {
    const N: usize = 10_600;
    let sb = sandbox(N).await;
    let hs = private_app(&sb, fast_limits());
    let req = contacts(
        &["email"],
        Some(Filter::all(vec![Clause::new(
            "createdate",
            Op::HasProperty,
            &[],
        )])),
    );
    sb.reset_stats();
    let mut seen = HashSet::new();
    let mut cursors = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = hs.scan_page(&req, cursor.as_deref()).await.expect("page");
        for r in page.records {
            assert!(seen.insert(r.id), "no record twice");
        }
        match page.cursor {
            Some(c) => {
                cursors.push(c.clone());
                cursor = Some(c);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), N, "every record once");
    assert_eq!(
        route(&sb, "POST /hubspot/crm/v3/objects/contacts/search") as usize,
        N.div_ceil(200),
        "one call per page, the restart included"
    );
    assert!(
        cursors
            .iter()
            .any(|c| c.starts_with("s:") && !c.starts_with("s::")),
        "the scan restarted past an id: {:?}",
        cursors.last()
    );

    // A filter with no room for the restart condition is refused as soon as the first
    // page shows it would cross the cap.
    let wide = Filter::all(vec![Clause::new("createdate", Op::HasProperty, &[]); 6]);
    let err = hs
        .scan_page(&contacts(&[], Some(wide)), None)
        .await
        .expect_err("cannot pass the cap");
    assert!(
        matches!(&err, CrmError::Rejected(m) if m.contains("simplify")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_thousand_updates_cost_ten_calls() {
    let sb = sandbox(1_000).await;
    let hs = private_app(&sb, fast_limits());
    let all = scan_all(&hs, &contacts(&[], None)).await.expect("scan");
    assert_eq!(all.len(), 1_000);
    let updates: Vec<Update> = all
        .iter()
        .map(|r| Update {
            id: r.id.clone(),
            properties: props(&[("jobtitle", "Counted")]),
        })
        .collect();
    sb.reset_stats();
    let before = hs.api_usage().calls;
    let outcomes = hs.batch_update("contacts", &updates).await.expect("update");
    assert!(outcomes.iter().all(|o| o.error.is_none()));
    assert_eq!(hs.api_usage().calls - before, 10);
    assert_eq!(
        route(&sb, "POST /hubspot/crm/v3/objects/contacts/batch/update"),
        10
    );
    assert_eq!(sb.stats().hubspot, 10, "nothing else was sent");
}

#[tokio::test]
async fn the_daily_limit_stops_with_quota() {
    let sb = Sandbox::start(SandboxConfig {
        records: 20,
        hubspot: HubSpotLimits {
            enforce: false,
            daily: Some(3),
            ..HubSpotLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let req = contacts(&[], None);
    // This connection reads the daily headers and stops itself before the CRM has to.
    let first = private_app(&sb, fast_limits());
    for _ in 0..3 {
        first
            .scan_page(&req, None)
            .await
            .expect("within the day's allowance");
    }
    let usage = first.api_usage();
    assert_eq!((usage.used_today, usage.daily_limit), (Some(3), Some(3)));
    sb.reset_stats();
    let err = first
        .scan_page(&req, None)
        .await
        .expect_err("over the limit");
    assert!(matches!(err, CrmError::Quota(_)), "{err:?}");
    assert_eq!(sb.stats().hubspot, 0, "refused without a call");

    // A connection that has not seen the headers gets HubSpot's DAILY 429: never retried.
    let second = private_app(
        &sb,
        Limits {
            reserve: Reserve::None,
            ..fast_limits()
        },
    );
    let err = second.scan_page(&req, None).await.expect_err("daily 429");
    assert!(matches!(err, CrmError::Quota(_)), "{err:?}");
    assert_eq!(sb.stats().hubspot, 1, "one call, no retry");
    assert_eq!(second.api_usage().retries, 0);
}

/// A private-app connection whose transport tries a call three times, at once.
fn retrying_three_times(sb: &Sandbox) -> HubSpot {
    let mut t = transport(fast_limits());
    t.retry.attempts = 3;
    t.retry.base = Duration::from_millis(1);
    t.retry.max_backoff = Duration::from_millis(5);
    HubSpot::new(
        HubSpotConfig {
            api_base: sb.hubspot_base(),
            app: None,
            tokens: Tokens {
                access_token: SecretString::from(PRIVATE_APP_TOKEN.to_string()),
                refresh_token: None,
                expires_at: None,
            },
            sink: None,
        },
        t,
    )
}

#[tokio::test]
async fn server_errors_are_retried_within_bounds_and_creates_are_never_resent() {
    // The transport's retry budget ends an outage that never lets up.
    let sb = sandbox(10).await;
    let hs = retrying_three_times(&sb);
    sb.set_faults(Faults {
        rate_5xx: 1.0,
        ..Faults::default()
    });
    let err = hs
        .scan_page(&contacts(&[], None), None)
        .await
        .expect_err("always failing");
    assert!(matches!(err, CrmError::Unavailable(_)), "{err:?}");
    assert_eq!(sb.stats().hubspot, 3);
    // A create that meets a 5xx is not resent: its outcome is unknown.
    sb.reset_stats();
    let out = hs
        .batch_create("contacts", &[props(&[("email", "x@y.example.com")])])
        .await
        .expect("per-record outcomes");
    assert_eq!(
        out[0].error.as_ref().map(|e| e.code.as_str()),
        Some("AMBIGUOUS")
    );
    assert_eq!(sb.stats().hubspot, 1);
}

// ---- answers lost after HubSpot acted -------------------------------------------------

/// A proxy in front of the sandbox that forwards every request, but drops the connection
/// without an answer, after the sandbox acted, for the first `losses` requests whose path
/// contains `lose`: what a network failure mid-answer looks like to the connector.
async fn lossy_proxy(target: String, lose: &'static str, losses: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let left = Arc::new(AtomicUsize::new(losses));
    let client = steward_shared::tls::client();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (target, left, client) = (target.clone(), left.clone(), client.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.split("\r\n");
                let mut request_line = lines.next().unwrap_or("").split(' ');
                let method = request_line.next().unwrap_or("GET").to_string();
                let path = request_line.next().unwrap_or("/").to_string();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = buf[head_end..head_end + length].to_vec();
                let mut rb = client.request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{target}{path}"),
                );
                for (k, v) in &headers {
                    if !["host", "content-length", "connection"].contains(&k.as_str()) {
                        rb = rb.header(k.as_str(), v.as_str());
                    }
                }
                let Ok(resp) = rb.body(body).send().await else {
                    return;
                };
                let status = resp.status();
                let resp_headers = resp.headers().clone();
                let resp_body = resp.bytes().await.unwrap_or_default();
                if path.contains(lose)
                    && left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                {
                    return; // the sandbox acted; the connector never hears of it
                }
                let mut out = format!(
                    "HTTP/1.1 {} {}\r\n",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                );
                for (k, v) in &resp_headers {
                    if !["transfer-encoding", "content-length", "connection"].contains(&k.as_str())
                    {
                        out.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap_or("")));
                    }
                }
                out.push_str(&format!(
                    "content-length: {}\r\nconnection: close\r\n\r\n",
                    resp_body.len()
                ));
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.write_all(&resp_body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

fn private_app_at(api_base: String) -> HubSpot {
    HubSpot::new(
        HubSpotConfig {
            api_base,
            app: None,
            tokens: Tokens {
                access_token: SecretString::from(PRIVATE_APP_TOKEN.to_string()),
                refresh_token: None,
                expires_at: None,
            },
            sink: None,
        },
        transport(fast_limits()),
    )
}

#[tokio::test]
async fn a_merge_whose_answer_was_lost_is_checked_not_resent() {
    let sb = sandbox(30).await;
    let proxy = lossy_proxy(sb.url.clone(), "/merge", 1).await;
    let hs = private_app_at(format!("{proxy}/hubspot"));
    let page = hs
        .scan_page(&contacts(&[], None), None)
        .await
        .expect("page");
    let id = |i: usize| page.records[i].id.clone();
    sb.reset_stats();
    let out = hs
        .merge(
            "contacts",
            &[MergeGroup {
                primary_id: id(0),
                duplicate_ids: vec![id(1), id(2)],
            }],
        )
        .await
        .expect("merge");
    assert!(out[0].error.is_none(), "{out:?}");
    assert_eq!(out[0].merged_ids, vec![id(1), id(2)]);
    let survivor = out[0].surviving_id.clone().expect("survivor");
    assert_eq!(
        route(&sb, "POST /hubspot/crm/v3/objects/contacts/merge"),
        2,
        "the lost merge was not sent again"
    );
    assert_eq!(
        route(
            &sb,
            &format!("GET /hubspot/crm/v3/objects/contacts/{}", id(1))
        ),
        1,
        "its effect was checked"
    );
    let back = hs
        .batch_read("contacts", &[id(0), id(1), id(2)], &[])
        .await
        .expect("read");
    assert_eq!(ids_of(&back), vec![survivor]);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_reported_ambiguous_not_resent() {
    let sb = sandbox(10).await;
    let proxy = lossy_proxy(sb.url.clone(), "/batch/create", 1).await;
    let hs = private_app_at(format!("{proxy}/hubspot"));
    let inputs: Vec<Properties> = (0..150)
        .map(|i| props(&[("email", &format!("lost{i}@example.com"))]))
        .collect();
    sb.reset_stats();
    let out = hs.batch_create("contacts", &inputs).await.expect("create");
    assert_eq!(
        route(&sb, "POST /hubspot/crm/v3/objects/contacts/batch/create"),
        2
    );
    assert!(
        out[..100]
            .iter()
            .all(|o| o.id.is_none() && o.error.as_ref().is_some_and(|e| e.code == "AMBIGUOUS")),
        "the first batch's fate is unknown"
    );
    assert!(
        out[100..]
            .iter()
            .all(|o| o.id.is_some() && o.error.is_none())
    );
}

// ---- the sandbox as strict as HubSpot: search lag, Retry-After, gateway pages ---------

#[tokio::test]
async fn a_filtered_scan_right_after_writes_has_the_values_hubspot_holds_now() {
    // Search lags writes by longer than this test lasts.
    let sb = Sandbox::start(SandboxConfig {
        records: 60,
        hubspot: HubSpotLimits {
            enforce: false,
            search_per_sec: FAST_SEARCH_PER_SEC,
            search_lag_ms: 600_000,
            ..HubSpotLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let hs = private_app(&sb, fast_limits());
    let with_email = || {
        contacts(
            &["email", "jobtitle"],
            Some(Filter::all(vec![Clause::new(
                "email",
                Op::HasProperty,
                &[],
            )])),
        )
    };
    let before = scan_all(&hs, &with_email()).await.expect("scan");
    assert!(before.len() > 10, "{}", before.len());
    let updates: Vec<Update> = before[..5]
        .iter()
        .map(|r| Update {
            id: r.id.clone(),
            properties: props(&[("jobtitle", "Written just now")]),
        })
        .collect();
    let out = hs.batch_update("contacts", &updates).await.expect("update");
    assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
    let gone = before[5].id.clone();
    hs.batch_archive("contacts", std::slice::from_ref(&gone))
        .await
        .expect("archive");

    let after = scan_all(&hs, &with_email()).await.expect("scan again");
    for u in &updates {
        let r = after
            .iter()
            .find(|r| r.id == u.id)
            .expect("an updated record is still found");
        assert_eq!(
            r.properties["jobtitle"].as_deref(),
            Some("Written just now"),
            "record {} as HubSpot holds it, not as search last indexed it",
            r.id
        );
    }
    assert!(
        after.iter().all(|r| r.id != gone),
        "an archived record is not scanned"
    );
    assert_eq!(after.len(), before.len() - 1);
}

/// A sandbox whose private-app bucket fills after `burst` calls in `window_ms`, answering
/// 429s with `retry_after`, and a connection that does not pace itself.
async fn throttling(burst: u32, window_ms: u64, retry_after: RetryAfter) -> (Sandbox, HubSpot) {
    let sb = Sandbox::start(SandboxConfig {
        records: 300,
        hubspot: HubSpotLimits {
            private_app_burst: burst,
            window_ms,
            retry_after,
            search_per_sec: FAST_SEARCH_PER_SEC,
            ..HubSpotLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let hs = private_app(&sb, fast_limits());
    (sb, hs)
}

#[tokio::test]
async fn a_429_without_retry_after_is_waited_out_all_the_same() {
    for form in [RetryAfter::Absent, RetryAfter::HttpDate] {
        let (sb, hs) = throttling(2, 1_000, form).await;
        let all = scan_all(&hs, &contacts(&["email"], None))
            .await
            .unwrap_or_else(|e| panic!("{form:?}: {e}"));
        assert_eq!(all.len(), 300, "{form:?}");
        let usage = hs.api_usage();
        assert!(usage.throttled > 0, "{form:?}: the sandbox throttled");
        assert_eq!(sb.stats().injected_429, 0, "{form:?}: the limit's own 429s");
        // Each 429 paused the connection until the window had room again: no retry went
        // straight back into the full window.
        assert!(usage.throttled <= 2, "{form:?}: {usage:?}");
    }
}

#[tokio::test]
async fn a_gateway_error_page_is_retried_and_named_never_parsed() {
    let sb = sandbox(10).await;
    let hs = retrying_three_times(&sb);
    sb.set_faults(Faults {
        rate_5xx: 1.0,
        gateway_html: true,
        ..Faults::default()
    });
    let err = hs
        .scan_page(&contacts(&[], None), None)
        .await
        .expect_err("a gateway that never lets up");
    assert_eq!(sb.stats().hubspot, 3, "retried as a server error");
    let CrmError::Unavailable(m) = &err else {
        panic!("{err:?}");
    };
    assert!(
        m.contains("Bad Gateway") || m.contains("Gateway Timeout"),
        "{m}"
    );
    assert!(m.contains("gateway in front of the CRM"), "{m}");
    assert!(!m.contains('<') && !m.contains("parse"), "{m}");
    // As the API answers it: a 503, not the page.
    let problem = steward_shared::Error::from(err);
    assert!(!problem.to_string().contains("<html"), "{problem}");
    // A create that meets the page may have happened: reported, never blindly resent.
    sb.reset_stats();
    let out = hs
        .batch_create("contacts", &[props(&[("email", "gw@y.example.com")])])
        .await
        .expect("per-record outcomes");
    let e = out[0].error.as_ref().expect("not created");
    assert_eq!(e.code, "AMBIGUOUS");
    assert!(
        e.message.contains("gateway") && !e.message.contains('<'),
        "{e:?}"
    );
    assert_eq!(sb.stats().hubspot, 1);
}
