-- Indexes for the queries on an update's path, found with EXPLAIN QUERY PLAN over the stories.

-- The processing loop asks for the unprocessed updates of a channel in order on every turn; the
-- old index (on processed_at alone) lost to the primary key, which walks every processed row.
DROP INDEX inbox_pending;
CREATE INDEX inbox_pending ON inbox(channel, update_id) WHERE processed_at IS NULL;

-- Open handovers per contact (matching breaks ties on the fewest).
CREATE INDEX cases_status_contact ON cases(status, contact_id);

-- Which contacts have a registered member (every update's environment).
CREATE INDEX users_contact ON users(contact_id) WHERE contact_id IS NOT NULL;

-- A case's timers are cancelled when it is answered.
CREATE INDEX timers_case ON timers(case_id) WHERE fired_at IS NULL;

-- Consent withdrawal, erasure and retention by question.
CREATE INDEX consents_question ON consents(question_id);
CREATE INDEX attachments_question ON attachments(question_id);

-- Alerts held for a coordinator who is not there yet.
CREATE INDEX held_alerts_scope ON held_alerts(scope, id);
