//! Accounts and members in the single table (`ACCT#<a>` / `META` and `USER#<u>`), read
//! and written with their versions so racing writers cannot both win.

use crate::ids::{AccountId, MemberId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Account, Member};
use crate::error::{Error, Result};
use crate::ports::items::{Condition, Item, ItemStore, Query};

/// A value as an item's data.
pub fn to_item<T: Serialize>(pk: String, sk: String, value: &T) -> Result<Item> {
    let mut item = Item::new(pk, sk);
    match serde_json::to_value(value)? {
        serde_json::Value::Object(map) => item.data = map,
        _ => return Err(Error::unexpected("an item's data must be a JSON object")),
    }
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T> {
    serde_json::from_value(serde_json::Value::Object(item.data.clone()))
        .map_err(|e| Error::internal(format!("reading item {} {}", item.pk, item.sk), e))
}

pub async fn get_account(items: &dyn ItemStore, account_id: &AccountId) -> Result<Option<Account>> {
    let Some(item) = items
        .get(&crate::keys::account(account_id), crate::keys::META)
        .await?
    else {
        return Ok(None);
    };
    let mut a: Account = from_item(&item)?;
    a.version = item.version;
    Ok(Some(a))
}

/// Writes the account: `Absent` for a new one, else the version it was read at.
pub async fn put_account(items: &dyn ItemStore, a: &Account, cond: Condition) -> Result<u64> {
    items.put(account_item(a)?, cond).await
}

/// The account as its item.
pub fn account_item(a: &Account) -> Result<Item> {
    to_item(crate::keys::account(&a.id), crate::keys::META.into(), a)
}

impl crate::ports::items::Versioned for Account {
    fn version_mut(&mut self) -> &mut u64 {
        &mut self.version
    }
}

impl crate::ports::items::Versioned for Member {
    fn version_mut(&mut self) -> &mut u64 {
        &mut self.version
    }
}

pub async fn get_member(
    items: &dyn ItemStore,
    account_id: &AccountId,
    user_id: &MemberId,
) -> Result<Option<Member>> {
    let Some(item) = items
        .get(
            &crate::keys::account(account_id),
            &crate::keys::member(user_id),
        )
        .await?
    else {
        return Ok(None);
    };
    let mut m: Member = from_item(&item)?;
    m.version = item.version;
    Ok(Some(m))
}

/// Writes a member: `Absent` for a new one, else `Version(m.version)`.
pub async fn put_member(
    items: &dyn ItemStore,
    account_id: &AccountId,
    m: &Member,
    cond: Condition,
) -> Result<u64> {
    items.put(member_item(account_id, m)?, cond).await
}

/// Deletes a member's item if it is still at the version read (a cancelled invitation).
pub async fn delete_member(
    items: &dyn ItemStore,
    account_id: &AccountId,
    m: &Member,
) -> Result<()> {
    items
        .delete(
            &crate::keys::account(account_id),
            &crate::keys::member(&m.user_id),
            Some(m.version),
        )
        .await
}

/// The member as its item.
pub fn member_item(account_id: &AccountId, m: &Member) -> Result<Item> {
    to_item(
        crate::keys::account(account_id),
        crate::keys::member(&m.user_id),
        m,
    )
}

/// Every member of the account (removed ones included), in user-id order.
pub async fn list_members(items: &dyn ItemStore, account_id: &AccountId) -> Result<Vec<Member>> {
    let items = items
        .query_all(
            Query::partition(crate::keys::account(account_id))
                .prefix(crate::keys::MEMBERS)
                .limit(1000),
        )
        .await?;
    items
        .iter()
        .map(|item| {
            let mut m: Member = from_item(item)?;
            m.version = item.version;
            Ok(m)
        })
        .collect()
}
