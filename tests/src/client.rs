//! A small HTTP client for the tests, with helpers for the common set-ups.

use std::sync::Arc;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use omnistream_store::PgEventStore;

/// The application under test.
#[derive(Clone)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The app's database.
    pub pool: PgPool,
    /// The app's event store.
    pub store: Arc<PgEventStore>,
    /// The database URL.
    pub database_url: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

/// A logged-in agent.
#[derive(Debug, Clone)]
pub struct Session {
    /// The bearer token.
    pub token: String,
    /// The agent's id.
    pub agent_id: Uuid,
    /// The organization's id.
    pub organization_id: Uuid,
    /// The login e-mail.
    pub email: String,
}

impl TestApp {
    /// Wraps a running app.
    pub fn new(address: String, pool: PgPool, store: Arc<PgEventStore>, database_url: String) -> Self {
        Self {
            address,
            pool,
            store,
            database_url,
            http: reqwest::Client::new(),
        }
    }

    /// A request to a path of the app.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.address))
    }

    /// A request authenticated with a session token.
    pub fn as_session(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// A request authenticated with an API key.
    pub fn as_key(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.request(method, path).header("X-API-Key", key)
    }

    /// Registers an organization; answers its admin's session.
    pub async fn register(&self, organization: &str) -> Session {
        let email = format!(
            "admin-{}@{}.test",
            Uuid::new_v4().simple(),
            organization.to_lowercase().replace(' ', "-")
        );
        let response = self
            .request(Method::POST, "/api/auth/register")
            .json(&json!({
                "organization_name": organization,
                "name": "Admin",
                "email": email,
                "password": "correct-horse-1",
            }))
            .send()
            .await
            .expect("register");
        assert_eq!(response.status(), StatusCode::CREATED, "register failed");
        session_of(response.json().await.expect("json"), &email)
    }

    /// Creates an agent with a role as `admin`, logs it in, answers its session.
    pub async fn agent_with_role(&self, admin: &Session, role: &str, custom_role_id: Option<Uuid>) -> Session {
        let email = format!("{role}-{}@example.test", Uuid::new_v4().simple());
        let response = self
            .as_session(Method::POST, "/api/agents", &admin.token)
            .json(&json!({
                "name": format!("A {role}"),
                "email": email,
                "password": "agent-pass-1",
                "role": role,
                "custom_role_id": custom_role_id,
            }))
            .send()
            .await
            .expect("create agent");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "create agent: {}",
            response.text().await.unwrap_or_default()
        );
        self.login(&email, "agent-pass-1").await
    }

    /// Sends a JSON request as a session; asserts the status; answers the body.
    pub async fn call(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let mut request = self.as_session(method.clone(), path, &session.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let actual = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(actual, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Sends a request as a session that must be refused; asserts the `ErrorResponse` and
    /// answers its body.
    pub async fn refused(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
        code: &str,
    ) -> Value {
        let mut request = self.as_session(method, path, &session.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        expect_error(request.send().await.expect("request"), status, code).await
    }

    /// Creates a contact; answers its id.
    pub async fn contact(&self, session: &Session, body: Value) -> Uuid {
        let contact = self
            .call(session, Method::POST, "/api/contacts", Some(body), StatusCode::CREATED)
            .await;
        Uuid::parse_str(contact["id"].as_str().expect("id")).expect("uuid")
    }

    /// Starts an API-channel conversation with a new contact named `name`; answers its id.
    pub async fn conversation(&self, session: &Session, name: &str) -> Uuid {
        let contact_id = self.contact(session, json!({ "name": name })).await;
        self.conversation_with(session, contact_id).await
    }

    /// Starts an API-channel conversation with an existing contact; answers its id.
    pub async fn conversation_with(&self, session: &Session, contact_id: Uuid) -> Uuid {
        let conversation = self
            .call(
                session,
                Method::POST,
                "/api/conversations",
                Some(json!({ "contact_id": contact_id, "channel": "api" })),
                StatusCode::CREATED,
            )
            .await;
        Uuid::parse_str(conversation["id"].as_str().expect("id")).expect("uuid")
    }

    /// Posts a message into a conversation (`inbound` from the customer, or `outbound`).
    pub async fn message(&self, session: &Session, conversation: Uuid, direction: &str, text: &str) -> Value {
        self.call(
            session,
            Method::POST,
            &format!("/api/conversations/{conversation}/messages"),
            Some(json!({ "text": text, "direction": direction })),
            StatusCode::CREATED,
        )
        .await
    }

    /// Logs in; panics unless it succeeds.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let response = self
            .request(Method::POST, "/api/auth/login")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::OK, "login failed");
        session_of(response.json().await.expect("json"), email)
    }

    /// Creates an API key for a session; answers the key.
    pub async fn api_key(&self, session: &Session) -> String {
        let response = self
            .as_session(Method::POST, "/api/api-keys", &session.token)
            .json(&json!({ "name": "tests" }))
            .send()
            .await
            .expect("create key");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["key"].as_str().expect("key").to_owned()
    }
}

/// The session in a `LoginResponse`.
fn session_of(body: Value, email: &str) -> Session {
    let uuid = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok()).unwrap_or_default();
    Session {
        token: body["token"].as_str().expect("token").to_owned(),
        agent_id: uuid(&body["agent"]["id"]),
        organization_id: uuid(&body["organization_id"]),
        email: email.to_owned(),
    }
}

/// Reads a response as JSON, asserting its status first.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts an `ErrorResponse` with this status and code; answers the body.
pub async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = expect_json(response, status).await;
    assert_eq!(body["error"], code, "error code; body: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message; body: {body}"
    );
    assert_eq!(
        body["request_id"].as_str(),
        request_id.as_deref(),
        "request id; body: {body}"
    );
    body
}

/// Asserts an oversized request was refused: a 413 `ErrorResponse`, or the connection closed
/// while the client was still writing (the server answers before reading the whole body).
pub async fn expect_too_large(result: Result<Response, reqwest::Error>) {
    match result {
        Ok(response) => {
            expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        }
        Err(error) => assert!(error.is_request(), "unexpected failure: {error}"),
    }
}

impl TestApp {
    /// Waits until a projection has applied everything appended so far.
    pub async fn caught_up(&self, projection: &str) {
        use omnistream_store::EventStore;
        let head = self.store.head_position().await.expect("head");
        let pool = self.pool.clone();
        let reached = omnistream_projections::wait::until(std::time::Duration::from_secs(30), || {
            omnistream_projections::wait::has_applied(&pool, projection, head)
        })
        .await
        .expect("wait");
        assert!(reached, "{projection} did not catch up");
    }

    /// Sends raw request head bytes over TCP and answers the response head and body as text;
    /// for requests no well-behaved client would send (a declared body that never comes).
    pub async fn raw(&self, head: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.address.trim_start_matches("http://");
        let mut socket = tokio::net::TcpStream::connect(address).await.expect("connect");
        socket.write_all(head.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read_to_end(&mut answer));
        let _ = read.await;
        String::from_utf8_lossy(&answer).into_owned()
    }
}
