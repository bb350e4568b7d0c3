//! The query caches of inbox and message pages: repeated reads are served from memory, a
//! write answered by this process is read back at once, and a write made through another
//! process reaches this one's cache through the read-model announcements.

use std::time::{Duration, Instant};

use omnistream_tests::client::{Session, TestApp};
use omnistream_tests::{spawn_app_with, spawn_second_process};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

/// `omnistream_query_cache_requests_total` for `cache` and `outcome`, from `/metrics`.
async fn lookups(app: &TestApp, cache: &str, outcome: &str) -> u64 {
    let text = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let series = format!("omnistream_query_cache_requests_total{{cache=\"{cache}\",outcome=\"{outcome}\"}}");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Reads `path` until an answer is served from the cache (the feed listens shortly after
/// the start); answers that answer.
async fn cached(app: &TestApp, session: &Session, cache: &str, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hits = lookups(app, cache, "hit").await;
        let answer = app.call(session, Method::GET, path, None, StatusCode::OK).await;
        if lookups(app, cache, "hit").await > hits {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{path} was never served from the {cache} cache"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn tags_of(list: &Value, conversation: Uuid) -> Value {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|c| c["id"] == conversation.to_string())
        .map(|c| c["tags"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_reads_come_from_the_cache_and_this_process_writes_are_read_back_at_once() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.register("Acme").await;
    let conversation = app.conversation(&admin, "Budi").await;
    app.message(&admin, conversation, "inbound", "hello").await;
    let list_path = "/api/conversations?status=open";
    let messages_path = format!("/api/conversations/{conversation}/messages");

    let response = app
        .as_session(Method::GET, list_path, &admin.token)
        .send()
        .await
        .expect("list");
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json; charset=utf-8")
    );
    let list = cached(&app, &admin, "inbox_pages", list_path).await;
    assert_eq!(tags_of(&list, conversation), json!([]));
    let page = cached(&app, &admin, "message_pages", &messages_path).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));

    // Every write's answer waited for the inbox: the next read shows it, never the cached
    // answer from before it.
    for (round, tag) in ["billing", "vip", "urgent"].into_iter().enumerate() {
        app.call(
            &admin,
            Method::PUT,
            &format!("/api/conversations/{conversation}/tags"),
            Some(json!({ "add": [tag] })),
            StatusCode::OK,
        )
        .await;
        let list = app.call(&admin, Method::GET, list_path, None, StatusCode::OK).await;
        let tags = tags_of(&list, conversation);
        assert!(
            tags.as_array().is_some_and(|t| t.iter().any(|t| t == tag)),
            "round {round}: {tags}"
        );

        app.message(&admin, conversation, "outbound", tag).await;
        let page = app
            .call(&admin, Method::GET, &messages_path, None, StatusCode::OK)
            .await;
        assert_eq!(page["data"].as_array().map(Vec::len), Some(round + 2));
    }

    // An agent without `conversations.view_all` has answers of their own: the admin's cached
    // page does not show them a conversation they may not see.
    let agent = app.agent_with_role(&admin, "agent", None).await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{conversation}/assign"),
        Some(json!({ "agent_id": admin.agent_id })),
        StatusCode::OK,
    )
    .await;
    cached(&app, &admin, "message_pages", &messages_path).await;
    for _ in 0..2 {
        let mine = app.call(&agent, Method::GET, list_path, None, StatusCode::OK).await;
        assert_eq!(mine["total"], 0, "{mine}");
        app.refused(
            &agent,
            Method::GET,
            &messages_path,
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_another_process_reaches_this_process_cache() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.register("Acme").await;
    let conversation = app.conversation(&admin, "Siti").await;
    let list_path = "/api/conversations";
    cached(&app, &admin, "inbox_pages", list_path).await;

    // Its writes reach this process only as the projections' announcements.
    let other = spawn_second_process(&app).await;
    other
        .call(
            &admin,
            Method::PUT,
            &format!("/api/conversations/{conversation}/tags"),
            Some(json!({ "add": ["from-elsewhere"] })),
            StatusCode::OK,
        )
        .await;

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = app.call(&admin, Method::GET, list_path, None, StatusCode::OK).await;
        if tags_of(&list, conversation) == json!(["from-elsewhere"]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cached page never saw the other process's write: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_through_another_process_is_refused_here() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    // The agent's holder is kept here once the feed listens.
    cached(&app, &agent, "inbox_pages", "/api/conversations").await;
    let other = spawn_second_process(&app).await;
    other
        .call(&agent, Method::POST, "/api/auth/logout", None, StatusCode::NO_CONTENT)
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = app
            .as_session(Method::GET, "/api/conversations", &agent.token)
            .send()
            .await
            .expect("request")
            .status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(Instant::now() < deadline, "the ended session was still accepted here");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The admin's own session is untouched.
    app.call(&admin, Method::GET, "/api/conversations", None, StatusCode::OK)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cache_makes_room_and_keeps_answering_correctly() {
    let app = spawn_app_with(|config| config.query_cache_entries = 3).await;
    let admin = app.register("Acme").await;
    let mut conversations = Vec::new();
    for name in ["Ana", "Budi", "Citra", "Dewi", "Eko"] {
        conversations.push((name, app.conversation(&admin, name).await));
    }
    // Five different searches through a cache of three, three times over: every answer is
    // the one conversation searched for.
    for _ in 0..3 {
        for (name, id) in &conversations {
            let found = app
                .call(
                    &admin,
                    Method::GET,
                    &format!("/api/conversations?q={name}"),
                    None,
                    StatusCode::OK,
                )
                .await;
            let ids: Vec<&Value> = found["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|c| &c["id"])
                .collect();
            assert_eq!(ids, vec![&json!(id.to_string())], "q={name}");
        }
    }
    assert!(lookups(&app, "inbox_pages", "miss").await >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_missing_answer_read_it_once() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.register("Acme").await;
    app.conversation(&admin, "Ana").await;
    cached(&app, &admin, "inbox_pages", "/api/conversations").await;
    let misses = lookups(&app, "inbox_pages", "miss").await;
    let burst = (0..50).map(|_| {
        app.as_session(Method::GET, "/api/conversations?q=ana", &admin.token)
            .send()
    });
    for response in futures_util::future::join_all(burst).await {
        assert_eq!(response.expect("request").status(), StatusCode::OK);
    }
    let read = lookups(&app, "inbox_pages", "miss").await - misses;
    // One read, then hits; a change announced meanwhile could cost another.
    assert!(
        (1..5).contains(&read),
        "50 concurrent requests read the answer {read} times"
    );
}
