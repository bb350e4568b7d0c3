//! The delivery worker: sends queued outbound messages through their channel (WhatsApp
//! Cloud API, Instagram Send API, SMTP). Each message has a `message.deliver` job (scheduled
//! from its `MessageQueued` event); every attempt is an event. A 5xx, a 429, a timeout or a
//! refused connection is tried again with exponential backoff; a 4xx (or a permanent SMTP
//! reply) is final and fails the message with the provider's reason.
//!
//! Delivery is at least once: should the process die between the provider's acceptance and
//! the recording of it, the message is sent again.

pub mod graph;
pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use omnistream_commands::delivery::{self, Attachment, Outgoing};
use omnistream_commands::jobs::{self, Job};
use omnistream_commands::media::MediaStore;
use omnistream_commands::{CommandBus, CommandContext, CommandError, Scope};
use omnistream_domain::conversation::{Channel, TemplateMessage};
use omnistream_domain::{Actor, DomainError};
use omnistream_projections::scheduler::MESSAGE_DELIVER;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::accounts::{Accounts, RoutedAccount};
use graph::Graph;
use smtp::{Email, Mailer};

/// The account's opened Graph API token.
fn access_token(account: &RoutedAccount) -> Result<&str, SendError> {
    account
        .access_token
        .as_deref()
        .ok_or_else(|| final_error("the account's access token cannot be opened"))
}

/// The contact's WhatsApp id: its phone number without the `+`.
fn whatsapp_recipient(outgoing: &Outgoing) -> Result<&str, SendError> {
    outgoing
        .contact
        .profile
        .phone
        .as_deref()
        .map(|phone| phone.trim_start_matches('+'))
        .ok_or_else(|| final_error("the contact has no WhatsApp number"))
}

/// The WhatsApp message type of a file's content type.
fn whatsapp_kind(content_type: &str) -> &'static str {
    match content_type.split('/').next().unwrap_or_default() {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "document",
    }
}

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth another try later (5xx, 429, timeouts, connection failures).
    #[error("{0}")]
    Retryable(String),
    /// Refused for good (4xx, a permanent SMTP reply, nothing to send it with).
    #[error("{0}")]
    Final(String),
}

/// How the worker delivers and retries.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The Graph API's base URL.
    pub graph_url: String,
    /// The SMTP relay's URL, if e-mail is to be sent.
    pub smtp_url: Option<String>,
    /// The first retry's delay; each next one doubles it (at most ten minutes).
    pub retry_base: Duration,
    /// Attempts before a retryable failure becomes final.
    pub max_attempts: u32,
}

/// The delivery worker.
#[derive(Clone)]
pub struct DeliveryWorker {
    pool: PgPool,
    bus: CommandBus,
    accounts: Accounts,
    graph: Graph,
    mailer: Option<Mailer>,
    media: Option<MediaStore>,
    settings: Arc<DeliverySettings>,
}

fn final_error(message: impl Into<String>) -> SendError {
    SendError::Final(message.into())
}

impl DeliveryWorker {
    /// A worker with these settings, reading uploaded files from `media`.
    pub fn new(
        pool: PgPool,
        bus: CommandBus,
        accounts: Accounts,
        media: Option<MediaStore>,
        settings: DeliverySettings,
    ) -> anyhow::Result<Self> {
        let graph = Graph::new(&settings.graph_url)?;
        let mailer = settings.smtp_url.as_deref().map(Mailer::from_url).transpose()?;
        Ok(Self {
            pool,
            bus,
            accounts,
            graph,
            mailer,
            media,
            settings: Arc::new(settings),
        })
    }

    /// Delivers due messages until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let busy = match jobs::claim_due(&self.pool, 32, &[MESSAGE_DELIVER]).await {
                Ok(due) => {
                    let count = due.len();
                    let worker = &self;
                    stream::iter(due)
                        .for_each_concurrent(8, |job| async move { worker.run_job(&job).await })
                        .await;
                    count > 0
                }
                Err(error) => {
                    tracing::warn!(%error, "claiming deliveries failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn run_job(&self, job: &Job) {
        let outcome = match self.deliver(job).await {
            Ok(None) => jobs::complete(&self.pool, job).await,
            Ok(Some(delay)) => jobs::reschedule(&self.pool, job.id, delay, "retrying delivery").await,
            Err(error) => {
                tracing::warn!(job = %job.id, %error, "delivery could not be recorded; will retry");
                jobs::fail(&self.pool, job, &error.to_string()).await
            }
        };
        if let Err(error) = outcome {
            tracing::error!(job = %job.id, %error, "could not record a delivery job's outcome");
        }
    }

    /// One attempt; answers when to try again, if ever.
    async fn deliver(&self, job: &Job) -> Result<Option<Duration>, CommandError> {
        let field = |name: &str| {
            job.payload[name]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| DomainError::Rule(format!("delivery job without {name}")))
        };
        let tenant_id = job
            .tenant_id
            .ok_or_else(|| DomainError::Rule("delivery job without a tenant".into()))?;
        let (conversation_id, message_id) = (field("conversation_id")?, field("message_id")?);
        let ctx = CommandContext {
            scope: Scope::Tenant(tenant_id),
            actor: Actor::system(),
            request_id: None,
            command_id: job.id,
        };
        let Some(outgoing) = delivery::outgoing(&self.bus, ctx.scope, conversation_id, message_id).await? else {
            return Ok(None);
        };
        let attempt = u32::try_from(job.attempts).unwrap_or(1).max(1);
        let account = match outgoing.conversation.channel_account_id {
            Some(id) => self
                .accounts
                .by_id(tenant_id, id)
                .await
                .map_err(|e| CommandError::Storage(e.to_string()))?,
            None => None,
        };
        let result = match &account {
            None => Err(final_error("the conversation's channel account is disconnected")),
            Some(account) if !account.enabled => Err(final_error("the channel account or its channel is disabled")),
            Some(account) => self.send(account, &outgoing).await,
        };
        match result {
            Ok(provider_id) => {
                let account_id = account.map(|a| a.account.id).unwrap_or_default();
                delivery::sent(&self.bus, &ctx, account_id, &outgoing, &provider_id, attempt).await?;
                Ok(None)
            }
            Err(SendError::Retryable(error)) if attempt < self.settings.max_attempts => {
                let delay = self
                    .settings
                    .retry_base
                    .saturating_mul(2u32.saturating_pow(attempt - 1))
                    .min(Duration::from_secs(600));
                let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                delivery::failed(&self.bus, &ctx, &outgoing, attempt, &error, Some(retry_at)).await?;
                Ok(Some(delay))
            }
            Err(SendError::Retryable(error) | SendError::Final(error)) => {
                delivery::failed(&self.bus, &ctx, &outgoing, attempt, &error, None).await?;
                Ok(None)
            }
        }
    }

    /// The message's uploaded files, read from the media store.
    async fn files(&self, outgoing: &Outgoing) -> Result<Vec<Attachment>, SendError> {
        let ids = &outgoing.queued.body.media_ids;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let store = self
            .media
            .as_ref()
            .ok_or_else(|| final_error("this process has no media store to read files from"))?;
        let scope = Scope::Tenant(outgoing.conversation.tenant_id);
        delivery::attachments(&self.bus, store, scope, ids)
            .await
            .map_err(|error| match error {
                CommandError::Domain(e) => SendError::Final(e.to_string()),
                other => SendError::Retryable(other.to_string()),
            })
    }

    async fn send_template(
        &self,
        account: &RoutedAccount,
        outgoing: &Outgoing,
        template: &TemplateMessage,
    ) -> Result<String, SendError> {
        if outgoing.conversation.channel != Some(Channel::Whatsapp) {
            return Err(final_error("templates are WhatsApp messages"));
        }
        let to = whatsapp_recipient(outgoing)?;
        let token = access_token(account)?;
        let parameters: Vec<_> = template
            .body_parameters
            .iter()
            .map(|value| json!({"type": "text", "text": value}))
            .collect();
        let mut content = json!({"name": template.name, "language": {"code": template.language}});
        if !parameters.is_empty() {
            content["components"] = json!([{"type": "body", "parameters": parameters}]);
        }
        let message = json!({"type": "template", "template": content});
        self.graph.whatsapp(token, &account.routing_id, to, message).await
    }

    async fn send(&self, account: &RoutedAccount, outgoing: &Outgoing) -> Result<String, SendError> {
        let body = &outgoing.queued.body;
        let text = body.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if let Some(template) = &body.template {
            return self.send_template(account, outgoing, template).await;
        }
        let files = self.files(outgoing).await?;
        if text.is_none() && files.is_empty() {
            return Err(final_error("the message has nothing to send"));
        }
        let profile = &outgoing.contact.profile;
        match outgoing.conversation.channel {
            Some(Channel::Whatsapp) => {
                let to = whatsapp_recipient(outgoing)?;
                let token = access_token(account)?;
                let message = match (files.as_slice(), text) {
                    ([], Some(text)) => json!({"type": "text", "text": {"preview_url": false, "body": text}}),
                    ([file], caption) => {
                        let media_id = self.graph.whatsapp_media(token, &account.routing_id, file).await?;
                        let kind = whatsapp_kind(&file.content_type);
                        let mut media = json!({"id": media_id});
                        if let (Some(caption), false) = (caption, kind == "audio") {
                            media["caption"] = json!(caption);
                        }
                        if kind == "document" {
                            media["filename"] = json!(file.file_name);
                        }
                        json!({"type": kind, kind: media})
                    }
                    _ => return Err(final_error("WhatsApp sends one file per message")),
                };
                self.graph.whatsapp(token, &account.routing_id, to, message).await
            }
            Some(Channel::Instagram) => {
                let to = profile
                    .instagram_id
                    .as_deref()
                    .ok_or_else(|| final_error("the contact has no Instagram id"))?;
                if !files.is_empty() {
                    return Err(final_error(
                        "Instagram takes files by public URL only; send the file as a link",
                    ));
                }
                let text = text.ok_or_else(|| final_error("the message has no text to send"))?;
                let token = access_token(account)?;
                self.graph
                    .instagram(token, &account.routing_id, to, text, outgoing.queued.human_agent_tag)
                    .await
            }
            Some(Channel::Email) => {
                let mailer = self
                    .mailer
                    .as_ref()
                    .ok_or_else(|| final_error("no SMTP relay is configured (OMNISTREAM_SMTP_URL)"))?;
                let to = profile
                    .email
                    .as_deref()
                    .ok_or_else(|| final_error("the contact has no e-mail address"))?;
                let inbox = account.routing_id.as_str();
                let (local, domain) = inbox
                    .split_once('@')
                    .ok_or_else(|| final_error("the account's inbox is not an address"))?;
                let reply_to = format!("{local}+{}@{domain}", outgoing.conversation.id);
                let subject = match outgoing.conversation.subject.as_deref() {
                    Some(s) if s.to_lowercase().starts_with("re:") => s.to_owned(),
                    Some(s) => format!("Re: {s}"),
                    None => "Re: your message".to_owned(),
                };
                let message_id = format!("<{}@{domain}>", outgoing.queued.message_id);
                let angled = |id: &String| {
                    if id.starts_with('<') {
                        id.clone()
                    } else {
                        format!("<{id}>")
                    }
                };
                let references: Vec<String> = outgoing.thread.iter().rev().take(10).rev().map(angled).collect();
                mailer
                    .send(Email {
                        from: inbox,
                        reply_to: &reply_to,
                        to,
                        subject: &subject,
                        text: text.unwrap_or_default(),
                        message_id: &message_id,
                        in_reply_to: references.last().map(String::as_str),
                        references: &references,
                        attachments: &files,
                    })
                    .await
            }
            Some(Channel::Api) | None => Err(final_error("messages of the API channel are not delivered here")),
        }
    }
}
