//! The team function: members, invitations, roles, per-module permissions, the
//! integration user and the policy of an account. Every route but health needs a session;
//! the route catalogue says which need an owner or admin, and the router enforces it.

use lambda_http::{Body, Request, Response};
use steward_shared::http::{
    Router, if_match, json, json_body, no_content, path_param, principal, query_param, with_etag,
};
use steward_shared::identity::{policy, team};
use steward_shared::wiring::{SecretOp, Wire};
use steward_shared::{Error, Result, Services};
use steward_shared::{app, automation};

/// What this function may call beyond the table: invitation mail; members' connections (CRM users listed, tokens refreshed, the integration user set and purged); the automation signing secret. `main` builds exactly this on
/// AWS; `steward serve` and the tests run its routes under exactly this.
pub fn wiring<W: Wire>(w: W) -> W {
    w.mailer()
        .secrets(&[SecretOp::Read, SecretOp::Write, SecretOp::Delete])
        .crm_apps()
}

pub fn router() -> Router<Services> {
    Router::new()
        .route("team_health", |s, r| Box::pin(app::health(s, r)))
        .route("team_members", |s, r| Box::pin(members(s, r)))
        .route("team_member_update", |s, r| Box::pin(update(s, r)))
        .route("team_member_remove", |s, r| Box::pin(remove(s, r)))
        .route("team_crm_users", |s, r| Box::pin(crm_users(s, r)))
        .route("team_invite", |s, r| Box::pin(invite(s, r)))
        .route("team_invitation_resend", |s, r| Box::pin(resend(s, r)))
        .route("team_invitation_cancel", |s, r| Box::pin(cancel(s, r)))
        .route("team_integration_set", |s, r| {
            Box::pin(integration_set(s, r))
        })
        .route("team_integration_clear", |s, r| {
            Box::pin(integration_clear(s, r))
        })
        .route("account_policy_get", |s, r| Box::pin(policy_get(s, r)))
        .route("account_policy_set", |s, r| Box::pin(policy_set(s, r)))
        .route("automation_get", |s, r| Box::pin(automation_get(s, r)))
        .route("automation_activate", |s, r| {
            Box::pin(automation_activate(s, r))
        })
        .route("automation_rotate", |s, r| {
            Box::pin(automation_rotate(s, r))
        })
        .route("automation_deactivate", |s, r| {
            Box::pin(automation_deactivate(s, r))
        })
}

async fn automation_get(s: &Services, req: Request) -> Result<Response<Body>> {
    json(200, &automation::get(s, principal(&req)?).await?)
}

async fn automation_activate(s: &Services, req: Request) -> Result<Response<Body>> {
    let input = steward_shared::http::optional_json_body(&req)?;
    json(
        200,
        &automation::activate(s, principal(&req)?, input).await?,
    )
}

async fn automation_rotate(s: &Services, req: Request) -> Result<Response<Body>> {
    json(200, &automation::rotate(s, principal(&req)?).await?)
}

async fn automation_deactivate(s: &Services, req: Request) -> Result<Response<Body>> {
    json(200, &automation::deactivate(s, principal(&req)?).await?)
}

async fn members(s: &Services, req: Request) -> Result<Response<Body>> {
    json(200, &team::view(s, principal(&req)?).await?)
}

async fn update(s: &Services, req: Request) -> Result<Response<Body>> {
    let patch = json_body(&req)?;
    let id = team::named(&path_param(&req, "id")?)?;
    json(200, &team::update(s, principal(&req)?, &id, patch).await?)
}

async fn remove(s: &Services, req: Request) -> Result<Response<Body>> {
    let purge = match query_param(&req, "purge").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Error::invalid("purge", "must be `true` or `false`")),
    };
    let id = team::named(&path_param(&req, "id")?)?;
    team::remove(s, principal(&req)?, &id, purge).await?;
    no_content()
}

async fn crm_users(s: &Services, req: Request) -> Result<Response<Body>> {
    json(200, &team::crm_users(s, principal(&req)?).await?)
}

async fn invite(s: &Services, req: Request) -> Result<Response<Body>> {
    let body = json_body(&req)?;
    json(201, &team::invite(s, principal(&req)?, body).await?)
}

async fn resend(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    json(200, &team::resend(s, principal(&req)?, &id).await?)
}

async fn cancel(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    team::cancel(s, principal(&req)?, &id).await?;
    no_content()
}

async fn integration_set(s: &Services, req: Request) -> Result<Response<Body>> {
    let body = json_body(&req)?;
    json(
        200,
        &team::set_integration(s, principal(&req)?, body).await?,
    )
}

async fn integration_clear(s: &Services, req: Request) -> Result<Response<Body>> {
    team::clear_integration(s, principal(&req)?).await?;
    no_content()
}

async fn policy_get(s: &Services, req: Request) -> Result<Response<Body>> {
    let p = policy::get(s, principal(&req)?).await?;
    Ok(with_etag(json(200, &p)?, p.version))
}

async fn policy_set(s: &Services, req: Request) -> Result<Response<Body>> {
    let version = if_match(&req, "the policy")?;
    let input = json_body(&req)?;
    let p = policy::put(s, principal(&req)?, version, input).await?;
    Ok(with_etag(json(200, &p)?, p.version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_shared::api::Function;
    use steward_shared::testing::{TestWorld, event};

    #[test]
    fn every_catalogue_route_of_team_has_a_handler() {
        assert!(router().unbound(Function::Team).is_empty());
    }

    #[tokio::test]
    async fn health_answers_for_team() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("team-health.json")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["function"], "team");
    }

    #[tokio::test]
    async fn an_unknown_path_is_a_404_problem() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("unknown-route.json")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["title"], "Not found");
        assert_eq!(body["instance"], "/team/nope");
    }
}
