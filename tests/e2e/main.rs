//! Sign-in with the sandbox CRM (HubSpot and Salesforce), sessions, the team, and the
//! authorization walk over every route.

mod browser;
mod contract;
mod exports;
mod leads;
mod policy;
mod recipes;
mod run_outcomes;
mod runs;
mod scored;
mod support;
mod templates;
mod walk;

pub use support::*;

use serde_json::{Value, json};
use std::sync::Arc;

use browser::{Browser, app_router, approve, authorize_redirect, deny};
use steward_sandbox::{Sandbox, SandboxConfig};
use steward_shared::clock::ManualClock;
use steward_shared::identity::connections::{self, Slot};
use steward_shared::ids::AccountId;
use steward_shared::testing::TestWorld;

// ---- round trips ----------------------------------------------------------------------

async fn first_sign_in_creates_the_account_and_its_owner(crm: &str, org: &str) {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::new(w.services(), &router);
    let authorize = owner.start_login(crm, "").await;
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("state="), "{authorize}");
    let binding = owner.cookie("steward_oauth").expect("a binding cookie");
    assert!(!binding.is_empty());
    let callback = approve(&authorize, OWNER).await;
    let r = owner.follow(&callback).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(r.location(), format!("{}/", w.services().web_base_url));
    let session_cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("steward_session="))
        .expect("a session cookie");
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    assert!(owner.cookie("steward_oauth").is_none(), "binding cleared");

    let me = owner.me().await;
    assert_eq!(me.status, 200, "{}", me.text);
    let me = me.json();
    assert_eq!(me["role"], "owner");
    assert_eq!(me["account"]["id"], format!("{crm}:{org}"));
    assert_eq!(me["user"]["email"], OWNER);
    for m in ["merge", "bulk", "transform", "grid", "validate"] {
        assert_eq!(me["permissions"][m], "write", "{me}");
    }
    // The tokens are in the Secrets port, and only there.
    let user_id = me["user"]["id"].as_str().unwrap();
    let account = &me["account"]["id"].as_str().unwrap().parse().unwrap();
    let conn = connections::load(
        w.services().secrets.as_ref(),
        account,
        Slot::User(&user_id.parse().unwrap()),
    )
    .await
    .unwrap()
    .expect("the connection is stored");
    assert!(!conn.access_token.is_empty());
    let item = w
        .services()
        .items
        .get(&format!("ACCT#{account}"), &format!("USER#{user_id}"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !serde_json::to_string(&item.data)
            .unwrap()
            .contains(&conn.access_token)
    );

    // Signing in again keeps the account and its owner.
    let again = Browser::signed_in(w.services(), &router, crm, OWNER).await;
    assert_eq!(again.me().await.json()["role"], "owner");

    // Logout ends the session.
    let r = owner.send("POST", "/auth/logout", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(owner.get("/me").await.status, 401);
}

#[tokio::test]
async fn hubspot_round_trip_creates_the_account_and_its_owner() {
    first_sign_in_creates_the_account_and_its_owner("hubspot", "24681357").await;
}

#[tokio::test]
async fn salesforce_round_trip_creates_the_account_and_its_owner() {
    first_sign_in_creates_the_account_and_its_owner("salesforce", "00D5g0000000001EAA").await;
}

async fn strangers_inactive_users_and_invitees(crm: &str) {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, crm, OWNER).await;

    // Known org, not invited: refused, no session.
    let stranger = Browser::new(w.services(), &router);
    let r = stranger.sign_in(crm, PRIYA).await;
    assert_refused(&r, "not_invited");
    assert!(stranger.cookie("steward_session").is_none());

    // The CRM-user list offers active non-members only.
    let users = owner.get("/team/crm-users").await.json();
    let emails: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&PRIYA), "{emails:?}");
    assert!(!emails.contains(&OWNER), "members are not offered");
    assert!(!emails.contains(&TOM), "inactive CRM users are not offered");

    // Invited -> signs in -> active, with the invited permissions.
    let invited = invite(
        &owner,
        PRIYA,
        json!({"permissions": {"merge": "read", "bulk": "write"}}),
    )
    .await;
    assert_eq!(invited["status"], "invited");
    assert_eq!(invited["role"], "user");
    let priya = Browser::signed_in(w.services(), &router, crm, PRIYA).await;
    let me = priya.me().await.json();
    assert_eq!(me["role"], "user");
    assert_eq!(me["permissions"]["bulk"], "write");
    assert_eq!(me["permissions"]["merge"], "read");
    assert_eq!(me["permissions"]["grid"], "none");
    let team = owner.get("/team/members").await.json();
    let p = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == PRIYA)
        .unwrap();
    assert_eq!(p["status"], "active");
    assert!(p["last_login_at"].is_string());

    // Deactivated in the CRM between consent and callback: refused.
    invite(&owner, DANIEL, json!({})).await;
    let daniel = Browser::new(w.services(), &router);
    let authorize = daniel.start_login(crm, "").await;
    let callback = approve(&authorize, DANIEL).await;
    assert!(sb.set_user_active(DANIEL, false));
    let r = daniel.follow(&callback).await;
    assert_refused(&r, "inactive_user");
    assert!(daniel.cookie("steward_session").is_none());

    // An active member deactivated in the CRM cannot sign in again.
    assert!(sb.set_user_active(PRIYA, false));
    let again = Browser::new(w.services(), &router);
    let authorize = again.start_login(crm, "").await;
    // The sandbox's consent page refuses inactive users itself; the callback check is
    // shown above. Reactivated, they sign in again.
    let _ = authorize;
    assert!(sb.set_user_active(PRIYA, true));
    assert_signed_in(&again.sign_in(crm, PRIYA).await);
}

#[tokio::test]
async fn hubspot_strangers_inactive_users_and_invitees() {
    strangers_inactive_users_and_invitees("hubspot").await;
}

#[tokio::test]
async fn salesforce_strangers_inactive_users_and_invitees() {
    strangers_inactive_users_and_invitees("salesforce").await;
}

// ---- state and code checks ----------------------------------------------------------

async fn state_is_bound_single_use_and_checked(crm: &str) {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();

    // Missing state.
    let b = Browser::new(w.services(), &router);
    let r = b.get(&format!("/auth/{crm}/callback?code=abc")).await;
    assert_refused(&r, "invalid_callback");

    // State mismatch: the callback arrives in another browser (no binding cookie).
    let a = Browser::new(w.services(), &router);
    let authorize = a.start_login(crm, "").await;
    let callback = approve(&authorize, OWNER).await;
    let other = Browser::new(w.services(), &router);
    let r = other.follow(&callback).await;
    assert_refused(&r, "other_browser");
    // ...and the state is spent: the right browser cannot use it afterwards either.
    let r = a.follow(&callback).await;
    assert_refused(&r, "expired");

    // An unknown state.
    let r = a
        .get(&format!("/auth/{crm}/callback?code=abc&state=made-up"))
        .await;
    assert_refused(&r, "expired");

    // Replayed state: the same callback twice; the second is refused.
    let authorize = a.start_login(crm, "").await;
    let callback = approve(&authorize, OWNER).await;
    assert_eq!(a.follow(&callback).await.status, 302);
    let r = a.follow(&callback).await;
    assert_refused(&r, "expired");

    // Replayed code: a fresh state with the already-used code; the CRM refuses it.
    let used_code = callback
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_string();
    let authorize = a.start_login(crm, "").await;
    let fresh = approve(&authorize, OWNER).await;
    let state = fresh
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .unwrap();
    let r = a
        .get(&format!(
            "/auth/{crm}/callback?code={used_code}&state={state}"
        ))
        .await;
    assert_refused(&r, "code_rejected");
}

#[tokio::test]
async fn hubspot_state_is_bound_single_use_and_checked() {
    state_is_bound_single_use_and_checked("hubspot").await;
}

#[tokio::test]
async fn salesforce_state_is_bound_single_use_and_checked() {
    state_is_bound_single_use_and_checked("salesforce").await;
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let sb = sandbox().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let w = world_at(&sb, clock.clone());
    let router = app_router();
    let b = Browser::new(w.services(), &router);
    let authorize = b.start_login("hubspot", "").await;
    let callback = approve(&authorize, OWNER).await;
    clock.advance(chrono::Duration::seconds(601));
    let r = b.follow(&callback).await;
    assert_refused(&r, "expired");
}

#[tokio::test]
async fn a_blocked_salesforce_app_is_sent_to_the_consoles_sign_in_page() {
    let sb = sandbox_with(SandboxConfig {
        salesforce_app_blocked: true,
        ..SandboxConfig::default()
    })
    .await;
    let w = world(&sb);
    let router = app_router();
    let b = Browser::new(w.services(), &router);
    let authorize = b.start_login("salesforce", "").await;
    let back = authorize_redirect(&authorize).await;
    assert!(back.contains("error=OAUTH_APP_BLOCKED"), "{back}");
    let r = b.follow(&back).await;
    assert_refused(&r, "app_blocked");
    assert!(r.location().contains("crm=salesforce"), "{}", r.location());
}

/// A token answer that points Steward's next call (with the new access token) off
/// Salesforce's domains stops the sign-in on the console's page, and saves nothing.
#[tokio::test]
async fn a_salesforce_org_address_off_salesforces_domains_stops_the_sign_in() {
    for foreign in [
        "https://attacker.example.com",
        "http://acme.my.salesforce.com",
        "https://acme.my.salesforce.com.attacker.example",
    ] {
        let sb = sandbox_with(SandboxConfig {
            salesforce_instance_url: Some(foreign.into()),
            ..SandboxConfig::default()
        })
        .await;
        let w = world(&sb);
        let router = app_router();
        let b = Browser::new(w.services(), &router);
        let authorize = b.start_login("salesforce", "").await;
        let callback = approve(&authorize, OWNER).await;
        let r = b.follow(&callback).await;
        assert_refused(&r, "untrusted_address");
        assert!(r.location().contains("crm=salesforce"), "{}", r.location());
        let me = b.get("/me").await;
        assert_eq!(me.status, 401, "{foreign}: signed in anyway: {}", me.text);
    }
}

#[tokio::test]
async fn a_denied_consent_is_a_refusal_not_a_500() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let b = Browser::new(w.services(), &router);
    let authorize = b.start_login("salesforce", "").await;
    let back = deny(&authorize).await;
    assert!(back.contains("error=access_denied"), "{back}");
    let r = b.follow(&back).await;
    assert_refused(&r, "consent_denied");
}

// ---- where a sign-in lands -------------------------------------------------------------

#[tokio::test]
async fn sign_in_returns_to_where_the_person_was_going() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let web = &w.services().web_base_url;
    let wanted = "/modules/merge?template=01JABCDEFGHJKMNPQRSTVWXYZ0&view=rows";
    let b = Browser::new(w.services(), &router);
    let r = b
        .sign_in_with(
            "hubspot",
            OWNER,
            &format!("return_to={}", urlencoding::encode(wanted)),
        )
        .await;
    assert_signed_in(&r);
    assert_eq!(r.location(), format!("{web}{wanted}"));
    // No return_to: the console's home.
    let r = Browser::new(w.services(), &router)
        .sign_in("hubspot", OWNER)
        .await;
    assert_signed_in(&r);
    assert_eq!(r.location(), format!("{web}/"));
}

#[tokio::test]
async fn sign_in_never_returns_off_origin() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let web = &w.services().web_base_url;
    for evil in [
        "//evil.com",
        "//evil.com/modules/merge",
        "https://evil.com",
        "https://evil.com/",
        "/\\evil.com",
        "/\\/evil.com",
        "\\\\evil.com",
        "evil.com",
        "javascript:alert(document.cookie)",
        "/\r\nLocation: https://evil.com",
        "/\tevil.com",
        "",
    ] {
        let b = Browser::new(w.services(), &router);
        let r = b
            .sign_in_with(
                "hubspot",
                OWNER,
                &format!("return_to={}", urlencoding::encode(evil)),
            )
            .await;
        assert_signed_in(&r);
        assert_eq!(r.location(), format!("{web}/"), "return_to={evil:?}");
    }
    // Too long: ignored too.
    let long = format!("/{}", "a".repeat(2000));
    let r = Browser::new(w.services(), &router)
        .sign_in_with("hubspot", OWNER, &format!("return_to={long}"))
        .await;
    assert_eq!(r.location(), format!("{web}/"));
}

#[tokio::test]
async fn a_refused_sign_in_keeps_where_the_person_was_going() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let web = &w.services().web_base_url;
    let b = Browser::new(w.services(), &router);
    let authorize = b
        .start_login(
            "salesforce",
            "return_to=%2Factivity%2F01JABCDEFGHJKMNPQRSTVWXYZ0",
        )
        .await;
    let r = b.follow(&deny(&authorize).await).await;
    assert_refused(&r, "consent_denied");
    assert_eq!(
        r.location(),
        format!(
            "{web}/signin?error=consent_denied&crm=salesforce&return_to=%2Factivity%2F01JABCDEFGHJKMNPQRSTVWXYZ0"
        )
    );
    // An off-origin return_to is not carried into the refusal either.
    let authorize = b
        .start_login("salesforce", "return_to=%2F%2Fevil.com")
        .await;
    let r = b.follow(&deny(&authorize).await).await;
    assert_eq!(
        r.location(),
        format!("{web}/signin?error=consent_denied&crm=salesforce")
    );
    // A stranger to the account, refused after consent, keeps it too.
    Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let r = Browser::new(w.services(), &router)
        .sign_in_with("hubspot", PRIYA, "return_to=%2Fsettings%2Fschedules")
        .await;
    assert_refused(&r, "not_invited");
    assert!(
        r.location().ends_with("&return_to=%2Fsettings%2Fschedules"),
        "{}",
        r.location()
    );
}

#[tokio::test]
async fn an_unconfigured_crm_is_a_404_problem() {
    let w = TestWorld::new();
    let router = app_router();
    let b = Browser::new(w.services(), &router);
    let r = b.get("/auth/hubspot/login").await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(r.text.contains("no OAuth app is configured"), "{}", r.text);
    let r = b.get("/auth/pipedrive/login").await;
    assert_eq!(r.status, 404, "{}", r.text);
}

// ---- team ---------------------------------------------------------------------------------

#[tokio::test]
async fn state_changing_requests_need_the_csrf_header() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let token = owner.csrf.lock().unwrap().take();
    let r = owner.send("DELETE", "/team/integration", None).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("x-csrf-token"), "{}", r.text);
    *owner.csrf.lock().unwrap() = Some("wrong".into());
    assert_eq!(owner.send("POST", "/auth/logout", None).await.status, 403);
    *owner.csrf.lock().unwrap() = token;
    assert_eq!(
        owner.send("DELETE", "/team/integration", None).await.status,
        204
    );
}

#[tokio::test]
async fn roles_permissions_removal_and_purge() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let admin = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"role": "admin"}),
    )
    .await;
    let user = member(s, &router, &owner, "hubspot", DANIEL, json!({})).await;
    let daniel_id = user.me().await.json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let owner_id = owner.me().await.json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Users manage nobody.
    let r = user
        .send(
            "PATCH",
            &format!("/team/members/{daniel_id}"),
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Admins manage users and admins, but not the owner.
    let r = admin
        .send(
            "PATCH",
            &format!("/team/members/{daniel_id}"),
            Some(&json!({"permissions": {"grid": "write"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["permissions"]["grid"], "write");
    // Only the modules named change: the invitation's default read stays elsewhere.
    for m in ["merge", "bulk", "transform", "validate"] {
        assert_eq!(r.json()["permissions"][m], "read", "{m}: {}", r.text);
    }
    let r = admin
        .send(
            "PATCH",
            &format!("/team/members/{daniel_id}"),
            Some(&json!({"permissions": {"merge": "none"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["permissions"]["merge"], "none");
    assert_eq!(r.json()["permissions"]["grid"], "write", "{}", r.text);
    let r = admin
        .send(
            "PATCH",
            &format!("/team/members/{owner_id}"),
            Some(&json!({"role": "user"})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Only the owner transfers ownership.
    let r = admin
        .send(
            "PATCH",
            &format!("/team/members/{daniel_id}"),
            Some(&json!({"role": "owner"})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Bad bodies name the field.
    let r = admin
        .send(
            "PATCH",
            &format!("/team/members/{daniel_id}"),
            Some(&json!({"role": "boss"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["pointer"], "/role", "{}", r.text);
    let r = admin
        .send(
            "PATCH",
            &format!("/team/members/{daniel_id}"),
            Some(&json!({"permissions": {"grid": "admin"}})),
        )
        .await;
    assert_eq!(
        r.json()["errors"][0]["pointer"],
        "/permissions/grid",
        "{}",
        r.text
    );
    // The owner cannot be removed.
    let r = admin
        .send("DELETE", &format!("/team/members/{owner_id}"), None)
        .await;
    assert_eq!(r.status, 409, "{}", r.text);

    // Removal ends the member's sessions at once; purge erases their data.
    assert_eq!(user.get("/me").await.status, 200);
    let r = admin
        .send(
            "DELETE",
            &format!("/team/members/{daniel_id}?purge=true"),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(user.get("/me").await.status, 401);
    let account = owner.account_id().await;
    assert!(
        connections::load(
            s.secrets.as_ref(),
            &account,
            Slot::User(&daniel_id.parse().unwrap())
        )
        .await
        .unwrap()
        .is_none(),
        "the connection is purged"
    );
    let team = owner.get("/team/members").await.json();
    let d = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == daniel_id.as_str())
        .unwrap();
    assert_eq!(d["status"], "removed");
    assert_eq!(d["email"], "");
    // A removed member signing in again is refused until invited again.
    let again = Browser::new(s, &router);
    assert_refused(&again.sign_in("hubspot", DANIEL).await, "not_invited");

    // Invitations: resend renews, cancel withdraws.
    let inv = invite(&owner, HANNAH, json!({})).await;
    let inv_id = inv["invitation"]["id"].as_str().unwrap().to_string();
    let r = owner
        .send("POST", &format!("/team/invitations/{inv_id}/resend"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = owner
        .send("DELETE", &format!("/team/invitations/{inv_id}"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_refused(
        &Browser::new(s, &router).sign_in("hubspot", HANNAH).await,
        "not_invited",
    );
    let r = owner
        .send("DELETE", &format!("/team/invitations/{inv_id}"), None)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn an_expired_invitation_is_refused_until_resent() {
    let sb = sandbox().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let w = world_at(&sb, clock.clone());
    let router = app_router();
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let inv = invite(&owner, SOFIA, json!({})).await;
    clock.advance(chrono::Duration::days(15));
    let sofia = Browser::new(w.services(), &router);
    assert_refused(&sofia.sign_in("hubspot", SOFIA).await, "invitation_expired");
    let owner = Browser::signed_in(w.services(), &router, "hubspot", OWNER).await;
    let id = inv["invitation"]["id"].as_str().unwrap();
    let r = owner
        .send("POST", &format!("/team/invitations/{id}/resend"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_signed_in(&sofia.sign_in("hubspot", SOFIA).await);
}

#[tokio::test]
async fn two_racing_ownership_transfers_leave_exactly_one_owner() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let a = member(
        s,
        &router,
        &owner,
        "hubspot",
        PRIYA,
        json!({"role": "admin"}),
    )
    .await;
    let b = member(
        s,
        &router,
        &owner,
        "hubspot",
        DANIEL,
        json!({"role": "admin"}),
    )
    .await;
    let a_id = a.me().await.json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b_id = b.me().await.json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The owner sends two transfers at once (two tabs): exactly one wins. The loser
    // gets 409 when both read the account at the same version, or 403 when it is
    // admitted after the winner has already made the sender an admin.
    let (to_a, to_b) = (
        format!("/team/members/{a_id}"),
        format!("/team/members/{b_id}"),
    );
    let body = json!({"role": "owner"});
    let (ra, rb) = tokio::join!(
        owner.send("PATCH", &to_a, Some(&body)),
        owner.send("PATCH", &to_b, Some(&body)),
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert!(
        statuses == [200, 409] || statuses == [200, 403],
        "exactly one wins: {statuses:?} {} {}",
        ra.text,
        rb.text
    );
    let team = a.get("/team/members").await.json();
    let owners: Vec<&Value> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .collect();
    assert_eq!(owners.len(), 1, "{team}");
    // The former owner is an admin now.
    assert_eq!(owner.me().await.json()["role"], "admin");
    // Checked directly in the store too.
    let me = a.me().await.json();
    let account = &me["account"]["id"].as_str().unwrap().parse().unwrap();
    let acct = steward_shared::identity::store::get_account(s.items.as_ref(), account)
        .await
        .unwrap()
        .unwrap();
    assert!(acct.owner_user_id == a_id || acct.owner_user_id == b_id);
}

#[tokio::test]
async fn the_integration_user_outlives_the_owner() {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    let user = member(s, &router, &owner, "hubspot", PRIYA, json!({})).await;
    // Users cannot connect it.
    let r = user.get("/auth/hubspot/login?purpose=integration").await;
    assert_eq!(r.status, 403, "{}", r.text);
    let team = owner.get("/team/members").await.json();
    assert_eq!(team["integration"]["set"], false);

    // The owner connects a service account (Aisha) as the integration user.
    let r = owner
        .sign_in_with("hubspot", AISHA, "purpose=integration")
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(
        r.location(),
        format!("{}/settings/users?integration=connected", s.web_base_url)
    );
    let team = owner.get("/team/members").await.json();
    assert_eq!(team["integration"]["set"], true);
    assert_eq!(team["integration"]["healthy"], true);
    assert_eq!(team["integration"]["email"], AISHA);
    // The owner is still signed in as themselves.
    assert_eq!(owner.me().await.json()["user"]["email"], OWNER);

    // The owner leaves the CRM: their connection dies, the integration one works on.
    let account = owner.account_id().await;
    assert!(sb.set_user_active(OWNER, false));
    let crm = connections::open(s, &account, Slot::Integration)
        .await
        .unwrap();
    let id = crm.identity().await.unwrap();
    assert!(id.active);
    assert_eq!(id.email, AISHA);
    let owners_own = connections::open(
        s,
        &account,
        Slot::User(
            &owner.me().await.json()["user"]["id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        ),
    )
    .await
    .unwrap();
    assert!(!owners_own.identity().await.unwrap().active);
    assert!(sb.set_user_active(OWNER, true));

    // PUT makes a member's connection the integration one; DELETE clears it.
    let priya_id = user.me().await.json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = owner
        .send(
            "PUT",
            "/team/integration",
            Some(&json!({"user_id": priya_id})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["email"], PRIYA);
    let r = owner.send("DELETE", "/team/integration", None).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        owner.get("/team/members").await.json()["integration"]["set"],
        false
    );
    assert!(
        connections::load(s.secrets.as_ref(), &account, Slot::Integration)
            .await
            .unwrap()
            .is_none()
    );
}

/// The CRM revokes the connection's refresh token (the app was uninstalled, the token
/// expired): a schedule's fire finds the integration user's connection refused and the
/// Users page shows it unhealthy, saying why; the member's own request is a 403 whose
/// problem type asks to sign in again. Signing in again (and connecting the integration
/// user again) puts both right.
async fn a_refused_refresh_marks_the_integration_unhealthy_and_asks_to_sign_in_again(
    crm: &str,
    object: &str,
    phone: &str,
) {
    let sb = sandbox().await;
    let w = world(&sb);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, crm, OWNER).await;
    let me = owner.me().await.json();
    let account = owner.account_id().await;
    let r = owner
        .send(
            "PUT",
            "/team/integration",
            Some(&json!({"user_id": me["user"]["id"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tpl = exports::template(
        &owner,
        json!({"module": "transform", "name": "Phones", "config": {"object": object,
            "steps": [{"field": phone, "fn": "phone", "format": "e164", "default_region": "US"}]}}),
    )
    .await;
    let r = owner
        .send(
            "POST",
            "/schedules",
            Some(&json!({"template_id": tpl, "mode": "preview", "expression": "rate(1 day)"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let schedule = r.json()["id"].as_str().unwrap().to_string();

    // The CRM forgets the refresh token the connections hold (both hold the owner's),
    // and every access token stops working.
    let refresh = connections::load(s.secrets.as_ref(), &account, Slot::Integration)
        .await
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap();
    let http = steward_shared::tls::client();
    let revoked = match crm {
        "hubspot" => http
            .delete(format!(
                "{}/oauth/v1/refresh-tokens/{refresh}",
                sb.hubspot_base()
            ))
            .send()
            .await
            .unwrap(),
        _ => http
            .post(format!("{}/services/oauth2/revoke", sb.salesforce_base()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}", urlencoding::encode(&refresh)))
            .send()
            .await
            .unwrap(),
    };
    assert!(revoked.status().is_success(), "{}", revoked.status());
    sb.expire_tokens();

    // A schedule fires: the integration user's refresh is refused.
    let fired = steward_shared::schedules::fire(
        s,
        &steward_shared::schedules::FireEvent {
            account_id: account.clone(),
            schedule_id: schedule.clone(),
            scheduled_time: Some("2026-11-23T10:00:00Z".into()),
        },
    )
    .await
    .unwrap();
    assert!(
        matches!(fired, steward_shared::schedules::Fired::Skipped(ref why) if why.contains("integration")),
        "{fired:?}"
    );
    let integration = &owner.get("/team/members").await.json()["integration"];
    assert_eq!(integration["set"], true, "{integration}");
    assert_eq!(integration["healthy"], false, "{integration}");
    let problem = integration["problem"].as_str().unwrap();
    assert!(problem.contains("refused"), "{problem}");
    assert!(
        problem.contains("connects the integration user again"),
        "{problem}"
    );
    assert!(
        !problem.contains(refresh.as_str()),
        "no token in it: {problem}"
    );

    // The member's own request: the sign-in-again problem, not a bare 403.
    let r = owner.get("/team/crm-users").await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "{}",
        r.text
    );
    let p = r.json();
    assert_eq!(
        p["type"], "https://steward.dev/problems/sign-in-again",
        "{p}"
    );
    assert_eq!(p["title"], "Sign in again", "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("sign in again"),
        "{p}"
    );
    assert!(
        !r.text.contains(refresh.as_str()),
        "no token in it: {}",
        r.text
    );

    // Signing in again restores the member's connection; connecting the integration user
    // again makes it healthy.
    let again = owner.sign_in(crm, OWNER).await;
    assert_signed_in(&again);
    assert_eq!(owner.get("/team/crm-users").await.status, 200);
    let r = owner.sign_in_with(crm, OWNER, "purpose=integration").await;
    assert_eq!(r.status, 302, "{}", r.text);
    let integration = &owner.get("/team/members").await.json()["integration"];
    assert_eq!(integration["healthy"], true, "{integration}");
    assert_eq!(integration["problem"], Value::Null, "{integration}");
}

#[tokio::test]
async fn hubspot_refused_refresh_marks_the_integration_unhealthy_and_asks_to_sign_in_again() {
    a_refused_refresh_marks_the_integration_unhealthy_and_asks_to_sign_in_again(
        "hubspot", "contacts", "phone",
    )
    .await;
}

#[tokio::test]
async fn salesforce_refused_refresh_marks_the_integration_unhealthy_and_asks_to_sign_in_again() {
    a_refused_refresh_marks_the_integration_unhealthy_and_asks_to_sign_in_again(
        "salesforce",
        "Contact",
        "Phone",
    )
    .await;
}

// ---- invitation email in both mail adapters ------------------------------------------

async fn invitation_mail_is_sent(w: &dyn steward_tests::World) {
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "hubspot", OWNER).await;
    invite(&owner, MARCUS, json!({})).await;
    let raw = w.sent_mail("Join the team on Steward").await;
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let to = msg
        .to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_string();
    assert_eq!(to, MARCUS);
    let text = msg.body_text(0).unwrap().to_string();
    let link = format!("{}/auth/hubspot/login", s.web_base_url);
    assert!(text.contains(&format!("Join the team: {link}")), "{text}");
    // Accepting: the link leads to the CRM login, which activates the member.
    let marcus = Browser::signed_in(s, &router, "hubspot", MARCUS).await;
    assert_eq!(marcus.me().await.json()["user"]["email"], MARCUS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_mail_in_the_outbox() {
    let sb = sandbox().await;
    let w = steward_tests::LocalWorld(world(&sb));
    invitation_mail_is_sent(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_mail_through_ses() {
    let sb = sandbox().await;
    let w = steward_tests::AwsWorld::with_crm(apps(&sb)).await;
    invitation_mail_is_sent(&w).await;
}
