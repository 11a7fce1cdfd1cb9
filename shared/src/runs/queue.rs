//! What wakes the runs worker. On AWS it is the table's stream (a run item written with
//! `wake: true` invokes the worker), so waking is a no-op here; under `steward serve` and in
//! tests it is an in-process queue the server drains.

use crate::ids::AccountId;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A run to work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub account_id: crate::ids::AccountId,
    pub run_id: crate::ids::RunId,
}

#[derive(Clone, Default)]
pub enum RunQueue {
    /// The DynamoDB stream delivers run items: nothing to do.
    #[default]
    Stream,
    Local(Arc<mpsc::UnboundedSender<RunRef>>),
}

impl RunQueue {
    /// An in-process queue and its receiving end.
    pub fn local() -> (RunQueue, mpsc::UnboundedReceiver<RunRef>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (RunQueue::Local(Arc::new(tx)), rx)
    }

    pub fn wake(&self, account_id: &AccountId, run_id: crate::ids::RunId) {
        if let RunQueue::Local(tx) = self {
            // A closed queue means the server is stopping; the run resumes on restart.
            let _ = tx.send(RunRef {
                account_id: account_id.clone(),
                run_id,
            });
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            RunQueue::Stream => "dynamodb-stream",
            RunQueue::Local(_) => "in-process",
        }
    }
}

impl std::fmt::Debug for RunQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}
