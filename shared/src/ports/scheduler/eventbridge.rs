//! `Scheduler` on EventBridge Scheduler: one group for Steward, every schedule targeting
//! the exports function with a role Scheduler assumes, and a dead-letter queue for fires
//! Scheduler could not deliver.

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::types::{
    DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState,
    Target,
};

use super::{ScheduleSpec, Scheduler};
use crate::aws::{error_code, sdk_error};
use crate::error::{Error, Result};

pub struct EventBridgeScheduler {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
    dead_letter_arn: String,
}

/// How long Scheduler keeps trying to hand a fire to the target (it retries only failed
/// deliveries, e.g. Lambda throttling; the function's own errors are Lambda's async
/// retries, see template.yaml). A fire is safe to deliver twice (its Run ID comes from the
/// schedule and the time), but one over an hour late is better sent to the dead-letter
/// queue, where an alarm sees it, than run long after the time people expect.
const MAX_FIRE_AGE_SECONDS: i32 = 3600;
const MAX_FIRE_RETRIES: i32 = 10;

impl EventBridgeScheduler {
    pub fn new(
        client: Client,
        group: &str,
        target_arn: &str,
        role_arn: &str,
        dead_letter_arn: &str,
    ) -> Self {
        Self {
            client,
            group: group.to_string(),
            target_arn: target_arn.to_string(),
            role_arn: role_arn.to_string(),
            dead_letter_arn: dead_letter_arn.to_string(),
        }
    }

    fn target(&self, spec: &ScheduleSpec) -> Result<Target> {
        Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(&spec.input)
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(&self.dead_letter_arn)
                    .build(),
            )
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(MAX_FIRE_AGE_SECONDS)
                    .maximum_retry_attempts(MAX_FIRE_RETRIES)
                    .build(),
            )
            .build()
            .map_err(|e| Error::internal("building a schedule target", e))
    }
}

fn window() -> Result<FlexibleTimeWindow> {
    FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(|e| Error::internal("building a time window", e))
}

fn state(enabled: bool) -> ScheduleState {
    if enabled {
        ScheduleState::Enabled
    } else {
        ScheduleState::Disabled
    }
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    fn kind(&self) -> &'static str {
        "eventbridge-scheduler"
    }

    #[tracing::instrument(skip(self, spec), fields(group = %self.group, name = %spec.name))]
    async fn create(&self, spec: &ScheduleSpec) -> Result<()> {
        spec.validate()?;
        let res = self
            .client
            .create_schedule()
            .group_name(&self.group)
            .name(&spec.name)
            .schedule_expression(&spec.expression)
            .schedule_expression_timezone(&spec.timezone)
            .state(state(spec.enabled))
            .flexible_time_window(window()?)
            .target(self.target(spec)?)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ConflictException") => {
                Err(Error::Conflict(format!("schedule {} exists", spec.name)))
            }
            Err(e) => Err(sdk_error("creating a schedule", e)),
        }
    }

    #[tracing::instrument(skip(self, spec), fields(group = %self.group, name = %spec.name))]
    async fn update(&self, spec: &ScheduleSpec) -> Result<()> {
        spec.validate()?;
        let res = self
            .client
            .update_schedule()
            .group_name(&self.group)
            .name(&spec.name)
            .schedule_expression(&spec.expression)
            .schedule_expression_timezone(&spec.timezone)
            .state(state(spec.enabled))
            .flexible_time_window(window()?)
            .target(self.target(spec)?)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
                Err(Error::NotFound(format!("schedule {}", spec.name)))
            }
            Err(e) => Err(sdk_error("updating a schedule", e)),
        }
    }

    #[tracing::instrument(skip(self), fields(group = %self.group))]
    async fn delete(&self, name: &str) -> Result<()> {
        match self
            .client
            .delete_schedule()
            .group_name(&self.group)
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(sdk_error("deleting a schedule", e)),
        }
    }

    #[tracing::instrument(skip(self), fields(group = %self.group))]
    async fn get(&self, name: &str) -> Result<Option<ScheduleSpec>> {
        let out = match self
            .client
            .get_schedule()
            .group_name(&self.group)
            .name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(sdk_error("reading a schedule", e)),
        };
        Ok(Some(ScheduleSpec {
            name: out.name().unwrap_or(name).to_string(),
            expression: out.schedule_expression().unwrap_or_default().to_string(),
            timezone: out
                .schedule_expression_timezone()
                .unwrap_or("UTC")
                .to_string(),
            input: out
                .target()
                .and_then(|t| t.input())
                .unwrap_or("{}")
                .to_string(),
            enabled: out.state() != Some(&ScheduleState::Disabled),
        }))
    }
}
