//! `Scheduler`: named schedules that fire a target with a JSON input (EventBridge Scheduler
//! on AWS, an in-process timer locally). Expressions are checked here, on both sides,
//! because the emulator accepts anything and AWS does not.

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::schedule_expr::{ScheduleExpression, parse_timezone};

pub mod eventbridge;
#[cfg(feature = "embedded")]
pub mod local;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduleSpec {
    /// Unique in Steward's group; 1-64 of `[A-Za-z0-9_.-]`.
    pub name: String,
    /// `rate(...)`, `cron(...)` (six fields) or `at(...)`.
    pub expression: String,
    /// IANA timezone the expression is read in.
    pub timezone: String,
    /// JSON handed to the target on every fire.
    pub input: String,
    pub enabled: bool,
}

impl ScheduleSpec {
    pub fn validate(&self) -> Result<ScheduleExpression> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !name_ok {
            return Err(Error::invalid(
                "/name",
                "must be 1 to 64 letters, digits, `_`, `.` or `-`",
            ));
        }
        let expr = ScheduleExpression::parse(&self.expression)
            .map_err(|e| Error::invalid("/expression", e.message))?;
        parse_timezone(&self.timezone).map_err(|e| Error::invalid("/timezone", e.message))?;
        serde_json::from_str::<serde_json::Value>(&self.input)
            .map_err(|e| Error::invalid("/input", format!("must be JSON: {e}")))?;
        Ok(expr)
    }
}

#[async_trait]
pub trait Scheduler: Send + Sync {
    fn kind(&self) -> &'static str;

    /// `Conflict` when a schedule of that name exists.
    async fn create(&self, spec: &ScheduleSpec) -> Result<()>;

    /// `NotFound` when there is no schedule of that name.
    async fn update(&self, spec: &ScheduleSpec) -> Result<()>;

    /// Deleting a missing schedule is not an error (deletes are retried to stay in step).
    async fn delete(&self, name: &str) -> Result<()>;

    async fn get(&self, name: &str) -> Result<Option<ScheduleSpec>>;
}
