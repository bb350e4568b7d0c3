//! The JSON Schema of every stored event type, generated from the Rust types.

use schemars::{schema_for, JsonSchema, Schema};

use crate::{
    agent, api_key, chat_expiration, claim, contact, conversation, division, integration, media, note, organization,
    quick_reply, role, super_admin, wa_template,
};

fn entry<T: JsonSchema>(event_type: &'static str) -> (&'static str, Schema) {
    (event_type, schema_for!(T))
}

/// Every event type with its payload schema, in a stable order.
pub fn all() -> Vec<(&'static str, Schema)> {
    vec![
        entry::<organization::OrganizationCreated>("OrganizationCreated"),
        entry::<organization::OrganizationRenamed>("OrganizationRenamed"),
        entry::<agent::AgentCreated>("AgentCreated"),
        entry::<agent::AgentUpdated>("AgentUpdated"),
        entry::<agent::AgentStatusChanged>("AgentStatusChanged"),
        entry::<agent::AgentPasswordChanged>("AgentPasswordChanged"),
        entry::<agent::AgentLoggedIn>("AgentLoggedIn"),
        entry::<agent::AgentLoggedOut>("AgentLoggedOut"),
        entry::<agent::AgentDeleted>("AgentDeleted"),
        entry::<role::RoleCreated>("RoleCreated"),
        entry::<role::RoleUpdated>("RoleUpdated"),
        entry::<role::RoleDeleted>("RoleDeleted"),
        entry::<api_key::ApiKeyCreated>("ApiKeyCreated"),
        entry::<api_key::ApiKeyRevoked>("ApiKeyRevoked"),
        entry::<claim::ValueClaimed>("ValueClaimed"),
        entry::<claim::ValueReleased>("ValueReleased"),
        entry::<super_admin::SuperAdminCreated>("SuperAdminCreated"),
        entry::<contact::ContactCreated>("ContactCreated"),
        entry::<contact::ContactUpdated>("ContactUpdated"),
        entry::<contact::ContactMerged>("ContactMerged"),
        entry::<contact::ContactAbsorbed>("ContactAbsorbed"),
        entry::<contact::ContactDeleted>("ContactDeleted"),
        entry::<contact::ContactErased>("ContactErased"),
        entry::<conversation::ConversationStarted>("ConversationStarted"),
        entry::<conversation::ConversationAssigned>("ConversationAssigned"),
        entry::<conversation::ConversationStatusChanged>("ConversationStatusChanged"),
        entry::<conversation::ConversationTagsChanged>("ConversationTagsChanged"),
        entry::<conversation::ConversationTransferred>("ConversationTransferred"),
        entry::<conversation::ConversationContactChanged>("ConversationContactChanged"),
        entry::<conversation::ConversationRead>("ConversationRead"),
        entry::<conversation::MessageReceived>("MessageReceived"),
        entry::<conversation::MessageQueued>("MessageQueued"),
        entry::<conversation::MessageEchoed>("MessageEchoed"),
        entry::<conversation::MessageSent>("MessageSent"),
        entry::<conversation::MessageStatusChanged>("MessageStatusChanged"),
        entry::<conversation::MessageDeliveryAttempted>("MessageDeliveryAttempted"),
        entry::<conversation::ConversationWindowExpired>("ConversationWindowExpired"),
        entry::<division::DivisionCreated>("DivisionCreated"),
        entry::<division::DivisionUpdated>("DivisionUpdated"),
        entry::<division::DivisionMemberAdded>("DivisionMemberAdded"),
        entry::<division::DivisionMemberRemoved>("DivisionMemberRemoved"),
        entry::<division::DivisionDeleted>("DivisionDeleted"),
        entry::<integration::IntegrationConfigured>("IntegrationConfigured"),
        entry::<integration::IntegrationAccountCreated>("IntegrationAccountCreated"),
        entry::<integration::IntegrationAccountUpdated>("IntegrationAccountUpdated"),
        entry::<integration::IntegrationAccountDeleted>("IntegrationAccountDeleted"),
        entry::<chat_expiration::ChatExpirationRuleConfigured>("ChatExpirationRuleConfigured"),
        entry::<wa_template::WaTemplateCreated>("WaTemplateCreated"),
        entry::<wa_template::WaTemplateStatusChanged>("WaTemplateStatusChanged"),
        entry::<wa_template::WaTemplateDeleted>("WaTemplateDeleted"),
        entry::<note::NoteAdded>("NoteAdded"),
        entry::<note::NoteEdited>("NoteEdited"),
        entry::<note::NoteDeleted>("NoteDeleted"),
        entry::<quick_reply::QuickReplyCreated>("QuickReplyCreated"),
        entry::<quick_reply::QuickReplyUpdated>("QuickReplyUpdated"),
        entry::<quick_reply::QuickReplyDeleted>("QuickReplyDeleted"),
        entry::<media::MediaUploaded>("MediaUploaded"),
    ]
}
