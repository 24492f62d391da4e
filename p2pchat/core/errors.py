"""Protocol errors: what a peer did wrong (remote) versus what we were asked to do wrong (local)."""

from __future__ import annotations


class ProtocolError(Exception):
    """A peer sent something invalid; the connection it came on must be closed."""


class FrameTooLargeError(ProtocolError):
    """A frame's length prefix exceeds the limit; raised before its body is read."""


class InvariantError(AssertionError):
    """The core's state broke one of its own invariants: a bug in p2pchat, never a peer's doing."""


class LocalProtocolError(Exception):
    """Our own side asked for something the protocol does not allow (a bug or bad user input)."""
