//! Runs: one execution of a module against the account's CRM, in preview (the audit CSV of
//! what would change) or apply (the changes made, each record's outcome in the CSV).
//!
//! A run is an item `ACCT#<a>` / `RUN#<run_id>`; writing it with `wake: true` is what starts
//! (or continues) its work: on AWS the table's stream invokes the runs worker (template.yaml
//! filters on `wake`), under `steward serve` the in-process queue (`queue`) does. The worker
//! (`worker`) keeps its progress in a separate item (`RUNSTATE#<run_id>`), which the stream
//! filter ignores, so checkpoints do not invoke anything.
//!
//! While a run is not finished it is also on `gsi1` under `RUNS_ACTIVE`, sorted by
//! `<account>#<object>#<run_id>`: how waiting runs are woken when an object's lock is
//! released, and how `steward serve` resumes runs after a restart.

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::{UsesBlobs, UsesClock, UsesCrm, UsesItems, UsesLinks, UsesRunQueue};
use crate::crm::CrmKind;
use crate::error::{Error, FieldError, Result};
use crate::identity::policy::{self, AccountPolicy};
use crate::identity::{Grant, Granted, Need, Permission, Principal, Scoped, authorize};
use crate::ids::{MemberId, RunId, TemplateId};
use crate::modules::grid::CellEdit;
use crate::modules::{Module, ModuleConfig};
use crate::ports::items::{Condition, Cursor, Index, Item, Query};

pub mod apply_preview;
pub mod grid_view;
pub mod queue;
pub mod revert;
pub mod rows;
pub mod worker;

pub use queue::RunQueue;

/// Ids a run's scope may name, and cells a grid run may edit: the run item stays far
/// below DynamoDB's 400 KB.
pub const MAX_SCOPE_IDS: usize = 2_000;
pub const MAX_EDITS: usize = 2_000;
/// Recipients of a run's report.
pub const MAX_RECIPIENTS: usize = 50;
/// How long a CSV download link lives.
pub const CSV_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

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
#[schemars(rename = "RunStatus")]
pub enum Status {
    Queued,
    /// Another apply run holds the object; this one starts when it ends.
    Waiting,
    Running,
    Succeeded,
    /// Finished, with some records failed.
    Partial,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: &[Status] = <Status as strum::VariantArray>::VARIANTS;

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Succeeded | Status::Partial | Status::Failed | Status::Cancelled
        )
    }

    pub fn name(self) -> &'static str {
        self.into()
    }
}

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
pub enum Mode {
    Preview,
    Apply,
}

impl Mode {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// What running in this mode needs on the module: read to preview, write to apply.
    pub fn need(self) -> Permission {
        match self {
            Mode::Preview => Permission::Read,
            Mode::Apply => Permission::Write,
        }
    }
}

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
pub enum Trigger {
    /// Started by a member (Run Now).
    Manual,
    Schedule,
    /// Undoing an earlier run's field changes.
    Revert,
    /// A step of a recipe a Salesforce Flow started (`POST /hooks/salesforce/...`).
    Flow,
    /// A step of a recipe a HubSpot workflow started (its custom workflow action).
    Workflow,
}

impl Trigger {
    pub const ALL: &[Trigger] = <Trigger as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// A run that is one step of a recipe run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecipeLink {
    pub recipe_id: String,
    pub recipe_name: String,
    pub recipe_run_id: String,
    /// 0-based.
    pub step: u32,
    pub steps: u32,
}

/// Which records a run considers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every record of the object (narrowed by the module's own filter).
    All,
    /// Only these records.
    Ids(
        #[schemars(
            length(min = 1, max = 2000),
            inner(length(min = 1, max = 64), regex(pattern = r"\S"))
        )]
        Vec<String>,
    ),
}

/// Whose CRM connection a run acts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Acting {
    /// The member who started it.
    Member { user_id: MemberId },
    /// The account's integration user (scheduled runs).
    Integration,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    /// Records read from the CRM.
    pub scanned: u64,
    /// Changes in the plan (flags included).
    pub planned: u64,
    pub applied: u64,
    pub failed: u64,
    /// Planned but not applied: flags, a cancelled run's rest, conflicts.
    pub skipped: u64,
}

/// Who gets the run's report when it ends (delivered by the exports function).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Email addresses. The part before the `@` must be plain ASCII (the mail service
    /// cannot deliver to others; such an address is refused saying so); an
    /// internationalized domain is sent in its punycode form. The account's policy may
    /// limit the domains (`GET /account/policy`): others are refused at their pointer.
    #[schemars(
        length(min = 1, max = 50),
        inner(
            length(max = 254),
            regex(
                pattern = r#"^[^@\s<>,;"()\[\]\\\x00-\x1f\x7f-\x9f]{1,64}@[^@\s<>,;"()\[\]\\\x00-\x1f\x7f-\x9f.]+(\.[^@\s<>,;"()\[\]\\\x00-\x1f\x7f-\x9f.]+)+$"#
            )
        )
    )]
    pub recipients: Vec<String>,
    /// One line.
    #[serde(default)]
    #[schemars(length(max = 200), regex(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub subject: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 5000))]
    pub message: Option<String>,
}

impl Notify {
    /// Problems, with pointers under `/notify`: among them each recipient that cannot be
    /// sent to, or that the account's `policy` does not allow.
    pub fn check(&self, policy: &AccountPolicy) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.recipients.is_empty() || self.recipients.len() > MAX_RECIPIENTS {
            errors.push(FieldError::new(
                "/notify/recipients",
                format!("must list 1 to {MAX_RECIPIENTS} addresses"),
            ));
        }
        errors.extend(policy.check_recipients(&self.recipients, "/notify/recipients"));
        if let Some(s) = &self.subject
            && (s.chars().any(char::is_control) || s.chars().count() > 200)
        {
            errors.push(FieldError::new(
                "/notify/subject",
                "must be one line of at most 200 characters",
            ));
        }
        if let Some(m) = &self.message
            && m.chars().count() > 5000
        {
            errors.push(FieldError::new(
                "/notify/message",
                "must be at most 5000 characters",
            ));
        }
        errors
    }
}

/// What is wrong with a run's or schedule's `notify`, against the account's policy as it
/// is now (read only when there is a `notify`).
pub async fn notify_problems(
    s: &impl UsesItems,
    account_id: &AccountId,
    notify: Option<&Notify>,
) -> Result<Vec<FieldError>> {
    match notify {
        Some(n) => Ok(n.check(&policy::load(s, account_id).await?)),
        None => Ok(Vec::new()),
    }
}

/// The finished run's audit CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CsvFile {
    pub file_name: String,
    pub bytes: u64,
    /// Data rows (a merge writes one per record of the group).
    pub rows: u64,
}

/// What undoing an apply run can and cannot do, per kind of change, for its CRM, and what a
/// revert of this run would do (`POST /runs/{id}/revert` answers 409 with `reason` when
/// `rows` is 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Revertible {
    /// Field updates: `POST /runs/{id}/revert` restores the before-values.
    pub updates: bool,
    pub archives: String,
    pub merges: String,
    /// Records whose fields a revert would restore (the run's applied updates; a record
    /// changed since by someone else is left alone then). Absent on runs that ended before
    /// Steward counted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Records the run changed that a revert cannot undo (merged, converted, archived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_revertible: Option<u64>,
    /// Why a revert can do nothing, or only part: absent when it can undo all the run did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Revertible {
    pub fn for_crm(crm: CrmKind) -> Self {
        let (archives, merges) = match crm {
            CrmKind::Salesforce => (
                "Deleted records stay in Salesforce's Recycle Bin for 15 days; \
                 restore them there (Steward's revert does not undelete).",
                "Salesforce merges cannot be undone by Steward: the records merged \
                 away are in the Recycle Bin for 15 days, but undeleting them does not \
                 split the master again; revert restores nothing of a merge.",
            ),
            _ => (
                "Archived HubSpot records can be restored from HubSpot's recycling \
                 bin for 90 days (Steward's revert does not restore them).",
                "HubSpot merges cannot be undone (HubSpot offers no unmerge); revert \
                 restores nothing of a merge.",
            ),
        };
        Revertible {
            updates: true,
            archives: archives.into(),
            merges: merges.into(),
            rows: None,
            not_revertible: None,
            reason: None,
        }
    }

    /// For an apply run that applied `applied`.
    pub fn for_run(crm: CrmKind, applied: AppliedKinds) -> Self {
        let mut r = Self::for_crm(crm);
        let cannot: Vec<String> = [
            (applied.merges, "merged or converted", &r.merges),
            (applied.archives, "archived or deleted", &r.archives),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, what, why)| format!("{n} {} {what}: {why}", records(n)))
        .collect();
        let not_revertible = applied.merges + applied.archives;
        r.reason = match (applied.updates, not_revertible) {
            (0, 0) => Some("it applied nothing: there is nothing to revert".into()),
            (0, _) => Some(format!(
                "what it applied cannot be undone by a revert ({})",
                cannot.join("; ")
            )),
            (n, m) if m > 0 => Some(format!(
                "a revert restores the fields of {n} {} and leaves {m} as they are ({})",
                records(n),
                cannot.join("; ")
            )),
            _ => None,
        };
        r.rows = Some(applied.updates);
        r.not_revertible = Some(not_revertible);
        r
    }
}

fn records(n: u64) -> &'static str {
    if n == 1 { "record" } else { "records" }
}

/// What an apply run applied, in records, by what a revert can do with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedKinds {
    /// Field updates (a revert restores them).
    pub updates: u64,
    /// Records merged (masters and duplicates) or Leads converted.
    pub merges: u64,
    pub archives: u64,
}

impl AppliedKinds {
    /// Counts change `c`, applied, which is `records` rows of the CSV.
    pub fn count(&mut self, c: &crate::modules::Change, records: u64) {
        use crate::modules::Action;
        match &c.action {
            Action::Update if !c.fields.is_empty() => self.updates += records,
            Action::Merge { .. } | Action::ConvertLead { .. } => self.merges += records,
            Action::Archive => self.archives += records,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Run {
    pub id: RunId,
    pub account_id: crate::ids::AccountId,
    pub module: Module,
    pub object: String,
    pub mode: Mode,
    pub trigger: Trigger,
    pub template_id: Option<TemplateId>,
    pub template_name: Option<String>,
    pub schedule_id: Option<String>,
    /// A step of a recipe run: which, and of which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<RecipeLink>,
    pub config: Value,
    pub scope: Scope,
    /// Grid runs: the cell edits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<CellEdit>,
    /// A CRM property each changed record gets the Run ID in (apply runs).
    pub stamp_property: Option<String>,
    pub notify: Option<Notify>,
    /// The member who started it (for a schedule, the schedule's author).
    pub started_by: MemberId,
    pub started_by_email: String,
    pub acting: Acting,
    pub status: Status,
    pub counts: Counts,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed, or why it waits.
    pub error: Option<String>,
    pub waiting_for: Option<RunId>,
    pub cancel_requested: bool,
    pub revert_of: Option<RunId>,
    pub reverted_by: Option<RunId>,
    pub revertible: Option<Revertible>,
    /// An apply run of a preview's stored plan (`POST /runs/{id}/apply`): the preview's
    /// Run ID. Such a run does not plan again.
    #[serde(default)]
    pub from_preview: Option<RunId>,
    /// A preview: the apply run made of its plan (a preview is applied once).
    #[serde(default)]
    pub applied_by: Option<RunId>,
    /// An apply of a preview: the merge groups left out of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_groups: Vec<String>,
    /// An apply of a preview: the records left out of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_records: Vec<String>,
    /// Merge: a person's decisions on review pairs this run follows.
    #[serde(default, skip_serializing_if = "crate::modules::Decisions::is_empty")]
    pub decisions: crate::modules::Decisions,
    /// Merge runs of a scored template: the match model (weights) the run used, learned from
    /// the records or the template's saved one; a template can save it to reuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_model: Option<Value>,
    pub csv: Option<CsvFile>,
    /// The report's delivery, for a run with `notify` (pending once the run ends).
    #[serde(default)]
    pub delivery: Option<crate::reports::Delivery>,
    /// How many times the worker picked it up again (Lambda deadlines, restarts).
    pub continuations: u64,
    #[serde(skip)]
    pub version: u64,
}

/// Where a run's audit CSV is, once finished.
pub fn csv_key(account_id: &str, run_id: RunId) -> String {
    format!("runs/{account_id}/{run_id}.csv")
}

/// The CSV's download name: carries the Run ID.
pub fn csv_file_name(run: &Run) -> String {
    format!("steward-{}-{}-{}.csv", run.module, run.mode.name(), run.id)
}

impl Scoped for Run {
    fn module(&self) -> Module {
        self.module
    }
}

impl Run {
    /// The stored item; `wake` marks a write that must (re)start the worker.
    pub fn to_item(&self, wake: bool) -> Result<Item> {
        let mut item = Item::of(
            crate::keys::account(&self.account_id),
            crate::keys::run(self.id),
            self.version,
            self,
        )?;
        item.data.insert("wake".into(), Value::Bool(wake));
        if !self.status.is_final() {
            item = item.indexed(
                crate::keys::RUNS_ACTIVE,
                crate::keys::active_run(&self.account_id, &self.object, self.id),
            );
        }
        Ok(item)
    }

    pub fn from_item(item: &Item) -> Result<Run> {
        let mut run: Run = item.decode("run")?;
        run.version = item.version;
        Ok(run)
    }

    pub fn config(&self) -> Result<ModuleConfig> {
        ModuleConfig::stored(self.module, &self.config)
    }
}

/// The run, or a 404 (another account's runs are not found).
pub async fn load(s: &impl UsesItems, account_id: &AccountId, run_id: RunId) -> Result<Run> {
    match s
        .items()
        .get(&crate::keys::account(account_id), &crate::keys::run(run_id))
        .await?
    {
        Some(item) => Run::from_item(&item),
        None => Err(Error::NotFound(format!("run {run_id}"))),
    }
}

/// Read-modify-write of a run item, retried when another writer got there first (the
/// worker's progress and a member's cancel race harmlessly).
pub async fn update(
    s: &(impl UsesItems + UsesRunQueue),
    account_id: &AccountId,
    run_id: RunId,
    wake: bool,
    mut change: impl FnMut(&mut Run),
) -> Result<Run> {
    let run = crate::ports::items::update(
        s.items(),
        8,
        || load(s, account_id, run_id),
        |run| {
            change(run);
            run.to_item(wake).map(Some)
        },
    )
    .await?
    .ok_or_else(|| {
        Error::Unavailable(format!(
            "run {run_id} is being updated too often; try again"
        ))
    })?;
    if wake {
        s.run_queue().wake(account_id, run_id);
    }
    Ok(run)
}

impl crate::ports::items::Versioned for Run {
    fn version_mut(&mut self) -> &mut u64 {
        &mut self.version
    }
}

/// What `POST /runs` takes.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::modules::config::config_by_module)]
pub struct StartInput {
    #[serde(default)]
    pub template_id: Option<String>,
    /// Without a template: the module and its config.
    #[serde(default)]
    #[schemars(with = "Option<Module>")]
    pub module: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "crate::modules::config::config_schema")]
    pub config: Option<Value>,
    pub mode: Mode,
    /// `"all"` (the default) or `{"ids": [...]}`.
    #[serde(default)]
    #[schemars(with = "Option<Scope>")]
    pub scope: Option<Value>,
    /// Grid runs: the cells to change.
    #[serde(default)]
    #[schemars(length(min = 1, max = 2000))]
    pub edits: Option<Vec<CellEdit>>,
    /// Apply runs: a CRM property each changed record gets the Run ID in.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]{1,100}$"))]
    pub stamp_property: Option<String>,
    #[serde(default)]
    pub notify: Option<Notify>,
    /// Merge runs of a scored template: a person's decisions on an earlier preview's
    /// review pairs (accepted pairs are merged, rejected ones never are).
    #[serde(default)]
    pub decisions: Option<crate::modules::Decisions>,
}

/// Checks decisions on review pairs: merge runs only, each pair two different ids, no
/// pair both accepted and rejected.
fn check_decisions(module: Module, d: &crate::modules::Decisions) -> Result<()> {
    if d.is_empty() {
        return Ok(());
    }
    if module != Module::Merge {
        return Err(Error::invalid(
            "/decisions",
            "only merge runs take decisions on review pairs",
        ));
    }
    let mut errors = Vec::new();
    let key = |p: &[String; 2]| {
        let (a, b) = (p[0].trim(), p[1].trim());
        if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        }
    };
    for (list, pairs) in [("accept", &d.accept), ("reject", &d.reject)] {
        for (i, p) in pairs.iter().enumerate() {
            let bad = |detail: &str| {
                crate::error::FieldError::new(format!("/decisions/{list}/{i}"), detail)
            };
            if p.iter().any(|id| id.trim().is_empty() || id.len() > 64) {
                errors.push(bad(
                    "each id must be a record id (text, 1 to 64 characters)",
                ));
            } else if p[0].trim() == p[1].trim() {
                errors.push(bad("a pair names two different records"));
            }
        }
    }
    let accepted: std::collections::HashSet<_> = d.accept.iter().map(key).collect();
    for (i, p) in d.reject.iter().enumerate() {
        if accepted.contains(&key(p)) {
            errors.push(crate::error::FieldError::new(
                format!("/decisions/reject/{i}"),
                "this pair is also accepted: decide it once",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_all(errors))
    }
}

/// Record ids as a run's scope takes them (a scope, an automation call): 1 to 2,000 ids
/// of 1 to 64 characters, trimmed, the first of each kept in order; else a 400 at
/// `pointer` or at the id's own pointer.
pub fn check_record_ids(ids: &[String], pointer: &str) -> Result<Vec<String>> {
    if ids.is_empty() || ids.len() > MAX_SCOPE_IDS {
        return Err(Error::invalid(
            pointer,
            format!("give 1 to {MAX_SCOPE_IDS} record ids"),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let t = id.trim();
        if t.is_empty() || t.len() > 64 {
            return Err(Error::invalid(
                format!("{pointer}/{i}"),
                "must be a record id (text, 1 to 64 characters)",
            ));
        }
        if seen.insert(t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

pub fn parse_scope(v: Option<&Value>) -> Result<Scope> {
    let bad = || {
        Error::invalid(
            "/scope",
            "must be \"all\" or {\"ids\": [...]} with 1 to 2000 record ids",
        )
    };
    match v {
        None | Some(Value::Null) => Ok(Scope::All),
        Some(Value::String(s)) if s == "all" => Ok(Scope::All),
        Some(Value::Object(m)) if m.len() == 1 => {
            let Some(Value::Array(ids)) = m.get("ids") else {
                return Err(bad());
            };
            if ids.is_empty() || ids.len() > MAX_SCOPE_IDS {
                return Err(bad());
            }
            let mut text = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                match id.as_str() {
                    Some(t) => text.push(t.to_string()),
                    None => {
                        return Err(Error::invalid(
                            format!("/scope/ids/{i}"),
                            "must be a record id (text, 1 to 64 characters)",
                        ));
                    }
                }
            }
            check_record_ids(&text, "/scope/ids").map(Scope::Ids)
        }
        Some(_) => Err(bad()),
    }
}

/// A new run, ready to be stored: what both `POST /runs` and the schedule target make.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The module's permission for `mode`, as checked: a run cannot be made without it.
    pub grant: Grant,
    pub config: ModuleConfig,
    pub config_json: Value,
    pub template: Option<(TemplateId, String)>,
    pub schedule_id: Option<String>,
    pub recipe: Option<RecipeLink>,
    pub mode: Mode,
    pub trigger: Trigger,
    pub scope: Scope,
    pub edits: Vec<CellEdit>,
    pub stamp_property: Option<String>,
    pub notify: Option<Notify>,
    pub started_by: MemberId,
    pub started_by_email: String,
    pub acting: Acting,
    pub revert_of: Option<RunId>,
    /// An apply of a preview's plan, less what was left out.
    pub from_preview: Option<apply_preview::Pick>,
    /// Merge: decisions on review pairs.
    pub decisions: crate::modules::Decisions,
}

/// Checks a start request and what it names (the template, the member's permission for
/// the mode) and turns it into a `NewRun`.
pub async fn prepare(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesCrm),
    who: &Principal,
    input: StartInput,
) -> Result<NewRun> {
    let (module, config_json, template) = match (&input.template_id, &input.module) {
        (Some(id), None) if input.config.is_none() => {
            let id = crate::templates::named(id)?;
            let t = crate::templates::get(s, who, id).await?.into_inner();
            (t.module, t.config, Some((t.id, t.name)))
        }
        (None, Some(m)) => {
            let module = Module::named(m, "/module")?;
            let config = input
                .config
                .clone()
                .ok_or_else(|| Error::invalid("/config", "is required with `module`"))?;
            (module, config, None)
        }
        _ => {
            return Err(Error::invalid(
                "/template_id",
                "give either `template_id`, or `module` and `config`",
            ));
        }
    };
    let grant = who.grant(module, input.mode.need())?;
    let config = ModuleConfig::parse(module, &config_json)?;
    let scope = parse_scope(input.scope.as_ref())?;
    let decisions = input.decisions.unwrap_or_default();
    check_decisions(module, &decisions)?;
    let edits = input.edits.unwrap_or_default();
    match module {
        Module::Grid if edits.is_empty() => {
            return Err(Error::invalid(
                "/edits",
                "a grid run needs the cells to change: [{\"id\", \"field\", \"value\"}]",
            ));
        }
        Module::Grid if edits.len() > MAX_EDITS => {
            return Err(Error::invalid(
                "/edits",
                format!("at most {MAX_EDITS} cells per run"),
            ));
        }
        Module::Grid => {}
        _ if !edits.is_empty() => {
            return Err(Error::invalid("/edits", "only grid runs take cell edits"));
        }
        _ => {}
    }
    if let Some(p) = &input.stamp_property {
        let ok = !p.is_empty()
            && p.len() <= 100
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::invalid(
                "/stamp_property",
                "must be a CRM property name (letters, digits, _)",
            ));
        }
        if input.mode == Mode::Preview {
            return Err(Error::invalid(
                "/stamp_property",
                "only an apply run writes the Run ID to the CRM",
            ));
        }
    }
    let errors = notify_problems(s, &who.account_id, input.notify.as_ref()).await?;
    if !errors.is_empty() {
        return Err(Error::invalid_all(errors));
    }
    // The config against the CRM as it is now (a template may predate a schema change),
    // and a grid's edits against its records: a 400, and no run.
    let crm = crate::crm_schema::crm_of(s, who).await?;
    let schema = crate::crm_schema::check_config(s, &who.account_id, crm.as_ref(), &config).await?;
    if module == Module::Grid {
        crate::crm_schema::check_grid_edits(crm.as_ref(), &config, &schema, &edits).await?;
    }
    Ok(NewRun {
        grant,
        config,
        config_json,
        template,
        schedule_id: None,
        recipe: None,
        mode: input.mode,
        trigger: Trigger::Manual,
        scope,
        edits,
        stamp_property: input.stamp_property,
        notify: input.notify,
        started_by: who.user_id.clone(),
        started_by_email: who.email.clone(),
        acting: Acting::Member {
            user_id: who.user_id.clone(),
        },
        revert_of: None,
        from_preview: None,
        decisions,
    })
}

/// A Run ID that every attempt at making one run names alike: the time `at`, and 80 bits
/// from `seed` and that time (a schedule's fire, a recipe run's step).
pub fn derived_id(seed: &str, at: DateTime<Utc>) -> RunId {
    let digest = crate::crypto::sha256(format!("{seed}@{}", at.timestamp_millis()).as_bytes());
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    RunId::from_parts(
        at.timestamp_millis().max(0) as u64,
        u128::from_be_bytes(random),
    )
}

/// Stores a new run (`queued`, waking the worker) and returns it.
pub async fn create(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    account_id: &AccountId,
    new: NewRun,
) -> Result<Run> {
    create_with_id(s, account_id, RunId::at(s.clock().now()), new).await
}

/// Starts an apply run that follows `source` (a revert of it, or the apply of a reviewed
/// preview), acting as `who`. `source` is claimed first, with its version, so two such runs
/// of one source cannot both start: `mark` names the new run on it (`reverted_by`,
/// `applied_by`); `shape` sets what differs from the source's module, config and template.
/// Both are apply runs: `source` comes with write on its module.
pub(crate) async fn follow_up(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    who: &Principal,
    source: &Granted<Run>,
    trigger: Trigger,
    mark: impl FnOnce(&mut Run, RunId),
    shape: impl FnOnce(NewRun) -> NewRun,
) -> Result<Run> {
    let grant = source.grant();
    grant.covers(source.module, Mode::Apply.need())?;
    let id = RunId::at(s.clock().now());
    let mut claimed = Run::clone(source);
    mark(&mut claimed, id);
    s.items()
        .put(claimed.to_item(false)?, Condition::Version(source.version))
        .await
        .map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict(format!(
                "run {} changed while you asked; look at it again",
                source.id
            )),
            e => e,
        })?;
    let new = NewRun {
        grant,
        config: ModuleConfig::stored(source.module, &source.config)?,
        config_json: source.config.clone(),
        template: source.template_id.zip(source.template_name.clone()),
        schedule_id: None,
        recipe: None,
        mode: Mode::Apply,
        trigger,
        scope: Scope::All,
        edits: Vec::new(),
        stamp_property: None,
        notify: None,
        started_by: who.user_id.clone(),
        started_by_email: who.email.clone(),
        acting: Acting::Member {
            user_id: who.user_id.clone(),
        },
        revert_of: None,
        from_preview: None,
        decisions: source.decisions.clone(),
    };
    create_with_id(s, &who.account_id, id, shape(new)).await
}

/// As `create`, with a chosen id (a schedule's fire makes it from the fire time, so a
/// redelivered event finds the run it already made). A second create of one id is a
/// `Conflict`.
pub async fn create_with_id(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    account_id: &AccountId,
    id: RunId,
    new: NewRun,
) -> Result<Run> {
    let module = new.grant.module();
    new.grant.covers(module, new.mode.need())?;
    let mut run = Run {
        id,
        account_id: account_id.clone(),
        module,
        object: new.config.object().to_string(),
        mode: new.mode,
        trigger: new.trigger,
        template_id: new.template.as_ref().map(|t| t.0),
        template_name: new.template.map(|t| t.1),
        schedule_id: new.schedule_id,
        recipe: new.recipe,
        config: new.config_json,
        scope: new.scope,
        edits: new.edits,
        stamp_property: new.stamp_property,
        notify: new.notify,
        started_by: new.started_by,
        started_by_email: new.started_by_email,
        acting: new.acting,
        status: Status::Queued,
        counts: Counts::default(),
        created_at: s.clock().now(),
        started_at: None,
        finished_at: None,
        error: None,
        waiting_for: None,
        cancel_requested: false,
        revert_of: new.revert_of,
        reverted_by: None,
        revertible: None,
        applied_by: None,
        exclude_groups: new
            .from_preview
            .as_ref()
            .map(|p| p.exclude_groups.clone())
            .unwrap_or_default(),
        exclude_records: new
            .from_preview
            .as_ref()
            .map(|p| p.exclude_records.clone())
            .unwrap_or_default(),
        from_preview: new.from_preview.map(|p| p.run_id),
        decisions: new.decisions,
        score_model: None,
        csv: None,
        delivery: None,
        continuations: 0,
        version: 0,
    };
    run.version = s.items().put(run.to_item(true)?, Condition::Absent).await?;
    tracing::info!(run_id = %run.id, module = %run.module, mode = ?run.mode, "run queued");
    s.run_queue().wake(account_id, run.id);
    Ok(run)
}

/// `POST /runs`.
pub async fn start(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesCrm + UsesRunQueue),
    who: &Principal,
    input: StartInput,
) -> Result<Run> {
    let new = prepare(s, who, input).await?;
    create(s, &who.account_id, new).await
}

/// A run the member may see (read on its module), else 403/404.
pub async fn get(s: &impl UsesItems, who: &Principal, run_id: RunId) -> Result<Granted<Run>> {
    who.grant_on(load(s, &who.account_id, run_id).await?, Permission::Read)
}

/// `POST /runs/{id}/cancel`: stops at the next batch boundary. Needs write on the module.
pub async fn cancel(
    s: &(impl UsesItems + UsesRunQueue),
    who: &Principal,
    run_id: RunId,
) -> Result<Run> {
    let run = who.grant_on(get(s, who, run_id).await?.into_inner(), Permission::Write)?;
    if run.status.is_final() {
        return Err(Error::Conflict(format!(
            "run {run_id} has already ended ({})",
            run.status.name()
        )));
    }
    update(s, &who.account_id, run_id, true, |r| {
        r.cancel_requested = true;
    })
    .await
}

/// `GET /runs/{id}/csv`: a link to the audit CSV, valid for 15 minutes.
pub async fn csv_link(
    s: &(impl UsesItems + UsesBlobs),
    who: &Principal,
    run_id: RunId,
) -> Result<String> {
    let run = get(s, who, run_id).await?;
    let Some(csv) = &run.csv else {
        return Err(Error::Conflict(format!(
            "run {run_id} is {}: its CSV is written when it ends",
            run.status.name()
        )));
    };
    s.blobs()
        .presigned_get(
            &csv_key(&run.account_id, run.id),
            CSV_LINK_TTL,
            Some(&csv.file_name),
        )
        .await
}

/// Activity Tracker filters (all optional, all must hold).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub run_id: Option<String>,
    pub module: Option<Module>,
    pub member: Option<String>,
    pub status: Option<Status>,
    pub trigger: Option<Trigger>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Filters {
    fn matches(&self, r: &Run) -> bool {
        self.run_id.as_deref().is_none_or(|id| r.id == *id)
            && self.module.is_none_or(|m| m == r.module)
            && self
                .member
                .as_ref()
                .is_none_or(|m| r.started_by == *m || m.eq_ignore_ascii_case(&r.started_by_email))
            && self.status.is_none_or(|s| s == r.status)
            && self.trigger.is_none_or(|t| t == r.trigger)
            && self.from.is_none_or(|f| r.created_at >= f)
            && self.to.is_none_or(|t| r.created_at < t)
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunPage {
    pub runs: Vec<Run>,
    /// Pass back as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Runs examined per listing request at most, so a filter that matches little still
/// answers quickly; the cursor continues the search.
const LIST_EXAMINE_MAX: usize = 2_000;

/// `GET /runs`: newest first, runs of the modules the member can read.
pub async fn list(
    s: &impl UsesItems,
    who: &Principal,
    filters: &Filters,
    limit: usize,
    cursor: Option<String>,
) -> Result<RunPage> {
    if let Some(m) = filters.module {
        authorize(who, Need::Module(m, Permission::Read))?;
    }
    let pk = crate::keys::account(&who.account_id);
    // Runs sort by id, and ids by creation time: a date range bounds the scan.
    let base = Query::partition(&pk)
        .prefix(crate::keys::RUNS)
        .newest_first();
    let mut cursor = cursor;
    if let (None, Some(to)) = (&cursor, filters.to) {
        // Start just below the first id at or after `to`.
        let start = RunId::floor(to);
        cursor = Some(
            Cursor {
                pk: pk.clone(),
                sk: crate::keys::run(start),
                gsi1: None,
            }
            .encode(),
        );
    }
    let mut runs = Vec::new();
    let mut examined = 0usize;
    loop {
        let page = s
            .items()
            .query(&base.clone().limit(100).after(cursor.clone()))
            .await?;
        let last = page.items.len();
        for (i, item) in page.items.iter().enumerate() {
            examined += 1;
            let run = Run::from_item(item)?;
            if filters.from.is_some_and(|f| run.created_at < f) {
                return Ok(RunPage { runs, cursor: None });
            }
            if filters.matches(&run) && who.permission(run.module) >= Permission::Read {
                runs.push(run);
            }
            let here = || Some(Cursor::of(item, Index::Primary).encode());
            if runs.len() >= limit || examined >= LIST_EXAMINE_MAX {
                let more = i + 1 < last || page.cursor.is_some();
                return Ok(RunPage {
                    runs,
                    cursor: if more { here() } else { None },
                });
            }
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(RunPage { runs, cursor: None }),
        }
    }
}

/// The field types of the run's `object` (described at most once per `SCHEMA_TTL`), to
/// compare its values as the CRM stores them.
pub(crate) async fn field_types(
    s: &(impl UsesCrm + UsesClock),
    account_id: &AccountId,
    crm: &dyn crate::crm::Crm,
    object: &str,
) -> Result<crate::crm::values::FieldTypes, crate::crm::CrmError> {
    crate::crm_schema::describe(s, account_id, crm, object)
        .await
        .map(|schema| crate::crm::values::FieldTypes::of(&schema))
        .map_err(|e| crate::crm::CrmError::Unavailable(format!("describing {object}: {e}")))
}

/// `POST /runs/{id}/apply`.
pub async fn start_apply_preview(
    s: &(impl UsesItems + UsesClock + UsesRunQueue + UsesBlobs),
    who: &Principal,
    run_id: RunId,
    input: apply_preview::ApplyInput,
) -> Result<Run> {
    apply_preview::start(s, who, run_id, input).await
}

/// `POST /runs/{id}/revert`.
pub async fn start_revert(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    who: &Principal,
    run_id: RunId,
) -> Result<Run> {
    revert::start(s, who, run_id).await
}
