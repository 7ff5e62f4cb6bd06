"""Scheduled jobs: APScheduler wiring and thin job functions."""
