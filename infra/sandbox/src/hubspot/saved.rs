//! The portal's state as the sandbox snapshot keeps it (see `snapshot.rs`): records, the
//! ids to come, merge aliases, users, and the tokens it issued. What the seed decides
//! (generator keys, property definitions, the portal's dates) is seeded again instead.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

use super::World;
use super::oauth::{AccessToken, Grant};
use super::objects::{Props, Record};
use super::schema::ObjectType;
use crate::snapshot::Clocks;

#[derive(Serialize, Deserialize)]
pub struct Saved {
    users: Vec<SavedUser>,
    /// Per object type (`contacts`, `companies`, `deals`).
    objects: BTreeMap<String, SavedStore>,
    /// Access tokens with their expiry (Unix ms), refresh tokens with their grant.
    access_tokens: BTreeMap<String, (SavedGrant, i64)>,
    refresh_tokens: BTreeMap<String, SavedGrant>,
    deleted_properties: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct SavedUser {
    id: u64,
    active: bool,
}

#[derive(Serialize, Deserialize)]
struct SavedStore {
    next_id: u64,
    live: Vec<SavedRecord>,
    archived: Vec<SavedRecord>,
    aliases: Vec<(u64, u64)>,
    emails: Vec<(String, u64)>,
}

#[derive(Serialize, Deserialize)]
struct SavedRecord {
    id: u64,
    props: BTreeMap<String, String>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    archived_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct SavedGrant {
    user_id: u64,
    scopes: Vec<String>,
}

impl SavedGrant {
    fn of(g: &Grant) -> Self {
        SavedGrant {
            user_id: g.user_id,
            scopes: g.scopes.to_vec(),
        }
    }

    fn grant(self) -> Grant {
        Grant {
            user_id: self.user_id,
            scopes: self.scopes.into(),
        }
    }
}

fn save_record(r: &Record) -> SavedRecord {
    SavedRecord {
        id: r.id,
        props: r
            .props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        created: r.created,
        updated: r.updated,
        archived_at: r.archived_at,
    }
}

/// A record back, its property names the schema's own (a name the schema no longer has
/// is dropped).
fn load_record(ty: ObjectType, r: SavedRecord) -> Record {
    let props: Props = r
        .props
        .into_iter()
        .filter_map(|(k, v)| ty.prop(&k).map(|p| (p.name, v)))
        .collect();
    Record {
        id: r.id,
        props,
        created: r.created,
        updated: r.updated,
        archived_at: r.archived_at,
    }
}

impl World {
    pub(crate) fn save(&self, clocks: &Clocks) -> Saved {
        let objects = ObjectType::ALL
            .iter()
            .map(|&ty| {
                let st = self.store(ty);
                let saved = SavedStore {
                    next_id: st.next_id,
                    live: st.live.values().map(save_record).collect(),
                    archived: st.archived.values().map(save_record).collect(),
                    aliases: st.aliases.iter().map(|(a, b)| (*a, *b)).collect(),
                    emails: st.emails.iter().map(|(e, id)| (e.clone(), *id)).collect(),
                };
                (ty.name().to_string(), saved)
            })
            .collect();
        Saved {
            users: self
                .users
                .iter()
                .map(|u| SavedUser {
                    id: u.id,
                    active: u.active,
                })
                .collect(),
            objects,
            access_tokens: self
                .auth
                .access
                .iter()
                .map(|(t, a)| {
                    (
                        t.clone(),
                        (SavedGrant::of(&a.grant), clocks.wall_ms(a.expires_at)),
                    )
                })
                .collect(),
            refresh_tokens: self
                .auth
                .refresh
                .iter()
                .map(|(t, g)| (t.clone(), SavedGrant::of(g)))
                .collect(),
            deleted_properties: self
                .deleted_props
                .iter()
                .map(|(ty, p)| (ty.to_string(), p.clone()))
                .collect(),
        }
    }

    /// Puts saved state over this freshly seeded portal (seeded from the same dataset).
    pub(crate) fn restore(&mut self, saved: Saved, clocks: &Clocks) {
        for u in saved.users {
            if let Some(user) = self.users.iter_mut().find(|x| x.id == u.id) {
                user.active = u.active;
            }
        }
        for (name, s) in saved.objects {
            let Some(ty) = ObjectType::parse(&name) else {
                continue;
            };
            let st = self.store_mut(ty);
            st.next_id = s.next_id;
            st.live = s
                .live
                .into_iter()
                .map(|r| (r.id, load_record(ty, r)))
                .collect();
            st.archived = s
                .archived
                .into_iter()
                .map(|r| (r.id, load_record(ty, r)))
                .collect();
            st.aliases = s.aliases.into_iter().collect::<HashMap<_, _>>();
            st.emails = s.emails.into_iter().collect::<HashMap<_, _>>();
        }
        self.auth.access = saved
            .access_tokens
            .into_iter()
            .map(|(t, (g, expires_ms))| {
                let token = AccessToken {
                    grant: g.grant(),
                    expires_at: clocks.instant_or_now(expires_ms),
                };
                (t, token)
            })
            .collect();
        self.auth.refresh = saved
            .refresh_tokens
            .into_iter()
            .map(|(t, g)| (t, g.grant()))
            .collect();
        self.deleted_props = saved
            .deleted_properties
            .into_iter()
            .filter_map(|(ty, p)| ObjectType::parse(&ty).map(|ty| (ty.name(), p)))
            .collect();
    }
}
