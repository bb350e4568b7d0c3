//! Stand-ins for third-party services no machine here can reach, each a real server on
//! loopback that records what it was sent: Meta's Graph API (HTTP) and an SMTP relay.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json, Path};
use poem::{handler, post, EndpointExt, Request, Response, Route, Server};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A request the Graph stand-in received.
#[derive(Debug, Clone)]
pub struct GraphCall {
    /// The account id in the path (phone number id, Instagram account id).
    pub account: String,
    /// The `Authorization` header.
    pub authorization: String,
    /// The JSON body.
    pub body: Value,
}

/// A file the Graph stand-in received on `/{account}/media`.
#[derive(Debug, Clone)]
pub struct GraphUpload {
    /// The account id in the path.
    pub account: String,
    /// The text fields (`messaging_product`, `type`).
    pub fields: Vec<(String, String)>,
    /// The file's name.
    pub file_name: String,
    /// The file's content.
    pub content: Vec<u8>,
}

#[derive(Default)]
struct GraphState {
    calls: Mutex<Vec<GraphCall>>,
    uploads: Mutex<Vec<GraphUpload>>,
    /// Answers to give, in order; once empty, every send succeeds.
    script: Mutex<VecDeque<(u16, Value)>>,
}

/// Meta's Graph API, as far as sending messages goes.
#[derive(Clone)]
pub struct GraphStandIn {
    /// Its base URL.
    pub url: String,
    state: Arc<GraphState>,
}

#[handler]
async fn graph_send(
    Path(account): Path<String>,
    request: &Request,
    Json(body): Json<Value>,
    Data(state): Data<&Arc<GraphState>>,
) -> Response {
    let number = {
        let mut calls = state.calls.lock().unwrap();
        calls.push(GraphCall {
            account,
            authorization: request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body: body.clone(),
        });
        calls.len()
    };
    let scripted = state.script.lock().unwrap().pop_front();
    let (status, answer) = scripted.unwrap_or_else(|| {
        let answer = if body.get("messaging_product").is_some() {
            json!({"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                   "messages": [{"id": format!("wamid.SENT{number}")}]})
        } else {
            json!({"recipient_id": body["recipient"]["id"], "message_id": format!("mid.SENT{number}")})
        };
        (200, answer)
    });
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(answer.to_string())
}

#[handler]
async fn graph_media(
    Path(account): Path<String>,
    mut multipart: poem::web::Multipart,
    Data(state): Data<&Arc<GraphState>>,
) -> Json<Value> {
    let mut upload = GraphUpload {
        account,
        fields: Vec::new(),
        file_name: String::new(),
        content: Vec::new(),
    };
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                upload.file_name = file_name;
                upload.content = field.bytes().await.unwrap_or_default();
            }
            None => upload.fields.push((name, field.text().await.unwrap_or_default())),
        }
    }
    let mut uploads = state.uploads.lock().unwrap();
    uploads.push(upload);
    Json(json!({"id": format!("media.{}", uploads.len())}))
}

impl GraphStandIn {
    /// Starts it on a free loopback port.
    pub async fn start() -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let state = Arc::new(GraphState::default());
        let app = Route::new()
            .at("/v21.0/:account/messages", post(graph_send))
            .at("/v21.0/:account/media", post(graph_media))
            .data(state.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self {
            url: format!("http://127.0.0.1:{port}/v21.0"),
            state,
        }
    }

    /// Makes the next sends answer these statuses and bodies, in order.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = (u16, Value)>) {
        self.state.script.lock().unwrap().extend(answers);
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<GraphCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The files uploaded so far.
    pub fn uploads(&self) -> Vec<GraphUpload> {
        self.state.uploads.lock().unwrap().clone()
    }
}

/// A message the SMTP stand-in received.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `MAIL FROM`.
    pub from: String,
    /// `RCPT TO`s.
    pub to: Vec<String>,
    /// The message as sent (headers and body).
    pub data: String,
}

/// An SMTP relay that accepts everything and keeps it.
#[derive(Clone)]
pub struct SmtpStandIn {
    /// `smtp://127.0.0.1:<port>`.
    pub url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpStandIn {
    /// Starts it on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = session(socket, kept).await;
                });
            }
        });
        Self {
            url: format!("smtp://127.0.0.1:{port}"),
            mails,
        }
    }

    /// The messages so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn session(socket: tokio::net::TcpStream, kept: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 standin ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write.write_all(b"250-standin\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().trim_matches(['<', '>']).to_owned();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            kept.lock().unwrap().push(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            write.write_all(b"250 queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            write.write_all(b"250 OK\r\n").await?;
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
    Ok(())
}
