-- When a web session's person last used the page (issue 16): the e-mail channel's quiet rule counts
-- a page view since the last notice as having read it, as it counts a login link used. A time
-- only, of the session's own row: it goes with the session (logging out, its end, erasure).
ALTER TABLE web_sessions ADD COLUMN seen_at TEXT;
