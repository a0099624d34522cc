-- The language a person invited starts in (issue 17): WhatsApp tells the bot no language for its
-- users, so an operator may give it with the invite (`wijkbrug invite --language tr`). Empty: the
-- language the person's app reports, else the organisation's default, as before.
ALTER TABLE invites ADD COLUMN language TEXT;
