"""What replies, reactions, edits and deletes make of the messages they are about: an index
of the entries held for each message, and the message's final state folded from them."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from p2pchat.core.entries import MESSAGE_KINDS, REACTION_KINDS, EntryKind
from p2pchat.core.messages import Chat

EntryId = tuple[str, int]  # (author, seq)
MAX_ENTRIES_ABOUT = 1000  # reactions, edits and deletes indexed per message; more are ignored
_NONE: frozenset[EntryId] = frozenset()
MAX_QUOTE_CHARS = 80  # of a message quoted to say which one (a reply's, a reaction's)


@dataclass(frozen=True, slots=True)
class Reaction:
    """One reaction to a message: its text, and who reacts with it (in the order they did)."""

    emoji: str
    authors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FinalState:
    """A message as it stands: its latest text (edited if an edit changed it), deleted, and
    the reactions in force, in the order they were first made."""

    text: str
    edited: bool
    deleted: bool
    reactions: tuple[Reaction, ...]


class RefIndex:
    """For each message ID, the IDs of the held entries about it (replies aside)."""

    def __init__(self) -> None:
        self._about: dict[str, set[EntryId]] = {}

    def add(self, chat: Chat) -> None:
        """Index chat if it is a reaction, an edit or a delete (at most MAX_ENTRIES_ABOUT per
        message: a flood of reactions from many keys cannot make each one cost more)."""
        if chat.ref and chat.kind not in MESSAGE_KINDS:
            entries = self._about.setdefault(chat.ref, set())
            if len(entries) < MAX_ENTRIES_ABOUT:
                entries.add((chat.author, chat.seq))

    def remove(self, chat: Chat) -> None:
        """Forget chat (it is no longer held)."""
        entries = self._about.get(chat.ref)
        if entries is not None:
            entries.discard((chat.author, chat.seq))
            if not entries:
                del self._about[chat.ref]

    def about(self, msg_id: str) -> AbstractSet[EntryId]:
        """The IDs of the entries held about msg_id (a view: do not keep it)."""
        return self._about.get(msg_id, _NONE)

    def __len__(self) -> int:
        """Entries indexed."""
        return sum(len(entries) for entries in self._about.values())


def first_line(text: str) -> str:
    """The first line of text, cut to MAX_QUOTE_CHARS (with an ellipsis if cut)."""
    line = text.split("\n", 1)[0]
    return line if len(line) <= MAX_QUOTE_CHARS else line[: MAX_QUOTE_CHARS - 1] + "…"


def final_state(message: Chat, entries: Iterable[Chat]) -> FinalState:
    """message as the entries about it leave it: the edit with the author's highest seq
    wins, any delete by the author deletes it for good, and each (reactor, reaction) stands as
    its reactor's latest entry on it says; reactions in the order of their oldest standing
    entry. Entries about another message, or an edit or delete by anyone but the author,
    change nothing. The same entries in any order give the same state."""
    text, edit_seq, deleted = message.text, 0, False
    latest: dict[tuple[str, str], Chat] = {}
    for entry in entries if message.kind in MESSAGE_KINDS else ():
        if entry.ref != message.msg_id:
            continue
        if entry.kind in REACTION_KINDS:
            key = (entry.author, entry.text)
            held = latest.get(key)
            if held is None or entry.seq > held.seq:
                latest[key] = entry
        elif entry.author != message.author:
            continue
        elif entry.kind is EntryKind.DELETE:
            deleted = True
        elif entry.kind is EntryKind.EDIT and entry.seq > edit_seq:
            text, edit_seq = entry.text, entry.seq
    reactions: dict[str, list[str]] = {}
    standing = sorted(
        (e for e in latest.values() if e.kind is EntryKind.REACT),
        key=lambda e: (e.lamport, e.author, e.seq),
    )
    for entry in standing:
        reactions.setdefault(entry.text, []).append(entry.author)
    return FinalState(
        text=text,
        edited=edit_seq > 0,
        deleted=deleted,
        reactions=tuple(Reaction(emoji, tuple(authors)) for emoji, authors in reactions.items()),
    )
