-- Audio/video calls: the record of who called whom, who joined and left
-- when, and how each call ended. The media itself never touches the
-- database; it flows through the server's SFU.
--
-- `scope` is where the call's events are seen: the narrowest unit holding
-- every post called (HQ's commanders see it, and so do the posts' own
-- people). A party is one person; `checkpoint_id` is the post they were
-- called at, if any.

CREATE TABLE calls (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    caller_id       INTEGER NOT NULL REFERENCES users(id),
    scope           TEXT    NOT NULL,
    started_us      INTEGER NOT NULL,
    answered_us     INTEGER,
    ended_us        INTEGER,
    outcome         TEXT
);
CREATE INDEX calls_scope ON calls(scope, started_us);
CREATE INDEX calls_active ON calls(started_us) WHERE ended_us IS NULL;

CREATE TABLE call_parties (
    call_id         TEXT    NOT NULL REFERENCES calls(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    checkpoint_id   INTEGER REFERENCES checkpoints(id),
    state           TEXT    NOT NULL,
    invited_us      INTEGER NOT NULL,
    joined_us       INTEGER,
    left_us         INTEGER,
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX call_parties_user ON call_parties(user_id, invited_us);
