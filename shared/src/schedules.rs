//! Schedules: a template run on an EventBridge expression (`rate(...)`, six-field
//! `cron(...)`) in a time zone, in preview or apply, with an optional report. Stored as
//! `ACCT#<a>` / `SCHED#<id>` and mirrored by a Scheduler schedule `s-<id>` in Steward's
//! group whose target is the exports function with input `{account_id, schedule_id,
//! scheduled_time}`. Every change writes Steward's item and the Scheduler's schedule and
//! undoes the first when the second fails, so neither side is left orphaned.
//!
//! A fire (`fire`) makes a run with `trigger: schedule` acting as the account's
//! integration user. Its Run ID is derived from (schedule, scheduled time), so a
//! redelivered fire finds the run it already made. A fire is skipped, with the reason
//! kept on the schedule, when the template is gone, the account has no usable
//! integration connection, or the CRM's daily API allowance is inside the reserve.

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::{UsesClock, UsesCrm, UsesItems, UsesLinks, UsesRunQueue, UsesScheduler};
use crate::error::{Error, FieldError, Result};
use crate::identity::connections::Slot;
use crate::identity::policy::{self, AccountPolicy};
use crate::identity::{Grant, Granted, Permission, Principal, Scoped};
use crate::ids::{RunId, ScheduleId, TemplateId};
use crate::modules::{Module, ModuleConfig};
use crate::ports::items::{Condition, Item, Query};
use crate::ports::scheduler::ScheduleSpec;
use crate::runs::{self, Acting, Mode, NewRun, Notify, Scope, Trigger};
use crate::schedule_expr::{ScheduleExpression, parse_timezone};

/// Next fire times shown with a schedule.
pub const UPCOMING: usize = 5;
/// Share of the CRM's daily API allowance a scheduled run leaves to other tools, unless
/// the schedule says otherwise.
pub const DEFAULT_RESERVE_PERCENT: u8 = 10;

/// What a client sends to create or replace a schedule.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    pub template_id: String,
    pub mode: Mode,
    /// `rate(1 day)`, `cron(0 9 ? * MON-FRI *)`.
    #[schemars(regex(pattern = r"^\s*(rate|cron|at)\([\s\S]+\)\s*$"))]
    pub expression: String,
    /// IANA time zone (default UTC).
    #[serde(default)]
    #[schemars(length(min = 1, max = 64))]
    pub timezone: Option<String>,
    #[serde(default)]
    pub notify: Option<Notify>,
    /// Percent of the daily API allowance kept for other tools (default 10).
    #[serde(default)]
    #[schemars(range(max = 90))]
    pub reserve_percent: Option<u8>,
    #[serde(default)]
    pub paused: Option<bool>,
}

/// Why the last fire made no run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LastFire {
    pub scheduled_time: DateTime<Utc>,
    pub run_id: Option<RunId>,
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Schedule {
    pub id: String,
    pub account_id: crate::ids::AccountId,
    pub template_id: TemplateId,
    pub template_name: String,
    pub module: crate::modules::Module,
    pub mode: Mode,
    pub expression: String,
    pub timezone: String,
    pub notify: Option<Notify>,
    pub reserve_percent: u8,
    pub paused: bool,
    pub created_by: crate::ids::MemberId,
    pub created_by_email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_fire: Option<LastFire>,
    #[serde(default)]
    pub version: u64,
    /// The next fire times (not stored).
    #[serde(default, skip_deserializing)]
    pub next: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SchedulePage {
    pub schedules: Vec<Schedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// What a frequency builder shows before anything is saved: the expression as a schedule
/// would store it, and when it would fire.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SchedulePreview {
    /// The expression in the canonical form a schedule stores (`rate(1 day)`).
    pub expression: String,
    /// The IANA time zone the expression is read in.
    pub timezone: String,
    /// The next 5 fire times in UTC (fewer when the expression ends, as a past `at(...)`).
    pub next: Vec<DateTime<Utc>>,
}

/// The next fire times of `expression` in `timezone` (default UTC) after `now`; a 400
/// naming `expression` and/or `timezone` (the query parameters) when either is wrong, or
/// when the expression fires more often than the account's `policy` allows.
pub fn preview(
    expression: Option<&str>,
    timezone: Option<&str>,
    now: DateTime<Utc>,
    policy: &AccountPolicy,
) -> Result<SchedulePreview> {
    let mut errors = Vec::new();
    let parsed = match expression.map(|e| allowed_expression(e, policy)) {
        None => {
            errors.push(FieldError::new("expression", "is required"));
            None
        }
        Some(Ok(e)) => Some(e),
        Some(Err(message)) => {
            errors.push(FieldError::new("expression", message));
            None
        }
    };
    let timezone = timezone.unwrap_or("UTC");
    let tz = match parse_timezone(timezone) {
        Ok(tz) => Some(tz),
        Err(e) => {
            errors.push(FieldError::new("timezone", e.message));
            None
        }
    };
    match (parsed, tz) {
        (Some(e), Some(tz)) if errors.is_empty() => Ok(SchedulePreview {
            expression: e.to_string(),
            timezone: timezone.trim().to_string(),
            next: e.upcoming(now, tz, UPCOMING),
        }),
        _ => Err(Error::invalid_all(errors)),
    }
}

/// The expression, parsed, when it is one AWS takes and it fires no more often than the
/// account's policy allows; else why not.
fn allowed_expression(
    expression: &str,
    policy: &AccountPolicy,
) -> std::result::Result<ScheduleExpression, String> {
    let e = ScheduleExpression::parse(expression).map_err(|e| e.message)?;
    match policy.interval_refusal(&e) {
        Some(why) => Err(why),
        None => Ok(e),
    }
}

/// The Scheduler schedule's name for a schedule id (1-64 of `[A-Za-z0-9_.-]`).
pub fn scheduler_name(id: &str) -> String {
    format!("s-{id}")
}

/// What EventBridge hands the target: `<aws.scheduler.scheduled-time>` is replaced by
/// the fire's time (the local scheduler does the same).
pub fn target_input(account_id: &AccountId, schedule_id: &str) -> String {
    serde_json::json!({
        "account_id": account_id,
        "schedule_id": schedule_id,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    })
    .to_string()
}

impl Scoped for Schedule {
    fn module(&self) -> Module {
        self.module
    }
}

impl Schedule {
    fn to_item(&self) -> Result<Item> {
        Item::of(
            crate::keys::account(&self.account_id),
            crate::keys::schedule(&self.id),
            self.version,
            self,
        )
    }

    fn from_item(item: &Item) -> Result<Schedule> {
        let mut s: Schedule = item.decode("schedule")?;
        s.version = item.version;
        Ok(s)
    }

    fn spec(&self) -> ScheduleSpec {
        ScheduleSpec {
            name: scheduler_name(&self.id),
            expression: self.expression.clone(),
            timezone: self.timezone.clone(),
            input: target_input(&self.account_id, &self.id),
            enabled: !self.paused,
        }
    }

    fn with_next(mut self, now: DateTime<Utc>) -> Self {
        self.next = match (
            ScheduleExpression::parse(&self.expression),
            parse_timezone(&self.timezone),
        ) {
            (Ok(e), Ok(tz)) if !self.paused => e.upcoming(now, tz, UPCOMING),
            _ => Vec::new(),
        };
        self
    }
}

/// The input checked against the account's policy: every problem named by pointer.
fn check(input: &ScheduleInput, policy: &AccountPolicy) -> Result<(String, String)> {
    let mut errors = Vec::new();
    let expression = match allowed_expression(&input.expression, policy) {
        Ok(e) => Some(e.to_string()),
        Err(message) => {
            errors.push(FieldError::new("/expression", message));
            None
        }
    };
    let timezone = input.timezone.clone().unwrap_or_else(|| "UTC".into());
    if let Err(e) = parse_timezone(&timezone) {
        errors.push(FieldError::new("/timezone", e.message));
    }
    if let Some(n) = &input.notify {
        errors.extend(n.check(policy));
    }
    if input.reserve_percent.is_some_and(|p| p > 90) {
        errors.push(FieldError::new(
            "/reserve_percent",
            "must be 0 to 90 (percent of the daily API allowance kept for other tools)",
        ));
    }
    match (expression, errors.first()) {
        (Some(e), None) => Ok((e, timezone)),
        (_, first) => Err(Error::Invalid {
            detail: first
                .map(|f| format!("{}: {}", f.pointer, f.detail))
                .unwrap_or_default(),
            errors,
        }),
    }
}

/// The member may schedule the template in this mode: read for preview, write for apply.
async fn template_for(
    s: &(impl UsesItems + UsesLinks),
    who: &Principal,
    template_id: &str,
    mode: Mode,
) -> Result<Granted<crate::templates::Template>> {
    let t = crate::templates::get(s, who, crate::templates::named(template_id)?).await?;
    who.grant_on(t.into_inner(), mode.need())
}

pub async fn create(
    s: &(impl UsesItems + UsesClock + UsesScheduler + UsesLinks),
    who: &Principal,
    input: ScheduleInput,
) -> Result<Schedule> {
    let (expression, timezone) = check(&input, &policy::load(s, &who.account_id).await?)?;
    let t = template_for(s, who, &input.template_id, input.mode).await?;
    let module = t.grant().module();
    let t = t.into_inner();
    let now = s.clock().now();
    let mut schedule = Schedule {
        id: ScheduleId::at(now).to_string(),
        account_id: who.account_id.clone(),
        template_id: t.id,
        template_name: t.name,
        module,
        mode: input.mode,
        expression,
        timezone,
        notify: input.notify,
        reserve_percent: input.reserve_percent.unwrap_or(DEFAULT_RESERVE_PERCENT),
        paused: input.paused.unwrap_or(false),
        created_by: who.user_id.clone(),
        created_by_email: who.email.clone(),
        created_at: now,
        updated_at: now,
        last_fire: None,
        version: 0,
        next: Vec::new(),
    };
    schedule.version = s
        .items()
        .put(schedule.to_item()?, Condition::Absent)
        .await?;
    if let Err(e) = s.scheduler().create(&schedule.spec()).await {
        // No Scheduler schedule: no item either.
        if let Err(undo) = s
            .items()
            .delete(
                &crate::keys::account(&who.account_id),
                &crate::keys::schedule(&schedule.id),
                None,
            )
            .await
        {
            tracing::error!(schedule_id = %schedule.id, error = %undo, "undoing a schedule item failed");
        }
        return Err(e);
    }
    tracing::info!(schedule_id = %schedule.id, "schedule created");
    Ok(schedule.with_next(now))
}

async fn load(s: &impl UsesItems, account_id: &AccountId, id: &str) -> Result<Schedule> {
    id.parse::<ScheduleId>()?;
    match s
        .items()
        .get(
            &crate::keys::account(account_id),
            &crate::keys::schedule(id),
        )
        .await?
    {
        Some(item) => Schedule::from_item(&item),
        None => Err(Error::NotFound(format!("schedule {id}"))),
    }
}

/// A schedule the member may see (read on its module).
pub async fn get(s: &(impl UsesItems + UsesClock), who: &Principal, id: &str) -> Result<Schedule> {
    let schedule = load(s, &who.account_id, id).await?;
    let schedule = who.grant_on(schedule, Permission::Read)?.into_inner();
    Ok(schedule.with_next(s.clock().now()))
}

/// A schedule the member may change: what starting its run would need.
async fn changeable(
    s: &(impl UsesItems + UsesClock),
    who: &Principal,
    id: &str,
) -> Result<Granted<Schedule>> {
    let schedule = get(s, who, id).await?;
    let need = schedule.mode.need();
    who.grant_on(schedule, need)
}

/// Writes `next` over `current` in both places, the item first; a Scheduler failure puts
/// the item back.
async fn replace(
    s: &(impl UsesItems + UsesClock + UsesScheduler),
    current: &Schedule,
    mut next: Schedule,
) -> Result<Schedule> {
    next.updated_at = s.clock().now();
    next.version = s
        .items()
        .put(next.to_item()?, Condition::Version(current.version))
        .await?;
    if let Err(e) = s.scheduler().update(&next.spec()).await {
        let mut back = current.clone();
        back.version = next.version;
        if let Err(undo) = s
            .items()
            .put(back.to_item()?, Condition::Version(next.version))
            .await
        {
            tracing::error!(schedule_id = %current.id, error = %undo, "restoring a schedule item failed");
        }
        return Err(e);
    }
    Ok(next.with_next(s.clock().now()))
}

pub async fn update(
    s: &(impl UsesItems + UsesClock + UsesScheduler + UsesLinks),
    who: &Principal,
    id: &str,
    input: ScheduleInput,
) -> Result<Schedule> {
    let current = changeable(s, who, id).await?;
    let (expression, timezone) = check(&input, &policy::load(s, &who.account_id).await?)?;
    let t = template_for(s, who, &input.template_id, input.mode).await?;
    let module = t.grant().module();
    let t = t.into_inner();
    let next = Schedule {
        template_id: t.id,
        template_name: t.name,
        module,
        mode: input.mode,
        expression,
        timezone,
        notify: input.notify,
        reserve_percent: input.reserve_percent.unwrap_or(DEFAULT_RESERVE_PERCENT),
        paused: input.paused.unwrap_or(current.paused),
        ..Schedule::clone(&current)
    };
    replace(s, &current, next).await
}

pub async fn set_paused(
    s: &(impl UsesItems + UsesClock + UsesScheduler),
    who: &Principal,
    id: &str,
    paused: bool,
) -> Result<Schedule> {
    let current = changeable(s, who, id).await?;
    let next = Schedule {
        paused,
        ..Schedule::clone(&current)
    };
    replace(s, &current, next).await
}

/// Deletes the Scheduler schedule, then the item; when the item cannot be deleted the
/// Scheduler schedule is made again.
pub async fn delete(
    s: &(impl UsesItems + UsesClock + UsesScheduler),
    who: &Principal,
    id: &str,
) -> Result<()> {
    let current = changeable(s, who, id).await?;
    s.scheduler().delete(&scheduler_name(id)).await?;
    if let Err(e) = s
        .items()
        .delete(
            &crate::keys::account(&who.account_id),
            &crate::keys::schedule(id),
            Some(current.version),
        )
        .await
    {
        if let Err(undo) = s.scheduler().create(&current.spec()).await {
            tracing::error!(schedule_id = %id, error = %undo, "re-creating a Scheduler schedule failed");
        }
        return Err(e);
    }
    tracing::info!(schedule_id = %id, "schedule deleted");
    Ok(())
}

pub async fn list(
    s: &(impl UsesItems + UsesClock),
    who: &Principal,
    limit: u32,
    cursor: Option<String>,
) -> Result<SchedulePage> {
    let page = s
        .items()
        .query(
            &Query::partition(crate::keys::account(&who.account_id))
                .prefix(crate::keys::SCHEDULES)
                .limit(limit)
                .after(cursor),
        )
        .await?;
    let now = s.clock().now();
    let mut schedules = Vec::new();
    for item in &page.items {
        let sch = Schedule::from_item(item)?;
        if who.permission(sch.module) >= Permission::Read {
            schedules.push(sch.with_next(now));
        }
    }
    Ok(SchedulePage {
        schedules,
        cursor: page.cursor,
    })
}

/// What the Scheduler hands the target.
#[derive(Debug, Clone, Deserialize)]
pub struct FireEvent {
    pub account_id: crate::ids::AccountId,
    pub schedule_id: String,
    /// RFC 3339; absent or unreplaced, the time the event is handled.
    #[serde(default)]
    pub scheduled_time: Option<String>,
}

/// What a fire did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// A run was made (or had been, for a redelivered fire).
    Run(RunId),
    Skipped(String),
    /// The schedule is gone (deleted after the fire was sent).
    Gone,
}

/// The Run ID of a schedule's fire: its time, and 80 bits from the schedule id and that
/// time, so every delivery of one fire names the same run.
pub fn fire_run_id(schedule_id: &str, at: DateTime<Utc>) -> RunId {
    runs::derived_id(schedule_id, at)
}

/// The schedule target: makes the run, or records why not.
pub async fn fire(
    s: &(impl UsesItems + UsesClock + UsesCrm + UsesRunQueue),
    event: &FireEvent,
) -> Result<Fired> {
    let schedule = match load(s, &event.account_id, &event.schedule_id).await {
        Ok(sch) => sch,
        Err(Error::NotFound(_)) => return Ok(Fired::Gone),
        Err(e) => return Err(e),
    };
    let at = event
        .scheduled_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
        .unwrap_or_else(|| s.clock().now());
    let run_id = fire_run_id(&schedule.id, at);
    // A redelivered fire: the run exists.
    if runs::load(s, &schedule.account_id, run_id).await.is_ok() {
        return Ok(Fired::Run(run_id));
    }
    let outcome = match checked_config(s, &schedule).await? {
        Err(reason) => Err(reason),
        Ok(config) => make_run(s, &schedule, run_id, config).await,
    };
    let last = match &outcome {
        Ok(id) => LastFire {
            scheduled_time: at,
            run_id: Some(*id),
            skipped: None,
        },
        Err(reason) => LastFire {
            scheduled_time: at,
            run_id: None,
            skipped: Some(reason.clone()),
        },
    };
    record(s, &schedule, last).await;
    match outcome {
        Ok(id) => Ok(Fired::Run(id)),
        Err(reason) => {
            tracing::warn!(schedule_id = %schedule.id, %reason, "scheduled run skipped");
            Ok(Fired::Skipped(reason))
        }
    }
}

/// The template's config, checked, when this fire may make a run; else why not.
async fn checked_config(
    s: &(impl UsesItems + UsesCrm),
    schedule: &Schedule,
) -> Result<Result<(ModuleConfig, serde_json::Value), String>> {
    if schedule.paused {
        return Ok(Err("the schedule is paused".into()));
    }
    // The policy may have been tightened since the schedule was saved.
    let policy = policy::load(s, &schedule.account_id).await?;
    if let Err(why) = allowed_expression(&schedule.expression, &policy) {
        return Ok(Err(format!(
            "its expression {}: {why}; edit the schedule",
            schedule.expression
        )));
    }
    let Some(config_json) =
        crate::templates::stored_config(s, &schedule.account_id, schedule.template_id).await?
    else {
        return Ok(Err(format!(
            "the template `{}` was deleted",
            schedule.template_name
        )));
    };
    let config = match ModuleConfig::stored(schedule.module, &config_json) {
        Ok(c) => c,
        Err(e) => return Ok(Err(format!("the template is no longer valid: {e}"))),
    };
    let crm = match s.open_crm(&schedule.account_id, Slot::Integration).await {
        Ok(c) => c,
        Err(e) => return Ok(Err(format!("no usable integration user connection: {e}"))),
    };
    // One light call (the object's description) tells whether the connection works and
    // what the CRM has counted against the daily allowance.
    if let Err(e) = crm.describe(config.object()).await {
        return Ok(Err(format!(
            "the integration user's connection failed: {e}"
        )));
    }
    if let Some(why) = crm.api_usage().reserve_refusal(schedule.reserve_percent) {
        return Ok(Err(why));
    }
    Ok(Ok((config, config_json)))
}

async fn make_run(
    s: &(impl UsesItems + UsesClock + UsesRunQueue),
    schedule: &Schedule,
    run_id: RunId,
    (config, config_json): (ModuleConfig, serde_json::Value),
) -> Result<RunId, String> {
    let new = NewRun {
        // Checked when the schedule was saved (`template_for`, `changeable`).
        grant: Grant::saved(schedule.module, schedule.mode.need()),
        config,
        config_json,
        template: Some((schedule.template_id, schedule.template_name.clone())),
        schedule_id: Some(schedule.id.clone()),
        recipe: None,
        mode: schedule.mode,
        trigger: Trigger::Schedule,
        scope: Scope::All,
        edits: Vec::new(),
        stamp_property: None,
        notify: schedule.notify.clone(),
        started_by: schedule.created_by.clone(),
        started_by_email: schedule.created_by_email.clone(),
        acting: Acting::Integration,
        revert_of: None,
        from_preview: None,
        decisions: Default::default(),
    };
    match runs::create_with_id(s, &schedule.account_id, run_id, new).await {
        Ok(run) => Ok(run.id),
        // Two deliveries of one fire raced: the other made it.
        Err(Error::Conflict(_)) => Ok(run_id),
        Err(e) => Err(e.to_string()),
    }
}

/// Keeps the last fire on the schedule (best effort: the run, if any, is made).
async fn record(s: &impl UsesItems, schedule: &Schedule, last: LastFire) {
    let recorded = crate::ports::items::update(
        s.items(),
        3,
        || load(s, &schedule.account_id, &schedule.id),
        |current| {
            current.last_fire = Some(last.clone());
            current.to_item().map(Some)
        },
    )
    .await;
    match recorded {
        Ok(Some(_)) => {}
        // Deleted since it fired: nothing to record on.
        Err(Error::NotFound(_)) => {}
        Ok(None) => {
            tracing::warn!(schedule_id = %schedule.id, "recording a fire lost every race")
        }
        Err(e) => {
            tracing::warn!(schedule_id = %schedule.id, error = %e, "recording a fire failed")
        }
    }
}

impl crate::ports::items::Versioned for Schedule {
    fn version_mut(&mut self) -> &mut u64 {
        &mut self.version
    }
}

/// Under `steward serve`, the in-process scheduler's fires go straight to `fire`, with
/// the scheduled time put into the input as EventBridge does.
#[cfg(feature = "embedded")]
pub struct LocalTarget(pub crate::app::Services);

#[cfg(feature = "embedded")]
#[async_trait::async_trait]
impl crate::ports::scheduler::local::FireTarget for LocalTarget {
    async fn fire(&self, f: crate::ports::scheduler::local::Fire) {
        let at = f
            .scheduled_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let input = f.input.replace("<aws.scheduler.scheduled-time>", &at);
        match serde_json::from_str::<FireEvent>(&input) {
            Ok(event) => match fire(&self.0, &event).await {
                Ok(fired) => tracing::info!(schedule = %f.name, ?fired, "schedule fired"),
                Err(e) => {
                    tracing::error!(schedule = %f.name, error = %e, "a schedule's fire failed")
                }
            },
            Err(e) => {
                tracing::error!(schedule = %f.name, error = %e, "a fire's input is not a schedule event")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_preview_gives_the_next_five_fire_times_in_utc() {
        // A Friday, 21:00 in Tokyo: the next weekday 09:00 there is Monday's.
        let p = preview(
            Some("cron(0 9 ? * MON-FRI *)"),
            Some("Asia/Tokyo"),
            at("2026-03-06T12:00:00Z"),
            &AccountPolicy::default(),
        )
        .unwrap();
        assert_eq!(p.expression, "cron(0 9 ? * MON-FRI *)");
        assert_eq!(p.timezone, "Asia/Tokyo");
        let days: Vec<String> = p.next.iter().map(|t| t.to_rfc3339()).collect();
        assert_eq!(
            days,
            [
                "2026-03-09T00:00:00+00:00",
                "2026-03-10T00:00:00+00:00",
                "2026-03-11T00:00:00+00:00",
                "2026-03-12T00:00:00+00:00",
                "2026-03-13T00:00:00+00:00",
            ]
        );
        let p = preview(
            Some("at(2020-01-01T00:00:00)"),
            None,
            at("2026-03-06T12:00:00Z"),
            &AccountPolicy::default(),
        )
        .unwrap();
        assert_eq!(p.timezone, "UTC");
        assert!(p.next.is_empty(), "a past `at` never fires again");
    }

    #[test]
    fn a_wrong_preview_names_each_parameter_at_fault() {
        let now = at("2026-03-06T12:00:00Z");
        let pointers = |e: Error| -> Vec<String> {
            match e {
                Error::Invalid { errors, .. } => errors.into_iter().map(|f| f.pointer).collect(),
                other => panic!("{other}"),
            }
        };
        let p = AccountPolicy::default();
        let e = preview(Some("cron(nope)"), Some("Mars/Base"), now, &p).unwrap_err();
        assert_eq!(pointers(e), ["expression", "timezone"]);
        let e = preview(None, None, now, &p).unwrap_err();
        assert_eq!(pointers(e), ["expression"]);
        let e = preview(Some("rate(1 day)"), Some(""), now, &p).unwrap_err();
        assert_eq!(pointers(e), ["timezone"]);
        let e = preview(Some("cron(0/5 * * * ? *)"), None, now, &p).unwrap_err();
        assert_eq!(pointers(e), ["expression"]);
    }
}
