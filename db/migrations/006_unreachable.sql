-- A user who blocked the bot (403) is marked unreachable; their coordinator is told once.
ALTER TABLE users ADD COLUMN unreachable_told INTEGER NOT NULL DEFAULT 0;
