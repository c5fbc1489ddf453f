//! The console over plain HTTP (the router, in process), on both backends:
//! who may do what, CSRF, throttling, claims, range requests, and the audit
//! trail of a review made through the forms.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use recueil_console::auth::hash_password;
use recueil_console::{router, AppState, ConsoleConfig};
use recueil_core::{
    Channel, Contribution, EngineInfo, Evidence, EvidenceKind, Question, QuestionSet, Source,
    SourceId, Status, Urn,
};
use recueil_store::Store;
use recueil_testkit::TestDb;
use tower::ServiceExt;

mod common;

use common::{failed_source, fixture, get, login, post, send, session, try_login, PASSWORD};

/// Stores `bytes` as a source and the contribution a worker would have made
/// of it, waiting for review.
async fn seed(store: &Store, channel: Channel, name: &str, raw: &str) -> SourceId {
    let bytes = fixture(name);
    let urn: Option<Urn> = (channel == Channel::Ballot).then(|| "mq-doulon".parse().unwrap());
    let source = Source {
        id: SourceId::new(),
        channel,
        sha256: recueil_core::sha256_hex(&bytes),
        media_type: if channel == Channel::Ballot {
            "image/png".into()
        } else {
            "audio/wav".into()
        },
        size: bytes.len() as u64,
        original_name: name.into(),
        received_at: Utc::now(),
        caller_ref: (channel == Channel::Voicemail).then(|| "k1:abcdef".into()),
        urn: urn.clone(),
        batch: urn.as_ref().map(|_| "2022-03-14".into()),
        page: 0,
    };
    store.ingest(&source, &bytes).await.unwrap();
    store.begin_attempt(source.id, 1).await.unwrap();
    let redacted = recueil_privacy::redact(raw);
    let q1 = Question::new(1).unwrap();
    let mut questions = QuestionSet::empty();
    questions.insert(q1);
    store
        .record_contribution(&Contribution {
            source_id: source.id,
            channel,
            questions,
            evidence: vec![Evidence {
                question: q1,
                kind: EvidenceKind::Checkbox,
                cue: "case 1".into(),
            }],
            text: redacted.text,
            raw_text: raw.into(),
            language: Some("fr".into()),
            confidence: 0.4,
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
            segments: Vec::new(),
            lines: Vec::new(),
            review_image: (channel == Channel::Ballot).then(|| bytes.clone()),
        })
        .await
        .unwrap();
    source.id
}

struct Console {
    app: Router,
    store: Store,
    ballot: SourceId,
    voicemail: SourceId,
    _db: TestDb,
}

async fn console(db: TestDb) -> Console {
    let store = Store::connect(&db.url).await.unwrap();
    for (name, role) in [
        ("alice", "reviewer"),
        ("bob", "reviewer"),
        ("sam", "staff"),
        ("olga", "operator"),
    ] {
        store
            .put_user(name, role, &hash_password(PASSWORD).unwrap())
            .await
            .unwrap();
    }
    let ballot = seed(
        &store,
        Channel::Ballot,
        "ballot-manuscrit.png",
        "Il faudrait plus de bancs. Appelez-moi au 06 12 34 56 78",
    )
    .await;
    let voicemail = seed(
        &store,
        Channel::Voicemail,
        "voicemail-q3-accueil-soir.wav",
        "bonjour je voudrais un accueil le soir",
    )
    .await;
    Console {
        app: router(AppState::new(store.clone(), ConsoleConfig::default())),
        store,
        ballot,
        voicemail,
        _db: db,
    }
}

#[tokio::test]
async fn anonymous_requests_are_refused_everywhere_but_login_and_health() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let id = c.ballot;
        for path in [
            "/".to_owned(),
            "/revue".into(),
            "/revue?canal=ballot".into(),
            format!("/revue/{id}"),
            format!("/revue/{id}/original"),
            format!("/revue/{id}/recadrage.png"),
            format!("/revue/{id}/ligne/1"),
            format!("/revue/{id}/page.png?p=2"),
            "/exploitation".into(),
            "/no-such-page".into(),
        ] {
            let r = get(&c.app, &path, None).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "GET {path}");
            assert!(r.location().starts_with("/login?next=/"), "GET {path}");
        }
        for path in [
            format!("/revue/{id}"),
            "/logout".into(),
            "/exploitation/rejouer".into(),
        ] {
            let r = post(&c.app, &path, None, &[("action", "approve")]).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "POST {path}");
        }
        let r = post(&c.app, &format!("/api/v1/revue/{id}/claim"), None, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // A made-up session is no session.
        let r = get(&c.app, "/revue", Some(&"0".repeat(64))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        for path in [
            "/login",
            "/healthz",
            "/readyz",
            "/static/console.css",
            "/static/console.js",
        ] {
            assert_eq!(
                get(&c.app, path, None).await.status,
                StatusCode::OK,
                "{path}"
            );
        }
        assert_eq!(
            c.store.contribution(id).await.unwrap().unwrap().status,
            Status::NeedsReview
        );
    }
}

#[tokio::test]
async fn forms_without_the_session_token_are_refused() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let alice = login(&c.app, "alice").await;
        let path = format!("/revue/{}", c.ballot);
        let r = post(
            &c.app,
            &path,
            Some(&session(&alice)),
            &[("action", "approve")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let wrong = "ab".repeat(32);
        let r = post(
            &c.app,
            &path,
            Some(&session(&alice)),
            &[("action", "approve"), ("csrf", &wrong), ("q1", "on")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Another session's token does not do either.
        let bob = login(&c.app, "bob").await;
        let bob_csrf = get(&c.app, "/", Some(&bob)).await.csrf();
        let r = post(
            &c.app,
            &path,
            Some(&session(&alice)),
            &[("action", "approve"), ("csrf", &bob_csrf), ("q1", "on")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            c.store
                .contribution(c.ballot)
                .await
                .unwrap()
                .unwrap()
                .status,
            Status::NeedsReview
        );
        assert!(c.store.audit(c.ballot).await.unwrap().is_empty());
        // The login form itself needs its cookie.
        let r = post(
            &c.app,
            "/login",
            None,
            &[("name", "alice"), ("password", PASSWORD), ("csrf", &wrong)],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.cookie("recueil_session").is_none());
        // The claim API wants the token in a header.
        let r = post(
            &c.app,
            &format!("/api/v1/revue/{}/claim", c.ballot),
            Some(&session(&alice)),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Logging out ends the session.
        let csrf = get(&c.app, "/", Some(&alice)).await.csrf();
        let r = post(
            &c.app,
            "/logout",
            Some(&session(&alice)),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.location(), "/login");
        assert_eq!(
            get(&c.app, "/revue", Some(&alice)).await.status,
            StatusCode::SEE_OTHER
        );
    }
}

#[tokio::test]
async fn a_role_sees_and_does_only_what_it_needs() {
    for db in TestDb::both().await {
        let c = console(db).await;
        for name in ["sam", "olga"] {
            let token = login(&c.app, name).await;
            let home = get(&c.app, "/", Some(&token)).await;
            assert_eq!(home.status, StatusCode::OK);
            assert!(
                !home.body.contains("/revue\""),
                "{name} is not offered the queue"
            );
            for path in [
                "/revue".to_owned(),
                format!("/revue/{}", c.ballot),
                format!("/revue/{}/original", c.voicemail),
                format!("/revue/{}/recadrage.png", c.ballot),
            ] {
                let r = get(&c.app, &path, Some(&token)).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} GET {path}");
                assert!(!r.body.contains("06 12 34 56 78"));
                assert!(!r.body.contains("k1:abcdef"));
            }
            let csrf = home.csrf();
            let r = post(
                &c.app,
                &format!("/revue/{}", c.ballot),
                Some(&session(&token)),
                &[("action", "approve"), ("csrf", &csrf), ("q1", "on")],
            )
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} cannot approve");
        }
        assert!(c.store.audit(c.ballot).await.unwrap().is_empty());
        // The operator sees the pipeline's counts, as `recueil status` does.
        let olga = login(&c.app, "olga").await;
        let home = get(&c.app, "/", Some(&olga)).await;
        let done = c.store.counts().await.unwrap().done;
        assert!(home
            .body
            .contains(&format!("<th scope=\"row\">traitées</th><td>{done}</td>")));
        // A reviewer sees the raw text (with its mask) and the caller reference.
        let alice = login(&c.app, "alice").await;
        let page = get(&c.app, &format!("/revue/{}", c.ballot), Some(&alice)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("<mark title=\"masqué : phone\""),
            "{}",
            page.body
        );
        let page = get(&c.app, &format!("/revue/{}", c.voicemail), Some(&alice)).await;
        assert!(page.body.contains("k1:abcdef"));
        assert!(page.body.contains(&format!(
            "<audio controls preload=\"metadata\" src=\"/revue/{}/original\"",
            c.voicemail
        )));
    }
}

#[tokio::test]
async fn a_second_reviewer_is_told_the_item_is_taken() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let alice = login(&c.app, "alice").await;
        let bob = login(&c.app, "bob").await;
        let path = format!("/revue/{}", c.voicemail);
        let first = get(&c.app, &path, Some(&alice)).await;
        assert_eq!(first.status, StatusCode::OK);
        assert!(!first.body.contains("relit déjà"));
        let second = get(&c.app, &path, Some(&bob)).await;
        assert!(
            second.body.contains("alice relit déjà cette contribution"),
            "{}",
            second.body
        );
        assert!(second
            .body
            .contains("<textarea id=\"text\" name=\"text\" rows=\"10\" disabled>"));
        let queue = get(&c.app, "/revue", Some(&bob)).await;
        assert!(queue.body.contains("pris par alice"));
        let r = post(
            &c.app,
            &path,
            Some(&session(&bob)),
            &[
                ("action", "approve"),
                ("csrf", &second.csrf()),
                ("q1", "on"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.body.contains("alice relit cette contribution"));
        let mut req = Request::post(format!("/api/v1/revue/{}/claim", c.voicemail))
            .header(header::COOKIE, session(&bob))
            .header("x-csrf-token", second.csrf())
            .body(Body::empty())
            .unwrap();
        let r = send(&c.app, req).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(json["by"], "alice");
        req = Request::post(format!("/api/v1/revue/{}/claim", c.voicemail))
            .header(header::COOKIE, session(&alice))
            .header("x-csrf-token", first.csrf())
            .body(Body::empty())
            .unwrap();
        let r = send(&c.app, req).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["held"],
            true
        );
        // Alice decides; the item is free again and the audit names her.
        let r = post(
            &c.app,
            &path,
            Some(&session(&alice)),
            &[
                ("action", "approve"),
                ("csrf", &first.csrf()),
                ("q1", "on"),
                ("text", "bonjour je voudrais un accueil le soir"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let audit = c.store.audit(c.voicemail).await.unwrap();
        assert_eq!(audit.len(), 1, "approval without changes: no edit");
        assert_eq!(
            (audit[0].actor.as_str(), audit[0].action.as_str()),
            ("alice", "approve")
        );
        assert!(c.store.claims().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_review_through_the_forms_is_audited_with_the_reviewers_name() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let alice = login(&c.app, "alice").await;
        let path = format!("/revue/{}?canal=ballot", c.ballot);
        let page = get(&c.app, &path, Some(&alice)).await;
        assert!(page.body.contains("1 / 1"));
        assert!(page.body.contains("case cochée sur le bulletin"));
        assert!(page
            .body
            .contains(&format!("/revue/{}/recadrage.png", c.ballot)));
        let csrf = page.csrf();
        let form = format!("/revue/{}", c.ballot);
        // No question: the workflow refuses, the page says why.
        let r = post(
            &c.app,
            &form,
            Some(&session(&alice)),
            &[("action", "approve"), ("csrf", &csrf), ("canal", "ballot")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Cochez au moins une question"));
        let r = post(
            &c.app,
            &form,
            Some(&session(&alice)),
            &[
                ("action", "approve"),
                ("csrf", &csrf),
                ("canal", "ballot"),
                (
                    "text",
                    "Il faudrait plus de bancs publics. Mon numéro : 06 12 34 56 78",
                ),
                ("q1", "on"),
                ("q3", "on"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/revue?fait=approuve&canal=ballot");
        let after = c.store.contribution(c.ballot).await.unwrap().unwrap();
        assert_eq!(after.status, Status::Published);
        assert_eq!(after.questions.to_string(), "1,3");
        assert!(!after.text.contains("06 12"), "re-masked: {}", after.text);
        assert_eq!(after.redactions.len(), 1, "the new mask is stored");
        assert!(after.raw_text.contains("06 12 34 56 78"), "kept restricted");
        let audit = c.store.audit(c.ballot).await.unwrap();
        let actions: Vec<_> = audit
            .iter()
            .map(|a| (a.actor.as_str(), a.action.as_str()))
            .collect();
        assert_eq!(actions, [("alice", "edit"), ("alice", "approve")]);
        // Rejecting the voicemail, with a reason.
        let page = get(&c.app, &format!("/revue/{}", c.voicemail), Some(&alice)).await;
        let r = post(
            &c.app,
            &format!("/revue/{}", c.voicemail),
            Some(&session(&alice)),
            &[
                ("action", "reject"),
                ("csrf", &page.csrf()),
                ("reason", "off_topic"),
            ],
        )
        .await;
        assert_eq!(r.location(), "/revue?fait=rejete");
        let audit = c.store.audit(c.voicemail).await.unwrap();
        assert_eq!(
            (audit[0].actor.as_str(), audit[0].action.as_str()),
            ("alice", "reject")
        );
        assert_eq!(audit[0].after["reason"], "off_topic");
        let queue = get(&c.app, "/revue?fait=rejete", Some(&alice)).await;
        assert!(
            queue.body.contains("Contribution rejetée.") && queue.body.contains("Rien à relire")
        );
    }
}

#[tokio::test]
async fn logins_are_throttled_after_repeated_failures() {
    let c = console(TestDb::sqlite()).await;
    for _ in 0..recueil_console::auth::FREE_FAILURES {
        let r = try_login(&c.app, "alice", "not the password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("Nom ou mot de passe incorrect"));
    }
    let r = try_login(&c.app, "alice", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("réessayez dans"), "{}", r.body);
    assert!(r.cookie("recueil_session").is_none());
    // Another account from the same address is not held back.
    login(&c.app, "bob").await;
}

#[tokio::test]
async fn recordings_are_served_with_range_requests() {
    let c = console(TestDb::sqlite()).await;
    let alice = login(&c.app, "alice").await;
    let wav = fixture("voicemail-q3-accueil-soir.wav");
    let path = format!("/revue/{}/original", c.voicemail);
    let full = get(&c.app, &path, Some(&alice)).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.headers[header::ACCEPT_RANGES], "bytes");
    assert_eq!(full.headers[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(full.body.len(), String::from_utf8_lossy(&wav).len());
    let ranged = |range: String| {
        Request::get(&path)
            .header(header::COOKIE, session(&alice))
            .header(header::RANGE, range)
            .body(Body::empty())
            .unwrap()
    };
    let res = c
        .app
        .clone()
        .oneshot(ranged("bytes=1000-1099".into()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()[header::CONTENT_RANGE],
        format!("bytes 1000-1099/{}", wav.len()).as_str()
    );
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(&body[..], &wav[1000..1100]);
    let res = c
        .app
        .clone()
        .oneshot(ranged(format!("bytes={}-", wav.len())))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        res.headers()[header::CONTENT_RANGE],
        format!("bytes */{}", wav.len()).as_str()
    );
}

#[tokio::test]
async fn an_operator_replays_a_failed_source_and_the_history_names_them() {
    for db in TestDb::both().await {
        let c = console(db).await;
        let source = failed_source(
            &c.store,
            Channel::Voicemail,
            "casse.wav",
            b"RIFF\0\0\0\0WAVEfmt broken",
            "casse.wav: not audio",
        )
        .await;
        // A reviewer has no business here.
        let alice = login(&c.app, "alice").await;
        assert_eq!(
            get(&c.app, "/exploitation", Some(&alice)).await.status,
            StatusCode::FORBIDDEN
        );
        let olga = login(&c.app, "olga").await;
        let page = get(&c.app, "/exploitation", Some(&olga)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("casse.wav: not audio"));
        assert!(page
            .body
            .contains("<th scope=\"row\">en échec</th><td>1</td>"));
        let r = post(
            &c.app,
            "/exploitation/rejouer",
            Some(&session(&olga)),
            &[("id", &source.id.to_string())],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
        let r = post(
            &c.app,
            "/exploitation/rejouer",
            Some(&session(&olga)),
            &[("id", &source.id.to_string()), ("csrf", &page.csrf())],
        )
        .await;
        assert_eq!(r.location(), "/exploitation?rejoues=1");
        let record = c.store.source(source.id).await.unwrap().unwrap();
        assert_eq!(record.state, recueil_store::SourceState::Queued);
        let events = c.store.events(source.id).await.unwrap();
        assert!(events
            .iter()
            .any(|e| e.1 == "replayed" && e.2.contains("by olga")));
        let page = get(&c.app, "/exploitation?rejoues=1", Some(&olga)).await;
        assert!(page.body.contains("1 source(s) remise(s) en file."));
        assert!(page.body.contains("Aucune source en échec."));
    }
}
