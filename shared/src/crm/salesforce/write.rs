//! Writing: sObject Collections (create, update, delete) and the SOAP merge and convertLead
//! calls, chunked to Salesforce's largest batches; non-idempotent calls check their effect.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};

use super::super::limits::salesforce as figures;
use super::super::{
    CrmError, CrmResult, LeadConvert, LeadConvertOutcome, MergeGroup, MergeOutcome, Outcome,
    Properties, RecordError, Update,
};
use super::soap::{self, MergeRequest, MergeResult};
use super::{Req, Salesforce, record_error, soql};

/// One entry of a collection answer. Per-record errors carry `statusCode`.
#[derive(Deserialize)]
struct CollectionResult {
    id: Option<String>,
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<CollectionError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CollectionError {
    status_code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
}

fn outcome(r: CollectionResult, input_id: Option<&str>) -> Outcome {
    if r.success {
        match r.id.or_else(|| input_id.map(str::to_string)) {
            Some(id) => Outcome::ok(id),
            None => Outcome::failed(
                None,
                "PROTOCOL",
                "Salesforce reported success without an id",
            ),
        }
    } else {
        let e = r.errors.into_iter().next();
        let code = e
            .as_ref()
            .and_then(|e| e.status_code.clone())
            .unwrap_or_else(|| "UNKNOWN".into());
        let mut message = e
            .as_ref()
            .and_then(|e| e.message.clone())
            .unwrap_or_default();
        if let Some(e) = e.filter(|e| !e.fields.is_empty()) {
            message = format!("{message} (fields: {})", e.fields.join(", "));
        }
        Outcome::failed(input_id.map(str::to_string), &code, message)
    }
}

fn results(v: Value, want: usize) -> CrmResult<Vec<CollectionResult>> {
    let r: Vec<CollectionResult> = serde_json::from_value(v).map_err(|e| {
        CrmError::Protocol(format!("a collection answer is not a list of results: {e}"))
    })?;
    if r.len() == want {
        Ok(r)
    } else {
        Err(CrmError::Protocol(format!(
            "a collection answer holds {} results for {want} records",
            r.len()
        )))
    }
}

/// A record for a collection body: `attributes.type`, then the properties (None clears).
fn collection_record(object: &str, id: Option<&str>, props: &Properties) -> CrmResult<Value> {
    let mut m = Map::new();
    m.insert("attributes".into(), json!({ "type": object }));
    if let Some(id) = id {
        m.insert("id".into(), json!(id));
    }
    for (k, v) in props {
        soql::identifier("property", k)?;
        if k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("attributes") {
            return Err(CrmError::Rejected(format!(
                "{k} cannot be written as a property"
            )));
        }
        m.insert(k.clone(), v.as_ref().map_or(Value::Null, |s| json!(s)));
    }
    Ok(Value::Object(m))
}

fn malformed(id: &str) -> Outcome {
    Outcome::failed(
        Some(id.to_string()),
        "MALFORMED_ID",
        format!("{id:?} is not a Salesforce record id"),
    )
}

/// Merge requests for every group: one per two duplicates, in the order they must run.
fn merge_requests(group: &MergeGroup) -> Vec<MergeRequest> {
    let mut dups: Vec<String> = Vec::new();
    for d in &group.duplicate_ids {
        if d != &group.primary_id && !dups.contains(d) {
            dups.push(d.clone());
        }
    }
    dups.chunks(figures::MERGE_DUPLICATES_MAX)
        .map(|c| MergeRequest {
            master: group.primary_id.clone(),
            duplicates: c.to_vec(),
        })
        .collect()
}

/// Packs merge requests into calls of at most `per_call`, never two touching the same
/// record in one call (each request is its own transaction, run in no set order). Groups
/// with the most requests left go first, which gives the fewest calls.
fn plan_merges(
    requests: Vec<(usize, Vec<MergeRequest>)>,
    per_call: usize,
) -> Vec<Vec<(usize, MergeRequest)>> {
    let mut queues: Vec<(usize, VecDeque<MergeRequest>)> = requests
        .into_iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(g, r)| (g, r.into()))
        .collect();
    let mut calls = Vec::new();
    while queues.iter().any(|(_, q)| !q.is_empty()) {
        queues.sort_by_key(|(g, q)| (std::cmp::Reverse(q.len()), *g));
        let mut call = Vec::new();
        let mut used: HashSet<String> = HashSet::new();
        for (g, q) in queues.iter_mut() {
            if call.len() >= per_call.max(1) {
                break;
            }
            let Some(next) = q.front() else { continue };
            let ids = std::iter::once(&next.master).chain(&next.duplicates);
            if ids.clone().any(|id| used.contains(id)) {
                continue;
            }
            used.extend(ids.cloned());
            if let Some(r) = q.pop_front() {
                call.push((*g, r));
            }
        }
        calls.push(call);
    }
    calls
}

/// Salesforce compares ids by their 15-character case-sensitive form.
fn same_id(a: &str, b: &str) -> bool {
    a.get(..15).unwrap_or(a) == b.get(..15).unwrap_or(b)
}

impl Salesforce {
    pub(super) async fn create(
        &self,
        object: &str,
        records: &[Properties],
    ) -> CrmResult<Vec<Outcome>> {
        let object = soql::identifier("object", object)?;
        let bodies = records
            .iter()
            .map(|p| collection_record(object, None, p))
            .collect::<CrmResult<Vec<_>>>()?;
        let mut out: Vec<Outcome> = Vec::with_capacity(records.len());
        for chunk in bodies.chunks(figures::COLLECTION_MAX) {
            let req = Req::json(
                Method::POST,
                self.data_url("/composite/sobjects"),
                &json!({ "allOrNone": false, "records": chunk }),
            )
            .not_idempotent();
            let answer = match self.rest_json(&req).await {
                Ok(v) => results(v, chunk.len()),
                Err(e) => Err(e),
            };
            match answer {
                Ok(r) => out.extend(r.into_iter().map(|r| outcome(r, None))),
                // Salesforce may have created them: never resent, reported for a human or a
                // later dedupe to settle.
                Err(e @ (CrmError::Ambiguous(_) | CrmError::Protocol(_))) => {
                    tracing::warn!(error = %e, "collection create outcome unknown");
                    out.extend(chunk.iter().map(|_| {
                        Outcome::failed(
                            None,
                            "AMBIGUOUS",
                            format!("Salesforce may or may not have created this record: {e}"),
                        )
                    }));
                }
                Err(e) if out.is_empty() => return Err(e),
                // Earlier chunks were created: report them rather than lose their ids.
                Err(e) => {
                    let r = record_error(&e);
                    out.resize_with(records.len(), || Outcome {
                        id: None,
                        error: Some(r.clone()),
                    });
                    break;
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn update(&self, object: &str, updates: &[Update]) -> CrmResult<Vec<Outcome>> {
        let object = soql::identifier("object", object)?;
        let mut out: Vec<Option<Outcome>> = vec![None; updates.len()];
        let mut send: Vec<(usize, Value)> = Vec::new();
        for (i, u) in updates.iter().enumerate() {
            if soql::is_id(&u.id) {
                send.push((i, collection_record(object, Some(&u.id), &u.properties)?));
            } else {
                out[i] = Some(malformed(&u.id));
            }
        }
        for chunk in send.chunks(figures::COLLECTION_MAX) {
            let records: Vec<&Value> = chunk.iter().map(|(_, v)| v).collect();
            let req = Req::json(
                Method::PATCH,
                self.data_url("/composite/sobjects"),
                &json!({ "allOrNone": false, "records": records }),
            );
            let r = results(self.rest_json(&req).await?, chunk.len())?;
            for ((i, _), r) in chunk.iter().zip(r) {
                out[*i] = Some(outcome(r, Some(&updates[*i].id)));
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    pub(super) async fn delete(&self, object: &str, ids: &[String]) -> CrmResult<Vec<Outcome>> {
        soql::identifier("object", object)?;
        let mut out: Vec<Option<Outcome>> = vec![None; ids.len()];
        let send: Vec<(usize, &str)> = ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                if soql::is_id(id) {
                    Some((i, id.as_str()))
                } else {
                    out[i] = Some(malformed(id));
                    None
                }
            })
            .collect();
        for chunk in send.chunks(figures::COLLECTION_MAX) {
            let list: Vec<&str> = chunk.iter().map(|(_, id)| *id).collect();
            let mut req = Req::get(self.data_url(&format!(
                "/composite/sobjects?ids={}&allOrNone=false",
                list.join(",")
            )));
            req.method = Method::DELETE;
            let r = results(self.rest_json(&req).await?, chunk.len())?;
            for ((i, id), r) in chunk.iter().zip(r) {
                out[*i] = Some(outcome(r, Some(id)));
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// One SOAP merge call; per-request results in request order.
    async fn merge_call(
        &self,
        object: &str,
        requests: &[MergeRequest],
    ) -> CrmResult<Vec<MergeResult>> {
        let req = Req::soap(self.soap_url(), soap::merge_body(object, requests));
        let reply = self.send(&req).await?;
        let (results, usage) = soap::merge_results(&reply.body, requests.len())?;
        if let Some((used, limit)) = usage {
            self.transport.limiter.record_usage(used, limit);
        }
        Ok(results)
    }

    /// After a merge call of unknown outcome: which duplicates are now deleted with the
    /// master as their `MasterRecordId` (`queryAll` sees deleted records).
    async fn check_merges(
        &self,
        object: &str,
        requests: &[MergeRequest],
    ) -> CrmResult<Vec<MergeResult>> {
        let ids: Vec<&str> = requests
            .iter()
            .flat_map(|r| r.duplicates.iter().map(String::as_str))
            .collect();
        let mut seen: HashMap<String, (bool, Option<String>)> = HashMap::new();
        for chunk in ids.chunks(figures::RETRIEVE_MAX) {
            let q = soql::by_ids(object, &["Id", "IsDeleted", "MasterRecordId"], chunk)?;
            for row in self.query_rows(&q, true).await? {
                let Some(id) = row.get("Id").and_then(Value::as_str) else {
                    continue;
                };
                let deleted = row
                    .get("IsDeleted")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let master = row
                    .get("MasterRecordId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                seen.insert(id.get(..15).unwrap_or(id).to_string(), (deleted, master));
            }
        }
        Ok(requests
            .iter()
            .map(|r| {
                let state = |d: &String| seen.get(d.get(..15).unwrap_or(d));
                let merged: Vec<String> = r
                    .duplicates
                    .iter()
                    .filter(|d| {
                        state(d).is_some_and(|(deleted, m)| {
                            *deleted && m.as_deref().is_some_and(|m| same_id(m, &r.master))
                        })
                    })
                    .cloned()
                    .collect();
                let untouched = r
                    .duplicates
                    .iter()
                    .all(|d| state(d).is_some_and(|(deleted, _)| !deleted));
                let error = if merged.len() == r.duplicates.len() {
                    None
                } else if merged.is_empty() && untouched {
                    Some(RecordError {
                        code: "NOT_APPLIED".into(),
                        message:
                            "the merge call failed and the duplicates are still live: safe to retry"
                                .into(),
                    })
                } else {
                    Some(RecordError {
                        code: "AMBIGUOUS".into(),
                        message: "the merge call failed and its effect could not be confirmed"
                            .into(),
                    })
                };
                MergeResult { merged, error }
            })
            .collect())
    }

    pub(super) async fn merge_groups(
        &self,
        object: &str,
        groups: &[MergeGroup],
    ) -> CrmResult<Vec<MergeOutcome>> {
        let object = soql::identifier("object", object)?;
        let mut out: Vec<MergeOutcome> = groups
            .iter()
            .map(|g| MergeOutcome {
                primary_id: g.primary_id.clone(),
                surviving_id: Some(g.primary_id.clone()),
                merged_ids: Vec::new(),
                error: None,
            })
            .collect();
        let mut planned = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            if let Some(bad) = std::iter::once(&g.primary_id)
                .chain(&g.duplicate_ids)
                .find(|id| !soql::is_id(id))
            {
                out[i].surviving_id = None;
                out[i].error = Some(RecordError {
                    code: "MALFORMED_ID".into(),
                    message: format!("{bad:?} is not a Salesforce record id"),
                });
            } else {
                planned.push((i, merge_requests(g)));
            }
        }
        let calls = plan_merges(planned, figures::MERGE_REQUESTS_PER_CALL);
        for (n, call) in calls.iter().enumerate() {
            let requests: Vec<MergeRequest> = call.iter().map(|(_, r)| r.clone()).collect();
            let results = match self.merge_call(object, &requests).await {
                Ok(r) => r,
                Err(e @ (CrmError::Ambiguous(_) | CrmError::Protocol(_))) => {
                    tracing::warn!(error = %e, "merge outcome unknown; checking with queryAll");
                    match self.check_merges(object, &requests).await {
                        Ok(r) => r,
                        Err(check) => requests
                            .iter()
                            .map(|_| MergeResult {
                                merged: Vec::new(),
                                error: Some(RecordError {
                                    code: "AMBIGUOUS".into(),
                                    message: format!("{e}; checking failed too: {check}"),
                                }),
                            })
                            .collect(),
                    }
                }
                Err(e) if n == 0 => return Err(e),
                // Earlier calls merged records: report them, and this error for the rest.
                Err(e) => {
                    for (g, _) in calls.iter().skip(n).flatten() {
                        if out[*g].error.is_none() {
                            out[*g].error = Some(record_error(&e));
                        }
                    }
                    break;
                }
            };
            for ((g, req), res) in call.iter().zip(results) {
                match res.error {
                    None if res.merged.is_empty() => {
                        out[*g].merged_ids.extend(req.duplicates.iter().cloned())
                    }
                    None => out[*g].merged_ids.extend(res.merged),
                    Some(err) => {
                        out[*g].merged_ids.extend(res.merged);
                        if out[*g].error.is_none() {
                            out[*g].error = Some(err);
                        }
                    }
                }
            }
        }
        for o in &mut out {
            if o.error.is_some() && o.merged_ids.is_empty() {
                // Nothing was merged into the primary, so no merge has a survivor.
                o.surviving_id = None;
            }
        }
        Ok(out)
    }

    /// After a convertLead call of unknown outcome: which leads are now converted.
    async fn check_conversions(
        &self,
        leads: &[&LeadConvert],
    ) -> CrmResult<Vec<LeadConvertOutcome>> {
        let ids: Vec<&str> = leads.iter().map(|c| c.lead_id.as_str()).collect();
        let q = soql::by_ids(
            "Lead",
            &[
                "Id",
                "IsConverted",
                "ConvertedAccountId",
                "ConvertedContactId",
                "ConvertedOpportunityId",
            ],
            &ids,
        )?;
        let rows = self.query_rows(&q, false).await?;
        Ok(leads
            .iter()
            .map(|c| {
                let row = rows.iter().find(|r| {
                    r.get("Id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| same_id(id, &c.lead_id))
                });
                let s = |r: &Value, f: &str| r.get(f).and_then(Value::as_str).map(str::to_string);
                match row {
                    Some(r) if r.get("IsConverted").and_then(Value::as_bool) == Some(true) => {
                        LeadConvertOutcome {
                            lead_id: c.lead_id.clone(),
                            account_id: s(r, "ConvertedAccountId"),
                            contact_id: s(r, "ConvertedContactId"),
                            opportunity_id: s(r, "ConvertedOpportunityId"),
                            error: None,
                        }
                    }
                    Some(_) => convert_failed(
                        c,
                        "NOT_APPLIED",
                        "the convertLead call failed and the lead is not converted: safe to retry"
                            .into(),
                    ),
                    None => convert_failed(
                        c,
                        "AMBIGUOUS",
                        "the convertLead call failed and the lead could not be found to check"
                            .into(),
                    ),
                }
            })
            .collect())
    }

    pub(super) async fn convert(
        &self,
        converts: &[LeadConvert],
    ) -> CrmResult<Vec<LeadConvertOutcome>> {
        let mut out: Vec<Option<LeadConvertOutcome>> = vec![None; converts.len()];
        let mut send: Vec<(usize, &LeadConvert)> = Vec::new();
        for (i, c) in converts.iter().enumerate() {
            let ids_ok = soql::is_id(&c.lead_id)
                && c.account_id.as_deref().is_none_or(soql::is_id)
                && c.contact_id.as_deref().is_none_or(soql::is_id);
            if !ids_ok {
                out[i] = Some(convert_failed(
                    c,
                    "MALFORMED_ID",
                    "an id of this conversion is not a Salesforce record id".into(),
                ));
            } else if c.converted_status.trim().is_empty() {
                out[i] = Some(convert_failed(
                    c,
                    "REQUIRED_FIELD_MISSING",
                    "convertedStatus is required".into(),
                ));
            } else {
                send.push((i, c));
            }
        }
        for (n, chunk) in send.chunks(figures::CONVERT_PER_CALL).enumerate() {
            let leads: Vec<&LeadConvert> = chunk.iter().map(|(_, c)| *c).collect();
            let req = Req::soap(self.soap_url(), soap::convert_body(&leads));
            let answer = match self.send(&req).await {
                Ok(reply) => soap::convert_results(&reply.body, leads.len()).map(|(r, usage)| {
                    if let Some((used, limit)) = usage {
                        self.transport.limiter.record_usage(used, limit);
                    }
                    r.into_iter()
                        .zip(&leads)
                        .map(|(r, c)| LeadConvertOutcome {
                            lead_id: c.lead_id.clone(),
                            account_id: r.account_id,
                            contact_id: r.contact_id,
                            opportunity_id: r.opportunity_id,
                            error: r.error,
                        })
                        .collect::<Vec<_>>()
                }),
                Err(e) => Err(e),
            };
            let outcomes = match answer {
                Ok(o) => o,
                Err(e @ (CrmError::Ambiguous(_) | CrmError::Protocol(_))) => {
                    tracing::warn!(error = %e, "convertLead outcome unknown; checking the leads");
                    match self.check_conversions(&leads).await {
                        Ok(o) => o,
                        Err(check) => leads
                            .iter()
                            .map(|c| {
                                convert_failed(
                                    c,
                                    "AMBIGUOUS",
                                    format!("{e}; checking failed too: {check}"),
                                )
                            })
                            .collect(),
                    }
                }
                Err(e) if n == 0 => return Err(e),
                Err(e) => {
                    let r = record_error(&e);
                    for (i, c) in send.iter().skip(n * figures::CONVERT_PER_CALL) {
                        out[*i] = Some(convert_failed(c, &r.code, r.message.clone()));
                    }
                    break;
                }
            };
            for ((i, _), o) in chunk.iter().zip(outcomes) {
                out[*i] = Some(o);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

fn convert_failed(c: &LeadConvert, code: &str, message: String) -> LeadConvertOutcome {
    LeadConvertOutcome {
        lead_id: c.lead_id.clone(),
        account_id: None,
        contact_id: None,
        opportunity_id: None,
        error: Some(RecordError {
            code: code.to_string(),
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(master: &str, dups: &[&str]) -> MergeGroup {
        MergeGroup {
            primary_id: master.into(),
            duplicate_ids: dups.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn plan(groups: &[MergeGroup], per_call: usize) -> Vec<Vec<(usize, MergeRequest)>> {
        plan_merges(
            groups
                .iter()
                .enumerate()
                .map(|(i, g)| (i, merge_requests(g)))
                .collect(),
            per_call,
        )
    }

    #[test]
    fn groups_split_into_requests_of_two() {
        let r = merge_requests(&group("m", &["a", "b", "m", "c", "a", "d"]));
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].duplicates, ["a", "b"]);
        assert_eq!(r[1].duplicates, ["c", "d"]);
    }

    #[test]
    fn merges_pack_to_the_floor_without_sharing_a_master() {
        // master + 4 duplicates: two requests, in two calls.
        let calls = plan(&[group("m", &["a", "b", "c", "d"])], 200);
        assert_eq!(calls.len(), 2);
        // 200 pairs: one call; 300 pairs: two.
        let pairs: Vec<MergeGroup> = (0..300)
            .map(|i| group(&format!("m{i}"), &[&format!("d{i}")]))
            .collect();
        assert_eq!(plan(&pairs[..200], 200).len(), 1);
        let calls = plan(&pairs, 200);
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [200, 100]);
        // A long group goes first so it does not add calls at the end.
        let mut mixed = pairs[..250].to_vec();
        mixed.push(group("big", &["x1", "x2", "x3", "x4", "x5", "x6"]));
        let calls = plan(&mixed, 200);
        assert_eq!(calls.len(), 3);
        for call in &calls {
            assert!(call.len() <= 200);
            let mut ids = HashSet::new();
            for (_, r) in call {
                for id in std::iter::once(&r.master).chain(&r.duplicates) {
                    assert!(ids.insert(id.clone()), "{id} twice in one call");
                }
            }
        }
        // Each group's requests run in order, one per call.
        let big: Vec<usize> = calls
            .iter()
            .enumerate()
            .filter(|(_, c)| c.iter().any(|(g, _)| *g == 250))
            .map(|(n, _)| n)
            .collect();
        assert_eq!(big, [0, 1, 2]);
        // Groups sharing a master never share a call.
        let calls = plan(&[group("m", &["a"]), group("m", &["b"])], 200);
        assert_eq!(calls.len(), 2);
    }

    #[test]
    fn collection_results_map_to_outcomes() {
        let v = json!([
            {"id": "003A", "success": true, "errors": []},
            {"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]}
        ]);
        let r = results(v.clone(), 2).unwrap();
        let o: Vec<Outcome> = r
            .into_iter()
            .zip([None, Some("003B")])
            .map(|(r, id)| outcome(r, id))
            .collect();
        assert_eq!(o[0], Outcome::ok("003A"));
        assert_eq!(o[1].id.as_deref(), Some("003B"));
        let e = o[1].error.as_ref().unwrap();
        assert_eq!(e.code, "REQUIRED_FIELD_MISSING");
        assert!(e.message.ends_with("(fields: LastName)"));
        assert!(matches!(results(v, 3), Err(CrmError::Protocol(_))));
        assert!(matches!(
            results(json!({"a": 1}), 1),
            Err(CrmError::Protocol(_))
        ));
    }

    #[test]
    fn collection_records_are_checked() {
        let mut p = Properties::new();
        p.insert("LastName".into(), Some("O'Neil".into()));
        p.insert("Phone".into(), None);
        let v = collection_record("Contact", Some("003000000000001AAA"), &p).unwrap();
        assert_eq!(
            v,
            json!({"attributes": {"type": "Contact"}, "id": "003000000000001AAA", "LastName": "O'Neil", "Phone": null})
        );
        p.insert("Id".into(), Some("x".into()));
        assert!(collection_record("Contact", None, &p).is_err());
        let mut q = Properties::new();
        q.insert("Bad Name".into(), None);
        assert!(collection_record("Contact", None, &q).is_err());
    }
}
