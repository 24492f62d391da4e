"""Stored direct messages as the views `history`, its export and search show, and placed among
the room's messages in transcript order (Lamport clock, then time)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from p2pchat.core import views as vw
from p2pchat.core.directrecords import DirectStatus, StoredDirect
from p2pchat.core.transcript import Display


class Placed(Protocol):
    """Anything with a place in the transcript: a room entry, a stored DM, a message view."""

    @property
    def lamport(self) -> int:
        """The room's clock when it was written (a DM: when it was shown)."""
        ...

    @property
    def ts(self) -> float:
        """Unix time it was written."""
        ...


First = TypeVar("First", bound=Placed)
Second = TypeVar("Second", bound=Placed)
Item = TypeVar("Item")


def direct_views(directs: Iterable[StoredDirect], display: Display) -> list[vw.MessageShown]:
    """The views of stored DMs (in their order; restored): own unless received, our own with
    their status."""
    return [
        vw.MessageShown(
            msg_id=direct.msg_id,
            author=direct.author,
            nick=direct.nick,
            display=display(direct.author, direct.nick),
            text=direct.text,
            ts=direct.ts,
            lamport=direct.lamport,
            direct=True,
            own=direct.own,
            to_id=direct.to,
            to_nick=display(direct.to, direct.to_nick),
            restored=True,
            dm_status=direct.status if direct.status is not DirectStatus.RECEIVED else None,
        )
        for direct in directs
    ]


def place(item: Placed) -> tuple[int, float]:
    """Where item stands in the transcript: (lamport, ts)."""
    return (item.lamport, item.ts)


def merge_by(
    first: Sequence[Item],
    second: Sequence[Item],
    key: Callable[[Item], tuple[int, float]],
    *,
    newest_first: bool = False,
) -> list[Item]:
    """Two lists, each ordered by key (or each newest first), merged into one: first's item
    before second's on a tie; each list keeps its own order."""
    merged: list[Item] = []
    i = j = 0
    while i < len(first) and j < len(second):
        a, b = key(first[i]), key(second[j])
        if (b > a) if newest_first else (b < a):
            merged.append(second[j])
            j += 1
        else:
            merged.append(first[i])
            i += 1
    return merged + list(first[i:]) + list(second[j:])


def in_transcript_order(
    first: Sequence[First], second: Sequence[Second], *, newest_first: bool = False
) -> list[First | Second]:
    """Two lists, each in transcript order (or each newest first), merged by (lamport, ts) as
    merge_by merges them."""
    items: list[First | Second] = [*first]
    others: list[First | Second] = [*second]
    return merge_by(items, others, place, newest_first=newest_first)
