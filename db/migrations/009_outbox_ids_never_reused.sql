-- Outbox ids are never reused (AUTOINCREMENT): the delivery worker looks only at the calls stored
-- after the newest id it has seen, and a plain INTEGER PRIMARY KEY starts again from the highest
-- remaining id once the newest rows are delivered and deleted.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    method          TEXT NOT NULL,          -- sendMessage, editMessageText, answerCallbackQuery
    payload         TEXT NOT NULL,          -- the call's parameters as JSON (sealed)
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL
);
INSERT INTO outbox_new (id, channel, chat_id, method, payload, created_at, attempts, next_attempt_at)
    SELECT id, channel, chat_id, method, payload, created_at, attempts, next_attempt_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(channel, next_attempt_at);
CREATE INDEX outbox_chat ON outbox(channel, chat_id, id);
