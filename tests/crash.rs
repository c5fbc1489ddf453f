//! Workers killed with SIGKILL in the middle of a job, against the real
//! services. The worker under test is this test binary itself, re-executed
//! as a child process running the real worker loop over test doubles
//! (`recueil_testkit::child`).

use recueil_core::Channel;
use recueil_pipeline::intake::{new_source, Arrival};
use recueil_pipeline::relay::relay_pending;
use recueil_queue::Queue;
use recueil_store::{Intake, SourceState, Store};
use recueil_testkit::{child, wait_until, wav, TestBroker, TestDb};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

#[test]
#[ignore = "child process of the crash tests, started by them"]
fn child_process() {
    child::main();
}

async fn ingest(store: &Store, script: &str) -> recueil_core::SourceId {
    let bytes = wav(script);
    let source = new_source("appel.wav", &bytes, &Arrival::new(Channel::Voicemail));
    let Intake::Accepted(id) = store.ingest(&source, &bytes).await.unwrap() else {
        panic!("duplicate");
    };
    id
}

/// SIGKILL mid-job: the message is redelivered to the next worker and the
/// result stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_job_is_redelivered_and_stored_once() {
    let broker = TestBroker::new(5);
    let db = TestDb::postgres().await;
    let store = Store::connect(&db.url).await.unwrap();
    let queue = Queue::amqp(&broker.url, broker.config.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = ingest(&store, &format!("SLOW-ONCE {}", marker.display())).await;
    relay_pending(&store, &queue).await.unwrap();
    let env = [
        ("RECUEIL_TEST_DB", db.url.clone()),
        ("RECUEIL_TEST_PREFIX", broker.config.prefix.clone()),
        ("RECUEIL_TEST_LIMIT", "5".to_owned()),
    ];

    let mut first = child::spawn("amqp-worker", &env);
    wait_until("the first worker took the job", WAIT, || async {
        marker.exists()
    })
    .await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let record = store.source(id).await.unwrap().unwrap();
    assert_eq!(record.state, SourceState::Processing);
    assert!(record.last_error.unwrap().starts_with("interrupted"));

    let mut second = child::spawn("amqp-worker", &env);
    wait_until("the second worker stored it", WAIT, || async {
        store.contribution(id).await.unwrap().is_some()
    })
    .await;
    // Give a duplicate, if there were one, the time to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    second.kill().unwrap();
    second.wait().unwrap();

    assert_eq!(store.contributions().await.unwrap().len(), 1);
    let record = store.source(id).await.unwrap().unwrap();
    assert_eq!(record.state, SourceState::Done);
    assert_eq!(record.attempts, 2);
    assert_eq!(record.last_error, None);
    let c = store.contribution(id).await.unwrap().unwrap();
    assert!(c
        .questions
        .contains(recueil_core::Question::new(3).unwrap()));
    assert_eq!(
        broker
            .ready(&broker.config.work_queue(Channel::Voicemail))
            .await,
        0
    );
    assert_eq!(broker.ready(&broker.config.dead_queue()).await, 0);
}

/// A message that kills every worker that takes it ends in the dead-letter
/// queue after the delivery limit, the reason on its source; the next
/// worker serves the other messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_message_is_dead_lettered_after_the_delivery_limit() {
    const LIMIT: u32 = 2;
    let broker = TestBroker::new(LIMIT);
    let db = TestDb::postgres().await;
    let store = Store::connect(&db.url).await.unwrap();
    let queue = Queue::amqp(&broker.url, broker.config.clone())
        .await
        .unwrap();
    let poison = ingest(&store, "ABORT").await;
    let good = ingest(&store, "un message ordinaire").await;
    relay_pending(&store, &queue).await.unwrap();
    let env = [
        ("RECUEIL_TEST_DB", db.url.clone()),
        ("RECUEIL_TEST_PREFIX", broker.config.prefix.clone()),
        ("RECUEIL_TEST_LIMIT", LIMIT.to_string()),
    ];
    let mut crashes = 0;
    loop {
        let mut child = child::spawn("amqp-worker", &env);
        match child::wait_exit(&mut child, Duration::from_secs(5)).await {
            Some(status) => {
                assert!(!status.success(), "only the poison message ends a worker");
                crashes += 1;
                assert!(
                    crashes <= LIMIT + 1,
                    "the delivery limit did not stop the loop"
                );
            }
            None => {
                // This worker lives: the poison message is out of the way.
                wait_until("the good message", WAIT, || async {
                    store.contribution(good).await.unwrap().is_some()
                })
                .await;
                child.kill().unwrap();
                child.wait().unwrap();
                break;
            }
        }
    }
    assert_eq!(crashes, LIMIT + 1, "first delivery + {LIMIT} redeliveries");
    wait_until("the poison message is dead-lettered", WAIT, || async {
        broker.ready(&broker.config.dead_queue()).await == 1
    })
    .await;
    let record = store.source(poison).await.unwrap().unwrap();
    assert_eq!(record.attempts, LIMIT + 1);
    assert!(record.last_error.unwrap().contains("did not finish"));
    assert!(store.contribution(poison).await.unwrap().is_none());
}

/// The same in the embedded mode: a run killed mid-job resumes at the next
/// run and stores the result once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_embedded_run_resumes_exactly_once() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let marker = dir.path().join("started");
    std::fs::write(
        inbox.join("lent.wav"),
        wav(&format!("SLOW-ONCE {}", marker.display())),
    )
    .unwrap();
    std::fs::write(inbox.join("court.wav"), wav("question 2 un message court")).unwrap();
    let env = [
        ("RECUEIL_TEST_DB", db.url.clone()),
        ("RECUEIL_TEST_INBOX", inbox.display().to_string()),
    ];
    let mut first = child::spawn("embedded", &env);
    wait_until("the job started", WAIT, || async { marker.exists() }).await;
    first.kill().unwrap();
    first.wait().unwrap();

    let mut second = child::spawn("embedded", &env);
    let status = child::wait_exit(&mut second, WAIT)
        .await
        .expect("second run ends");
    assert!(status.success());

    let store = Store::connect(&db.url).await.unwrap();
    let contributions = store.contributions().await.unwrap();
    assert_eq!(contributions.len(), 2);
    let sources = store.sources().await.unwrap();
    assert_eq!(sources.len(), 2, "the rerun ingested nothing twice");
    assert!(sources.iter().all(|r| r.state == SourceState::Done));
    let slow = sources
        .iter()
        .find(|r| r.source.original_name == "lent.wav")
        .unwrap();
    assert_eq!(slow.attempts, 2);
}
