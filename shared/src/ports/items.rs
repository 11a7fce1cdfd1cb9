//! `ItemStore`: the single-table key-value store all state lives in (DynamoDB on AWS, an
//! embedded single-file database locally), with optimistic concurrency, TTL and paging.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

use crate::error::{Error, Result};

pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;

/// DynamoDB's limit on one BatchWriteItem request; both adapters chunk by it.
pub const BATCH_WRITE_CHUNK: usize = 25;
/// DynamoDB's item size limit (400 KB); the embedded store enforces it too, so code that
/// works locally also works on AWS.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
pub const MAX_QUERY_LIMIT: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    /// Bumped by every conditional write; 1 after `put_if_absent`.
    pub version: u64,
    /// Unix seconds after which the item is gone (reads never return it).
    pub expires_at: Option<i64>,
    /// The one secondary index (`gsi1`): partition and sort key.
    pub gsi1: Option<(String, String)>,
    pub data: Map<String, Value>,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            ..Default::default()
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }

    pub fn expiring_at(mut self, unix_secs: i64) -> Self {
        self.expires_at = Some(unix_secs);
        self
    }

    pub fn indexed(mut self, gsi1pk: impl Into<String>, gsi1sk: impl Into<String>) -> Self {
        self.gsi1 = Some((gsi1pk.into(), gsi1sk.into()));
        self
    }

    /// An item whose data is `value` serialized: a record type stored whole.
    pub fn of<T: Serialize>(
        pk: impl Into<String>,
        sk: impl Into<String>,
        version: u64,
        value: &T,
    ) -> Result<Self> {
        let Value::Object(data) = serde_json::to_value(value)? else {
            return Err(Error::unexpected(
                "a stored record must serialize to an object",
            ));
        };
        Ok(Self {
            version,
            data,
            ..Self::new(pk, sk)
        })
    }

    /// The item's data as `T` (what `of` stored); `what` names it in the error.
    pub fn decode<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_value(Value::Object(self.data.clone()))
            .map_err(|e| Error::internal(format!("reading a stored {what}"), e))
    }

    pub fn is_expired(&self, now_unix: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now_unix)
    }

    /// Keys and size checks both adapters apply, so they fail alike.
    pub fn validate(&self) -> Result<()> {
        validate_key("pk", &self.pk)?;
        validate_key("sk", &self.sk)?;
        if let Some((p, s)) = &self.gsi1 {
            validate_key("gsi1pk", p)?;
            validate_key("gsi1sk", s)?;
        }
        let size = serde_json::to_vec(&self.data)?.len() + self.pk.len() + self.sk.len();
        if size > MAX_ITEM_BYTES {
            return Err(Error::invalid(
                "item",
                format!("is {size} bytes; the limit is {MAX_ITEM_BYTES}"),
            ));
        }
        Ok(())
    }
}

fn validate_key(name: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.len() > 1024 {
        return Err(Error::invalid(name, "must be 1 to 1024 bytes"));
    }
    if v.contains('\0') {
        return Err(Error::invalid(name, "must not contain NUL"));
    }
    Ok(())
}

/// What must be true of the stored item for a write to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Write unconditionally; the item's own `version` is stored.
    None,
    /// No live item under this key (an expired one counts as absent). Stores version 1.
    Absent,
    /// The stored item has exactly this version. Stores version + 1.
    Version(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    Gsi1,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk_prefix: String,
    pub descending: bool,
    pub limit: u32,
    pub cursor: Option<String>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: Index::Primary,
            pk: pk.into(),
            sk_prefix: String::new(),
            descending: false,
            limit: 100,
            cursor: None,
        }
    }

    pub fn on_gsi1(mut self) -> Self {
        self.index = Index::Gsi1;
        self
    }

    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.sk_prefix = p.into();
        self
    }

    pub fn newest_first(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn limit(mut self, n: u32) -> Self {
        self.limit = n;
        self
    }

    /// Resume after `cursor`; none (or an empty one, as `?cursor=` sends) is the first page.
    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor.filter(|c| !c.is_empty());
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_QUERY_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_QUERY_LIMIT}"),
            ));
        }
        validate_key("pk", &self.pk)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Pass to `Query::after` for the next page; `None` when there is no more.
    pub cursor: Option<String>,
}

/// Where a page ended: the last item's full key, so both adapters can resume exactly
/// (the GSI's keys are not unique, so the table key is part of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub pk: String,
    pub sk: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi1: Option<(String, String)>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(s: &str, q: &Query) -> Result<Self> {
        let bad = || Error::invalid("cursor", "is not a cursor this listing returned");
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        // A cursor is only valid for the partition, index and key range it came from: a
        // run listing's cursor must not resume a template listing among other items.
        let ok = match q.index {
            Index::Primary => c.pk == q.pk && c.gsi1.is_none() && c.sk.starts_with(&q.sk_prefix),
            Index::Gsi1 => c
                .gsi1
                .as_ref()
                .is_some_and(|(p, s)| *p == q.pk && s.starts_with(&q.sk_prefix)),
        };
        if ok { Ok(c) } else { Err(bad()) }
    }

    pub fn of(item: &Item, index: Index) -> Self {
        Cursor {
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            gsi1: match index {
                Index::Primary => None,
                Index::Gsi1 => item.gsi1.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put(Item),
    Delete { pk: String, sk: String },
}

impl WriteOp {
    fn key(&self) -> (&str, &str) {
        match self {
            WriteOp::Put(i) => (&i.pk, &i.sk),
            WriteOp::Delete { pk, sk } => (pk, sk),
        }
    }
}

/// A batch may not name one key twice (DynamoDB rejects that; so does the embedded store).
pub(crate) fn validate_batch(ops: &[WriteOp]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, op) in ops.iter().enumerate() {
        if let WriteOp::Put(item) = op {
            item.validate()?;
        }
        if !seen.insert(op.key()) {
            return Err(Error::invalid(
                format!("/{i}"),
                "the same key appears twice in one batch",
            ));
        }
    }
    Ok(())
}

/// A value stored with the version it was read at.
pub trait Versioned {
    fn version_mut(&mut self) -> &mut u64;
}

/// Read, change, put-if-version, retry: the one optimistic update of a stored value.
///
/// `read` gives the value as stored now; `change` edits it and gives the item to store
/// (`None`: nothing to store, the value is returned as read). The item is put only if
/// the stored version is still the one read; when another writer got there first it is
/// read and changed again, `tries` times in all. `Ok(None)` when every try lost a race:
/// the caller says what was too busy.
pub async fn update<T, Read, Fut>(
    items: &dyn ItemStore,
    tries: usize,
    read: Read,
    mut change: impl FnMut(&mut T) -> Result<Option<Item>>,
) -> Result<Option<T>>
where
    T: Versioned,
    Read: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    for _ in 0..tries {
        let mut value = read().await?;
        let read_at = *value.version_mut();
        let Some(item) = change(&mut value)? else {
            return Ok(Some(value));
        };
        match items.put(item, Condition::Version(read_at)).await {
            Ok(version) => {
                *value.version_mut() = version;
                return Ok(Some(value));
            }
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

#[async_trait]
pub trait ItemStore: Send + Sync {
    /// Adapter name for `/health`.
    fn kind(&self) -> &'static str;

    /// The live item under the key; an expired one is `None`.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>>;

    /// Writes `item` if `condition` holds, else `Error::Conflict`. Returns the stored version.
    async fn put(&self, item: Item, condition: Condition) -> Result<u64>;

    /// Deletes the item; with `Some(v)`, only if its version is `v` (else `Conflict`).
    /// Deleting a missing item without a version is not an error.
    async fn delete(&self, pk: &str, sk: &str, expected_version: Option<u64>) -> Result<()>;

    /// One partition of the table or of `gsi1`, by sort-key prefix, in order, one page.
    async fn query(&self, query: &Query) -> Result<Page>;

    /// Unconditional puts and deletes, applied in chunks of `BATCH_WRITE_CHUNK`.
    async fn batch_write(&self, ops: Vec<WriteOp>) -> Result<()>;

    /// Every item the query finds, page after page (each page as big as the query's limit).
    /// For partitions known to stay small (an account's members, a member's sessions);
    /// a list a person pages through takes one page at a time instead.
    async fn query_all(&self, query: Query) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut query = query;
        loop {
            let page = self.query(&query).await?;
            items.extend(page.items);
            match page.cursor {
                Some(cursor) => query = query.after(Some(cursor)),
                None => return Ok(items),
            }
        }
    }

    async fn put_if_absent(&self, item: Item) -> Result<u64> {
        self.put(item, Condition::Absent).await
    }

    async fn put_if_version(&self, item: Item, expected: u64) -> Result<u64> {
        self.put(item, Condition::Version(expected)).await
    }
}
