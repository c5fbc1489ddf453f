//! Scanning staff bring an urn's batch in: many files at once, each checked
//! at the door, then each page followed until the workers are done with it.
//!
//! # Decisions
//! - **The same intake as every other door**
//!   ([`recueil_pipeline::intake::ingest_bytes`]): one transaction stores the
//!   bytes, one source per page and the outbox rows; the same bytes sent
//!   twice are a duplicate, not a second contribution.
//! - **Checked on the server, per file**: a file over [`MAX_FILE_BYTES`] or
//!   whose bytes are not PNG, JPEG, TIFF or PDF (whatever its name says) is
//!   refused with its reason and nothing of it is stored; the other files of
//!   the same request go on. The request as a whole is capped at
//!   [`MAX_REQUEST_BYTES`]; files are read one at a time as they stream in.
//! - **Progressive**: the form posts every file at once and answers with a
//!   page of results; with JavaScript, the page sends the files one by one
//!   (`Accept: application/json`) and shows each file's progress and result.
//! - **A letter scanned sheet by sheet** is sent with the box "sheets of
//!   one letter" ticked: its files are checked one by one as they come,
//!   kept, then bundled in the order sent (each byte for byte) and stored
//!   as one source, one contribution. One file refused refuses the letter:
//!   a letter missing a sheet would be published incomplete. The script
//!   lets such a form post whole rather than file by file.
//! - **Traced to a person**: each page accepted gets `uploaded by NAME
//!   (console), batch …` in its history (`recueil source ID`).
//! - **Followed by batch**: `/depot/lot?lot=…` lists every page of the batch
//!   with where it stands (waiting, published, in review, blank, refused
//!   with the worker's reason) and refreshes itself while pages are waiting.

use crate::auth::{csrf_refused, CurrentUser};
use crate::labels::status_label;
use crate::pages::{forbidden, message};
use crate::{render, AppState, ConsoleError};
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use recueil_core::{Channel, Status, Urn};
use recueil_pipeline::intake::{ingest_bytes, sniff, Arrival};
use recueil_store::{Intake, SourceState};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a role without access is told.
const REFUSED: &str = "ne permet pas de déposer des scans";

/// The largest scan accepted: a 40-page colour PDF at 300 dpi fits.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// The largest upload request (every file of one form together).
pub const MAX_REQUEST_BYTES: usize = 512 * 1024 * 1024;
/// The media types a scan may have, told by its bytes.
const SCAN_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/tiff", "application/pdf"];
/// A batch name: what staff write on the box of an urn's papers.
const MAX_BATCH_CHARS: usize = 64;

/// A batch name as typed, checked: letters, digits, space, `-`, `_`, `.`.
fn batch_name(typed: &str) -> Result<String, String> {
    let name = typed.trim();
    if name.is_empty() {
        return Err("le nom du lot est obligatoire".into());
    }
    let ok = name.chars().count() <= MAX_BATCH_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if !ok {
        return Err(format!(
            "nom de lot {name:?} refusé : au plus {MAX_BATCH_CHARS} lettres, chiffres, espaces, - _ ."
        ));
    }
    Ok(name.to_owned())
}

/// The name a file is stored under: its last path component, without
/// control characters, at most 200 characters (a browser sends what the
/// user's system calls it; nothing of it is ever used as a path here).
fn file_name(sent: Option<&str>) -> String {
    let last = sent
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim().to_owned();
    if clean.is_empty() || clean == "." || clean == ".." {
        "scan".into()
    } else {
        clean
    }
}

/// What became of one file at the door.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub name: String,
    /// `accepted`, `duplicate` or `refused`.
    pub outcome: &'static str,
    pub pages: usize,
    /// A letter of several sheets, one contribution: how many sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheets: Option<u32>,
    /// Why it was refused, in French, naming the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FileResult {
    fn refused(name: &str, reason: String) -> FileResult {
        FileResult {
            name: name.to_owned(),
            outcome: "refused",
            pages: 0,
            sheets: None,
            reason: Some(reason),
        }
    }

    pub fn label(&self) -> String {
        match self.outcome {
            "accepted" => match self.sheets {
                Some(n) => {
                    format!("reçu, une lettre de {n} feuilles (une contribution) en traitement")
                }
                None => format!("reçu, {} page(s) en traitement", self.pages),
            },
            "duplicate" => format!("déjà reçu (même fichier), {} page(s)", self.pages),
            _ => format!("refusé : {}", self.reason.as_deref().unwrap_or("")),
        }
    }
}

#[derive(Deserialize)]
pub struct UploadQuery {
    lot: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "upload.html")]
struct UploadPage {
    user: CurrentUser,
    urns: Vec<String>,
    urn: String,
    batch: String,
    /// The files are the sheets of one letter (the box stays ticked).
    letter: bool,
    results: Vec<FileResult>,
    error: Option<String>,
    recent: Vec<(String, usize)>,
    max_mib: usize,
}

/// Urns known from earlier contributions, for the form's suggestions, and
/// the most recent batches with their page counts.
async fn known(state: &AppState) -> Result<(Vec<String>, Vec<(String, usize)>), ConsoleError> {
    let sources = state.store.sources().await?;
    let mut urns: Vec<String> = sources
        .iter()
        .filter_map(|r| r.source.urn.as_ref().map(|u| u.to_string()))
        .collect();
    urns.sort();
    urns.dedup();
    // Sources come oldest first: the last batches seen are the recent ones.
    let mut recent: Vec<(String, usize)> = Vec::new();
    for r in sources.iter().rev() {
        if r.source.channel != Channel::Ballot {
            continue;
        }
        let Some(batch) = &r.source.batch else {
            continue;
        };
        match recent.iter().position(|(b, _)| b == batch) {
            Some(i) => recent[i].1 += 1,
            None if recent.len() < 10 => recent.push((batch.clone(), 1)),
            None => {}
        }
    }
    Ok((urns, recent))
}

fn default_batch() -> String {
    chrono::Utc::now()
        .with_timezone(&recueil_export::CONSULTATION_TZ)
        .format("%Y-%m-%d-%Hh%M")
        .to_string()
}

pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<UploadQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_scan() {
        return forbidden(user, REFUSED);
    }
    let (urns, recent) = known(&state).await?;
    render(&UploadPage {
        user,
        urns,
        urn: String::new(),
        batch: q.lot.unwrap_or_else(default_batch),
        letter: false,
        results: Vec::new(),
        error: None,
        recent,
        max_mib: MAX_FILE_BYTES >> 20,
    })
}

/// Reads one file field, stopping one chunk past the limit: `None` when it
/// is over (the rest of the field is skipped by the next `next_field`).
async fn read_bounded(field: &mut Field<'_>) -> Result<Option<Vec<u8>>, MultipartError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > MAX_FILE_BYTES {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// What the form said besides its files, checked before the first file.
struct Door {
    urn: Option<Urn>,
    batch: String,
    /// The files are the sheets of one letter, in order: kept until the
    /// last, then stored together as one source.
    letter: bool,
}

/// `POST /depot`: every file of the form, each stored or refused on its own.
pub async fn receive(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ConsoleError> {
    if !user.role.can_scan() {
        return forbidden(user, REFUSED);
    }
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let (mut csrf, mut urn_text, mut batch_text) = (String::new(), String::new(), String::new());
    let mut letter_box = false;
    let mut door: Option<Door> = None;
    let mut results: Vec<FileResult> = Vec::new();
    // A letter's sheets, kept until the last one is in.
    let mut sheets: Vec<(String, Vec<u8>)> = Vec::new();
    let bad_request = |e: MultipartError| (e.status(), e.body_text());
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let (status, text) = bad_request(e);
                return message(
                    status,
                    Some(user),
                    "Envoi interrompu",
                    format!(
                        "L'envoi n'a pas pu être lu jusqu'au bout ({text}) ; les fichiers listés avant ont été reçus : {}",
                        results.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name != "fichiers" {
            let text = field.text().await.unwrap_or_default();
            match name.as_str() {
                "csrf" => csrf = text,
                "urne" => urn_text = text,
                "lot" => batch_text = text,
                "lettre" => letter_box = !text.is_empty(),
                _ => {}
            }
            continue;
        }
        // The first file: everything else must have come before it (a
        // browser sends the fields in the form's order).
        let door = match &door {
            Some(d) => d,
            None => {
                if !user.csrf_ok(&csrf) {
                    return Ok(csrf_refused());
                }
                let urn = match urn_text.trim() {
                    "" => None,
                    typed => match typed.to_lowercase().parse::<Urn>() {
                        Ok(u) => Some(u),
                        Err(e) => {
                            return form_error(
                                &state,
                                user,
                                &urn_text,
                                &batch_text,
                                e.to_string(),
                                wants_json,
                            )
                            .await
                        }
                    },
                };
                let batch = match batch_name(&batch_text) {
                    Ok(b) => b,
                    Err(e) => {
                        return form_error(&state, user, &urn_text, &batch_text, e, wants_json)
                            .await
                    }
                };
                door.insert(Door {
                    urn,
                    batch,
                    letter: letter_box,
                })
            }
        };
        let fname = file_name(field.file_name());
        if field.file_name().is_some_and(str::is_empty) {
            // The form posted with no file chosen.
            continue;
        }
        let bytes = match read_bounded(&mut field).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                results.push(FileResult::refused(
                    &fname,
                    format!(
                        "{fname} : plus de {} Mio, la limite d'un fichier",
                        MAX_FILE_BYTES >> 20
                    ),
                ));
                continue;
            }
            Err(e) => {
                results.push(FileResult::refused(
                    &fname,
                    format!("{fname} : envoi interrompu ({})", e.body_text()),
                ));
                break;
            }
        };
        if door.letter {
            match scan_kind(&fname, &bytes) {
                Ok(_) => sheets.push((fname, bytes)),
                Err(refused) => results.push(refused),
            }
            continue;
        }
        results.push(store_file(&state, &fname, bytes, door, &user).await?);
    }
    if let Some(door) = door.as_ref().filter(|d| d.letter && !sheets.is_empty()) {
        let refused = results.iter().any(|r| r.outcome == "refused");
        results.push(store_letter(&state, &sheets, refused, door, &user).await?);
    }
    if door.is_none() && !user.csrf_ok(&csrf) {
        return Ok(csrf_refused());
    }
    if results.iter().any(|r| r.outcome == "accepted") {
        // Workers in this process relay the new jobs now.
        state.wake.notify_one();
    }
    let batch = door.as_ref().map(|d| d.batch.clone()).unwrap_or_default();
    if wants_json {
        return Ok(Json(serde_json::json!({ "batch": batch, "files": results })).into_response());
    }
    let (urns, recent) = known(&state).await?;
    let error = results
        .is_empty()
        .then(|| "Aucun fichier choisi.".to_owned());
    render(&UploadPage {
        user,
        urns,
        urn: urn_text,
        batch,
        letter: letter_box,
        results,
        error,
        recent,
        max_mib: MAX_FILE_BYTES >> 20,
    })
}

async fn form_error(
    state: &AppState,
    user: CurrentUser,
    urn: &str,
    batch: &str,
    error: String,
    json: bool,
) -> Result<Response, ConsoleError> {
    if json {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": error })),
        )
            .into_response());
    }
    let (urns, recent) = known(state).await?;
    let mut r = render(&UploadPage {
        user,
        urns,
        urn: urn.to_owned(),
        batch: batch.to_owned(),
        letter: false,
        results: Vec::new(),
        error: Some(error),
        recent,
        max_mib: MAX_FILE_BYTES >> 20,
    })?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// A file's media type, told by its bytes, if it is a scan; else what
/// staff are told.
fn scan_kind(name: &str, bytes: &[u8]) -> Result<&'static str, FileResult> {
    if bytes.is_empty() {
        return Err(FileResult::refused(name, format!("{name} : fichier vide")));
    }
    let kind = sniff(bytes);
    if !SCAN_TYPES.contains(&kind) {
        return Err(FileResult::refused(
            name,
            format!(
                "{name} : ce n'est pas un scan (PNG, JPEG, TIFF ou PDF) ; contenu reconnu : {kind}"
            ),
        ));
    }
    Ok(kind)
}

fn arrival(door: &Door) -> Arrival {
    let mut arrival = Arrival::new(Channel::Ballot);
    arrival.urn = door.urn.clone();
    arrival.batch = Some(door.batch.clone());
    arrival
}

/// One file through the door: its type from its bytes, its pages counted,
/// then intake.
async fn store_file(
    state: &AppState,
    name: &str,
    bytes: Vec<u8>,
    door: &Door,
    user: &CurrentUser,
) -> Result<FileResult, ConsoleError> {
    let kind = match scan_kind(name, &bytes) {
        Ok(kind) => kind,
        Err(refused) => return Ok(refused),
    };
    let multi_page = matches!(kind, "image/tiff" | "application/pdf");
    let mut arrival = arrival(door);
    arrival.paginate = match (multi_page, state.scan) {
        (true, Some(tools)) => Some(tools.paginate),
        (true, None) => {
            return Ok(FileResult::refused(
                name,
                format!("{name} : les fichiers de plusieurs pages ne sont pas acceptés par cette console (lecteur de scans absent)"),
            ))
        }
        (false, _) => None,
    };
    ingest_scan(state, name, &bytes, &arrival, door, user).await
}

/// The sheets of one letter, uploaded as separate files: bundled in the
/// order sent (each kept byte for byte) and stored as one source, one
/// contribution. Nothing is stored when one of them was refused: a letter
/// missing a sheet would be published incomplete.
async fn store_letter(
    state: &AppState,
    sheets: &[(String, Vec<u8>)],
    refused: bool,
    door: &Door,
    user: &CurrentUser,
) -> Result<FileResult, ConsoleError> {
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    let label = format!("lettre : {}", names.join(", "));
    if refused {
        return Ok(FileResult::refused(
            &label,
            "lettre non enregistrée : une de ses feuilles est refusée ci-dessus ; renvoyez toutes ses feuilles ensemble".into(),
        ));
    }
    let Some(tools) = state.scan else {
        return Ok(FileResult::refused(
            &label,
            "les lettres en plusieurs fichiers ne sont pas acceptées par cette console (lecteur de scans absent)".into(),
        ));
    };
    let files: Vec<(&str, &[u8])> = sheets
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let bundled = match (tools.bundle)(&files) {
        Ok(b) => b,
        Err(reason) => {
            return Ok(FileResult::refused(
                &label,
                format!("lettre refusée : {reason}"),
            ))
        }
    };
    let stored_as = format!("{}+{}.tar", names[0], names.len() - 1);
    let mut arrival = arrival(door);
    arrival.paginate = Some(tools.paginate);
    let mut result = ingest_scan(state, &stored_as, &bundled, &arrival, door, user).await?;
    result.name = label;
    Ok(result)
}

/// Intake of a checked scan, its history noted, and what staff are told.
async fn ingest_scan(
    state: &AppState,
    name: &str,
    bytes: &[u8],
    arrival: &Arrival,
    door: &Door,
    user: &CurrentUser,
) -> Result<FileResult, ConsoleError> {
    let result = ingest_bytes(&state.store, Path::new(name), bytes, arrival).await;
    match result {
        Ok(intakes) => {
            let duplicate = intakes.iter().all(|i| matches!(i, Intake::Duplicate(_)));
            // Who brought each page in, in the page's own history (as the
            // review and the operator's actions are).
            for intake in &intakes {
                if let Intake::Accepted(id) = intake {
                    state
                        .store
                        .note_event(
                            *id,
                            "uploaded",
                            &format!("uploaded by {} (console), batch {}", user.name, door.batch),
                        )
                        .await?;
                }
            }
            tracing::info!(
                staff = %user.name,
                batch = %door.batch,
                pages = intakes.len(),
                duplicate,
                "scan uploaded"
            );
            // One source for a file of several pages: a letter.
            let sheets = match (intakes.len(), arrival.paginate, state.scan) {
                (1, Some(_), Some(tools)) => (tools.pages)(bytes, name).ok().filter(|n| *n > 1),
                _ => None,
            };
            Ok(FileResult {
                name: name.to_owned(),
                outcome: if duplicate { "duplicate" } else { "accepted" },
                pages: intakes.len(),
                sheets,
                reason: None,
            })
        }
        Err(e) if e.is_bad_input() => Ok(FileResult::refused(name, e.to_string())),
        Err(e) => {
            tracing::error!(error = %e, "upload: the store refused a file");
            Ok(FileResult::refused(
                name,
                format!("{name} : non enregistré, la base de données a refusé ({e}) ; renvoyez-le"),
            ))
        }
    }
}

/// One page of a batch, as staff follow it.
struct PageRow {
    name: String,
    page: u32,
    /// A file read whole as one letter (several sheets, one contribution).
    letter: bool,
    /// `attente`, `publiee`, `relecture`, `vide`, `rejetee`, `echec`.
    class: &'static str,
    result: String,
    /// A link to the review item, for those who review.
    review: Option<String>,
}

fn class_label(class: &str) -> &'static str {
    match class {
        "publiee" => "publiées",
        "relecture" => "en relecture",
        "vide" => "blanches",
        "rejetee" => "rejetées",
        "echec" => "refusées",
        _ => "en traitement",
    }
}

#[derive(askama::Template)]
#[template(path = "batch.html")]
struct BatchPage {
    user: CurrentUser,
    batch: String,
    rows: Vec<PageRow>,
    waiting: usize,
    summary: Vec<(&'static str, usize)>,
}

#[derive(Deserialize)]
pub struct BatchQuery {
    lot: String,
}

/// `GET /depot/lot?lot=…`: every page of a batch and what became of it.
pub async fn batch(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<BatchQuery>,
) -> Result<Response, ConsoleError> {
    if !(user.role.can_scan() || user.role.can_operate()) {
        return forbidden(user, REFUSED);
    }
    let mut rows = Vec::new();
    let mut waiting = 0;
    let mut summary: Vec<(&'static str, usize)> = Vec::new();
    let sources = state.store.sources().await?;
    for r in sources.into_iter().filter(|r| {
        r.source.channel == Channel::Ballot && r.source.batch.as_deref() == Some(q.lot.as_str())
    }) {
        let id = r.source.id;
        let (class, result, review) = match r.state {
            SourceState::Done => match state.store.contribution(id).await? {
                Some(c) => {
                    let class = match c.status {
                        Status::Published => "publiee",
                        Status::NeedsReview => "relecture",
                        Status::Empty => "vide",
                        Status::Rejected => "rejetee",
                    };
                    let review = (user.role.can_review() && c.status == Status::NeedsReview)
                        .then(|| format!("/revue/{id}"));
                    let mut result = status_label(c.status).to_owned();
                    if c.status == Status::Empty {
                        result = "page blanche".into();
                    }
                    (class, result, review)
                }
                None => ("attente", "enregistrée".to_owned(), None),
            },
            SourceState::Failed => (
                "echec",
                format!(
                    "refusée : {}",
                    r.last_error.as_deref().unwrap_or("raison non enregistrée")
                ),
                None,
            ),
            SourceState::Queued | SourceState::Processing | SourceState::Retrying => {
                waiting += 1;
                ("attente", "en traitement".to_owned(), None)
            }
        };
        let label = class_label(class);
        match summary.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => summary.push((label, 1)),
        }
        let letter = r.source.page == 0 && crate::holds_sheets(&r.source.media_type);
        rows.push(PageRow {
            name: r.source.original_name,
            page: r.source.page.max(1),
            letter,
            class,
            result,
            review,
        });
    }
    rows.sort_by(|a, b| (&a.name, a.page).cmp(&(&b.name, b.page)));
    if rows.is_empty() {
        return message(
            StatusCode::NOT_FOUND,
            Some(user),
            "Lot inconnu",
            format!("Aucune page n'a été reçue pour le lot {:?}.", q.lot),
        );
    }
    render(&BatchPage {
        user,
        batch: q.lot,
        rows,
        waiting,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_to_their_last_component_and_cleaned() {
        assert_eq!(file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(file_name(Some("C:\\scans\\urne 3.tif")), "urne 3.tif");
        assert_eq!(file_name(Some("a\nb.png")), "ab.png");
        assert_eq!(file_name(Some("..")), "scan");
        assert_eq!(file_name(None), "scan");
        assert_eq!(file_name(Some(&"x".repeat(5000))).chars().count(), 200);
    }

    #[test]
    fn batch_names_are_checked() {
        assert_eq!(
            batch_name(" 2022-03-14 Doulon ").unwrap(),
            "2022-03-14 Doulon"
        );
        assert!(batch_name("").is_err());
        assert!(batch_name("lot/../x").is_err());
        assert!(batch_name(&"l".repeat(65)).is_err());
    }
}
