//! Who may do what: accounts (one per CRM org), members with roles and per-module
//! permissions, sessions, the CRM sign-in, connections (CRM tokens, kept only in the
//! `Secrets` port) and the one authorization function every handler goes through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crm::CrmKind;
use crate::error::{Error, Result};
use crate::ids::MemberId;
use crate::modules::Module;

pub mod apps;
pub mod connections;
pub mod login;
pub mod policy;
pub mod session;
pub mod store;
pub mod team;

pub use apps::CrmApps;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Exactly one per account: the account item names them.
    Owner,
    Admin,
    User,
}

impl Role {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "MemberStatus")]
pub enum Status {
    Invited,
    Active,
    Removed,
}

/// Access to one module. Ordered: `none < read < write`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Permission {
    #[default]
    None,
    Read,
    Write,
}

/// A member's permission per module.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    #[serde(default)]
    pub merge: Permission,
    #[serde(default)]
    pub bulk: Permission,
    #[serde(default)]
    pub transform: Permission,
    #[serde(default)]
    pub grid: Permission,
    #[serde(default)]
    pub validate: Permission,
}

/// Permissions to change: only the modules named change, the others keep theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsPatch {
    #[serde(default)]
    pub merge: Option<Permission>,
    #[serde(default)]
    pub bulk: Option<Permission>,
    #[serde(default)]
    pub transform: Option<Permission>,
    #[serde(default)]
    pub grid: Option<Permission>,
    #[serde(default)]
    pub validate: Option<Permission>,
}

impl PermissionsPatch {
    /// `current` with the named modules changed.
    pub fn applied_to(&self, current: Permissions) -> Permissions {
        Permissions {
            merge: self.merge.unwrap_or(current.merge),
            bulk: self.bulk.unwrap_or(current.bulk),
            transform: self.transform.unwrap_or(current.transform),
            grid: self.grid.unwrap_or(current.grid),
            validate: self.validate.unwrap_or(current.validate),
        }
    }
}

impl Permissions {
    pub fn all(p: Permission) -> Self {
        Permissions {
            merge: p,
            bulk: p,
            transform: p,
            grid: p,
            validate: p,
        }
    }

    pub fn get(&self, m: Module) -> Permission {
        match m {
            Module::Merge => self.merge,
            Module::Bulk => self.bulk,
            Module::Transform => self.transform,
            Module::Grid => self.grid,
            Module::Validate => self.validate,
        }
    }
}

/// The account's integration (service) user: its connection runs schedules, whoever
/// of the team comes or goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    /// The CRM user it is (a member, or a service user who never signed in as one).
    pub crm_user_id: String,
    pub email: String,
    /// The owner or admin who set it.
    pub set_by: MemberId,
    pub set_at: DateTime<Utc>,
    /// Whether the connection last worked (checked when set and whenever it is used).
    pub healthy: bool,
    pub checked_at: DateTime<Utc>,
    pub problem: Option<String>,
}

/// One CRM org: `hubspot:<portalId>` or `salesforce:<orgId18>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: crate::ids::AccountId,
    pub crm: CrmKind,
    pub org_id: String,
    pub owner_user_id: MemberId,
    pub created_at: DateTime<Utc>,
    pub integration: Option<Integration>,
    #[serde(skip)]
    pub version: u64,
}

impl Account {
    pub fn id_for(crm: CrmKind, org_id: &str) -> crate::ids::AccountId {
        crate::ids::AccountId::new(crm, org_id)
    }
}

/// The CRM's name in account ids, URLs and the API (`hubspot`, `salesforce`).
pub fn crm_name(crm: CrmKind) -> &'static str {
    crm.into()
}

/// The CRM's name as people write it, for pages and mail.
pub fn crm_title(crm: CrmKind) -> &'static str {
    match crm {
        CrmKind::HubSpot => "HubSpot",
        CrmKind::Salesforce => "Salesforce",
        CrmKind::Csv => "CSV",
    }
}

/// A CRM people sign in with, by its name (a CSV file is not one).
pub fn parse_crm(s: &str) -> Option<CrmKind> {
    [CrmKind::HubSpot, CrmKind::Salesforce]
        .into_iter()
        .find(|c| crm_name(*c) == s)
}

/// A pending invitation, kept on the invited member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub invited_by: MemberId,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub sends: u32,
}

/// A person of an account, keyed by their CRM user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: MemberId,
    pub email: String,
    pub name: Option<String>,
    /// `admin` or `user`; the owner is whoever the account names (stored as `admin`, so a
    /// former owner stays an admin).
    pub role: Role,
    pub status: Status,
    pub permissions: Permissions,
    pub invitation: Option<Invitation>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub version: u64,
}

impl Member {
    /// The first member of a new account, signed in `now`: its owner (stored as an admin,
    /// so they stay one after a transfer), with write on every module.
    pub fn founder(
        user_id: MemberId,
        email: String,
        name: Option<String>,
        now: DateTime<Utc>,
    ) -> Member {
        Member {
            user_id,
            email,
            name,
            role: Role::Admin,
            status: Status::Active,
            permissions: Permissions::all(Permission::Write),
            invitation: None,
            created_at: now,
            last_login_at: Some(now),
            removed_at: None,
            version: 0,
        }
    }

    /// The role as the account sees it (the owner is named by the account).
    pub fn role_in(&self, account: &Account) -> Role {
        if account.owner_user_id == self.user_id {
            Role::Owner
        } else {
            self.role
        }
    }

    /// What the member may do in each module: the owner may do everything.
    pub fn permissions_in(&self, account: &Account) -> Permissions {
        match self.role_in(account) {
            Role::Owner => Permissions::all(Permission::Write),
            _ => self.permissions,
        }
    }
}

/// `GET /me`: who is signed in, to which account, with what rights.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Me {
    pub user: MeUser,
    pub account: MeAccount,
    pub role: Role,
    /// Effective: the owner has write everywhere.
    pub permissions: Permissions,
    /// Send it back as `X-CSRF-Token` on every request that changes state.
    pub csrf_token: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MeUser {
    /// The CRM user id.
    pub id: MemberId,
    pub email: String,
    pub name: Option<String>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MeAccount {
    /// `hubspot:<portal id>` or `salesforce:<org id>`.
    pub id: String,
    pub crm: CrmKind,
    pub org_id: String,
    pub integration_set: bool,
}

/// A signed-in, active member, as a handler sees them. `Debug` shows no session secret.
#[derive(Clone)]
pub struct Principal {
    pub account_id: crate::ids::AccountId,
    pub crm: CrmKind,
    pub user_id: MemberId,
    pub email: String,
    pub role: Role,
    /// Effective: the owner's are write everywhere (`Member::permissions_in`).
    pub permissions: Permissions,
    /// `sha256` of the session id (the stored key), to end this session.
    pub session_key: String,
    /// The session's CSRF token, for `GET /me`.
    pub csrf: String,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("account_id", &self.account_id)
            .field("user_id", &self.user_id)
            .field("role", &self.role)
            .field("permissions", &self.permissions)
            .finish_non_exhaustive()
    }
}

impl Principal {
    pub fn permission(&self, m: Module) -> Permission {
        self.permissions.get(m)
    }

    /// Read or write on a module, or 403; the grant is the proof module-scoped domain
    /// functions take. (Things of another account are 404s, decided by the tenant key,
    /// never here.)
    pub fn grant(&self, module: Module, need: Permission) -> Result<Grant> {
        authorize(self, Need::Module(module, need))?;
        Ok(Grant {
            module,
            permission: need,
        })
    }

    /// `value` with the grant of `need` on its module, or 403.
    pub fn grant_on<T: Scoped>(&self, value: T, need: Permission) -> Result<Granted<T>> {
        let grant = self.grant(value.module(), need)?;
        Ok(Granted { value, grant })
    }
}

fn access_word(p: Permission) -> &'static str {
    match p {
        Permission::Write => "write",
        _ => "read",
    }
}

/// Proof that `permission` on `module` was granted: only `Principal::grant` makes one
/// (and `Grant::saved`, for automations whose permission was checked when they were
/// saved). Module-scoped domain functions take it, so a path that skips the check does
/// not compile; `covers` catches a proof handed to the wrong module.
///
/// Outside this crate there is no other way to make one:
///
/// ```compile_fail,E0451
/// use steward_shared::identity::{Grant, Permission};
/// use steward_shared::modules::Module;
/// let forged = Grant { module: Module::Bulk, permission: Permission::Write };
/// ```
///
/// ```compile_fail,E0624
/// use steward_shared::identity::{Grant, Permission};
/// use steward_shared::modules::Module;
/// let forged = Grant::saved(Module::Bulk, Permission::Write);
/// ```
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    module: Module,
    permission: Permission,
}

impl Grant {
    /// A scheduled or recipe run's: the member's permission for the template's module
    /// and mode was checked when the schedule or recipe was saved (and again when one
    /// is changed); the run acts as the integration user or as that member.
    pub(crate) fn saved(module: Module, permission: Permission) -> Grant {
        Grant { module, permission }
    }

    pub fn module(self) -> Module {
        self.module
    }

    pub fn permission(self) -> Permission {
        self.permission
    }

    /// `Ok` when this grant allows `need` on `module`; else the 403 the check would give.
    pub fn covers(self, module: Module, need: Permission) -> Result<()> {
        if self.module == module && self.permission >= need {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this needs {} access to the {module} module",
                access_word(need)
            )))
        }
    }
}

/// Something that belongs to one module (a template, a run, a schedule).
pub trait Scoped {
    fn module(&self) -> Module;
}

impl Scoped for Module {
    fn module(&self) -> Module {
        *self
    }
}

/// A value of a module, with the grant that let the member have it: what
/// `Principal::grant_on` returns.
#[derive(Debug, Clone)]
pub struct Granted<T> {
    value: T,
    grant: Grant,
}

impl<T> Granted<T> {
    pub fn grant(&self) -> Grant {
        self.grant
    }

    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> std::ops::Deref for Granted<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// What a route needs, declared in the route catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session (health, sign-in, the OpenAPI document).
    Public,
    /// Any active member.
    Member,
    /// Read or write on a module the handler determines (a template's, a run's): the
    /// router admits members who hold it on some module (`Need::AnyModule`), and the
    /// domain function takes the `Grant` for the thing's own module.
    Module(Permission),
    /// Owners and admins.
    Admin,
    /// The account's Owner only.
    Owner,
    /// No session: the request is signed (the CRM's automation calling a recipe); the
    /// handler checks the signature before anything else.
    Signed,
}

impl Access {
    /// Whether the route admits `who` (the router asks, once the session is read).
    pub fn admits(self, who: &Principal) -> Result<()> {
        match self {
            Access::Public | Access::Signed | Access::Member => Ok(()),
            Access::Module(p) => authorize(who, Need::AnyModule(p)),
            Access::Admin => authorize(who, Need::Admin),
            Access::Owner => authorize(who, Need::Owner),
        }
    }
}

/// One authorization decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Member,
    Admin,
    Owner,
    Module(Module, Permission),
    /// The permission on at least one module: what a module route needs before the
    /// handler knows which module.
    AnyModule(Permission),
}

/// The one authorization function: every route and handler decision goes through it.
pub fn authorize(p: &Principal, need: Need) -> Result<()> {
    let ok = match need {
        Need::Member => true,
        Need::Admin => matches!(p.role, Role::Owner | Role::Admin),
        Need::Owner => p.role == Role::Owner,
        Need::Module(m, want) => p.permission(m) >= want,
        Need::AnyModule(want) => Module::ALL.iter().any(|&m| p.permission(m) >= want),
    };
    if ok {
        return Ok(());
    }
    Err(Error::Forbidden(match need {
        Need::Member => "members only".into(),
        Need::Admin => "only the owner or an admin may do this".into(),
        Need::Owner => "only the owner may do this".into(),
        Need::Module(m, want) => format!(
            "this needs {} access to the {m} module; ask an admin for it",
            access_word(want)
        ),
        Need::AnyModule(want) => format!(
            "this needs {} access to a module, and you have none; ask an admin for it",
            access_word(want)
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, perms: Permissions) -> Principal {
        Principal {
            account_id: "hubspot:1".parse().unwrap(),
            crm: CrmKind::HubSpot,
            user_id: "7".parse().unwrap(),
            email: "a@b.c".into(),
            role,
            permissions: match role {
                Role::Owner => Permissions::all(Permission::Write),
                _ => perms,
            },
            session_key: String::new(),
            csrf: String::new(),
        }
    }

    #[test]
    fn roles_and_module_permissions_decide() {
        let read_bulk = Permissions {
            bulk: Permission::Read,
            ..Permissions::default()
        };
        let u = who(Role::User, read_bulk);
        assert!(authorize(&u, Need::Member).is_ok());
        assert!(authorize(&u, Need::Admin).is_err());
        assert!(authorize(&u, Need::Module(Module::Bulk, Permission::Read)).is_ok());
        assert!(authorize(&u, Need::Module(Module::Bulk, Permission::Write)).is_err());
        assert!(authorize(&u, Need::Module(Module::Merge, Permission::Read)).is_err());
        let a = who(Role::Admin, Permissions::default());
        assert!(authorize(&a, Need::Admin).is_ok());
        assert!(authorize(&a, Need::Owner).is_err());
        assert!(authorize(&a, Need::Module(Module::Grid, Permission::Read)).is_err());
        let o = who(Role::Owner, Permissions::default());
        assert!(authorize(&o, Need::Owner).is_ok());
        assert!(authorize(&o, Need::Module(Module::Merge, Permission::Write)).is_ok());
    }

    #[test]
    fn a_module_route_admits_only_members_holding_that_access_on_some_module() {
        let nothing = who(Role::User, Permissions::default());
        let read_bulk = who(
            Role::User,
            Permissions {
                bulk: Permission::Read,
                ..Permissions::default()
            },
        );
        let read = Access::Module(Permission::Read);
        let write = Access::Module(Permission::Write);
        assert!(matches!(read.admits(&nothing), Err(Error::Forbidden(_))));
        assert!(read.admits(&read_bulk).is_ok());
        assert!(matches!(write.admits(&read_bulk), Err(Error::Forbidden(_))));
        assert!(Access::Member.admits(&nothing).is_ok());
        // An admin is not given modules by the role.
        let admin = who(Role::Admin, Permissions::default());
        assert!(Access::Admin.admits(&admin).is_ok());
        assert!(read.admits(&admin).is_err());
        assert!(Access::Owner.admits(&admin).is_err());
    }

    #[test]
    fn a_grant_covers_its_module_up_to_its_permission_and_no_other() {
        let u = who(
            Role::User,
            Permissions {
                bulk: Permission::Write,
                merge: Permission::Read,
                ..Permissions::default()
            },
        );
        let bulk = u.grant(Module::Bulk, Permission::Write).unwrap();
        assert!(bulk.covers(Module::Bulk, Permission::Write).is_ok());
        assert!(bulk.covers(Module::Bulk, Permission::Read).is_ok());
        assert!(matches!(
            bulk.covers(Module::Merge, Permission::Read),
            Err(Error::Forbidden(_))
        ));
        let merge = u.grant(Module::Merge, Permission::Read).unwrap();
        assert!(merge.covers(Module::Merge, Permission::Write).is_err());
        assert!(u.grant(Module::Merge, Permission::Write).is_err());
        assert!(u.grant(Module::Grid, Permission::Read).is_err());
        // A value comes with the grant of its own module.
        let granted = u.grant_on(Module::Bulk, Permission::Read).unwrap();
        assert_eq!(granted.grant().module(), Module::Bulk);
        assert!(u.grant_on(Module::Grid, Permission::Read).is_err());
    }
}
