//! Merges: HubSpot merges one pair per call, and contacts and companies come out of a
//! merge with a new id, so each group's duplicates are merged one by one into the survivor.

use futures_util::{StreamExt, stream};
use serde_json::json;
use std::sync::Mutex;

use super::{Call, HubSpot, object_path, wire};
use crate::crm::{CrmError, CrmResult, MergeGroup, MergeOutcome, RecordError};

/// Object types HubSpot's merge endpoint serves that Steward merges.
const MERGEABLE: &[&str] = &["contacts", "companies", "deals", "0-1", "0-2", "0-3"];
/// Sends of one pair's merge, the first included; a resend only follows a check that
/// shows the previous send did not merge.
const MERGE_ATTEMPTS: usize = 2;
/// Groups merged at once. A merge waits on HubSpot's round trip (~0.35 s a call, billed
/// by Lambda while it waits); four in flight come near the account's rate limit (110 calls
/// per 10 s for an OAuth app) without queueing behind it: the cost bench measured ~7.8
/// calls a second (BENCHMARKS.md). A group's own pairs go one after another: each merge
/// names the next one's primary.
const GROUPS_IN_FLIGHT: usize = 4;

/// A group's outcome, and the error that stopped the call if it was not about the group.
struct Merged {
    outcome: MergeOutcome,
    stopped_on: Option<CrmError>,
}

fn group_error(e: &CrmError) -> RecordError {
    RecordError {
        code: e.code().into(),
        message: e.to_string(),
    }
}

/// Whether an error is about this group only (the next group may well succeed).
fn group_local(e: &CrmError) -> bool {
    matches!(
        e,
        CrmError::NotFound(_) | CrmError::Rejected(_) | CrmError::Ambiguous(_)
    )
}

impl HubSpot {
    pub(super) async fn merge_groups(
        &self,
        object: &str,
        groups: &[MergeGroup],
    ) -> CrmResult<Vec<MergeOutcome>> {
        let object = object_path(object)?;
        if !MERGEABLE.contains(&object) {
            return Err(CrmError::Unsupported(format!(
                "Steward merges HubSpot contacts, companies and deals, not {object}"
            )));
        }
        // Set by the first error that is not about its own group: groups not yet sent
        // are then not sent.
        let stopped: Mutex<Option<RecordError>> = Mutex::new(None);
        // Futures do nothing until polled: each group checks `stopped` as it starts.
        let calls: Vec<_> = groups
            .iter()
            .map(|g| self.merge_group(object, g, &stopped))
            .collect();
        let merged: Vec<Merged> = stream::iter(calls)
            .buffered(GROUPS_IN_FLIGHT)
            .collect()
            .await;
        // Nothing merged anywhere and the first group stopped on an error about the call
        // (not its own group): the whole call failed.
        if merged.iter().all(|m| m.outcome.merged_ids.is_empty())
            && let Some(Merged {
                stopped_on: Some(e),
                ..
            }) = merged.first()
        {
            return Err(e.clone());
        }
        Ok(merged.into_iter().map(|m| m.outcome).collect())
    }

    /// One group's duplicates merged one by one into the survivor (each merge gives the
    /// next one its primary's id), unless an earlier error stopped the call.
    async fn merge_group(
        &self,
        object: &str,
        g: &MergeGroup,
        stopped: &Mutex<Option<RecordError>>,
    ) -> Merged {
        let not_sent = stopped.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(e) = not_sent {
            return Merged {
                outcome: MergeOutcome {
                    primary_id: g.primary_id.clone(),
                    surviving_id: None,
                    merged_ids: Vec::new(),
                    error: Some(RecordError {
                        code: e.code,
                        message: format!("not sent: an earlier merge failed: {}", e.message),
                    }),
                },
                stopped_on: None,
            };
        }
        let mut current = g.primary_id.clone();
        let mut merged: Vec<String> = Vec::new();
        for dup in &g.duplicate_ids {
            match self.merge_pair(object, &current, dup).await {
                Ok(survivor) => {
                    current = survivor;
                    merged.push(dup.clone());
                }
                Err(e) => {
                    let stops = !group_local(&e);
                    if stops {
                        stopped
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert_with(|| group_error(&e));
                    }
                    return Merged {
                        outcome: MergeOutcome {
                            primary_id: g.primary_id.clone(),
                            surviving_id: (!merged.is_empty()).then_some(current),
                            merged_ids: merged,
                            error: Some(group_error(&e)),
                        },
                        stopped_on: stops.then_some(e),
                    };
                }
            }
        }
        Merged {
            outcome: MergeOutcome {
                primary_id: g.primary_id.clone(),
                surviving_id: Some(current),
                merged_ids: merged,
                error: None,
            },
            stopped_on: None,
        }
    }

    /// Merges `dup` into `primary`; the id of the record that remains. A merge that failed
    /// unclearly is checked, and sent again only when the check shows it did not happen.
    async fn merge_pair(&self, object: &str, primary: &str, dup: &str) -> CrmResult<String> {
        let call = Call::post(
            format!("/crm/v3/objects/{object}/merge"),
            &json!({ "primaryObjectId": primary, "objectIdToMerge": dup }),
        )
        .not_idempotent();
        let what = format!("merge {object} {dup} into {primary}");
        let mut why = String::new();
        for _ in 0..MERGE_ATTEMPTS {
            match self.expect_ok(&call, &what).await {
                Ok(reply) => {
                    let rec: wire::WireRecord = reply.json()?;
                    return Ok(rec.id);
                }
                Err(CrmError::Ambiguous(m)) => match self.check_merged(object, dup, &m).await? {
                    Some(survivor) => return Ok(survivor),
                    None => why = m,
                },
                Err(e) => return Err(e),
            }
        }
        Err(CrmError::Unavailable(format!(
            "HubSpot failed to merge {dup} into {primary} {MERGE_ATTEMPTS} times ({why}); it was not merged"
        )))
    }

    /// After a merge whose outcome is unknown: HubSpot resolves a merged-away id to the
    /// record that absorbed it, so a duplicate that now reads as another id was merged
    /// (`Some(survivor)`); one that still reads as itself was not (`None`).
    async fn check_merged(&self, object: &str, dup: &str, why: &str) -> CrmResult<Option<String>> {
        let call = Call::get(format!(
            "/crm/v3/objects/{object}/{}",
            urlencoding::encode(dup)
        ))
        .query("properties", "hs_object_id");
        let read = self
            .expect_ok(
                &call,
                &format!("read {object} {dup} after an unclear merge"),
            )
            .await;
        match read {
            Ok(reply) => {
                let rec: wire::WireRecord = reply.json()?;
                if rec.id != dup {
                    tracing::info!(object, dup, survivor = %rec.id, "an unclear merge did happen");
                    Ok(Some(rec.id))
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(CrmError::Ambiguous(format!(
                "the merge of {dup} failed ({why}) and checking it failed too: {e}"
            ))),
        }
    }
}
