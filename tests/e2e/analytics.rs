//! Analytics: every figure of the overview, trends, agents, channels and CSAT reports equals a
//! recount straight from the tenant's events; access and range checks.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use omnistream_tests::client::Session;
use omnistream_tests::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

/// The figures a report shows, counted from the events alone.
#[derive(Debug, Default)]
struct Recount {
    new: i64,
    resolved: i64,
    messages_in: i64,
    messages_out: i64,
    first_responses: (i64, i64),
    responses: (i64, i64),
    resolutions: i64,
    sla_met: i64,
    sla_breached: i64,
    csat_sent: i64,
    ratings: Vec<i64>,
    sent_by_agent: HashMap<Uuid, i64>,
    resolved_by_agent: HashMap<Uuid, i64>,
    new_by_day: BTreeMap<NaiveDate, i64>,
    in_by_day: BTreeMap<NaiveDate, i64>,
}

fn uuid(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

async fn recount(app: &TestApp, tenant: Uuid, zone: Tz) -> Recount {
    let events: Vec<(String, String, Value, DateTime<Utc>)> = sqlx::query_as(
        "SELECT stream_id, event_type, payload, recorded_at FROM events WHERE tenant_id = $1 ORDER BY position",
    )
    .bind(tenant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut r = Recount::default();
    let mut assignee: HashMap<String, Option<Uuid>> = HashMap::new();
    let mut done: HashMap<String, bool> = HashMap::new();
    let mut since: HashMap<String, DateTime<Utc>> = HashMap::new();
    for (stream, kind, payload, at) in events {
        let day = at.with_timezone(&zone).date_naive();
        match kind.as_str() {
            "ConversationStarted" => {
                r.new += 1;
                *r.new_by_day.entry(day).or_default() += 1;
                since.insert(stream.clone(), at);
            }
            "ConversationAssigned" => {
                assignee.insert(stream, uuid(&payload["agent_id"]));
            }
            "MessageReceived" => {
                r.messages_in += 1;
                *r.in_by_day.entry(day).or_default() += 1;
            }
            "MessageQueued" => {
                r.messages_out += 1;
                let author = uuid(&payload["author_agent_id"]);
                if let Some(agent) = author {
                    *r.sent_by_agent.entry(agent).or_default() += 1;
                }
                let awaited: Option<DateTime<Utc>> = payload["awaited_since"].as_str().and_then(|s| s.parse().ok());
                if let (Some(_), Some(awaited)) = (author, awaited) {
                    let waited = (at - awaited).num_seconds();
                    r.responses = (r.responses.0 + 1, r.responses.1 + waited);
                    if payload["first_response"] == true {
                        r.first_responses = (r.first_responses.0 + 1, r.first_responses.1 + waited);
                    }
                }
            }
            "ConversationStatusChanged" => {
                let now_done = matches!(payload["status"].as_str(), Some("resolved" | "closed"));
                let was_done = done.get(&stream).copied().unwrap_or(false);
                if now_done && !was_done {
                    r.resolved += 1;
                    r.resolutions += (at - since[&stream]).num_seconds();
                    if let Some(Some(agent)) = assignee.get(&stream) {
                        *r.resolved_by_agent.entry(*agent).or_default() += 1;
                    }
                } else if !now_done && was_done {
                    since.insert(stream.clone(), at);
                }
                done.insert(stream, now_done);
            }
            "SlaTargetStopped" if payload["outcome"] == "met" => r.sla_met += 1,
            "SlaBreached" => r.sla_breached += 1,
            "CsatSurveySent" => r.csat_sent += 1,
            "CsatSurveyAnswered" => r.ratings.push(payload["rating"].as_i64().unwrap()),
            _ => {}
        }
    }
    r
}

fn close(actual: &Value, expected: Option<f64>) {
    match expected {
        None => assert!(actual.is_null(), "expected no value, got {actual}"),
        Some(expected) => assert!(
            (actual.as_f64().unwrap_or(f64::NAN) - expected).abs() < 1e-6,
            "{actual} != {expected}"
        ),
    }
}

fn avg((count, sum): (i64, i64)) -> Option<f64> {
    (count > 0).then(|| sum as f64 / count as f64)
}

/// The survey link sent in a conversation, once its `csat.send` job has run.
async fn survey_link(app: &TestApp, admin: &Session, id: Uuid) -> String {
    let path = format!("/api/conversations/{id}/messages");
    for _ in 0..100 {
        let page = app.call(admin, Method::GET, &path, None, StatusCode::OK).await;
        let link = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|m| m["text"].as_str().filter(|t| t.contains("/csat/")).map(str::to_owned));
        if let Some(link) = link {
            return link;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no survey in {id}");
}

async fn answer_survey(app: &TestApp, admin: &Session, id: Uuid, rating: i64) {
    let link = survey_link(app, admin, id).await;
    let token = link.rsplit('/').next().unwrap();
    let response = app
        .request(Method::POST, &format!("/api/csat/{token}"))
        .json(&json!({ "rating": rating }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_equal_a_recount_from_the_events() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let ann = app.agent_with_role(&admin, "agent", None).await;
    let bob = app.agent_with_role(&admin, "agent", None).await;
    let zone: Tz = "Asia/Jakarta".parse().unwrap();
    app.call(
        &admin,
        Method::PUT,
        "/api/settings/timezone",
        Some(json!({"timezone": "Asia/Jakarta"})),
        StatusCode::OK,
    )
    .await;
    app.call(
        &admin,
        Method::PUT,
        "/api/csat/settings/api",
        Some(json!({"enabled": true})),
        StatusCode::OK,
    )
    .await;
    app.call(
        &admin,
        Method::POST,
        "/api/sla-policies",
        Some(json!({"name": "Default", "first_response_minutes": 60})),
        StatusCode::CREATED,
    )
    .await;
    app.call(
        &ann,
        Method::PUT,
        &format!("/api/agents/{}/status", ann.agent_id),
        Some(json!({"status": "online"})),
        StatusCode::OK,
    )
    .await;
    let online_at = tokio::time::Instant::now();

    let mut conversations = Vec::new();
    for (i, agent) in [&ann, &bob, &ann, &bob, &ann].into_iter().enumerate() {
        let id = app.conversation(&admin, &format!("Customer {i}")).await;
        app.call(
            &admin,
            Method::PUT,
            &format!("/api/conversations/{id}/assign"),
            Some(json!({"agent_id": agent.agent_id})),
            StatusCode::OK,
        )
        .await;
        app.message(&admin, id, "inbound", "Hello").await;
        if i != 3 {
            app.message(agent, id, "outbound", "Hi, how can I help?").await;
            app.message(&admin, id, "inbound", "My order").await;
            app.message(agent, id, "outbound", "Done").await;
        }
        if i < 3 {
            app.call(
                agent,
                Method::PUT,
                &format!("/api/conversations/{id}/status"),
                Some(json!({"status": "resolved"})),
                StatusCode::OK,
            )
            .await;
        }
        conversations.push(id);
    }
    answer_survey(&app, &admin, conversations[0], 5).await;
    answer_survey(&app, &admin, conversations[1], 2).await;
    // Reopened and resolved again: a second resolution cycle. Only once its first survey went
    // out: a survey is not sent for a conversation that is no longer resolved when its job
    // runs, and this reopening used to race that job (the third survey then never came).
    survey_link(&app, &admin, conversations[2]).await;
    app.message(&admin, conversations[2], "inbound", "Actually...").await;
    app.call(
        &ann,
        Method::PUT,
        &format!("/api/conversations/{}/status", conversations[2]),
        Some(json!({"status": "closed"})),
        StatusCode::OK,
    )
    .await;
    // Online for more than a second whatever the machine's speed (whole seconds are counted).
    tokio::time::sleep_until(online_at + Duration::from_millis(1_100)).await;
    app.call(
        &ann,
        Method::PUT,
        &format!("/api/agents/{}/status", ann.agent_id),
        Some(json!({"status": "away"})),
        StatusCode::OK,
    )
    .await;
    // Let the jobs (SLA clocks, the third survey) fire (at least two seconds, and until the
    // events show them: two seconds alone were too short on a busy machine), then the
    // projections catch up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let settled = recount(&app, admin.organization_id, zone).await;
        if (settled.sla_met > 0 && settled.csat_sent >= 3) || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.caught_up("sla").await;
    app.caught_up("csat").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    app.caught_up("analytics").await;

    let expected = recount(&app, admin.organization_id, zone).await;
    if !(expected.sla_met > 0 && expected.csat_sent >= 3) {
        // This wait has timed out about once in twenty full runs: say what the jobs did.
        let jobs: Vec<(String, i32, Option<String>, bool)> = sqlx::query_as(
            "SELECT kind, attempts, last_error, done_at IS NOT NULL FROM jobs \
             WHERE tenant_id = $1 ORDER BY due_at",
        )
        .bind(admin.organization_id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        panic!("{expected:?}\njobs (kind, attempts, last error, done): {jobs:?}");
    }
    let today = Utc::now().with_timezone(&zone).date_naive();
    let range = format!("from={}&to={}", today.pred_opt().unwrap(), today.succ_opt().unwrap());

    let overview = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/analytics/overview?{range}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(overview["timezone"], "Asia/Jakarta");
    assert_eq!(overview["new_conversations"], expected.new, "{overview}");
    assert_eq!(overview["resolved"], expected.resolved);
    assert_eq!(overview["messages_in"], expected.messages_in);
    assert_eq!(overview["messages_out"], expected.messages_out);
    assert_eq!(overview["open"], 2, "two conversations were never resolved");
    close(&overview["avg_first_response_seconds"], avg(expected.first_responses));
    close(&overview["avg_response_seconds"], avg(expected.responses));
    close(
        &overview["avg_resolution_seconds"],
        avg((expected.resolved, expected.resolutions)),
    );
    assert_eq!(overview["sla_met"], expected.sla_met);
    assert_eq!(overview["sla_breached"], expected.sla_breached);
    let answered = expected.ratings.len() as i64;
    assert_eq!(overview["csat_responses"], answered);
    close(
        &overview["csat_average"],
        avg((answered, expected.ratings.iter().sum())),
    );

    let trends = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/analytics/trends?{range}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        trends["new_conversations"].as_array().unwrap().len(),
        3,
        "every day of the range"
    );
    for (series, by_day) in [
        ("new_conversations", &expected.new_by_day),
        ("messages_in", &expected.in_by_day),
    ] {
        for point in trends[series].as_array().unwrap() {
            let date: NaiveDate = point["date"].as_str().unwrap().parse().unwrap();
            assert_eq!(
                point["count"],
                by_day.get(&date).copied().unwrap_or(0),
                "{series} {date}"
            );
        }
    }

    let agents = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/analytics/agents?{range}"),
            None,
            StatusCode::OK,
        )
        .await;
    for agent in [&ann, &bob] {
        let row = agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent_id"] == agent.agent_id.to_string())
            .unwrap_or_else(|| panic!("{agents}"));
        assert_eq!(
            row["messages_sent"],
            expected.sent_by_agent.get(&agent.agent_id).copied().unwrap_or(0)
        );
        assert_eq!(
            row["conversations_handled"],
            expected.resolved_by_agent.get(&agent.agent_id).copied().unwrap_or(0)
        );
        assert!(row["name"].is_string());
    }
    let ann_row = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == ann.agent_id.to_string())
        .unwrap();
    assert!(ann_row["online_seconds"].as_i64().unwrap() >= 1, "{ann_row}");

    let channels = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/analytics/channels?{range}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(channels["channels"].as_array().unwrap().len(), 1);
    assert_eq!(channels["channels"][0]["channel"], "api");
    assert_eq!(channels["channels"][0]["messages_in"], expected.messages_in);

    let csat = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/csat/analytics?{range}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(csat["surveys_sent"], expected.csat_sent, "{csat}");
    assert_eq!(csat["responses"], answered);
    close(
        &csat["response_rate"],
        Some(answered as f64 / expected.csat_sent as f64),
    );
    let mut distribution = vec![0; 5];
    for rating in &expected.ratings {
        distribution[*rating as usize - 1] += 1;
    }
    assert_eq!(csat["distribution"], json!(distribution));
    let per_agent: i64 = csat["per_agent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["surveys_sent"].as_i64().unwrap())
        .sum();
    assert_eq!(per_agent, expected.csat_sent, "every survey belongs to its agent");

    // One agent's overview is its share.
    let ann_overview = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/analytics/overview?{range}&agent_id={}", ann.agent_id),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(ann_overview["messages_out"], expected.sent_by_agent[&ann.agent_id]);

    // A rebuilt projection gives the same figures.
    let before = overview.clone();
    let projection = omnistream_projections::by_name("analytics").unwrap();
    let store: std::sync::Arc<dyn omnistream_store::EventStore> = omnistream_api::app::shredding(&app.pool, &app.store);
    omnistream_projections::rebuild::rebuild(&app.pool, &store, projection.as_ref(), false)
        .await
        .expect("rebuild");
    let after = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/analytics/overview?{range}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(after, before, "a rebuild equals the incremental model");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_need_their_permission_and_a_sane_range() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    for path in [
        "/api/analytics/overview",
        "/api/analytics/trends",
        "/api/analytics/agents",
        "/api/analytics/channels",
        "/api/csat/analytics",
    ] {
        app.refused(&agent, Method::GET, path, None, StatusCode::FORBIDDEN, "forbidden")
            .await;
        let response = app.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let empty = app.call(&admin, Method::GET, path, None, StatusCode::OK).await;
        assert!(empty.is_object(), "{path}: {empty}");
        for query in [
            "from=2026-03-02&to=2026-03-01",
            "from=2020-01-01&to=2026-01-01",
            "from=yesterday",
        ] {
            let error = app
                .refused(
                    &admin,
                    Method::GET,
                    &format!("{path}?{query}"),
                    None,
                    StatusCode::BAD_REQUEST,
                    "validation_failed",
                )
                .await;
            assert!(error["message"].is_string());
        }
    }
    let overview = app
        .call(&admin, Method::GET, "/api/analytics/overview", None, StatusCode::OK)
        .await;
    assert_eq!(overview["new_conversations"], 0);
    let trends = app
        .call(&admin, Method::GET, "/api/analytics/trends", None, StatusCode::OK)
        .await;
    assert_eq!(
        trends["new_conversations"].as_array().unwrap().len(),
        30,
        "30 days by default"
    );
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/analytics/overview?agent_id={}&channel=api", agent.agent_id),
        None,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}
