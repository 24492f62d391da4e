"""Persistent state in the user's data directory."""
