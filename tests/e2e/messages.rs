//! Messages tag: both directions on the API channel, paging both ways, quick replies,
//! first responses, idempotent sends.

use omnistream_tests::client::expect_error;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_flow_both_ways_and_page_both_ways() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let id = app.conversation(&admin, "Budi").await;
    let first = app.message(&admin, id, "inbound", "hello?").await;
    assert_eq!(
        (first["direction"].as_str(), first["status"].as_str()),
        (Some("inbound"), Some("received"))
    );
    app.message(&admin, id, "inbound", "anyone?").await;
    let reply = app.message(&admin, id, "outbound", "hi Budi").await;
    assert_eq!(
        (reply["status"].as_str(), reply["first_response"].as_bool()),
        (Some("queued"), Some(true))
    );
    assert_eq!(reply["author_agent_id"], admin.agent_id.to_string());
    let again = app.message(&admin, id, "outbound", "how can I help?").await;
    assert_eq!(again["first_response"], false);
    for i in 0..4 {
        app.message(&admin, id, "inbound", &format!("detail {i}")).await;
    }
    let threaded = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/conversations/{id}/messages"),
            Some(json!({"text": "about that", "reply_to_message_id": first["id"]})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(threaded["reply_to_message_id"], first["id"]);

    let newest = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/messages?limit=3"),
            None,
            StatusCode::OK,
        )
        .await;
    let texts: Vec<&str> = newest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["detail 2", "detail 3", "about that"]);
    assert!(newest.get("after_cursor").is_none());
    let before = newest["before_cursor"].as_i64().unwrap();
    let older = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/messages?limit=3&before={before}"),
            None,
            StatusCode::OK,
        )
        .await;
    let texts: Vec<&str> = older["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["how can I help?", "detail 0", "detail 1"]);
    let after = older["after_cursor"].as_i64().unwrap();
    let newer = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/messages?limit=2&after={after}"),
            None,
            StatusCode::OK,
        )
        .await;
    let texts: Vec<&str> = newer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["detail 2", "detail 3"]);

    let conversation = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(conversation["messages_count"], 9);
    assert_eq!(conversation["last_message"]["direction"], "outbound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_refused_and_retries_send_once() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let id = app.conversation(&admin, "Budi").await;
    for (body, field) in [
        (json!({}), "text"),
        (json!({"text": "x".repeat(4097)}), "text"),
        (
            json!({"text": "x", "reply_to_message_id": Uuid::now_v7()}),
            "reply_to_message_id",
        ),
        (json!({"quick_reply_id": Uuid::now_v7()}), "quick_reply_id"),
    ] {
        let response = app
            .as_session(Method::POST, &format!("/api/conversations/{id}/messages"), &admin.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(error["details"]["field"], field, "{body}");
    }
    let both = app
        .as_session(
            Method::GET,
            &format!("/api/conversations/{id}/messages?before=1&after=2"),
            &admin.token,
        )
        .send()
        .await
        .unwrap();
    expect_error(both, StatusCode::BAD_REQUEST, "validation_failed").await;

    let send = || {
        app.as_session(Method::POST, &format!("/api/conversations/{id}/messages"), &admin.token)
            .header("Idempotency-Key", "send-once-1")
            .json(&json!({"text": "only once"}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let retry = send().await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let page = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/messages"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        1,
        "a retried send never sends twice"
    );

    let agent = app.agent_with_role(&admin, "agent", None).await;
    let custom_role = app
        .call(
            &admin,
            Method::POST,
            "/api/roles",
            Some(json!({"name": "Viewer", "permissions": ["conversations.view"]})),
            StatusCode::CREATED,
        )
        .await;
    let viewer = app
        .agent_with_role(
            &admin,
            "custom",
            Some(Uuid::parse_str(custom_role["id"].as_str().unwrap()).unwrap()),
        )
        .await;
    let denied = app
        .as_session(
            Method::POST,
            &format!("/api/conversations/{id}/messages"),
            &viewer.token,
        )
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    expect_error(denied, StatusCode::FORBIDDEN, "forbidden").await;
    let allowed = app.message(&agent, id, "outbound", "agents may send").await;
    assert_eq!(allowed["author_agent_id"], agent.agent_id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_replies_render_their_variables_when_sent() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let contact = app
        .contact(&admin, json!({"name": "Budi", "phone": "+6281234567890"}))
        .await;
    let conversation = app
        .call(
            &admin,
            Method::POST,
            "/api/conversations",
            Some(json!({"contact_id": contact, "channel": "api"})),
            StatusCode::CREATED,
        )
        .await;
    let id = conversation["id"].as_str().unwrap();
    let reply = app
        .call(
            &admin,
            Method::POST,
            "/api/quick-replies",
            Some(json!({"shortcut": "/greet", "content": "Hi {{contact.name}}, {{agent.name}} here. We will call {{ contact.phone }}.", "personal": false})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(reply["shortcut"], "greet");
    let sent = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/conversations/{id}/messages"),
            Some(json!({"quick_reply_id": reply["id"]})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(sent["text"], "Hi Budi, Admin here. We will call +6281234567890.");
    assert_eq!(sent["quick_reply_id"], reply["id"]);
}
