//! Contact commands: a contact's channel identities (phone, e-mail, Instagram id) are claimed,
//! moved and released together with the contact's own events; merges move conversations too.

use std::collections::BTreeMap;

use omnistream_domain::claim::ClaimCommand;
use omnistream_domain::contact::{Contact, ContactCommand, ContactProfile};
use omnistream_domain::conversation::{Conversation, ConversationCommand};
use omnistream_domain::{Aggregate, DomainError};
use omnistream_store::{AppendRequest, Shredder};
use serde_json::Value;
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{claims, inbound, CommandBus, CommandContext, CommandError, Executed};

/// Changes to a contact: `None` keeps a field; an empty string clears it.
#[derive(Debug, Clone, Default)]
pub struct ContactChanges {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Instagram id.
    pub instagram_id: Option<String>,
    /// Attributes to set; a `null` value removes the attribute.
    pub custom_attributes: Option<BTreeMap<String, Value>>,
    /// The full new set of tags.
    pub tags: Option<Vec<String>>,
}

fn changed(current: &Option<String>, change: Option<String>) -> Option<String> {
    match change {
        None => current.clone(),
        Some(value) if value.trim().is_empty() => None,
        Some(value) => Some(value),
    }
}

impl ContactChanges {
    fn apply_to(self, profile: &ContactProfile) -> ContactProfile {
        let mut attributes = profile.custom_attributes.clone();
        for (key, value) in self.custom_attributes.unwrap_or_default() {
            if value.is_null() {
                attributes.remove(&key);
            } else {
                attributes.insert(key, value);
            }
        }
        ContactProfile {
            name: changed(&profile.name, self.name),
            phone: changed(&profile.phone, self.phone),
            email: changed(&profile.email, self.email),
            instagram_id: changed(&profile.instagram_id, self.instagram_id),
            custom_attributes: attributes,
            tags: self.tags.unwrap_or_else(|| profile.tags.clone()),
        }
    }
}

fn tenant_of(ctx: &CommandContext) -> Result<Uuid, CommandError> {
    Ok(ctx.scope.require_tenant("contacts")?)
}

/// Claims the identities `owner` gains and releases those it loses.
async fn move_identities(
    bus: &CommandBus,
    ctx: &CommandContext,
    tenant_id: Uuid,
    owner: Uuid,
    before: &ContactProfile,
    after: &ContactProfile,
) -> Result<Vec<AppendRequest>, CommandError> {
    let (old, new) = (before.identities(), after.identities());
    let mut requests = Vec::new();
    for (kind, value) in new.iter().filter(|id| !old.contains(id)) {
        let claim = claims::tenant_value(bus, tenant_id, kind, value).await?;
        let decided = claim
            .decide(ctx, ClaimCommand::Claim { owner_id: owner })
            .map_err(|e| match e {
                CommandError::Domain(DomainError::AlreadyExists(_)) => {
                    CommandError::Domain(DomainError::AlreadyExists(format!("another contact has this {kind}")))
                }
                other => other,
            })?;
        requests.extend(decided);
    }
    for (kind, value) in old.iter().filter(|id| !new.contains(id)) {
        let claim = claims::tenant_value(bus, tenant_id, kind, value).await?;
        requests.extend(claim.decide(ctx, ClaimCommand::Release { owner_id: owner })?);
    }
    Ok(requests)
}

/// Creates a contact, claiming its identities.
pub async fn create(bus: &CommandBus, ctx: &CommandContext, profile: ContactProfile) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    let contact_id = Uuid::now_v7();
    let profile = profile.parse()?;
    retry_on_conflict(|| async {
        let contact = bus.fresh::<Contact>(ctx.scope, contact_id);
        let mut requests =
            move_identities(bus, ctx, tenant_id, contact_id, &ContactProfile::default(), &profile).await?;
        let command = ContactCommand::Create {
            contact_id,
            tenant_id,
            profile: profile.clone(),
        };
        requests.extend(contact.decide(ctx, command)?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(contact_id, &contact.stream_id, 1, &outcomes))
    })
    .await
}

/// Changes a contact, moving its identity claims.
pub async fn update(
    bus: &CommandBus,
    ctx: &CommandContext,
    contact_id: Uuid,
    changes: ContactChanges,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    retry_on_conflict(|| async {
        let contact = bus
            .load::<Contact>(ctx.scope, &contact_id.to_string())
            .await?
            .require_exists()?;
        let profile = changes.clone().apply_to(&contact.state.profile).parse()?;
        let mut requests = move_identities(bus, ctx, tenant_id, contact_id, &contact.state.profile, &profile).await?;
        requests.extend(contact.decide(ctx, ContactCommand::Update { profile })?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(contact_id, &contact.stream_id, contact.version, &outcomes))
    })
    .await
}

/// Merges `source` into `target`: the target fills its missing fields from the source and
/// takes over its identities and its conversations (`conversation_ids`), in one append.
pub async fn merge(
    bus: &CommandBus,
    ctx: &CommandContext,
    source_id: Uuid,
    target_id: Uuid,
    conversation_ids: &[Uuid],
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    if source_id == target_id {
        return Err(DomainError::invalid("source_contact_id", "a contact cannot be merged into itself").into());
    }
    retry_on_conflict(|| async {
        let source = bus
            .load::<Contact>(ctx.scope, &source_id.to_string())
            .await?
            .require_exists()?;
        let target = bus
            .load::<Contact>(ctx.scope, &target_id.to_string())
            .await?
            .require_exists()?;
        let absorbed = target.state.decide(ContactCommand::Absorb {
            from_contact_id: source_id,
            from_profile: source.state.profile.clone(),
        })?;
        let merged_profile = absorbed
            .iter()
            .find_map(|e| match e {
                omnistream_domain::contact::ContactEvent::ContactAbsorbed(a) => Some(a.profile.clone()),
                _ => None,
            })
            .unwrap_or_else(|| target.state.profile.clone());
        // The source gives up every identity; the target takes over those it now has.
        let (gained, had) = (merged_profile.identities(), target.state.profile.identities());
        let mut requests = Vec::new();
        for (kind, value) in source.state.profile.identities() {
            let claim = claims::tenant_value(bus, tenant_id, kind, &value).await?;
            let mut commands = vec![ClaimCommand::Release { owner_id: source_id }];
            let identity = (kind, value);
            if gained.contains(&identity) && !had.contains(&identity) {
                commands.push(ClaimCommand::Claim { owner_id: target_id });
            }
            requests.extend(claim.decide_all(ctx, commands)?);
        }
        requests.extend(source.decide(
            ctx,
            ContactCommand::MergeInto {
                into_contact_id: target_id,
            },
        )?);
        requests.extend(target.decide(
            ctx,
            ContactCommand::Absorb {
                from_contact_id: source_id,
                from_profile: source.state.profile.clone(),
            },
        )?);
        for conversation_id in conversation_ids {
            let conversation = bus
                .load::<Conversation>(ctx.scope, &conversation_id.to_string())
                .await?;
            if let Some(account_id) = conversation.state.channel_account_id {
                requests.extend(
                    inbound::move_thread(bus, ctx, tenant_id, account_id, source_id, target_id, *conversation_id)
                        .await?,
                );
            }
            requests.extend(conversation.decide(ctx, ConversationCommand::ChangeContact { contact_id: target_id })?);
        }
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(target_id, &target.stream_id, target.version, &outcomes))
    })
    .await
}

/// Deletes a contact, releasing its identities.
pub async fn delete(bus: &CommandBus, ctx: &CommandContext, contact_id: Uuid) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    retry_on_conflict(|| async {
        let contact = bus
            .load::<Contact>(ctx.scope, &contact_id.to_string())
            .await?
            .require_exists()?;
        let mut requests = move_identities(
            bus,
            ctx,
            tenant_id,
            contact_id,
            &contact.state.profile,
            &ContactProfile::default(),
        )
        .await?;
        requests.extend(contact.decide(ctx, ContactCommand::Delete)?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(contact_id, &contact.stream_id, contact.version, &outcomes))
    })
    .await
}

/// Erases a contact's personal data (GDPR): releases its identities, records the erasure,
/// then destroys its key, which leaves the personal fields of all its events unreadable.
pub async fn erase(
    bus: &CommandBus,
    shredder: &Shredder,
    ctx: &CommandContext,
    contact_id: Uuid,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    let executed = retry_on_conflict(|| async {
        let contact = bus.load::<Contact>(ctx.scope, &contact_id.to_string()).await?;
        let mut requests = move_identities(
            bus,
            ctx,
            tenant_id,
            contact_id,
            &contact.state.profile,
            &ContactProfile::default(),
        )
        .await?;
        requests.extend(contact.decide(ctx, ContactCommand::Erase)?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(contact_id, &contact.stream_id, contact.version, &outcomes))
    })
    .await?;
    shredder.destroy(contact_id).await?;
    Ok(executed)
}
