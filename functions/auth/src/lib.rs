//! The auth function: sign-in with HubSpot or Salesforce, sessions, and the service's
//! public meta routes (`/health`, `/openapi.json`, and the catch-all for unknown paths).

mod sign_in;

use lambda_http::{Body, Request, Response};
use steward_shared::app;
use steward_shared::http::{Router, json, principal, set_cookie_of};
use steward_shared::identity::{Me, MeAccount, MeUser, session, store};
use steward_shared::wiring::{SecretOp, Wire};
use steward_shared::{Error, Result, Services};

/// What this function may call beyond the table: sign-in stores each member's CRM tokens. `main` builds exactly this on
/// AWS; `steward serve` and the tests run its routes under exactly this.
pub fn wiring<W: Wire>(w: W) -> W {
    w.secrets(&[SecretOp::Write]).crm_apps()
}

pub fn router() -> Router<Services> {
    Router::new()
        .route("health", |s, r| Box::pin(app::health(s, r)))
        .route("openapi", |s, r| Box::pin(app::openapi(s, r)))
        .route("auth_login", |s, r| Box::pin(sign_in::login(s, r)))
        .route("auth_callback", |s, r| Box::pin(sign_in::callback(s, r)))
        .route("auth_logout", |s, r| Box::pin(logout(s, r)))
        .route("me", |s, r| Box::pin(me(s, r)))
}

async fn logout(s: &Services, req: Request) -> Result<Response<Body>> {
    let who = principal(&req)?;
    session::end(s, &who.session_key).await?;
    Response::builder()
        .status(204)
        .header(
            http::header::SET_COOKIE,
            set_cookie_of(
                &s.web_base_url,
                &session::Cookie::cleared(session::SESSION_COOKIE, "/"),
            ),
        )
        .body(Body::Empty)
        .map_err(|e| Error::internal("building a response", e))
}

async fn me(s: &Services, req: Request) -> Result<Response<Body>> {
    let who = principal(&req)?;
    let account = store::get_account(s.items.as_ref(), &who.account_id)
        .await?
        .ok_or(Error::Unauthorized)?;
    let member = store::get_member(s.items.as_ref(), &who.account_id, &who.user_id)
        .await?
        .ok_or(Error::Unauthorized)?;
    json(
        200,
        &Me {
            user: MeUser {
                id: member.user_id.clone(),
                email: member.email.clone(),
                name: member.name.clone(),
                last_login_at: member.last_login_at,
            },
            account: MeAccount {
                id: account.id.to_string(),
                crm: account.crm,
                org_id: account.org_id.clone(),
                integration_set: account.integration.is_some(),
            },
            role: who.role,
            permissions: who.permissions,
            csrf_token: who.csrf.clone(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_shared::api::Function;
    use steward_shared::testing::{TestWorld, event};

    #[test]
    fn every_catalogue_route_of_auth_has_a_handler() {
        assert!(router().unbound(Function::Auth).is_empty());
    }

    #[tokio::test]
    async fn health_names_version_and_adapters() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("health.json")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ok");
        assert_eq!(body["function"], "auth");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(body["adapters"]["items"], "redb");
    }

    #[tokio::test]
    async fn openapi_lists_every_route() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("openapi.json")).await;
        assert_eq!(status, 200);
        assert_eq!(body["openapi"], "3.1.0");
        assert!(body["paths"]["/health"]["get"].is_object(), "{body}");
    }

    #[tokio::test]
    async fn a_wrong_method_is_a_405_problem() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("bad-method.json")).await;
        assert_eq!(status, 405, "{body}");
        assert_eq!(body["status"], 405);
        assert_eq!(
            body["detail"], "DELETE is not allowed here; allowed: GET",
            "{body}"
        );
    }
}
