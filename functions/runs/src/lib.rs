//! The runs function: starting module runs, the worker that executes them, and the
//! Activity Tracker that lists them with their audit CSVs.
//!
//! Two binaries: `runs` (HTTP, API Gateway) and `runs-worker` (the table's DynamoDB
//! stream, filtered in template.yaml to run items written with `wake: true`).

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use steward_shared::app;
use steward_shared::automation::{self, SignedRequest};
use steward_shared::crm::CrmKind;
use steward_shared::http::{
    Router, created, json, json_body, page_limit, path_param, principal, query_param, raw_body,
    request_path,
};
use steward_shared::ids::RunId;
use steward_shared::modules::Module;
use steward_shared::recipes;
use steward_shared::runs::{self, Filters, Status, Trigger};
pub use steward_shared::stream::{BatchResponse, ItemFailure, StreamEvent};
use steward_shared::wiring::{BlobOp, SecretOp, Wire};
use steward_shared::{Error, Result, Services};

/// What this function may call beyond the table: runs' rows read from their CSVs and links to them; CRM connections (refreshed tokens written back) and the accounts' automation signing secrets. `main` builds exactly this on
/// AWS; `steward serve` and the tests run its routes under exactly this.
pub fn wiring<W: Wire>(w: W) -> W {
    w.blobs(&[BlobOp::Read, BlobOp::Link])
        .secrets(&[SecretOp::Read, SecretOp::Write])
        .crm_apps()
}

/// The worker's (binary `runs-worker`, the table's stream): plan parts, output parts and
/// audit CSVs written, read back and cleaned up; CRM connections (tokens written back).
pub fn worker_wiring<W: Wire>(w: W) -> W {
    w.blobs(&[BlobOp::Read, BlobOp::Write, BlobOp::Delete])
        .secrets(&[SecretOp::Read, SecretOp::Write])
        .crm_apps()
}

pub fn router() -> Router<Services> {
    Router::new()
        .route("runs_health", |s, r| Box::pin(app::health(s, r)))
        .route("runs_start", |s, r| Box::pin(start(s, r)))
        .route("runs_list", |s, r| Box::pin(list(s, r)))
        .route("runs_get", |s, r| Box::pin(get(s, r)))
        .route("runs_csv", |s, r| Box::pin(csv(s, r)))
        .route("runs_rows", |s, r| Box::pin(rows(s, r)))
        .route("grid_records", |s, r| Box::pin(grid_records(s, r)))
        .route("runs_cancel", |s, r| Box::pin(cancel(s, r)))
        .route("runs_revert", |s, r| Box::pin(revert(s, r)))
        .route("runs_apply", |s, r| Box::pin(apply_preview(s, r)))
        .route("recipe_runs_list", |s, r| Box::pin(recipe_runs_list(s, r)))
        .route("recipe_runs_get", |s, r| Box::pin(recipe_runs_get(s, r)))
        .route("hooks_recipe", |s, r| Box::pin(hooks_recipe(s, r)))
        .route("hooks_hubspot_action", |s, r| {
            Box::pin(hooks_hubspot_action(s, r))
        })
        .route("hooks_hubspot_options", |s, r| {
            Box::pin(hooks_hubspot_options(s, r))
        })
}

async fn recipe_runs_list(s: &Services, req: Request) -> Result<Response<Body>> {
    let recipe = query_param(&req, "recipe_id");
    if let Some(id) = &recipe {
        id.parse::<steward_shared::ids::RecipeId>()
            .map_err(|_| Error::invalid("recipe_id", "must be a recipe's id (a ULID)"))?;
    }
    let limit = page_limit(&req)?;
    let cursor = query_param(&req, "cursor");
    json(
        200,
        &recipes::list_runs(s, principal(&req)?, recipe.as_deref(), limit, cursor).await?,
    )
}

async fn recipe_runs_get(s: &Services, req: Request) -> Result<Response<Body>> {
    let id = path_param(&req, "id")?;
    json(200, &recipes::get_run(s, principal(&req)?, &id).await?)
}

/// A signed call as the domain checks it: method, path and query as sent, headers, body.
fn signed(req: &Request) -> SignedRequest<'_> {
    SignedRequest {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
        body: raw_body(req),
    }
}

async fn hooks_recipe(s: &Services, req: Request) -> Result<Response<Body>> {
    let recipe_id = path_param(&req, "recipe_id")?;
    let crm = match path_param(&req, "crm")?.as_str() {
        "salesforce" => CrmKind::Salesforce,
        "hubspot" => CrmKind::HubSpot,
        other => {
            return Err(Error::NotFound(format!("automation hooks of `{other}`")));
        }
    };
    let path = request_path(&req);
    let mut call = signed(&req);
    call.path = &path;
    // HubSpot's own workflow requests may name the recipe in the path, signed its way.
    let hubspot_signed = ["x-hubspot-signature-v3", "x-hubspot-signature"]
        .iter()
        .any(|h| req.headers().contains_key(*h));
    if crm == CrmKind::HubSpot && hubspot_signed {
        return json(
            200,
            &automation::hubspot_action(s, Some(&recipe_id), call).await?,
        );
    }
    json(202, &automation::hook(s, crm, &recipe_id, call).await?)
}

async fn hooks_hubspot_action(s: &Services, req: Request) -> Result<Response<Body>> {
    let path = request_path(&req);
    let mut call = signed(&req);
    call.path = &path;
    json(200, &automation::hubspot_action(s, None, call).await?)
}

async fn hooks_hubspot_options(s: &Services, req: Request) -> Result<Response<Body>> {
    let path = request_path(&req);
    let mut call = signed(&req);
    call.path = &path;
    json(200, &automation::hubspot_options(s, call).await?)
}

async fn start(s: &Services, req: Request) -> Result<Response<Body>> {
    let who = principal(&req)?;
    let input = json_body(&req)?;
    let run = runs::start(s, who, input).await?;
    created(202, &run, &format!("/runs/{}", run.id))
}

fn parse_time(name: &str, v: Option<String>) -> Result<Option<DateTime<Utc>>> {
    v.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                Error::invalid(
                    name,
                    format!("`{t}` is not an RFC 3339 time (2026-11-23T09:00:00Z)"),
                )
            })
    })
    .transpose()
}

fn one_of<T: Copy>(
    name: &str,
    v: Option<String>,
    all: &[T],
    n: fn(T) -> &'static str,
) -> Result<Option<T>> {
    match v {
        None => Ok(None),
        Some(v) => all
            .iter()
            .copied()
            .find(|t| n(*t) == v)
            .map(Some)
            .ok_or_else(|| {
                Error::invalid(
                    name,
                    format!(
                        "unknown {name} `{v}`; one of: {}",
                        all.iter().map(|t| n(*t)).collect::<Vec<_>>().join(", ")
                    ),
                )
            }),
    }
}

async fn list(s: &Services, req: Request) -> Result<Response<Body>> {
    let filters = Filters {
        run_id: query_param(&req, "run_id"),
        module: one_of(
            "module",
            query_param(&req, "module"),
            Module::ALL,
            Module::name,
        )?,
        member: query_param(&req, "member"),
        status: one_of(
            "status",
            query_param(&req, "status"),
            Status::ALL,
            Status::name,
        )?,
        trigger: one_of(
            "trigger",
            query_param(&req, "trigger"),
            Trigger::ALL,
            Trigger::name,
        )?,
        from: parse_time("from", query_param(&req, "from"))?,
        to: parse_time("to", query_param(&req, "to"))?,
    };
    if let (Some(f), Some(t)) = (filters.from, filters.to)
        && f >= t
    {
        return Err(Error::invalid("from", "must be before `to`"));
    }
    let limit = page_limit(&req)? as usize;
    let cursor = query_param(&req, "cursor");
    json(
        200,
        &runs::list(s, principal(&req)?, &filters, limit, cursor).await?,
    )
}

async fn get(s: &Services, req: Request) -> Result<Response<Body>> {
    let id: RunId = path_param(&req, "id")?.parse()?;
    json(200, &*runs::get(s, principal(&req)?, id).await?)
}

async fn csv(s: &Services, req: Request) -> Result<Response<Body>> {
    let id: RunId = path_param(&req, "id")?.parse()?;
    let url = runs::csv_link(s, principal(&req)?, id).await?;
    Response::builder()
        .status(302)
        .header(http::header::LOCATION, url)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Empty)
        .map_err(|e| Error::internal("building a redirect", e))
}

async fn rows(s: &Services, req: Request) -> Result<Response<Body>> {
    use steward_shared::modules::csv::{RowAction, Status as RowStatus};
    use steward_shared::runs::rows::{LIMIT_DEFAULT, LIMIT_MAX, RowsQuery};
    let id: RunId = path_param(&req, "id")?.parse()?;
    let limit = match query_param(&req, "limit") {
        None => LIMIT_DEFAULT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=LIMIT_MAX).contains(n))
            .ok_or_else(|| {
                Error::invalid("limit", format!("must be a number from 1 to {LIMIT_MAX}"))
            })?,
    };
    let q = RowsQuery {
        limit,
        cursor: query_param(&req, "cursor"),
        action: one_of(
            "action",
            query_param(&req, "action"),
            RowAction::ALL,
            RowAction::name,
        )?,
        outcome: one_of(
            "outcome",
            query_param(&req, "outcome"),
            RowStatus::ALL,
            RowStatus::name,
        )?,
    };
    json(200, &runs::rows::page(s, principal(&req)?, id, &q).await?)
}

async fn grid_records(s: &Services, req: Request) -> Result<Response<Body>> {
    let who = principal(&req)?;
    // Permission before the body: a member without the grid learns nothing from a 400.
    let grant = who.grant(Module::Grid, steward_shared::identity::Permission::Read)?;
    let input = json_body(&req)?;
    json(200, &runs::grid_view::records(s, who, grant, input).await?)
}

async fn cancel(s: &Services, req: Request) -> Result<Response<Body>> {
    let id: RunId = path_param(&req, "id")?.parse()?;
    json(202, &runs::cancel(s, principal(&req)?, id).await?)
}

async fn revert(s: &Services, req: Request) -> Result<Response<Body>> {
    let id: RunId = path_param(&req, "id")?.parse()?;
    let run = runs::start_revert(s, principal(&req)?, id).await?;
    created(202, &run, &format!("/runs/{}", run.id))
}

async fn apply_preview(s: &Services, req: Request) -> Result<Response<Body>> {
    let id: RunId = path_param(&req, "id")?.parse()?;
    let input = json_body(&req)?;
    let run = runs::start_apply_preview(s, principal(&req)?, id, input).await?;
    created(202, &run, &format!("/runs/{}", run.id))
}

// ---- the stream worker ------------------------------------------------------------------

/// What the worker is invoked with: a stream batch of woken runs, or the sweep's schedule
/// (`{"sweep": "stale-runs"}`, every few minutes).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum WorkerEvent {
    Stream(StreamEvent),
    Sweep { sweep: String },
}

/// The answer: the stream's partial-batch response, or the runs the sweep woke.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum WorkerAnswer {
    Stream(BatchResponse),
    Swept { woken: Vec<RunId> },
}

pub async fn handle_worker_event(
    s: &Services,
    event: WorkerEvent,
    deadline: DateTime<Utc>,
) -> Result<WorkerAnswer> {
    match event {
        WorkerEvent::Stream(e) => Ok(WorkerAnswer::Stream(handle_stream(s, e, deadline).await)),
        WorkerEvent::Sweep { sweep } => {
            tracing::info!(sweep, "sweeping stalled runs");
            let woken = runs::worker::sweep(s).await?;
            Ok(WorkerAnswer::Swept {
                woken: woken.into_iter().map(|r| r.run_id).collect(),
            })
        }
    }
}

/// Works each run the event names until `deadline`; a record whose work failed is
/// reported for redelivery.
pub async fn handle_stream(
    s: &Services,
    event: StreamEvent,
    deadline: DateTime<Utc>,
) -> BatchResponse {
    steward_shared::stream::for_each_run(event, |account, run_id, seq| async move {
        let w = runs::worker::work(s, &account, run_id, deadline, Some(&seq)).await?;
        tracing::info!(%run_id, worked = ?w, "stream record handled");
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_shared::api::Function;
    use steward_shared::testing::{TestWorld, event};

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

    #[test]
    fn the_worker_tells_a_stream_batch_from_the_sweep() {
        let read = |name: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../events")
                .join(name);
            serde_json::from_slice::<WorkerEvent>(&std::fs::read(path).unwrap()).unwrap()
        };
        assert!(matches!(
            read("dynamodb-stream-run-insert.json"),
            WorkerEvent::Stream(_)
        ));
        assert!(matches!(
            read("scheduler-sweep.json"),
            WorkerEvent::Sweep { ref sweep } if sweep == "stale-runs"
        ));
        assert!(serde_json::from_str::<WorkerEvent>(r#"{"detail": {}}"#).is_err());
    }

    #[test]
    fn the_sample_stream_event_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/dynamodb-stream-run-insert.json");
        let e: StreamEvent =
            serde_json::from_slice(&std::fs::read(path).unwrap()).expect("a stream event");
        assert_eq!(e.records.len(), 1);
        assert!(e.records[0].dynamodb.keys.sk.s.starts_with("RUN#"));
    }

    #[tokio::test]
    async fn a_stream_record_of_a_missing_run_is_ignored_not_retried() {
        let w = TestWorld::new();
        let e: StreamEvent = serde_json::from_value(serde_json::json!({
            "Records": [{"eventName": "INSERT", "dynamodb": {
                "Keys": {"pk": {"S": "ACCT#hubspot:1"}, "sk": {"S": "RUN#01JDZ4S4V4B3W4Y0Q6M8TZ2R9K"}},
                "SequenceNumber": "1"}}]
        }))
        .unwrap();
        let r = handle_stream(w.services(), e, Utc::now()).await;
        assert_eq!(r, BatchResponse::default());
    }
}
