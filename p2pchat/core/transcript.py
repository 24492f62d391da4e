"""Stored entries as the messages they leave: each message in its final state, as a view
(`history`, its export and search show these; reactions, edits and deletes are no messages);
direct messages as they are shown, and both placed in transcript order (Lamport clock, then
time)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from p2pchat.core import views as vw
from p2pchat.core.annotations import final_state, first_line
from p2pchat.core.directrecords import StoredDirect
from p2pchat.core.entries import MESSAGE_KINDS, EntryKind
from p2pchat.core.messages import Chat

Display = Callable[[str, str], str]  # (author, nick) -> the name shown


def message_views(
    messages: Iterable[Chat], entries: Iterable[Chat], display: Display, me: str = ""
) -> list[vw.MessageShown]:
    """The views of messages (in their order; restored) as entries leave them: the latest
    edit's text, reactions as counts (own: me among them), a reply with the first line of what
    it answers (when held and not deleted); deleted messages and other entries are left out."""
    held = list(entries)
    by_id = {chat.msg_id: chat for chat in held}
    about: dict[str, list[Chat]] = {}
    for chat in held:
        if chat.ref and chat.kind not in MESSAGE_KINDS:
            about.setdefault(chat.ref, []).append(chat)
    views: list[vw.MessageShown] = []
    for chat in messages:
        if chat.kind not in MESSAGE_KINDS:
            continue
        state = final_state(chat, about.get(chat.msg_id, ()))
        if state.deleted:
            continue
        reply_text = None
        answered = by_id.get(chat.ref) if chat.kind is EntryKind.REPLY else None
        if answered is not None and answered.kind in MESSAGE_KINDS:
            answered_state = final_state(answered, about.get(answered.msg_id, ()))
            if not answered_state.deleted:
                reply_text = first_line(answered_state.text)
        views.append(
            vw.MessageShown(
                msg_id=chat.msg_id,
                author=chat.author,
                nick=chat.nick,
                display=display(chat.author, chat.nick),
                text=state.text,
                ts=chat.ts,
                lamport=chat.lamport,
                direct=False,
                own=bool(me) and chat.author == me,
                restored=True,
                reply_to=chat.ref or None,
                reply_text=reply_text,
                edited=state.edited,
                action=chat.kind is EntryKind.ACTION,
                reactions=tuple(
                    vw.ReactionCount(r.emoji, len(r.authors), me in r.authors)
                    for r in state.reactions
                ),
            )
        )
    return views


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
    """The views of stored DMs (in their order; restored)."""
    return [direct_view(direct, display, restored=True) for direct in directs]


def direct_view(direct: StoredDirect, display: Display, *, restored: bool) -> vw.MessageShown:
    """How a DM is shown: own unless received, our own with its status."""
    return vw.MessageShown(
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
        restored=restored,
        dm_status=direct.status if direct.own else None,
    )


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
