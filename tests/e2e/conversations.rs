//! Conversations tag: the inbox list with filters, search, counts and cursors; assignment,
//! status, tags, reading; visibility for agents; bulk changes.

use omnistream_tests::client::expect_error;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_lists_filters_searches_and_counts() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let budi = app.conversation(&admin, "Budi Santoso").await;
    let siti = app.conversation(&admin, "Siti").await;
    let joko = app.conversation(&admin, "Joko").await;
    app.message(&admin, budi, "inbound", "my invoice is wrong").await;
    app.message(&admin, siti, "inbound", "hello there").await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{joko}/status"),
        Some(json!({"status": "resolved"})),
        StatusCode::OK,
    )
    .await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{siti}/tags"),
        Some(json!({"add": ["Billing"]})),
        StatusCode::OK,
    )
    .await;
    let assigned = app
        .call(
            &admin,
            Method::PUT,
            &format!("/api/conversations/{budi}/assign"),
            Some(json!({"agent_id": admin.agent_id})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(assigned["assignee"]["id"], admin.agent_id.to_string());

    let all = app
        .call(&admin, Method::GET, "/api/conversations", None, StatusCode::OK)
        .await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["counts"], json!({"open": 2, "resolved": 1}));
    // Most recent activity first: Budi was assigned last.
    assert_eq!(all["data"][0]["id"], budi.to_string());
    assert_eq!(all["data"][0]["last_message"]["preview"], "my invoice is wrong");
    assert_eq!(all["data"][0]["unread_count"], 1);
    assert_eq!(
        all["data"][0]["window"],
        json!({"state": "none", "human_agent_only": false}),
        "the api channel has no window"
    );

    let cases = [
        ("status=resolved", vec![joko]),
        ("assignee=me", vec![budi]),
        ("assignee=unassigned&status=open", vec![siti]),
        ("tag=billing", vec![siti]),
        ("unread=true", vec![siti, budi]),
        ("unread=false", vec![joko]),
        ("assignee=me&unread=true", vec![budi]),
        ("q=santoso", vec![budi]),
        ("q=invoice", vec![budi]),
        ("channel=api&status=open", vec![siti, budi]),
    ];
    for (query, expected) in cases {
        let page = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/conversations?{query}"),
                None,
                StatusCode::OK,
            )
            .await;
        let mut ids: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        let mut want: Vec<String> = expected.iter().map(Uuid::to_string).collect();
        ids.sort();
        want.sort();
        assert_eq!(ids, want, "{query}");
        // Totals and tab counts (from the rollup or counted) agree with the rows.
        assert_eq!(page["total"], want.len(), "{query}");
        if !query.contains("status=") {
            let counted: i64 = page["counts"]
                .as_object()
                .unwrap()
                .values()
                .map(|n| n.as_i64().unwrap())
                .sum();
            assert_eq!(counted as usize, want.len(), "{query}");
        }
    }

    // Keyset paging walks every conversation once.
    let first = app
        .call(
            &admin,
            Method::GET,
            "/api/conversations?per_page=2",
            None,
            StatusCode::OK,
        )
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations?per_page=2&cursor={cursor}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert!(second.get("next_cursor").is_none());

    let read = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/conversations/{budi}/read"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(read["unread_count"], 0);
    let detail = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{siti}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(detail["contact"]["name"], "Siti");
    // The contact's main fields only: nothing made up for the rest.
    assert!(detail["contact"].get("version").is_none() && detail["contact"].get("created_at").is_none());
    assert_eq!(detail["tags"], json!(["billing"]));

    // A word in two conversations, one per page: the first page is found by walking the
    // most recent conversations, the one after the cursor from the indexes; both agree.
    app.message(&admin, joko, "inbound", "another invoice question").await;
    let first = app
        .call(
            &admin,
            Method::GET,
            "/api/conversations?q=invoice&per_page=1",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(first["data"][0]["id"], joko.to_string(), "most recent match first");
    assert_eq!(
        (first["total"].as_i64(), first["counts_capped"].as_bool()),
        (Some(2), Some(false))
    );
    let cursor = first["next_cursor"].as_str().expect("a second match");
    let second = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations?q=invoice&per_page=1&cursor={cursor}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(second["data"][0]["id"], budi.to_string());
    assert!(second.get("next_cursor").is_none());
    // Contact fields are searched too, through the contact (not a copy on the conversation).
    let by_phone = app
        .call(
            &admin,
            Method::GET,
            "/api/conversations?q=santoso&per_page=1",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(by_phone["data"][0]["id"], budi.to_string());
    // Punctuation alone has no word to look for: an empty page, not an error.
    let nothing = app
        .call(&admin, Method::GET, "/api/conversations?q=%21%3F", None, StatusCode::OK)
        .await;
    assert_eq!(
        (nothing["total"].as_i64(), nothing["data"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_input_is_validated() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let id = app.conversation(&admin, "Budi").await;
    let bad = [
        (
            Method::PUT,
            format!("/api/conversations/{id}/status"),
            json!({"status": "snoozed"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::PUT,
            format!("/api/conversations/{id}/status"),
            json!({"status": "snoozed", "snoozed_until": "2001-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::PUT,
            format!("/api/conversations/{id}/status"),
            json!({"status": "sleeping"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::PUT,
            format!("/api/conversations/{id}/assign"),
            json!({"agent_id": Uuid::now_v7()}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::PUT,
            format!("/api/conversations/{id}/tags"),
            json!({}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::POST,
            "/api/conversations".to_owned(),
            json!({"contact_id": Uuid::now_v7(), "channel": "api"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/conversations?assignee=nobody".to_owned(),
            json!({}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/conversations?cursor=garbage".to_owned(),
            json!({}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            Method::GET,
            format!("/api/conversations/{}", Uuid::now_v7()),
            json!({}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (method, path, body, status, code) in bad {
        let mut request = app.as_session(method.clone(), &path, &admin.token);
        if method != Method::GET {
            request = request.json(&body);
        }
        expect_error(request.send().await.unwrap(), status, code).await;
    }
    let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let snoozed = app
        .call(
            &admin,
            Method::PUT,
            &format!("/api/conversations/{id}/status"),
            Some(json!({"status": "snoozed", "snoozed_until": until})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(snoozed["status"], "snoozed");
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{id}/status"),
        Some(json!({"status": "closed"})),
        StatusCode::OK,
    )
    .await;
    app.refused(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{id}/status"),
        Some(json!({"status": "open"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_their_own_unassigned_and_their_divisions_conversations() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let colleague = app.agent_with_role(&admin, "agent", None).await;
    let division = app
        .call(
            &admin,
            Method::POST,
            "/api/divisions",
            Some(json!({"name": "Billing", "agent_ids": [agent.agent_id]})),
            StatusCode::CREATED,
        )
        .await;
    let mine = app.conversation(&admin, "Mine").await;
    let theirs = app.conversation(&admin, "Theirs").await;
    let unassigned = app.conversation(&admin, "Nobody's").await;
    let team = app.conversation(&admin, "Team").await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{mine}/assign"),
        Some(json!({"agent_id": agent.agent_id})),
        StatusCode::OK,
    )
    .await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{theirs}/assign"),
        Some(json!({"agent_id": colleague.agent_id})),
        StatusCode::OK,
    )
    .await;
    app.call(
        &admin,
        Method::POST,
        &format!("/api/conversations/{team}/transfer"),
        Some(json!({"agent_id": colleague.agent_id, "division_id": division["division"]["id"], "reason": "billing question"})),
        StatusCode::OK,
    )
    .await;

    let seen = app
        .call(&agent, Method::GET, "/api/conversations", None, StatusCode::OK)
        .await;
    let mut ids: Vec<String> = seen["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = vec![mine.to_string(), unassigned.to_string(), team.to_string()];
    want.sort();
    assert_eq!(ids, want);
    app.refused(
        &agent,
        Method::GET,
        &format!("/api/conversations/{theirs}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let hidden_messages = app
        .as_session(
            Method::POST,
            &format!("/api/conversations/{theirs}/messages"),
            &agent.token,
        )
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    expect_error(hidden_messages, StatusCode::NOT_FOUND, "not_found").await;
    let admin_sees = app
        .call(&admin, Method::GET, "/api/conversations", None, StatusCode::OK)
        .await;
    assert_eq!(admin_sees["total"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_changes_report_per_item_and_do_not_roll_back() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let a = app.conversation(&admin, "A").await;
    let b = app.conversation(&admin, "B").await;
    let missing = Uuid::now_v7();
    let result = app
        .call(
            &admin,
            Method::POST,
            "/api/conversations/bulk",
            Some(json!({"conversation_ids": [a, missing, b], "action": "status", "status": "resolved"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (result["succeeded"].as_i64(), result["failed"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(result["results"][1]["ok"], false);
    assert_eq!(result["results"][1]["error"]["error"], "not_found");
    let resolved = app
        .call(
            &admin,
            Method::GET,
            "/api/conversations?status=resolved",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(resolved["total"], 2);
    let too_many: Vec<Uuid> = (0..501).map(|_| Uuid::now_v7()).collect();
    app.refused(
        &admin,
        Method::POST,
        "/api/conversations/bulk",
        Some(json!({"conversation_ids": too_many, "action": "tags", "add": ["x"]})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &admin,
        Method::POST,
        "/api/conversations/bulk",
        Some(json!({"conversation_ids": [a], "action": "status"})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snoozed_conversation_opens_again_when_its_time_comes() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let id = app.conversation(&admin, "Budi").await;
    let until = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{id}/status"),
        Some(json!({"status": "snoozed", "snoozed_until": until.to_rfc3339()})),
        StatusCode::OK,
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut status = String::new();
    while std::time::Instant::now() < deadline {
        let conversation = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/conversations/{id}"),
                None,
                StatusCode::OK,
            )
            .await;
        status = conversation["status"].as_str().unwrap_or_default().to_owned();
        if status == "open" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, "open", "the wake-up job reopened it");
    assert!(chrono::Utc::now() >= until, "not before its time");
    let woken_by: String = sqlx::query_scalar(
        "SELECT metadata->'actor'->>'kind' FROM events WHERE event_type = 'ConversationStatusChanged' ORDER BY position DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(woken_by, "system");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE done_at IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 1, "one job, run once");
}
