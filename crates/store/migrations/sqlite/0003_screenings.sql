-- Screenings at the posts, the people in them, incidents they raise, and the
-- per-post statistics kept up to date in the same transaction.
--
-- A screening carries the client's UUIDv7 as its id, so a resend from a
-- phone's offline queue is recognised. Personal fields (plate, pass number,
-- note; each person's name, ID number and phone) are erased after the
-- retention period (`erased_us` set); counts and categories stay.

CREATE TABLE screenings (
    id             TEXT    PRIMARY KEY,
    checkpoint_id  INTEGER NOT NULL REFERENCES checkpoints(id),
    scope          TEXT    NOT NULL,
    occurred_us    INTEGER NOT NULL,
    recorded_us    INTEGER NOT NULL,
    officer_id     INTEGER NOT NULL REFERENCES users(id),
    direction      TEXT    NOT NULL,
    plate          TEXT,
    vehicle_type   TEXT    NOT NULL,
    people_count   INTEGER NOT NULL,
    cargo          TEXT    NOT NULL,
    pass_number    TEXT,
    outcome        TEXT    NOT NULL,
    note           TEXT    NOT NULL,
    flags          INTEGER NOT NULL,
    erased_us      INTEGER
);
CREATE INDEX screenings_post_time ON screenings(checkpoint_id, occurred_us);
CREATE INDEX screenings_scope_time ON screenings(scope, occurred_us);
CREATE INDEX screenings_plate ON screenings(plate, occurred_us);
CREATE INDEX screenings_unerased ON screenings(occurred_us) WHERE erased_us IS NULL;

CREATE TABLE screened_people (
    screening_id   TEXT    NOT NULL REFERENCES screenings(id),
    position       INTEGER NOT NULL,
    name           TEXT,
    id_number      TEXT,
    phone          TEXT,
    temperature_dc INTEGER,
    origin         TEXT,
    destination    TEXT,
    health_code    TEXT,
    PRIMARY KEY (screening_id, position)
);

CREATE TABLE incidents (
    id             TEXT    PRIMARY KEY,
    kind           TEXT    NOT NULL,
    severity       TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    checkpoint_id  INTEGER NOT NULL REFERENCES checkpoints(id),
    scope          TEXT    NOT NULL,
    screening_id   TEXT    REFERENCES screenings(id),
    opened_us      INTEGER NOT NULL,
    closed_us      INTEGER
);
CREATE INDEX incidents_scope ON incidents(scope, status, opened_us);

-- Per post, per hour (UTC hours; the deployment's zone is a whole number of
-- hours off UTC, so its hours are the same), and per local day.
CREATE TABLE screening_hours (
    checkpoint_id  INTEGER NOT NULL,
    hour_us        INTEGER NOT NULL,
    direction      TEXT    NOT NULL,
    cargo          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    screenings     INTEGER NOT NULL,
    people         INTEGER NOT NULL,
    PRIMARY KEY (checkpoint_id, hour_us, direction, cargo, outcome)
);

CREATE TABLE screening_days (
    checkpoint_id  INTEGER NOT NULL,
    day_us         INTEGER NOT NULL,
    direction      TEXT    NOT NULL,
    cargo          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    screenings     INTEGER NOT NULL,
    people         INTEGER NOT NULL,
    PRIMARY KEY (checkpoint_id, day_us, direction, cargo, outcome)
);
CREATE INDEX screening_days_day ON screening_days(day_us);
