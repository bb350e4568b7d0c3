//! Working hours, division overrides and the organization's time zone.

use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn office_days() -> serde_json::Value {
    json!([
        {"day": "monday", "intervals": [{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}]},
        {"day": "tuesday", "intervals": [{"start": "08:00", "end": "17:00"}]},
        {"day": "saturday", "intervals": [{"start": "22:00", "end": "06:00"}]},
        {"day": "sunday", "intervals": []}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn working_hours_and_the_time_zone_are_set_read_and_validated() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let default = app
        .call(&agent, Method::GET, "/api/working-hours", None, StatusCode::OK)
        .await;
    assert_eq!(default["configured"], false);
    assert_eq!(default["timezone"], "UTC");
    assert_eq!(default["days"], json!([]));

    let set = app
        .call(
            &admin,
            Method::PUT,
            "/api/working-hours",
            Some(json!({"days": office_days(), "closed_dates": ["2026-12-25", "2026-12-24", "2026-12-25"]})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(set["configured"], true);
    assert_eq!(set["version"], 1);
    assert_eq!(
        set["days"].as_array().unwrap().len(),
        3,
        "a day without intervals is closed: {set}"
    );
    assert_eq!(
        set["days"][0]["intervals"][0],
        json!({"start": "08:00", "end": "12:00"})
    );
    assert_eq!(set["closed_dates"], json!(["2026-12-24", "2026-12-25"]));

    let zone = app
        .call(
            &admin,
            Method::PUT,
            "/api/settings/timezone",
            Some(json!({"timezone": "Asia/Jakarta"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(zone["value"], "Asia/Jakarta");
    let settings = app
        .call(&agent, Method::GET, "/api/settings", None, StatusCode::OK)
        .await;
    assert_eq!(settings[0]["key"], "timezone");
    assert_eq!(settings[0]["configured"], true);
    let read = app
        .call(&agent, Method::GET, "/api/working-hours", None, StatusCode::OK)
        .await;
    assert_eq!(read["timezone"], "Asia/Jakarta");
    assert_eq!(read["days"], set["days"]);

    for (path, body, field) in [
        (
            "/api/settings/timezone",
            json!({"timezone": "Mars/Olympus"}),
            "timezone",
        ),
        (
            "/api/working-hours",
            json!({"days": [{"day": "monday", "intervals": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}]}]}),
            "schedule",
        ),
        (
            "/api/working-hours",
            json!({"days": [{"day": "monday", "intervals": [{"start": "25:00", "end": "26:00"}]}]}),
            "days",
        ),
        (
            "/api/working-hours",
            json!({"days": [{"day": "monday", "intervals": []}, {"day": "monday", "intervals": []}]}),
            "days",
        ),
    ] {
        let error = app
            .refused(
                &admin,
                Method::PUT,
                path,
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
        "/api/working-hours",
        Some(json!({"days": "monday"})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &agent,
        Method::PUT,
        "/api/working-hours",
        Some(json!({"days": []})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.refused(
        &agent,
        Method::PUT,
        "/api/settings/timezone",
        Some(json!({"timezone": "UTC"})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    for path in ["/api/working-hours", "/api/settings", "/api/working-hours/divisions"] {
        let response = app.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let unchanged = app
        .call(&agent, Method::GET, "/api/working-hours", None, StatusCode::OK)
        .await;
    assert_eq!(unchanged["version"], 1, "refused writes leave nothing behind");

    // Another organization sees its own defaults.
    let other = app.register("Other").await;
    let theirs = app
        .call(&other, Method::GET, "/api/working-hours", None, StatusCode::OK)
        .await;
    assert_eq!(
        (theirs["configured"].as_bool(), theirs["timezone"].as_str()),
        (Some(false), Some("UTC"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_division_overrides_the_organizations_hours_until_its_override_is_removed() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let division = app
        .call(
            &admin,
            Method::POST,
            "/api/divisions",
            Some(json!({"name": "Night shift"})),
            StatusCode::CREATED,
        )
        .await;
    let id = division["division"]["id"].as_str().unwrap();
    let path = format!("/api/working-hours/divisions/{id}");
    let none = app.call(&admin, Method::GET, &path, None, StatusCode::OK).await;
    assert_eq!(none["configured"], false);
    let night = json!({"days": [{"day": "friday", "intervals": [{"start": "22:00", "end": "06:00"}]}]});
    let set = app.call(&admin, Method::PUT, &path, Some(night), StatusCode::OK).await;
    assert_eq!(set["division_id"], id);
    assert_eq!(set["days"][0]["intervals"][0]["end"], "06:00");
    let all = app
        .call(
            &admin,
            Method::GET,
            "/api/working-hours/divisions",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let own = app
        .call(&admin, Method::GET, "/api/working-hours", None, StatusCode::OK)
        .await;
    assert_eq!(own["configured"], false, "the override is the division's alone");

    let deleted = app.call(&admin, Method::DELETE, &path, None, StatusCode::OK).await;
    assert_eq!(deleted["deleted"], true);
    app.refused(&admin, Method::DELETE, &path, None, StatusCode::NOT_FOUND, "not_found")
        .await;
    let after = app
        .call(
            &admin,
            Method::GET,
            "/api/working-hours/divisions",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(after, json!([]));

    // A division of another organization, or none at all, cannot get hours.
    let other = app.register("Other").await;
    let error = app
        .refused(
            &other,
            Method::PUT,
            &path,
            Some(json!({"days": []})),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    assert_eq!(error["details"]["field"], "division_id");
    app.refused(
        &admin,
        Method::PUT,
        "/api/working-hours/divisions/not-a-uuid",
        Some(json!({"days": []})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}
