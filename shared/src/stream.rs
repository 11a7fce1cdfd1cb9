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
            let keys = &r.dynamodb.keys;
            if crate::keys::run_of(&keys.sk.s).is_some() {
                // Steward writes no such key; a hand-edited item is left alone, visibly.
                tracing::warn!(pk = %keys.pk.s, sk = %keys.sk.s, "a run item whose key is no account and run id: skipped");
            }
            continue;
        };
        if let Err(e) = each(account, run_id, seq.clone()).await {
            tracing::error!(%run_id, error = %e, "a stream record failed; it will be redelivered");
            out.failures.push(ItemFailure { id: seq });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn record(event: &str, pk: &str, sk: &str, seq: &str) -> serde_json::Value {
        serde_json::json!({
            "eventName": event,
            "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}, "SequenceNumber": seq},
        })
    }

    /// Runs are handed on in order; what is no run is passed over; from the first failure
    /// on, every record is asked again (the shard is ordered).
    #[tokio::test]
    async fn runs_are_handed_on_in_order_and_a_failure_holds_back_the_rest() {
        let (a, b, c) = (
            "01KKH5WRNH8XK2M4P7R9T1V3YB",
            "01KKH5WRNH8XK2M4P7R9T1V3YC",
            "01KKH5WRNH8XK2M4P7R9T1V3YD",
        );
        let event: StreamEvent = serde_json::from_value(serde_json::json!({"Records": [
            record("INSERT", "ACCT#hubspot:1", &format!("RUN#{a}"), "1"),
            record("REMOVE", "ACCT#hubspot:1", &format!("RUN#{b}"), "2"),
            record("MODIFY", "ACCT#hubspot:1", "TPL#01KKH5WRNH8XK2M4P7R9T1V3YB", "3"),
            record("MODIFY", "ACCT#hubspot:1", "RUN#not-a-run-id", "4"),
            record("MODIFY", "ACCT#pipedrive:1", &format!("RUN#{b}"), "5"),
            record("MODIFY", "ACCT#salesforce:00D1", &format!("RUN#{b}"), "6"),
            record("MODIFY", "ACCT#hubspot:1", &format!("RUN#{c}"), "7"),
            record("REMOVE", "ACCT#hubspot:1", &format!("RUN#{c}"), "8"),
        ]}))
        .unwrap();
        let seen = Mutex::new(Vec::new());
        let out = for_each_run(event, |account, run_id, seq| {
            seen.lock()
                .unwrap()
                .push(format!("{account} {run_id} {seq}"));
            async move {
                if seq == "6" {
                    Err(crate::Error::Unavailable("throttled".into()))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert_eq!(
            seen.into_inner().unwrap(),
            [format!("hubspot:1 {a} 1"), format!("salesforce:00D1 {b} 6")]
        );
        let again: Vec<&str> = out.failures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(again, ["6", "7", "8"]);
    }
}
