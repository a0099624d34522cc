-- The outbox holds rendered, channel-neutral messages for a person (bot/outgoing.py), no longer a
-- channel's API calls: `kind` is say, chosen, answer or menu, and each channel's sender turns a row
-- into its own calls when it delivers it. `address` is where the person is reached on `channel`
-- (a Telegram chat id today), `person_id` whom it is for (none: a stranger, answered once).
-- Rows stored before this migration keep their kind (a Bot API method: sendMessage, …) and their
-- payload; the Telegram sender still delivers them as the calls they are, so nothing waiting is lost.
ALTER TABLE outbox RENAME COLUMN method TO kind;
ALTER TABLE outbox RENAME COLUMN chat_id TO address;
ALTER TABLE outbox ADD COLUMN person_id INTEGER;
UPDATE outbox SET person_id = (SELECT a.user_id FROM addresses a WHERE a.channel = outbox.channel AND a.address = outbox.address);
CREATE INDEX outbox_person ON outbox(person_id);
