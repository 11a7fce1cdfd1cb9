//! The object's lock (`LOCK#<object>`): one apply run per CRM object at a time; the others
//! wait and are woken when it is released.

use super::{STALE_AFTER, Worked, Worker, WorkerPorts, lock_sk};
use crate::app::{UsesItems, UsesRunQueue};
use crate::error::{Error, Result};
use crate::ids::RunId;
use crate::ports::items::{Condition, Item, Query};
use crate::runs::{self, Mode, Run, Status};

impl<S: WorkerPorts> Worker<'_, S> {
    /// Takes the object's lock for this run; `Some(holder)` when another run has it.
    pub(super) async fn lock(&self) -> Result<Option<RunId>> {
        let (pk, sk) = (self.pk(), lock_sk(&self.run.object));
        let until = self.deadline.max(self.s.clock().now()) + STALE_AFTER;
        for _ in 0..3 {
            let current = self.s.items().get(&pk, &sk).await?;
            let cond = match &current {
                Some(item) => {
                    let holder = item.data.get("run_id").and_then(|v| v.as_str());
                    if holder.is_none_or(|h| self.run.id != *h) {
                        // A holder that ended without releasing (it crashed at the end)
                        // does not block: its run is final.
                        if let Some(holder) = holder.and_then(|h| h.parse::<RunId>().ok()) {
                            match runs::load(self.s, &self.run.account_id, holder).await {
                                Ok(h) if !h.status.is_final() => return Ok(Some(holder)),
                                _ => {}
                            }
                        }
                    }
                    Condition::Version(item.version)
                }
                None => Condition::Absent,
            };
            let item = Item::new(&pk, &sk)
                .with("run_id", self.run.id.to_string())
                .expiring_at(until.timestamp());
            match self.s.items().put(item, cond).await {
                Ok(_) => return Ok(None),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable("the object's lock is contended".into()))
    }

    pub(super) async fn wait_for(&mut self, holder: RunId) -> Result<Worked> {
        self.st.lease = None;
        self.save().await?;
        runs::update(self.s, &self.run.account_id, self.run.id, false, |r| {
            r.status = Status::Waiting;
            r.waiting_for = Some(holder);
        })
        .await?;
        // The holder may have ended between our look and our write: look once more.
        if self.lock().await?.is_none() {
            release_lock(self.s, &self.run).await;
            runs::update(self.s, &self.run.account_id, self.run.id, true, |_| {}).await?;
        }
        Ok(Worked::Waiting)
    }
}

/// Releases the object's lock if `run` holds it, and wakes the runs waiting for it.
pub(super) async fn release_lock(s: &(impl UsesItems + UsesRunQueue), run: &Run) {
    let (pk, sk) = (crate::keys::account(&run.account_id), lock_sk(&run.object));
    if let Ok(Some(item)) = s.items().get(&pk, &sk).await
        && item
            .data
            .get("run_id")
            .and_then(|v| v.as_str())
            .is_some_and(|h| run.id == *h)
        && let Err(e) = s.items().delete(&pk, &sk, Some(item.version)).await
    {
        tracing::warn!(run_id = %run.id, error = %e, "releasing an object lock failed");
    }
    let prefix = crate::keys::active_runs_on(&run.account_id, &run.object);
    let q = Query::partition(crate::keys::RUNS_ACTIVE)
        .on_gsi1()
        .prefix(prefix)
        .limit(100);
    let Ok(page) = s.items().query(&q).await else {
        return;
    };
    for item in page.items {
        let Ok(other) = Run::from_item(&item) else {
            continue;
        };
        if other.id != run.id && other.mode == Mode::Apply && other.status == Status::Waiting {
            let _ = runs::update(s, &other.account_id, other.id, true, |_| {}).await;
        }
    }
}
