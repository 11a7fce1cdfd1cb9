//! A test browser: keeps cookies, sends the CSRF token, calls Steward's handlers in
//! process (as API Gateway would) and the sandbox CRM's consent pages over HTTP.

use lambda_http::{Body, Request, RequestExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

use steward_shared::Services;
use steward_shared::api::Function;
use steward_shared::http::Router;
use steward_shared::wiring::Functions;

/// Every function over the world's services, each under its own wiring, as `steward
/// serve` runs them: a route or event using what its function's wiring lacks answers 500.
pub fn functions(full: &Services) -> Functions {
    Functions::new(full)
        .http(Function::Auth, steward_auth::router(), steward_auth::wiring)
        .http(Function::Team, steward_team::router(), steward_team::wiring)
        .http(
            Function::Templates,
            steward_templates::router(),
            steward_templates::wiring,
        )
        .http(Function::Runs, steward_runs::router(), steward_runs::wiring)
        .http(
            Function::Exports,
            steward_exports::router(),
            steward_exports::wiring,
        )
        .worker(steward_runs::worker_wiring)
        .events(steward_exports::events_wiring)
}

/// Every function's routes, as `steward serve` merges them.
pub fn app_router() -> Router<Services> {
    steward_auth::router()
        .merge(steward_team::router())
        .merge(steward_templates::router())
        .merge(steward_runs::router())
        .merge(steward_exports::router())
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn location(&self) -> String {
        self.headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location in a {} answer: {}", self.status, self.text))
            .to_string()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
}

pub struct Browser<'a> {
    pub services: &'a Services,
    pub router: &'a Router<Services>,
    /// Each function's services under its wiring (the routes run under their own).
    pub wired: Functions,
    pub cookies: Mutex<HashMap<String, String>>,
    pub csrf: Mutex<Option<String>>,
}

fn parse_query(q: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let d = |s: &str| {
            urlencoding::decode(&s.replace('+', " "))
                .map(|c| c.into_owned())
                .unwrap_or_default()
        };
        out.entry(d(k)).or_default().push(d(v));
    }
    out
}

impl<'a> Browser<'a> {
    pub fn new(services: &'a Services, router: &'a Router<Services>) -> Self {
        Browser {
            services,
            router,
            wired: functions(services),
            cookies: Mutex::new(HashMap::new()),
            csrf: Mutex::new(None),
        }
    }

    /// A browser signed in through `crm`'s OAuth as `email` (the sign-in must succeed).
    pub async fn signed_in(
        services: &'a Services,
        router: &'a Router<Services>,
        crm: &str,
        email: &str,
    ) -> Self {
        let b = Browser::new(services, router);
        let r = b.sign_in(crm, email).await;
        assert_eq!(r.status, 302, "{email} on {crm}: {}", r.text);
        assert!(
            !r.location().contains("/signin?error="),
            "{email} on {crm} was refused: {}",
            r.location()
        );
        b
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// A request to Steward: `target` is a path with an optional query.
    pub async fn send(&self, method: &str, target: &str, body: Option<&Value>) -> Resp {
        self.send_with(method, target, body, &[]).await
    }

    /// `send` with extra headers (`If-Match`, ...).
    pub async fn send_with(
        &self,
        method: &str,
        target: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let raw = body.map(|v| ("application/json", v.to_string()));
        self.send_raw(method, target, raw, headers).await
    }

    /// A request whose body is sent as it is, with its `Content-Type` (if any).
    pub async fn send_raw(
        &self,
        method: &str,
        target: &str,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let (_, query) = target.split_once('?').unwrap_or((target, ""));
        let mut b = http::Request::builder().method(method).uri(target);
        for (name, value) in headers {
            b = b.header(*name, *value);
        }
        let cookie_header: String = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie_header.is_empty() {
            b = b.header(http::header::COOKIE, cookie_header);
        }
        if let Some(t) = self.csrf.lock().unwrap().clone() {
            b = b.header("x-csrf-token", t);
        }
        let body = match body {
            Some((content_type, text)) => {
                if !content_type.is_empty() {
                    b = b.header(http::header::CONTENT_TYPE, content_type);
                }
                Body::Text(text)
            }
            None => Body::Empty,
        };
        let req: Request = b
            .body(body)
            .expect("a request")
            .with_query_string_parameters(parse_query(query));
        let resp = self
            .router
            .handle_each(&|f| self.wired.services(f), req)
            .await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        let r = Resp {
            status,
            headers,
            text,
        };
        self.keep_cookies(&r);
        r
    }

    fn keep_cookies(&self, r: &Resp) {
        let mut jar = self.cookies.lock().unwrap();
        for c in r.set_cookies() {
            let first = c.split(';').next().unwrap_or("");
            let (k, v) = first.split_once('=').unwrap_or((first, ""));
            if v.is_empty() || c.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
    }

    pub async fn get(&self, target: &str) -> Resp {
        self.send("GET", target, None).await
    }

    /// Starts a sign-in; returns the CRM authorize URL Steward redirected to.
    pub async fn start_login(&self, crm: &str, query: &str) -> String {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        let r = self.get(&format!("/auth/{crm}/login{q}")).await;
        assert_eq!(r.status, 302, "{}", r.text);
        r.location()
    }

    /// Delivers the CRM's redirect (a URL under Steward's web base) to Steward.
    pub async fn follow(&self, url: &str) -> Resp {
        let base = &self.services.web_base_url;
        let target = url
            .strip_prefix(base.as_str())
            .unwrap_or_else(|| panic!("{url} is not under {base}"));
        self.get(target).await
    }

    /// Reads `/me` and keeps its CSRF token for later requests.
    pub async fn me(&self) -> Resp {
        let r = self.get("/me").await;
        if r.status == 200 {
            *self.csrf.lock().unwrap() = r.json()["csrf_token"].as_str().map(str::to_string);
        }
        r
    }

    /// A whole sign-in as `email`: Steward -> CRM consent -> callback. Returns the callback's answer.
    /// The signed-in member's account id (from `GET /me`).
    pub async fn account_id(&self) -> steward_shared::ids::AccountId {
        let me = self.me().await;
        me.json()["account"]["id"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no account in /me: {}", me.text))
    }

    pub async fn sign_in(&self, crm: &str, email: &str) -> Resp {
        self.sign_in_with(crm, email, "").await
    }

    pub async fn sign_in_with(&self, crm: &str, email: &str, query: &str) -> Resp {
        let authorize = self.start_login(crm, query).await;
        let callback = approve(&authorize, email).await;
        let r = self.follow(&callback).await;
        if r.status == 302 {
            self.me().await;
        }
        r
    }
}

/// Submits the sandbox CRM's consent page for `email`; returns where the CRM redirects
/// the browser (Steward's callback with a code, or with an error).
pub async fn approve(authorize_url: &str, email: &str) -> String {
    let (endpoint, query) = authorize_url.split_once('?').expect("a query");
    let form = if endpoint.contains("/salesforce/") {
        format!(
            "{query}&username={}&action=allow",
            urlencoding::encode(email)
        )
    } else {
        format!("{query}&email={}", urlencoding::encode(email))
    };
    let client = steward_shared::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(
        r.status().as_u16(),
        302,
        "the consent page did not redirect: {}",
        r.text().await.unwrap_or_default()
    );
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Where the CRM sends the browser when the authorize request itself is refused (GET).
pub async fn authorize_redirect(authorize_url: &str) -> String {
    let client = steward_shared::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(authorize_url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302, "{}", r.text().await.unwrap());
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A Salesforce consent page answered with Deny.
pub async fn deny(authorize_url: &str) -> String {
    let (endpoint, query) = authorize_url.split_once('?').expect("a query");
    let client = steward_shared::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{query}&action=deny"))
        .send()
        .await
        .unwrap();
    r.headers()["location"].to_str().unwrap().to_string()
}
