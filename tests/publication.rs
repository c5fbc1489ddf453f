//! Publication rules on both backends: masking, review with audit,
//! retention, and no resurrection through a redelivered message.

use chrono::Utc;
use recueil_core::{Channel, Job, Question, QuestionSet, Status};
use recueil_pipeline::intake::{new_source, Arrival};
use recueil_pipeline::relay::relay_pending;
use recueil_pipeline::worker::{self, WorkerSettings};
use recueil_pipeline::Shutdown;
use recueil_queue::{Queue, QueueConfig};
use recueil_store::{Filter, Intake, Rejection, ReviewChange, ReviewError, Store};
use recueil_testkit::{voicemail_process, wait_until, wav, TestDb};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn start_worker(
    store: &Store,
    queue: &Queue,
) -> (
    Shutdown,
    tokio::task::JoinHandle<Result<(), recueil_queue::QueueError>>,
) {
    let shutdown = Shutdown::new();
    let task = tokio::spawn(worker::run(
        store.clone(),
        queue.clone(),
        voicemail_process(),
        WorkerSettings::default(),
        shutdown.clone(),
    ));
    (shutdown, task)
}

async fn process_all(store: &Store, queue: &Queue, n: u64) {
    relay_pending(store, queue).await.unwrap();
    let (shutdown, task) = start_worker(store, queue);
    wait_until("processed", WAIT, || async {
        store.counts().await.unwrap().done == n
    })
    .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

async fn ingest(store: &Store, text: &str) -> recueil_core::SourceId {
    let bytes = wav(text);
    let mut arrival = Arrival::new(Channel::Voicemail);
    arrival.received_at = Some(Utc::now() - chrono::Duration::days(200));
    let source = new_source("m.wav", &bytes, &arrival);
    let Intake::Accepted(id) = store.ingest(&source, &bytes).await.unwrap() else {
        panic!("duplicate");
    };
    id
}

async fn rules(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let queue = Queue::memory(QueueConfig::default());
    let personal = ingest(
        &store,
        "je m'appelle Jeanne Martin rappelez-moi au 06 12 34 56 78 pour la question 2",
    )
    .await;
    let other = ingest(&store, "il faudrait plus de bancs question 3").await;
    process_all(&store, &queue, 2).await;

    // Masked for publication, kept for staff, each mask recorded.
    let c = store.contribution(personal).await.unwrap().unwrap();
    assert_eq!(
        c.text,
        "je m'appelle [nom] rappelez-moi au [téléphone] pour la question 2"
    );
    assert!(c.raw_text.contains("06 12 34 56 78"));
    let kinds: Vec<&str> = c.redactions.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["name", "phone"]);
    assert!(
        c.late,
        "received after the closing time: kept, flagged late"
    );

    // Review: edit the questions, then reject; each step audited.
    let edited = store
        .review(
            personal,
            "agent-1",
            ReviewChange::Edit {
                text: None,
                questions: Some(QuestionSet::parse_list("1,2").unwrap()),
            },
        )
        .await
        .unwrap();
    assert!(edited.questions.contains(Question::new(1).unwrap()));
    let rejected = store
        .review(
            personal,
            "agent-2",
            ReviewChange::Reject(Rejection::Duplicate),
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, Status::Rejected);
    let audit = store.audit(personal).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].action.as_str()),
        ("agent-1", "edit")
    );
    assert_eq!(audit[1].after["reason"], "duplicate");
    assert!(matches!(
        store
            .review(
                personal,
                "x",
                ReviewChange::Edit {
                    text: Some(recueil_pipeline::edited_text("t")),
                    questions: None
                }
            )
            .await,
        Err(ReviewError::NotAllowed { .. })
    ));
    // A reviewer's text is masked again.
    let fixed = store
        .review(
            other,
            "agent-1",
            ReviewChange::Edit {
                text: Some(recueil_pipeline::edited_text(
                    "appelez le 07 11 22 33 44 il faudrait des bancs",
                )),
                questions: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(fixed.text, "appelez le [téléphone] il faudrait des bancs");
    // ... and its masks are stored with it, over the reviewer's own text,
    // which the audit trail keeps beside the machine's reading.
    let stored = store.contribution(other).await.unwrap().unwrap();
    assert_eq!(stored.text, fixed.text);
    assert_eq!(
        stored.raw_text,
        "appelez le 07 11 22 33 44 il faudrait des bancs"
    );
    assert_eq!(stored.redactions.len(), 1, "{:?}", stored.redactions);
    let m = &stored.redactions[0];
    let masked: String = stored
        .raw_text
        .chars()
        .skip(m.start)
        .take(m.end - m.start)
        .collect();
    assert_eq!(masked, "07 11 22 33 44");
    let trail = store.audit(other).await.unwrap();
    assert_eq!(
        trail.last().unwrap().before["raw_text"],
        "il faudrait plus de bancs question 3"
    );

    // Retention: originals of old published/rejected contributions go,
    // text and audit stay.
    let dry = store.purge(Utc::now(), true).await.unwrap();
    assert_eq!(dry.originals, 2);
    let sha = store.source(personal).await.unwrap().unwrap().source.sha256;
    assert!(store.original(&sha).await.unwrap().is_some(), "dry run");
    store.purge(Utc::now(), false).await.unwrap();
    assert!(store.original(&sha).await.unwrap().is_none());
    assert_eq!(
        store.contribution(personal).await.unwrap().unwrap().status,
        Status::Rejected
    );

    // Redelivered messages resurrect nothing.
    for id in [personal, other] {
        queue
            .publish(&Job::new(id, Channel::Voicemail))
            .await
            .unwrap();
    }
    let (shutdown, task) = start_worker(&store, &queue);
    let Queue::Memory(m) = &queue else {
        unreachable!()
    };
    wait_until("redeliveries consumed", WAIT, || async {
        m.pending(Channel::Voicemail) == 0
    })
    .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let after = store.contribution(personal).await.unwrap().unwrap();
    assert_eq!(after.status, Status::Rejected);
    assert_eq!(store.contributions().await.unwrap().len(), 2);
    assert!(m.dead().is_empty());

    // Export selects by status.
    let published = store
        .select(&Filter {
            status: Some(Status::Published),
            since: None,
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].source_id, other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publication_rules_sqlite() {
    rules(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publication_rules_postgres() {
    rules(TestDb::postgres().await).await;
}
