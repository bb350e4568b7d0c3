//! Postmark inbound e-mail (JSON): the sender, recipients, subject, text and the headers that
//! thread a reply (`Message-ID`, `In-Reply-To`, `References`), plus the plus-address hash.

use serde::Deserialize;

use crate::email_address::plus_hash;
use crate::payload::PayloadError;

/// An e-mail as the ingestor needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEmail {
    /// The sender's address, lower-cased.
    pub from_email: String,
    /// The sender's name.
    pub from_name: Option<String>,
    /// The addresses it was sent to (ours among them), lower-cased.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Its `Message-ID` header (Postmark's own id when the header is missing): the dedupe key.
    pub message_id: String,
    /// `In-Reply-To`.
    pub in_reply_to: Option<String>,
    /// `References`, oldest first.
    pub references: Vec<String>,
    /// What follows `+` in the address it was sent to (`support+<hash>@...`).
    pub mailbox_hash: Option<String>,
    /// The reply without the quoted history when Postmark found it, else the whole text.
    pub text: String,
    /// Attachments as (name, content type, bytes).
    pub attachments: Vec<(String, String, i64)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    from_full: Address,
    #[serde(default)]
    to_full: Vec<Address>,
    #[serde(default)]
    subject: String,
    #[serde(rename = "MessageID")]
    message_id: String,
    #[serde(default)]
    mailbox_hash: String,
    #[serde(default)]
    text_body: String,
    #[serde(default)]
    stripped_text_reply: String,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Address {
    email: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Header {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attachment {
    name: String,
    content_type: String,
    #[serde(default)]
    content_length: i64,
}

fn non_empty(value: String) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Reads a Postmark inbound delivery.
pub fn parse(raw_body: &[u8]) -> Result<InboundEmail, PayloadError> {
    let raw: Raw = serde_json::from_slice(raw_body)?;
    if !raw.from_full.email.contains('@') {
        return Err(PayloadError::Malformed(format!(
            "sender {:?} is not an address",
            raw.from_full.email
        )));
    }
    let header = |name: &str| {
        raw.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let message_id = header("Message-ID").unwrap_or_else(|| raw.message_id.clone());
    let in_reply_to = header("In-Reply-To");
    let references = header("References")
        .map(|r| r.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(InboundEmail {
        from_email: raw.from_full.email.trim().to_lowercase(),
        from_name: non_empty(raw.from_full.name),
        to: raw.to_full.iter().map(|a| a.email.trim().to_lowercase()).collect(),
        subject: raw.subject,
        message_id,
        in_reply_to,
        references,
        // Postmark fills MailboxHash; should it not, the plus-part of a recipient serves.
        mailbox_hash: non_empty(raw.mailbox_hash).or_else(|| raw.to_full.iter().find_map(|a| plus_hash(&a.email))),
        text: non_empty(raw.stripped_text_reply).unwrap_or(raw.text_body),
        attachments: raw
            .attachments
            .into_iter()
            .map(|a| (a.name, a.content_type, a.content_length))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = r#"{"From":"budi@example.co.id","FromName":"Budi","FromFull":{"Email":"Budi@Example.co.id","Name":"Budi Santoso","MailboxHash":""},
 "To":"support+c42@acme.test","ToFull":[{"Email":"support+c42@acme.test","Name":"","MailboxHash":"c42"}],"Cc":"",
 "Subject":"Re: Your order","Date":"Mon, 23 Nov 2026 10:00:00 +0700","MailboxHash":"c42","MessageID":"73e6d360-66eb-11e1-8e72-a8904824019b",
 "TextBody":"Still waiting.\n\nOn Sun, Acme wrote:\n> Your order ships today","HtmlBody":"<p>Still waiting.</p>","StrippedTextReply":"Still waiting.",
 "Headers":[{"Name":"Message-ID","Value":"<CAF=abc@mail.example.co.id>"},{"Name":"In-Reply-To","Value":"<reply-1@acme.test>"},
            {"Name":"References","Value":"<first@acme.test> <reply-1@acme.test>"}],
 "Attachments":[{"Name":"receipt.pdf","Content":"JVBERi0=","ContentType":"application/pdf","ContentLength":5}]}"#;

    #[test]
    fn a_reply_is_read_with_its_threading_headers() {
        let email = parse(REPLY.as_bytes()).unwrap();
        assert_eq!(email.from_email, "budi@example.co.id");
        assert_eq!(email.from_name.as_deref(), Some("Budi Santoso"));
        assert_eq!(email.to, vec!["support+c42@acme.test"]);
        assert_eq!(email.subject, "Re: Your order");
        assert_eq!(email.message_id, "<CAF=abc@mail.example.co.id>");
        assert_eq!(email.in_reply_to.as_deref(), Some("<reply-1@acme.test>"));
        assert_eq!(email.references, vec!["<first@acme.test>", "<reply-1@acme.test>"]);
        assert_eq!(email.mailbox_hash.as_deref(), Some("c42"));
        assert_eq!(email.text, "Still waiting.", "the quoted history is left out");
        assert_eq!(
            email.attachments,
            vec![("receipt.pdf".into(), "application/pdf".into(), 5)]
        );
    }

    #[test]
    fn a_first_mail_without_threading_headers_uses_postmarks_id_and_whole_text() {
        let body = br#"{"FromFull":{"Email":"new@example.test","Name":""},"ToFull":[{"Email":"support@acme.test"}],
          "Subject":"Hello","MessageID":"pm-1","TextBody":"Hi there","StrippedTextReply":"","Headers":[]}"#;
        let email = parse(body).unwrap();
        assert_eq!(email.message_id, "pm-1");
        assert_eq!(
            (email.in_reply_to, email.references.len(), email.mailbox_hash),
            (None, 0, None)
        );
        assert_eq!(email.text, "Hi there");
        assert_eq!(email.from_name, None);
    }

    #[test]
    fn malformed_deliveries_are_refused() {
        assert!(matches!(parse(b"<html>"), Err(PayloadError::Malformed(_))));
        assert!(matches!(
            parse(br#"{"Subject":"no sender","MessageID":"x"}"#),
            Err(PayloadError::Malformed(_))
        ));
        let not_an_address = br#"{"FromFull":{"Email":"nobody"},"MessageID":"x"}"#;
        assert!(matches!(parse(not_an_address), Err(PayloadError::Malformed(_))));
    }
}
