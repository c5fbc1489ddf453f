//! The web console in a real Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/install-deps.sh --services`),
//! driven over WebDriver, against the console served on a real socket
//! (the same `recueil_console::serve` as `recueil serve`) on an SQLite file.
//!
//! A reviewer logs in and works with the keyboard only: corrects a
//! handwritten ballot, toggles a question and approves it; plays, corrects
//! and approves a voicemail; rejects a page that is not a form. The test
//! counts the keys pressed and the seconds spent per item and prints them;
//! screenshots of each step are kept in `target/console-screenshots/`.

use chrono::Utc;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use recueil_console::{auth::hash_password, AppState, ConsoleConfig};
use recueil_core::{
    Channel, Contribution, EngineInfo, Evidence, EvidenceKind, Question, QuestionSet, Segment,
    Source, SourceId, Status, Word,
};
use recueil_store::Store;
use recueil_testkit::browser::{fill_login, submit_login, text_of, wait_url, Browser, Shots};
use std::path::Path;
use std::time::{Duration, Instant};

const PASSWORD: &str = "relecture-2022-nantes";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/inbox")
            .join(name),
    )
    .expect("fixture")
}

/// A source and the contribution a worker would have stored for it, in
/// review (the engines are not what this test is about).
async fn seed(
    store: &Store,
    channel: Channel,
    name: &str,
    media_type: &str,
    raw: &str,
    tick: Option<u8>,
) -> SourceId {
    let bytes = fixture(name);
    let urn = (channel == Channel::Ballot).then(|| "mq-doulon".parse().unwrap());
    let source = Source {
        id: SourceId::new(),
        channel,
        sha256: recueil_core::sha256_hex(&bytes),
        media_type: media_type.into(),
        size: bytes.len() as u64,
        original_name: name.into(),
        received_at: Utc::now(),
        caller_ref: None,
        urn: urn.clone(),
        batch: urn.as_ref().map(|_| "2022-03-14".into()),
        page: 0,
    };
    store.ingest(&source, &bytes).await.unwrap();
    store.begin_attempt(source.id, 1).await.unwrap();
    let redacted = recueil_privacy::redact(raw);
    let mut questions = QuestionSet::empty();
    let mut evidence = Vec::new();
    if let Some(n) = tick {
        let q = Question::new(n).unwrap();
        questions.insert(q);
        evidence.push(Evidence {
            question: q,
            kind: EvidenceKind::Checkbox,
            cue: format!("case {n}"),
        });
    }
    store
        .record_contribution(&Contribution {
            source_id: source.id,
            channel,
            questions,
            evidence,
            text: redacted.text,
            raw_text: raw.into(),
            language: Some("fr".into()),
            confidence: 0.42,
            status: Status::NeedsReview,
            received_at: source.received_at,
            processed_at: Utc::now(),
            urn,
            engine: EngineInfo {
                name: "test".into(),
                version: "1".into(),
            },
            late: false,
            redactions: redacted.redactions.clone(),
            // A voicemail's timed segments, as whisper gives them: the
            // second one unsure, with its words and one unsure word (the
            // first segment as stored before words were kept).
            segments: if channel == Channel::Voicemail {
                let second = "un acceuil le soir pour les personnes seules";
                vec![
                    Segment {
                        start_s: 0.0,
                        end_s: 2.0,
                        text: "bonjour je voudrais proposer".into(),
                        confidence: 0.9,
                        words: Vec::new(),
                    },
                    Segment {
                        start_s: 2.0,
                        end_s: 5.0,
                        text: second.into(),
                        confidence: 0.4,
                        words: second
                            .split(' ')
                            .map(|w| Word {
                                text: w.into(),
                                probability: if w == "acceuil" { 0.2 } else { 0.9 },
                            })
                            .collect(),
                    },
                ]
            } else {
                Vec::new()
            },
            lines: Vec::new(),
            review_image: (channel == Channel::Ballot).then(|| bytes.clone()),
        })
        .await
        .unwrap();
    source.id
}

/// Keys typed, counted like a person's keystrokes (a chord is one).
struct Keyboard {
    count: usize,
}

impl Keyboard {
    async fn press(&mut self, c: &Client, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".into());
        for &k in keys {
            actions = actions
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        c.perform_actions(actions).await.expect("keys");
        self.count += keys.len();
    }

    async fn type_text(&mut self, c: &Client, text: &str) {
        let keys: Vec<char> = text.chars().collect();
        self.press(c, &keys).await;
    }

    async fn chord(&mut self, c: &Client, modifier: Key, key: char) {
        let m: char = modifier.into();
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: m })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up { value: m });
        c.perform_actions(actions).await.expect("chord");
        self.count += 1;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reviewer_works_through_the_queue_with_the_keyboard_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("recueil.db").display());
    let mut shots = Shots::new(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")), "");

    let store = Store::connect(&db).await.unwrap();
    store
        .put_user("alice", "reviewer", &hash_password(PASSWORD).unwrap())
        .await
        .unwrap();
    let ballot = seed(
        &store,
        Channel::Ballot,
        "ballot-manuscrit.png",
        "image/png",
        "Il faudrait plus de bancs dans le quartier",
        Some(1),
    )
    .await;
    let voicemail = seed(
        &store,
        Channel::Voicemail,
        "voicemail-q3-accueil-soir.wav",
        "audio/wav",
        "bonjour je voudrais proposer un acceuil le soir pour les personnes seules",
        None,
    )
    .await;
    let not_a_form = seed(
        &store,
        Channel::Ballot,
        "ballot-pas-un-formulaire.jpg",
        "image/jpeg",
        "FACTURE N 2231",
        None,
    )
    .await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = AppState::new(store.clone(), ConsoleConfig::default());
    tokio::spawn(recueil_console::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let browser = Browser::start().await;
    let c = &browser.client;
    let base = format!("http://127.0.0.1:{port}");

    // Anonymous: the queue sends to the login form.
    c.goto(&format!("{base}/revue")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    fill_login(c, "alice", PASSWORD).await;
    shots.take(c, "connexion").await;
    submit_login(c).await;
    let queue_url = format!("{base}/revue");
    wait_url(c, "the queue", |u| u == queue_url).await;
    assert!(text_of(c, "table.queue caption")
        .await
        .starts_with("3 contribution"));
    shots.take(c, "file").await;

    // The ballot: the oldest item, opened from the queue.
    c.find(Locator::Css("table.queue tbody tr:first-child a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let item_url = format!("{base}/revue/{ballot}");
    wait_url(c, "the ballot", |u| u == item_url).await;
    let start = Instant::now();
    let mut keys = Keyboard { count: 0 };
    // The crop has loaded beside the text.
    let loaded = c
        .execute(
            "const i = document.querySelector('img.crop'); return i.complete && i.naturalWidth > 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, serde_json::json!(true));
    shots.take(c, "bulletin").await;
    keys.press(c, &['e']).await;
    keys.type_text(c, " publics").await;
    keys.press(c, &[Key::Escape.into()]).await;
    keys.press(c, &['3']).await;
    shots.take(c, "bulletin-corrige").await;
    keys.press(c, &['a']).await;
    let next = format!("{base}/revue/{voicemail}");
    let url = wait_url(c, "the voicemail", |u| u.starts_with(&next)).await;
    let ballot_s = start.elapsed().as_secs_f64();
    let ballot_keys = keys.count;
    assert!(
        url.starts_with(&format!("{base}/revue/{voicemail}")),
        "{url}"
    );
    let c1 = store.contribution(ballot).await.unwrap().unwrap();
    assert_eq!(c1.status, Status::Published);
    assert_eq!(
        c1.text,
        "Il faudrait plus de bancs dans le quartier publics"
    );
    assert_eq!(c1.questions.to_string(), "1,3");

    // The voicemail: listen, correct the spelling, approve.
    let start = Instant::now();
    let mut keys = Keyboard { count: 0 };
    assert!(text_of(c, "p.notice").await.contains("approuvée"));
    keys.press(c, &['p']).await;
    let t0 = Instant::now();
    let played = loop {
        let t = c
            .execute(
                "return document.getElementById('player').currentTime;",
                vec![],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap_or(0.0);
        if t > 0.2 || t0.elapsed() > Duration::from_secs(10) {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(played > 0.2, "the recording did not play ({played} s)");
    // The unsure segment is marked; clicking it seeks the recording there.
    let unsure = c
        .find(fantoccini::Locator::Css("button.segment.low"))
        .await
        .expect("the low-confidence segment is marked");
    assert!(unsure.text().await.unwrap().contains("acceuil"));
    // Within it, the one word whisper was unsure of, and only that one.
    let mut unsure_words = Vec::new();
    for w in c
        .find_all(fantoccini::Locator::Css("button.segment span.unsure"))
        .await
        .unwrap()
    {
        unsure_words.push(w.text().await.unwrap());
    }
    assert_eq!(unsure_words, ["acceuil"]);
    unsure.click().await.unwrap();
    let at = c
        .execute(
            "return document.getElementById('player').currentTime;",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        at >= 2.0,
        "clicking the segment at 0:02 left the audio at {at} s"
    );
    // Seeking back needs the range requests the server answers.
    keys.press(c, &[Key::Left.into()]).await;
    keys.press(c, &['p']).await;
    shots.take(c, "message-vocal").await;
    keys.press(c, &['e']).await;
    keys.chord(c, Key::Control, 'a').await;
    keys.type_text(
        c,
        "bonjour je voudrais proposer un accueil le soir pour les personnes seules",
    )
    .await;
    keys.press(c, &[Key::Escape.into(), '3']).await;
    keys.press(c, &['a']).await;
    let next = format!("{base}/revue/{not_a_form}");
    let url = wait_url(c, "the third item", |u| u.starts_with(&next)).await;
    let voicemail_s = start.elapsed().as_secs_f64();
    let voicemail_keys = keys.count;
    assert!(
        url.starts_with(&format!("{base}/revue/{not_a_form}")),
        "{url}"
    );
    let c2 = store.contribution(voicemail).await.unwrap().unwrap();
    assert_eq!(c2.status, Status::Published);
    assert!(c2.text.contains("un accueil le soir"));
    assert_eq!(c2.questions.to_string(), "3");

    // Not a form: reject it as such (the first reason), with r then Enter.
    let start = Instant::now();
    let mut keys = Keyboard { count: 0 };
    shots.take(c, "pas-un-formulaire").await;
    keys.press(c, &['r', Key::Enter.into()]).await;
    let done = format!("{base}/revue?fait=rejete");
    wait_url(c, "the empty queue", |u| u == done).await;
    let reject_s = start.elapsed().as_secs_f64();
    shots.take(c, "file-vide").await;
    let c3 = store.contribution(not_a_form).await.unwrap().unwrap();
    assert_eq!(c3.status, Status::Rejected);
    for id in [ballot, voicemail, not_a_form] {
        let audit = store.audit(id).await.unwrap();
        assert!(!audit.is_empty() && audit.iter().all(|a| a.actor == "alice"));
    }

    println!("review timing (keyboard only, headless Chromium):");
    println!("  ballot     {ballot_keys:>3} keys  {ballot_s:>5.2} s  (e, 8 characters, Esc, 3, a)");
    println!("  voicemail  {voicemail_keys:>3} keys  {voicemail_s:>5.2} s  (p, ←, p, e, Ctrl+A, retyped text, Esc, 3, a)");
    println!(
        "  rejection  {:>3} keys  {reject_s:>5.2} s  (r, Enter)",
        keys.count
    );
    c.clone().close().await.unwrap();
}
