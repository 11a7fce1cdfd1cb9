//! The route catalogue: every HTTP route Steward serves, which function owns it, and what
//! it answers. Routers bind handlers to these entries; the OpenAPI document is built from
//! them; tests check that the two never drift apart.

/// The Lambda functions of the design card, plus routes only `steward serve` has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
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
    pub const ALL: &[Function] = <Function as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What an answer carries.
#[derive(Debug, Clone, Copy)]
pub enum Content {
    /// JSON of a schema (the type's `SchemaFn`).
    Json(SchemaFn),
    /// A file download of this media type.
    File(&'static str),
    /// No body.
    None,
}

/// A response header an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The resource's version, for `If-Match`.
    ETag,
    /// Where the created resource, or the next page, is.
    Location,
}

/// One answer a route gives: its status, body and headers.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub status: u16,
    pub description: &'static str,
    pub content: Content,
    pub headers: &'static [Header],
    /// Operations this answer feeds: OpenAPI links, which clients and schemathesis's
    /// stateful tests follow.
    pub links: &'static [Feeds],
}

/// Operations whose path parameter `{id}` is `value`, a runtime expression into the
/// answer (`$response.body#/id`).
#[derive(Debug, Clone, Copy)]
pub struct Feeds {
    pub operation_ids: &'static [&'static str],
    pub value: &'static str,
}

/// The operations that act on the thing whose id is the answer's `/id`.
pub const fn by_id(operation_ids: &'static [&'static str]) -> Feeds {
    Feeds {
        operation_ids,
        value: "$response.body#/id",
    }
}

impl Reply {
    pub const fn with(self, headers: &'static [Header]) -> Self {
        Reply { headers, ..self }
    }
    pub const fn feeding(self, links: &'static [Feeds]) -> Self {
        Reply { links, ..self }
    }
}

/// An answer with a JSON body of type `T`.
pub const fn json<T: JsonSchema>(status: u16, description: &'static str) -> Reply {
    Reply {
        status,
        description,
        content: Content::Json(schema_of::<T>),
        headers: &[],
        links: &[],
    }
}

pub const NO_CONTENT: Reply = Reply {
    status: 204,
    description: "Done",
    content: Content::None,
    headers: &[],
    links: &[],
};

pub const fn redirect(description: &'static str) -> Reply {
    Reply {
        status: 302,
        description,
        content: Content::None,
        headers: &[Header::Location],
        links: &[],
    }
}

/// The type of a path, query or header parameter.
#[derive(Debug, Clone, Copy)]
pub enum ParamType {
    Text,
    /// A whole number in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// RFC 3339.
    DateTime,
    Bool,
    /// One of these words.
    Words(&'static [&'static str]),
    /// Text matching this regular expression.
    Pattern(&'static str),
    /// One of Steward's ids: a ULID (26 Crockford base32 characters).
    Ulid,
    /// The schema of a Rust type (an enum, usually).
    Of(SchemaFn),
}

/// A path, query or header parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
    pub description: &'static str,
    pub ty: ParamType,
}

/// An optional parameter; `.required()` makes it required.
pub const fn param(name: &'static str, ty: ParamType, description: &'static str) -> Param {
    Param {
        name,
        required: false,
        description,
        ty,
    }
}

impl Param {
    pub const fn required(self) -> Self {
        Param {
            required: true,
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub function: Function,
    pub method: &'static str,
    /// `{name}` marks a path parameter; `{name+}` one that takes the rest of the path.
    pub path: &'static str,
    /// Also the generated client's method name.
    pub operation_id: &'static str,
    pub summary: &'static str,
    /// Who may call it; the router enforces it before the handler runs.
    pub access: Access,
    /// Path parameters that are more than text (others are non-empty text).
    pub path_params: &'static [Param],
    pub query: &'static [Param],
    /// Request headers the handler reads (`If-Match`).
    pub headers: &'static [Param],
    /// The JSON request body's type; the door checks bodies against it.
    pub body: Option<SchemaFn>,
    /// The body may be left out (an action whose every field has a default).
    pub body_optional: bool,
    /// Every successful answer; errors are problem+json (documented once for all).
    pub replies: &'static [Reply],
}

const fn route(
    function: Function,
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        function,
        method,
        path,
        operation_id,
        summary,
        access: Access::Public,
        path_params: &[],
        query: &[],
        headers: &[],
        body: None,
        body_optional: false,
        replies: &[],
    }
}

impl RouteSpec {
    /// Needs a signed-in member with `access`.
    const fn access(self, access: Access) -> Self {
        RouteSpec { access, ..self }
    }
    const fn path_params(self, path_params: &'static [Param]) -> Self {
        RouteSpec {
            path_params,
            ..self
        }
    }
    const fn query(self, query: &'static [Param]) -> Self {
        RouteSpec { query, ..self }
    }
    const fn headers(self, headers: &'static [Param]) -> Self {
        RouteSpec { headers, ..self }
    }
    const fn body(self, body: SchemaFn) -> Self {
        RouteSpec {
            body: Some(body),
            ..self
        }
    }
    /// A body of this type, or none at all (its defaults).
    const fn optional_body(self, body: SchemaFn) -> Self {
        RouteSpec {
            body: Some(body),
            body_optional: true,
            ..self
        }
    }
    const fn replies(self, replies: &'static [Reply]) -> Self {
        RouteSpec { replies, ..self }
    }

    /// Whether the request changes state (and so needs `X-CSRF-Token` with a session).
    pub fn is_unsafe(&self) -> bool {
        !matches!(self.method, "GET" | "HEAD" | "OPTIONS")
    }
}

use crate::app::Health;
use crate::automation::{Activated, ActivationInput, AutomationView, HookInput};
use crate::crm::ObjectSchema;
use crate::crm_schema::CrmObjects;
pub use crate::identity::Access;
use crate::identity::policy::{AccountPolicy, PolicyInput};
use crate::identity::team::{
    CrmUserView, IntegrationRequest, IntegrationView, InviteRequest, MemberPatch, MemberView,
    TeamView,
};
use crate::identity::{Me, Permission};
use crate::modules::Module;
use crate::recipes::{
    Accepted, Recipe, RecipeInput, RecipePage, RecipeRun, RecipeRunPage, RecipeStartInput,
};
use crate::runs::{Run, RunPage, StartInput};
use crate::schedules::{Schedule, ScheduleInput, SchedulePage, SchedulePreview};
use crate::schema::{SchemaFn, schema_of};
use crate::templates::{Template, TemplateInput, TemplatePage};
use Function::*;
use ParamType::*;
use schemars::JsonSchema;
use serde_json::Value;

const READ: Access = Access::Module(Permission::Read);
const WRITE: Access = Access::Module(Permission::Write);

const LIMIT: Param = param("limit", Int { min: 1, max: 100 }, "page size (default 50)");
const CURSOR: Param = param("cursor", Text, "the previous page's `cursor`");
const CRM: Param = param(
    "crm",
    Words(&["hubspot", "salesforce"]),
    "the CRM to sign in with",
)
.required();
const ULID: ParamType = Ulid;
const TEMPLATE_ID: &[Param] = &[param("id", ULID, "the template's id").required()];
const RUN_ID: &[Param] = &[param("id", ULID, "the Run ID").required()];
const RECIPE_ID: &[Param] = &[param("id", ULID, "the recipe's id").required()];
const SCHEDULE_ID: &[Param] = &[param("id", ULID, "the schedule's id").required()];
const INVITATION_ID: &[Param] = &[param("id", ULID, "the invitation's id").required()];
const IF_MATCH: Param = param(
    "If-Match",
    Pattern(r#"^(W/)?"?[0-9]{1,19}"?$"#),
    "the version you read (the ETag), e.g. \"3\"",
);

const HEALTH: &[Reply] = &[json::<Health>(200, "Up, with the adapters in use")];
const A_TEMPLATE: &[Reply] = &[json::<Template>(200, "The template").with(&[Header::ETag])];
const A_RECIPE: &[Reply] = &[json::<Recipe>(200, "The recipe").with(&[Header::ETag])];
const RECIPE_OPS: Feeds = by_id(&[
    "recipes_get",
    "recipes_update",
    "recipes_delete",
    "recipes_run",
]);
const A_SCHEDULE: &[Reply] = &[json::<Schedule>(200, "The schedule")];
const A_POLICY: &[Reply] = &[json::<AccountPolicy>(200, "The policy").with(&[Header::ETag])];
const A_RUN_STARTED: &[Reply] = &[json::<Run>(202, "Queued: follow it at `Location`")
    .with(&[Header::Location])
    .feeding(&[by_id(&[
        "runs_get",
        "runs_csv",
        "runs_cancel",
        "runs_revert",
        "runs_apply",
    ])])];
const TEMPLATE_OPS: Feeds = by_id(&[
    "templates_get",
    "templates_update",
    "templates_delete",
    "templates_copy",
]);

/// The callback's one answer, a redirect, and every refusal code it may carry (a test
/// holds this list to `identity::login::Refusal`).
pub const SIGN_IN_OUTCOMES: &str = "Signed in: to `return_to` (else `/`); an integration user connected: to `/settings/users?integration=connected`. \
Refused: to `/signin?error=<code>&crm=<crm>[&return_to=<path>]`, where `<code>` is one of `invalid_callback`, `expired`, `other_browser`, `app_blocked`, `consent_denied`, `crm_error`, `code_rejected`, `permission_missing`, `crm_unavailable`, `crm_unexpected`, `untrusted_address`, `inactive_user`, `not_invited`, `invitation_expired`, `wrong_account`";

/// An OpenAPI document: an object (described by the OpenAPI 3.1 specification).
pub type OpenApiDocument = serde_json::Map<String, serde_json::Value>;

pub const ROUTES: &[RouteSpec] = &[
    route(Auth, "GET", "/health", "health", "Liveness, version and the adapters in use")
        .replies(HEALTH),
    route(Auth, "GET", "/openapi.json", "openapi", "This API's OpenAPI 3.1 document")
        .replies(&[json::<OpenApiDocument>(200, "The document")]),
    route(Team, "GET", "/team/health", "team_health", "Health of the team function")
        .replies(HEALTH),
    route(
        Templates,
        "GET",
        "/templates/health",
        "templates_health",
        "Health of the templates function",
    )
    .replies(HEALTH),
    route(
        Templates,
        "GET",
        "/templates",
        "templates_list",
        "Templates of the modules you can read, a page at a time",
    )
    .access(Access::Member)
    .query(&[
        param("module", Of(schema_of::<Module>), "only this module's templates"),
        LIMIT,
        CURSOR,
    ])
    .replies(&[json::<TemplatePage>(200, "A page of templates")]),
    route(
        Templates,
        "POST",
        "/templates",
        "templates_create",
        "Save a template (write on its module); its config is checked against the CRM's schema",
    )
    .access(WRITE)
    .body(schema_of::<TemplateInput>)
    .replies(&[json::<Template>(201, "Saved")
        .with(&[Header::ETag, Header::Location])
        .feeding(&[TEMPLATE_OPS])]),
    route(
        Templates,
        "GET",
        "/templates/{id}",
        "templates_get",
        "One template, with its share link and version (ETag)",
    )
    .access(READ)
    .path_params(TEMPLATE_ID)
    .replies(A_TEMPLATE),
    route(
        Templates,
        "PUT",
        "/templates/{id}",
        "templates_update",
        "Replace a template; If-Match must carry the version read (409 when stale)",
    )
    .access(WRITE)
    .path_params(TEMPLATE_ID)
    .headers(&[IF_MATCH.required()])
    .body(schema_of::<TemplateInput>)
    .replies(A_TEMPLATE),
    route(
        Templates,
        "DELETE",
        "/templates/{id}",
        "templates_delete",
        "Delete a template (If-Match optional)",
    )
    .access(WRITE)
    .path_params(TEMPLATE_ID)
    .headers(&[IF_MATCH])
    .replies(&[NO_CONTENT]),
    route(
        Templates,
        "POST",
        "/templates/{id}/copy",
        "templates_copy",
        "Copy a template within the account",
    )
    .access(WRITE)
    .path_params(TEMPLATE_ID)
    .replies(&[json::<Template>(201, "The copy")
        .with(&[Header::ETag, Header::Location])
        .feeding(&[TEMPLATE_OPS])]),
    route(
        Templates,
        "GET",
        "/recipes",
        "recipes_list",
        "Recipes whose every step's module you can read, a page at a time",
    )
    .access(Access::Member)
    .query(&[LIMIT, CURSOR])
    .replies(&[json::<RecipePage>(200, "A page of recipes")]),
    route(
        Templates,
        "POST",
        "/recipes",
        "recipes_create",
        "Save a recipe: templates (any module but grid, one object) run in order on the same records; each step needs what running it needs (read for preview, write for apply)",
    )
    .access(WRITE)
    .body(schema_of::<RecipeInput>)
    .replies(&[json::<Recipe>(201, "Saved")
        .with(&[Header::ETag, Header::Location])
        .feeding(&[RECIPE_OPS])]),
    route(
        Templates,
        "GET",
        "/recipes/{id}",
        "recipes_get",
        "One recipe, with its version (ETag)",
    )
    .access(READ)
    .path_params(RECIPE_ID)
    .replies(A_RECIPE),
    route(
        Templates,
        "PUT",
        "/recipes/{id}",
        "recipes_update",
        "Replace a recipe; If-Match must carry the version read (409 when stale)",
    )
    .access(WRITE)
    .path_params(RECIPE_ID)
    .headers(&[IF_MATCH.required()])
    .body(schema_of::<RecipeInput>)
    .replies(A_RECIPE),
    route(
        Templates,
        "DELETE",
        "/recipes/{id}",
        "recipes_delete",
        "Delete a recipe (If-Match optional); automation calls for it then answer 404",
    )
    .access(WRITE)
    .path_params(RECIPE_ID)
    .headers(&[IF_MATCH])
    .replies(&[NO_CONTENT]),
    route(
        Templates,
        "POST",
        "/recipes/{id}/runs",
        "recipes_run",
        "Run a recipe now, as you, on all its object's records or on `{\"ids\": [...]}`: a recipe run whose steps are runs",
    )
    .access(WRITE)
    .path_params(RECIPE_ID)
    .optional_body(schema_of::<RecipeStartInput>)
    .replies(&[json::<RecipeRun>(202, "Started: follow it at `Location`")
        .with(&[Header::Location])
        .feeding(&[by_id(&["recipe_runs_get"])])]),
    route(
        Runs,
        "GET",
        "/recipe-runs",
        "recipe_runs_list",
        "Recipe runs, newest first (those whose every step's module you can read)",
    )
    .access(Access::Member)
    .query(&[
        param("recipe_id", ULID, "only this recipe's runs"),
        LIMIT,
        CURSOR,
    ])
    .replies(&[json::<RecipeRunPage>(200, "A page of recipe runs")]),
    route(
        Runs,
        "GET",
        "/recipe-runs/{id}",
        "recipe_runs_get",
        "One recipe run: its trigger, records, and each step's run (Run ID, status)",
    )
    .access(READ)
    .path_params(&[param("id", ULID, "the recipe run's id").required()])
    .replies(&[json::<RecipeRun>(200, "The recipe run")]),
    route(
        Runs,
        "POST",
        "/hooks/{crm}/recipes/{recipe_id}",
        "hooks_recipe",
        "The CRM's automation runs a recipe on the records it hands over. Signed (no session): X-Steward-Account, X-Steward-Timestamp (Unix seconds, within 5 minutes) and X-Steward-Signature `v1=<hex HMAC-SHA256(secret, \"{timestamp}:{METHOD}:{path}:{sha256_hex(body)}\")>` with the account's signing secret (docs/recipes.md). Idempotent per `invocation_id`; calls within the account's window join one recipe run. 401 bad signature or stale timestamp, 403 automation not active, 404 no such recipe in the account, 429 the account's API reserve is reached",
    )
    .access(Access::Signed)
    .path_params(&[
        param(
            "crm",
            Words(&["hubspot", "salesforce"]),
            "the CRM whose automation calls",
        )
        .required(),
        param("recipe_id", ULID, "the recipe to run").required(),
    ])
    .headers(&[
        param("X-Steward-Account", Pattern(r"^(hubspot|salesforce):[A-Za-z0-9]{1,18}$"), "the account: `salesforce:<org id>` or `hubspot:<portal id>`").required(),
        param("X-Steward-Timestamp", Pattern(r"^[0-9]{1,12}$"), "Unix time of signing, in seconds").required(),
        param("X-Steward-Signature", Pattern(r"^v1=[0-9a-f]{64}(, ?v1=[0-9a-f]{64})*$"), "`v1=` and the lowercase hex HMAC-SHA256").required(),
    ])
    .body(schema_of::<HookInput>)
    .replies(&[json::<Accepted>(202, "Taken: the recipe run it started or joined (`duplicate`: delivered before, nothing added)")]),
    route(
        Runs,
        "POST",
        "/hooks/hubspot/workflow-action",
        "hooks_hubspot_action",
        "Steward's HubSpot custom workflow action (registered with `steward hubspot register-action`): signed by HubSpot with Steward's app secret (X-HubSpot-Signature-v3, else v2). Runs the recipe in `inputFields.recipe_id` on the enrolled record and answers `hs_execution_state: BLOCK`; the recipe run completes the action (SUCCESS or FAIL_CONTINUE) when it ends",
    )
    .access(Access::Signed)
    .replies(&[json::<Value>(200, "HubSpot's answer shape: `{\"outputFields\": {\"hs_execution_state\": \"BLOCK\", \"steward_run_id\": ...}}`")]),
    route(
        Runs,
        "POST",
        "/hooks/hubspot/workflow-action/options",
        "hooks_hubspot_options",
        "The recipes a HubSpot workflow's action may run (the action's `optionsUrl`), signed by HubSpot",
    )
    .access(Access::Signed)
    .replies(&[json::<Value>(200, "`{\"options\": [{\"label\", \"value\", \"description\"}]}`")]),
    route(
        Team,
        "GET",
        "/account/automation",
        "automation_get",
        "CRM automation (Salesforce Flows, HubSpot workflows): whether it is active, the endpoint and headers the CRM side needs (owners and admins)",
    )
    .access(Access::Admin)
    .replies(&[json::<AutomationView>(200, "The account's automation settings")]),
    route(
        Team,
        "POST",
        "/account/automation/activate",
        "automation_activate",
        "Activate CRM automation (the Owner only): a signing secret is made and shown this once",
    )
    .access(Access::Owner)
    .optional_body(schema_of::<ActivationInput>)
    .replies(&[json::<Activated>(200, "Active, with the signing secret")]),
    route(
        Team,
        "POST",
        "/account/automation/rotate",
        "automation_rotate",
        "A new signing secret (the Owner only); the previous one still signs for an hour",
    )
    .access(Access::Owner)
    .replies(&[json::<Activated>(200, "The new signing secret")]),
    route(
        Team,
        "POST",
        "/account/automation/deactivate",
        "automation_deactivate",
        "Deactivate CRM automation (the Owner only): every later call is refused (403)",
    )
    .access(Access::Owner)
    .replies(&[json::<AutomationView>(200, "Inactive")]),
    route(Runs, "GET", "/runs/health", "runs_health", "Health of the runs function")
        .replies(HEALTH),
    route(
        Runs,
        "POST",
        "/runs",
        "runs_start",
        "Start a run of a template (or a module config) in preview (read) or apply (write) mode",
    )
    .access(READ)
    .body(schema_of::<StartInput>)
    .replies(A_RUN_STARTED),
    route(
        Templates,
        "GET",
        "/crm/objects",
        "crm_objects",
        "The objects of the account's CRM that modules run on (cached a few minutes)",
    )
    .access(Access::Member)
    .replies(&[json::<CrmObjects>(200, "The CRM's objects")]),
    route(
        Templates,
        "GET",
        "/crm/objects/{object}/fields",
        "crm_object_fields",
        "An object's fields: name, label, type, writable, picklist options (cached a few minutes; 404 for an object the CRM lacks)",
    )
    .access(Access::Member)
    .path_params(&[param("object", Text, "the CRM object (`contacts`, `Contact`, ...)").required()])
    .replies(&[json::<ObjectSchema>(200, "The object's fields")]),
    route(
        Runs,
        "GET",
        "/runs",
        "runs_list",
        "Activity Tracker: runs of the modules you can read, newest first",
    )
    .access(Access::Member)
    .query(&[
        param("run_id", Text, "only this Run ID"),
        param("module", Of(schema_of::<Module>), "only this module's runs"),
        param(
            "member",
            Text,
            "only runs started by this member (CRM user id or email)",
        ),
        param(
            "status",
            Of(schema_of::<crate::runs::Status>),
            "only runs in this status",
        ),
        param(
            "trigger",
            Of(schema_of::<crate::runs::Trigger>),
            "only runs started this way",
        ),
        param("from", DateTime, "only runs created at or after this time"),
        param("to", DateTime, "only runs created before this time"),
        LIMIT,
        CURSOR,
    ])
    .replies(&[json::<RunPage>(200, "A page of runs")]),
    route(
        Runs,
        "GET",
        "/runs/{id}",
        "runs_get",
        "One run: status, live counts, what can be reverted",
    )
    .access(READ)
    .path_params(RUN_ID)
    .replies(&[json::<Run>(200, "The run")]),
    route(
        Runs,
        "GET",
        "/runs/{id}/csv",
        "runs_csv",
        "The run's audit CSV: a redirect to a download link valid for 15 minutes",
    )
    .access(READ)
    .path_params(RUN_ID)
    .replies(&[redirect("To the download link")]),
    route(
        Runs,
        "GET",
        "/runs/{id}/rows",
        "runs_rows",
        "The run's plan or audit rows as JSON, a page at a time (409 until its CSV is written)",
    )
    .access(READ)
    .path_params(RUN_ID)
    .query(&[
        param("limit", Int { min: 1, max: 500 }, "page size (default 100)"),
        CURSOR,
        param(
            "action",
            Of(schema_of::<crate::modules::csv::RowAction>),
            "only rows of this action",
        ),
        param(
            "outcome",
            Of(schema_of::<crate::modules::csv::Status>),
            "only rows with this outcome",
        ),
    ])
    .replies(&[json::<crate::runs::rows::RunRowsPage>(200, "A page of rows")]),
    route(
        Runs,
        "POST",
        "/grid/records",
        "grid_records",
        "The grid: a page of an object's records with chosen columns and a filter (read on grid)",
    )
    .access(READ)
    .body(schema_of::<crate::runs::grid_view::GridRecordsRequest>)
    .replies(&[json::<crate::runs::grid_view::GridRecordsPage>(200, "A page of records")]),
    route(
        Runs,
        "POST",
        "/runs/{id}/cancel",
        "runs_cancel",
        "Stop a run at its next batch boundary",
    )
    .access(WRITE)
    .path_params(RUN_ID)
    .replies(&[json::<Run>(202, "Cancelling: the run stops at its next batch boundary")]),
    route(
        Runs,
        "POST",
        "/runs/{id}/revert",
        "runs_revert",
        "Start a run that restores the before-values of the fields an apply run changed. Once per run; 409 with the reason, starting nothing, when nothing of the run can be reverted (its `revertible.rows` is 0)",
    )
    .access(WRITE)
    .path_params(RUN_ID)
    .replies(A_RUN_STARTED),
    route(
        Runs,
        "POST",
        "/runs/{id}/apply",
        "runs_apply",
        "Apply a preview as reviewed: a run of its stored plan less the groups and records left out (never planned again); records changed since the preview are CONFLICT rows, not written. Once per preview",
    )
    .access(WRITE)
    .path_params(RUN_ID)
    .body(schema_of::<crate::runs::apply_preview::ApplyInput>)
    .replies(A_RUN_STARTED),
    route(
        Exports,
        "GET",
        "/exports/health",
        "exports_health",
        "Health of the exports function",
    )
    .replies(HEALTH),
    route(
        Exports,
        "GET",
        "/schedules",
        "schedules_list",
        "Schedules of the modules you can read, with their next fire times",
    )
    .access(Access::Member)
    .query(&[LIMIT, CURSOR])
    .replies(&[json::<SchedulePage>(200, "A page of schedules")]),
    route(
        Exports,
        "POST",
        "/schedules",
        "schedules_create",
        "Schedule a template (read on its module for preview, write for apply): an EventBridge expression, time zone, notify",
    )
    .access(READ)
    .body(schema_of::<ScheduleInput>)
    .replies(&[json::<Schedule>(201, "Scheduled")
        .with(&[Header::Location])
        .feeding(&[by_id(&[
            "schedules_get",
            "schedules_update",
            "schedules_delete",
            "schedules_pause",
            "schedules_resume",
        ])])]),
    route(
        Exports,
        "GET",
        "/schedules/preview",
        "schedules_preview",
        "The next 5 fire times of an expression in a time zone, before saving a schedule (a 400 names `expression` or `timezone` when wrong)",
    )
    .access(Access::Member)
    .query(&[
        param(
            "expression",
            Text,
            "`rate(1 day)`, `cron(0 9 ? * MON-FRI *)` or `at(2026-07-01T09:00:00)`",
        )
        .required(),
        param("timezone", Text, "IANA time zone (default UTC)"),
    ])
    .replies(&[json::<SchedulePreview>(200, "The expression as stored and its next fire times")]),
    route(
        Exports,
        "GET",
        "/schedules/{id}",
        "schedules_get",
        "One schedule, its last fire and next 5 fire times",
    )
    .access(READ)
    .path_params(SCHEDULE_ID)
    .replies(A_SCHEDULE),
    route(
        Exports,
        "PUT",
        "/schedules/{id}",
        "schedules_update",
        "Replace a schedule (Steward's item and the Scheduler's schedule stay in step)",
    )
    .access(READ)
    .path_params(SCHEDULE_ID)
    .body(schema_of::<ScheduleInput>)
    .replies(A_SCHEDULE),
    route(
        Exports,
        "DELETE",
        "/schedules/{id}",
        "schedules_delete",
        "Delete a schedule and its Scheduler schedule",
    )
    .access(READ)
    .path_params(SCHEDULE_ID)
    .replies(&[NO_CONTENT]),
    route(
        Exports,
        "POST",
        "/schedules/{id}/pause",
        "schedules_pause",
        "Stop firing until resumed",
    )
    .access(READ)
    .path_params(SCHEDULE_ID)
    .replies(A_SCHEDULE),
    route(
        Exports,
        "POST",
        "/schedules/{id}/resume",
        "schedules_resume",
        "Fire again",
    )
    .access(READ)
    .path_params(SCHEDULE_ID)
    .replies(A_SCHEDULE),
    route(
        Auth,
        "GET",
        "/auth/{crm}/login",
        "auth_login",
        "Sign in with HubSpot or Salesforce: redirects to the CRM's consent page",
    )
    .path_params(&[CRM])
    .query(&[
        param(
            "purpose",
            Words(&["login", "integration"]),
            "`login` (default), or `integration`: an owner or admin connects the integration user",
        ),
        param(
            "return_to",
            Text,
            "the console path to land on once signed in (`/modules/merge?template=...`): a path of this origin (one leading `/`, not `//` or `/\\`, no control characters, at most 2000 characters); anything else is ignored and the sign-in lands on `/`",
        ),
    ])
    .replies(&[redirect("To the CRM's consent page")]),
    route(
        Auth,
        "GET",
        "/auth/{crm}/callback",
        "auth_callback",
        "Where the CRM sends the browser back: signs in, or sends the browser to the console's sign-in page naming why not",
    )
    .path_params(&[CRM])
    .query(&[
        param("code", Text, "the CRM's authorization code"),
        param("state", Text, "the sign-in's state"),
        param("error", Text, "the CRM's error code, instead of a code"),
        param("error_description", Text, "the CRM's error text"),
    ])
    .replies(&[redirect(SIGN_IN_OUTCOMES)]),
    route(Auth, "POST", "/auth/logout", "auth_logout", "Ends this session")
        .access(Access::Member)
        .replies(&[NO_CONTENT]),
    route(
        Auth,
        "GET",
        "/me",
        "me",
        "The signed-in member, their account, role, permissions and CSRF token",
    )
    .access(Access::Member)
    .replies(&[json::<Me>(200, "You")]),
    route(
        Team,
        "GET",
        "/team/members",
        "team_members",
        "Members (invited, active, removed) and the integration user's state",
    )
    .access(Access::Member)
    .replies(&[json::<TeamView>(200, "The team")]),
    route(
        Team,
        "PATCH",
        "/team/members/{id}",
        "team_member_update",
        "Change a member's role (`owner` transfers ownership) or some module permissions",
    )
    .access(Access::Admin)
    .body(schema_of::<MemberPatch>)
    .replies(&[json::<MemberView>(200, "The member")]),
    route(
        Team,
        "DELETE",
        "/team/members/{id}",
        "team_member_remove",
        "Remove a member; their sessions end at once",
    )
    .access(Access::Admin)
    .query(&[param(
        "purge",
        Bool,
        "`true` also erases their name, email and CRM connection",
    )])
    .replies(&[NO_CONTENT]),
    route(
        Team,
        "GET",
        "/team/crm-users",
        "team_crm_users",
        "Active CRM users who are not members yet",
    )
    .access(Access::Admin)
    .replies(&[json::<Vec<CrmUserView>>(200, "CRM users to invite")]),
    route(
        Team,
        "POST",
        "/team/invitations",
        "team_invite",
        "Invite a CRM user: they get a \"Join the team\" email",
    )
    .access(Access::Admin)
    .body(schema_of::<InviteRequest>)
    .replies(&[json::<MemberView>(201, "Invited").feeding(&[
        by_id(&["team_member_update", "team_member_remove"]),
        Feeds {
            operation_ids: &["team_invitation_resend", "team_invitation_cancel"],
            value: "$response.body#/invitation/id",
        },
    ])]),
    route(
        Team,
        "POST",
        "/team/invitations/{id}/resend",
        "team_invitation_resend",
        "Send an invitation again (renews its expiry)",
    )
    .access(Access::Admin)
    .path_params(INVITATION_ID)
    .replies(&[json::<MemberView>(200, "Sent again")]),
    route(
        Team,
        "DELETE",
        "/team/invitations/{id}",
        "team_invitation_cancel",
        "Cancel an invitation",
    )
    .access(Access::Admin)
    .path_params(INVITATION_ID)
    .replies(&[NO_CONTENT]),
    route(
        Team,
        "PUT",
        "/team/integration",
        "team_integration_set",
        "Make a member's CRM connection the account's integration connection",
    )
    .access(Access::Admin)
    .body(schema_of::<IntegrationRequest>)
    .replies(&[json::<IntegrationView>(200, "The integration user")]),
    route(
        Team,
        "DELETE",
        "/team/integration",
        "team_integration_clear",
        "Disconnect the integration user",
    )
    .access(Access::Admin)
    .replies(&[NO_CONTENT]),
    route(
        Team,
        "GET",
        "/account/policy",
        "account_policy_get",
        "The account's policy on what leaves it: the domains run reports may be sent to (none listed: any address) and the least time between a schedule's fires (default 15 minutes). Any member may read it",
    )
    .access(Access::Member)
    .replies(A_POLICY),
    route(
        Team,
        "PUT",
        "/account/policy",
        "account_policy_set",
        "Replace the account's policy (owners and admins; If-Match must carry the version read, 409 when stale). What was saved before stays: a report is not sent to a recipient the policy no longer allows, and a schedule that now fires too often is skipped, each saying so on the run or schedule",
    )
    .access(Access::Admin)
    .headers(&[IF_MATCH.required()])
    .body(schema_of::<PolicyInput>)
    .replies(A_POLICY),
    route(
        Local,
        "GET",
        "/blobs/{key+}",
        "blob_download",
        "Download a file by a signed, expiring link (steward serve only; S3 presigned URLs on AWS)",
    )
    .query(&[
        param(
            "expires",
            Int {
                min: 0,
                max: 253_402_300_799,
            },
            "Unix time the link stops working",
        ).required(),
        param("name", Text, "file name to download as"),
        param("sig", Text, "signature over key, expiry and name").required(),
    ])
    .replies(&[Reply {
        status: 200,
        description: "The file (a run's audit CSV: the only files Steward links to)",
        content: Content::File("text/csv"),
        headers: &[],
        links: &[],
    }]),
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
    fn the_callback_documents_every_refusal_code() {
        for r in crate::identity::login::Refusal::ALL {
            assert!(
                SIGN_IN_OUTCOMES.contains(&format!("`{}`", r.code())),
                "{} is not documented",
                r.code()
            );
        }
        let listed = SIGN_IN_OUTCOMES.matches("`, `").count() + 1;
        assert_eq!(listed, crate::identity::login::Refusal::ALL.len());
    }

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
