//! The exports function: schedules over HTTP, and (binary `exports-events`) the target
//! EventBridge Scheduler invokes and the sender of run reports, which the table's stream
//! hands every ended run whose report is pending.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use steward_shared::app;
use steward_shared::http::{
    Router, created, json, json_body, no_content, page_limit, path_param, principal, query_param,
};
use steward_shared::schedules;
use steward_shared::stream::{BatchResponse, StreamEvent};
use steward_shared::wiring::{BlobOp, ScheduleOp, SecretOp, Wire};
use steward_shared::{Result, Services};

/// What this function may call beyond the table: schedules kept in EventBridge Scheduler. `main` builds exactly this on
/// AWS; `steward serve` and the tests run its routes under exactly this.
pub fn wiring<W: Wire>(w: W) -> W {
    w.scheduler(&[ScheduleOp::Write, ScheduleOp::Delete])
}

/// `exports-events`' (Scheduler fires, reports of ended runs): audit CSVs attached or
/// linked, report mail, and the integration user's connection a fire checks.
pub fn events_wiring<W: Wire>(w: W) -> W {
    w.blobs(&[BlobOp::Read, BlobOp::Link])
        .mailer()
        .secrets(&[SecretOp::Read, SecretOp::Write])
        .crm_apps()
}

pub fn router() -> Router<Services> {
    Router::new()
        .route("exports_health", |s, r| Box::pin(app::health(s, r)))
        .route("schedules_list", |s, r| Box::pin(list(s, r)))
        .route("schedules_create", |s, r| Box::pin(create(s, r)))
        .route("schedules_preview", |s, r| Box::pin(preview(s, r)))
        .route("schedules_get", |s, r| Box::pin(get(s, r)))
        .route("schedules_update", |s, r| Box::pin(update(s, r)))
        .route("schedules_delete", |s, r| Box::pin(delete(s, r)))
        .route("schedules_pause", |s, r| Box::pin(pause(s, r)))
        .route("schedules_resume", |s, r| Box::pin(resume(s, r)))
}

async fn list(s: &Services, req: Request) -> Result<Response<Body>> {
    let limit = page_limit(&req)?;
    let cursor = query_param(&req, "cursor");
    json(
        200,
        &schedules::list(s, principal(&req)?, limit, cursor).await?,
    )
}

async fn create(s: &Services, req: Request) -> Result<Response<Body>> {
    let who = principal(&req)?;
    let input = json_body(&req)?;
    let schedule = schedules::create(s, who, input).await?;
    created(201, &schedule, &format!("/schedules/{}", schedule.id))
}

async fn preview(s: &Services, req: Request) -> Result<Response<Body>> {
    let expression = query_param(&req, "expression");
    let timezone = query_param(&req, "timezone");
    let policy = steward_shared::identity::policy::get(s, principal(&req)?).await?;
    json(
        200,
        &schedules::preview(
            expression.as_deref(),
            timezone.as_deref(),
            s.clock.now(),
            &policy,
        )?,
    )
}

async fn get(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    json(200, &schedules::get(s, principal(&req)?, &id).await?)
}

async fn update(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    let who = principal(&req)?;
    let input = json_body(&req)?;
    json(200, &schedules::update(s, who, &id, input).await?)
}

async fn delete(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    schedules::delete(s, principal(&req)?, &id).await?;
    no_content()
}

async fn pause(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    json(
        200,
        &schedules::set_paused(s, principal(&req)?, &id, true).await?,
    )
}

async fn resume(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    json(
        200,
        &schedules::set_paused(s, principal(&req)?, &id, false).await?,
    )
}

/// What `exports-events` is invoked with: a stream batch, or a Scheduler fire.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Event {
    Stream(StreamEvent),
    Fire(schedules::FireEvent),
}

/// The answer: the stream's partial-batch response, or what a fire did.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Stream(BatchResponse),
    Fire { fired: String },
}

/// Sends the reports of the ended runs a stream batch names.
pub async fn send_reports(s: &Services, event: StreamEvent) -> BatchResponse {
    steward_shared::stream::for_each_run(event, |account, run_id, _| async move {
        steward_shared::reports::deliver(s, &account, run_id).await?;
        Ok(())
    })
    .await
}

pub async fn handle_event(s: &Services, event: Event) -> Result<Answer> {
    match event {
        Event::Stream(e) => Ok(Answer::Stream(send_reports(s, e).await)),
        Event::Fire(f) => {
            // An error is returned so the Scheduler retries the fire (its run id makes
            // a retry harmless).
            let fired = schedules::fire(s, &f).await?;
            Ok(Answer::Fire {
                fired: format!("{fired:?}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_shared::api::Function;
    use steward_shared::testing::{TestWorld, event};

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

    fn sample(name: &str) -> Event {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events")
            .join(name);
        serde_json::from_slice(&std::fs::read(path).unwrap()).expect("an exports event")
    }

    #[test]
    fn the_sample_events_are_told_apart() {
        assert!(matches!(sample("scheduler-fire.json"), Event::Fire(_)));
        assert!(matches!(
            sample("dynamodb-stream-run-ended.json"),
            Event::Stream(_)
        ));
    }

    #[tokio::test]
    async fn a_fire_of_a_deleted_schedule_is_ignored() {
        let w = TestWorld::new();
        let a = handle_event(w.services(), sample("scheduler-fire.json"))
            .await
            .unwrap();
        assert!(
            matches!(a, Answer::Fire { ref fired } if fired == "Gone"),
            "{a:?}"
        );
    }
}
