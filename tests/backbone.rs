//! The backbone end to end, against the real PostgreSQL and RabbitMQ (and
//! SQLite with the in-process queue): a file goes in, one contribution
//! comes out, whatever is delivered twice or fails in between.

use recueil_core::{Channel, Job, Question, SourceId, Status};
use recueil_pipeline::intake::{ingest_file, new_source, Arrival};
use recueil_pipeline::relay::relay_pending;
use recueil_pipeline::worker::{self, WorkerSettings};
use recueil_pipeline::Shutdown;
use recueil_queue::{Queue, QueueConfig};
use recueil_store::{Attempt, Intake, SourceState, Store};
use recueil_testkit::{voicemail_process, wait_until, wav, TcpProxy, TestBroker, TestDb};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn memory_config() -> QueueConfig {
    QueueConfig {
        retry_delay: Duration::from_millis(100),
        delivery_limit: 3,
        ..QueueConfig::default()
    }
}

async fn ingest(store: &Store, script: &str) -> SourceId {
    let bytes = wav(script);
    let source = new_source("msg.wav", &bytes, &Arrival::new(Channel::Voicemail));
    match store.ingest(&source, &bytes).await.unwrap() {
        Intake::Accepted(id) => id,
        Intake::Duplicate(id) => panic!("{id} unexpectedly a duplicate"),
    }
}

fn settings(max_attempts: u32) -> WorkerSettings {
    WorkerSettings {
        concurrency: 2,
        max_attempts,
        shutdown_grace: Duration::from_secs(5),
    }
}

fn start_worker(
    store: &Store,
    queue: &Queue,
    settings: WorkerSettings,
) -> (Shutdown, tokio::task::JoinHandle<()>) {
    let shutdown = Shutdown::new();
    let task = tokio::spawn(worker::run(
        store.clone(),
        queue.clone(),
        voicemail_process(),
        settings,
        shutdown.clone(),
    ));
    let handle = tokio::spawn(async move { task.await.unwrap().unwrap() });
    (shutdown, handle)
}

async fn contributions(store: &Store) -> usize {
    store.contributions().await.unwrap().len()
}

/// N sources in, N contributions out, each linked to its source; a file
/// ingested twice and a job delivered twice change nothing.
async fn exactly_once(db: TestDb, queue: Queue) {
    const N: usize = 12;
    let store = Store::connect(&db.url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for i in 0..N {
        let path = dir.path().join(format!("msg{i}.wav"));
        let text = if i % 3 == 0 {
            format!("message {i} pour la question 2")
        } else {
            format!("message {i}")
        };
        std::fs::write(&path, wav(&text)).unwrap();
        let arrival = Arrival::new(Channel::Voicemail);
        let [Intake::Accepted(id)] = ingest_file(&store, &path, &arrival).await.unwrap()[..] else {
            panic!("new file reported as duplicate");
        };
        ids.push(id);
        // The same bytes again, under another name: nothing new.
        let again = dir.path().join(format!("copy{i}.wav"));
        std::fs::copy(&path, &again).unwrap();
        assert_eq!(
            ingest_file(&store, &again, &arrival).await.unwrap(),
            vec![Intake::Duplicate(id)]
        );
    }
    assert_eq!(store.counts().await.unwrap().outbox, N as u64);
    assert_eq!(relay_pending(&store, &queue).await.unwrap(), N);
    // A redelivery, as after a relay crash between publish and delete.
    queue
        .publish(&Job::new(ids[0], Channel::Voicemail))
        .await
        .unwrap();

    let (shutdown, worker) = start_worker(&store, &queue, settings(3));
    wait_until("every source processed", WAIT, || async {
        store.counts().await.unwrap().done == N as u64
    })
    .await;
    // Let the duplicate job be consumed too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    worker.await.unwrap();

    let stored = store.contributions().await.unwrap();
    assert_eq!(stored.len(), N);
    for (i, id) in ids.iter().enumerate() {
        let c = stored.iter().find(|c| c.source_id == *id).expect("linked");
        let record = store.source(*id).await.unwrap().unwrap();
        assert_eq!(record.state, SourceState::Done);
        assert_eq!(c.received_at, record.source.received_at);
        assert_eq!(c.status, Status::Published);
        assert_eq!(c.raw_text, String::from_utf8_lossy(&wav(&c.raw_text)[16..]));
        let q2 = c.questions.contains(Question::new(2).unwrap());
        assert_eq!(q2, i % 3 == 0, "questions of message {i}");
        assert!(store
            .original(&record.source.sha256)
            .await
            .unwrap()
            .is_some());
    }
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.outbox, 0);
    assert_eq!(counts.oldest_unfinished, None, "no backlog left");
    assert_eq!(
        counts.contributions,
        vec![(Channel::Voicemail, Status::Published, N as u64)],
        "counted by the database"
    );
}

/// [`exactly_once`] on PostgreSQL and RabbitMQ, the consumers taking up to
/// `prefetch` deliveries as one batch; the queue is left empty.
async fn exactly_once_postgres_rabbitmq_with(prefetch: u16) {
    let mut broker = TestBroker::new(5);
    broker.config.prefetch = prefetch;
    let queue = Queue::amqp(&broker.url, broker.config.clone())
        .await
        .unwrap();
    exactly_once(TestDb::postgres().await, queue).await;
    assert_eq!(
        broker
            .ready(&broker.config.work_queue(Channel::Voicemail))
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_postgres_rabbitmq() {
    exactly_once_postgres_rabbitmq_with(1).await;
}

/// The same with consumers taking their deliveries four at a time: the
/// attempts and the contributions of a batch written in one statement each,
/// and the job delivered twice possibly twice in one batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_postgres_rabbitmq_in_batches() {
    exactly_once_postgres_rabbitmq_with(4).await;
}

/// A batch of deliveries is answered one by one, in its order: each source
/// begun with its bytes, a done one and an unknown one told apart; a batch
/// of contributions stores each once, a redelivered one not again, and a
/// reviewer's image shared by two is kept once. A source twice in one batch
/// is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_answered_source_by_source() {
    use recueil_store::Begun;
    for db in TestDb::both().await {
        let store = Store::connect(&db.url).await.unwrap();
        let first = ingest(&store, "premier").await;
        let second = ingest(&store, "second").await;
        let done = ingest(&store, "déjà fait").await;
        let unknown = SourceId(uuid::Uuid::new_v4());
        let engine = recueil_core::EngineInfo {
            name: "test".into(),
            version: "1".into(),
        };
        let contribution = |id: SourceId| {
            let store = store.clone();
            let engine = engine.clone();
            async move {
                let record = store.source(id).await.unwrap().unwrap();
                let mut c = recueil_core::Contribution::new(&record.source, engine, false);
                c.status = Status::NeedsReview;
                c.review_image = Some(b"the same crop".to_vec());
                c
            }
        };
        store.begin_attempt(done, 1).await.unwrap();
        assert!(store
            .record_contribution(&contribution(done).await)
            .await
            .unwrap());

        let answers = store
            .begin_attempts(&[(first, 1), (done, 2), (unknown, 1), (second, 3)])
            .await
            .unwrap();
        let answers: Vec<Begun> = answers.into_iter().map(Result::unwrap).collect();
        for (answer, id, script) in [
            (&answers[0], first, "premier"),
            (&answers[3], second, "second"),
        ] {
            let Begun::Proceed { source, original } = answer else {
                panic!("{id} not begun: {answer:?} ({})", db.url);
            };
            assert_eq!(source.source.id, id);
            assert_eq!(source.state, SourceState::Processing);
            assert_eq!(source.attempts, 1);
            assert_eq!(original.as_deref(), Some(&wav(script)[..]), "{}", db.url);
        }
        assert!(matches!(answers[1], Begun::AlreadyDone), "{:?}", answers[1]);
        assert!(
            matches!(answers[2], Begun::UnknownSource),
            "{:?}",
            answers[2]
        );

        let (a, b, again) = (
            contribution(first).await,
            contribution(second).await,
            contribution(done).await,
        );
        assert_eq!(
            store.record_contributions(&[&a, &again, &b]).await.unwrap(),
            [true, false, true],
            "{}",
            db.url
        );
        for id in [first, second, done] {
            assert_eq!(
                store.source(id).await.unwrap().unwrap().state,
                SourceState::Done
            );
            assert_eq!(
                store.review_image(id).await.unwrap().as_deref(),
                Some(&b"the same crop"[..])
            );
        }
        assert_eq!(contributions(&store).await, 3, "{}", db.url);

        let third = ingest(&store, "troisième").await;
        assert!(store
            .begin_attempts(&[(third, 1), (third, 2)])
            .await
            .is_err());
        let c = contribution(third).await;
        assert!(store.record_contributions(&[&c, &c]).await.is_err());
        assert_eq!(
            store.source(third).await.unwrap().unwrap().state,
            SourceState::Queued
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_sqlite_in_process() {
    exactly_once(TestDb::sqlite(), Queue::memory(memory_config())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_sqlite_rabbitmq() {
    let broker = TestBroker::new(5);
    let queue = Queue::amqp(&broker.url, broker.config.clone())
        .await
        .unwrap();
    exactly_once(TestDb::sqlite(), queue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_postgres_in_process() {
    exactly_once(TestDb::postgres().await, Queue::memory(memory_config())).await;
}

/// Bad jobs end dead-lettered with the reason on their source, and the
/// worker keeps serving the good ones.
async fn failures(db: TestDb, queue: Queue) -> usize {
    let store = Store::connect(&db.url).await.unwrap();
    let transient = ingest(&store, "FAIL-TRANSIENT").await;
    let permanent = ingest(&store, "FAIL-PERMANENT").await;
    let panicking = ingest(&store, "PANIC").await;
    let silent = ingest(&store, "SILENCE").await;
    let good = ingest(&store, "un bon message").await;
    relay_pending(&store, &queue).await.unwrap();
    // A job for a source no store knows, and a 10 MB payload: dead-lettered,
    // the worker unharmed (the hostile corpus's queue cases).
    let unknown = serde_json::to_vec(&Job::new(SourceId::new(), Channel::Voicemail)).unwrap();
    let huge = vec![b'x'; 10 << 20];
    match &queue {
        Queue::Memory(m) => {
            m.publish_raw(Channel::Voicemail, unknown);
            m.publish_raw(Channel::Voicemail, huge);
        }
        Queue::Amqp(_) => {
            publish_raw_amqp(&queue, unknown).await;
            publish_raw_amqp(&queue, huge).await;
        }
    }
    match &queue {
        Queue::Memory(m) => m.publish_raw(Channel::Voicemail, b"{not json".to_vec()),
        Queue::Amqp(_) => {
            // A message of a future schema, as a newer producer would send.
            let mut job = Job::new(SourceId::new(), Channel::Voicemail);
            job.schema = 99;
            let json = serde_json::to_vec(&job).unwrap();
            publish_raw_amqp(&queue, json).await;
        }
    }
    let (shutdown, worker) = start_worker(&store, &queue, settings(3));
    wait_until("all settled", WAIT, || async {
        let c = store.counts().await.unwrap();
        c.done == 2 && c.failed == 3
    })
    .await;
    let good_c = store.contribution(good).await.unwrap().unwrap();
    assert_eq!(good_c.status, Status::Published);
    let silent_c = store.contribution(silent).await.unwrap().unwrap();
    assert_eq!(silent_c.status, Status::Empty);
    assert!(silent_c.text.is_empty() && silent_c.questions.is_empty());

    let t = store.source(transient).await.unwrap().unwrap();
    assert_eq!(t.attempts, 3, "three attempts before giving up");
    assert!(t
        .last_error
        .unwrap()
        .contains("attempt 3: transient failure: engine busy"));
    let p = store.source(permanent).await.unwrap().unwrap();
    assert_eq!(p.attempts, 1, "a bad input is not retried");
    assert!(p.last_error.unwrap().contains("msg.wav: not audio"));
    let x = store.source(panicking).await.unwrap().unwrap();
    assert!(x.last_error.unwrap().contains("engine crashed"));
    // The worker survived all of that: one more good job.
    let after = ingest(&store, "encore un message").await;
    relay_pending(&store, &queue).await.unwrap();
    wait_until("the job after the failures", WAIT, || async {
        store.contribution(after).await.unwrap().is_some()
    })
    .await;
    shutdown.cancel();
    worker.await.unwrap();
    assert_eq!(contributions(&store).await, 3);
    match &queue {
        Queue::Memory(m) => m.dead().len(),
        Queue::Amqp(_) => 0,
    }
}

async fn publish_raw_amqp(queue: &Queue, payload: Vec<u8>) {
    let config = queue.config().clone();
    let conn = lapin::Connection::connect(
        &recueil_testkit::amqp_url(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.basic_publish(
        "".into(),
        config.work_queue(Channel::Voicemail).as_str().into(),
        lapin::options::BasicPublishOptions::default(),
        &payload,
        lapin::BasicProperties::default(),
    )
    .await
    .unwrap();
    conn.close(200, "bye".into()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_recorded_and_dead_lettered_postgres_rabbitmq() {
    let broker = TestBroker::new(5);
    let queue = Queue::amqp(&broker.url, broker.config.clone())
        .await
        .unwrap();
    failures(TestDb::postgres().await, queue).await;
    // transient (after its attempts), permanent, panic, future schema,
    // unknown source, 10 MB of garbage.
    let dead = broker.config.dead_queue();
    wait_until("six dead letters", WAIT, || async {
        broker.ready(&dead).await == 6
    })
    .await;
    assert_eq!(
        broker
            .ready(&broker.config.work_queue(Channel::Voicemail))
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_recorded_and_dead_lettered_sqlite_in_process() {
    let dead = failures(TestDb::sqlite(), Queue::memory(memory_config())).await;
    assert_eq!(dead, 6);
}

/// The broker goes away: intake keeps the source in the outbox, and the
/// job reaches the queue once the broker is back, through a reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_at_intake_loses_nothing() {
    let broker = TestBroker::new(5);
    let mut proxy = TcpProxy::start("127.0.0.1:5672").await;
    let db = TestDb::postgres().await;
    let store = Store::connect(&db.url).await.unwrap();
    let queue = Queue::amqp(&proxy.amqp_url(), broker.config.clone())
        .await
        .unwrap();

    proxy.cut();
    let id = ingest(&store, "message pendant la panne, question 1").await;
    assert!(
        relay_pending(&store, &queue).await.is_err(),
        "broker is down"
    );
    assert_eq!(store.counts().await.unwrap().outbox, 1, "job kept");
    assert_eq!(
        store.source(id).await.unwrap().unwrap().state,
        SourceState::Queued
    );
    // Unreachable from the start too: a clear error, nothing lost.
    let err = Queue::amqp(&proxy.amqp_url(), broker.config.clone())
        .await
        .err()
        .expect("unreachable");
    assert!(err.to_string().contains("cannot reach the broker"), "{err}");
    assert!(
        !err.to_string().contains("guest:guest"),
        "no password in errors"
    );

    proxy.restore().await;
    assert_eq!(relay_pending(&store, &queue).await.unwrap(), 1);
    assert_eq!(store.counts().await.unwrap().outbox, 0);
    let (shutdown, worker) = start_worker(&store, &queue, settings(3));
    wait_until("processed after the outage", WAIT, || async {
        store.contribution(id).await.unwrap().is_some()
    })
    .await;
    shutdown.cancel();
    worker.await.unwrap();
}

/// A worker whose broker restarts reconnects and goes on consuming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_reconnects_after_a_broker_outage() {
    let broker = TestBroker::new(5);
    let mut proxy = TcpProxy::start("127.0.0.1:5672").await;
    let db = TestDb::postgres().await;
    let store = Store::connect(&db.url).await.unwrap();
    let through_proxy = Queue::amqp(&proxy.amqp_url(), broker.config.clone())
        .await
        .unwrap();
    let direct = Queue::amqp(&broker.url, broker.config.clone())
        .await
        .unwrap();
    let (shutdown, worker) = start_worker(&store, &through_proxy, settings(3));
    let first = ingest(&store, "avant la panne").await;
    relay_pending(&store, &direct).await.unwrap();
    wait_until("first job", WAIT, || async {
        store.contribution(first).await.unwrap().is_some()
    })
    .await;
    proxy.cut();
    let second = ingest(&store, "pendant la panne").await;
    relay_pending(&store, &direct).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(store.contribution(second).await.unwrap().is_none());
    proxy.restore().await;
    wait_until("second job after reconnection", WAIT, || async {
        store.contribution(second).await.unwrap().is_some()
    })
    .await;
    shutdown.cancel();
    worker.await.unwrap();
}

/// Shutdown hands a job that does not finish in time back to the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_hands_back_the_job_in_hand() {
    let db = TestDb::sqlite();
    let store = Store::connect(&db.url).await.unwrap();
    let queue = Queue::memory(memory_config());
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = ingest(&store, &format!("SLOW 2 {}", marker.display())).await;
    relay_pending(&store, &queue).await.unwrap();
    let mut s = settings(3);
    s.shutdown_grace = Duration::from_millis(100);
    s.concurrency = 1;
    let (shutdown, worker) = start_worker(&store, &queue, s);
    wait_until("job started", WAIT, || async { marker.exists() }).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), worker)
        .await
        .expect("worker stops within the grace period")
        .unwrap();
    let Queue::Memory(m) = &queue else {
        unreachable!()
    };
    assert_eq!(m.pending(Channel::Voicemail), 1, "job back in the queue");
    assert!(store.contribution(id).await.unwrap().is_none());
}

/// The relay's batches: released together (claimable again at once, not
/// after the lease) and completed together, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_batches_are_released_and_completed_whole() {
    let lease = Duration::from_secs(60);
    for db in TestDb::both().await {
        let store = Store::connect(&db.url).await.unwrap();
        for i in 0..5 {
            let bytes = wav(&format!("message {i}"));
            let source = new_source("m.wav", &bytes, &Arrival::new(Channel::Voicemail));
            store.ingest(&source, &bytes).await.unwrap();
        }
        // Five sources waiting, stored a moment ago: that is the backlog's age.
        let oldest = store
            .counts()
            .await
            .unwrap()
            .oldest_unfinished
            .expect("a backlog");
        let age = chrono::Utc::now() - oldest;
        assert!(
            age >= chrono::Duration::zero() && age < chrono::Duration::seconds(60),
            "{age} {}",
            db.url
        );
        let batch = store.claim_outbox(10, lease).await.unwrap();
        assert_eq!(batch.len(), 5, "{}", db.url);
        assert!(store.claim_outbox(10, lease).await.unwrap().is_empty());
        let ids: Vec<i64> = batch.iter().map(|e| e.id).collect();
        store.release_outbox(&ids[..3]).await.unwrap();
        let again = store.claim_outbox(10, lease).await.unwrap();
        let mut released: Vec<i64> = again.iter().map(|e| e.id).collect();
        released.sort();
        let mut expected = ids[..3].to_vec();
        expected.sort();
        assert_eq!(released, expected, "{}", db.url);
        store.complete_outbox(&ids).await.unwrap();
        store.complete_outbox(&[]).await.unwrap();
        store.release_outbox(&[]).await.unwrap();
        assert_eq!(store.counts().await.unwrap().outbox, 0, "{}", db.url);
    }
}

/// A worker SIGKILLed while its COMMIT is in flight: the server completes
/// that commit after the broker has handed the job to another worker, whose
/// attempt then finds the source done half-way through beginning. It must
/// be told the source is done (and acknowledge), not that there is no such
/// source (and dead-letter a job whose contribution is stored): CI saw
/// this once in the fault suite's thousand jobs with random SIGKILLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_racing_a_killed_workers_commit_finds_the_source_done() {
    use sqlx::Connection;
    let db = TestDb::postgres().await;
    let store = Store::connect(&db.url).await.unwrap();
    let id = ingest(&store, "bonjour").await;
    assert!(matches!(
        store.begin_attempt(id, 1).await.unwrap(),
        Attempt::Proceed { .. }
    ));
    // The killed worker's transaction, still holding the row when the
    // redelivery begins.
    let mut killed = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut commit = killed.begin().await.unwrap();
    sqlx::query("UPDATE sources SET state = 'done' WHERE id = $1")
        .bind(id.0)
        .execute(&mut *commit)
        .await
        .unwrap();
    let redelivery = tokio::spawn({
        let store = store.clone();
        async move { store.begin_attempt(id, 2).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !redelivery.is_finished(),
        "the redelivery waits for the killed worker's row lock"
    );
    commit.commit().await.unwrap();
    let attempt = redelivery.await.unwrap().unwrap();
    assert!(matches!(attempt, Attempt::AlreadyDone), "{attempt:?}");
}

/// A source whose message the broker dead-lettered after workers died on
/// it stays `processing`, and nothing would ever finish it: the operator's
/// `recueil replay --stalled 2h` puts such sources back in the queue (the
/// outbox), and only those unchanged for that long; a done or a fresh
/// source is left alone, and the rescued one is done once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_left_processing_is_requeued_by_the_operator() {
    for db in TestDb::both().await {
        let store = Store::connect(&db.url).await.unwrap();
        let stalled = ingest(&store, "lost message").await;
        let finished = ingest(&store, "finished message").await;
        for id in [stalled, finished] {
            assert!(matches!(
                store.begin_attempt(id, 1).await.unwrap(),
                Attempt::Proceed { .. }
            ));
        }
        let record = store.source(finished).await.unwrap().unwrap();
        let mut done = recueil_core::Contribution::new(
            &record.source,
            recueil_core::EngineInfo {
                name: "test".into(),
                version: "1".into(),
            },
            false,
        );
        done.status = Status::Published;
        store.record_contribution(&done).await.unwrap();
        let outbox = store
            .claim_outbox(100, Duration::from_secs(60))
            .await
            .unwrap();
        store
            .complete_outbox(&outbox.iter().map(|e| e.id).collect::<Vec<_>>())
            .await
            .unwrap();

        // Not yet stalled for an hour: nothing moves.
        let none = store
            .requeue_stalled(Duration::from_secs(3600), "olga")
            .await
            .unwrap();
        assert!(none.is_empty(), "{}", db.url);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let rescued = store
            .requeue_stalled(Duration::from_millis(10), "olga")
            .await
            .unwrap();
        assert_eq!(rescued, [stalled], "{}", db.url);
        let record = store.source(stalled).await.unwrap().unwrap();
        assert_eq!(record.state, SourceState::Queued);
        let history = store.events(stalled).await.unwrap();
        assert!(
            history
                .iter()
                .any(|e| e.2.starts_with("requeued by olga: processing since")),
            "{history:?}"
        );
        let jobs = store
            .claim_outbox(100, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1, "one job for the rescued source: {}", db.url);
        assert!(store
            .requeue_stalled(Duration::from_millis(10), "olga")
            .await
            .unwrap()
            .is_empty());

        // Its new delivery is served as any other, once.
        assert!(matches!(
            store.begin_attempt(stalled, 1).await.unwrap(),
            Attempt::Proceed { .. }
        ));
        let record = store.source(stalled).await.unwrap().unwrap();
        let mut read = recueil_core::Contribution::new(&record.source, done.engine.clone(), false);
        read.status = Status::Published;
        assert!(store.record_contribution(&read).await.unwrap());
        assert_eq!(contributions(&store).await, 2, "{}", db.url);
        assert_eq!(
            store.source(stalled).await.unwrap().unwrap().state,
            SourceState::Done
        );
    }
}
