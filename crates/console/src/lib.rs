//! The web console of recueil: the people's side of the pipeline.
//!
//! Reviewers fix what the machine could not read with confidence, beside the
//! original (the scan, the recording); every decision goes through
//! [`recueil_store::Store::review`], so the audit trail is the one the
//! command line writes, with the account's name as the actor.
//!
//! # Decisions
//! - **Server-rendered HTML** (axum + askama templates compiled into the
//!   binary) with a little self-hosted JavaScript for what HTML cannot do
//!   (keyboard shortcuts, seeking the audio, renewing a claim). No front-end
//!   build chain and no CDN: the console works offline, from one binary.
//! - **Sessions live in the database** (only a SHA-256 of the cookie's
//!   token), so any number of console processes share them and a restart
//!   logs nobody out. Each session carries its own CSRF token, checked on
//!   every POST; the login form, before any session, uses a double-submit
//!   cookie. Cookies are HttpOnly and SameSite=Strict, Secure when
//!   [`ConsoleConfig::secure_cookies`] says the console is behind TLS.
//! - **Roles are coarse and checked per route** ([`auth::Role`]): the raw,
//!   unmasked text, the recording and the caller reference are for reviewers
//!   and administrators only.
//! - **Claims, not locks**: opening an item claims it for a few minutes,
//!   renewed while the page is open; a second reviewer is told who holds it
//!   and cannot save. A closed tab frees the item when the claim runs out.

pub mod auth;
mod browse;
mod charts;
mod labels;
mod media;
mod ops;
mod pages;
mod review;
mod time;
mod upload;
mod webhook;

pub use upload::MAX_FILE_BYTES as UPLOAD_MAX_FILE_BYTES;
pub use webhook::{ApiKey, ApiKeyError};

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use recueil_pipeline::intake::{Bundle, Paginate};
use recueil_pipeline::Policy;
use recueil_privacy::CallerKey;
use recueil_queue::Queue;
use recueil_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How the console behaves; the defaults suit a local, plain-HTTP console.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Mark cookies `Secure` (the console is served over HTTPS, directly or
    /// behind a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// How long opening an item keeps it for its reviewer (renewed by the
    /// page every minute while it is open).
    pub claim_ttl: Duration,
    /// The telephony providers allowed to post voicemails
    /// (`POST /api/v1/voicemails`), each with its key's digest. Empty: the
    /// webhook refuses every request.
    pub api_keys: Vec<ApiKey>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            claim_ttl: Duration::from_secs(10 * 60),
            api_keys: Vec::new(),
        }
    }
}

/// Draws page `page` of a scan (its bytes and name) as a PNG for a person,
/// or says why it cannot.
pub type DrawPage = fn(&[u8], &str, u32) -> Result<Vec<u8>, String>;

/// How many pages a scan (its bytes and name) holds, or why it cannot say.
pub type CountPages = fn(&[u8], &str) -> Result<u32, String>;
/// The files a letter's bundle holds, each named and as it was scanned.
/// The files are borrowed from the bundle's own bytes: nothing is copied to
/// list them or to serve one.
pub type SheetsOf = for<'a> fn(&'a [u8], &str) -> Result<Vec<(String, &'a [u8])>, String>;

/// What the console asks of the scan reader, handed over by the binary: the
/// console itself does not link tesseract.
#[derive(Debug, Clone, Copy)]
pub struct ScanTools {
    /// Splits an uploaded scan into sources (a page each, or one letter).
    pub paginate: Paginate,
    /// Counts the pages of a scan: a letter's are all shown.
    pub pages: CountPages,
    /// The picture of one page for a reviewer: PNG, the form upright with
    /// its frame and tick boxes outlined.
    pub picture: DrawPage,
    /// Bundles the sheets of one letter uploaded as separate files.
    pub bundle: Bundle,
    /// The sheets of such a bundle, each as the scanner wrote it.
    pub sheets: SheetsOf,
}

/// A scan of several pages whose source stands for the whole file (page
/// 0): a TIFF or PDF read as one letter, or the bundle of a letter's
/// sheets uploaded apart.
pub(crate) fn holds_sheets(media_type: &str) -> bool {
    matches!(
        media_type,
        "image/tiff" | "application/pdf" | "application/x-tar"
    )
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: ConsoleConfig,
    /// The secret turning a caller's number into its keyed reference at the
    /// webhook; `None`: a voicemail with a number is refused.
    pub caller_key: Option<Arc<CallerKey>>,
    /// The queue the workers read: its depths on the operator's page and in
    /// `/metrics`, the broker checked by `/readyz`. `None`: not shown.
    pub queue: Option<Queue>,
    /// Without them the upload page refuses multi-page scans and the
    /// reviewer sees TIFF and PDF pages as a download only.
    pub scan: Option<ScanTools>,
    /// The consultation's rules (the closing date), for what the console
    /// records itself (a discarded source's contribution).
    pub policy: Policy,
    /// Wakes the relay of workers running in this process, so an upload is
    /// queued at once rather than at the relay's next look.
    pub wake: Arc<Notify>,
    /// The Prometheus recorder's handle: `/metrics` renders it.
    pub metrics: Option<PrometheusHandle>,
}

impl AppState {
    /// A console over `store` with nothing else attached.
    pub fn new(store: Store, config: ConsoleConfig) -> AppState {
        AppState {
            store,
            config,
            caller_key: None,
            queue: None,
            scan: None,
            policy: Policy::default(),
            wake: Arc::new(Notify::new()),
            metrics: None,
        }
    }
}

/// An error a handler could not turn into a page of its own.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Store(#[from] recueil_store::StoreError),
    #[error(transparent)]
    Review(#[from] recueil_store::ReviewError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("password hashing: {0}")]
    Password(String),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "console request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html("<!doctype html><title>Erreur</title><p>Erreur interne : le détail est dans le journal du serveur.</p>"),
        )
            .into_response()
    }
}

/// Renders a template into a response.
pub(crate) fn render<T: askama::Template>(t: &T) -> Result<Response, ConsoleError> {
    Ok(Html(t.render()?).into_response())
}

/// The console's routes over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .route("/static/console.css", get(pages::css))
        .route("/static/console.js", get(pages::js))
        // Browsers ask for it on every site; no icon, and no login redirect.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/revue", get(review::queue))
        .route("/revue/{id}", get(review::item).post(review::act))
        .route("/revue/{id}/original", get(media::original))
        .route("/revue/{id}/recadrage.png", get(media::crop))
        .route("/revue/{id}/ligne/{n}", get(media::line))
        .route("/revue/{id}/page.png", get(media::page_picture))
        .route("/contributions", get(browse::list))
        .route("/contributions/export", get(browse::export))
        .route(
            "/depot",
            get(upload::page)
                .post(upload::receive)
                .layer(DefaultBodyLimit::max(upload::MAX_REQUEST_BYTES)),
        )
        .route("/depot/lot", get(upload::batch))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/revue/{id}/claim", post(review::renew_claim))
        .route("/exploitation", get(ops::page))
        .route("/exploitation/rejouer", post(ops::replay))
        .route("/exploitation/ecarter", post(ops::discard))
        // The provider's webhook: an API key, no session and no CSRF.
        .route(
            "/api/v1/voicemails",
            post(webhook::voicemail).layer(DefaultBodyLimit::max(webhook::MAX_BODY_BYTES)),
        )
        .route("/api/v1/openapi.yaml", get(webhook::openapi))
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Serves the console on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Every response: no framing, no sniffing, only our own scripts and styles.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; \
             script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
