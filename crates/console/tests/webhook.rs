//! The telephony provider's webhook (`POST /api/v1/voicemails`) over plain
//! HTTP (the router, in process), on both backends: API keys, the caller's
//! number kept only as its keyed reference, idempotence on the provider's
//! message id, and what is refused before anything is stored.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{fixture, multipart, BOUNDARY};
use recueil_console::{router, ApiKey, AppState, ConsoleConfig};
use recueil_core::{Channel, SourceId};
use recueil_privacy::CallerKey;
use recueil_store::Store;
use recueil_testkit::TestDb;
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "ophone-0123456789abcdef0123456789abcdef";
const NUMBER: &str = "06 12 34 56 78";
const DIGITS: &str = "0612345678";

/// The console over `db`, with one provider's key; a caller key or not.
async fn console(db: &TestDb, with_caller_key: bool) -> (Router, Store) {
    let store = Store::connect(&db.url).await.unwrap();
    let app = router(AppState {
        caller_key: with_caller_key.then(|| Arc::new(CallerKey::new(&[7u8; 32]).unwrap())),
        ..AppState::new(
            store.clone(),
            ConsoleConfig {
                api_keys: vec![ApiKey::new("ophone", KEY)],
                ..ConsoleConfig::default()
            },
        )
    });
    (app, store)
}

struct Reply {
    status: StatusCode,
    json: serde_json::Value,
}

async fn post(app: &Router, key: Option<&str>, body: Vec<u8>) -> Reply {
    let mut req = Request::post("/api/v1/voicemails").header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    if let Some(k) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Reply { status, json }
}

fn voicemail(message_id: &str, audio: &[u8], caller: Option<&str>) -> Vec<u8> {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("audio", Some("0612345678-message.wav"), audio),
        ("received_at", None, b"2026-03-14T18:05:00+01:00"),
        ("message_id", None, message_id.as_bytes()),
    ];
    if let Some(c) = caller {
        parts.push(("caller", None, c.as_bytes()));
    }
    multipart(&parts)
}

/// Everything the store keeps of the sources and the jobs, as text.
async fn stored_text(db: &TestDb) -> String {
    use sqlx::Connection;
    if db.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let mut all = String::new();
        for q in [
            "SELECT coalesce(string_agg(s::text, '|'), '') FROM sources s",
            "SELECT coalesce(string_agg(o::text, '|'), '') FROM outbox o",
        ] {
            let t: String = sqlx::query_scalar(q).fetch_one(&mut c).await.unwrap();
            all.push_str(&t);
        }
        all
    } else {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let mut all = String::new();
        for q in [
            "SELECT coalesce(group_concat(id || ' ' || channel || ' ' || sha256 || ' ' || media_type
                 || ' ' || original_name || ' ' || received_at || ' ' || coalesce(caller_ref, '')
                 || ' ' || coalesce(batch, ''), '|'), '') FROM sources",
            "SELECT coalesce(group_concat(source_id || ' ' || payload, '|'), '') FROM outbox",
        ] {
            let t: String = sqlx::query_scalar(q).fetch_one(&mut c).await.unwrap();
            all.push_str(&t);
        }
        all
    }
}

#[tokio::test]
async fn a_provider_posts_a_voicemail_once_and_the_number_is_never_stored() {
    for db in TestDb::both().await {
        let (app, store) = console(&db, true).await;
        let wav = fixture("voicemail-q3-accueil-soir.wav");

        let r = post(&app, None, voicemail("m-1", &wav, Some(NUMBER))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.json);
        let r = post(
            &app,
            Some("ophone-not-the-key-0123456789"),
            voicemail("m-1", &wav, Some(NUMBER)),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.json);
        assert!(
            r.json["error"].as_str().unwrap().contains("clé"),
            "{}",
            r.json
        );
        assert!(store.sources().await.unwrap().is_empty());

        let r = post(&app, Some(KEY), voicemail("m-1", &wav, Some(NUMBER))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        assert_eq!(r.json["status"], "accepted");
        let id: SourceId = r.json["id"].as_str().unwrap().parse().unwrap();
        let record = store
            .source(id)
            .await
            .unwrap()
            .expect("the source is stored");
        let s = &record.source;
        assert_eq!(s.channel, Channel::Voicemail);
        assert_eq!(s.batch.as_deref(), Some("ophone:m-1"));
        assert_eq!(s.received_at.to_rfc3339(), "2026-03-14T17:05:00+00:00");
        let caller_ref = s.caller_ref.as_deref().expect("a caller reference");
        assert!(
            !caller_ref.contains(DIGITS) && caller_ref.contains(':'),
            "{caller_ref}"
        );
        let expected = CallerKey::new(&[7u8; 32])
            .unwrap()
            .reference(NUMBER)
            .unwrap();
        assert_eq!(caller_ref, expected);
        let text = stored_text(&db).await;
        assert!(
            text.contains(&id.to_string()),
            "the dump holds the source: {text}"
        );
        assert!(
            !text.contains(DIGITS) && !text.contains(NUMBER),
            "the number is stored: {text}"
        );

        // The provider retries: the same message id is the same message.
        let r = post(&app, Some(KEY), voicemail("m-1", &wav, Some(NUMBER))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        assert_eq!(r.json["status"], "duplicate");
        assert_eq!(r.json["id"], id.to_string());
        // The same recording under another id is a duplicate at intake.
        let r = post(&app, Some(KEY), voicemail("m-2", &wav, Some(NUMBER))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        assert_eq!(r.json["id"], id.to_string());
        assert_eq!(store.sources().await.unwrap().len(), 1);
        // One job went through the outbox for the workers.
        let jobs = store
            .claim_outbox(10, std::time::Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].job.source_id, id);
    }
}

#[tokio::test]
async fn what_is_not_audio_or_has_a_number_without_a_key_is_refused_and_nothing_is_stored() {
    for db in TestDb::both().await {
        let (app, store) = console(&db, true).await;
        let png = fixture("ballot-manuscrit.png");
        let r = post(&app, Some(KEY), voicemail("m-png", &png, None)).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.json);
        let msg = r.json["error"].as_str().unwrap();
        assert!(
            msg.starts_with("audio") && msg.contains("image/png"),
            "{msg}"
        );

        let wav = fixture("voicemail-q3-accueil-soir.wav");
        let r = post(
            &app,
            Some(KEY),
            multipart(&[("audio", Some("a.wav"), &wav)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
        assert!(
            r.json["error"].as_str().unwrap().starts_with("message_id"),
            "{}",
            r.json
        );
        let mut bad_date = voicemail("m-date", &wav, None);
        bad_date = String::from_utf8_lossy(&bad_date)
            .replace("2026-03-14T18:05:00+01:00", "hier soir")
            .into_bytes();
        let r = post(&app, Some(KEY), bad_date).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
        assert!(
            r.json["error"].as_str().unwrap().starts_with("received_at"),
            "{}",
            r.json
        );
        assert!(store.sources().await.unwrap().is_empty());

        let (no_key, store) = console(&db, false).await;
        let r = post(&no_key, Some(KEY), voicemail("m-3", &wav, Some(NUMBER))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.json);
        let msg = r.json["error"].as_str().unwrap();
        assert!(msg.starts_with("caller") && msg.contains("clé"), "{msg}");
        assert!(!msg.contains(DIGITS) && !msg.contains(NUMBER));
        assert!(store.sources().await.unwrap().is_empty());
        // Without a number, the same console takes it.
        let r = post(&no_key, Some(KEY), voicemail("m-3", &wav, None)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        let id: SourceId = r.json["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            store.source(id).await.unwrap().unwrap().source.caller_ref,
            None
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let db = TestDb::sqlite();
    let (app, store) = console(&db, true).await;
    let mut big = fixture("voicemail-q3-accueil-soir.wav");
    big.resize(33 * 1024 * 1024, 0);
    let r = post(&app, Some(KEY), voicemail("m-big", &big, None)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.json);
    assert!(
        r.json["error"].as_str().unwrap().starts_with("audio"),
        "{}",
        r.json
    );
    assert!(store.sources().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_openapi_description_is_served_without_a_key() {
    let db = TestDb::sqlite();
    let (app, _store) = console(&db, true).await;
    let res = app
        .oneshot(
            Request::get("/api/v1/openapi.yaml")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("application/yaml"), "{ct}");
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.starts_with("openapi: 3.1"), "{text}");
    assert!(text.contains("/api/v1/voicemails:") && text.contains("scheme: bearer"));
    for field in ["audio:", "caller:", "received_at:", "message_id:"] {
        assert!(text.contains(field), "{field} is not described");
    }
}
