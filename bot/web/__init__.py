"""The web page: a channel of the core for people without a chat app (issue 16).

`channel` (the web inbox, its runner and the feed's delivery), `app` (routes and server), `site`
(what the handlers share), `pages` (a person's page and what they do on it), `login` (links,
invitations, logging out), `summary` (a coordinator's week), `security` (headers, cookies, CSRF,
rate limits), `words` (the page's own strings, for the catalogs). Templates and the style sheet
are in `templates/` and `static/`; there is no script at all.
"""
