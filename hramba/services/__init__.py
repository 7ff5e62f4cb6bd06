"""Use cases: each takes an Archive (database, store, clock, actor) and does one job."""
