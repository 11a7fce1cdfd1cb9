//! `ItemStore` in one redb file: ACID, fsync on commit, so a killed process loses nothing
//! it acknowledged. Keys are `pk \0 sk` (keys may not hold NUL), ordered as DynamoDB orders.

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use super::{Condition, Cursor, Index, Item, ItemStore, Page, Query, WriteOp};
use crate::clock::Clock;
use crate::error::{Error, Result};

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// `gsi1pk \0 gsi1sk \0 pk \0 sk` -> empty: the secondary index.
const GSI1: TableDefinition<&[u8], &[u8]> = TableDefinition::new("gsi1");

#[derive(Serialize, Deserialize)]
struct Stored {
    v: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    g: Option<(String, String)>,
    d: Map<String, Value>,
}

pub struct EmbeddedItemStore {
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
}

fn db_err(e: impl Into<redb::Error>) -> Error {
    Error::internal("embedded database", e.into())
}

fn join(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

/// The first key after every key that starts with `prefix` (0xFF never occurs in UTF-8).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    end.push(0xFF);
    end
}

fn decode(key: &[u8], value: &[u8]) -> Result<Item> {
    let key = std::str::from_utf8(key).map_err(|e| Error::internal("corrupt key", e))?;
    let (pk, sk) = key
        .split_once('\0')
        .ok_or_else(|| Error::unexpected("corrupt key"))?;
    let s: Stored = serde_json::from_slice(value)?;
    Ok(Item {
        pk: pk.to_string(),
        sk: sk.to_string(),
        version: s.v,
        expires_at: s.exp,
        gsi1: s.g,
        data: s.d,
    })
}

fn gsi_key(g: &(String, String), pk: &str, sk: &str) -> Vec<u8> {
    join(&[&g.0, &g.1, pk, sk])
}

impl EmbeddedItemStore {
    /// Opens (or creates) the database file; a file left by a killed process is recovered.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        if let Some(dir) = path.parent() {
            crate::local_files::create_dir_all(dir)
                .map_err(|e| Error::internal("creating data dir", e))?;
        }
        // Opened as `Database::create` opens it, but made 0600 (local_files).
        let file = crate::local_files::open_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .and_then(|f| crate::local_files::tighten_file(path).map(|_| f))
            .map_err(|e| Error::internal("opening the database file", e))?;
        let backend = redb::backends::FileBackend::new(file).map_err(db_err)?;
        let db = redb::Builder::new()
            .create_with_backend(backend)
            .map_err(db_err)?;
        let tx = db.begin_write().map_err(db_err)?;
        tx.open_table(ITEMS).map_err(db_err)?;
        tx.open_table(GSI1).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(Self {
            db: Arc::new(db),
            clock,
        })
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| Error::internal("embedded database task", e))?
    }

    /// Live items whose partition key starts with `pk_prefix` and whose sort key is `sk`,
    /// in key order: a scan across partitions, which the `ItemStore` port does not offer.
    /// For `steward` tools run over a stopped server's data (finding its accounts), never
    /// on a request's path.
    pub async fn scan_sort_key(&self, pk_prefix: &str, sk: &str) -> Result<Vec<Item>> {
        let lo = pk_prefix.as_bytes().to_vec();
        let hi = prefix_end(&lo);
        let suffix = format!("\0{sk}").into_bytes();
        let now = self.clock.now().timestamp();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(db_err)?;
            let items = tx.open_table(ITEMS).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in items
                .range::<&[u8]>(lo.as_slice()..hi.as_slice())
                .map_err(db_err)?
            {
                let (k, v) = entry.map_err(db_err)?;
                // Only the partition's own `pk \0 sk` key ends so (keys hold one NUL).
                if k.value().ends_with(&suffix) {
                    let item = decode(k.value(), v.value())?;
                    if !item.is_expired(now) {
                        out.push(item);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// Deletes expired items (DynamoDB's TTL sweeper does this on AWS). Returns how many.
    pub async fn purge_expired(&self) -> Result<usize> {
        let now = self.clock.now().timestamp();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(db_err)?;
            let mut n = 0;
            {
                let mut items = tx.open_table(ITEMS).map_err(db_err)?;
                let mut gsi = tx.open_table(GSI1).map_err(db_err)?;
                let mut dead = Vec::new();
                for entry in items.iter().map_err(db_err)? {
                    let (k, v) = entry.map_err(db_err)?;
                    let item = decode(k.value(), v.value())?;
                    if item.is_expired(now) {
                        dead.push(item);
                    }
                }
                for item in dead {
                    items
                        .remove(join(&[&item.pk, &item.sk]).as_slice())
                        .map_err(db_err)?;
                    if let Some(g) = &item.gsi1 {
                        gsi.remove(gsi_key(g, &item.pk, &item.sk).as_slice())
                            .map_err(db_err)?;
                    }
                    n += 1;
                }
            }
            tx.commit().map_err(db_err)?;
            Ok(n)
        })
        .await
    }
}

/// Writes or deletes one item inside a write transaction, keeping the index in step.
fn write_item(
    items: &mut redb::Table<&[u8], &[u8]>,
    gsi: &mut redb::Table<&[u8], &[u8]>,
    pk: &str,
    sk: &str,
    new: Option<(&Item, u64)>,
) -> Result<()> {
    let key = join(&[pk, sk]);
    let old = items
        .get(key.as_slice())
        .map_err(db_err)?
        .map(|v| serde_json::from_slice::<Stored>(v.value()))
        .transpose()?;
    if let Some(g) = old.and_then(|o| o.g) {
        gsi.remove(gsi_key(&g, pk, sk).as_slice()).map_err(db_err)?;
    }
    match new {
        Some((item, version)) => {
            let stored = Stored {
                v: version,
                exp: item.expires_at,
                g: item.gsi1.clone(),
                d: item.data.clone(),
            };
            items
                .insert(key.as_slice(), serde_json::to_vec(&stored)?.as_slice())
                .map_err(db_err)?;
            if let Some(g) = &item.gsi1 {
                gsi.insert(gsi_key(g, pk, sk).as_slice(), [].as_slice())
                    .map_err(db_err)?;
            }
        }
        None => {
            items.remove(key.as_slice()).map_err(db_err)?;
        }
    }
    Ok(())
}

fn live_version(
    items: &redb::Table<&[u8], &[u8]>,
    pk: &str,
    sk: &str,
    now: i64,
) -> Result<Option<u64>> {
    let Some(v) = items.get(join(&[pk, sk]).as_slice()).map_err(db_err)? else {
        return Ok(None);
    };
    let s: Stored = serde_json::from_slice(v.value())?;
    Ok(Some(s.v).filter(|_| s.exp.is_none_or(|t| t > now)))
}

#[async_trait]
impl ItemStore for EmbeddedItemStore {
    fn kind(&self) -> &'static str {
        "redb"
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let key = join(&[pk, sk]);
        let now = self.clock.now().timestamp();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(db_err)?;
            let items = tx.open_table(ITEMS).map_err(db_err)?;
            match items.get(key.as_slice()).map_err(db_err)? {
                Some(v) => Ok(Some(decode(&key, v.value())?).filter(|i| !i.is_expired(now))),
                None => Ok(None),
            }
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<u64> {
        item.validate()?;
        let now = self.clock.now().timestamp();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(db_err)?;
            let version = {
                let mut items = tx.open_table(ITEMS).map_err(db_err)?;
                let mut gsi = tx.open_table(GSI1).map_err(db_err)?;
                let current = live_version(&items, &item.pk, &item.sk, now)?;
                let version = match (condition, current) {
                    (Condition::None, _) => item.version,
                    (Condition::Absent, None) => 1,
                    (Condition::Version(v), Some(c)) if c == v => v + 1,
                    _ => {
                        return Err(Error::Conflict(format!(
                            "{}/{} changed since it was read",
                            item.pk, item.sk
                        )));
                    }
                };
                write_item(
                    &mut items,
                    &mut gsi,
                    &item.pk,
                    &item.sk,
                    Some((&item, version)),
                )?;
                version
            };
            tx.commit().map_err(db_err)?;
            Ok(version)
        })
        .await
    }

    async fn delete(&self, pk: &str, sk: &str, expected_version: Option<u64>) -> Result<()> {
        let (pk, sk) = (pk.to_string(), sk.to_string());
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(db_err)?;
            {
                let mut items = tx.open_table(ITEMS).map_err(db_err)?;
                let mut gsi = tx.open_table(GSI1).map_err(db_err)?;
                if let Some(expected) = expected_version {
                    // Like DynamoDB, the version condition ignores TTL on delete.
                    let stored = live_version(&items, &pk, &sk, i64::MIN)?;
                    if stored != Some(expected) {
                        return Err(Error::Conflict(format!(
                            "{pk}/{sk} changed since it was read"
                        )));
                    }
                }
                write_item(&mut items, &mut gsi, &pk, &sk, None)?;
            }
            tx.commit().map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn query(&self, q: &Query) -> Result<Page> {
        q.validate()?;
        let start = q
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c, q))
            .transpose()?;
        let q = q.clone();
        let now = self.clock.now().timestamp();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(db_err)?;
            let items = tx.open_table(ITEMS).map_err(db_err)?;
            let lo = match q.index {
                Index::Primary => join(&[&q.pk, &q.sk_prefix]),
                Index::Gsi1 => join(&[&q.pk, &q.sk_prefix]),
            };
            let hi = prefix_end(&lo);
            let resume = start.map(|c| match (q.index, &c.gsi1) {
                (Index::Gsi1, Some(g)) => gsi_key(g, &c.pk, &c.sk),
                _ => join(&[&c.pk, &c.sk]),
            });
            let (lower, upper) = match (&resume, q.descending) {
                (Some(r), false) => (
                    Bound::Excluded(r.as_slice()),
                    Bound::Excluded(hi.as_slice()),
                ),
                (Some(r), true) => (
                    Bound::Included(lo.as_slice()),
                    Bound::Excluded(r.as_slice()),
                ),
                (None, _) => (
                    Bound::Included(lo.as_slice()),
                    Bound::Excluded(hi.as_slice()),
                ),
            };
            let table = match q.index {
                Index::Primary => items.range::<&[u8]>((lower, upper)),
                Index::Gsi1 => tx
                    .open_table(GSI1)
                    .map_err(db_err)?
                    .range::<&[u8]>((lower, upper)),
            }
            .map_err(db_err)?;
            let mut iter: Box<dyn Iterator<Item = _>> = if q.descending {
                Box::new(table.rev())
            } else {
                Box::new(table)
            };
            let mut out = Vec::new();
            let mut more = false;
            for entry in iter.by_ref() {
                let (k, v) = entry.map_err(db_err)?;
                let item = match q.index {
                    Index::Primary => decode(k.value(), v.value())?,
                    Index::Gsi1 => {
                        let key = std::str::from_utf8(k.value())
                            .map_err(|e| Error::internal("corrupt index key", e))?;
                        let mut parts = key.splitn(4, '\0').skip(2);
                        let (Some(pk), Some(sk)) = (parts.next(), parts.next()) else {
                            return Err(Error::unexpected("corrupt index key"));
                        };
                        let main = join(&[pk, sk]);
                        let Some(v) = items.get(main.as_slice()).map_err(db_err)? else {
                            continue;
                        };
                        decode(&main, v.value())?
                    }
                };
                if item.is_expired(now) {
                    continue;
                }
                if out.len() == q.limit as usize {
                    more = true;
                    break;
                }
                out.push(item);
            }
            let cursor = match out.last() {
                Some(last) if more => Some(Cursor::of(last, q.index).encode()),
                _ => None,
            };
            Ok(Page { items: out, cursor })
        })
        .await
    }

    async fn batch_write(&self, ops: Vec<WriteOp>) -> Result<()> {
        super::validate_batch(&ops)?;
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(db_err)?;
            {
                let mut items = tx.open_table(ITEMS).map_err(db_err)?;
                let mut gsi = tx.open_table(GSI1).map_err(db_err)?;
                for op in &ops {
                    match op {
                        WriteOp::Put(item) => write_item(
                            &mut items,
                            &mut gsi,
                            &item.pk,
                            &item.sk,
                            Some((item, item.version)),
                        )?,
                        WriteOp::Delete { pk, sk } => {
                            write_item(&mut items, &mut gsi, pk, sk, None)?
                        }
                    }
                }
            }
            tx.commit().map_err(db_err)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[tokio::test]
    async fn a_sort_key_scan_finds_that_item_of_each_partition_under_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            EmbeddedItemStore::open(&dir.path().join("t.redb"), Arc::new(SystemClock)).unwrap();
        for (pk, sk) in [
            ("ACCT#hubspot:1", "META"),
            ("ACCT#hubspot:1", "RUN#01"),
            ("ACCT#hubspot:1", "USER#META"),
            ("ACCT#hubspot:2", "META"),
            ("ACCT#salesforce:9", "META"),
        ] {
            store
                .put(Item::new(pk, sk), Condition::Absent)
                .await
                .unwrap();
        }
        let found = store.scan_sort_key("ACCT#hubspot:", "META").await.unwrap();
        let keys: Vec<_> = found
            .iter()
            .map(|i| (i.pk.as_str(), i.sk.as_str()))
            .collect();
        assert_eq!(
            keys,
            [("ACCT#hubspot:1", "META"), ("ACCT#hubspot:2", "META")]
        );
    }
}
