-- Personal data and secrets the database should not hold (issue 13).

-- The webhook's secret token is made afresh at every start and kept in memory only.
DELETE FROM settings WHERE key = 'telegram.webhook_secret';
