-- wijkbrug: rebuild
-- A person has one account (users) and one or more addresses on the channels: a Telegram chat id
-- today, a WhatsApp id or an e-mail address later. One of them is preferred: where the bot writes
-- to them. A channel's refusal for good (Telegram's 403) is about one address, not about the
-- person, so `unreachable_at` and `unreachable_told` (their coordinators were told) move there; a
-- person is unreachable when their preferred address is. Every account's chat becomes its
-- preferred address.
--
-- `users` then loses those columns through a table rebuild: SQLite cannot drop a column under a
-- UNIQUE constraint. The first line above makes db/connection.py run this with foreign keys off
-- (dropping the old table must not delete or empty what refers to a user: addresses, invites,
-- conversations, questions, cases, consents, held alerts) and check every foreign key before it
-- commits, as https://www.sqlite.org/lang_altertable.html ("Making Other Kinds Of Table Schema
-- Changes") describes.

CREATE TABLE addresses (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel          TEXT NOT NULL,           -- 'telegram', 'console'; later 'whatsapp', 'email'
    address          TEXT NOT NULL,           -- on that channel: a chat id, a phone number, an e-mail address
    preferred        INTEGER NOT NULL DEFAULT 0 CHECK (preferred IN (0, 1)),
    unreachable_at   TEXT,                    -- the channel refused for good to deliver here
    unreachable_told INTEGER NOT NULL DEFAULT 0, -- the person's coordinators were told
    created_at       TEXT NOT NULL,
    UNIQUE (channel, address)
);
CREATE UNIQUE INDEX addresses_preferred ON addresses(user_id) WHERE preferred = 1;
CREATE INDEX addresses_user ON addresses(user_id);

INSERT INTO addresses (user_id, channel, address, preferred, unreachable_at, unreachable_told, created_at)
    SELECT id, channel, chat_id, 1, unreachable_at, unreachable_told, created_at FROM users ORDER BY id;

CREATE TABLE users_new (
    id           INTEGER PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('volunteer', 'member', 'coordinator')),
    org_id       TEXT REFERENCES organisations(id),
    language     TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    contact_id   TEXT REFERENCES contacts(id) ON DELETE SET NULL, -- a wijkteam member's directory entry
    team_id      TEXT,                      -- a wijkteam's coordinator
    revoked_at   TEXT
);
INSERT INTO users_new (id, role, org_id, language, display_name, created_at, contact_id, team_id, revoked_at)
    SELECT id, role, org_id, language, display_name, created_at, contact_id, team_id, revoked_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

-- Every index of users, as before (it had no triggers and no views refer to it).
CREATE INDEX users_org_role ON users(org_id, role);
CREATE INDEX users_team_role ON users(team_id, role);
CREATE INDEX users_contact ON users(contact_id) WHERE contact_id IS NOT NULL;
