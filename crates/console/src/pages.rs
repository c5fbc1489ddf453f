//! The home page, health probes, static assets and the 404 page.

use crate::auth::CurrentUser;
use crate::{render, AppState, ConsoleError};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use recueil_core::{Channel, Status};
use recueil_store::{Counts, Filter};

/// The only two assets, compiled into the binary.
const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
        .into_response()
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and, when the console is tied to a
/// queue, the queue too (a broker that refuses a passive declare is down).
pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(e) = state.store.counts().await {
        tracing::warn!(error = %e, "not ready: database");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "base de données injoignable",
        )
            .into_response();
    }
    if let Some(queue) = &state.queue {
        if let Err(e) = queue.depths().await {
            tracing::warn!(error = %e, "not ready: queue");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "file de messages injoignable",
            )
                .into_response();
        }
    }
    "ok".into_response()
}

/// One line of the operator's table.
pub(crate) struct CountLine {
    pub label: &'static str,
    pub value: u64,
}

/// Where sources stand, in the words and order of `recueil status`.
pub(crate) fn count_lines(c: &Counts) -> Vec<CountLine> {
    [
        ("en attente d'envoi (outbox)", c.outbox),
        ("en file", c.queued),
        ("en traitement", c.processing),
        ("nouvel essai prévu", c.retrying),
        ("en échec", c.failed),
        ("traitées", c.done),
        ("traitées dans la dernière heure", c.processed_last_hour),
    ]
    .into_iter()
    .map(|(label, value)| CountLine { label, value })
    .collect()
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    user: CurrentUser,
    role_label: &'static str,
    can_review: bool,
    can_operate: bool,
    staff: bool,
    waiting_ballots: usize,
    waiting_voicemails: usize,
    counts: Vec<CountLine>,
}

pub async fn home(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, ConsoleError> {
    let (mut waiting_ballots, mut waiting_voicemails) = (0, 0);
    if user.role.can_review() {
        let waiting = state
            .store
            .select(&Filter {
                status: Some(Status::NeedsReview),
                since: None,
                ..Filter::default()
            })
            .await?;
        waiting_ballots = waiting
            .iter()
            .filter(|c| c.channel == Channel::Ballot)
            .count();
        waiting_voicemails = waiting.len() - waiting_ballots;
    }
    let mut counts = Vec::new();
    if user.role.can_operate() {
        counts = count_lines(&state.store.counts().await?);
    }
    render(&HomePage {
        role_label: user.role.label(),
        can_review: user.role.can_review(),
        can_operate: user.role.can_operate(),
        staff: user.role.can_scan(),
        user,
        waiting_ballots,
        waiting_voicemails,
        counts,
    })
}

#[derive(askama::Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub user: Option<CurrentUser>,
    pub title: String,
    pub message: String,
}

/// A page with a title and one sentence, under `status`.
pub(crate) fn message(
    status: StatusCode,
    user: Option<CurrentUser>,
    title: &str,
    message: String,
) -> Result<Response, ConsoleError> {
    let mut r = render(&MessagePage {
        user,
        title: title.into(),
        message,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

/// 403: "Votre rôle (…) {what}." — what the role may not do, in words.
pub(crate) fn forbidden(user: CurrentUser, what: &str) -> Result<Response, ConsoleError> {
    let role = user.role.label();
    message(
        StatusCode::FORBIDDEN,
        Some(user),
        "Accès refusé",
        format!("Votre rôle ({role}) {what}."),
    )
}

/// Unknown paths: the login form first, then a 404.
pub async fn not_found(user: CurrentUser) -> Result<Response, ConsoleError> {
    message(
        StatusCode::NOT_FOUND,
        Some(user),
        "Page introuvable",
        "Cette adresse ne correspond à aucune page de la console.".into(),
    )
}
