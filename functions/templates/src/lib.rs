//! The templates function: saved module configurations (CRUD, copies, share links).

use steward::Services;
use steward::app;
use steward::http::Router;

pub fn router() -> Router<Services> {
    Router::new().route("templates_health", |s, r| Box::pin(app::health(s, r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward::api::Function;
    use steward::testing::{TestWorld, event};

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
