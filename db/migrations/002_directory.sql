-- The directory: wijken and their postcodes, wijkteams, their people, other services.
-- Lists (themes, languages) are JSON arrays: the bot reads the whole directory into memory.

CREATE TABLE wijken (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL
);

-- One row per PC4: the primary key makes it impossible for two wijken to claim a postcode.
CREATE TABLE wijk_postcodes (
    pc4       TEXT PRIMARY KEY,
    wijk_code TEXT NOT NULL REFERENCES wijken(code) ON DELETE CASCADE
);

CREATE TABLE teams (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    phone   TEXT NOT NULL DEFAULT '',
    email   TEXT NOT NULL DEFAULT '',
    hours   TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL
);

CREATE TABLE team_wijken (
    team_id   TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    wijk_code TEXT NOT NULL REFERENCES wijken(code) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    PRIMARY KEY (team_id, wijk_code)
);

CREATE TABLE contacts (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL DEFAULT '',
    themes     TEXT NOT NULL DEFAULT '[]',
    languages  TEXT NOT NULL DEFAULT '[]',
    phone      TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    away_until TEXT,                        -- a date; set by the file or by the member (/away)
    position   INTEGER NOT NULL
);
CREATE INDEX contacts_team ON contacts(team_id);

CREATE TABLE services (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    themes      TEXT NOT NULL DEFAULT '[]',
    phone       TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    hours       TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL
);

-- A wijkteam member's account is bound to their directory entry.
ALTER TABLE users ADD COLUMN contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL;
ALTER TABLE invites ADD COLUMN contact_id TEXT REFERENCES contacts(id) ON DELETE CASCADE;

-- The wijk a question belongs to (from its postcode, or chosen by the volunteer).
ALTER TABLE questions ADD COLUMN wijk TEXT;
