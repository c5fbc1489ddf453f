//! The hostile corpus (`fixtures/hostile/`, its table in `expected.tsv`
//! and `README.md`) through `recueil run` with the real engines: each file
//! ends as its row says (skipped at intake or failed in a worker, with a
//! message naming it), within a bounded time and memory, and the good
//! recording put in with them is still transcribed: no hostile file stops
//! the run or the worker.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A run over the whole corpus stays well under this: every file is
/// refused by its header or its first bytes, never decoded whole.
const MAX_RUN: Duration = Duration::from_secs(120);
/// Peak memory of the run (whisper base and tesseract loaded: ~300 MB);
/// an image bomb or a 4 GiB header decoded would be gigabytes.
const MAX_RSS_MB: u64 = 900;

struct Row {
    file: String,
    outcome: String,
    says: String,
}

fn table(dir: &Path) -> Vec<Row> {
    std::fs::read_to_string(dir.join("expected.tsv"))
        .expect("fixtures/hostile/expected.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() >= 3, "expected.tsv: file, outcome, says: {l:?}");
            Row {
                file: cols[0].to_owned(),
                outcome: cols[1].to_owned(),
                says: cols[2].to_owned(),
            }
        })
        .collect()
}

/// Peak resident memory of this process's waited-for children, in MB.
fn children_peak_rss_mb() -> u64 {
    // SAFETY: getrusage writes into the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    usage.ru_maxrss as u64 / 1024
}

#[test]
fn every_hostile_file_ends_as_its_table_says_and_the_run_goes_on() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("fixtures/hostile");
    let rows = table(&corpus);
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    for row in &rows {
        std::fs::copy(corpus.join(&row.file), inbox.join(&row.file)).unwrap();
    }
    // Names no repository should hold: a newline, and 250 bytes.
    let truncated = std::fs::read(corpus.join("truncated.wav")).unwrap();
    let odd_names = [
        "ligne\nnouvelle.wav".to_owned(),
        format!("{}.wav", "n".repeat(246)),
    ];
    // Each carries the truncated WAV with one byte more (the same bytes
    // would be one source, stored under the first name).
    for (n, name) in odd_names.iter().enumerate() {
        let mut bytes = truncated.clone();
        bytes.push(n as u8);
        std::fs::write(inbox.join(name), bytes).unwrap();
    }
    // The good message in their midst.
    std::fs::copy(
        root.join("fixtures/inbox/voicemail-q3-accueil-soir.wav"),
        inbox.join("m-bon-message.wav"),
    )
    .unwrap();

    let db = format!("sqlite://{}", dir.path().join("recueil.db").display());
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_recueil"))
        .arg("run")
        .arg(&inbox)
        .arg("--json")
        .env("RECUEIL_DATABASE_URL", &db)
        .env("RECUEIL_LOG", "error")
        .env_remove("RECUEIL_AMQP_URL")
        .env_remove("RECUEIL_CONFIG")
        .output()
        .expect("recueil run");
    let took = started.elapsed();
    let rss = children_peak_rss_mb();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the run ends normally: {stderr}");

    let contributions: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let mut wrong = Vec::new();
    for row in &rows {
        let found = match row.outcome.as_str() {
            "skipped" => stderr.lines().any(|l| {
                l.starts_with("skipped ") && l.contains(&row.file) && l.contains(&row.says)
            }),
            "failed" => stderr
                .lines()
                .any(|l| l.starts_with(&format!("failed {}: ", row.file)) && l.contains(&row.says)),
            status => contributions
                .iter()
                .any(|c| c["file"] == row.file.as_str() && c["status"] == status),
        };
        if !found {
            wrong.push(format!(
                "{} should be {} ({})",
                row.file, row.outcome, row.says
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{wrong:#?}\nstderr:\n{stderr}\nstdout:\n{stdout}"
    );
    for name in &odd_names {
        // The newline is part of the name: escaped, the report keeps one
        // line per file whatever the name holds.
        let shown = name.replace('\n', "\\n");
        let prefix = format!("failed {shown}: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains("truncated WAV")),
            "{name:?} reported on one line: {stderr}"
        );
    }
    let good = contributions
        .iter()
        .find(|c| c["file"] == "m-bon-message.wav")
        .unwrap_or_else(|| panic!("the good message is transcribed: {stderr}"));
    assert!(!good["raw_text"].as_str().unwrap_or_default().is_empty());
    recueil_testkit::report!(
        "hostile corpus: {} files as their table says, {} odd names, the good message \
         transcribed; run {:.1} s, peak RSS {rss} MB",
        rows.len(),
        odd_names.len(),
        took.as_secs_f64()
    );
    assert!(took < MAX_RUN, "{took:?}");
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
}
