-- Alerts: one row per condition raised. While the condition holds the row
-- is open or acknowledged, and the partial unique index makes "raised once"
-- hold in the database itself; when it clears the row is resolved and a
-- later recurrence is a new alert.

CREATE TABLE alerts (
    id              TEXT    PRIMARY KEY,
    rule            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    checkpoint_id   INTEGER REFERENCES checkpoints(id),
    severity        TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    raised_us       INTEGER NOT NULL,
    acked_us        INTEGER,
    acked_by        INTEGER REFERENCES users(id),
    resolved_us     INTEGER
);
CREATE UNIQUE INDEX alerts_live ON alerts(rule, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_scope ON alerts(scope, raised_us);
