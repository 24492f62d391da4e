"""Saved transfers to the file desk's offers and back: what resumes after a restart (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeGuard

from p2pchat.core.errors import ProtocolError
from p2pchat.core.files import ACTIVE, FINISHED, Incoming, Outgoing, TransferState
from p2pchat.core.limits import Limits
from p2pchat.core.messages import FileOffer, decode_message, encode_message
from p2pchat.core.saved import (
    SavedIncoming,
    SavedOutgoing,
    SavedTransfer,
    saved_transfer,
)


def restore(
    records: Iterable[Mapping[str, object]], limits: Limits
) -> tuple[dict[str, Outgoing], dict[str, Incoming]]:
    """The offers we made and the accepted ones made to us, from saved records; a record of
    the wrong shape, with an offer that does not validate, or in no known state is skipped."""
    outgoing: dict[str, Outgoing] = {}
    incoming: dict[str, Incoming] = {}
    for record in records:
        saved = saved_transfer(record)
        offer = None if saved is None else _offer_of(saved["offer"], limits)
        if saved is None or offer is None:
            continue
        if _is_outgoing(saved):
            outgoing[offer.offer_id] = Outgoing(offer, saved["path"], saved["mtime_ns"])
            continue
        assert _is_incoming(saved)
        state = _state_of(saved["state"])
        if state in ACTIVE:
            incoming[offer.offer_id] = Incoming(offer, saved["nick"], TransferState.ACCEPTED)
        elif state is not None and state in FINISHED:
            done = offer.size if state == TransferState.DONE else 0
            nick, detail = saved["nick"], saved["detail"]
            incoming[offer.offer_id] = Incoming(offer, nick, state, done, None, detail)
    return outgoing, incoming


def records(
    outgoing: Iterable[Outgoing], incoming: Iterable[Incoming]
) -> tuple[SavedTransfer, ...]:
    """What to save: every offer we make, and the ones made to us that we accepted."""
    saved: list[SavedTransfer] = [
        SavedOutgoing(offer=_wire(o.offer), path=o.path, mtime_ns=o.mtime_ns) for o in outgoing
    ]
    saved += [
        SavedIncoming(offer=_wire(i.offer), state=i.state.value, nick=i.nick, detail=i.detail)
        for i in incoming
        if i.state in ACTIVE or i.state in FINISHED
    ]
    return tuple(saved)


def _is_outgoing(saved: SavedTransfer) -> TypeGuard[SavedOutgoing]:
    return "path" in saved


def _is_incoming(saved: SavedTransfer) -> TypeGuard[SavedIncoming]:
    return "state" in saved


def _wire(offer: FileOffer) -> str:
    return encode_message(offer).decode()


def _offer_of(wire: str, limits: Limits) -> FileOffer | None:
    """The offer in a saved record, validated like one from the network; None if bad."""
    try:
        offer = decode_message(wire.encode(), limits)
    except ProtocolError:
        return None
    return offer if isinstance(offer, FileOffer) else None


def _state_of(value: str) -> TransferState | None:
    """The state a saved record names, or None if it names none."""
    try:
        return TransferState(value)
    except ValueError:
        return None
