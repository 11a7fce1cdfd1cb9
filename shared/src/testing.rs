//! Test helpers for every crate: a throw-away embedded world and the sample API Gateway
//! events from `events/`, so handlers are tested exactly as Lambda would call them.

use lambda_http::{Body, Request};
use std::sync::Arc;

use crate::app::Services;
use crate::clock::{Clock, SystemClock};
use crate::embedded::{Embedded, EmbeddedOptions};
use crate::http::Router;

pub struct TestWorld {
    pub embedded: Embedded,
    pub dir: tempfile::TempDir,
}

impl Default for TestWorld {
    fn default() -> Self {
        Self::new()
    }
}

impl TestWorld {
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::build(clock, crate::identity::CrmApps::default())
    }

    /// A world whose sign-in goes to these CRM apps (the sandbox CRM's, in tests).
    pub fn build(clock: Arc<dyn Clock>, crm: crate::identity::CrmApps) -> Self {
        crate::telemetry::init_for_tests();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let opts = EmbeddedOptions {
            data_dir: dir.path().to_path_buf(),
            base_url: "http://127.0.0.1:9".into(),
            secrets_key: None,
            mail_from: "steward@steward.test".into(),
            crm,
        };
        let embedded = Embedded::open(&opts, clock).expect("the embedded world opens");
        Self { embedded, dir }
    }

    pub fn services(&self) -> &Services {
        &self.embedded.services
    }

    /// Runs a request through the router; returns the status and the JSON body.
    pub async fn call(&self, router: &Router<Services>, req: Request) -> (u16, serde_json::Value) {
        let resp = router.handle(self.services(), req).await;
        let status = resp.status().as_u16();
        let body = match resp.body() {
            Body::Text(t) => {
                serde_json::from_str(t).unwrap_or(serde_json::Value::String(t.clone()))
            }
            Body::Binary(b) => serde_json::from_slice(b).unwrap_or(serde_json::Value::Null),
            Body::Empty => serde_json::Value::Null,
            _ => serde_json::Value::Null,
        };
        (status, body)
    }
}

/// The API Gateway v2 sample event `events/<name>` as a Lambda request.
pub fn event(name: &str) -> Request {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    lambda_http::request::from_str(&json)
        .unwrap_or_else(|e| panic!("{} is not an API Gateway event: {e}", path.display()))
}
