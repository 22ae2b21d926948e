-- An overdue receipt is escalated to the recipient's supervisor (the
-- leader of their shift, or the nearest commander above them), who then
-- sees it among their orders until the recipient answers.

ALTER TABLE order_receipts ADD COLUMN escalated_to INTEGER REFERENCES users(id);
CREATE INDEX order_receipts_escalated ON order_receipts(escalated_to) WHERE escalated_to IS NOT NULL;
