//! Webhooks tag: the provider receivers (the `webhook-ingestor` service, also mounted in
//! `omnistream serve`). They authenticate by the provider's signature or secret, never by an
//! API key; a 200 means the delivery is durably logged, and its events follow within moments.

use omnistream_ingest::deliveries::Source;
use omnistream_ingest::receiver::{IngestError, Receipt};
use poem::web::headers::authorization::Basic;
use poem::web::headers::{Authorization, HeaderMapExt};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::{Binary, Json, PlainText};
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::state::SharedState;

/// A delivery taken: it is logged and will be processed.
#[derive(Debug, Clone, Object)]
pub struct WebhookAccepted {
    /// Always true.
    pub accepted: bool,
    /// The logged deliveries (one per channel account the payload concerns), as the activity
    /// log's causation ids show them.
    pub delivery_ids: Vec<Uuid>,
}

impl From<Receipt> for WebhookAccepted {
    fn from(receipt: Receipt) -> Self {
        Self {
            accepted: true,
            delivery_ids: receipt.deliveries,
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        let message = error.to_string();
        match error {
            IngestError::Unauthorized(_) => ApiError::unauthorized(message),
            IngestError::VerifyTokenMismatch => ApiError::forbidden(message),
            IngestError::UnknownAccount(_) => ApiError::NotFound(Json(ErrorResponse::new("unknown_account", message))),
            IngestError::Malformed(_) => ApiError::BadRequest(Json(ErrorResponse::new("malformed_payload", message))),
            IngestError::Unavailable(_) => ApiError::unavailable("unavailable", message),
        }
    }
}

/// The password of a request's basic authorization, if any.
fn basic_password(request: &Request) -> Option<String> {
    request
        .headers()
        .typed_get::<Authorization<Basic>>()
        .map(|auth| auth.password().to_owned())
}

/// The webhook receivers.
pub struct WebhooksApi;

#[OpenApi(prefix_path = "/api/webhooks", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Meta's verification request for WhatsApp: answers `hub.challenge` when
    /// `hub.verify_token` is an account's verify token, else 403.
    #[oai(path = "/whatsapp", method = "get")]
    async fn verify_whatsapp(
        &self,
        state: Data<&SharedState>,
        #[oai(name = "hub.mode")] mode: Query<Option<String>>,
        #[oai(name = "hub.verify_token")] token: Query<Option<String>>,
        #[oai(name = "hub.challenge")] challenge: Query<Option<String>>,
    ) -> ApiResult<PlainText<String>> {
        let challenge = state
            .ingest
            .verify(
                Source::Whatsapp,
                mode.as_deref(),
                token.as_deref(),
                challenge.as_deref(),
            )
            .await?;
        Ok(PlainText(challenge))
    }

    /// A WhatsApp Cloud API delivery (JSON), signed with `X-Hub-Signature-256` by the app
    /// secret of the phone number's account. Every entry, change, message and status is
    /// processed; redeliveries change nothing.
    #[oai(path = "/whatsapp", method = "post")]
    async fn whatsapp(
        &self,
        state: Data<&SharedState>,
        #[oai(name = "X-Hub-Signature-256")] signature: Header<Option<String>>,
        body: Binary<Vec<u8>>,
    ) -> ApiResult<Json<WebhookAccepted>> {
        let receipt = state.ingest.whatsapp(signature.as_deref(), &body).await?;
        Ok(Json(receipt.into()))
    }

    /// Meta's verification request for Instagram (as for WhatsApp).
    #[oai(path = "/instagram", method = "get")]
    async fn verify_instagram(
        &self,
        state: Data<&SharedState>,
        #[oai(name = "hub.mode")] mode: Query<Option<String>>,
        #[oai(name = "hub.verify_token")] token: Query<Option<String>>,
        #[oai(name = "hub.challenge")] challenge: Query<Option<String>>,
    ) -> ApiResult<PlainText<String>> {
        let challenge = state
            .ingest
            .verify(
                Source::Instagram,
                mode.as_deref(),
                token.as_deref(),
                challenge.as_deref(),
            )
            .await?;
        Ok(PlainText(challenge))
    }

    /// An Instagram Messaging delivery (JSON), signed with `X-Hub-Signature-256`. Echoes
    /// (`is_echo`) are recorded as outbound messages.
    #[oai(path = "/instagram", method = "post")]
    async fn instagram(
        &self,
        state: Data<&SharedState>,
        #[oai(name = "X-Hub-Signature-256")] signature: Header<Option<String>>,
        body: Binary<Vec<u8>>,
    ) -> ApiResult<Json<WebhookAccepted>> {
        let receipt = state.ingest.instagram(signature.as_deref(), &body).await?;
        Ok(Json(receipt.into()))
    }

    /// A Postmark inbound e-mail (JSON), authenticated by the account's inbound token as
    /// `?token=` or as the basic-auth password. Threaded by Message-ID, In-Reply-To and
    /// References, then by the plus-address (`support+<conversation id>@...`).
    #[oai(path = "/email/postmark", method = "post")]
    async fn postmark(
        &self,
        state: Data<&SharedState>,
        request: &Request,
        /// The inbound token (or use basic auth).
        token: Query<Option<String>>,
        body: Binary<Vec<u8>>,
    ) -> ApiResult<Json<WebhookAccepted>> {
        let presented = token.0.or_else(|| basic_password(request));
        let receipt = state.ingest.postmark(presented.as_deref(), &body).await?;
        Ok(Json(receipt.into()))
    }

    /// A SendGrid Inbound Parse delivery (multipart/form-data), authenticated by the
    /// account's inbound token as `?token=` or as the basic-auth password (SendGrid signs
    /// nothing). Threaded as the other e-mail receivers do.
    #[oai(path = "/email/sendgrid", method = "post")]
    async fn sendgrid(
        &self,
        state: Data<&SharedState>,
        request: &Request,
        /// The inbound token (or use basic auth).
        token: Query<Option<String>>,
        body: Binary<Vec<u8>>,
    ) -> ApiResult<Json<WebhookAccepted>> {
        let presented = token.0.or_else(|| basic_password(request));
        let content_type = request.content_type().unwrap_or_default();
        let receipt = state.ingest.sendgrid(presented.as_deref(), content_type, &body).await?;
        Ok(Json(receipt.into()))
    }

    /// A Mailgun route delivery (form-urlencoded), signed with the account's webhook signing
    /// key (`timestamp`, `token`, `signature`); a timestamp more than 15 minutes off is
    /// refused as a replay.
    #[oai(path = "/email/mailgun", method = "post")]
    async fn mailgun(&self, state: Data<&SharedState>, body: Binary<Vec<u8>>) -> ApiResult<Json<WebhookAccepted>> {
        let receipt = state.ingest.mailgun(&body).await?;
        Ok(Json(receipt.into()))
    }
}
