//! The exports function: report delivery by email, schedules, and the target
//! EventBridge Scheduler invokes.

use steward::Services;
use steward::app;
use steward::http::Router;

pub fn router() -> Router<Services> {
    Router::new().route("exports_health", |s, r| Box::pin(app::health(s, r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward::api::Function;
    use steward::testing::{TestWorld, event};

    #[test]
    fn every_catalogue_route_of_exports_has_a_handler() {
        assert!(router().unbound(Function::Exports).is_empty());
    }

    #[tokio::test]
    async fn health_answers_for_exports() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("exports-health.json")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["function"], "exports");
    }
}
