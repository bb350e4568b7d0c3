//! Media tag: uploads with type and size limits, downloads within the organization, ranges.

use omnistream_tests::client::{expect_error, expect_too_large};
use omnistream_tests::{spawn_app_with, Session, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn try_upload(
    app: &TestApp,
    session: &Session,
    content: Vec<u8>,
    name: &str,
    mime: &str,
) -> reqwest::Result<reqwest::Response> {
    let part = Part::bytes(content).file_name(name.to_owned()).mime_str(mime).unwrap();
    app.as_session(Method::POST, "/api/media", &session.token)
        .multipart(Form::new().part("file", part))
        .send()
        .await
}

async fn upload(app: &TestApp, session: &Session, content: Vec<u8>, name: &str, mime: &str) -> reqwest::Response {
    try_upload(app, session, content, name, mime).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_upload_download_by_range_and_stay_in_their_organization() {
    let app = spawn_app_with(|config| config.media_max_bytes = 64 * 1024).await;
    let admin = app.register("Acme").await;
    let content: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let response = upload(&app, &admin, content.clone(), "scan.pdf", "application/pdf").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(media["size"], 1000);
    assert_eq!(media["content_type"], "application/pdf");
    assert_eq!(media["sha256"].as_str().unwrap().len(), 64);
    let url = media["url"].as_str().unwrap().to_owned();

    let whole = app.as_session(Method::GET, &url, &admin.token).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["content-type"], "application/pdf");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.unwrap().to_vec(), content);
    let part = app
        .as_session(Method::GET, &url, &admin.token)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 10-19/1000");
    assert_eq!(part.bytes().await.unwrap().to_vec(), content[10..20].to_vec());
    let outside = app
        .as_session(Method::GET, &url, &admin.token)
        .header("Range", "bytes=5000-")
        .send()
        .await
        .unwrap();
    assert_eq!(outside.headers()["content-range"], "bytes */1000");
    expect_error(outside, StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable").await;

    // Media travel in messages.
    let conversation = app.conversation(&admin, "Budi").await;
    let sent = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/conversations/{conversation}/messages"),
            Some(json!({"media_ids": [media["id"]], "message_type": "document"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(sent["media_ids"], json!([media["id"]]));

    let other = app.register("Other").await;
    let hidden = app.as_session(Method::GET, &url, &other.token).send().await.unwrap();
    expect_error(hidden, StatusCode::NOT_FOUND, "not_found").await;
    let anonymous = app.request(Method::GET, &url).send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_of_the_wrong_type_or_size_are_refused_and_store_nothing() {
    let app = spawn_app_with(|config| config.media_max_bytes = 64 * 1024).await;
    let admin = app.register("Acme").await;
    let exe = upload(
        &app,
        &admin,
        b"MZ\x90\x00".to_vec(),
        "run.exe",
        "application/x-msdownload",
    )
    .await;
    expect_error(exe, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let big = upload(&app, &admin, vec![7u8; 65 * 1024], "big.png", "image/png").await;
    expect_error(big, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    expect_too_large(try_upload(&app, &admin, vec![7u8; 200 * 1024], "huge.png", "image/png").await).await;
    let empty = upload(&app, &admin, Vec::new(), "empty.txt", "text/plain").await;
    expect_error(empty, StatusCode::BAD_REQUEST, "validation_failed").await;
    let not_multipart = app
        .as_session(Method::POST, "/api/media", &admin.token)
        .json(&json!({"file": "nope"}))
        .send()
        .await
        .unwrap();
    assert!(not_multipart.status().is_client_error());
    let uploads: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'MediaUploaded'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(uploads, 0);
}

/// A real S3-compatible server on loopback (moto's, standing in for AWS, which no machine
/// here can reach); killed when dropped.
struct S3Server {
    _process: tokio::process::Child,
    port: u16,
}

impl S3Server {
    async fn start(bucket: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("moto_server (an S3-compatible server) is needed: python3 -m pip install 'moto[server]'");
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if client.get(&base).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let created = client.put(format!("{base}/{bucket}")).send().await.unwrap();
        assert!(created.status().is_success(), "bucket created");
        Self { _process: child, port }
    }

    async fn keys(&self, bucket: &str) -> String {
        reqwest::get(format!("http://127.0.0.1:{}/{bucket}?list-type=2", self.port))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_can_live_in_an_s3_compatible_bucket() {
    let s3 = S3Server::start("omnistream-media").await;
    let store = format!(
        "s3://omnistream-media/uploads?endpoint=http://127.0.0.1:{}&allow_http=true&region=us-east-1\
         &access_key_id=test&secret_access_key=test",
        s3.port
    );
    let app = spawn_app_with(|config| config.media_store = Some(store)).await;
    let admin = app.register("Acme").await;
    let content: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
    let response = upload(&app, &admin, content.clone(), "photo.png", "image/png").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    let url = media["url"].as_str().unwrap().to_owned();
    let whole = app.as_session(Method::GET, &url, &admin.token).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap().to_vec(), content);
    let part = app
        .as_session(Method::GET, &url, &admin.token)
        .header("Range", "bytes=4990-")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().to_vec(), content[4990..].to_vec());
    // The object is in the bucket under the prefix, by tenant and hash.
    let keys = s3.keys("omnistream-media").await;
    let key = format!(
        "uploads/{}/{}",
        admin.organization_id,
        media["sha256"].as_str().unwrap()
    );
    assert!(keys.contains(&key), "{key} in {keys}");
}
