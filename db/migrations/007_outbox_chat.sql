-- The delivery worker sends each chat's waiting calls in order, in one go.
CREATE INDEX outbox_chat ON outbox(channel, chat_id, id);
