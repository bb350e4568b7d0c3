//! Business time: a tenant's (or a division's) weekly shifts in its own time zone, with
//! closed dates, and the business seconds between two instants that SLA targets and reports
//! count.
//!
//! A shift belongs to the local date it starts on and may run past midnight (its end at or
//! before its start means the next day; `00:00-00:00` is a whole day). A closed date cancels
//! the shifts that start on it. Local times become instants in the calendar's time zone, so
//! a shift across a daylight-saving change lasts the real time that passes: a night shift
//! 22:00-06:00 is seven hours long when the clocks go forward and nine when they go back. A
//! local time the clocks skip is read as the first instant after the gap; one they repeat,
//! as its first occurrence.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::DomainError;

/// One shift: from `start` to `end` local time, past midnight when `end <= start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    /// When it starts.
    pub start: NaiveTime,
    /// When it ends (the next day when at or before `start`).
    pub end: NaiveTime,
}

impl Shift {
    /// How long it is on the wall clock.
    fn wall_length(self) -> Duration {
        let length = self.end - self.start;
        if length <= Duration::zero() {
            length + Duration::days(1)
        } else {
            length
        }
    }
}

/// Weekly shifts in a time zone, with dates closed.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    time_zone: Tz,
    /// Shifts per weekday, Monday first, each day's sorted by start.
    week: [Vec<Shift>; 7],
    closed: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// A calendar in `time_zone` (an IANA name such as `Europe/Berlin`), with `week`'s shifts
    /// (Monday first) and `closed` dates. Refuses an unknown time zone, and shifts of one day
    /// that overlap each other or the previous day's shift running past midnight.
    pub fn new(time_zone: &str, week: [Vec<Shift>; 7], closed: BTreeSet<NaiveDate>) -> Result<Self, DomainError> {
        let time_zone: Tz = time_zone
            .parse()
            .map_err(|_| DomainError::invalid("timezone", format!("{time_zone} is not an IANA time zone name")))?;
        let mut week = week;
        for day in &mut week {
            day.sort_by_key(|s| s.start);
        }
        for (index, day) in week.iter().enumerate() {
            let name = Weekday::try_from(index as u8).map_or_else(|_| index.to_string(), |d| d.to_string());
            for pair in day.windows(2) {
                if from_midnight(pair[0].start) + pair[0].wall_length() > from_midnight(pair[1].start) {
                    return Err(DomainError::invalid("schedule", format!("{name}: shifts overlap")));
                }
            }
            // A shift running past midnight must end before the next day's first one starts.
            if let (Some(last), Some(first)) = (day.last(), week[(index + 1) % 7].first()) {
                if from_midnight(last.start) + last.wall_length() > Duration::days(1) + from_midnight(first.start) {
                    return Err(DomainError::invalid(
                        "schedule",
                        format!("{name}: a shift runs into the next day's first shift"),
                    ));
                }
            }
        }
        Ok(Self {
            time_zone,
            week,
            closed,
        })
    }

    /// Open every hour of every day: business time is calendar time.
    pub fn always_open() -> Self {
        let whole_day = vec![Shift {
            start: NaiveTime::MIN,
            end: NaiveTime::MIN,
        }];
        Self {
            time_zone: Tz::UTC,
            week: std::array::from_fn(|_| whole_day.clone()),
            closed: BTreeSet::new(),
        }
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// Seconds of business time between two instants (zero when `to` is not after `from`).
    pub fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        // A shift that started the day before `from` may still be running.
        let first = from.with_timezone(&self.time_zone).date_naive() - Duration::days(1);
        let last = to.with_timezone(&self.time_zone).date_naive();
        let mut total = 0;
        for date in first.iter_days().take_while(|d| *d <= last) {
            for (start, end) in self.shifts_on(date) {
                let (start, end) = (start.max(from), end.min(to));
                if end > start {
                    total += (end - start).num_seconds();
                }
            }
        }
        total
    }

    /// The instant when `seconds` of business time have passed since `from`; none when the
    /// calendar stays shut for the next ten years (no shifts, or every date closed).
    pub fn add_business_seconds(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        let mut left = seconds.max(0);
        let first = from.with_timezone(&self.time_zone).date_naive() - Duration::days(1);
        for date in first.iter_days().take(3660) {
            for (start, end) in self.shifts_on(date) {
                let start = start.max(from);
                if end <= start {
                    continue;
                }
                let length = (end - start).num_seconds();
                if left <= length {
                    return Some(start + Duration::seconds(left));
                }
                left -= length;
            }
        }
        None
    }

    /// The shifts starting on a local date, as instants.
    fn shifts_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.closed.contains(&date) {
            return Vec::new();
        }
        self.week[date.weekday().num_days_from_monday() as usize]
            .iter()
            .map(|shift| {
                let start = date.and_time(shift.start);
                let end = start + shift.wall_length();
                (self.instant(start), self.instant(end))
            })
            .collect()
    }

    /// A local time as an instant: the first occurrence of a repeated one, the first instant
    /// after the gap for a skipped one.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let mut probe = local;
        loop {
            match self.time_zone.from_local_datetime(&probe) {
                LocalResult::Single(at) => return at.with_timezone(&Utc),
                LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
                // Gaps start and end on whole minutes (and last at most a few hours).
                LocalResult::None => {
                    let next = probe + Duration::minutes(1);
                    probe = next.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(next);
                }
            }
        }
    }
}

fn from_midnight(time: NaiveTime) -> Duration {
    time.signed_duration_since(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    fn shift(start: &str, end: &str) -> Shift {
        Shift {
            start: start.parse().expect("start"),
            end: end.parse().expect("end"),
        }
    }

    /// Monday to Friday, 09:00-17:00.
    fn office(time_zone: &str, closed: &[&str]) -> BusinessCalendar {
        let day = vec![shift("09:00:00", "17:00:00")];
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            Vec::new(),
            Vec::new(),
        ];
        let closed = closed.iter().map(|d| d.parse().expect("date")).collect();
        BusinessCalendar::new(time_zone, week, closed).expect("calendar")
    }

    /// Only `day`'s shift (Monday = 0).
    fn one_shift(time_zone: &str, day: usize, shift: Shift) -> BusinessCalendar {
        let mut week: [Vec<Shift>; 7] = Default::default();
        week[day] = vec![shift];
        BusinessCalendar::new(time_zone, week, BTreeSet::new()).expect("calendar")
    }

    #[test]
    fn a_weekend_counts_nothing() {
        let calendar = office("UTC", &[]);
        // Friday 2026-11-20 16:00 to Monday 2026-11-23 10:00: one hour each side.
        assert_eq!(
            calendar.business_seconds(at("2026-11-20T16:00:00Z"), at("2026-11-23T10:00:00Z")),
            2 * 3600
        );
        assert_eq!(
            calendar.business_seconds(at("2026-11-21T00:00:00Z"), at("2026-11-23T00:00:00Z")),
            0
        );
    }

    #[test]
    fn a_closed_date_counts_nothing() {
        let calendar = office("UTC", &["2026-11-23"]);
        assert_eq!(
            calendar.business_seconds(at("2026-11-20T16:00:00Z"), at("2026-11-24T10:00:00Z")),
            2 * 3600
        );
    }

    #[test]
    fn hours_are_those_of_the_calendars_time_zone() {
        // Jakarta is UTC+7: 09:00-17:00 there is 02:00-10:00 UTC.
        let calendar = office("Asia/Jakarta", &[]);
        assert_eq!(
            calendar.business_seconds(at("2026-11-24T00:00:00Z"), at("2026-11-24T03:00:00Z")),
            3600
        );
    }

    #[test]
    fn a_shift_across_midnight_counts_on_both_sides() {
        // Saturday 22:00 to Sunday 06:00 in Berlin, a week without a clock change (UTC+1).
        let calendar = one_shift("Europe/Berlin", 5, shift("22:00:00", "06:00:00"));
        assert_eq!(
            calendar.business_seconds(at("2026-11-21T22:00:00Z"), at("2026-11-22T00:00:00Z")),
            2 * 3600,
            "23:00 to 01:00 local"
        );
        assert_eq!(
            calendar.business_seconds(at("2026-11-21T00:00:00Z"), at("2026-11-23T00:00:00Z")),
            8 * 3600
        );
    }

    #[test]
    fn a_night_shift_is_shorter_when_the_clocks_go_forward_and_longer_when_they_go_back() {
        let calendar = one_shift("Europe/Berlin", 5, shift("22:00:00", "06:00:00"));
        // 2026-03-29 02:00 CET becomes 03:00 CEST.
        assert_eq!(
            calendar.business_seconds(at("2026-03-28T00:00:00Z"), at("2026-03-30T00:00:00Z")),
            7 * 3600
        );
        // 2026-10-25 03:00 CEST becomes 02:00 CET.
        assert_eq!(
            calendar.business_seconds(at("2026-10-24T00:00:00Z"), at("2026-10-26T00:00:00Z")),
            9 * 3600
        );
    }

    #[test]
    fn a_shift_starting_in_the_skipped_hour_starts_when_the_clocks_resume() {
        // Sunday 2026-03-29, Berlin: 02:30 does not exist; the shift runs 03:00-04:00 CEST.
        let calendar = one_shift("Europe/Berlin", 6, shift("02:30:00", "04:00:00"));
        assert_eq!(
            calendar.business_seconds(at("2026-03-28T00:00:00Z"), at("2026-03-30T00:00:00Z")),
            3600
        );
        assert_eq!(
            calendar.business_seconds(at("2026-03-29T01:00:00Z"), at("2026-03-29T01:30:00Z")),
            1800,
            "03:00-03:30 CEST"
        );
    }

    #[test]
    fn a_day_shift_on_the_us_change_day_lasts_the_real_time() {
        // Sunday 2026-03-08, New York: 02:00 EST becomes 03:00 EDT.
        let calendar = one_shift("America/New_York", 6, shift("00:00:00", "06:00:00"));
        assert_eq!(
            calendar.business_seconds(at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z")),
            5 * 3600
        );
    }

    #[test]
    fn always_open_is_calendar_time() {
        let calendar = BusinessCalendar::always_open();
        let (from, to) = (at("2026-01-01T10:15:00Z"), at("2026-03-29T07:45:30Z"));
        assert_eq!(calendar.business_seconds(from, to), (to - from).num_seconds());
        assert_eq!(calendar.business_seconds(to, from), 0);
    }

    #[test]
    fn two_years_count_every_working_day() {
        let calendar = office("Europe/Berlin", &["2026-12-25"]);
        let (from, to) = (at("2025-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
        let days = NaiveDate::from_ymd_opt(2025, 1, 1)
            .expect("date")
            .iter_days()
            .take_while(|d| d.year() < 2027)
            .filter(|d| d.weekday().num_days_from_monday() < 5 && d.to_string() != "2026-12-25")
            .count() as i64;
        assert_eq!(calendar.business_seconds(from, to), days * 8 * 3600);
    }

    #[test]
    fn adding_business_time_skips_nights_weekends_and_closed_dates() {
        let calendar = office("Europe/Berlin", &["2026-11-23"]);
        // Friday 2026-11-20 16:30 CET plus 2 h: 30 min on Friday, Monday closed, 1.5 h Tuesday.
        let due = calendar.add_business_seconds(at("2026-11-20T15:30:00Z"), 2 * 3600);
        assert_eq!(due, Some(at("2026-11-24T09:30:00Z")));
        // Before opening: the count starts at 09:00.
        let due = calendar.add_business_seconds(at("2026-11-24T05:00:00Z"), 3600);
        assert_eq!(due, Some(at("2026-11-24T09:00:00Z")));
        // The inverse of business_seconds, across the spring DST change.
        let night = one_shift("Europe/Berlin", 5, shift("22:00:00", "06:00:00"));
        let from = at("2026-03-28T00:00:00Z");
        let due = night.add_business_seconds(from, 7 * 3600).expect("a due time");
        assert_eq!(night.business_seconds(from, due), 7 * 3600);
        assert_eq!(due, at("2026-03-29T04:00:00Z"), "06:00 CEST");
        let always = BusinessCalendar::always_open();
        assert_eq!(
            always.add_business_seconds(from, 90),
            Some(from + Duration::seconds(90))
        );
        let shut = BusinessCalendar::new("UTC", Default::default(), BTreeSet::new()).expect("calendar");
        assert_eq!(shut.add_business_seconds(from, 1), None);
    }

    #[test]
    fn bad_calendars_are_refused() {
        let week: [Vec<Shift>; 7] = Default::default();
        assert!(BusinessCalendar::new("Mars/Olympus", week, BTreeSet::new()).is_err());
        let mut overlapping: [Vec<Shift>; 7] = Default::default();
        overlapping[0] = vec![shift("09:00:00", "13:00:00"), shift("12:00:00", "17:00:00")];
        assert!(BusinessCalendar::new("UTC", overlapping, BTreeSet::new()).is_err());
        let mut into_next_day: [Vec<Shift>; 7] = Default::default();
        into_next_day[0] = vec![shift("22:00:00", "08:00:00")];
        into_next_day[1] = vec![shift("07:00:00", "12:00:00")];
        assert!(BusinessCalendar::new("UTC", into_next_day, BTreeSet::new()).is_err());
        let mut split: [Vec<Shift>; 7] = Default::default();
        split[0] = vec![shift("13:00:00", "17:00:00"), shift("08:00:00", "12:00:00")];
        let calendar = BusinessCalendar::new("UTC", split, BTreeSet::new()).expect("a split day");
        // Monday 2026-11-23.
        assert_eq!(
            calendar.business_seconds(at("2026-11-23T00:00:00Z"), at("2026-11-24T00:00:00Z")),
            8 * 3600
        );
    }
}
