//! The load the pipeline holds, end to end, with instant engines: N
//! voicemails through intake (source, bytes and outbox row committed) ->
//! the outbox relay (publisher confirms) -> RabbitMQ (durable quorum
//! queue) -> workers -> the contribution committed in PostgreSQL; beside
//! the same run in the embedded mode (SQLite, in-process queue) and a raw
//! lapin publish/consume loop on the same broker (the ratio is recueil's
//! overhead on the broker's share of the work).
//!
//! ```text
//! cargo bench --bench pipeline -- [--jobs N] [--concurrency C] [--prefetch P]
//! ```
//!
//! The engines are the test doubles of `tests/testkit` (a transcript that
//! is the recording's script): this binary is a benchmark, never a
//! production command. Needs PostgreSQL and RabbitMQ as the tests do
//! (`RECUEIL_TEST_POSTGRES_URL`, `RECUEIL_TEST_AMQP_URL`).

use recueil_core::Channel;
use recueil_pipeline::intake::{new_source, Arrival};
use recueil_pipeline::service::serve_channels;
use recueil_pipeline::worker::WorkerSettings;
use recueil_pipeline::Shutdown;
use recueil_queue::{Queue, QueueConfig};
use recueil_store::{Intake, Store};
use recueil_testkit::{voicemail_process, wav, TestBroker, TestDb};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    jobs: usize,
    concurrency: usize,
    prefetch: u16,
}

impl Args {
    fn parse() -> Args {
        let mut args = Args {
            jobs: 2000,
            concurrency: 8,
            // Each consumer takes what the broker has handed it (up to the
            // prefetch) as one batch: 8 lets the workers keep pace with
            // intake on 2 cores (4: about 900 jobs/s on 8,000 jobs, a
            // backlog building behind intake).
            prefetch: 8,
        };
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or_else(|| panic!("{name} needs a number"))
            };
            match a.as_str() {
                "--jobs" => args.jobs = value("--jobs"),
                "--concurrency" => args.concurrency = value("--concurrency"),
                "--prefetch" => args.prefetch = value("--prefetch") as u16,
                // cargo bench passes --bench; anything else is a mistake.
                "--bench" => {}
                other => panic!("unknown argument {other}: --jobs N --concurrency C --prefetch P"),
            }
        }
        args
    }
}

/// One run's figures.
struct Figures {
    jobs_per_s: f64,
    /// Sources stored per second by intake alone (its share of the run).
    intake_per_s: f64,
    p50: Duration,
    p99: Duration,
}

/// Intake of `n` voicemails by 8 concurrent callers while the pipeline
/// serves them; returns when every contribution is committed.
async fn run(store: Store, queue: Queue, args: &Args) -> Figures {
    let shutdown = Shutdown::new();
    let wake = Arc::new(tokio::sync::Notify::new());
    let settings = WorkerSettings {
        concurrency: args.concurrency,
        ..WorkerSettings::default()
    };
    let service = tokio::spawn(serve_channels(
        store.clone(),
        queue,
        vec![voicemail_process()],
        settings,
        wake.clone(),
        shutdown.clone(),
    ));
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let mut intake = tokio::task::JoinSet::new();
    const CALLERS: usize = 8;
    for caller in 0..CALLERS {
        let (store, wake, n) = (store.clone(), wake.clone(), args.jobs);
        intake.spawn(async move {
            for i in (caller..n).step_by(CALLERS) {
                let bytes = wav(&format!("message {i}, question 2"));
                let source = new_source(
                    &format!("msg{i:06}.wav"),
                    &bytes,
                    &Arrival::new(Channel::Voicemail),
                );
                let intake = store.ingest(&source, &bytes).await.expect("ingest");
                assert!(matches!(intake, Intake::Accepted(_)));
                wake.notify_one();
            }
        });
    }
    while let Some(r) = intake.join_next().await {
        r.expect("intake task");
    }
    let intake_time = started.elapsed();
    // The operators' counts are a dozen scans of the tables: asked every
    // 10 ms they took a share of PostgreSQL's CPU from the run they
    // measured. Asked every 200 ms, the end of the run is read from the
    // contributions themselves instead (the last one's processing time).
    loop {
        let counts = store.counts().await.expect("counts");
        if counts.done as usize == args.jobs {
            break;
        }
        assert_eq!(counts.failed, 0, "a job failed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    service.await.expect("service").expect("service");
    let contributions = store.contributions().await.expect("contributions");
    let last = contributions
        .iter()
        .map(|c| c.processed_at)
        .max()
        .expect("contributions");
    let elapsed = (last - started_at).to_std().unwrap_or_default();
    let mut latencies: Vec<Duration> = contributions
        .iter()
        .map(|c| {
            (c.processed_at - c.received_at)
                .to_std()
                .unwrap_or_default()
        })
        .collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Figures {
        jobs_per_s: args.jobs as f64 / elapsed.as_secs_f64(),
        intake_per_s: args.jobs as f64 / intake_time.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// This process's peak resident memory, from /proc.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let broker = TestBroker::new(5);
        let config = QueueConfig {
            prefetch: args.prefetch,
            ..broker.config.clone()
        };

        let db = TestDb::postgres().await;
        let store = Store::connect(&db.url).await.expect("PostgreSQL");
        let queue = Queue::amqp(&broker.url, config).await.expect("RabbitMQ");
        let served = run(store.clone(), queue, &args).await;
        store.close().await;

        let db_embedded = TestDb::sqlite();
        let store = Store::connect(&db_embedded.url).await.expect("SQLite");
        let embedded = run(store.clone(), Queue::memory(QueueConfig::default()), &args).await;
        store.close().await;

        let payloads: Vec<Vec<u8>> = (0..args.jobs)
            .map(|_| {
                recueil_core::Job::new(recueil_core::SourceId::new(), Channel::Voicemail).to_wire()
            })
            .collect();
        let name = format!("{}rawloop", broker.config.prefix);
        let (publish, consume) =
            recueil_testkit::raw_lapin::publish_then_consume(&broker.url, &name, &payloads).await;
        let raw = args.jobs as f64 / (publish + consume).as_secs_f64();

        println!(
            "{} jobs, {} consumers x prefetch {}, 8 concurrent intake callers, instant engines",
            args.jobs, args.concurrency, args.prefetch
        );
        println!(
            "{:<44} {:>9} {:>10} {:>10} {:>10}",
            "", "jobs/s", "p50", "p99", "intake/s"
        );
        let row = |what: &str, f: &Figures| {
            println!(
                "{what:<44} {:>9.0} {:>8.1}ms {:>8.1}ms {:>10.0}",
                f.jobs_per_s,
                f.p50.as_secs_f64() * 1e3,
                f.p99.as_secs_f64() * 1e3,
                f.intake_per_s
            );
        };
        row("recueil: PostgreSQL + RabbitMQ", &served);
        row("recueil embedded: SQLite + in-process queue", &embedded);
        println!(
            "{:<44} {raw:>9.0}   (publish {:.0}/s, consume {:.0}/s)",
            "raw lapin: publish+confirm, consume+ack",
            args.jobs as f64 / publish.as_secs_f64(),
            args.jobs as f64 / consume.as_secs_f64()
        );
        println!(
            "ratio recueil / raw lapin: {:.2}; peak RSS of the whole run: {:.0} MB",
            served.jobs_per_s / raw,
            peak_rss_mb()
        );
    });
}
