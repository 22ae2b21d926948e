-- Incidents are handled: someone is assigned, notes make a timeline, the
-- status runs open → handling → closed. Incidents may also be reported by
-- hand (a conflict, an accident, a suspicious case, broken equipment), with
-- a summary and whoever reported them.

ALTER TABLE incidents ADD COLUMN assignee_id BIGINT REFERENCES users(id);
ALTER TABLE incidents ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN reported_by BIGINT REFERENCES users(id);

CREATE TABLE incident_notes (
    incident_id     TEXT    NOT NULL REFERENCES incidents(id),
    seq             BIGINT  NOT NULL,
    at_us           BIGINT  NOT NULL,
    author_id       BIGINT  REFERENCES users(id),
    status          TEXT,
    assignee_id     BIGINT  REFERENCES users(id),
    note            TEXT    NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
