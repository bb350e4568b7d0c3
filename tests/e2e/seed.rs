//! `omnistream seed`: a demo organization filled through the event store, read back through
//! the API once the projections catch up.

use std::sync::Arc;

use omnistream_api::seed::{seed, SeedPlan, Seeded};
use omnistream_projections::inbox::search_statistics::SearchStatistics;
use omnistream_store::EventStore;
use omnistream_tests::{spawn_app, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_fills_an_organization_that_the_api_serves() {
    let app = spawn_app().await;
    let events: Arc<dyn EventStore> = omnistream_api::app::shredding(&app.pool, &app.store);
    let plan = SeedPlan {
        tenant: "Demo".into(),
        conversations: 25,
        messages_per_conversation: 4,
        password: "seed-password-1".into(),
    };
    let seeded = seed(events.clone(), &app.pool, plan.clone()).await.unwrap();
    // Contact, claim, start and messages per conversation; then 16 assignments (n % 3 != 0),
    // 17 status changes (n % 10 <= 5), 7 tag changes (n % 4 == 0), and for n in 0, 10, 20 a
    // survey with its message, answered for 0 and 20.
    assert_eq!(seeded.events, 25 * (1 + 1 + 1 + 4) + 16 + 17 + 7 + 3 * 2 + 2);
    app.caught_up("directory").await;
    let admin = app.login(&seeded.admin_email, "seed-password-1").await;
    let head = app.store.head_position().await.unwrap();
    let list = app
        .as_session(Method::GET, "/api/conversations?per_page=5", &admin.token)
        .header("X-Min-Position", head.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let list: serde_json::Value = list.json().await.unwrap();
    assert_eq!(list["total"], 25);
    // The most recent is conversation 0: its 4 messages and the survey's.
    assert_eq!(list["data"][0]["messages_count"], 5);
    assert_eq!(list["counts"]["resolved"], 15);
    assert_eq!(list["counts"]["pending"], 2);
    assert_eq!(list["counts"]["open"], 8);
    // Assigned conversations go to the seeded agents in turn (n % 20): agent 4 has n = 4.
    let agent = app.login("agent4@demo.seed.omnistream.test", "seed-password-1").await;
    let mine = app
        .call(
            &agent,
            Method::GET,
            "/api/conversations?assignee=me&tag=vip&per_page=5",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(mine["total"], 1);
    // Conversation n started n days ago: the reports see 25 different days.
    app.caught_up("analytics").await;
    let trends = app
        .call(&admin, Method::GET, "/api/analytics/trends", None, StatusCode::OK)
        .await;
    let days_with_starts = trends["new_conversations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["count"] == 1)
        .count();
    assert!(days_with_starts >= 24, "{trends}");
    let csat = app
        .call(&admin, Method::GET, "/api/csat/analytics", None, StatusCode::OK)
        .await;
    assert_eq!(
        (csat["surveys_sent"].as_i64(), csat["responses"].as_i64()),
        (Some(3), Some(2)),
        "{csat}"
    );
    let search = app
        .call(
            &admin,
            Method::GET,
            "/api/conversations?q=Customer%207",
            None,
            StatusCode::OK,
        )
        .await;
    assert!(search["total"].as_i64().unwrap() >= 1);
    // A second run adds to the same organization.
    let again = seed(
        events,
        &app.pool,
        SeedPlan {
            conversations: 5,
            ..plan
        },
    )
    .await
    .unwrap();
    assert_eq!(again.tenant_id, seeded.tenant_id);
}

/// An organization seeded with `conversations` conversations of one message each, its read
/// models caught up and its search indexes analyzed (so that searches consult statistics).
async fn seeded_for_search(tenant: &str, conversations: u64) -> (TestApp, Seeded) {
    let app = spawn_app().await;
    let events: Arc<dyn EventStore> = omnistream_api::app::shredding(&app.pool, &app.store);
    let plan = SeedPlan {
        tenant: tenant.into(),
        conversations,
        messages_per_conversation: 1,
        password: "seed-password-1".into(),
    };
    let seeded = seed(events, &app.pool, plan).await.unwrap();
    app.caught_up("directory").await;
    app.caught_up("inbox").await;
    let schema: String = sqlx::query_scalar("SELECT schema_name FROM projection_state WHERE name = 'inbox'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for table in ["contacts", "messages"] {
        sqlx::query(&format!("ANALYZE {schema}.{table}"))
            .execute(&app.pool)
            .await
            .unwrap();
    }
    (app, seeded)
}

/// The conversations' ids of a page, in order.
fn ids_of(page: &serde_json::Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A list or search answer once the read models include the write at `head`.
async fn searched(app: &TestApp, admin: &Session, head: i64, query: &str) -> serde_json::Value {
    let response = app
        .as_session(Method::GET, query, &admin.token)
        .header("X-Min-Position", head.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_count_at_most_their_most_recent_two_hundred_matches() {
    // The search indexes analyzed before the first search: a rare name goes to the indexes
    // first (below, it is counted exactly all the same).
    let (app, seeded) = seeded_for_search("Many", 230).await;
    // PostgreSQL's statistics know that every contact is a "Customer" and every message is
    // "about" something, and that no common lexeme starts with "2291"; a prefix of three
    // characters may start anything.
    let statistics = SearchStatistics::default();
    let estimate = |text: &'static str| statistics.estimated_matches(&app.pool, text);
    let near = |n: Option<f64>, expected: f64| n.is_some_and(|n| (n - expected).abs() < 1.0);
    assert_eq!(estimate("Customer 2291").await, Some(0.0));
    assert!(near(estimate("Customer 229").await, 230.0));
    assert!(near(estimate("Customer").await, 230.0));
    assert!(near(estimate("about").await, 230.0));
    // Before the first read, concurrent searches wait for it instead of going on without
    // statistics (each of them the slow way).
    let fresh = SearchStatistics::default();
    let first =
        futures_util::future::join_all((0..8).map(|_| fresh.estimated_matches(&app.pool, "Customer 2291"))).await;
    assert!(first.iter().all(|e| *e == Some(0.0)), "{first:?}");
    // A rare search is looked up by its rarest term, the others checked on what that finds.
    assert_eq!(
        statistics.rare_lookup(&app.pool, "Customer 7291").await,
        Some(("7291".to_owned(), true))
    );
    let admin = app.login(&seeded.admin_email, "seed-password-1").await;
    // Both found by "7291"; one is no "Customer".
    app.conversation(&admin, "Customer 7291").await;
    app.conversation(&admin, "Supplier 7291").await;
    let head = app.store.head_position().await.unwrap();
    let search = |query: &'static str| searched(&app, &admin, head, query);
    // Every message says "about my ...": the page comes from the walk, the counts are capped.
    let common = search("/api/conversations?q=about&per_page=10").await;
    assert_eq!(common["data"].as_array().unwrap().len(), 10);
    assert_eq!(
        (common["total"].as_i64(), common["counts_capped"].as_bool()),
        (Some(200), Some(true))
    );
    let counted: i64 = common["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(counted, 200);
    // Paging on past the counted matches still finds every conversation, once.
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/conversations?q=about&per_page=100&cursor={c}"),
            None => "/api/conversations?q=about&per_page=100".to_owned(),
        };
        let page = app.call(&admin, Method::GET, &url, None, StatusCode::OK).await;
        for row in page["data"].as_array().unwrap() {
            assert!(seen.insert(row["id"].as_str().unwrap().to_owned()), "no repeats");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 230);
    // A rare match is counted exactly.
    let rare = search("/api/conversations?q=Customer%20229").await;
    assert_eq!(
        (rare["total"].as_i64(), rare["counts_capped"].as_bool()),
        (Some(1), Some(false))
    );
    for (query, name) in [
        ("/api/conversations?q=Customer%207291", "Customer 7291"),
        ("/api/conversations?q=Supplier%207291", "Supplier 7291"),
    ] {
        let found = search(query).await;
        assert_eq!(found["total"].as_i64(), Some(1), "{query}: {found}");
        assert_eq!(found["data"][0]["contact"]["name"].as_str(), Some(name));
    }
    // A prefix is looked up in the contacts' terms, which follow the contact: its old phone
    // finds it no more once changed, its new one does, and once erased nothing does.
    let phoned = app
        .contact(&admin, json!({"name": "Dewi", "phone": "+4915550072913"}))
        .await;
    app.conversation_with(&admin, phoned).await;
    let names = |page: serde_json::Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["contact"]["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let head = app.store.head_position().await.unwrap();
    assert_eq!(
        statistics.rare_lookup(&app.pool, "5550072913").await,
        Some(("5550072913".to_owned(), true))
    );
    assert_eq!(
        names(searched(&app, &admin, head, "/api/conversations?q=5550072913").await),
        ["Dewi"]
    );
    app.call(
        &admin,
        Method::PATCH,
        &format!("/api/contacts/{phoned}"),
        Some(json!({"phone": "+4915550083914"})),
        StatusCode::OK,
    )
    .await;
    let head = app.store.head_position().await.unwrap();
    assert!(names(searched(&app, &admin, head, "/api/conversations?q=5550072913").await).is_empty());
    assert_eq!(
        names(searched(&app, &admin, head, "/api/conversations?q=555008391").await),
        ["Dewi"]
    );
    app.call(
        &admin,
        Method::POST,
        &format!("/api/contacts/{phoned}/erase"),
        None,
        StatusCode::OK,
    )
    .await;
    let head = app.store.head_position().await.unwrap();
    assert!(names(searched(&app, &admin, head, "/api/conversations?q=555008391").await).is_empty());
    let terms: i64 = sqlx::query_scalar("SELECT count(*) FROM rm.contact_terms WHERE contact_id = $1")
        .bind(phoned)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(terms, 0, "an erased contact's terms go with it");
    // Rare searches run on connections that plan their statements once, with parameters:
    // more searches than connections times PostgreSQL's five custom plans, each answering
    // its own contact.
    for n in 100..=140 {
        let number = format!("/api/conversations?q=0000000{n}");
        let found = app.call(&admin, Method::GET, &number, None, StatusCode::OK).await;
        assert_eq!(found["total"].as_i64(), Some(1), "{number}");
        assert_eq!(
            found["data"][0]["contact"]["name"].as_str(),
            Some(format!("Customer {n}").as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_the_statistics_call_rare_that_matches_too_many_for_the_rare_path_is_answered_whole() {
    let (app, seeded) = seeded_for_search("Overflow", 1_100).await;
    // Every message is "about" something: 1,100 estimated matches are few enough to go to the
    // indexes first, where the messages' 1,100 are more than the rare path takes (1,000).
    let statistics = SearchStatistics::default();
    assert!(statistics.rare_lookup(&app.pool, "about").await.is_some());
    let admin = app.login(&seeded.admin_email, "seed-password-1").await;
    let head = app.store.head_position().await.unwrap();
    let page = |query: &'static str| async {
        let page = searched(&app, &admin, head, query).await;
        let ids = ids_of(&page);
        (page, ids)
    };
    // Every conversation matches, so the search's first page is the inbox's: the most recent
    // fifty of all 1,100, not of the first thousand messages the index gave.
    let (all, newest) = page("/api/conversations?per_page=50").await;
    assert_eq!(all["total"], 1_100);
    let (found, matched) = page("/api/conversations?q=about&per_page=50").await;
    assert_eq!(matched, newest);
    assert_eq!(
        (found["total"].as_i64(), found["counts_capped"].as_bool()),
        (Some(200), Some(true))
    );
    // Every seeded phone's digits start with 620000, which no common lexeme does: rare by the
    // statistics, all 1,100 contacts in fact. The walk then checks each conversation's contact
    // on its own, and finds the same first page.
    assert!(statistics.rare_lookup(&app.pool, "620000").await.is_some());
    let (by_phone, matched) = page("/api/conversations?q=620000&per_page=50").await;
    assert_eq!(matched, newest);
    assert_eq!(
        (by_phone["total"].as_i64(), by_phone["counts_capped"].as_bool()),
        (Some(200), Some(true))
    );
    // The contacts overflowed there, the messages did not: the walk still finds a
    // conversation whose contact has no phone by its message alone.
    let quoted = app.conversation(&admin, "Walk-in").await;
    app.message(&admin, quoted, "inbound", "my old number started 620000")
        .await;
    let silent = app.conversation(&admin, "Walk-in too").await;
    app.message(&admin, silent, "inbound", "no digits here").await;
    let head = app.store.head_position().await.unwrap();
    let found = searched(&app, &admin, head, "/api/conversations?q=620000&per_page=10").await;
    let ids = ids_of(&found);
    assert_eq!(ids[0], quoted.to_string());
    assert_eq!(ids[1..], newest[..9]);
    assert!(!ids.contains(&silent.to_string()));
    assert_eq!(
        (found["total"].as_i64(), found["counts_capped"].as_bool()),
        (Some(200), Some(true))
    );
}

/// Without a terminal the progress bar draws nothing: the command prints a line per tenth of
/// the way (here three batches of at most 100 conversations).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_command_reports_its_progress_without_a_terminal() {
    let url = omnistream_tests::fresh_database().await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_omnistream-process"))
        .args(["seed", "--tenant", "Progress", "--conversations", "250"])
        .args(["--messages-per-conversation", "1"])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run the seed command");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let progress: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("seeding: "))
        .map(|line| line.split(" conversations").next().unwrap_or_default())
        .collect();
    assert_eq!(progress, ["100/250", "200/250", "250/250"], "{stderr}");
}
