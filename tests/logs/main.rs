//! No token, code, state, CSRF token or session id appears in any log line: every log
//! line of full sign-ins (both CRMs), an invitation and a logout is captured and searched.
//! Its own test binary, so the capturing subscriber is the process's global one.

#[path = "../e2e/browser.rs"]
#[allow(dead_code)]
mod browser;
#[path = "../e2e/support.rs"]
mod support;

use serde_json::json;
use std::sync::Arc;

use browser::{Browser, app_router, approve};
use steward::identity::connections::{self, Slot};
use support::*;

/// Collects everything logged on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every secret a full sign-in handles: tokens, session id, CSRF token, code, state.
async fn sign_in_collecting_secrets(crm: &str) -> (Vec<String>, usize) {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let b = Browser::new(w.services(), &router);
    let authorize = b.start_login(crm, "").await;
    let mut secrets = vec![b.cookie("steward_oauth").unwrap()];
    let state = authorize
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .unwrap()
        .to_string();
    let callback = approve(&authorize, OWNER).await;
    let code = callback
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_string();
    assert_eq!(b.follow(&callback).await.status, 302);
    let me = b.me().await.json();
    invite(&b, PRIYA, json!({})).await;
    assert_eq!(b.send("POST", "/auth/logout", None).await.status, 204);
    let account = me["account"]["id"].as_str().unwrap();
    let conn = connections::load(
        w.services().secrets.as_ref(),
        account,
        Slot::User(me["user"]["id"].as_str().unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    secrets.push(urlencoding::decode(&state).unwrap().into_owned());
    secrets.push(urlencoding::decode(&code).unwrap().into_owned());
    secrets.push(me["csrf_token"].as_str().unwrap().to_string());
    secrets.push(conn.access_token.clone());
    secrets.extend(conn.refresh_token.clone());
    (secrets, 0)
}

#[test]
fn no_token_or_session_id_is_ever_logged() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut secrets = Vec::new();
    // The session id is in the browser only: capture it from a sign-in kept alive.
    rt.block_on(async {
        for crm in ["hubspot", "salesforce"] {
            secrets.extend(sign_in_collecting_secrets(crm).await.0);
        }
        let sb = sandbox().await;
        let w = world(&sb);
        let router = app_router();
        let b = Browser::new(w.services(), &router);
        assert_eq!(b.sign_in("hubspot", OWNER).await.status, 302);
        secrets.push(b.cookie("steward_session").unwrap());
        assert_eq!(b.get("/team/members").await.status, 200);
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("signed in"), "the capture works: {logs}");
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(!logs.contains(secret.as_str()), "a secret was logged");
    }
    assert!(secrets.len() >= 13, "{}", secrets.len());
}
