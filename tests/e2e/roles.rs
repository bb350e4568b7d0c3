//! Roles tag: system roles, custom roles that really grant permissions, admin only.

use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_roles_grant_exactly_their_permissions() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let catalogue = expect_json(
        app.as_session(Method::GET, "/api/permissions", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let codes: Vec<&str> = catalogue
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    for code in [
        "agents.manage",
        "campaigns.manage",
        "developer.access",
        "roles.manage",
        "activity_logs.view",
    ] {
        assert!(codes.contains(&code), "{code} missing from the catalogue");
    }

    let created = app
        .as_session(Method::POST, "/api/roles", &admin.token)
        .json(&json!({"name": "Auditor", "description": "reads the trail", "permissions": ["activity_logs.view", "agents.view", "activity_logs.view"]}))
        .send()
        .await
        .unwrap();
    let role = expect_json(created, StatusCode::CREATED).await;
    assert_eq!(role["is_system"], false);
    let granted: Vec<&str> = role["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(granted, vec!["activity_logs.view", "agents.view"]);
    let role_id = Uuid::parse_str(role["id"].as_str().unwrap()).unwrap();

    let auditor = app.agent_with_role(&admin, "custom", Some(role_id)).await;
    let logs = app
        .as_session(Method::GET, "/api/activity-logs", &auditor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logs.status(), StatusCode::OK);
    app.refused(
        &auditor,
        Method::POST,
        "/api/agents",
        Some(json!({"name": "X", "email": "x@acme.test", "password": "agent-pass-1", "role": "agent"})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Changing the role changes what its holders may do, at once.
    let updated = app
        .as_session(Method::PATCH, &format!("/api/roles/{role_id}"), &admin.token)
        .json(&json!({"permissions": ["agents.view"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    app.refused(
        &auditor,
        Method::GET,
        "/api/activity-logs",
        None,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    app.refused(
        &admin,
        Method::DELETE,
        &format!("/api/roles/{role_id}"),
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "role_in_use",
    )
    .await;
    let listed = expect_json(
        app.as_session(Method::GET, "/api/roles", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "supervisor", "agent", "Auditor"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_admin_only_and_validated() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let supervisor = app.agent_with_role(&admin, "supervisor", None).await;
    app.refused(
        &supervisor,
        Method::GET,
        "/api/roles",
        None,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let anonymous = app.request(Method::GET, "/api/permissions").send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let error = app
        .refused(
            &admin,
            Method::POST,
            "/api/roles",
            Some(json!({"name": "Bad", "permissions": ["agents.fly"]})),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    assert_eq!(error["details"]["field"], "permissions");
    app.refused(
        &admin,
        Method::POST,
        "/api/roles",
        Some(json!({"name": "Admin", "permissions": []})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let first = app
        .as_session(Method::POST, "/api/roles", &admin.token)
        .json(&json!({"name": "Night", "permissions": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    app.refused(
        &admin,
        Method::POST,
        "/api/roles",
        Some(json!({"name": "night", "permissions": []})),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;
    app.refused(
        &admin,
        Method::PATCH,
        "/api/roles/admin",
        Some(json!({"name": "Boss"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    let night = expect_json(
        app.as_session(Method::GET, "/api/roles", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let night_id = night.as_array().unwrap().iter().find(|r| r["name"] == "Night").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = app
        .as_session(Method::DELETE, &format!("/api/roles/{night_id}"), &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(deleted, StatusCode::OK).await["deleted"], true);
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/roles/{night_id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let system_read = expect_json(
        app.as_session(Method::GET, "/api/roles/agent", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(system_read["is_system"], true);
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/roles/{}", Uuid::now_v7()),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
