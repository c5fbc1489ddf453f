//! The embedded default: the whole pipeline in one process over an inbox
//! folder, with an SQLite file and the in-process queue. Nothing to install.
//!
//! The in-process queue does not outlive the process, so the runner starts
//! by requeueing every unfinished source the store knows about: a run that
//! was interrupted resumes where it stopped.

use crate::intake::{channel_of, ingest_bytes, read_file, Arrival, IntakeError, Paginate};
use crate::relay::relay_pending;
use crate::worker::{self, WorkerSettings};
use crate::{Process, Shutdown};
use recueil_core::Channel;
use recueil_queue::{Queue, QueueConfig};
use recueil_store::{Intake, SourceState, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What happened to each file of the inbox.
#[derive(Debug, Default)]
pub struct InboxReport {
    /// One entry per source: a multi-page scan gives several.
    pub ingested: Vec<(PathBuf, Intake)>,
    /// Files not ingested, with the reason (empty, too large, unknown type,
    /// unreadable), which names the file.
    pub skipped: Vec<(PathBuf, String)>,
    /// Channels whose sources wait because no engine serves them.
    pub unserved: Vec<(Channel, usize)>,
    /// Sources left unfinished by an earlier run or intake, processed too.
    pub resumed: Vec<recueil_core::SourceId>,
    /// Set when the run stopped on a shutdown request before finishing.
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot read the inbox {path}: {reason}")]
    Inbox { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Queue(#[from] recueil_queue::QueueError),
    #[error(transparent)]
    Relay(#[from] crate::relay::RelayError),
}

/// Ingests every voicemail and scan under `inbox` and processes everything
/// unfinished with `processes` (one per channel served).
pub async fn run_inbox(
    store: &Store,
    inbox: &Path,
    processes: Vec<Arc<dyn Process>>,
    paginate: Option<Paginate>,
    queue_config: QueueConfig,
    settings: WorkerSettings,
    shutdown: Shutdown,
) -> Result<InboxReport, EmbeddedError> {
    let mut report = InboxReport::default();
    for path in inbox_files(inbox)? {
        // Read once, bounded: the size limit is checked before reading, and
        // the same bytes are sniffed and ingested.
        let bytes = match read_file(&path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                report.skipped.push((path, e.to_string()));
                continue;
            }
        };
        let Some(channel) = channel_of(&bytes) else {
            let why = format!(
                "{}: not a recording nor a scan (detected {})",
                path.display(),
                crate::intake::sniff(&bytes)
            );
            report.skipped.push((path, why));
            continue;
        };
        let mut arrival = Arrival::new(channel);
        if channel == Channel::Ballot {
            arrival.paginate = paginate;
        }
        match ingest_bytes(store, &path, &bytes, &arrival).await {
            Ok(intakes) => {
                for intake in intakes {
                    report.ingested.push((path.clone(), intake));
                }
            }
            Err(e) if e.is_bad_input() => report.skipped.push((path, e.to_string())),
            Err(e) => return Err(e.into()),
        }
    }

    let queue = Queue::memory(queue_config);
    for job in store.unfinished().await? {
        queue.publish(&job).await?;
    }
    relay_pending(store, &queue).await?;
    let fresh: std::collections::HashSet<_> = report
        .ingested
        .iter()
        .map(|(_, i)| match i {
            Intake::Accepted(id) | Intake::Duplicate(id) => *id,
        })
        .collect();
    report.resumed = store
        .sources()
        .await?
        .into_iter()
        .filter(|r| {
            !fresh.contains(&r.source.id)
                && matches!(
                    r.state,
                    SourceState::Queued | SourceState::Processing | SourceState::Retrying
                )
        })
        .map(|r| r.source.id)
        .collect();

    let served: Vec<Channel> = processes.iter().map(|p| p.channel()).collect();
    let Queue::Memory(memory) = &queue else {
        unreachable!("the embedded mode uses the in-process queue")
    };
    for channel in Channel::ALL {
        if !served.contains(&channel) {
            let waiting = memory.pending(channel) as usize;
            if waiting > 0 {
                report.unserved.push((channel, waiting));
            }
        }
    }

    let workers_stop = shutdown.child_token();
    let mut workers = worker::spawn_all(store, &queue, processes, &settings, &workers_stop);
    loop {
        if served.iter().all(|c| memory.pending(*c) == 0) {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => { report.interrupted = true; break; }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    workers_stop.cancel();
    while let Some(result) = workers.join_next().await {
        if let Ok(Err(e)) = result {
            return Err(e.into());
        }
    }
    Ok(report)
}

/// Regular files under `dir`, in a stable order, hidden files left out.
fn inbox_files(dir: &Path) -> Result<Vec<PathBuf>, EmbeddedError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| EmbeddedError::Inbox {
            path: dir.to_owned(),
            reason: e.to_string(),
        })?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if entry.file_type().is_file() && !hidden {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}
