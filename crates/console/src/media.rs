//! Originals and review images, for reviewers only.
//!
//! Recordings are served with HTTP range requests (RFC 9110 §14): a browser's
//! audio player asks for byte ranges to seek, and without `206 Partial
//! Content` it cannot jump to a segment. Only a single range is honoured; a
//! multi-range request gets the whole body, which the RFC allows.

use crate::auth::CurrentUser;
use crate::pages::{forbidden, message};
use crate::{AppState, ConsoleError};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use recueil_core::SourceId;
use recueil_store::SourceRecord;

/// What a role without access is told.
const REFUSED: &str = "ne donne pas accès aux originaux";

/// A `Range: bytes=…` header against a body of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) range: the whole body.
    Full,
    /// `start..=end`, inclusive as in the header.
    Part { start: u64, end: u64 },
    /// Outside the body: 416.
    Unsatisfiable,
}

pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match last.parse::<u64>() {
            Ok(0) => return RangeRequest::Unsatisfiable,
            Ok(n) => Some((len.saturating_sub(n), len.saturating_sub(1))),
            Err(_) => None,
        },
        (false, true) => first
            .parse::<u64>()
            .ok()
            .map(|s| (s, len.saturating_sub(1))),
        (false, false) => match (first.parse::<u64>(), last.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(len.saturating_sub(1)))),
            _ => None,
        },
        (true, true) => None,
    };
    match parsed {
        None => RangeRequest::Full,
        Some((start, _)) if len == 0 || start >= len => RangeRequest::Unsatisfiable,
        Some((start, end)) => RangeRequest::Part { start, end },
    }
}

/// `bytes` as a response, honouring a range request.
pub fn ranged(bytes: Vec<u8>, media_type: &str, headers: &HeaderMap) -> Response {
    let len = bytes.len() as u64;
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    );
    let content_type = HeaderValue::from_str(media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let common = [
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (header::CONTENT_TYPE, content_type),
        // Personal data: never in a shared cache.
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ),
    ];
    match range {
        RangeRequest::Full => (StatusCode::OK, common, bytes).into_response(),
        RangeRequest::Unsatisfiable => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
        )
            .into_response(),
        RangeRequest::Part { start, end } => {
            let part = bytes[start as usize..=end as usize].to_vec();
            (
                StatusCode::PARTIAL_CONTENT,
                common,
                [(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))],
                part,
            )
                .into_response()
        }
    }
}

/// A PNG of personal data: never in a shared cache.
fn private_png(png: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        png,
    )
        .into_response()
}

fn gone(user: CurrentUser, what: &str) -> Result<Response, ConsoleError> {
    message(
        StatusCode::NOT_FOUND,
        Some(user),
        "Introuvable",
        format!("{what} n'est pas (ou plus) conservé."),
    )
}

#[derive(serde::Deserialize)]
pub struct OriginalQuery {
    /// One sheet (from 1) of a letter uploaded sheet by sheet.
    feuille: Option<usize>,
}

/// `GET /revue/{id}/original`: the file as it arrived; `?feuille=N`, the
/// N-th sheet of a letter bundled from separate scans, as the scanner wrote
/// it (a reviewer's browser shows a JPEG, not the bundle around it).
pub async fn original(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<OriginalQuery>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    if !user.role.can_review() {
        return forbidden(user, REFUSED);
    }
    let (record, bytes) = match with_original(&state, user.clone(), &id, ORIGINAL).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let Some(n) = q.feuille else {
        return Ok(ranged(bytes, &record.source.media_type, &headers));
    };
    let sheet = state
        .scan
        .and_then(|tools| (tools.sheets)(&bytes, &record.source.original_name).ok())
        .and_then(|sheets| {
            n.checked_sub(1)
                .and_then(|i| sheets.get(i))
                .map(|(_, b)| b.to_vec())
        });
    match sheet {
        Some(sheet) => {
            let media_type = recueil_pipeline::intake::sniff(&sheet);
            Ok(ranged(sheet, media_type, &headers))
        }
        None => gone(user, "Cette feuille"),
    }
}

/// How a missing thing is named: (absent, purged).
const ORIGINAL: (&str, &str) = ("Cet original", "Cet original (effacé par la rétention ?)");
const PAGE: (&str, &str) = ("Cette page", "Cette page (effacée par la rétention ?)");

/// The source named in the address and its original bytes, or the 404
/// page saying which is missing (`what`: how to name it).
async fn with_original(
    state: &AppState,
    user: CurrentUser,
    id: &str,
    (what, purged): (&str, &str),
) -> Result<Result<(SourceRecord, Vec<u8>), Response>, ConsoleError> {
    let Ok(id) = id.parse::<SourceId>() else {
        return gone(user, what).map(Err);
    };
    let Some(record) = state.store.source(id).await? else {
        return gone(user, what).map(Err);
    };
    let Some(bytes) = state.store.original(&record.source.sha256).await? else {
        return gone(user, purged).map(Err);
    };
    Ok(Ok((record, bytes)))
}

pub async fn crop(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_review() {
        return forbidden(user, REFUSED);
    }
    let Ok(id) = id.parse::<SourceId>() else {
        return gone(user, "Cette image");
    };
    match state.store.review_image(id).await? {
        Some(png) => Ok(private_png(png)),
        None => gone(user, "Cette image"),
    }
}

/// Line `n` (from 1) of a scan's text crop: the rows the reader found it
/// on, cut from the stored crop, so that the reviewer reads the handwriting
/// right above the machine's reading of it.
pub async fn line(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, ConsoleError> {
    const WHAT: &str = "Cette ligne";
    if !user.role.can_review() {
        return forbidden(user, REFUSED);
    }
    let Ok(id) = id.parse::<SourceId>() else {
        return gone(user, WHAT);
    };
    let Some(contribution) = state.store.contribution(id).await? else {
        return gone(user, WHAT);
    };
    let Some(line) = n
        .checked_sub(1)
        .and_then(|i| contribution.lines.get(i))
        .cloned()
    else {
        return gone(user, WHAT);
    };
    let Some(png) = state.store.review_image(id).await? else {
        return gone(user, WHAT);
    };
    let cut = tokio::task::spawn_blocking(move || cut_rows(&png, line.top, line.height))
        .await
        .map_err(|e| ConsoleError::Task(e.to_string()))?;
    match cut {
        Ok(png) => Ok(private_png(png)),
        Err(reason) => {
            tracing::warn!(source = %id, line = n, %reason, "line crop failed");
            gone(user, WHAT)
        }
    }
}

/// Rows `top..top + height` of a PNG (clamped to the image), as a PNG.
fn cut_rows(png: &[u8], top: u32, height: u32) -> Result<Vec<u8>, image::ImageError> {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)?;
    let top = top.min(img.height().saturating_sub(1));
    let height = height.clamp(1, img.height() - top);
    let mut out = Vec::new();
    img.crop_imm(0, top, img.width(), height)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)?;
    Ok(out)
}

/// The page of a scan as the reader registered it, with the frame and the
/// tick boxes outlined (see `recueil_scan::page_picture`): browsers cannot
/// show a TIFF or a PDF page, and an upright page with the machine's reading
/// of the boxes drawn on it is what a reviewer checks.
/// Which page of a letter to draw (`?p=2`); a source that is one page of
/// a batch has its own.
#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    p: Option<u32>,
}

pub async fn page_picture(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_review() {
        return forbidden(user, REFUSED);
    }
    let Some(tools) = state.scan else {
        return gone(user, PAGE.0);
    };
    let (record, bytes) = match with_original(&state, user.clone(), &id, PAGE).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let id = record.source.id;
    let name = record.source.original_name.clone();
    let page = match record.source.page {
        0 => query.p.unwrap_or(0),
        own => own,
    };
    // Decoding and registering a 300 dpi page takes a CPU for a moment.
    let drawn = tokio::task::spawn_blocking(move || (tools.picture)(&bytes, &name, page))
        .await
        .map_err(|e| ConsoleError::Task(e.to_string()))?;
    match drawn {
        Ok(png) => Ok(private_png(png)),
        Err(reason) => {
            tracing::warn!(source = %id, %reason, "page picture failed");
            message(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(user),
                "Page illisible",
                format!("Cette page ne peut pas être affichée : {reason}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 100), Full);
        assert_eq!(
            parse_range(Some("bytes=0-9"), 100),
            Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=90-"), 100),
            Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=-10"), 100),
            Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=50-500"), 100),
            Part { start: 50, end: 99 }
        );
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Full);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Full);
        assert_eq!(parse_range(Some("items=0-3"), 100), Full);
        assert_eq!(
            parse_range(Some("bytes=-500"), 100),
            Part { start: 0, end: 99 }
        );
    }
}
