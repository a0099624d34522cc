-- A file sent on Telegram and uploaded to Meta for a reader on WhatsApp (issue 17): its media id, so that a
-- message held (the 24-hour window) or tried again reuses the upload, which Meta keeps for 30 days, instead
-- of fetching the file from Telegram and uploading it again each time. Keyed by the SHA-256 of the file's
-- Telegram reference (the reference itself is sealed in `attachments`); the media id is sealed, as it
-- fetches the file. Erased with the question's attachments, and by the nightly retention once too old.
CREATE TABLE whatsapp_media (
    source      TEXT PRIMARY KEY,
    media_id    TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX whatsapp_media_uploaded ON whatsapp_media(uploaded_at);

-- A stored message that takes several calls (text before a list, pages of a list, text before a file): how
-- many of its calls Meta has confirmed, per WhatsApp address (messages go to an address one at a time, in
-- order), with the SHA-256 of the message they belong to; a crash between the calls then sends only the
-- rest. Cleared when its last call is confirmed; erased with the address.
ALTER TABLE addresses ADD COLUMN sending TEXT;
ALTER TABLE addresses ADD COLUMN sending_parts INTEGER NOT NULL DEFAULT 0;
