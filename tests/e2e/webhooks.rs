//! The webhook receivers: signed provider deliveries become contacts, conversations and
//! messages exactly once; anything unauthenticated, unroutable or unreadable stores nothing.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use omnistream_tests::channels::{
    connect, conversations, customer_writes, deliveries, messages, post, processed, sign, wa_message, whatsapp_account,
    APP_SECRET,
};
use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::private_postgres::PrivatePostgres;
use omnistream_tests::{spawn_app, spawn_app_on, spawn_app_with, spawn_ingestor};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_deliveries_become_conversations_exactly_once() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    whatsapp_account(&app, &admin, "106540352242922").await;

    // Meta's verification request.
    let verified = app
        .request(
            Method::GET,
            "/api/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-106540352242922&hub.challenge=1158201444",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    assert_eq!(verified.text().await.unwrap(), "1158201444");
    let refused = app
        .request(
            Method::GET,
            "/api/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
        )
        .send()
        .await
        .unwrap();
    expect_error(refused, StatusCode::FORBIDDEN, "forbidden").await;

    // Two customers in one delivery: text, an image, a reaction (kept as unsupported), and
    // Indonesian text with non-ASCII characters (the signature is over the raw bytes).
    let mut delivery = wa_message(
        "106540352242922",
        "16505551234",
        "Sheena Nelson",
        json!([
            {"from": "16505551234", "id": "wamid.A1", "timestamp": "1749416383", "type": "text", "text": {"body": "Does it come in another color?"}},
            {"from": "16505551234", "id": "wamid.A2", "timestamp": "1749416390", "type": "image",
             "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc", "caption": "this one"}},
            {"from": "16505551234", "id": "wamid.A3", "timestamp": "1749416395", "type": "reaction",
             "reaction": {"message_id": "wamid.A1", "emoji": "👍"}}
        ]),
    );
    let second = wa_message(
        "106540352242922",
        "6281234567890",
        "Budi",
        json!([{"from": "6281234567890", "id": "wamid.B1", "timestamp": "1749416400", "type": "text", "text": {"body": "Apakah barangnya masih ada? Terima kasih 🙏"}}]),
    );
    let change = second["entry"][0]["changes"][0].clone();
    delivery["entry"][0]["changes"].as_array_mut().unwrap().push(change);
    let body = serde_json::to_vec(&delivery).unwrap();
    let accepted = expect_json(
        post(&app, "/api/webhooks/whatsapp", &body, Some(&sign(APP_SECRET, &body))).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(accepted["accepted"], true);
    let delivery_id = accepted["delivery_ids"][0].as_str().unwrap().to_owned();
    processed(&app).await;

    let listed = conversations(&app, &admin, "channel=whatsapp").await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let sheena = listed.iter().find(|c| c["contact"]["name"] == "Sheena Nelson").unwrap();
    assert_eq!(sheena["contact"]["phone"], "+16505551234");
    let budi = listed.iter().find(|c| c["contact"]["name"] == "Budi").unwrap();
    let sheena_messages = messages(&app, &admin, sheena).await;
    assert_eq!(sheena_messages.len(), 3);
    assert_eq!(sheena_messages[0]["text"], "Does it come in another color?");
    assert_eq!(sheena_messages[0]["direction"], "inbound");
    assert_eq!(sheena_messages[0]["provider_message_id"], "wamid.A1");
    assert_eq!(sheena_messages[1]["message_type"], "image");
    assert_eq!(sheena_messages[1]["text"], "this one");
    assert_eq!(
        sheena_messages[1]["attachments"][0]["provider_media_id"],
        "1479537139650973"
    );
    assert_eq!(sheena_messages[2]["message_type"], "unsupported");
    let budi_messages = messages(&app, &admin, budi).await;
    assert_eq!(budi_messages[0]["text"], "Apakah barangnya masih ada? Terima kasih 🙏");

    // Every event names the delivery it came from.
    let causes: Vec<Option<String>> =
        sqlx::query_scalar("SELECT metadata->>'causation_id' FROM events WHERE event_type = 'MessageReceived'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(causes.len(), 4);
    assert!(
        causes.iter().all(|c| c.as_deref() == Some(delivery_id.as_str())),
        "{causes:?}"
    );
    let actor: Value =
        sqlx::query_scalar("SELECT metadata->'actor' FROM events WHERE event_type = 'MessageReceived' LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor["kind"], "provider");

    // A redelivery is accepted and changes nothing.
    let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let again = expect_json(
        post(&app, "/api/webhooks/whatsapp", &body, Some(&sign(APP_SECRET, &body))).await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let events_after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events_before, events_after, "a redelivery appends nothing");
    let outcome: Value = sqlx::query_scalar("SELECT outcome FROM webhook_deliveries WHERE id = $1")
        .bind(Uuid::parse_str(again["delivery_ids"][0].as_str().unwrap()).unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(outcome["duplicates"], 4, "{outcome}");
    assert_eq!(outcome["messages"], 0, "{outcome}");
    assert_eq!(conversations(&app, &admin, "channel=whatsapp").await.len(), 2);

    // The customer writes again later: same conversation.
    let later = serde_json::to_vec(&wa_message(
        "106540352242922",
        "16505551234",
        "Sheena Nelson",
        json!([{"from": "16505551234", "id": "wamid.A4", "timestamp": "1749416500", "type": "text", "text": {"body": "Hello?"}}]),
    ))
    .unwrap();
    expect_json(
        post(&app, "/api/webhooks/whatsapp", &later, Some(&sign(APP_SECRET, &later))).await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let listed = conversations(&app, &admin, "channel=whatsapp").await;
    assert_eq!(listed.len(), 2);
    let sheena = listed.iter().find(|c| c["contact"]["name"] == "Sheena Nelson").unwrap();
    assert_eq!(sheena["last_message"]["preview"], "Hello?", "{sheena}");

    // The delivery log traces every message to its webhook.
    let logged = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/webhook-deliveries/{delivery_id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(logged["provider"], "whatsapp");
    assert_eq!(logged["verification"], "x-hub-signature-256");
    assert_eq!(logged["state"], "processed");
    assert_eq!(logged["outcome"]["messages"], 4);
    assert_eq!(
        logged["body"].as_str().unwrap().as_bytes(),
        body.as_slice(),
        "kept byte for byte"
    );
    let page = app
        .call(
            &admin,
            Method::GET,
            "/api/webhook-deliveries?limit=2",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let older = app
        .call(
            &admin,
            Method::GET,
            &format!(
                "/api/webhook-deliveries?limit=2&before={}",
                page["next_cursor"].as_str().unwrap()
            ),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(older["data"].as_array().unwrap().len(), 1);
    assert!(older.get("next_cursor").is_none());
    app.refused(
        &admin,
        Method::GET,
        "/api/webhook-deliveries?limit=0",
        None,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let other = app.register("Other").await;
    app.refused(
        &other,
        Method::GET,
        &format!("/api/webhook-deliveries/{delivery_id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_unroutable_or_unreadable_deliveries_store_nothing() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    whatsapp_account(&app, &admin, "555000111").await;
    let message = json!([{"from": "16505551234", "id": "wamid.X", "timestamp": "1749416383", "type": "text", "text": {"body": "hi"}}]);
    let body = serde_json::to_vec(&wa_message("555000111", "16505551234", "A", message.clone())).unwrap();

    let missing = post(&app, "/api/webhooks/whatsapp", &body, None).await;
    expect_error(missing, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong = post(
        &app,
        "/api/webhooks/whatsapp",
        &body,
        Some(&sign("another-secret", &body)),
    )
    .await;
    expect_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let garbled = post(&app, "/api/webhooks/whatsapp", &body, Some("sha256=zz")).await;
    expect_error(garbled, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Signed over other bytes: the same JSON re-serialized with a space.
    let mut tampered = body.clone();
    tampered.insert(1, b' ');
    let tampered_response = post(
        &app,
        "/api/webhooks/whatsapp",
        &tampered,
        Some(&sign(APP_SECRET, &body)),
    )
    .await;
    expect_error(tampered_response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let unknown = serde_json::to_vec(&wa_message("999999", "16505551234", "A", message)).unwrap();
    let response = post(
        &app,
        "/api/webhooks/whatsapp",
        &unknown,
        Some(&sign(APP_SECRET, &unknown)),
    )
    .await;
    expect_error(response, StatusCode::NOT_FOUND, "unknown_account").await;

    for bad in [
        b"{not json".to_vec(),
        br#"{"object":"page","entry":[]}"#.to_vec(),
        br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[]}}]}]}"#.to_vec(),
    ] {
        let response = post(&app, "/api/webhooks/whatsapp", &bad, Some(&sign(APP_SECRET, &bad))).await;
        let error = expect_error(response, StatusCode::BAD_REQUEST, "malformed_payload").await;
        assert!(!error["message"].as_str().unwrap().contains("SELECT"), "{error}");
    }
    assert_eq!(deliveries(&app).await, 0, "nothing refused was stored");

    // A disabled channel takes nothing either.
    app.call(
        &admin,
        Method::PUT,
        "/api/integrations/whatsapp",
        Some(json!({"enabled": false})),
        StatusCode::OK,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = serde_json::to_vec(&wa_message(
        "555000111",
        "16505551234",
        "A",
        json!([{"from": "16505551234", "id": "wamid.Y", "timestamp": "1749416383", "type": "text", "text": {"body": "hi"}}]),
    ))
    .unwrap();
    // The receivers cache accounts for a few seconds; wait for the change to show.
    let mut status = StatusCode::OK;
    for _ in 0..30 {
        status = post(&app, "/api/webhooks/whatsapp", &fresh, Some(&sign(APP_SECRET, &fresh)))
            .await
            .status();
        if status == StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_echoes_are_outbound_and_read_receipts_track_them() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    connect(
        &app,
        &admin,
        json!({"channel": "instagram", "name": "Shop", "instagram_account_id": "17841470026191358",
               "access_token": "t-0001", "app_secret": APP_SECRET, "verify_token": "ig-verify"}),
    )
    .await;
    let body = serde_json::to_vec(&json!({"object": "instagram", "entry": [{"id": "17841470026191358", "time": 1729604868526_i64, "messaging": [
        {"sender": {"id": "6543219876543210"}, "recipient": {"id": "17841470026191358"}, "timestamp": 1729604868365_i64,
         "message": {"mid": "m_in_1", "text": "Is this still available?"}},
        {"sender": {"id": "17841470026191358"}, "recipient": {"id": "6543219876543210"}, "timestamp": 1729604869000_i64,
         "message": {"mid": "m_echo_1", "text": "Yes it is", "is_echo": true}},
        {"sender": {"id": "6543219876543210"}, "recipient": {"id": "17841470026191358"}, "timestamp": 1729604870000_i64,
         "read": {"mid": "m_echo_1"}}
    ]}]}))
    .unwrap();
    let verified = app
        .request(
            Method::GET,
            "/api/webhooks/instagram?hub.mode=subscribe&hub.verify_token=ig-verify&hub.challenge=42",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(verified.text().await.unwrap(), "42");
    expect_json(
        post(&app, "/api/webhooks/instagram", &body, Some(&sign(APP_SECRET, &body))).await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let listed = conversations(&app, &admin, "channel=instagram").await;
    assert_eq!(listed.len(), 1);
    let all = messages(&app, &admin, &listed[0]).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        (all[0]["direction"].as_str(), all[0]["text"].as_str()),
        (Some("inbound"), Some("Is this still available?"))
    );
    assert_eq!(all[1]["direction"], "outbound");
    assert_eq!(all[1]["text"], "Yes it is");
    assert_eq!(all[1]["status"], "read", "the read receipt moved the echo on");
    assert_eq!(listed[0]["unread_count"], 1, "an echo is not a customer message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_thread_by_headers_then_plus_address() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    connect(
        &app,
        &admin,
        json!({"channel": "email", "provider": "postmark", "name": "Help desk",
               "email_address": "help@acme.test", "app_secret": "postmark-inbound-token"}),
    )
    .await;
    let email = |message_id: &str, to: &str, subject: &str, headers: Value, text: &str| {
        serde_json::to_vec(&json!({
            "From": "budi@example.test", "FromName": "Budi Santoso",
            "FromFull": {"Email": "budi@example.test", "Name": "Budi Santoso", "MailboxHash": ""},
            "To": to, "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}],
            "Subject": subject, "MessageID": message_id, "MailboxHash": "",
            "TextBody": text, "StrippedTextReply": "", "Headers": headers, "Attachments": []
        }))
        .unwrap()
    };
    let send = |body: Vec<u8>, token: &'static str| {
        let app = &app;
        async move {
            app.request(Method::POST, &format!("/api/webhooks/email/postmark?token={token}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = email(
        "m1",
        "help@acme.test",
        "Order 42 is late",
        json!([{"Name": "Message-ID", "Value": "<first@example.test>"}]),
        "Where is my order?",
    );
    expect_error(
        send(first.clone(), "wrong-token").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_json(send(first, "postmark-inbound-token").await, StatusCode::OK).await;
    // A reply in the thread, over basic auth.
    let reply = email(
        "m2",
        "help@acme.test",
        "Re: Order 42 is late",
        json!([{"Name": "Message-ID", "Value": "<second@example.test>"},
               {"Name": "In-Reply-To", "Value": "<first@example.test>"},
               {"Name": "References", "Value": "<first@example.test>"}]),
        "Any news?",
    );
    let basic = app
        .request(Method::POST, "/api/webhooks/email/postmark")
        .basic_auth("postmark", Some("postmark-inbound-token"))
        .header("content-type", "application/json")
        .body(reply)
        .send()
        .await
        .unwrap();
    expect_json(basic, StatusCode::OK).await;
    processed(&app).await;
    let listed = conversations(&app, &admin, "channel=email").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["subject"], "Order 42 is late");
    let thread = listed[0]["id"].as_str().unwrap().to_owned();

    // No threading headers, but the plus-address names the conversation.
    let plus = email(
        "m3",
        &format!("help+{thread}@acme.test"),
        "something else",
        json!([{"Name": "Message-ID", "Value": "<third@example.test>"}]),
        "Also, the invoice.",
    );
    expect_json(send(plus, "postmark-inbound-token").await, StatusCode::OK).await;
    // A new subject and no thread: a new conversation.
    let fresh = email(
        "m4",
        "HELP@acme.test",
        "New question",
        json!([{"Name": "Message-ID", "Value": "<fourth@example.test>"}]),
        "Do you ship to Bali?",
    );
    expect_json(send(fresh, "postmark-inbound-token").await, StatusCode::OK).await;
    processed(&app).await;
    let listed = conversations(&app, &admin, "channel=email").await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let first_thread = listed.iter().find(|c| c["id"] == thread.as_str()).unwrap();
    assert_eq!(messages(&app, &admin, first_thread).await.len(), 3);
    assert_eq!(first_thread["contact"]["email"], "budi@example.test");

    // To an address no account has.
    let stray = email("m5", "sales@elsewhere.test", "x", json!([]), "x");
    expect_error(
        send(stray, "postmark-inbound-token").await,
        StatusCode::NOT_FOUND,
        "unknown_account",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailgun_deliveries_need_a_fresh_signature() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    connect(
        &app,
        &admin,
        json!({"channel": "email", "provider": "mailgun", "name": "Sales",
               "email_address": "sales@acme.test", "app_secret": "mailgun-signing-key"}),
    )
    .await;
    let form = |timestamp: i64, signature: Option<String>| {
        let mut fields = vec![
            ("timestamp", timestamp.to_string()),
            ("token", "token-abc".to_owned()),
            ("sender", "ani@example.test".to_owned()),
            ("from", "Ani <ani@example.test>".to_owned()),
            ("recipient", "sales@acme.test".to_owned()),
            ("subject", "Price list".to_owned()),
            (
                "message-headers",
                r#"[["Message-Id", "<mg-1@example.test>"]]"#.to_owned(),
            ),
            ("body-plain", "Please send the price list.".to_owned()),
        ];
        if let Some(signature) = signature {
            fields.push(("signature", signature));
        }
        serde_urlencoded::to_string(fields).unwrap()
    };
    let signature = |timestamp: i64, key: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{timestamp}token-abc").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let send = |body: String| {
        let app = &app;
        async move {
            app.request(Method::POST, "/api/webhooks/email/mailgun")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let now = chrono::Utc::now().timestamp();
    expect_error(send(form(now, None)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    expect_error(
        send(form(now, Some(signature(now, "wrong-key")))).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let stale = now - 3600;
    expect_error(
        send(form(stale, Some(signature(stale, "mailgun-signing-key")))).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_eq!(deliveries(&app).await, 0);
    expect_json(
        send(form(now, Some(signature(now, "mailgun-signing-key")))).await,
        StatusCode::OK,
    )
    .await;
    processed(&app).await;
    let listed = conversations(&app, &admin, "channel=email").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["contact"]["name"], "Ani");
    assert_eq!(listed[0]["subject"], "Price list");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_ingestor_serves_the_receivers_alone() {
    let app = spawn_app_with(|config| config.run_webhook_processor = false).await;
    let admin = app.register("Acme").await;
    whatsapp_account(&app, &admin, "777000777").await;
    let ingestor = spawn_ingestor(&app).await;
    let client = reqwest::Client::new();
    let health = client.get(format!("{ingestor}/api/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let api = client
        .get(format!("{ingestor}/api/conversations"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND, "the ingestor serves no API");
    let body = serde_json::to_vec(&wa_message(
        "777000777",
        "16505550000",
        "Ingested",
        json!([{"from": "16505550000", "id": "wamid.I1", "timestamp": "1749416383", "type": "text", "text": {"body": "via the ingestor"}}]),
    ))
    .unwrap();
    let accepted = client
        .post(format!("{ingestor}/api/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(APP_SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    expect_json(accepted, StatusCode::OK).await;
    // The ingestor's processor (the app's own is off) records it; the app's inbox shows it.
    processed(&app).await;
    let listed = conversations(&app, &admin, "channel=whatsapp").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["last_message"]["preview"], "via the ingestor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_contact_deletes_the_deliveries_that_carried_its_messages() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    whatsapp_account(&app, &admin, "888000888").await;
    for (wa_id, id) in [("16505550001", "wamid.E1"), ("16505550002", "wamid.E2")] {
        let body = serde_json::to_vec(&wa_message(
            "888000888",
            wa_id,
            "Someone",
            json!([{"from": wa_id, "id": id, "timestamp": "1749416383", "type": "text", "text": {"body": "private words"}}]),
        ))
        .unwrap();
        expect_json(
            post(&app, "/api/webhooks/whatsapp", &body, Some(&sign(APP_SECRET, &body))).await,
            StatusCode::OK,
        )
        .await;
    }
    processed(&app).await;
    assert_eq!(deliveries(&app).await, 2);
    let listed = conversations(&app, &admin, "channel=whatsapp").await;
    let erased = listed.iter().find(|c| c["contact"]["phone"] == "+16505550001").unwrap();
    let contact_id = erased["contact"]["id"].as_str().unwrap();
    app.call(
        &admin,
        Method::POST,
        &format!("/api/contacts/{contact_id}/erase"),
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(deliveries(&app).await, 1, "only the other customer's delivery is left");
    let left: Vec<u8> = sqlx::query_scalar("SELECT body FROM webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&left).contains("16505550002"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendgrid_inbound_parse_is_taken_with_the_accounts_token() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    connect(
        &app,
        &admin,
        json!({"channel": "email", "provider": "sendgrid", "name": "Billing",
               "email_address": "billing@acme.test", "app_secret": "sendgrid-inbound-token"}),
    )
    .await;
    let form = || {
        reqwest::multipart::Form::new()
            .text("headers", "Message-ID: <sg-1@example.test>\r\nSubject: Invoice 7")
            .text("from", "Dewi Lestari <dewi@example.test>")
            .text("to", "billing@acme.test")
            .text("subject", "Invoice 7")
            .text("text", "Is invoice 7 paid?")
            .text("envelope", r#"{"to":["billing@acme.test"],"from":"dewi@example.test"}"#)
    };
    let send = |token: &'static str| {
        let app = &app;
        async move {
            app.request(Method::POST, &format!("/api/webhooks/email/sendgrid?token={token}"))
                .multipart(form())
                .send()
                .await
                .unwrap()
        }
    };
    expect_error(send("wrong").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let garbled = app
        .request(
            Method::POST,
            "/api/webhooks/email/sendgrid?token=sendgrid-inbound-token",
        )
        .header("content-type", "multipart/form-data; boundary=nothing")
        .body("not multipart")
        .send()
        .await
        .unwrap();
    expect_error(garbled, StatusCode::BAD_REQUEST, "malformed_payload").await;
    assert_eq!(deliveries(&app).await, 0);
    let accepted = expect_json(send("sendgrid-inbound-token").await, StatusCode::OK).await;
    assert_eq!(accepted["accepted"], true);
    processed(&app).await;
    let listed = conversations(&app, &admin, "channel=email").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["contact"]["name"], "Dewi Lestari");
    assert_eq!(listed[0]["subject"], "Invoice 7");
    assert_eq!(listed[0]["last_message"]["preview"], "Is invoice 7 paid?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mails_with_attachments_beyond_the_api_body_limit_are_taken() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    connect(
        &app,
        &admin,
        json!({"channel": "email", "provider": "postmark", "name": "Help", "email_address": "help@acme.test", "app_secret": "tok"}),
    )
    .await;
    // A 3 MB attachment, base64 as Postmark sends it: over the 1 MiB API body limit.
    let content = "QUJD".repeat(1024 * 1024);
    let body = serde_json::to_vec(&json!({
        "From": "budi@example.test", "FromFull": {"Email": "budi@example.test", "Name": "Budi", "MailboxHash": ""},
        "ToFull": [{"Email": "help@acme.test", "Name": "", "MailboxHash": ""}], "Subject": "Scan",
        "MessageID": "big", "MailboxHash": "", "TextBody": "Scan attached.", "StrippedTextReply": "",
        "Headers": [{"Name": "Message-ID", "Value": "<big@example.test>"}],
        "Attachments": [{"Name": "scan.pdf", "Content": content, "ContentType": "application/pdf", "ContentLength": 3145728}]
    }))
    .unwrap();
    assert!(body.len() > 4 * 1024 * 1024);
    let response = app
        .request(Method::POST, "/api/webhooks/email/postmark?token=tok")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    expect_json(response, StatusCode::OK).await;
    processed(&app).await;
    let conversation = conversations(&app, &admin, "channel=email").await.remove(0);
    let all = messages(&app, &admin, &conversation).await;
    assert_eq!(all[0]["attachments"][0]["name"], "scan.pdf");
    assert_eq!(all[0]["attachments"][0]["mime_type"], "application/pdf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_merge_the_customers_next_message_lands_in_the_moved_conversation() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    whatsapp_account(&app, &admin, "400000001").await;
    let write = |id: &'static str| {
        customer_writes(
            &app,
            "400000001",
            ("6281500000001", "Putri"),
            id,
            chrono::Utc::now(),
            id,
        )
    };
    write("wamid.M1").await;
    let before = conversations(&app, &admin, "channel=whatsapp").await.remove(0);
    let source = before["contact"]["id"].as_str().unwrap().to_owned();
    let target = app
        .contact(&admin, json!({"name": "Putri Ayu", "email": "putri@example.test"}))
        .await;
    app.call(
        &admin,
        Method::POST,
        &format!("/api/contacts/{target}/merge"),
        Some(json!({"source_contact_id": source})),
        StatusCode::OK,
    )
    .await;
    write("wamid.M2").await;
    let after = conversations(&app, &admin, "channel=whatsapp").await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["id"], before["id"]);
    assert_eq!(after[0]["contact"]["id"], target.to_string());
    assert_eq!(messages(&app, &admin, &after[0]).await.len(), 2);
}

/// A delivery caught mid-processing by a database stop is taken again soon after the database
/// returns, not when its claim's lease (60 s) ends: the processor records how that attempt
/// ended once it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_caught_mid_processing_by_a_database_stop_is_retried_soon_after_it_returns() {
    let postgres = PrivatePostgres::start();
    let url = postgres.url("omnistream");
    let app = spawn_app_on(&url, |_| {}).await;
    let admin = app.register("Outage Org").await;
    whatsapp_account(&app, &admin, "880002").await;

    // Appends wait behind this lock: the processor claims the delivery, then waits at its events.
    let mut blocker = PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE events IN SHARE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let body = serde_json::to_vec(&wa_message(
        "880002",
        "15550002",
        "Grace",
        json!([{"from": "15550002", "id": "wamid.outage", "timestamp": "1749416383", "type": "text",
                "text": {"body": "sent as the database stopped"}}]),
    ))
    .unwrap();
    let response = post(&app, "/api/webhooks/whatsapp", &body, Some(&sign(APP_SECRET, &body))).await;
    expect_json(response, StatusCode::OK).await;
    let waiting = "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE attempts = 1) \
                   AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock')";
    let started = Instant::now();
    while !sqlx::query_scalar::<_, bool>(waiting)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the processor never reached the events"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    postgres.stop();
    drop(blocker);
    postgres.resume();
    let resumed = Instant::now();
    let progress = "SELECT state, attempts FROM webhook_deliveries";
    loop {
        if let Ok((state, attempts)) = sqlx::query_as::<_, (String, i32)>(progress).fetch_one(&app.pool).await {
            if state == "processed" {
                assert_eq!(attempts, 2, "taken once more");
                break;
            }
        }
        assert!(
            resumed.elapsed() < Duration::from_secs(30),
            "the delivery waited for its lease to end"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    processed(&app).await;
    let listed = conversations(&app, &admin, "").await;
    let texts: Vec<Value> = messages(&app, &admin, &listed[0])
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, vec![json!("sent as the database stopped")]);
}
