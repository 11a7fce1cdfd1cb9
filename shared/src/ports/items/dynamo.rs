//! `ItemStore` on a DynamoDB table (`pk`/`sk`, GSI `gsi1`, TTL attribute `ttl`).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{BATCH_WRITE_CHUNK, Condition, Cursor, Index, Item, ItemStore, Page, Query, WriteOp};
use crate::aws::sdk_error;
use crate::clock::Clock;
use crate::error::{Error, Result};

const PK: &str = "pk";
const SK: &str = "sk";
const VERSION: &str = "v";
const TTL: &str = "ttl";
const GSI1PK: &str = "gsi1pk";
const GSI1SK: &str = "gsi1sk";
const DATA: &str = "d";
const GSI1: &str = "gsi1";

type Attrs = HashMap<String, AttributeValue>;

pub struct DynamoItemStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoItemStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    fn now(&self) -> AttributeValue {
        AttributeValue::N(self.clock.now().timestamp().to_string())
    }
}

/// Creates a table of the shape `template.yaml` declares (for tests and local emulators).
pub async fn create_table(client: &Client, name: &str) -> Result<()> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let build = |e: aws_sdk_dynamodb::error::BuildError| Error::internal("table definition", e);
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(build)
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build)
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![
            attr(PK)?,
            attr(SK)?,
            attr(GSI1PK)?,
            attr(GSI1SK)?,
        ]))
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(GSI1)
                .key_schema(key(GSI1PK, KeyType::Hash)?)
                .key_schema(key(GSI1SK, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(|e| sdk_error("creating a table", e))?;
    Ok(())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

fn to_attrs(item: &Item, version: u64) -> Attrs {
    let mut a = key(&item.pk, &item.sk);
    a.insert(VERSION.into(), AttributeValue::N(version.to_string()));
    if let Some(t) = item.expires_at {
        a.insert(TTL.into(), AttributeValue::N(t.to_string()));
    }
    if let Some((p, k)) = &item.gsi1 {
        a.insert(GSI1PK.into(), s(p));
        a.insert(GSI1SK.into(), s(k));
    }
    a.insert(DATA.into(), AttributeValue::M(map_to_attrs(&item.data)));
    a
}

fn map_to_attrs(m: &Map<String, Value>) -> Attrs {
    m.iter()
        .map(|(k, v)| (k.clone(), json_to_attr(v)))
        .collect()
}

fn json_to_attr(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(t) => AttributeValue::S(t.clone()),
        Value::Array(xs) => AttributeValue::L(xs.iter().map(json_to_attr).collect()),
        Value::Object(m) => AttributeValue::M(map_to_attrs(m)),
    }
}

fn attr_to_json(a: &AttributeValue) -> Result<Value> {
    Ok(match a {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::S(t) => Value::String(t.clone()),
        AttributeValue::N(n) => Value::Number(parse_number(n)?),
        AttributeValue::L(xs) => Value::Array(xs.iter().map(attr_to_json).collect::<Result<_>>()?),
        AttributeValue::M(m) => Value::Object(attrs_to_map(m)?),
        AttributeValue::Ss(xs) => Value::Array(xs.iter().cloned().map(Value::String).collect()),
        other => {
            return Err(Error::unexpected(format!(
                "unsupported DynamoDB attribute type {other:?}"
            )));
        }
    })
}

fn parse_number(n: &str) -> Result<Number> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(i.into());
    }
    if let Ok(u) = n.parse::<u64>() {
        return Ok(u.into());
    }
    n.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| Error::unexpected(format!("DynamoDB number `{n}` does not fit JSON")))
}

fn attrs_to_map(m: &Attrs) -> Result<Map<String, Value>> {
    m.iter()
        .map(|(k, v)| Ok((k.clone(), attr_to_json(v)?)))
        .collect()
}

fn get_s<'a>(a: &'a Attrs, k: &str) -> Option<&'a str> {
    a.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n(a: &Attrs, k: &str) -> Option<i64> {
    a.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

fn from_attrs(a: &Attrs) -> Result<Item> {
    let missing = || Error::unexpected("DynamoDB item without pk/sk");
    Ok(Item {
        pk: get_s(a, PK).ok_or_else(missing)?.to_string(),
        sk: get_s(a, SK).ok_or_else(missing)?.to_string(),
        version: get_n(a, VERSION).unwrap_or(0).max(0) as u64,
        expires_at: get_n(a, TTL),
        gsi1: match (get_s(a, GSI1PK), get_s(a, GSI1SK)) {
            (Some(p), Some(k)) => Some((p.to_string(), k.to_string())),
            _ => None,
        },
        data: match a.get(DATA) {
            Some(AttributeValue::M(m)) => attrs_to_map(m)?,
            _ => Map::new(),
        },
    })
}

fn cursor_key(c: &Cursor) -> Attrs {
    let mut k = key(&c.pk, &c.sk);
    if let Some((p, s_)) = &c.gsi1 {
        k.insert(GSI1PK.into(), s(p));
        k.insert(GSI1SK.into(), s(s_));
    }
    k
}

fn is_conditional<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    crate::aws::error_code(e) == Some("ConditionalCheckFailedException")
}

#[async_trait]
impl ItemStore for DynamoItemStore {
    fn kind(&self) -> &'static str {
        "dynamodb"
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("reading an item", e))?;
        let now = self.clock.now().timestamp();
        match out.item {
            Some(a) => Ok(Some(from_attrs(&a)?).filter(|i| !i.is_expired(now))),
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip(self, item), fields(table = %self.table, pk = %item.pk, sk = %item.sk))]
    async fn put(&self, item: Item, condition: Condition) -> Result<u64> {
        item.validate()?;
        let version = match condition {
            Condition::None => item.version,
            Condition::Absent => 1,
            Condition::Version(v) => v + 1,
        };
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item, version)));
        match condition {
            Condition::None => {}
            Condition::Absent => {
                req = req
                    .condition_expression("attribute_not_exists(#pk) OR #ttl <= :now")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#ttl", TTL)
                    .expression_attribute_values(":now", self.now());
            }
            Condition::Version(v) => {
                req = req
                    .condition_expression("#v = :v AND (attribute_not_exists(#ttl) OR #ttl > :now)")
                    .expression_attribute_names("#v", VERSION)
                    .expression_attribute_names("#ttl", TTL)
                    .expression_attribute_values(":v", AttributeValue::N(v.to_string()))
                    .expression_attribute_values(":now", self.now());
            }
        }
        match req.send().await {
            Ok(_) => Ok(version),
            Err(e) if is_conditional(&e) => Err(Error::Conflict(format!(
                "{}/{} changed since it was read",
                item.pk, item.sk
            ))),
            Err(e) => Err(sdk_error("writing an item", e)),
        }
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn delete(&self, pk: &str, sk: &str, expected_version: Option<u64>) -> Result<()> {
        let mut req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)));
        if let Some(v) = expected_version {
            req = req
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":v", AttributeValue::N(v.to_string()));
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(Error::Conflict(format!(
                "{pk}/{sk} changed since it was read"
            ))),
            Err(e) => Err(sdk_error("deleting an item", e)),
        }
    }

    #[tracing::instrument(skip(self), fields(table = %self.table))]
    async fn query(&self, q: &Query) -> Result<Page> {
        q.validate()?;
        let (pk_attr, sk_attr) = match q.index {
            Index::Primary => (PK, SK),
            Index::Gsi1 => (GSI1PK, GSI1SK),
        };
        let start = q
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c, q))
            .transpose()?;
        let mut cond = "#pk = :pk".to_string();
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(&q.pk))
            .filter_expression("attribute_not_exists(#ttl) OR #ttl > :now")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", self.now())
            .scan_index_forward(!q.descending)
            .limit(q.limit as i32)
            .set_exclusive_start_key(start.as_ref().map(cursor_key));
        if q.index == Index::Gsi1 {
            req = req.index_name(GSI1);
        }
        // DynamoDB rejects an empty string in a key condition: no prefix, no begins_with.
        if !q.sk_prefix.is_empty() {
            cond.push_str(" AND begins_with(#sk, :pre)");
            req = req
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":pre", s(&q.sk_prefix));
        }
        let out = req
            .key_condition_expression(cond)
            .send()
            .await
            .map_err(|e| sdk_error("querying items", e))?;
        let items = out
            .items()
            .iter()
            .map(from_attrs)
            .collect::<Result<Vec<_>>>()?;
        let cursor = match out.last_evaluated_key() {
            Some(k) => {
                let last = from_attrs(&{
                    let mut k = k.clone();
                    k.entry(DATA.into())
                        .or_insert(AttributeValue::M(HashMap::new()));
                    k
                })?;
                Some(Cursor::of(&last, q.index).encode())
            }
            None => None,
        };
        Ok(Page { items, cursor })
    }

    #[tracing::instrument(skip(self, ops), fields(table = %self.table, n = ops.len()))]
    async fn batch_write(&self, ops: Vec<WriteOp>) -> Result<()> {
        super::validate_batch(&ops)?;
        for chunk in ops.chunks(BATCH_WRITE_CHUNK) {
            let mut requests = chunk
                .iter()
                .map(|op| {
                    let built = match op {
                        WriteOp::Put(item) => PutRequest::builder()
                            .set_item(Some(to_attrs(item, item.version)))
                            .build()
                            .map(|p| WriteRequest::builder().put_request(p).build()),
                        WriteOp::Delete { pk, sk } => DeleteRequest::builder()
                            .set_key(Some(key(pk, sk)))
                            .build()
                            .map(|d| WriteRequest::builder().delete_request(d).build()),
                    };
                    built.map_err(|e| Error::internal("building a batch write", e))
                })
                .collect::<Result<Vec<_>>>()?;
            // Unprocessed items come back under throttling: retry them with backoff.
            let mut attempt = 0u32;
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| sdk_error("writing a batch", e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                attempt += 1;
                if attempt > 8 {
                    return Err(Error::Unavailable(
                        "DynamoDB kept items unprocessed after 8 retries".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_survives_the_round_trip_through_attribute_values() {
        let v = serde_json::json!({"s": "x", "n": 3, "neg": -4, "f": 1.5, "b": true,
            "null": null, "l": [1, "a"], "m": {"k": [true]}});
        let Value::Object(m) = v.clone() else {
            unreachable!()
        };
        let back = attrs_to_map(&map_to_attrs(&m)).unwrap();
        assert_eq!(Value::Object(back), v);
    }

    /// An attribute value as a DynamoDB stream record spells it.
    fn stream_json(a: &AttributeValue) -> Value {
        match a {
            AttributeValue::S(t) => serde_json::json!({"S": t}),
            AttributeValue::N(n) => serde_json::json!({"N": n}),
            AttributeValue::Bool(b) => serde_json::json!({"BOOL": b}),
            AttributeValue::Null(_) => serde_json::json!({"NULL": true}),
            AttributeValue::L(xs) => {
                serde_json::json!({"L": xs.iter().map(stream_json).collect::<Vec<_>>()})
            }
            AttributeValue::M(m) => serde_json::json!({"M": stream_image(m)}),
            other => panic!("not written by this adapter: {other:?}"),
        }
    }

    fn stream_image(attrs: &Attrs) -> Value {
        Value::Object(
            attrs
                .iter()
                .map(|(k, v)| (k.clone(), stream_json(v)))
                .collect(),
        )
    }

    /// Lambda's event filtering, as far as Steward's patterns use it: every key of an
    /// object must match; an array lists what a value may be (a literal or a prefix).
    fn matches(pattern: &Value, event: &Value) -> bool {
        match pattern {
            Value::Object(p) => p
                .iter()
                .all(|(k, sub)| event.get(k).is_some_and(|e| matches(sub, e))),
            Value::Array(allowed) => allowed.iter().any(|a| match a.get("prefix") {
                Some(prefix) => event
                    .as_str()
                    .zip(prefix.as_str())
                    .is_some_and(|(e, p)| e.starts_with(p)),
                None => a == event,
            }),
            _ => false,
        }
    }

    fn record(event_name: &str, item: &Item) -> Value {
        serde_json::json!({
            "eventName": event_name,
            "dynamodb": {
                "Keys": stream_image(&key(&item.pk, &item.sk)),
                "NewImage": stream_image(&to_attrs(item, 2)),
            }
        })
    }

    /// The stream filters in template.yaml select records by the attributes this adapter
    /// writes (`d` for the data): a filter naming another attribute would wake no worker
    /// and send no report on AWS, with every local test still green.
    #[test]
    fn the_templates_stream_filters_match_what_this_adapter_stores() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
        let patterns: Vec<Value> = template
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- Pattern: '"))
            .map(|p| serde_json::from_str(p.trim_end_matches('\'')).unwrap())
            .collect();
        let [wake, delivery] = patterns.as_slice() else {
            panic!("expected the runs worker's and the exports' filters: {patterns:?}");
        };
        let run = |data: Value| {
            let mut item = Item::new(crate::keys::account("hubspot:1"), crate::keys::run("01J"));
            item.data = data.as_object().unwrap().clone();
            item
        };
        let woken = run(serde_json::json!({"status": "queued", "wake": true}));
        assert!(matches(wake, &record("INSERT", &woken)));
        assert!(matches(wake, &record("MODIFY", &woken)));
        assert!(!matches(
            wake,
            &record("MODIFY", &run(serde_json::json!({"wake": false})))
        ));
        let mut progress = woken.clone();
        progress.sk = crate::keys::run_state("01J");
        assert!(!matches(wake, &record("MODIFY", &progress)));

        let pending = serde_json::to_value(crate::reports::DeliveryStatus::Pending).unwrap();
        let ended = run(serde_json::json!({"status": "succeeded", "wake": false,
            "delivery": {"status": pending}}));
        assert!(matches(delivery, &record("MODIFY", &ended)));
        assert!(!matches(wake, &record("MODIFY", &ended)));
        let sent = run(serde_json::json!({"delivery": {"status": "sent"}}));
        assert!(!matches(delivery, &record("MODIFY", &sent)));

        // The sample events a developer invokes the functions with pass the same filters.
        for (file, pattern) in [
            ("events/dynamodb-stream-run-insert.json", wake),
            ("events/dynamodb-stream-run-ended.json", delivery),
        ] {
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap();
            assert!(matches(pattern, &event["Records"][0]), "{file}");
        }
    }
}
