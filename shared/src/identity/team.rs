//! Team management: members, invitations from the CRM's user list, roles (one owner,
//! transferable), per-module permissions, removal with purge, the integration user.

use crate::ids::{AccountId, MemberId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use super::connections::{self, Slot};
use super::{
    Account, Integration, Invitation, Member, Need, Permission, Permissions, PermissionsPatch,
    Principal, Role, Status, authorize, crm_name, session, store,
};
use crate::app::{UsesClock, UsesCrm, UsesItems, UsesLinks, UsesMail, UsesSecrets};
use crate::error::{Error, Result};
use crate::ports::Email;
use crate::ports::items::Condition;

/// How long an invitation can be accepted.
pub const INVITATION_DAYS: i64 = 14;

/// A member as the team view shows them.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MemberView {
    pub id: MemberId,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub status: Status,
    pub permissions: Permissions,
    pub last_login_at: Option<DateTime<Utc>>,
    pub invitation: Option<InvitationView>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InvitationView {
    pub id: String,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub expired: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IntegrationView {
    pub set: bool,
    pub healthy: Option<bool>,
    pub email: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TeamView {
    pub members: Vec<MemberView>,
    pub integration: IntegrationView,
}

impl MemberView {
    pub fn of(m: &Member, account: &Account, now: DateTime<Utc>) -> Self {
        MemberView {
            id: m.user_id.clone(),
            email: m.email.clone(),
            name: m.name.clone(),
            role: m.role_in(account),
            status: m.status,
            permissions: m.permissions_in(account),
            last_login_at: m.last_login_at,
            invitation: m.invitation.as_ref().map(|i| InvitationView {
                id: i.id.clone(),
                sent_at: i.sent_at,
                expires_at: i.expires_at,
                expired: i.expires_at <= now,
            }),
        }
    }
}

fn integration_view(a: &Account) -> IntegrationView {
    match &a.integration {
        None => IntegrationView {
            set: false,
            healthy: None,
            email: None,
            checked_at: None,
            problem: None,
        },
        Some(i) => IntegrationView {
            set: true,
            healthy: Some(i.healthy),
            email: Some(i.email.clone()),
            checked_at: Some(i.checked_at),
            problem: i.problem.clone(),
        },
    }
}

async fn account_of(s: &impl UsesItems, who: &Principal) -> Result<Account> {
    store::get_account(s.items(), &who.account_id)
        .await?
        .ok_or(Error::Unauthorized)
}

/// The member a path names: text that is no member id names no member (a 404, as an
/// unknown one).
pub fn named(text: &str) -> Result<MemberId> {
    text.parse()
        .map_err(|_| Error::NotFound(format!("member {text}")))
}

async fn member_of(
    s: &impl UsesItems,
    account_id: &AccountId,
    user_id: &MemberId,
) -> Result<Member> {
    store::get_member(s.items(), account_id, user_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("member {user_id}")))
}

/// `GET /team/members`.
pub async fn view(s: &(impl UsesItems + UsesClock), who: &Principal) -> Result<TeamView> {
    let account = account_of(s, who).await?;
    let now = s.clock().now();
    let members = store::list_members(s.items(), &account.id)
        .await?
        .iter()
        .map(|m| MemberView::of(m, &account, now))
        .collect();
    Ok(TeamView {
        members,
        integration: integration_view(&account),
    })
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CrmUserView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
}

fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// `GET /team/crm-users`: active CRM users who are not (invited or active) members.
pub async fn crm_users(
    s: &(impl UsesItems + UsesCrm),
    who: &Principal,
) -> Result<Vec<CrmUserView>> {
    let crm = crate::crm_schema::crm_of(s, who).await?;
    let users = crm.list_users().await?;
    let taken: HashSet<String> = store::list_members(s.items(), &who.account_id)
        .await?
        .into_iter()
        .filter(|m| m.status != Status::Removed)
        .map(|m| m.user_id.into())
        .collect();
    let mut out: Vec<CrmUserView> = users
        .into_iter()
        .filter(|u| u.active && !taken.contains(&u.id))
        .map(|u| CrmUserView {
            name: full_name(u.first_name.as_deref(), u.last_name.as_deref()),
            id: u.id,
            email: u.email,
        })
        .collect();
    out.sort_by(|a, b| a.email.cmp(&b.email));
    Ok(out)
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The CRM user id (from `GET /team/crm-users`).
    #[schemars(length(min = 1, max = 64))]
    pub user_id: String,
    /// `admin` or `user` (default); ownership is transferred, never given by invitation.
    #[serde(default)]
    #[schemars(with = "Option<InvitedRole>")]
    pub role: Option<Role>,
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

/// The roles an invitation can give: the published schema of `InviteRequest::role`.
#[derive(schemars::JsonSchema)]
#[schemars(rename_all = "snake_case")]
#[allow(dead_code)]
enum InvitedRole {
    Admin,
    User,
}

fn join_link(s: &impl UsesLinks, account: &Account) -> String {
    format!("{}/auth/{}/login", s.web_base_url(), crm_name(account.crm))
}

async fn send_invitation(
    s: &(impl UsesLinks + UsesMail),
    account: &Account,
    who: &Principal,
    m: &Member,
) -> Result<()> {
    let link = join_link(s, account);
    let name = m.name.as_deref().unwrap_or("there");
    let crm = super::crm_title(account.crm);
    let email = Email {
        to: vec![m.email.clone()],
        reply_to: Some(who.email.clone()).filter(|e| !e.is_empty()),
        subject: "Join the team on Steward".into(),
        text: format!(
            "Hi {name},\n\n{inviter} invited you to your team's Steward account, where your {crm} data is kept clean.\n\n\
             Join the team: {link}\n\nSign in with your {crm} user ({email}). The invitation expires in {INVITATION_DAYS} days.\n",
            inviter = who.email,
            email = m.email,
        ),
        html: None,
        attachments: vec![],
    };
    s.mailer().send(&email).await.map(|_| ())
}

/// `POST /team/invitations`: the user must exist (and be active) in the CRM.
pub async fn invite(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesLinks + UsesMail),
    who: &Principal,
    req: InviteRequest,
) -> Result<MemberView> {
    let account = account_of(s, who).await?;
    if req.role == Some(Role::Owner) {
        return Err(Error::invalid(
            "/role",
            "an invitee cannot be the owner; transfer ownership once they are active",
        ));
    }
    let crm = s
        .open_crm(&who.account_id, Slot::User(&who.user_id))
        .await?;
    let user = crm
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.id == req.user_id)
        .ok_or_else(|| Error::invalid("/user_id", "is not a user of this CRM account"))?;
    if !user.active {
        return Err(Error::invalid(
            "/user_id",
            "is deactivated in the CRM and cannot sign in",
        ));
    }
    // The CRM's id, as the member's: one that cannot be spelled in a key is refused.
    let user_id: MemberId = user.id.parse().map_err(|_| {
        Error::invalid(
            "/user_id",
            "is a CRM user id Steward cannot keep (empty, too long, or with `#` or whitespace)",
        )
    })?;
    let now = s.clock().now();
    let existing = store::get_member(s.items(), &account.id, &user_id).await?;
    let cond = match &existing {
        Some(m) if m.status != Status::Removed => {
            return Err(Error::Conflict(format!(
                "{} is already {}",
                m.email,
                if m.status == Status::Active {
                    "a member"
                } else {
                    "invited"
                }
            )));
        }
        Some(m) => Condition::Version(m.version),
        None => Condition::Absent,
    };
    let member = Member {
        user_id,
        email: user.email.clone(),
        name: full_name(user.first_name.as_deref(), user.last_name.as_deref()),
        role: req.role.unwrap_or(Role::User),
        status: Status::Invited,
        permissions: req
            .permissions
            .unwrap_or(Permissions::all(Permission::Read)),
        invitation: Some(Invitation {
            id: ulid::Ulid::new().to_string(),
            invited_by: who.user_id.clone(),
            sent_at: now,
            expires_at: now + Duration::days(INVITATION_DAYS),
            sends: 1,
        }),
        created_at: existing.as_ref().map_or(now, |m| m.created_at),
        last_login_at: existing.as_ref().and_then(|m| m.last_login_at),
        removed_at: None,
        version: 0,
    };
    store::put_member(s.items(), &account.id, &member, cond).await?;
    send_invitation(s, &account, who, &member).await?;
    Ok(MemberView::of(&member, &account, now))
}

async fn invited_member(
    s: &impl UsesItems,
    account_id: &AccountId,
    invitation_id: &str,
) -> Result<Member> {
    store::list_members(s.items(), account_id)
        .await?
        .into_iter()
        .find(|m| {
            m.status == Status::Invited
                && m.invitation.as_ref().is_some_and(|i| i.id == invitation_id)
        })
        .ok_or_else(|| Error::NotFound(format!("invitation {invitation_id}")))
}

/// `POST /team/invitations/{id}/resend`: sends again and renews the expiry.
pub async fn resend(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesMail),
    who: &Principal,
    invitation_id: &str,
) -> Result<MemberView> {
    let account = account_of(s, who).await?;
    let mut m = invited_member(s, &account.id, invitation_id).await?;
    let now = s.clock().now();
    if let Some(i) = m.invitation.as_mut() {
        i.sent_at = now;
        i.expires_at = now + Duration::days(INVITATION_DAYS);
        i.sends += 1;
    }
    m.version =
        store::put_member(s.items(), &account.id, &m, Condition::Version(m.version)).await?;
    send_invitation(s, &account, who, &m).await?;
    Ok(MemberView::of(&m, &account, now))
}

/// `DELETE /team/invitations/{id}`: the invitee can no longer sign in.
pub async fn cancel(s: &impl UsesItems, who: &Principal, invitation_id: &str) -> Result<()> {
    let account = account_of(s, who).await?;
    let m = invited_member(s, &account.id, invitation_id).await?;
    store::delete_member(s.items(), &account.id, &m).await
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    #[serde(default)]
    pub role: Option<Role>,
    /// Only the modules named change (`{"grid": "write"}` leaves the others as they are).
    #[serde(default)]
    pub permissions: Option<PermissionsPatch>,
}

/// `PATCH /team/members/{id}`: role and permissions. `role: owner` transfers ownership
/// (the owner only, to an active member) with one conditional write of the account, so
/// of two racing transfers exactly one wins and there is always exactly one owner.
pub async fn update(
    s: &(impl UsesItems + UsesClock),
    who: &Principal,
    user_id: &MemberId,
    patch: MemberPatch,
) -> Result<MemberView> {
    let mut account = account_of(s, who).await?;
    let mut m = member_of(s, &account.id, user_id).await?;
    let now = s.clock().now();
    if m.status == Status::Removed {
        return Err(Error::Conflict(format!(
            "{} was removed; invite them again",
            m.email
        )));
    }
    let target_is_owner = account.owner_user_id == m.user_id;
    if target_is_owner && who.role != Role::Owner {
        return Err(Error::Forbidden(
            "only the owner may change the owner".into(),
        ));
    }
    if let Some(role) = patch.role {
        match role {
            Role::Owner if !target_is_owner => {
                authorize(who, Need::Owner)?;
                // The account as read now, not the role the session was admitted with: of
                // two transfers by one owner, the second reads the account the first wrote
                // and finds its sender no longer the owner.
                if account.owner_user_id != who.user_id {
                    return Err(Error::Conflict(
                        "ownership changed meanwhile (another transfer?); reload and retry".into(),
                    ));
                }
                if m.status != Status::Active {
                    return Err(Error::Conflict(
                        "ownership can only go to an active member".into(),
                    ));
                }
                let cond = Condition::Version(account.version);
                let former = account.owner_user_id.clone();
                account.owner_user_id = m.user_id.clone();
                store::put_account(s.items(), &account, cond)
                    .await
                    .map_err(|e| match e {
                        Error::Conflict(_) => Error::Conflict(
                            "the account changed meanwhile (another transfer?); reload and retry"
                                .into(),
                        ),
                        e => e,
                    })?;
                tracing::info!(account = %account.id, from = %former, to = %m.user_id, "ownership transferred");
            }
            Role::Owner => {}
            Role::Admin | Role::User if target_is_owner => {
                return Err(Error::Conflict(
                    "the owner's role changes only by transferring ownership to someone else"
                        .into(),
                ));
            }
            r => m.role = r,
        }
    }
    if let Some(p) = patch.permissions {
        m.permissions = p.applied_to(m.permissions);
    }
    let cond = Condition::Version(m.version);
    m.version = store::put_member(s.items(), &account.id, &m, cond).await?;
    Ok(MemberView::of(&m, &account, now))
}

/// `DELETE /team/members/{id}[?purge=true]`: their sessions end at once; with `purge`,
/// their name, email and CRM connection are erased too.
pub async fn remove(
    s: &(impl UsesItems + UsesClock + UsesSecrets),
    who: &Principal,
    user_id: &MemberId,
    purge: bool,
) -> Result<()> {
    let account = account_of(s, who).await?;
    let mut m = member_of(s, &account.id, user_id).await?;
    if account.owner_user_id == m.user_id {
        return Err(Error::Conflict(
            "the owner cannot be removed; transfer ownership first".into(),
        ));
    }
    let cond = Condition::Version(m.version);
    m.status = Status::Removed;
    m.invitation = None;
    m.removed_at = Some(s.clock().now());
    m.permissions = Permissions::default();
    if purge {
        m.email = String::new();
        m.name = None;
        m.last_login_at = None;
    }
    store::put_member(s.items(), &account.id, &m, cond).await?;
    session::end_all(s, &account.id, &m.user_id).await?;
    if purge {
        connections::delete(s.secrets(), &account.id, Slot::User(&m.user_id)).await?;
    }
    tracing::info!(account = %account.id, user = %m.user_id, purge, "member removed");
    Ok(())
}

/// Writes the account's integration record (retrying a lost race on the account item).
pub async fn set_integration_record(
    s: &impl UsesItems,
    account_id: &AccountId,
    integration: Option<Integration>,
) -> Result<Account> {
    update_integration(s, account_id, |_| integration.clone()).await
}

/// Changes the account's integration record as `change` says, from the record as it is
/// now (read again after a lost race on the account item).
async fn update_integration(
    s: &impl UsesItems,
    account_id: &AccountId,
    change: impl Fn(Option<Integration>) -> Option<Integration>,
) -> Result<Account> {
    let read = || async {
        store::get_account(s.items(), account_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("account {account_id}")))
    };
    crate::ports::items::update(s.items(), 3, read, |a| {
        a.integration = change(a.integration.take());
        store::account_item(a).map(Some)
    })
    .await?
    .ok_or_else(|| Error::Unavailable("the account is busy; try again".into()))
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationRequest {
    /// A member whose CRM connection becomes the integration connection (a service
    /// account that signed in); or connect one with `/auth/{crm}/login?purpose=integration`.
    #[schemars(length(min = 1, max = 64))]
    pub user_id: String,
}

/// `PUT /team/integration`: the member's connection is checked against the CRM and
/// becomes the account's integration connection.
pub async fn set_integration(
    s: &(impl UsesItems + UsesClock + UsesSecrets + UsesCrm),
    who: &Principal,
    req: IntegrationRequest,
) -> Result<IntegrationView> {
    let account = account_of(s, who).await?;
    let m = member_of(s, &account.id, &named(&req.user_id)?).await?;
    if m.status != Status::Active {
        return Err(Error::invalid(
            "/user_id",
            "must be an active member who has signed in",
        ));
    }
    let conn = connections::load(s.secrets(), &account.id, Slot::User(&m.user_id))
        .await?
        .ok_or_else(|| Error::invalid("/user_id", "has no CRM connection; they must sign in"))?;
    let crm = connections::client(s.crm_apps(), &account.id, conn.clone())?;
    let identity = crm.identity().await?;
    if !identity.active {
        return Err(Error::invalid("/user_id", "is deactivated in the CRM"));
    }
    connections::save(s.secrets(), &account.id, Slot::Integration, &conn).await?;
    let now = s.clock().now();
    let a = set_integration_record(
        s,
        &account.id,
        Some(Integration {
            crm_user_id: m.user_id.to_string(),
            email: m.email.clone(),
            set_by: who.user_id.clone(),
            set_at: now,
            healthy: true,
            checked_at: now,
            problem: None,
        }),
    )
    .await?;
    Ok(integration_view(&a))
}

/// The CRM refused the integration connection's refresh token (`refused`): the
/// integration user is unhealthy, saying why and what fixes it, until an owner or admin
/// connects it again. Nothing changes if it was connected again meanwhile (the stored
/// connection no longer holds the refused token).
pub async fn integration_refused(
    s: &(impl UsesItems + UsesClock + UsesSecrets),
    account_id: &AccountId,
    refused: &crate::crm::Tokens,
    why: &str,
) -> Result<()> {
    use secrecy::ExposeSecret;
    let stored = connections::load(s.secrets(), account_id, Slot::Integration).await?;
    let refused_token = refused.refresh_token.as_ref().map(|t| t.expose_secret());
    if stored.is_none_or(|c| c.refresh_token.as_deref() != refused_token) {
        return Ok(());
    }
    let now = s.clock().now();
    let problem = format!(
        "{why}. Schedules are skipped until an owner or admin connects the integration user again (Settings → Users)."
    );
    update_integration(s, account_id, |current| {
        current.map(|i| Integration {
            healthy: false,
            checked_at: now,
            problem: Some(problem.clone()),
            ..i
        })
    })
    .await?;
    tracing::warn!(account = %account_id, why, "the CRM refused the integration user's connection");
    Ok(())
}

/// `DELETE /team/integration`: schedules then need a member's connection.
pub async fn clear_integration(s: &(impl UsesItems + UsesSecrets), who: &Principal) -> Result<()> {
    let account = account_of(s, who).await?;
    connections::delete(s.secrets(), &account.id, Slot::Integration).await?;
    set_integration_record(s, &account.id, None).await?;
    Ok(())
}
