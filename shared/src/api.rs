//! The route catalogue: every HTTP route Steward serves, which function owns it, and what
//! it answers. Routers bind handlers to these entries; the OpenAPI document is built from
//! them; tests check that the two never drift apart.

/// The Lambda functions of the design card, plus routes only `steward serve` has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Auth,
    Team,
    Templates,
    Runs,
    Exports,
    /// Served only by `steward serve` (e.g. signed blob downloads; S3 does this on AWS).
    Local,
}

impl Function {
    pub const ALL: [Function; 6] = [
        Function::Auth,
        Function::Team,
        Function::Templates,
        Function::Runs,
        Function::Exports,
        Function::Local,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Auth => "auth",
            Function::Team => "team",
            Function::Templates => "templates",
            Function::Runs => "runs",
            Function::Exports => "exports",
            Function::Local => "local",
        }
    }
}

/// What a successful answer carries, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// JSON described by a schema in `openapi::components`.
    Json(&'static str),
    /// A file download.
    File(&'static str),
    /// A 302 to another page (sign-in).
    Redirect,
    /// 204 No Content.
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub function: Function,
    pub method: &'static str,
    /// `{name}` marks a path parameter; `{name+}` one that takes the rest of the path.
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub answer: Answer,
    /// Query parameters: (name, required, description).
    pub query: &'static [(&'static str, bool, &'static str)],
    /// Who may call it; the router enforces it before the handler runs.
    pub access: Access,
}

const fn route(
    function: Function,
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    answer: Answer,
) -> RouteSpec {
    RouteSpec {
        function,
        method,
        path,
        operation_id,
        summary,
        answer,
        query: &[],
        access: Access::Public,
    }
}

/// An entry that needs a signed-in member with `access`.
const fn guarded(access: Access, spec: RouteSpec) -> RouteSpec {
    RouteSpec { access, ..spec }
}

pub use crate::identity::Access;
use crate::identity::Permission;
use Answer::*;
use Function::*;

pub const ROUTES: &[RouteSpec] = &[
    route(
        Auth,
        "GET",
        "/health",
        "health",
        "Liveness, version and the adapters in use",
        Json("Health"),
    ),
    route(
        Auth,
        "GET",
        "/openapi.json",
        "openapi",
        "This API's OpenAPI 3.1 document",
        Json("OpenApi"),
    ),
    route(
        Team,
        "GET",
        "/team/health",
        "team_health",
        "Health of the team function",
        Json("Health"),
    ),
    route(
        Templates,
        "GET",
        "/templates/health",
        "templates_health",
        "Health of the templates function",
        Json("Health"),
    ),
    RouteSpec {
        query: &[
            (
                "module",
                false,
                "only this module's templates (merge, bulk, transform, grid, validate)",
            ),
            ("limit", false, "page size, 1 to 100 (default 50)"),
            ("cursor", false, "the previous page's cursor"),
        ],
        ..guarded(
            Access::Member,
            route(
                Templates,
                "GET",
                "/templates",
                "templates_list",
                "Templates of the modules you can read, a page at a time",
                Json("TemplatePage"),
            ),
        )
    },
    guarded(
        Access::Module(Permission::Write),
        route(
            Templates,
            "POST",
            "/templates",
            "templates_create",
            "Save a template (write on its module)",
            Json("Template"),
        ),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Templates,
            "GET",
            "/templates/{id}",
            "templates_get",
            "One template, with its share link and version (ETag)",
            Json("Template"),
        ),
    ),
    guarded(
        Access::Module(Permission::Write),
        route(
            Templates,
            "PUT",
            "/templates/{id}",
            "templates_update",
            "Replace a template; If-Match must carry the version read (409 when stale)",
            Json("Template"),
        ),
    ),
    guarded(
        Access::Module(Permission::Write),
        route(
            Templates,
            "DELETE",
            "/templates/{id}",
            "templates_delete",
            "Delete a template (If-Match optional)",
            Empty,
        ),
    ),
    guarded(
        Access::Module(Permission::Write),
        route(
            Templates,
            "POST",
            "/templates/{id}/copy",
            "templates_copy",
            "Copy a template within the account",
            Json("Template"),
        ),
    ),
    route(
        Runs,
        "GET",
        "/runs/health",
        "runs_health",
        "Health of the runs function",
        Json("Health"),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Runs,
            "POST",
            "/runs",
            "runs_start",
            "Start a run of a template (or a module config) in preview (read) or apply (write) mode: 202 with the Run ID",
            Json("Run"),
        ),
    ),
    RouteSpec {
        query: &[
            ("run_id", false, "only this Run ID"),
            ("module", false, "only this module's runs"),
            (
                "member",
                false,
                "only runs started by this member (CRM user id or email)",
            ),
            (
                "status",
                false,
                "queued, waiting, running, succeeded, partial, failed or cancelled",
            ),
            ("trigger", false, "manual, schedule or revert"),
            (
                "from",
                false,
                "only runs created at or after this time (RFC 3339)",
            ),
            ("to", false, "only runs created before this time (RFC 3339)"),
            ("limit", false, "page size, 1 to 100 (default 50)"),
            ("cursor", false, "the previous page's cursor"),
        ],
        ..guarded(
            Access::Member,
            route(
                Runs,
                "GET",
                "/runs",
                "runs_list",
                "Activity Tracker: runs of the modules you can read, newest first",
                Json("RunPage"),
            ),
        )
    },
    guarded(
        Access::Module(Permission::Read),
        route(
            Runs,
            "GET",
            "/runs/{id}",
            "runs_get",
            "One run: status, live counts, what can be reverted",
            Json("Run"),
        ),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Runs,
            "GET",
            "/runs/{id}/csv",
            "runs_csv",
            "The run's audit CSV: a redirect to a download link valid for 15 minutes",
            Redirect,
        ),
    ),
    RouteSpec {
        query: &[
            ("limit", false, "page size, 1 to 500 (default 100)"),
            ("cursor", false, "the previous page's cursor"),
            (
                "action",
                false,
                "only rows of this action: update, archive, create, merge, convert_lead or flag",
            ),
            (
                "outcome",
                false,
                "only rows with this outcome: applied, failed or skipped",
            ),
        ],
        ..guarded(
            Access::Module(Permission::Read),
            route(
                Runs,
                "GET",
                "/runs/{id}/rows",
                "runs_rows",
                "The run's plan or audit rows as JSON, a page at a time (409 until its CSV is written)",
                Json("RunRowsPage"),
            ),
        )
    },
    guarded(
        Access::Module(Permission::Read),
        route(
            Runs,
            "POST",
            "/grid/records",
            "grid_records",
            "The grid: a page of an object's records with chosen columns and a filter (read on grid)",
            Json("GridRecordsPage"),
        ),
    ),
    guarded(
        Access::Module(Permission::Write),
        route(
            Runs,
            "POST",
            "/runs/{id}/cancel",
            "runs_cancel",
            "Stop a run at its next batch boundary",
            Json("Run"),
        ),
    ),
    guarded(
        Access::Module(Permission::Write),
        route(
            Runs,
            "POST",
            "/runs/{id}/revert",
            "runs_revert",
            "Start a run that restores the before-values of the fields an apply run changed",
            Json("Run"),
        ),
    ),
    route(
        Exports,
        "GET",
        "/exports/health",
        "exports_health",
        "Health of the exports function",
        Json("Health"),
    ),
    RouteSpec {
        query: &[
            ("limit", false, "page size, 1 to 100 (default 50)"),
            ("cursor", false, "the previous page's cursor"),
        ],
        ..guarded(
            Access::Member,
            route(
                Exports,
                "GET",
                "/schedules",
                "schedules_list",
                "Schedules of the modules you can read, with their next fire times",
                Json("SchedulePage"),
            ),
        )
    },
    guarded(
        Access::Module(Permission::Read),
        route(
            Exports,
            "POST",
            "/schedules",
            "schedules_create",
            "Schedule a template (read on its module for preview, write for apply): an EventBridge expression, time zone, notify",
            Json("Schedule"),
        ),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Exports,
            "GET",
            "/schedules/{id}",
            "schedules_get",
            "One schedule, its last fire and next 5 fire times",
            Json("Schedule"),
        ),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Exports,
            "PUT",
            "/schedules/{id}",
            "schedules_update",
            "Replace a schedule (Steward's item and the Scheduler's schedule stay in step)",
            Json("Schedule"),
        ),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Exports,
            "DELETE",
            "/schedules/{id}",
            "schedules_delete",
            "Delete a schedule and its Scheduler schedule",
            Empty,
        ),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Exports,
            "POST",
            "/schedules/{id}/pause",
            "schedules_pause",
            "Stop firing until resumed",
            Json("Schedule"),
        ),
    ),
    guarded(
        Access::Module(Permission::Read),
        route(
            Exports,
            "POST",
            "/schedules/{id}/resume",
            "schedules_resume",
            "Fire again",
            Json("Schedule"),
        ),
    ),
    RouteSpec {
        query: &[(
            "purpose",
            false,
            "`login` (default) or `integration`: an owner or admin connects the integration user",
        )],
        ..route(
            Auth,
            "GET",
            "/auth/{crm}/login",
            "auth_login",
            "Sign in with HubSpot or Salesforce: redirects to the CRM's consent page",
            Redirect,
        )
    },
    RouteSpec {
        query: &[
            ("code", false, "the CRM's authorization code"),
            ("state", false, "the sign-in's state"),
            ("error", false, "the CRM's error code, instead of a code"),
            ("error_description", false, "the CRM's error text"),
        ],
        ..route(
            Auth,
            "GET",
            "/auth/{crm}/callback",
            "auth_callback",
            "Where the CRM sends the browser back: signs in, or a page saying what to do",
            Redirect,
        )
    },
    guarded(
        Access::Member,
        route(
            Auth,
            "POST",
            "/auth/logout",
            "auth_logout",
            "Ends this session",
            Empty,
        ),
    ),
    guarded(
        Access::Member,
        route(
            Auth,
            "GET",
            "/me",
            "me",
            "The signed-in member, their account, role, permissions and CSRF token",
            Json("Me"),
        ),
    ),
    guarded(
        Access::Member,
        route(
            Team,
            "GET",
            "/team/members",
            "team_members",
            "Members (invited, active, removed) and the integration user's state",
            Json("Team"),
        ),
    ),
    guarded(
        Access::Admin,
        route(
            Team,
            "PATCH",
            "/team/members/{id}",
            "team_member_update",
            "Change a member's role (`owner` transfers ownership) or module permissions",
            Json("Member"),
        ),
    ),
    guarded(
        Access::Admin,
        RouteSpec {
            query: &[(
                "purge",
                false,
                "`true` also erases their name, email and CRM connection",
            )],
            ..route(
                Team,
                "DELETE",
                "/team/members/{id}",
                "team_member_remove",
                "Remove a member; their sessions end at once",
                Empty,
            )
        },
    ),
    guarded(
        Access::Admin,
        route(
            Team,
            "GET",
            "/team/crm-users",
            "team_crm_users",
            "Active CRM users who are not members yet",
            Json("CrmUsers"),
        ),
    ),
    guarded(
        Access::Admin,
        route(
            Team,
            "POST",
            "/team/invitations",
            "team_invite",
            "Invite a CRM user: they get a \"Join the team\" email",
            Json("Member"),
        ),
    ),
    guarded(
        Access::Admin,
        route(
            Team,
            "POST",
            "/team/invitations/{id}/resend",
            "team_invitation_resend",
            "Send an invitation again (renews its expiry)",
            Json("Member"),
        ),
    ),
    guarded(
        Access::Admin,
        route(
            Team,
            "DELETE",
            "/team/invitations/{id}",
            "team_invitation_cancel",
            "Cancel an invitation",
            Empty,
        ),
    ),
    guarded(
        Access::Admin,
        route(
            Team,
            "PUT",
            "/team/integration",
            "team_integration_set",
            "Make a member's CRM connection the account's integration connection",
            Json("Integration"),
        ),
    ),
    guarded(
        Access::Admin,
        route(
            Team,
            "DELETE",
            "/team/integration",
            "team_integration_clear",
            "Disconnect the integration user",
            Empty,
        ),
    ),
    RouteSpec {
        query: &[
            ("expires", true, "Unix time the link stops working"),
            ("name", false, "file name to download as"),
            ("sig", true, "signature over key, expiry and name"),
        ],
        ..route(
            Local,
            "GET",
            "/blobs/{key+}",
            "blob_download",
            "Download a file by a signed, expiring link (steward serve only; S3 presigned URLs on AWS)",
            File("application/octet-stream"),
        )
    },
];

pub fn routes_of(function: Function) -> impl Iterator<Item = &'static RouteSpec> {
    ROUTES.iter().filter(move |r| r.function == function)
}

pub fn by_operation(operation_id: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.operation_id == operation_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn operation_ids_and_routes_are_unique() {
        let mut ops = HashSet::new();
        let mut keys = HashSet::new();
        for r in ROUTES {
            assert!(
                ops.insert(r.operation_id),
                "duplicate operation {}",
                r.operation_id
            );
            assert!(
                keys.insert((r.method, r.path)),
                "duplicate route {} {}",
                r.method,
                r.path
            );
        }
    }
}
