-- WhatsApp (issue 17). Meta names each inbound message by its wamid, a string: the inbox keeps it
-- beside the update id it is given (one unique key per channel), so a redelivered message is ignored.
ALTER TABLE inbox ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX inbox_external ON inbox(channel, external_id) WHERE external_id IS NOT NULL;

-- The 24-hour window, per WhatsApp address: when the person last wrote, when Meta said the window
-- was closed (error 131047), and when the one "you have a message" template went out since.
ALTER TABLE addresses ADD COLUMN last_inbound_at TEXT;
ALTER TABLE addresses ADD COLUMN window_closed_at TEXT;
ALTER TABLE addresses ADD COLUMN template_sent_at TEXT;

-- Status webhooks (sent, delivered, read, failed: about three per message, out of order), each
-- acted on once; kept a week, as the inbox keeps the ids it has seen.
CREATE TABLE whatsapp_statuses (
    wamid       TEXT NOT NULL,
    status      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (wamid, status)
);
CREATE INDEX whatsapp_statuses_received ON whatsapp_statuses(received_at);

-- Messages Meta accepted but has not yet said were delivered: a late `failed` 131047 (the window
-- had closed) puts the message back in the outbox. Sealed, as the outbox is; deleted on delivery.
CREATE TABLE whatsapp_sent (
    wamid    TEXT PRIMARY KEY,
    address  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    payload  TEXT NOT NULL,
    sent_at  TEXT NOT NULL
);
CREATE INDEX whatsapp_sent_at ON whatsapp_sent(sent_at);
