-- Dispatch orders (指令) and roll calls (点名): what HQ told whom, and
-- where each recipient's receipt stands.
--
-- `scope` of an order is where its summary events are seen (the one post's,
-- or the issuer's scope for many). Each receipt has its own `scope` (the
-- recipient's post, or their unit) so that the recipient's phone hears of
-- it. `version` grows with every amendment; a receipt acknowledged an
-- earlier version is to be acknowledged again.

CREATE TABLE orders (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    priority        TEXT    NOT NULL,
    author_id       INTEGER NOT NULL REFERENCES users(id),
    scope           TEXT    NOT NULL,
    deadline_us     INTEGER NOT NULL,
    needs_report    INTEGER NOT NULL,
    targets         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    issued_us       INTEGER NOT NULL,
    amended_us      INTEGER,
    revoked_us      INTEGER
);
CREATE INDEX orders_scope ON orders(scope, issued_us);
CREATE INDEX orders_due ON orders(deadline_us) WHERE state = 'active';

CREATE TABLE order_receipts (
    order_id        TEXT    NOT NULL REFERENCES orders(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    checkpoint_id   INTEGER REFERENCES checkpoints(id),
    scope           TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    delivered_us    INTEGER NOT NULL,
    read_us         INTEGER,
    acked_us        INTEGER,
    acked_version   INTEGER,
    lat             REAL,
    lon             REAL,
    reported_us     INTEGER,
    report          TEXT,
    overdue_us      INTEGER,
    PRIMARY KEY (order_id, user_id)
);
CREATE INDEX order_receipts_user ON order_receipts(user_id, delivered_us);
