//! Working Hours tag: the organization's weekly schedule and closed dates, per-division
//! overrides, and the organization's time zone (an application setting). SLA policies that
//! count business hours, and daily reports, read them.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use omnistream_commands::working_hours as hours_commands;
use omnistream_domain::app_settings::DEFAULT_TIME_ZONE;
use omnistream_domain::working_hours::{Day, DayHours, Interval};
use omnistream_domain::Permission;
use omnistream_projections::sla::settings::{self, SettingRow, WorkingHoursRow, TIMEZONE};
use omnistream_projections::TenantScope;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{ApiTags, DeleteResponse};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl From<Weekday> for Day {
    fn from(day: Weekday) -> Self {
        Day::ALL[day as usize]
    }
}

impl From<Day> for Weekday {
    fn from(day: Day) -> Self {
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ][day.index()]
    }
}

/// One interval of a day in the organization's time zone; an `end` at or before `start` runs
/// past midnight (`00:00`-`00:00` is the whole day).
#[derive(Debug, Clone, Object)]
pub struct TimeInterval {
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
}

/// A weekday's working intervals.
#[derive(Debug, Clone, Object)]
pub struct DaySchedule {
    /// The day.
    pub day: Weekday,
    /// Its intervals (empty: closed).
    pub intervals: Vec<TimeInterval>,
}

/// A schedule: the organization's, or a division's override.
#[derive(Debug, Clone, Object)]
pub struct WorkingHours {
    /// The division it overrides for; absent: the organization's.
    #[oai(skip_serializing_if_is_none)]
    pub division_id: Option<Uuid>,
    /// The organization's time zone the hours are read in.
    pub timezone: String,
    /// Days with working hours; days left out are closed.
    pub days: Vec<DaySchedule>,
    /// Dates closed whatever the weekday says (holidays).
    pub closed_dates: Vec<NaiveDate>,
    /// Whether a schedule was set; without one, business time is calendar time (24/7).
    pub configured: bool,
    /// Last changed.
    #[oai(skip_serializing_if_is_none)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Stream version (0 when never set).
    pub version: i64,
}

/// A schedule to set; it replaces the current one.
#[derive(Debug, Clone, Object)]
pub struct UpsertWorkingHours {
    /// Days with working hours (at most 6 intervals a day); days left out are closed.
    pub days: Vec<DaySchedule>,
    /// Dates closed whatever the weekday says (at most 400).
    pub closed_dates: Option<Vec<NaiveDate>>,
}

/// An application setting of the organization.
#[derive(Debug, Clone, Object)]
pub struct AppSetting {
    /// Its key, such as `timezone`.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Whether it was changed from the default.
    pub configured: bool,
    /// Last changed.
    #[oai(skip_serializing_if_is_none)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Stream version (0 when never changed).
    pub version: i64,
}

/// A new time zone.
#[derive(Debug, Clone, Object)]
pub struct UpdateTimezone {
    /// An IANA time zone name, such as `Asia/Jakarta` or `Europe/Berlin`.
    pub timezone: String,
}

/// A schedule written by a command.
#[derive(ApiResponse)]
pub enum WorkingHoursWritten {
    /// Set.
    #[oai(status = 200)]
    Ok(Json<WorkingHours>, #[oai(header = "X-Event-Position")] Option<i64>),
}

/// A setting written by a command.
#[derive(ApiResponse)]
pub enum SettingWritten {
    /// Set.
    #[oai(status = 200)]
    Ok(Json<AppSetting>, #[oai(header = "X-Event-Position")] Option<i64>),
}

fn parse_time(field: &'static str, raw: &str) -> ApiResult<NaiveTime> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw.trim(), "%H:%M:%S"))
        .map_err(|_| ApiError::validation(field, format!("{raw} is not a time of day (HH:MM)")))
}

fn domain_days(days: Vec<DaySchedule>) -> ApiResult<Vec<DayHours>> {
    days.into_iter()
        .map(|d| {
            let intervals = d
                .intervals
                .iter()
                .map(|i| {
                    Ok(Interval {
                        start: parse_time("days", &i.start)?,
                        end: parse_time("days", &i.end)?,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(DayHours {
                day: d.day.into(),
                intervals,
            })
        })
        .collect()
}

fn render(division_id: Option<Uuid>, timezone: String, row: Option<WorkingHoursRow>) -> WorkingHours {
    let Some(row) = row else {
        return WorkingHours {
            division_id,
            timezone,
            days: Vec::new(),
            closed_dates: Vec::new(),
            configured: false,
            updated_at: None,
            version: 0,
        };
    };
    WorkingHours {
        division_id: row.division_id,
        timezone,
        days: row
            .days
            .0
            .into_iter()
            .map(|d| DaySchedule {
                day: d.day.into(),
                intervals: d
                    .intervals
                    .iter()
                    .map(|i| TimeInterval {
                        start: i.start.format("%H:%M").to_string(),
                        end: i.end.format("%H:%M").to_string(),
                    })
                    .collect(),
            })
            .collect(),
        closed_dates: row.closed_dates.0,
        configured: true,
        updated_at: Some(row.updated_at),
        version: row.version,
    }
}

fn setting_of(key: &str, rows: &[SettingRow]) -> AppSetting {
    match rows.iter().find(|r| r.key == key) {
        Some(row) => AppSetting {
            key: row.key.clone(),
            value: row.value.clone(),
            configured: true,
            updated_at: Some(row.updated_at),
            version: row.version,
        },
        None => AppSetting {
            key: key.to_owned(),
            value: DEFAULT_TIME_ZONE.to_owned(),
            configured: false,
            updated_at: None,
            version: 0,
        },
    }
}

/// Working-hours and settings operations.
pub struct WorkingHoursApi;

impl WorkingHoursApi {
    async fn read(state: &AppState, scope: TenantScope, division_id: Option<Uuid>) -> ApiResult<WorkingHours> {
        let timezone = setting_of(TIMEZONE, &settings::app_settings(&state.pool, scope).await?).value;
        let row = settings::working_hours(&state.pool, scope, division_id).await?;
        Ok(render(division_id, timezone, row))
    }

    async fn set(
        state: &AppState,
        auth: Auth,
        division_id: Option<Uuid>,
        body: UpsertWorkingHours,
    ) -> ApiResult<WorkingHoursWritten> {
        let principal = auth.principal().require(Permission::WorkingHoursManage)?;
        let days = domain_days(body.days)?;
        let ctx = principal.command_context()?;
        let executed = hours_commands::set(
            &state.bus,
            &ctx,
            division_id,
            days,
            body.closed_dates.unwrap_or_default(),
        )
        .await?;
        wait_for_position(state, "sla", executed.position).await?;
        let hours = Self::read(state, principal.scope()?, division_id).await?;
        Ok(WorkingHoursWritten::Ok(Json(hours), executed.position))
    }
}

#[OpenApi(tag = "ApiTags::WorkingHours")]
impl WorkingHoursApi {
    /// The organization's working hours (needs `conversations.view`).
    #[oai(path = "/api/working-hours", method = "get")]
    async fn get(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<WorkingHours>> {
        let scope = auth.principal().require(Permission::ConversationsView)?.scope()?;
        Ok(Json(Self::read(state.0, scope, None).await?))
    }

    /// Sets the organization's working hours (needs `working_hours.manage`).
    #[oai(path = "/api/working-hours", method = "put")]
    async fn put(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<UpsertWorkingHours>,
    ) -> ApiResult<WorkingHoursWritten> {
        Self::set(state.0, auth, None, body.0).await
    }

    /// Every division's override (needs `conversations.view`).
    #[oai(path = "/api/working-hours/divisions", method = "get")]
    async fn overrides(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<WorkingHours>>> {
        let scope = auth.principal().require(Permission::ConversationsView)?.scope()?;
        let timezone = setting_of(TIMEZONE, &settings::app_settings(&state.pool, scope).await?).value;
        let rows = settings::division_overrides(&state.pool, scope).await?;
        Ok(Json(
            rows.into_iter()
                .map(|row| render(row.division_id, timezone.clone(), Some(row)))
                .collect(),
        ))
    }

    /// A division's override; `configured: false` when the organization's hours apply
    /// (needs `conversations.view`).
    #[oai(path = "/api/working-hours/divisions/:division_id", method = "get")]
    async fn get_override(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        division_id: Path<Uuid>,
    ) -> ApiResult<Json<WorkingHours>> {
        let scope = auth.principal().require(Permission::ConversationsView)?.scope()?;
        Ok(Json(Self::read(state.0, scope, Some(division_id.0)).await?))
    }

    /// Sets a division's override (needs `working_hours.manage`).
    #[oai(path = "/api/working-hours/divisions/:division_id", method = "put")]
    async fn put_override(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        division_id: Path<Uuid>,
        body: Json<UpsertWorkingHours>,
    ) -> ApiResult<WorkingHoursWritten> {
        Self::set(state.0, auth, Some(division_id.0), body.0).await
    }

    /// Removes a division's override: the organization's hours apply again (needs
    /// `working_hours.manage`).
    #[oai(path = "/api/working-hours/divisions/:division_id", method = "delete")]
    async fn delete_override(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        division_id: Path<Uuid>,
    ) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::WorkingHoursManage)?;
        let ctx = principal.command_context()?;
        let executed = hours_commands::remove(&state.bus, &ctx, division_id.0).await?;
        wait_for_position(state.0, "sla", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: division_id.0.to_string(),
            deleted: true,
        }))
    }

    /// The organization's application settings, defaults included (needs `conversations.view`).
    #[oai(path = "/api/settings", method = "get")]
    async fn settings(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<AppSetting>>> {
        let scope = auth.principal().require(Permission::ConversationsView)?.scope()?;
        let rows = settings::app_settings(&state.pool, scope).await?;
        Ok(Json(vec![setting_of(TIMEZONE, &rows)]))
    }

    /// Changes the organization's time zone (needs `working_hours.manage`).
    #[oai(path = "/api/settings/timezone", method = "put")]
    async fn timezone(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<UpdateTimezone>,
    ) -> ApiResult<SettingWritten> {
        let principal = auth.principal().require(Permission::WorkingHoursManage)?;
        let ctx = principal.command_context()?;
        let executed = hours_commands::set_timezone(&state.bus, &ctx, body.0.timezone).await?;
        wait_for_position(state.0, "sla", executed.position).await?;
        let rows = settings::app_settings(&state.pool, principal.scope()?).await?;
        Ok(SettingWritten::Ok(Json(setting_of(TIMEZONE, &rows)), executed.position))
    }
}
