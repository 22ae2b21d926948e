-- Resumption of work (复工复产): enterprises, their applications to resume
-- and the review of each, their daily reports, problem tickets routed to a
-- department and a dedicated service officer (专人服务), and key projects
-- with their milestones.
--
-- An enterprise's scope is its township's path plus `e<id>`, as a post's is
-- `c<id>`: an enterprise contact's account is scoped to it and sees nothing
-- else. `status` is where its resumption stands now; every change of it is a
-- row of `resumption_history`. The latest daily report's people on site are
-- kept on the enterprise, so the dashboards need no scan of the reports.

CREATE TABLE enterprises (
    id                  INTEGER PRIMARY KEY,
    credit_code         TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    sector              TEXT    NOT NULL,
    size_class          TEXT    NOT NULL,
    org_unit_id         INTEGER NOT NULL REFERENCES org_units(id),
    scope               TEXT    NOT NULL UNIQUE,
    address             TEXT    NOT NULL DEFAULT '',
    above_designated    INTEGER NOT NULL DEFAULT 0,
    key_enterprise      INTEGER NOT NULL DEFAULT 0,
    epidemic_supplies   INTEGER NOT NULL DEFAULT 0,
    employees           INTEGER NOT NULL,
    service_officer_id  INTEGER REFERENCES users(id),
    department_id       INTEGER REFERENCES org_units(id),
    status              TEXT    NOT NULL DEFAULT 'not_started',
    status_note         TEXT    NOT NULL DEFAULT '',
    on_site             INTEGER NOT NULL DEFAULT 0,
    last_report_day     INTEGER,
    created_us          INTEGER NOT NULL,
    updated_us          INTEGER NOT NULL
);
CREATE INDEX enterprises_scope ON enterprises(scope);
CREATE INDEX enterprises_officer ON enterprises(service_officer_id);

CREATE TABLE resumption_applications (
    id              TEXT    PRIMARY KEY,
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id),
    filed_by        INTEGER NOT NULL REFERENCES users(id),
    filed_us        INTEGER NOT NULL,
    plan            TEXT    NOT NULL,
    workforce       TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    reviewed_by     INTEGER REFERENCES users(id),
    reviewed_us     INTEGER,
    review_note     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX resumption_applications_enterprise ON resumption_applications(enterprise_id, filed_us);

CREATE TABLE resumption_history (
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id),
    seq             INTEGER NOT NULL,
    at_us           INTEGER NOT NULL,
    actor_id        INTEGER REFERENCES users(id),
    status          TEXT    NOT NULL,
    note            TEXT    NOT NULL,
    PRIMARY KEY (enterprise_id, seq)
);

CREATE TABLE daily_reports (
    enterprise_id       INTEGER NOT NULL REFERENCES enterprises(id),
    day                 INTEGER NOT NULL,
    id                  TEXT    NOT NULL UNIQUE,
    reported_by         INTEGER NOT NULL REFERENCES users(id),
    reported_us         INTEGER NOT NULL,
    on_site             INTEGER NOT NULL,
    capacity_pct        INTEGER NOT NULL,
    output_value_yuan   INTEGER NOT NULL,
    ppe_stock_days      INTEGER NOT NULL,
    raw_material_days   INTEGER NOT NULL,
    orders_on_hand_yuan INTEGER NOT NULL,
    masks               INTEGER NOT NULL,
    disinfectant_kg     INTEGER NOT NULL,
    suits               INTEGER NOT NULL,
    problems            TEXT    NOT NULL,
    PRIMARY KEY (enterprise_id, day)
);
CREATE INDEX daily_reports_day ON daily_reports(day);

-- Which department takes a category of problem, and how long it has. A
-- category with no row goes to its default department (by org-unit code).
CREATE TABLE ticket_routes (
    category        TEXT    PRIMARY KEY,
    department_id   INTEGER NOT NULL REFERENCES org_units(id),
    deadline_hours  INTEGER NOT NULL
);

CREATE TABLE tickets (
    id              TEXT    PRIMARY KEY,
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id),
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
    updated_us      INTEGER NOT NULL
);
CREATE INDEX tickets_scope ON tickets(scope, raised_us);
CREATE INDEX tickets_department ON tickets(department_id, status);
CREATE INDEX tickets_officer ON tickets(officer_id, status);
CREATE INDEX tickets_open_deadline ON tickets(deadline_us) WHERE resolved_us IS NULL;

CREATE TABLE ticket_notes (
    ticket_id       TEXT    NOT NULL REFERENCES tickets(id),
    seq             INTEGER NOT NULL,
    at_us           INTEGER NOT NULL,
    author_id       INTEGER REFERENCES users(id),
    status          TEXT,
    note            TEXT    NOT NULL,
    attachment_id   TEXT    REFERENCES attachments(id),
    PRIMARY KEY (ticket_id, seq)
);

CREATE TABLE key_projects (
    id                      INTEGER PRIMARY KEY,
    enterprise_id           INTEGER NOT NULL REFERENCES enterprises(id),
    scope                   TEXT    NOT NULL,
    name                    TEXT    NOT NULL,
    product                 TEXT    NOT NULL,
    planned_daily_capacity  INTEGER NOT NULL,
    capacity_unit           TEXT    NOT NULL,
    blocking                TEXT    NOT NULL DEFAULT '',
    created_us              INTEGER NOT NULL,
    updated_us              INTEGER NOT NULL
);
CREATE INDEX key_projects_scope ON key_projects(scope);

CREATE TABLE project_milestones (
    project_id      INTEGER NOT NULL REFERENCES key_projects(id),
    kind            TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    planned_day     INTEGER NOT NULL,
    actual_day      INTEGER,
    PRIMARY KEY (project_id, kind)
);
