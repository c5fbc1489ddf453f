//! The newcomer's command, `recueil run fixtures/inbox`, with the real
//! engines: every sample gives the contribution written in
//! `fixtures/inbox-expected.tsv`, and a second run adds nothing.
//!
//! Needs the verified speech model (`recueil models fetch base`) and
//! tesseract with French data: `scripts/test.sh` provides both.

use std::process::Command;

fn run(db: &str) -> (bool, Vec<serde_json::Value>, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_recueil"))
        .args(["run", &format!("{root}/fixtures/inbox"), "--json"])
        .env("RECUEIL_DATABASE_URL", db)
        .env("RECUEIL_LOG", "warn")
        .env_remove("RECUEIL_AMQP_URL")
        .env_remove("RECUEIL_CONFIG")
        .output()
        .expect("run recueil");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_inbox_gives_the_expected_contributions_once() {
    let ok = recueil_models::verify(
        "base",
        &recueil_models::resolve_models_dir(
            std::env::var_os("RECUEIL_MODELS_DIR").map(Into::into),
            std::env::var_os("HOME").map(Into::into),
        ),
    )
    .is_ok();
    assert!(
        ok,
        "the speech model is missing: run `recueil models fetch base` (scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let (success, lines, stderr) = run(&db);
    assert!(success, "{stderr}");

    let expected = include_str!("../fixtures/inbox-expected.tsv");
    let mut count = 0;
    for row in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, page, statuses, questions) = (
            cols[0],
            cols[1],
            cols[2],
            cols.get(3).copied().unwrap_or(""),
        );
        let page: u64 = page.parse().unwrap();
        let found = lines
            .iter()
            .find(|l| l["file"] == file && l["page"] == page)
            .unwrap_or_else(|| panic!("no contribution for {file} page {page}\n{stderr}"));
        let status = found["status"].as_str().unwrap();
        assert!(
            statuses.split('|').any(|s| s == status),
            "{file} p{page}: status {status}, expected {statuses}; text {:?}",
            found["raw_text"]
        );
        if questions != "*" {
            let got: Vec<String> = found["questions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q.to_string())
                .collect();
            assert_eq!(got.join(","), questions, "{file} p{page}: questions");
        }
        assert!(found["raw_text"].as_str().is_some());
        count += 1;
    }
    assert_eq!(
        lines.len(),
        count,
        "no contribution beyond the expected ones"
    );

    // The handwritten page went to review with its free-text crop kept.
    let manuscript = lines
        .iter()
        .find(|l| l["file"] == "ballot-manuscrit.png")
        .unwrap();
    let crop = dir.path().join("crop.png");
    let shown = Command::new(env!("CARGO_BIN_EXE_recueil"))
        .args([
            "review",
            "show",
            manuscript["source_id"].as_str().unwrap(),
            "--crop",
        ])
        .arg(&crop)
        .env("RECUEIL_DATABASE_URL", &db)
        .env_remove("RECUEIL_CONFIG")
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(std::fs::read(&crop).unwrap().starts_with(b"\x89PNG"));

    // A second run over the same inbox: everything already there.
    let (success, again, stderr) = run(&db);
    assert!(success, "{stderr}");
    assert_eq!(again.len(), count);
}

/// A voicemail with caller id, processed for real and exported: the number
/// is nowhere in the database, the logs (at debug level) or the exports.
#[test]
fn the_caller_number_is_nowhere_after_processing() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("r.db");
    let db = format!("sqlite://{}", db_path.display());
    let inbox = dir.path().join("spool/default/800/INBOX");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(
        format!("{root}/fixtures/inbox/voicemail-q3-accueil-soir.wav"),
        inbox.join("msg0000.wav"),
    )
    .unwrap();
    std::fs::write(
        inbox.join("msg0000.txt"),
        "[message]\ncallerid=\"Jeanne Martin\" <+33612345678>\norigtime=1650000000\nmsg_id=1650000000-1\n",
    )
    .unwrap();
    let empty_inbox = dir.path().join("nothing-else");
    std::fs::create_dir(&empty_inbox).unwrap();

    let recueil = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_recueil"))
            .args(args)
            .env("RECUEIL_DATABASE_URL", &db)
            .env("RECUEIL_CALLER_KEY", "a-test-secret-of-at-least-32-bytes!!")
            .env("RECUEIL_LOG", "debug")
            .env_remove("RECUEIL_AMQP_URL")
            .env_remove("RECUEIL_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let mut seen = Vec::new();
    for args in [
        vec![
            "ingest",
            "asterisk",
            dir.path().join("spool").to_str().unwrap(),
        ],
        vec!["run", empty_inbox.to_str().unwrap(), "--json"],
        vec!["export", "--format", "jsonl", "--status", "published"],
        vec!["export", "--format", "csv", "--status", "needs_review"],
        vec!["export", "--format", "counts"],
    ] {
        let out = recueil(&args);
        seen.extend(out.stdout);
        seen.extend(out.stderr);
    }
    let processed = String::from_utf8_lossy(&seen).contains("contribution stored");
    assert!(processed, "the voicemail was processed");
    seen.extend(std::fs::read(&db_path).unwrap());
    for suffix in ["-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", db_path.display())) {
            seen.extend(bytes);
        }
    }
    let haystack = String::from_utf8_lossy(&seen);
    for needle in ["612345678", "+33612345678", "Jeanne", "Martin"] {
        assert!(!haystack.contains(needle), "{needle:?} leaked");
    }
}
