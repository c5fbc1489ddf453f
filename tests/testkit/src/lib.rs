//! Test doubles and real-service fixtures for recueil's tests.
//!
//! Only tests depend on this crate. The doubles are scripted by the bytes of
//! a test "recording": `wav("FAIL-TRANSIENT")` makes the transcriber fail
//! transiently, and so on, so one worker can be handed good and bad jobs.

pub mod browser;
pub mod child;
pub mod raw_lapin;

use recueil_core::engine::{Classification, Classifier, Media, Segment, Transcriber, Transcript};
use recueil_core::{EngineInfo, Evidence, EvidenceKind, Failure, Question, QuestionSet};
use recueil_pipeline::{Policy, Process};
use recueil_queue::QueueConfig;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Writes a test's figures to standard error past the test harness's
/// capture (which swallows `println!` of a passing test), so that CI's log
/// shows them: the fault suite's counts, the hostile corpus's time and
/// memory.
pub fn report_line(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// `format!` then [`report_line`].
#[macro_export]
macro_rules! report {
    ($($arg:tt)*) => {
        $crate::report_line(&format!($($arg)*))
    };
}

/// A tiny file that sniffs as WAV and carries `script` for the doubles.
pub fn wav(script: &str) -> Vec<u8> {
    let mut bytes = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    bytes.extend_from_slice(script.as_bytes());
    bytes
}

/// [`wav`] padded with NUL bytes to `size` bytes: a recording's weight on
/// disk, with the same script (which ends at the first NUL).
pub fn wav_padded(script: &str, size: usize) -> Vec<u8> {
    let mut bytes = wav(script);
    assert!(!script.contains('\0'), "a script has no NUL byte");
    bytes.resize(size.max(bytes.len()), 0);
    bytes
}

fn script(media: &Media<'_>) -> String {
    let rest = media.bytes.get(16..).unwrap_or_default();
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

/// A transcriber that "hears" the script. Scripts:
/// `FAIL-TRANSIENT`, `FAIL-PERMANENT`, `PANIC`, `ABORT` (kills the process),
/// `SLOW <seconds> <marker-path>` (writes the marker, then sleeps),
/// `SLOW-ONCE <marker-path>` (the first time: writes the marker and sleeps
/// a minute, to be killed; when the marker exists: a transcript),
/// `SILENCE`, `LANG <code> <text>` (heard in that language); anything
/// else is the transcript, heard as one segment over
/// the recording's one second.
pub struct ScriptedTranscriber;

impl Transcriber for ScriptedTranscriber {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: "scripted".into(),
            version: "test".into(),
        }
    }

    fn transcribe(&self, media: Media<'_>) -> Result<Transcript, Failure> {
        let script = script(&media);
        // As whisper does: an engine's own log line, which must carry the
        // job's span (the source id) although it is written on a blocking
        // thread.
        tracing::debug!(bytes = media.bytes.len(), "scripted transcriber: decoding");
        let mut transcript = Transcript {
            text: script.clone(),
            language: "fr".into(),
            duration_s: 1.0,
            speech_s: 1.0,
            confidence: 0.9,
            no_speech: false,
            segments: Vec::new(),
        };
        match script.as_str() {
            "FAIL-TRANSIENT" => return Err(Failure::transient("engine busy")),
            "FAIL-PERMANENT" => {
                return Err(Failure::permanent(format!("{}: not audio", media.name)))
            }
            "PANIC" => panic!("scripted panic"),
            "ABORT" => std::process::abort(),
            "SILENCE" => {
                transcript.text.clear();
                transcript.no_speech = true;
            }
            s if s.starts_with("SLOW ") => {
                let (secs, marker) = s[5..].split_once(' ').expect("SLOW <s> <marker>");
                std::fs::write(marker, b"started").expect("marker");
                std::thread::sleep(Duration::from_secs_f64(secs.parse().expect("seconds")));
            }
            s if s.starts_with("LANG ") => {
                let (code, text) = s[5..].split_once(' ').expect("LANG <code> <text>");
                transcript.language = code.into();
                transcript.text = text.into();
            }
            s if s.starts_with("SLOW-ONCE ") => {
                let marker = &s[10..];
                if !std::path::Path::new(marker).exists() {
                    std::fs::write(marker, b"started").expect("marker");
                    std::thread::sleep(Duration::from_secs(60));
                }
                transcript.text = "message after a crash, question 3".into();
            }
            _ => {}
        }
        if !transcript.text.is_empty() {
            transcript.segments.push(Segment {
                start_s: 0.0,
                end_s: transcript.duration_s,
                text: transcript.text.clone(),
                confidence: transcript.confidence,
                words: Vec::new(),
            });
        }
        Ok(transcript)
    }
}

/// Files under the questions named as "question N"; question 1 otherwise.
pub struct KeywordClassifier;

impl Classifier for KeywordClassifier {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: "keyword".into(),
            version: "test".into(),
        }
    }

    fn classify(&self, text: &str, ticked: QuestionSet) -> Classification {
        let mut questions = ticked;
        let mut evidence = Vec::new();
        for q in Question::ALL {
            if text.contains(&format!("question {q}")) {
                questions.insert(q);
                evidence.push(Evidence {
                    question: q,
                    kind: EvidenceKind::Explicit,
                    cue: format!("question {q}"),
                });
            }
        }
        if questions.is_empty() {
            questions.insert(Question::new(1).expect("1"));
        }
        Classification {
            questions,
            evidence,
            needs_review: false,
        }
    }
}

/// The real voicemail worker over the doubles.
pub fn voicemail_process() -> Arc<dyn Process> {
    Arc::new(recueil_voicemail::VoicemailWorker::new(
        Arc::new(ScriptedTranscriber),
        Arc::new(KeywordClassifier),
        Policy::default(),
    ))
}

/// A fresh database: an SQLite file in a temporary folder, or a new
/// PostgreSQL database dropped when this value is.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// The server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("RECUEIL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn amqp_url() -> String {
    std::env::var("RECUEIL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDb {
            url: format!("sqlite://{}", dir.path().join("recueil.db").display()),
            _dir: Some(dir),
            pg_name: None,
        }
    }

    pub async fn postgres() -> TestDb {
        use sqlx::Connection;
        let name = format!("recueil_t_{}", uuid::Uuid::new_v4().simple());
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL must be running for this test (see README)");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').expect("URL has a database").0;
        TestDb {
            url: format!("{base}/{name}"),
            _dir: None,
            pg_name: Some(name),
        }
    }

    /// Both backends, for tests that must hold on each.
    pub async fn both() -> [TestDb; 2] {
        [TestDb::sqlite(), TestDb::postgres().await]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee: use a thread of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Queue names of one test on the shared RabbitMQ, deleted afterwards.
pub struct TestBroker {
    pub url: String,
    pub config: QueueConfig,
}

impl TestBroker {
    pub fn new(delivery_limit: u32) -> TestBroker {
        TestBroker {
            url: amqp_url(),
            config: QueueConfig {
                prefix: format!("t{}", uuid::Uuid::new_v4().simple()),
                delivery_limit,
                retry_delay: Duration::from_millis(200),
                prefetch: 1,
            },
        }
    }

    /// Messages ready in `queue`.
    pub async fn ready(&self, queue: &str) -> u64 {
        let q = recueil_queue::Queue::amqp(&self.url, self.config.clone())
            .await
            .expect("broker");
        q.depths()
            .await
            .expect("depths")
            .into_iter()
            .find(|d| d.queue == queue)
            .map_or(0, |d| d.ready)
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let url = self.url.clone();
        let config = self.config.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let _ = recueil_queue::amqp::delete_topology(&url, &config).await;
            });
        })
        .join();
    }
}

/// Polls `check` until it holds or `timeout` passes; panics with `what`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < timeout, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP relay in front of RabbitMQ that a test can cut and restore, to
/// play a broker outage without stopping the shared broker.
pub struct TcpProxy {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TcpProxy {
    pub async fn start(target: &str) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut proxy = TcpProxy {
            port,
            target: target.to_owned(),
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker URL through this proxy.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Refuses new connections and cuts the open ones.
    pub fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Accepts connections again on the same port.
    pub async fn restore(&mut self) {
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.serve(listener);
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recueil_core::{Channel, MaskKind, Source, SourceId, Status};

    fn source(bytes: &[u8]) -> Source {
        Source {
            id: SourceId::new(),
            channel: Channel::Voicemail,
            sha256: recueil_core::sha256_hex(bytes),
            media_type: "audio/x-wav".into(),
            size: bytes.len() as u64,
            original_name: "msg0001.wav".into(),
            received_at: chrono::Utc::now(),
            caller_ref: None,
            urn: None,
            batch: None,
            page: 0,
        }
    }

    #[test]
    fn the_voicemail_worker_keeps_the_timed_segments_and_the_masks() {
        let bytes = wav("question 2 rappelez-moi au 06 12 34 56 78");
        let c = voicemail_process()
            .process(&source(&bytes), &bytes)
            .expect("processed");
        assert_eq!(c.status, Status::Published);
        assert_eq!(c.segments.len(), 1);
        assert_eq!(c.segments[0].text, c.raw_text);
        assert_eq!((c.segments[0].start_s, c.segments[0].end_s), (0.0, 1.0));
        assert_eq!(c.redactions.len(), 1);
        assert_eq!(c.redactions[0].kind, MaskKind::Phone);
        assert!(c.text.ends_with("[téléphone]"), "{}", c.text);
    }

    #[test]
    fn a_message_in_another_language_goes_to_a_person_labelled_with_it() {
        let bytes = wav("LANG en I would like the neighbours to visit, question 2");
        let c = voicemail_process()
            .process(&source(&bytes), &bytes)
            .expect("processed");
        assert_eq!(c.status, Status::NeedsReview, "never published unread");
        assert_eq!(c.language.as_deref(), Some("en"));
        assert_eq!(
            c.raw_text,
            "I would like the neighbours to visit, question 2"
        );
        // The same words in French are published.
        let bytes = wav("LANG fr je voudrais des visites, question 2");
        let c = voicemail_process()
            .process(&source(&bytes), &bytes)
            .expect("processed");
        assert_eq!(c.status, Status::Published);
    }

    #[test]
    fn silence_leaves_no_segment() {
        let bytes = wav("SILENCE");
        let c = voicemail_process()
            .process(&source(&bytes), &bytes)
            .expect("processed");
        assert_eq!(c.status, Status::Empty);
        assert!(c.segments.is_empty());
    }
}
