//! Mailgun routes (form-urlencoded): the signed token, the sender, recipient, subject, text
//! and the headers that thread a reply, read into the same e-mail Postmark's reader makes.

use serde::Deserialize;

use crate::email_address::{display_name, plus_hash};
use crate::payload::PayloadError;
use crate::postmark::InboundEmail;

/// A Mailgun delivery: its signature fields (for `signature::verify_mailgun`) and the e-mail.
#[derive(Debug, Clone, PartialEq)]
pub struct MailgunDelivery {
    /// `timestamp` field.
    pub timestamp: String,
    /// `token` field.
    pub token: String,
    /// `signature` field.
    pub signature: Option<String>,
    /// The e-mail.
    pub email: InboundEmail,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    token: String,
    signature: Option<String>,
    sender: String,
    from: Option<String>,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    subject: String,
    #[serde(rename = "message-headers", default)]
    message_headers: String,
    #[serde(rename = "body-plain", default)]
    body_plain: String,
    #[serde(rename = "stripped-text", default)]
    stripped_text: String,
}

/// Reads a Mailgun route delivery (the form body).
pub fn parse(raw_body: &[u8]) -> Result<MailgunDelivery, PayloadError> {
    let raw: Raw = serde_urlencoded::from_bytes(raw_body).map_err(|e| PayloadError::Malformed(e.to_string()))?;
    if !raw.sender.contains('@') {
        return Err(PayloadError::Malformed(format!(
            "sender {:?} is not an address",
            raw.sender
        )));
    }
    // `message-headers` is a JSON list of [name, value] pairs.
    let headers: Vec<(String, String)> = if raw.message_headers.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&raw.message_headers)?
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let message_id = header("Message-Id")
        .ok_or_else(|| PayloadError::Malformed("no Message-Id header: nothing to dedupe on".into()))?;
    let recipient = raw.recipient.trim().to_lowercase();
    let mailbox_hash = plus_hash(&recipient);
    let stripped = raw.stripped_text.trim();
    Ok(MailgunDelivery {
        timestamp: raw.timestamp,
        token: raw.token,
        signature: raw.signature,
        email: InboundEmail {
            from_email: raw.sender.trim().to_lowercase(),
            from_name: raw.from.as_deref().and_then(display_name),
            to: vec![recipient],
            subject: raw.subject,
            message_id,
            in_reply_to: header("In-Reply-To"),
            references: header("References")
                .map(|r| r.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            mailbox_hash,
            text: if stripped.is_empty() {
                raw.body_plain
            } else {
                stripped.to_owned()
            },
            attachments: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        serde_urlencoded::to_string(pairs).unwrap().into_bytes()
    }

    #[test]
    fn a_route_delivery_is_read_with_its_signature_fields_and_threading() {
        let headers = r#"[["Message-Id","<m2@mail.example.test>"],["In-Reply-To","<m1@acme.test>"],["References","<m0@acme.test> <m1@acme.test>"]]"#;
        let body = form(&[
            ("timestamp", "1732400000"),
            ("token", "abc123"),
            ("signature", "deadbeef"),
            ("sender", "Siti@Example.test"),
            ("from", "\"Siti Rahma\" <Siti@Example.test>"),
            ("recipient", "support+c7@acme.test"),
            ("subject", "Re: refund"),
            ("message-headers", headers),
            ("body-plain", "Thanks!\n> earlier"),
            ("stripped-text", "Thanks!"),
        ]);
        let delivery = parse(&body).unwrap();
        assert_eq!(
            (delivery.timestamp.as_str(), delivery.token.as_str()),
            ("1732400000", "abc123")
        );
        assert_eq!(delivery.signature.as_deref(), Some("deadbeef"));
        let email = delivery.email;
        assert_eq!(email.from_email, "siti@example.test");
        assert_eq!(email.from_name.as_deref(), Some("Siti Rahma"));
        assert_eq!(email.to, vec!["support+c7@acme.test"]);
        assert_eq!(email.mailbox_hash.as_deref(), Some("c7"));
        assert_eq!(email.message_id, "<m2@mail.example.test>");
        assert_eq!(email.in_reply_to.as_deref(), Some("<m1@acme.test>"));
        assert_eq!(email.references, vec!["<m0@acme.test>", "<m1@acme.test>"]);
        assert_eq!(email.text, "Thanks!");
    }

    #[test]
    fn malformed_deliveries_are_refused() {
        assert!(matches!(
            parse(&form(&[("subject", "no sender")])),
            Err(PayloadError::Malformed(_))
        ));
        let no_id = form(&[("sender", "a@b.test"), ("message-headers", "[]")]);
        assert!(matches!(parse(&no_id), Err(PayloadError::Malformed(_))));
        let bad_headers = form(&[("sender", "a@b.test"), ("message-headers", "{not json")]);
        assert!(matches!(parse(&bad_headers), Err(PayloadError::Malformed(_))));
    }
}
