//! Batch read, create, update and archive in chunks of HubSpot's largest batch, with each
//! multi-status answer matched back to its inputs (HubSpot does not keep input order).

use serde_json::{Map, Value, json};
use std::collections::HashMap;

use super::{Call, HubSpot, figures, object_path, wire};
use crate::crm::transport::Reply;
use crate::crm::{CrmError, CrmResult, Outcome, Properties, Record, RecordError, Update};

fn failed_all(ids: &[Option<String>], code: &str, message: &str) -> Vec<Outcome> {
    ids.iter()
        .map(|id| Outcome::failed(id.clone(), code, message))
        .collect()
}

/// What one chunk's result means for the whole call.
enum Settled {
    /// Its outcomes; go on with the next chunk.
    Next(Vec<Outcome>),
    /// Its outcomes, then stop: later chunks would fail the same way (`Quota`, `Auth`…).
    Stop(Vec<Outcome>, CrmError),
}

/// A chunk error fails only that chunk when it is about the chunk (an unknown outcome);
/// otherwise it ends the call: as the call's error if nothing was done yet, else as
/// failed outcomes, so the outcomes of earlier chunks (new ids!) are not lost.
fn settle(
    result: CrmResult<Vec<Outcome>>,
    ids: &[Option<String>],
    first: bool,
    creates: bool,
) -> CrmResult<Settled> {
    let e = match result {
        Ok(outcomes) => return Ok(Settled::Next(outcomes)),
        Err(e) => e,
    };
    match e {
        CrmError::Ambiguous(m) => Ok(Settled::Next(failed_all(
            ids,
            "AMBIGUOUS",
            &format!("HubSpot may or may not have done this: {m}"),
        ))),
        // A create HubSpot answered but that cannot be read did happen, ids unknown.
        CrmError::Protocol(m) if creates => Ok(Settled::Next(failed_all(
            ids,
            "AMBIGUOUS",
            &format!("HubSpot's answer could not be read, the records may exist: {m}"),
        ))),
        e if first => Err(e),
        e => Ok(Settled::Stop(failed_all(ids, e.code(), &e.to_string()), e)),
    }
}

/// Runs `chunks` in order through `settle`; inputs after a stop are reported unsent.
struct Collector {
    out: Vec<Outcome>,
    stopped: Option<CrmError>,
}

impl Collector {
    fn new(n: usize) -> Self {
        Collector {
            out: Vec::with_capacity(n),
            stopped: None,
        }
    }

    /// False once the call has stopped.
    fn take(
        &mut self,
        result: CrmResult<Vec<Outcome>>,
        ids: &[Option<String>],
        creates: bool,
    ) -> CrmResult<bool> {
        if let Some(e) = &self.stopped {
            self.out.extend(failed_all(
                ids,
                e.code(),
                &format!("not sent: an earlier batch failed: {e}"),
            ));
            return Ok(false);
        }
        match settle(result, ids, self.out.is_empty(), creates)? {
            Settled::Next(o) => {
                self.out.extend(o);
                Ok(true)
            }
            Settled::Stop(o, e) => {
                self.out.extend(o);
                self.stopped = Some(e);
                Ok(false)
            }
        }
    }
}

/// A whole-chunk 400/409 (HubSpot validates a batch before writing any of it): every input
/// of the chunk fails with HubSpot's category and message.
fn chunk_refused(reply: &Reply, ids: &[Option<String>]) -> Option<Vec<Outcome>> {
    if !matches!(reply.status, 400 | 409 | 422) {
        return None;
    }
    let code = wire::field_of(reply, "category").unwrap_or_else(|| "VALIDATION_ERROR".into());
    Some(failed_all(ids, &code, &wire::message_of(reply)))
}

/// Outcomes for inputs named by id (update, archive), from a 200/207 answer.
fn match_by_id(ids: &[String], reply: wire::BatchReply) -> Vec<Outcome> {
    let mut applied: HashMap<String, String> = HashMap::new();
    for r in &reply.results {
        for alias in r.answers_for() {
            applied.entry(alias).or_insert_with(|| r.id.clone());
        }
    }
    let mut errors: HashMap<String, RecordError> = HashMap::new();
    let mut unattributed: Option<RecordError> = None;
    for e in &reply.errors {
        let named = e.context("ids");
        if named.is_empty() {
            unattributed.get_or_insert_with(|| e.record_error());
        }
        for id in named {
            errors.entry(id).or_insert_with(|| e.record_error());
        }
    }
    ids.iter()
        .map(|id| {
            if let Some(rid) = applied.get(id) {
                Outcome::ok(rid.clone())
            } else if let Some(e) = errors.get(id).or(unattributed.as_ref()) {
                Outcome::failed(Some(id.clone()), &e.code, e.message.clone())
            } else {
                Outcome::failed(
                    Some(id.clone()),
                    "UNCONFIRMED",
                    "HubSpot's answer does not mention this record",
                )
            }
        })
        .collect()
}

/// Outcomes for created inputs tagged with `traces`, from a 201/207 answer: by the echoed
/// `objectWriteTraceId` when HubSpot sends it back, else failures from the errors' context
/// and successes by position, but only where that cannot pair the wrong ones.
fn match_created(traces: &[String], reply: wire::BatchReply) -> Vec<Outcome> {
    let index: HashMap<&str, usize> = traces
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut out: Vec<Option<Outcome>> = vec![None; traces.len()];
    let mut untraced: Vec<String> = Vec::new();
    for r in &reply.results {
        match r.trace.as_deref().and_then(|t| index.get(t)) {
            Some(&i) if out.get(i).is_some_and(Option::is_none) => {
                out[i] = Some(Outcome::ok(r.id.clone()));
            }
            _ => untraced.push(r.id.clone()),
        }
    }
    let mut unattributed: Option<RecordError> = None;
    for e in &reply.errors {
        let named = e.context("objectWriteTraceId");
        if named.is_empty() {
            unattributed.get_or_insert_with(|| e.record_error());
        }
        for t in named {
            if let Some(&i) = index.get(t.as_str())
                && out.get(i).is_some_and(Option::is_none)
            {
                let err = e.record_error();
                out[i] = Some(Outcome::failed(None, &err.code, err.message));
            }
        }
    }
    let open: Vec<usize> = (0..out.len()).filter(|i| out[*i].is_none()).collect();
    let positional = untraced.len() == open.len() && (reply.errors.is_empty() || open.len() == 1);
    if positional {
        for (i, id) in open.iter().zip(untraced) {
            out[*i] = Some(Outcome::ok(id));
        }
    } else if untraced.is_empty()
        && let Some(e) = &unattributed
    {
        // Every created record is accounted for: the rest failed with the unnamed error.
        for i in &open {
            out[*i] = Some(Outcome::failed(None, &e.code, e.message.clone()));
        }
    }
    out.into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Outcome::failed(
                    None,
                    "AMBIGUOUS",
                    "HubSpot's answer does not say which record, if any, was created for this input",
                )
            })
        })
        .collect()
}

/// Property values to write: HubSpot clears a property with "" (its inputs are strings).
fn write_props(props: &Properties, keep_nulls: bool) -> Map<String, Value> {
    props
        .iter()
        .filter(|(_, v)| keep_nulls || v.is_some())
        .map(|(k, v)| (k.clone(), json!(v.as_deref().unwrap_or(""))))
        .collect()
}

/// `ids` without repeats, first occurrence first.
fn unique(ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .filter(|i| seen.insert(i.as_str()))
        .cloned()
        .collect()
}

impl HubSpot {
    pub(super) async fn read_many(
        &self,
        object: &str,
        ids: &[String],
        properties: &[String],
    ) -> CrmResult<Vec<Record>> {
        let object = object_path(object)?;
        let ids = unique(ids);
        let mut found: Vec<wire::WireRecord> = Vec::new();
        for chunk in ids.chunks(figures::BATCH_MAX) {
            let body = json!({
                "properties": properties,
                "propertiesWithHistory": [],
                "inputs": chunk.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
            });
            let call = Call::post(format!("/crm/v3/objects/{object}/batch/read"), &body);
            let reply = self
                .expect_ok(&call, &format!("batch read {object}"))
                .await?;
            // Missing ids come back as errors of a 207: they are simply left out.
            let batch: wire::BatchReply = reply.json()?;
            found.extend(batch.results);
        }
        // In input order; a merged-away id finds the record that now answers for it.
        let mut by_alias: HashMap<String, usize> = HashMap::new();
        for (i, r) in found.iter().enumerate() {
            for a in r.answers_for() {
                by_alias.entry(a).or_insert(i);
            }
        }
        let mut order: Vec<usize> = Vec::with_capacity(found.len());
        let mut taken = vec![false; found.len()];
        for id in &ids {
            if let Some(&i) = by_alias.get(id)
                && !taken[i]
            {
                taken[i] = true;
                order.push(i);
            }
        }
        order.extend((0..found.len()).filter(|i| !taken[*i]));
        let mut slots: Vec<Option<wire::WireRecord>> = found.into_iter().map(Some).collect();
        order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take))
            .map(wire::WireRecord::into_record)
            .collect()
    }

    pub(super) async fn create_many(
        &self,
        object: &str,
        records: &[Properties],
    ) -> CrmResult<Vec<Outcome>> {
        let object = object_path(object)?;
        let mut done = Collector::new(records.len());
        for (k, chunk) in records.chunks(figures::BATCH_MAX).enumerate() {
            let ids = vec![None; chunk.len()];
            let base = k * figures::BATCH_MAX;
            let result = if done.stopped.is_some() {
                Ok(Vec::new())
            } else {
                self.create_chunk(object, chunk, base).await
            };
            done.take(result, &ids, true)?;
        }
        Ok(done.out)
    }

    async fn create_chunk(
        &self,
        object: &str,
        chunk: &[Properties],
        base: usize,
    ) -> CrmResult<Vec<Outcome>> {
        // A trace id per input makes HubSpot answer per input (207) instead of failing the
        // whole batch, and says which input each error (and maybe result) belongs to.
        let traces: Vec<String> = (base..base + chunk.len()).map(|i| i.to_string()).collect();
        let inputs: Vec<Value> = chunk
            .iter()
            .zip(&traces)
            .map(|(p, t)| json!({ "properties": write_props(p, false), "objectWriteTraceId": t }))
            .collect();
        let call = Call::post(
            format!("/crm/v3/objects/{object}/batch/create"),
            &json!({ "inputs": inputs }),
        )
        .not_idempotent();
        let reply = self.send(&call).await?;
        if let Some(refused) = chunk_refused(&reply, &vec![None; chunk.len()]) {
            return Ok(refused);
        }
        if !(200..300).contains(&reply.status) {
            return Err(wire::reply_error(&reply, &format!("batch create {object}")));
        }
        Ok(match_created(&traces, reply.json()?))
    }

    pub(super) async fn update_many(
        &self,
        object: &str,
        updates: &[Update],
    ) -> CrmResult<Vec<Outcome>> {
        let object = object_path(object)?;
        // One input per record (HubSpot refuses repeated ids in a batch): later values win,
        // as if the updates were applied in order.
        let mut order: Vec<String> = Vec::new();
        let mut merged: HashMap<String, Properties> = HashMap::new();
        for u in updates {
            merged
                .entry(u.id.clone())
                .or_insert_with(|| {
                    order.push(u.id.clone());
                    Properties::new()
                })
                .extend(u.properties.clone());
        }
        let mut done = Collector::new(order.len());
        for chunk in order.chunks(figures::BATCH_MAX) {
            let ids: Vec<Option<String>> = chunk.iter().cloned().map(Some).collect();
            let result = if done.stopped.is_some() {
                Ok(Vec::new())
            } else {
                let inputs: Vec<Value> = chunk
                    .iter()
                    .map(|id| {
                        let props = merged
                            .get(id)
                            .map(|p| write_props(p, true))
                            .unwrap_or_default();
                        json!({ "id": id, "properties": props })
                    })
                    .collect();
                self.by_id_chunk(object, "update", json!({ "inputs": inputs }), chunk)
                    .await
            };
            done.take(result, &ids, false)?;
        }
        let by_id: HashMap<&str, &Outcome> = order
            .iter()
            .map(String::as_str)
            .zip(done.out.iter())
            .collect();
        Ok(updates
            .iter()
            .map(|u| {
                by_id.get(u.id.as_str()).map_or_else(
                    || Outcome::failed(Some(u.id.clone()), "UNCONFIRMED", "not sent"),
                    |o| (*o).clone(),
                )
            })
            .collect())
    }

    pub(super) async fn archive_many(
        &self,
        object: &str,
        ids: &[String],
    ) -> CrmResult<Vec<Outcome>> {
        let object = object_path(object)?;
        let order = unique(ids);
        let mut done = Collector::new(order.len());
        for chunk in order.chunks(figures::BATCH_MAX) {
            let opt_ids: Vec<Option<String>> = chunk.iter().cloned().map(Some).collect();
            let result = if done.stopped.is_some() {
                Ok(Vec::new())
            } else {
                let inputs: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
                self.by_id_chunk(object, "archive", json!({ "inputs": inputs }), chunk)
                    .await
            };
            done.take(result, &opt_ids, false)?;
        }
        let by_id: HashMap<&str, &Outcome> = order
            .iter()
            .map(String::as_str)
            .zip(done.out.iter())
            .collect();
        Ok(ids
            .iter()
            .map(|id| {
                by_id.get(id.as_str()).map_or_else(
                    || Outcome::failed(Some(id.clone()), "UNCONFIRMED", "not sent"),
                    |o| (*o).clone(),
                )
            })
            .collect())
    }

    /// One update or archive batch; both are idempotent, so the transport may resend them.
    async fn by_id_chunk(
        &self,
        object: &str,
        op: &str,
        body: Value,
        ids: &[String],
    ) -> CrmResult<Vec<Outcome>> {
        let call = Call::post(format!("/crm/v3/objects/{object}/batch/{op}"), &body);
        let reply = self.send(&call).await?;
        let opt_ids: Vec<Option<String>> = ids.iter().cloned().map(Some).collect();
        if let Some(refused) = chunk_refused(&reply, &opt_ids) {
            return Ok(refused);
        }
        match reply.status {
            // Archive answers 204 whether or not each record existed.
            204 => Ok(ids.iter().map(|id| Outcome::ok(id.clone())).collect()),
            200..=299 if reply.body.iter().all(u8::is_ascii_whitespace) => {
                Ok(ids.iter().map(|id| Outcome::ok(id.clone())).collect())
            }
            200..=299 => {
                let batch: wire::BatchReply = reply.json()?;
                if op == "archive" {
                    // An archive answer lists no results: only its errors say anything.
                    let failed: HashMap<String, RecordError> = batch
                        .errors
                        .iter()
                        .flat_map(|e| {
                            e.context("ids")
                                .into_iter()
                                .map(|id| (id, e.record_error()))
                        })
                        .collect();
                    return Ok(ids
                        .iter()
                        .map(|id| match failed.get(id) {
                            Some(e) => {
                                Outcome::failed(Some(id.clone()), &e.code, e.message.clone())
                            }
                            None => Outcome::ok(id.clone()),
                        })
                        .collect());
                }
                Ok(match_by_id(ids, batch))
            }
            _ => Err(wire::reply_error(&reply, &format!("batch {op} {object}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(json: &str) -> wire::BatchReply {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn updates_match_by_id_whatever_the_order() {
        let ids: Vec<String> = ["1", "2", "3", "4"].map(String::from).to_vec();
        let reply = batch(
            r#"{"status":"COMPLETE","results":[{"id":"3","properties":{}},{"id":"9","properties":{"hs_merged_object_ids":"4;8"}},{"id":"1","properties":{}}],
               "numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND","message":"Could not get some CONTACT objects","context":{"ids":["2"]}}]}"#,
        );
        let o = match_by_id(&ids, reply);
        assert_eq!(o[0], Outcome::ok("1"));
        assert_eq!(o[1].error.as_ref().unwrap().code, "OBJECT_NOT_FOUND");
        assert_eq!(o[1].id.as_deref(), Some("2"));
        assert_eq!(o[2], Outcome::ok("3"));
        assert_eq!(
            o[3],
            Outcome::ok("9"),
            "a merged-away id is answered by its survivor"
        );
    }

    #[test]
    fn unmentioned_updates_are_not_reported_done() {
        let o = match_by_id(
            &["1".into(), "2".into()],
            batch(r#"{"results":[{"id":"1"}]}"#),
        );
        assert_eq!(o[1].error.as_ref().unwrap().code, "UNCONFIRMED");
    }

    #[test]
    fn creates_match_by_trace_then_position() {
        let traces: Vec<String> = ["0", "1", "2"].map(String::from).to_vec();
        // Echoed traces, out of order.
        let o = match_created(
            &traces,
            batch(
                r#"{"results":[{"id":"12","objectWriteTraceId":"2"},{"id":"10","objectWriteTraceId":"0"},{"id":"11","objectWriteTraceId":"1"}]}"#,
            ),
        );
        assert_eq!(
            o,
            vec![Outcome::ok("10"), Outcome::ok("11"), Outcome::ok("12")]
        );
        // No echo and no errors: by position.
        let o = match_created(
            &traces,
            batch(r#"{"results":[{"id":"10"},{"id":"11"},{"id":"12"}]}"#),
        );
        assert_eq!(
            o,
            vec![Outcome::ok("10"), Outcome::ok("11"), Outcome::ok("12")]
        );
        // No echo, one error naming its input, one success left over each: paired.
        let o = match_created(
            &["0".into(), "1".into()],
            batch(
                r#"{"results":[{"id":"20"}],"errors":[{"category":"CONFLICT","message":"Contact already exists","context":{"objectWriteTraceId":["0"]}}]}"#,
            ),
        );
        assert_eq!(o[0].error.as_ref().unwrap().code, "CONFLICT");
        assert_eq!(o[1], Outcome::ok("20"));
        // No echo, errors, two successes: position could pair them wrongly.
        let o = match_created(
            &traces,
            batch(
                r#"{"results":[{"id":"20"},{"id":"21"}],"errors":[{"category":"CONFLICT","message":"x","context":{"objectWriteTraceId":["1"]}}]}"#,
            ),
        );
        assert_eq!(o[1].error.as_ref().unwrap().code, "CONFLICT");
        assert_eq!(o[0].error.as_ref().unwrap().code, "AMBIGUOUS");
        assert_eq!(o[2].error.as_ref().unwrap().code, "AMBIGUOUS");
    }

    #[test]
    fn chunk_errors_end_the_call_only_when_they_must() {
        let ids = vec![Some("1".to_string())];
        assert!(matches!(
            settle(Err(CrmError::Quota("q".into())), &ids, true, false),
            Err(CrmError::Quota(_))
        ));
        assert!(matches!(
            settle(Err(CrmError::Quota("q".into())), &ids, false, false),
            Ok(Settled::Stop(o, _)) if o[0].error.as_ref().unwrap().code == "QUOTA"
        ));
        assert!(matches!(
            settle(Err(CrmError::Ambiguous("a".into())), &ids, true, true),
            Ok(Settled::Next(o)) if o[0].error.as_ref().unwrap().code == "AMBIGUOUS"
        ));
        assert!(matches!(
            settle(Err(CrmError::Protocol("p".into())), &ids, true, true),
            Ok(Settled::Next(_))
        ));
        assert!(settle(Err(CrmError::Protocol("p".into())), &ids, true, false).is_err());
    }

    #[test]
    fn writes_clear_with_empty_strings() {
        let p: Properties = [
            ("a".to_string(), Some("x".to_string())),
            ("b".to_string(), None),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            Value::Object(write_props(&p, true)),
            json!({"a":"x","b":""})
        );
        assert_eq!(Value::Object(write_props(&p, false)), json!({"a":"x"}));
    }
}
