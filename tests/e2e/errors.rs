//! Every error is an ErrorResponse with the request id, whatever layer raised it.

use omnistream_tests::client::{expect_error, expect_json, expect_too_large};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_errors_are_error_responses() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    expect_error(
        app.request(Method::GET, "/api/nowhere").send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.request(Method::DELETE, "/api/health").send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let malformed = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::BAD_REQUEST, "validation_failed").await;
    let wrong_type = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .header("content-type", "text/plain")
        .body("name=bob")
        .send()
        .await
        .unwrap();
    expect_error(wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    // A declared length over the limit is refused before any of the body is read, and the
    // connection, whose unread body would follow, is closed: the answer says so, and the
    // reading below ends with it (rather than after its ten-second timeout).
    let address = app.address.trim_start_matches("http://").to_owned();
    let started = std::time::Instant::now();
    let huge = app
        .raw(&format!(
            "POST /api/agents HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n",
            admin.token
        ))
        .await;
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    assert!(huge.contains("\"error\":\"payload_too_large\""), "{huge}");
    assert!(huge.to_ascii_lowercase().contains("connection: close"), "{huge}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the server closed it"
    );
    let streamed = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            (0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])),
        )))
        .send()
        .await;
    expect_too_large(streamed).await;
    let agents: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'AgentCreated'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(agents, 1, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_parameters_are_named_with_what_they_take() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    // (path, the field named, the message); the framework's own name for a path parameter
    // (`param0`) and its OpenAPI type names never reach the client.
    let cases = [
        (
            "/api/conversations/not-a-uuid",
            None,
            "a parameter in the path must be a UUID (invalid character: found `n` at 0)",
        ),
        (
            "/api/conversations?per_page=abc",
            Some("per_page"),
            "per_page must be a number (invalid digit found in string)",
        ),
        (
            "/api/conversations?unread=maybe",
            Some("unread"),
            "unread must be true or false (provided string was not `true` or `false`)",
        ),
        (
            "/api/conversations?from=yesterday",
            Some("from"),
            "from must be a time in RFC 3339 form, like 2026-12-03T10:00:00Z (input contains invalid characters)",
        ),
        (
            "/api/conversations?status=bogus",
            Some("status"),
            "status is invalid: Expect a valid enumeration value.",
        ),
    ];
    for (path, field, message) in cases {
        let error = app
            .refused(
                &admin,
                Method::GET,
                path,
                None,
                StatusCode::BAD_REQUEST,
                "validation_failed",
            )
            .await;
        assert_eq!(error["message"], message, "{path}");
        match field {
            Some(field) => assert_eq!(error["details"]["field"], field, "{path}"),
            None => assert_eq!(error["details"]["in"], "path", "{path}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_request_id_and_health_answers() {
    let app = spawn_app().await;
    let health = app.request(Method::GET, "/api/health").send().await.unwrap();
    assert!(health.headers().get("x-request-id").is_some());
    assert_eq!(expect_json(health, StatusCode::OK).await["status"], "ok");
    let ready = expect_json(
        app.request(Method::GET, "/api/health/ready").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(ready["checks"]["database"], "ok");
    let echoed = app
        .request(Method::GET, "/api/health")
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let replaced = app
        .request(Method::GET, "/api/health")
        .header("X-Request-Id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "bad id with spaces");

    let metrics = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("omnistream_http_requests_total"));
    assert!(metrics.contains("omnistream_projection_lag_events"));
    assert!(metrics.contains("omnistream_events_appended_total"));
}
