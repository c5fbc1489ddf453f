//! Watching the folder a scanner writes into (`recueil ingest ballots
//! --watch DIR`).
//!
//! Network scanners drop their files into a shared folder, and write them
//! over seconds: a file is taken only once it is complete, that is once its
//! size and modification time have not changed across two looks at least
//! `settle` apart (measured on our clock, so a share whose clock is off
//! does not matter). Each file taken leaves the folder: into `done/` once
//! stored (or found already stored), into `failed/` with a `NAME.error.txt`
//! beside it saying why. Nothing stays to be taken twice, and a watch that
//! restarts after a crash between the intake and the move finds the file
//! already stored (same bytes) and only moves it.
//!
//! ```text
//! DIR/scan-0001.pdf           urn: --urn, else the QR code read by the worker
//! DIR/<urn>/scan-0002.tif     urn: the folder's name (the QR code still wins)
//! DIR/done/<urn>/…            stored
//! DIR/failed/<urn>/…          refused, with NAME.error.txt
//! ```
//!
//! Hidden files and names ending in `.tmp` or `.part` (what scanners and
//! file shares write before renaming) are left alone, as are deeper
//! folders. The batch is `--batch`, else the local date the file was taken.
//!
//! Bounded: a look holds one entry per file present in the folder, reads
//! one file at a time within the intake limit, and stops between files when
//! asked to.

use crate::intake::{channel_of, ingest_bytes, read_file, Arrival, IntakeError, Paginate};
use crate::relay::relay_pending;
use crate::Shutdown;
use chrono::{DateTime, Utc};
use recueil_core::{Channel, Urn};
use recueil_queue::Queue;
use recueil_store::{Intake, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Where stored files go, under the watched folder.
pub const DONE: &str = "done";
/// Where refused files go, with their reason.
pub const FAILED: &str = "failed";

/// How a folder is watched.
#[derive(Debug, Clone)]
pub struct FolderSettings {
    /// The urn of files at the top of the folder (a file in `DIR/<urn>/`
    /// takes the folder's name).
    pub urn: Option<Urn>,
    /// The scan batch; default: the local date the file is taken.
    pub batch: Option<String>,
    /// When the urn was emptied; default: when the file is taken.
    pub received_at: Option<DateTime<Utc>>,
    /// How long a file must stay unchanged before it is taken.
    pub settle: Duration,
    /// Counts the pages of a multi-page scan.
    pub paginate: Option<Paginate>,
}

impl Default for FolderSettings {
    fn default() -> Self {
        FolderSettings {
            urn: None,
            batch: None,
            received_at: None,
            settle: Duration::from_secs(5),
            paginate: None,
        }
    }
}

/// What became of one file taken from the folder.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Stored (or found already stored: [`Intake::Duplicate`]), then moved.
    Done {
        file: PathBuf,
        moved_to: PathBuf,
        intakes: Vec<Intake>,
    },
    /// Refused, moved beside a `NAME.error.txt` holding `reason`.
    Failed {
        file: PathBuf,
        moved_to: PathBuf,
        reason: String,
    },
}

/// What a watch did, all passes together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Sources stored (a multi-page scan counts its pages).
    pub accepted: usize,
    /// Sources found already stored.
    pub duplicates: usize,
    /// Files refused.
    pub failed: usize,
}

impl Totals {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Done { intakes, .. } => {
                for intake in intakes {
                    match intake {
                        Intake::Accepted(_) => self.accepted += 1,
                        Intake::Duplicate(_) => self.duplicates += 1,
                    }
                }
            }
            Outcome::Failed { .. } => self.failed += 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanFolderError {
    #[error("{path}: cannot watch this folder: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("cannot move {from} to {to}: {source}")]
    Move {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    /// The store is unreachable: the file stays where it is for the next
    /// watch.
    #[error(transparent)]
    Intake(IntakeError),
}

/// A file as last seen, and since when it has looked so.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Look {
    size: u64,
    modified: Option<SystemTime>,
}

/// A watched scan folder.
#[derive(Debug)]
pub struct ScanFolder {
    root: PathBuf,
    settings: FolderSettings,
    seen: HashMap<PathBuf, (Look, Instant)>,
}

impl ScanFolder {
    /// Watches `root`, creating its `done/` and `failed/` folders.
    pub fn new(root: &Path, settings: FolderSettings) -> Result<ScanFolder, ScanFolderError> {
        if !root.is_dir() {
            return Err(ScanFolderError::Folder {
                path: root.to_owned(),
                reason: "not a folder".to_owned(),
            });
        }
        for sub in [DONE, FAILED] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| ScanFolderError::Folder {
                path: root.to_owned(),
                reason: format!("cannot create {sub}/: {e}"),
            })?;
        }
        Ok(ScanFolder {
            root: root.to_owned(),
            settings,
            seen: HashMap::new(),
        })
    }

    /// One look at the folder: takes every file that has been complete
    /// since the previous look (at least `settle`), until `shutdown`.
    pub async fn pass(
        &mut self,
        store: &Store,
        shutdown: &Shutdown,
    ) -> Result<Vec<Outcome>, ScanFolderError> {
        let candidates = self.candidates()?;
        let mut outcomes = Vec::new();
        let mut seen = HashMap::with_capacity(candidates.len());
        for (path, look) in candidates {
            // Complete: looked the same at the previous look, and for at
            // least `settle`.
            let (unchanged, since) = match self.seen.get(&path) {
                Some((before, since)) if *before == look => (true, *since),
                _ => (false, Instant::now()),
            };
            let complete = unchanged && since.elapsed() >= self.settings.settle;
            if !complete || shutdown.is_cancelled() {
                seen.insert(path, (look, since));
                continue;
            }
            match self.take(store, &path, look).await? {
                Some(outcome) => outcomes.push(outcome),
                // Changed while being read: still being written.
                None => {
                    seen.insert(path, (look, Instant::now()));
                }
            }
        }
        self.seen = seen;
        Ok(outcomes)
    }

    /// The files a scanner may have put in the folder, with how they look.
    fn candidates(&self) -> Result<Vec<(PathBuf, Look)>, ScanFolderError> {
        let mut files = Vec::new();
        let walk = walkdir::WalkDir::new(&self.root)
            .min_depth(1)
            .max_depth(2)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                let reserved = e.depth() == 1 && (name == DONE || name == FAILED);
                !reserved && !name.starts_with('.')
            });
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                // A file removed between listing and looking, or an
                // unreadable subfolder: not ours to stop for.
                Err(e) => {
                    tracing::warn!(error = %e, "scan folder: entry skipped");
                    continue;
                }
            };
            let name = entry.file_name().to_string_lossy();
            if !entry.file_type().is_file() || name.ends_with(".tmp") || name.ends_with(".part") {
                continue;
            }
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            files.push((
                entry.into_path(),
                Look {
                    size: metadata.len(),
                    modified: metadata.modified().ok(),
                },
            ));
        }
        Ok(files)
    }

    /// Ingests one complete file and moves it; `None` if it changed while
    /// being read.
    async fn take(
        &self,
        store: &Store,
        path: &Path,
        look: Look,
    ) -> Result<Option<Outcome>, ScanFolderError> {
        let relative = path.strip_prefix(&self.root).unwrap_or(path).to_owned();
        match self.ingest(store, path, &relative, look).await {
            Ok(None) => Ok(None),
            Ok(Some(intakes)) => {
                let moved_to = move_under(&self.root.join(DONE), &relative, path)?;
                tracing::info!(file = %relative.display(), sources = intakes.len(), "scan folder: stored");
                Ok(Some(Outcome::Done {
                    file: path.to_owned(),
                    moved_to,
                    intakes,
                }))
            }
            Err(Refusal::Bad(reason)) => {
                let moved_to = move_under(&self.root.join(FAILED), &relative, path)?;
                let mut note = moved_to.clone().into_os_string();
                note.push(".error.txt");
                let note = PathBuf::from(note);
                std::fs::write(&note, format!("{reason}\n")).map_err(|source| {
                    ScanFolderError::Move {
                        from: path.to_owned(),
                        to: note.clone(),
                        source,
                    }
                })?;
                tracing::warn!(file = %relative.display(), %reason, "scan folder: refused");
                Ok(Some(Outcome::Failed {
                    file: path.to_owned(),
                    moved_to,
                    reason,
                }))
            }
            Err(Refusal::Store(e)) => Err(ScanFolderError::Intake(e)),
        }
    }

    async fn ingest(
        &self,
        store: &Store,
        path: &Path,
        relative: &Path,
        look: Look,
    ) -> Result<Option<Vec<Intake>>, Refusal> {
        let urn = match relative.parent().and_then(Path::file_name) {
            Some(folder) => {
                let folder = folder.to_string_lossy();
                Some(folder.parse::<Urn>().map_err(|e| {
                    Refusal::Bad(format!(
                        "{}: the folder {folder:?} does not name an urn ({e})",
                        path.display()
                    ))
                })?)
            }
            None => self.settings.urn.clone(),
        };
        let bytes = read_file(path).await.map_err(Refusal::from)?;
        // Read once, then checked: a file that changed meanwhile is still
        // being written, and is looked at again later.
        let after = std::fs::metadata(path).map(|m| Look {
            size: m.len(),
            modified: m.modified().ok(),
        });
        if after.ok() != Some(look) || bytes.len() as u64 != look.size {
            return Ok(None);
        }
        if channel_of(&bytes) != Some(Channel::Ballot) {
            return Err(Refusal::Bad(format!(
                "{}: not a scan (detected {}); expected PNG, JPEG, TIFF or PDF",
                path.display(),
                crate::intake::sniff(&bytes)
            )));
        }
        let arrival = Arrival {
            channel: Channel::Ballot,
            received_at: self.settings.received_at,
            caller_ref: None,
            urn,
            batch: Some(
                self.settings
                    .batch
                    .clone()
                    .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string()),
            ),
            paginate: self.settings.paginate,
        };
        ingest_bytes(store, path, &bytes, &arrival)
            .await
            .map(Some)
            .map_err(Refusal::from)
    }
}

/// Why a file was not stored.
enum Refusal {
    /// The file is at fault: it goes to `failed/`.
    Bad(String),
    /// The store is: the file stays.
    Store(IntakeError),
}

impl From<IntakeError> for Refusal {
    fn from(e: IntakeError) -> Refusal {
        if e.is_bad_input() {
            Refusal::Bad(e.to_string())
        } else {
            Refusal::Store(e)
        }
    }
}

/// Moves `from` to `dir/relative`, under a free name: a scanner that
/// restarts its numbering must not overwrite an earlier file.
fn move_under(dir: &Path, relative: &Path, from: &Path) -> Result<PathBuf, ScanFolderError> {
    let failed = |to: &Path, source| ScanFolderError::Move {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    };
    let wanted = dir.join(relative);
    let parent = wanted.parent().unwrap_or(dir).to_owned();
    std::fs::create_dir_all(&parent).map_err(|e| failed(&parent, e))?;
    let stem = wanted
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = wanted
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut to = wanted.clone();
    let mut n = 1;
    // Both the file and its error note must be free.
    while to.exists() || PathBuf::from(format!("{}.error.txt", to.display())).exists() {
        n += 1;
        to = parent.join(format!("{stem}-{n}{extension}"));
    }
    std::fs::rename(from, &to).map_err(|e| failed(&to, e))?;
    Ok(to)
}

/// Watches `folder` every `interval` until `shutdown`, reporting each file
/// taken to `report`; returns what the whole watch did. With a `queue`,
/// the jobs of each pass are handed to it at once; without, they wait in
/// the outbox for a worker or `recueil relay`.
pub async fn watch(
    store: &Store,
    folder: &mut ScanFolder,
    queue: Option<&Queue>,
    interval: Duration,
    shutdown: &Shutdown,
    mut report: impl FnMut(&Outcome),
) -> Result<Totals, ScanFolderError> {
    let mut totals = Totals::default();
    loop {
        let outcomes = folder.pass(store, shutdown).await?;
        let before = totals.accepted;
        for outcome in &outcomes {
            totals.add(outcome);
            report(outcome);
        }
        if let (Some(queue), true) = (queue, totals.accepted > before) {
            if let Err(e) = relay_pending(store, queue).await {
                tracing::warn!(error = %e, "scan folder: jobs kept in the outbox");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(totals),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes of a PNG: enough to be sniffed as a scan.
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn png(tag: &str) -> Vec<u8> {
        let mut bytes = PNG.to_vec();
        bytes.extend_from_slice(tag.as_bytes());
        bytes
    }

    async fn store(dir: &Path) -> Store {
        Store::connect(&format!("sqlite://{}", dir.join("r.db").display()))
            .await
            .unwrap()
    }

    fn settings() -> FolderSettings {
        FolderSettings {
            settle: Duration::ZERO,
            ..FolderSettings::default()
        }
    }

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("scans");
        std::fs::create_dir(&root).unwrap();
        (dir, root)
    }

    #[tokio::test]
    async fn a_complete_file_is_taken_once_with_the_folders_urn() {
        let (dir, root) = setup();
        let store = store(dir.path()).await;
        let mut folder = ScanFolder::new(&root, settings()).unwrap();
        let stop = Shutdown::new();
        std::fs::create_dir(root.join("urne-12")).unwrap();
        std::fs::write(root.join("urne-12/page1.png"), png("one")).unwrap();

        // First look: seen, not yet known to be complete.
        assert!(folder.pass(&store, &stop).await.unwrap().is_empty());
        let outcomes = folder.pass(&store, &stop).await.unwrap();
        let [Outcome::Done {
            moved_to, intakes, ..
        }] = &outcomes[..]
        else {
            panic!("{outcomes:?}")
        };
        assert_eq!(moved_to, &root.join("done/urne-12/page1.png"));
        assert!(moved_to.is_file());
        assert!(!root.join("urne-12/page1.png").exists());
        let [Intake::Accepted(id)] = intakes[..] else {
            panic!("{intakes:?}")
        };
        let source = store.source(id).await.unwrap().unwrap().source;
        assert_eq!(source.urn.unwrap().as_str(), "urne-12");
        assert_eq!(
            source.batch.unwrap(),
            chrono::Local::now().format("%Y-%m-%d").to_string()
        );

        // Nothing left to take, now or after a restart.
        assert!(folder.pass(&store, &stop).await.unwrap().is_empty());
        let mut restarted = ScanFolder::new(&root, settings()).unwrap();
        assert!(restarted.pass(&store, &stop).await.unwrap().is_empty());
        assert!(restarted.pass(&store, &stop).await.unwrap().is_empty());
        assert_eq!(store.sources().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_file_still_growing_is_not_taken() {
        let (dir, root) = setup();
        let store = store(dir.path()).await;
        let folder_settings = FolderSettings {
            urn: Some("urne-3".parse().unwrap()),
            batch: Some("lot-7".into()),
            ..settings()
        };
        let mut folder = ScanFolder::new(&root, folder_settings).unwrap();
        let stop = Shutdown::new();
        let path = root.join("scan.png");
        std::fs::write(&path, png("début")).unwrap();
        assert!(folder.pass(&store, &stop).await.unwrap().is_empty());
        // The scanner writes on between the two looks.
        let mut more = png("début");
        more.extend_from_slice(b" et suite");
        std::fs::write(&path, &more).unwrap();
        assert!(folder.pass(&store, &stop).await.unwrap().is_empty());
        assert!(path.exists());
        assert!(store.sources().await.unwrap().is_empty());
        // Unchanged since: taken, whole.
        let outcomes = folder.pass(&store, &stop).await.unwrap();
        assert_eq!(outcomes.len(), 1, "{outcomes:?}");
        let source = &store.sources().await.unwrap()[0].source;
        assert_eq!(source.size, more.len() as u64);
        assert_eq!(source.urn.as_ref().unwrap().as_str(), "urne-3");
        assert_eq!(source.batch.as_deref(), Some("lot-7"));
    }

    #[tokio::test]
    async fn a_file_must_stay_unchanged_for_the_settle_time() {
        let (dir, root) = setup();
        let store = store(dir.path()).await;
        let slow = FolderSettings {
            settle: Duration::from_secs(3600),
            ..settings()
        };
        let mut folder = ScanFolder::new(&root, slow).unwrap();
        let stop = Shutdown::new();
        std::fs::write(root.join("scan.png"), png("x")).unwrap();
        for _ in 0..3 {
            assert!(folder.pass(&store, &stop).await.unwrap().is_empty());
        }
        assert!(root.join("scan.png").exists());
    }

    #[tokio::test]
    async fn bad_files_go_to_failed_with_their_reason() {
        let (dir, root) = setup();
        let store = store(dir.path()).await;
        let mut folder = ScanFolder::new(&root, settings()).unwrap();
        let stop = Shutdown::new();
        std::fs::write(root.join("notes.txt"), "pas un scan").unwrap();
        std::fs::write(root.join("vide.png"), b"").unwrap();
        std::fs::create_dir(root.join("Urne 3")).unwrap();
        std::fs::write(root.join("Urne 3/scan.png"), png("urne")).unwrap();
        // Hidden and temporary files are left alone.
        std::fs::write(root.join(".scan.png"), png("hidden")).unwrap();
        std::fs::write(root.join("scan.png.part"), png("partial")).unwrap();

        folder.pass(&store, &stop).await.unwrap();
        let outcomes = folder.pass(&store, &stop).await.unwrap();
        assert_eq!(outcomes.len(), 3, "{outcomes:?}");
        let reasons: Vec<(PathBuf, String)> = outcomes
            .iter()
            .map(|o| match o {
                Outcome::Failed {
                    moved_to, reason, ..
                } => (moved_to.clone(), reason.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        let note =
            |p: &Path| std::fs::read_to_string(format!("{}.error.txt", p.display())).unwrap();
        for (moved_to, reason) in &reasons {
            assert!(moved_to.starts_with(root.join("failed")), "{moved_to:?}");
            assert!(moved_to.is_file());
            assert_eq!(note(moved_to), format!("{reason}\n"));
        }
        let reason_of = |name: &str| {
            reasons
                .iter()
                .find(|(p, _)| p.ends_with(name))
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| panic!("{name} not refused: {reasons:?}"))
        };
        let text = reason_of("notes.txt");
        assert!(text.contains("notes.txt: not a scan (detected"), "{text}");
        assert!(reason_of("vide.png").contains("vide.png: empty file"));
        assert!(reason_of("Urne 3/scan.png").contains("the folder \"Urne 3\" does not name an urn"));
        assert!(store.sources().await.unwrap().is_empty());
        assert!(root.join(".scan.png").exists() && root.join("scan.png.part").exists());
    }

    #[tokio::test]
    async fn an_unreadable_multipage_scan_is_refused_by_name() {
        let (dir, root) = setup();
        let store = store(dir.path()).await;
        let broken = FolderSettings {
            paginate: Some(|_, _| Err("TIFF directory 2 is truncated".into())),
            ..settings()
        };
        let mut folder = ScanFolder::new(&root, broken).unwrap();
        let stop = Shutdown::new();
        std::fs::write(root.join("lot.png"), png("pages")).unwrap();
        folder.pass(&store, &stop).await.unwrap();
        let outcomes = folder.pass(&store, &stop).await.unwrap();
        let [Outcome::Failed { reason, .. }] = &outcomes[..] else {
            panic!("{outcomes:?}")
        };
        assert!(reason.contains("lot.png: unreadable: TIFF directory 2 is truncated"));
    }

    #[tokio::test]
    async fn a_file_left_behind_by_a_crash_is_not_stored_twice() {
        let (dir, root) = setup();
        let store = store(dir.path()).await;
        let mut folder = ScanFolder::new(&root, settings()).unwrap();
        let stop = Shutdown::new();
        std::fs::write(root.join("scan.png"), png("once")).unwrap();
        folder.pass(&store, &stop).await.unwrap();
        assert_eq!(folder.pass(&store, &stop).await.unwrap().len(), 1);
        // As if the watch had died after the intake, before the move.
        std::fs::write(root.join("scan.png"), png("once")).unwrap();
        let mut restarted = ScanFolder::new(&root, settings()).unwrap();
        restarted.pass(&store, &stop).await.unwrap();
        let outcomes = restarted.pass(&store, &stop).await.unwrap();
        let [Outcome::Done {
            moved_to, intakes, ..
        }] = &outcomes[..]
        else {
            panic!("{outcomes:?}")
        };
        assert!(matches!(intakes[..], [Intake::Duplicate(_)]));
        // The earlier file keeps its name.
        assert_eq!(moved_to, &root.join("done/scan-2.png"));
        assert!(root.join("done/scan.png").is_file());
        assert_eq!(store.sources().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_watch_stops_on_request_with_its_real_totals() {
        let (dir, root) = setup();
        let store = store(dir.path()).await;
        let mut folder = ScanFolder::new(&root, settings()).unwrap();
        let stop = Shutdown::new();
        std::fs::write(root.join("a.png"), png("a")).unwrap();
        std::fs::write(root.join("b.png"), png("b")).unwrap();
        std::fs::write(root.join("c.txt"), "c").unwrap();
        let watching = {
            let store = store.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut seen = 0;
                let totals = watch(
                    &store,
                    &mut folder,
                    None,
                    Duration::from_millis(10),
                    &stop,
                    |_| seen += 1,
                )
                .await
                .unwrap();
                (totals, seen)
            })
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.sources().await.unwrap().len() < 2 || root.join("c.txt").exists() {
            assert!(Instant::now() < deadline, "files not taken");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.cancel();
        let (totals, seen) = watching.await.unwrap();
        assert_eq!(
            totals,
            Totals {
                accepted: 2,
                duplicates: 0,
                failed: 1
            }
        );
        assert_eq!(seen, 3);
    }
}
