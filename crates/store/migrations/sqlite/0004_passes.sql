-- Freight passes (通行证) and enterprises' requests for them.
--
-- A pass is kept as its signed token (which carries every claim) plus the
-- columns that lists and checks filter on. `scope` is where the pass is
-- valid: the issuer's scope. A request carries the client's UUIDv7 as its id
-- and the terms asked for as JSON; approving it issues a pass that points
-- back at it.

CREATE TABLE passes (
    id              TEXT    PRIMARY KEY,
    number          TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    token           TEXT    NOT NULL,
    plates          TEXT    NOT NULL,
    enterprise      TEXT    NOT NULL,
    valid_from_us   INTEGER NOT NULL,
    valid_until_us  INTEGER NOT NULL,
    issued_by       INTEGER NOT NULL REFERENCES users(id),
    request_id      TEXT,
    requested_by    INTEGER REFERENCES users(id),
    created_us      INTEGER NOT NULL,
    revoked_us      INTEGER,
    revoked_by      INTEGER REFERENCES users(id),
    revoke_reason   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX passes_scope ON passes(scope, created_us);
CREATE INDEX passes_live ON passes(valid_until_us) WHERE status = 'issued';
CREATE INDEX passes_revoked ON passes(revoked_us) WHERE revoked_us IS NOT NULL;
CREATE INDEX passes_requester ON passes(requested_by);

CREATE TABLE pass_requests (
    id              TEXT    PRIMARY KEY,
    requested_by    INTEGER NOT NULL REFERENCES users(id),
    scope           TEXT    NOT NULL,
    terms           TEXT    NOT NULL,
    note            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_us      INTEGER NOT NULL,
    decided_by      INTEGER REFERENCES users(id),
    decided_us      INTEGER,
    decision_note   TEXT    NOT NULL DEFAULT '',
    pass_id         TEXT    REFERENCES passes(id)
);
CREATE INDEX pass_requests_scope ON pass_requests(scope, state, created_us);
CREATE INDEX pass_requests_requester ON pass_requests(requested_by, created_us);

-- Passes used per post and day are counted from the screenings that name one.
CREATE INDEX screenings_pass ON screenings(occurred_us) WHERE pass_number IS NOT NULL;
