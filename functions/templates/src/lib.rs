//! The templates function: saved module configurations (CRUD, copies, share links), and
//! the CRM schema their editors pick objects and fields from.

use lambda_http::{Body, Request, Response};
use steward_shared::http::{
    Router, created, json, json_body, no_content, page_limit, path_param, principal, query_param,
};
use steward_shared::modules::Module;
use steward_shared::recipes;
use steward_shared::templates::{self, Template};
use steward_shared::wiring::{SecretOp, Wire};
use steward_shared::{Result, Services};
use steward_shared::{app, crm_schema};

/// What this function may call beyond the table: the CRM's objects and fields through the member's connection (refreshed tokens written back). `main` builds exactly this on
/// AWS; `steward serve` and the tests run its routes under exactly this.
pub fn wiring<W: Wire>(w: W) -> W {
    w.secrets(&[SecretOp::Read, SecretOp::Write]).crm_apps()
}

pub fn router() -> Router<Services> {
    Router::new()
        .route("templates_health", |s, r| Box::pin(app::health(s, r)))
        .route("templates_list", |s, r| Box::pin(list(s, r)))
        .route("templates_create", |s, r| Box::pin(create(s, r)))
        .route("templates_get", |s, r| Box::pin(get(s, r)))
        .route("templates_update", |s, r| Box::pin(update(s, r)))
        .route("templates_delete", |s, r| Box::pin(delete(s, r)))
        .route("templates_copy", |s, r| Box::pin(copy(s, r)))
        .route("recipes_list", |s, r| Box::pin(recipes_list(s, r)))
        .route("recipes_create", |s, r| Box::pin(recipes_create(s, r)))
        .route("recipes_get", |s, r| Box::pin(recipes_get(s, r)))
        .route("recipes_update", |s, r| Box::pin(recipes_update(s, r)))
        .route("recipes_delete", |s, r| Box::pin(recipes_delete(s, r)))
        .route("recipes_run", |s, r| Box::pin(recipes_run(s, r)))
        .route("crm_objects", |s, r| Box::pin(crm_objects(s, r)))
        .route("crm_object_fields", |s, r| {
            Box::pin(crm_object_fields(s, r))
        })
}

/// A template with its version as the ETag (and, when just made, its Location).
fn with_etag(status: u16, t: &Template) -> Result<Response<Body>> {
    let resp = match status {
        201 => created(status, t, &format!("/templates/{}", t.id))?,
        _ => json(status, t)?,
    };
    Ok(steward_shared::http::with_etag(resp, t.version))
}

/// A recipe with its version as the ETag (and, when just made, its Location).
fn recipe_etag(status: u16, r: &recipes::Recipe) -> Result<Response<Body>> {
    let resp = match status {
        201 => created(status, r, &format!("/recipes/{}", r.id))?,
        _ => json(status, r)?,
    };
    Ok(steward_shared::http::with_etag(resp, r.version))
}

async fn recipes_list(s: &Services, req: Request) -> Result<Response<Body>> {
    let limit = page_limit(&req)?;
    let cursor = query_param(&req, "cursor");
    json(
        200,
        &recipes::list(s, principal(&req)?, limit, cursor).await?,
    )
}

async fn recipes_create(s: &Services, req: Request) -> Result<Response<Body>> {
    let input = json_body(&req)?;
    recipe_etag(201, &recipes::create(s, principal(&req)?, input).await?)
}

async fn recipes_get(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    recipe_etag(200, &recipes::get(s, principal(&req)?, &id).await?)
}

async fn recipes_update(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    let who = principal(&req)?;
    let current = recipes::changeable(s, who, &id).await?;
    let version = steward_shared::http::if_match(&req, "the recipe")?;
    let input = json_body(&req)?;
    recipe_etag(
        200,
        &recipes::update(s, who, current, version, input).await?,
    )
}

async fn recipes_delete(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    let who = principal(&req)?;
    let current = recipes::changeable(s, who, &id).await?;
    let version = match req.headers().get(http::header::IF_MATCH) {
        Some(_) => Some(steward_shared::http::if_match(&req, "the recipe")?),
        None => None,
    };
    recipes::delete(s, who, current, version).await?;
    no_content()
}

async fn recipes_run(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    let input = steward_shared::http::optional_json_body(&req)?;
    let rr = recipes::start(s, principal(&req)?, &id, input).await?;
    created(202, &rr, &format!("/recipe-runs/{}", rr.id))
}

async fn list(s: &Services, req: Request) -> Result<Response<Body>> {
    let module = match query_param(&req, "module") {
        None => None,
        Some(m) => Some(Module::named(&m, "module")?),
    };
    let limit = page_limit(&req)?;
    let cursor = query_param(&req, "cursor");
    json(
        200,
        &templates::list(s, principal(&req)?, module, limit, cursor).await?,
    )
}

async fn create(s: &Services, req: Request) -> Result<Response<Body>> {
    let input = json_body(&req)?;
    with_etag(201, &templates::create(s, principal(&req)?, input).await?)
}

async fn get(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = templates::named(&path_param(&req, "id")?)?;
    with_etag(200, &*templates::get(s, principal(&req)?, id).await?)
}

async fn update(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = templates::named(&path_param(&req, "id")?)?;
    let who = principal(&req)?;
    let current = templates::writable(s, who, id).await?;
    let version = steward_shared::http::if_match(&req, "the template")?;
    let input = json_body(&req)?;
    with_etag(
        200,
        &templates::update(s, who, current, version, input).await?,
    )
}

async fn delete(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = templates::named(&path_param(&req, "id")?)?;
    let who = principal(&req)?;
    let current = templates::writable(s, who, id).await?;
    let version = match req.headers().get(http::header::IF_MATCH) {
        Some(_) => Some(steward_shared::http::if_match(&req, "the template")?),
        None => None,
    };
    templates::delete(s, who, current, version).await?;
    no_content()
}

async fn copy(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = templates::named(&path_param(&req, "id")?)?;
    with_etag(201, &templates::copy(s, principal(&req)?, id).await?)
}

async fn crm_objects(s: &Services, req: Request) -> Result<Response<Body>> {
    json(200, &crm_schema::objects(s, principal(&req)?).await?)
}

async fn crm_object_fields(s: &Services, req: Request) -> Result<Response<Body>> {
    let object = path_param(&req, "object")?;
    json(
        200,
        &crm_schema::fields(s, principal(&req)?, &object).await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_shared::api::Function;
    use steward_shared::testing::{TestWorld, event};

    #[test]
    fn every_catalogue_route_of_templates_has_a_handler() {
        assert!(router().unbound(Function::Templates).is_empty());
    }

    #[tokio::test]
    async fn health_answers_for_templates() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("templates-health.json")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["function"], "templates");
    }
}
