"""Audit: the append-only activity log and its API."""
