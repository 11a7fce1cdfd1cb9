//! End-to-end tests against a running sandbox: what Steward's Salesforce connector relies
//! on (status codes, body shapes, headers, paging, limits, OAuth and SOAP).

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::oauth::pkce_challenge;
use super::{ORG_ID, STATIC_SESSION_TOKEN, ids};
use crate::config::SalesforceLimits;
use crate::{CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxConfig};

const V: &str = "v66.0";
const CALLBACK: &str = "http://localhost:9999/callback";

struct Org {
    sb: Sandbox,
    base: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn org(config: SandboxConfig) -> Org {
    let sb = Sandbox::start(config).await.unwrap();
    let base = sb.salesforce_base();
    let http = steward_shared::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Org { sb, base, http }
}

async fn small_org() -> Org {
    org(SandboxConfig {
        records: 200,
        ..Default::default()
    })
    .await
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Org {
    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}/services/data/{V}{path}", self.base);
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(STATIC_SESSION_TOKEN, reqwest::Method::GET, path, None)
            .await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Answer {
        self.call(STATIC_SESSION_TOKEN, method, path, Some(body))
            .await
    }

    /// A query that must succeed, with an optional batch size.
    async fn query(&self, endpoint: &str, soql: &str, batch: Option<usize>) -> Value {
        let url = format!(
            "{}/services/data/{V}/{endpoint}?q={}",
            self.base,
            urlencoding::encode(soql)
        );
        let mut req = self.http.get(url).bearer_auth(STATIC_SESSION_TOKEN);
        if let Some(b) = batch {
            req = req.header("Sforce-Query-Options", format!("batchSize={b}"));
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{soql}");
        resp.json().await.unwrap()
    }

    async fn more(&self, next: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{next}", self.base))
            .bearer_auth(STATIC_SESSION_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn soap(&self, token: &str, op: &str) -> (u16, String) {
        let envelope = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:partner.soap.sforce.com" xmlns:so="urn:sobject.partner.soap.sforce.com"><soapenv:Header><sf:SessionHeader><sf:sessionId>{token}</sf:sessionId></sf:SessionHeader></soapenv:Header><soapenv:Body>{op}</soapenv:Body></soapenv:Envelope>"#
        );
        let resp = self
            .http
            .post(format!("{}/services/Soap/u/66.0", self.base))
            .header("Content-Type", "text/xml; charset=UTF-8")
            .header("SOAPAction", "\"\"")
            .body(envelope)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn post_form(&self, path: &str, body: String) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Runs authorize + approve and returns the authorization code.
    async fn code(&self, challenge: Option<&str>) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("state", "st-1"),
            ("scope", "api refresh_token id"),
        ];
        if let Some(c) = challenge {
            pairs.push(("code_challenge", c));
            pairs.push(("code_challenge_method", "S256"));
        }
        let page = self
            .http
            .get(format!(
                "{}/services/oauth2/authorize?{}",
                self.base,
                form(&pairs)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let checked = html
            .find("\" checked>")
            .expect("an active user is preselected");
        let user = &html[checked - 18..checked];
        assert!(user.starts_with("005"), "{user}");
        let mut approve = pairs.clone();
        approve.push(("user_id", user));
        approve.push(("action", "allow"));
        let resp = self
            .post_form("/services/oauth2/authorize", form(&approve))
            .await;
        assert_eq!(resp.status(), 302);
        let loc = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(loc.starts_with(&format!("{CALLBACK}?code=")), "{loc}");
        assert!(loc.ends_with("&state=st-1"), "{loc}");
        let code = loc
            .split("code=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        urlencoding::decode(code).unwrap().into_owned()
    }

    async fn token(&self, pairs: &[(&str, &str)]) -> (u16, Value) {
        let resp = self.post_form("/services/oauth2/token", form(pairs)).await;
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn access_token(&self) -> String {
        self.tokens().await.0
    }

    /// (access token, refresh token) from a full authorization-code flow.
    async fn tokens(&self) -> (String, String) {
        let code = self.code(None).await;
        let (status, body) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", CALLBACK),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        let field = |k: &str| body[k].as_str().unwrap().to_string();
        (field("access_token"), field("refresh_token"))
    }

    /// Creates records through sObject Collections (all must succeed) and returns their ids.
    async fn create(&self, records: Vec<Value>) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in records.chunks(200) {
            let a = self
                .send(
                    reqwest::Method::POST,
                    "/composite/sobjects",
                    json!({"allOrNone": true, "records": chunk}),
                )
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
            for r in a.body.as_array().unwrap() {
                assert_eq!(r["success"], true, "{r}");
                out.push(r["id"].as_str().unwrap().to_string());
            }
        }
        out
    }
}

fn contact(last: &str, email: Option<&str>) -> Value {
    json!({"attributes": {"type": "Contact"}, "LastName": last, "FirstName": "Pat", "Email": email})
}

fn error_code(a: &Answer) -> &str {
    a.body[0]["errorCode"].as_str().unwrap_or_default()
}

#[test]
fn the_org_id_is_a_valid_18_character_id() {
    assert_eq!(ids::make("00D", 1), ORG_ID);
    assert_eq!(ids::to18(&ORG_ID[..15]).as_deref(), Some(ORG_ID));
}

#[tokio::test]
async fn oauth_code_flow_with_pkce_refresh_and_identity() {
    let o = small_org().await;
    let verifier = "a-very-long-code-verifier-of-at-least-forty-three-characters-1234";
    let challenge = pkce_challenge(verifier);
    let grant = |code: &str, v: Option<&str>| {
        let mut p = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("client_id", CLIENT_ID.to_string()),
            ("client_secret", CLIENT_SECRET.to_string()),
            ("redirect_uri", CALLBACK.to_string()),
        ];
        if let Some(v) = v {
            p.push(("code_verifier", v.to_string()));
        }
        p
    };
    let refs =
        |p: &[(&'static str, String)]| p.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let exchange = async |p: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        o.token(&pairs).await
    };

    // PKCE: a missing verifier is invalid_grant, a wrong one invalid_request.
    let code = o.code(Some(&challenge)).await;
    let (status, body) = exchange(grant(&code, None)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let code = o.code(Some(&challenge)).await;
    let (status, body) = exchange(grant(&code, Some("wrong-verifier"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // The right verifier: Salesforce's token answer, with no expires_in.
    let code = o.code(Some(&challenge)).await;
    let good = grant(&code, Some(verifier));
    let (status, tok) = exchange(refs(&good)).await;
    assert_eq!(status, 200, "{tok}");
    assert!(tok.get("expires_in").is_none());
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["instance_url"], o.base.as_str());
    assert_eq!(tok["scope"], "api refresh_token id");
    assert!(
        tok["issued_at"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    assert!(!tok["signature"].as_str().unwrap().is_empty());
    let access = tok["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with(&format!("{}!", &ORG_ID[..15])));
    let refresh = tok["refresh_token"].as_str().unwrap().to_string();
    let id_url = tok["id"].as_str().unwrap().to_string();
    assert!(
        id_url.starts_with(&format!("{}/id/{ORG_ID}/005", o.base)),
        "{id_url}"
    );
    let user_id = id_url.rsplit('/').next().unwrap().to_string();

    // Codes are single-use.
    let (status, body) = exchange(good).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Identity URL and userinfo.
    let me: Value = o
        .http
        .get(&id_url)
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user_id"], user_id.as_str());
    assert_eq!(me["organization_id"], ORG_ID);
    assert!(me["username"].as_str().unwrap().contains('@'));
    let bad = o
        .http
        .get(&id_url)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
    let info: Value = o
        .http
        .get(format!("{}/services/oauth2/userinfo", o.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (info["user_id"].as_str(), info["organization_id"].as_str()),
        (Some(user_id.as_str()), Some(ORG_ID))
    );

    // Refresh: a new access token, and no refresh_token in the answer.
    let (status, again) = o
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(status, 200, "{again}");
    assert!(again.get("refresh_token").is_none());
    let fresh = again["access_token"].as_str().unwrap();
    assert_ne!(fresh, access);
    assert_eq!(
        o.call(fresh, reqwest::Method::GET, "/limits", None)
            .await
            .status,
        200
    );

    let (status, body) = o
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "5Aep861bogus"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
    let (status, body) = o
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    let (status, body) = o
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "someone-else"),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client_id"))
    );
}

#[tokio::test]
async fn authorize_errors_blocked_app_unknown_client_and_denial() {
    let o = org(SandboxConfig {
        records: 200,
        salesforce_app_blocked: true,
        ..Default::default()
    })
    .await;
    let url = format!(
        "{}/services/oauth2/authorize?{}",
        o.base,
        form(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("state", "s1")
        ])
    );
    let resp = o.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()["location"],
        format!("{CALLBACK}?error=OAUTH_APP_BLOCKED&error_description=this%20app%20is%20blocked%20by%20admin&state=s1")
            .as_str()
    );

    let o = small_org().await;
    let url = format!(
        "{}/services/oauth2/authorize?{}",
        o.base,
        form(&[
            ("response_type", "code"),
            ("client_id", "unknown"),
            ("redirect_uri", CALLBACK)
        ])
    );
    let resp = o.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let page = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        page.contains("/setup/secur/RemoteAccessErrorPage.apexp?error=invalid_client_id"),
        "{page}"
    );
    let html = o
        .http
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(
        "We can't authorize you because of an OAuth error. For more information, contact your Salesforce administrator."
    ));
    assert!(
        html.contains("invalid_client_id : client identifier invalid"),
        "{html}"
    );

    let deny = form(&[
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("state", "s2"),
        ("action", "deny"),
    ]);
    let resp = o.post_form("/services/oauth2/authorize", deny).await;
    assert_eq!(resp.status(), 302);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{CALLBACK}?error=access_denied"))
    );
}

#[tokio::test]
async fn query_pages_to_the_end_and_resumes_with_id_greater_than() {
    let o = small_org().await;
    let mut records: Vec<Value> = (0..450)
        .map(|i| contact("Pager", Some(&format!("p{i}@example.com"))))
        .collect();
    records.push(contact("Pager", None));
    let created = o.create(records).await;
    assert_eq!(created.len(), 451);

    let soql = "SELECT Id, CreatedDate, LastModifiedDate, Email, Phone FROM Contact \
                WHERE (Email != null AND LastName = 'pager') ORDER BY Id ASC";
    let mut page = o.query("query", soql, Some(200)).await;
    assert_eq!(page["totalSize"], 450);
    let mut seen: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let recs = page["records"].as_array().unwrap();
        assert!(recs.len() <= 200);
        for r in recs {
            assert_eq!(r["attributes"]["type"], "Contact");
            let id = r["Id"].as_str().unwrap();
            assert_eq!(
                r["attributes"]["url"],
                format!("/services/data/{V}/sobjects/Contact/{id}").as_str()
            );
            assert!(r.as_object().unwrap().contains_key("Phone") && r["Phone"].is_null());
            assert!(r["CreatedDate"].as_str().unwrap().ends_with("+0000"));
            seen.push(id.to_string());
        }
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_string();
        assert!(
            next.starts_with(&format!("/services/data/{V}/query/01g")),
            "{next}"
        );
        page = o.more(&next).await;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 450);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "ids come back once each, in Id order");

    // Keyset resumption, with the 18- and the 15-character id.
    for after in [seen[199].clone(), seen[199][..15].to_string()] {
        let resume = format!(
            "SELECT Id, Email FROM Contact WHERE (Email != null AND Id > '{after}' AND LastName = 'Pager') \
             ORDER BY Id ASC LIMIT 200"
        );
        let page = o.query("query", &resume, None).await;
        assert_eq!(page["totalSize"], 200);
        assert_eq!(page["done"], true);
        let ids: Vec<&str> = page["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.first().copied(), Some(seen[200].as_str()));
        assert_eq!(ids.last().copied(), Some(seen[399].as_str()));
    }

    // Other shapes: COUNT(), ORDER BY DESC, relationship fields, users.
    let count = o
        .query(
            "query",
            "SELECT COUNT() FROM Contact WHERE LastName = 'Pager'",
            None,
        )
        .await;
    assert_eq!(
        count,
        json!({"totalSize": 451, "done": true, "records": []})
    );
    let desc = o
        .query("query", "SELECT Id FROM Contact WHERE LastName = 'Pager' ORDER BY Email DESC NULLS LAST LIMIT 2", None)
        .await;
    assert_eq!(
        desc["records"][0]["Id"],
        seen[9].as_str(),
        "'p9@' sorts last as text"
    );
    let users = o
        .query("query", "SELECT Id, Username, IsActive FROM User", None)
        .await;
    assert!(users["totalSize"].as_u64().unwrap() >= 1);
    assert!(
        users["records"][0]["Id"]
            .as_str()
            .unwrap()
            .starts_with("005")
    );
    let owner = o
        .query(
            "query",
            &format!(
                "SELECT Id, Owner.Name, Account.Name FROM Contact WHERE Id = '{}'",
                seen[0]
            ),
            None,
        )
        .await;
    assert_eq!(owner["records"][0]["Owner"]["attributes"]["type"], "User");
    assert!(owner["records"][0]["Account"].is_null());

    // Errors come as the REST error array.
    let bad = o
        .get(&format!(
            "/query?q={}",
            urlencoding::encode("SELECT Id FROM Contact WHERE")
        ))
        .await;
    assert_eq!((bad.status, error_code(&bad)), (400, "MALFORMED_QUERY"));
    assert!(bad.body[0]["message"].is_string());
    let bad = o
        .get(&format!(
            "/query?q={}",
            urlencoding::encode("SELECT Id, Nope__c FROM Contact")
        ))
        .await;
    assert_eq!((bad.status, error_code(&bad)), (400, "INVALID_FIELD"));
    let bad = o
        .get(&format!(
            "/query?q={}",
            urlencoding::encode("SELECT Id FROM Contact WHERE Email = 5")
        ))
        .await;
    assert_eq!((bad.status, error_code(&bad)), (400, "INVALID_FIELD"));
    let bad = o
        .get(&format!(
            "/query?q={}",
            urlencoding::encode("SELECT Id FROM Nope")
        ))
        .await;
    assert_eq!((bad.status, error_code(&bad)), (400, "INVALID_TYPE"));
    let bad = o.get("/query/01gnotalocator-200").await;
    assert_eq!(
        (bad.status, error_code(&bad)),
        (400, "INVALID_QUERY_LOCATOR")
    );
}

#[tokio::test]
async fn collections_report_per_record_errors_and_roll_back_all_or_none() {
    let o = small_org().await;
    let post = reqwest::Method::POST;
    let patch = reqwest::Method::PATCH;
    let a = o
        .send(
            post.clone(),
            "/composite/sobjects",
            json!({"allOrNone": false, "records": [
                contact("Good", Some("good@example.com")),
                {"attributes": {"type": "Contact"}, "FirstName": "NoLast"},
                {"attributes": {"type": "Lead"}, "LastName": "NoCompany"},
                {"attributes": {"type": "Account"}, "Name": "X", "CreatedDate": "2020-01-01T00:00:00Z"},
                {"attributes": {"type": "Contact"}, "LastName": "X", "Nope__c": 1},
                {"attributes": {"type": "Account"}, "Name": "Kept Inc"},
            ]}),
        )
        .await;
    assert_eq!(a.status, 200);
    let r = a.body.as_array().unwrap();
    assert_eq!(r.len(), 6);
    assert_eq!(r[0]["success"], true);
    let good = r[0]["id"].as_str().unwrap().to_string();
    assert!(good.starts_with("003") && good.len() == 18);
    assert_eq!(r[0]["errors"], json!([]));
    assert_eq!(r[1]["success"], false);
    assert!(r[1].get("id").is_none());
    assert_eq!(r[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(r[1]["errors"][0]["fields"], json!(["LastName"]));
    assert_eq!(r[2]["errors"][0]["fields"], json!(["Company"]));
    assert_eq!(
        r[3]["errors"][0]["statusCode"],
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    );
    assert_eq!(r[4]["errors"][0]["statusCode"], "INVALID_FIELD");
    assert_eq!(r[5]["success"], true);
    assert!(r[5]["id"].as_str().unwrap().starts_with("001"));

    // Updates: one good, one deleted, one unknown.
    let gone = o.create(vec![contact("Gone", None)]).await.remove(0);
    assert_eq!(
        o.call(
            STATIC_SESSION_TOKEN,
            reqwest::Method::DELETE,
            &format!("/sobjects/Contact/{gone}"),
            None
        )
        .await
        .status,
        204
    );
    let unknown = ids::make("003", 999_999_999);
    let a = o
        .send(
            patch.clone(),
            "/composite/sobjects",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Contact"}, "id": good, "Phone": "+1 555 0100"},
                {"attributes": {"type": "Contact"}, "id": gone, "Phone": "1"},
                {"attributes": {"type": "Contact"}, "id": unknown, "Phone": "1"},
            ]}),
        )
        .await;
    let r = a.body.as_array().unwrap();
    assert_eq!(
        (r[0]["success"].clone(), r[0]["id"].clone()),
        (json!(true), json!(good))
    );
    assert_eq!(r[1]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    assert_eq!(r[1]["id"], gone.as_str());
    assert_eq!(
        r[2]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );

    // allOrNone: the bad record has its error, the others are rolled back.
    let a = o
        .send(
            patch,
            "/composite/sobjects",
            json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Contact"}, "id": good, "Phone": "changed"},
                {"attributes": {"type": "Contact"}, "id": good, "LastName": null},
            ]}),
        )
        .await;
    let r = a.body.as_array().unwrap();
    assert_eq!(
        r[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        r[0]["errors"][0]["message"],
        "Record rolled back because not all records were valid and the request was using AllOrNone header"
    );
    assert_eq!(r[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    let a = o
        .get(&format!("/sobjects/Contact/{good}?fields=Phone,LastName"))
        .await;
    assert_eq!(
        (a.body["Phone"].as_str(), a.body["LastName"].as_str()),
        (Some("+1 555 0100"), Some("Good"))
    );

    let a = o
        .send(
            post.clone(),
            "/composite/sobjects",
            json!({"allOrNone": true, "records": [contact("Rolled", None), {"attributes": {"type": "Contact"}}]}),
        )
        .await;
    let r = a.body.as_array().unwrap();
    assert!(r[0].get("id").is_none());
    assert_eq!(
        r[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    let count = o
        .query(
            "queryAll",
            "SELECT COUNT() FROM Contact WHERE LastName = 'Rolled'",
            None,
        )
        .await;
    assert_eq!(count["totalSize"], 0);

    // More than 200 records is a 400 for the whole call.
    let many: Vec<Value> = (0..201).map(|_| contact("Many", None)).collect();
    let a = o
        .send(
            post,
            "/composite/sobjects",
            json!({"allOrNone": false, "records": many}),
        )
        .await;
    assert_eq!((a.status, error_code(&a)), (400, "EXCEEDED_ID_LIMIT"));

    // Retrieve: input order, null for missing ids.
    let a = o
        .get(&format!(
            "/composite/sobjects/Contact?ids={unknown},{good},{gone}&fields=Id,Phone"
        ))
        .await;
    assert_eq!(a.status, 200);
    assert!(a.body[0].is_null() && a.body[2].is_null());
    assert_eq!(a.body[1]["Id"], good.as_str());
    assert_eq!(a.body[1]["attributes"]["type"], "Contact");

    // Delete by ids.
    let url = format!("/composite/sobjects?ids={good},{gone}&allOrNone=false");
    let a = o
        .call(STATIC_SESSION_TOKEN, reqwest::Method::DELETE, &url, None)
        .await;
    assert_eq!(a.body[0]["success"], true);
    assert_eq!(a.body[1]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
}

#[tokio::test]
async fn record_crud_and_describe() {
    let o = small_org().await;
    let a = o
        .send(
            reqwest::Method::POST,
            "/sobjects/Lead",
            json!({"LastName": "Lovelace", "Company": "Engines Ltd"}),
        )
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(
        (a.body["success"].clone(), a.body["errors"].clone()),
        (json!(true), json!([]))
    );
    let id = a.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("00Q"));
    let a = o.get(&format!("/sobjects/Lead/{id}")).await;
    assert_eq!(a.body["Status"], "Open - Not Contacted");
    assert_eq!(a.body["IsConverted"], false);
    assert_eq!(a.body["Name"], "Lovelace");
    let a = o
        .send(
            reqwest::Method::PATCH,
            &format!("/sobjects/Lead/{id}"),
            json!({"FirstName": "Ada"}),
        )
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        o.get(&format!("/sobjects/Lead/{id}?fields=Name"))
            .await
            .body["Name"],
        "Ada Lovelace"
    );
    let a = o
        .send(
            reqwest::Method::PATCH,
            &format!("/sobjects/Lead/{id}"),
            json!({"Name": "x"}),
        )
        .await;
    assert_eq!(
        (a.status, error_code(&a)),
        (400, "INVALID_FIELD_FOR_INSERT_UPDATE")
    );
    let a = o
        .send(
            reqwest::Method::POST,
            "/sobjects/Contact",
            json!({"FirstName": "x"}),
        )
        .await;
    assert_eq!((a.status, error_code(&a)), (400, "REQUIRED_FIELD_MISSING"));
    assert_eq!(a.body[0]["fields"], json!(["LastName"]));
    let a = o
        .call(
            STATIC_SESSION_TOKEN,
            reqwest::Method::DELETE,
            &format!("/sobjects/Lead/{id}"),
            None,
        )
        .await;
    assert_eq!(a.status, 204);
    let a = o.get(&format!("/sobjects/Lead/{id}")).await;
    assert_eq!((a.status, error_code(&a)), (404, "ENTITY_IS_DELETED"));
    let a = o.get("/sobjects/Lead/nonsense").await;
    assert_eq!((a.status, error_code(&a)), (404, "NOT_FOUND"));
    assert_eq!(o.get("/sobjects/Nope/describe").await.status, 404);

    let d = o.get("/sobjects/Contact/describe").await;
    assert_eq!(d.status, 200);
    assert_eq!(
        (d.body["keyPrefix"].as_str(), d.body["mergeable"].as_bool()),
        (Some("003"), Some(true))
    );
    let field = |n: &str| {
        d.body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(field("Name")["createable"], false);
    assert_eq!(field("LastName")["nillable"], false);
    assert_eq!(field("Email")["type"], "email");
    assert_eq!(field("AccountId")["referenceTo"], json!(["Account"]));
    assert_eq!(field("AccountId")["relationshipName"], "Account");
    assert_eq!(field("MasterRecordId")["updateable"], false);
    let lead = o.get("/sobjects/Lead/describe").await;
    let status = lead.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Status")
        .unwrap()
        .clone();
    assert!(
        status["picklistValues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["value"] == "Closed - Converted")
    );
    assert_eq!(
        o.get("/sobjects/Opportunity/describe").await.body["mergeable"],
        false
    );

    let versions: Value = o
        .http
        .get(format!("{}/services/data/", o.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        versions
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["version"] == "66.0" && v["url"] == "/services/data/v66.0")
    );
    assert_eq!(o.get("/nowhere").await.status, 404);
    let a = o
        .call(
            STATIC_SESSION_TOKEN,
            reqwest::Method::PUT,
            "/sobjects/Lead/00Q5g0000000001AAA",
            None,
        )
        .await;
    assert_eq!((a.status, error_code(&a)), (405, "METHOD_NOT_ALLOWED"));
}

fn merge_request(
    element: &str,
    ty: &str,
    master: &str,
    losers: &[&str],
    overrides: &str,
) -> String {
    let losers: String = losers
        .iter()
        .map(|l| format!("<sf:recordToMergeIds>{l}</sf:recordToMergeIds>"))
        .collect();
    format!(
        "<sf:{element}><sf:masterRecord><so:type>{ty}</so:type><so:Id>{master}</so:Id>{overrides}</sf:masterRecord>{losers}</sf:{element}>"
    )
}

#[tokio::test]
async fn soap_merge_deletes_losers_and_reparents_children() {
    let o = small_org().await;
    let accounts = o
        .create(
            ["MergeCo", "MergeCo Inc", "MergeCo Ltd", "Other"]
                .iter()
                .map(|n| json!({"attributes": {"type": "Account"}, "Name": n, "Phone": "123"}))
                .collect(),
        )
        .await;
    let child = o
        .create(vec![
            json!({"attributes": {"type": "Contact"}, "LastName": "Kid", "AccountId": accounts[2]}),
        ])
        .await
        .remove(0);
    let (master, l1, l2) = (&accounts[0], &accounts[1], &accounts[2]);
    let op = format!(
        "<sf:merge>{}{}{}</sf:merge>",
        merge_request(
            "request",
            "Account",
            master,
            &[l1, l2],
            "<so:Phone>999</so:Phone>"
        ),
        merge_request(
            "mergeRequests",
            "Account",
            &accounts[3],
            &[l1, l2, master],
            ""
        ),
        merge_request("request", "Opportunity", &accounts[3], &[l1], ""),
    );
    let (status, xml) = o.soap(STATIC_SESSION_TOKEN, &op).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("xmlns=\"urn:partner.soap.sforce.com\""));
    assert!(xml.contains("<mergeResponse><result>"), "{xml}");
    let first = format!(
        "<result><id>{master}</id><mergedRecordIds>{l1}</mergedRecordIds><mergedRecordIds>{l2}</mergedRecordIds>\
         <success>true</success><updatedRelatedIds>{child}</updatedRelatedIds></result>"
    );
    assert!(xml.contains(&first), "{xml}");
    assert_eq!(xml.matches("<success>false</success>").count(), 2, "{xml}");
    assert!(xml.contains("<statusCode>LIMIT_EXCEEDED</statusCode>"));

    let live = o
        .query(
            "query",
            "SELECT Id, Phone FROM Account WHERE Name LIKE 'MergeCo%'",
            None,
        )
        .await;
    assert_eq!(live["totalSize"], 1);
    assert_eq!(
        (
            live["records"][0]["Id"].as_str(),
            live["records"][0]["Phone"].as_str()
        ),
        (Some(master.as_str()), Some("999"))
    );
    let gone = o
        .query(
            "queryAll",
            "SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE IsDeleted = true AND MasterRecordId != null ORDER BY Id",
            None,
        )
        .await;
    assert_eq!(gone["totalSize"], 2);
    for r in gone["records"].as_array().unwrap() {
        assert_eq!(
            (r["IsDeleted"].clone(), r["MasterRecordId"].clone()),
            (json!(true), json!(master))
        );
    }
    let kid = o
        .get(&format!("/sobjects/Contact/{child}?fields=AccountId"))
        .await;
    assert_eq!(kid.body["AccountId"], master.as_str());

    let (status, xml) = o.soap("bogus", "<sf:merge/>").await;
    assert_eq!(status, 500);
    assert!(
        xml.contains("<faultcode>sf:INVALID_SESSION_ID</faultcode>"),
        "{xml}"
    );
}

#[tokio::test]
async fn soap_convert_lead_creates_account_contact_and_opportunity() {
    let o = small_org().await;
    let leads = o
        .create(vec![
            json!({"attributes": {"type": "Lead"}, "FirstName": "Grace", "LastName": "Hopper", "Company": "Cobol Co", "Email": "grace@cobol.example"}),
            json!({"attributes": {"type": "Lead"}, "LastName": "Second", "Company": "Second Co"}),
        ])
        .await;
    let op = format!(
        "<sf:convertLead>\
         <sf:leadConverts><sf:leadId>{}</sf:leadId><sf:convertedStatus>Closed - Converted</sf:convertedStatus><sf:doNotCreateOpportunity>false</sf:doNotCreateOpportunity></sf:leadConverts>\
         <sf:leadConverts><sf:leadId>{}</sf:leadId><sf:convertedStatus>Open - Not Contacted</sf:convertedStatus></sf:leadConverts>\
         <sf:leadConverts><sf:leadId>{}</sf:leadId><sf:convertedStatus>Closed - Converted</sf:convertedStatus><sf:doNotCreateOpportunity>true</sf:doNotCreateOpportunity></sf:leadConverts>\
         </sf:convertLead>",
        leads[0], leads[1], leads[1]
    );
    let (status, xml) = o.soap(STATIC_SESSION_TOKEN, &op).await;
    assert_eq!(status, 200, "{xml}");
    let tag = |xml: &str, t: &str, nth: usize| -> Option<String> {
        xml.split(&format!("<{t}>"))
            .nth(nth)
            .map(|s| s.split('<').next().unwrap_or_default().to_string())
    };
    assert_eq!(xml.matches("<success>true</success>").count(), 2, "{xml}");
    assert!(
        xml.contains("<statusCode>INVALID_STATUS</statusCode>"),
        "{xml}"
    );
    let account = tag(&xml, "accountId", 1).unwrap();
    let contact = tag(&xml, "contactId", 1).unwrap();
    let opp = tag(&xml, "opportunityId", 1).unwrap();
    assert!(
        account.starts_with("001") && contact.starts_with("003") && opp.starts_with("006"),
        "{xml}"
    );
    assert!(
        xml.contains("<opportunityId xsi:nil=\"true\"/>"),
        "the third asked for no opportunity"
    );

    let lead = o
        .query(
            "query",
            &format!("SELECT IsConverted, Status, ConvertedAccountId, ConvertedContactId FROM Lead WHERE Id = '{}'", leads[0]),
            None,
        )
        .await;
    let r = &lead["records"][0];
    assert_eq!(r["IsConverted"], true);
    assert_eq!(r["Status"], "Closed - Converted");
    assert_eq!(
        (
            r["ConvertedAccountId"].as_str(),
            r["ConvertedContactId"].as_str()
        ),
        (Some(account.as_str()), Some(contact.as_str()))
    );
    let c = o
        .get(&format!(
            "/sobjects/Contact/{contact}?fields=Email,AccountId,Name"
        ))
        .await;
    assert_eq!(c.body["AccountId"], account.as_str());
    assert_eq!(c.body["Email"], "grace@cobol.example");
    assert_eq!(c.body["Name"], "Grace Hopper");
    assert_eq!(
        o.get(&format!("/sobjects/Account/{account}?fields=Name"))
            .await
            .body["Name"],
        "Cobol Co"
    );
    let a = o
        .send(
            reqwest::Method::PATCH,
            &format!("/sobjects/Lead/{}", leads[0]),
            json!({"Title": "x"}),
        )
        .await;
    assert_eq!(
        (a.status, error_code(&a)),
        (400, "CANNOT_UPDATE_CONVERTED_LEAD")
    );
}

#[tokio::test]
async fn expired_sessions_fail_on_rest_and_soap_while_refresh_still_works() {
    let o = small_org().await;
    let (token, refresh) = o.tokens().await;
    assert_eq!(
        o.call(&token, reqwest::Method::GET, "/limits", None)
            .await
            .status,
        200
    );
    o.sb.expire_tokens();
    let a = o.call(&token, reqwest::Method::GET, "/limits", None).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let (status, xml) = o.soap(&token, "<sf:merge/>").await;
    assert_eq!(status, 500);
    assert!(
        xml.contains("<faultcode>sf:INVALID_SESSION_ID</faultcode>"),
        "{xml}"
    );
    assert!(xml.contains("<soapenv:Fault>"));
    // The static session is for tools and never expires.
    assert_eq!(o.get("/limits").await.status, 200);
    // The refresh token still gets a working session.
    let (status, again) = o
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(status, 200, "{again}");
    let fresh = again["access_token"].as_str().unwrap();
    assert_eq!(
        o.call(fresh, reqwest::Method::GET, "/limits", None)
            .await
            .status,
        200
    );

    // A session older than the org's timeout is expired too.
    let o = org(SandboxConfig {
        records: 200,
        salesforce: SalesforceLimits {
            session_ttl_secs: 0,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let token = o.access_token().await;
    assert_eq!(
        o.call(&token, reqwest::Method::GET, "/limits", None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn the_daily_allowance_is_counted_reported_and_enforced() {
    let o = org(SandboxConfig {
        records: 200,
        salesforce: SalesforceLimits {
            daily: 3,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    for n in 1..=2 {
        let a = o.get("/sobjects/Account/describe").await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.headers["sforce-limit-info"],
            format!("api-usage={n}/3").as_str()
        );
    }
    let a = o.get("/limits").await;
    assert_eq!(
        a.body,
        json!({"DailyApiRequests": {"Max": 3, "Remaining": 0}})
    );
    let a = o.get("/limits").await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(a.headers["sforce-limit-info"], "api-usage=3/3");
    let (status, xml) = o.soap(STATIC_SESSION_TOKEN, "<sf:merge/>").await;
    assert_eq!(status, 500);
    assert!(xml.contains("sf:REQUEST_LIMIT_EXCEEDED"), "{xml}");
    // The versions list is not counted and carries no usage header.
    let resp = o
        .http
        .get(format!("{}/services/data/", o.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("sforce-limit-info").is_none());
}

#[tokio::test]
async fn server_errors_use_the_rest_error_array() {
    let resp = super::server_error(503);
    assert_eq!(resp.status(), 503);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v[0]["errorCode"], "SERVER_UNAVAILABLE");
    let resp = super::server_error(500);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v[0]["errorCode"], "UNKNOWN_EXCEPTION");
}

// ---- write log -----------------------------------------------------------------------

/// The write log as `(object, id, op)` triples, in order.
fn logged(o: &Org) -> Vec<(String, String, String)> {
    o.sb.writes()
        .into_iter()
        .map(|e| {
            assert_eq!(e.crm, "salesforce");
            (e.object, e.id, e.op)
        })
        .collect()
}

fn triple(object: &str, id: &str, op: &str) -> (String, String, String) {
    (object.to_string(), id.to_string(), op.to_string())
}

#[tokio::test]
async fn write_log_has_one_update_per_record_of_a_collection() {
    let o = small_org().await;
    let ids = o
        .create((0..5).map(|i| contact(&format!("Log{i}"), None)).collect())
        .await;
    assert_eq!(
        logged(&o),
        ids.iter()
            .map(|id| triple("Contact", id, "create"))
            .collect::<Vec<_>>(),
        "seeding logs nothing; collection create logs each record"
    );
    o.sb.reset_writes();
    let records: Vec<Value> = ids
        .iter()
        .map(|id| json!({"attributes": {"type": "Contact"}, "id": id, "Title": "Logged"}))
        .collect();
    let a = o
        .send(
            reqwest::Method::PATCH,
            "/composite/sobjects",
            json!({"allOrNone": false, "records": records}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        logged(&o),
        ids.iter()
            .map(|id| triple("Contact", id, "update"))
            .collect::<Vec<_>>()
    );
    assert!(o.sb.writes_per_record().values().all(|n| *n == 1));

    // A single-record PATCH is one more update of that record.
    let a = o
        .send(
            reqwest::Method::PATCH,
            &format!("/sobjects/Contact/{}", ids[0]),
            json!({"Title": "Twice"}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let per = o.sb.writes_per_record();
    assert_eq!(per.get(&triple("Contact", &ids[0], "update")), Some(&2));
    assert_eq!(per.get(&triple("Contact", &ids[1], "update")), Some(&1));
}

#[tokio::test]
async fn write_log_skips_failed_and_rolled_back_items() {
    let o = small_org().await;
    let ids = o
        .create(vec![contact("Keep", None), contact("Other", None)])
        .await;
    o.sb.reset_writes();

    let a = o
        .send(
            reqwest::Method::POST,
            "/composite/sobjects",
            json!({"allOrNone": false, "records": [
                contact("Good", None),
                {"attributes": {"type": "Contact"}, "FirstName": "NoLast"},
            ]}),
        )
        .await;
    let created = a.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(a.body[1]["success"], false);
    assert_eq!(logged(&o), vec![triple("Contact", &created, "create")]);

    o.sb.reset_writes();
    let unknown = ids::make("003", 999_999_999);
    let a = o
        .send(
            reqwest::Method::PATCH,
            "/composite/sobjects",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Contact"}, "id": ids[0], "Title": "Ok"},
                {"attributes": {"type": "Contact"}, "id": unknown, "Title": "Nobody"},
                {"attributes": {"type": "Contact"}, "id": ids[1], "LastName": null},
            ]}),
        )
        .await;
    assert_eq!(a.body[0]["success"], true, "{}", a.body);
    assert_eq!(logged(&o), vec![triple("Contact", &ids[0], "update")]);

    // All or none: one bad record rolls back the others, and their entries with them.
    o.sb.reset_writes();
    for (method, body) in [
        (
            reqwest::Method::PATCH,
            json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Contact"}, "id": ids[0], "Title": "Rolled"},
                {"attributes": {"type": "Contact"}, "id": ids[1], "LastName": null},
            ]}),
        ),
        (
            reqwest::Method::POST,
            json!({"allOrNone": true, "records": [
                contact("Rolled", None),
                {"attributes": {"type": "Contact"}},
            ]}),
        ),
    ] {
        let a = o.send(method, "/composite/sobjects", body).await;
        assert_eq!(a.body[1]["success"], false, "{}", a.body);
    }
    let url = format!(
        "/composite/sobjects?ids={},{unknown}&allOrNone=true",
        ids[1]
    );
    let a = o
        .call(STATIC_SESSION_TOKEN, reqwest::Method::DELETE, &url, None)
        .await;
    assert_eq!(a.body[1]["success"], false, "{}", a.body);
    assert!(o.sb.writes().is_empty(), "{:?}", o.sb.writes());
}

#[tokio::test]
async fn write_log_records_delete_merge_and_convert() {
    let o = small_org().await;
    let contacts = o
        .create((0..3).map(|i| contact(&format!("Del{i}"), None)).collect())
        .await;
    let accounts = o
        .create(
            ["LogCo", "LogCo Inc", "LogCo Ltd"]
                .iter()
                .map(|n| json!({"attributes": {"type": "Account"}, "Name": n}))
                .collect(),
        )
        .await;
    let child = o
        .create(vec![
            json!({"attributes": {"type": "Contact"}, "LastName": "Kid", "AccountId": accounts[1]}),
        ])
        .await
        .remove(0);
    let lead = o
        .create(vec![
            json!({"attributes": {"type": "Lead"}, "LastName": "Lovelace", "Company": "Engine Co"}),
        ])
        .await
        .remove(0);
    o.sb.reset_writes();

    let a = o
        .call(
            STATIC_SESSION_TOKEN,
            reqwest::Method::DELETE,
            &format!("/sobjects/Contact/{}", contacts[0]),
            None,
        )
        .await;
    assert_eq!(a.status, 204);
    // Deleting it again fails and writes nothing; the other id is deleted.
    let url = format!(
        "/composite/sobjects?ids={},{}&allOrNone=false",
        contacts[0], contacts[1]
    );
    let a = o
        .call(STATIC_SESSION_TOKEN, reqwest::Method::DELETE, &url, None)
        .await;
    assert_eq!(a.body[0]["success"], false, "{}", a.body);
    assert_eq!(
        logged(&o),
        vec![
            triple("Contact", &contacts[0], "delete"),
            triple("Contact", &contacts[1], "delete"),
        ]
    );

    o.sb.reset_writes();
    let op = format!(
        "<sf:merge>{}</sf:merge>",
        merge_request(
            "request",
            "Account",
            &accounts[0],
            &[&accounts[1], &accounts[2]],
            ""
        )
    );
    let (status, xml) = o.soap(STATIC_SESSION_TOKEN, &op).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<success>true</success>"), "{xml}");
    assert_eq!(
        logged(&o),
        vec![
            triple("Account", &accounts[0], "merge"),
            triple("Account", &accounts[1], "merge"),
            triple("Contact", &child, "reparent"),
            triple("Account", &accounts[2], "merge"),
        ]
    );

    o.sb.reset_writes();
    let op = format!(
        "<sf:convertLead><sf:leadConverts><sf:leadId>{lead}</sf:leadId>\
         <sf:convertedStatus>Closed - Converted</sf:convertedStatus></sf:leadConverts></sf:convertLead>"
    );
    let (status, xml) = o.soap(STATIC_SESSION_TOKEN, &op).await;
    assert_eq!(status, 200, "{xml}");
    let tag = |t: &str| {
        xml.split(&format!("<{t}>"))
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap()
            .to_string()
    };
    assert_eq!(
        logged(&o),
        vec![
            triple("Account", &tag("accountId"), "create"),
            triple("Contact", &tag("contactId"), "create"),
            triple("Opportunity", &tag("opportunityId"), "create"),
            triple("Lead", &lead, "convert"),
        ]
    );
    // Converting it again fails and writes nothing.
    o.sb.reset_writes();
    let (_, xml) = o.soap(STATIC_SESSION_TOKEN, &op).await;
    assert!(xml.contains("<success>false</success>"), "{xml}");
    assert!(o.sb.writes().is_empty());
}

#[tokio::test]
async fn write_log_ignores_requests_rejected_by_injected_faults() {
    let o = small_org().await;
    let ids = o
        .create(vec![contact("F1", None), contact("F2", None)])
        .await;
    o.sb.reset_writes();
    let body = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Contact"}, "id": ids[0], "Title": "Faulted"},
        {"attributes": {"type": "Contact"}, "id": ids[1], "Title": "Faulted"},
    ]});
    for faults in [
        crate::Faults {
            rate_429: 1.0,
            ..Default::default()
        },
        crate::Faults {
            rate_5xx: 1.0,
            ..Default::default()
        },
    ] {
        o.sb.set_faults(faults);
        let a = o
            .send(reqwest::Method::PATCH, "/composite/sobjects", body.clone())
            .await;
        assert!(a.status >= 500, "{}", a.status);
    }
    assert_eq!(o.sb.stats().injected_429, 1);
    assert!(o.sb.writes().is_empty(), "{:?}", o.sb.writes());

    o.sb.set_faults(crate::Faults::default());
    let a = o
        .send(reqwest::Method::PATCH, "/composite/sobjects", body)
        .await;
    assert_eq!(a.status, 200);
    // Over HTTP too: the control route is never faulted.
    let over_http: Vec<crate::WriteEntry> = o
        .http
        .get(format!("{}/_sandbox/writes", o.sb.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        over_http
            .iter()
            .map(|e| (e.crm.as_str(), e.id.as_str(), e.op.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("salesforce", ids[0].as_str(), "update"),
            ("salesforce", ids[1].as_str(), "update"),
        ]
    );
}

#[tokio::test]
async fn every_rest_resource_accepts_one_trailing_slash() {
    let o = small_org().await;
    let a = o
        .send(
            reqwest::Method::POST,
            "/sobjects/Contact/",
            contact("Slash", None),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(o.get("/sobjects/Contact/").await.status, 200);
    assert_eq!(o.get("/sobjects/Contact/describe/").await.status, 200);
    let a = o
        .get(&format!("/sobjects/Contact/{id}/?fields=LastName"))
        .await;
    assert_eq!(
        (a.status, a.body["LastName"].clone()),
        (200, json!("Slash"))
    );
    let a = o
        .send(
            reqwest::Method::PATCH,
            &format!("/sobjects/Contact/{id}/"),
            json!({"LastName": "Slashed"}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let a = o
        .get(&format!(
            "/composite/sobjects/Contact/?ids={id}&fields=LastName"
        ))
        .await;
    assert_eq!(a.body[0]["LastName"], "Slashed", "{}", a.body);
    let a = o
        .send(
            reqwest::Method::PATCH,
            "/composite/sobjects/",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Contact"}, "id": id, "LastName": "Twice"}
            ]}),
        )
        .await;
    assert_eq!(a.body[0]["success"], true, "{}", a.body);
    let a = o.get("/query/?q=SELECT+Id+FROM+Contact+LIMIT+1").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(o.get("/limits/").await.status, 200);
    assert_eq!(o.get("/").await.status, 200);
    let versions = o
        .http
        .get(format!("{}/services/data/", o.base))
        .send()
        .await
        .unwrap();
    assert_eq!(versions.status(), 200);

    // One slash is forgiven, not any path: two, or an unknown resource, are still 404.
    let a = o.get("/sobjects/Contact//").await;
    assert_eq!((a.status, error_code(&a)), (404, "NOT_FOUND"));
    let a = o.get("/sobjects/Contact/nope/extra/").await;
    assert_eq!((a.status, error_code(&a)), (404, "NOT_FOUND"));
    // The method still has to fit the resource.
    let a = o
        .call(
            STATIC_SESSION_TOKEN,
            reqwest::Method::PUT,
            "/sobjects/Contact/",
            Some(json!({})),
        )
        .await;
    assert_eq!(a.status, 405, "{}", a.body);
}

#[tokio::test]
async fn soap_checks_the_session_before_the_operation() {
    let o = small_org().await;
    // A bad session with an operation the API lacks: the session is what Salesforce
    // refuses first.
    let (status, xml) = o.soap("not-a-session", "<sf:frobnicate/>").await;
    assert_eq!(status, 500);
    assert!(
        xml.contains("<faultcode>sf:INVALID_SESSION_ID</faultcode>"),
        "{xml}"
    );
    // With a good session the unknown operation is the fault.
    let (status, xml) = o.soap(STATIC_SESSION_TOKEN, "<sf:frobnicate/>").await;
    assert_eq!(status, 500);
    assert!(
        xml.contains("<faultcode>soapenv:Client</faultcode>"),
        "{xml}"
    );
    assert!(xml.contains("No operation available"), "{xml}");
    // The SOAP endpoint forgives a trailing slash like the REST API.
    let resp = o
        .http
        .post(format!("{}/services/Soap/u/66.0/", o.base))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status().as_u16(), 404);
}
