//! The signatures against fixed vectors and independent computations, the automation API
//! of the sandbox HubSpot over the wire, and the delivery routes against a recording server.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::SandboxConfig;
use crate::hubspot::{APP_ID, DEVELOPER_API_KEY, PRIVATE_APP_TOKEN};
use crate::{CLIENT_SECRET, Sandbox};

const FLOW_SECRET: &str = "whsec_9f3Kq2LmZx7TbVn4Rw8YcP1dHs6Ju0Ae";

/// HMAC-SHA256 written out from SHA-256 (RFC 2104), independent of the library HMAC.
fn reference_hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&steward_shared::crypto::sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(message);
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&steward_shared::crypto::sha256(&inner));
    steward_shared::crypto::sha256(&outer)
}

#[test]
fn reference_hmac_meets_rfc_4231() {
    // RFC 4231, test case 2.
    assert_eq!(
        steward_shared::crypto::hex(&reference_hmac(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn flow_callout_reproduces_the_signature_vector() {
    let req = flow_callout(
        "https://steward.example.com/",
        "01KBZ3J5X4M2Q8R7T6V5W4Y3Z2",
        "salesforce:00D5g0000000001EAA",
        FLOW_SECRET,
        "sf-00D5g0000000001EAA-1",
        &["0035g00000AbCdEAAV".to_string()],
        1_767_225_600,
    );
    assert_eq!(
        req.url,
        "https://steward.example.com/hooks/salesforce/recipes/01KBZ3J5X4M2Q8R7T6V5W4Y3Z2"
    );
    assert_eq!(
        req.body,
        r#"{"invocation_id":"sf-00D5g0000000001EAA-1","record_ids":["0035g00000AbCdEAAV"]}"#
    );
    assert_eq!(
        req.header("x-steward-signature"),
        Some("v1=652ed2537fe2e71c5411dcdc6d57a80a58c1a4856e37a4fbe808fa39d6f91ae7")
    );
    assert_eq!(req.header("X-Steward-Timestamp"), Some("1767225600"));
    assert_eq!(
        req.header("X-Steward-Account"),
        Some("salesforce:00D5g0000000001EAA")
    );
    assert_eq!(req.header("Content-Type"), Some("application/json"));
    // The same from the parts, and from the written-out HMAC.
    let body_hash = steward_shared::crypto::sha256_hex(req.body.as_bytes());
    let message =
        format!("1767225600:POST:/hooks/salesforce/recipes/01KBZ3J5X4M2Q8R7T6V5W4Y3Z2:{body_hash}");
    assert_eq!(
        format!(
            "v1={}",
            steward_shared::crypto::hex(&reference_hmac(
                FLOW_SECRET.as_bytes(),
                message.as_bytes()
            ))
        ),
        req.header("X-Steward-Signature").unwrap()
    );
}

#[test]
fn paths_drop_host_and_query() {
    assert_eq!(path_of("http://127.0.0.1:9/a/b?x=1"), "/a/b");
    assert_eq!(path_of("https://h.example/p/hooks#f"), "/p/hooks");
    assert_eq!(path_of("https://h.example"), "/");
}

#[test]
fn hubspot_v2_meets_hubspots_documented_example() {
    // developers.hubspot.com, "Validating requests", v2, example for a GET request.
    assert_eq!(
        hubspot_v2_signature(
            "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
            "GET",
            "https://www.example.com/webhook_uri",
            ""
        ),
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    );
}

#[test]
fn hubspot_v3_is_base64_hmac_over_method_uri_body_timestamp() {
    let uri = "https://steward.example.com/hooks/hubspot/workflow-action";
    let body = r#"{"callbackId":"ap-1"}"#;
    let ts = 1_767_225_600_123_i64;
    let expected = STANDARD.encode(reference_hmac(
        CLIENT_SECRET.as_bytes(),
        format!("POST{uri}{body}{ts}").as_bytes(),
    ));
    assert_eq!(
        hubspot_v3_signature(CLIENT_SECRET, "POST", uri, body, ts),
        expected
    );
}

fn action(callback: &str) -> HubSpotAction {
    HubSpotAction {
        callback_id: callback.into(),
        portal_id: PORTAL_ID,
        action_definition_id: 1_000_001,
        action_definition_version: 1,
        workflow_id: 7,
        object_type: "CONTACT".into(),
        object_id: 614,
        recipe_id: "01KBZ3J5X4M2Q8R7T6V5W4Y3Z2".into(),
    }
}

#[test]
fn hubspot_action_request_has_hubspots_shape_and_headers() {
    let url = "https://steward.example.com/hooks/hubspot/workflow-action";
    let a = action("ap-24681357-1-1-0");
    let body: Value = serde_json::from_str(&a.body()).unwrap();
    assert_eq!(
        body,
        json!({
            "callbackId": "ap-24681357-1-1-0",
            "origin": {"portalId": 24681357, "actionDefinitionId": 1000001, "actionDefinitionVersion": 1},
            "context": {"source": "WORKFLOWS", "workflowId": 7},
            "object": {"objectId": 614, "objectType": "CONTACT"},
            "inputFields": {"recipe_id": "01KBZ3J5X4M2Q8R7T6V5W4Y3Z2"},
        })
    );
    let v3 = hubspot_action_request(url, CLIENT_SECRET, &a, 42, HubSpotSignature::V3);
    assert_eq!(v3.header("X-HubSpot-Request-Timestamp"), Some("42"));
    assert_eq!(
        v3.header("X-HubSpot-Signature-v3"),
        Some(hubspot_v3_signature(CLIENT_SECRET, "POST", url, &v3.body, 42).as_str())
    );
    assert_eq!(v3.header("X-HubSpot-Signature"), None);
    let v2 = hubspot_action_request(url, CLIENT_SECRET, &a, 42, HubSpotSignature::V2);
    assert_eq!(v2.header("X-HubSpot-Signature-Version"), Some("v2"));
    assert_eq!(
        v2.header("X-HubSpot-Signature"),
        Some(hubspot_v2_signature(CLIENT_SECRET, "POST", url, &v2.body).as_str())
    );
    assert_eq!(v2.header("X-HubSpot-Signature-v3"), None);
    assert_eq!(v2.header("X-HubSpot-Request-Timestamp"), None);
    let both = hubspot_action_request(url, CLIENT_SECRET, &a, 42, HubSpotSignature::Both);
    assert!(both.header("X-HubSpot-Signature-v3").is_some());
    assert!(both.header("X-HubSpot-Signature").is_some());
}

// --- over the wire ---------------------------------------------------------------------

async fn start() -> Sandbox {
    Sandbox::start(SandboxConfig {
        records: 20,
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = steward_shared::tls::client().request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn definition(url: &str) -> Value {
    json!({
        "actionUrl": url,
        "published": true,
        "objectTypes": ["CONTACT", "COMPANY"],
        "inputFields": [{
            "typeDefinition": {"name": "recipe_id", "type": "enumeration", "fieldType": "select",
                               "optionsUrl": format!("{url}/options")},
            "supportedValueTypes": ["STATIC_VALUE"],
            "isRequired": true,
        }],
        "labels": {"en": {"actionName": "Steward: Run recipe"}},
    })
}

#[tokio::test]
async fn action_definitions_create_list_update_and_refusals() {
    let sb = start().await;
    let base = format!("{}/automation/v4/actions/{APP_ID}", sb.hubspot_base());
    let key = format!("hapikey={DEVELOPER_API_KEY}");
    let url = "http://127.0.0.1:1/hooks/hubspot/workflow-action";

    let (status, created) =
        call(Method::POST, format!("{base}?{key}"), Some(definition(url))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["revisionId"], "1");
    assert_eq!(created["actionUrl"], url);
    assert_eq!(created["published"], true);

    let (status, list) = call(Method::GET, format!("{base}?{key}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
    assert_eq!(list["results"][0]["id"], id.as_str());

    let (status, updated) = call(
        Method::PATCH,
        format!("{base}/{id}?{key}"),
        Some(json!({"labels": {"en": {"actionName": "Renamed"}}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["revisionId"], "2");
    assert_eq!(updated["labels"]["en"]["actionName"], "Renamed");
    assert_eq!(updated["actionUrl"], url, "untouched fields stay");
    assert_eq!(
        sb.state.hubspot().action_definition_for(url),
        Some((id.parse().unwrap(), 2))
    );

    // Refusals: each required field, bad key, no key, another app, unknown definition.
    for missing in ["actionUrl", "objectTypes", "labels"] {
        let mut body = definition(url);
        body.as_object_mut().unwrap().remove(missing);
        let (status, err) = call(Method::POST, format!("{base}?{key}"), Some(body)).await;
        assert_eq!(status, 400, "{missing}: {err}");
        assert_eq!(err["category"], "VALIDATION_ERROR");
        assert!(err["message"].as_str().unwrap().contains(missing), "{err}");
    }
    let mut empty_types = definition(url);
    empty_types["objectTypes"] = json!([]);
    let (status, _) = call(Method::POST, format!("{base}?{key}"), Some(empty_types)).await;
    assert_eq!(status, 400);
    let (status, err) = call(
        Method::PATCH,
        format!("{base}/{id}?{key}"),
        Some(json!({"actionUrl": ""})),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let (status, err) = call(Method::GET, format!("{base}?hapikey=wrong"), None).await;
    assert_eq!(status, 401);
    assert_eq!(err["category"], "INVALID_AUTHENTICATION");
    let (status, _) = call(Method::GET, base.clone(), None).await;
    assert_eq!(status, 401);
    let (status, _) = call(
        Method::GET,
        format!("{}/automation/v4/actions/999?{key}", sb.hubspot_base()),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        Method::PATCH,
        format!("{base}/424242?{key}"),
        Some(json!({"published": false})),
    )
    .await;
    assert_eq!(status, 404);

    // Counted like every HubSpot call.
    let stats = sb.stats();
    assert_eq!(
        stats.by_route[&format!("GET /hubspot/automation/v4/actions/{APP_ID}")],
        3
    );
}

#[tokio::test]
async fn callback_completions_are_recorded() {
    let sb = start().await;
    let client = steward_shared::tls::client();
    let callbacks = format!("{}/automation/v4/actions/callbacks", sb.hubspot_base());

    let resp = client
        .post(format!("{callbacks}/complete"))
        .bearer_auth(PRIVATE_APP_TOKEN)
        .json(&json!({"inputs": [
            {"callbackId": "ap-1", "outputFields": {"hs_execution_state": "SUCCESS", "steward_run_id": "r1"}},
            {"callbackId": "ap-2", "outputFields": {"hs_execution_state": "FAIL_CONTINUE", "steward_status": "failed"}},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = client
        .post(format!("{callbacks}/ap-3/complete"))
        .bearer_auth(PRIVATE_APP_TOKEN)
        .json(&json!({"outputFields": {"hs_execution_state": "SUCCESS"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // Refused: no token, BLOCK as a completion, no inputs.
    let resp = client
        .post(format!("{callbacks}/ap-4/complete"))
        .json(&json!({"outputFields": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = client
        .post(format!("{callbacks}/ap-4/complete"))
        .bearer_auth(PRIVATE_APP_TOKEN)
        .json(&json!({"outputFields": {"hs_execution_state": "BLOCK"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = client
        .post(format!("{callbacks}/complete"))
        .bearer_auth(PRIVATE_APP_TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let (status, listed) = call(
        Method::GET,
        format!("{}/_sandbox/automation/callbacks", sb.url),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["callbackId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ap-1", "ap-2", "ap-3"]);
    assert_eq!(listed[0]["outputFields"]["steward_run_id"], "r1");
    assert_eq!(listed[2]["via"], "single");
    assert!(listed[0]["completedAt"].is_string());
    assert_eq!(sb.callback_completions().len(), 3);
    assert_eq!(
        sb.stats().by_route["POST /hubspot/automation/v4/actions/callbacks/complete"],
        2
    );

    let (status, _) = call(
        Method::POST,
        format!("{}/_sandbox/automation/callbacks/reset", sb.url),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(sb.callback_completions().is_empty());
}

// --- delivery routes against a recording server ----------------------------------------

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A server on a free port that records every request and answers 200 `{"ok": true}`.
async fn recorder() -> (String, Arc<Mutex<Vec<Seen>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(Seen {
                path: uri.path().to_string(),
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            axum::Json(json!({"ok": true}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen, task)
}

fn h<'a>(s: &'a Seen, name: &str) -> &'a str {
    s.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Whether the Flow signature on `s` is right for its path and body.
fn flow_signed_right(s: &Seen) -> bool {
    let ts: i64 = h(s, "x-steward-timestamp").parse().unwrap();
    flow_signature(FLOW_SECRET, ts, "POST", &s.path, s.body.as_bytes())
        == h(s, "x-steward-signature")
}

#[tokio::test]
async fn flow_route_sends_per_record_repeats_tampers_and_skews() {
    let sb = start().await;
    let (target, seen, _server) = recorder().await;
    let route = format!("{}/_sandbox/automation/flow", sb.url);
    let records: Vec<String> = (0..20).map(|i| format!("0035g00000Rec{i:03}AAA")).collect();

    // One callout for every record, delivered twice with the same invocation id.
    let (status, out) = call(
        Method::POST,
        route.clone(),
        Some(
            json!({"target": target, "recipe_id": "R1", "record_ids": records,
                    "signing_secret": FLOW_SECRET, "repeat": 2}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let d = out["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["invocation_id"], d[1]["invocation_id"]);
    assert_eq!(
        (d[0]["attempt"].as_u64(), d[1]["attempt"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(d[0]["status"], 200);
    assert_eq!(d[0]["body"], json!({"ok": true}));
    {
        let got = seen.lock().unwrap();
        assert_eq!(got.len(), 2);
        let s = &got[0];
        assert_eq!(s.path, "/hooks/salesforce/recipes/R1");
        assert_eq!(h(s, "x-steward-account"), "salesforce:00D5g0000000001EAA");
        assert_eq!(h(s, "content-type"), "application/json");
        assert!(flow_signed_right(s));
        let body: FlowBody = serde_json::from_str(&s.body).unwrap();
        assert_eq!(body.record_ids, records);
        assert_eq!(body.invocation_id, d[0]["invocation_id"].as_str().unwrap());
        let now = chrono::Utc::now().timestamp();
        let ts: i64 = h(s, "x-steward-timestamp").parse().unwrap();
        assert!((now - ts).abs() < 30);
    }
    seen.lock().unwrap().clear();

    // Per record: 20 callouts, each id once, distinct invocation ids, all signed right.
    let (_, out) = call(
        Method::POST,
        route.clone(),
        Some(
            json!({"target": target, "recipe_id": "R1", "record_ids": records,
                    "signing_secret": FLOW_SECRET, "per_record": true,
                    "invocation_id": "sf-load-7"}),
        ),
    )
    .await;
    let d = out["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 20);
    assert_eq!(d[0]["invocation_id"], "sf-load-7-1");
    assert_eq!(d[0]["record_ids"], json!([records[0]]));
    {
        let got = seen.lock().unwrap();
        assert_eq!(got.len(), 20);
        assert!(got.iter().all(flow_signed_right));
        let mut sent: Vec<String> = got
            .iter()
            .map(|s| serde_json::from_str::<FlowBody>(&s.body).unwrap())
            .map(|b| {
                assert_eq!(b.record_ids.len(), 1);
                b.record_ids[0].clone()
            })
            .collect();
        sent.sort();
        assert_eq!(sent, records);
    }
    seen.lock().unwrap().clear();

    // Tampered: the body changed after signing; skewed: the timestamp 10 minutes old.
    call(
        Method::POST,
        route.clone(),
        Some(
            json!({"target": target, "recipe_id": "R1", "record_ids": ["a"],
                    "signing_secret": FLOW_SECRET, "tamper": true}),
        ),
    )
    .await;
    call(
        Method::POST,
        route,
        Some(
            json!({"target": target, "recipe_id": "R1", "record_ids": ["a"],
                    "signing_secret": FLOW_SECRET, "clock_skew_seconds": -600}),
        ),
    )
    .await;
    let got = seen.lock().unwrap();
    assert_eq!(got.len(), 2);
    assert!(
        !flow_signed_right(&got[0]),
        "tampered body fails the signature"
    );
    let tampered: FlowBody = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(tampered.record_ids.len(), 2);
    assert!(
        flow_signed_right(&got[1]),
        "a stale callout is still signed right"
    );
    let ts: i64 = h(&got[1], "x-steward-timestamp").parse().unwrap();
    let age = chrono::Utc::now().timestamp() - ts;
    assert!((595..=660).contains(&age), "{age}");
}

#[tokio::test]
async fn hubspot_action_route_signs_as_hubspot_and_keeps_callback_ids_across_repeats() {
    let sb = start().await;
    let (target, seen, _server) = recorder().await;
    let action_url = format!("{target}/hooks/hubspot/workflow-action");
    let route = format!("{}/_sandbox/automation/hubspot-action", sb.url);

    let (status, out) = call(
        Method::POST,
        route.clone(),
        Some(
            json!({"action_url": action_url, "recipe_id": "R9", "object_ids": [101, "102"],
                    "repeat": 2}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let d = out["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 4);
    assert_eq!(d[0]["invocation_id"], d[1]["invocation_id"]);
    assert_ne!(d[0]["invocation_id"], d[2]["invocation_id"]);
    assert_eq!(d[2]["object_id"], 102);
    {
        let got = seen.lock().unwrap();
        assert_eq!(got.len(), 4);
        for s in got.iter() {
            assert_eq!(s.path, "/hooks/hubspot/workflow-action");
            let ts: i64 = h(s, "x-hubspot-request-timestamp").parse().unwrap();
            assert_eq!(
                h(s, "x-hubspot-signature-v3"),
                STANDARD.encode(reference_hmac(
                    CLIENT_SECRET.as_bytes(),
                    format!("POST{action_url}{}{ts}", s.body).as_bytes()
                ))
            );
            assert_eq!(h(s, "x-hubspot-signature"), "");
            let body: Value = serde_json::from_str(&s.body).unwrap();
            assert_eq!(body["origin"]["portalId"], PORTAL_ID);
            assert_eq!(body["object"]["objectType"], "CONTACT");
            assert_eq!(body["inputFields"]["recipe_id"], "R9");
            assert_eq!(body["context"]["source"], "WORKFLOWS");
        }
    }
    seen.lock().unwrap().clear();

    // v2 alone, tampered, and a skewed v3.
    call(
        Method::POST,
        route.clone(),
        Some(
            json!({"action_url": action_url, "recipe_id": "R9", "object_ids": [5],
                    "signature": "v2", "object_type": "DEAL"}),
        ),
    )
    .await;
    call(
        Method::POST,
        route.clone(),
        Some(
            json!({"action_url": action_url, "recipe_id": "R9", "object_ids": [5],
                    "tamper": true}),
        ),
    )
    .await;
    call(
        Method::POST,
        route,
        Some(
            json!({"action_url": action_url, "recipe_id": "R9", "object_ids": [5],
                    "clock_skew_ms": -600000}),
        ),
    )
    .await;
    let got = seen.lock().unwrap();
    assert_eq!(got.len(), 3);
    let v2 = &got[0];
    assert_eq!(h(v2, "x-hubspot-signature-version"), "v2");
    assert_eq!(
        h(v2, "x-hubspot-signature"),
        steward_shared::crypto::sha256_hex(
            format!("{CLIENT_SECRET}POST{action_url}{}", v2.body).as_bytes()
        )
    );
    assert_eq!(h(v2, "x-hubspot-signature-v3"), "");
    assert!(v2.body.contains(r#""objectType":"DEAL""#));
    let v3_right = |s: &Seen| {
        let ts: i64 = h(s, "x-hubspot-request-timestamp").parse().unwrap();
        hubspot_v3_signature(CLIENT_SECRET, "POST", &action_url, &s.body, ts)
            == h(s, "x-hubspot-signature-v3")
    };
    assert!(!v3_right(&got[1]));
    assert!(got[1].body.contains(r#""objectId":6"#));
    assert!(v3_right(&got[2]));
    let ts: i64 = h(&got[2], "x-hubspot-request-timestamp").parse().unwrap();
    let age = chrono::Utc::now().timestamp_millis() - ts;
    assert!((595_000..=660_000).contains(&age), "{age}");
}

#[tokio::test]
async fn unreachable_targets_are_reported_not_fatal() {
    let sb = start().await;
    let (status, out) = call(
        Method::POST,
        format!("{}/_sandbox/automation/flow", sb.url),
        Some(
            json!({"target": "http://127.0.0.1:1", "recipe_id": "R", "record_ids": ["a"],
                    "signing_secret": "s"}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(out["deliveries"][0]["status"], 0);
    let (status, _) = call(
        Method::POST,
        format!("{}/_sandbox/automation/flow", sb.url),
        Some(
            json!({"target": "http://x", "recipe_id": "R", "record_ids": [],
                    "signing_secret": "s"}),
        ),
    )
    .await;
    assert_eq!(status, 400);
}
