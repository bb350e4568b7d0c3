//! Which stored fields are personal data, and whose. The event store seals them with the
//! subject's own key; destroying that key erases them from every event at once
//! (crypto-shredding) while the events, and their hash chains, stay.

/// Whose personal data an event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The aggregate of the event's own stream (`contact-<id>`).
    Stream,
    /// The UUID at this JSON pointer of the payload.
    Field(&'static str),
}

/// The personal fields of an event type: JSON pointers, each with the value it reads as once
/// erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalFields {
    /// Whose data it is.
    pub subject: Subject,
    /// `(pointer, erased value as JSON text)`.
    pub fields: &'static [(&'static str, &'static str)],
}

const PROFILE: &[(&str, &str)] = &[("/profile", "{}")];
const SURVEY_COMMENT: &[(&str, &str)] = &[("/comment", "null")];
const MESSAGE_TEXT: &[(&str, &str)] = &[
    ("/body/text", "null"),
    ("/body/provider_payload", "null"),
    ("/body/template/body_parameters", "[]"),
];

/// The personal fields of an event type, if it has any.
pub fn personal_fields(event_type: &str) -> Option<PersonalFields> {
    let (subject, fields) = match event_type {
        "ContactCreated" | "ContactUpdated" | "ContactAbsorbed" => (Subject::Stream, PROFILE),
        "MessageReceived" | "MessageQueued" | "MessageEchoed" => (Subject::Field("/contact_id"), MESSAGE_TEXT),
        "CsatSurveyAnswered" => (Subject::Field("/contact_id"), SURVEY_COMMENT),
        _ => return None,
    };
    Some(PersonalFields { subject, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erased_values_still_decode() {
        for event_type in ["ContactCreated", "MessageReceived"] {
            let fields = personal_fields(event_type).unwrap();
            for (_, erased) in fields.fields {
                assert!(serde_json::from_str::<serde_json::Value>(erased).is_ok());
            }
        }
        let profile: crate::contact::ContactProfile = serde_json::from_str("{}").unwrap();
        assert_eq!(profile, crate::contact::ContactProfile::default());
        assert!(personal_fields("AgentCreated").is_none());
    }
}
