-- Wijkbrug's first schema. Times are UTC ISO-8601 strings.

CREATE TABLE organisations (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL,             -- 'telegram', 'console'
    chat_id      TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('volunteer', 'member', 'coordinator')),
    org_id       TEXT REFERENCES organisations(id),
    language     TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    UNIQUE (channel, chat_id)
);
CREATE INDEX users_org_role ON users(org_id, role);

-- Invite codes are stored only as their SHA-256: a copy of the database does not let anyone in.
CREATE TABLE invites (
    code_hash  TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('volunteer', 'member', 'coordinator')),
    org_id     TEXT REFERENCES organisations(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    INTEGER REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE conversations (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,               -- flows.state.Conversation as JSON
    updated_at TEXT NOT NULL
);

CREATE TABLE questions (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    volunteer_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    urgent          INTEGER NOT NULL,
    theme           TEXT NOT NULL,
    age_group       TEXT NOT NULL,
    parent_language TEXT NOT NULL,
    pc4             TEXT NOT NULL,
    text            TEXT,                   -- NULL once erased
    created_at      TEXT NOT NULL
);
CREATE INDEX questions_org_created ON questions(org_id, created_at);

-- Alerts for an organisation's coordinators, kept until one exists to receive them.
CREATE TABLE pending_alerts (
    id         INTEGER PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organisations(id),
    message    TEXT NOT NULL,               -- flows.model.Message as JSON, rendered per recipient
    created_at TEXT NOT NULL
);

-- Every update is written here (keyed by the channel's id) before it is acknowledged.
-- The payload is cleared once processed: the inbox keeps no message text.
CREATE TABLE inbox (
    channel      TEXT NOT NULL,
    update_id    INTEGER NOT NULL,
    payload      TEXT,
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    outcome      TEXT,
    PRIMARY KEY (channel, update_id)
);
CREATE INDEX inbox_pending ON inbox(processed_at) WHERE processed_at IS NULL;

-- Rendered outgoing calls; a row is deleted once delivered (or given up on).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    method          TEXT NOT NULL,          -- sendMessage, editMessageText, answerCallbackQuery
    payload         TEXT NOT NULL,          -- the call's parameters as JSON
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(channel, next_attempt_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
