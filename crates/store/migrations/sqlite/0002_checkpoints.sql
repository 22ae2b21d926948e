-- Checkpoints and duty: posts, their status history, shifts and who works
-- them, check-ins, supplies and resupply requests, living-conditions checks.
-- Field records (check-ins, movements, requests, checks) carry the client's
-- UUIDv7 as their id, so a resend is recognised.

CREATE TABLE checkpoints (
    id              INTEGER PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    org_unit_id     INTEGER NOT NULL REFERENCES org_units(id),
    scope           TEXT    NOT NULL UNIQUE,
    lat             REAL    NOT NULL,
    lon             REAL    NOT NULL,
    address         TEXT    NOT NULL,
    required_staff  INTEGER NOT NULL,
    geofence_m      INTEGER NOT NULL,
    shift_pattern   TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    staffing        TEXT    NOT NULL,
    created_us      INTEGER NOT NULL,
    updated_us      INTEGER NOT NULL
);
CREATE INDEX checkpoints_scope ON checkpoints(scope);

CREATE TABLE checkpoint_status_history (
    id             INTEGER PRIMARY KEY,
    checkpoint_id  INTEGER NOT NULL REFERENCES checkpoints(id),
    status         TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    actor_id       INTEGER,
    at_us          INTEGER NOT NULL
);
CREATE INDEX checkpoint_status_history_cp ON checkpoint_status_history(checkpoint_id, at_us);

CREATE TABLE shifts (
    id             INTEGER PRIMARY KEY,
    checkpoint_id  INTEGER NOT NULL REFERENCES checkpoints(id),
    starts_us      INTEGER NOT NULL,
    ends_us        INTEGER NOT NULL,
    leader_id      INTEGER REFERENCES users(id),
    created_us     INTEGER NOT NULL,
    UNIQUE (checkpoint_id, starts_us)
);
CREATE INDEX shifts_time ON shifts(starts_us, ends_us);

CREATE TABLE shift_assignments (
    shift_id     INTEGER NOT NULL REFERENCES shifts(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    assigned_us  INTEGER NOT NULL,
    PRIMARY KEY (shift_id, user_id)
);
CREATE INDEX shift_assignments_user ON shift_assignments(user_id);

CREATE TABLE check_ins (
    id              TEXT    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    checkpoint_id   INTEGER NOT NULL REFERENCES checkpoints(id),
    shift_id        INTEGER NOT NULL REFERENCES shifts(id),
    in_us           INTEGER NOT NULL,
    out_us          INTEGER,
    lat             REAL,
    lon             REAL,
    distance_m      REAL,
    outside_fence   INTEGER NOT NULL,
    late_minutes    INTEGER NOT NULL
);
CREATE INDEX check_ins_open ON check_ins(checkpoint_id, out_us);
CREATE INDEX check_ins_user ON check_ins(user_id, out_us);

CREATE TABLE supply_items (
    key                TEXT    PRIMARY KEY,
    unit               TEXT    NOT NULL,
    default_threshold  INTEGER NOT NULL,
    created_us         INTEGER NOT NULL
);

CREATE TABLE supply_levels (
    checkpoint_id  INTEGER NOT NULL REFERENCES checkpoints(id),
    item_key       TEXT    NOT NULL REFERENCES supply_items(key),
    on_hand        INTEGER NOT NULL,
    threshold      INTEGER NOT NULL,
    updated_us     INTEGER NOT NULL,
    PRIMARY KEY (checkpoint_id, item_key)
);

CREATE TABLE supply_movements (
    id             TEXT    PRIMARY KEY,
    checkpoint_id  INTEGER NOT NULL REFERENCES checkpoints(id),
    item_key       TEXT    NOT NULL REFERENCES supply_items(key),
    kind           TEXT    NOT NULL,
    quantity       INTEGER NOT NULL,
    on_hand_after  INTEGER NOT NULL,
    actor_id       INTEGER NOT NULL REFERENCES users(id),
    at_us          INTEGER NOT NULL
);
CREATE INDEX supply_movements_cp ON supply_movements(checkpoint_id, at_us);

CREATE TABLE resupply_requests (
    id                  TEXT    PRIMARY KEY,
    checkpoint_id       INTEGER NOT NULL REFERENCES checkpoints(id),
    item_key            TEXT    NOT NULL REFERENCES supply_items(key),
    quantity            INTEGER NOT NULL,
    approved_quantity   INTEGER,
    state               TEXT    NOT NULL,
    note                TEXT    NOT NULL,
    decision_note       TEXT    NOT NULL,
    requested_by        INTEGER NOT NULL REFERENCES users(id),
    requested_us        INTEGER NOT NULL,
    updated_us          INTEGER NOT NULL
);
CREATE INDEX resupply_requests_state ON resupply_requests(state, requested_us);
CREATE INDEX resupply_requests_cp ON resupply_requests(checkpoint_id, requested_us);

CREATE TABLE living_checks (
    id             TEXT    PRIMARY KEY,
    checkpoint_id  INTEGER NOT NULL REFERENCES checkpoints(id),
    author_id      INTEGER NOT NULL REFERENCES users(id),
    at_us          INTEGER NOT NULL,
    answers        TEXT    NOT NULL,
    problems       INTEGER NOT NULL
);
CREATE INDEX living_checks_cp ON living_checks(checkpoint_id, at_us);
