//! SendGrid Inbound Parse (multipart/form-data): the envelope, the raw header block (for
//! `Message-ID`, `In-Reply-To`, `References`), subject, text and the attachments' names,
//! read into the same e-mail the other readers make. SendGrid signs nothing: the receiver
//! authenticates it with the account's token (`?token=` or basic auth), as for Postmark.

use bytes::Bytes;
use serde::Deserialize;

use crate::email_address::{bare_address, display_name, plus_hash};
use crate::payload::PayloadError;
use crate::postmark::InboundEmail;

#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    from: String,
}

#[derive(Deserialize)]
struct AttachmentInfo {
    #[serde(default)]
    filename: String,
    #[serde(default, rename = "type")]
    content_type: String,
}

/// The value of header `name` in a raw header block (folded lines unfolded).
fn header(block: &str, name: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(value) = found.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if found.is_some() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            if key.trim().eq_ignore_ascii_case(name) {
                found = Some(value.trim().to_owned());
            }
        }
    }
    found.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn malformed(message: impl Into<String>) -> PayloadError {
    PayloadError::Malformed(message.into())
}

/// Reads a SendGrid Inbound Parse delivery (the multipart body and its content type).
pub async fn parse(raw_body: &[u8], content_type: &str) -> Result<InboundEmail, PayloadError> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|e| malformed(format!("not multipart/form-data: {e}")))?;
    let body = Bytes::copy_from_slice(raw_body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let (mut from, mut to, mut subject, mut headers, mut text) =
        (None, None, String::new(), String::new(), String::new());
    let (mut envelope, mut info) = (Envelope::default(), serde_json::Map::new());
    while let Some(field) = multipart.next_field().await.map_err(|e| malformed(e.to_string()))? {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() {
            // Attachment contents stay in the raw delivery; the message keeps their names.
            field.bytes().await.map_err(|e| malformed(e.to_string()))?;
            continue;
        }
        let value = field.text().await.map_err(|e| malformed(e.to_string()))?;
        match name.as_str() {
            "from" => from = Some(value),
            "to" => to = Some(value),
            "subject" => subject = value,
            "headers" => headers = value,
            "text" => text = value,
            "envelope" => envelope = serde_json::from_str(&value)?,
            "attachment-info" => info = serde_json::from_str(&value)?,
            _ => {}
        }
    }
    let from_header = from.unwrap_or_default();
    let from_email = if envelope.from.contains('@') {
        envelope.from.trim().to_lowercase()
    } else {
        bare_address(&from_header)
    };
    if !from_email.contains('@') {
        return Err(malformed(format!("sender {from_header:?} is not an address")));
    }
    let recipients: Vec<String> = if envelope.to.is_empty() {
        to.unwrap_or_default()
            .split(',')
            .map(bare_address)
            .filter(|a| a.contains('@'))
            .collect()
    } else {
        envelope.to.iter().map(|a| bare_address(a)).collect()
    };
    let message_id =
        header(&headers, "Message-ID").ok_or_else(|| malformed("no Message-ID header: nothing to dedupe on"))?;
    let mut attachments: Vec<(String, String, i64)> = info
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_value::<AttachmentInfo>(v).ok())
        .map(|a| (a.filename, a.content_type, 0))
        .collect();
    attachments.sort();
    Ok(InboundEmail {
        from_name: display_name(&from_header),
        from_email,
        mailbox_hash: recipients.iter().find_map(|a| plus_hash(a)),
        to: recipients,
        subject,
        message_id,
        in_reply_to: header(&headers, "In-Reply-To"),
        references: header(&headers, "References")
            .map(|r| r.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        text,
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "xYzZY";

    /// A multipart body of text fields and one file.
    pub(crate) fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str)>) -> Vec<u8> {
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        if let Some((name, content)) = file {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"{name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        body.into_bytes()
    }

    #[tokio::test]
    async fn an_inbound_parse_delivery_is_read_with_its_threading_headers() {
        let headers =
            "Received: by mx.sendgrid.net\r\nMessage-ID: <s2@example.test>\r\nIn-Reply-To:\r\n <s1@acme.test>\r\n\
                       References: <s0@acme.test>\r\n <s1@acme.test>\r\nSubject: Re: invoice";
        let body = multipart(
            &[
                ("headers", headers),
                ("from", "\"Ani Wijaya\" <Ani@Example.test>"),
                ("to", "help+c9@acme.test"),
                ("subject", "Re: invoice"),
                ("text", "Attached."),
                ("envelope", r#"{"to":["help+c9@acme.test"],"from":"ani@example.test"}"#),
                (
                    "attachment-info",
                    r#"{"attachment1":{"filename":"invoice.pdf","type":"application/pdf"}}"#,
                ),
            ],
            Some(("invoice.pdf", "%PDF-1.4")),
        );
        let email = parse(&body, &format!("multipart/form-data; boundary={BOUNDARY}"))
            .await
            .unwrap();
        assert_eq!(email.from_email, "ani@example.test");
        assert_eq!(email.from_name.as_deref(), Some("Ani Wijaya"));
        assert_eq!(email.to, vec!["help+c9@acme.test"]);
        assert_eq!(email.mailbox_hash.as_deref(), Some("c9"));
        assert_eq!(email.message_id, "<s2@example.test>");
        assert_eq!(email.in_reply_to.as_deref(), Some("<s1@acme.test>"));
        assert_eq!(email.references, vec!["<s0@acme.test>", "<s1@acme.test>"]);
        assert_eq!(
            email.attachments,
            vec![("invoice.pdf".into(), "application/pdf".into(), 0)]
        );
    }

    #[tokio::test]
    async fn malformed_deliveries_are_refused() {
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        assert!(parse(b"{}", "application/json").await.is_err());
        assert!(parse(b"garbage", &content_type).await.is_err());
        let no_id = multipart(&[("from", "a@b.test"), ("headers", "Subject: x")], None);
        assert!(parse(&no_id, &content_type).await.is_err());
        let no_sender = multipart(&[("from", "nobody"), ("headers", "Message-ID: <x@y>")], None);
        assert!(parse(&no_sender, &content_type).await.is_err());
    }
}
