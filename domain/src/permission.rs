//! The permission catalogue: one code per guarded area of the API, and the system roles.

use serde::{Deserialize, Serialize};

macro_rules! permissions {
    ($($variant:ident => $code:literal, $description:literal;)*) => {
        /// A permission code checked by an endpoint.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission {
            $(#[doc = $description] $variant,)*
        }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The stable code, such as `agents.manage`.
            pub fn code(self) -> &'static str {
                match self { $(Permission::$variant => $code,)* }
            }

            /// What the permission allows, for a person.
            pub fn description(self) -> &'static str {
                match self { $(Permission::$variant => $description,)* }
            }

            /// The permission with this code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    ConversationsView => "conversations.view", "See conversations assigned to you, your divisions or nobody";
    ConversationsViewAll => "conversations.view_all", "See every conversation of the organization";
    ConversationsManage => "conversations.manage", "Assign, transfer, tag and change the status of conversations";
    MessagesSend => "messages.send", "Send messages in conversations";
    ContactsView => "contacts.view", "See contacts";
    ContactsManage => "contacts.manage", "Create, edit, merge and erase contacts";
    NotesManage => "notes.manage", "Write internal notes on conversations";
    QuickRepliesManage => "quick_replies.manage", "Manage shared quick replies";
    MediaUpload => "media.upload", "Upload media files";
    AgentsView => "agents.view", "See the organization's agents";
    AgentsManage => "agents.manage", "Create, edit and remove agents";
    DivisionsManage => "divisions.manage", "Manage divisions and their members";
    TransfersView => "transfers.view", "See the organization's transfer history";
    ScheduledMessagesManage => "scheduled_messages.manage", "Schedule messages for later delivery";
    CsatView => "csat.view", "See CSAT surveys and their analytics";
    SlaManage => "sla.manage", "Manage SLA policies and read breaches";
    AnalyticsView => "analytics.view", "Read dashboard analytics";
    OutgoingWebhooksManage => "outgoing_webhooks.manage", "Manage outgoing webhooks";
    CampaignsManage => "campaigns.manage", "Manage broadcast campaigns";
    IntegrationsManage => "integrations.manage", "Manage channel integrations and accounts";
    WaTemplatesManage => "wa_templates.manage", "Manage WhatsApp message templates";
    AutomationManage => "automation.manage", "Manage automation rules";
    ChatExpirationManage => "chat_expiration.manage", "Configure messaging windows per channel";
    AiAgentsManage => "ai_agents.manage", "Configure AI agents";
    WorkingHoursManage => "working_hours.manage", "Set working hours and the timezone";
    ActivityLogsView => "activity_logs.view", "Read the audit trail";
    RolesManage => "roles.manage", "Manage custom roles";
    DeveloperAccess => "developer.access", "Create and revoke API keys";
    BillingManage => "billing.manage", "Manage the subscription and payment methods";
}

/// The three built-in roles with fixed permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SystemRole {
    /// Everything in the organization.
    Admin,
    /// Runs the team: everything but roles and billing.
    Supervisor,
    /// Answers conversations.
    Agent,
}

impl SystemRole {
    /// All system roles.
    pub const ALL: [SystemRole; 3] = [SystemRole::Admin, SystemRole::Supervisor, SystemRole::Agent];

    /// The role's stable name.
    pub fn name(self) -> &'static str {
        match self {
            SystemRole::Admin => "admin",
            SystemRole::Supervisor => "supervisor",
            SystemRole::Agent => "agent",
        }
    }

    /// The role with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The fixed permissions of the role.
    pub fn permissions(self) -> Vec<Permission> {
        use Permission::*;
        match self {
            SystemRole::Admin => Permission::ALL.to_vec(),
            SystemRole::Supervisor => Permission::ALL
                .iter()
                .copied()
                .filter(|p| !matches!(p, RolesManage | BillingManage))
                .collect(),
            SystemRole::Agent => vec![
                ConversationsView,
                ConversationsManage,
                MessagesSend,
                ContactsView,
                ContactsManage,
                NotesManage,
                MediaUpload,
                AgentsView,
                TransfersView,
                ScheduledMessagesManage,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut codes: Vec<_> = Permission::ALL.iter().map(|p| p.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Permission::ALL.len());
        for p in Permission::ALL {
            assert_eq!(Permission::from_code(p.code()), Some(*p));
        }
        assert_eq!(Permission::from_code("nope.nothing"), None);
    }

    #[test]
    fn only_admins_manage_roles() {
        assert!(SystemRole::Admin.permissions().contains(&Permission::RolesManage));
        assert!(!SystemRole::Supervisor.permissions().contains(&Permission::RolesManage));
        assert!(SystemRole::Supervisor
            .permissions()
            .contains(&Permission::DeveloperAccess));
        assert!(!SystemRole::Agent.permissions().contains(&Permission::DeveloperAccess));
        assert!(!SystemRole::Agent.permissions().contains(&Permission::AgentsManage));
    }
}
