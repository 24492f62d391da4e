"""Whom the chat dials at start: the addresses of --peer and of a --join invite."""

from __future__ import annotations

from p2pchat.cli.exits import UsageError, tell_user
from p2pchat.cli.parsers import DEFAULT_ROOM
from p2pchat.core.invite import Invite, InviteError, decode_invite
from p2pchat.core.limits import Limits
from p2pchat.discovery.static import resolve_peer

Address = tuple[str, int]  # (host, port)


def join_invite(code: str | None, room: str, limits: Limits) -> Invite | None:
    """The invite in --join's code (None without one), said on stderr; UsageError if unusable.

    room is --room: left at its default it becomes the invite's, otherwise it must be the same."""
    if code is None:
        return None
    try:
        invite = decode_invite(code, limits)
    except InviteError as exc:
        raise UsageError(f"bad --join: {exc}") from None
    if room not in (DEFAULT_ROOM, invite.room):
        raise UsageError(f"--room {room!r} differs from the invite's room {invite.room!r}")
    where = ", ".join(f"{address}:{invite.port}" for address in invite.addresses)
    tell_user(f"joining room {invite.room!r} by its invite: dialling {where}")
    return invite


def static_peers(specs: list[str], invite: Invite | None) -> tuple[Address, ...]:
    """The --peer HOST[:PORT] specs resolved, then the invite's addresses; UsageError if bad."""
    peers = tuple(_resolve(spec) for spec in specs)
    if invite is not None:
        peers += tuple((address, invite.port) for address in invite.addresses)
    return peers


def _resolve(spec: str) -> Address:
    """One --peer spec as an address; UsageError when it is malformed or does not resolve."""
    try:
        return resolve_peer(spec)
    except ValueError as exc:
        raise UsageError(f"bad --peer: {exc}") from None
