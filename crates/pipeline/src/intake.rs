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
    /// Splits a multi-page scan (TIFF, PDF): a batch of forms into one
    /// source per page, a letter into one source. `None`: the file is one
    /// source.
    pub paginate: Option<Paginate>,
}

/// How a scanned file becomes sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// One source per page, numbered from 1 (a sheet-feed batch of forms;
    /// a single page is one source, page 0).
    Pages(u32),
    /// The whole file is one contribution (a letter of several sheets from
    /// one envelope): one source, page 0, whose reader reads every page.
    Whole,
}

/// How a file (its bytes, its name) splits, or why it cannot be read (a
/// message naming the file).
pub type Paginate = fn(&[u8], &str) -> Result<Split, String>;

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
    let bytes = read_file(path).await?;
    ingest_bytes(store, path, &bytes, arrival).await
}

/// Bundles the sheets of one letter, scanned as separate files and given in
/// reading order, into one file that keeps each byte for byte (the scan
/// reader's `bundle`), or says why it cannot (a message naming the file).
pub type Bundle = fn(&[(&str, &[u8])]) -> Result<Vec<u8>, String>;

/// Ingests the sheets of one letter scanned as separate files (staff mark
/// them so at intake): each read as [`read_file`] reads a file, bundled by
/// `bundle` in the order given, and stored as one source, read as one
/// letter: one contribution with the sheets' texts in order. The bundle is
/// the source's original; each sheet stays in it as the scanner wrote it.
pub async fn ingest_letter(
    store: &Store,
    paths: &[PathBuf],
    arrival: &Arrival,
    bundle: Bundle,
) -> Result<Vec<Intake>, IntakeError> {
    let Some(first) = paths.first() else {
        return Err(IntakeError::Unreadable {
            path: PathBuf::new(),
            reason: "a letter needs at least one sheet".to_owned(),
        });
    };
    let mut sheets = Vec::with_capacity(paths.len());
    let mut total = 0u64;
    for path in paths {
        let bytes = read_file(path).await?;
        total += bytes.len() as u64;
        if total > MAX_FILE_BYTES {
            return Err(IntakeError::TooLarge {
                path: path.to_owned(),
                size: total,
                max: MAX_FILE_BYTES,
            });
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        sheets.push((name, bytes));
    }
    let files: Vec<(&str, &[u8])> = sheets
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    let bundled = bundle(&files).map_err(|reason| IntakeError::Unreadable {
        path: first.to_owned(),
        reason,
    })?;
    // The letter is named after its first sheet and how many there are.
    let name = match sheets.len() {
        1 => format!("{}.tar", sheets[0].0),
        n => format!("{}+{}.tar", sheets[0].0, n - 1),
    };
    ingest_bytes(store, &first.with_file_name(name), &bundled, arrival).await
}

/// Reads a file for intake, once and bounded: the size is checked on the
/// open handle before a byte is read, so a file over [`MAX_FILE_BYTES`] is
/// refused without being read, and the read itself stops one byte past the
/// limit, so a file that grows while it is read cannot exhaust memory
/// either. Special files (a FIFO, a device) are refused: their size says
/// nothing about what a read would return.
pub async fn read_file(path: &Path) -> Result<Vec<u8>, IntakeError> {
    use tokio::io::AsyncReadExt;
    let read_error = |source| IntakeError::Read {
        path: path.to_owned(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(read_error)?;
    let metadata = file.metadata().await.map_err(read_error)?;
    if !metadata.is_file() {
        return Err(IntakeError::Unreadable {
            path: path.to_owned(),
            reason: "not a regular file".to_owned(),
        });
    }
    let too_large = |size| IntakeError::TooLarge {
        path: path.to_owned(),
        size,
        max: MAX_FILE_BYTES,
    };
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large(metadata.len()));
    }
    // The capacity comes from the checked size: at most the limit.
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // It grew past the limit while being read.
        return Err(too_large(bytes.len() as u64));
    }
    if bytes.is_empty() {
        return Err(IntakeError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

/// Ingests the bytes of `path`, read by [`read_file`]: for callers that
/// look at the bytes first (the inbox sniffs the channel), so that a file
/// is read once.
pub async fn ingest_bytes(
    store: &Store,
    path: &Path,
    bytes: &[u8],
    arrival: &Arrival,
) -> Result<Vec<Intake>, IntakeError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let split = match arrival.paginate {
        Some(split) => {
            // Deciding the split may decode every page (a letter of 20
            // sheets: seconds of CPU): off the async threads, which serve
            // the console's other requests meanwhile. The copy costs less
            // than the decoding.
            let (owned, file) = (bytes.to_vec(), name.clone());
            tokio::task::spawn_blocking(move || split(&owned, &file))
                .await
                .unwrap_or_else(|e| Err(format!("the page analysis stopped: {e}")))
                .map_err(|reason| IntakeError::Unreadable {
                    path: path.to_owned(),
                    reason,
                })?
        }
        None => Split::Whole,
    };
    let pages = match split {
        Split::Pages(n) => n,
        Split::Whole => 1,
    };
    let template = new_source(&name, bytes, arrival);
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
        .ingest_pages(&sources, bytes)
        .await
        .map_err(|source| IntakeError::Store {
            path: path.to_owned(),
            source,
        })?;
    tracing::debug!(file = %path.display(), ?split, "ingested");
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
