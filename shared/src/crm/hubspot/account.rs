//! Who a HubSpot connection is (token info, or account info for private-app tokens), the
//! portal's users, and an object's properties as an `ObjectSchema`.

use serde::Deserialize;
use serde_json::Value;

use super::{Call, HubSpot, object_path, wire};
use crate::crm::{CrmError, CrmKind, CrmResult, CrmUser, Field, FieldType, Identity, ObjectSchema};

/// `GET /oauth/v1/access-tokens/{token}`.
#[derive(Deserialize)]
struct TokenInfo {
    #[serde(default)]
    hub_id: Option<Value>,
    #[serde(default)]
    user_id: Option<Value>,
    #[serde(default)]
    user: Option<String>,
}

/// `GET /account-info/v3/details`.
#[derive(Deserialize)]
struct AccountInfo {
    #[serde(rename = "portalId")]
    portal_id: Value,
}

#[derive(Deserialize)]
struct WireUser {
    id: Value,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, rename = "firstName")]
    first_name: Option<String>,
    #[serde(default, rename = "lastName")]
    last_name: Option<String>,
}

/// An owner from `/crm/v3/owners`: archived owners belong to deactivated users.
#[derive(Deserialize)]
struct WireOwner {
    #[serde(default, rename = "userIdIncludingInactive")]
    user_id: Option<Value>,
}

#[derive(Deserialize, Default)]
struct ModificationMetadata {
    #[serde(default, rename = "readOnlyValue")]
    read_only_value: bool,
}

#[derive(Deserialize)]
struct WireOption {
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct WireProperty {
    name: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default, rename = "fieldType")]
    field_type: Option<String>,
    #[serde(default)]
    options: Vec<WireOption>,
    #[serde(default)]
    calculated: bool,
    #[serde(default, rename = "hasUniqueValue")]
    has_unique_value: bool,
    #[serde(default, rename = "modificationMetadata")]
    modification: Option<ModificationMetadata>,
    #[serde(default, rename = "referencedObjectType")]
    referenced: Option<String>,
    #[serde(default)]
    archived: bool,
}

/// An id HubSpot sends as a number or a string.
fn id_text(v: &Value, what: &str) -> CrmResult<String> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        other => Err(CrmError::Protocol(format!(
            "HubSpot sent {what} as {other}, not an id"
        ))),
    }
}

fn field_type(p: &WireProperty) -> FieldType {
    let kind = p.kind.as_deref().unwrap_or("");
    let field = p.field_type.as_deref().unwrap_or("");
    if p.name == "hs_object_id" {
        return FieldType::Id;
    }
    if p.referenced.is_some() {
        return FieldType::Reference;
    }
    match (kind, field) {
        ("bool", _) | (_, "booleancheckbox") => FieldType::Bool,
        ("enumeration", _) => FieldType::Enumeration,
        ("number", _) => FieldType::Number,
        ("date", _) => FieldType::Date,
        ("datetime", _) => FieldType::DateTime,
        (_, "phonenumber") => FieldType::Phone,
        // HubSpot has no email or URL type: the well-known properties say what they hold.
        ("string", _) if p.name == "email" || p.name == "hs_additional_emails" => FieldType::Email,
        ("string", _) if p.name == "website" || p.name == "domain" => FieldType::Url,
        ("string", _) => FieldType::Text,
        _ => FieldType::Other,
    }
}

fn to_field(p: WireProperty) -> Field {
    let field_type = field_type(&p);
    let read_only = p.modification.as_ref().is_some_and(|m| m.read_only_value);
    Field {
        label: p.label.clone().unwrap_or_else(|| p.name.clone()),
        field_type,
        writable: !p.calculated && !read_only,
        options: p.options.into_iter().filter_map(|o| o.value).collect(),
        unique: p.has_unique_value,
        name: p.name,
    }
}

impl HubSpot {
    pub(super) async fn identity_inner(&self) -> CrmResult<Identity> {
        let mut token = self.bearer().await?;
        let mut info = self.token_info(&token).await?;
        if info.is_none() && self.refreshable().await {
            // An OAuth token HubSpot no longer knows: a fresh one must be known.
            token = self.force_refresh(&token).await?;
            info = self.token_info(&token).await?;
            if info.is_none() {
                return Err(CrmError::Auth(
                    "HubSpot has no record of the connection's token, even after a refresh".into(),
                ));
            }
        }
        let Some(reply) = info else {
            return self.private_app_identity().await;
        };
        let info: TokenInfo = reply.json()?;
        let org_id = info
            .hub_id
            .as_ref()
            .ok_or_else(|| CrmError::Protocol("HubSpot's token info has no hub_id".into()))
            .and_then(|v| id_text(v, "hub_id"))?;
        let user_id = info
            .user_id
            .as_ref()
            .ok_or_else(|| CrmError::Protocol("HubSpot's token info has no user_id".into()))
            .and_then(|v| id_text(v, "user_id"))?;
        let email = info.user.unwrap_or_default();
        let users = self.users().await?;
        let me = users.iter().find(|u| {
            u.id == user_id || (!email.is_empty() && u.email.eq_ignore_ascii_case(&email))
        });
        let name = me.and_then(|u| {
            let parts: Vec<&str> = [u.first_name.as_deref(), u.last_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
        Ok(Identity {
            crm: CrmKind::HubSpot,
            org_id,
            user_id,
            email,
            name,
            active: me.is_some_and(|u| u.active),
        })
    }

    /// A private-app token acts as the app, not a user: the portal is known, the user is
    /// not (empty id and email), and a token HubSpot accepts is an active connection.
    async fn private_app_identity(&self) -> CrmResult<Identity> {
        let reply = self
            .expect_ok(
                &Call::get("/account-info/v3/details".into()),
                "account details",
            )
            .await?;
        let info: AccountInfo = reply.json()?;
        Ok(Identity {
            crm: CrmKind::HubSpot,
            org_id: id_text(&info.portal_id, "portalId")?,
            user_id: String::new(),
            email: String::new(),
            name: None,
            active: true,
        })
    }

    /// Ids of deactivated users: their owners are archived (`/crm/v3/owners/?archived=true`),
    /// since HubSpot's users API has no active flag.
    async fn deactivated_user_ids(&self) -> CrmResult<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let mut call = Call::get("/crm/v3/owners/".into())
                .query("archived", "true")
                .query("limit", "500");
            if let Some(a) = &after {
                call = call.query("after", a.clone());
            }
            let reply = self.expect_ok(&call, "list archived owners").await?;
            let page: wire::Page<WireOwner> = reply.json()?;
            let next = page.after().map(str::to_string);
            for o in page.results {
                if let Some(id) = o.user_id.as_ref() {
                    out.insert(id_text(id, "an owner's user id")?);
                }
            }
            match next {
                Some(n) if after.as_deref() != Some(n.as_str()) => after = Some(n),
                Some(_) => {
                    return Err(CrmError::Protocol(
                        "HubSpot's owners list returned the same page cursor twice".into(),
                    ));
                }
                None => return Ok(out),
            }
        }
    }

    /// Every user of the portal (`/settings/v3/users/`, paged), with `active` false for
    /// deactivated users (whose owners are archived).
    pub(super) async fn users(&self) -> CrmResult<Vec<CrmUser>> {
        // Steward's sign-in always asks for the owners scope; a connection made without it
        // (an older app) cannot tell deactivated users apart, and says so in the log.
        let inactive = match self.deactivated_user_ids().await {
            Ok(ids) => ids,
            Err(CrmError::Forbidden(_)) => {
                tracing::warn!(
                    "the HubSpot connection lacks crm.objects.owners.read: deactivated users cannot be told apart"
                );
                Default::default()
            }
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut call = Call::get("/settings/v3/users/".into()).query("limit", "100");
            if let Some(a) = &after {
                call = call.query("after", a.clone());
            }
            let reply = self.expect_ok(&call, "list users").await?;
            let page: wire::Page<WireUser> = reply.json()?;
            let next = page.after().map(str::to_string);
            for u in page.results {
                let id = id_text(&u.id, "a user id")?;
                out.push(CrmUser {
                    active: !inactive.contains(&id),
                    id,
                    email: u.email.unwrap_or_default(),
                    first_name: u.first_name.filter(|s| !s.is_empty()),
                    last_name: u.last_name.filter(|s| !s.is_empty()),
                });
            }
            match next {
                Some(n) if after.as_deref() != Some(n.as_str()) => after = Some(n),
                Some(_) => {
                    return Err(CrmError::Protocol(
                        "HubSpot's users list returned the same page cursor twice".into(),
                    ));
                }
                None => return Ok(out),
            }
        }
    }

    pub(super) async fn describe_inner(&self, object: &str) -> CrmResult<ObjectSchema> {
        let path = format!("/crm/v3/properties/{}", object_path(object)?);
        let reply = self
            .expect_ok(&Call::get(path), &format!("properties of {object}"))
            .await?;
        let page: wire::Page<WireProperty> = reply.json()?;
        Ok(ObjectSchema {
            object: object.to_string(),
            fields: page
                .results
                .into_iter()
                .filter(|p| !p.archived)
                .map(to_field)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(json: &str) -> Field {
        to_field(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn properties_become_fields() {
        let f = prop(
            r#"{"name":"lifecyclestage","label":"Lifecycle Stage","type":"enumeration","fieldType":"radio","options":[{"label":"Lead","value":"lead"},{"label":"Customer","value":"customer"}],"calculated":false,"hasUniqueValue":false,"modificationMetadata":{"readOnlyValue":false}}"#,
        );
        assert_eq!(f.field_type, FieldType::Enumeration);
        assert_eq!(f.options, vec!["lead", "customer"]);
        assert!(f.writable);
        let id = prop(
            r#"{"name":"hs_object_id","label":"Record ID","type":"number","fieldType":"number","calculated":false,"hasUniqueValue":true,"modificationMetadata":{"readOnlyValue":true}}"#,
        );
        assert_eq!(id.field_type, FieldType::Id);
        assert!(!id.writable && id.unique);
        let calc = prop(
            r#"{"name":"num_contacts","label":"n","type":"number","fieldType":"number","calculated":true}"#,
        );
        assert!(!calc.writable);
        let owner = prop(
            r#"{"name":"hubspot_owner_id","label":"Owner","type":"enumeration","fieldType":"select","referencedObjectType":"OWNER"}"#,
        );
        assert_eq!(owner.field_type, FieldType::Reference);
        assert_eq!(
            prop(r#"{"name":"email","type":"string","fieldType":"text"}"#).field_type,
            FieldType::Email
        );
        assert_eq!(
            prop(r#"{"name":"phone","type":"string","fieldType":"phonenumber"}"#).field_type,
            FieldType::Phone
        );
        assert_eq!(
            prop(r#"{"name":"x","type":"bool","fieldType":"booleancheckbox"}"#).field_type,
            FieldType::Bool
        );
    }
}
