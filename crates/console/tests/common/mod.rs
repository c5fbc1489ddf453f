//! What the console's in-process tests share: requests through the router,
//! the login form, the fixtures.
#![allow(dead_code)] // each test file uses its own part

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use recueil_core::{Channel, Source, SourceId};
use recueil_store::Store;
use tower::ServiceExt;

pub const PASSWORD: &str = "un mot de passe assez long";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/inbox/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    /// The body as it came, for files.
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap().to_owned())
    }

    /// The value of the first hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a CSRF field")
            + 19;
        self.body[at..at + 64].to_owned()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 64 << 20)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}

pub async fn get(app: &Router, path: &str, session: Option<&str>) -> Reply {
    let mut req = Request::get(path);
    if let Some(s) = session {
        req = req.header(header::COOKIE, format!("recueil_session={s}"));
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

pub async fn post(app: &Router, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Reply {
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    send(app, req.body(Body::from(body)).unwrap()).await
}

/// Logs in through the form; returns the session token.
pub async fn try_login(app: &Router, name: &str, password: &str) -> Reply {
    let page = get(app, "/login", None).await;
    let login_cookie = page.cookie("recueil_login").expect("login cookie");
    post(
        app,
        "/login",
        Some(&format!("recueil_login={login_cookie}")),
        &[
            ("name", name),
            ("password", password),
            ("csrf", &page.csrf()),
            ("next", "/"),
        ],
    )
    .await
}

pub async fn login(app: &Router, name: &str) -> String {
    let r = try_login(app, name, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    r.cookie("recueil_session").expect("session cookie")
}

pub fn session(token: &str) -> String {
    format!("recueil_session={token}")
}

pub const BOUNDARY: &str = "recueil-test-boundary-7d1f";

/// A multipart/form-data body of `(name, file name, bytes)` parts.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A source as intake would record `bytes` arriving now under `name`.
pub fn source(channel: Channel, name: &str, bytes: &[u8]) -> Source {
    Source {
        id: SourceId::new(),
        channel,
        sha256: recueil_core::sha256_hex(bytes),
        media_type: "application/octet-stream".into(),
        size: bytes.len() as u64,
        original_name: name.into(),
        received_at: Utc::now(),
        caller_ref: None,
        urn: None,
        batch: None,
        page: 0,
    }
}

/// A source the worker failed for good with `reason`.
pub async fn failed_source(
    store: &Store,
    channel: Channel,
    name: &str,
    bytes: &[u8],
    reason: &str,
) -> Source {
    let source = source(channel, name, bytes);
    store.ingest(&source, bytes).await.unwrap();
    store.begin_attempt(source.id, 1).await.unwrap();
    store
        .record_failure(source.id, false, reason)
        .await
        .unwrap();
    source
}
