//! Provider webhooks: reading each provider's payloads, verifying that a delivery comes from
//! the provider, logging it durably ([`receiver`], [`deliveries`]), and turning logged
//! deliveries into events ([`processor`]); and sending outbound messages through the
//! providers ([`outbound`]). The HTTP routes live with the rest of the API
//! (`omnistream-api`), which mounts them in `omnistream serve` and in `webhook-ingestor`.

pub mod accounts;
pub mod arrivals;
pub mod deliveries;
pub mod email_address;
pub mod instagram;
pub mod mailgun;
pub mod outbound;
pub mod payload;
pub mod postmark;
pub mod processor;
pub mod receiver;
pub mod sendgrid;
pub mod signature;
pub mod whatsapp;
