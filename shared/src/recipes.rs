//! Recipes: a named, ordered list of templates (any module but grid), each with its mode,
//! run one after another on the same records. A recipe is run now by a member, or by the
//! CRM's own automation (a Salesforce Flow, a HubSpot workflow) on the record ids it hands
//! over (`automation`).
//!
//! Each invocation is a **recipe run** (`ACCT#<a>` / `RRUN#<id>`) whose steps are ordinary
//! runs, each with its own Run ID and CSV, linked to it (`Run::recipe`). The first step is
//! made with the recipe run; when a step ends the worker calls `step_ended`, which makes
//! the next step's run, or ends the recipe run: a step that failed or was cancelled stops
//! the later ones and the recipe run says why. Step run ids are derived from (recipe run,
//! step), so a repeated `step_ended` finds the run it already made.
//!
//! **Coalescing.** Calls from automation for one recipe within the account's window join
//! one recipe run while it is `gathering`: a pointer item `RGATHER#<recipe>` names the
//! open recipe run (taken with a version condition, so racing calls agree on one). Each
//! call writes its records in an item of its own beside the run (`RCALL#<run>#<call>`:
//! small writes that never contend) and reads the run again; the first step's worker waits
//! for the window to close, seals the run (`gathering` → `running`), then reads and marks
//! the calls it takes. A call that finds the run sealed after writing withdraws (a
//! version-conditioned delete) unless the worker took it, so each call is in exactly one
//! run. A run takes up to 2,000 records; calls beyond go on to a successor recipe run. A
//! Flow that fires once per record in a 10,000-record load thus makes a handful of runs,
//! each reading and writing its records in the CRM's largest batches.
//!
//! **Idempotency.** A call's invocation id (the CRM's own: HubSpot's `callbackId`, the
//! Apex action's payload id) is claimed in `HOOK#<sha256(crm:id)>` (kept a week) naming
//! its recipe run, and kept on the recipe run: a delivered-again call answers with the
//! recipe run it joined and adds nothing.

use crate::ids::AccountId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::{UsesClock, UsesCrm, UsesItems, UsesLinks, UsesRunQueue};
use crate::crm::CrmKind;
use crate::error::{Error, FieldError, Result};
use crate::identity::connections::Slot;
use crate::identity::{Grant, Need, Permission, Principal, authorize, store};
use crate::ids::{MemberId, RecipeId, RecipeRunId, RunId, TemplateId};
use crate::modules::{Module, ModuleConfig};
use crate::ports::items::{Condition, Item, Query};
use crate::runs::{self, Acting, Mode, NewRun, RecipeLink, Scope, Status, Trigger};

pub const MAX_STEPS: usize = 10;
pub const MAX_NAME_CHARS: usize = 200;
/// How long a claimed invocation id is remembered.
const CLAIM_DAYS: i64 = 7;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    pub template_id: String,
    pub mode: Mode,
}

/// What a client sends to create or replace a recipe.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipeInput {
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    /// Run in this order, on the same records; 1 to 10.
    #[schemars(length(min = 1, max = 10))]
    pub steps: Vec<StepInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecipeStep {
    pub template_id: TemplateId,
    pub template_name: String,
    pub module: Module,
    pub mode: Mode,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Recipe {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub steps: Vec<RecipeStep>,
    /// The CRM object every step works on (the records handed to it are of this object).
    pub object: String,
    pub created_by: MemberId,
    pub created_by_email: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: MemberId,
    pub updated_at: DateTime<Utc>,
    /// Send it back in `If-Match` to update or delete.
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecipePage {
    pub recipes: Vec<Recipe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipeRunStatus {
    /// Taking more records from automation calls until its window closes.
    Gathering,
    Running,
    Succeeded,
    /// Every step ran; some records failed in some step.
    Partial,
    /// A step failed or was cancelled (or could not start): the later ones did not run.
    Failed,
}

impl RecipeRunStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RecipeRunStatus::Succeeded | RecipeRunStatus::Partial | RecipeRunStatus::Failed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepRun {
    pub template_id: TemplateId,
    pub template_name: String,
    pub module: Module,
    pub mode: Mode,
    /// The step's run, once made.
    pub run_id: Option<RunId>,
    /// The step's run's status once it ended.
    pub status: Option<Status>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecipeRun {
    pub id: String,
    pub account_id: crate::ids::AccountId,
    pub recipe_id: String,
    pub recipe_name: String,
    pub object: String,
    pub trigger: Trigger,
    pub status: RecipeRunStatus,
    /// The records every step works on.
    pub scope: Scope,
    pub steps: Vec<StepRun>,
    /// The step running now (0-based).
    pub current: u32,
    /// While gathering: calls until then join this recipe run.
    pub gather_until: Option<DateTime<Utc>>,
    /// The automation calls it took (their invocation ids).
    #[serde(default)]
    pub invocations: Vec<String>,
    /// HubSpot workflow actions waiting for it to end (their callback ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<String>,
    /// Calls it had no room for (a run takes 2,000 records) went on to this recipe run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
    pub started_by: MemberId,
    pub started_by_email: String,
    pub acting: Acting,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed.
    pub error: Option<String>,
    #[serde(skip)]
    pub version: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecipeRunPage {
    pub recipe_runs: Vec<RecipeRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `POST /recipes/{id}/runs`: which records (default all the object's records).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipeStartInput {
    /// `"all"` (the default) or `{"ids": [...]}`.
    #[serde(default)]
    #[schemars(with = "Option<Scope>")]
    pub scope: Option<Value>,
}

impl Recipe {
    fn to_item(&self, account_id: &AccountId) -> Result<Item> {
        let mut item = store::to_item(
            crate::keys::account(account_id),
            crate::keys::recipe(&self.id),
            self,
        )?;
        item.data.remove("version");
        Ok(item)
    }

    fn from_item(item: &Item) -> Result<Self> {
        let mut r: Recipe = store::from_item(item)?;
        r.version = item.version;
        Ok(r)
    }

    /// The member may see it: read on every step's module.
    fn readable_by(&self, who: &Principal) -> bool {
        self.steps
            .iter()
            .all(|st| who.permission(st.module) >= Permission::Read)
    }

    /// The member may change or run it: what running each step needs.
    fn require_runnable(&self, who: &Principal) -> Result<()> {
        for st in &self.steps {
            authorize(who, Need::Module(st.module, st.mode.need()))?;
        }
        Ok(())
    }
}

impl RecipeRun {
    fn to_item(&self) -> Result<Item> {
        Item::of(
            crate::keys::account(&self.account_id),
            crate::keys::recipe_run(&self.id),
            self.version,
            self,
        )
    }

    fn from_item(item: &Item) -> Result<Self> {
        let mut r: RecipeRun = item.decode("recipe run")?;
        r.version = item.version;
        Ok(r)
    }
}

/// The steps of `input`, each template read and checked: not grid, one object for all,
/// and the member may run it in its mode. Problems are named by pointer.
async fn checked_steps(
    s: &(impl UsesItems + UsesLinks),
    who: &Principal,
    input: &RecipeInput,
) -> Result<(Vec<RecipeStep>, String)> {
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            "/name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if input.steps.is_empty() || input.steps.len() > MAX_STEPS {
        errors.push(FieldError::new(
            "/steps",
            format!("a recipe has 1 to {MAX_STEPS} steps"),
        ));
    }
    let mut steps = Vec::new();
    let mut object: Option<String> = None;
    for (i, st) in input.steps.iter().enumerate().take(MAX_STEPS) {
        let at = format!("/steps/{i}/template_id");
        let t = match crate::templates::named(&st.template_id) {
            Ok(id) => crate::templates::get(s, who, id).await,
            Err(e) => Err(e),
        };
        let t = match t {
            Ok(t) => t.into_inner(),
            // A template that is not there is a 404, as for a run or a schedule.
            Err(Error::NotFound(_)) => {
                return Err(Error::NotFound(format!(
                    "template {} (step {})",
                    st.template_id,
                    i + 1
                )));
            }
            Err(e @ Error::Forbidden(_)) => {
                errors.push(FieldError::new(at, e.to_string()));
                continue;
            }
            Err(e) => return Err(e),
        };
        if t.module == Module::Grid {
            errors.push(FieldError::new(
                at,
                "a grid template edits cells a person chose; it cannot be a recipe's step",
            ));
            continue;
        }
        if let Err(e) = who.grant(t.module, st.mode.need()) {
            errors.push(FieldError::new(format!("/steps/{i}/mode"), e.to_string()));
            continue;
        }
        let config = ModuleConfig::stored(t.module, &t.config)?;
        let o = config.object().to_string();
        match &object {
            None => object = Some(o),
            Some(first) if *first != o => errors.push(FieldError::new(
                at,
                format!(
                    "works on {o} but the first step works on {first}: a recipe's steps run on the same records"
                ),
            )),
            Some(_) => {}
        }
        steps.push(RecipeStep {
            template_id: t.id,
            template_name: t.name,
            module: t.module,
            mode: st.mode,
        });
    }
    match object {
        Some(o) if errors.is_empty() => Ok((steps, o)),
        _ => Err(Error::invalid_all(errors)),
    }
}

pub async fn create(
    s: &(impl UsesItems + UsesClock + UsesLinks),
    who: &Principal,
    input: RecipeInput,
) -> Result<Recipe> {
    if !Module::ALL
        .iter()
        .any(|m| *m != Module::Grid && who.permission(*m) >= Permission::Read)
    {
        return Err(Error::Forbidden(
            "a recipe runs templates: this needs access to a module; ask an admin for it".into(),
        ));
    }
    let (steps, object) = checked_steps(s, who, &input).await?;
    let now = s.clock().now();
    let mut r = Recipe {
        id: RecipeId::at(now).to_string(),
        name: input.name.trim().to_string(),
        description: input.description.filter(|d| !d.trim().is_empty()),
        steps,
        object,
        created_by: who.user_id.clone(),
        created_by_email: who.email.clone(),
        created_at: now,
        updated_by: who.user_id.clone(),
        updated_at: now,
        version: 0,
    };
    r.version = s
        .items()
        .put(r.to_item(&who.account_id)?, Condition::Absent)
        .await?;
    tracing::info!(recipe_id = %r.id, "recipe created");
    Ok(r)
}

async fn load(s: &impl UsesItems, account_id: &AccountId, id: &str) -> Result<Recipe> {
    id.parse::<RecipeId>()?;
    match s
        .items()
        .get(&crate::keys::account(account_id), &crate::keys::recipe(id))
        .await?
    {
        Some(item) => Recipe::from_item(&item),
        None => Err(Error::NotFound(format!("recipe {id}"))),
    }
}

/// A recipe of the account, whoever asks (an automation call, already authenticated).
pub async fn peek(s: &impl UsesItems, account_id: &AccountId, id: &str) -> Result<Recipe> {
    load(s, account_id, id).await
}

/// Every recipe of the account (an automation's list of recipes to choose from).
pub async fn all(s: &impl UsesItems, account_id: &AccountId) -> Result<Vec<Recipe>> {
    let items = s
        .items()
        .query_all(Query::partition(crate::keys::account(account_id)).prefix(crate::keys::RECIPES))
        .await?;
    items.iter().map(Recipe::from_item).collect()
}

/// A recipe the member may see (read on each step's module); another account's is a 404.
pub async fn get(s: &impl UsesItems, who: &Principal, id: &str) -> Result<Recipe> {
    let r = load(s, &who.account_id, id).await?;
    for st in &r.steps {
        authorize(who, Need::Module(st.module, Permission::Read))?;
    }
    Ok(r)
}

fn stale(e: Error) -> Error {
    match e {
        Error::Conflict(_) => Error::Conflict(
            "the recipe changed since you read it (version mismatch); reload it and apply your change again"
                .into(),
        ),
        e => e,
    }
}

/// A recipe the member may change, delete or run: what running each step needs.
pub async fn changeable(s: &impl UsesItems, who: &Principal, id: &str) -> Result<Recipe> {
    let r = get(s, who, id).await?;
    r.require_runnable(who)?;
    Ok(r)
}

/// Replaces a recipe's name, description and steps (`current` from `changeable`).
pub async fn update(
    s: &(impl UsesItems + UsesClock + UsesLinks),
    who: &Principal,
    current: Recipe,
    expected_version: u64,
    input: RecipeInput,
) -> Result<Recipe> {
    let (steps, object) = checked_steps(s, who, &input).await?;
    let mut r = Recipe {
        name: input.name.trim().to_string(),
        description: input.description.filter(|d| !d.trim().is_empty()),
        steps,
        object,
        updated_by: who.user_id.clone(),
        updated_at: s.clock().now(),
        ..current
    };
    r.version = s
        .items()
        .put(
            r.to_item(&who.account_id)?,
            Condition::Version(expected_version),
        )
        .await
        .map_err(stale)?;
    Ok(r)
}

/// Deletes a recipe (`current` from `changeable`).
pub async fn delete(
    s: &impl UsesItems,
    who: &Principal,
    current: Recipe,
    expected_version: Option<u64>,
) -> Result<()> {
    s.items()
        .delete(
            &crate::keys::account(&who.account_id),
            &crate::keys::recipe(&current.id),
            Some(expected_version.unwrap_or(current.version)),
        )
        .await
        .map_err(stale)
}

pub async fn list(
    s: &impl UsesItems,
    who: &Principal,
    limit: u32,
    cursor: Option<String>,
) -> Result<RecipePage> {
    let page = s
        .items()
        .query(
            &Query::partition(crate::keys::account(&who.account_id))
                .prefix(crate::keys::RECIPES)
                .limit(limit)
                .after(cursor),
        )
        .await?;
    let mut recipes = Vec::new();
    for item in &page.items {
        let r = Recipe::from_item(item)?;
        if r.readable_by(who) {
            recipes.push(r);
        }
    }
    Ok(RecipePage {
        recipes,
        cursor: page.cursor,
    })
}

// ---- recipe runs ------------------------------------------------------------------------

async fn load_run(s: &impl UsesItems, account_id: &AccountId, id: &str) -> Result<RecipeRun> {
    id.parse::<RecipeRunId>()?;
    match s
        .items()
        .get(
            &crate::keys::account(account_id),
            &crate::keys::recipe_run(id),
        )
        .await?
    {
        Some(item) => RecipeRun::from_item(&item),
        None => Err(Error::NotFound(format!("recipe run {id}"))),
    }
}

/// A recipe run the member may see (read on every step's module).
pub async fn get_run(s: &impl UsesItems, who: &Principal, id: &str) -> Result<RecipeRun> {
    let rr = load_run(s, &who.account_id, id).await?;
    for st in &rr.steps {
        authorize(who, Need::Module(st.module, Permission::Read))?;
    }
    Ok(rr)
}

/// `GET /recipe-runs`: newest first, those the member may see; `recipe_id` narrows.
pub async fn list_runs(
    s: &impl UsesItems,
    who: &Principal,
    recipe_id: Option<&str>,
    limit: u32,
    cursor: Option<String>,
) -> Result<RecipeRunPage> {
    let page = s
        .items()
        .query(
            &Query::partition(crate::keys::account(&who.account_id))
                .prefix(crate::keys::RECIPE_RUNS)
                .newest_first()
                .limit(limit)
                .after(cursor),
        )
        .await?;
    let mut recipe_runs = Vec::new();
    for item in &page.items {
        let rr = RecipeRun::from_item(item)?;
        let visible = rr
            .steps
            .iter()
            .all(|st| who.permission(st.module) >= Permission::Read);
        if visible && recipe_id.is_none_or(|id| id == rr.recipe_id) {
            recipe_runs.push(rr);
        }
    }
    Ok(RecipeRunPage {
        recipe_runs,
        cursor: page.cursor,
    })
}

/// Read-modify-write of a recipe run, retried when another writer got there first.
async fn update_run(
    s: &impl UsesItems,
    account_id: &AccountId,
    id: &str,
    mut change: impl FnMut(&mut RecipeRun) -> bool,
) -> Result<RecipeRun> {
    crate::ports::items::update(
        s.items(),
        16,
        || load_run(s, account_id, id),
        |rr| match change(rr) {
            true => rr.to_item().map(Some),
            false => Ok(None),
        },
    )
    .await?
    .ok_or_else(|| {
        Error::Unavailable(format!(
            "recipe run {id} is being updated too often; try again"
        ))
    })
}

impl crate::ports::items::Versioned for RecipeRun {
    fn version_mut(&mut self) -> &mut u64 {
        &mut self.version
    }
}

/// The Run ID of a recipe run's step: every attempt at making it names the same run.
pub fn step_run_id(recipe_run_id: &str, step: usize, at: DateTime<Utc>) -> RunId {
    runs::derived_id(&format!("{recipe_run_id}/{step}"), at)
}

fn new_recipe_run(
    recipe: &Recipe,
    account_id: &AccountId,
    trigger: Trigger,
    scope: Scope,
    acting: Acting,
    (started_by, started_by_email): (MemberId, String),
    now: DateTime<Utc>,
) -> RecipeRun {
    RecipeRun {
        id: RecipeRunId::at(now).to_string(),
        account_id: account_id.clone(),
        recipe_id: recipe.id.clone(),
        recipe_name: recipe.name.clone(),
        object: recipe.object.clone(),
        trigger,
        status: RecipeRunStatus::Running,
        scope,
        steps: recipe
            .steps
            .iter()
            .map(|st| StepRun {
                template_id: st.template_id,
                template_name: st.template_name.clone(),
                module: st.module,
                mode: st.mode,
                run_id: None,
                status: None,
            })
            .collect(),
        current: 0,
        gather_until: None,
        invocations: Vec::new(),
        callbacks: Vec::new(),
        successor: None,
        started_by,
        started_by_email,
        acting,
        created_at: now,
        finished_at: None,
        error: None,
        version: 0,
    }
}

/// Makes step `step`'s run of `rr` (its id derived, so a second try finds the first's).
/// `Err` is why it could not start (the template deleted or no longer valid), for the
/// recipe run to say.
async fn start_step(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    rr: &RecipeRun,
    step: usize,
) -> Result<std::result::Result<RunId, String>> {
    let st = &rr.steps[step];
    let Some(config_json) =
        crate::templates::stored_config(s, &rr.account_id, st.template_id).await?
    else {
        return Ok(Err(format!(
            "step {} uses the template “{}”, which was deleted",
            step + 1,
            st.template_name
        )));
    };
    let config = match ModuleConfig::stored(st.module, &config_json) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(format!(
                "step {}: the template “{}” is no longer valid: {e}",
                step + 1,
                st.template_name
            )));
        }
    };
    let id = step_run_id(&rr.id, step, rr.created_at);
    let new = NewRun {
        // Checked when the recipe was saved and when a member started it
        // (`require_runnable`).
        grant: Grant::saved(st.module, st.mode.need()),
        config,
        config_json,
        template: Some((st.template_id, st.template_name.clone())),
        schedule_id: None,
        recipe: Some(RecipeLink {
            recipe_id: rr.recipe_id.clone(),
            recipe_name: rr.recipe_name.clone(),
            recipe_run_id: rr.id.clone(),
            step: step as u32,
            steps: rr.steps.len() as u32,
        }),
        mode: st.mode,
        trigger: rr.trigger,
        scope: rr.scope.clone(),
        edits: Vec::new(),
        stamp_property: None,
        notify: None,
        started_by: rr.started_by.clone(),
        started_by_email: rr.started_by_email.clone(),
        acting: rr.acting.clone(),
        revert_of: None,
        from_preview: None,
        decisions: Default::default(),
    };
    match runs::create_with_id(s, &rr.account_id, id, new).await {
        Ok(_) | Err(Error::Conflict(_)) => Ok(Ok(id)),
        Err(e) => Err(e),
    }
}

/// Stores `rr` and makes its first step's run; a step that cannot start fails it.
async fn launch(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    mut rr: RecipeRun,
) -> Result<RecipeRun> {
    rr.version = s.items().put(rr.to_item()?, Condition::Absent).await?;
    start_first_step(s, rr).await
}

/// `POST /recipes/{id}/runs`: runs the recipe now as the member, on `scope`.
pub async fn start(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    who: &Principal,
    id: &str,
    input: RecipeStartInput,
) -> Result<RecipeRun> {
    let recipe = changeable(s, who, id).await?;
    let scope = runs::parse_scope(input.scope.as_ref())?;
    let rr = new_recipe_run(
        &recipe,
        &who.account_id,
        Trigger::Manual,
        scope,
        Acting::Member {
            user_id: who.user_id.clone(),
        },
        (who.user_id.clone(), who.email.clone()),
        s.clock().now(),
    );
    let rr = launch(s, rr).await?;
    tracing::info!(recipe_run_id = %rr.id, "recipe run started");
    Ok(rr)
}

/// A call from the CRM's automation, its signature already checked.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub crm: CrmKind,
    pub account_id: crate::ids::AccountId,
    pub recipe_id: String,
    /// The CRM's own id of this call: a delivered-again call carries the same.
    pub invocation_id: String,
    pub record_ids: Vec<String>,
    /// HubSpot: the workflow action's callback id, completed when the recipe run ends.
    pub callback_id: Option<String>,
    /// How long calls for one recipe join one recipe run.
    pub window: std::time::Duration,
    /// Percent of the CRM's daily API allowance kept for other tools.
    pub reserve_percent: u8,
}

/// What an automation call is answered.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Accepted {
    pub recipe_run_id: String,
    pub status: RecipeRunStatus,
    /// The call was delivered before: nothing was added.
    pub duplicate: bool,
    /// Records this call handed over.
    pub records: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claim {
    recipe_run_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Gathering {
    recipe_run_id: String,
    until: DateTime<Utc>,
}

fn accepted(rr: &RecipeRun, duplicate: bool, records: usize) -> Accepted {
    Accepted {
        recipe_run_id: rr.id.clone(),
        status: rr.status,
        duplicate,
        records,
    }
}

/// Takes an automation call: joins the recipe's gathering recipe run, or opens one (and
/// its first step's run). A call delivered again answers with the recipe run it joined.
pub async fn invoke(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesRunQueue),
    inv: Invocation,
) -> Result<Accepted> {
    let pk = crate::keys::account(&inv.account_id);
    let recipe = load(s, &inv.account_id, &inv.recipe_id).await?;
    let claim_key = crate::keys::call_claim(inv.crm, &inv.invocation_id);
    if let Some(item) = s.items().get(&pk, &claim_key).await? {
        let claim: Claim = item.decode("invocation claim")?;
        if let Some(rr) = holding(s, &inv, &claim.recipe_run_id).await? {
            return Ok(accepted(&rr, true, inv.record_ids.len()));
        }
    }
    let trigger = match inv.crm {
        CrmKind::Salesforce => Trigger::Flow,
        _ => Trigger::Workflow,
    };
    let mut checked_quota = false;
    let mut outcome = None;
    for _ in 0..50 {
        let now = s.clock().now();
        let pointer = s
            .items()
            .get(&pk, &crate::keys::recipe_gathering(&recipe.id))
            .await?;
        let open = match &pointer {
            Some(item) => {
                let g: Gathering = item.decode("gathering pointer")?;
                (g.until > now).then_some(g)
            }
            None => None,
        };
        if let Some(g) = open {
            match offer(s, &inv, &g.recipe_run_id).await? {
                Offer::Joined(rr, duplicate) => {
                    outcome = Some(accepted(&rr, duplicate, inv.record_ids.len()));
                    break;
                }
                Offer::NotYet => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
                // Sealed before its window ended: open the next one.
                Offer::Closed => {}
            }
        }
        if !checked_quota {
            reserve_allows(s, &inv.account_id, &recipe.object, inv.reserve_percent).await?;
            checked_quota = true;
        }
        let mut rr = new_recipe_run(
            &recipe,
            &inv.account_id,
            trigger,
            Scope::Ids(inv.record_ids.clone()),
            Acting::Integration,
            (recipe.created_by.clone(), recipe.created_by_email.clone()),
            now,
        );
        rr.status = RecipeRunStatus::Gathering;
        rr.gather_until = Some(now + Duration::from_std(inv.window).unwrap_or_default());
        rr.version = s.items().put(rr.to_item()?, Condition::Absent).await?;
        // Whoever names the open recipe run first has it; the others join it.
        let g = Gathering {
            recipe_run_id: rr.id.clone(),
            until: rr.gather_until.unwrap_or(now),
        };
        let cond = match &pointer {
            Some(item) => Condition::Version(item.version),
            None => Condition::Absent,
        };
        match s
            .items()
            .put(
                Item::of(pk.clone(), crate::keys::recipe_gathering(&recipe.id), 0, &g)?,
                cond,
            )
            .await
        {
            Ok(_) => {}
            Err(Error::Conflict(_)) => {
                s.items()
                    .delete(&pk, &crate::keys::recipe_run(&rr.id), None)
                    .await?;
                continue;
            }
            Err(e) => return Err(e),
        }
        let Offer::Joined(_, duplicate) = offer(s, &inv, &rr.id).await? else {
            return Err(Error::unexpected("a new recipe run refused its first call"));
        };
        let rr = start_first_step(s, rr).await?;
        if let (RecipeRunStatus::Failed, Some(why)) = (rr.status, &rr.error) {
            // Nothing will run: the caller hears why now (a HubSpot workflow shows it).
            return Err(Error::Conflict(why.clone()));
        }
        tracing::info!(recipe_run_id = %rr.id, recipe_id = %recipe.id, "recipe run opened by automation");
        outcome = Some(accepted(&rr, duplicate, inv.record_ids.len()));
        break;
    }
    let Some(outcome) = outcome else {
        return Err(Error::Unavailable(
            "the recipe is taking too many calls at once; try again".into(),
        ));
    };
    let claim = Claim {
        recipe_run_id: outcome.recipe_run_id.clone(),
    };
    let expires = (s.clock().now() + Duration::days(CLAIM_DAYS)).timestamp();
    s.items()
        .put(
            Item::of(pk, claim_key, 0, &claim)?.expiring_at(expires),
            Condition::None,
        )
        .await?;
    Ok(outcome)
}

/// One automation call's records, kept beside its gathering recipe run until the run is
/// sealed (`RCALL#<recipe run>#<sha256(crm:invocation id)>`): small writes that never
/// contend, however many calls arrive at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Call {
    invocation_id: String,
    record_ids: Vec<String>,
    callback_id: Option<String>,
    /// Taken into the sealed recipe run (a call may withdraw only while it is not).
    #[serde(default)]
    taken: bool,
}

enum Offer {
    /// In it (`true`: it was already).
    Joined(Box<RecipeRun>, bool),
    /// The pointer names a recipe run not stored yet (its opener is between two writes).
    NotYet,
    /// It takes no more calls.
    Closed,
}

/// Offers the call to a gathering recipe run: its records are written beside it, then
/// the run is read again. Still gathering: the sealing worker reads them (it seals before
/// it reads). Sealed meanwhile: the call withdraws, unless the worker took it already.
async fn offer(s: &impl UsesItems, inv: &Invocation, recipe_run_id: &str) -> Result<Offer> {
    let pk = crate::keys::account(&inv.account_id);
    let rr = match load_run(s, &inv.account_id, recipe_run_id).await {
        Ok(rr) => rr,
        Err(Error::NotFound(_)) => return Ok(Offer::NotYet),
        Err(e) => return Err(e),
    };
    if rr.status != RecipeRunStatus::Gathering {
        return Ok(Offer::Closed);
    }
    let key = crate::keys::call(recipe_run_id, inv.crm, &inv.invocation_id);
    let call = Call {
        invocation_id: inv.invocation_id.clone(),
        record_ids: inv.record_ids.clone(),
        callback_id: inv.callback_id.clone(),
        taken: false,
    };
    match s
        .items()
        .put(
            Item::of(pk.clone(), key.clone(), 0, &call)?,
            Condition::Absent,
        )
        .await
    {
        Ok(_) => {}
        // The same call delivered twice at once: the other delivery is in.
        Err(Error::Conflict(_)) => return Ok(Offer::Joined(Box::new(rr), true)),
        Err(e) => return Err(e),
    }
    let rr = load_run(s, &inv.account_id, recipe_run_id).await?;
    if rr.status == RecipeRunStatus::Gathering {
        return Ok(Offer::Joined(Box::new(rr), false));
    }
    match s.items().delete(&pk, &key, Some(1)).await {
        Ok(()) => Ok(Offer::Closed),
        // The sealing worker took it (or moved it on to the next recipe run).
        Err(Error::Conflict(_)) => Ok(Offer::Joined(Box::new(rr), false)),
        Err(e) => Err(e),
    }
}

/// The recipe run (of `recipe_run_id` and those it handed calls on to) that holds the
/// call, if one does.
async fn holding(
    s: &impl UsesItems,
    inv: &Invocation,
    recipe_run_id: &str,
) -> Result<Option<RecipeRun>> {
    let pk = crate::keys::account(&inv.account_id);
    let mut next = Some(recipe_run_id.to_string());
    for _ in 0..16 {
        let Some(id) = next.take() else {
            break;
        };
        let rr = match load_run(s, &inv.account_id, &id).await {
            Ok(rr) => rr,
            Err(Error::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let here = rr.invocations.contains(&inv.invocation_id)
            || (rr.invocations.is_empty()
                && s.items()
                    .get(&pk, &crate::keys::call(&rr.id, inv.crm, &inv.invocation_id))
                    .await?
                    .is_some());
        if here {
            return Ok(Some(rr));
        }
        next = rr.successor.clone();
    }
    Ok(None)
}

/// Makes the first step's run of a stored recipe run (of a gathering one, its worker waits
/// for the window); a step that cannot start fails the recipe run.
async fn start_first_step(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    rr: RecipeRun,
) -> Result<RecipeRun> {
    let first = start_step(s, &rr, 0).await?;
    let now = s.clock().now();
    update_run(s, &rr.account_id, &rr.id, |r| {
        match &first {
            Ok(run_id) => r.steps[0].run_id = Some(*run_id),
            Err(why) => {
                r.status = RecipeRunStatus::Failed;
                r.error = Some(why.clone());
                r.finished_at = Some(now);
            }
        }
        true
    })
    .await
}

/// A 429 when the CRM's daily API allowance is inside the reserve (one light call: the
/// object's description, through the integration user's connection).
async fn reserve_allows(
    s: &(impl UsesCrm + UsesClock),
    account_id: &AccountId,
    object: &str,
    reserve_percent: u8,
) -> Result<()> {
    let crm = s.open_crm(account_id, Slot::Integration)
        .await
        .map_err(|e| {
            Error::Conflict(format!(
                "the account has no usable integration user connection ({e}); an admin connects one in Settings → Users"
            ))
        })?;
    crate::crm_schema::describe(s, account_id, crm.as_ref(), object)
        .await
        .map_err(|e| Error::Unavailable(format!("the CRM: {e}")))?;
    if let Some(why) = crm.api_usage().reserve_refusal(reserve_percent) {
        return Err(Error::TooManyRequests(format!(
            "{why}, so no recipe runs until the allowance resets"
        )));
    }
    Ok(())
}

/// For the worker, before a recipe's first step plans: waits for the gathering window to
/// close, seals the recipe run, takes the calls gathered beside it (up to a run's 2,000
/// records; calls beyond go on to a successor recipe run), and answers their record ids
/// (None: the run is no gathering recipe's first step).
pub async fn gathered(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    run: &runs::Run,
) -> Result<Option<Vec<String>>> {
    let Some(link) = &run.recipe else {
        return Ok(None);
    };
    if link.step != 0 {
        return Ok(None);
    }
    let rr = load_run(s, &run.account_id, &link.recipe_run_id).await?;
    let Some(until) = rr.gather_until else {
        return Ok(None);
    };
    if rr.status == RecipeRunStatus::Gathering {
        let wait = (until - s.clock().now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait.min(std::time::Duration::from_secs(300))).await;
    }
    let rr = seal(s, &run.account_id, &link.recipe_run_id).await?;
    Ok(match rr.scope {
        Scope::Ids(ids) => Some(ids),
        Scope::All => None,
    })
}

/// Seals a gathering recipe run and takes the calls written beside it (again after a
/// crash: the calls it marked are taken again, no others).
async fn seal(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    account_id: &AccountId,
    recipe_run_id: &str,
) -> Result<RecipeRun> {
    // Sealed first: a call that sees it gathering after writing itself is read below.
    let rr = update_run(s, account_id, recipe_run_id, |r| {
        if r.status != RecipeRunStatus::Gathering {
            return false;
        }
        r.status = RecipeRunStatus::Running;
        true
    })
    .await?;
    if !rr.invocations.is_empty() {
        // Taken by an earlier try.
        return Ok(rr);
    }
    let pk = crate::keys::account(account_id);
    let calls = s
        .items()
        .query_all(
            Query::partition(&pk)
                .prefix(crate::keys::calls_of(&rr.id))
                .limit(500),
        )
        .await?;
    let (mut ids, mut invocations, mut callbacks) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    let mut overflow = Vec::new();
    for item in calls {
        let mut call: Call = item.decode("recipe call")?;
        let new: Vec<&String> = call
            .record_ids
            .iter()
            .filter(|i| !seen.contains(*i))
            .collect();
        if !call.taken && ids.len() + new.len() > runs::MAX_SCOPE_IDS {
            overflow.push((item, call));
            continue;
        }
        if !call.taken {
            call.taken = true;
            let taken = Item::of(pk.clone(), item.sk.clone(), item.version, &call)?;
            match s.items().put(taken, Condition::Version(item.version)).await {
                Ok(_) => {}
                // Withdrawn by its caller after the seal.
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        for id in &call.record_ids {
            if seen.insert(id.clone()) {
                ids.push(id.clone());
            }
        }
        invocations.push(call.invocation_id.clone());
        callbacks.extend(call.callback_id.clone());
    }
    let successor = match overflow.is_empty() {
        true => None,
        false => Some(hand_on(s, &rr, overflow).await?),
    };
    update_run(s, account_id, &rr.id, |r| {
        r.scope = Scope::Ids(ids.clone());
        r.invocations = invocations.clone();
        r.callbacks = callbacks.clone();
        r.successor = successor.clone();
        true
    })
    .await
}

/// Calls a sealed recipe run had no room for go on to a successor, which is sealed at
/// once (its window is over) and takes them the same way.
async fn hand_on(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    rr: &RecipeRun,
    calls: Vec<(Item, Call)>,
) -> Result<String> {
    let pk = crate::keys::account(&rr.account_id);
    let now = s.clock().now();
    let mut next = rr.clone();
    // A recipe run's id, derived as a step's Run ID is (a ULID either way).
    next.id = runs::derived_id(&format!("{}/next", rr.id), rr.created_at).to_string();
    next.status = RecipeRunStatus::Gathering;
    next.gather_until = Some(now);
    next.scope = Scope::Ids(Vec::new());
    next.invocations = Vec::new();
    next.callbacks = Vec::new();
    next.successor = None;
    next.created_at = now;
    next.version = 0;
    for st in &mut next.steps {
        st.run_id = None;
        st.status = None;
    }
    match s.items().put(next.to_item()?, Condition::Absent).await {
        Ok(v) => next.version = v,
        // An earlier try made it.
        Err(Error::Conflict(_)) => next = load_run(s, &rr.account_id, &next.id).await?,
        Err(e) => return Err(e),
    }
    for (item, call) in calls {
        let key = format!(
            "{}{}",
            crate::keys::calls_of(&next.id),
            item.sk.rsplit('#').next().unwrap_or_default()
        );
        match s
            .items()
            .put(
                Item::of(pk.clone(), key.clone(), 0, &call)?,
                Condition::Absent,
            )
            .await
        {
            Ok(_) | Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        if let Err(Error::Conflict(_)) = s.items().delete(&pk, &item.sk, Some(item.version)).await {
            // Its caller withdrew it meanwhile: it is not ours to run.
            s.items().delete(&pk, &key, None).await?;
        }
    }
    if next.steps[0].run_id.is_none() {
        start_first_step(s, next.clone()).await?;
    }
    tracing::info!(recipe_run_id = %rr.id, successor = %next.id, "a full recipe run handed calls on");
    Ok(next.id)
}

/// Called when a step's run ends: the next step's run, or the recipe run's end. Errors
/// are logged (the step's own run has ended either way).
pub async fn step_ended(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesRunQueue),
    run: &runs::Run,
) {
    let Some(link) = &run.recipe else {
        return;
    };
    if let Err(e) = advance(s, run, link).await {
        tracing::error!(run_id = %run.id, recipe_run_id = %link.recipe_run_id, error = %e, "advancing a recipe run failed");
    }
}

async fn advance(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesRunQueue),
    run: &runs::Run,
    link: &RecipeLink,
) -> Result<()> {
    let step = link.step as usize;
    let mut rr = load_run(s, &run.account_id, &link.recipe_run_id).await?;
    if step == 0 && rr.gather_until.is_some() && rr.invocations.is_empty() {
        // The first step ended before it planned (cancelled, failed): the calls gathered
        // are still this run's, so they hear how it ended.
        rr = seal(s, &run.account_id, &link.recipe_run_id).await?;
    }
    if rr.status.is_final() || step >= rr.steps.len() || rr.steps[step].status.is_some() {
        return Ok(());
    }
    let stopped = matches!(run.status, Status::Failed | Status::Cancelled);
    let next = if !stopped && step + 1 < rr.steps.len() {
        Some(start_step(s, &rr, step + 1).await?)
    } else {
        None
    };
    let now = s.clock().now();
    let status = run.status;
    let why = run.error.clone();
    let rr = update_run(s, &run.account_id, &link.recipe_run_id, |r| {
        if r.status.is_final() || r.steps[step].status.is_some() {
            return false;
        }
        r.status = RecipeRunStatus::Running;
        r.steps[step].status = Some(status);
        r.steps[step].run_id = Some(run.id);
        match &next {
            Some(Ok(id)) => {
                r.steps[step + 1].run_id = Some(*id);
                r.current = step as u32 + 1;
            }
            Some(Err(why)) => {
                r.status = RecipeRunStatus::Failed;
                r.error = Some(why.clone());
                r.finished_at = Some(now);
            }
            None if stopped => {
                r.status = RecipeRunStatus::Failed;
                let later = r.steps.len() - step - 1;
                r.error = Some(format!(
                    "step {} ({}) {}{}{}",
                    step + 1,
                    r.steps[step].template_name,
                    status.name(),
                    why.as_deref().map(|w| format!(": {w}")).unwrap_or_default(),
                    match later {
                        0 => String::new(),
                        1 => "; the last step did not run".into(),
                        n => format!("; the {n} later steps did not run"),
                    }
                ));
                r.finished_at = Some(now);
            }
            None => {
                r.status = if r.steps.iter().any(|st| st.status == Some(Status::Partial)) {
                    RecipeRunStatus::Partial
                } else {
                    RecipeRunStatus::Succeeded
                };
                r.finished_at = Some(now);
            }
        }
        true
    })
    .await?;
    if rr.status.is_final() {
        tracing::info!(recipe_run_id = %rr.id, status = ?rr.status, "recipe run ended");
        complete_callbacks(s, &rr).await;
    }
    Ok(())
}

/// HubSpot workflow actions blocked on this recipe run go on: SUCCESS, or FAIL_CONTINUE
/// with the reason, so the workflow shows it.
async fn complete_callbacks(s: &impl UsesCrm, rr: &RecipeRun) {
    if rr.callbacks.is_empty() {
        return;
    }
    let ok = rr.status != RecipeRunStatus::Failed;
    let status = match rr.status {
        RecipeRunStatus::Succeeded => "succeeded",
        RecipeRunStatus::Partial => "partial",
        _ => "failed",
    };
    let mut fields = serde_json::Map::new();
    fields.insert(
        "hs_execution_state".into(),
        Value::from(if ok { "SUCCESS" } else { "FAIL_CONTINUE" }),
    );
    fields.insert("steward_run_id".into(), Value::from(rr.id.clone()));
    fields.insert("steward_status".into(), Value::from(status));
    if let Some(e) = &rr.error {
        fields.insert("steward_error".into(), Value::from(e.clone()));
    }
    let result = async {
        let crm = s.open_crm(&rr.account_id, Slot::Integration).await?;
        for chunk in rr.callbacks.chunks(100) {
            crm.complete_workflow_actions(chunk, &fields)
                .await
                .map_err(|e| Error::Unavailable(e.to_string()))?;
        }
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(recipe_run_id = %rr.id, error = %e, "completing HubSpot workflow actions failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_run_ids_are_the_same_for_every_try_and_differ_by_step() {
        // Pinned: a try after a restart or a deploy must name the run the first try made.
        let at: DateTime<Utc> = "2026-12-05T06:00:00Z".parse().unwrap();
        let rr = "01M92CKDR0ZZZZZZZZZZZZZZZZ";
        assert_eq!(step_run_id(rr, 0, at), "01M92CKDR0BE74BS0A03N4C320");
        assert_eq!(step_run_id(rr, 1, at), "01M92CKDR0BMYQXPSKWH33XYFT");
        assert_ne!(
            step_run_id(rr, 1, at),
            step_run_id("01M92CKDR0ZZZZZZZZZZZZZZZY", 1, at),
            "another recipe run's step is another run"
        );
        assert!(
            step_run_id(rr, 0, at)
                .to_string()
                .parse::<crate::ids::RunId>()
                .is_ok()
        );
    }

    #[test]
    fn record_ids_are_checked_and_deduplicated_in_order() {
        use crate::runs::check_record_ids;
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_record_ids(&ids(&[" a ", "b", "a"]), "/record_ids").unwrap(),
            ids(&["a", "b"])
        );
        let pointer = |e: Error| match e {
            Error::Invalid { errors, .. } => errors[0].pointer.clone(),
            other => panic!("{other}"),
        };
        assert_eq!(
            pointer(check_record_ids(&[], "/record_ids").unwrap_err()),
            "/record_ids"
        );
        assert_eq!(
            pointer(check_record_ids(&ids(&["a", " "]), "/record_ids").unwrap_err()),
            "/record_ids/1"
        );
        let too_many: Vec<String> = (0..=runs::MAX_SCOPE_IDS).map(|i| i.to_string()).collect();
        assert!(check_record_ids(&too_many, "/record_ids").is_err());
    }
}
