//! Realtime: Server-Sent Events with positions as ids; a client that disconnects resumes
//! with Last-Event-ID and gets every event once.

use std::time::Duration;

use omnistream_tests::client::expect_error;
use omnistream_tests::{spawn_app, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A parsed SSE event: (id, event type, data).
type SseEvent = (i64, String, Value);

/// Reads `count` events from an open stream, within a deadline.
async fn read_events(response: &mut reqwest::Response, pending: &mut String, count: usize) -> Vec<SseEvent> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while events.len() < count {
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            let (mut id, mut kind, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    kind = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if let Some(id) = id {
                events.push((id, kind, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
        }
        if events.len() >= count {
            break;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("events in time")
            .expect("stream");
        pending.push_str(&String::from_utf8_lossy(&chunk.expect("stream still open")));
    }
    events
}

async fn open(app: &TestApp, session: &Session, last_event_id: Option<i64>) -> reqwest::Response {
    let mut request = app.as_session(Method::GET, "/api/stream", &session.token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_resumes_with_nothing_lost_or_repeated() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let conversation = app.conversation(&admin, "Budi").await;
    let mut stream = open(&app, &admin, None).await;
    let mut pending = String::new();
    // Give the server a moment to take its starting point before writing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..3 {
        app.message(&admin, conversation, "inbound", &format!("first {i}"))
            .await;
    }
    let first = read_events(&mut stream, &mut pending, 2).await;
    assert!(first.iter().all(|(_, kind, _)| kind == "MessageReceived"), "{first:?}");
    assert_eq!(first[0].2["payload"]["body"]["text"], "first 0");
    assert_eq!(first[0].2["conversation_id"], conversation.to_string());
    let last_seen = first[1].0;
    drop(stream);

    for i in 0..2 {
        app.message(&admin, conversation, "outbound", &format!("later {i}"))
            .await;
    }
    let mut resumed = open(&app, &admin, Some(last_seen)).await;
    let mut pending = String::new();
    let rest = read_events(&mut resumed, &mut pending, 3).await;
    let texts: Vec<&str> = rest
        .iter()
        .map(|(_, _, d)| d["payload"]["body"]["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        vec!["first 2", "later 0", "later 1"],
        "resumed right after the last event seen"
    );
    assert!(rest.iter().all(|(id, _, _)| *id > last_seen));
    let kinds: Vec<&str> = rest.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(kinds, vec!["MessageReceived", "MessageQueued", "MessageQueued"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_only_hear_of_conversations_they_may_see() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let colleague = app.agent_with_role(&admin, "agent", None).await;
    let theirs = app.conversation(&admin, "Theirs").await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{theirs}/assign"),
        Some(json!({"agent_id": colleague.agent_id})),
        StatusCode::OK,
    )
    .await;
    let mine = app.conversation(&admin, "Mine").await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{mine}/assign"),
        Some(json!({"agent_id": agent.agent_id})),
        StatusCode::OK,
    )
    .await;
    let mut stream = open(&app, &agent, None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.message(&admin, theirs, "inbound", "secret").await;
    app.message(&admin, mine, "inbound", "for you").await;
    let mut pending = String::new();
    let events = read_events(&mut stream, &mut pending, 1).await;
    assert_eq!(events[0].2["conversation_id"], mine.to_string());
    assert_eq!(events[0].2["payload"]["body"]["text"], "for you");

    let anonymous = app.request(Method::GET, "/api/stream").send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let bad = app
        .as_session(Method::GET, "/api/stream", &admin.token)
        .header("Last-Event-ID", "not-a-number")
        .send()
        .await
        .unwrap();
    expect_error(bad, StatusCode::BAD_REQUEST, "validation_failed").await;
    let unknown = app
        .as_session(Method::GET, "/api/stream", &admin.token)
        .header("Last-Event-ID", "999999999")
        .send()
        .await
        .unwrap();
    expect_error(unknown, StatusCode::BAD_REQUEST, "validation_failed").await;
}
