//! The contributions browser: every contribution, filtered and searched,
//! and the exports of `recueil export` over the same selection.
//!
//! Only the publishable (masked) text is shown and exported here, so every
//! role but scanning staff may use it; the raw text, the originals and the
//! caller reference stay on the reviewer's pages. The filters are one
//! [`recueil_store::Filter`], so the list and its downloads always agree.

use crate::auth::CurrentUser;
use crate::labels::{channel_label, status_label};
use crate::pages::{forbidden, message};
use crate::time::{local, start_of_day};
use crate::{render, AppState, ConsoleError};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use recueil_core::{Channel, Question, Status, Urn};
use recueil_export::Format;
use recueil_store::Filter;
use serde::Deserialize;

/// What a role without access is told.
const REFUSED: &str = "ne donne pas accès aux contributions";

/// Rows per page of the list.
const PAGE_ROWS: usize = 50;

/// The browser's query string, as typed (French names: they show in the
/// address bar and in shared links).
#[derive(Debug, Default, Deserialize)]
pub struct BrowseQuery {
    #[serde(default)]
    statut: String,
    #[serde(default)]
    canal: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    urne: String,
    /// First day, `AAAA-MM-JJ`, in Nantes.
    #[serde(default)]
    du: String,
    /// Last day (included).
    #[serde(default)]
    au: String,
    /// `oui`, `non` or empty.
    #[serde(default)]
    hors_delai: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
    /// Export only: `csv`, `json`, `jsonl`, `decidim`, `counts`.
    #[serde(default)]
    format: String,
}

impl BrowseQuery {
    /// The store's filter, or what in the query cannot be understood.
    fn filter(&self) -> Result<Filter, String> {
        fn day(field: &str, text: &str) -> Result<Option<NaiveDate>, String> {
            match text.trim() {
                "" => Ok(None),
                t => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        format!("{field} : date attendue au format AAAA-MM-JJ, reçu {t:?}")
                    }),
            }
        }
        let status = match self.statut.as_str() {
            "" => None,
            s => Some(
                s.parse::<Status>()
                    .map_err(|_| format!("statut inconnu {s:?}"))?,
            ),
        };
        let channel = match self.canal.as_str() {
            "" => None,
            c => Some(
                c.parse::<Channel>()
                    .map_err(|_| format!("canal inconnu {c:?}"))?,
            ),
        };
        let question = match self.question.as_str() {
            "" => None,
            q => Some(
                q.parse::<u8>()
                    .ok()
                    .and_then(Question::new)
                    .ok_or_else(|| format!("question inconnue {q:?} (1, 2 ou 3)"))?,
            ),
        };
        let urn = match self.urne.trim() {
            "" => None,
            u => Some(u.parse::<Urn>().map_err(|e| e.to_string())?),
        };
        let late = match self.hors_delai.as_str() {
            "" => None,
            "oui" => Some(true),
            "non" => Some(false),
            other => return Err(format!("hors délai : oui ou non, reçu {other:?}")),
        };
        let text = Some(self.q.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok(Filter {
            status,
            since: day("du", &self.du)?.map(start_of_day),
            until: day("au", &self.au)?
                .and_then(|d| d.succ_opt())
                .map(start_of_day),
            channel,
            question,
            urn,
            late,
            text,
        })
    }

    /// The query string of the same selection (for the pages and exports).
    fn selection(&self) -> String {
        let pairs = [
            ("statut", &self.statut),
            ("canal", &self.canal),
            ("question", &self.question),
            ("urne", &self.urne),
            ("du", &self.du),
            ("au", &self.au),
            ("hors_delai", &self.hors_delai),
            ("q", &self.q),
        ];
        let set: Vec<(&str, &String)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(set).unwrap_or_default()
    }
}

struct Row {
    id: String,
    received: String,
    channel: &'static str,
    status: &'static str,
    questions: String,
    urn: String,
    late: bool,
    text: String,
}

#[derive(askama::Template)]
#[template(path = "contributions.html")]
struct BrowsePage {
    user: CurrentUser,
    q: BrowseQuery,
    selection: String,
    rows: Vec<Row>,
    total: usize,
    page: usize,
    pages: usize,
    error: Option<String>,
    urns: Vec<String>,
}

/// `GET /contributions`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_browse() {
        return forbidden(user, REFUSED);
    }
    let everything = state.store.contributions().await?;
    let mut urns: Vec<String> = everything
        .iter()
        .filter_map(|c| c.urn.as_ref().map(|u| u.to_string()))
        .collect();
    urns.sort();
    urns.dedup();
    let (found, error) = match q.filter() {
        Ok(filter) => (
            everything
                .into_iter()
                .filter(|c| filter.matches(c))
                .collect::<Vec<_>>(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e)),
    };
    let total = found.len();
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    // Newest first: what people look for is what just came in.
    let rows = found
        .iter()
        .rev()
        .skip((page - 1) * PAGE_ROWS)
        .take(PAGE_ROWS)
        .map(|c| Row {
            id: c.source_id.to_string(),
            received: local(c.received_at),
            channel: channel_label(c.channel),
            status: status_label(c.status),
            questions: c.questions.to_string(),
            urn: c.urn.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            late: c.late,
            text: c.text.chars().take(240).collect(),
        })
        .collect();
    let mut r = render(&BrowsePage {
        user,
        selection: q.selection(),
        q,
        rows,
        total,
        page,
        pages,
        error: error.clone(),
        urns,
    })?;
    if error.is_some() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

/// `GET /contributions/export?format=…&…`: the selection as a file.
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, ConsoleError> {
    if !user.role.can_browse() {
        return forbidden(user, REFUSED);
    }
    let (format, content_type, ext) = match q.format.as_str() {
        "csv" => (Format::Csv, "text/csv; charset=utf-8", "csv"),
        "json" => (Format::Json, "application/json", "json"),
        "jsonl" => (Format::Jsonl, "application/x-ndjson", "jsonl"),
        "decidim" => (Format::Decidim, "text/csv; charset=utf-8", "csv"),
        "counts" => (Format::Counts, "text/csv; charset=utf-8", "csv"),
        other => {
            return message(
                StatusCode::BAD_REQUEST,
                Some(user),
                "Format inconnu",
                format!("{other:?} : formats possibles csv, json, jsonl, decidim, counts."),
            )
        }
    };
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, Some(user), "Filtre invalide", e),
    };
    let rows = state.store.select(&filter).await?;
    let mut body = Vec::new();
    if let Err(e) = recueil_export::write(format, &rows, &mut body) {
        tracing::error!(error = %e, "export failed");
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(user),
            "Export impossible",
            format!("L'export n'a pas pu être écrit : {e}"),
        );
    }
    tracing::info!(user = %user.name, format = %q.format, rows = rows.len(), "export from the console");
    let stamp = chrono::Utc::now()
        .with_timezone(&recueil_export::CONSULTATION_TZ)
        .format("%Y%m%d-%H%M");
    let disposition = format!(
        "attachment; filename=\"recueil-{}-{stamp}.{ext}\"",
        if q.format == "counts" || q.format == "decidim" {
            q.format.as_str()
        } else {
            "contributions"
        }
    );
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_becomes_one_filter_and_bad_values_are_named() {
        let q = BrowseQuery {
            statut: "published".into(),
            canal: "ballot".into(),
            question: "2".into(),
            du: "2022-03-27".into(),
            au: "2022-03-27".into(),
            q: "école".into(),
            ..BrowseQuery::default()
        };
        let f = q.filter().unwrap();
        assert_eq!(f.status, Some(Status::Published));
        assert_eq!(f.question, Question::new(2));
        // The day of the clock change: 23 hours, from 23:00 UTC to 22:00 UTC.
        assert_eq!(f.since.unwrap().to_rfc3339(), "2022-03-26T23:00:00+00:00");
        assert_eq!(f.until.unwrap().to_rfc3339(), "2022-03-27T22:00:00+00:00");
        assert_eq!(
            q.selection(),
            "statut=published&canal=ballot&question=2&du=2022-03-27&au=2022-03-27&q=%C3%A9cole"
        );
        for bad in [
            BrowseQuery {
                question: "4".into(),
                ..BrowseQuery::default()
            },
            BrowseQuery {
                du: "27/03/2022".into(),
                ..BrowseQuery::default()
            },
            BrowseQuery {
                hors_delai: "peut-être".into(),
                ..BrowseQuery::default()
            },
        ] {
            assert!(bad.filter().is_err());
        }
    }
}
