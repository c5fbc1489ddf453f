//! Intake: a file becomes a stored [`Source`] and a queued job.

use chrono::{DateTime, Utc};
use recueil_core::{sha256_hex, Channel, Source, SourceId, Urn};
use recueil_store::{Intake, Store, StoreError};
use std::path::{Path, PathBuf};

/// What is known about a file besides its bytes.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub channel: Channel,
    /// When the citizen sent it (the voicemail's time); now if unknown.
    pub received_at: Option<DateTime<Utc>>,
    /// Keyed hash of the caller's number; never the number.
    pub caller_ref: Option<String>,
    pub urn: Option<Urn>,
    pub batch: Option<String>,
    /// Counts the pages of a multi-page scan (TIFF, PDF): each page becomes
    /// a source of its own. `None`: the file is one source.
    pub paginate: Option<Paginate>,
}

/// How many pages a file holds, or why it cannot be read.
pub type Paginate = fn(&[u8]) -> Result<u32, String>;

impl Arrival {
    pub fn new(channel: Channel) -> Arrival {
        Arrival {
            channel,
            received_at: None,
            caller_ref: None,
            urn: None,
            batch: None,
            paginate: None,
        }
    }
}

/// The largest file intake accepts: far above a 10-minute WAV (about 20 MB at
/// 16 kHz 16-bit) or a 600 dpi colour scan, far below what would hurt.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: empty file (0 bytes), nothing to ingest")]
    Empty { path: PathBuf },
    #[error("{path}: unreadable: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: {size} bytes is over the {max}-byte limit")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("{path}: {source}")]
    Store { path: PathBuf, source: StoreError },
}

impl IntakeError {
    /// A bad file is reported and skipped; a store error stops the batch.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, IntakeError::Store { .. })
    }
}

/// Reads and ingests one file: one source, or one per page of a multi-page
/// scan. The media type is sniffed from the bytes: a PDF named `.wav` is
/// stored as a PDF and refused by the worker by name.
pub async fn ingest_file(
    store: &Store,
    path: &Path,
    arrival: &Arrival,
) -> Result<Vec<Intake>, IntakeError> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|source| IntakeError::Read {
            path: path.to_owned(),
            source,
        })?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(IntakeError::TooLarge {
            path: path.to_owned(),
            size,
            max: MAX_FILE_BYTES,
        });
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| IntakeError::Read {
            path: path.to_owned(),
            source,
        })?;
    if bytes.is_empty() {
        return Err(IntakeError::Empty {
            path: path.to_owned(),
        });
    }
    let pages = match arrival.paginate {
        Some(count) => count(&bytes).map_err(|reason| IntakeError::Unreadable {
            path: path.to_owned(),
            reason,
        })?,
        None => 1,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let template = new_source(&name, &bytes, arrival);
    let sources: Vec<Source> = if pages <= 1 {
        vec![template]
    } else {
        (1..=pages)
            .map(|page| Source {
                id: SourceId::new(),
                page,
                ..template.clone()
            })
            .collect()
    };
    let intakes = store
        .ingest_pages(&sources, &bytes)
        .await
        .map_err(|source| IntakeError::Store {
            path: path.to_owned(),
            source,
        })?;
    tracing::debug!(file = %path.display(), pages, "ingested");
    Ok(intakes)
}

/// Builds the source record of `bytes` as it arrived.
pub fn new_source(name: &str, bytes: &[u8], arrival: &Arrival) -> Source {
    Source {
        id: SourceId::new(),
        channel: arrival.channel,
        sha256: sha256_hex(bytes),
        media_type: sniff(bytes).to_owned(),
        size: bytes.len() as u64,
        original_name: name.to_owned(),
        received_at: arrival.received_at.unwrap_or_else(Utc::now),
        caller_ref: arrival.caller_ref.clone(),
        urn: arrival.urn.clone(),
        batch: arrival.batch.clone(),
        page: 0,
    }
}

/// The media type the bytes really have, whatever the file is called.
pub fn sniff(bytes: &[u8]) -> &'static str {
    infer::get(bytes).map_or("application/octet-stream", |t| t.mime_type())
}

/// The channel a file in an inbox folder belongs to, from its content.
pub fn channel_of(bytes: &[u8]) -> Option<Channel> {
    let kind = infer::get(bytes)?;
    match kind.matcher_type() {
        infer::MatcherType::Audio => Some(Channel::Voicemail),
        infer::MatcherType::Image => Some(Channel::Ballot),
        _ if kind.mime_type() == "application/pdf" => Some(Channel::Ballot),
        _ => None,
    }
}
