//! Faults at scale, against the real RabbitMQ and PostgreSQL: workers
//! killed at random while a thousand jobs go through, the broker stopped
//! twice, the database restarted and made read-only. Each test ends with
//! the same audit: every source has exactly one contribution or a recorded
//! failure, nothing is lost or stored twice, no message is left in the
//! queues, and every worker that was not killed by the test is still
//! serving. The counts are printed, so that CI's log shows them.
//!
//! The workers are this test binary re-executed (`recueil_testkit::child`)
//! over the scripted engines: a job takes a few milliseconds, so that the
//! faults, not the engines, set the pace. Two more cases kill `recueil run`
//! inside the real engines (whisper, tesseract). The embedded mode's full
//! disk is a 1 MB tmpfs. All of them need root (the services' control
//! commands, `mount`), as on CI's machine. These tests stop and restart the
//! shared services; they take a lock so that they run one at a time, and
//! no other test binary runs beside them (cargo runs binaries one after
//! another).

use recueil_core::{Channel, SourceId};
use recueil_pipeline::intake::{new_source, Arrival};
use recueil_pipeline::relay::{self, relay_pending};
use recueil_pipeline::Shutdown;
use recueil_queue::Queue;
use recueil_store::{Intake, SourceState, Store};
use recueil_testkit::{child, wait_until, wav, wav_padded, TestBroker, TestDb};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One fault test at a time: they stop the services the others use.
static SERVICES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long the jobs of a test may take to settle once the faults stop.
const SETTLE: Duration = Duration::from_secs(120);

#[test]
#[ignore = "child process of the fault tests, started by them"]
fn child_process() {
    child::main();
}

/// A small deterministic generator (xorshift), seeded from the clock and
/// printed, so that a failing run can be replayed with `RECUEIL_FAULT_SEED`.
struct Dice(u64);

impl Dice {
    fn new() -> Dice {
        let seed = std::env::var("RECUEIL_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_nanos() as u64
                    | 1
            });
        recueil_testkit::report!("faults: seed {seed} (RECUEIL_FAULT_SEED={seed} replays it)");
        Dice(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The pipeline under test: a PostgreSQL store, the test broker, worker
/// processes, and the sources ingested so far.
struct Rig {
    db: TestDb,
    broker: TestBroker,
    store: Store,
    queue: Queue,
    markers: tempfile::TempDir,
    sources: Vec<SourceId>,
    workers: Vec<Child>,
    kills: usize,
    restarts: usize,
}

impl Rig {
    async fn new(delivery_limit: u32) -> Rig {
        let broker = TestBroker::new(delivery_limit);
        let db = TestDb::postgres().await;
        let store = Store::connect(&db.url).await.expect("store");
        let queue = Queue::amqp(&broker.url, broker.config.clone())
            .await
            .expect("broker");
        Rig {
            db,
            broker,
            store,
            queue,
            markers: tempfile::tempdir().expect("temp dir"),
            sources: Vec::new(),
            workers: Vec::new(),
            kills: 0,
            restarts: 0,
        }
    }

    /// Ingests `n` voicemails whose transcription takes `job_ms` each (the
    /// scripted engine sleeps); their jobs go to the outbox.
    async fn ingest(&mut self, n: usize, job_ms: u32) {
        let first = self.sources.len();
        for i in first..first + n {
            let marker = self.markers.path().join(format!("m{i}"));
            let bytes = wav(&format!(
                "SLOW {} {}",
                job_ms as f64 / 1000.0,
                marker.display()
            ));
            let source = new_source(
                &format!("msg{i:05}.wav"),
                &bytes,
                &Arrival::new(Channel::Voicemail),
            );
            match self.store.ingest(&source, &bytes).await.expect("ingest") {
                Intake::Accepted(id) => self.sources.push(id),
                Intake::Duplicate(_) => panic!("message {i} ingested twice"),
            }
        }
    }

    /// Starts a worker process. Every other one takes its deliveries four
    /// at a time (prefetch 4: its attempts and contributions written as
    /// batches), the rest one at a time, so that both ways are killed.
    fn spawn_worker(&mut self) {
        let prefetch = if (self.kills + self.workers.len()).is_multiple_of(2) {
            1
        } else {
            4
        };
        let env = [
            ("RECUEIL_TEST_DB", self.db.url.clone()),
            ("RECUEIL_TEST_PREFIX", self.broker.config.prefix.clone()),
            (
                "RECUEIL_TEST_LIMIT",
                self.broker.config.delivery_limit.to_string(),
            ),
            ("RECUEIL_TEST_PREFETCH", prefetch.to_string()),
        ];
        self.workers.push(child::spawn("amqp-worker", &env));
    }

    /// SIGKILLs worker `n` and starts another in its place.
    fn kill_and_restart(&mut self, n: usize) {
        let mut worker = self.workers.swap_remove(n);
        worker.kill().expect("SIGKILL");
        worker.wait().expect("reaped");
        self.kills += 1;
        self.spawn_worker();
        self.restarts += 1;
    }

    /// Every worker the test did not kill is still running.
    fn assert_workers_alive(&mut self) {
        for (n, worker) in self.workers.iter_mut().enumerate() {
            assert!(
                worker.try_wait().expect("status").is_none(),
                "worker {n} died by itself"
            );
        }
    }

    /// Sources neither done nor failed; `None` while the store cannot say.
    async fn unsettled(&self) -> Option<usize> {
        let records = self.store.sources().await.ok()?;
        Some(
            records
                .iter()
                .filter(|r| !matches!(r.state, SourceState::Done | SourceState::Failed))
                .count(),
        )
    }

    async fn wait_settled(&self) {
        wait_until("every source done or failed", SETTLE, || async {
            self.unsettled().await == Some(0)
        })
        .await;
        // Copies of settled jobs (a job re-queued by a worker killed after
        // its commit) are acknowledged as already done: let them drain.
        let names = self.queue_names();
        wait_until("the work and retry queues empty", SETTLE, || async {
            let depths = self.queue.depths().await.unwrap_or_default();
            depths
                .iter()
                .filter(|d| names[..2].contains(&d.queue))
                .all(|d| d.ready == 0)
                && !depths.is_empty()
        })
        .await;
    }

    fn queue_names(&self) -> [String; 3] {
        let c = &self.broker.config;
        [
            c.work_queue(Channel::Voicemail),
            c.retry_queue(Channel::Voicemail),
            c.dead_queue(),
        ]
    }

    /// Stops the workers, then checks and prints what happened to every
    /// source. Returns the number of recorded failures.
    async fn audit(mut self, test: &str, started: Instant) -> usize {
        for mut worker in self.workers.drain(..) {
            worker.kill().expect("stop the worker");
            worker.wait().expect("reaped");
        }
        // A message a worker held unacknowledged goes back to its queue
        // when the worker's connection closes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let records = self.store.sources().await.expect("sources");
        let contributions = self.store.contributions().await.expect("contributions");
        let ours: HashSet<SourceId> = self.sources.iter().copied().collect();
        assert_eq!(records.len(), ours.len(), "sources appeared or vanished");
        let mut distinct = HashSet::new();
        let mut duplicated = 0;
        for c in &contributions {
            if !distinct.insert(c.source_id) {
                duplicated += 1;
            }
        }
        let (mut done, mut failed, mut lost, mut interrupted) = (0, 0, 0, 0);
        for r in &records {
            assert!(ours.contains(&r.source.id), "a source nobody ingested");
            if r.attempts > 1 {
                interrupted += 1;
            }
            match r.state {
                SourceState::Done if distinct.contains(&r.source.id) => done += 1,
                SourceState::Failed if r.last_error.is_some() => failed += 1,
                _ => lost += 1,
            }
        }
        let [work, retry, dead] = self.queue_names();
        let (work, retry, dead) = (
            self.broker.ready(&work).await,
            self.broker.ready(&retry).await,
            self.broker.ready(&dead).await,
        );
        recueil_testkit::report!(
            "faults: {test}: jobs {}, kills {}, restarts {}, done {done}, failed {failed}, \
             retried after a fault {interrupted}, lost {lost}, duplicated {duplicated}, \
             left in queues {}, in {:.1} s",
            self.sources.len(),
            self.kills,
            self.restarts,
            work + retry,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(lost, 0, "sources with neither a contribution nor a failure");
        assert_eq!(duplicated, 0, "contributions stored twice");
        assert_eq!(contributions.len(), done, "contributions of no source");
        assert_eq!(work + retry, 0, "messages left in the work queues");
        assert_eq!(
            dead as usize, failed,
            "each dead letter is a recorded failure"
        );
        failed
    }
}

/// Runs `cmd` to its end, its standard error kept for the assertions.
fn with_stderr(mut cmd: Command, what: &str) -> std::process::Output {
    cmd.stderr(std::process::Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Runs `cmd` to its end; it must succeed (its standard error shown if not).
fn succeeds(cmd: Command, what: &str) {
    let out = with_stderr(cmd, what);
    assert!(
        out.status.success(),
        "{what} finishes: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `program args`, failing the test with what it said if it fails.
fn service(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} {args:?}: {e} (the fault tests control the local services)")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn postgres_cluster() -> String {
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql: the fault tests restart the local PostgreSQL cluster")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    assert_eq!(versions.len(), 1, "one PostgreSQL version: {versions:?}");
    versions[0].clone()
}

fn postgres(action: &str) {
    let version = postgres_cluster();
    service(
        "pg_ctlcluster",
        &["--skip-systemctl-redirect", &version, "main", action],
    );
}

/// Runs `sql` on the server's administrative database.
async fn admin(sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&recueil_testkit::postgres_admin_url())
        .await
        .expect("admin connection");
    sqlx::query(sql).execute(&mut conn).await.expect(sql);
}

/// A relay in this process, as `recueil serve` runs one: it publishes what
/// intake leaves in the outbox, and keeps trying while the broker is away.
fn spawn_relay(rig: &Rig, shutdown: &Shutdown) -> tokio::task::JoinHandle<()> {
    tokio::spawn(relay::run(
        rig.store.clone(),
        rig.queue.clone(),
        Arc::new(tokio::sync::Notify::new()),
        Duration::from_millis(200),
        shutdown.clone(),
    ))
}

/// A thousand jobs, four worker processes, at least twenty SIGKILLs at
/// random moments, each killed worker replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_jobs_through_workers_killed_at_random_are_each_done_once() {
    let _services = SERVICES.lock().await;
    let started = Instant::now();
    let mut dice = Dice::new();
    let mut rig = Rig::new(10).await;
    rig.ingest(1000, 20).await;
    assert_eq!(relay_pending(&rig.store, &rig.queue).await.unwrap(), 1000);
    for _ in 0..4 {
        rig.spawn_worker();
    }
    while rig.kills < 20 || rig.unsettled().await.unwrap_or(1) > 0 && rig.kills < 40 {
        tokio::time::sleep(Duration::from_millis(100 + dice.below(300))).await;
        let n = dice.below(4) as usize;
        rig.kill_and_restart(n);
    }
    rig.wait_settled().await;
    rig.assert_workers_alive();
    let failed = rig.audit("SIGKILL x4 workers", started).await;
    assert_eq!(
        failed, 0,
        "a kill is not the job's fault at this delivery limit"
    );
}

/// The broker stopped twice while workers consume and intake goes on: the
/// outbox keeps what arrives meanwhile, the workers reconnect by themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_stopped_twice_mid_run_loses_nothing() {
    let _services = SERVICES.lock().await;
    let started = Instant::now();
    let mut rig = Rig::new(5).await;
    let shutdown = Shutdown::new();
    let relay = spawn_relay(&rig, &shutdown);
    rig.ingest(200, 20).await;
    for _ in 0..2 {
        rig.spawn_worker();
    }
    for outage in 0..2 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        service("rabbitmqctl", &["-q", "stop_app"]);
        // Intake goes on while the broker is away.
        rig.ingest(100, 20).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        service("rabbitmqctl", &["-q", "start_app"]);
        rig.restarts += 1;
        recueil_testkit::report!(
            "faults: broker outage {} over at {:.1} s",
            outage + 1,
            started.elapsed().as_secs_f64()
        );
    }
    let back = Instant::now();
    rig.wait_settled().await;
    let recovery = back.elapsed();
    recueil_testkit::report!(
        "faults: every job settled {:.1} s after the broker came back",
        recovery.as_secs_f64()
    );
    // The relay's claim on the outbox lasts a minute: jobs it had claimed
    // when the broker went away must not wait that out.
    assert!(
        recovery < Duration::from_secs(45),
        "{recovery:?} to recover: outbox rows left claimed by a failed relay pass?"
    );
    rig.assert_workers_alive();
    shutdown.cancel();
    relay.await.unwrap();
    let failed = rig.audit("broker stopped twice", started).await;
    assert_eq!(failed, 0, "nothing fails for the broker's outage");
}

/// PostgreSQL restarted, then refusing writes for a while: the workers
/// back off and resume, and nothing is dead-lettered or counted against a
/// job for a fault that was the database's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_then_read_only_dead_letters_nothing() {
    let _services = SERVICES.lock().await;
    let started = Instant::now();
    let mut rig = Rig::new(5).await;
    rig.ingest(300, 20).await;
    relay_pending(&rig.store, &rig.queue).await.unwrap();
    for _ in 0..2 {
        rig.spawn_worker();
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    postgres("restart");
    rig.restarts += 1;
    recueil_testkit::report!("faults: PostgreSQL restarted");
    tokio::time::sleep(Duration::from_millis(800)).await;

    let name = rig
        .db
        .url
        .rsplit('/')
        .next()
        .expect("database name")
        .to_owned();
    let terminate = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    );
    admin(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = on"
    ))
    .await;
    admin(&terminate).await;
    recueil_testkit::report!("faults: PostgreSQL read-only");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = rig.unsettled().await;
    admin(&format!(
        "ALTER DATABASE {name} RESET default_transaction_read_only"
    ))
    .await;
    admin(&terminate).await;
    recueil_testkit::report!(
        "faults: PostgreSQL writable again ({before:?} sources unsettled then)"
    );

    rig.wait_settled().await;
    rig.assert_workers_alive();
    let failed = rig
        .audit("PostgreSQL restarted and read-only", started)
        .await;
    assert_eq!(failed, 0, "nothing fails for the database's faults");
}

/// Unmounts a tmpfs when dropped, even if the test fails.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &std::path::Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).expect("mount point");
        service(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                &at.display().to_string(),
            ],
        );
        Tmpfs(at.to_owned())
    }

    fn resize(&self, size: &str) {
        service(
            "mount",
            &[
                "-o",
                &format!("remount,size={size}"),
                &self.0.display().to_string(),
            ],
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The embedded mode's SQLite file on a disk that fills up: the run stops
/// with an error naming the file it could not store and the cause, what
/// was stored is whole (each source with its bytes and its job), and the
/// next run, once there is room, finishes the rest, each message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_embedded_run_clearly_and_the_next_run_resumes() {
    let _services = SERVICES.lock().await;
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("disk"), "1m");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    const FILES: usize = 24;
    for i in 0..FILES {
        // 100 kB each: the 1 MB disk holds a few.
        let bytes = wav_padded(&format!("message {i}, question 2"), 100_000);
        std::fs::write(inbox.join(format!("msg{i:03}.wav")), bytes).unwrap();
    }
    let db = format!("sqlite://{}", disk.0.join("recueil.db").display());
    let env = [
        ("RECUEIL_TEST_DB", db.clone()),
        ("RECUEIL_TEST_INBOX", inbox.display().to_string()),
    ];

    let out = with_stderr(child::command("embedded", &env), "first run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the first run cannot fit: {stderr}");
    assert!(
        stderr.contains("disk is full"),
        "the cause is said: {stderr}"
    );
    let named = (0..FILES).any(|i| stderr.contains(&format!("msg{i:03}.wav")));
    assert!(
        named,
        "the file that could not be stored is named: {stderr}"
    );

    // What the full disk let through is whole.
    let store = Store::connect(&db)
        .await
        .expect("the store opens after the failure");
    let stored = store.sources().await.unwrap();
    assert!(
        !stored.is_empty() && stored.len() < FILES,
        "{} stored",
        stored.len()
    );
    for r in &stored {
        assert!(
            store.original(&r.source.sha256).await.unwrap().is_some(),
            "{}: stored without its bytes",
            r.source.original_name
        );
    }
    let first = stored.len();
    store.close().await;

    disk.resize("64m");
    succeeds(child::command("embedded", &env), "the second run");
    let store = Store::connect(&db).await.unwrap();
    let sources = store.sources().await.unwrap();
    let contributions = store.contributions().await.unwrap();
    let done = sources
        .iter()
        .filter(|r| r.state == SourceState::Done)
        .count();
    let distinct: HashSet<SourceId> = contributions.iter().map(|c| c.source_id).collect();
    recueil_testkit::report!(
        "faults: disk full (embedded): files {FILES}, stored before the disk filled {first}, \
         done after the second run {done}, lost {}, duplicated {}, in {:.1} s",
        FILES - done,
        contributions.len() - distinct.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(sources.len(), FILES, "each file stored once");
    assert_eq!(done, FILES);
    assert_eq!(contributions.len(), FILES);
    assert_eq!(distinct.len(), FILES);
    store.close().await;
}

/// `recueil run` over an inbox holding `file` alone, SIGKILLed once the
/// worker is inside its engine (the source is being processed, nothing
/// stored yet), then run again: the job is redelivered from the store and
/// done once. With the real engines and models (scripts/test.sh fetches
/// them).
async fn killed_inside_the_engine(file: &Path, engine: &str) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::copy(file, inbox.join(file.file_name().unwrap())).unwrap();
    let db = format!("sqlite://{}", dir.path().join("recueil.db").display());
    let run = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_recueil"));
        cmd.arg("run")
            .arg(&inbox)
            .env("RECUEIL_DATABASE_URL", &db)
            .env("RECUEIL_LOG", "warn")
            .env_remove("RECUEIL_AMQP_URL")
            .env_remove("RECUEIL_CONFIG")
            .stdout(std::process::Stdio::null());
        cmd
    };
    let mut first = run().spawn().expect("recueil run");
    let store = async {
        loop {
            if let Ok(store) = Store::connect(&db).await {
                break store;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let store = tokio::time::timeout(Duration::from_secs(30), store)
        .await
        .expect("the run creates its store");
    wait_until(
        "the worker takes the job",
        Duration::from_secs(60),
        || async {
            let records = store.sources().await.unwrap_or_default();
            records.iter().any(|r| r.state == SourceState::Processing)
        },
    )
    .await;
    // Into the engine's work, well before its end.
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let record = store.sources().await.unwrap().remove(0);
    assert_eq!(
        record.state,
        SourceState::Processing,
        "killed inside {engine}, not after"
    );
    assert!(store.contributions().await.unwrap().is_empty());

    succeeds(run(), "the second run");
    let records = store.sources().await.unwrap();
    let contributions = store.contributions().await.unwrap();
    recueil_testkit::report!(
        "faults: killed inside {engine}: sources {}, attempts {}, contributions {}, lost {}, \
         duplicated {}, in {:.1} s",
        records.len(),
        records[0].attempts,
        contributions.len(),
        usize::from(contributions.is_empty()),
        contributions.len().saturating_sub(1),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].state, SourceState::Done);
    assert_eq!(records[0].attempts, 2, "the killed attempt is counted");
    assert_eq!(contributions.len(), 1);
    store.close().await;
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_inside_whisper_is_redelivered_and_done_once() {
    let _services = SERVICES.lock().await;
    let file = root().join("fixtures/real/speech/fleurs-fr/fleurs-fr-000.wav");
    killed_inside_the_engine(&file, "whisper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_inside_tesseract_is_redelivered_and_done_once() {
    let _services = SERVICES.lock().await;
    let file = root().join("fixtures/inbox/ballot-imprime.png");
    killed_inside_the_engine(&file, "tesseract").await;
}
