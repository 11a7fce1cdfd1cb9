//! The org's state as the sandbox snapshot keeps it (see `snapshot.rs`): every sObject's
//! records (by field name, so a field added to the schema later reads as null), the id
//! counters, the sessions and refresh tokens it issued, and the API calls counted. Open
//! query cursors are not kept: Salesforce lets them expire too, and a client re-queries.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::oauth::{Access, Refresh};
use super::{Row, Val, World, schema};
use crate::snapshot::Clocks;

#[derive(Serialize, Deserialize)]
pub struct Saved {
    /// Per sObject (`Account`, `Contact`, …).
    objects: BTreeMap<String, SavedTable>,
    /// Session id -> (user id, issued at, Unix ms).
    sessions: BTreeMap<String, (String, i64)>,
    /// Refresh token -> (user id, scope).
    refresh_tokens: BTreeMap<String, (String, String)>,
    api_used: u64,
    last_write_ms: i64,
    deleted_fields: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct SavedTable {
    next: u64,
    /// Each record's non-null fields by name.
    records: Vec<BTreeMap<String, SavedVal>>,
}

#[derive(Serialize, Deserialize)]
enum SavedVal {
    S(String),
    N(f64),
    B(bool),
    T(i64),
}

fn save_row(table: usize, row: &Row) -> BTreeMap<String, SavedVal> {
    let def = schema::def(table);
    def.fields
        .iter()
        .zip(row)
        .filter_map(|(f, v)| {
            let saved = match v {
                Val::Null => return None,
                Val::Str(s) => SavedVal::S(s.to_string()),
                Val::Num(n) => SavedVal::N(*n),
                Val::Bool(b) => SavedVal::B(*b),
                Val::Time(ms) => SavedVal::T(*ms),
            };
            Some((f.name.to_string(), saved))
        })
        .collect()
}

fn load_row(table: usize, saved: BTreeMap<String, SavedVal>) -> Row {
    let def = schema::def(table);
    let mut row: Row = vec![Val::Null; def.fields.len()];
    for (name, v) in saved {
        if let Some(slot) = def.index(&name).and_then(|i| row.get_mut(i)) {
            *slot = match v {
                SavedVal::S(s) => Val::Str(Arc::from(s)),
                SavedVal::N(n) => Val::Num(n),
                SavedVal::B(b) => Val::Bool(b),
                SavedVal::T(ms) => Val::Time(ms),
            };
        }
    }
    row
}

impl World {
    pub(crate) fn save(&self, clocks: &Clocks) -> Saved {
        let objects = schema::objects()
            .iter()
            .enumerate()
            .filter_map(|(i, def)| {
                let t = self.tables.get(i)?;
                let records = t.rows.values().map(|row| save_row(i, row)).collect();
                Some((
                    def.name.to_string(),
                    SavedTable {
                        next: t.next,
                        records,
                    },
                ))
            })
            .collect();
        Saved {
            objects,
            sessions: self
                .auth
                .access
                .iter()
                .map(|(t, a)| (t.clone(), (a.user.to_string(), clocks.wall_ms(a.issued))))
                .collect(),
            refresh_tokens: self
                .auth
                .refresh
                .iter()
                .map(|(t, r)| (t.clone(), (r.user.to_string(), r.scope.clone())))
                .collect(),
            api_used: self.api_used,
            last_write_ms: self.last_ms,
            deleted_fields: self
                .deleted_fields
                .iter()
                .map(|(o, f)| (o.to_string(), f.clone()))
                .collect(),
        }
    }

    /// Puts saved state over this freshly seeded org (seeded from the same dataset).
    pub(crate) fn restore(&mut self, saved: Saved, clocks: &Clocks) {
        self.children.clear();
        for (name, s) in saved.objects {
            let Some((table, _)) = schema::object(&name) else {
                continue;
            };
            if let Some(t) = self.tables.get_mut(table) {
                t.rows.clear();
                t.next = s.next;
            }
            for record in s.records {
                let row = load_row(table, record);
                let Some(id) = row.first().and_then(Val::as_str).map(Arc::<str>::from) else {
                    continue;
                };
                // Through `put`, which rebuilds the account -> children index.
                self.put(table, id, row);
            }
        }
        // A session older than this machine's clock can say is long past its lifetime.
        self.auth.access = saved
            .sessions
            .into_iter()
            .filter_map(|(t, (user, issued_ms))| {
                let issued = clocks.instant(issued_ms)?;
                Some((
                    t,
                    Access {
                        user: Arc::from(user),
                        issued,
                    },
                ))
            })
            .collect();
        self.auth.refresh = saved
            .refresh_tokens
            .into_iter()
            .map(|(t, (user, scope))| {
                let r = Refresh {
                    user: Arc::from(user),
                    scope,
                };
                (t, r)
            })
            .collect();
        self.api_used = saved.api_used;
        self.last_ms = self.last_ms.max(saved.last_write_ms);
        self.deleted_fields = saved
            .deleted_fields
            .into_iter()
            .filter_map(|(o, f)| schema::object(&o).map(|(_, def)| (def.name, f)))
            .collect();
    }
}
