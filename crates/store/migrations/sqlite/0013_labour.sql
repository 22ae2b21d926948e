-- Labour export (劳务输出): the labour pool of the villages, the positions
-- employers offer, the placements the township confirms, and organised
-- point-to-point transport (点对点) with each passenger's check before
-- departure.
--
-- Scopes: a worker's is its village's path; a placement's is its worker's;
-- a demand's is its enterprise's (a local employer) or the poster's (an
-- outside one); a batch's is the path of the township (or higher) that
-- organises it. Skills and destinations are short comma-separated lists of
-- choice names: read and written with their row, never queried one by one.
-- A placement copies its demand's dates, so overlaps are one indexed query.

CREATE TABLE workers (
    id              INTEGER PRIMARY KEY,
    village_id      INTEGER NOT NULL REFERENCES org_units(id),
    household_id    INTEGER REFERENCES households(id),
    scope           TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    phone           TEXT    NOT NULL DEFAULT '',
    age             INTEGER NOT NULL,
    skills          TEXT    NOT NULL,
    health          TEXT    NOT NULL,
    last_check_day  INTEGER NOT NULL,
    available_day   INTEGER NOT NULL,
    destinations    TEXT    NOT NULL,
    note            TEXT    NOT NULL DEFAULT '',
    created_by      INTEGER REFERENCES users(id),
    created_us      INTEGER NOT NULL,
    updated_us      INTEGER NOT NULL
);
CREATE INDEX workers_scope ON workers(scope);

CREATE TABLE labour_demand (
    id              INTEGER PRIMARY KEY,
    enterprise_id   INTEGER REFERENCES enterprises(id),
    employer        TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    location        TEXT    NOT NULL,
    region          TEXT    NOT NULL,
    positions       INTEGER NOT NULL,
    skills          TEXT    NOT NULL,
    pay_yuan_month  INTEGER NOT NULL,
    start_day       INTEGER NOT NULL,
    end_day         INTEGER,
    accommodation   INTEGER NOT NULL,
    note            TEXT    NOT NULL DEFAULT '',
    posted_by       INTEGER REFERENCES users(id),
    created_us      INTEGER NOT NULL,
    updated_us      INTEGER NOT NULL
);
CREATE INDEX labour_demand_start ON labour_demand(start_day);

CREATE TABLE transport_batches (
    id              INTEGER PRIMARY KEY,
    org_unit_id     INTEGER NOT NULL REFERENCES org_units(id),
    scope           TEXT    NOT NULL,
    day             INTEGER NOT NULL,
    origin          TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    plate           TEXT    NOT NULL,
    seats           INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    planned_by      INTEGER REFERENCES users(id),
    planned_us      INTEGER NOT NULL,
    departed_us     INTEGER,
    arrived_us      INTEGER,
    arrived_by      INTEGER REFERENCES users(id),
    updated_us      INTEGER NOT NULL
);
CREATE INDEX transport_batches_scope ON transport_batches(scope, day);

CREATE TABLE placements (
    id              INTEGER PRIMARY KEY,
    worker_id       INTEGER NOT NULL REFERENCES workers(id),
    demand_id       INTEGER NOT NULL REFERENCES labour_demand(id),
    scope           TEXT    NOT NULL,
    start_day       INTEGER NOT NULL,
    end_day         INTEGER,
    state           TEXT    NOT NULL,
    confirmed_by    INTEGER REFERENCES users(id),
    confirmed_us    INTEGER NOT NULL,
    updated_us      INTEGER NOT NULL
);
CREATE INDEX placements_worker ON placements(worker_id, state);
CREATE INDEX placements_demand ON placements(demand_id, state);
CREATE INDEX placements_scope ON placements(scope);

-- A placement rides one batch at most (batches are never called off).
CREATE TABLE batch_passengers (
    batch_id            INTEGER NOT NULL REFERENCES transport_batches(id),
    placement_id        INTEGER NOT NULL UNIQUE REFERENCES placements(id),
    position            INTEGER NOT NULL,
    checked_us          INTEGER,
    temperature_tenths  INTEGER,
    passed              INTEGER,
    checked_by          INTEGER REFERENCES users(id),
    PRIMARY KEY (batch_id, placement_id)
);
