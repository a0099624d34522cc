"""Wijkbrug's adapters, runner and workers: everything that touches a channel, the clock or SQLite."""
