//! GDPR erasure by crypto-shredding: personal fields are sealed in the log from the start,
//! and once a contact is erased they are unreadable everywhere, while the log and its hash
//! chains stay intact.

use omnistream_projections::rebuild;
use omnistream_store::EventStore;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;

async fn count(pool: &sqlx::PgPool, sql: &str, needle: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(format!("%{needle}%"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_contact_is_unreadable_in_events_and_gone_from_read_models() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let contact = app
        .contact(
            &admin,
            json!({"name": "Budi Santoso", "phone": "+6281299887766", "email": "budi.s@example.com"}),
        )
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
    let id = conversation["id"].as_str().unwrap().to_owned();
    let conversation_id = uuid::Uuid::parse_str(&id).unwrap();
    app.message(&admin, conversation_id, "inbound", "my address is Jalan Merdeka 17")
        .await;
    app.message(&admin, conversation_id, "outbound", "thanks Budi, noted")
        .await;

    // At rest, the log never held the personal fields in clear.
    for needle in ["Budi Santoso", "6281299887766", "budi.s@example.com", "Jalan Merdeka"] {
        assert_eq!(
            count(
                &app.pool,
                "SELECT count(*) FROM events WHERE payload::text LIKE $1",
                needle
            )
            .await,
            0,
            "{needle} in clear"
        );
    }
    // Readers that never look at personal data (analytics, SLA, directory) get the fields
    // as stored; every other reader gets them opened.
    let store: Arc<dyn EventStore> = omnistream_api::app::shredding(&app.pool, &app.store);
    let inbound = |events: Vec<omnistream_store::RecordedEvent>| {
        events
            .into_iter()
            .find(|e| e.event_type == "MessageReceived" && e.stream_id == format!("conversation-{id}"))
            .expect("the inbound message is in the log")
            .payload
    };
    let opened = inbound(store.read_all(Default::default(), 10_000).await.unwrap());
    let sealed = inbound(store.read_all_sealed(Default::default(), 10_000).await.unwrap());
    assert_eq!(opened["body"]["text"], "my address is Jalan Merdeka 17");
    assert!(sealed["body"]["text"].get("$sealed").is_some(), "{sealed}");
    assert_eq!(opened["contact_id"], sealed["contact_id"], "other fields read the same");
    let sealed_readers: Vec<&str> = omnistream_projections::all()
        .iter()
        .filter(|p| !p.needs_personal_data())
        .map(|p| p.name())
        .collect();
    assert_eq!(sealed_readers, vec!["directory", "sla", "analytics"]);
    // ...while the API reads them back.
    let before = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/contacts/{contact}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(before["name"], "Budi Santoso");
    assert!(
        count(
            &app.pool,
            "SELECT count(*) FROM rm.contact_terms WHERE term LIKE $1",
            "%99887766"
        )
        .await
            > 0,
        "the phone's digits are search terms before"
    );

    let erased = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/contacts/{contact}/erase"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(erased["deleted"], true);
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/contacts/{contact}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for (sql, needle) in [
        ("SELECT count(*) FROM rm.contacts WHERE coalesce(name, '') || coalesce(phone, '') || coalesce(email, '') LIKE $1", "Budi"),
        ("SELECT count(*) FROM rm.conversations WHERE coalesce(contact_name, '') || coalesce(last_message_preview, '') LIKE $1", "Budi"),
        ("SELECT count(*) FROM rm.messages WHERE coalesce(text, '') LIKE $1", "Merdeka"),
        // The search terms: words of the name and e-mail, the phone's digits.
        ("SELECT count(*) FROM rm.contact_terms WHERE term LIKE $1", "%budi%"),
        ("SELECT count(*) FROM rm.contact_terms WHERE term LIKE $1", "%99887766"),
    ] {
        assert_eq!(count(&app.pool, sql, needle).await, 0, "{sql}");
    }
    let messages = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/messages"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(
        messages["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("text").is_none()),
        "{messages}"
    );

    // The events stay, unreadable, and the audit trail still verifies.
    let history = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/activity-logs/streams/contact-{contact}"),
            None,
            StatusCode::OK,
        )
        .await;
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["ContactCreated", "ContactErased"]);
    assert_eq!(history["events"][0]["payload"]["profile"], json!({}));
    let verified = app
        .call(&admin, Method::GET, "/api/activity-logs/verify", None, StatusCode::OK)
        .await;
    assert_eq!(verified["ok"], true);

    // A rebuild from the log brings nothing back.
    let inbox = omnistream_projections::by_name("inbox").unwrap();
    rebuild::rebuild(&app.pool, &store, inbox.as_ref(), false)
        .await
        .unwrap();
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM rm.messages WHERE coalesce(text, '') LIKE $1",
            "Merdeka"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM rm.contacts WHERE coalesce(name, '') LIKE $1",
            "Budi"
        )
        .await,
        0
    );
    // The phone is free again.
    app.contact(&admin, json!({"phone": "+6281299887766"})).await;

    app.refused(
        &admin,
        Method::POST,
        &format!("/api/contacts/{contact}/erase"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let other = app.register("Other").await;
    app.refused(
        &other,
        Method::POST,
        &format!("/api/contacts/{contact}/erase"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
