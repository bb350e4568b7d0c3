//! Accepting deliveries: read the payload, route it to its account, authenticate it with the
//! account's secret over the raw body, and write it to the delivery log. The provider's 200
//! means "committed"; events follow from the processor. Anything refused stores nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use futures_util::future::try_join_all;
use omnistream_projections::channels::accounts::Route;
use omnistream_projections::ProjectionError;
use uuid::Uuid;

use crate::accounts::{Accounts, RoutedAccount};
use crate::arrivals::Arrivals;
use crate::deliveries::{DeliverySink, LogUnavailable, NewDelivery, Source};
use crate::payload::PayloadError;
use crate::signature::{verify_mailgun, verify_meta, verify_secret, SignatureError};
use crate::{instagram, mailgun, postmark, sendgrid, whatsapp};

/// How far a Mailgun timestamp may be from now before the delivery counts as a replay.
const MAILGUN_FRESHNESS_SECS: i64 = 15 * 60;

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The signature or secret is missing or wrong (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Meta's verification request named no account's verify token (403).
    #[error("the verify token matches no account")]
    VerifyTokenMismatch,
    /// No live, enabled account of this provider has the identifier (404).
    #[error("no enabled channel account for {0}")]
    UnknownAccount(String),
    /// The payload cannot be read (400).
    #[error(transparent)]
    Malformed(#[from] PayloadError),
    /// The log or the accounts cannot be reached (503).
    #[error("{0}")]
    Unavailable(String),
}

impl From<ProjectionError> for IngestError {
    fn from(error: ProjectionError) -> Self {
        tracing::error!(%error, "account lookup failed");
        IngestError::Unavailable("channel accounts cannot be read right now".into())
    }
}

impl From<LogUnavailable> for IngestError {
    fn from(error: LogUnavailable) -> Self {
        tracing::error!(%error, "delivery not logged");
        IngestError::Unavailable("the delivery could not be stored; retry".into())
    }
}

fn unauthorized(error: SignatureError) -> IngestError {
    IngestError::Unauthorized(match error {
        SignatureError::Missing => "the delivery carries no signature".into(),
        SignatureError::Malformed => "the signature is malformed".into(),
        SignatureError::Mismatch => "the signature does not match the account's secret".into(),
    })
}

/// What an accepted delivery became: one logged delivery per account it concerns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// The logged deliveries' ids.
    pub deliveries: Vec<Uuid>,
}

/// The receivers' shared state.
#[derive(Clone)]
pub struct Ingestor {
    accounts: Accounts,
    log: Arc<dyn DeliverySink>,
    arrivals: Arc<Arrivals>,
}

impl Ingestor {
    /// An ingestor routing with `accounts` and writing to `log` (the delivery log or the
    /// inbound topic), telling `arrivals` (the processor of this process listens) of each
    /// write.
    pub fn new(accounts: Accounts, log: Arc<dyn DeliverySink>, arrivals: Arc<Arrivals>) -> Self {
        Self {
            accounts,
            log,
            arrivals,
        }
    }

    async fn account(&self, route: Route<'_>, source: Source) -> Result<Arc<RoutedAccount>, IngestError> {
        let provider = match source {
            Source::Whatsapp | Source::Instagram => "meta",
            Source::Postmark => "postmark",
            Source::Mailgun => "mailgun",
            Source::Sendgrid => "sendgrid",
        };
        let describe = || match route {
            Route::WhatsappPhoneNumber(v) => format!("phone number id {v}"),
            Route::WhatsappBusinessAccount(v) => format!("WhatsApp business account {v}"),
            Route::InstagramAccount(v) => format!("Instagram account {v}"),
            Route::EmailInbox(v) => format!("inbox {v}"),
            Route::VerifyToken { .. } => "this verify token".into(),
        };
        match self.accounts.route(route).await? {
            Some(account) if account.enabled && account.provider == provider => Ok(account),
            _ => Err(IngestError::UnknownAccount(describe())),
        }
    }

    async fn log(
        &self,
        source: Source,
        verification: &'static str,
        content_type: &str,
        body: &[u8],
        accounts: &[Arc<RoutedAccount>],
    ) -> Result<Receipt, IngestError> {
        let writes = accounts.iter().map(|routed| {
            let delivery = NewDelivery {
                id: Uuid::now_v7(),
                tenant_id: routed.account.tenant_id,
                account_id: routed.account.id,
                source,
                verification: verification.to_owned(),
                content_type: content_type.to_owned(),
                body: body.to_vec(),
                received_at: Utc::now(),
            };
            let id = delivery.id;
            let log = &self.log;
            async move { log.write(delivery).await.map(|()| id) }
        });
        let deliveries = try_join_all(writes).await?;
        self.arrivals.arrived();
        Ok(Receipt { deliveries })
    }

    /// Meta's verification request: answers the challenge when the token is an account's.
    pub async fn verify(
        &self,
        source: Source,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, IngestError> {
        let (Some("subscribe"), Some(token), Some(challenge)) = (mode, token, challenge) else {
            return Err(IngestError::Malformed(PayloadError::Malformed(
                "hub.mode=subscribe, hub.verify_token and hub.challenge are required".into(),
            )));
        };
        let digest = self.accounts.key().digest(token);
        let route = Route::VerifyToken {
            channel: source.as_str(),
            digest: &digest,
        };
        match self.accounts.route(route).await? {
            Some(_) => Ok(challenge.to_owned()),
            None => Err(IngestError::VerifyTokenMismatch),
        }
    }

    /// Verifies Meta's signature with every routed account's app secret.
    fn check_meta(accounts: &[Arc<RoutedAccount>], body: &[u8], signature: Option<&str>) -> Result<(), IngestError> {
        for account in accounts {
            let secret = account.app_secret.as_deref().unwrap_or_default();
            if secret.is_empty() {
                return Err(IngestError::Unauthorized(
                    "the account's app secret cannot be opened".into(),
                ));
            }
            verify_meta(secret.as_bytes(), body, signature).map_err(unauthorized)?;
        }
        Ok(())
    }

    /// A WhatsApp Cloud API delivery.
    pub async fn whatsapp(&self, signature: Option<&str>, body: &[u8]) -> Result<Receipt, IngestError> {
        if signature.is_none() {
            return Err(unauthorized(SignatureError::Missing));
        }
        let items = whatsapp::parse(body)?;
        let routes: BTreeSet<Route<'_>> = items
            .iter()
            .map(|item| match item {
                whatsapp::Item::Message(m) => Route::WhatsappPhoneNumber(&m.phone_number_id),
                whatsapp::Item::Status(s) => Route::WhatsappPhoneNumber(&s.phone_number_id),
                whatsapp::Item::TemplateReview(r) => Route::WhatsappBusinessAccount(&r.business_account_id),
                whatsapp::Item::AccountChange {
                    business_account_id, ..
                } => Route::WhatsappBusinessAccount(business_account_id),
            })
            .collect();
        let mut accounts: Vec<Arc<RoutedAccount>> = Vec::new();
        for route in routes {
            let account = self.account(route, Source::Whatsapp).await?;
            if !accounts.iter().any(|a| a.account.id == account.account.id) {
                accounts.push(account);
            }
        }
        Self::check_meta(&accounts, body, signature)?;
        self.log(
            Source::Whatsapp,
            "x-hub-signature-256",
            "application/json",
            body,
            &accounts,
        )
        .await
    }

    /// An Instagram Messaging delivery.
    pub async fn instagram(&self, signature: Option<&str>, body: &[u8]) -> Result<Receipt, IngestError> {
        if signature.is_none() {
            return Err(unauthorized(SignatureError::Missing));
        }
        let items = instagram::parse(body)?;
        let ids: BTreeSet<&str> = items.iter().map(|item| item.account_id.as_str()).collect();
        let mut accounts = Vec::new();
        for id in ids {
            accounts.push(self.account(Route::InstagramAccount(id), Source::Instagram).await?);
        }
        Self::check_meta(&accounts, body, signature)?;
        self.log(
            Source::Instagram,
            "x-hub-signature-256",
            "application/json",
            body,
            &accounts,
        )
        .await
    }

    /// The inbox an e-mail was sent to: the first recipient that is an account's address,
    /// plus-address part removed.
    async fn inbox(&self, recipients: &[String], source: Source) -> Result<Arc<RoutedAccount>, IngestError> {
        for recipient in recipients {
            let Some((local, domain)) = recipient.split_once('@') else {
                continue;
            };
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            let address = format!("{local}@{domain}").to_lowercase();
            match self.account(Route::EmailInbox(&address), source).await {
                Ok(account) => return Ok(account),
                Err(IngestError::UnknownAccount(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(IngestError::UnknownAccount(format!(
            "recipients {}",
            recipients.join(", ")
        )))
    }

    /// A Postmark inbound delivery, authenticated by the inbound token (`?token=` or the
    /// basic-auth password).
    pub async fn postmark(&self, presented: Option<&str>, body: &[u8]) -> Result<Receipt, IngestError> {
        if presented.is_none() {
            return Err(unauthorized(SignatureError::Missing));
        }
        let email = postmark::parse(body)?;
        let account = self.inbox(&email.to, Source::Postmark).await?;
        verify_secret(account.app_secret.as_deref().unwrap_or_default(), presented).map_err(unauthorized)?;
        let verification = "postmark-token";
        self.log(Source::Postmark, verification, "application/json", body, &[account])
            .await
    }

    /// A SendGrid Inbound Parse delivery (multipart), authenticated by the account's inbound
    /// token (`?token=` or the basic-auth password): SendGrid signs nothing.
    pub async fn sendgrid(
        &self,
        presented: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Result<Receipt, IngestError> {
        if presented.is_none() {
            return Err(unauthorized(SignatureError::Missing));
        }
        let email = sendgrid::parse(body, content_type).await?;
        let account = self.inbox(&email.to, Source::Sendgrid).await?;
        verify_secret(account.app_secret.as_deref().unwrap_or_default(), presented).map_err(unauthorized)?;
        self.log(Source::Sendgrid, "sendgrid-token", content_type, body, &[account])
            .await
    }

    /// A Mailgun route delivery, signed with the account's signing key.
    pub async fn mailgun(&self, body: &[u8]) -> Result<Receipt, IngestError> {
        let delivery = mailgun::parse(body)?;
        if delivery.signature.is_none() {
            return Err(unauthorized(SignatureError::Missing));
        }
        let account = self.inbox(&delivery.email.to, Source::Mailgun).await?;
        let key = account.app_secret.as_deref().unwrap_or_default();
        verify_mailgun(
            key.as_bytes(),
            &delivery.timestamp,
            &delivery.token,
            delivery.signature.as_deref(),
        )
        .map_err(unauthorized)?;
        let fresh = delivery
            .timestamp
            .parse::<i64>()
            .is_ok_and(|t| (Utc::now().timestamp() - t).abs() <= MAILGUN_FRESHNESS_SECS);
        if !fresh {
            return Err(IngestError::Unauthorized(
                "the signed timestamp is too old or too new (a replay?)".into(),
            ));
        }
        self.log(
            Source::Mailgun,
            "mailgun-signature",
            "application/x-www-form-urlencoded",
            body,
            &[account],
        )
        .await
    }
}
