//! The `recueil` binary as an operator uses it, on the embedded SQLite store.

use std::path::Path;
use std::process::{Command, Output};

const CALLER_KEY: &str = "test-secret-0123456789abcdef0123456789";

fn recueil(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recueil"))
        .args(args)
        .env("RECUEIL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("RECUEIL_CALLER_KEY", CALLER_KEY)
        .env("RECUEIL_LOG", "debug")
        .env_remove("RECUEIL_AMQP_URL")
        .env_remove("RECUEIL_CONFIG")
        .output()
        .expect("run recueil")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn intake_reports_duplicates_and_bad_files_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let good = dir.path().join("bonjour.wav");
    std::fs::write(&good, recueil_testkit::wav("bonjour")).unwrap();
    let empty = dir.path().join("vide.wav");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("absent.wav");

    let first = recueil(&db, &["ingest", "voicemail", good.to_str().unwrap()]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("1 ingested, 0 already there, 0 refused"));

    let second = recueil(
        &db,
        &[
            "ingest",
            "voicemail",
            good.to_str().unwrap(),
            empty.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
    );
    let out = text(&second);
    assert_eq!(second.status.code(), Some(2), "{out}");
    assert!(
        out.contains("bonjour.wav: already ingested, skipped"),
        "{out}"
    );
    assert!(out.contains("vide.wav: empty file (0 bytes)"), "{out}");
    assert!(out.contains("absent.wav: cannot read"), "{out}");
    assert!(
        out.contains("0 ingested, 1 already there, 2 refused"),
        "{out}"
    );

    let status = recueil(&db, &["status"]);
    assert!(status.status.success());
    let out = text(&status);
    assert!(out.contains("queue: in-process"), "{out}");
    assert!(out.contains("waiting in the outbox         1"), "{out}");
}

#[test]
fn caller_numbers_never_reach_the_database_or_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let inbox = dir.path().join("spool/default/800/INBOX");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("msg0000.wav"), recueil_testkit::wav("allo")).unwrap();
    std::fs::write(
        inbox.join("msg0000.txt"),
        "[message]\ncallerid=\"Jeanne Martin\" <0612345678>\norigtime=1650000000\nmsg_id=1650000000-1\n",
    )
    .unwrap();
    let file = dir.path().join("direct.wav");
    std::fs::write(&file, recueil_testkit::wav("un autre")).unwrap();

    let spool = dir.path().join("spool");
    let a = recueil(&db, &["ingest", "asterisk", spool.to_str().unwrap()]);
    assert!(a.status.success(), "{}", text(&a));
    let b = recueil(
        &db,
        &[
            "ingest",
            "voicemail",
            "--caller",
            "+33 6 12 34 56 78",
            file.to_str().unwrap(),
        ],
    );
    assert!(b.status.success(), "{}", text(&b));
    // Rerun from cron: nothing new.
    let c = recueil(&db, &["ingest", "asterisk", spool.to_str().unwrap()]);
    assert!(
        text(&c).contains("0 ingested, 1 already there"),
        "{}",
        text(&c)
    );

    let mut everything = std::fs::read(&db).unwrap();
    for suffix in ["-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", db.display())) {
            everything.extend(bytes);
        }
    }
    for o in [&a, &b, &c] {
        everything.extend(&o.stdout);
        everything.extend(&o.stderr);
    }
    let haystack = String::from_utf8_lossy(&everything);
    for needle in ["0612345678", "612345678", "12 34 56 78", "Jeanne", "Martin"] {
        assert!(!haystack.contains(needle), "{needle:?} leaked");
    }
    // Both messages carry the same keyed reference: one caller, two messages.
    let listing = recueil(&db, &["status"]);
    assert!(listing.status.success());
}

#[test]
fn a_caller_number_without_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.wav");
    std::fs::write(&file, recueil_testkit::wav("x")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_recueil"))
        .args(["ingest", "voicemail", "--caller", "0612345678"])
        .arg(&file)
        .env(
            "RECUEIL_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("r.db").display()),
        )
        .env_remove("RECUEIL_CALLER_KEY")
        .env_remove("RECUEIL_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("needs a caller key"), "{t}");
    assert!(!t.contains("0612345678"), "{t}");
}

#[test]
fn a_worker_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_recueil"))
        .args(["worker", "ballot"])
        .env(
            "RECUEIL_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("r.db").display()),
        )
        .env_remove("RECUEIL_AMQP_URL")
        .env_remove("RECUEIL_CONFIG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it serves, then ask it to stop as systemd or Kubernetes would.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0 {
        if line.contains("worker started") {
            break;
        }
        line.clear();
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn a_command_checks_only_the_settings_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_recueil"));
        c.args(args)
            .current_dir(dir.path())
            .env(
                "RECUEIL_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("r.db").display()),
            )
            .env("RECUEIL_MODELS_DIR", dir.path().join("models"))
            .env_remove("RECUEIL_AMQP_URL")
            .env_remove("RECUEIL_CONFIG")
            .env_remove("RECUEIL_SPEECH_THREADS");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // A short caller key concerns intake only.
    let short = [("RECUEIL_CALLER_KEY", "short")];
    let list = run(&["models", "list"], &short);
    assert!(list.status.success(), "{}", text(&list));
    assert!(text(&list).contains("model directory"), "{}", text(&list));
    let status = run(&["status"], &short);
    assert!(status.status.success(), "{}", text(&status));

    let file = dir.path().join("m.wav");
    std::fs::write(&file, recueil_testkit::wav("x")).unwrap();
    let ingest = run(&["ingest", "voicemail", file.to_str().unwrap()], &short);
    assert!(!ingest.status.success());
    let t = text(&ingest);
    assert!(t.contains("RECUEIL_CALLER_KEY"), "{t}");
    assert!(!t.contains("short"), "the secret is echoed: {t}");

    // A bad value names its key, from the environment or the file.
    let threads = run(
        &["transcribe", file.to_str().unwrap()],
        &[("RECUEIL_SPEECH_THREADS", "x")],
    );
    assert!(!threads.status.success());
    assert!(
        text(&threads).contains("RECUEIL_SPEECH_THREADS"),
        "{}",
        text(&threads)
    );
    std::fs::write(
        dir.path().join("recueil.toml"),
        "[speech]\nthreads = \"x\"\n",
    )
    .unwrap();
    let threads = run(&["transcribe", file.to_str().unwrap()], &[]);
    assert!(!threads.status.success());
    assert!(
        text(&threads).contains("speech.threads"),
        "{}",
        text(&threads)
    );
    std::fs::remove_file(dir.path().join("recueil.toml")).unwrap();

    // One duration syntax; a retention under a day is refused.
    let purge = run(&["purge", "--older-than", "6m", "--dry-run"], &[]);
    assert!(!purge.status.success());
    assert!(text(&purge).contains("less than a day"), "{}", text(&purge));
    let purge = run(&["purge", "--older-than", "90d", "--dry-run"], &[]);
    assert!(purge.status.success(), "{}", text(&purge));
}
