"""Saved transfers: the records FileDesk keeps so that accepted transfers resume after a restart.

The core makes them (`act.SaveTransfers`) and reads them back (`Mesh(transfers=...)`) as plain
JSON objects; these types name their two shapes, and `saved_transfer` checks an object's shape
where the records cross into and out of the data dir. What the fields mean (a valid offer, a
known state) the core checks itself when it restores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

UNKNOWN_NICK = "?"  # an incoming record without a nick (as FileDesk restores it)


class SavedOutgoing(TypedDict):
    """A file we offer: the signed offer, the file's path and its mtime when hashed (0: none)."""

    offer: str  # the offer frame's payload, compact JSON as encode_message writes it
    path: str
    mtime_ns: int


class SavedIncoming(TypedDict):
    """A file offered to us that we accepted: the offer, how it stands, from whom, and why."""

    offer: str
    state: str  # a TransferState value
    nick: str
    detail: str


SavedTransfer = SavedOutgoing | SavedIncoming


def saved_transfer(record: Mapping[str, object]) -> SavedTransfer | None:
    """The saved transfer a JSON object holds, or None if it has neither shape.

    An outgoing record has a non-empty path; optional fields get FileDesk's defaults.
    """
    offer = record.get("offer")
    if not isinstance(offer, str):
        return None
    path = record.get("path")
    if path:
        mtime_ns = record.get("mtime_ns", 0)
        if not isinstance(path, str) or not isinstance(mtime_ns, int) or isinstance(mtime_ns, bool):
            return None
        return SavedOutgoing(offer=offer, path=path, mtime_ns=mtime_ns)
    state = record.get("state")
    nick = record.get("nick", UNKNOWN_NICK)
    detail = record.get("detail", "")
    if not (isinstance(state, str) and isinstance(nick, str) and isinstance(detail, str)):
        return None
    return SavedIncoming(offer=offer, state=state, nick=nick, detail=detail)
