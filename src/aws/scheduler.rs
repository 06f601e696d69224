//! The EventBridge Scheduler schedule that invokes the control plane:
//! enabled by `up`, disabled by `down`, so it costs nothing while idle.
//!
//! UpdateSchedule replaces the whole schedule: "EventBridge Scheduler uses all
//! values, including empty values, specified in the request and overrides the
//! existing schedule ... we recommend that you call the GetSchedule API
//! operation and make a note of all optional parameters"
//! (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html).
//! So the schedule is read first and sent back with only its state changed.

use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState};

use super::{aws_error, Aws};
use crate::error::{Error, Result};

/// What setting the state found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The control plane is not deployed (no such schedule).
    Absent,
    Unchanged,
    Changed,
}

/// Whether the schedule is enabled; None when it does not exist.
pub async fn enabled(aws: &Aws, name: &str) -> Result<Option<bool>> {
    match aws.scheduler.get_schedule().name(name).send().await {
        Ok(s) => Ok(Some(s.state() == Some(&ScheduleState::Enabled))),
        Err(e) if super::error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(aws_error("scheduler:GetSchedule", name)(e)),
    }
}

/// Enables or disables the schedule, keeping every other setting.
pub async fn set_enabled(aws: &Aws, name: &str, enable: bool) -> Result<Change> {
    let current = match aws.scheduler.get_schedule().name(name).send().await {
        Ok(s) => s,
        Err(e) if super::error_code(&e) == Some("ResourceNotFoundException") => {
            return Ok(Change::Absent)
        }
        Err(e) => return Err(aws_error("scheduler:GetSchedule", name)(e)),
    };
    let wanted = if enable {
        ScheduleState::Enabled
    } else {
        ScheduleState::Disabled
    };
    if current.state() == Some(&wanted) {
        return Ok(Change::Unchanged);
    }
    let incomplete = |what: &str| Error::Unexpected {
        what: format!("schedule {name}"),
        problem: format!("GetSchedule returned no {what}"),
        fix: "re-apply infra/ with control_plane_enabled = true".into(),
    };
    let flexible = current.flexible_time_window().cloned().unwrap_or(
        FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .expect("mode set"),
    );
    aws.scheduler
        .update_schedule()
        .name(name)
        .set_group_name(current.group_name().map(String::from))
        .schedule_expression(
            current
                .schedule_expression()
                .ok_or_else(|| incomplete("schedule expression"))?,
        )
        .set_schedule_expression_timezone(current.schedule_expression_timezone().map(String::from))
        .set_start_date(current.start_date().cloned())
        .set_end_date(current.end_date().cloned())
        .set_description(current.description().map(String::from))
        .set_kms_key_arn(current.kms_key_arn().map(String::from))
        .set_action_after_completion(current.action_after_completion().cloned())
        .flexible_time_window(flexible)
        .target(
            current
                .target()
                .cloned()
                .ok_or_else(|| incomplete("target"))?,
        )
        .state(wanted)
        .send()
        .await
        .map_err(aws_error("scheduler:UpdateSchedule", name))?;
    Ok(Change::Changed)
}
