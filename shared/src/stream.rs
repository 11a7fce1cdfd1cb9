//! The part of a DynamoDB stream event Steward's stream consumers read (the runs worker,
//! the exports function's report sender), and the partial-batch answer.

use serde::Deserialize;

/// A DynamoDB stream event, as much of it as the worker reads.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamData,
}

#[derive(Debug, Deserialize)]
pub struct StreamData {
    #[serde(rename = "Keys")]
    pub keys: Keys,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
}

#[derive(Debug, Deserialize)]
pub struct Keys {
    pub pk: S,
    pub sk: S,
}

#[derive(Debug, Deserialize)]
pub struct S {
    #[serde(rename = "S")]
    pub s: String,
}

/// The partial-batch answer: records to deliver again.
#[derive(Debug, Default, serde::Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<ItemFailure>,
}

#[derive(Debug, serde::Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub id: String,
}

impl StreamRecord {
    /// `(account_id, run_id)` when the record is a run item's.
    pub fn run(&self) -> Option<(crate::ids::AccountId, crate::ids::RunId)> {
        let account = crate::keys::account_of(&self.dynamodb.keys.pk.s)?;
        Some((
            account.parse().ok()?,
            crate::keys::run_of(&self.dynamodb.keys.sk.s)?
                .parse()
                .ok()?,
        ))
    }
}

/// Hands each run item of the event to `each` (account, run id, sequence number), in
/// order. A record whose handling failed is reported for redelivery, with every one
/// after it (the shard is ordered); REMOVE records and other items are skipped.
pub async fn for_each_run<F, Fut>(event: StreamEvent, mut each: F) -> BatchResponse
where
    F: FnMut(crate::ids::AccountId, crate::ids::RunId, String) -> Fut,
    Fut: std::future::Future<Output = crate::Result<()>>,
{
    let mut out = BatchResponse::default();
    for r in event.records {
        let seq = r.dynamodb.sequence_number.clone();
        if !out.failures.is_empty() {
            out.failures.push(ItemFailure { id: seq });
            continue;
        }
        if r.event_name == "REMOVE" {
            continue;
        }
        let Some((account, run_id)) = r.run() else {
            continue;
        };
        if let Err(e) = each(account, run_id, seq.clone()).await {
            tracing::error!(%run_id, error = %e, "a stream record failed; it will be redelivered");
            out.failures.push(ItemFailure { id: seq });
        }
    }
    out
}
