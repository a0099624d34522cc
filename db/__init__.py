"""SQLite storage: the only place that holds SQL. One module per aggregate."""
