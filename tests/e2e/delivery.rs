//! Outbound delivery: agents' replies leave through the channel (a Graph API stand-in, an
//! SMTP stand-in), every attempt is an event, retries back off, a 4xx is final, and provider
//! status reports move a message forward only.

use std::time::Duration;

use omnistream_tests::channels::{
    connect, conversations, customer_writes, messages, post, processed, sign, whatsapp_account, APP_SECRET,
};
use omnistream_tests::client::{expect_json, Session};
use omnistream_tests::standins::{GraphStandIn, SmtpStandIn};
use omnistream_tests::{spawn_app_with, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A WhatsApp conversation opened by a customer's message; answers it.
async fn whatsapp_conversation(app: &TestApp, admin: &Session, number: &str) -> Value {
    whatsapp_account(app, admin, number).await;
    customer_writes(
        app,
        number,
        ("16505551234", "Sheena"),
        "wamid.IN1",
        chrono::Utc::now(),
        "Blue?",
    )
    .await;
    conversations(app, admin, "channel=whatsapp").await.remove(0)
}

async fn reply(app: &TestApp, admin: &Session, conversation: &Value, text: &str) -> Value {
    let id = conversation["id"].as_str().unwrap();
    app.call(
        admin,
        Method::POST,
        &format!("/api/conversations/{id}/messages"),
        Some(json!({"text": text})),
        StatusCode::CREATED,
    )
    .await
}

/// Waits until the message `id` of `conversation` has `status`; answers it.
async fn message_with_status(app: &TestApp, admin: &Session, conversation: &Value, id: &Value, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        app.caught_up("inbox").await;
        if let Some(found) = messages(app, admin, conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == *id)
        {
            if found["status"] == status {
                return found;
            }
            last = found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("message never reached {status}: {last}");
}

fn statuses(number: &str, reports: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
        "statuses": reports
    }}]}]}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_replies_are_sent_and_their_status_only_moves_forward() {
    let graph = GraphStandIn::start().await;
    let url = graph.url.clone();
    let app = spawn_app_with(move |config| config.meta_graph_url = url).await;
    let admin = app.register("Acme").await;
    let conversation = whatsapp_conversation(&app, &admin, "106500000001").await;
    let sent = reply(&app, &admin, &conversation, "Yes, in blue").await;
    // Recorded as queued; the delivery worker may have sent it before the answer was read.
    assert!(
        ["queued", "sent"].contains(&sent["status"].as_str().unwrap_or_default()),
        "{sent}"
    );
    let delivered = message_with_status(&app, &admin, &conversation, &sent["id"], "sent").await;
    assert_eq!(delivered["provider_message_id"], "wamid.SENT1");

    let calls = graph.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].account, "106500000001");
    assert_eq!(calls[0].authorization, "Bearer token-1234");
    assert_eq!(
        calls[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
               "type": "text", "text": {"preview_url": false, "body": "Yes, in blue"}})
    );

    // Read arrives before delivered; a late failure changes nothing either.
    let reports = statuses(
        "106500000001",
        json!([
            {"id": "wamid.SENT1", "status": "read", "timestamp": "1750857390", "recipient_id": "16505551234"},
            {"id": "wamid.SENT1", "status": "delivered", "timestamp": "1750857384", "recipient_id": "16505551234"},
            {"id": "wamid.UNKNOWN", "status": "delivered", "timestamp": "1750857384", "recipient_id": "16505551234"}
        ]),
    );
    expect_json(
        post(
            &app,
            "/api/webhooks/whatsapp",
            &reports,
            Some(&sign(APP_SECRET, &reports)),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let read = message_with_status(&app, &admin, &conversation, &sent["id"], "read").await;
    assert_eq!(read["provider_message_id"], "wamid.SENT1");
    let late = statuses(
        "106500000001",
        json!([{"id": "wamid.SENT1", "status": "failed", "timestamp": "1750857399", "recipient_id": "16505551234",
                "errors": [{"code": 131026, "title": "Message undeliverable"}]}]),
    );
    expect_json(
        post(&app, "/api/webhooks/whatsapp", &late, Some(&sign(APP_SECRET, &late))).await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let still = messages(&app, &admin, &conversation).await;
    let still = still.iter().find(|m| m["id"] == sent["id"]).unwrap();
    assert_eq!(still["status"], "read");
    let outcome: Value =
        sqlx::query_scalar("SELECT outcome FROM webhook_deliveries WHERE convert_from(body, 'UTF8') LIKE '%UNKNOWN%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(outcome["unmatched_statuses"], 1, "{outcome}");
    assert_eq!(outcome["statuses"], 1, "{outcome}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sends_are_retried_with_backoff_and_a_4xx_is_final() {
    let graph = GraphStandIn::start().await;
    let url = graph.url.clone();
    let app = spawn_app_with(move |config| {
        config.meta_graph_url = url;
        config.delivery_retry_base = Duration::from_millis(50);
    })
    .await;
    let admin = app.register("Acme").await;
    let conversation = whatsapp_conversation(&app, &admin, "106500000002").await;
    graph.answer_next([
        (
            500,
            json!({"error": {"code": 1, "message": "An unknown error occurred"}}),
        ),
        (
            503,
            json!({"error": {"code": 2, "message": "Service temporarily unavailable"}}),
        ),
    ]);
    let first = reply(&app, &admin, &conversation, "One moment").await;
    message_with_status(&app, &admin, &conversation, &first["id"], "sent").await;
    assert_eq!(graph.calls().len(), 3, "two failures, then success");
    let attempts: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type IN ('MessageDeliveryAttempted', 'MessageSent') ORDER BY position",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[0]["attempt"], 1);
    assert!(
        attempts[0]["error"].as_str().unwrap().contains("500"),
        "{}",
        attempts[0]
    );
    assert!(attempts[0]["retry_at"].is_string());
    assert_eq!(attempts[1]["attempt"], 2);
    assert_eq!(attempts[2]["attempt"], 3);
    assert_eq!(attempts[2]["provider_message_id"], "wamid.SENT3");

    graph.answer_next([(
        400,
        json!({"error": {"code": 131047, "message": "Re-engagement message: more than 24 hours have passed"}}),
    )]);
    let second = reply(&app, &admin, &conversation, "Are you there?").await;
    let failed = message_with_status(&app, &admin, &conversation, &second["id"], "failed").await;
    assert!(failed["error"].as_str().unwrap().contains("131047"), "{failed}");
    assert_eq!(graph.calls().len(), 4, "a 4xx is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_replies_go_out_by_smtp_in_the_customers_thread() {
    let smtp = SmtpStandIn::start().await;
    let url = smtp.url.clone();
    let app = spawn_app_with(move |config| config.smtp_url = Some(url)).await;
    let admin = app.register("Acme").await;
    connect(
        &app,
        &admin,
        json!({"channel": "email", "provider": "postmark", "name": "Help desk",
               "email_address": "help@acme.test", "app_secret": "inbound-token"}),
    )
    .await;
    let email = |id: &str, headers: Value, text: &str| {
        serde_json::to_vec(&json!({
            "From": "budi@example.test", "FromName": "Budi",
            "FromFull": {"Email": "budi@example.test", "Name": "Budi", "MailboxHash": ""},
            "To": "help@acme.test", "ToFull": [{"Email": "help@acme.test", "Name": "", "MailboxHash": ""}],
            "Subject": "Order 42", "MessageID": id, "MailboxHash": "",
            "TextBody": text, "StrippedTextReply": "", "Headers": headers, "Attachments": []
        }))
        .unwrap()
    };
    let inbound = |body: Vec<u8>| {
        let app = &app;
        async move {
            let response = app
                .request(Method::POST, "/api/webhooks/email/postmark?token=inbound-token")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            expect_json(response, StatusCode::OK).await;
            processed(app).await;
        }
    };
    inbound(email(
        "p1",
        json!([{"Name": "Message-ID", "Value": "<first@example.test>"}]),
        "Where is it?",
    ))
    .await;
    let conversation = conversations(&app, &admin, "channel=email").await.remove(0);
    let sent = reply(&app, &admin, &conversation, "We shipped it today.").await;
    let delivered = message_with_status(&app, &admin, &conversation, &sent["id"], "sent").await;
    let message_id = delivered["provider_message_id"].as_str().unwrap().to_owned();
    assert_eq!(message_id, format!("<{}@acme.test>", sent["id"].as_str().unwrap()));

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].from, "help@acme.test");
    assert_eq!(mails[0].to, ["budi@example.test"]);
    let data = &mails[0].data;
    let conversation_id = conversation["id"].as_str().unwrap();
    for header in [
        "Subject: Re: Order 42".to_owned(),
        "In-Reply-To: <first@example.test>".to_owned(),
        "References: <first@example.test>".to_owned(),
        format!("Reply-To: help+{conversation_id}@acme.test"),
        format!("Message-ID: {message_id}"),
    ] {
        assert!(data.contains(&header), "{header} missing in:\n{data}");
    }
    assert!(data.contains("We shipped it today."), "{data}");

    // The customer answers our e-mail: it threads by our Message-ID.
    inbound(email(
        "p2",
        json!([{"Name": "Message-ID", "Value": "<third@example.test>"},
               {"Name": "In-Reply-To", "Value": message_id}]),
        "Thanks!",
    ))
    .await;
    let listed = conversations(&app, &admin, "channel=email").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(messages(&app, &admin, &listed[0]).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_replies_go_through_the_send_api() {
    let graph = GraphStandIn::start().await;
    let url = graph.url.clone();
    let app = spawn_app_with(move |config| config.meta_graph_url = url).await;
    let admin = app.register("Acme").await;
    connect(
        &app,
        &admin,
        json!({"channel": "instagram", "name": "Shop", "instagram_account_id": "17841400000001",
               "access_token": "ig-token-9999", "app_secret": APP_SECRET, "verify_token": "ig-v"}),
    )
    .await;
    let now = chrono::Utc::now().timestamp_millis();
    let body = serde_json::to_vec(
        &json!({"object": "instagram", "entry": [{"id": "17841400000001", "time": now, "messaging": [
        {"sender": {"id": "6543219876500001"}, "recipient": {"id": "17841400000001"}, "timestamp": now,
         "message": {"mid": "m_ig_in", "text": "Price?"}}]}]}),
    )
    .unwrap();
    expect_json(
        post(&app, "/api/webhooks/instagram", &body, Some(&sign(APP_SECRET, &body))).await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let conversation = conversations(&app, &admin, "channel=instagram").await.remove(0);
    let sent = reply(&app, &admin, &conversation, "IDR 150.000").await;
    let delivered = message_with_status(&app, &admin, &conversation, &sent["id"], "sent").await;
    assert_eq!(delivered["provider_message_id"], "mid.SENT1");
    let calls = graph.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].account, "17841400000001");
    assert_eq!(calls[0].authorization, "Bearer ig-token-9999");
    assert_eq!(
        calls[0].body,
        json!({"recipient": {"id": "6543219876500001"}, "message": {"text": "IDR 150.000"}})
    );
}

/// Uploads a file; answers its media id.
async fn upload(app: &TestApp, admin: &Session, name: &str, mime: &str, content: &[u8]) -> Value {
    let part = reqwest::multipart::Part::bytes(content.to_vec())
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap();
    let response = app
        .as_session(Method::POST, "/api/media", &admin.token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    expect_json(response, StatusCode::CREATED).await["id"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_out_uploaded_to_whatsapp_and_attached_to_emails() {
    let graph = GraphStandIn::start().await;
    let smtp = SmtpStandIn::start().await;
    let (graph_url, smtp_url) = (graph.url.clone(), smtp.url.clone());
    let app = spawn_app_with(move |config| {
        config.meta_graph_url = graph_url;
        config.smtp_url = Some(smtp_url);
    })
    .await;
    let admin = app.register("Acme").await;
    let conversation = whatsapp_conversation(&app, &admin, "106500000077").await;
    let photo = upload(&app, &admin, "blue.jpg", "image/jpeg", b"\xff\xd8\xff-a-blue-shirt").await;
    let id = conversation["id"].as_str().unwrap();
    let sent = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/conversations/{id}/messages"),
            Some(json!({"text": "This one?", "media_ids": [photo]})),
            StatusCode::CREATED,
        )
        .await;
    message_with_status(&app, &admin, &conversation, &sent["id"], "sent").await;
    let uploads = graph.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].account, "106500000077");
    assert_eq!(uploads[0].file_name, "blue.jpg");
    assert_eq!(uploads[0].content, b"\xff\xd8\xff-a-blue-shirt");
    assert!(uploads[0]
        .fields
        .contains(&("messaging_product".into(), "whatsapp".into())));
    assert_eq!(
        graph.calls()[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
               "type": "image", "image": {"id": "media.1", "caption": "This one?"}})
    );

    connect(
        &app,
        &admin,
        json!({"channel": "email", "provider": "postmark", "name": "Help", "email_address": "help@acme.test", "app_secret": "tok"}),
    )
    .await;
    let inbound = serde_json::to_vec(&json!({
        "From": "budi@example.test", "FromFull": {"Email": "budi@example.test", "Name": "Budi", "MailboxHash": ""},
        "ToFull": [{"Email": "help@acme.test", "Name": "", "MailboxHash": ""}], "Subject": "Invoice",
        "MessageID": "x", "MailboxHash": "", "TextBody": "Send the invoice?", "StrippedTextReply": "",
        "Headers": [{"Name": "Message-ID", "Value": "<inv@example.test>"}], "Attachments": []
    }))
    .unwrap();
    let response = app
        .request(Method::POST, "/api/webhooks/email/postmark?token=tok")
        .header("content-type", "application/json")
        .body(inbound)
        .send()
        .await
        .unwrap();
    expect_json(response, StatusCode::OK).await;
    processed(&app).await;
    let email_conversation = conversations(&app, &admin, "channel=email").await.remove(0);
    let invoice = upload(
        &app,
        &admin,
        "invoice-7.pdf",
        "application/pdf",
        b"%PDF-1.4 invoice seven",
    )
    .await;
    let email_id = email_conversation["id"].as_str().unwrap();
    let sent = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/conversations/{email_id}/messages"),
            Some(json!({"text": "Attached.", "media_ids": [invoice], "message_type": "document"})),
            StatusCode::CREATED,
        )
        .await;
    message_with_status(&app, &admin, &email_conversation, &sent["id"], "sent").await;
    let data = &smtp.mails()[0].data;
    assert!(data.contains("Content-Type: multipart/mixed"), "{data}");
    assert!(data.contains("filename=\"invoice-7.pdf\""), "{data}");
    assert!(data.contains("Attached."), "{data}");
}
