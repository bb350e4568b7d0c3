//! Meta's Graph API as the delivery worker calls it: WhatsApp Cloud API sends
//! (`/{phone_number_id}/messages`) and Instagram Send API sends (`/{account id}/messages`).

use std::time::Duration;

use serde_json::{json, Value};

use omnistream_commands::delivery::Attachment;

use super::SendError;

/// A Graph API client at a base URL (`OMNISTREAM_META_GRAPH_URL`).
#[derive(Clone)]
pub struct Graph {
    client: reqwest::Client,
    base: String,
}

/// Meta's default base URL.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com/v21.0";

impl Graph {
    /// A client of the Graph API at `base`.
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> Result<Value, SendError> {
        let response = self
            .client
            .post(format!("{}/{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| SendError::Retryable(format!("Graph API unreachable: {e}")))?;
        Self::answer(response).await
    }

    /// A response's JSON, or the error it stands for (5xx and 429 retryable, 4xx final).
    async fn answer(response: reqwest::Response) -> Result<Value, SendError> {
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        let reason = match answer.get("error") {
            Some(error) => format!(
                "{} {}",
                error.get("code").map(Value::to_string).unwrap_or_default(),
                error.get("message").and_then(Value::as_str).unwrap_or("error")
            )
            .trim()
            .to_owned(),
            None => format!("HTTP {status}"),
        };
        if status.is_server_error() || status.as_u16() == 429 {
            Err(SendError::Retryable(format!("Graph API {status}: {reason}")))
        } else {
            Err(SendError::Final(reason))
        }
    }

    /// Uploads a file for WhatsApp (`/{phone_number_id}/media`); answers its media id.
    pub async fn whatsapp_media(
        &self,
        token: &str,
        phone_number_id: &str,
        file: &Attachment,
    ) -> Result<String, SendError> {
        let part = reqwest::multipart::Part::bytes(file.content.to_vec())
            .file_name(file.file_name.clone())
            .mime_str(&file.content_type)
            .map_err(|e| SendError::Final(format!("the file's content type is not usable: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", file.content_type.clone())
            .part("file", part);
        let response = self
            .client
            .post(format!("{}/{phone_number_id}/media", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .map_err(|e| SendError::Retryable(format!("Graph API unreachable: {e}")))?;
        let answer = Self::answer(response).await?;
        answer
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SendError::Retryable("the Graph API answer carries no media id".into()))
    }

    /// Sends a WhatsApp message (`message` holds `type` and its object); answers its `wamid`.
    pub async fn whatsapp(
        &self,
        token: &str,
        phone_number_id: &str,
        to: &str,
        message: Value,
    ) -> Result<String, SendError> {
        let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to});
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), message) {
            body.extend(fields);
        }
        let answer = self.post(&format!("{phone_number_id}/messages"), token, &body).await?;
        answer
            .pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SendError::Retryable("the Graph API answer carries no message id".into()))
    }

    /// Sends an Instagram text; `human_agent` tags a reply sent after the standard window.
    pub async fn instagram(
        &self,
        token: &str,
        account_id: &str,
        recipient: &str,
        text: &str,
        human_agent: bool,
    ) -> Result<String, SendError> {
        let mut body = json!({"recipient": {"id": recipient}, "message": {"text": text}});
        if human_agent {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!("HUMAN_AGENT");
        }
        let answer = self.post(&format!("{account_id}/messages"), token, &body).await?;
        answer
            .get("message_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SendError::Retryable("the Graph API answer carries no message id".into()))
    }
}
