//! E-mail delivery by SMTP (`OMNISTREAM_SMTP_URL`), with the headers that keep a reply in
//! the customer's thread.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::message::{Attachment as LettreAttachment, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use omnistream_commands::delivery::Attachment;

use super::SendError;

/// An SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// One e-mail to send.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    /// The inbox it is sent from.
    pub from: &'a str,
    /// Where replies go (the inbox's plus-address for this conversation).
    pub reply_to: &'a str,
    /// The customer.
    pub to: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// Its text.
    pub text: &'a str,
    /// Its Message-ID, angle brackets included.
    pub message_id: &'a str,
    /// The message it answers.
    pub in_reply_to: Option<&'a str>,
    /// The thread, oldest first.
    pub references: &'a [String],
    /// Files to attach.
    pub attachments: &'a [Attachment],
}

fn mailbox(field: &str, address: &str) -> Result<Mailbox, SendError> {
    address
        .parse()
        .map_err(|e| SendError::Final(format!("{field} address {address:?} is not usable: {e}")))
}

impl Mailer {
    /// A relay from its URL (`smtp://host:port`, `smtps://user:pass@host`).
    pub fn from_url(url: &str) -> Result<Self, lettre::transport::smtp::Error> {
        Ok(Self {
            transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
                .timeout(Some(Duration::from_secs(10)))
                .build(),
        })
    }

    /// Sends an e-mail; answers its Message-ID.
    pub async fn send(&self, email: Email<'_>) -> Result<String, SendError> {
        let mut builder = Message::builder()
            .from(mailbox("from", email.from)?)
            .reply_to(mailbox("reply-to", email.reply_to)?)
            .to(mailbox("to", email.to)?)
            .subject(email.subject)
            .message_id(Some(email.message_id.to_owned()));
        if let Some(parent) = email.in_reply_to {
            builder = builder.in_reply_to(parent.to_owned());
        }
        if !email.references.is_empty() {
            builder = builder.references(email.references.join(" "));
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.to_owned());
        let built = if email.attachments.is_empty() {
            builder.singlepart(text)
        } else {
            let mut parts = MultiPart::mixed().singlepart(text);
            for file in email.attachments {
                let content_type = ContentType::parse(&file.content_type)
                    .map_err(|e| SendError::Final(format!("the file's content type is not usable: {e}")))?;
                parts = parts.singlepart(
                    LettreAttachment::new(file.file_name.clone()).body(file.content.to_vec(), content_type),
                );
            }
            builder.multipart(parts)
        };
        let message = built.map_err(|e| SendError::Final(format!("the e-mail cannot be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(email.message_id.to_owned()),
            Err(error) if error.is_permanent() => Err(SendError::Final(format!("SMTP refused it: {error}"))),
            Err(error) => Err(SendError::Retryable(format!("SMTP: {error}"))),
        }
    }
}
