"""Storage, SQLite or PostgreSQL (db/connection.py picks): the only place that holds SQL. One module per aggregate."""
