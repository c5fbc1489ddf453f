//! Worker processes for the crash and fault tests.
//!
//! A test that kills workers needs workers in other processes. Rather than
//! build a second binary, each such test binary re-executes itself: it
//! declares one ignored test that calls [`main`], and [`spawn`] starts the
//! binary again with only that test selected and the child's settings in
//! its environment. The child runs the real worker loop (or the embedded
//! mode) over the scripted doubles of this crate.

use crate::voicemail_process;
use recueil_pipeline::embedded::run_inbox;
use recueil_pipeline::worker::{self, WorkerSettings};
use recueil_pipeline::Shutdown;
use recueil_queue::{Queue, QueueConfig};
use recueil_store::Store;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// The name of the ignored test that each crash or fault test binary
/// declares and that calls [`main`].
pub const ENTRY: &str = "child_process";

/// What a child process does, from its environment; nothing when the
/// binary was not started by [`spawn`] (the ignored test run by hand).
///
/// `RECUEIL_TEST_CHILD`: `amqp-worker` (one consumer on the test broker's
/// voicemail queue) or `embedded` (one run over `RECUEIL_TEST_INBOX`);
/// `RECUEIL_TEST_DB`: the store; `RECUEIL_TEST_PREFIX` and
/// `RECUEIL_TEST_LIMIT`: the test broker's queue prefix and delivery limit;
/// `RECUEIL_TEST_PREFETCH` (1 unless set): the worker's prefetch, which is
/// also the most deliveries it takes as one batch.
pub fn main() {
    let Ok(mode) = std::env::var("RECUEIL_TEST_CHILD") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let db = var("RECUEIL_TEST_DB");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = Store::connect(&db).await.expect("store");
        match mode.as_str() {
            "amqp-worker" => {
                let config = QueueConfig {
                    prefix: var("RECUEIL_TEST_PREFIX"),
                    delivery_limit: var("RECUEIL_TEST_LIMIT").parse().expect("limit"),
                    retry_delay: Duration::from_millis(200),
                    prefetch: std::env::var("RECUEIL_TEST_PREFETCH")
                        .map_or(1, |p| p.parse().expect("prefetch")),
                };
                let queue = Queue::amqp(&crate::amqp_url(), config)
                    .await
                    .expect("broker");
                let settings = WorkerSettings {
                    concurrency: 1,
                    ..WorkerSettings::default()
                };
                worker::run(store, queue, voicemail_process(), settings, Shutdown::new())
                    .await
                    .expect("worker");
            }
            "embedded" => {
                let inbox = var("RECUEIL_TEST_INBOX");
                run_inbox(
                    &store,
                    Path::new(&inbox),
                    vec![voicemail_process()],
                    None,
                    QueueConfig::default(),
                    WorkerSettings::default(),
                    Shutdown::new(),
                )
                .await
                .expect("embedded run");
            }
            other => panic!("unknown child mode {other}"),
        }
    });
}

/// Starts this test binary again as a child in `mode`, with `env` added.
pub fn spawn(mode: &str, env: &[(&str, String)]) -> Child {
    command(mode, env).spawn().expect("spawn the child worker")
}

/// The command [`spawn`] runs, for a test that wants the child's output.
pub fn command(mode: &str, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        ENTRY,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("RECUEIL_TEST_CHILD", mode)
    .env("RECUEIL_LOG", "warn")
    .stdout(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Waits up to `timeout` for `child` to exit; `None` if it still runs.
pub async fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            return Some(status);
        }
        if start.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
