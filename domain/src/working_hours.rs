//! Working hours: the organization's weekly schedule and closed dates, and a division's
//! override of them. With the organization's time zone (see [`crate::app_settings`]) they make
//! the [`BusinessCalendar`] that SLA targets and reports count business time in.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::business_hours::{BusinessCalendar, Shift};
use crate::{Aggregate, DomainError, DomainEvent};

/// Most intervals in one day.
pub const MAX_INTERVALS_A_DAY: usize = 6;
/// Most closed dates in one schedule.
pub const MAX_CLOSED_DATES: usize = 400;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Day {
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

impl Day {
    /// Every day, Monday first.
    pub const ALL: [Day; 7] = [
        Day::Monday,
        Day::Tuesday,
        Day::Wednesday,
        Day::Thursday,
        Day::Friday,
        Day::Saturday,
        Day::Sunday,
    ];

    /// Monday = 0.
    pub fn index(self) -> usize {
        Weekday::from(self).num_days_from_monday() as usize
    }
}

impl From<Day> for Weekday {
    fn from(day: Day) -> Self {
        match day {
            Day::Monday => Weekday::Mon,
            Day::Tuesday => Weekday::Tue,
            Day::Wednesday => Weekday::Wed,
            Day::Thursday => Weekday::Thu,
            Day::Friday => Weekday::Fri,
            Day::Saturday => Weekday::Sat,
            Day::Sunday => Weekday::Sun,
        }
    }
}

/// One interval of a day, local time; past midnight when `end <= start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Interval {
    /// When it starts.
    pub start: NaiveTime,
    /// When it ends.
    pub end: NaiveTime,
}

/// A weekday's intervals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DayHours {
    /// The day.
    pub day: Day,
    /// Its intervals (none: closed all day).
    pub intervals: Vec<Interval>,
}

/// Event: a schedule was set (the organization's, or a division's override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkingHoursSet {
    /// The organization.
    pub tenant_id: Uuid,
    /// The division it overrides for; none: the organization's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Uuid>,
    /// Each day that has hours (days left out are closed).
    pub days: Vec<DayHours>,
    /// Dates closed whatever the weekday says (holidays), ascending.
    pub closed_dates: Vec<NaiveDate>,
}

/// Event: a division's override was removed; the organization's schedule applies again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkingHoursRemoved {
    /// The organization.
    pub tenant_id: Uuid,
    /// The division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Uuid>,
}

/// The events of a working-hours stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum WorkingHoursEvent {
    /// See [`WorkingHoursSet`].
    WorkingHoursSet(WorkingHoursSet),
    /// See [`WorkingHoursRemoved`].
    WorkingHoursRemoved(WorkingHoursRemoved),
}

impl DomainEvent for WorkingHoursEvent {
    fn event_type(&self) -> &'static str {
        match self {
            WorkingHoursEvent::WorkingHoursSet(_) => "WorkingHoursSet",
            WorkingHoursEvent::WorkingHoursRemoved(_) => "WorkingHoursRemoved",
        }
    }
}

/// What can be asked of a schedule.
#[derive(Debug, Clone)]
pub enum WorkingHoursCommand {
    /// Set (create or replace) it.
    Set(WorkingHoursSet),
    /// Remove a division's override.
    Remove,
}

/// A schedule's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkingHours {
    /// The schedule; none: never set, or removed.
    pub schedule: Option<WorkingHoursSet>,
    /// The organization and division, once set.
    owner: Option<(Uuid, Option<Uuid>)>,
}

impl WorkingHours {
    /// The stream id of the organization's schedule (`division_id` none) or a division's.
    pub fn id_for(tenant_id: Uuid, division_id: Option<Uuid>) -> Uuid {
        match division_id {
            None => Uuid::new_v5(&tenant_id, b"working-hours"),
            Some(division) => Uuid::new_v5(&tenant_id, format!("working-hours:division:{division}").as_bytes()),
        }
    }

    /// The shifts of each weekday, Monday first.
    fn week(schedule: &WorkingHoursSet) -> [Vec<Shift>; 7] {
        let mut week: [Vec<Shift>; 7] = Default::default();
        for day in &schedule.days {
            week[day.day.index()].extend(day.intervals.iter().map(|i| Shift {
                start: i.start,
                end: i.end,
            }));
        }
        week
    }

    /// The schedule as a calendar in `time_zone`.
    pub fn calendar(schedule: &WorkingHoursSet, time_zone: &str) -> Result<BusinessCalendar, DomainError> {
        let closed: BTreeSet<NaiveDate> = schedule.closed_dates.iter().copied().collect();
        BusinessCalendar::new(time_zone, Self::week(schedule), closed)
    }

    fn check(schedule: &WorkingHoursSet) -> Result<WorkingHoursSet, DomainError> {
        let mut seen = BTreeSet::new();
        for day in &schedule.days {
            if !seen.insert(day.day.index()) {
                return Err(DomainError::invalid("days", format!("{:?} is listed twice", day.day)));
            }
            if day.intervals.len() > MAX_INTERVALS_A_DAY {
                return Err(DomainError::invalid(
                    "days",
                    format!("at most {MAX_INTERVALS_A_DAY} intervals a day"),
                ));
            }
            if day
                .intervals
                .iter()
                .any(|i| i.start == i.end && i.start != NaiveTime::MIN)
            {
                return Err(DomainError::invalid(
                    "days",
                    "an interval must not be empty (00:00-00:00 is a whole day)",
                ));
            }
        }
        if schedule.closed_dates.len() > MAX_CLOSED_DATES {
            return Err(DomainError::invalid(
                "closed_dates",
                format!("at most {MAX_CLOSED_DATES} closed dates"),
            ));
        }
        // Overlaps are the calendar's to find; the time zone does not change them.
        Self::calendar(schedule, "UTC")?;
        let mut normalized = schedule.clone();
        normalized.days.retain(|d| !d.intervals.is_empty());
        normalized.days.sort_by_key(|d| d.day.index());
        for day in &mut normalized.days {
            day.intervals.sort_by_key(|i| i.start);
        }
        normalized.closed_dates.sort();
        normalized.closed_dates.dedup();
        Ok(normalized)
    }
}

impl Aggregate for WorkingHours {
    type Command = WorkingHoursCommand;
    type Event = WorkingHoursEvent;
    const STREAM_PREFIX: &'static str = "workinghours";
    const NAME: &'static str = "working hours";

    fn decide(&self, command: WorkingHoursCommand) -> Result<Vec<WorkingHoursEvent>, DomainError> {
        match command {
            WorkingHoursCommand::Set(schedule) => {
                let schedule = Self::check(&schedule)?;
                if self.schedule.as_ref() == Some(&schedule) {
                    return Ok(vec![]);
                }
                Ok(vec![WorkingHoursEvent::WorkingHoursSet(schedule)])
            }
            WorkingHoursCommand::Remove => match (&self.schedule, self.owner) {
                (None, _) | (_, None) => Err(DomainError::NotFound(Self::NAME)),
                (Some(_), Some((_, None))) => Err(DomainError::Rule(
                    "the organization's working hours can be replaced, not removed".into(),
                )),
                (Some(_), Some((tenant_id, division_id))) => {
                    Ok(vec![WorkingHoursEvent::WorkingHoursRemoved(WorkingHoursRemoved {
                        tenant_id,
                        division_id,
                    })])
                }
            },
        }
    }

    fn apply(mut self, event: &WorkingHoursEvent) -> Self {
        match event {
            WorkingHoursEvent::WorkingHoursSet(schedule) => {
                self.owner = Some((schedule.tenant_id, schedule.division_id));
                self.schedule = Some(schedule.clone());
            }
            WorkingHoursEvent::WorkingHoursRemoved(_) => self.schedule = None,
        }
        self
    }

    fn exists(&self) -> bool {
        self.schedule.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn interval(start: &str, end: &str) -> Interval {
        Interval {
            start: start.parse().expect("start"),
            end: end.parse().expect("end"),
        }
    }

    fn schedule(division_id: Option<Uuid>, days: Vec<DayHours>) -> WorkingHoursSet {
        WorkingHoursSet {
            tenant_id: Uuid::nil(),
            division_id,
            days,
            closed_dates: vec!["2026-12-25".parse().expect("date")],
        }
    }

    fn weekdays() -> Vec<DayHours> {
        Day::ALL[..5]
            .iter()
            .map(|&day| DayHours {
                day,
                intervals: vec![interval("13:00:00", "17:00:00"), interval("08:00:00", "12:00:00")],
            })
            .collect()
    }

    #[test]
    fn a_schedule_is_normalized_and_setting_it_again_changes_nothing() {
        let events = given::<WorkingHours>(&[])
            .when(WorkingHoursCommand::Set(schedule(None, weekdays())))
            .expect("set");
        let WorkingHoursEvent::WorkingHoursSet(set) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(set.days[0].intervals[0], interval("08:00:00", "12:00:00"), "sorted");
        assert!(given::<WorkingHours>(&events)
            .when(WorkingHoursCommand::Set(schedule(None, weekdays())))
            .expect("same")
            .is_empty());
        let calendar = WorkingHours::calendar(set, "Asia/Jakarta").expect("calendar");
        assert_eq!(calendar.time_zone().name(), "Asia/Jakarta");
    }

    #[test]
    fn overlapping_repeated_or_empty_intervals_are_refused() {
        let mut overlapping = weekdays();
        overlapping[0].intervals.push(interval("11:00:00", "14:00:00"));
        let mut twice = weekdays();
        twice.push(twice[0].clone());
        let empty = vec![DayHours {
            day: Day::Monday,
            intervals: vec![interval("09:00:00", "09:00:00")],
        }];
        for days in [overlapping, twice, empty] {
            assert!(matches!(
                given::<WorkingHours>(&[]).when(WorkingHoursCommand::Set(schedule(None, days))),
                Err(DomainError::Invalid { .. })
            ));
        }
    }

    #[test]
    fn only_a_divisions_override_can_be_removed() {
        let own = given::<WorkingHours>(&[])
            .when(WorkingHoursCommand::Set(schedule(None, weekdays())))
            .expect("set");
        assert!(matches!(
            given::<WorkingHours>(&own).when(WorkingHoursCommand::Remove),
            Err(DomainError::Rule(_))
        ));
        let division = Some(Uuid::from_u128(7));
        let set = given::<WorkingHours>(&[])
            .when(WorkingHoursCommand::Set(schedule(division, weekdays())))
            .expect("set");
        let removed = given::<WorkingHours>(&set)
            .when(WorkingHoursCommand::Remove)
            .expect("removed");
        assert_eq!(removed.len(), 1);
        let mut history = set.clone();
        history.extend(removed);
        assert!(matches!(
            given::<WorkingHours>(&history).when(WorkingHoursCommand::Remove),
            Err(DomainError::NotFound(_))
        ));
    }
}
