//! The Salesforce connector against the in-process sandbox org: the OAuth login flow, SOQL
//! paging and resuming, filters, collections, SOAP merge and convertLead, limits and faults.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steward_sandbox::{Faults, SalesforceLimits, Sandbox, SandboxConfig};
use steward_shared::crm::limits::{Limits, Reserve, salesforce as figures};
use steward_shared::crm::salesforce::{Salesforce, SalesforceConfig, exchange_code};
use steward_shared::crm::transport::{AccountLimiter, RetryPolicy, Transport};
use steward_shared::crm::{
    Clause, Crm, CrmError, FieldType, Filter, LeadConvert, MergeGroup, OAuthApp, Op, Properties,
    Record, ScanRequest, TokenSink, Tokens, Update, scan_all,
};

const REDIRECT_URI: &str = "http://localhost:9/oauth/callback";
const SOAP_ROUTE: &str = "POST /salesforce/services/Soap/u/66.0";
const UPDATE_ROUTE: &str = "PATCH /salesforce/services/data/v66.0/composite/sobjects";
const QUERY_ROUTE: &str = "GET /salesforce/services/data/v66.0/query";
const TOKEN_ROUTE: &str = "POST /salesforce/services/oauth2/token";

async fn sandbox(records: usize, limits: SalesforceLimits) -> Sandbox {
    Sandbox::start(SandboxConfig {
        records,
        salesforce: limits,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts")
}

fn app(sb: &Sandbox) -> OAuthApp {
    OAuthApp {
        token_url: format!("{}/services/oauth2/token", sb.salesforce_base()),
        client_id: steward_sandbox::CLIENT_ID.into(),
        client_secret: SecretString::from(steward_sandbox::CLIENT_SECRET),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

use steward_shared::crypto::pkce_s256 as challenge;

/// The browser half of the web-server flow: the login page, its approve form, and the
/// `code` from the redirect to the callback.
async fn authorize(sb: &Sandbox, code_challenge: Option<&str>) -> String {
    let browser = steward_shared::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = format!("{}/services/oauth2/authorize", sb.salesforce_base());
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", steward_sandbox::CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "api refresh_token id"),
        ("state", "st-123"),
    ];
    if let Some(c) = code_challenge {
        params.push(("code_challenge", c));
        params.push(("code_challenge_method", "S256"));
    }
    let page = browser
        .get(format!("{authorize}?{}", form(&params)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // The radio button the page checks: the first active user.
    let user = html
        .split("name=\"user_id\" value=\"")
        .skip(1)
        .find_map(|rest| {
            let (id, attrs) = rest.split_once('"')?;
            attrs
                .split('>')
                .next()
                .is_some_and(|a| a.contains("checked"))
                .then(|| id.to_string())
        })
        .expect("the login page offers a user");
    let mut approve = params.clone();
    approve.push(("user_id", &user));
    approve.push(("action", "allow"));
    let resp = browser
        .post(&authorize)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&approve))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert!(location.contains("state=st-123"), "{location}");
    location
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .expect("the callback gets a code")
        .to_string()
}

/// Tokens from the whole login flow (PKCE on).
async fn login(sb: &Sandbox) -> (Tokens, String, String) {
    let verifier = "a-verifier-of-at-least-forty-three-characters-0123456789";
    let code = authorize(sb, Some(&challenge(verifier))).await;
    exchange_code(
        &steward_shared::tls::client(),
        &app(sb),
        &code,
        REDIRECT_URI,
        Some(verifier),
    )
    .await
    .expect("the code exchanges for tokens")
}

#[derive(Default)]
struct Sink {
    refreshed: AtomicUsize,
    last: Mutex<Option<Tokens>>,
}

#[async_trait]
impl TokenSink for Sink {
    async fn tokens_refreshed(&self, tokens: &Tokens) {
        self.refreshed.fetch_add(1, Ordering::SeqCst);
        *self.last.lock().unwrap() = Some(tokens.clone());
    }
}

/// A connection as Steward builds one after login; fast retries keep faulty runs short.
struct Conn {
    tokens: Tokens,
    instance_url: String,
    identity_url: String,
    app: OAuthApp,
    sink: Arc<Sink>,
}

impl Conn {
    async fn open(sb: &Sandbox) -> Conn {
        let (tokens, instance_url, identity_url) = login(sb).await;
        Conn {
            tokens,
            instance_url,
            identity_url,
            app: app(sb),
            sink: Arc::new(Sink::default()),
        }
    }

    fn adapter_with(&self, limits: Limits) -> Salesforce {
        let mut transport = Transport::new(
            steward_shared::tls::client(),
            Arc::new(AccountLimiter::new(limits)),
        );
        transport.retry = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(5),
            max_backoff: Duration::from_millis(100),
        };
        Salesforce::new(
            SalesforceConfig {
                instance_url: self.instance_url.clone(),
                identity_url: Some(self.identity_url.clone()),
                api_version: figures::API_VERSION.into(),
                app: Some(self.app.clone()),
                tokens: self.tokens.clone(),
                sink: Some(self.sink.clone()),
            },
            transport,
        )
    }

    fn adapter(&self) -> Salesforce {
        self.adapter_with(Limits::salesforce())
    }
}

fn scan(object: &str, props: &[&str], filter: Option<Filter>) -> ScanRequest {
    ScanRequest {
        object: object.into(),
        properties: props.iter().map(|s| s.to_string()).collect(),
        filter,
    }
}

fn prop(r: &Record, k: &str) -> Option<String> {
    r.properties.get(k).cloned().flatten()
}

fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect()
}

fn route(sb: &Sandbox, r: &str) -> u64 {
    sb.stats().by_route.get(r).copied().unwrap_or(0)
}

/// Every scanned id once, in ascending order.
fn assert_each_once(records: &[Record]) {
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a record came twice");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
}

/// Whether none of `ids` is a live Contact any more.
async fn gone(sf: &Salesforce, ids: &[String]) -> bool {
    sf.batch_read("Contact", ids, &[]).await.unwrap().is_empty()
}

async fn create_contacts(sf: &Salesforce, n: usize, tag: &str) -> Vec<String> {
    let records: Vec<Properties> = (0..n)
        .map(|i| {
            props(&[
                ("LastName", &format!("{tag} {i}")),
                ("Email", &format!("{tag}.{i}@example.com")),
            ])
        })
        .collect();
    let out = sf.batch_create("Contact", &records).await.unwrap();
    assert_eq!(out.len(), n);
    out.into_iter()
        .map(|o| {
            assert_eq!(o.error, None);
            o.id.unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_identity_users_and_describe() {
    let sb = sandbox(20, SalesforceLimits::default()).await;
    // Without PKCE.
    let code = authorize(&sb, None).await;
    let (tokens, instance, id_url) = exchange_code(
        &steward_shared::tls::client(),
        &app(&sb),
        &code,
        REDIRECT_URI,
        None,
    )
    .await
    .unwrap();
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.expires_at, None);
    assert_eq!(instance, sb.salesforce_base());
    assert!(id_url.contains("/id/00D"), "{id_url}");
    // A code is single-use.
    let again = exchange_code(
        &steward_shared::tls::client(),
        &app(&sb),
        &code,
        REDIRECT_URI,
        None,
    )
    .await;
    assert!(matches!(again, Err(CrmError::Auth(m)) if m.contains("invalid_grant")));

    // PKCE S256: the right verifier passes, a wrong or missing one does not.
    let verifier = "0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ";
    for (given, ok) in [
        (Some(verifier), true),
        (
            Some("a-different-verifier-0123456789-abcdefghijklmnop"),
            false,
        ),
        (None, false),
    ] {
        let code = authorize(&sb, Some(&challenge(verifier))).await;
        let r = exchange_code(
            &steward_shared::tls::client(),
            &app(&sb),
            &code,
            REDIRECT_URI,
            given,
        )
        .await;
        assert_eq!(r.is_ok(), ok, "{given:?}: {:?}", r.err());
        if !ok {
            assert!(matches!(r, Err(CrmError::Auth(_))));
        }
    }

    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let me = sf.identity().await.unwrap();
    assert_eq!(me.org_id, "00D5g0000000001EAA");
    assert!(me.user_id.starts_with("005"));
    assert!(me.email.contains('@'));
    assert!(me.active);
    assert!(me.name.is_some());
    // Without the identity URL, OIDC userinfo says the same.
    let no_id = Salesforce::new(
        SalesforceConfig {
            instance_url: conn.instance_url.clone(),
            identity_url: None,
            api_version: figures::API_VERSION.into(),
            app: None,
            tokens: conn.tokens.clone(),
            sink: None,
        },
        Transport::new(
            steward_shared::tls::client(),
            Arc::new(AccountLimiter::new(Limits::salesforce())),
        ),
    );
    assert_eq!(no_id.identity().await.unwrap(), me);

    let users = sf.list_users().await.unwrap();
    assert!(users.iter().any(|u| u.id == me.user_id && u.active));
    assert!(
        users.iter().any(|u| !u.active),
        "the org has an inactive user"
    );
    assert!(users.iter().all(|u| u.email.contains('@')));

    let contact = sf.describe("Contact").await.unwrap();
    let field = |name: &str| contact.fields.iter().find(|f| f.name == name).unwrap();
    assert_eq!(field("Email").field_type, FieldType::Email);
    assert!(field("Email").writable);
    assert_eq!(field("Id").field_type, FieldType::Id);
    assert!(!field("Id").writable);
    assert!(!field("CreatedDate").writable);
    assert_eq!(field("CreatedDate").field_type, FieldType::DateTime);
    assert_eq!(field("AccountId").field_type, FieldType::Reference);
    let lead = sf.describe("Lead").await.unwrap();
    let status = lead.fields.iter().find(|f| f.name == "Status").unwrap();
    assert_eq!(status.field_type, FieldType::Enumeration);
    assert!(status.options.iter().any(|o| o == "Closed - Converted"));
    assert!(matches!(
        sf.describe("NoSuchObject").await,
        Err(CrmError::NotFound(_))
    ));
    assert!(matches!(
        sf.describe("Contact/../User").await,
        Err(CrmError::Rejected(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_page_through_every_record_once() {
    let sb = sandbox(1_050, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let request = scan("Contact", &["LastName", "Email", "Title"], None);

    // Salesforce's default (and largest) batch: one page.
    let sf = conn.adapter();
    sb.reset_stats();
    let all = scan_all(&sf, &request).await.unwrap();
    assert_eq!(all.len(), 1_050);
    assert_each_once(&all);
    assert_eq!(sb.stats().salesforce, 1);
    assert!(
        all.iter()
            .all(|r| r.created_at.is_some() && r.updated_at.is_some())
    );
    assert!(all.iter().all(|r| prop(r, "LastName").is_some()));
    assert_eq!(sf.api_usage().used_today, Some(1));

    // Pages of 200: six pages, every record once, same records.
    let small = conn.adapter().with_query_batch_size(200);
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let page = small.scan_page(&request, cursor.as_deref()).await.unwrap();
        pages += 1;
        assert!(page.records.len() <= 200);
        paged.extend(page.records);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 6);
    assert_eq!(paged, all);

    // Default properties when none are asked for.
    let page = sf
        .scan_page(&scan("Contact", &[], None), None)
        .await
        .unwrap();
    assert!(page.records[0].properties.contains_key("Email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpointed_cursor_resumes_after_its_locator_is_gone() {
    let sb = sandbox(1_050, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let request = scan("Contact", &["LastName"], None);
    let expected = scan_all(&conn.adapter(), &request).await.unwrap();

    let first = conn.adapter().with_query_batch_size(200);
    let page1 = first.scan_page(&request, None).await.unwrap();
    let checkpoint = page1.cursor.clone().unwrap();
    drop(first);

    // The org keeps a bounded number of open query cursors: 60 other scans evict ours.
    let other = conn.adapter().with_query_batch_size(200);
    for _ in 0..60 {
        assert!(
            other
                .scan_page(&request, None)
                .await
                .unwrap()
                .cursor
                .is_some()
        );
    }

    // A new process resumes from the checkpoint alone.
    sb.reset_stats();
    let resumed = conn.adapter().with_query_batch_size(200);
    let mut records = page1.records;
    let mut cursor = Some(checkpoint);
    while let Some(c) = cursor {
        let page = resumed.scan_page(&request, Some(&c)).await.unwrap();
        records.extend(page.records);
        cursor = page.cursor;
    }
    assert_eq!(records, expected);
    assert_each_once(&records);
    // The dead locator was tried once, then the query re-run after the last id.
    assert_eq!(route(&sb, QUERY_ROUTE), 1);

    // A cursor from another scan, or a forged one, is refused.
    let c = conn
        .adapter()
        .with_query_batch_size(200)
        .scan_page(&request, None)
        .await
        .unwrap()
        .cursor
        .unwrap();
    let other_request = scan("Contact", &["Email"], None);
    assert!(matches!(
        conn.adapter().scan_page(&other_request, Some(&c)).await,
        Err(CrmError::Rejected(_))
    ));
    assert!(matches!(
        conn.adapter()
            .scan_page(&request, Some("sf1.eyJ4Ijox"))
            .await,
        Err(CrmError::Rejected(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_select_what_they_say() {
    let sb = sandbox(400, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let fields = ["LastName", "Email", "MailingCountry", "IsDeleted"];
    let all = scan_all(&sf, &scan("Contact", &fields, None))
        .await
        .unwrap();

    // A value with a quote, a backslash and double quotes, written and then found exactly.
    let nasty = r#"O'Neil \ "Quote""#;
    let target = all[7].id.clone();
    let o = sf
        .batch_update(
            "Contact",
            &[Update {
                id: target.clone(),
                properties: props(&[("LastName", nasty)]),
            }],
        )
        .await
        .unwrap();
    assert_eq!(o[0].error, None);
    let hit = scan_all(
        &sf,
        &scan(
            "Contact",
            &fields,
            Some(Filter::all(vec![Clause::new("LastName", Op::Eq, &[nasty])])),
        ),
    )
    .await
    .unwrap();
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].id, target);
    let all = scan_all(&sf, &scan("Contact", &fields, None))
        .await
        .unwrap();

    // (Email set AND MailingCountry IN two countries) OR LastName = nasty, and a typed
    // boolean and datetime.
    let countries: Vec<String> = all
        .iter()
        .filter_map(|r| prop(r, "MailingCountry"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(2)
        .collect();
    assert_eq!(countries.len(), 2, "the seeded data has countries");
    let c: Vec<&str> = countries.iter().map(String::as_str).collect();
    // SOQL compares text case-insensitively.
    let in_countries = |x: &str| countries.iter().any(|c| c.eq_ignore_ascii_case(x));
    let cutoff = all[all.len() / 2].created_at.unwrap();
    let cutoff_text = cutoff.to_rfc3339();
    let filter = Filter {
        any_of: vec![
            vec![
                Clause::new("Email", Op::HasProperty, &[]),
                Clause::new("MailingCountry", Op::In, &c),
                Clause::new("IsDeleted", Op::Eq, &["false"]),
            ],
            vec![
                Clause::new("LastName", Op::Eq, &[nasty]),
                Clause::new("CreatedDate", Op::Lte, &[&cutoff_text]),
            ],
        ],
    };
    let got = scan_all(&sf, &scan("Contact", &fields, Some(filter)))
        .await
        .unwrap();
    let want: Vec<&Record> = all
        .iter()
        .filter(|r| {
            let country = prop(r, "MailingCountry");
            (prop(r, "Email").is_some()
                && country.is_some_and(|x| in_countries(&x))
                && prop(r, "IsDeleted").as_deref() == Some("false"))
                || (prop(r, "LastName").as_deref() == Some(nasty)
                    && r.created_at.unwrap() <= cutoff)
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got.iter().collect::<Vec<_>>(), want);

    // NotIn and NotHasProperty.
    let got = scan_all(
        &sf,
        &scan(
            "Contact",
            &fields,
            Some(Filter::all(vec![
                Clause::new("MailingCountry", Op::NotIn, &c),
                Clause::new("Email", Op::NotHasProperty, &[]),
            ])),
        ),
    )
    .await
    .unwrap();
    let want: Vec<&Record> = all
        .iter()
        .filter(|r| {
            prop(r, "Email").is_none()
                && prop(r, "MailingCountry").is_none_or(|x| !in_countries(&x))
        })
        .collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), want);

    // Numbers and dates are written as SOQL literals of their type.
    let deals = scan_all(&sf, &scan("Opportunity", &["Amount", "CloseDate"], None))
        .await
        .unwrap();
    let amount = |r: &Record| prop(r, "Amount").map(|a| a.parse::<f64>().unwrap());
    let mut amounts: Vec<f64> = deals.iter().filter_map(amount).collect();
    amounts.sort_by(f64::total_cmp);
    let median = amounts[amounts.len() / 2];
    let close = prop(&deals[0], "CloseDate").unwrap();
    let got = scan_all(
        &sf,
        &scan(
            "Opportunity",
            &["Amount", "CloseDate"],
            Some(Filter {
                any_of: vec![
                    vec![Clause::new("Amount", Op::Gt, &[&median.to_string()])],
                    vec![Clause::new("CloseDate", Op::Eq, &[&close])],
                ],
            }),
        ),
    )
    .await
    .unwrap();
    let want: Vec<&Record> = deals
        .iter()
        .filter(|r| {
            amount(r).is_some_and(|a| a > median) || prop(r, "CloseDate") == Some(close.clone())
        })
        .collect();
    assert!(!want.is_empty() && want.len() < deals.len());
    assert_eq!(got.iter().collect::<Vec<_>>(), want);

    // Names that are not identifiers, and values of the wrong type, never reach SOQL.
    sb.reset_stats();
    for bad in [
        Filter::all(vec![Clause::new("Email != null OR Id", Op::Eq, &["x"])]),
        Filter::all(vec![Clause::new(
            "IsDeleted",
            Op::Eq,
            &["false OR Id != null"],
        )]),
    ] {
        assert!(matches!(
            sf.scan_page(&scan("Contact", &fields, Some(bad)), None)
                .await,
            Err(CrmError::Rejected(_))
        ));
    }
    assert!(matches!(
        sf.scan_page(
            &scan("Contact", &["Email, (SELECT Id FROM Cases)"], None),
            None
        )
        .await,
        Err(CrmError::Rejected(_))
    ));
    assert_eq!(route(&sb, QUERY_ROUTE), 0);
    // A field the org does not have is the CRM's to reject.
    assert!(matches!(
        sf.scan_page(&scan("Contact", &["NoSuchField__c"], None), None)
            .await,
        Err(CrmError::Rejected(m)) if m.contains("INVALID_FIELD")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_id_fails_alone_in_a_collection() {
    let sb = sandbox(50, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let all = scan_all(&sf, &scan("Contact", &["Title"], None))
        .await
        .unwrap();
    let mut updates: Vec<Update> = all[..6]
        .iter()
        .map(|r| Update {
            id: r.id.clone(),
            properties: props(&[("Title", &format!("Chief {}", r.id))]),
        })
        .collect();
    // A well-formed id of no record, a malformed one, and a bad value.
    updates.insert(
        2,
        Update {
            id: "003000000000000".into(),
            properties: props(&[("Title", "x")]),
        },
    );
    updates.insert(
        4,
        Update {
            id: "not-an-id".into(),
            properties: props(&[("Title", "x")]),
        },
    );
    updates[6].properties = props(&[("Email", "not an email")]);
    sb.reset_stats();
    let out = sf.batch_update("Contact", &updates).await.unwrap();
    assert_eq!(route(&sb, UPDATE_ROUTE), 1);
    assert_eq!(out.len(), updates.len());
    for (u, o) in updates.iter().zip(&out) {
        assert_eq!(o.id.as_deref(), Some(u.id.as_str()), "input order");
    }
    let failed: Vec<(usize, &str)> = out
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.error.as_ref().map(|e| (i, e.code.as_str())))
        .collect();
    assert_eq!(failed.len(), 3, "{out:?}");
    assert_eq!(failed[1], (4, "MALFORMED_ID"));
    assert_eq!(failed[2], (6, "INVALID_EMAIL_ADDRESS"));
    assert_eq!(failed[0].0, 2);

    let ids: Vec<String> = updates.iter().map(|u| u.id.clone()).collect();
    let back = sf
        .batch_read("Contact", &ids, &["Title".into()])
        .await
        .unwrap();
    assert_eq!(back.len(), 6, "missing and malformed ids are left out");
    for r in &back {
        let u = updates.iter().position(|u| u.id == r.id).unwrap();
        if u == 6 {
            assert_ne!(prop(r, "Title"), Some(format!("Chief {}", r.id)));
        } else {
            assert_eq!(prop(r, "Title"), Some(format!("Chief {}", r.id)));
        }
    }

    // Create, then delete to the recycle bin; a second delete fails per record.
    let created = create_contacts(&sf, 3, "Temp").await;
    let bad_create = sf
        .batch_create("Contact", &[props(&[("FirstName", "NoLastName")])])
        .await
        .unwrap();
    assert_eq!(bad_create[0].id, None);
    assert_eq!(
        bad_create[0].error.as_ref().unwrap().code,
        "REQUIRED_FIELD_MISSING"
    );
    let out = sf.batch_archive("Contact", &created).await.unwrap();
    assert!(out.iter().all(|o| o.error.is_none()));
    let out = sf.batch_archive("Contact", &created[..1]).await.unwrap();
    assert!(out[0].error.is_some());
    assert!(
        sf.batch_read("Contact", &created, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_refreshed_once_mid_scan() {
    let sb = sandbox(1_050, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = Arc::new(conn.adapter().with_query_batch_size(200));
    let request = scan("Contact", &["LastName"], None);
    let page = sf.scan_page(&request, None).await.unwrap();
    let mut records = page.records;
    let mut cursor = page.cursor;
    sb.expire_tokens();
    sb.reset_stats();
    while let Some(c) = cursor {
        let page = sf.scan_page(&request, Some(&c)).await.unwrap();
        records.extend(page.records);
        cursor = page.cursor;
    }
    assert_eq!(records.len(), 1_050);
    assert_each_once(&records);
    assert_eq!(conn.sink.refreshed.load(Ordering::SeqCst), 1);
    assert_eq!(route(&sb, TOKEN_ROUTE), 1);
    // The refresh answer has no refresh token: the old one is kept.
    let stored = conn.sink.last.lock().unwrap().clone().unwrap();
    assert_eq!(
        stored
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_string()),
        conn.tokens
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_string())
    );
    assert_ne!(
        stored.access_token.expose_secret(),
        conn.tokens.access_token.expose_secret()
    );

    // Concurrent callers that all meet the expired session share one refresh.
    sb.expire_tokens();
    let ids: Vec<String> = records[..20].iter().map(|r| r.id.clone()).collect();
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (sf, ids) = (sf.clone(), ids.clone());
        reads.spawn(async move { sf.batch_read("Contact", &ids, &[]).await });
    }
    while let Some(r) = reads.join_next().await {
        assert_eq!(r.unwrap().unwrap().len(), 20);
    }
    assert_eq!(conn.sink.refreshed.load(Ordering::SeqCst), 2);

    // The identity service's 403 Bad_OAuth_Token is an expired session too.
    sb.expire_tokens();
    assert!(sf.identity().await.is_ok());
    assert_eq!(conn.sink.refreshed.load(Ordering::SeqCst), 3);

    // The SOAP API's INVALID_SESSION_ID fault is refreshed the same way.
    sb.expire_tokens();
    let out = sf
        .merge(
            "Contact",
            &[MergeGroup {
                primary_id: ids[0].clone(),
                duplicate_ids: vec![ids[1].clone()],
            }],
        )
        .await
        .unwrap();
    assert_eq!(out[0].error, None);
    assert_eq!(conn.sink.refreshed.load(Ordering::SeqCst), 4);

    // A dead refresh token: Auth, and no second try.
    let dead = Conn {
        tokens: Tokens {
            access_token: SecretString::from("expired"),
            refresh_token: Some(SecretString::from("revoked")),
            expires_at: None,
        },
        ..conn
    };
    let sf = dead.adapter();
    sb.reset_stats();
    assert!(matches!(sf.list_users().await, Err(CrmError::Auth(_))));
    assert!(matches!(sf.list_users().await, Err(CrmError::Auth(_))));
    assert_eq!(route(&sb, TOKEN_ROUTE), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_org_still_completes_scans_and_updates() {
    let sb = sandbox(600, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter().with_query_batch_size(200);
    let request = scan("Contact", &["Title"], None);
    let expected = scan_all(&sf, &request).await.unwrap();
    sb.reset_stats();
    sb.set_faults(Faults {
        rate_5xx: 0.2,
        ..Faults::default()
    });
    for _ in 0..5 {
        let got = scan_all(&sf, &request).await.unwrap();
        assert_eq!(got, expected);
    }
    let updates: Vec<Update> = expected
        .iter()
        .map(|r| Update {
            id: r.id.clone(),
            properties: props(&[("Title", "Flaky but done")]),
        })
        .collect();
    // At least five rounds, and more until the dice have injected a fault.
    for round in 0..40 {
        if round >= 5 && sb.stats().injected_5xx > 0 {
            break;
        }
        let out = sf.batch_update("Contact", &updates).await.unwrap();
        assert!(out.iter().all(|o| o.error.is_none()));
    }
    // Every fault on an idempotent call was retried, once.
    let injected = sb.stats().injected_5xx;
    assert!(injected > 0, "no fault injected: {:?}", sb.stats());
    assert_eq!(sf.api_usage().retries, injected);
    // Creates are not resent after a failure that may have acted: those come back AMBIGUOUS.
    let mut outcomes = Vec::new();
    for round in 0..20 {
        let records: Vec<Properties> = (0..10)
            .map(|i| props(&[("LastName", &format!("Flaky {round}-{i}"))]))
            .collect();
        outcomes.extend(sf.batch_create("Contact", &records).await.unwrap());
    }
    sb.set_faults(Faults::default());
    let created = outcomes.iter().filter(|o| o.error.is_none()).count();
    let ambiguous = outcomes
        .iter()
        .filter(|o| o.id.is_none() && o.error.as_ref().is_some_and(|e| e.code == "AMBIGUOUS"))
        .count();
    assert_eq!(created + ambiguous, 200);
    let flaky = scan_all(&sf, &scan("Contact", &["LastName"], None))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| prop(r, "LastName").is_some_and(|n| n.starts_with("Flaky ")))
        .count();
    assert_eq!(
        flaky, created,
        "the sandbox faults before acting: nothing ambiguous was created"
    );
    let ids: Vec<String> = expected.iter().map(|r| r.id.clone()).collect();
    let back = sf
        .batch_read("Contact", &ids, &["Title".into()])
        .await
        .unwrap();
    assert_eq!(back.len(), expected.len());
    assert!(
        back.iter()
            .all(|r| prop(r, "Title").as_deref() == Some("Flaky but done"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_pack_requests_into_the_fewest_calls() {
    let sb = sandbox(20, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let ids = create_contacts(&sf, 1_008, "Merge").await;

    // Master + 2: one request, one call.
    sb.reset_stats();
    let g = MergeGroup {
        primary_id: ids[0].clone(),
        duplicate_ids: ids[1..3].to_vec(),
    };
    let out = sf.merge("Contact", std::slice::from_ref(&g)).await.unwrap();
    assert_eq!(route(&sb, SOAP_ROUTE), 1);
    assert_eq!(out[0].error, None);
    assert_eq!(out[0].surviving_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(out[0].merged_ids, ids[1..3].to_vec());
    assert!(gone(&sf, &ids[1..3]).await);
    assert_eq!(
        sf.batch_read("Contact", &ids[..1], &[])
            .await
            .unwrap()
            .len(),
        1
    );

    // Master + 4: two requests for the same master, in two calls.
    sb.reset_stats();
    let g = MergeGroup {
        primary_id: ids[3].clone(),
        duplicate_ids: ids[4..8].to_vec(),
    };
    let out = sf.merge("Contact", &[g]).await.unwrap();
    assert_eq!(route(&sb, SOAP_ROUTE), 2);
    assert_eq!(out[0].error, None);
    assert_eq!(out[0].merged_ids, ids[4..8].to_vec());
    assert!(gone(&sf, &ids[4..8]).await);

    // 200 pairs: one call. 300 pairs: the floor of two.
    let pairs = |from: usize, n: usize| -> Vec<MergeGroup> {
        (0..n)
            .map(|i| MergeGroup {
                primary_id: ids[from + 2 * i].clone(),
                duplicate_ids: vec![ids[from + 2 * i + 1].clone()],
            })
            .collect()
    };
    for (from, n, calls) in [(8, 200, 1), (408, 300, 2)] {
        sb.reset_stats();
        let before = sf.api_usage().calls;
        let out = sf.merge("Contact", &pairs(from, n)).await.unwrap();
        assert_eq!(route(&sb, SOAP_ROUTE), calls);
        assert_eq!(sf.api_usage().calls - before, calls);
        assert_eq!(out.len(), n);
        for (i, o) in out.iter().enumerate() {
            assert_eq!(o.error, None);
            assert_eq!(o.primary_id, ids[from + 2 * i]);
            assert_eq!(o.merged_ids, vec![ids[from + 2 * i + 1].clone()]);
        }
    }
    let losers: Vec<String> = (0..500).map(|i| ids[9 + 2 * i].clone()).collect();
    assert!(gone(&sf, &losers).await);
    // The org's SOAP LimitInfoHeader kept the usage current.
    assert!(sf.api_usage().used_today.unwrap() > 1_000 / 200);

    // Per-request failures: a deleted duplicate, a malformed id.
    let out = sf
        .merge(
            "Contact",
            &[
                MergeGroup {
                    primary_id: ids[0].clone(),
                    duplicate_ids: vec![ids[1].clone()],
                },
                MergeGroup {
                    primary_id: ids[0].clone(),
                    duplicate_ids: vec!["bad id".into()],
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(out[0].error.as_ref().unwrap().code, "ENTITY_IS_DELETED");
    assert_eq!(out[0].surviving_id, None);
    assert_eq!(out[1].error.as_ref().unwrap().code, "MALFORMED_ID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_of_unknown_outcome_is_checked_not_resent() {
    let sb = sandbox(20, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let ids = create_contacts(&sf, 120, "Check").await;
    sb.set_faults(Faults {
        rate_5xx: 0.3,
        ..Faults::default()
    });
    let mut codes = HashSet::new();
    let mut results = Vec::new();
    for i in 0..60 {
        let g = MergeGroup {
            primary_id: ids[2 * i].clone(),
            duplicate_ids: vec![ids[2 * i + 1].clone()],
        };
        let out = sf.merge("Contact", &[g]).await.unwrap();
        codes.insert(out[0].error.as_ref().map(|e| e.code.clone()));
        results.push(out.into_iter().next().unwrap());
    }
    sb.set_faults(Faults::default());
    // The sandbox injects faults before acting: a failed call never merged anything.
    assert!(
        codes.contains(&Some("NOT_APPLIED".to_string())),
        "{codes:?}"
    );
    assert!(codes.contains(&None));
    for (i, o) in results.iter().enumerate() {
        let dup = vec![ids[2 * i + 1].clone()];
        let live = sf.batch_read("Contact", &dup, &[]).await.unwrap().len() == 1;
        match o.error.as_ref().map(|e| e.code.as_str()) {
            None => assert!(!live && o.merged_ids == dup),
            Some("NOT_APPLIED") => assert!(live && o.merged_ids.is_empty()),
            Some(other) => assert_eq!(other, "AMBIGUOUS"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_convert_into_accounts_and_contacts() {
    let sb = sandbox(150, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let open = scan_all(
        &sf,
        &scan(
            "Lead",
            &["LastName", "Company", "IsConverted"],
            Some(Filter::all(vec![Clause::new(
                "IsConverted",
                Op::Eq,
                &["false"],
            )])),
        ),
    )
    .await
    .unwrap();
    assert!(open.len() >= 20, "{} open leads", open.len());
    assert!(
        open.iter()
            .all(|r| prop(r, "IsConverted").as_deref() == Some("false"))
    );
    let convert = |r: &Record, status: &str, opp: bool| LeadConvert {
        lead_id: r.id.clone(),
        converted_status: status.into(),
        account_id: None,
        contact_id: None,
        create_opportunity: opp,
    };
    sb.reset_stats();
    let out = sf
        .convert_leads(&[
            convert(&open[0], "Closed - Converted", false),
            convert(&open[1], "Open - Not Contacted <&>", false),
            convert(&open[2], "Closed - Converted", true),
        ])
        .await
        .unwrap();
    assert_eq!(route(&sb, SOAP_ROUTE), 1);
    assert_eq!(out[0].error, None, "{out:?}");
    assert_eq!(out[0].lead_id, open[0].id);
    let account = out[0].account_id.clone().unwrap();
    let contact = out[0].contact_id.clone().unwrap();
    assert!(account.starts_with("001") && contact.starts_with("003"));
    assert_eq!(out[0].opportunity_id, None);
    assert_eq!(out[1].error.as_ref().unwrap().code, "INVALID_STATUS");
    assert!(out[2].opportunity_id.as_deref().unwrap().starts_with("006"));

    let lead = sf
        .batch_read(
            "Lead",
            std::slice::from_ref(&open[0].id),
            &[
                "IsConverted".into(),
                "ConvertedAccountId".into(),
                "ConvertedContactId".into(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(prop(&lead[0], "IsConverted").as_deref(), Some("true"));
    assert_eq!(prop(&lead[0], "ConvertedAccountId"), Some(account.clone()));
    assert_eq!(prop(&lead[0], "ConvertedContactId"), Some(contact.clone()));
    let c = sf
        .batch_read(
            "Contact",
            &[contact],
            &["AccountId".into(), "LastName".into()],
        )
        .await
        .unwrap();
    assert_eq!(prop(&c[0], "AccountId"), Some(account.clone()));
    assert_eq!(prop(&c[0], "LastName"), prop(&open[0], "LastName"));
    let a = sf
        .batch_read("Account", &[account], &["Name".into()])
        .await
        .unwrap();
    assert_eq!(prop(&a[0], "Name"), prop(&open[0], "Company"));

    // A conversion of unknown outcome is checked against the lead, not resent.
    sb.set_faults(Faults {
        rate_5xx: 0.3,
        ..Faults::default()
    });
    let mut checked = Vec::new();
    for r in &open[3..] {
        let out = sf
            .convert_leads(&[convert(r, "Closed - Converted", false)])
            .await
            .unwrap();
        checked.push(out.into_iter().next().unwrap());
    }
    sb.set_faults(Faults::default());
    let ids: Vec<String> = open[3..].iter().map(|r| r.id.clone()).collect();
    let leads = sf
        .batch_read(
            "Lead",
            &ids,
            &["IsConverted".into(), "ConvertedContactId".into()],
        )
        .await
        .unwrap();
    assert_eq!(leads.len(), ids.len());
    for (o, lead) in checked.iter().zip(&leads) {
        assert_eq!(o.lead_id, lead.id);
        let converted = prop(lead, "IsConverted").as_deref() == Some("true");
        match o.error.as_ref().map(|e| e.code.as_str()) {
            None => assert!(converted && o.contact_id == prop(lead, "ConvertedContactId")),
            Some("NOT_APPLIED") => assert!(!converted),
            Some(other) => assert_eq!(other, "AMBIGUOUS"),
        }
    }

    // Converting again fails per lead.
    let again = sf
        .convert_leads(&[convert(&open[0], "Closed - Converted", false)])
        .await
        .unwrap();
    assert_eq!(
        again[0].error.as_ref().unwrap().code,
        "CANNOT_UPDATE_CONVERTED_LEAD"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_updates_cost_five_calls() {
    let sb = sandbox(1_050, SalesforceLimits::default()).await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let all = scan_all(&sf, &scan("Contact", &["Title"], None))
        .await
        .unwrap();
    let updates: Vec<Update> = all[..1_000]
        .iter()
        .enumerate()
        .map(|(i, r)| Update {
            id: r.id.clone(),
            properties: props(&[("Title", &format!("Title {i}"))]),
        })
        .collect();
    sb.reset_stats();
    let before = sf.api_usage();
    let out = sf.batch_update("Contact", &updates).await.unwrap();
    let after = sf.api_usage();
    assert_eq!(out.len(), 1_000);
    assert!(
        out.iter()
            .zip(&updates)
            .all(|(o, u)| o.error.is_none() && o.id.as_deref() == Some(u.id.as_str()))
    );
    assert_eq!(after.calls - before.calls, 5);
    assert_eq!(sb.stats().salesforce, 5);
    assert_eq!(route(&sb, UPDATE_ROUTE), 5);
    assert_eq!(after.used_today, Some(before.used_today.unwrap() + 5));
    assert_eq!(after.daily_limit, Some(SalesforceLimits::default().daily));

    // Reading them back: 200 ids per call.
    sb.reset_stats();
    let ids: Vec<String> = updates.iter().map(|u| u.id.clone()).collect();
    let back = sf
        .batch_read("Contact", &ids, &["Title".into()])
        .await
        .unwrap();
    assert_eq!(sb.stats().salesforce, 5);
    assert_eq!(back.len(), 1_000);
    for (i, r) in back.iter().enumerate() {
        assert_eq!(prop(r, "Title"), Some(format!("Title {i}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_limit_stops_with_quota() {
    let sb = sandbox(
        20,
        SalesforceLimits {
            daily: 10,
            ..SalesforceLimits::default()
        },
    )
    .await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter();
    let request = scan("User", &["Email"], None);
    let mut ok = 0;
    let err = loop {
        match sf.scan_page(&request, None).await {
            Ok(_) => ok += 1,
            Err(e) => break e,
        }
        assert!(ok <= 10);
    };
    assert!(matches!(err, CrmError::Quota(_)), "{err:?}");
    assert_eq!(ok, 10);
    // A connection that has not seen the usage yet gets the org's 403, not retried.
    let fresh = conn.adapter();
    sb.reset_stats();
    let err = fresh.scan_page(&request, None).await.unwrap_err();
    assert!(
        matches!(err, CrmError::Quota(ref m) if m.contains("TotalRequests")),
        "{err:?}"
    );
    assert_eq!(sb.stats().salesforce, 1);
    assert_eq!(fresh.api_usage().calls, 1);
    assert_eq!(fresh.api_usage().used_today, Some(10));
    // The SOAP API says the same with a fault.
    let err = fresh
        .merge(
            "Contact",
            &[MergeGroup {
                primary_id: "003000000000001".into(),
                duplicate_ids: vec!["003000000000002".into()],
            }],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::Quota(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reserve_stops_a_run_before_the_limit() {
    let sb = sandbox(
        20,
        SalesforceLimits {
            daily: 100,
            ..SalesforceLimits::default()
        },
    )
    .await;
    let conn = Conn::open(&sb).await;
    let sf = conn.adapter_with(Limits {
        reserve: Reserve::Percent(30),
        ..Limits::salesforce()
    });
    let request = scan("User", &["Email"], None);
    sb.reset_stats();
    let err = loop {
        if let Err(e) = sf.scan_page(&request, None).await {
            break e;
        }
    };
    assert!(
        matches!(err, CrmError::Quota(ref m) if m.contains("reserved")),
        "{err:?}"
    );
    let usage = sf.api_usage();
    assert_eq!(usage.used_today, Some(70));
    assert_eq!(usage.calls, 70);
    assert_eq!(sb.stats().salesforce, 70);
    // The other 30 are still there for the customer's other tools.
    let other = conn.adapter();
    assert!(other.scan_page(&request, None).await.is_ok());
}
