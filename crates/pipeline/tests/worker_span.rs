//! What an engine logs while it works on a job names the job's source,
//! although the engine runs on a blocking thread.
//!
//! Alone in its test binary: it installs the process-wide subscriber (a
//! thread-local one would not see the blocking thread's events at all).

use recueil_core::Channel;
use recueil_pipeline::intake::{ingest_file, Arrival};
use recueil_pipeline::relay::relay_pending;
use recueil_pipeline::worker::{self, WorkerSettings};
use recueil_pipeline::Shutdown;
use recueil_queue::{Queue, QueueConfig};
use recueil_store::{Intake, Store};
use recueil_testkit::{voicemail_process, wait_until, wav};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_logs_carry_the_source_id() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("r.db").display()))
        .await
        .unwrap();
    let queue = Queue::memory(QueueConfig::default());
    let path = dir.path().join("msg.wav");
    std::fs::write(&path, wav("bonjour, question 2")).unwrap();
    let [Intake::Accepted(id)] = ingest_file(&store, &path, &Arrival::new(Channel::Voicemail))
        .await
        .unwrap()[..]
    else {
        panic!("not accepted")
    };
    relay_pending(&store, &queue).await.unwrap();

    let shutdown = Shutdown::new();
    let worker = tokio::spawn(worker::run(
        store.clone(),
        queue.clone(),
        voicemail_process(),
        WorkerSettings::default(),
        shutdown.clone(),
    ));
    wait_until("the contribution", Duration::from_secs(30), || async {
        store.contribution(id).await.unwrap().is_some()
    })
    .await;
    shutdown.cancel();
    worker.await.unwrap().unwrap();

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let engine_lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("scripted transcriber: decoding"))
        .collect();
    assert_eq!(engine_lines.len(), 1, "{logs}");
    assert!(
        engine_lines[0].contains(&format!("source={id}")),
        "the engine's log line does not name the source:\n{}",
        engine_lines[0]
    );
}
