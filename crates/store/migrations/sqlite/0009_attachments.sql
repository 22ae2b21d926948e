-- Files that go with orders: an order's attachment (an image or a PDF) and
-- the photo a recipient sends with an acknowledgement or a report. Kept in
-- the database, so that a backup holds them and every node serves them.
-- `id` is the client's UUIDv7 (a resent upload stores nothing twice);
-- `scope` is the uploader's, for who may read it besides an order's
-- recipients.

CREATE TABLE attachments (
    id              TEXT    PRIMARY KEY,
    owner_id        INTEGER NOT NULL REFERENCES users(id),
    scope           TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    data            BLOB   NOT NULL,
    created_us      INTEGER NOT NULL
);

ALTER TABLE orders ADD COLUMN attachment_id TEXT REFERENCES attachments(id);
ALTER TABLE order_receipts ADD COLUMN photo_id TEXT REFERENCES attachments(id);
CREATE INDEX orders_attachment ON orders(attachment_id) WHERE attachment_id IS NOT NULL;
CREATE INDEX order_receipts_photo ON order_receipts(photo_id) WHERE photo_id IS NOT NULL;
