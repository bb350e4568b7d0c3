//! SLA policies, clocks on conversations, warnings, breaches (exactly once) and the breach log.

use std::time::Duration;

use chrono::{DateTime, Utc};
use omnistream_commands::{CommandBus, CommandContext, Scope};
use omnistream_domain::Actor;
use omnistream_store::EventStore;
use omnistream_tests::client::Session;
use omnistream_tests::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

async fn policy(app: &TestApp, admin: &Session, body: Value) -> Value {
    app.call(
        admin,
        Method::POST,
        "/api/sla-policies",
        Some(body),
        StatusCode::CREATED,
    )
    .await
}

/// The conversation's SLA once `ready` holds (the job and the projection run meanwhile).
async fn sla_when(app: &TestApp, session: &Session, id: Uuid, ready: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/conversations/{id}/sla");
    let mut status = Value::Null;
    for _ in 0..200 {
        status = app.call(session, Method::GET, &path, None, StatusCode::OK).await;
        if ready(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the SLA of {id} never got there: {status}");
}

fn clock<'a>(status: &'a Value, target: &str) -> &'a Value {
    status["clocks"]
        .as_array()
        .and_then(|clocks| clocks.iter().rev().find(|c| c["target"] == target))
        .unwrap_or(&Value::Null)
}

/// Runs the SLA evaluation as the job worker would, at `now` (a due time the test does not
/// wait for).
async fn evaluate_at(app: &TestApp, tenant: Uuid, id: Uuid, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let store = omnistream_api::app::shredding(&app.pool, &app.store);
    let bus = CommandBus::new(store);
    let ctx = CommandContext::new(Scope::Tenant(tenant), Actor::system(), None);
    omnistream_commands::sla::evaluate(&bus, &ctx, id, now)
        .await
        .expect("evaluate")
}

async fn breaches_in_stream(app: &TestApp, id: Uuid) -> usize {
    let events = app
        .store
        .read_stream(&format!("conversation-{id}"), 1)
        .await
        .expect("stream");
    events.iter().filter(|e| e.event_type == "SlaBreached").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_managed_by_supervisors_and_validated() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let supervisor = app.agent_with_role(&admin, "supervisor", None).await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let created = policy(
        &app,
        &supervisor,
        json!({"name": "WhatsApp VIP", "first_response_minutes": 15, "resolution_minutes": 480, "rank": 10,
               "warning_minutes": 5, "business_hours": true,
               "conditions": {"channels": ["whatsapp"], "tags": ["VIP", "vip"], "priorities": ["urgent"]}}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["enabled"], true);
    assert_eq!(created["conditions"]["tags"], json!(["vip"]));
    assert_eq!(created["conditions"]["priorities"], json!(["urgent"]));
    policy(&app, &admin, json!({"name": "Default", "resolution_minutes": 1440})).await;
    let list = app
        .call(&agent, Method::GET, "/api/sla-policies", None, StatusCode::FORBIDDEN)
        .await;
    assert_eq!(list["error"], "forbidden");
    let list = app
        .call(&admin, Method::GET, "/api/sla-policies", None, StatusCode::OK)
        .await;
    assert_eq!(
        list[0]["name"], "WhatsApp VIP",
        "rank 10 is tried before the default 100"
    );
    assert_eq!(list.as_array().unwrap().len(), 2);

    let path = format!("/api/sla-policies/{id}");
    let updated = app
        .call(
            &admin,
            Method::PATCH,
            &path,
            Some(json!({"first_response_minutes": 0, "next_response_minutes": 30, "enabled": false})),
            StatusCode::OK,
        )
        .await;
    assert!(
        updated["first_response_minutes"].is_null(),
        "0 removes a target: {updated}"
    );
    assert_eq!(updated["next_response_minutes"], 30);
    assert_eq!(updated["resolution_minutes"], 480);
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["created_at"], created["created_at"]);

    for (body, status, code, field) in [
        (
            json!({"name": "Empty"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("first_response_minutes"),
        ),
        (
            json!({"name": "default", "resolution_minutes": 5}),
            StatusCode::CONFLICT,
            "already_exists",
            None,
        ),
        (
            json!({"name": " ", "resolution_minutes": 5}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("name"),
        ),
        (
            json!({"name": "Huge", "resolution_minutes": 10_000_000}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            Some("resolution_minutes"),
        ),
        (
            json!({"name": "Typed", "resolution_minutes": "soon"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            None,
        ),
        (
            json!({"name": "Channel", "resolution_minutes": 5, "conditions": {"channels": ["fax"]}}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
            None,
        ),
    ] {
        let error = app
            .refused(&admin, Method::POST, "/api/sla-policies", Some(body), status, code)
            .await;
        if let Some(field) = field {
            assert_eq!(error["details"]["field"], field, "{error}");
        }
    }
    app.refused(
        &agent,
        Method::POST,
        "/api/sla-policies",
        Some(json!({"name": "Mine", "resolution_minutes": 5})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let response = app.request(Method::GET, "/api/sla-policies").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let list = app
        .call(&admin, Method::GET, "/api/sla-policies", None, StatusCode::OK)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2, "refused writes add nothing");

    // Another organization cannot see, change or delete it.
    let other = app.register("Other").await;
    app.refused(&other, Method::GET, &path, None, StatusCode::NOT_FOUND, "not_found")
        .await;
    app.refused(
        &other,
        Method::PATCH,
        &path,
        Some(json!({"enabled": true})),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.refused(&other, Method::DELETE, &path, None, StatusCode::NOT_FOUND, "not_found")
        .await;

    let deleted = app.call(&admin, Method::DELETE, &path, None, StatusCode::OK).await;
    assert_eq!(deleted["deleted"], true);
    app.refused(&admin, Method::GET, &path, None, StatusCode::NOT_FOUND, "not_found")
        .await;
    app.refused(&admin, Method::DELETE, &path, None, StatusCode::NOT_FOUND, "not_found")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_in_time_meets_a_target_and_a_missed_one_is_warned_then_breached_once() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let policy = policy(
        &app,
        &admin,
        json!({"name": "Default", "first_response_minutes": 30, "resolution_minutes": 240, "warning_minutes": 10}),
    )
    .await;

    // Answered in time: the first-response clock is met.
    let answered = app.conversation(&admin, "Budi").await;
    app.message(&admin, answered, "inbound", "Where is my parcel?").await;
    let running = sla_when(&app, &agent, answered, |s| {
        clock(s, "first_response")["status"] == "active"
    })
    .await;
    assert_eq!(running["policy_name"], "Default");
    let first = clock(&running, "first_response");
    let started: DateTime<Utc> = first["started_at"].as_str().unwrap().parse().unwrap();
    let due: DateTime<Utc> = first["due_at"].as_str().unwrap().parse().unwrap();
    let warn: DateTime<Utc> = first["warn_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (due - started, due - warn),
        (chrono::Duration::minutes(30), chrono::Duration::minutes(10))
    );
    assert_eq!(clock(&running, "resolution")["status"], "active");
    app.message(&admin, answered, "outbound", "On its way.").await;
    let met = sla_when(&app, &agent, answered, |s| {
        clock(s, "first_response")["status"] == "met"
    })
    .await;
    assert_eq!(met["breached"], false);
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{answered}/status"),
        Some(json!({"status": "resolved"})),
        StatusCode::OK,
    )
    .await;
    sla_when(&app, &agent, answered, |s| clock(s, "resolution")["status"] == "met").await;

    // Unanswered: warned at the lead time, breached at the due time, exactly once even when
    // several workers (or a restarted one) evaluate it.
    let waiting = app.conversation(&admin, "Sari").await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{waiting}/assign"),
        Some(json!({"agent_id": agent.agent_id})),
        StatusCode::OK,
    )
    .await;
    app.message(&admin, waiting, "inbound", "Hello?").await;
    let running = sla_when(&app, &agent, waiting, |s| {
        clock(s, "first_response")["status"] == "active"
    })
    .await;
    let due: DateTime<Utc> = clock(&running, "first_response")["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let tenant = admin.organization_id;
    let next = evaluate_at(&app, tenant, waiting, due - chrono::Duration::minutes(5)).await;
    assert_eq!(next, Some(due), "after the warning, the due time is next");
    let warned = sla_when(&app, &agent, waiting, |s| {
        !clock(s, "first_response")["warned_at"].is_null()
    })
    .await;
    assert_eq!(clock(&warned, "first_response")["status"], "active");
    let late = due + chrono::Duration::seconds(1);
    let runs = (0..4).map(|_| evaluate_at(&app, tenant, waiting, late));
    futures_util::future::join_all(runs).await;
    evaluate_at(&app, tenant, waiting, late + chrono::Duration::hours(1)).await;
    assert_eq!(breaches_in_stream(&app, waiting).await, 1, "breached exactly once");
    let breached = sla_when(&app, &agent, waiting, |s| {
        clock(s, "first_response")["status"] == "breached"
    })
    .await;
    assert_eq!(breached["breached"], true);

    // A late reply stops the clock as late, without a second breach.
    app.message(&admin, waiting, "outbound", "Sorry for the wait").await;
    sla_when(&app, &agent, waiting, |s| {
        clock(s, "first_response")["status"] == "late"
    })
    .await;
    assert_eq!(breaches_in_stream(&app, waiting).await, 1);

    // The breach log, with its filters and paging.
    let log = app
        .call(&admin, Method::GET, "/api/sla-breaches", None, StatusCode::OK)
        .await;
    assert_eq!(log["total"], 1, "{log}");
    let breach = &log["data"][0];
    assert_eq!(breach["conversation_id"], waiting.to_string());
    assert_eq!(breach["policy_id"], policy["id"]);
    assert_eq!(breach["policy_name"], "Default");
    assert_eq!(breach["target"], "first_response");
    assert_eq!(breach["agent_id"], agent.agent_id.to_string());
    assert_eq!(breach["channel"], "api");
    for (query, total) in [
        (format!("agent_id={}", agent.agent_id), 1),
        (format!("agent_id={}", admin.agent_id), 0),
        (format!("policy_id={}", policy["id"].as_str().unwrap()), 1),
        ("target=resolution".to_owned(), 0),
        (format!("conversation_id={waiting}"), 1),
        (
            format!(
                "from={}",
                (due + chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            0,
        ),
        ("per_page=1".to_owned(), 1),
    ] {
        let page = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/sla-breaches?{query}"),
                None,
                StatusCode::OK,
            )
            .await;
        assert_eq!(page["total"], total, "{query}: {page}");
    }
    for query in [
        "target=soon",
        "per_page=0",
        "cursor=nonsense",
        "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
    ] {
        app.refused(
            &admin,
            Method::GET,
            &format!("/api/sla-breaches?{query}"),
            None,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    }
    app.refused(
        &agent,
        Method::GET,
        "/api/sla-breaches",
        None,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let other = app.register("Other").await;
    let theirs = app
        .call(&other, Method::GET, "/api/sla-breaches", None, StatusCode::OK)
        .await;
    assert_eq!(theirs["total"], 0, "another organization sees none of it");
    app.refused(
        &other,
        Method::GET,
        &format!("/api/conversations/{waiting}/sla"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let response = app
        .request(Method::GET, &format!("/api/conversations/{waiting}/sla"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_worker_records_a_breach_when_the_due_time_passes() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    policy(&app, &admin, json!({"name": "Fast", "first_response_minutes": 1})).await;
    let id = app.conversation(&admin, "Rina").await;
    app.message(&admin, id, "inbound", "Anyone there?").await;
    // Nothing but the durable job and its worker: the breach arrives a minute later.
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    loop {
        let log = app
            .call(&admin, Method::GET, "/api/sla-breaches", None, StatusCode::OK)
            .await;
        if log["total"] == 1 {
            let breach = &log["data"][0];
            let due: DateTime<Utc> = breach["due_at"].as_str().unwrap().parse().unwrap();
            let started: DateTime<Utc> = breach["started_at"].as_str().unwrap().parse().unwrap();
            assert_eq!(due - started, chrono::Duration::minutes(1));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no breach was recorded");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(breaches_in_stream(&app, id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matching_policy_applies_and_business_hours_come_from_the_division_or_the_organization() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    policy(
        &app,
        &admin,
        json!({"name": "Default", "resolution_minutes": 600, "rank": 100}),
    )
    .await;
    policy(
        &app,
        &admin,
        json!({"name": "Urgent", "first_response_minutes": 30, "business_hours": true, "rank": 1,
               "conditions": {"priorities": ["urgent"]}}),
    )
    .await;
    // Open around the clock, but closed today and tomorrow (UTC).
    let today = Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let whole_week: Vec<Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| json!({"day": d, "intervals": [{"start": "00:00", "end": "00:00"}]}))
    .collect();
    app.call(
        &admin,
        Method::PUT,
        "/api/working-hours",
        Some(json!({"days": whole_week, "closed_dates": [today, tomorrow]})),
        StatusCode::OK,
    )
    .await;
    let division = app
        .call(
            &admin,
            Method::POST,
            "/api/divisions",
            Some(json!({"name": "Support"})),
            StatusCode::CREATED,
        )
        .await;
    let division_id = division["division"]["id"].as_str().unwrap();
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/working-hours/divisions/{division_id}"),
        Some(json!({"days": whole_week})),
        StatusCode::OK,
    )
    .await;

    // Normal priority: the default policy.
    let plain = app.conversation(&admin, "Andi").await;
    app.message(&admin, plain, "inbound", "Hi").await;
    let status = sla_when(&app, &admin, plain, |s| !s["clocks"].as_array().unwrap().is_empty()).await;
    assert_eq!(status["policy_name"], "Default");
    assert!(
        clock(&status, "first_response").is_null(),
        "the default has no response target"
    );

    // Urgent: the urgent policy, counted in the organization's hours (closed until the day
    // after tomorrow).
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{plain}/priority"),
        Some(json!({"priority": "urgent"})),
        StatusCode::OK,
    )
    .await;
    let urgent = sla_when(&app, &admin, plain, |s| s["policy_name"] == "Urgent").await;
    let due = clock(&urgent, "first_response")["due_at"].as_str().unwrap().to_owned();
    let expected = today
        .succ_opt()
        .unwrap()
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 30, 0)
        .unwrap()
        .and_utc();
    assert_eq!(due.parse::<DateTime<Utc>>().unwrap(), expected, "{urgent}");
    assert_eq!(
        clock(&urgent, "resolution")["status"],
        "cancelled",
        "the urgent policy has no resolution target"
    );
    let shown = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{plain}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(shown["priority"], "urgent");

    // In the division: its own hours (open now), so due in 30 minutes.
    let contact = app.contact(&admin, json!({"name": "Dewi"})).await;
    let started = app
        .call(
            &admin,
            Method::POST,
            "/api/conversations",
            Some(json!({"contact_id": contact, "channel": "api", "division_id": division_id})),
            StatusCode::CREATED,
        )
        .await;
    let in_division = Uuid::parse_str(started["id"].as_str().unwrap()).unwrap();
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{in_division}/priority"),
        Some(json!({"priority": "urgent"})),
        StatusCode::OK,
    )
    .await;
    app.message(&admin, in_division, "inbound", "Help").await;
    let status = sla_when(&app, &admin, in_division, |s| !clock(s, "first_response").is_null()).await;
    let first = clock(&status, "first_response");
    let started: DateTime<Utc> = first["started_at"].as_str().unwrap().parse().unwrap();
    let due: DateTime<Utc> = first["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - started, chrono::Duration::minutes(30));

    app.refused(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{plain}/priority"),
        Some(json!({"priority": "asap"})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    // An agent sees the SLA of the conversations it may see, and no other.
    let agent = app.agent_with_role(&admin, "agent", None).await;
    app.call(
        &admin,
        Method::PUT,
        &format!("/api/conversations/{in_division}/assign"),
        Some(json!({"agent_id": admin.agent_id})),
        StatusCode::OK,
    )
    .await;
    app.refused(
        &agent,
        Method::GET,
        &format!("/api/conversations/{in_division}/sla"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
