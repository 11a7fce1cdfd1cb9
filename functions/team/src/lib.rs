//! The team function: members, invitations, roles, per-module permissions and the
//! integration user of an account.

use steward::Services;
use steward::app;
use steward::http::Router;

pub fn router() -> Router<Services> {
    Router::new().route("team_health", |s, r| Box::pin(app::health(s, r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward::api::Function;
    use steward::testing::{TestWorld, event};

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
}

#[cfg(test)]
mod routing {
    use super::*;
    use steward::testing::{TestWorld, event};

    #[tokio::test]
    async fn an_unknown_path_is_a_404_problem() {
        let w = TestWorld::new();
        let (status, body) = w.call(&router(), event("unknown-route.json")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["title"], "Not found");
        assert_eq!(body["instance"], "/team/nope");
    }
}
