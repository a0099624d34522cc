-- Every step of a case, with its time: the weekly summaries count these (requested, accepted,
-- declined, contact_made, closed, withdrawn, answered for a consult's first answer).
CREATE TABLE case_events (
    id      INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    status  TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX case_events_at ON case_events(at);
CREATE INDEX case_events_case ON case_events(case_id);
CREATE INDEX cases_team_opened ON cases(team_id, opened_at);
CREATE INDEX questions_wijk_created ON questions(wijk, created_at);

INSERT INTO case_events (case_id, status, at) SELECT id, 'requested', opened_at FROM cases;
