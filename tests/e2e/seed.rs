//! `omnistream seed`: a demo organization filled through the event store, read back through
//! the API once the projections catch up.

use std::sync::Arc;

use omnistream_api::seed::{seed, SeedPlan};
use omnistream_store::EventStore;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};

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
    // 17 status changes (n % 10 <= 5) and 7 tag changes (n % 4 == 0).
    assert_eq!(seeded.events, 25 * (1 + 1 + 1 + 4) + 16 + 17 + 7);
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
    assert_eq!(list["data"][0]["messages_count"], 4);
    assert_eq!(list["counts"]["resolved"], 15);
    assert_eq!(list["counts"]["pending"], 2);
    assert_eq!(list["counts"]["open"], 8);
    let mine = app
        .call(
            &admin,
            Method::GET,
            "/api/conversations?assignee=me&tag=vip&per_page=5",
            None,
            StatusCode::OK,
        )
        .await;
    // n in 0..25 with n % 3 != 0 and n % 4 == 0: 4, 8, 16, 20.
    assert_eq!(mine["total"], 4);
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
