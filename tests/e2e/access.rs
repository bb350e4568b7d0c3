//! Every secured operation of the OpenAPI document refuses callers without credentials (401)
//! and callers without its permission (403), each with an ErrorResponse.

use omnistream_tests::client::expect_error;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

/// Operations any authenticated caller may use.
const OPEN_TO_ANY_PRINCIPAL: &[(&str, &str)] = &[("get", "/api/auth/me"), ("post", "/api/auth/logout")];

/// A body that passes parsing, so the permission check is what answers.
fn body_for(method: &str, path: &str) -> Value {
    match (method, path) {
        ("post", "/api/agents") => {
            json!({"name": "X", "email": "x@x.test", "password": "agent-pass-1", "role": "agent"})
        }
        ("patch", "/api/agents/{id}") => json!({"name": "X"}),
        ("put", "/api/agents/{id}/status") => json!({"status": "online"}),
        ("post", "/api/roles") => json!({"name": "X", "permissions": []}),
        ("patch", "/api/roles/{id}") => json!({"name": "X"}),
        ("post", "/api/api-keys") => json!({"name": "X"}),
        ("post", "/api/contacts") | ("patch", "/api/contacts/{id}") => json!({"name": "X"}),
        ("post", "/api/contacts/{id}/merge") => json!({"source_contact_id": Uuid::now_v7()}),
        ("post", "/api/conversations") => json!({"contact_id": Uuid::now_v7(), "channel": "api"}),
        ("put", "/api/conversations/{id}/assign") => json!({"agent_id": null}),
        ("put", "/api/conversations/{id}/status") => json!({"status": "open"}),
        ("put", "/api/conversations/{id}/tags") => json!({"add": ["x"]}),
        ("post", "/api/conversations/bulk") => json!({"conversation_ids": [Uuid::now_v7()], "action": "tags"}),
        ("post", "/api/conversations/{id}/transfer") => json!({"reason": "x"}),
        ("post", "/api/conversations/{id}/messages") => json!({"text": "x"}),
        ("post", "/api/conversations/{id}/notes") | ("patch", "/api/notes/{id}") => json!({"content": "x"}),
        ("post", "/api/quick-replies") => json!({"shortcut": "x", "content": "y"}),
        ("patch", "/api/quick-replies/{id}") => json!({"content": "y"}),
        ("post", "/api/divisions") | ("patch", "/api/divisions/{id}") => json!({"name": "x"}),
        ("put", "/api/divisions/{id}/members") => json!({"agent_ids": []}),
        ("put", "/api/integrations/{channel}") => json!({}),
        ("post", "/api/integration-accounts") => json!({"channel": "email", "name": "x"}),
        ("patch", "/api/integration-accounts/{id}") => json!({"name": "x"}),
        ("post", "/api/wa-templates") => json!({"account_id": Uuid::now_v7(), "name": "x", "language": "en",
                                                 "category": "utility", "components": {"body": "x"}}),
        ("put", "/api/wa-templates/{id}/status") => json!({"status": "approved"}),
        ("put", "/api/chat-expiration-rules/{channel}") => json!({"window_hours": 24}),
        ("post", "/api/conversations/{id}/messages/template") => json!({"template_id": Uuid::now_v7()}),
        ("put", "/api/conversations/{id}/priority") => json!({"priority": "high"}),
        ("put", "/api/working-hours") | ("put", "/api/working-hours/divisions/{division_id}") => json!({"days": []}),
        ("put", "/api/settings/timezone") => json!({"timezone": "UTC"}),
        ("post", "/api/sla-policies") => json!({"name": "x", "resolution_minutes": 5}),
        ("put", "/api/csat/settings/{channel}") => json!({"enabled": true}),
        _ => json!({}),
    }
}

fn secured_operations(document: &Value) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation
                .get("security")
                .is_some_and(|s| !s.as_array().unwrap().is_empty())
            {
                operations.push((method.clone(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secured_operation_answers_401_and_403() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let nothing = omnistream_tests::client::expect_json(
        app.as_session(Method::POST, "/api/roles", &admin.token)
            .json(&json!({"name": "Nothing", "permissions": []}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let powerless = app
        .agent_with_role(
            &admin,
            "custom",
            Some(Uuid::parse_str(nothing["id"].as_str().unwrap()).unwrap()),
        )
        .await;
    let document: Value = app
        .request(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations = secured_operations(&document);
    assert!(
        operations.len() >= 18,
        "only {} secured operations found",
        operations.len()
    );

    for (method, template) in &operations {
        let path = template
            .replace("{id}", &Uuid::now_v7().to_string())
            .replace("{stream}", "agent-x")
            .replace("{channel}", "whatsapp")
            .replace("{division_id}", &Uuid::now_v7().to_string());
        let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = body_for(method, template);
        let send = |request: reqwest::RequestBuilder| {
            if template == "/api/media" && method == "post" {
                let part = reqwest::multipart::Part::bytes(b"hello".to_vec())
                    .file_name("a.txt")
                    .mime_str("text/plain")
                    .unwrap();
                request.multipart(reqwest::multipart::Form::new().part("file", part))
            } else {
                request.json(&body)
            }
        };
        let anonymous = send(app.request(verb.clone(), &path)).send().await.unwrap();
        expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
        if OPEN_TO_ANY_PRINCIPAL.contains(&(method.as_str(), template.as_str())) {
            continue;
        }
        let refused = send(app.as_session(verb, &path, &powerless.token))
            .send()
            .await
            .unwrap();
        let status = refused.status();
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {template} answered {status} to a caller without permissions"
        );
        expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    }
}
