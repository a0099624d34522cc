-- Personal data that erasure and retention missed (issue 13).

-- A parent's language typed as free text was stored as 'other:<the typed text>', and one tester
-- typed a person's name there. Only language codes are kept: what was typed becomes 'und'
-- (CLDR's "unknown language"), shown as such in summaries and the CSV.
UPDATE questions SET parent_language = 'und' WHERE parent_language LIKE 'other:%';

-- The webhook's secret token is made afresh at every start and kept in memory only.
DELETE FROM settings WHERE key = 'telegram.webhook_secret';

-- A held alert names a person (the volunteer who reported, or whose request stalled): erasing that
-- person takes the alert with them. The message itself is now sealed like other personal data.
ALTER TABLE held_alerts ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
CREATE INDEX held_alerts_user ON held_alerts(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX held_alerts_created ON held_alerts(created_at);
