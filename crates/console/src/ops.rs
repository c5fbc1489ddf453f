//! The operator's page: the queues, where sources stand, how fast and how
//! late the pipeline publishes, what failed and why; failed sources put back
//! in the queue or set aside. Also `/metrics` for Prometheus.
//!
//! # Decisions
//! - **Queue depths by passive declares** ([`recueil_queue::Queue::depths`],
//!   the numbers `recueil status` prints): ready messages and consumers per
//!   work, retry and dead-letter queue, with no management plugin to enable
//!   nor its credentials to keep. The broker's unacknowledged count is, by
//!   construction, the sources the store has `processing` (a worker marks a
//!   source before it works and acknowledges after it stored the result), so
//!   the page shows that one; a `processing` count that does not fall while
//!   no worker is connected is a worker that died holding a message.
//! - **Workers seen**: the consumers attached to each work queue, and the
//!   last contribution each channel's engine stored with its time.
//! - **Rates and latency from the store**, over the contributions processed
//!   in the last 24 hours: per hour, and from reception to processing (p50,
//!   p90, max). For a paper ballot the reception is its intake; for a
//!   voicemail, the time the caller left it.
//! - **Replay and discard** go through the store and the review workflow, in
//!   the operator's name ([`recueil_pipeline::discard`]).

use crate::auth::{csrf_refused, CurrentUser};
use crate::charts::{self, Chart, Column};
use crate::labels::{channel_label, REASONS};
use crate::pages::{count_lines, forbidden, message, CountLine};
use crate::time::{local, local_day};
use crate::{render, AppState, ConsoleError};
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use recueil_core::{Channel, Question, SourceId, Status};
use recueil_pipeline::discard::{discard as discard_source, Discarded};
use recueil_queue::Depth;
use recueil_store::{ContributionFacts, Counts, Rejection, SourceState};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a role without access is told.
const REFUSED: &str = "ne donne pas accès à l'exploitation";

/// Days shown on the contributions-per-day chart.
const CHART_DAYS: i64 = 14;
/// Urns shown on the per-urn chart (the most active).
const CHART_URNS: usize = 12;

struct FailedRow {
    id: String,
    channel: &'static str,
    name: String,
    attempts: u32,
    error: String,
}

struct QueueRow {
    name: String,
    /// `travail`, `nouvel essai`, `rebut`.
    kind: &'static str,
    ready: u64,
    consumers: u64,
}

struct ChannelActivity {
    channel: &'static str,
    consumers: Option<u64>,
    last: String,
    engine: String,
    last_hour: usize,
    waiting_review: usize,
}

#[derive(askama::Template)]
#[template(path = "ops.html")]
struct OpsPage {
    user: CurrentUser,
    counts: Vec<CountLine>,
    /// When the oldest unfinished source was stored (the backlog's age).
    oldest: Option<String>,
    queues: Vec<QueueRow>,
    queue_error: Option<String>,
    /// No broker: the in-process queue of this console's workers, or none.
    queue_kind: &'static str,
    unacked: u64,
    dead: u64,
    activity: Vec<ChannelActivity>,
    last_24h: usize,
    per_hour: String,
    latency: Option<(String, String, String)>,
    failed: Vec<FailedRow>,
    reasons: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    per_day: Chart,
    per_question: Chart,
    per_urn: Chart,
    per_day_table: Vec<(String, u64, u64)>,
    per_question_table: Vec<(String, u64)>,
    per_urn_table: Vec<(String, u64)>,
}

#[derive(Deserialize)]
pub struct OpsQuery {
    rejoues: Option<u64>,
    ecartees: Option<u64>,
}

fn queue_kind(name: &str) -> &'static str {
    if name.ends_with(".dead") {
        "rebut (dead-letter)"
    } else if name.ends_with(".retry") {
        "nouvel essai différé"
    } else {
        "travail"
    }
}

/// `1 min 05 s`, `3 h 12 min`.
fn duration_words(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// The `q`-quantile (0–1) of sorted values, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn per_day(all: &[ContributionFacts]) -> (Chart, Vec<(String, u64, u64)>) {
    let today = local_day(Utc::now());
    let mut days: BTreeMap<chrono::NaiveDate, (u64, u64)> = BTreeMap::new();
    for i in 0..CHART_DAYS {
        days.insert(today - Duration::days(CHART_DAYS - 1 - i), (0, 0));
    }
    for c in all {
        if let Some(slot) = days.get_mut(&local_day(c.received_at)) {
            match c.channel {
                Channel::Voicemail => slot.0 += 1,
                Channel::Ballot => slot.1 += 1,
            }
        }
    }
    let table: Vec<(String, u64, u64)> = days
        .iter()
        .map(|(d, (v, b))| (d.format("%d/%m").to_string(), *v, *b))
        .collect();
    let columns: Vec<Column> = table
        .iter()
        .map(|(label, v, b)| Column {
            label: label.clone(),
            parts: vec![
                ("voicemail", "messages vocaux", *v),
                ("ballot", "bulletins", *b),
            ],
        })
        .collect();
    (charts::stacked_columns(&columns), table)
}

fn per_question(all: &[ContributionFacts]) -> (Chart, Vec<(String, u64)>) {
    let published: Vec<_> = all
        .iter()
        .filter(|c| c.status == Status::Published)
        .collect();
    let mut items: Vec<(String, u64)> = Question::ALL
        .into_iter()
        .map(|q| {
            (
                format!("question {}", q.number()),
                published.iter().filter(|c| c.questions.contains(q)).count() as u64,
            )
        })
        .collect();
    items.push((
        "aucune".into(),
        published.iter().filter(|c| c.questions.is_empty()).count() as u64,
    ));
    (charts::rows(&items, "question", "publiées"), items)
}

fn per_urn(all: &[ContributionFacts]) -> (Chart, Vec<(String, u64)>) {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for c in all.iter().filter(|c| c.channel == Channel::Ballot) {
        let urn = c
            .urn
            .as_ref()
            .map_or_else(|| "(sans urne)".to_owned(), |u| u.to_string());
        *by.entry(urn).or_default() += 1;
    }
    let mut items: Vec<(String, u64)> = by.into_iter().collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items.truncate(CHART_URNS);
    (charts::rows(&items, "urn", "bulletins"), items)
}

pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OpsQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_operate() {
        return forbidden(user, REFUSED);
    }
    let c = state.store.counts().await?;
    let (depths, queue_error) = match &state.queue {
        Some(queue) => match queue.depths().await {
            Ok(d) => (d, None),
            Err(e) => {
                tracing::warn!(error = %e, "operator page: queue depths");
                (Vec::new(), Some(format!("file injoignable : {e}")))
            }
        },
        None => (Vec::new(), None),
    };
    let queue_label = match &state.queue {
        Some(recueil_queue::Queue::Amqp(_)) => "RabbitMQ",
        Some(recueil_queue::Queue::Memory(_)) => "file en mémoire de ce processus",
        None => "non reliée à cette console",
    };
    let dead = depths
        .iter()
        .filter(|d| d.queue.ends_with(".dead"))
        .map(|d| d.ready)
        .sum();
    let consumers_of = |channel: Channel| -> Option<u64> {
        depths
            .iter()
            .find(|d| d.queue.ends_with(&format!(".{channel}")))
            .map(|d| d.consumers)
    };

    let all = state.store.contribution_facts().await?;
    let now = Utc::now();
    let recent: Vec<&ContributionFacts> = all
        .iter()
        .filter(|c| now - c.processed_at <= Duration::hours(24))
        .collect();
    let mut delays: Vec<Duration> = recent
        .iter()
        .map(|c| (c.processed_at - c.received_at).max(Duration::zero()))
        .collect();
    delays.sort();
    let latency = (!delays.is_empty()).then(|| {
        (
            duration_words(quantile(&delays, 0.5)),
            duration_words(quantile(&delays, 0.9)),
            duration_words(*delays.last().expect("not empty")),
        )
    });
    let activity = Channel::ALL
        .into_iter()
        .map(|channel| {
            let of: Vec<&ContributionFacts> = all.iter().filter(|c| c.channel == channel).collect();
            let last = of.iter().max_by_key(|c| c.processed_at);
            ChannelActivity {
                channel: channel_label(channel),
                consumers: consumers_of(channel),
                last: last.map_or_else(|| "jamais".to_owned(), |c| local(c.processed_at)),
                engine: last.map_or_else(String::new, |c| c.engine.to_string()),
                last_hour: of
                    .iter()
                    .filter(|c| now - c.processed_at <= Duration::hours(1))
                    .count(),
                waiting_review: of
                    .iter()
                    .filter(|c| c.status == Status::NeedsReview)
                    .count(),
            }
        })
        .collect();

    let failed = state
        .store
        .sources()
        .await?
        .into_iter()
        .filter(|r| r.state == SourceState::Failed)
        .map(|r| FailedRow {
            id: r.source.id.to_string(),
            channel: channel_label(r.source.channel),
            name: r.source.original_name,
            attempts: r.attempts,
            error: r.last_error.unwrap_or_default(),
        })
        .collect();
    let (per_day, per_day_table) = per_day(&all);
    let (per_question, per_question_table) = per_question(&all);
    let (per_urn, per_urn_table) = per_urn(&all);
    let notice = match (q.rejoues, q.ecartees) {
        (Some(n), _) => Some(format!("{n} source(s) remise(s) en file.")),
        (None, Some(n)) => Some(format!(
            "{n} source(s) écartée(s) : rejetée(s) avec le motif choisi, original conservé."
        )),
        (None, None) => None,
    };
    render(&OpsPage {
        user,
        counts: count_lines(&c),
        oldest: c.oldest_unfinished.map(local),
        queues: depths
            .iter()
            .map(|d| QueueRow {
                name: d.queue.clone(),
                kind: queue_kind(&d.queue),
                ready: d.ready,
                consumers: d.consumers,
            })
            .collect(),
        queue_error,
        queue_kind: queue_label,
        unacked: c.processing,
        dead,
        activity,
        last_24h: recent.len(),
        per_hour: format!("{:.1}", recent.len() as f64 / 24.0),
        latency,
        failed,
        reasons: REASONS.iter().map(|(r, l)| (r.as_str(), *l)).collect(),
        notice,
        per_day,
        per_question,
        per_urn,
        per_day_table,
        per_question_table,
        per_urn_table,
    })
}

#[derive(Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    csrf: String,
    /// One source, or `all` for every failed source.
    id: String,
    /// Discard only: why.
    #[serde(default)]
    reason: String,
}

/// The failed sources an operator's form names (one, or `all`), once the
/// role and the form's token are checked; or the page that refuses it.
async fn failed_ids(
    state: &AppState,
    user: &CurrentUser,
    form: &ReplayForm,
) -> Result<Result<Vec<SourceId>, Response>, ConsoleError> {
    if !user.role.can_operate() {
        return forbidden(user.clone(), REFUSED).map(Err);
    }
    if !user.csrf_ok(&form.csrf) {
        return Ok(Err(csrf_refused()));
    }
    let wanted: Option<SourceId> = match form.id.as_str() {
        "all" => None,
        one => match one.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(user.clone()),
                    "Identifiant invalide",
                    format!("{one:?} n'est pas un identifiant de source."),
                )
                .map(Err)
            }
        },
    };
    Ok(Ok(state
        .store
        .sources()
        .await?
        .into_iter()
        .filter(|r| r.state == SourceState::Failed)
        .map(|r| r.source.id)
        .filter(|id| wanted.is_none_or(|w| w == *id))
        .collect()))
}

pub async fn replay(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ReplayForm>,
) -> Result<Response, ConsoleError> {
    let ids = match failed_ids(&state, &user, &form).await? {
        Ok(ids) => ids,
        Err(page) => return Ok(page),
    };
    // Only failed sources are replayed (the store ignores the others).
    let n = state
        .store
        .replay(&ids, &format!("{} (console)", user.name))
        .await?;
    state.wake.notify_one();
    tracing::info!(operator = %user.name, replayed = n, "replay from the console");
    Ok(Redirect::to(&format!("/exploitation?rejoues={n}")).into_response())
}

/// `POST /exploitation/ecarter`: failed sources set aside with a reason.
pub async fn discard(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ReplayForm>,
) -> Result<Response, ConsoleError> {
    let ids = match failed_ids(&state, &user, &form).await? {
        Ok(ids) => ids,
        Err(page) => return Ok(page),
    };
    let Ok(reason) = form.reason.parse::<Rejection>() else {
        return message(
            StatusCode::BAD_REQUEST,
            Some(user),
            "Motif manquant",
            format!("{:?} n'est pas un motif de rejet.", form.reason),
        );
    };
    let actor = format!("{} (console)", user.name);
    let mut n = 0;
    for id in ids {
        if discard_source(&state.store, id, &actor, reason, &state.policy).await? == Discarded::Done
        {
            n += 1;
        }
    }
    Ok(Redirect::to(&format!("/exploitation?ecartees={n}")).into_response())
}

/// Sets the gauges a scrape reads: the store's counts, the queue depths and
/// the review backlog.
async fn record_gauges(state: &AppState) -> Result<(), ConsoleError> {
    let c: Counts = state.store.counts().await?;
    for (name, value) in [
        ("queued", c.queued),
        ("processing", c.processing),
        ("retrying", c.retrying),
        ("failed", c.failed),
        ("done", c.done),
    ] {
        metrics::gauge!("recueil_sources", "state" => name).set(value as f64);
    }
    metrics::gauge!("recueil_outbox").set(c.outbox as f64);
    metrics::gauge!("recueil_processed_last_hour").set(c.processed_last_hour as f64);
    let backlog_age = c
        .oldest_unfinished
        .map(|t| (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    metrics::gauge!("recueil_backlog_age_seconds").set(backlog_age);
    for channel in Channel::ALL {
        for status in [
            Status::Published,
            Status::NeedsReview,
            Status::Rejected,
            Status::Empty,
        ] {
            let n: u64 = c
                .contributions
                .iter()
                .filter(|(ch, st, _)| *ch == channel && *st == status)
                .map(|(_, _, n)| n)
                .sum();
            metrics::gauge!(
                "recueil_contributions",
                "channel" => channel.to_string(),
                "status" => status.to_string()
            )
            .set(n as f64);
        }
    }
    if let Some(queue) = &state.queue {
        match queue.depths().await {
            Ok(depths) => {
                for Depth {
                    queue,
                    ready,
                    consumers,
                } in depths
                {
                    metrics::gauge!("recueil_queue_ready", "queue" => queue.clone())
                        .set(ready as f64);
                    metrics::gauge!("recueil_queue_consumers", "queue" => queue)
                        .set(consumers as f64);
                }
                metrics::gauge!("recueil_queue_up").set(1.0);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: queue depths");
                metrics::gauge!("recueil_queue_up").set(0.0);
            }
        }
    }
    Ok(())
}

/// `GET /metrics`: Prometheus text. Counts only, no personal data, so a
/// scraper needs no session (like `/healthz`).
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ConsoleError> {
    let Some(handle) = state.metrics.clone() else {
        return Ok((StatusCode::NOT_FOUND, "metrics not enabled").into_response());
    };
    record_gauges(&state).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_durations_read_as_people_say_them() {
        let d: Vec<Duration> = (1..=10).map(Duration::seconds).collect();
        assert_eq!(quantile(&d, 0.5), Duration::seconds(5));
        assert_eq!(quantile(&d, 0.9), Duration::seconds(9));
        assert_eq!(duration_words(Duration::seconds(65)), "1 min 05 s");
        assert_eq!(
            duration_words(Duration::seconds(3 * 3600 + 720)),
            "3 h 12 min"
        );
        assert_eq!(queue_kind("recueil.ballot.retry"), "nouvel essai différé");
    }
}
