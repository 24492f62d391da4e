"""What discovery raises for the user to fix (kept apart: the CLI names it without zeroconf)."""

from __future__ import annotations


class DiscoveryError(Exception):
    """mDNS cannot be used as configured; the message is one line for the user."""
