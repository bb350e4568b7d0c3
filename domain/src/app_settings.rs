//! An organization's application settings; for now its time zone, which working hours,
//! SLA due times and daily reports are read in.

use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent};

/// The time zone of an organization that never chose one.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Event: the organization's time zone changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimezoneChanged {
    /// The organization.
    pub tenant_id: Uuid,
    /// The IANA name, such as `Asia/Jakarta`.
    pub timezone: String,
    /// The one before.
    pub previous: String,
}

/// The events of an organization's settings stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum AppSettingsEvent {
    /// See [`TimezoneChanged`].
    TimezoneChanged(TimezoneChanged),
}

impl DomainEvent for AppSettingsEvent {
    fn event_type(&self) -> &'static str {
        match self {
            AppSettingsEvent::TimezoneChanged(_) => "TimezoneChanged",
        }
    }
}

/// What can be asked of the settings.
#[derive(Debug, Clone)]
pub enum AppSettingsCommand {
    /// Change the time zone.
    SetTimezone {
        /// The organization.
        tenant_id: Uuid,
        /// An IANA name.
        timezone: String,
    },
}

/// An organization's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppSettings {
    /// The time zone, when one was chosen.
    pub timezone: Option<String>,
}

impl AppSettings {
    /// The stream id of an organization's settings.
    pub fn id_for(tenant_id: Uuid) -> Uuid {
        Uuid::new_v5(&tenant_id, b"app-settings")
    }

    /// The time zone in effect.
    pub fn time_zone(&self) -> &str {
        self.timezone.as_deref().unwrap_or(DEFAULT_TIME_ZONE)
    }
}

impl Aggregate for AppSettings {
    type Command = AppSettingsCommand;
    type Event = AppSettingsEvent;
    const STREAM_PREFIX: &'static str = "appsettings";
    const NAME: &'static str = "settings";

    fn decide(&self, command: AppSettingsCommand) -> Result<Vec<AppSettingsEvent>, DomainError> {
        match command {
            AppSettingsCommand::SetTimezone { tenant_id, timezone } => {
                let zone: Tz = timezone.trim().parse().map_err(|_| {
                    DomainError::invalid("timezone", format!("{timezone} is not an IANA time zone name"))
                })?;
                let timezone = zone.name().to_owned();
                if timezone == self.time_zone() {
                    return Ok(vec![]);
                }
                Ok(vec![AppSettingsEvent::TimezoneChanged(TimezoneChanged {
                    tenant_id,
                    timezone,
                    previous: self.time_zone().to_owned(),
                })])
            }
        }
    }

    fn apply(mut self, event: &AppSettingsEvent) -> Self {
        match event {
            AppSettingsEvent::TimezoneChanged(e) => self.timezone = Some(e.timezone.clone()),
        }
        self
    }

    fn exists(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn set(timezone: &str) -> AppSettingsCommand {
        AppSettingsCommand::SetTimezone {
            tenant_id: Uuid::nil(),
            timezone: timezone.into(),
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        let events = given::<AppSettings>(&[]).when(set("Asia/Jakarta")).expect("set");
        assert_eq!(
            events,
            vec![AppSettingsEvent::TimezoneChanged(TimezoneChanged {
                tenant_id: Uuid::nil(),
                timezone: "Asia/Jakarta".into(),
                previous: "UTC".into(),
            })]
        );
        assert!(given::<AppSettings>(&events)
            .when(set("Asia/Jakarta"))
            .expect("same")
            .is_empty());
        assert!(given::<AppSettings>(&[]).when(set("UTC")).expect("default").is_empty());
        assert!(matches!(
            given::<AppSettings>(&[]).when(set("Jakarta")),
            Err(DomainError::Invalid { field: "timezone", .. })
        ));
    }
}
