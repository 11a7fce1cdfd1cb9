//! Shared set-up of the end-to-end tests: the sandbox CRM, a world signed in to it, and
//! team helpers.

use serde_json::{Value, json};
use std::sync::Arc;

use crate::browser::{self, Browser};
use steward_sandbox::{CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxConfig};
use steward_shared::Services;
use steward_shared::clock::{Clock, SystemClock};
use steward_shared::identity::CrmApps;
use steward_shared::testing::TestWorld;

pub const OWNER: &str = "morgan.reyes@acme-sandbox.com";
pub const PRIYA: &str = "priya.shah@acme-sandbox.com";
pub const DANIEL: &str = "daniel.okafor@acme-sandbox.com";
pub const HANNAH: &str = "hannah.lindqvist@acme-sandbox.com";
pub const MARCUS: &str = "marcus.chen@acme-sandbox.com";
pub const SOFIA: &str = "sofia.rossi@acme-sandbox.com";
/// Deactivated in the sandbox CRM from the start.
pub const TOM: &str = "tom.becker@acme-sandbox.com";
pub const AISHA: &str = "aisha.karim@acme-sandbox.com";

pub async fn sandbox_with(config: SandboxConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        records: 20,
        ..config
    })
    .await
    .expect("the sandbox starts")
}

pub async fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::default()).await
}

pub fn apps(sb: &Sandbox) -> CrmApps {
    CrmApps::sandbox(&sb.url, CLIENT_ID, CLIENT_SECRET)
}

pub fn world(sb: &Sandbox) -> TestWorld {
    TestWorld::build(Arc::new(SystemClock), apps(sb))
}

pub fn world_at(sb: &Sandbox, clock: Arc<dyn Clock>) -> TestWorld {
    TestWorld::build(clock, apps(sb))
}

/// The CRM user id of `email` in the team's CRM-user list (as `GET /team/crm-users` says).
pub async fn crm_user_id(admin: &Browser<'_>, email: &str) -> String {
    let r = admin.get("/team/crm-users").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("{email} is not among the CRM users: {}", r.text))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Invites `email` with `body` extras; returns the member JSON.
pub async fn invite(admin: &Browser<'_>, email: &str, extra: Value) -> Value {
    let id = crm_user_id(admin, email).await;
    let mut body = json!({"user_id": id});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = admin.send("POST", "/team/invitations", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json()
}

/// Signs `email` in on a new browser after an invitation.
pub async fn member<'a>(
    s: &'a Services,
    router: &'a steward_shared::http::Router<Services>,
    admin: &Browser<'_>,
    crm: &str,
    email: &str,
    extra: Value,
) -> Browser<'a> {
    invite(admin, email, extra).await;
    Browser::signed_in(s, router, crm, email).await
}

/// A refused sign-in: a redirect to the console's `/signin?error=<code>&crm=...`, which
/// shows what happened and what to do; no session.
pub fn assert_refused(r: &browser::Resp, code: &str) {
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.location();
    let (path, query) = location.split_once('?').unwrap_or((&location, ""));
    assert!(path.ends_with("/signin"), "{location}");
    assert!(
        query.split('&').any(|p| p == format!("error={code}")),
        "expected error={code}: {location}"
    );
    assert!(
        !r.set_cookies()
            .iter()
            .any(|c| c.starts_with("steward_session=") && !c.starts_with("steward_session=;")),
        "a refused sign-in sets no session: {:?}",
        r.set_cookies()
    );
}

/// A sign-in that let the person in: a redirect into the console with a session cookie.
pub fn assert_signed_in(r: &browser::Resp) {
    assert_eq!(r.status, 302, "{}", r.text);
    assert!(!r.location().contains("/signin?error="), "{}", r.location());
    assert!(
        r.set_cookies()
            .iter()
            .any(|c| c.starts_with("steward_session=")),
        "{:?}",
        r.set_cookies()
    );
}
