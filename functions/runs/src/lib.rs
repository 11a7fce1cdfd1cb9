//! The runs function: starting module runs, the worker that executes them, and the
//! Activity Tracker that lists them with their audit CSVs.

use steward::Services;
use steward::app;
use steward::http::Router;

pub fn router() -> Router<Services> {
    Router::new().route("runs_health", |s, r| Box::pin(app::health(s, r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward::api::Function;
    use steward::testing::{TestWorld, event};

    #[test]
    fn every_catalogue_route_of_runs_has_a_handler() {
        assert!(router().unbound(Function::Runs).is_empty());
    }

    #[tokio::test]
    async fn health_answers_for_runs() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("runs-health.json")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["function"], "runs");
    }
}
