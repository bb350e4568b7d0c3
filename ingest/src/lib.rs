//! Provider webhooks: verifying that a delivery comes from the provider, then (next) turning
//! its payload into commands.

pub mod instagram;
pub mod mailgun;
pub mod payload;
pub mod postmark;
pub mod signature;
pub mod whatsapp;
