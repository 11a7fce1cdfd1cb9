//! The web function: the console's pages (`index.html`) and content-hashed assets, from
//! the built console the deploy puts beside it. No table, no session, no AWS SDK call.

use lambda_http::{Body, Request, Response};
use std::path::PathBuf;
use steward_shared::console::Console;
use steward_shared::error::Error;
use steward_shared::http::request_path;

/// Where the built console is: `$STEWARD_CONSOLE_DIR` (template.yaml sets it to the
/// console layer's `/opt`), else `$LAMBDA_TASK_ROOT/console`.
pub fn console_dir(var: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = var("STEWARD_CONSOLE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    PathBuf::from(var("LAMBDA_TASK_ROOT").unwrap_or_else(|| ".".into())).join("console")
}

/// The console's answer, or a JSON 404 for a path that is not the console's (API
/// Gateway routes only console paths here, so that is a template.yaml mistake).
pub async fn handle(console: &Console, req: Request) -> Response<Body> {
    match console.answer(&req).await {
        Some(resp) => resp,
        None => {
            let path = request_path(&req);
            Error::NotFound(format!("{} {path}", req.method())).into_response(Some(&path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    #[test]
    fn the_console_is_where_the_deploy_put_it() {
        let env = |pairs: &'static [(&str, &str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            console_dir(env(&[
                ("STEWARD_CONSOLE_DIR", "/opt"),
                ("LAMBDA_TASK_ROOT", "/var/task")
            ])),
            PathBuf::from("/opt")
        );
        assert_eq!(
            console_dir(env(&[("LAMBDA_TASK_ROOT", "/var/task")])),
            PathBuf::from("/var/task/console")
        );
    }

    #[tokio::test]
    async fn answers_pages_from_an_api_gateway_event() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        let console = Console::new(dir.path());
        let req = steward_shared::testing::event("web-run-page.json");
        let r = handle(&console, req).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[http::header::CACHE_CONTROL], "no-cache");

        let req = http::Request::builder()
            .uri("https://x/team/members")
            .body(Body::Empty)
            .unwrap()
            .with_raw_http_path("/team/members");
        let r = handle(&console, req).await;
        assert_eq!(r.status(), 404);
        assert_eq!(
            r.headers()[http::header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
