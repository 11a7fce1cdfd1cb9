//! Identifiers: ULIDs, which sort by creation time (so `RUN#<id>` sort keys list runs
//! newest-last) and carry 80 random bits (so a Run ID cannot be guessed); an account's id
//! (its CRM and org); a member's id (their CRM user id, checked to fit in a key).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::crm::CrmKind;
use crate::error::Error;

/// The text of every ULID id Steward makes (uppercase Crockford base32), as its JSON
/// Schema publishes it.
pub const ULID_PATTERN: &str = "^[0-9A-HJKMNP-TV-Z]{26}$";

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(ulid::Ulid);

        impl $name {
            pub fn new() -> Self {
                Self(ulid::Ulid::new())
            }

            /// An id for the given instant; still random in its low 80 bits.
            pub fn at(time: chrono::DateTime<chrono::Utc>) -> Self {
                Self(ulid::Ulid::from_datetime(time.into()))
            }

            /// An id of its parts: milliseconds since the epoch, and 80 random bits.
            #[allow(dead_code)]
            pub(crate) fn from_parts(ms: u64, random: u128) -> Self {
                Self(ulid::Ulid::from_parts(ms, random))
            }

            /// The smallest id of the given instant: ids made at or after it sort at or
            /// above it (a lower bound for listing by time).
            pub fn floor(time: chrono::DateTime<chrono::Utc>) -> Self {
                Self(ulid::Ulid::from_parts(time.timestamp_millis().max(0) as u64, 0))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// As its text, quoted (as the `String` it replaces printed).
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut buf = [0u8; ulid::ULID_LEN];
                fmt::Debug::fmt(&*self.0.array_to_str(&mut buf), f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            /// Either case reads as the same id. A first character above `7` (more than
            /// 128 bits) is refused: the decoder would wrap it onto another id.
            fn from_str(s: &str) -> Result<Self, Error> {
                let bad = || Error::invalid($what, format!("`{s}` is not a valid {} (26 Crockford base32 characters)", $what));
                let id = ulid::Ulid::from_string(s).map_err(|_| bad())?;
                let mut buf = [0u8; ulid::ULID_LEN];
                if !id.array_to_str(&mut buf).eq_ignore_ascii_case(s) {
                    return Err(bad());
                }
                Ok(Self(id))
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        /// Compared with its text (as stored and sent), without allocating.
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                let mut buf = [0u8; ulid::ULID_LEN];
                *self.0.array_to_str(&mut buf) == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                *self == **other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                *self == **other
            }
        }

        /// On the wire, a 26-character ULID string, as the path parameters' ids.
        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": ULID_PATTERN,
                })
            }
        }
    };
}

ulid_id!(
    /// A Run ID: one execution of a module.
    RunId,
    "run_id"
);
ulid_id!(
    /// A saved template.
    TemplateId,
    "template_id"
);
ulid_id!(
    /// A schedule of a template.
    ScheduleId,
    "schedule_id"
);
ulid_id!(
    /// A recipe: templates run one after another on the same records.
    RecipeId,
    "recipe_id"
);
ulid_id!(
    /// One invocation of a recipe (its steps are runs with their own Run IDs).
    RecipeRunId,
    "recipe_run_id"
);

/// An account: one CRM org, `hubspot:<portal id>` or `salesforce:<org id>` (`csv:<name>`
/// for `steward run` on a file). The CRM is read once, when the id is made, so nothing
/// downstream parses it again or guesses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId {
    text: String,
    crm: CrmKind,
}

impl AccountId {
    pub fn new(crm: CrmKind, org_id: &str) -> Self {
        Self {
            text: format!("{}:{org_id}", <&str>::from(crm)),
            crm,
        }
    }

    pub fn crm(&self) -> CrmKind {
        self.crm
    }

    /// The org's id in its CRM (HubSpot's portal id, Salesforce's org id).
    pub fn org_id(&self) -> &str {
        &self.text[self.text.find(':').map_or(0, |i| i + 1)..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Where a `&str` is asked for (keys, logs, paths), an account id is its text.
impl std::ops::Deref for AccountId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for AccountId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(
                "account_id",
                format!(
                    "`{s}` is not an account id (`hubspot:<portal id>` or `salesforce:<org id>`)"
                ),
            )
        };
        let (crm, org) = s.split_once(':').ok_or_else(bad)?;
        let crm = <CrmKind as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .find(|c| <&str>::from(*c) == crm)
            .ok_or_else(bad)?;
        if org.is_empty() || org.len() > 64 {
            return Err(bad());
        }
        Ok(Self::new(crm, org))
    }
}

impl TryFrom<String> for AccountId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.text
    }
}

impl PartialEq<str> for AccountId {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for AccountId {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for AccountId {
    fn eq(&self, other: &String) -> bool {
        &self.text == other
    }
}

impl schemars::JsonSchema for AccountId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AccountId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`hubspot:<portal id>` or `salesforce:<org id>`",
            "pattern": "^(hubspot|salesforce|csv):.+$",
        })
    }
}

/// A member: their CRM user id (HubSpot's numeric id, Salesforce's 15- or 18-character
/// id, `local` for `steward run`'s CSV file). Not a ULID: the CRM chose it. It is spelled
/// inside keys (`USER#<id>`, `SESSIONS#<account>#<id>`), so it is checked when it is read:
/// 1 to 255 characters, no `#`, no whitespace, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberId(String);

impl MemberId {
    /// Longest member id kept, in characters.
    pub const MAX_CHARS: usize = 255;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// As its text, quoted (as the `String` it replaces printed).
impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl FromStr for MemberId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        s.to_string().try_into()
    }
}

impl TryFrom<String> for MemberId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        let ok = !s.is_empty()
            && s.chars().count() <= Self::MAX_CHARS
            && !s
                .chars()
                .any(|c| c == '#' || c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(s))
        } else {
            Err(Error::invalid(
                "member_id",
                format!(
                    "`{s}` is not a valid member_id (a CRM user id: 1 to {} characters, no `#`, no whitespace)",
                    Self::MAX_CHARS
                ),
            ))
        }
    }
}

impl From<MemberId> for String {
    fn from(id: MemberId) -> String {
        id.0
    }
}

impl AsRef<str> for MemberId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Compared with its text (as stored and sent).
impl PartialEq<str> for MemberId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for MemberId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for MemberId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// On the wire, a plain string (the CRM's user id), as before it had a type.
impl schemars::JsonSchema for MemberId {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MemberId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_id_knows_its_crm_and_refuses_what_is_not_one() {
        let a: AccountId = "salesforce:00D5j000000abcd".parse().unwrap();
        assert_eq!(a.crm(), CrmKind::Salesforce);
        assert_eq!(a.org_id(), "00D5j000000abcd");
        assert_eq!(a, AccountId::new(CrmKind::Salesforce, "00D5j000000abcd"));
        assert_eq!(&*a, "salesforce:00D5j000000abcd");
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json, "salesforce:00D5j000000abcd");
        assert_eq!(serde_json::from_value::<AccountId>(json).unwrap(), a);
        for bad in ["", "hubspot", "hubspot:", "pipedrive:1", "HubSpot:1"] {
            let e = bad.parse::<AccountId>().unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
        }
    }

    #[test]
    #[allow(clippy::cmp_owned)] // the ids compared as their text, which is what sorts
    fn run_ids_sort_by_time_and_round_trip() {
        let t0 = chrono::Utc::now();
        let a = RunId::at(t0);
        let b = RunId::at(t0 + chrono::Duration::milliseconds(1));
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().parse::<RunId>().unwrap(), a);
    }

    #[test]
    fn run_ids_made_in_the_same_instant_differ() {
        let t0 = chrono::Utc::now();
        assert_ne!(RunId::at(t0), RunId::at(t0));
    }

    #[test]
    fn an_id_has_one_text_in_either_case() {
        let id = RunId::new();
        let text = id.to_string();
        assert_eq!(text.to_lowercase().parse::<RunId>().unwrap(), id);
        // `8` is `0` plus a 129th bit: not the same id, and no id at all.
        let over = format!("8{}", &text[1..]);
        assert!(text.starts_with('0'), "{text}");
        let e = over.parse::<RunId>().unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(over.parse::<TemplateId>().is_err());
    }

    #[test]
    fn a_bad_id_is_a_400_naming_the_field() {
        let e = "not-a-ulid".parse::<RunId>().unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("run_id"));
    }

    #[test]
    fn a_member_id_is_a_crm_user_id_that_fits_in_a_key() {
        for ok in ["7", "0055g000015ftgGAAQ", "local"] {
            let id: MemberId = ok.parse().unwrap();
            assert_eq!(id, ok);
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), ok);
            assert_eq!(format!("{id:?}"), format!("{ok:?}"));
            let json = serde_json::to_value(&id).unwrap();
            assert_eq!(json, serde_json::json!(ok));
            assert_eq!(serde_json::from_value::<MemberId>(json).unwrap(), id);
        }
        let long = "7".repeat(MemberId::MAX_CHARS + 1);
        for bad in ["", "a#b", "a b", "a\tb", "a\u{7}b", long.as_str()] {
            let e = bad.parse::<MemberId>().unwrap_err();
            assert_eq!(e.status(), 400, "{bad:?}");
            assert!(e.to_string().contains("member_id"), "{e}");
            assert!(serde_json::from_value::<MemberId>(serde_json::json!(bad)).is_err());
        }
        assert!("7".repeat(MemberId::MAX_CHARS).parse::<MemberId>().is_ok());
    }
}
