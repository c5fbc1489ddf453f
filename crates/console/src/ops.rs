//! The operator's page: where sources stand, and failed sources put back
//! in the queue.
//!
//! A replay goes through [`recueil_store::Store::replay`] (the outbox, so
//! the broker being down loses nothing) and is written in the source's
//! history with the operator's name.

use crate::auth::{csrf_refused, CurrentUser};
use crate::pages::message;
use crate::{render, AppState, ConsoleError};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use recueil_core::SourceId;
use recueil_store::SourceState;
use serde::Deserialize;

struct FailedRow {
    id: String,
    channel: &'static str,
    name: String,
    attempts: u32,
    error: String,
}

#[derive(askama::Template)]
#[template(path = "ops.html")]
struct OpsPage {
    user: CurrentUser,
    counts: Vec<(&'static str, u64)>,
    failed: Vec<FailedRow>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct OpsQuery {
    rejoues: Option<u64>,
}

fn refuse(user: CurrentUser) -> Result<Response, ConsoleError> {
    let role = user.role.label();
    message(
        StatusCode::FORBIDDEN,
        Some(user),
        "Accès refusé",
        format!("Votre rôle ({role}) ne donne pas accès à l'exploitation."),
    )
}

pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OpsQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_operate() {
        return refuse(user);
    }
    let c = state.store.counts().await?;
    let counts = vec![
        ("en attente d'envoi (outbox)", c.outbox),
        ("en file", c.queued),
        ("en traitement", c.processing),
        ("nouvel essai prévu", c.retrying),
        ("en échec", c.failed),
        ("traitées", c.done),
        ("traitées dans la dernière heure", c.processed_last_hour),
    ];
    let failed = state
        .store
        .sources()
        .await?
        .into_iter()
        .filter(|r| r.state == SourceState::Failed)
        .map(|r| FailedRow {
            id: r.source.id.to_string(),
            channel: match r.source.channel {
                recueil_core::Channel::Ballot => "bulletin",
                recueil_core::Channel::Voicemail => "message vocal",
            },
            name: r.source.original_name,
            attempts: r.attempts,
            error: r.last_error.unwrap_or_default(),
        })
        .collect();
    render(&OpsPage {
        user,
        counts,
        failed,
        notice: q
            .rejoues
            .map(|n| format!("{n} source(s) remise(s) en file.")),
    })
}

#[derive(Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    csrf: String,
    /// One source, or `all` for every failed source.
    id: String,
}

pub async fn replay(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ReplayForm>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_operate() {
        return refuse(user);
    }
    if !user.csrf_ok(&form.csrf) {
        return Ok(csrf_refused());
    }
    let wanted: Option<SourceId> = match form.id.as_str() {
        "all" => None,
        one => match one.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(user),
                    "Identifiant invalide",
                    format!("{one:?} n'est pas un identifiant de source."),
                )
            }
        },
    };
    // Only failed sources are replayed (the store ignores the others).
    let ids: Vec<SourceId> = state
        .store
        .sources()
        .await?
        .into_iter()
        .filter(|r| r.state == SourceState::Failed)
        .map(|r| r.source.id)
        .filter(|id| wanted.is_none_or(|w| w == *id))
        .collect();
    let n = state
        .store
        .replay(&ids, &format!("{} (console)", user.name))
        .await?;
    tracing::info!(operator = %user.name, replayed = n, "replay from the console");
    Ok(Redirect::to(&format!("/exploitation?rejoues={n}")).into_response())
}
