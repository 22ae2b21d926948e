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
    author_id       BIGINT  NOT NULL REFERENCES users(id),
    scope           TEXT COLLATE "C" NOT NULL,
    deadline_us     BIGINT  NOT NULL,
    needs_report    BIGINT  NOT NULL,
    targets         TEXT    NOT NULL,
    version         BIGINT  NOT NULL,
    state           TEXT    NOT NULL,
    issued_us       BIGINT  NOT NULL,
    amended_us      BIGINT,
    revoked_us      BIGINT
);
CREATE INDEX orders_scope ON orders(scope, issued_us);
CREATE INDEX orders_due ON orders(deadline_us) WHERE state = 'active';

CREATE TABLE order_receipts (
    order_id        TEXT    NOT NULL REFERENCES orders(id),
    user_id         BIGINT  NOT NULL REFERENCES users(id),
    checkpoint_id   BIGINT  REFERENCES checkpoints(id),
    scope           TEXT COLLATE "C" NOT NULL,
    state           TEXT    NOT NULL,
    delivered_us    BIGINT  NOT NULL,
    read_us         BIGINT,
    acked_us        BIGINT,
    acked_version   BIGINT,
    lat             DOUBLE PRECISION,
    lon             DOUBLE PRECISION,
    reported_us     BIGINT,
    report          TEXT,
    overdue_us      BIGINT,
    PRIMARY KEY (order_id, user_id)
);
CREATE INDEX order_receipts_user ON order_receipts(user_id, delivered_us);
