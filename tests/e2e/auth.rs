//! Auth tag: registration, login, sessions, logout, rate limiting, super-admins.

use omnistream_commands::{registration, CommandBus};
use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_creates_an_organization_with_a_logged_in_admin() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let me = expect_json(
        app.as_session(Method::GET, "/api/auth/me", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["kind"], "agent");
    assert_eq!(me["organization_name"], "Acme");
    assert_eq!(me["agent"]["role"], "admin");
    assert_eq!(me["authenticated_by"], "session");
    assert!(me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "roles.manage"));
    // The password is nowhere in the event log.
    let leaked: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE payload::text LIKE '%correct-horse-1%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(leaked, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_validates_and_keeps_emails_unique() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let cases = [
        (
            json!({"organization_name": "X", "name": "Y", "email": "not-an-email", "password": "correct-horse-1"}),
            "email",
        ),
        (
            json!({"organization_name": "X", "name": "Y", "email": "y@x.test", "password": "short"}),
            "password",
        ),
        (
            json!({"organization_name": " ", "name": "Y", "email": "y@x.test", "password": "correct-horse-1"}),
            "organization_name",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .request(Method::POST, "/api/auth/register")
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(error["details"]["field"], field);
    }
    let missing = app
        .request(Method::POST, "/api/auth/register")
        .json(&json!({"organization_name": "X"}))
        .send()
        .await
        .unwrap();
    expect_error(missing, StatusCode::BAD_REQUEST, "validation_failed").await;
    let taken = app
        .request(Method::POST, "/api/auth/register")
        .json(&json!({"organization_name": "Other", "name": "Y", "email": admin.email.to_uppercase(), "password": "correct-horse-1"}))
        .send()
        .await
        .unwrap();
    expect_error(taken, StatusCode::CONFLICT, "already_exists").await;
    let organizations: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'OrganizationCreated'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(organizations, 1, "a refused registration writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_the_rate_limit() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let session = app.login(&admin.email, "correct-horse-1").await;
    let logins: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'AgentLoggedIn'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(logins, 1, "a login is an audited event");

    let logout = app
        .as_session(Method::POST, "/api/auth/logout", &session.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    app.refused(
        &session,
        Method::GET,
        "/api/auth/me",
        None,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // The other session lives on.
    let other = app
        .as_session(Method::GET, "/api/auth/me", &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    let malformed = app
        .request(Method::POST, "/api/auth/login")
        .json(&json!({"email": admin.email}))
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::BAD_REQUEST, "validation_failed").await;
    let key = app.api_key(&admin).await;
    let key_logout = app.as_key(Method::POST, "/api/auth/logout", &key).send().await.unwrap();
    expect_error(key_logout, StatusCode::BAD_REQUEST, "validation_failed").await;
    let unknown = app
        .request(Method::POST, "/api/auth/login")
        .json(&json!({"email": "nobody@example.test", "password": "whatever-1"}))
        .send()
        .await
        .unwrap();
    expect_error(unknown, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for _ in 0..5 {
        let wrong = app
            .request(Method::POST, "/api/auth/login")
            .json(&json!({"email": admin.email, "password": "wrong-password-1"}))
            .send()
            .await
            .unwrap();
        expect_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let blocked = app
        .request(Method::POST, "/api/auth/login")
        .json(&json!({"email": admin.email, "password": "correct-horse-1"}))
        .send()
        .await
        .unwrap();
    assert!(blocked.headers().get("retry-after").is_some());
    expect_error(blocked, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_needs_credentials_and_garbage_tokens_are_refused() {
    let app = spawn_app().await;
    let none = app.request(Method::GET, "/api/auth/me").send().await.unwrap();
    expect_error(none, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let garbage = app
        .as_session(Method::GET, "/api/auth/me", "oss_not-a-token")
        .send()
        .await
        .unwrap();
    expect_error(garbage, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let bad_key = app
        .as_key(Method::GET, "/api/auth/me", "osk_nope")
        .send()
        .await
        .unwrap();
    expect_error(bad_key, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_super_admin_acts_across_tenants_only_when_naming_one() {
    let app = spawn_app().await;
    let acme = app.register("Acme").await;
    let bus = CommandBus::new(app.store.clone());
    registration::create_super_admin(&bus, &app.pool, "Root", "root@omnistream.test", "root-pass-1")
        .await
        .unwrap();
    // The login read model may lag the CLI's append by a moment; wait for it rather than
    // retrying logins, which the rate limit would count as failures.
    app.caught_up("directory").await;
    let response = app
        .request(Method::POST, "/api/auth/login")
        .json(&json!({"email": "root@omnistream.test", "password": "root-pass-1"}))
        .send()
        .await
        .unwrap();
    let login = expect_json(response, StatusCode::OK).await;
    assert_eq!(login["super_admin"], true);
    let token = login["token"].as_str().unwrap();
    let without = app.as_session(Method::GET, "/api/agents", token).send().await.unwrap();
    expect_error(without, StatusCode::FORBIDDEN, "forbidden").await;
    let with = app
        .as_session(Method::GET, "/api/agents", token)
        .header("X-Tenant-Id", acme.organization_id.to_string())
        .send()
        .await
        .unwrap();
    let agents = expect_json(with, StatusCode::OK).await;
    assert_eq!(agents["total"], 1);
    // An ordinary admin cannot pick another tenant with the header.
    let other = app.register("Other").await;
    let sneaky = app
        .as_session(Method::GET, "/api/agents", &other.token)
        .header("X-Tenant-Id", acme.organization_id.to_string())
        .send()
        .await
        .unwrap();
    let listed = expect_json(sneaky, StatusCode::OK).await;
    assert_eq!(listed["data"][0]["id"], other.agent_id.to_string());
}
