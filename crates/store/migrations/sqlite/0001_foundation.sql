-- The foundation: org units, roles, users, sessions, API tokens, the event
-- log and the duty log. Times are microseconds since the Unix epoch, UTC.
-- Flags are integers 0/1 so the same SQL runs on SQLite and PostgreSQL.

CREATE TABLE org_units (
    id          INTEGER PRIMARY KEY,
    parent_id   INTEGER REFERENCES org_units(id),
    kind        TEXT    NOT NULL,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    path        TEXT    NOT NULL UNIQUE,
    created_us  INTEGER NOT NULL
);

CREATE TABLE roles (
    name        TEXT    PRIMARY KEY,
    rights      TEXT    NOT NULL,
    updated_us  INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL REFERENCES roles(name),
    org_unit_id   INTEGER NOT NULL REFERENCES org_units(id),
    scope         TEXT    NOT NULL,
    locale        TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_us    INTEGER NOT NULL,
    updated_us    INTEGER NOT NULL
);
CREATE INDEX users_scope ON users(scope);

CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    csrf         TEXT    NOT NULL,
    created_us   INTEGER NOT NULL,
    expires_us   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_us   INTEGER NOT NULL,
    revoked_us   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- AUTOINCREMENT: an id is never reused, so a client's cursor stays valid.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us       INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    payload     TEXT    NOT NULL
);
CREATE INDEX events_scope_id ON events(scope, id);
CREATE INDEX events_kind_id ON events(kind, id);

CREATE TABLE duty_log (
    id           TEXT    PRIMARY KEY,
    org_unit_id  INTEGER NOT NULL REFERENCES org_units(id),
    scope        TEXT    NOT NULL,
    author_id    INTEGER NOT NULL REFERENCES users(id),
    body         TEXT    NOT NULL,
    occurred_us  INTEGER NOT NULL,
    recorded_us  INTEGER NOT NULL
);
CREATE INDEX duty_log_scope_time ON duty_log(scope, occurred_us);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
