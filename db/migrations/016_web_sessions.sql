-- The web page's sessions (issue 16): a person logged in with a login link keeps a session for
-- a while. Only the SHA-256 of the session's token is stored (the token itself is in the person's
-- cookie only), with when it ends; logging out deletes the row, and so does erasing the person.
CREATE TABLE web_sessions (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
