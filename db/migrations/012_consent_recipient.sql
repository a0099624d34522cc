-- A consent records whom it names: the directory contact the parent agreed to pass their details
-- to, and the case (the request to that person) it was given for. The member of a case receives
-- the parent's details only while a consent row names the case's contact for that case
-- (flows/cases.py, `member_sees_parent`). See docs/privacy.md.
ALTER TABLE consents ADD COLUMN contact_id TEXT;
ALTER TABLE consents ADD COLUMN case_id TEXT REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX consents_case ON consents(case_id) WHERE case_id IS NOT NULL;

-- Rows stored before: a consent was recorded in the same step as its handover, with the same
-- time, so it is linked to the handover of its question opened at that moment. A handover that
-- reused an earlier consent (before issue 13) has no row of its own and stays unnamed: the parent
-- did not agree to pass their details to that person.
UPDATE consents SET case_id = (
    SELECT c.id FROM cases c
    WHERE c.question_id = consents.question_id AND c.kind = 'handover' AND c.opened_at = consents.given_at
    ORDER BY c.id LIMIT 1
) WHERE case_id IS NULL;
UPDATE consents SET contact_id = (SELECT c.contact_id FROM cases c WHERE c.id = consents.case_id)
WHERE contact_id IS NULL AND case_id IS NOT NULL;
