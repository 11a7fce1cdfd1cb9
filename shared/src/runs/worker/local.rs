//! The in-process queue (`steward serve`, tests) and what finds runs to wake.

use chrono::{DateTime, Utc};

use super::state::State;
use super::{STALE_AFTER, Worked, WorkerPorts, fail, state_sk, work};
use crate::app::{Services, UsesBlobs, UsesClock, UsesItems, UsesLinks, UsesMail, UsesRunQueue};
use crate::error::Result;
use crate::ports::items::Query;
use crate::runs::{self, Run, Status};

/// One slice as the in-process queue runs it: `work` under the worker's services, then,
/// when the run ended, its report under the report sender's (what exports-events does on
/// AWS when the stream shows the ended run).
pub async fn work_local(
    worker: &impl WorkerPorts,
    reports: &(impl UsesItems + UsesBlobs + UsesMail + UsesClock + UsesLinks + UsesRunQueue),
    account_id: &crate::ids::AccountId,
    run_id: crate::ids::RunId,
    deadline: DateTime<Utc>,
) -> Result<Worked> {
    let worked = work(worker, account_id, run_id, deadline, None).await?;
    if let Worked::Finished(_) = worked
        && let Err(e) = crate::reports::deliver(reports, account_id, run_id).await
    {
        tracing::warn!(%run_id, error = %e, "sending a run's report failed");
    }
    Ok(worked)
}

/// Works the in-process queue (`steward serve`, tests): each woken run gets a slice of
/// `slice`; a slice that fails is retried twice, then the run fails.
pub async fn serve_queue(
    worker: Services,
    reports: Services,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<runs::queue::RunRef>,
    slice: std::time::Duration,
) {
    while let Some(r) = rx.recv().await {
        let (s, reports) = (worker.clone(), reports.clone());
        tokio::spawn(async move {
            for attempt in 1..=3 {
                let deadline = s.clock().now()
                    + chrono::Duration::from_std(slice).unwrap_or(chrono::Duration::minutes(5));
                match work_local(&s, &reports, &r.account_id, r.run_id, deadline).await {
                    Ok(_) => return,
                    Err(e) => {
                        tracing::warn!(run_id = %r.run_id, attempt, error = %e, "a run's slice failed");
                        tokio::time::sleep(std::time::Duration::from_secs(2 * attempt)).await;
                    }
                }
            }
            if let Err(e) = fail(
                &s,
                &r.account_id,
                r.run_id,
                "the worker failed three times in a row; see the server log",
            )
            .await
            {
                tracing::error!(run_id = %r.run_id, error = %e, "marking a run failed failed");
            }
        });
    }
}

/// Runs still to finish, for `steward serve` to resume after a restart.
pub async fn unfinished(s: &impl UsesItems) -> Result<Vec<runs::queue::RunRef>> {
    Ok(active(s)
        .await?
        .into_iter()
        .map(|run| runs::queue::RunRef {
            account_id: run.account_id,
            run_id: run.id,
        })
        .collect())
}

/// Wakes the runs that should be moving and are not: queued or running, no live lease, and
/// nothing saved for [`STALE_AFTER`]. That is a run whose stream record's retries ran out,
/// whose worker was killed past its last retry, or that `steward serve` found inside a
/// dead lease when it restarted. Each is written again with `wake` (the stream invokes the
/// worker on AWS; the in-process queue here), and that worker takes it over from its
/// checkpoint. Runs every few minutes (a Scheduler schedule on AWS, a timer locally).
pub async fn sweep(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
) -> Result<Vec<runs::queue::RunRef>> {
    let now = s.clock().now();
    let mut woken = Vec::new();
    for run in active(s).await? {
        if !matches!(run.status, Status::Queued | Status::Running) {
            // Waiting runs are woken by the run they wait for, which this sweep resumes.
            continue;
        }
        let pk = crate::keys::account(&run.account_id);
        let last = match s.items().get(&pk, &state_sk(run.id)).await? {
            Some(item) => {
                let st: State = item.decode("run state")?;
                if let Some(l) = &st.lease
                    && l.until > now
                    && now - l.heartbeat < STALE_AFTER
                {
                    continue;
                }
                st.saved_at
                    .or(st.lease.map(|l| l.heartbeat))
                    .unwrap_or(run.created_at)
            }
            None => run.created_at,
        };
        if now - last < STALE_AFTER {
            continue;
        }
        tracing::warn!(run_id = %run.id, last = %last, "waking a stalled run");
        runs::update(s, &run.account_id, run.id, true, |_| {}).await?;
        woken.push(runs::queue::RunRef {
            account_id: run.account_id,
            run_id: run.id,
        });
    }
    Ok(woken)
}

/// Every unfinished run (the `gsi1` partition of active runs).
async fn active(s: &impl UsesItems) -> Result<Vec<Run>> {
    let items = s
        .items()
        .query_all(
            Query::partition(crate::keys::RUNS_ACTIVE)
                .on_gsi1()
                .limit(500),
        )
        .await?;
    Ok(items
        .iter()
        .filter_map(|i| Run::from_item(i).ok())
        .collect())
}
