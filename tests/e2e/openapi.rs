//! The OpenAPI document and the event schemas: served, committed, and equal.

use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn repo_file(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}; run `cargo run -p omnistream-api -- schemas`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_openapi_copy_equals_the_served_document() {
    let app = spawn_app().await;
    let served = app.request(Method::GET, "/api/openapi.json").send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let served: Value = served.json().await.unwrap();
    let committed: Value = serde_json::from_str(&repo_file("schemas/openapi.json")).unwrap();
    assert_eq!(
        served, committed,
        "schemas/openapi.json is stale: run `cargo run -p omnistream-api -- schemas`"
    );

    let schemas = served["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorResponse",
        "LoginRequest",
        "LoginResponse",
        "RegisterRequest",
        "AgentPublic",
        "AgentRole",
        "CreateAgent",
        "UpdateAgent",
        "UpdateAgentStatusRequest",
        "Role",
        "RoleWithPermissions",
        "Permission",
        "CreateRole",
        "UpdateRole",
        "ApiKey",
        "ApiKeyCreateResponse",
        "CreateApiKeyRequest",
        "HealthResponse",
        "PaginatedResponse",
        "DeleteResponse",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let tags: Vec<&str> = served["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for tag in ["Auth", "Agents", "Roles", "API Keys", "Activity Logs", "Health"] {
        assert!(tags.contains(&tag), "tag {tag} missing");
    }
    let docs = app.request(Method::GET, "/api/docs").send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
}

#[test]
fn every_event_type_has_its_committed_json_schema() {
    for (event_type, schema) in omnistream_domain::event_schemas::all() {
        let committed: Value = serde_json::from_str(&repo_file(&format!("schemas/events/{event_type}.json"))).unwrap();
        assert_eq!(
            committed,
            serde_json::to_value(&schema).unwrap(),
            "schemas/events/{event_type}.json is stale"
        );
    }
}
