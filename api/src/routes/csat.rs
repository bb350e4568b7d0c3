//! CSAT tag: per-channel survey settings, the surveys sent after resolutions with their
//! answers, survey analytics, and the public, token-bound answer endpoint customers reach
//! through the link in the survey message.

use chrono::{DateTime, Utc};
use omnistream_commands::csat as csat_commands;
use omnistream_domain::conversation::Channel;
use omnistream_domain::csat::DEFAULT_MESSAGE;
use omnistream_domain::Permission;
use omnistream_projections::csat::settings::{self, SettingsRow};
use omnistream_projections::csat::surveys::{self, SurveyFilter, SurveyRow};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::conversations::ConversationChannel;
use super::{page_request, paginated, ApiTags};
use crate::auth::Auth;
use crate::error::{current_request_id, ApiError, ApiResult};
use crate::state::SharedState;

/// Hours a survey stays open unless configured.
const DEFAULT_EXPIRY_HOURS: i32 = 72;

/// Where a survey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CsatSurveyStatus {
    /// Sent, waiting for the customer.
    Sent,
    /// Answered.
    Answered,
    /// No longer answerable.
    Expired,
}

impl CsatSurveyStatus {
    fn of(answered: bool, expires_at: DateTime<Utc>) -> Self {
        if answered {
            Self::Answered
        } else if expires_at <= Utc::now() {
            Self::Expired
        } else {
            Self::Sent
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Answered => "answered",
            Self::Expired => "expired",
        }
    }
}

/// A channel's survey settings.
#[derive(Debug, Clone, Object)]
pub struct CsatChannelSettings {
    /// The channel.
    pub channel: ConversationChannel,
    /// Whether a survey follows each resolution.
    pub enabled: bool,
    /// Hours a survey can be answered.
    pub expires_after_hours: i32,
    /// The message; `{{link}}` becomes the survey's link.
    pub message: String,
    /// Whether it was configured (otherwise the defaults: off).
    pub configured: bool,
    /// Last changed.
    #[oai(skip_serializing_if_is_none)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Stream version (0 when never configured).
    pub version: i64,
}

impl CsatChannelSettings {
    fn of(channel: ConversationChannel, row: Option<&SettingsRow>) -> Self {
        match row {
            Some(row) => Self {
                channel,
                enabled: row.enabled,
                expires_after_hours: row.expires_after_hours,
                message: row.message.clone(),
                configured: true,
                updated_at: Some(row.updated_at),
                version: row.version,
            },
            None => Self {
                channel,
                enabled: false,
                expires_after_hours: DEFAULT_EXPIRY_HOURS,
                message: DEFAULT_MESSAGE.to_owned(),
                configured: false,
                updated_at: None,
                version: 0,
            },
        }
    }
}

/// A channel's survey settings to set; they replace the current ones.
#[derive(Debug, Clone, Object)]
pub struct UpsertCsatSettings {
    /// Send a survey after each resolution.
    pub enabled: bool,
    /// Hours a survey can be answered (1-720, default 72).
    pub expires_after_hours: Option<u32>,
    /// The message, with `{{link}}` (default: a short question with the link).
    pub message: Option<String>,
}

/// A survey sent after a resolution.
#[derive(Debug, Clone, Object)]
pub struct CsatSurvey {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The customer.
    pub contact_id: Uuid,
    /// The channel.
    pub channel: String,
    /// The agent who had the conversation.
    #[oai(skip_serializing_if_is_none)]
    pub agent_id: Option<Uuid>,
    /// Its division.
    #[oai(skip_serializing_if_is_none)]
    pub division_id: Option<Uuid>,
    /// The outbound message carrying the link.
    pub message_id: Uuid,
    /// Sent, answered or expired.
    pub status: CsatSurveyStatus,
    /// 1 (bad) to 5 (great).
    #[oai(skip_serializing_if_is_none)]
    pub rating: Option<i32>,
    /// The customer's comment.
    #[oai(skip_serializing_if_is_none)]
    pub comment: Option<String>,
    /// Sent.
    pub sent_at: DateTime<Utc>,
    /// No longer answerable after.
    pub expires_at: DateTime<Utc>,
    /// Answered.
    #[oai(skip_serializing_if_is_none)]
    pub answered_at: Option<DateTime<Utc>>,
}

impl From<SurveyRow> for CsatSurvey {
    fn from(row: SurveyRow) -> Self {
        Self {
            status: CsatSurveyStatus::of(row.answered_at.is_some(), row.expires_at),
            id: row.id,
            conversation_id: row.conversation_id,
            contact_id: row.contact_id,
            channel: row.channel,
            agent_id: row.agent_id,
            division_id: row.division_id,
            message_id: row.message_id,
            rating: row.rating.map(i32::from),
            comment: row.comment,
            sent_at: row.sent_at,
            expires_at: row.expires_at,
            answered_at: row.answered_at,
        }
    }
}

paginated!(
    /// A page of surveys.
    CsatSurveyPage,
    CsatSurvey
);

/// A customer's answer.
#[derive(Debug, Clone, Object)]
pub struct SubmitCsatRequest {
    /// 1 (bad) to 5 (great).
    pub rating: i32,
    /// What they want to add (at most 2000 characters).
    pub comment: Option<String>,
}

/// What the survey page shows the customer.
#[derive(Debug, Clone, Object)]
pub struct CsatSurveyAnswer {
    /// Sent (answerable), answered or expired.
    pub status: CsatSurveyStatus,
    /// Answerable until.
    pub expires_at: DateTime<Utc>,
    /// The rating given.
    #[oai(skip_serializing_if_is_none)]
    pub rating: Option<i32>,
}

/// Settings written by a command.
#[derive(ApiResponse)]
pub enum SettingsWritten {
    /// Configured.
    #[oai(status = 200)]
    Ok(
        Json<CsatChannelSettings>,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

/// CSAT operations.
pub struct CsatApi;

const CHANNELS: [ConversationChannel; 4] = [
    ConversationChannel::Api,
    ConversationChannel::Whatsapp,
    ConversationChannel::Instagram,
    ConversationChannel::Email,
];

fn stored(channel: ConversationChannel) -> &'static str {
    Channel::from(channel).as_str()
}

#[OpenApi(prefix_path = "/api/csat", tag = "ApiTags::Csat")]
impl CsatApi {
    /// Every channel's survey settings (needs `csat.view`).
    #[oai(path = "/settings", method = "get")]
    async fn settings(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<CsatChannelSettings>>> {
        let scope = auth.principal().require(Permission::CsatView)?.scope()?;
        let rows = settings::list(&state.pool, scope).await?;
        Ok(Json(
            CHANNELS
                .into_iter()
                .map(|c| CsatChannelSettings::of(c, rows.iter().find(|r| r.channel == stored(c))))
                .collect(),
        ))
    }

    /// Configures a channel's surveys (needs `integrations.manage`).
    #[oai(path = "/settings/:channel", method = "put")]
    async fn configure(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        channel: Path<ConversationChannel>,
        body: Json<UpsertCsatSettings>,
    ) -> ApiResult<SettingsWritten> {
        let principal = auth.principal().require(Permission::IntegrationsManage)?;
        let body = body.0;
        let ctx = principal.command_context()?;
        let executed = csat_commands::configure(
            &state.bus,
            &ctx,
            channel.0.into(),
            body.enabled,
            body.expires_after_hours.unwrap_or(DEFAULT_EXPIRY_HOURS as u32),
            body.message.unwrap_or_else(|| DEFAULT_MESSAGE.to_owned()),
        )
        .await?;
        wait_for_position(state.0, "csat", executed.position).await?;
        let rows = settings::list(&state.pool, principal.scope()?).await?;
        let row = rows.iter().find(|r| r.channel == stored(channel.0));
        Ok(SettingsWritten::Ok(
            Json(CsatChannelSettings::of(channel.0, row)),
            executed.position,
        ))
    }

    /// The surveys sent, latest first, with filters (needs `csat.view`).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/surveys", method = "get")]
    async fn surveys(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only surveys in this state.
        status: Query<Option<CsatSurveyStatus>>,
        /// Only this agent's.
        agent_id: Query<Option<Uuid>>,
        /// Only this division's.
        division_id: Query<Option<Uuid>>,
        /// Only this conversation's.
        conversation_id: Query<Option<Uuid>>,
        /// Sent at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Sent before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<CsatSurveyPage>> {
        let scope = auth.principal().require(Permission::CsatView)?.scope()?;
        let page = page_request(page.0, per_page.0, cursor.0)?;
        let filter = SurveyFilter {
            status: status.0.map(|s| s.as_str().to_owned()),
            agent_id: agent_id.0,
            division_id: division_id.0,
            conversation_id: conversation_id.0,
            from: from.0,
            to: to.0,
        };
        let rows = surveys::list(&state.pool, scope, &filter, &page).await?;
        Ok(Json(CsatSurveyPage::from_page(rows, CsatSurvey::from)))
    }

    /// Public: answers a survey, once, before it expires; the token from the survey's link is
    /// the only credential.
    #[oai(path = "/:token", method = "post")]
    async fn submit(
        &self,
        state: Data<&SharedState>,
        token: Path<String>,
        body: Json<SubmitCsatRequest>,
    ) -> ApiResult<Json<CsatSurveyAnswer>> {
        let body = body.0;
        let rating = u8::try_from(body.rating)
            .ok()
            .filter(|r| (1..=5).contains(r))
            .ok_or_else(|| ApiError::validation("rating", "rating must be 1-5"))?;
        let executed = csat_commands::answer(
            &state.bus,
            &token.0,
            rating,
            body.comment,
            Some(current_request_id()),
            Utc::now(),
        )
        .await?;
        let survey = omnistream_commands::csat::survey(&state.bus, &token.0).await?;
        wait_for_position(state.0, "csat", executed.position).await?;
        Ok(Json(survey_answer(survey)))
    }

    /// Public: where a survey stands, for the page its link opens (token-bound).
    #[oai(path = "/:token", method = "get")]
    async fn show(&self, state: Data<&SharedState>, token: Path<String>) -> ApiResult<Json<CsatSurveyAnswer>> {
        let survey = omnistream_commands::csat::survey(&state.bus, &token.0).await?;
        Ok(Json(survey_answer(survey)))
    }
}

fn survey_answer(survey: omnistream_domain::csat::CsatSurvey) -> CsatSurveyAnswer {
    let expires_at = survey.sent.as_ref().map_or_else(Utc::now, |s| s.expires_at);
    CsatSurveyAnswer {
        status: CsatSurveyStatus::of(survey.answer.is_some(), expires_at),
        expires_at,
        rating: survey.answer.map(|a| i32::from(a.rating)),
    }
}
