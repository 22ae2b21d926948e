-- Registered poor households (建档立卡贫困户): who they are, how they earn,
-- what they grow and sell, and the visits of the cadre responsible for
-- helping them (帮扶责任人). A household's scope is its village's path plus
-- `h<id>`. Its members are kept as one JSON list (name, relation, age,
-- ability to work, health): they are read and written with the household,
-- never queried one by one; `members_count` serves the dashboards.
--
-- Tickets learn a second kind of subject: a household's difficulty (sales
-- blocked, inputs missing, …) is a ticket like an enterprise's problem,
-- routed to the township or a department by the same mechanism. SQLite
-- cannot drop a NOT NULL in place, so `tickets` is rebuilt; its notes are
-- set aside meanwhile so that no foreign key ever points nowhere.

CREATE TABLE households (
    id              INTEGER PRIMARY KEY,
    registry_no     TEXT    NOT NULL UNIQUE,
    village_id      INTEGER NOT NULL REFERENCES org_units(id),
    scope           TEXT    NOT NULL UNIQUE,
    head_name       TEXT    NOT NULL,
    phone           TEXT    NOT NULL DEFAULT '',
    members         TEXT    NOT NULL,
    members_count   INTEGER NOT NULL,
    able_count      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    income_sources  TEXT    NOT NULL,
    helper_id       INTEGER REFERENCES users(id),
    note            TEXT    NOT NULL DEFAULT '',
    last_visit_day  INTEGER,
    created_us      INTEGER NOT NULL,
    updated_us      INTEGER NOT NULL
);
CREATE INDEX households_scope ON households(scope);
CREATE INDEX households_helper ON households(helper_id);

CREATE TABLE production (
    id              TEXT    PRIMARY KEY,
    household_id    INTEGER NOT NULL REFERENCES households(id),
    kind            TEXT    NOT NULL,
    scale           INTEGER NOT NULL,
    expected_output INTEGER NOT NULL,
    expected_day    INTEGER NOT NULL,
    harvested       INTEGER NOT NULL DEFAULT 0,
    sold            INTEGER NOT NULL DEFAULT 0,
    note            TEXT    NOT NULL DEFAULT '',
    recorded_by     INTEGER NOT NULL REFERENCES users(id),
    created_us      INTEGER NOT NULL,
    updated_us      INTEGER NOT NULL
);
CREATE INDEX production_household ON production(household_id);

CREATE TABLE sales (
    id              TEXT    PRIMARY KEY,
    production_id   TEXT    NOT NULL REFERENCES production(id),
    household_id    INTEGER NOT NULL REFERENCES households(id),
    day             INTEGER NOT NULL,
    quantity        INTEGER NOT NULL,
    price_fen       INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    buyer           TEXT    NOT NULL DEFAULT '',
    recorded_by     INTEGER NOT NULL REFERENCES users(id),
    recorded_us     INTEGER NOT NULL
);
CREATE INDEX sales_production ON sales(production_id, day);

CREATE TABLE visits (
    id              TEXT    PRIMARY KEY,
    household_id    INTEGER NOT NULL REFERENCES households(id),
    cadre_id        INTEGER NOT NULL REFERENCES users(id),
    day             INTEGER NOT NULL,
    found           TEXT    NOT NULL,
    promised        TEXT    NOT NULL DEFAULT '',
    recorded_us     INTEGER NOT NULL
);
CREATE INDEX visits_household ON visits(household_id, day);

CREATE TEMPORARY TABLE ticket_notes_aside AS SELECT * FROM ticket_notes;
DELETE FROM ticket_notes;

CREATE TABLE tickets_new (
    id              TEXT    PRIMARY KEY,
    enterprise_id   INTEGER REFERENCES enterprises(id),
    household_id    INTEGER REFERENCES households(id),
    scope           TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    department_id   INTEGER NOT NULL REFERENCES org_units(id),
    officer_id      INTEGER REFERENCES users(id),
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    raised_by       INTEGER NOT NULL REFERENCES users(id),
    raised_us       INTEGER NOT NULL,
    deadline_us     INTEGER NOT NULL,
    resolved_us     INTEGER,
    confirmed_us    INTEGER,
    rating          INTEGER,
    overdue_us      INTEGER,
    escalated_to    INTEGER REFERENCES users(id),
    attachment_id   TEXT    REFERENCES attachments(id),
    pass_request_id TEXT    REFERENCES pass_requests(id),
    updated_us      INTEGER NOT NULL,
    CHECK ((enterprise_id IS NULL) <> (household_id IS NULL))
);
INSERT INTO tickets_new (id, enterprise_id, household_id, scope, category, department_id, officer_id, title, body,
    status, raised_by, raised_us, deadline_us, resolved_us, confirmed_us, rating, overdue_us, escalated_to,
    attachment_id, pass_request_id, updated_us)
SELECT id, enterprise_id, NULL, scope, category, department_id, officer_id, title, body, status, raised_by,
    raised_us, deadline_us, resolved_us, confirmed_us, rating, overdue_us, escalated_to, attachment_id,
    pass_request_id, updated_us FROM tickets;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
CREATE INDEX tickets_scope ON tickets(scope, raised_us);
CREATE INDEX tickets_department ON tickets(department_id, status);
CREATE INDEX tickets_officer ON tickets(officer_id, status);
CREATE INDEX tickets_open_deadline ON tickets(deadline_us) WHERE resolved_us IS NULL;
CREATE INDEX tickets_household ON tickets(household_id) WHERE household_id IS NOT NULL;

INSERT INTO ticket_notes SELECT * FROM ticket_notes_aside;
DROP TABLE ticket_notes_aside;
