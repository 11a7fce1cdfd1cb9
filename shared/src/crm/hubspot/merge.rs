//! Merges: HubSpot merges one pair per call, and contacts and companies come out of a
//! merge with a new id, so each group's duplicates are merged one by one into the survivor.

use serde_json::json;

use super::{Call, HubSpot, object_path, wire};
use crate::crm::{CrmError, CrmResult, MergeGroup, MergeOutcome, RecordError};

/// Object types HubSpot's merge endpoint serves that Steward merges.
const MERGEABLE: &[&str] = &["contacts", "companies", "deals", "0-1", "0-2", "0-3"];
/// Sends of one pair's merge, the first included; a resend only follows a check that
/// shows the previous send did not merge.
const MERGE_ATTEMPTS: usize = 2;

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
        let mut out: Vec<MergeOutcome> = Vec::with_capacity(groups.len());
        let mut stopped: Option<CrmError> = None;
        let mut any_call_done = false;
        for g in groups {
            if let Some(e) = &stopped {
                out.push(MergeOutcome {
                    primary_id: g.primary_id.clone(),
                    surviving_id: None,
                    merged_ids: Vec::new(),
                    error: Some(RecordError {
                        code: group_error(e).code,
                        message: format!("not sent: an earlier merge failed: {e}"),
                    }),
                });
                continue;
            }
            let mut current = g.primary_id.clone();
            let mut merged: Vec<String> = Vec::new();
            let mut error: Option<CrmError> = None;
            for dup in &g.duplicate_ids {
                match self.merge_pair(object, &current, dup).await {
                    Ok(survivor) => {
                        any_call_done = true;
                        current = survivor;
                        merged.push(dup.clone());
                    }
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            match error {
                None => out.push(MergeOutcome {
                    primary_id: g.primary_id.clone(),
                    surviving_id: Some(current),
                    merged_ids: merged,
                    error: None,
                }),
                Some(e) if !group_local(&e) && !any_call_done && out.is_empty() => return Err(e),
                Some(e) => {
                    out.push(MergeOutcome {
                        primary_id: g.primary_id.clone(),
                        surviving_id: (!merged.is_empty()).then_some(current),
                        merged_ids: merged,
                        error: Some(group_error(&e)),
                    });
                    if !group_local(&e) {
                        stopped = Some(e);
                    }
                }
            }
        }
        Ok(out)
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
