//! HTTP plumbing shared by every function: a router over the route catalogue, JSON
//! helpers, and the health answer. Handlers are plain async fns over `&State`.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use tracing::Instrument;

use crate::api::{self, Access, Function, RouteSpec};
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::identity::session::{self, Cookie, Credentials};

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>>> + Send + 'a>>;
/// A handler: `|state, req| Box::pin(my_handler(state, req))`.
pub type Handler<S> = for<'a> fn(&'a S, Request) -> HandlerFuture<'a>;

pub struct Router<S> {
    routes: Vec<(&'static RouteSpec, Handler<S>)>,
}

impl<S> Default for Router<S> {
    fn default() -> Self {
        Self { routes: Vec::new() }
    }
}

/// Matches `/runs/{id}` against `/runs/01J...`, returning the parameters.
fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let mut t = template.trim_matches('/').split('/');
    let mut p = path.trim_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                    // Greedy `{name+}`: the rest of the path, slashes included.
                    let rest = std::iter::once(ps).chain(p.by_ref());
                    let mut parts = Vec::new();
                    for seg in rest {
                        parts.push(urlencoding::decode(seg).ok()?.into_owned());
                    }
                    let value = parts.join("/");
                    if value.is_empty() || t.next().is_some() {
                        return None;
                    }
                    params.insert(name.to_string(), value);
                    return Some(params);
                } else if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let value = urlencoding::decode(ps).ok()?.into_owned();
                    if value.is_empty() {
                        return None;
                    }
                    params.insert(name.to_string(), value);
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The request's path as the client sent it (API Gateway's rawPath when there is one).
pub fn request_path(req: &Request) -> String {
    let raw = req.raw_http_path();
    if raw.is_empty() {
        req.uri().path().to_string()
    } else {
        raw.to_string()
    }
}

/// Admits a request to a guarded route: the signed-in member, or the refusal (401/403).
#[async_trait::async_trait]
pub trait Gate: Sync {
    async fn admit(&self, req: &Request, access: Access) -> Result<Principal>;
}

#[async_trait::async_trait]
impl Gate for crate::app::Services {
    async fn admit(&self, req: &Request, access: Access) -> Result<Principal> {
        let who = authenticate(self, req).await?;
        access.admits(&who)?;
        Ok(who)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// Whether cookies may go without `Secure` (a plain-http localhost, as `steward serve`).
fn is_local(web_base_url: &str) -> bool {
    let rest = web_base_url.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// A `Set-Cookie` value; `max_age` 0 clears it.
pub fn set_cookie(web_base_url: &str, name: &str, value: &str, path: &str, max_age: i64) -> String {
    let secure = if is_local(web_base_url) {
        ""
    } else {
        "; Secure"
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The `Set-Cookie` value of a cookie for the browser of the service at `web_base_url`.
pub fn set_cookie_of(web_base_url: &str, c: &Cookie) -> String {
    set_cookie(web_base_url, c.name, &c.value, c.path, c.max_age)
}

/// What the request presents of a session: the session cookie, whether its method changes
/// state, and the CSRF token header.
pub fn credentials(req: &Request) -> Credentials {
    Credentials {
        session_id: cookie(req, session::SESSION_COOKIE),
        changes_state: !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS"),
        csrf: req
            .headers()
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// The signed-in, active member behind the request, or 401; a state-changing request
/// without the session's CSRF token is a 403 (`session::authenticate`).
pub async fn authenticate(s: &crate::app::Services, req: &Request) -> Result<Principal> {
    session::authenticate(s, &credentials(req)).await
}

/// The member the router admitted to this (guarded) route.
pub fn principal(req: &Request) -> Result<&Principal> {
    req.extensions()
        .get::<Principal>()
        .ok_or(Error::Unauthorized)
}

impl<S: Gate> Router<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds a handler to a catalogue entry. An unknown operation id is a programming
    /// error caught by every function's router test, so it panics at start-up.
    pub fn route(mut self, operation_id: &str, handler: Handler<S>) -> Self {
        let spec = api::by_operation(operation_id)
            .unwrap_or_else(|| panic!("operation `{operation_id}` is not in the route catalogue"));
        self.routes.push((spec, handler));
        self
    }

    /// One router serving the routes of several (used by `steward serve`).
    pub fn merge(mut self, other: Router<S>) -> Self {
        self.routes.extend(other.routes);
        self
    }

    /// Whether some route of this router has this path (whatever the method).
    pub fn serves_path(&self, path: &str) -> bool {
        self.routes
            .iter()
            .any(|(s, _)| match_path(s.path, path).is_some())
    }

    pub fn specs(&self) -> impl Iterator<Item = &'static RouteSpec> + '_ {
        self.routes.iter().map(|(s, _)| *s)
    }

    /// Catalogue entries of `function` this router has no handler for.
    pub fn unbound(&self, function: Function) -> Vec<&'static str> {
        api::routes_of(function)
            .filter(|r| {
                !self
                    .routes
                    .iter()
                    .any(|(s, _)| s.operation_id == r.operation_id)
            })
            .map(|r| r.operation_id)
            .collect()
    }

    /// Routes, runs the handler, and renders any error as problem+json. Never fails.
    pub async fn handle(&self, state: &S, req: Request) -> Response<Body> {
        self.handle_each(&|_| state, req).await
    }

    /// As `handle`, with each route's handler given its own function's state: one
    /// process serving several functions (`steward serve`, the end-to-end tests) runs each
    /// route under that function's wiring.
    pub async fn handle_each<'s>(
        &self,
        state_of: &(dyn Fn(Function) -> &'s S + Sync),
        req: Request,
    ) -> Response<Body>
    where
        S: 's,
    {
        let path = request_path(&req);
        let method = req.method().as_str().to_string();
        match self.dispatch(state_of, req, &path, &method).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(Some(&path)),
        }
    }

    async fn dispatch<'s>(
        &self,
        state_of: &(dyn Fn(Function) -> &'s S + Sync),
        req: Request,
        path: &str,
        method: &str,
    ) -> Result<Response<Body>>
    where
        S: 's,
    {
        // Of the paths that match, the most specific serves: `/templates/health` is the
        // health route for every method, never the template called "health".
        let mut best: Option<(Vec<u8>, &'static str)> = None;
        let mut matches = Vec::new();
        for (spec, handler) in &self.routes {
            let Some(params) = match_path(spec.path, path) else {
                continue;
            };
            let rank = specificity(spec.path);
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, spec.path));
            }
            matches.push((*spec, handler, params));
        }
        let Some((_, path_template)) = best else {
            return Err(Error::NotFound(format!("{method} {path}")));
        };
        let mut allowed: Vec<&'static str> = Vec::new();
        for (spec, handler, params) in matches {
            if spec.path != path_template {
                continue;
            }
            if spec.method != method && !(method == "HEAD" && spec.method == "GET") {
                if !allowed.contains(&spec.method) {
                    allowed.push(spec.method);
                }
                continue;
            }
            let state = state_of(spec.function);
            let mut req = req.with_path_parameters(params);
            req.extensions_mut().insert(*spec);
            if !matches!(spec.access, Access::Public | Access::Signed) {
                let who = state.admit(&req, spec.access).await?;
                req.extensions_mut().insert(who);
            }
            let span = tracing::info_span!("request", operation = spec.operation_id, method, path);
            return handler(state, req).instrument(span).await;
        }
        Err(Error::MethodNotAllowed {
            method: method.to_string(),
            allowed,
        })
    }
}

/// How specific a path template is, segment by segment: a literal beats `{param}`, which
/// beats the greedy `{rest+}`.
fn specificity(template: &str) -> Vec<u8> {
    template
        .trim_matches('/')
        .split('/')
        .map(|seg| match seg.strip_prefix('{') {
            Some(p) if p.ends_with("+}") => 0,
            Some(_) => 1,
            None => 2,
        })
        .collect()
}

/// The catalogue entry the router matched, for handlers shared by several routes.
pub fn route_of(req: &Request) -> Option<RouteSpec> {
    req.extensions().get::<RouteSpec>().copied()
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response<Body>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::Text(serde_json::to_string(value)?))
        .map_err(|e| Error::internal("building a response", e))
}

/// JSON of a resource that now exists at `location` (201 created, 202 accepted).
pub fn created<T: Serialize>(status: u16, value: &T, location: &str) -> Result<Response<Body>> {
    let mut resp = json(status, value)?;
    let location = http::HeaderValue::from_str(location)
        .map_err(|e| Error::internal("a Location header", e))?;
    resp.headers_mut().insert(http::header::LOCATION, location);
    Ok(resp)
}

/// `204 No Content`.
pub fn no_content() -> Result<Response<Body>> {
    Response::builder()
        .status(204)
        .body(Body::Empty)
        .map_err(|e| Error::internal("building a response", e))
}

/// One JSON pointer segment (RFC 6901: `~` is `~0`, `/` is `~1`).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer (`/actions/0/value`) for where serde stopped in a document.
pub fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('/');
                out.push_str(&pointer_segment(key));
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Where (a JSON pointer, empty for a syntax error) and what went wrong deserializing a
/// JSON document, in the words of a JSON author. The position (" at line 1 column 17")
/// is kept only when there is no pointer to say where.
pub fn serde_problem(path: &serde_path_to_error::Path, message: &str) -> (String, String) {
    let pointer = json_pointer(path);
    let mut text = serde_message(message);
    if pointer.is_empty() {
        text = message.to_string();
    }
    (pointer, text)
}

/// serde's message in the words of a JSON author rather than of Rust types, without its
/// " at line 1 column 17".
pub fn serde_message(message: &str) -> String {
    const WORDS: [(&str, &str); 9] = [
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected usize", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected an object"),
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: list"),
    ];
    let mut out = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    for (from, to) in WORDS {
        out = out.replace(from, to);
    }
    out
}

/// The request's JSON body as `T`: 415 unless it is sent as JSON, else a 400 naming every
/// field that breaks `T`'s published schema (`crate::schema::decode`).
pub fn json_body<T>(req: &Request) -> Result<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + 'static,
{
    let bytes: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    let media = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_string());
    match media.as_deref() {
        None if bytes.is_empty() => {}
        None => return Err(Error::UnsupportedMediaType("no Content-Type".into())),
        Some(m) if !is_json(m) => return Err(Error::UnsupportedMediaType(m.to_string())),
        Some(_) => {}
    }
    if bytes.is_empty() {
        return Err(Error::invalid("", "a JSON body is required"));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::invalid("", format!("the body is not valid JSON: {e}")))?;
    crate::schema::decode(&value, "").map_err(Error::invalid_all)
}

/// As `json_body`, but an empty body is `T::default()` (actions whose body is optional).
pub fn optional_json_body<T>(req: &Request) -> Result<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Default + 'static,
{
    match raw_body(req) {
        b"" => Ok(T::default()),
        _ => json_body(req),
    }
}

/// The request's body bytes as sent (signed calls are checked over these).
pub fn raw_body(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    }
}

/// `application/json` or a `+json` type, parameters (`; charset=utf-8`) aside.
fn is_json(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// One query parameter, as the client sent it.
/// The version an `If-Match` header carries (`"3"`, `W/"3"` or `3`), for a conditional
/// write of `what`; a 400 when it is missing or not a version.
pub fn if_match(req: &Request, what: &str) -> Result<u64> {
    let v = req
        .headers()
        .get(http::header::IF_MATCH)
        .ok_or_else(|| {
            Error::invalid(
                "If-Match",
                format!("is required: send the version you read ({what}'s ETag)"),
            )
        })?
        .to_str()
        .unwrap_or("");
    v.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<u64>()
        .map_err(|_| Error::invalid("If-Match", format!("must be {what}'s version, e.g. \"3\"")))
}

/// The answer `value` with its version as the ETag.
pub fn with_etag(mut resp: Response<Body>, version: u64) -> Response<Body> {
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{version}\"")) {
        resp.headers_mut().insert(http::header::ETAG, v);
    }
    resp
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_string)
}

/// A listing's `limit` query parameter: 1 to 100, 50 when absent.
pub fn page_limit(req: &Request) -> Result<u32> {
    match query_param(req, "limit") {
        None => Ok(50),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| Error::invalid("limit", "must be a number from 1 to 100")),
    }
}

pub fn path_param(req: &Request, name: &str) -> Result<String> {
    req.path_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(name, "path parameter missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_except_on_localhost() {
        let c = set_cookie("https://steward.example.com", "a", "v", "/", 60);
        assert_eq!(c, "a=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        let c = set_cookie("http://127.0.0.1:8080", "a", "v", "/", 60);
        assert!(!c.contains("Secure"));
        let c = set_cookie("http://localhost", "a", "", "/", 0);
        assert!(!c.contains("Secure"));
        assert!(set_cookie("http://localhost.evil.com", "a", "", "/", 0).contains("Secure"));
    }

    #[test]
    fn paths_match_templates() {
        assert_eq!(match_path("/health", "/health"), Some(HashMap::new()));
        assert_eq!(match_path("/health", "/health/"), Some(HashMap::new()));
        let p = match_path("/runs/{id}/csv", "/runs/01J%2FX/csv").unwrap();
        assert_eq!(p["id"], "01J/X");
        assert_eq!(match_path("/runs/{id}", "/runs"), None);
        assert_eq!(match_path("/runs/{id}", "/runs/a/b"), None);
        assert_eq!(match_path("/runs/{id}", "/templates/a"), None);
        let p = match_path("/blobs/{key+}", "/blobs/runs/hubspot%3A1/01J.csv").unwrap();
        assert_eq!(p["key"], "runs/hubspot:1/01J.csv");
        assert_eq!(match_path("/blobs/{key+}", "/blobs/"), None);
    }
}
