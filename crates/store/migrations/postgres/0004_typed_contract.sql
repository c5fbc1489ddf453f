-- The platform contract (docs/platform.md): PostgreSQL's own types instead of
-- the text columns the first schema shared with SQLite, the published view a
-- platform reads, and a change feed.
--
-- Existing rows are converted in place: ids parse as uuid, the fixed-width
-- RFC 3339 texts as timestamptz, '1,3' becomes {1,3}, JSON texts become jsonb.
-- A row that does not convert makes the migration fail as a whole (it runs in
-- one transaction), so nothing is ever half converted.

-- Foreign keys to sources(id) must go while the key changes type.
ALTER TABLE outbox DROP CONSTRAINT outbox_source_id_fkey;
ALTER TABLE contributions DROP CONSTRAINT contributions_source_id_fkey;
ALTER TABLE source_events DROP CONSTRAINT source_events_source_id_fkey;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_source_id_fkey;

ALTER TABLE blobs
    ALTER COLUMN created_at TYPE timestamptz USING created_at::timestamptz,
    ALTER COLUMN purged_at TYPE timestamptz USING purged_at::timestamptz,
    ADD CONSTRAINT blobs_sha256_hex CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT blobs_size_positive CHECK (size >= 0);

ALTER TABLE sources
    ALTER COLUMN id TYPE uuid USING id::uuid,
    ALTER COLUMN received_at TYPE timestamptz USING received_at::timestamptz,
    ALTER COLUMN page TYPE integer,
    ALTER COLUMN attempts TYPE integer,
    ALTER COLUMN created_at TYPE timestamptz USING created_at::timestamptz,
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at::timestamptz,
    ADD CONSTRAINT sources_page_positive CHECK (page >= 0),
    ADD CONSTRAINT sources_attempts_positive CHECK (attempts >= 0);

ALTER TABLE outbox
    ALTER COLUMN source_id TYPE uuid USING source_id::uuid,
    ALTER COLUMN payload TYPE jsonb USING payload::jsonb,
    ALTER COLUMN created_at TYPE timestamptz USING created_at::timestamptz,
    ALTER COLUMN claimed_until TYPE timestamptz USING claimed_until::timestamptz,
    ADD CONSTRAINT outbox_channel CHECK (channel IN ('voicemail', 'ballot'));

-- A question set is at most {1,2,3}: an array, sorted and without repeats,
-- rather than a join table. It is written with its contribution in one
-- statement, read whole, and a GIN index answers "every answer to question 2"
-- (questions @> '{2}') without a join.
CREATE FUNCTION recueil_question_set_ok(q smallint[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT q <@ '{1,2,3}'::smallint[]
       AND q = ARRAY(SELECT DISTINCT x FROM unnest(q) AS x ORDER BY x)
$$;

ALTER TABLE contributions
    ALTER COLUMN source_id TYPE uuid USING source_id::uuid,
    ALTER COLUMN questions TYPE smallint[] USING
        (CASE WHEN questions = '' THEN '{}' ELSE string_to_array(questions, ',') END)::smallint[],
    ALTER COLUMN evidence TYPE jsonb USING evidence::jsonb,
    ALTER COLUMN confidence TYPE real,
    ALTER COLUMN received_at TYPE timestamptz USING received_at::timestamptz,
    ALTER COLUMN processed_at TYPE timestamptz USING processed_at::timestamptz,
    ALTER COLUMN late DROP DEFAULT,
    ALTER COLUMN late TYPE boolean USING late <> 0,
    ALTER COLUMN late SET DEFAULT false,
    ALTER COLUMN redactions DROP DEFAULT,
    ALTER COLUMN redactions TYPE jsonb USING redactions::jsonb,
    ALTER COLUMN redactions SET DEFAULT '[]'::jsonb,
    ADD COLUMN segments jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN updated_at timestamptz,
    ADD CONSTRAINT contributions_channel CHECK (channel IN ('voicemail', 'ballot')),
    ADD CONSTRAINT contributions_questions CHECK (recueil_question_set_ok(questions)),
    ADD CONSTRAINT contributions_confidence CHECK (confidence BETWEEN 0 AND 1),
    ADD CONSTRAINT contributions_reject_reason CHECK (reject_reason IS NULL OR reject_reason IN
        ('not_a_contribution', 'off_topic', 'abusive', 'duplicate', 'unreadable')),
    ADD CONSTRAINT contributions_json_arrays CHECK (jsonb_typeof(evidence) = 'array'
        AND jsonb_typeof(redactions) = 'array' AND jsonb_typeof(segments) = 'array');
UPDATE contributions SET updated_at = processed_at;
ALTER TABLE contributions
    ALTER COLUMN updated_at SET NOT NULL,
    ALTER COLUMN updated_at SET DEFAULT now();

ALTER TABLE source_events
    ALTER COLUMN source_id TYPE uuid USING source_id::uuid,
    ALTER COLUMN at TYPE timestamptz USING at::timestamptz;

ALTER TABLE audit_events
    ALTER COLUMN source_id TYPE uuid USING source_id::uuid,
    ALTER COLUMN at TYPE timestamptz USING at::timestamptz,
    ALTER COLUMN before TYPE jsonb USING before::jsonb,
    ALTER COLUMN after TYPE jsonb USING after::jsonb;

ALTER TABLE outbox ADD FOREIGN KEY (source_id) REFERENCES sources (id);
ALTER TABLE contributions ADD FOREIGN KEY (source_id) REFERENCES sources (id);
ALTER TABLE source_events ADD FOREIGN KEY (source_id) REFERENCES sources (id);
ALTER TABLE audit_events ADD FOREIGN KEY (source_id) REFERENCES sources (id);

CREATE INDEX contributions_questions ON contributions USING gin (questions);
CREATE INDEX contributions_received ON contributions (received_at);
CREATE INDEX contributions_changes ON contributions (updated_at, source_id);
CREATE INDEX contributions_urn ON contributions (urn) WHERE urn IS NOT NULL;

-- Change feed, part 1: every change to a contribution moves its updated_at,
-- whoever writes it (recueil, or an operator with psql).
CREATE FUNCTION recueil_touch_contribution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER contributions_touch BEFORE UPDATE ON contributions
    FOR EACH ROW EXECUTE FUNCTION recueil_touch_contribution();

-- Change feed, part 2: LISTEN recueil_contributions; the payload is
-- {"id": "<uuid>", "status": "<status>"}. Notifications are delivered at
-- commit, so a listener never sees a change that was rolled back.
CREATE FUNCTION recueil_notify_contribution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('recueil_contributions',
        json_build_object('id', NEW.source_id, 'status', NEW.status)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER contributions_notify AFTER INSERT OR UPDATE ON contributions
    FOR EACH ROW EXECUTE FUNCTION recueil_notify_contribution();

-- The published contract. A platform's role is granted this schema alone
-- (`recueil db grant-platform ROLE`): the views run with their owner's
-- rights, so the role reads what they show and nothing else: no raw text, no
-- caller reference, no original bytes.
CREATE SCHEMA platform;
COMMENT ON SCHEMA platform IS
    'What recueil publishes: read-only views for the consultation platform (docs/platform.md)';

CREATE VIEW platform.contributions AS
SELECT c.source_id    AS id,
       c.channel,
       c.questions,
       c.text,
       c.language,
       c.urn,
       s.batch,
       s.page,
       c.received_at,
       c.processed_at,
       c.updated_at,
       c.late,
       c.status,
       s.sha256       AS source_sha256
FROM contributions c
JOIN sources s ON s.id = c.source_id
WHERE c.status = 'published';
COMMENT ON VIEW platform.contributions IS
    'Published contributions: masked text and questions; id = the source id (stable)';

-- Every contribution's state without its text: a platform following the feed
-- sees a published contribution later rejected (withdrawn) here.
CREATE VIEW platform.contribution_changes AS
SELECT c.source_id AS id,
       c.status,
       c.status = 'published' AS published,
       c.updated_at
FROM contributions c;
COMMENT ON VIEW platform.contribution_changes IS
    'Status of every contribution with its last change; follow with an updated_at cursor';
