//! Customer satisfaction: per channel, whether a survey follows a resolution and how long it
//! can be answered; each survey, sent as an outbound message with a link holding its token,
//! answered once (a rating of 1-5 and a comment) until it expires.

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::Channel;
use crate::{Aggregate, DomainError, DomainEvent};

/// The survey message when a channel sets none; `{{link}}` becomes the survey's link.
pub const DEFAULT_MESSAGE: &str = "How did we do? Please rate this conversation from 1 to 5: {{link}}";
/// Longest a survey can stay open: 30 days.
pub const MAX_EXPIRY_HOURS: u32 = 30 * 24;
/// Longest comment.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Event: a channel's survey settings were configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CsatSettingsConfigured {
    /// The organization.
    pub tenant_id: Uuid,
    /// The channel.
    pub channel: Channel,
    /// Whether a survey follows each resolution.
    pub enabled: bool,
    /// Hours a survey can be answered.
    pub expires_after_hours: u32,
    /// The message, with `{{link}}` where the survey's link goes.
    pub message: String,
}

/// The events of a channel's survey settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum CsatSettingsEvent {
    /// See [`CsatSettingsConfigured`].
    CsatSettingsConfigured(CsatSettingsConfigured),
}

impl DomainEvent for CsatSettingsEvent {
    fn event_type(&self) -> &'static str {
        match self {
            CsatSettingsEvent::CsatSettingsConfigured(_) => "CsatSettingsConfigured",
        }
    }
}

/// Configure (create or replace) a channel's settings.
#[derive(Debug, Clone)]
pub struct ConfigureCsat(pub CsatSettingsConfigured);

/// A channel's survey settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsatSettings {
    /// As configured last.
    pub settings: Option<CsatSettingsConfigured>,
}

impl CsatSettings {
    /// The stream id of a tenant's settings of a channel.
    pub fn id_for(tenant_id: Uuid, channel: Channel) -> Uuid {
        Uuid::new_v5(&tenant_id, format!("csat:{}", channel.as_str()).as_bytes())
    }
}

impl Aggregate for CsatSettings {
    type Command = ConfigureCsat;
    type Event = CsatSettingsEvent;
    const STREAM_PREFIX: &'static str = "csatsettings";
    const NAME: &'static str = "CSAT settings";

    fn decide(&self, ConfigureCsat(settings): ConfigureCsat) -> Result<Vec<CsatSettingsEvent>, DomainError> {
        if settings.expires_after_hours == 0 || settings.expires_after_hours > MAX_EXPIRY_HOURS {
            return Err(DomainError::invalid(
                "expires_after_hours",
                format!("must be 1-{MAX_EXPIRY_HOURS}"),
            ));
        }
        let message = settings.message.trim().to_owned();
        if !message.contains("{{link}}") {
            return Err(DomainError::invalid("message", "must contain {{link}}"));
        }
        if message.chars().count() > 1000 {
            return Err(DomainError::invalid("message", "must be at most 1000 characters"));
        }
        let settings = CsatSettingsConfigured { message, ..settings };
        if self.settings.as_ref() == Some(&settings) {
            return Ok(vec![]);
        }
        Ok(vec![CsatSettingsEvent::CsatSettingsConfigured(settings)])
    }

    fn apply(mut self, event: &CsatSettingsEvent) -> Self {
        match event {
            CsatSettingsEvent::CsatSettingsConfigured(s) => self.settings = Some(s.clone()),
        }
        self
    }

    fn exists(&self) -> bool {
        self.settings.is_some()
    }
}

/// Event: a survey went out after a resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CsatSurveySent {
    /// The survey.
    pub survey_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The conversation it asks about.
    pub conversation_id: Uuid,
    /// The customer.
    pub contact_id: Uuid,
    /// The conversation's channel.
    pub channel: Channel,
    /// The agent who had the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    /// The conversation's division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Uuid>,
    /// The outbound message carrying the link.
    pub message_id: Uuid,
    /// SHA-256 (hex) of the token's secret; the secret itself is only in the message.
    pub token_sha256: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// When it can no longer be answered.
    pub expires_at: DateTime<Utc>,
}

/// Event: the customer answered a survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CsatSurveyAnswered {
    /// The customer: their personal-data key seals the comment.
    pub contact_id: Uuid,
    /// 1 (bad) to 5 (great).
    pub rating: u8,
    /// What they wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When.
    pub answered_at: DateTime<Utc>,
}

/// The events of a survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum CsatSurveyEvent {
    /// See [`CsatSurveySent`].
    CsatSurveySent(CsatSurveySent),
    /// See [`CsatSurveyAnswered`].
    CsatSurveyAnswered(CsatSurveyAnswered),
}

impl DomainEvent for CsatSurveyEvent {
    fn event_type(&self) -> &'static str {
        match self {
            CsatSurveyEvent::CsatSurveySent(_) => "CsatSurveySent",
            CsatSurveyEvent::CsatSurveyAnswered(_) => "CsatSurveyAnswered",
        }
    }
}

/// What can be asked of a survey.
#[derive(Debug, Clone)]
pub enum CsatSurveyCommand {
    /// Send it.
    Send(CsatSurveySent),
    /// Answer it.
    Answer {
        /// SHA-256 (hex) of the secret the customer's link holds.
        token_sha256: String,
        /// 1-5.
        rating: u8,
        /// A comment.
        comment: Option<String>,
        /// The current time.
        now: DateTime<Utc>,
    },
}

/// A survey's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsatSurvey {
    /// As sent.
    pub sent: Option<CsatSurveySent>,
    /// The answer.
    pub answer: Option<CsatSurveyAnswered>,
}

impl CsatSurvey {
    /// The survey of a conversation's resolution: one per resolution, whoever sends it.
    pub fn id_for(conversation_id: Uuid, resolved_version: i64) -> Uuid {
        Uuid::new_v5(&conversation_id, format!("csat:{resolved_version}").as_bytes())
    }

    /// Whether the token whose secret hashes to `token_sha256` is this survey's.
    pub fn holds_token(&self, token_sha256: &str) -> bool {
        self.sent
            .as_ref()
            .is_some_and(|s| same_digest(&s.token_sha256, token_sha256))
    }

    /// When a survey sent at `sent_at` expires.
    pub fn expiry(sent_at: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        sent_at + Duration::hours(i64::from(hours))
    }
}

/// Compares two hex digests in time independent of where they differ.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Aggregate for CsatSurvey {
    type Command = CsatSurveyCommand;
    type Event = CsatSurveyEvent;
    const STREAM_PREFIX: &'static str = "csatsurvey";
    const NAME: &'static str = "survey";

    fn decide(&self, command: CsatSurveyCommand) -> Result<Vec<CsatSurveyEvent>, DomainError> {
        match command {
            CsatSurveyCommand::Send(sent) => {
                if self.sent.is_some() {
                    return Ok(vec![]);
                }
                Ok(vec![CsatSurveyEvent::CsatSurveySent(sent)])
            }
            CsatSurveyCommand::Answer {
                token_sha256,
                rating,
                comment,
                now,
            } => {
                let sent = self
                    .sent
                    .as_ref()
                    .filter(|_| self.holds_token(&token_sha256))
                    .ok_or(DomainError::NotFound(Self::NAME))?;
                if self.answer.is_some() {
                    return Err(DomainError::AlreadyExists("this survey was answered already".into()));
                }
                if now >= sent.expires_at {
                    return Err(DomainError::Rule("this survey expired".into()));
                }
                if !(1..=5).contains(&rating) {
                    return Err(DomainError::invalid("rating", "must be 1-5"));
                }
                let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
                if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
                    return Err(DomainError::invalid(
                        "comment",
                        format!("must be at most {MAX_COMMENT_CHARS} characters"),
                    ));
                }
                Ok(vec![CsatSurveyEvent::CsatSurveyAnswered(CsatSurveyAnswered {
                    contact_id: sent.contact_id,
                    rating,
                    comment,
                    answered_at: now,
                })])
            }
        }
    }

    fn apply(mut self, event: &CsatSurveyEvent) -> Self {
        match event {
            CsatSurveyEvent::CsatSurveySent(s) => self.sent = Some(s.clone()),
            CsatSurveyEvent::CsatSurveyAnswered(a) => self.answer = Some(a.clone()),
        }
        self
    }

    fn exists(&self) -> bool {
        self.sent.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn sent(now: DateTime<Utc>) -> CsatSurveyEvent {
        CsatSurveyEvent::CsatSurveySent(CsatSurveySent {
            survey_id: Uuid::from_u128(1),
            tenant_id: Uuid::nil(),
            conversation_id: Uuid::from_u128(2),
            contact_id: Uuid::from_u128(3),
            channel: Channel::Api,
            agent_id: None,
            division_id: None,
            message_id: Uuid::from_u128(4),
            token_sha256: "ab".repeat(32),
            sent_at: now,
            expires_at: CsatSurvey::expiry(now, 24),
        })
    }

    fn answer(token: &str, rating: u8, now: DateTime<Utc>) -> CsatSurveyCommand {
        CsatSurveyCommand::Answer {
            token_sha256: token.into(),
            rating,
            comment: Some("  quick and kind ".into()),
            now,
        }
    }

    #[test]
    fn a_survey_is_answered_once_with_its_token_before_it_expires() {
        let now = Utc::now();
        let token = "ab".repeat(32);
        let history = [sent(now)];
        let answered = given::<CsatSurvey>(&history)
            .when(answer(&token, 5, now))
            .expect("answered");
        let CsatSurveyEvent::CsatSurveyAnswered(a) = &answered[0] else {
            panic!("{answered:?}")
        };
        assert_eq!((a.rating, a.comment.as_deref()), (5, Some("quick and kind")));
        let mut twice = history.to_vec();
        twice.extend(answered);
        assert!(matches!(
            given::<CsatSurvey>(&twice).when(answer(&token, 4, now)),
            Err(DomainError::AlreadyExists(_))
        ));
        assert!(matches!(
            given::<CsatSurvey>(&history).when(answer(&"cd".repeat(32), 5, now)),
            Err(DomainError::NotFound(_))
        ));
        assert!(matches!(
            given::<CsatSurvey>(&history).when(answer(&token, 6, now)),
            Err(DomainError::Invalid { field: "rating", .. })
        ));
        assert!(matches!(
            given::<CsatSurvey>(&history).when(answer(&token, 3, now + Duration::hours(25))),
            Err(DomainError::Rule(_))
        ));
    }

    #[test]
    fn settings_need_a_link_and_a_sane_expiry() {
        let settings = |hours, message: &str| {
            ConfigureCsat(CsatSettingsConfigured {
                tenant_id: Uuid::nil(),
                channel: Channel::Whatsapp,
                enabled: true,
                expires_after_hours: hours,
                message: message.into(),
            })
        };
        assert!(given::<CsatSettings>(&[]).when(settings(24, DEFAULT_MESSAGE)).is_ok());
        assert!(given::<CsatSettings>(&[]).when(settings(0, DEFAULT_MESSAGE)).is_err());
        assert!(given::<CsatSettings>(&[]).when(settings(24, "Rate us!")).is_err());
    }
}
