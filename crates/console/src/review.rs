//! The reviewer's pages: the queue, one item beside its original, decisions.
//!
//! Decisions go through [`recueil_store::Store::review`] with the account's
//! name as the actor: the audit trail, the re-masking of an edited text and
//! the rules (no approval without a question, nothing edited once rejected)
//! are the workflow's, not the console's.

use crate::auth::{csrf_refused, CurrentUser};
use crate::labels::{channel_label, status_label, QUESTIONS, REASONS};
use crate::pages::{forbidden, message};
use crate::{render, AppState, ConsoleError};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use recueil_core::{
    Channel, Contribution, EvidenceKind, Question, QuestionSet, Source, SourceId, Status,
};
use recueil_store::people::ClaimOutcome;
use recueil_store::{Filter, Rejection, ReviewChange, ReviewError};
use serde::Deserialize;
use std::collections::HashMap;

/// What a role without access is told.
const REFUSED: &str = "ne permet pas la relecture des contributions";

fn notice_label(done: &str) -> Option<&'static str> {
    match done {
        "approuve" => Some("Contribution approuvée et publiée."),
        "rejete" => Some("Contribution rejetée."),
        "enregistre" => Some("Modifications enregistrées."),
        _ => None,
    }
}

fn parse_channel(canal: Option<&str>) -> Option<Channel> {
    canal.and_then(|c| c.parse().ok())
}

fn canal_query(channel: Option<Channel>) -> String {
    channel.map_or(String::new(), |c| format!("?canal={c}"))
}

/// Contributions waiting for review, oldest first, on one channel or all.
async fn waiting(
    state: &AppState,
    channel: Option<Channel>,
) -> Result<Vec<Contribution>, ConsoleError> {
    let mut list = state
        .store
        .select(&Filter {
            status: Some(Status::NeedsReview),
            since: None,
            ..Filter::default()
        })
        .await?;
    list.retain(|c| channel.is_none_or(|ch| c.channel == ch));
    Ok(list)
}

#[derive(Deserialize)]
pub struct QueueQuery {
    canal: Option<String>,
    fait: Option<String>,
}

struct QueueRow {
    id: String,
    channel: &'static str,
    received: String,
    confidence: String,
    urn: String,
    excerpt: String,
    claimed_by: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "queue.html")]
struct QueuePage {
    user: CurrentUser,
    canal: String,
    rows: Vec<QueueRow>,
    notice: Option<&'static str>,
}

pub async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_review() {
        return forbidden(user, REFUSED);
    }
    let channel = parse_channel(q.canal.as_deref());
    let claims: HashMap<SourceId, String> = state
        .store
        .claims()
        .await?
        .into_iter()
        .filter(|c| c.user_name != user.name)
        .map(|c| (c.source_id, c.user_name))
        .collect();
    let rows = waiting(&state, channel)
        .await?
        .into_iter()
        .map(|c| QueueRow {
            id: c.source_id.to_string(),
            channel: channel_label(c.channel),
            received: crate::time::local(c.received_at),
            confidence: format!("{:.0} %", c.confidence * 100.0),
            urn: c.urn.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            excerpt: c.text.chars().take(90).collect(),
            claimed_by: claims.get(&c.source_id).cloned(),
        })
        .collect();
    render(&QueuePage {
        user,
        canal: channel.map_or(String::new(), |c| c.to_string()),
        rows,
        notice: q.fait.as_deref().and_then(notice_label),
    })
}

/// A stretch of the raw text, masked (`kind`) or not.
struct Span {
    text: String,
    kind: Option<String>,
}

/// The raw text cut at the redaction masks (offsets in characters).
fn spans(c: &Contribution) -> Vec<Span> {
    let chars: Vec<char> = c.raw_text.chars().collect();
    let mut masks: Vec<_> = c.redactions.iter().collect();
    masks.sort_by_key(|m| m.start);
    let mut out = Vec::new();
    let mut at = 0;
    for m in masks {
        let (start, end) = (m.start.max(at).min(chars.len()), m.end.min(chars.len()));
        if start >= end {
            continue;
        }
        if start > at {
            out.push(Span {
                text: chars[at..start].iter().collect(),
                kind: None,
            });
        }
        out.push(Span {
            text: chars[start..end].iter().collect(),
            kind: Some(m.kind.as_str().to_owned()),
        });
        at = end;
    }
    if at < chars.len() {
        out.push(Span {
            text: chars[at..].iter().collect(),
            kind: None,
        });
    }
    out
}

struct QuestionBox {
    n: u8,
    title: &'static str,
    checked: bool,
    /// The machine saw this box ticked on the form.
    ticked: bool,
    /// Why the machine filed it there.
    evidence: String,
}

fn question_boxes(c: &Contribution) -> Vec<QuestionBox> {
    Question::ALL
        .into_iter()
        .zip(QUESTIONS)
        .map(|(q, title)| {
            let ev: Vec<_> = c.evidence.iter().filter(|e| e.question == q).collect();
            QuestionBox {
                n: q.number(),
                title,
                checked: c.questions.contains(q),
                ticked: ev.iter().any(|e| e.kind == EvidenceKind::Checkbox),
                evidence: ev
                    .iter()
                    .map(|e| {
                        let kind = match e.kind {
                            EvidenceKind::Checkbox => "case cochée",
                            EvidenceKind::Explicit => "mention",
                            EvidenceKind::Content => "contenu",
                            EvidenceKind::Reviewer => "relecture",
                        };
                        format!("{kind} : {}", e.cue)
                    })
                    .collect::<Vec<_>>()
                    .join(" ; "),
            }
        })
        .collect()
}

/// One timed stretch of a transcript; a click seeks the recording there.
struct SegmentView {
    start_s: String,
    label: String,
    text: String,
    low_confidence: bool,
    /// The words, each marked when whisper was unsure of it; empty for
    /// segments stored before words were kept (the text is shown whole).
    words: Vec<WordView>,
}

struct WordView {
    text: String,
    unsure: bool,
    /// Whisper's probability, in percent, for the word's tooltip.
    percent: u32,
}

/// Below this, a segment is marked for the reviewer's ear: whisper's token
/// probabilities averaged over the segment (the same scale as the
/// contribution's confidence, whose review threshold is 0.6).
const LOW_SEGMENT_CONFIDENCE: f32 = 0.6;

/// The transcript's timed segments, each a button that seeks the audio.
fn segments(c: &Contribution) -> Vec<SegmentView> {
    c.segments
        .iter()
        .map(|s| {
            let whole = s.start_s.max(0.0) as u32;
            SegmentView {
                start_s: format!("{:.2}", s.start_s.max(0.0)),
                label: format!("{}:{:02}", whole / 60, whole % 60),
                text: s.text.trim().to_owned(),
                low_confidence: s.confidence < LOW_SEGMENT_CONFIDENCE,
                words: s
                    .words
                    .iter()
                    .map(|w| WordView {
                        text: w.text.clone(),
                        unsure: w.is_unsure(),
                        percent: percent(w.probability),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// One line of a scan's text crop as the item page shows it: its image
/// (`/revue/{id}/ligne/{n}`) above the machine's reading.
struct LineView {
    n: usize,
    text: String,
    percent: u32,
    unsure: bool,
}

/// A probability (0 to 1) in whole percent, for a tooltip.
fn percent(p: f32) -> u32 {
    (p.clamp(0.0, 1.0) * 100.0).round() as u32
}

/// Below this OCR confidence a line's reading is marked unsure.
const LOW_LINE_CONFIDENCE: f32 = 0.6;

fn lines(c: &Contribution) -> Vec<LineView> {
    c.lines
        .iter()
        .enumerate()
        .map(|(i, l)| LineView {
            n: i + 1,
            text: l.text.clone(),
            percent: percent(l.confidence),
            unsure: l.confidence < LOW_LINE_CONFIDENCE,
        })
        .collect()
}

#[derive(askama::Template)]
#[template(path = "item.html")]
struct ItemPage {
    user: CurrentUser,
    id: String,
    canal_qs: String,
    canal: String,
    is_ballot: bool,
    channel: &'static str,
    status: &'static str,
    rejected: bool,
    received: String,
    late: bool,
    urn: String,
    batch: String,
    page: u32,
    original_name: String,
    media_type: String,
    engine: String,
    /// The language the text was read in, when not the consultation's.
    other_language: Option<String>,
    confidence: String,
    caller_ref: Option<String>,
    /// The browser can show the original itself (PNG, JPEG).
    image_original: bool,
    /// The registered page with its boxes outlined (any scan format).
    page_picture: bool,
    /// A letter of several sheets (one source for the whole file): its
    /// pages, each drawn; empty for a single page.
    letter_pages: Vec<u32>,
    /// A letter uploaded sheet by sheet: each sheet's name, to download it
    /// as the scanner wrote it (`original?feuille=N`).
    sheets: Vec<String>,
    has_crop: bool,
    /// The crop's lines, each cut out above its reading (with a crop only).
    lines: Vec<LineView>,
    /// What the reviewer edits: the reading, unmasked.
    text: String,
    /// What is published of it.
    published: String,
    raw: Vec<Span>,
    questions: Vec<QuestionBox>,
    segments: Vec<SegmentView>,
    reasons: Vec<(&'static str, &'static str)>,
    prev: Option<String>,
    next: Option<String>,
    position: usize,
    total: usize,
    taken_by: Option<String>,
    claim_until: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct ItemQuery {
    canal: Option<String>,
    fait: Option<String>,
}

fn not_found(user: CurrentUser) -> Result<Response, ConsoleError> {
    message(
        StatusCode::NOT_FOUND,
        Some(user),
        "Contribution introuvable",
        "Aucune contribution ne porte cet identifiant.".into(),
    )
}

/// Builds the item page; claims the item for `user` unless someone else
/// holds it.
/// The item page again, with why the form was refused.
async fn refused(
    state: &AppState,
    user: CurrentUser,
    id: SourceId,
    channel: Option<Channel>,
    status: StatusCode,
    error: String,
) -> Result<Response, ConsoleError> {
    item_page(state, user, id, channel, Some(error), None, status).await
}

async fn item_page(
    state: &AppState,
    user: CurrentUser,
    id: SourceId,
    channel: Option<Channel>,
    error: Option<String>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let Some(c) = state.store.contribution(id).await? else {
        return not_found(user);
    };
    let Some(record) = state.store.source(id).await? else {
        return not_found(user);
    };
    let until = claim_deadline(state);
    let (taken_by, claim_until) = match state.store.claim(id, &user.name, until).await? {
        ClaimOutcome::Held(t) => (None, t),
        ClaimOutcome::Taken(claim) => (Some(claim.user_name), claim.until),
    };
    let list = waiting(state, channel).await?;
    let pos = list.iter().position(|w| w.source_id == id);
    let (prev, next) = match pos {
        Some(i) => (
            i.checked_sub(1).map(|j| list[j].source_id.to_string()),
            list.get(i + 1).map(|w| w.source_id.to_string()),
        ),
        None => (None, list.first().map(|w| w.source_id.to_string())),
    };
    let s = &record.source;
    let has_crop = c.channel == Channel::Ballot && state.store.review_image(id).await?.is_some();
    let letter = letter_view(state, s).await?;
    let page = ItemPage {
        id: id.to_string(),
        canal_qs: canal_query(channel),
        canal: channel.map_or(String::new(), |c| c.to_string()),
        is_ballot: c.channel == Channel::Ballot,
        channel: channel_label(c.channel),
        status: status_label(c.status),
        rejected: c.status == Status::Rejected,
        received: crate::time::local(c.received_at),
        late: c.late,
        urn: c.urn.as_ref().map(|u| u.to_string()).unwrap_or_default(),
        batch: s.batch.clone().unwrap_or_default(),
        page: s.page,
        original_name: s.original_name.clone(),
        media_type: s.media_type.clone(),
        engine: c.engine.to_string(),
        other_language: c.language.clone().filter(|l| *l != state.policy.language),
        confidence: format!("{:.0} %", c.confidence * 100.0),
        caller_ref: s.caller_ref.clone(),
        image_original: matches!(s.media_type.as_str(), "image/png" | "image/jpeg"),
        page_picture: c.channel == Channel::Ballot && state.scan.is_some(),
        letter_pages: letter.pages,
        sheets: letter.sheets,
        has_crop,
        lines: if has_crop { lines(&c) } else { Vec::new() },
        text: c.raw_text.clone(),
        published: c.text.clone(),
        raw: spans(&c),
        questions: question_boxes(&c),
        segments: segments(&c),
        reasons: REASONS.iter().map(|(r, l)| (r.as_str(), *l)).collect(),
        prev,
        next,
        position: pos.map_or(0, |i| i + 1),
        total: list.len(),
        taken_by,
        claim_until: crate::time::local_clock(claim_until),
        error,
        notice,
        user,
    };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

/// A letter's pages and sheets, from its original read once.
#[derive(Default)]
struct LetterView {
    /// The pages of a scan that is one contribution as a whole (page 0 of
    /// a TIFF or PDF, or a bundle of sheets scanned apart), so that the
    /// reviewer sees every sheet; empty for a single page.
    pages: Vec<u32>,
    /// The names of the files of a letter uploaded sheet by sheet (a
    /// bundle), each downloadable as scanned; empty for any other source.
    sheets: Vec<String>,
}

/// The [`LetterView`] of a source: empty unless it is a letter, or when
/// its original cannot be counted.
async fn letter_view(state: &AppState, s: &Source) -> Result<LetterView, ConsoleError> {
    let Some(tools) = state.scan else {
        return Ok(LetterView::default());
    };
    let multi_page = crate::holds_sheets(&s.media_type);
    if s.channel != Channel::Ballot || s.page != 0 || !multi_page {
        return Ok(LetterView::default());
    }
    let Some(bytes) = state.store.original(&s.sha256).await? else {
        return Ok(LetterView::default());
    };
    let pages = match (tools.pages)(&bytes, &s.original_name) {
        Ok(n) if n > 1 => (1..=n).collect(),
        Ok(_) => Vec::new(),
        Err(reason) => {
            tracing::warn!(source = %s.id, %reason, "letter pages not counted");
            Vec::new()
        }
    };
    let sheets = if s.media_type == "application/x-tar" {
        match (tools.sheets)(&bytes, &s.original_name) {
            Ok(sheets) => sheets.into_iter().map(|(name, _)| name).collect(),
            Err(reason) => {
                tracing::warn!(source = %s.id, %reason, "letter sheets not listed");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    Ok(LetterView { pages, sheets })
}

fn claim_deadline(state: &AppState) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(state.config.claim_ttl).unwrap_or_default()
}

pub async fn item(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<ItemQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_review() {
        return forbidden(user, REFUSED);
    }
    let Ok(id) = id.parse::<SourceId>() else {
        return not_found(user);
    };
    let channel = parse_channel(q.canal.as_deref());
    let notice = q.fait.as_deref().and_then(notice_label);
    item_page(&state, user, id, channel, None, notice, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    text: Option<String>,
    q1: Option<String>,
    q2: Option<String>,
    q3: Option<String>,
    reason: Option<String>,
    canal: Option<String>,
}

impl ActForm {
    fn questions(&self) -> QuestionSet {
        let mut set = QuestionSet::empty();
        for (n, on) in [(1, &self.q1), (2, &self.q2), (3, &self.q3)] {
            if on.is_some() {
                set.insert(Question::new(n).expect("1 to 3"));
            }
        }
        set
    }

    /// The edit this form makes to `c`, if any: only what changed, so an
    /// approval without changes writes no edit in the audit trail.
    fn edit(&self, c: &Contribution) -> Option<ReviewChange> {
        let text = self
            .text
            .as_ref()
            .map(|t| t.replace("\r\n", "\n").trim().to_owned())
            .filter(|t| *t != c.raw_text.trim());
        let questions = Some(self.questions()).filter(|q| *q != c.questions);
        (text.is_some() || questions.is_some()).then(|| ReviewChange::Edit {
            // The reviewer corrects what was said or written; what is
            // published is masked from it, as the machine's reading is.
            text: text.as_deref().map(recueil_pipeline::edited_text),
            questions,
        })
    }
}

pub async fn act(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_review() {
        return forbidden(user, REFUSED);
    }
    if !user.csrf_ok(&form.csrf) {
        return Ok(csrf_refused());
    }
    let Ok(id) = id.parse::<SourceId>() else {
        return not_found(user);
    };
    let channel = parse_channel(form.canal.as_deref());
    let Some(c) = state.store.contribution(id).await? else {
        return not_found(user);
    };
    if let ClaimOutcome::Taken(claim) = state
        .store
        .claim(id, &user.name, claim_deadline(&state))
        .await?
    {
        return message(
            StatusCode::CONFLICT,
            Some(user),
            "Contribution déjà prise",
            format!(
                "{} relit cette contribution jusqu'à {} : vos changements n'ont pas été enregistrés.",
                claim.user_name,
                crate::time::local_clock(claim.until)
            ),
        );
    }
    // The next item is the one after this one in the queue as it was.
    let list = waiting(&state, channel).await?;
    let next = list
        .iter()
        .skip_while(|w| w.source_id != id)
        .nth(1)
        .or_else(|| list.iter().find(|w| w.source_id != id))
        .map(|w| w.source_id);
    let mut changes = Vec::new();
    let done = match form.action.as_str() {
        "save" => {
            changes.extend(form.edit(&c));
            "enregistre"
        }
        "approve" => {
            // Checked before any edit is written, so that a refused
            // approval leaves nothing half done.
            if form.questions().is_empty() {
                let e = "Cochez au moins une question avant d'approuver.".to_owned();
                return refused(
                    &state,
                    user,
                    id,
                    channel,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e,
                )
                .await;
            }
            changes.extend(form.edit(&c));
            changes.push(ReviewChange::Approve);
            "approuve"
        }
        "reject" => {
            let reason = form.reason.as_deref().unwrap_or_default();
            match reason.parse::<Rejection>() {
                Ok(r) => changes.push(ReviewChange::Reject(r)),
                Err(_) => {
                    let e = format!("Choisissez un motif de rejet (reçu : {reason:?}).");
                    return refused(
                        &state,
                        user,
                        id,
                        channel,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        e,
                    )
                    .await;
                }
            }
            "rejete"
        }
        other => {
            let e = format!("Action inconnue : {other:?}.");
            return refused(&state, user, id, channel, StatusCode::BAD_REQUEST, e).await;
        }
    };
    for change in changes {
        match state.store.review(id, &user.name, change).await {
            Ok(_) => {}
            Err(ReviewError::NoQuestion) => {
                let e = "Cochez au moins une question avant d'approuver.".to_owned();
                return refused(
                    &state,
                    user,
                    id,
                    channel,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e,
                )
                .await;
            }
            Err(e @ ReviewError::NotAllowed { .. }) => {
                let e = format!("Action impossible : {e}.");
                return refused(&state, user, id, channel, StatusCode::CONFLICT, e).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(reviewer = %user.name, source = %id, action = done, "review decision");
    let qs = channel.map_or(String::new(), |c| format!("&canal={c}"));
    if done == "enregistre" {
        return Ok(Redirect::to(&format!("/revue/{id}?fait={done}{qs}")).into_response());
    }
    state.store.release_claim(id, &user.name).await?;
    Ok(match next {
        Some(n) => Redirect::to(&format!("/revue/{n}?fait={done}{qs}")),
        None => Redirect::to(&format!("/revue?fait={done}{qs}")),
    }
    .into_response())
}

/// Renews the claim on an item while its page is open (the page's script
/// calls it every minute). 409 when another reviewer holds it.
pub async fn renew_claim(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    if !user.role.can_review() {
        return Ok((
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": "rôle insuffisant"})),
        )
            .into_response());
    }
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !user.csrf_ok(token) {
        return Ok((
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": "jeton CSRF invalide"})),
        )
            .into_response());
    }
    let Ok(id) = id.parse::<SourceId>() else {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "identifiant invalide"})),
        )
            .into_response());
    };
    Ok(
        match state
            .store
            .claim(id, &user.name, claim_deadline(&state))
            .await?
        {
            ClaimOutcome::Held(until) => Json(serde_json::json!({
                "held": true,
                "until": until.to_rfc3339(),
            }))
            .into_response(),
            ClaimOutcome::Taken(c) => (
                StatusCode::CONFLICT,
                Json(serde_json::json!({
                    "held": false,
                    "by": c.user_name,
                    "until": c.until.to_rfc3339(),
                })),
            )
                .into_response(),
        },
    )
}
