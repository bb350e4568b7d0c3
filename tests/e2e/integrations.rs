//! Integrations: channel configuration and provider accounts, secrets sealed and never shown.

use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn whatsapp_account(phone_number_id: &str) -> Value {
    json!({
        "channel": "whatsapp",
        "name": "Support line",
        "phone_number_id": phone_number_id,
        "whatsapp_business_account_id": "102290129340398",
        "display_phone_number": "15550783881",
        "access_token": "EAAG-access-token-A1b2",
        "app_secret": "meta-app-secret-C3d4",
        "verify_token": "verify-me-E5f6"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_keep_their_secrets_sealed_and_their_identifiers_unique() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let account = app
        .call(
            &admin,
            Method::POST,
            "/api/integration-accounts",
            Some(whatsapp_account("106540352242922")),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(account["channel"], "whatsapp");
    assert_eq!(account["provider"], "meta");
    assert_eq!(account["phone_number_id"], "106540352242922");
    assert_eq!(account["access_token_last4"], "A1b2");
    assert_eq!(account["app_secret_last4"], "C3d4");
    assert_eq!(account["verify_token_last4"], "E5f6");
    assert_eq!(account["webhook_path"], "/api/webhooks/whatsapp");
    assert_eq!(account["enabled"], true);
    let text = account.to_string();
    for secret in ["EAAG-access-token", "meta-app-secret", "verify-me"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    // Nothing in the store holds a secret in clear text.
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE payload::text LIKE '%access-token%' OR payload::text LIKE '%app-secret%' \
         OR payload::text LIKE '%verify-me%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(leaked, 0);

    let id = account["id"].as_str().unwrap().to_owned();
    let changed = app
        .call(
            &admin,
            Method::PATCH,
            &format!("/api/integration-accounts/{id}"),
            Some(json!({"name": "Sales line", "access_token": "rotated-token-Z9z9", "enabled": false})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(changed["name"], "Sales line");
    assert_eq!(changed["access_token_last4"], "Z9z9");
    assert_eq!(changed["app_secret_last4"], "C3d4", "untouched secrets stay");
    assert_eq!(changed["enabled"], false);

    // A phone number id is connected once across OmniStream.
    let other = app.register("Other Co").await;
    app.refused(
        &other,
        Method::POST,
        "/api/integration-accounts",
        Some(whatsapp_account("106540352242922")),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;
    // Another tenant cannot see it.
    app.refused(
        &other,
        Method::GET,
        &format!("/api/integration-accounts/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let listed = app
        .call(&other, Method::GET, "/api/integration-accounts", None, StatusCode::OK)
        .await;
    assert_eq!(listed, json!([]));

    let listed = app
        .call(
            &admin,
            Method::GET,
            "/api/integration-accounts?channel=whatsapp",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Deleting frees the identifier.
    app.call(
        &admin,
        Method::DELETE,
        &format!("/api/integration-accounts/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
    app.call(
        &other,
        Method::POST,
        "/api/integration-accounts",
        Some(whatsapp_account("106540352242922")),
        StatusCode::CREATED,
    )
    .await;
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/integration-accounts/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_accounts_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let cases = [
        (json!({"channel": "whatsapp", "name": "x"}), "phone_number_id"),
        (
            json!({"channel": "whatsapp", "name": "x", "phone_number_id": "1", "access_token": "t", "app_secret": "s"}),
            "verify_token",
        ),
        (
            json!({"channel": "instagram", "name": "x", "access_token": "t", "app_secret": "s", "verify_token": "v"}),
            "instagram_account_id",
        ),
        (
            json!({"channel": "email", "name": "x", "email_address": "help@acme.test", "app_secret": "s"}),
            "provider",
        ),
        (
            json!({"channel": "email", "provider": "postmark", "name": "x", "email_address": "not-an-address", "app_secret": "s"}),
            "email_address",
        ),
        (
            json!({"channel": "email", "provider": "meta", "name": "x", "email_address": "help@acme.test", "app_secret": "s"}),
            "provider",
        ),
        (
            json!({"channel": "whatsapp", "name": "x", "phone_number_id": "1 OR 1=1", "access_token": "t", "app_secret": "s", "verify_token": "v"}),
            "phone_number_id",
        ),
        (
            json!({"channel": "whatsapp", "name": "x", "phone_number_id": "1", "access_token": "", "app_secret": "s", "verify_token": "v"}),
            "access_token",
        ),
    ];
    for (body, field) in cases {
        let error = app
            .refused(
                &admin,
                Method::POST,
                "/api/integration-accounts",
                Some(body.clone()),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            )
            .await;
        assert_eq!(error["details"]["field"], field, "{body}: {error}");
    }
    let error = app
        .refused(
            &admin,
            Method::POST,
            "/api/integration-accounts",
            Some(json!({"channel": "sms", "name": "x"})),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    assert!(error["message"].as_str().unwrap().contains("sms"), "{error}");
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE stream_id LIKE 'integrationaccount-%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing half-written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_are_configured_per_channel_with_the_permission_only() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let defaults = app
        .call(&admin, Method::GET, "/api/integrations", None, StatusCode::OK)
        .await;
    let channels: Vec<&str> = defaults
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["whatsapp", "instagram", "email"]);
    assert!(defaults
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["enabled"] == true && i["configured"] == false));

    let division = app
        .call(
            &admin,
            Method::POST,
            "/api/divisions",
            Some(json!({"name": "Support"})),
            StatusCode::CREATED,
        )
        .await;
    let division_id = division["division"]["id"].clone();
    let configured = app
        .call(
            &admin,
            Method::PUT,
            "/api/integrations/email",
            Some(json!({"enabled": false, "default_division_id": division_id, "settings": {"signature": "-- Acme"}})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(configured["enabled"], false);
    assert_eq!(configured["configured"], true);
    assert_eq!(configured["settings"]["signature"], "-- Acme");
    assert_eq!(configured["default_division_id"], division_id);
    let read = app
        .call(&admin, Method::GET, "/api/integrations/email", None, StatusCode::OK)
        .await;
    assert_eq!(read["version"], configured["version"]);

    app.refused(
        &admin,
        Method::PUT,
        "/api/integrations/email",
        Some(json!({"default_division_id": uuid::Uuid::now_v7()})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &admin,
        Method::PUT,
        "/api/integrations/fax",
        Some(json!({})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &agent,
        Method::PUT,
        "/api/integrations/email",
        Some(json!({})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
