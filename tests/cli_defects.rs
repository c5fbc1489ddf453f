//! Defects found when the landed code was read (issue 10), and the scan
//! folder watch (issue 11), as an operator meets them on the command line.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CALLER_KEY: &str = "test-secret-0123456789abcdef0123456789";

fn command(db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_recueil"));
    c.args(args)
        .env("RECUEIL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("RECUEIL_CALLER_KEY", CALLER_KEY)
        .env_remove("RECUEIL_LOG")
        .env_remove("RECUEIL_AMQP_URL")
        .env_remove("RECUEIL_CONFIG");
    c
}

fn recueil(db: &Path, args: &[&str]) -> Output {
    command(db, args).output().expect("run recueil")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn replay_without_ids_nor_failed_is_an_argument_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let out = recueil(&db, &["replay"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the following required arguments were not provided"),
        "{err}"
    );
    assert!(err.contains("--failed") && err.contains("IDS"), "{err}");
    assert!(!text(&out).contains("0 of 0"), "{}", text(&out));

    // Both at once is refused too; each alone still works.
    let both = recueil(
        &db,
        &["replay", "--failed", "0190d5a8-0000-7000-8000-000000000000"],
    );
    assert_eq!(both.status.code(), Some(2), "{}", text(&both));
    let failed = recueil(&db, &["replay", "--failed"]);
    assert!(failed.status.success(), "{}", text(&failed));
    assert!(text(&failed).contains("0 of 0 sources requeued"));

    // The stalled sources' rescue: a duration, checked like every other.
    let stalled = recueil(&db, &["replay", "--stalled", "2h"]);
    assert!(stalled.status.success(), "{}", text(&stalled));
    assert!(
        text(&stalled).contains("0 source(s) processing for more than 2h requeued"),
        "{}",
        text(&stalled)
    );
    let bad = recueil(&db, &["replay", "--stalled", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("expected e.g. 30s"), "{}", text(&bad));
}

/// Runs `args` with standard output a pipe whose reader goes away after
/// `keep` bytes, and returns the command's end.
fn into_closed_pipe(db: &Path, args: &[&str], stdin: Option<&[u8]>, keep: usize) -> Output {
    let mut child = command(db, args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run recueil");
    let mut stdout = child.stdout.take().unwrap();
    let feeding = stdin.map(|input| {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        // Closed when written: the command reads to the end first.
        std::thread::spawn(move || pipe.write_all(&input))
    });
    if keep > 0 {
        let mut first = vec![0; keep];
        stdout.read_exact(&mut first).unwrap();
    }
    drop(stdout);
    if let Some(feeding) = feeding {
        feeding.join().unwrap().unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ended_quietly(what: &str, out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{what}: {err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.success() || out.status.signal() == Some(libc_sigpipe()),
            "{what}: {:?} {err}",
            out.status
        );
    }
}

/// SIGPIPE's number (13 on every Unix recueil runs on).
fn libc_sigpipe() -> i32 {
    13
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    // The reader is gone before anything is written.
    let status = into_closed_pipe(&db, &["status"], None, 0);
    ended_quietly("status", &status);
    let export = into_closed_pipe(&db, &["export", "--format", "csv"], None, 0);
    ended_quietly("export", &export);
    // The reader goes away in the middle: far more than a pipe holds.
    let long = "Je voudrais plus de bancs place Royale. ".repeat(20_000);
    let redact = into_closed_pipe(&db, &["redact", "-"], Some(long.as_bytes()), 10);
    ended_quietly("redact", &redact);
}

/// Lines of a running command's standard output, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits until a line read (now or earlier, kept in `seen`) contains
/// `needle`.
fn wait_for(lines: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    while !seen.iter().any(|l| l.contains(needle)) {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {needle:?} in:\n{}", seen.join("\n")),
        }
    }
}

/// Ctrl-C, then how the command ended and all it wrote.
fn interrupt(
    mut child: Child,
    lines: mpsc::Receiver<String>,
    seen: &mut Vec<String>,
) -> (std::process::ExitStatus, String) {
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    seen.extend(lines.iter());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, format!("{}\n{err}", seen.join("\n")))
}

#[test]
fn asterisk_watch_reports_what_it_ingested_and_reads_each_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let spool = dir.path().join("spool");
    let inbox = spool.join("default/800/INBOX");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("msg0000.wav"), recueil_testkit::wav("allo")).unwrap();
    std::fs::write(
        inbox.join("msg0000.txt"),
        "[message]\ncallerid=Unknown\norigtime=1650000000\nmsg_id=1650000000-1\n",
    )
    .unwrap();

    let mut child = command(
        &db,
        &[
            "ingest",
            "asterisk",
            spool.to_str().unwrap(),
            "--watch",
            "--interval",
            "100ms",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_for(&lines, "msg0000.wav", &mut seen);
    // A second message while watching.
    std::fs::write(inbox.join("msg0001.wav"), recueil_testkit::wav("encore")).unwrap();
    std::fs::write(
        inbox.join("msg0001.txt"),
        "[message]\ncallerid=Unknown\norigtime=1650000100\nmsg_id=1650000100-2\n",
    )
    .unwrap();
    wait_for(&lines, "msg0001.wav", &mut seen);
    // Several more passes over an unchanged spool.
    std::thread::sleep(Duration::from_millis(600));
    let (status, all) = interrupt(child, lines, &mut seen);
    assert!(status.success(), "{status:?}\n{all}");
    assert!(
        all.contains("2 ingested, 0 already there, 0 refused"),
        "{all}"
    );
    // Each message was taken once: later passes did not read it again.
    assert!(!all.contains("already ingested"), "{all}");
}

/// The first bytes of a PNG: enough to be sniffed as a scan.
fn png(tag: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

#[test]
fn ballots_watch_takes_complete_scans_and_reports_real_totals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let scans = dir.path().join("scans");
    std::fs::create_dir_all(scans.join("urne-5")).unwrap();
    std::fs::write(scans.join("urne-5/page-001.png"), png("a")).unwrap();
    std::fs::write(scans.join("notes.txt"), "pas un scan").unwrap();

    let mut child = command(
        &db,
        &[
            "ingest",
            "ballots",
            "--watch",
            scans.to_str().unwrap(),
            "--batch",
            "lot-1",
            "--interval",
            "100ms",
            "--settle",
            "0s",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_for(&lines, "done/urne-5/page-001.png", &mut seen);
    wait_for(&lines, "notes.txt: not a scan", &mut seen);
    std::thread::sleep(Duration::from_millis(300));
    let (status, all) = interrupt(child, lines, &mut seen);
    // A refused file makes the exit status 2, as for a batch.
    assert_eq!(status.code(), Some(2), "{all}");
    assert!(
        all.contains("1 ingested, 0 already there, 1 refused"),
        "{all}"
    );
    assert!(scans.join("done/urne-5/page-001.png").is_file());
    let note = std::fs::read_to_string(scans.join("failed/notes.txt.error.txt")).unwrap();
    assert!(note.contains("not a scan"), "{note}");

    // Files and --watch do not mix; neither is an error.
    let both = recueil(
        &db,
        &[
            "ingest",
            "ballots",
            "x.png",
            "--watch",
            scans.to_str().unwrap(),
        ],
    );
    assert_eq!(both.status.code(), Some(2), "{}", text(&both));
    let neither = recueil(&db, &["ingest", "ballots"]);
    assert_eq!(neither.status.code(), Some(2), "{}", text(&neither));
}

/// `ingest ballots --letter`: the sheets of one letter scanned as separate
/// files become one source (their bundle), taken once; a file that is not
/// a scan refuses the letter by its name.
#[test]
fn ballots_letter_sheets_are_one_source() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let sheet = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (p1, p2) = (sheet("p1.png", &png("1")), sheet("p2.png", &png("2")));
    let notes = sheet("notes.txt", b"pas un scan");

    let once = recueil(&db, &["ingest", "ballots", "--letter", &p1, &p2]);
    assert!(once.status.success(), "{}", text(&once));
    assert!(
        text(&once).contains("1 ingested, 0 already there, 0 refused"),
        "{}",
        text(&once)
    );
    assert!(
        text(&once).contains("p1.png (first of a letter of 2 sheets)"),
        "{}",
        text(&once)
    );
    let again = recueil(&db, &["ingest", "ballots", "--letter", &p1, &p2]);
    assert!(
        text(&again).contains("0 ingested, 1 already there, 0 refused"),
        "{}",
        text(&again)
    );
    let refused = recueil(&db, &["ingest", "ballots", "--letter", &p1, &notes]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("notes.txt") && text(&refused).contains("1 refused"),
        "{}",
        text(&refused)
    );
    let watch = recueil(
        &db,
        &[
            "ingest",
            "ballots",
            "--letter",
            "--watch",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(watch.status.code(), Some(2), "{}", text(&watch));
}
