//! Chat expiration: per-channel window rules, free-form sends refused outside the window
//! (templates allowed), the inbox's window state, and the rule's action at expiry.

use std::time::Duration;

use omnistream_tests::channels::{conversations, customer_writes, whatsapp_account};
use omnistream_tests::client::Session;
use omnistream_tests::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A customer's WhatsApp message sent `hours_ago`; answers the conversation it is in.
async fn customer_wrote(app: &TestApp, admin: &Session, number: &str, id: &str, hours_ago: i64) -> Value {
    let sent_at = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
    customer_writes(app, number, ("16505550123", "Sheena"), id, sent_at, "hello").await;
    conversations(app, admin, "channel=whatsapp").await.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_configured_per_channel_within_the_providers_limits() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let rules = app
        .call(&agent, Method::GET, "/api/chat-expiration-rules", None, StatusCode::OK)
        .await;
    assert_eq!(rules[0]["channel"], "whatsapp");
    assert_eq!(rules[0]["window_hours"], 24);
    assert_eq!(rules[0]["configured"], false);
    assert!(rules[2]["window_hours"].is_null(), "e-mail has no window by default");

    let instagram = app
        .call(
            &admin,
            Method::PUT,
            "/api/chat-expiration-rules/instagram",
            Some(json!({"window_hours": 24, "human_agent_window": true, "expiry_action": "mark"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(instagram["effective_window_hours"], 168);
    assert_eq!(instagram["configured"], true);
    for (channel, body, field) in [
        ("whatsapp", json!({"window_hours": 48}), "window_hours"),
        ("email", json!({"expiry_action": "resolve"}), "expiry_action"),
        (
            "whatsapp",
            json!({"window_hours": 24, "human_agent_window": true}),
            "human_agent_window",
        ),
    ] {
        let error = app
            .refused(
                &admin,
                Method::PUT,
                &format!("/api/chat-expiration-rules/{channel}"),
                Some(body),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            )
            .await;
        assert_eq!(error["details"]["field"], field, "{error}");
    }
    app.refused(
        &agent,
        Method::PUT,
        "/api/chat-expiration-rules/email",
        Some(json!({"window_hours": 72})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_form_send_outside_the_window_is_refused_but_a_template_goes() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let account = whatsapp_account(&app, &admin, "200000001").await;
    let conversation = customer_wrote(&app, &admin, "200000001", "wamid.OLD", 30).await;
    assert_eq!(conversation["window"]["state"], "closed", "{conversation}");
    assert!(conversation["window"]["expires_at"].is_string());
    let id = conversation["id"].as_str().unwrap();

    let refused = app
        .refused(
            &admin,
            Method::POST,
            &format!("/api/conversations/{id}/messages"),
            Some(json!({"text": "Still there?"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "window_closed",
        )
        .await;
    let route = format!("POST /api/conversations/{id}/messages/template");
    assert_eq!(refused["details"]["template_route"], route.as_str());
    assert!(refused["message"].as_str().unwrap().contains(&route), "{refused}");

    let template = app
        .call(
            &admin,
            Method::POST,
            "/api/wa-templates",
            Some(
                json!({"account_id": account["id"], "name": "follow_up", "language": "en", "category": "utility",
                        "components": {"body": "Hi {{1}}, can we help?"}}),
            ),
            StatusCode::CREATED,
        )
        .await;
    let template_id = template["id"].as_str().unwrap();
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/wa-templates/{template_id}/status"),
        Some(json!({"status": "approved"})),
        StatusCode::OK,
    )
    .await;
    app.call(
        &admin,
        Method::POST,
        &format!("/api/conversations/{id}/messages/template"),
        Some(json!({"template_id": template_id, "body_parameters": ["Sheena"]})),
        StatusCode::CREATED,
    )
    .await;

    // The customer writes again: the window opens.
    let reopened = customer_wrote(&app, &admin, "200000001", "wamid.NEW", 0).await;
    assert_eq!(reopened["window"]["state"], "open");
    app.call(
        &admin,
        Method::POST,
        &format!("/api/conversations/{id}/messages"),
        Some(json!({"text": "Yes, we are here."})),
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_window_marks_and_then_resolves_the_conversation() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    whatsapp_account(&app, &admin, "200000002").await;
    app.call(
        &admin,
        Method::PUT,
        "/api/chat-expiration-rules/whatsapp",
        Some(json!({"window_hours": 24, "expiry_action": "resolve", "resolve_after_minutes": 60})),
        StatusCode::OK,
    )
    .await;
    let conversation = customer_wrote(&app, &admin, "200000002", "wamid.X", 30).await;
    let id = conversation["id"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for _ in 0..100 {
        app.caught_up("inbox").await;
        last = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/conversations/{id}"),
                None,
                StatusCode::OK,
            )
            .await;
        if last["status"] == "resolved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "resolved", "{last}");
    assert!(last["window"]["marked_at"].is_string(), "{last}");
    let expired: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'ConversationWindowExpired'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(expired, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_initiated_whatsapp_conversation_opens_with_a_template() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let account = whatsapp_account(&app, &admin, "200000003").await;
    let contact = app
        .contact(&admin, json!({"name": "Rina", "phone": "+6281300000003"}))
        .await;
    let no_phone = app.contact(&admin, json!({"name": "Nobody"})).await;
    let start = |contact: uuid::Uuid| json!({"contact_id": contact, "channel": "whatsapp", "channel_account_id": account["id"]});
    let error = app
        .refused(
            &admin,
            Method::POST,
            "/api/conversations",
            Some(start(no_phone)),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    assert_eq!(error["details"]["field"], "contact_id");
    let error = app
        .refused(
            &admin,
            Method::POST,
            "/api/conversations",
            Some(json!({"contact_id": contact, "channel": "instagram", "channel_account_id": account["id"]})),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    assert_eq!(error["details"]["field"], "channel_account_id");
    let conversation = app
        .call(
            &admin,
            Method::POST,
            "/api/conversations",
            Some(start(contact)),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(conversation["window"]["state"], "closed", "the customer never wrote");
    app.refused(
        &admin,
        Method::POST,
        "/api/conversations",
        Some(start(contact)),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;
    let id = conversation["id"].as_str().unwrap();
    app.refused(
        &admin,
        Method::POST,
        &format!("/api/conversations/{id}/messages"),
        Some(json!({"text": "Hello!"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "window_closed",
    )
    .await;
    // The customer's answer lands in the same conversation.
    let answered = customer_wrote_as(&app, &admin, "200000003", "6281300000003", "wamid.R1").await;
    assert_eq!(answered["id"], conversation["id"]);
    assert_eq!(answered["window"]["state"], "open");
}

/// A customer's WhatsApp message sent now from `wa_id`; answers its conversation.
async fn customer_wrote_as(app: &TestApp, admin: &Session, number: &str, wa_id: &str, id: &str) -> Value {
    customer_writes(app, number, (wa_id, "Rina"), id, chrono::Utc::now(), "hi").await;
    conversations(app, admin, "channel=whatsapp").await.remove(0)
}
