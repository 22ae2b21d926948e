-- The field outbox (issue 9): what arrived from phones through
-- `POST /api/v1/sync`, with the phone's clock beside the server's.
--
-- `field_receipts` holds one row per synced record, keyed by the record's
-- own client id, so a record sent again is counted once. `entered_us` is
-- the phone's clock when the officer tapped, `sent_us` the phone's clock
-- when it was sent, `received_us` the server's; `skew_us` is
-- `received_us - sent_us` (a wrong phone clock shows here). A record is
-- `late` (entered offline) when it waited on the phone longer than the
-- deployment's threshold; `entered_by` differs from `user_id` when someone
-- else delivered it (a shift leader sending a disabled colleague's work).
--
-- `post_sync` is each post's running figures for the board.

CREATE TABLE field_receipts (
    id             TEXT    PRIMARY KEY,
    checkpoint_id  INTEGER REFERENCES checkpoints(id),
    user_id        INTEGER NOT NULL REFERENCES users(id),
    entered_by     INTEGER REFERENCES users(id),
    route          TEXT    NOT NULL,
    entered_us     INTEGER NOT NULL,
    sent_us        INTEGER NOT NULL,
    received_us    INTEGER NOT NULL,
    skew_us        INTEGER NOT NULL,
    late           INTEGER NOT NULL CHECK (late IN (0, 1))
);
CREATE INDEX field_receipts_post ON field_receipts(checkpoint_id, entered_us);

CREATE TABLE post_sync (
    checkpoint_id  INTEGER PRIMARY KEY REFERENCES checkpoints(id),
    last_sync_us   INTEGER NOT NULL,
    records        INTEGER NOT NULL,
    late_records   INTEGER NOT NULL,
    skew_us        INTEGER NOT NULL
);
