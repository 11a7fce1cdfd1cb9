//! No token, code, state, CSRF token or session id appears in any log line: every log
//! line of full sign-ins (both CRMs), an invitation and a logout is captured and searched.
//! Its own test binary, so the capturing subscriber is the process's global one.

#[path = "../e2e/browser.rs"]
#[allow(dead_code)]
mod browser;
#[path = "../e2e/support.rs"]
#[allow(dead_code)]
mod support;

use serde_json::json;
use std::sync::Arc;

use browser::{Browser, app_router, approve};
use steward_shared::identity::connections::{self, Slot};
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
    let account = &me["account"]["id"].as_str().unwrap().parse().unwrap();
    let conn = connections::load(
        w.services().secrets.as_ref(),
        account,
        Slot::User(&me["user"]["id"].as_str().unwrap().parse().unwrap()),
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
    runtime_listener();
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

/// The Runtime API stand-in on this process's one listener (the runtime reads its address
/// from the environment), each run on its own clone of it.
fn runtime_api(event: String) -> tokio::sync::oneshot::Receiver<String> {
    steward_tests::lambda_stub::serve_one(runtime_listener().try_clone().unwrap(), event)
}

/// The Runtime API's listener, and the Lambda runtime's environment pointing at it: set
/// once, by whichever test of this binary starts first, before it starts any thread (the
/// other waits here), so no thread reads the environment while it is written.
fn runtime_listener() -> &'static std::net::TcpListener {
    static LISTENER: std::sync::OnceLock<std::net::TcpListener> = std::sync::OnceLock::new();
    LISTENER.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = listener.local_addr().unwrap().to_string();
        // SAFETY: see above: no other thread of this process reads the environment now.
        unsafe {
            std::env::set_var("AWS_LAMBDA_RUNTIME_API", &at);
            std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "steward-auth");
            std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256");
            std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
        }
        listener
    })
}

/// One marked event through the Lambda runtime and the sign-in function's router, logged
/// by `subscriber` (on this thread only); what was logged, and what the function answered.
fn one_event_through_the_runtime(
    subscriber: impl FnOnce(Captured) -> Box<dyn tracing::Subscriber + Send + Sync>,
) -> (String, String) {
    let captured = Captured::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = tracing::subscriber::with_default(subscriber(captured.clone()), || {
        rt.block_on(async {
            let sb = sandbox().await;
            let w = world(&sb);
            let router = app_router();
            let answer = runtime_api(steward_tests::lambda_stub::marked_http_event(
                "GET",
                "/auth/hubspot/callback",
            ));
            let services = w.services();
            let (router, services) = (&router, &services);
            let run = lambda_http::run(lambda_http::service_fn(
                move |req: lambda_http::Request| async move {
                    Ok::<_, std::convert::Infallible>(router.handle(services, req).await)
                },
            ));
            tokio::select! {
                a = answer => a.expect("the runtime answered"),
                r = run => panic!("the runtime stopped: {r:?}"),
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => panic!("no answer in 60 s"),
            }
        })
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (logs, answer)
}

/// `LogLevel=trace` (`RUST_LOG=trace`) in the template must not put the raw API Gateway
/// event into CloudWatch: Steward's log set-up keeps the Lambda runtime's event logging
/// off whatever the filter says. The same run with a plain `trace` filter is the control:
/// it shows the runtime does log the event, so this test would see it.
#[test]
fn the_lambda_runtime_never_logs_the_raw_event_whatever_log_level_says() {
    runtime_listener();
    let (logs, answer) = one_event_through_the_runtime(|w| {
        steward_shared::telemetry::subscriber(Some("trace"), true, w)
    });
    assert!(answer.contains("/invocation/req-1/response"), "{answer}");
    assert!(answer.contains("302"), "the callback answered: {answer}");
    assert!(
        logs.contains("sign-in refused"),
        "Steward's own logs are kept: {logs}"
    );
    assert!(
        !logs.contains("MARKER"),
        "a secret of the event was logged: {logs}"
    );

    let (logs, _) = one_event_through_the_runtime(|w| {
        Box::new(
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
                .with_writer(w)
                .json()
                .finish(),
        )
    });
    assert!(
        logs.contains("raw JSON event received from Lambda") && logs.contains("MARKER-session"),
        "the control: without the cap the runtime logs the event: {logs}"
    );
}
