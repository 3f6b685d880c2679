-- Tollgate store schema, version 2 (SQLite only): one-statement commits.
--
-- PostgreSQL writes a refresh rotation, a code redemption or an issuance as one statement
-- (a conditional UPDATE with the dependent INSERTs as data-modifying CTEs). SQLite has no
-- data-modifying CTEs, so until now such a commit was a BEGIN IMMEDIATE transaction of four
-- to six statements. Here each becomes ONE statement: an INSERT into a view that holds no
-- rows, whose INSTEAD OF INSERT trigger
--
--   1. checks the precondition and, when it does not hold, aborts the statement with
--      RAISE(ABORT, 'tollgate:stale') — the store reports that as a conflict, exactly as a
--      conditional UPDATE that matched no row was reported before;
--   2. then performs the conditional UPDATE and the INSERTs.
--
-- Why this is as safe as BEGIN IMMEDIATE: in autocommit mode one statement is one
-- transaction, and a writing statement takes the write lock when it starts (its
-- OP_Transaction runs before it reads any row, waiting up to the busy timeout, and on a
-- stale WAL snapshot it starts over with a fresh one), so the check in step 1 and the
-- writes in step 2 see no other writer in between, in this process or another. RAISE(ABORT)
-- and any error (a duplicate key, say) roll the whole statement back, the trigger's earlier
-- writes included: a failed commit writes nothing.
--
-- The views' columns are everything the commit writes: `f_*` the new family's columns,
-- `r_*` the new refresh token's (all NULL when none is issued), `a_*` the access token's,
-- in the order of the tables' own columns. No view ever holds a row, and nothing reads
-- them. Plain INSERTs in the trigger bodies take the default conflict resolution (ABORT),
-- so a duplicate token hash or family id aborts the statement with a unique violation,
-- which the store also reports as a conflict.

-- RotateRefresh: only an active token of a live family rotates (RFC 9700 §4.14.2).
CREATE VIEW refresh_rotation AS SELECT
    NULL AS old, NULL AS at, NULL AS successor,
    NULL AS r_hash, NULL AS r_family, NULL AS r_client_id, NULL AS r_scope,
    NULL AS r_issued_at, NULL AS r_idle_expires_at, NULL AS r_rotated_at,
    NULL AS r_successor, NULL AS r_reuse_count,
    NULL AS a_hash, NULL AS a_family, NULL AS a_client_id, NULL AS a_subject, NULL AS a_scope,
    NULL AS a_issued_at, NULL AS a_expires_at, NULL AS a_revoked_at
WHERE 0;

CREATE TRIGGER refresh_rotation INSTEAD OF INSERT ON refresh_rotation BEGIN
    SELECT RAISE(ABORT, 'tollgate:stale') WHERE NOT EXISTS (
        SELECT 1 FROM refresh_tokens r JOIN families f ON f.id = r.family
        WHERE r.hash = NEW.old AND r.rotated_at IS NULL AND f.revoked_at IS NULL);
    UPDATE refresh_tokens SET rotated_at = NEW.at, successor = NEW.successor, reuse_count = 0
        WHERE hash = NEW.old;
    INSERT INTO refresh_tokens (hash, family, client_id, scope, issued_at, idle_expires_at,
            rotated_at, successor, reuse_count)
        SELECT NEW.r_hash, NEW.r_family, NEW.r_client_id, NEW.r_scope, NEW.r_issued_at,
            NEW.r_idle_expires_at, NEW.r_rotated_at, NEW.r_successor, NEW.r_reuse_count
        WHERE NEW.r_hash IS NOT NULL;
    INSERT INTO access_tokens (hash, family, client_id, subject, scope, issued_at,
            expires_at, revoked_at)
        VALUES (NEW.a_hash, NEW.a_family, NEW.a_client_id, NEW.a_subject, NEW.a_scope,
            NEW.a_issued_at, NEW.a_expires_at, NEW.a_revoked_at);
END;

-- UseStaticRefresh: the same precondition; the token's idle expiry moves.
CREATE VIEW refresh_static_use AS SELECT
    NULL AS token, NULL AS idle_expires_at,
    NULL AS a_hash, NULL AS a_family, NULL AS a_client_id, NULL AS a_subject, NULL AS a_scope,
    NULL AS a_issued_at, NULL AS a_expires_at, NULL AS a_revoked_at
WHERE 0;

CREATE TRIGGER refresh_static_use INSTEAD OF INSERT ON refresh_static_use BEGIN
    SELECT RAISE(ABORT, 'tollgate:stale') WHERE NOT EXISTS (
        SELECT 1 FROM refresh_tokens r JOIN families f ON f.id = r.family
        WHERE r.hash = NEW.token AND r.rotated_at IS NULL AND f.revoked_at IS NULL);
    UPDATE refresh_tokens SET idle_expires_at = NEW.idle_expires_at WHERE hash = NEW.token;
    INSERT INTO access_tokens (hash, family, client_id, subject, scope, issued_at,
            expires_at, revoked_at)
        VALUES (NEW.a_hash, NEW.a_family, NEW.a_client_id, NEW.a_subject, NEW.a_scope,
            NEW.a_issued_at, NEW.a_expires_at, NEW.a_revoked_at);
END;

-- RedeemCode: a code redeems once (RFC 6749 §4.1.2, §10.5); the code records the family.
CREATE VIEW code_redemption AS SELECT
    NULL AS code,
    NULL AS f_id, NULL AS f_client_id, NULL AS f_subject, NULL AS f_scope,
    NULL AS f_grant_type, NULL AS f_created_at, NULL AS f_expires_at, NULL AS f_revoked_at,
    NULL AS r_hash, NULL AS r_family, NULL AS r_client_id, NULL AS r_scope,
    NULL AS r_issued_at, NULL AS r_idle_expires_at, NULL AS r_rotated_at,
    NULL AS r_successor, NULL AS r_reuse_count,
    NULL AS a_hash, NULL AS a_family, NULL AS a_client_id, NULL AS a_subject, NULL AS a_scope,
    NULL AS a_issued_at, NULL AS a_expires_at, NULL AS a_revoked_at
WHERE 0;

CREATE TRIGGER code_redemption INSTEAD OF INSERT ON code_redemption BEGIN
    SELECT RAISE(ABORT, 'tollgate:stale') WHERE NOT EXISTS (
        SELECT 1 FROM codes WHERE hash = NEW.code AND redeemed_into IS NULL);
    UPDATE codes SET redeemed_into = NEW.f_id WHERE hash = NEW.code;
    INSERT INTO families (id, client_id, subject, scope, grant_type, created_at, expires_at,
            revoked_at)
        VALUES (NEW.f_id, NEW.f_client_id, NEW.f_subject, NEW.f_scope, NEW.f_grant_type,
            NEW.f_created_at, NEW.f_expires_at, NEW.f_revoked_at);
    INSERT INTO refresh_tokens (hash, family, client_id, scope, issued_at, idle_expires_at,
            rotated_at, successor, reuse_count)
        SELECT NEW.r_hash, NEW.r_family, NEW.r_client_id, NEW.r_scope, NEW.r_issued_at,
            NEW.r_idle_expires_at, NEW.r_rotated_at, NEW.r_successor, NEW.r_reuse_count
        WHERE NEW.r_hash IS NOT NULL;
    INSERT INTO access_tokens (hash, family, client_id, subject, scope, issued_at,
            expires_at, revoked_at)
        VALUES (NEW.a_hash, NEW.a_family, NEW.a_client_id, NEW.a_subject, NEW.a_scope,
            NEW.a_issued_at, NEW.a_expires_at, NEW.a_revoked_at);
END;

-- Issue (password, client credentials, JWT bearer): the family id's primary key is the
-- only precondition, so no check is needed before the inserts.
CREATE VIEW token_issuance AS SELECT
    NULL AS f_id, NULL AS f_client_id, NULL AS f_subject, NULL AS f_scope,
    NULL AS f_grant_type, NULL AS f_created_at, NULL AS f_expires_at, NULL AS f_revoked_at,
    NULL AS r_hash, NULL AS r_family, NULL AS r_client_id, NULL AS r_scope,
    NULL AS r_issued_at, NULL AS r_idle_expires_at, NULL AS r_rotated_at,
    NULL AS r_successor, NULL AS r_reuse_count,
    NULL AS a_hash, NULL AS a_family, NULL AS a_client_id, NULL AS a_subject, NULL AS a_scope,
    NULL AS a_issued_at, NULL AS a_expires_at, NULL AS a_revoked_at
WHERE 0;

CREATE TRIGGER token_issuance INSTEAD OF INSERT ON token_issuance BEGIN
    INSERT INTO families (id, client_id, subject, scope, grant_type, created_at, expires_at,
            revoked_at)
        VALUES (NEW.f_id, NEW.f_client_id, NEW.f_subject, NEW.f_scope, NEW.f_grant_type,
            NEW.f_created_at, NEW.f_expires_at, NEW.f_revoked_at);
    INSERT INTO refresh_tokens (hash, family, client_id, scope, issued_at, idle_expires_at,
            rotated_at, successor, reuse_count)
        SELECT NEW.r_hash, NEW.r_family, NEW.r_client_id, NEW.r_scope, NEW.r_issued_at,
            NEW.r_idle_expires_at, NEW.r_rotated_at, NEW.r_successor, NEW.r_reuse_count
        WHERE NEW.r_hash IS NOT NULL;
    INSERT INTO access_tokens (hash, family, client_id, subject, scope, issued_at,
            expires_at, revoked_at)
        VALUES (NEW.a_hash, NEW.a_family, NEW.a_client_id, NEW.a_subject, NEW.a_scope,
            NEW.a_issued_at, NEW.a_expires_at, NEW.a_revoked_at);
END;
