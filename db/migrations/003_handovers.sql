-- Warm handovers and consults, the parent's data (encrypted), consent, attachments, and timers.
-- Columns ending in _sealed hold text encrypted with the key kept outside the database.

CREATE TABLE cases (
    id            TEXT PRIMARY KEY,          -- H-xxxxxx
    kind          TEXT NOT NULL CHECK (kind IN ('handover', 'consult')),
    question_id   INTEGER REFERENCES questions(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES organisations(id),
    volunteer_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    contact_id    TEXT NOT NULL,             -- the directory entry (kept if the entry goes)
    member_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    team_id       TEXT NOT NULL,
    way           TEXT,                      -- how the family meets the professional
    status        TEXT NOT NULL,             -- requested, accepted, declined, contact_made, closed, withdrawn
    version       INTEGER NOT NULL DEFAULT 1,
    previous_id   TEXT REFERENCES cases(id), -- the declined request this one follows
    reason        TEXT,                      -- why it was declined
    reason_sealed TEXT,                      -- the member's own words, for "other"
    escalated     INTEGER NOT NULL DEFAULT 0,
    opened_at     TEXT NOT NULL,
    answered_at   TEXT,
    closed_at     TEXT
);
CREATE INDEX cases_member_status ON cases(member_id, status);
CREATE INDEX cases_volunteer ON cases(volunteer_id, opened_at);
CREATE INDEX cases_question ON cases(question_id);
CREATE INDEX cases_opened ON cases(org_id, opened_at);

-- What the parent allowed to be passed on, and to whom: one row per consent given.
CREATE TABLE consents (
    id              INTEGER PRIMARY KEY,
    question_id     INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    volunteer_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    wording_version TEXT NOT NULL,
    language        TEXT NOT NULL,           -- the language the parent was shown it in
    given_at        TEXT NOT NULL,
    withdrawn_at    TEXT
);

-- The parent's personal data, for a handover only, encrypted; erased on withdrawal or retention.
CREATE TABLE parents (
    question_id       INTEGER PRIMARY KEY REFERENCES questions(id) ON DELETE CASCADE,
    first_name_sealed TEXT,
    phone_sealed      TEXT,
    call_time_sealed  TEXT,
    erased_at         TEXT
);

CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY,
    question_id    INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    media          TEXT NOT NULL,            -- photo, document
    file_id_sealed TEXT,                     -- the channel's file reference, encrypted
    created_at     TEXT NOT NULL
);

-- Reminders and escalations: rows, so that a restart or a crash loses none.
CREATE TABLE timers (
    id       INTEGER PRIMARY KEY,
    kind     TEXT NOT NULL,                  -- remind, escalate
    case_id  TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    due_at   TEXT NOT NULL,
    fired_at TEXT
);
CREATE INDEX timers_due ON timers(due_at) WHERE fired_at IS NULL;

-- Coordinators of a wijkteam (besides those of an organisation).
ALTER TABLE users ADD COLUMN team_id TEXT;
ALTER TABLE invites ADD COLUMN team_id TEXT;
CREATE INDEX users_team_role ON users(team_id, role);

-- Alerts held until a coordinator of their scope ('org:<id>' or 'team:<id>') joins.
CREATE TABLE held_alerts (
    id         INTEGER PRIMARY KEY,
    scope      TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO held_alerts (scope, message, created_at) SELECT 'org:' || org_id, message, created_at FROM pending_alerts;
DROP TABLE pending_alerts;
