"""Sockets and threads that feed the core."""
