//! Helpers for channel tests: connecting accounts, signing and posting provider deliveries,
//! waiting for them to be processed, reading what they became.

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{Session, TestApp};

/// The app secret the helpers' accounts are connected with.
pub const APP_SECRET: &str = "meta-app-secret-for-tests";

/// Meta's `X-Hub-Signature-256` of a body.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Connects an integration account.
pub async fn connect(app: &TestApp, admin: &Session, body: Value) -> Value {
    app.call(
        admin,
        Method::POST,
        "/api/integration-accounts",
        Some(body),
        StatusCode::CREATED,
    )
    .await
}

/// Connects a WhatsApp account with [`APP_SECRET`] and verify token `verify-<number id>`.
pub async fn whatsapp_account(app: &TestApp, admin: &Session, phone_number_id: &str) -> Value {
    connect(
        app,
        admin,
        json!({
            "channel": "whatsapp", "name": "Support", "phone_number_id": phone_number_id,
            "access_token": "token-1234", "app_secret": APP_SECRET, "verify_token": format!("verify-{phone_number_id}")
        }),
    )
    .await
}

/// Posts a raw JSON delivery to a receiver, signed or not.
pub async fn post(app: &TestApp, path: &str, body: &[u8], signature: Option<&str>) -> reqwest::Response {
    let mut request = app
        .request(Method::POST, path)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.send().await.unwrap()
}

/// How many webhook deliveries are logged.
pub async fn deliveries(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Waits until every logged delivery is processed and the inbox has caught up.
pub async fn processed(app: &TestApp) {
    for _ in 0..200 {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if pending == 0 {
            app.caught_up("inbox").await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("deliveries were not processed in 10 s");
}

/// A WhatsApp delivery of `messages` from one customer to a phone number id.
pub fn wa_message(phone_number_id: &str, wa_id: &str, name: &str, messages: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": messages
    }}]}]})
}

/// The conversations an admin lists with this query string.
pub async fn conversations(app: &TestApp, admin: &Session, query: &str) -> Vec<Value> {
    let page = app
        .call(
            admin,
            Method::GET,
            &format!("/api/conversations?{query}"),
            None,
            StatusCode::OK,
        )
        .await;
    page["data"].as_array().unwrap().clone()
}

/// A conversation's messages, oldest first.
pub async fn messages(app: &TestApp, admin: &Session, conversation: &Value) -> Vec<Value> {
    let id = conversation["id"].as_str().unwrap();
    let page = app
        .call(
            admin,
            Method::GET,
            &format!("/api/conversations/{id}/messages"),
            None,
            StatusCode::OK,
        )
        .await;
    page["data"].as_array().unwrap().clone()
}

/// A customer's text on WhatsApp: `wa_id` (named `name`) writes `text` to phone number id
/// `number` at `sent_at`; the signed delivery is posted and processed.
pub async fn customer_writes(
    app: &TestApp,
    number: &str,
    (wa_id, name): (&str, &str),
    id: &str,
    sent_at: chrono::DateTime<chrono::Utc>,
    text: &str,
) {
    let body = serde_json::to_vec(&wa_message(
        number,
        wa_id,
        name,
        json!([{"from": wa_id, "id": id, "timestamp": sent_at.timestamp().to_string(), "type": "text", "text": {"body": text}}]),
    ))
    .expect("json");
    let response = post(app, "/api/webhooks/whatsapp", &body, Some(&sign(APP_SECRET, &body))).await;
    crate::client::expect_json(response, StatusCode::OK).await;
    processed(app).await;
}
