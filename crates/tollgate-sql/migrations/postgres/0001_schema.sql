-- Tollgate store schema, version 1 (PostgreSQL). The SQLite file beside this one is the
-- same schema with SQLite's type names; crates/tollgate-sql/README.md documents it.
--
-- Every token, code, interaction secret and jti appears only as its SHA-256 (BYTEA, 32
-- bytes); family ids are 16 random bytes. Times are Unix seconds (BIGINT). Values never
-- queried (subjects, PKCE challenges, authorization requests) are JSON in TEXT columns.
-- There are no foreign keys: lookups join a token to its family and treat a missing family
-- as a missing token, exactly as the reference in-memory store does, and the hot path
-- pays no referential check.

CREATE TABLE clients (
    id   TEXT NOT NULL PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE codes (
    hash              BYTEA NOT NULL PRIMARY KEY,
    client_id         TEXT NOT NULL,
    redirect_uri      TEXT NOT NULL,
    redirect_uri_sent BOOLEAN NOT NULL,
    pkce              TEXT,
    scope             TEXT NOT NULL,
    nonce             TEXT,
    subject           TEXT NOT NULL,
    issued_at         BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    redeemed_into     BYTEA
);
CREATE INDEX codes_expires_at ON codes (expires_at);
CREATE INDEX codes_redeemed_into ON codes (redeemed_into) WHERE redeemed_into IS NOT NULL;

CREATE TABLE families (
    id         BYTEA NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT,
    scope      TEXT NOT NULL,
    grant_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX families_expires_at ON families (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX families_revoked_at ON families (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    hash            BYTEA NOT NULL PRIMARY KEY,
    family          BYTEA NOT NULL,
    client_id       TEXT NOT NULL,
    scope           TEXT NOT NULL,
    issued_at       BIGINT NOT NULL,
    idle_expires_at BIGINT,
    rotated_at      BIGINT,
    successor       BYTEA,
    reuse_count     BIGINT NOT NULL DEFAULT 0,
    CHECK (rotated_at IS NOT NULL OR (successor IS NULL AND reuse_count = 0))
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_idle_expires_at ON refresh_tokens (idle_expires_at)
    WHERE idle_expires_at IS NOT NULL;

CREATE TABLE access_tokens (
    hash       BYTEA NOT NULL PRIMARY KEY,
    family     BYTEA NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT,
    scope      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_family ON access_tokens (family);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
CREATE INDEX access_tokens_revoked_at ON access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE interactions (
    hash       BYTEA NOT NULL PRIMARY KEY,
    browser    BYTEA NOT NULL,
    csrf       BYTEA NOT NULL,
    request    TEXT NOT NULL,
    stage      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX interactions_expires_at ON interactions (expires_at);

CREATE TABLE consents (
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (subject, client_id)
);

CREATE TABLE jtis (
    hash       BYTEA NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX jtis_expires_at ON jtis (expires_at);
