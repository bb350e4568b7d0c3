//! CSAT: per-channel settings, a survey sent as a message after each resolution, the public
//! token-bound answer (once), and the survey listing.

use std::time::Duration;

use omnistream_commands::{CommandBus, CommandContext, Scope};
use omnistream_domain::Actor;
use omnistream_tests::client::Session;
use omnistream_tests::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

/// The survey link's token in the conversation's messages, once the job sent it.
async fn survey_token(app: &TestApp, admin: &Session, id: Uuid) -> String {
    let path = format!("/api/conversations/{id}/messages");
    for _ in 0..100 {
        let page = app.call(admin, Method::GET, &path, None, StatusCode::OK).await;
        let texts: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect();
        if let Some(text) = texts.iter().find(|t| t.contains("/csat/")) {
            assert!(text.starts_with("Rate us: http://127.0.0.1:8080/csat/"), "{text}");
            return text.rsplit('/').next().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no survey was sent in {id}");
}

async fn resolve(app: &TestApp, admin: &Session, id: Uuid, status: &str) {
    app.call(
        admin,
        Method::PUT,
        &format!("/api/conversations/{id}/status"),
        Some(json!({ "status": status })),
        StatusCode::OK,
    )
    .await;
}

fn public(app: &TestApp, method: Method, token: &str) -> reqwest::RequestBuilder {
    app.request(method, &format!("/api/csat/{token}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_settings_are_per_channel_and_validated() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let all = app
        .call(&admin, Method::GET, "/api/csat/settings", None, StatusCode::OK)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    assert_eq!(all[0]["enabled"], false);
    let set = app
        .call(
            &admin,
            Method::PUT,
            "/api/csat/settings/whatsapp",
            Some(json!({"enabled": true, "expires_after_hours": 48})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (set["enabled"].as_bool(), set["expires_after_hours"].as_i64()),
        (Some(true), Some(48))
    );
    assert!(set["message"].as_str().unwrap().contains("{{link}}"));
    for (body, field) in [
        (json!({"enabled": true, "message": "Rate us!"}), "message"),
        (
            json!({"enabled": true, "expires_after_hours": 0}),
            "expires_after_hours",
        ),
        (
            json!({"enabled": true, "expires_after_hours": 10_000}),
            "expires_after_hours",
        ),
    ] {
        let error = app
            .refused(
                &admin,
                Method::PUT,
                "/api/csat/settings/email",
                Some(body),
                StatusCode::BAD_REQUEST,
                "validation_failed",
            )
            .await;
        assert_eq!(error["details"]["field"], field, "{error}");
    }
    app.refused(
        &admin,
        Method::PUT,
        "/api/csat/settings/fax",
        Some(json!({"enabled": true})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &agent,
        Method::PUT,
        "/api/csat/settings/email",
        Some(json!({"enabled": true})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.refused(
        &agent,
        Method::GET,
        "/api/csat/settings",
        None,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let response = app.request(Method::GET, "/api/csat/settings").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let other = app.register("Other").await;
    let theirs = app
        .call(&other, Method::GET, "/api/csat/settings", None, StatusCode::OK)
        .await;
    assert!(theirs.as_array().unwrap().iter().all(|s| s["configured"] == false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolution_sends_a_survey_the_customer_answers_once_through_its_link() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    app.call(
        &admin,
        Method::PUT,
        "/api/csat/settings/api",
        Some(json!({"enabled": true, "message": "Rate us: {{link}}"})),
        StatusCode::OK,
    )
    .await;
    let id = app.conversation(&admin, "Budi").await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{id}/assign"),
        Some(json!({"agent_id": admin.agent_id})),
        StatusCode::OK,
    )
    .await;
    app.message(&admin, id, "inbound", "My order is late").await;
    app.message(&admin, id, "outbound", "Fixed it!").await;
    resolve(&app, &admin, id, "resolved").await;
    let token = survey_token(&app, &admin, id).await;

    let open = public(&app, Method::GET, &token).send().await.unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    let open: Value = open.json().await.unwrap();
    assert_eq!(open["status"], "sent");

    // Bad input and wrong tokens change nothing.
    let (survey_id, secret) = token.split_once('.').unwrap();
    for (body, status) in [
        (json!({"rating": 6}), StatusCode::BAD_REQUEST),
        (json!({"rating": "five"}), StatusCode::BAD_REQUEST),
        (
            json!({"rating": 4, "comment": "x".repeat(2001)}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = public(&app, Method::POST, &token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), status, "{body}");
    }
    let forged = format!("{survey_id}.{}", "0".repeat(secret.len()));
    for wrong in [
        forged.as_str(),
        "nonsense",
        survey_id,
        "00000000000000000000000000000000.abc",
    ] {
        let response = public(&app, Method::POST, wrong)
            .json(&json!({"rating": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{wrong}");
        let response = public(&app, Method::GET, wrong).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{wrong}");
    }

    let answered = public(&app, Method::POST, &token)
        .json(&json!({"rating": 4, "comment": " Quick and kind "}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    let answered: Value = answered.json().await.unwrap();
    assert_eq!(
        (answered["status"].as_str(), answered["rating"].as_i64()),
        (Some("answered"), Some(4))
    );
    let again = public(&app, Method::POST, &token)
        .json(&json!({"rating": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "one answer per survey");

    let surveys = app
        .call(&admin, Method::GET, "/api/csat/surveys", None, StatusCode::OK)
        .await;
    assert_eq!(surveys["total"], 1, "{surveys}");
    let survey = &surveys["data"][0];
    assert_eq!(survey["status"], "answered");
    assert_eq!(survey["rating"], 4);
    assert_eq!(survey["comment"], "Quick and kind");
    assert_eq!(survey["agent_id"], admin.agent_id.to_string());
    assert_eq!(survey["conversation_id"], id.to_string());
    for (query, total) in [("status=answered", 1), ("status=sent", 0), ("status=expired", 0)] {
        let page = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/csat/surveys?{query}"),
                None,
                StatusCode::OK,
            )
            .await;
        assert_eq!(page["total"], total, "{query}");
    }
    app.refused(
        &admin,
        Method::GET,
        "/api/csat/surveys?status=lost",
        None,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    app.refused(
        &agent,
        Method::GET,
        "/api/csat/surveys",
        None,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let other = app.register("Other").await;
    let theirs = app
        .call(&other, Method::GET, "/api/csat/surveys", None, StatusCode::OK)
        .await;
    assert_eq!(theirs["total"], 0);

    // One survey per resolution, however often its job runs; a reopened and resolved
    // conversation gets a new one.
    let store = omnistream_api::app::shredding(&app.pool, &app.store);
    let bus = CommandBus::new(store);
    let ctx = CommandContext::new(Scope::Tenant(admin.organization_id), Actor::system(), None);
    let resolved_version: i64 = sqlx::query_scalar(
        "SELECT version FROM events WHERE stream_id = $1 AND event_type = 'ConversationStatusChanged' \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(format!("conversation-{id}"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for _ in 0..2 {
        omnistream_commands::csat::send(&bus, &ctx, id, resolved_version, "http://x", chrono::Utc::now())
            .await
            .unwrap();
    }
    app.message(&admin, id, "inbound", "One more thing").await;
    resolve(&app, &admin, id, "resolved").await;
    for _ in 0..100 {
        let page = app
            .call(&admin, Method::GET, "/api/csat/surveys", None, StatusCode::OK)
            .await;
        if page["total"] == 2 {
            return;
        }
        assert_eq!(page["total"], 1, "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the second resolution sent no survey");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_totals_over_any_range_match_a_count_of_the_surveys() {
    use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
    use omnistream_api::seed::{seed, SeedPlan};

    let app = spawn_app().await;
    let plan = SeedPlan {
        tenant: "Totals".into(),
        conversations: 120,
        messages_per_conversation: 2,
        password: "seed-password-1".into(),
    };
    let events = omnistream_api::app::shredding(&app.pool, &app.store);
    let seeded = seed(events, &app.pool, plan).await.unwrap();
    app.caught_up("directory").await;
    app.caught_up("csat").await;
    let admin = app.login(&seeded.admin_email, "seed-password-1").await;
    // Conversation n starts n days ago: a survey for every tenth, over four months.
    let mut sent: Vec<(DateTime<Utc>, Option<Uuid>)> =
        sqlx::query_as("SELECT sent_at, agent_id FROM rm.csat_surveys WHERE tenant_id = $1 ORDER BY sent_at")
            .bind(seeded.tenant_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(sent.len(), 12);
    sent.sort();
    let agent = sent.iter().find_map(|s| s.1).unwrap();
    let now = Utc::now();
    let midnight = |at: DateTime<Utc>| at.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let ranges = [
        (None, None),
        (Some(now - Span::days(50) - Span::hours(7)), None),
        (None, Some(now - Span::days(20) + Span::hours(3))),
        (
            Some(now - Span::days(100) - Span::minutes(90)),
            Some(now - Span::days(10) - Span::hours(5)),
        ),
        // Bounds exactly on surveys: the first counts, the last does not.
        (Some(sent[2].0), Some(sent[9].0)),
        // Whole days only, and a range inside one day.
        (Some(midnight(sent[1].0)), Some(midnight(sent[7].0))),
        (Some(midnight(sent[4].0)), Some(sent[4].0 + Span::seconds(1))),
        (Some(sent[5].0 - Span::hours(1)), Some(sent[5].0 + Span::hours(1))),
        (Some(now), None),
    ];
    for (from, to) in ranges {
        for agent_filter in [None, Some(agent)] {
            let expected = sent
                .iter()
                .filter(|(at, by)| {
                    from.is_none_or(|f| *at >= f)
                        && to.is_none_or(|t| *at < t)
                        && agent_filter.is_none_or(|a| *by == Some(a))
                })
                .count();
            let mut query = String::from("per_page=1");
            let stamp = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Micros, true);
            if let Some(from) = from {
                query.push_str(&format!("&from={}", stamp(from)));
            }
            if let Some(to) = to {
                query.push_str(&format!("&to={}", stamp(to)));
            }
            if let Some(agent) = agent_filter {
                query.push_str(&format!("&agent_id={agent}"));
            }
            let page = app
                .call(
                    &admin,
                    Method::GET,
                    &format!("/api/csat/surveys?{query}"),
                    None,
                    StatusCode::OK,
                )
                .await;
            assert_eq!(page["total"], expected, "{query}");
        }
    }
}
