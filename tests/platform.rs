//! The platform contract on PostgreSQL (docs/platform.md): the typed schema
//! converts a database filled by the previous version without losing
//! anything; a platform role reads the published view and nothing else; the
//! change feed tells a listener about each publication.

use chrono::{DateTime, Utc};
use recueil_core::{Channel, QuestionSet, SourceId, Status};
use recueil_store::{ReviewChange, Store};
use recueil_testkit::TestDb;
use sqlx::{Connection, PgConnection};
use std::path::Path;

/// Applies the migrations of the previous version only (0001 to 0003): the
/// schema that production databases have before this version.
async fn old_schema(url: &str) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/store/migrations/postgres");
    for name in [
        "0001_backbone.sql",
        "0002_review.sql",
        "0003_review_image.sql",
    ] {
        let sql = std::fs::read_to_string(dir.join(name)).unwrap();
        sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
    }
    // Record them as applied, as sqlx's migrator did, so that connecting
    // applies 0004 and later only.
    let migrator = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
             checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for m in migrator.iter().filter(|m| m.version <= 3) {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES ($1, $2, true, $3, 0)",
        )
        .bind(m.version)
        .bind(m.description.as_ref())
        .bind(m.checksum.as_ref())
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const ID_BALLOT: &str = "0190c3a2-7b1e-7000-8000-000000000001";
const ID_VOICE: &str = "0190c3a2-7b1e-7000-8000-000000000002";
const ID_QUEUED: &str = "0190c3a2-7b1e-7000-8000-000000000003";

/// Rows as the previous version wrote them: text ids and timestamps,
/// `'1,3'`, `late` as a number, JSON as text, an audit event, an outbox row.
async fn fill_as_previous_version(url: &str) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&format!(
        "INSERT INTO blobs VALUES ('{SHA_A}', 'scan', 4, '2022-03-14T09:00:00.000000Z', NULL);
         INSERT INTO blobs VALUES ('{SHA_B}', NULL, 9, '2022-03-14T09:00:00.000000Z', '2022-09-01T00:00:00.000000Z');
         INSERT INTO sources VALUES ('{ID_BALLOT}', 'ballot', '{SHA_A}', 'image/png', 4, 'urne.png',
             '2022-03-14T22:30:00.000000Z', NULL, 'mq-doulon', 'lot-1', 1, 'done', 1, NULL,
             '2022-03-14T22:30:00.000000Z', '2022-03-14T22:31:00.000000Z');
         INSERT INTO sources VALUES ('{ID_VOICE}', 'voicemail', '{SHA_B}', 'audio/x-wav', 9, 'msg0001.wav',
             '2022-06-21T08:00:00.000000Z', 'k1:abcdef', NULL, NULL, 0, 'done', 2, NULL,
             '2022-06-21T08:00:00.000000Z', '2022-06-21T08:01:00.000000Z');
         INSERT INTO sources VALUES ('{ID_QUEUED}', 'voicemail', '{SHA_A}', 'audio/x-wav', 4, 'q.wav',
             '2022-06-21T09:00:00.000000Z', NULL, NULL, NULL, 0, 'queued', 0, NULL,
             '2022-06-21T09:00:00.000000Z', '2022-06-21T09:00:00.000000Z');
         INSERT INTO outbox (source_id, channel, payload, created_at) VALUES ('{ID_QUEUED}', 'voicemail',
             '{{\"schema\":1,\"source_id\":\"{ID_QUEUED}\",\"channel\":\"voicemail\",\"attempt\":1}}', '2022-06-21T09:00:00.000000Z');
         INSERT INTO contributions VALUES ('{ID_BALLOT}', 'ballot', '1,3',
             '[{{\"question\":1,\"kind\":\"checkbox\",\"cue\":\"case 1\"}},{{\"question\":3,\"kind\":\"checkbox\",\"cue\":\"case 3\"}}]',
             'Plus de bancs', 'Plus de bancs', 'fr', 0.91, 'published',
             '2022-03-14T22:30:00.000000Z', '2022-03-14T22:31:00.000000Z', 'mq-doulon', 'tesseract', '5.3', 0,
             '[]', NULL, NULL);
         INSERT INTO contributions VALUES ('{ID_VOICE}', 'voicemail', '2',
             '[{{\"question\":2,\"kind\":\"explicit\",\"cue\":\"question 2\"}}]',
             'appelez [téléphone]', 'appelez 06 12 34 56 78', 'fr', 0.5, 'needs_review',
             '2022-06-21T08:00:00.000000Z', '2022-06-21T08:01:00.000000Z', NULL, 'whisper', 'base', 1,
             '[{{\"kind\":\"phone\",\"start\":8,\"end\":22}}]', NULL, NULL);
         INSERT INTO audit_events (source_id, at, actor, action, before, after) VALUES ('{ID_BALLOT}',
             '2022-03-15T10:00:00.000000Z', 'camille', 'approve', '{{\"status\":\"needs_review\"}}', '{{\"status\":\"published\"}}');
         INSERT INTO source_events (source_id, at, kind, message) VALUES ('{ID_BALLOT}',
             '2022-03-14T22:30:00.000000Z', 'ingested', 'urne.png');"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn migration_converts_a_database_of_the_previous_version_losing_nothing() {
    let db = TestDb::postgres().await;
    old_schema(&db.url).await;
    fill_as_previous_version(&db.url).await;

    let store = Store::connect(&db.url)
        .await
        .expect("migrates to the typed schema");

    let ballot: SourceId = ID_BALLOT.parse().unwrap();
    let c = store.contribution(ballot).await.unwrap().unwrap();
    assert_eq!(c.channel, Channel::Ballot);
    assert_eq!(c.questions, QuestionSet::parse_list("1,3").unwrap());
    assert_eq!(c.evidence.len(), 2);
    assert_eq!(c.status, Status::Published);
    assert_eq!(c.received_at, ts("2022-03-14T22:30:00Z"));
    assert_eq!(c.processed_at, ts("2022-03-14T22:31:00Z"));
    assert!(!c.late);
    assert_eq!(c.urn.as_ref().map(|u| u.as_str()), Some("mq-doulon"));
    assert!((c.confidence - 0.91).abs() < 1e-6);

    let voice: SourceId = ID_VOICE.parse().unwrap();
    let v = store.contribution(voice).await.unwrap().unwrap();
    assert!(v.late, "late 1 became true");
    assert_eq!(v.raw_text, "appelez 06 12 34 56 78");
    assert_eq!(v.redactions.len(), 1);
    assert_eq!(v.redactions[0].start, 8);
    assert!(v.segments.is_empty());

    let record = store.source(voice).await.unwrap().unwrap();
    assert_eq!(record.source.caller_ref.as_deref(), Some("k1:abcdef"));
    assert_eq!(record.attempts, 2);
    assert_eq!(store.original(SHA_A).await.unwrap().unwrap(), b"scan");
    assert_eq!(
        store.original(SHA_B).await.unwrap(),
        None,
        "purged stays purged"
    );

    let audit = store.audit(ballot).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "camille");
    assert_eq!(audit[0].after["status"], "published");
    assert_eq!(store.events(ballot).await.unwrap().len(), 1);

    // The outbox row still makes a job, and the counts are whole.
    let outbox = store
        .claim_outbox(10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].job.source_id.to_string(), ID_QUEUED);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.done, counts.queued, counts.outbox), (2, 1, 1));

    // Native types, as a platform sees them.
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    let (questions, late, received): (Vec<i16>, bool, DateTime<Utc>) = sqlx::query_as(
        "SELECT questions, late, received_at FROM contributions WHERE source_id = $1::uuid",
    )
    .bind(ID_BALLOT)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        (questions, late, received),
        (vec![1, 3], false, ts("2022-03-14T22:30:00Z"))
    );
    // The schema refuses what the contract forbids.
    for bad in ["'{4}'", "'{2,1}'", "'{1,1}'"] {
        let r = sqlx::query(&format!(
            "UPDATE contributions SET questions = {bad} WHERE source_id = '{ID_BALLOT}'"
        ))
        .execute(&mut conn)
        .await;
        assert!(r.is_err(), "questions {bad} accepted");
    }
}

/// A role of this test's own (roles are shared by the whole cluster).
async fn platform_role(admin_url: &str) -> String {
    let role = format!("recueil_platform_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(admin_url).await.unwrap();
    sqlx::raw_sql(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'platform-test'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    role
}

async fn drop_role(admin_url: &str, db_url: &str, role: &str) {
    let mut conn = PgConnection::connect(db_url).await.unwrap();
    let _ = sqlx::raw_sql(&format!("DROP OWNED BY {role}"))
        .execute(&mut conn)
        .await;
    drop(conn);
    let mut conn = PgConnection::connect(admin_url).await.unwrap();
    let _ = sqlx::raw_sql(&format!("DROP ROLE IF EXISTS {role}"))
        .execute(&mut conn)
        .await;
}

#[tokio::test]
async fn the_platform_role_reads_the_published_view_and_nothing_else() {
    let db = TestDb::postgres().await;
    old_schema(&db.url).await;
    fill_as_previous_version(&db.url).await;
    let store = Store::connect(&db.url).await.unwrap();
    let role = platform_role(&recueil_testkit::postgres_admin_url()).await;
    let role_url = db.url.replacen(
        "postgres://postgres@",
        &format!("postgres://{role}:platform-test@"),
        1,
    );
    store.grant_platform(&role).await.unwrap();
    assert!(store.grant_platform("no_such_role_here").await.is_err());

    let mut conn = PgConnection::connect(&role_url).await.unwrap();
    let rows: Vec<(uuid::Uuid, Vec<i16>, String, String)> =
        sqlx::query_as("SELECT id, questions, text, status FROM platform.contributions")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1, "only the published contribution");
    assert_eq!(rows[0].0.to_string(), ID_BALLOT);
    assert_eq!(rows[0].1, vec![1, 3]);
    let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM platform.contribution_changes")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(changes, 2);

    // No raw text, no caller reference, no original bytes, no audit.
    for forbidden in [
        "SELECT raw_text FROM contributions",
        "SELECT caller_ref FROM sources",
        "SELECT bytes FROM blobs",
        "SELECT before FROM audit_events",
        "SELECT message FROM source_events",
    ] {
        let err = sqlx::query(forbidden)
            .fetch_all(&mut conn)
            .await
            .expect_err(forbidden);
        assert!(
            err.to_string().contains("permission denied"),
            "{forbidden}: {err}"
        );
    }
    // The view has no restricted column to select.
    let err = sqlx::query("SELECT raw_text FROM platform.contributions")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    // Read-only.
    for write in [
        "DELETE FROM platform.contributions",
        "UPDATE platform.contribution_changes SET status = 'published'",
    ] {
        let err = sqlx::query(write).execute(&mut conn).await.unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("permission denied") || err.contains("cannot"),
            "{write}: {err}"
        );
    }
    conn.close().await.unwrap();
    store.close().await;
    drop_role(&recueil_testkit::postgres_admin_url(), &db.url, &role).await;
}

#[tokio::test]
async fn the_change_feed_tells_a_listener_and_moves_the_cursor() {
    let db = TestDb::postgres().await;
    old_schema(&db.url).await;
    fill_as_previous_version(&db.url).await;
    let store = Store::connect(&db.url).await.unwrap();
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener.listen("recueil_contributions").await.unwrap();

    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    let cursor: DateTime<Utc> =
        sqlx::query_scalar("SELECT max(updated_at) FROM platform.contribution_changes")
            .fetch_one(&mut conn)
            .await
            .unwrap();

    let voice: SourceId = ID_VOICE.parse().unwrap();
    store
        .review(voice, "camille", ReviewChange::Approve)
        .await
        .unwrap();

    let note = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
        .await
        .expect("a notification within 10 s")
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(note.payload()).unwrap();
    assert_eq!(payload["id"], ID_VOICE);
    assert_eq!(payload["status"], "published");

    // A platform polling with a cursor finds the same change.
    let changed: Vec<(uuid::Uuid, bool)> = sqlx::query_as(
        "SELECT id, published FROM platform.contribution_changes WHERE updated_at > $1 ORDER BY updated_at, id",
    )
    .bind(cursor)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].0.to_string(), ID_VOICE);
    assert!(changed[0].1);
    let published: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM platform.contributions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(published, 2);
}
