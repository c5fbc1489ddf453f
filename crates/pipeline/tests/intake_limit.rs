//! A file over the intake limit is refused by name without being read, by
//! `recueil run`'s inbox as by `recueil ingest`.
//!
//! Alone in its test binary: it measures the process's peak memory, which a
//! test running beside it would disturb.

use recueil_core::Channel;
use recueil_pipeline::embedded::run_inbox;
use recueil_pipeline::intake::{ingest_file, Arrival, IntakeError, MAX_FILE_BYTES};
use recueil_pipeline::worker::WorkerSettings;
use recueil_pipeline::Shutdown;
use recueil_queue::QueueConfig;
use recueil_store::Store;

/// A sparse file one byte over the limit that sniffs as a WAV recording:
/// it costs no disk, and only reading it would cost memory.
fn sparse_recording(path: &std::path::Path) {
    let file = std::fs::File::create(path).unwrap();
    std::io::Write::write_all(&mut &file, b"RIFF\0\0\0\0WAVEfmt ").unwrap();
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
}

/// The peak resident memory of this process, in bytes (Linux).
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_by_name_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let huge = inbox.join("enorme.wav");
    sparse_recording(&huge);
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("r.db").display()))
        .await
        .unwrap();

    let report = run_inbox(
        &store,
        &inbox,
        Vec::new(),
        None,
        QueueConfig::default(),
        WorkerSettings::default(),
        Shutdown::new(),
    )
    .await
    .unwrap();
    assert!(report.ingested.is_empty());
    let [(path, why)] = &report.skipped[..] else {
        panic!("expected one skipped file: {:?}", report.skipped)
    };
    assert_eq!(path, &huge);
    let limit = format!(
        "{}: {} bytes is over the {MAX_FILE_BYTES}-byte limit",
        huge.display(),
        MAX_FILE_BYTES + 1
    );
    assert_eq!(why, &limit);

    let direct = ingest_file(&store, &huge, &Arrival::new(Channel::Voicemail)).await;
    assert!(
        matches!(&direct, Err(IntakeError::TooLarge { size, .. }) if *size == MAX_FILE_BYTES + 1),
        "{direct:?}"
    );
    assert!(store.sources().await.unwrap().is_empty());

    // Reading the file, even once, would have taken more than the limit.
    if let Some(peak) = peak_memory() {
        assert!(
            peak < MAX_FILE_BYTES / 2,
            "peak memory {} MB: the file was read",
            peak / (1024 * 1024)
        );
    }
}
