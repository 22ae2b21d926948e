-- Incidents are handled: someone is assigned, notes make a timeline, the
-- status runs open → handling → closed. Incidents may also be reported by
-- hand (a conflict, an accident, a suspicious case, broken equipment), with
-- a summary and whoever reported them.

ALTER TABLE incidents ADD COLUMN assignee_id INTEGER REFERENCES users(id);
ALTER TABLE incidents ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN reported_by INTEGER REFERENCES users(id);

CREATE TABLE incident_notes (
    incident_id     TEXT    NOT NULL REFERENCES incidents(id),
    seq             INTEGER NOT NULL,
    at_us           INTEGER NOT NULL,
    author_id       INTEGER REFERENCES users(id),
    status          TEXT,
    assignee_id     INTEGER REFERENCES users(id),
    note            TEXT    NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
