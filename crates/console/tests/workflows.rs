//! The console's daily work over plain HTTP (the router, in process), on
//! both backends: staff upload a batch and follow its pages, a reviewer sees
//! a TIFF page upright with its boxes, anyone but staff browses, searches
//! and exports the contributions, an operator sees the queues and discards a
//! failed source in their name; `/metrics` and `/readyz`.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{
    failed_source, fixture, get, login, multipart, post, send, session, Reply, BOUNDARY, PASSWORD,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use recueil_console::auth::hash_password;
use recueil_console::{router, AppState, ConsoleConfig, ScanTools};
use recueil_core::{Channel, Contribution, EngineInfo, QuestionSet, Source, Status, TextLine};
use recueil_pipeline::intake::Split;
use recueil_queue::{Queue, QueueConfig};
use recueil_store::{SourceState, Store};
use recueil_testkit::{TcpProxy, TestBroker, TestDb};
use std::sync::OnceLock;

const BATCH: &str = "2022-03-14 Doulon";

/// The scan reader's real page counter and page picture, as `recueil serve`
/// hands them over.
fn scan_tools() -> ScanTools {
    ScanTools {
        paginate: |bytes, name| {
            let layout = recueil_scan::file_layout(bytes, name).map_err(|e| e.to_string())?;
            Ok(if layout.one_letter {
                Split::Whole
            } else {
                Split::Pages(layout.pages)
            })
        },
        pages: |bytes, name| recueil_scan::page_count_named(bytes, name).map_err(|e| e.to_string()),
        picture: |bytes, name, page| {
            recueil_scan::page_picture(bytes, name, page)
                .map(|p| p.png)
                .map_err(|e| e.to_string())
        },
        bundle: |files| recueil_scan::bundle(files).map_err(|e| e.to_string()),
        sheets: |bytes, name| recueil_scan::unbundle(bytes, name).map_err(|e| e.to_string()),
    }
}

/// One recorder per test process, as one per `recueil serve`.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("recorder")
        })
        .clone()
}

struct Console {
    app: Router,
    store: Store,
    _db: TestDb,
}

async fn console_with(db: TestDb, queue: Option<Queue>) -> Console {
    let store = Store::connect(&db.url).await.unwrap();
    for (name, role) in [
        ("sam", "staff"),
        ("alice", "reviewer"),
        ("olga", "operator"),
    ] {
        store
            .put_user(name, role, &hash_password(PASSWORD).unwrap())
            .await
            .unwrap();
    }
    let state = AppState {
        queue,
        scan: Some(scan_tools()),
        metrics: Some(metrics_handle()),
        ..AppState::new(store.clone(), ConsoleConfig::default())
    };
    Console {
        app: router(state),
        store,
        _db: db,
    }
}

async fn console(db: TestDb) -> Console {
    console_with(db, Some(Queue::memory(QueueConfig::default()))).await
}

/// Posts the upload form with `files` (name, bytes) as `token`'s session.
async fn upload(
    app: &Router,
    token: &str,
    csrf: Option<&str>,
    files: &[(&str, Vec<u8>)],
    json: bool,
) -> Reply {
    upload_form(app, token, csrf, false, files, json).await
}

/// [`upload`], the box "sheets of one letter" ticked or not.
async fn upload_form(
    app: &Router,
    token: &str,
    csrf: Option<&str>,
    letter: bool,
    files: &[(&str, Vec<u8>)],
    json: bool,
) -> Reply {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = Vec::new();
    if let Some(c) = csrf {
        parts.push(("csrf", None, c.as_bytes()));
    }
    parts.push(("urne", None, b"mq-doulon"));
    parts.push(("lot", None, BATCH.as_bytes()));
    if letter {
        parts.push(("lettre", None, b"1"));
    }
    for (name, bytes) in files {
        parts.push(("fichiers", Some(name), bytes));
    }
    let mut req = Request::post("/depot")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::COOKIE, session(token));
    if json {
        req = req.header(header::ACCEPT, "application/json");
    }
    send(app, req.body(Body::from(multipart(&parts))).unwrap()).await
}

/// The page following [`BATCH`].
fn batch_page() -> String {
    format!(
        "/depot/lot?lot={}",
        serde_urlencoded::to_string([("x", BATCH)])
            .unwrap()
            .trim_start_matches("x=")
    )
}

async fn csrf_of(app: &Router, token: &str, page: &str) -> String {
    let r = get(app, page, Some(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{page}: {}", r.body);
    r.csrf()
}

async fn batch_sources(store: &Store) -> Vec<recueil_store::SourceRecord> {
    let mut all: Vec<_> = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.source.batch.as_deref() == Some(BATCH))
        .collect();
    all.sort_by_key(|r| (r.source.original_name.clone(), r.source.page));
    all
}

#[tokio::test]
async fn staff_upload_a_batch_and_each_file_is_checked_at_the_door() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let sam = login(&c.app, "sam").await;
        let csrf = csrf_of(&c.app, &sam, "/depot").await;
        let r = upload(
            &c.app,
            &sam,
            Some(&csrf),
            &[
                ("ballot-imprime.png", fixture("ballot-imprime.png")),
                ("ballot-lot-3-pages.tif", fixture("ballot-lot-3-pages.tif")),
                // A recording named like a scan: its bytes say otherwise.
                ("scan.png", fixture("voicemail-merci-court.wav")),
                ("vide.pdf", Vec::new()),
                ("../../etc/evil.png", fixture("ballot-manuscrit.png")),
            ],
            false,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("reçu, 1 page(s)"), "{}", r.body);
        assert!(r.body.contains("reçu, 3 page(s)"), "{}", r.body);
        assert!(
            r.body.contains("scan.png : ce n&#39;est pas un scan")
                || r.body.contains("scan.png : ce n'est pas un scan"),
            "{}",
            r.body
        );
        assert!(r.body.contains("vide.pdf : fichier vide"), "{}", r.body);

        let sources = batch_sources(&c.store).await;
        assert_eq!(
            sources.len(),
            1 + 3 + 1,
            "one source per page, nothing of the refused files"
        );
        for s in &sources {
            assert_eq!(
                s.source.urn.as_ref().map(|u| u.to_string()).as_deref(),
                Some("mq-doulon")
            );
            assert_eq!(s.source.channel, Channel::Ballot);
            assert!(
                !s.source.original_name.contains('/'),
                "{}",
                s.source.original_name
            );
        }
        assert!(sources.iter().any(|s| s.source.original_name == "evil.png"));
        for s in &sources {
            let history = c.store.events(s.source.id).await.unwrap();
            assert!(
                history.iter().any(|e| e.1 == "uploaded"
                    && e.2 == format!("uploaded by sam (console), batch {BATCH}")),
                "{history:?}"
            );
        }
        let pages: Vec<u32> = sources
            .iter()
            .filter(|s| s.source.original_name == "ballot-lot-3-pages.tif")
            .map(|s| s.source.page)
            .collect();
        assert_eq!(pages, [1, 2, 3]);
        assert_eq!(
            c.store.counts().await.unwrap().outbox,
            5,
            "every page queued through the outbox"
        );

        // The same file again, one at a time as the page's script sends it.
        let again = upload(
            &c.app,
            &sam,
            Some(&csrf),
            &[("ballot-imprime.png", fixture("ballot-imprime.png"))],
            true,
        )
        .await;
        assert_eq!(again.status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&again.body).unwrap();
        assert_eq!(json["batch"], BATCH);
        assert_eq!(json["files"][0]["outcome"], "duplicate");
        assert_eq!(batch_sources(&c.store).await.len(), 5);

        // A file over the limit is refused by name; the next one is taken.
        let big = vec![0u8; recueil_console::UPLOAD_MAX_FILE_BYTES + 1];
        let r = upload(
            &c.app,
            &sam,
            Some(&csrf),
            &[
                ("enorme.png", big),
                ("petit.jpg", fixture("ballot-pas-un-formulaire.jpg")),
            ],
            true,
        )
        .await;
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(json["files"][0]["outcome"], "refused");
        assert!(json["files"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("enorme.png : plus de 64 Mio"));
        assert_eq!(json["files"][1]["outcome"], "accepted");
        assert_eq!(batch_sources(&c.store).await.len(), 6);

        // No session token, or a role that does not scan: nothing stored.
        let forged = upload(
            &c.app,
            &sam,
            None,
            &[("x.png", fixture("ballot-manuscrit.png"))],
            false,
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let alice = login(&c.app, "alice").await;
        let csrf_alice = csrf_of(&c.app, &alice, "/revue").await;
        let reviewer = upload(
            &c.app,
            &alice,
            Some(&csrf_alice),
            &[("x.png", fixture("ballot-manuscrit.png"))],
            false,
        )
        .await;
        assert_eq!(reviewer.status, StatusCode::FORBIDDEN);
        // A bad urn is named, and nothing is stored.
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![
            ("csrf", None, csrf.as_bytes()),
            ("urne", None, b"Urne n/3"),
            ("lot", None, BATCH.as_bytes()),
        ];
        let png = fixture("ballot-manuscrit.png");
        parts.push(("fichiers", Some("y.png"), &png));
        let req = Request::post("/depot")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header(header::COOKIE, session(&sam))
            .body(Body::from(multipart(&parts)))
            .unwrap();
        let bad = send(&c.app, req).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("urne n/3"), "{}", bad.body);
        assert_eq!(batch_sources(&c.store).await.len(), 6);
    }
}

/// The contribution a worker would have stored for `source`.
fn contribution(source: &Source, status: Status, text: &str, questions: &str) -> Contribution {
    let mut c = Contribution::new(
        source,
        EngineInfo {
            name: "test".into(),
            version: "1".into(),
        },
        false,
    );
    c.status = status;
    c.text = text.into();
    c.raw_text = text.into();
    c.questions = QuestionSet::parse_list(questions).unwrap();
    c.confidence = 0.9;
    c
}

#[tokio::test]
async fn a_batch_page_says_what_became_of_each_page() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let sam = login(&c.app, "sam").await;
        let csrf = csrf_of(&c.app, &sam, "/depot").await;
        upload(
            &c.app,
            &sam,
            Some(&csrf),
            &[("urne.tif", fixture("ballot-lot-3-pages.tif"))],
            true,
        )
        .await;
        let pages = batch_sources(&c.store).await;
        assert_eq!(pages.len(), 3);
        // Page 1 published, page 2 refused by the worker, page 3 waiting.
        c.store.begin_attempt(pages[0].source.id, 1).await.unwrap();
        c.store
            .record_contribution(&contribution(
                &pages[0].source,
                Status::Published,
                "des bancs",
                "1",
            ))
            .await
            .unwrap();
        c.store.begin_attempt(pages[1].source.id, 1).await.unwrap();
        c.store
            .record_failure(pages[1].source.id, false, "page 2: unreadable TIFF strip")
            .await
            .unwrap();
        let r = get(&c.app, &batch_page(), Some(&sam)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("publiée"), "{}", r.body);
        assert!(
            r.body.contains("refusée : page 2: unreadable TIFF strip"),
            "{}",
            r.body
        );
        assert!(r.body.contains("en traitement"));
        assert!(
            r.body.contains("data-refresh=\"3\""),
            "refreshes while a page waits"
        );
        assert!(
            r.body
                .contains("3 page(s) : 1 publiées, 1 refusées, 1 en traitement"),
            "{}",
            r.body
        );

        c.store.begin_attempt(pages[2].source.id, 1).await.unwrap();
        c.store
            .record_contribution(&contribution(&pages[2].source, Status::Empty, "", ""))
            .await
            .unwrap();
        let r = get(&c.app, &batch_page(), Some(&sam)).await;
        assert!(r.body.contains("page blanche"));
        assert!(!r.body.contains("data-refresh"), "done: no more refreshing");

        let unknown = get(&c.app, "/depot/lot?lot=nope", Some(&sam)).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    }
}

/// Stores a source and its contribution as a worker would.
async fn seed(
    store: &Store,
    channel: Channel,
    bytes: &[u8],
    urn: Option<&str>,
    status: Status,
    text: &str,
    questions: &str,
) -> Source {
    let mut source = common::source(channel, "seed", bytes);
    source.urn = urn.map(|u| u.parse().unwrap());
    store.ingest(&source, bytes).await.unwrap();
    store.begin_attempt(source.id, 1).await.unwrap();
    store
        .record_contribution(&contribution(&source, status, text, questions))
        .await
        .unwrap();
    source
}

#[tokio::test]
async fn the_contributions_browser_filters_searches_and_exports_the_same_selection() {
    for db in TestDb::both().await {
        let c = console(db).await;
        seed(
            &c.store,
            Channel::Voicemail,
            b"a",
            None,
            Status::Published,
            "L'École du quartier ferme tôt",
            "1",
        )
        .await;
        seed(
            &c.store,
            Channel::Ballot,
            b"b",
            Some("mq-doulon"),
            Status::Published,
            "Il faut des bancs",
            "2,3",
        )
        .await;
        seed(
            &c.store,
            Channel::Ballot,
            b"c",
            Some("mq-doulon"),
            Status::NeedsReview,
            "à relire: bancs",
            "2",
        )
        .await;
        let olga = login(&c.app, "olga").await;

        let r = get(&c.app, "/contributions?q=ecole", Some(&olga)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("1 trouvée(s)"), "{}", r.body);
        assert!(
            r.body.contains("L&#39;École du quartier") || r.body.contains("L'École du quartier")
        );
        let r = get(
            &c.app,
            "/contributions?canal=ballot&statut=published",
            Some(&olga),
        )
        .await;
        assert!(r.body.contains("1 trouvée(s)") && r.body.contains("Il faut des bancs"));
        let r = get(&c.app, "/contributions?question=2", Some(&olga)).await;
        assert!(r.body.contains("2 trouvée(s)"), "{}", r.body);
        let r = get(
            &c.app,
            "/contributions?urne=mq-doulon&q=bancs&statut=needs_review",
            Some(&olga),
        )
        .await;
        assert!(r.body.contains("1 trouvée(s)"));

        // The download takes the same selection.
        let csv = get(
            &c.app,
            "/contributions/export?format=csv&canal=ballot&statut=published",
            Some(&olga),
        )
        .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        assert!(csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(
            csv.body.lines().count(),
            2,
            "a header and one row: {}",
            csv.body
        );
        assert!(csv.body.contains("Il faut des bancs") && !csv.body.contains("École"));
        let json = get(
            &c.app,
            "/contributions/export?format=json&question=2",
            Some(&olga),
        )
        .await;
        let rows: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 2);
        for format in ["jsonl", "decidim", "counts"] {
            let r = get(
                &c.app,
                &format!("/contributions/export?format={format}"),
                Some(&olga),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{format}");
        }

        // What cannot be understood is said, not ignored.
        let bad = get(&c.app, "/contributions?du=14/03/2022", Some(&olga)).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("AAAA-MM-JJ"));
        let bad = get(&c.app, "/contributions/export?format=xlsx", Some(&olga)).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        // Staff bring paper in; they do not read the contributions.
        let sam = login(&c.app, "sam").await;
        assert_eq!(
            get(&c.app, "/contributions", Some(&sam)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&c.app, "/contributions/export?format=csv", Some(&sam))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
}

/// Posts the operator's discard form as `token`'s session.
async fn discard(app: &Router, token: &str, form: &[(&str, &str)]) -> Reply {
    post(app, "/exploitation/ecarter", Some(&session(token)), form).await
}

#[tokio::test]
async fn an_operator_sees_the_queues_and_discards_a_failed_source_in_their_name() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let source = failed_source(
            &c.store,
            Channel::Ballot,
            "bizarre.bin",
            b"not really a scan",
            "bizarre.bin: not an image",
        )
        .await;
        seed(
            &c.store,
            Channel::Ballot,
            b"p",
            Some("mq-doulon"),
            Status::Published,
            "Des bancs",
            "2",
        )
        .await;

        let olga = login(&c.app, "olga").await;
        let page = get(&c.app, "/exploitation", Some(&olga)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for expected in [
            "recueil.ballot",
            "rebut (dead-letter)",
            "bizarre.bin: not an image",
            "Contributions par jour",
            "<svg class=\"chart\"",
            "mq-doulon",
        ] {
            assert!(page.body.contains(expected), "{expected} missing");
        }
        let csrf = page.csrf();
        let id = source.id.to_string();

        // A reviewer cannot; a forged form cannot.
        let alice = login(&c.app, "alice").await;
        let refused = discard(
            &c.app,
            &alice,
            &[("csrf", &csrf), ("id", &id), ("reason", "unreadable")],
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let forged = discard(&c.app, &olga, &[("id", &id), ("reason", "unreadable")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(
            c.store.source(source.id).await.unwrap().unwrap().state,
            SourceState::Failed
        );

        let r = discard(
            &c.app,
            &olga,
            &[("csrf", &csrf), ("id", &id), ("reason", "unreadable")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location(), "/exploitation?ecartees=1");
        let record = c.store.source(source.id).await.unwrap().unwrap();
        assert_eq!(record.state, SourceState::Done);
        let contribution = c.store.contribution(source.id).await.unwrap().unwrap();
        assert_eq!(contribution.status, Status::Rejected);
        assert_eq!(contribution.engine.name, "operator");
        let audit = c.store.audit(source.id).await.unwrap();
        assert_eq!(audit.last().unwrap().actor, "olga (console)");
        assert!(
            c.store.original(&source.sha256).await.unwrap().is_some(),
            "the original is kept"
        );
        assert_eq!(c.store.counts().await.unwrap().failed, 0);
        // Once done, again is nothing.
        let r = discard(
            &c.app,
            &olga,
            &[("csrf", &csrf), ("id", &id), ("reason", "unreadable")],
        )
        .await;
        assert_eq!(r.location(), "/exploitation?ecartees=0");
        let bad = discard(
            &c.app,
            &olga,
            &[("csrf", &csrf), ("id", &id), ("reason", "because")],
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
}

/// A scan ingested as the console's upload does (split by the real
/// reader), each of its sources then read and waiting for review.
async fn scanned_for_review(store: &Store, name: &str, bytes: &[u8]) -> Vec<recueil_store::Intake> {
    let mut arrival = recueil_pipeline::intake::Arrival::new(Channel::Ballot);
    arrival.paginate = Some(scan_tools().paginate);
    let intakes =
        recueil_pipeline::intake::ingest_bytes(store, std::path::Path::new(name), bytes, &arrival)
            .await
            .unwrap();
    for intake in &intakes {
        let recueil_store::Intake::Accepted(id) = *intake else {
            panic!("accepted: {intake:?}")
        };
        let source = store.source(id).await.unwrap().unwrap().source;
        store.begin_attempt(id, 1).await.unwrap();
        store
            .record_contribution(&contribution(&source, Status::NeedsReview, "texte", "2"))
            .await
            .unwrap();
    }
    intakes
}

#[tokio::test]
async fn a_reviewer_sees_a_tiff_page_upright_with_its_boxes() {
    let c = console(TestDb::sqlite()).await;
    let intakes =
        scanned_for_review(&c.store, "urne.tif", &fixture("ballot-lot-3-pages.tif")).await;
    let recueil_store::Intake::Accepted(id) = intakes[1] else {
        panic!("accepted")
    };
    let alice = login(&c.app, "alice").await;
    let item = get(&c.app, &format!("/revue/{id}"), Some(&alice)).await;
    assert!(
        item.body.contains(&format!("/revue/{id}/page.png")),
        "{}",
        item.body
    );
    let png = get(&c.app, &format!("/revue/{id}/page.png"), Some(&alice)).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.headers[header::CONTENT_TYPE], "image/png");
    let sam = login(&c.app, "sam").await;
    assert_eq!(
        get(&c.app, &format!("/revue/{id}/page.png"), Some(&sam))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// A letter of two sheets in one PDF (no page is a form) becomes one
/// source read as a whole, and its reviewer sees both sheets.
#[tokio::test]
async fn a_reviewer_sees_every_sheet_of_a_letter() {
    let c = console(TestDb::sqlite()).await;
    let dir = format!(
        "{}/../../fixtures/real/scans/tapuscorpus",
        env!("CARGO_MANIFEST_DIR")
    );
    let sheets: Vec<_> = [
        "12148-btv1b53097347b__0_f546b_default.jpg",
        "bljd-DSN390-DSN355-DSN113__bljd_DSN113_00027.jpg",
    ]
    .iter()
    .map(|f| {
        let bytes = std::fs::read(format!("{dir}/{f}")).unwrap();
        recueil_scan::load_page(&bytes, f, 1).unwrap()
    })
    .collect();
    let pdf = recueil_scan::pdf_pages(&[&sheets[0], &sheets[1]]).unwrap();
    let intakes = scanned_for_review(&c.store, "lettre.pdf", &pdf).await;
    let [recueil_store::Intake::Accepted(id)] = intakes[..] else {
        panic!("one source for the letter: {intakes:?}")
    };
    let source = c.store.source(id).await.unwrap().unwrap().source;
    assert_eq!(source.page, 0, "the whole file");
    let alice = login(&c.app, "alice").await;
    let item = get(&c.app, &format!("/revue/{id}"), Some(&alice)).await;
    for p in [1, 2] {
        assert!(
            item.body.contains(&format!("/revue/{id}/page.png?p={p}")),
            "{}",
            item.body
        );
    }
    assert!(item.body.contains("Lettre, page 2 sur 2"), "{}", item.body);

    // Staff uploading it are told it is one letter, not one page.
    let sam = login(&c.app, "sam").await;
    let csrf = csrf_of(&c.app, &sam, "/depot").await;
    let mut other = pdf.clone();
    other.extend_from_slice(b"\n% another envelope\n");
    let r = upload(&c.app, &sam, Some(&csrf), &[("lettre-2.pdf", other)], false).await;
    assert!(
        r.body
            .contains("reçu, une lettre de 2 feuilles (une contribution)"),
        "{}",
        r.body
    );
    let png = get(&c.app, &format!("/revue/{id}/page.png?p=2"), Some(&alice)).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.headers[header::CONTENT_TYPE], "image/png");
}

/// A letter scanned sheet by sheet: staff tick "sheets of one letter" and
/// send the files together; they become one source (their bundle, each
/// sheet kept byte for byte, in the order sent), one contribution, and its
/// reviewer sees every sheet. A letter one of whose files is not a scan is
/// not stored at all.
#[tokio::test]
async fn staff_upload_a_letter_sheet_by_sheet_as_one_contribution() {
    let c = console(TestDb::sqlite()).await;
    let dir = format!(
        "{}/../../fixtures/real/scans/tapuscorpus",
        env!("CARGO_MANIFEST_DIR")
    );
    let sheets: Vec<(&str, Vec<u8>)> = [
        "12148-btv1b53097347b__0_f546b_default.jpg",
        "bljd-DSN390-DSN355-DSN113__bljd_DSN113_00027.jpg",
    ]
    .iter()
    .map(|f| (*f, std::fs::read(format!("{dir}/{f}")).unwrap()))
    .collect();
    let sam = login(&c.app, "sam").await;
    let csrf = csrf_of(&c.app, &sam, "/depot").await;
    let page = get(&c.app, "/depot", Some(&sam)).await;
    assert!(page.body.contains("name=\"lettre\""), "{}", page.body);

    let r = upload_form(&c.app, &sam, Some(&csrf), true, &sheets, false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("reçu, une lettre de 2 feuilles (une contribution)"),
        "{}",
        r.body
    );
    let stored = batch_sources(&c.store).await;
    assert_eq!(stored.len(), 1, "one source for the letter");
    let source = &stored[0].source;
    assert_eq!(source.page, 0);
    assert_eq!(source.original_name, format!("{}+1.tar", sheets[0].0));
    let original = c.store.original(&source.sha256).await.unwrap().unwrap();
    for (name, bytes) in &sheets {
        assert!(
            original.windows(bytes.len()).any(|w| w == bytes.as_slice()),
            "{name} is not kept byte for byte"
        );
    }
    // The batch's page lists it as a letter, not as a page.
    let listed = get(&c.app, &batch_page(), Some(&sam)).await;
    assert!(
        listed
            .body
            .contains(&format!("<td>{}</td><td>lettre</td>", source.original_name)),
        "{}",
        listed.body
    );
    // The same sheets again: the same letter, not a second one.
    let again = upload_form(&c.app, &sam, Some(&csrf), true, &sheets, false).await;
    assert!(again.body.contains("déjà reçu"), "{}", again.body);
    assert_eq!(batch_sources(&c.store).await.len(), 1);

    // Its reviewer sees both sheets.
    let id = source.id;
    c.store.begin_attempt(id, 1).await.unwrap();
    c.store
        .record_contribution(&contribution(source, Status::NeedsReview, "texte", "2"))
        .await
        .unwrap();
    let alice = login(&c.app, "alice").await;
    let item = get(&c.app, &format!("/revue/{id}"), Some(&alice)).await;
    assert!(item.body.contains("Lettre, page 2 sur 2"), "{}", item.body);
    let png = get(&c.app, &format!("/revue/{id}/page.png?p=2"), Some(&alice)).await;
    assert_eq!(png.status, StatusCode::OK);
    // Each sheet downloads as the scanner wrote it.
    assert!(
        item.body.contains(&format!(
            "<a href=\"/revue/{id}/original?feuille=2\">02-{}</a>",
            sheets[1].0
        )),
        "{}",
        item.body
    );
    let second = get(
        &c.app,
        &format!("/revue/{id}/original?feuille=2"),
        Some(&alice),
    )
    .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(second.bytes, sheets[1].1);
    let none = get(
        &c.app,
        &format!("/revue/{id}/original?feuille=3"),
        Some(&alice),
    )
    .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);

    // A sheet that is not a scan: the letter is refused whole, by name.
    let mut broken = vec![sheets[1].clone()];
    broken.insert(0, ("mot.txt", b"pas un scan".to_vec()));
    let r = upload_form(&c.app, &sam, Some(&csrf), true, &broken, false).await;
    assert!(r.body.contains("refusé : mot.txt : ce n"), "{}", r.body);
    assert!(r.body.contains("lettre non enregistrée"), "{}", r.body);
    assert_eq!(
        batch_sources(&c.store).await.len(),
        1,
        "nothing more stored"
    );
}

/// A handwritten form for review: the reviewer sees each line of the text
/// crop cut out above the machine's reading of it, the unsure ones
/// marked; the lines survive the store on both backends.
#[tokio::test]
async fn a_reviewer_reads_handwriting_line_by_line() {
    for db in TestDb::both().await {
        let c = console(db).await;
        // A small crop (the form at 20 dpi, under 128 pixels wide): two
        // lines in its top rows.
        let page = recueil_scan::render_form(20.0, None).unwrap();
        let width = page.width() as u8;
        assert!(width < 128);
        let crop = recueil_scan::png_bytes(&page).unwrap();
        let bytes = b"scan".to_vec();
        let mut source = common::source(Channel::Ballot, "manuscrit.png", &bytes);
        source.media_type = "image/png".into();
        c.store.ingest(&source, &bytes).await.unwrap();
        c.store.begin_attempt(source.id, 1).await.unwrap();
        let mut read = contribution(&source, Status::NeedsReview, "des bancs\nau square", "1");
        read.review_image = Some(crop);
        read.lines = vec![
            TextLine {
                top: 0,
                height: 30,
                text: "des bancs".into(),
                confidence: 0.9,
            },
            TextLine {
                top: 30,
                height: 45,
                text: "au square".into(),
                confidence: 0.3,
            },
        ];
        c.store.record_contribution(&read).await.unwrap();
        let stored = c.store.contribution(source.id).await.unwrap().unwrap();
        assert_eq!(stored.lines, read.lines, "kept as read");

        let alice = login(&c.app, "alice").await;
        let id = source.id;
        let item = get(&c.app, &format!("/revue/{id}"), Some(&alice)).await;
        assert!(
            item.body.contains(&format!("/revue/{id}/ligne/1")),
            "{}",
            item.body
        );
        assert!(
            item.body.contains(&format!("/revue/{id}/ligne/2")),
            "{}",
            item.body
        );
        assert!(
            item.body.contains(r#"<li class="unsure">"#),
            "the 30 % line is marked: {}",
            item.body
        );
        let line = get(&c.app, &format!("/revue/{id}/ligne/2"), Some(&alice)).await;
        assert_eq!(line.status, StatusCode::OK);
        assert_eq!(line.headers[header::CONTENT_TYPE], "image/png");
        // The body is read as text: the header chunk's size fields are
        // ASCII-safe bytes here (both under 128).
        let ihdr = line.body.find("IHDR").expect("a PNG header") + 4;
        let size = &line.body.as_bytes()[ihdr..ihdr + 8];
        assert_eq!(
            size,
            [0, 0, 0, width, 0, 0, 0, 45],
            "the line's rows, whole width"
        );
        assert_eq!(
            get(&c.app, &format!("/revue/{id}/ligne/3"), Some(&alice))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let sam = login(&c.app, "sam").await;
        assert_eq!(
            get(&c.app, &format!("/revue/{id}/ligne/1"), Some(&sam))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn metrics_are_served_and_readiness_follows_the_broker() {
    let broker = TestBroker::new(3);
    let mut proxy = TcpProxy::start("127.0.0.1:5672").await;
    let queue = Queue::amqp(&proxy.amqp_url(), broker.config.clone())
        .await
        .unwrap();
    let c = console_with(TestDb::sqlite(), Some(queue)).await;
    seed(
        &c.store,
        Channel::Ballot,
        b"m",
        None,
        Status::Published,
        "x",
        "1",
    )
    .await;

    let ready = get(&c.app, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    let metrics = get(&c.app, "/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    for expected in [
        "recueil_sources{state=\"done\"} 1",
        "recueil_contributions{channel=\"ballot\",status=\"published\"} 1",
        "recueil_queue_up 1",
        &format!(
            "recueil_queue_ready{{queue=\"{}.ballot\"}} 0",
            broker.config.prefix
        ),
    ] {
        assert!(
            metrics.body.contains(expected),
            "{expected} missing from\n{}",
            metrics.body
        );
    }
    // Every recueil metric the alert rules use is one served here.
    let alerts = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/alerts.yaml"
    ))
    .unwrap();
    let mut used: Vec<&str> = alerts
        .match_indices("recueil_")
        .map(|(at, _)| {
            let rest = &alerts[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| name.len() > "recueil_".len())
        .collect();
    used.sort();
    used.dedup();
    assert!(used.len() >= 6, "{used:?}");
    for name in used {
        assert!(
            metrics.body.contains(&format!("{name}{{"))
                || metrics.body.contains(&format!("{name} ")),
            "deploy/alerts.yaml uses {name}, which /metrics does not serve"
        );
    }

    proxy.cut();
    let down = get(&c.app, "/readyz", None).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.body.contains("file de messages"));
    let metrics = get(&c.app, "/metrics", None).await;
    assert!(
        metrics.body.contains("recueil_queue_up 0"),
        "{}",
        metrics.body
    );
}

#[tokio::test]
async fn a_message_in_another_language_is_shown_as_such_to_the_reviewer() {
    let c = console(TestDb::sqlite()).await;
    let alice = login(&c.app, "alice").await;
    for (language, shown) in [("en", true), ("fr", false)] {
        let bytes = language.as_bytes();
        let source = common::source(Channel::Voicemail, "message.wav", bytes);
        c.store.ingest(&source, bytes).await.unwrap();
        c.store.begin_attempt(source.id, 1).await.unwrap();
        let mut heard = contribution(&source, Status::NeedsReview, "Hello, I live alone", "1");
        heard.language = Some(language.into());
        c.store.record_contribution(&heard).await.unwrap();
        let page = get(&c.app, &format!("/revue/{}", source.id), Some(&alice)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.body
                .contains("id=\"other-language\"><strong>en</strong>"),
            shown,
            "{language}"
        );
    }
}
