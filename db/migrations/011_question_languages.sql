-- Which language a question's free text is in (the volunteer's language when they logged it), and,
-- on a case, a short version of the question in a language the member reads when they do not read
-- that one (sealed, like the question's text; erased with it). See docs/handover.md.
ALTER TABLE questions ADD COLUMN text_language TEXT;
ALTER TABLE cases ADD COLUMN short_text TEXT;
ALTER TABLE cases ADD COLUMN short_language TEXT;
