-- Access and privacy: revoked users and invites, unreachable users, and an audit log that says
-- who did what when — never the personal data itself.
ALTER TABLE users ADD COLUMN revoked_at TEXT;
ALTER TABLE users ADD COLUMN unreachable_at TEXT;
ALTER TABLE invites ADD COLUMN revoked_at TEXT;
ALTER TABLE questions ADD COLUMN text_erased_at TEXT;

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,   -- 'operator', 'bot', or 'user:<id>'
    action  TEXT NOT NULL,   -- export, erase, rotate-key, refused, revoke, retention, backup
    subject TEXT NOT NULL,   -- a code or an id, never a name
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at);
