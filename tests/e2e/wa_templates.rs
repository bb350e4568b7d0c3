//! WhatsApp templates: submitted per WhatsApp account, sent only once approved and with
//! exactly their parameters, delivered as template messages.

use std::time::Duration;

use omnistream_tests::channels::{
    connect, conversations, messages, post, processed, sign, wa_message, whatsapp_account, APP_SECRET,
};
use omnistream_tests::client::expect_json;
use omnistream_tests::spawn_app_with;
use omnistream_tests::standins::GraphStandIn;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_templates_are_sent_with_their_parameters() {
    let graph = GraphStandIn::start().await;
    let url = graph.url.clone();
    let app = spawn_app_with(move |config| config.meta_graph_url = url).await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let account = whatsapp_account(&app, &admin, "106500000009").await;
    let account_id = account["id"].as_str().unwrap().to_owned();
    let email = connect(
        &app,
        &admin,
        json!({"channel": "email", "provider": "postmark", "name": "Mail", "email_address": "a@acme.test", "app_secret": "x"}),
    )
    .await;

    let template = json!({
        "account_id": account_id, "name": "order_update", "language": "en_US", "category": "utility",
        "components": {"header": "Order news", "body": "Hi {{1}}, order {{2}} has shipped.", "footer": "Acme", "buttons": ["Thanks"]}
    });
    let created = app
        .call(
            &admin,
            Method::POST,
            "/api/wa-templates",
            Some(template.clone()),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["status"], "pending");
    assert_eq!(created["body_parameters"], 2);
    let id = created["id"].as_str().unwrap().to_owned();
    app.refused(
        &admin,
        Method::POST,
        "/api/wa-templates",
        Some(template.clone()),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;
    app.refused(
        &agent,
        Method::POST,
        "/api/wa-templates",
        Some(template.clone()),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    for (change, field) in [
        (json!({"components": {"body": "Hi {{2}}"}}), "components.body"),
        (json!({"name": "Order Update"}), "name"),
        (json!({"language": "english!"}), "language"),
        (json!({"account_id": email["id"]}), "account_id"),
    ] {
        let mut bad = template.clone();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let error = app
            .refused(
                &admin,
                Method::POST,
                "/api/wa-templates",
                Some(bad),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            )
            .await;
        assert_eq!(error["details"]["field"], field, "{error}");
    }
    let listed = app
        .call(
            &agent,
            Method::GET,
            "/api/wa-templates?status=pending",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // A conversation on the account.
    let inbound = serde_json::to_vec(&wa_message(
        "106500000009",
        "6281200000001",
        "Budi",
        json!([{"from": "6281200000001", "id": "wamid.T1", "timestamp": "1749416383", "type": "text", "text": {"body": "Order?"}}]),
    ))
    .unwrap();
    expect_json(
        post(
            &app,
            "/api/webhooks/whatsapp",
            &inbound,
            Some(&sign(APP_SECRET, &inbound)),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let conversation = conversations(&app, &admin, "channel=whatsapp").await.remove(0);
    let path = format!(
        "/api/conversations/{}/messages/template",
        conversation["id"].as_str().unwrap()
    );
    let send = json!({"template_id": id, "body_parameters": ["Budi", "42"]});
    app.refused(
        &admin,
        Method::POST,
        &path,
        Some(send.clone()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    let approved = app
        .call(
            &admin,
            Method::PUT,
            &format!("/api/wa-templates/{id}/status"),
            Some(json!({"status": "approved"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(approved["status"], "approved");
    let error = app
        .refused(
            &admin,
            Method::POST,
            &path,
            Some(json!({"template_id": id, "body_parameters": ["Budi"]})),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    assert_eq!(error["details"]["field"], "body_parameters");
    let sent = app
        .call(&admin, Method::POST, &path, Some(send), StatusCode::CREATED)
        .await;
    assert_eq!(sent["message_type"], "template");
    assert_eq!(sent["text"], "Hi Budi, order 42 has shipped.");

    for _ in 0..100 {
        if !graph.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = graph.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "6281200000001", "type": "template",
               "template": {"name": "order_update", "language": {"code": "en_US"},
                            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Budi"}, {"type": "text", "text": "42"}]}]}})
    );
    app.caught_up("inbox").await;
    assert_eq!(messages(&app, &admin, &conversation).await.len(), 2);

    app.call(
        &admin,
        Method::DELETE,
        &format!("/api/wa-templates/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/wa-templates/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metas_template_reviews_arrive_by_webhook() {
    let app = omnistream_tests::spawn_app().await;
    let admin = app.register("Acme").await;
    let account = connect(
        &app,
        &admin,
        json!({"channel": "whatsapp", "name": "Support", "phone_number_id": "300000001",
               "whatsapp_business_account_id": "102290129340398",
               "access_token": "t-1234", "app_secret": APP_SECRET, "verify_token": "v-300000001"}),
    )
    .await;
    let created = app
        .call(
            &admin,
            Method::POST,
            "/api/wa-templates",
            Some(
                json!({"account_id": account["id"], "name": "order_update", "language": "en_US", "category": "utility",
                        "components": {"body": "Order {{1}} shipped."}}),
            ),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let review = |event: &str, reason: &str| {
        serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "time": 1750000000, "changes": [
            {"field": "message_template_status_update", "value": {"event": event, "message_template_id": 594425479261596_i64,
             "message_template_name": "order_update", "message_template_language": "en_US", "reason": reason}},
            {"field": "phone_number_quality_update", "value": {"display_phone_number": "15550783881", "event": "FLAGGED"}}
        ]}]}))
        .unwrap()
    };
    let rejected = review("REJECTED", "INVALID_FORMAT");
    expect_json(
        post(
            &app,
            "/api/webhooks/whatsapp",
            &rejected,
            Some(&sign(APP_SECRET, &rejected)),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    app.caught_up("channels").await;
    let template = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/wa-templates/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(template["status"], "rejected");
    assert_eq!(template["status_reason"], "REJECTED: INVALID_FORMAT");
    let outcome: serde_json::Value = sqlx::query_scalar("SELECT outcome FROM webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(outcome["templates_reviewed"], 1);
    assert_eq!(outcome["changes_not_acted_on"], json!(["phone_number_quality_update"]));

    let approved = review("APPROVED", "NONE");
    expect_json(
        post(
            &app,
            "/api/webhooks/whatsapp",
            &approved,
            Some(&sign(APP_SECRET, &approved)),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    app.caught_up("channels").await;
    let template = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/wa-templates/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(template["status"], "approved");
    assert!(template.get("status_reason").is_none(), "{template}");
}
