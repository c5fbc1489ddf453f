//! The console as an installation runs it: `recueil serve --workers ballot`
//! (the real binary, the real ballot reader with tesseract) on PostgreSQL
//! and RabbitMQ, driven in headless Chromium.
//!
//! A member of staff uploads a 3-page TIFF and a damaged scan through the
//! page, follows the batch until every page has its result, then the
//! operator's page shows the dead-lettered scan; it is replayed from there
//! (in the operator's name in its history), and the page's counts are those
//! `recueil status` prints. Last, a letter scanned sheet by sheet is sent
//! with the box "sheets of one letter" ticked and read as one source.

use fantoccini::Locator;
use recueil_core::SourceId;
use recueil_store::{SourceState, Store};
use recueil_testkit::browser::{
    fill_login, free_port, submit_login, text_of, wait_for_port, wait_text, wait_url, Browser,
    Running, Shots,
};
use recueil_testkit::{wait_until, TestBroker, TestDb};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "une phrase de passe pour claire";

/// The text of a table with every run of spaces and tabs made one space,
/// line by line (browsers separate cells with tabs or spaces).
fn squash(text: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// On the upload page: names the batch `lot`, chooses `files` and sends.
async fn send_files(c: &fantoccini::Client, lot: &str, files: &[String]) {
    let field = c.find(Locator::Css("#lot")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(lot).await.unwrap();
    c.find(Locator::Css("#fichiers"))
        .await
        .unwrap()
        .send_keys(&files.join("\n"))
        .await
        .unwrap();
    c.find(Locator::Css("#upload-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn recueil(db: &str, broker: &TestBroker) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_recueil"));
    c.env("RECUEIL_DATABASE_URL", db)
        .env("RECUEIL_AMQP_URL", &broker.url)
        .env("RECUEIL_QUEUE_PREFIX", &broker.config.prefix)
        .env("RECUEIL_DELIVERY_LIMIT", "2")
        .env("RECUEIL_RETRY_DELAY", "1s")
        .env("RECUEIL_LOG", "warn");
    c
}

/// `recueil status`'s source counts, by their English names.
fn status_counts(db: &str, broker: &TestBroker) -> Vec<(String, u64)> {
    let out = recueil(db, broker).arg("status").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let after = text.split("sources in").nth(1).expect("the sources part");
    after
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (name, n) = l.trim().rsplit_once(' ')?;
            Some((name.trim().to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

/// The operator page's `#counts` table, as (label, value).
async fn page_counts(c: &fantoccini::Client) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for row in c.find_all(Locator::Css("#counts tr")).await.unwrap() {
        let label = row
            .find(Locator::Css("th"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let value = row
            .find(Locator::Css("td"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        out.push((label, value.trim().parse().unwrap()));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_upload_a_tiff_and_the_operator_replays_the_dead_lettered_scan() {
    let db = TestDb::postgres().await;
    let broker = TestBroker::new(2);
    let mut add = recueil(&db.url, &broker)
        .args(["users", "add", "claire", "--role", "admin"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());

    let port = free_port();
    let _server = Running(
        recueil(&db.url, &broker)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "ballot",
            ])
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, "recueil serve").await;
    let base = format!("http://127.0.0.1:{port}");

    // A scan damaged in transit: a PNG cut after 300 bytes. It passes the
    // door (its bytes say PNG) and the reader refuses it.
    let files = tempfile::tempdir().unwrap();
    let damaged = files.path().join("abime.png");
    let png = std::fs::read(workspace().join("fixtures/inbox/ballot-imprime.png")).unwrap();
    std::fs::write(&damaged, &png[..300]).unwrap();
    let tiff = workspace().join("fixtures/inbox/ballot-lot-3-pages.tif");

    let browser = Browser::start().await;
    let c = &browser.client;
    let mut shots = Shots::new(workspace(), "e2e-");
    c.goto(&format!("{base}/login")).await.unwrap();
    fill_login(c, "claire", PASSWORD).await;
    submit_login(c).await;
    wait_url(c, "home", |u| u == format!("{base}/")).await;

    // Staff: the upload page, both files at once; the page's script sends
    // them one by one and shows each result.
    c.goto(&format!("{base}/depot")).await.unwrap();
    c.find(Locator::Css("#urne"))
        .await
        .unwrap()
        .send_keys("mq-doulon")
        .await
        .unwrap();
    send_files(
        c,
        "urne Doulon 14-03",
        &[tiff.display().to_string(), damaged.display().to_string()],
    )
    .await;
    let progress = wait_text(c, "#upload-progress", Duration::from_secs(30), |t| {
        t.contains("reçu, 3 page(s)") && t.contains("reçu, 1 page(s)")
    })
    .await;
    assert!(!progress.contains("refusé"), "{progress}");
    shots.take(c, "depot").await;

    // The batch: every page ends with its result.
    c.find(Locator::Css("#upload-batch-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, "the batch page", |u| u.contains("/depot/lot?lot=")).await;
    let summary = wait_text(c, "#batch-summary", Duration::from_secs(180), |t| {
        t.starts_with("4 page(s)") && !t.contains("en traitement")
    })
    .await;
    assert!(summary.contains("1 refusées"), "{summary}");
    let table = squash(&text_of(c, "#batch-pages").await);
    assert!(table.contains("abime.png 1 refusée :"), "{table}");
    for page in 1..=3 {
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("ballot-lot-3-pages.tif {page} ")))
            .unwrap_or_else(|| panic!("page {page} in {table}"));
        assert!(
            ["publiée", "à relire", "page blanche"]
                .iter()
                .any(|r| line.ends_with(r)),
            "{line}"
        );
    }
    shots.take(c, "lot").await;

    // The page sent to review: its registered picture, boxes outlined.
    if let Ok(link) = c.find(Locator::Css("#batch-pages a")).await {
        link.click().await.unwrap();
        wait_url(c, "the review item", |u| u.contains("/revue/")).await;
        let picture = c.find(Locator::Css("#page-image")).await.unwrap();
        assert!(picture
            .attr("src")
            .await
            .unwrap()
            .unwrap()
            .ends_with("/page.png"));
        wait_until(
            "the page picture drawn",
            Duration::from_secs(20),
            || async {
                c.execute(
                    "return document.getElementById('page-image').naturalWidth;",
                    vec![],
                )
                .await
                .unwrap()
                .as_u64()
                    > Some(0)
            },
        )
        .await;
        shots.take(c, "relecture-tiff").await;
    }

    // Operator: the dead-lettered scan, its reason, and the same counts as
    // `recueil status`.
    let store = Store::connect(&db.url).await.unwrap();
    let failed: Vec<SourceId> = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.state == SourceState::Failed)
        .map(|r| r.source.id)
        .collect();
    assert_eq!(failed.len(), 1);
    c.goto(&format!("{base}/exploitation")).await.unwrap();
    assert_eq!(
        text_of(c, "#dead").await,
        "1",
        "the damaged scan is in the dead-letter queue"
    );
    let queues = squash(&text_of(c, "#queues").await);
    let work = format!("{}.ballot travail 0 1", broker.config.prefix);
    assert!(
        queues.lines().any(|l| l == work),
        "nothing waiting, one worker connected: {queues}"
    );
    assert!(text_of(c, "table.failed").await.contains("abime.png"));
    let on_page = page_counts(c).await;
    let printed = status_counts(&db.url, &broker);
    let values = |v: &[(String, u64)]| v.iter().map(|(_, n)| *n).collect::<Vec<_>>();
    assert_eq!(
        values(&on_page),
        values(&printed),
        "page {on_page:?}, status {printed:?}"
    );
    assert_eq!(on_page[4], ("en échec".to_owned(), 1));
    assert_eq!(on_page[5], ("traitées".to_owned(), 3));
    c.set_window_size(1366, 2600).await.unwrap();
    shots.take(c, "exploitation").await;
    c.set_window_size(1366, 900).await.unwrap();

    // Replayed from the page: queued again, read again, refused again (the
    // file is still damaged), and the history says who asked.
    c.find(Locator::Css("table.failed form.inline button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, "the replay notice", |u| {
        u.ends_with("/exploitation?rejoues=1")
    })
    .await;
    let id = failed[0];
    wait_until(
        "the replayed scan read again",
        Duration::from_secs(60),
        || {
            let store = store.clone();
            async move {
                let events = store.events(id).await.unwrap();
                let replayed = events
                    .iter()
                    .position(|e| e.2.contains("requeued by claire (console)"));
                matches!(replayed, Some(i) if events[i..].iter().any(|e| e.1 == "failed"))
                    && store.source(id).await.unwrap().unwrap().state == SourceState::Failed
            }
        },
    )
    .await;
    c.goto(&format!("{base}/exploitation")).await.unwrap();
    assert_eq!(
        values(&page_counts(c).await),
        values(&status_counts(&db.url, &broker))
    );

    // The contributions browser lists the three pages' contributions (the
    // damaged scan has none: it failed).
    c.goto(&format!("{base}/contributions?canal=ballot"))
        .await
        .unwrap();
    let heading = text_of(c, "h1").await;
    assert!(
        heading.contains("3 trouvée(s)"),
        "{heading}: {}",
        text_of(c, "#contributions").await
    );
    shots.take(c, "contributions").await;

    // A letter scanned sheet by sheet: the box ticked, the script steps
    // aside and the form posts the sheets together; they become one
    // source, read whole by the real reader.
    c.goto(&format!("{base}/depot")).await.unwrap();
    c.find(Locator::Css("#lettre"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let tapuscorpus = workspace().join("fixtures/real/scans/tapuscorpus");
    let sheets = [
        "12148-btv1b53097347b__0_f546b_default.jpg",
        "bljd-DSN390-DSN355-DSN113__bljd_DSN113_00027.jpg",
    ]
    .map(|f| tapuscorpus.join(f).display().to_string());
    send_files(c, "lettre Doulon", &sheets).await;
    let received = wait_text(c, "#results", Duration::from_secs(30), |t| {
        t.contains("une lettre de 2 feuilles")
    })
    .await;
    assert!(!received.contains("refusé"), "{received}");
    c.find(Locator::Css("#batch-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, "the letter's batch", |u| u.contains("lot=lettre")).await;
    let summary = wait_text(c, "#batch-summary", Duration::from_secs(120), |t| {
        t.starts_with("1 page(s)") && !t.contains("en traitement")
    })
    .await;
    assert!(!summary.contains("refusées"), "{summary}");
    shots.take(c, "lettre").await;
    c.clone().close().await.unwrap();
}
