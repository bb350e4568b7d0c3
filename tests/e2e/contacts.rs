//! Contacts tag: identities unique per organization, attributes, tags, merges.

use omnistream_tests::client::expect_error;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_created_found_updated_and_deleted() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let created = app
        .call(
            &admin,
            Method::POST,
            "/api/contacts",
            Some(
                json!({"name": "Budi", "phone": "+62 812-3456-7890", "email": "Budi@Example.com",
                        "custom_attributes": {"plan": "gold"}, "tags": ["VIP"]}),
            ),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["phone"], "+6281234567890");
    assert_eq!(created["email"], "budi@example.com");
    assert_eq!(created["tags"], json!(["vip"]));
    let id = created["id"].as_str().unwrap().to_owned();

    // Found by phone digits from any position, by words (the last one a prefix), by the
    // whole e-mail; not by the middle of a word, and punctuation alone finds nobody.
    for (search, total) in [
        ("3456", 1),
        ("%2B62%20812-3456", 1),
        ("budi", 1),
        ("BU", 1),
        ("budi%20exam", 1),
        ("budi%40example.com", 1),
        ("udi", 0),
        ("budi%20nobody", 0),
        ("%21%21", 0),
    ] {
        let found = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/contacts?search={search}"),
                None,
                StatusCode::OK,
            )
            .await;
        assert_eq!(found["total"], total, "search={search}: {found}");
    }
    let by_tag = app
        .call(&admin, Method::GET, "/api/contacts?tag=vip", None, StatusCode::OK)
        .await;
    assert_eq!(by_tag["total"], 1);

    let updated = app
        .call(
            &admin,
            Method::PATCH,
            &format!("/api/contacts/{id}"),
            Some(json!({"email": "", "custom_attributes": {"plan": null, "city": "Jakarta"}})),
            StatusCode::OK,
        )
        .await;
    assert!(updated.get("email").is_none(), "an empty string clears: {updated}");
    assert_eq!(updated["custom_attributes"], json!({"city": "Jakarta"}));
    assert_eq!(updated["version"], 2);

    // The cleared e-mail is free for another contact; the phone is not.
    app.contact(&admin, json!({"name": "Other", "email": "budi@example.com"}))
        .await;
    app.refused(
        &admin,
        Method::POST,
        "/api/contacts",
        Some(json!({"name": "Copy", "phone": "+6281234567890"})),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;

    app.call(
        &admin,
        Method::DELETE,
        &format!("/api/contacts/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/contacts/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.contact(&admin, json!({"name": "Reuse", "phone": "+6281234567890"}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_contact_input_is_refused_and_tenants_are_apart() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    for (body, field) in [
        (json!({}), "name"),
        (json!({"phone": "0812"}), "phone"),
        (json!({"email": "nope"}), "email"),
        (json!({"name": "x", "tags": ["a".repeat(60)]}), "tags"),
    ] {
        let response = app
            .as_session(Method::POST, "/api/contacts", &admin.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(error["details"]["field"], field, "{body}");
    }
    let id = app
        .contact(&admin, json!({"name": "Budi", "phone": "+6281234567890"}))
        .await;
    let other = app.register("Other").await;
    app.refused(
        &other,
        Method::GET,
        &format!("/api/contacts/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.refused(
        &other,
        Method::PATCH,
        &format!("/api/contacts/{id}"),
        Some(json!({"name": "Hijack"})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Identities are unique per organization, not across them.
    app.contact(&other, json!({"name": "Budi elsewhere", "phone": "+6281234567890"}))
        .await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let listed = app
        .as_session(Method::GET, "/api/contacts", &agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_moves_fields_identities_and_conversations() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let target = app
        .contact(
            &admin,
            json!({"name": "Budi", "email": "budi@example.com", "tags": ["vip"]}),
        )
        .await;
    let source = app
        .contact(
            &admin,
            json!({"name": "B.", "phone": "+6281234567890", "tags": ["lead"]}),
        )
        .await;
    let conversation = app
        .call(
            &admin,
            Method::POST,
            "/api/conversations",
            Some(json!({"contact_id": source, "channel": "api"})),
            StatusCode::CREATED,
        )
        .await;
    let merged = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/contacts/{target}/merge"),
            Some(json!({"source_contact_id": source})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(merged["name"], "Budi");
    assert_eq!(merged["phone"], "+6281234567890");
    assert_eq!(merged["tags"], json!(["lead", "vip"]));
    let moved = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{}", conversation["id"].as_str().unwrap()),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(moved["contact"]["id"], target.to_string());
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/contacts/{source}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The phone now belongs to the target: a new contact cannot take it.
    app.refused(
        &admin,
        Method::POST,
        "/api/contacts",
        Some(json!({"phone": "+6281234567890"})),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;
    app.refused(
        &admin,
        Method::POST,
        &format!("/api/contacts/{target}/merge"),
        Some(json!({"source_contact_id": target})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}
