//! Working-hours commands: the organization's schedule, a division's override, the time zone,
//! and the business calendar a conversation's SLA counts in.

use chrono::NaiveDate;
use omnistream_domain::app_settings::{AppSettings, AppSettingsCommand};
use omnistream_domain::business_hours::BusinessCalendar;
use omnistream_domain::working_hours::{DayHours, WorkingHours, WorkingHoursCommand, WorkingHoursSet};
use uuid::Uuid;

use crate::conversations::check_division;
use crate::{CommandBus, CommandContext, CommandError, Executed, Scope};

fn tenant_of(scope: Scope) -> Result<Uuid, CommandError> {
    Ok(scope.require_tenant("working hours")?)
}

/// Sets (creates or replaces) the organization's schedule, or a division's override.
pub async fn set(
    bus: &CommandBus,
    ctx: &CommandContext,
    division_id: Option<Uuid>,
    days: Vec<DayHours>,
    closed_dates: Vec<NaiveDate>,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx.scope)?;
    if let Some(division_id) = division_id {
        check_division(bus, ctx, division_id).await?;
    }
    let command = WorkingHoursCommand::Set(WorkingHoursSet {
        tenant_id,
        division_id,
        days,
        closed_dates,
    });
    bus.execute::<WorkingHours>(ctx, WorkingHours::id_for(tenant_id, division_id), command)
        .await
}

/// Removes a division's override.
pub async fn remove(bus: &CommandBus, ctx: &CommandContext, division_id: Uuid) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx.scope)?;
    let id = WorkingHours::id_for(tenant_id, Some(division_id));
    bus.execute::<WorkingHours>(ctx, id, WorkingHoursCommand::Remove).await
}

/// Changes the organization's time zone.
pub async fn set_timezone(bus: &CommandBus, ctx: &CommandContext, timezone: String) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx.scope)?;
    let command = AppSettingsCommand::SetTimezone { tenant_id, timezone };
    bus.execute::<AppSettings>(ctx, AppSettings::id_for(tenant_id), command)
        .await
}

/// The calendar business time is counted in for a division (none: the organization): its
/// override, else the organization's schedule, in the organization's time zone; always open
/// when no schedule was ever set.
pub async fn calendar(
    bus: &CommandBus,
    scope: Scope,
    division_id: Option<Uuid>,
) -> Result<BusinessCalendar, CommandError> {
    let tenant_id = tenant_of(scope)?;
    let settings = bus
        .load::<AppSettings>(scope, &AppSettings::id_for(tenant_id).to_string())
        .await?;
    let mut owners = vec![None];
    if division_id.is_some() {
        owners.insert(0, division_id);
    }
    for owner in owners {
        let hours = bus
            .load::<WorkingHours>(scope, &WorkingHours::id_for(tenant_id, owner).to_string())
            .await?;
        if let Some(schedule) = &hours.state.schedule {
            return Ok(WorkingHours::calendar(schedule, settings.state.time_zone())?);
        }
    }
    Ok(BusinessCalendar::always_open())
}
