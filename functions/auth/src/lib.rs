//! The auth function: sign-in with HubSpot or Salesforce, sessions, and the service's
//! public meta routes (`/health`, `/openapi.json`, and the catch-all for unknown paths).

use steward::Services;
use steward::app;
use steward::http::Router;

pub fn router() -> Router<Services> {
    Router::new()
        .route("health", |s, r| Box::pin(app::health(s, r)))
        .route("openapi", |s, r| Box::pin(app::openapi(s, r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward::api::Function;
    use steward::testing::{TestWorld, event};

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
