//! SLA clocks on a conversation: which policy applies, when each target's clock started and is
//! due, and the warnings, breaches and stops recorded on the conversation's own stream.
//!
//! [`evaluate`] is the decision: from the conversation's history (each event with the time it
//! was recorded), the policy that matches it now, the business calendar and the current time,
//! it answers the SLA events to append and when to look again. Because the events go to the
//! conversation's stream at the version the history was read at, a reply appended meanwhile
//! makes the append conflict and the evaluation run again: a breach is never recorded over a
//! reply that came in time, and never twice.
//!
//! The clocks: a response clock starts when the customer writes while nothing of theirs is
//! waiting (the first one of the conversation is measured against the first-response target,
//! later ones against next-response) and stops at the next outbound message; resolving or
//! closing cancels it. A resolution clock starts when the conversation starts or is reopened
//! and stops when it is resolved or closed. Clocks that ended before the policy applied are
//! not measured; running ones are measured from their start.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::business_hours::BusinessCalendar;
use crate::conversation::{Channel, ConversationEvent, ConversationStatus};
use crate::sla_policy::SlaPolicyDefinition;

/// What an SLA target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaTarget {
    /// The first reply after the customer's first message.
    FirstResponse,
    /// A reply after the customer writes again.
    NextResponse,
    /// Resolving the conversation.
    Resolution,
}

impl SlaTarget {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaTarget::FirstResponse => "first_response",
            SlaTarget::NextResponse => "next_response",
            SlaTarget::Resolution => "resolution",
        }
    }
}

/// How a clock stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaOutcome {
    /// Met in time.
    Met,
    /// Met after its due time (it was breached).
    Late,
    /// No longer needed (resolved before a reply, the target or the policy removed).
    Cancelled,
}

impl SlaOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaOutcome::Met => "met",
            SlaOutcome::Late => "late",
            SlaOutcome::Cancelled => "cancelled",
        }
    }
}

/// A policy as applied to a conversation: a copy of its targets at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppliedSla {
    /// The policy.
    pub policy_id: Uuid,
    /// Its name.
    pub name: String,
    /// Minutes to the first reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_minutes: Option<u32>,
    /// Minutes to each later reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response_minutes: Option<u32>,
    /// Minutes to resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_minutes: Option<u32>,
    /// Working hours only.
    pub business_hours: bool,
    /// Warning lead time in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_minutes: Option<u32>,
    /// When the policy was created: clocks that ended before are not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

impl AppliedSla {
    /// The copy of a policy's targets.
    pub fn of(policy: &SlaPolicyDefinition) -> Self {
        Self {
            policy_id: policy.policy_id,
            name: policy.name.clone(),
            first_response_minutes: policy.first_response_minutes,
            next_response_minutes: policy.next_response_minutes,
            resolution_minutes: policy.resolution_minutes,
            business_hours: policy.business_hours,
            warning_minutes: policy.warning_minutes,
            created_at: None,
        }
    }

    /// The target's minutes, when the policy sets one.
    pub fn minutes(&self, target: SlaTarget) -> Option<u32> {
        match target {
            SlaTarget::FirstResponse => self.first_response_minutes,
            SlaTarget::NextResponse => self.next_response_minutes,
            SlaTarget::Resolution => self.resolution_minutes,
        }
    }

    /// When a clock of `target` started at `started_at` is due; none: never (no target, or a
    /// calendar that stays shut).
    pub fn due(
        &self,
        target: SlaTarget,
        started_at: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) -> Option<DateTime<Utc>> {
        let seconds = i64::from(self.minutes(target)?) * 60;
        if self.business_hours {
            calendar.add_business_seconds(started_at, seconds)
        } else {
            Some(started_at + Duration::seconds(seconds))
        }
    }
}

/// Event: a policy now applies to the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaPolicyApplied {
    /// The policy's targets.
    pub policy: AppliedSla,
}

/// Event: no policy applies to the conversation anymore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaPolicyRemoved {
    /// The policy that applied.
    pub policy_id: Uuid,
}

/// Event: a target's clock runs (also recorded again when its due time moves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaTargetStarted {
    /// The target.
    pub target: SlaTarget,
    /// The clock: the target and the stream version of the event that started it.
    pub clock: String,
    /// The policy.
    pub policy_id: Uuid,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it is due; none: never (the calendar stays shut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// When its warning fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at: Option<DateTime<Utc>>,
}

/// Event: a target's due time is near.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaWarningIssued {
    /// The target.
    pub target: SlaTarget,
    /// The clock.
    pub clock: String,
    /// The policy.
    pub policy_id: Uuid,
    /// When it is due.
    pub due_at: DateTime<Utc>,
}

/// Event: a target's due time passed unmet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaBreached {
    /// The target.
    pub target: SlaTarget,
    /// The clock.
    pub clock: String,
    /// The policy.
    pub policy_id: Uuid,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// The assignee when it was breached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    /// The division when it was breached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Uuid>,
    /// The conversation's channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

/// Event: a target's clock stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaTargetStopped {
    /// The target.
    pub target: SlaTarget,
    /// The clock.
    pub clock: String,
    /// The policy.
    pub policy_id: Uuid,
    /// When the reply, resolution or cancellation happened.
    pub at: DateTime<Utc>,
    /// How it ended.
    pub outcome: SlaOutcome,
}

/// One event of a conversation's history, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    /// Its stream version.
    pub version: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The event.
    pub event: &'a ConversationEvent,
}

/// What [`evaluate`] decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// The events to append to the conversation's stream.
    pub events: Vec<ConversationEvent>,
    /// When to evaluate again (the next warning or due time), if ever.
    pub next_check: Option<DateTime<Utc>>,
}

/// A clock as the conversation's own events describe it.
#[derive(Debug, Clone)]
struct Cycle {
    target: SlaTarget,
    clock: String,
    started_at: DateTime<Utc>,
    /// When it ended, and whether by cancellation.
    ended: Option<(DateTime<Utc>, bool)>,
}

/// What earlier evaluations recorded.
#[derive(Debug, Default)]
struct SlaRecord {
    applied: Option<(AppliedSla, DateTime<Utc>)>,
    scheduled: BTreeMap<String, (Option<DateTime<Utc>>, Uuid)>,
    warned: HashSet<String>,
    breached: HashSet<String>,
    stopped: HashSet<String>,
}

/// Facts of the conversation now, for a breach's record.
#[derive(Debug, Default)]
struct Now {
    agent_id: Option<Uuid>,
    division_id: Option<Uuid>,
    channel: Option<Channel>,
}

fn is_done(status: ConversationStatus) -> bool {
    matches!(status, ConversationStatus::Resolved | ConversationStatus::Closed)
}

/// Walks the history: the clocks its events describe, what SLA events say, and the facts now.
fn read(history: &[Recorded<'_>]) -> (Vec<Cycle>, SlaRecord, Now) {
    let (mut cycles, mut recorded, mut now) = (Vec::<Cycle>::new(), SlaRecord::default(), Now::default());
    let (mut waiting, mut resolving): (Option<usize>, Option<usize>) = (None, None);
    let mut replied = false;
    let clock = |target: SlaTarget, version: i64| format!("{}:{version}", target.as_str());
    for entry in history {
        match entry.event {
            ConversationEvent::ConversationStarted(e) => {
                now.division_id = e.division_id;
                now.channel = Some(e.channel);
                resolving = Some(cycles.len());
                cycles.push(Cycle {
                    target: SlaTarget::Resolution,
                    clock: clock(SlaTarget::Resolution, entry.version),
                    started_at: entry.at,
                    ended: None,
                });
            }
            ConversationEvent::ConversationAssigned(e) => now.agent_id = e.agent_id,
            ConversationEvent::ConversationTransferred(e) => {
                now.agent_id = e.to_agent_id;
                now.division_id = e.to_division_id;
            }
            ConversationEvent::MessageReceived(_) if waiting.is_none() => {
                let target = if replied {
                    SlaTarget::NextResponse
                } else {
                    SlaTarget::FirstResponse
                };
                waiting = Some(cycles.len());
                cycles.push(Cycle {
                    target,
                    clock: clock(target, entry.version),
                    started_at: entry.at,
                    ended: None,
                });
            }
            ConversationEvent::MessageQueued(_) | ConversationEvent::MessageEchoed(_) => {
                if let Some(index) = waiting.take() {
                    cycles[index].ended = Some((entry.at, false));
                    replied = true;
                }
            }
            ConversationEvent::ConversationStatusChanged(e) => {
                if is_done(e.status) {
                    if let Some(index) = waiting.take() {
                        cycles[index].ended = Some((entry.at, true));
                    }
                    if let Some(index) = resolving.take() {
                        cycles[index].ended = Some((entry.at, false));
                    }
                } else if resolving.is_none() && is_done(e.previous) {
                    resolving = Some(cycles.len());
                    cycles.push(Cycle {
                        target: SlaTarget::Resolution,
                        clock: clock(SlaTarget::Resolution, entry.version),
                        started_at: entry.at,
                        ended: None,
                    });
                }
            }
            ConversationEvent::SlaPolicyApplied(e) => {
                let since = match &recorded.applied {
                    Some((previous, since)) if previous.policy_id == e.policy.policy_id => *since,
                    _ => e.policy.created_at.unwrap_or(entry.at).min(entry.at),
                };
                recorded.applied = Some((e.policy.clone(), since));
            }
            ConversationEvent::SlaPolicyRemoved(_) => recorded.applied = None,
            ConversationEvent::SlaTargetStarted(e) => {
                recorded.scheduled.insert(e.clock.clone(), (e.due_at, e.policy_id));
            }
            ConversationEvent::SlaWarningIssued(e) => {
                recorded.warned.insert(e.clock.clone());
            }
            ConversationEvent::SlaBreached(e) => {
                recorded.breached.insert(e.clock.clone());
            }
            ConversationEvent::SlaTargetStopped(e) => {
                recorded.stopped.insert(e.clock.clone());
            }
            _ => {}
        }
    }
    (cycles, recorded, now)
}

/// Decides the SLA events of a conversation whose matching policy is `policy` (none: no
/// policy matches), counting business time in `calendar`, at `now`.
pub fn evaluate(
    history: &[Recorded<'_>],
    policy: Option<AppliedSla>,
    calendar: &BusinessCalendar,
    now: DateTime<Utc>,
) -> Evaluation {
    let (cycles, recorded, facts) = read(history);
    let mut out = Evaluation::default();
    let stop = |cycle: &Cycle, policy_id: Uuid, at: DateTime<Utc>, outcome: SlaOutcome| {
        ConversationEvent::SlaTargetStopped(SlaTargetStopped {
            target: cycle.target,
            clock: cycle.clock.clone(),
            policy_id,
            at,
            outcome,
        })
    };
    let running =
        |cycle: &&Cycle| recorded.scheduled.contains_key(&cycle.clock) && !recorded.stopped.contains(&cycle.clock);
    let applied_since = match (&recorded.applied, &policy) {
        (Some((applied, since)), Some(wanted)) if applied == wanted => *since,
        (Some((applied, since)), Some(wanted)) => {
            out.events.push(ConversationEvent::SlaPolicyApplied(SlaPolicyApplied {
                policy: wanted.clone(),
            }));
            if applied.policy_id == wanted.policy_id {
                *since
            } else {
                wanted.created_at.unwrap_or(now).min(now)
            }
        }
        (None, Some(wanted)) => {
            out.events.push(ConversationEvent::SlaPolicyApplied(SlaPolicyApplied {
                policy: wanted.clone(),
            }));
            wanted.created_at.unwrap_or(now).min(now)
        }
        (Some((applied, _)), None) => {
            out.events.push(ConversationEvent::SlaPolicyRemoved(SlaPolicyRemoved {
                policy_id: applied.policy_id,
            }));
            for cycle in cycles.iter().filter(running) {
                out.events
                    .push(stop(cycle, applied.policy_id, now, SlaOutcome::Cancelled));
            }
            return out;
        }
        (None, None) => return out,
    };
    let Some(policy) = policy else { return out };
    for cycle in &cycles {
        if recorded.stopped.contains(&cycle.clock) {
            continue;
        }
        let scheduled = recorded.scheduled.get(&cycle.clock);
        if policy.minutes(cycle.target).is_none() {
            if scheduled.is_some() {
                out.events
                    .push(stop(cycle, policy.policy_id, now, SlaOutcome::Cancelled));
            }
            continue;
        }
        if scheduled.is_none() && cycle.ended.is_some_and(|(at, _)| at < applied_since) {
            continue;
        }
        let due = policy.due(cycle.target, cycle.started_at, calendar);
        let warn = match (due, policy.warning_minutes) {
            (Some(due), Some(lead)) => Some(due - Duration::minutes(i64::from(lead))).filter(|w| *w > cycle.started_at),
            _ => None,
        };
        if scheduled != Some(&(due, policy.policy_id)) {
            out.events.push(ConversationEvent::SlaTargetStarted(SlaTargetStarted {
                target: cycle.target,
                clock: cycle.clock.clone(),
                policy_id: policy.policy_id,
                started_at: cycle.started_at,
                due_at: due,
                warn_at: warn,
            }));
        }
        let breached = recorded.breached.contains(&cycle.clock);
        let breach = |due_at| {
            ConversationEvent::SlaBreached(SlaBreached {
                target: cycle.target,
                clock: cycle.clock.clone(),
                policy_id: policy.policy_id,
                started_at: cycle.started_at,
                due_at,
                agent_id: facts.agent_id,
                division_id: facts.division_id,
                channel: facts.channel,
            })
        };
        match (cycle.ended, due) {
            (Some((at, true)), _) => out
                .events
                .push(stop(cycle, policy.policy_id, at, SlaOutcome::Cancelled)),
            // Once a breach is recorded the clock can only end late.
            (Some((at, false)), Some(due)) if at > due || breached => {
                if !breached {
                    out.events.push(breach(due));
                }
                out.events.push(stop(cycle, policy.policy_id, at, SlaOutcome::Late));
            }
            (Some((at, false)), _) => out.events.push(stop(cycle, policy.policy_id, at, SlaOutcome::Met)),
            (None, None) => {}
            (None, Some(due)) => {
                if breached {
                    continue;
                }
                if due <= now {
                    out.events.push(breach(due));
                    continue;
                }
                let mut next = due;
                if let Some(warn) = warn.filter(|_| !recorded.warned.contains(&cycle.clock)) {
                    if warn <= now {
                        out.events.push(ConversationEvent::SlaWarningIssued(SlaWarningIssued {
                            target: cycle.target,
                            clock: cycle.clock.clone(),
                            policy_id: policy.policy_id,
                            due_at: due,
                        }));
                    } else {
                        next = warn;
                    }
                }
                out.next_check = Some(out.next_check.map_or(next, |n| n.min(next)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{
        ConversationStarted, ConversationStatusChanged, MessageBody, MessageQueued, MessageReceived,
    };

    fn at(minutes: i64) -> DateTime<Utc> {
        "2026-11-24T09:00:00Z".parse::<DateTime<Utc>>().expect("instant") + Duration::minutes(minutes)
    }

    fn policy() -> AppliedSla {
        AppliedSla {
            policy_id: Uuid::from_u128(1),
            name: "Default".into(),
            first_response_minutes: Some(30),
            next_response_minutes: Some(60),
            resolution_minutes: Some(240),
            business_hours: false,
            warning_minutes: Some(10),
            created_at: None,
        }
    }

    /// A conversation's history built event by event, each at a minute after 09:00.
    #[derive(Default)]
    struct History(Vec<(i64, DateTime<Utc>, ConversationEvent)>);

    impl History {
        fn started(minute: i64) -> Self {
            let mut history = Self::default();
            history.push(
                minute,
                ConversationEvent::ConversationStarted(ConversationStarted {
                    conversation_id: Uuid::from_u128(9),
                    tenant_id: Uuid::nil(),
                    contact_id: Uuid::from_u128(8),
                    channel: Channel::Whatsapp,
                    channel_account_id: None,
                    division_id: None,
                    subject: None,
                }),
            );
            history
        }

        fn push(&mut self, minute: i64, event: ConversationEvent) -> &mut Self {
            let version = self.0.len() as i64 + 1;
            self.0.push((version, at(minute), event));
            self
        }

        fn customer(&mut self, minute: i64) -> &mut Self {
            self.push(
                minute,
                ConversationEvent::MessageReceived(MessageReceived {
                    message_id: Uuid::now_v7(),
                    contact_id: Uuid::from_u128(8),
                    body: MessageBody::default(),
                    provider_message_id: None,
                    received_at: at(minute),
                    channel: Some(Channel::Whatsapp),
                }),
            )
        }

        fn reply(&mut self, minute: i64) -> &mut Self {
            self.push(
                minute,
                ConversationEvent::MessageQueued(MessageQueued {
                    message_id: Uuid::now_v7(),
                    contact_id: Uuid::from_u128(8),
                    body: MessageBody::default(),
                    author_agent_id: None,
                    quick_reply_id: None,
                    responds_to_message_id: None,
                    awaited_since: None,
                    first_response: false,
                    channel: Some(Channel::Whatsapp),
                    human_agent_tag: false,
                }),
            )
        }

        fn status(&mut self, minute: i64, previous: ConversationStatus, status: ConversationStatus) -> &mut Self {
            self.push(
                minute,
                ConversationEvent::ConversationStatusChanged(ConversationStatusChanged {
                    status,
                    previous,
                    snoozed_until: None,
                }),
            )
        }

        /// Evaluates at `minute` and records what was decided, as the command would.
        fn evaluate(&mut self, minute: i64, policy: Option<AppliedSla>, calendar: &BusinessCalendar) -> Evaluation {
            let recorded: Vec<Recorded<'_>> = self
                .0
                .iter()
                .map(|(version, at, event)| Recorded {
                    version: *version,
                    at: *at,
                    event,
                })
                .collect();
            let evaluation = evaluate(&recorded, policy, calendar, at(minute));
            for event in evaluation.events.clone() {
                self.push(minute, event);
            }
            evaluation
        }
    }

    fn kinds(evaluation: &Evaluation) -> Vec<String> {
        evaluation
            .events
            .iter()
            .map(|e| match e {
                ConversationEvent::SlaTargetStarted(s) => format!("started {}", s.clock),
                ConversationEvent::SlaWarningIssued(w) => format!("warned {}", w.clock),
                ConversationEvent::SlaBreached(b) => format!("breached {}", b.clock),
                ConversationEvent::SlaTargetStopped(s) => format!("{} {}", s.outcome.as_str(), s.clock),
                ConversationEvent::SlaPolicyApplied(_) => "applied".into(),
                ConversationEvent::SlaPolicyRemoved(_) => "removed".into(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_reply_in_time_meets_the_first_response_target() {
        let calendar = BusinessCalendar::always_open();
        let mut history = History::started(0);
        history.customer(1);
        let first = history.evaluate(1, Some(policy()), &calendar);
        assert_eq!(
            kinds(&first),
            ["applied", "started resolution:1", "started first_response:2"]
        );
        assert_eq!(
            first.next_check,
            Some(at(21)),
            "the first-response warning, 10 min before 09:31"
        );
        history.reply(20);
        let second = history.evaluate(20, Some(policy()), &calendar);
        assert_eq!(kinds(&second), ["met first_response:2"]);
        assert_eq!(second.next_check, Some(at(230)), "the resolution warning");
        assert!(history.evaluate(21, Some(policy()), &calendar).events.is_empty());
    }

    #[test]
    fn a_passed_due_time_is_breached_once_and_a_late_reply_stops_the_clock() {
        let calendar = BusinessCalendar::always_open();
        let mut history = History::started(0);
        history.customer(0);
        history.evaluate(0, Some(policy()), &calendar);
        let warned = history.evaluate(21, Some(policy()), &calendar);
        assert_eq!(kinds(&warned), ["warned first_response:2"]);
        assert_eq!(warned.next_check, Some(at(30)));
        let breached = history.evaluate(31, Some(policy()), &calendar);
        assert_eq!(kinds(&breached), ["breached first_response:2"]);
        let ConversationEvent::SlaBreached(breach) = &breached.events[0] else {
            panic!("{breached:?}")
        };
        assert_eq!((breach.due_at, breach.channel), (at(30), Some(Channel::Whatsapp)));
        assert!(
            history.evaluate(32, Some(policy()), &calendar).events.is_empty(),
            "exactly once"
        );
        history.reply(45);
        assert_eq!(
            kinds(&history.evaluate(45, Some(policy()), &calendar)),
            ["late first_response:2"]
        );
    }

    #[test]
    fn a_late_evaluation_still_judges_by_the_recorded_times() {
        // The job ran long after the deadline (a restart): the reply came in time, so no breach;
        // the unanswered next message is breached at its due time.
        let calendar = BusinessCalendar::always_open();
        let mut history = History::started(0);
        history.customer(0);
        history.evaluate(0, Some(policy()), &calendar);
        history.reply(29).customer(40);
        let evaluation = history.evaluate(500, Some(policy()), &calendar);
        assert_eq!(
            kinds(&evaluation),
            [
                "breached resolution:1",
                "met first_response:2",
                "started next_response:7",
                "breached next_response:7"
            ]
        );
    }

    #[test]
    fn resolving_meets_resolution_and_cancels_a_waiting_reply_then_reopening_starts_again() {
        let calendar = BusinessCalendar::always_open();
        let mut history = History::started(0);
        history.customer(0);
        history.evaluate(0, Some(policy()), &calendar);
        history.status(10, ConversationStatus::Open, ConversationStatus::Resolved);
        let resolved = history.evaluate(10, Some(policy()), &calendar);
        assert_eq!(kinds(&resolved), ["met resolution:1", "cancelled first_response:2"]);
        assert_eq!(resolved.next_check, None);
        history
            .customer(60)
            .status(60, ConversationStatus::Resolved, ConversationStatus::Open);
        assert_eq!(
            kinds(&history.evaluate(60, Some(policy()), &calendar)),
            ["started first_response:9", "started resolution:10"],
            "nobody replied yet, so it is still the first response"
        );
    }

    #[test]
    fn business_hours_policies_are_due_in_working_time() {
        let mut week: [Vec<crate::business_hours::Shift>; 7] = Default::default();
        week[1] = vec![crate::business_hours::Shift {
            start: "09:00:00".parse().expect("time"),
            end: "10:00:00".parse().expect("time"),
        }];
        week[2] = week[1].clone();
        let calendar = BusinessCalendar::new("UTC", week, Default::default()).expect("calendar");
        let mut history = History::started(50);
        history.customer(50);
        let business = AppliedSla {
            business_hours: true,
            ..policy()
        };
        let evaluation = history.evaluate(50, Some(business), &calendar);
        let ConversationEvent::SlaTargetStarted(first) = &evaluation.events[2] else {
            panic!("{evaluation:?}")
        };
        // Tuesday 09:50 + 30 business minutes: 10 on Tuesday, 20 on Wednesday.
        assert_eq!(first.due_at, Some(at(24 * 60 + 20)));
    }

    #[test]
    fn clocks_that_ended_before_the_policy_applied_are_not_measured() {
        let calendar = BusinessCalendar::always_open();
        let mut history = History::started(0);
        history.customer(0).reply(500);
        let evaluation = history.evaluate(600, Some(policy()), &calendar);
        assert_eq!(
            kinds(&evaluation),
            ["applied", "started resolution:1", "breached resolution:1"]
        );
    }

    #[test]
    fn a_policy_applied_late_still_measures_clocks_since_it_was_created() {
        // The evaluation job ran after the reply: the clock still counts, met in time.
        let calendar = BusinessCalendar::always_open();
        let mut history = History::started(0);
        history.customer(1).reply(5);
        let created = AppliedSla {
            created_at: Some(at(-60)),
            ..policy()
        };
        let evaluation = history.evaluate(6, Some(created), &calendar);
        assert_eq!(
            kinds(&evaluation),
            [
                "applied",
                "started resolution:1",
                "started first_response:2",
                "met first_response:2"
            ]
        );
    }

    #[test]
    fn a_policy_that_stops_matching_cancels_its_running_clocks() {
        let calendar = BusinessCalendar::always_open();
        let mut history = History::started(0);
        history.customer(0);
        history.evaluate(0, Some(policy()), &calendar);
        let removed = history.evaluate(5, None, &calendar);
        assert_eq!(
            kinds(&removed),
            ["removed", "cancelled resolution:1", "cancelled first_response:2"]
        );
        let changed = AppliedSla {
            first_response_minutes: Some(15),
            ..policy()
        };
        let mut history = History::started(0);
        history.customer(0);
        history.evaluate(0, Some(policy()), &calendar);
        let moved = history.evaluate(1, Some(changed), &calendar);
        assert_eq!(kinds(&moved), ["applied", "started first_response:2"], "due time moves");
    }
}
