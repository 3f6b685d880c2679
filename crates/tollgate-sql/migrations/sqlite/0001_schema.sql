-- Tollgate store schema, version 1 (SQLite). The PostgreSQL file beside this one is the
-- same schema with its own type names; crates/tollgate-sql/README.md documents it.
--
-- Every token, code, interaction secret and jti appears only as its SHA-256 (BLOB, 32
-- bytes); family ids are 16 random bytes. Times are Unix seconds (INTEGER). Values never
-- queried (subjects, PKCE challenges, authorization requests) are JSON in TEXT columns.
-- There are no foreign keys: lookups join a token to its family and treat a missing family
-- as a missing token, exactly as the reference in-memory store does, and the hot path
-- pays no referential check. Tables are STRICT, so a column holds only its declared type.

CREATE TABLE clients (
    id   TEXT NOT NULL PRIMARY KEY,
    data TEXT NOT NULL
) STRICT;

CREATE TABLE codes (
    hash              BLOB NOT NULL PRIMARY KEY,
    client_id         TEXT NOT NULL,
    redirect_uri      TEXT NOT NULL,
    redirect_uri_sent INTEGER NOT NULL,
    pkce              TEXT,
    scope             TEXT NOT NULL,
    nonce             TEXT,
    subject           TEXT NOT NULL,
    issued_at         INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    redeemed_into     BLOB
) STRICT;
CREATE INDEX codes_expires_at ON codes (expires_at);
CREATE INDEX codes_redeemed_into ON codes (redeemed_into) WHERE redeemed_into IS NOT NULL;

CREATE TABLE families (
    id         BLOB NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT,
    scope      TEXT NOT NULL,
    grant_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX families_expires_at ON families (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX families_revoked_at ON families (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    hash            BLOB NOT NULL PRIMARY KEY,
    family          BLOB NOT NULL,
    client_id       TEXT NOT NULL,
    scope           TEXT NOT NULL,
    issued_at       INTEGER NOT NULL,
    idle_expires_at INTEGER,
    rotated_at      INTEGER,
    successor       BLOB,
    reuse_count     INTEGER NOT NULL DEFAULT 0,
    CHECK (rotated_at IS NOT NULL OR (successor IS NULL AND reuse_count = 0))
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_idle_expires_at ON refresh_tokens (idle_expires_at)
    WHERE idle_expires_at IS NOT NULL;

CREATE TABLE access_tokens (
    hash       BLOB NOT NULL PRIMARY KEY,
    family     BLOB NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX access_tokens_family ON access_tokens (family);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
CREATE INDEX access_tokens_revoked_at ON access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE interactions (
    hash       BLOB NOT NULL PRIMARY KEY,
    browser    BLOB NOT NULL,
    csrf       BLOB NOT NULL,
    request    TEXT NOT NULL,
    stage      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX interactions_expires_at ON interactions (expires_at);

CREATE TABLE consents (
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (subject, client_id)
) STRICT;

CREATE TABLE jtis (
    hash       BLOB NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX jtis_expires_at ON jtis (expires_at);
