-- People without a chat app: a wijkteam member or coordinator reached by e-mail reads and answers
-- on a web page (issue 16).
--
-- `login_links`: a single-use, short-lived link that opens the web page logged in, sent in an
-- e-mail notice. Only the SHA-256 of the token is stored (like invites): a copy of the database
-- opens nobody's page. An expired link still names its person, so the page can offer to send a
-- fresh one to the same address without the visitor typing anything.
CREATE TABLE login_links (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX login_links_user ON login_links(user_id);

-- `web_feed`: what the bot said to a person who reads it on the web page, as the rendered,
-- channel-neutral message the outbox held (bot/outgoing.py), sealed like the outbox (it holds
-- question text). `ref` is what a later "chosen" message names to replace a prompt (the outbox
-- row's id on the channel that delivered it); `chosen` is the text that replaced it.
CREATE TABLE web_feed (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    replaced   TEXT
);
CREATE INDEX web_feed_user ON web_feed(user_id, id);
