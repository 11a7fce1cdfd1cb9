//! Wire-level tests of the HubSpot sandbox: a real server on a free port, driven with
//! reqwest the way a connector drives api.hubapi.com.

use reqwest::{Client, Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use std::collections::BTreeSet;

use super::{PORTAL_ID, PRIVATE_APP_TOKEN};
use crate::config::{HubSpotLimits, SandboxConfig};
use crate::{CLIENT_ID, CLIENT_SECRET, Sandbox};

const PAT: &str = PRIVATE_APP_TOKEN;
const REDIRECT: &str = "http://localhost:9999/callback";

/// Limits generous enough that only tests about limits ever meet them.
fn relaxed() -> HubSpotLimits {
    HubSpotLimits {
        enforce: false,
        search_per_sec: 1000,
        ..HubSpotLimits::default()
    }
}

async fn start(limits: HubSpotLimits) -> Sandbox {
    Sandbox::start(SandboxConfig {
        records: 200,
        hubspot: limits,
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// One client for every test: building one (TLS roots) costs more than a request. No
/// pooled connections, since each test runs its own runtime.
fn client() -> Client {
    static CLIENT: std::sync::LazyLock<Client> = std::sync::LazyLock::new(|| {
        steward_shared::tls::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .expect("client")
    });
    CLIENT.clone()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn call(
    sb: &Sandbox,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = client().request(method, format!("{}{path}", sb.hubspot_base()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(sb: &Sandbox, path: &str) -> Reply {
    call(sb, Method::GET, path, Some(PAT), None).await
}

async fn post(sb: &Sandbox, path: &str, body: Value) -> Reply {
    call(sb, Method::POST, path, Some(PAT), Some(body)).await
}

async fn form(sb: &Sandbox, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
        .collect();
    client()
        .post(format!("{}{path}", sb.hubspot_base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .expect("form post")
}

fn header(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn assert_error(r: &Reply, status: u16, category: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["status"], "error", "{}", r.body);
    assert_eq!(r.body["category"], category, "{}", r.body);
    assert!(
        r.body["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36),
        "{}",
        r.body
    );
}

/// Logs in through the authorize form and returns the redirect's query pairs.
async fn authorize(sb: &Sandbox, scope: &str, challenge: Option<&str>) -> Vec<(String, String)> {
    let user = sb
        .state
        .hubspot()
        .users
        .iter()
        .find(|u| u.active)
        .map(|u| u.id)
        .expect("an active user");
    let user = user.to_string();
    let mut fields = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st-123"),
        ("user_id", user.as_str()),
    ];
    if let Some(c) = challenge {
        fields.push(("code_challenge", c));
        fields.push(("code_challenge_method", "S256"));
    }
    let resp = form(sb, "/oauth/authorize", &fields).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let query = location
        .strip_prefix(&format!("{REDIRECT}?"))
        .expect("redirects to the app");
    super::api::Params::parse(Some(query)).0
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

async fn exchange(
    sb: &Sandbox,
    version: &str,
    code: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value) {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("redirect_uri", REDIRECT),
        ("code", code),
    ];
    if let Some(v) = verifier {
        fields.push(("code_verifier", v));
    }
    let resp = form(sb, &format!("/oauth/{version}/token"), &fields).await;
    (resp.status(), resp.json().await.expect("json"))
}

async fn refresh(sb: &Sandbox, token: &str) -> (StatusCode, Value) {
    let fields = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("refresh_token", token),
    ];
    let resp = form(sb, "/oauth/v1/token", &fields).await;
    (resp.status(), resp.json().await.expect("json"))
}

async fn oauth_token(sb: &Sandbox, scope: &str) -> Value {
    let code = pair(&authorize(sb, scope, None).await, "code").to_string();
    let (status, body) = exchange(sb, "v1", &code, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn contact(i: usize, tag: &str) -> Value {
    json!({ "properties": {
        "email": format!("{tag}{i}@example.org"),
        "firstname": format!("First{i}"),
        "lastname": tag,
    }})
}

/// Creates `n` contacts through batch create (100 per call); returns their ids.
async fn create_contacts(sb: &Sandbox, n: usize, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let all: Vec<Value> = (0..n).map(|i| contact(i, tag)).collect();
    for chunk in all.chunks(100) {
        let r = post(
            sb,
            "/crm/v3/objects/contacts/batch/create",
            json!({ "inputs": chunk }),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        for rec in r.body["results"].as_array().expect("results") {
            ids.push(rec["id"].as_str().expect("id").to_string());
        }
    }
    ids
}

#[tokio::test]
async fn paging_contacts_to_the_end() {
    let sb = start(relaxed()).await;
    let seeded = sb
        .state
        .hubspot()
        .store(super::ObjectType::Contacts)
        .live
        .len();
    let created = create_contacts(&sb, 250, "pager").await;
    assert_eq!(created.len(), 250);

    let mut seen = Vec::new();
    let mut path =
        "/crm/v3/objects/contacts?limit=100&properties=email,firstname&properties=phone,nosuchprop"
            .to_string();
    loop {
        let r = get(&sb, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for rec in r.body["results"].as_array().expect("results") {
            let props = rec["properties"].as_object().expect("properties");
            let names: BTreeSet<&str> = props.keys().map(String::as_str).collect();
            let want: BTreeSet<&str> = [
                "email",
                "firstname",
                "phone",
                "createdate",
                "hs_object_id",
                "lastmodifieddate",
            ]
            .into();
            assert_eq!(names, want);
            assert_eq!(rec["archived"], false);
            assert!(
                rec["createdAt"]
                    .as_str()
                    .is_some_and(|t| t.ends_with('Z') && t.len() == 24)
            );
            seen.push(
                rec["id"]
                    .as_str()
                    .expect("id")
                    .parse::<u64>()
                    .expect("numeric id"),
            );
        }
        match r.body.get("paging") {
            None => break,
            Some(p) => {
                let after = p["next"]["after"].as_str().expect("after");
                assert!(
                    p["next"]["link"]
                        .as_str()
                        .is_some_and(|l| l.contains(&format!("after={after}")))
                );
                path = format!(
                    "/crm/v3/objects/contacts?limit=100&properties=email,firstname,phone&after={after}"
                );
            }
        }
    }
    assert_eq!(seen.len(), seeded + 250);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ascending id order");

    // Defaults when nothing is requested, and the 0-1 alias.
    let r = get(&sb, "/crm/v3/objects/0-1?limit=1").await;
    let names: BTreeSet<String> = r.body["results"][0]["properties"]
        .as_object()
        .expect("props")
        .keys()
        .cloned()
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(r.body["paging"]["next"]["after"].is_string());

    assert_error(
        &get(&sb, "/crm/v3/objects/contacts?limit=101").await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &get(&sb, "/crm/v3/objects/contacts?after=abc").await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &get(&sb, "/crm/v3/objects/widgets").await,
        400,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn token_flow_with_pkce_and_refresh() {
    let sb = start(relaxed()).await;
    let http = client();

    let page = http
        .get(format!(
            "{}/oauth/authorize?client_id={CLIENT_ID}&redirect_uri={}&scope=crm.objects.contacts.read%20oauth&state=x",
            sb.hubspot_base(),
            urlencoding::encode(REDIRECT)
        ))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Log in as"), "{html}");
    let bad = http
        .get(format!(
            "{}/oauth/authorize?client_id=nope&redirect_uri={REDIRECT}",
            sb.hubspot_base()
        ))
        .send()
        .await
        .expect("page");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );

    // PKCE: challenge = base64url(SHA-256(verifier)), computed independently.
    let verifier = "dBjftJeZ4CVP-mJ0bA-kNjvLYI2yJz1AzVdzz-yrX0M";
    let challenge = "87uGPNsC_L_F-6bNPfBfFDLdheb0xc7SMWZdueEcveo";
    let redirect = authorize(&sb, "crm.objects.contacts.read", Some(challenge)).await;
    assert_eq!(pair(&redirect, "state"), "st-123");
    let code = pair(&redirect, "code").to_string();
    let (status, body) = exchange(&sb, "v3", &code, Some("not-the-verifier")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "BAD_AUTH_CODE");
    assert!(body["correlationId"].is_string());
    let (status, _) = exchange(&sb, "v3", &code, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, tokens) = exchange(&sb, "v3", &code, Some(verifier)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 1800);
    assert_eq!(tokens["hub_id"], PORTAL_ID);
    assert!(tokens["user_id"].is_u64());
    let scopes: Vec<&str> = tokens["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(scopes.contains(&"crm.objects.contacts.read") && scopes.contains(&"oauth"));
    // Single use.
    let (status, body) = exchange(&sb, "v3", &code, Some(verifier)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_AUTH_CODE"))
    );

    let access = tokens["access_token"].as_str().expect("access").to_string();
    let rt = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let r = call(
        &sb,
        Method::GET,
        "/account-info/v3/details",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["portalId"], PORTAL_ID);

    let info = http
        .get(format!(
            "{}/oauth/v1/access-tokens/{access}",
            sb.hubspot_base()
        ))
        .send()
        .await
        .expect("info");
    let info: Value = info.json().await.expect("json");
    assert_eq!(info["hub_id"], PORTAL_ID);
    assert_eq!(info["user_id"], tokens["user_id"]);
    assert_eq!(info["token_type"], "access");
    assert!(info["user"].as_str().is_some_and(|u| u.contains('@')));

    let (status, again) = refresh(&sb, &rt).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["refresh_token"], rt.as_str());
    assert_ne!(again["access_token"], access.as_str());
    let (status, body) = refresh(&sb, "na1-nope").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_REFRESH_TOKEN"))
    );

    // Redirect URI must match; client id must be ours.
    let code = pair(&authorize(&sb, "oauth", None).await, "code").to_string();
    let resp = form(
        &sb,
        "/oauth/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", "http://elsewhere/cb"),
            ("code", &code),
        ],
    )
    .await;
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "BAD_REDIRECT_URI");
    let resp = form(
        &sb,
        "/oauth/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "x"),
            ("code", &code),
        ],
    )
    .await;
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "BAD_CLIENT_ID");

    // Deactivated users are listed but cannot log in.
    let inactive = sb
        .state
        .hubspot()
        .users
        .iter()
        .find(|u| !u.active)
        .map(|u| u.id.to_string());
    if let Some(id) = inactive {
        let resp = form(
            &sb,
            "/oauth/authorize",
            &[
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT),
                ("user_id", &id),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(html.contains("disabled"));
    }
}

#[tokio::test]
async fn expired_and_missing_tokens_get_401() {
    let sb = start(relaxed()).await;
    let tokens = oauth_token(&sb, "crm.objects.contacts.read").await;
    let access = tokens["access_token"].as_str().expect("access");
    let r = call(
        &sb,
        Method::GET,
        "/crm/v3/objects/contacts",
        Some(access),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    sb.expire_tokens();
    assert_error(
        &call(
            &sb,
            Method::GET,
            "/crm/v3/objects/contacts",
            Some(access),
            None,
        )
        .await,
        401,
        "EXPIRED_AUTHENTICATION",
    );
    let (status, fresh) = refresh(&sb, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(status, StatusCode::OK);
    let r = call(
        &sb,
        Method::GET,
        "/crm/v3/objects/contacts",
        fresh["access_token"].as_str(),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // The static private-app token survives expiry.
    assert_eq!(
        get(&sb, "/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );

    assert_error(
        &call(&sb, Method::GET, "/crm/v3/objects/contacts", None, None).await,
        401,
        "INVALID_AUTHENTICATION",
    );
    assert_error(
        &call(
            &sb,
            Method::GET,
            "/crm/v3/objects/contacts",
            Some("sbx-at-na1-unknown"),
            None,
        )
        .await,
        401,
        "INVALID_AUTHENTICATION",
    );
    // A token without the scope.
    assert_error(
        &call(
            &sb,
            Method::GET,
            "/crm/v3/owners/",
            fresh["access_token"].as_str(),
            None,
        )
        .await,
        403,
        "MISSING_SCOPES",
    );

    // Tokens die on the wall clock too.
    let sb = start(HubSpotLimits {
        token_ttl_secs: 0,
        ..relaxed()
    })
    .await;
    let tokens = oauth_token(&sb, "oauth").await;
    assert_eq!(tokens["expires_in"], 0);
    let r = call(
        &sb,
        Method::GET,
        "/account-info/v3/details",
        tokens["access_token"].as_str(),
        None,
    )
    .await;
    assert_error(&r, 401, "EXPIRED_AUTHENTICATION");
}

#[tokio::test]
async fn crud_validation_and_conflicts() {
    let sb = start(relaxed()).await;
    let r = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "email": "crud@example.org", "firstname": "Cru" } }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    assert_eq!(r.body["properties"]["hs_object_id"], id.as_str());
    let created = r.body["properties"]["createdate"]
        .as_str()
        .expect("createdate")
        .to_string();

    let dup = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "email": "CRUD@example.org" } }),
    )
    .await;
    assert_error(&dup, 409, "CONFLICT");
    assert_eq!(
        dup.body["message"],
        format!("Contact already exists. Existing ID: {id}")
    );

    let bad = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "favourite_colour": "red" } }),
    )
    .await;
    assert_error(&bad, 400, "VALIDATION_ERROR");
    assert!(
        bad.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("PROPERTY_DOESNT_EXIST"))
    );
    let ro = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "hs_object_id": "5" } }),
    )
    .await;
    assert_error(&ro, 400, "VALIDATION_ERROR");
    let email = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "email": "not an email" } }),
    )
    .await;
    assert_error(&email, 400, "VALIDATION_ERROR");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let upd = call(
        &sb,
        Method::PATCH,
        &format!("/crm/v3/objects/contacts/{id}"),
        Some(PAT),
        Some(json!({ "properties": { "lastname": "Crud", "firstname": "" } })),
    )
    .await;
    assert_eq!(upd.status, StatusCode::OK, "{}", upd.body);
    let modified = upd.body["properties"]["lastmodifieddate"]
        .as_str()
        .expect("modified");
    assert!(modified > created.as_str());
    assert_eq!(upd.body["updatedAt"], modified);
    let read = get(
        &sb,
        &format!("/crm/v3/objects/contacts/{id}?properties=firstname,lastname"),
    )
    .await;
    assert_eq!(read.body["properties"]["lastname"], "Crud");
    assert_eq!(read.body["properties"]["firstname"], Value::Null);
    let by_email = get(
        &sb,
        "/crm/v3/objects/contacts/crud@example.org?idProperty=email",
    )
    .await;
    assert_eq!(by_email.body["id"], id.as_str());

    let missing = call(
        &sb,
        Method::PATCH,
        "/crm/v3/objects/contacts/999999999",
        Some(PAT),
        Some(json!({ "properties": { "lastname": "x" } })),
    )
    .await;
    assert_error(&missing, 404, "OBJECT_NOT_FOUND");

    let del = call(
        &sb,
        Method::DELETE,
        &format!("/crm/v3/objects/contacts/{id}"),
        Some(PAT),
        None,
    )
    .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_error(
        &get(&sb, &format!("/crm/v3/objects/contacts/{id}")).await,
        404,
        "OBJECT_NOT_FOUND",
    );
    let archived = get(&sb, &format!("/crm/v3/objects/contacts/{id}?archived=true")).await;
    assert_eq!(archived.body["archived"], true);
    // The email is free again once archived.
    let again = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "email": "crud@example.org" } }),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);

    // Deals: enumerations are checked, dates normalised to ISO.
    let deal = post(
        &sb,
        "/crm/v3/objects/0-3",
        json!({ "properties": { "dealname": "D", "amount": 1200.5, "dealstage": "closedwon", "closedate": "1704067200000" } }),
    )
    .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.body);
    assert_eq!(
        deal.body["properties"]["closedate"],
        "2024-01-01T00:00:00.000Z"
    );
    assert_eq!(deal.body["properties"]["amount"], "1200.5");
    let bad_stage = post(
        &sb,
        "/crm/v3/objects/deals",
        json!({ "properties": { "dealstage": "won-ish" } }),
    )
    .await;
    assert_error(&bad_stage, 400, "VALIDATION_ERROR");
    assert!(
        bad_stage.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("INVALID_OPTION"))
    );
    let bad_json = client()
        .post(format!("{}/crm/v3/objects/deals", sb.hubspot_base()))
        .bearer_auth(PAT)
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_limits_and_partial_failures() {
    let sb = start(relaxed()).await;
    let ids = create_contacts(&sb, 3, "batch").await;

    let upd = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({ "inputs": [
            { "id": ids[0], "properties": { "jobtitle": "CTO" } },
            { "id": "999999999", "properties": { "jobtitle": "CEO" } },
        ]}),
    )
    .await;
    assert_eq!(upd.status, StatusCode::MULTI_STATUS, "{}", upd.body);
    assert_eq!(upd.body["status"], "COMPLETE");
    assert_eq!(upd.body["numErrors"], 1);
    assert_eq!(upd.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        upd.body["errors"][0]["context"]["ids"],
        json!(["999999999"])
    );
    assert_eq!(upd.body["results"][0]["properties"]["jobtitle"], "CTO");

    let ok = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({ "inputs": [{ "id": ids[1], "properties": { "jobtitle": "VP" } }] }),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.body.get("numErrors").is_none());

    let too_many: Vec<Value> = (0..101).map(|i| json!({ "id": i.to_string() })).collect();
    for op in ["read", "update", "archive"] {
        let r = post(
            &sb,
            &format!("/crm/v3/objects/contacts/batch/{op}"),
            json!({ "inputs": too_many }),
        )
        .await;
        assert_error(&r, 400, "VALIDATION_ERROR");
    }
    let big: Vec<Value> = (0..101).map(|i| contact(i, "big")).collect();
    assert_error(
        &post(
            &sb,
            "/crm/v3/objects/contacts/batch/create",
            json!({ "inputs": big }),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );

    let read = post(
        &sb,
        "/crm/v3/objects/contacts/batch/read",
        json!({ "properties": ["jobtitle"], "inputs": [{ "id": ids[0] }, { "id": "424242" }] }),
    )
    .await;
    assert_eq!(read.status, StatusCode::MULTI_STATUS);
    assert_eq!(read.body["results"][0]["properties"]["jobtitle"], "CTO");
    assert_eq!(read.body["errors"][0]["context"]["ids"], json!(["424242"]));

    // All-or-nothing create: an existing email fails the whole batch.
    let before = sb
        .state
        .hubspot()
        .store(super::ObjectType::Contacts)
        .live
        .len();
    let dup = post(
        &sb,
        "/crm/v3/objects/contacts/batch/create",
        json!({ "inputs": [contact(0, "batch"), contact(77, "fresh")] }),
    )
    .await;
    assert_error(&dup, 409, "CONFLICT");
    assert_eq!(
        sb.state
            .hubspot()
            .store(super::ObjectType::Contacts)
            .live
            .len(),
        before
    );
    // Multi-status create with objectWriteTraceId.
    let mut a = contact(0, "batch");
    a["objectWriteTraceId"] = json!("t1");
    let mut b = contact(78, "fresh");
    b["objectWriteTraceId"] = json!("t2");
    let multi = post(
        &sb,
        "/crm/v3/objects/contacts/batch/create",
        json!({ "inputs": [a, b] }),
    )
    .await;
    assert_eq!(multi.status, StatusCode::MULTI_STATUS, "{}", multi.body);
    assert_eq!(multi.body["numErrors"], 1);
    assert_eq!(multi.body["errors"][0]["category"], "CONFLICT");
    assert_eq!(
        multi.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["t1"])
    );
    assert_eq!(multi.body["results"].as_array().map(Vec::len), Some(1));

    let arch = post(
        &sb,
        "/crm/v3/objects/contacts/batch/archive",
        json!({ "inputs": [{ "id": ids[2] }, { "id": "5" }] }),
    )
    .await;
    assert_eq!(arch.status, StatusCode::NO_CONTENT);
    assert_error(
        &get(&sb, &format!("/crm/v3/objects/contacts/{}", ids[2])).await,
        404,
        "OBJECT_NOT_FOUND",
    );
}

#[tokio::test]
async fn search_filters_sorts_paging_and_cap() {
    let sb = start(relaxed()).await;
    let mut inputs = Vec::new();
    for i in 0..25 {
        let mut c = contact(i, "srch");
        c["properties"]["jobtitle"] = json!(if i % 5 == 0 {
            "Chief Executive"
        } else {
            "Engineer"
        });
        if i % 2 == 0 {
            c["properties"]["phone"] = json!(format!("+1 555 01{i:02}"));
        }
        inputs.push(c);
    }
    let r = post(
        &sb,
        "/crm/v3/objects/contacts/batch/create",
        json!({ "inputs": inputs }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // What search finds once the new contacts have reached its index.
    sb.settle_search();
    let mine = json!({ "propertyName": "lastname", "operator": "EQ", "value": "SRCH" });
    let search = |body: Value| {
        let sb = &sb;
        async move { post(sb, "/crm/v3/objects/contacts/search", body).await }
    };

    let all = search(json!({ "filterGroups": [{ "filters": [mine] }], "limit": 10 })).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["total"], 25);
    assert_eq!(all.body["results"].as_array().map(Vec::len), Some(10));
    assert_eq!(all.body["paging"]["next"]["after"], "10");
    let ids: Vec<u64> = all.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["id"].as_str()?.parse().ok())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "default sort is ascending hs_object_id"
    );
    let last =
        search(json!({ "filterGroups": [{ "filters": [mine] }], "limit": 10, "after": "20" }))
            .await;
    assert_eq!(last.body["results"].as_array().map(Vec::len), Some(5));
    assert!(last.body.get("paging").is_none());

    let exec = search(json!({ "filterGroups": [{ "filters": [mine, { "propertyName": "jobtitle", "operator": "CONTAINS_TOKEN", "value": "chief" }] }] })).await;
    assert_eq!(exec.body["total"], 5);
    let ored = search(json!({ "filterGroups": [
        { "filters": [mine, { "propertyName": "email", "operator": "EQ", "value": "SRCH3@example.org" }] },
        { "filters": [mine, { "propertyName": "email", "operator": "IN", "values": ["srch4@example.org", "srch5@example.org"] }] },
    ]})).await;
    assert_eq!(ored.body["total"], 3);
    let phones = search(json!({ "filterGroups": [{ "filters": [mine, { "propertyName": "phone", "operator": "NOT_HAS_PROPERTY" }] }] })).await;
    assert_eq!(phones.body["total"], 12);
    let wildcard = search(json!({ "filterGroups": [{ "filters": [mine, { "propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.org" }] }] })).await;
    assert_eq!(wildcard.body["total"], 25);
    let neq = search(json!({ "filterGroups": [{ "filters": [mine, { "propertyName": "jobtitle", "operator": "NEQ", "value": "engineer" }] }] })).await;
    assert_eq!(neq.body["total"], 5);
    let range = search(json!({ "filterGroups": [{ "filters": [mine,
        { "propertyName": "hs_object_id", "operator": "BETWEEN", "value": ids[2].to_string(), "highValue": ids[4].to_string() }] }] })).await;
    assert_eq!(range.body["total"], 3);
    let since = search(json!({ "filterGroups": [{ "filters": [mine,
        { "propertyName": "createdate", "operator": "GTE", "value": "946684800000" },
        { "propertyName": "lastmodifieddate", "operator": "LT", "value": "2999-01-01T00:00:00Z" }] }] })).await;
    assert_eq!(since.body["total"], 25);
    let text =
        search(json!({ "query": "first7 srch", "filterGroups": [{ "filters": [mine] }] })).await;
    assert_eq!(text.body["total"], 1);

    // One sort honoured, object or string form; requested properties only.
    let desc = search(json!({ "filterGroups": [{ "filters": [mine] }], "sorts": [{ "propertyName": "email", "direction": "DESCENDING" }], "properties": ["email"], "limit": 1 })).await;
    assert_eq!(
        desc.body["results"][0]["properties"]["email"],
        "srch9@example.org"
    );
    assert!(
        desc.body["results"][0]["properties"]
            .get("firstname")
            .is_none()
    );
    let asc =
        search(json!({ "filterGroups": [{ "filters": [mine] }], "sorts": ["email"], "limit": 1 }))
            .await;
    assert_eq!(
        asc.body["results"][0]["properties"]["email"],
        "srch0@example.org"
    );
    let by_id = search(
        json!({ "filterGroups": [{ "filters": [mine] }], "sorts": ["-hs_object_id"], "limit": 1 }),
    )
    .await;
    let highest = last.body["results"]
        .as_array()
        .and_then(|a| a.last())
        .map(|r| r["id"].clone());
    assert_eq!(Some(by_id.body["results"][0]["id"].clone()), highest);
    assert_eq!(by_id.body["total"], 25);

    // Limits.
    assert_error(
        &search(json!({ "limit": 201 })).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &search(json!({ "after": "9950", "limit": 100 })).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(
        search(json!({ "after": "9900", "limit": 100 }))
            .await
            .status,
        StatusCode::OK
    );
    let group = json!({ "filters": [mine] });
    assert_error(
        &search(json!({ "filterGroups": vec![group.clone(); 6] })).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &search(json!({ "filterGroups": [{ "filters": vec![mine.clone(); 7] }] })).await,
        400,
        "VALIDATION_ERROR",
    );
    let four = json!({ "filters": vec![mine.clone(); 4] });
    assert_error(
        &search(json!({ "filterGroups": vec![four; 5] })).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &search(json!({ "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "LIKE", "value": "x" }] }] })).await,
        400,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn merge_gives_a_new_id_and_keeps_aliases() {
    let sb = start(relaxed()).await;
    let a = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "email": "keep@example.org", "firstname": "Primary" } }),
    )
    .await;
    let b = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "email": "lose@example.org", "firstname": "Other", "jobtitle": "CFO" } }),
    )
    .await;
    let (a, b) = (
        a.body["id"].as_str().expect("a").to_string(),
        b.body["id"].as_str().expect("b").to_string(),
    );
    let merged = post(
        &sb,
        "/crm/v3/objects/contacts/merge",
        json!({ "primaryObjectId": a, "objectIdToMerge": b }),
    )
    .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    let new_id = merged.body["id"].as_str().expect("id").to_string();
    assert!(new_id != a && new_id != b);
    let props = &merged.body["properties"];
    assert_eq!(props["firstname"], "Primary");
    assert_eq!(props["email"], "keep@example.org");
    assert_eq!(props["jobtitle"], "CFO");
    assert_eq!(props["hs_merged_object_ids"], format!("{a};{b}"));
    assert_eq!(props["hs_additional_emails"], "lose@example.org");
    for old in [&a, &b] {
        let r = get(&sb, &format!("/crm/v3/objects/contacts/{old}")).await;
        assert_eq!(
            r.body["id"],
            new_id.as_str(),
            "old id {old} resolves to the merged record"
        );
    }
    let dup = post(
        &sb,
        "/crm/v3/objects/contacts",
        json!({ "properties": { "email": "keep@example.org" } }),
    )
    .await;
    assert_eq!(
        dup.body["message"],
        format!("Contact already exists. Existing ID: {new_id}")
    );

    let same = post(
        &sb,
        "/crm/v3/objects/contacts/merge",
        json!({ "primaryObjectId": a, "objectIdToMerge": new_id }),
    )
    .await;
    assert_error(&same, 400, "VALIDATION_ERROR");
    let gone = post(
        &sb,
        "/crm/v3/objects/contacts/merge",
        json!({ "primaryObjectId": new_id, "objectIdToMerge": "1" }),
    )
    .await;
    assert_error(&gone, 404, "OBJECT_NOT_FOUND");

    // Deals keep the primary's id.
    let d1 = post(
        &sb,
        "/crm/v3/objects/deals",
        json!({ "properties": { "dealname": "One" } }),
    )
    .await;
    let d2 = post(
        &sb,
        "/crm/v3/objects/deals",
        json!({ "properties": { "dealname": "Two", "amount": "5" } }),
    )
    .await;
    let (d1, d2) = (
        d1.body["id"].as_str().expect("d1").to_string(),
        d2.body["id"].as_str().expect("d2").to_string(),
    );
    let m = post(
        &sb,
        "/crm/v3/objects/deals/merge",
        json!({ "primaryObjectId": d1, "objectIdToMerge": d2 }),
    )
    .await;
    assert_eq!(m.body["id"], d1.as_str());
    assert_eq!(m.body["properties"]["amount"], "5");
    assert_eq!(
        get(&sb, &format!("/crm/v3/objects/deals/{d2}")).await.body["id"],
        d1.as_str()
    );
}

#[tokio::test]
async fn burst_window_429_with_exact_body_and_retry_after() {
    // The private-app token draws on the private apps' bucket.
    let sb = start(HubSpotLimits {
        private_app_burst: 5,
        window_ms: 10_000,
        search_per_sec: 100,
        ..HubSpotLimits::default()
    })
    .await;
    for left in (0..5).rev() {
        let r = get(&sb, "/crm/v3/objects/contacts?limit=1").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(header(&r, "x-hubspot-ratelimit-max").as_deref(), Some("5"));
        assert_eq!(
            header(&r, "x-hubspot-ratelimit-remaining"),
            Some(left.to_string())
        );
        assert_eq!(
            header(&r, "x-hubspot-ratelimit-interval-milliseconds").as_deref(),
            Some("10000")
        );
        assert!(header(&r, "x-hubspot-ratelimit-daily").is_none());
    }
    let r = get(&sb, "/crm/v3/objects/contacts?limit=1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let keys: BTreeSet<&str> = r
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "correlationId",
            "errorType",
            "groupName",
            "message",
            "policyName",
            "status"
        ]
        .into()
    );
    assert_eq!(r.body["status"], "error");
    assert_eq!(
        r.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(r.body["errorType"], "RATE_LIMIT");
    assert_eq!(r.body["policyName"], "TEN_SECONDLY_ROLLING");
    let retry: u64 = header(&r, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=10).contains(&retry), "{retry}");
    assert_eq!(
        header(&r, "x-hubspot-ratelimit-remaining").as_deref(),
        Some("0")
    );

    // Search has its own limit; OAuth calls are not API calls.
    let s = post(&sb, "/crm/v3/objects/contacts/search", json!({})).await;
    assert_eq!(s.status, StatusCode::OK);
    let (status, _) = refresh(&sb, "na1-nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The fault layer's 429 is the same response.
    let injected = super::ten_secondly_429(&sb.state, Some(&format!("Bearer {PAT}")));
    assert_eq!(injected.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(injected.headers().contains_key("retry-after"));
    let err = super::server_error(503);
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn search_and_daily_limits() {
    let sb = start(HubSpotLimits {
        search_per_sec: 2,
        daily: Some(4),
        ..HubSpotLimits::default()
    })
    .await;
    for _ in 0..2 {
        let r = post(&sb, "/crm/v3/objects/contacts/search", json!({})).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = post(&sb, "/crm/v3/objects/contacts/search", json!({})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["message"], "You have reached your secondly limit.");
    assert_eq!(r.body["errorType"], "RATE_LIMIT");
    assert_eq!(r.body["policyName"], "SECONDLY");

    let r = get(&sb, "/account-info/v3/details").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        header(&r, "x-hubspot-ratelimit-daily").as_deref(),
        Some("4")
    );
    assert_eq!(
        header(&r, "x-hubspot-ratelimit-daily-remaining").as_deref(),
        Some("1")
    );
    assert_eq!(
        get(&sb, "/account-info/v3/details").await.status,
        StatusCode::OK
    );
    let r = get(&sb, "/account-info/v3/details").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["policyName"], "DAILY");
    assert_eq!(r.body["message"], "You have reached your daily limit.");
    assert!(header(&r, "retry-after").is_some());
}

#[tokio::test]
async fn users_owners_properties_and_account() {
    let sb = start(relaxed()).await;
    let acct = get(&sb, "/account-info/v3/details").await;
    assert_eq!(acct.body["portalId"], PORTAL_ID);
    assert_eq!(acct.body["uiDomain"], "app.hubspot.com");

    let (n_users, n_active) = {
        let w = sb.state.hubspot();
        (w.users.len(), w.users.iter().filter(|u| u.active).count())
    };
    let mut seen = 0;
    let mut path = "/settings/v3/users/?limit=2".to_string();
    loop {
        let r = get(&sb, &path).await;
        assert_eq!(r.status, StatusCode::OK);
        let results = r.body["results"].as_array().expect("results");
        assert!(
            results
                .iter()
                .all(|u| u["id"].is_string() && u["superAdmin"].is_boolean())
        );
        seen += results.len();
        match r.body["paging"]["next"]["after"].as_str() {
            Some(after) => path = format!("/settings/v3/users/?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, n_users);

    let owners = get(&sb, "/crm/v3/owners/").await;
    let list = owners.body["results"].as_array().expect("owners");
    assert_eq!(list.len(), n_active);
    let first = &list[0];
    assert_eq!(first["type"], "PERSON");
    assert!(first["userId"].is_u64());
    let email = first["email"].as_str().expect("email");
    let one = get(
        &sb,
        &format!("/crm/v3/owners/?email={}", urlencoding::encode(email)),
    )
    .await;
    assert_eq!(one.body["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(one.body["results"][0]["id"], first["id"]);

    let props = get(&sb, "/crm/v3/properties/contacts").await;
    assert!(props.body.get("paging").is_none());
    let find = |body: &Value, name: &str| {
        body["results"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == name).cloned())
            .expect(name)
    };
    assert_eq!(find(&props.body, "email")["hasUniqueValue"], true);
    assert_eq!(
        find(&props.body, "hs_object_id")["modificationMetadata"]["readOnlyValue"],
        true
    );
    let owner_prop = find(&props.body, "hubspot_owner_id");
    assert_eq!(owner_prop["type"], "enumeration");
    assert_eq!(
        owner_prop["options"].as_array().map(Vec::len),
        Some(n_active)
    );
    let deals = get(&sb, "/crm/v3/properties/0-3").await;
    let stage = find(&deals.body, "dealstage");
    assert_eq!(stage["type"], "enumeration");
    assert!(
        stage["options"]
            .as_array()
            .is_some_and(|o| o.iter().any(|x| x["value"] == "closedwon"))
    );
    assert_eq!(
        find(&deals.body, "hs_lastmodifieddate")["modificationMetadata"]["readOnlyValue"],
        true
    );
    assert_error(
        &get(&sb, "/crm/v3/properties/contacts/nope").await,
        404,
        "OBJECT_NOT_FOUND",
    );
}

#[tokio::test]
async fn seeded_records_follow_the_dataset() {
    let sb = start(relaxed()).await;
    let data = crate::generator::generate(42, 200, 0.2);
    {
        let world = sb.state.hubspot();
        for p in &data.people {
            let id = world
                .id_of_key(&p.key)
                .expect("every person has a contact id");
            assert!(world.store(super::ObjectType::Contacts).get(&id).is_some());
        }
        for d in &data.deals {
            let id = world.id_of_key(&d.key).expect("every deal has an id");
            let rec = world
                .store(super::ObjectType::Deals)
                .get(&id)
                .expect("deal");
            let stage = rec.props.get("dealstage").map(String::as_str).unwrap_or("");
            assert!(
                super::schema::DEAL_STAGES.iter().any(|(v, _)| *v == stage),
                "{stage}"
            );
        }
        // Emails are unique per portal, as in HubSpot.
        let emails: Vec<String> = world
            .store(super::ObjectType::Contacts)
            .live
            .values()
            .filter_map(|r| r.props.get("email").map(|e| e.to_lowercase()))
            .collect();
        assert_eq!(emails.len(), emails.iter().collect::<BTreeSet<_>>().len());
    }
    if let Some(d) = data.deals.first() {
        let id = sb.state.hubspot().id_of_key(&d.key).expect("id");
        let r = get(&sb, &format!("/crm/v3/objects/deals/{id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body["properties"]["closedate"]
                .as_str()
                .is_some_and(|t| t.ends_with(".000Z"))
        );
        assert_eq!(r.body["properties"]["pipeline"], "default");
    }
    let unknown = get(&sb, "/crm/v3/nothing-here").await;
    assert_error(&unknown, 404, "OBJECT_NOT_FOUND");
}

// ---- write log -----------------------------------------------------------------------

/// The write log as `(object, id, op)` triples, in order.
fn logged(sb: &Sandbox) -> Vec<(String, String, String)> {
    sb.writes()
        .into_iter()
        .map(|e| {
            assert_eq!(e.crm, "hubspot");
            (e.object, e.id, e.op)
        })
        .collect()
}

fn triples(object: &str, ids: &[&String], op: &str) -> Vec<(String, String, String)> {
    ids.iter()
        .map(|id| (object.to_string(), id.to_string(), op.to_string()))
        .collect()
}

#[tokio::test]
async fn write_log_has_one_update_per_record_of_a_batch() {
    let sb = start(relaxed()).await;
    let ids = create_contacts(&sb, 5, "wlog").await;
    assert_eq!(
        logged(&sb),
        triples("contacts", &ids.iter().collect::<Vec<_>>(), "create"),
        "seeding logs nothing; batch create logs each record"
    );
    sb.reset_writes();
    let inputs: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "id": id, "properties": { "jobtitle": "Logged" } }))
        .collect();
    let r = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({ "inputs": inputs }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        logged(&sb),
        triples("contacts", &ids.iter().collect::<Vec<_>>(), "update")
    );
    let per = sb.writes_per_record();
    assert_eq!(per.len(), 5);
    assert!(per.values().all(|n| *n == 1), "{per:?}");
    let seq: Vec<u64> = sb.writes().iter().map(|e| e.at).collect();
    assert!(seq.windows(2).all(|w| w[0] < w[1]), "{seq:?}");

    // The control route serves the same list.
    let over_http: Vec<crate::WriteEntry> = client()
        .get(format!("{}/_sandbox/writes", sb.url))
        .send()
        .await
        .expect("writes")
        .json()
        .await
        .expect("json");
    assert_eq!(over_http, sb.writes());
    let reset = client()
        .post(format!("{}/_sandbox/writes/reset", sb.url))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert!(sb.writes().is_empty());
}

#[tokio::test]
async fn write_log_skips_failed_batch_inputs() {
    let sb = start(relaxed()).await;
    let ids = create_contacts(&sb, 3, "wfail").await;
    sb.reset_writes();

    // One unknown id and one email conflict: only the first input is written.
    let r = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({ "inputs": [
            { "id": ids[0], "properties": { "jobtitle": "Ok" } },
            { "id": "999999999", "properties": { "jobtitle": "Nobody" } },
            { "id": ids[1], "properties": { "email": "wfail2@example.org" } },
        ]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS, "{}", r.body);
    assert_eq!(r.body["numErrors"], 2, "{}", r.body);
    assert_eq!(logged(&sb), triples("contacts", &[&ids[0]], "update"));

    // An invalid property fails the whole batch: nothing written.
    sb.reset_writes();
    let r = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({ "inputs": [
            { "id": ids[0], "properties": { "jobtitle": "Again" } },
            { "id": ids[1], "properties": { "favourite_colour": "red" } },
        ]}),
    )
    .await;
    assert_error(&r, 400, "VALIDATION_ERROR");
    assert!(sb.writes().is_empty());

    // Multi-status create: the conflicting input logs nothing.
    let mut a = contact(0, "wfail");
    a["objectWriteTraceId"] = json!("t1");
    let mut b = contact(9, "wfresh");
    b["objectWriteTraceId"] = json!("t2");
    let r = post(
        &sb,
        "/crm/v3/objects/contacts/batch/create",
        json!({ "inputs": [a, b] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS, "{}", r.body);
    let created = r.body["results"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(logged(&sb), triples("contacts", &[&created], "create"));
}

#[tokio::test]
async fn write_log_records_archive_and_merge() {
    let sb = start(relaxed()).await;
    let ids = create_contacts(&sb, 5, "warch").await;
    sb.reset_writes();

    let one = call(
        &sb,
        Method::DELETE,
        &format!("/crm/v3/objects/contacts/{}", ids[0]),
        Some(PAT),
        None,
    )
    .await;
    assert_eq!(one.status, StatusCode::NO_CONTENT);
    // Archiving it again, or an id that never existed, answers 204 but writes nothing.
    for id in [ids[0].as_str(), "999999999"] {
        let again = call(
            &sb,
            Method::DELETE,
            &format!("/crm/v3/objects/contacts/{id}"),
            Some(PAT),
            None,
        )
        .await;
        assert_eq!(again.status, StatusCode::NO_CONTENT);
    }
    let batch = post(
        &sb,
        "/crm/v3/objects/contacts/batch/archive",
        json!({ "inputs": [{ "id": ids[1] }, { "id": "999999999" }, { "id": ids[0] }] }),
    )
    .await;
    assert_eq!(batch.status, StatusCode::NO_CONTENT);
    assert_eq!(
        logged(&sb),
        triples("contacts", &[&ids[0], &ids[1]], "archive")
    );

    // Contacts: both records are merged away into a new one; three entries.
    sb.reset_writes();
    let m = post(
        &sb,
        "/crm/v3/objects/contacts/merge",
        json!({ "primaryObjectId": ids[2], "objectIdToMerge": ids[3] }),
    )
    .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    let survivor = m.body["id"].as_str().expect("id").to_string();
    assert_eq!(
        logged(&sb),
        triples("contacts", &[&ids[2], &ids[3], &survivor], "merge")
    );

    // Deals: the primary survives; two entries.
    let deal = |name: &str| json!({ "properties": { "dealname": name } });
    let d1 = post(&sb, "/crm/v3/objects/deals", deal("One")).await;
    let d2 = post(&sb, "/crm/v3/objects/deals", deal("Two")).await;
    let (d1, d2) = (
        d1.body["id"].as_str().expect("d1").to_string(),
        d2.body["id"].as_str().expect("d2").to_string(),
    );
    sb.reset_writes();
    let m = post(
        &sb,
        "/crm/v3/objects/deals/merge",
        json!({ "primaryObjectId": d1, "objectIdToMerge": d2 }),
    )
    .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    assert_eq!(logged(&sb), triples("deals", &[&d2, &d1], "merge"));

    // A failed merge writes nothing.
    sb.reset_writes();
    let bad = post(
        &sb,
        "/crm/v3/objects/deals/merge",
        json!({ "primaryObjectId": d1, "objectIdToMerge": "999999999" }),
    )
    .await;
    assert_error(&bad, 404, "OBJECT_NOT_FOUND");
    assert!(sb.writes().is_empty());
}

#[tokio::test]
async fn write_log_ignores_requests_rejected_by_injected_faults() {
    let sb = start(relaxed()).await;
    let ids = create_contacts(&sb, 2, "wfault").await;
    sb.reset_writes();
    let update = json!({ "inputs": [
        { "id": ids[0], "properties": { "jobtitle": "Faulted" } },
        { "id": ids[1], "properties": { "jobtitle": "Faulted" } },
    ]});
    sb.set_faults(crate::Faults {
        rate_429: 1.0,
        ..Default::default()
    });
    let r = post(&sb, "/crm/v3/objects/contacts/batch/update", update.clone()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    sb.set_faults(crate::Faults {
        rate_5xx: 1.0,
        ..Default::default()
    });
    let r = post(&sb, "/crm/v3/objects/contacts/batch/update", update.clone()).await;
    assert!(r.status.is_server_error(), "{}", r.status);
    assert!(sb.writes().is_empty(), "{:?}", sb.writes());
    assert_eq!(sb.stats().injected_429, 1);

    // The retry that gets through is the one write per record.
    sb.set_faults(crate::Faults::default());
    let r = post(&sb, "/crm/v3/objects/contacts/batch/update", update).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        logged(&sb),
        triples("contacts", &[&ids[0], &ids[1]], "update")
    );
}

/// Contacts search finds whose `lastname` is `tag`: (id, jobtitle) pairs.
async fn found(sb: &Sandbox, tag: &str) -> Vec<(String, String)> {
    let r = post(
        sb,
        "/crm/v3/objects/contacts/search",
        json!({
            "filterGroups": [{ "filters": [
                { "propertyName": "lastname", "operator": "EQ", "value": tag }
            ]}],
            "properties": ["jobtitle"],
            "limit": 100,
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = r.body["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(r.body["total"], results.len(), "{}", r.body);
    results
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["properties"]["jobtitle"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn search_sees_a_write_only_once_the_search_lag_has_passed() {
    assert!(
        SandboxConfig::default().hubspot.search_lag_ms >= 1000,
        "the default sandbox's search lags by seconds, as HubSpot's does"
    );
    // A lag no test outlives: writes reach search when the test settles it.
    let sb = start(HubSpotLimits {
        search_lag_ms: 600_000,
        ..relaxed()
    })
    .await;
    let ids = create_contacts(&sb, 3, "lagged").await;
    // Created: read by id at once, not found by search.
    assert_eq!(
        get(&sb, &format!("/crm/v3/objects/contacts/{}", ids[0]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(found(&sb, "lagged").await, vec![]);
    sb.settle_search();
    let fresh: Vec<(String, String)> = ids.iter().map(|i| (i.clone(), String::new())).collect();
    assert_eq!(found(&sb, "lagged").await, fresh);

    // Updated: search still finds the old values; a read by id has the new ones.
    let r = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({ "inputs": [{ "id": ids[0], "properties": { "jobtitle": "Updated" } }] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = call(
        &sb,
        Method::PATCH,
        &format!("/crm/v3/objects/contacts/{}", ids[1]),
        Some(PAT),
        Some(json!({ "properties": { "lastname": "moved" } })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(found(&sb, "lagged").await, fresh);
    assert_eq!(found(&sb, "moved").await, vec![]);
    let read = get(
        &sb,
        &format!("/crm/v3/objects/contacts/{}?properties=jobtitle", ids[0]),
    )
    .await;
    assert_eq!(read.body["properties"]["jobtitle"], "Updated");

    // Archived and merged: search still finds what was there.
    let r = call(
        &sb,
        Method::DELETE,
        &format!("/crm/v3/objects/contacts/{}", ids[2]),
        Some(PAT),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(found(&sb, "lagged").await, fresh);
    sb.settle_search();
    assert_eq!(
        found(&sb, "lagged").await,
        vec![(ids[0].clone(), "Updated".to_string())]
    );
    assert_eq!(
        found(&sb, "moved").await,
        vec![(ids[1].clone(), String::new())]
    );

    let more = create_contacts(&sb, 2, "merging").await;
    sb.settle_search();
    let m = post(
        &sb,
        "/crm/v3/objects/contacts/merge",
        json!({ "primaryObjectId": more[0], "objectIdToMerge": more[1] }),
    )
    .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    let survivor = m.body["id"].as_str().expect("merged id").to_string();
    let before: Vec<String> = found(&sb, "merging")
        .await
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(before, more);
    sb.settle_search();
    let after: Vec<String> = found(&sb, "merging")
        .await
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(after, vec![survivor]);

    // A lag of zero: every write is searchable at once (tests that must not wait).
    sb.set_search_lag(std::time::Duration::ZERO);
    create_contacts(&sb, 1, "at-once").await;
    assert_eq!(found(&sb, "at-once").await.len(), 1);
}

#[tokio::test]
async fn oauth_apps_get_110_calls_per_ten_seconds_and_private_apps_their_own_190() {
    let sb = start(HubSpotLimits {
        search_per_sec: 1000,
        ..HubSpotLimits::default()
    })
    .await;
    let token = oauth_token(&sb, "crm.objects.contacts.read").await;
    let token = token["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let list = "/crm/v3/objects/contacts?limit=1";
    for _ in 0..110 {
        let r = call(&sb, Method::GET, list, Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            header(&r, "x-hubspot-ratelimit-max").as_deref(),
            Some("110")
        );
    }
    let r = call(&sb, Method::GET, list, Some(&token), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(
        header(&r, "x-hubspot-ratelimit-max").as_deref(),
        Some("110")
    );
    // A private app's calls are counted apart, against the private-app limit.
    let r = get(&sb, list).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        header(&r, "x-hubspot-ratelimit-max").as_deref(),
        Some("190")
    );
    assert_eq!(
        header(&r, "x-hubspot-ratelimit-remaining").as_deref(),
        Some("189")
    );
    // The fault layer's 429 speaks for the caller's app too.
    let injected = super::ten_secondly_429(&sb.state, Some(&format!("Bearer {token}")));
    assert_eq!(
        injected.headers()["x-hubspot-ratelimit-max"].to_str().ok(),
        Some("110")
    );
}

#[tokio::test]
async fn retry_after_on_429s_is_seconds_an_http_date_or_absent() {
    use crate::config::RetryAfter;
    for form in [
        RetryAfter::Seconds,
        RetryAfter::HttpDate,
        RetryAfter::Absent,
    ] {
        let sb = start(HubSpotLimits {
            private_app_burst: 1,
            search_per_sec: 1,
            retry_after: form,
            ..HubSpotLimits::default()
        })
        .await;
        let list = "/crm/v3/objects/contacts?limit=1";
        assert_eq!(get(&sb, list).await.status, StatusCode::OK);
        let burst = get(&sb, list).await;
        let search = "/crm/v3/objects/contacts/search";
        assert_eq!(post(&sb, search, json!({})).await.status, StatusCode::OK);
        let secondly = post(&sb, search, json!({})).await;
        sb.set_faults(crate::Faults {
            rate_429: 1.0,
            ..crate::Faults::default()
        });
        let injected = get(&sb, list).await;
        for (what, r) in [
            ("burst", &burst),
            ("search", &secondly),
            ("injected", &injected),
        ] {
            assert_eq!(
                r.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{what}: {}",
                r.body
            );
            let value = header(r, "retry-after");
            match form {
                RetryAfter::Seconds => {
                    let secs: u64 = value
                        .as_deref()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| panic!("{what}: seconds, not {value:?}"));
                    assert!((1..=10).contains(&secs), "{what}: {secs}");
                }
                RetryAfter::HttpDate => {
                    let v = value.unwrap_or_else(|| panic!("{what}: a date"));
                    assert!(v.ends_with(" GMT"), "{what}: {v}");
                    let at = chrono::DateTime::parse_from_rfc2822(&v)
                        .unwrap_or_else(|e| panic!("{what}: {v}: {e}"));
                    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
                    assert!(
                        wait > chrono::Duration::zero() && wait <= chrono::Duration::seconds(12),
                        "{what}: {v}"
                    );
                }
                RetryAfter::Absent => assert_eq!(value, None, "{what}"),
            }
        }
    }
}

#[tokio::test]
async fn a_single_read_and_batch_read_return_properties_with_history() {
    let sb = start(relaxed()).await;
    let ids = create_contacts(&sb, 1, "history").await;
    let id = &ids[0];
    for title in ["Analyst", "Director"] {
        let r = call(
            &sb,
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{id}"),
            Some(PAT),
            Some(json!({ "properties": { "jobtitle": title } })),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = get(
        &sb,
        &format!(
            "/crm/v3/objects/contacts/{id}?properties=jobtitle&propertiesWithHistory=jobtitle,firstname,nosuchprop&associations=companies"
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["properties"]["jobtitle"], "Director");
    let titles: Vec<&str> = r.body["propertiesWithHistory"]["jobtitle"]
        .as_array()
        .expect("jobtitle's history")
        .iter()
        .map(|v| v["value"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(titles, ["Director", "Analyst"], "newest first: {}", r.body);
    let first = &r.body["propertiesWithHistory"]["jobtitle"][0];
    assert_eq!(first["sourceType"], "API");
    assert!(
        first["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let names = &r.body["propertiesWithHistory"]["firstname"];
    assert_eq!(names.as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!(names[0]["value"], "First0");
    // Unknown names are ignored; this portal has no associations to list.
    assert!(r.body["propertiesWithHistory"].get("nosuchprop").is_none());
    assert!(r.body.get("associations").is_none(), "{}", r.body);
    // Without the parameter, no history.
    let plain = get(&sb, &format!("/crm/v3/objects/contacts/{id}")).await;
    assert!(plain.body.get("propertiesWithHistory").is_none());

    let batch = post(
        &sb,
        "/crm/v3/objects/contacts/batch/read",
        json!({ "inputs": [{ "id": id }], "properties": [], "propertiesWithHistory": ["jobtitle"] }),
    )
    .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.body);
    assert_eq!(
        batch.body["results"][0]["propertiesWithHistory"]["jobtitle"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // History makes list pages smaller.
    let r = get(
        &sb,
        "/crm/v3/objects/contacts?limit=100&propertiesWithHistory=email",
    )
    .await;
    assert_error(&r, 400, "VALIDATION_ERROR");
    let r = get(
        &sb,
        "/crm/v3/objects/contacts?limit=50&propertiesWithHistory=email",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["results"][0]["propertiesWithHistory"]["email"].is_array());
}

#[tokio::test]
async fn injected_gateway_errors_can_be_html_pages() {
    let sb = start(relaxed()).await;
    let urls = [
        format!("{}/crm/v3/objects/contacts", sb.hubspot_base()),
        format!("{}/services/data/v66.0/limits", sb.salesforce_base()),
    ];
    let answer = |url: String| async move {
        let resp = client()
            .get(url)
            .bearer_auth(PAT)
            .send()
            .await
            .expect("an answer");
        let status = resp.status().as_u16();
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, kind, resp.text().await.expect("body"))
    };
    // The CRMs' own 5xx are JSON, 502 and 504 included.
    sb.set_faults(crate::Faults {
        rate_5xx: 1.0,
        ..crate::Faults::default()
    });
    let mut seen = BTreeSet::new();
    for i in 0..400 {
        let (status, kind, body) = answer(urls[i % 2].clone()).await;
        assert!(kind.starts_with("application/json"), "{status}: {kind}");
        serde_json::from_str::<Value>(&body).expect("the CRM's own JSON error");
        seen.insert(status);
        if seen.len() == 4 {
            break;
        }
    }
    assert_eq!(seen, [500, 502, 503, 504].into());
    // A gateway in front of them answers 502 or 504 with a web page.
    sb.set_faults(crate::Faults {
        rate_5xx: 1.0,
        gateway_html: true,
        ..crate::Faults::default()
    });
    let mut seen = BTreeSet::new();
    for i in 0..400 {
        let (status, kind, body) = answer(urls[i % 2].clone()).await;
        assert!(matches!(status, 502 | 504), "{status}");
        assert!(kind.starts_with("text/html"), "{status}: {kind}");
        assert!(
            body.starts_with("<html>") && body.contains(&status.to_string()),
            "{body}"
        );
        seen.insert(status);
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen, [502, 504].into());
}
