"""Room entries beyond plain text: their kinds, how one names the message it is about, and the
rules each kind keeps, checked whenever an entry is built (so a peer's bad entry is refused)."""

from __future__ import annotations

import re
from enum import StrEnum

from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import MAX_COUNTER, MAX_REACTION_CHARS, NODE_ID_HEX_CHARS


class EntryKind(StrEnum):
    """What a room entry is; every kind is signed, numbered, stored and synced alike."""

    TEXT = "text"  # a message
    REPLY = "reply"  # a message that answers ref
    ACTION = "me"  # a message in the third person (/me waves)
    REACT = "react"  # the author reacts to ref with text (one emoji or a short word)
    UNREACT = "unreact"  # the author takes back its reaction text to ref
    EDIT = "edit"  # ref's new text (only ref's author may)
    DELETE = "delete"  # ref is deleted (only ref's author may); no text


MESSAGE_KINDS = frozenset({EntryKind.TEXT, EntryKind.REPLY, EntryKind.ACTION})
REACTION_KINDS = frozenset({EntryKind.REACT, EntryKind.UNREACT})
AUTHOR_ONLY_KINDS = frozenset({EntryKind.EDIT, EntryKind.DELETE})
REF_SHAPE = rf"^(?:[0-9a-f]{{{NODE_ID_HEX_CHARS}}}:[1-9][0-9]{{0,18}})?\Z"
ZERO_WIDTH_JOINER = "\u200d"  # joins emoji into one (a family); otherwise unprintable
_REF = re.compile(REF_SHAPE)


def parse_ref(ref: str) -> tuple[str, int]:
    """The (author, seq) a well-formed message ID names; ValueError if it is not one."""
    if not ref or not _REF.match(ref):
        raise ValueError(f"not a message ID: {ref[:80]!r}")
    author, _, seq = ref.partition(":")
    number = int(seq)
    if number > MAX_COUNTER:
        raise ValueError(f"not a message ID: {ref[:80]!r}")
    return author, number


def entry_problem(kind: EntryKind, ref: str, author: str, text: str) -> str | None:
    """Why an entry of kind, about ref, by author, with text breaks its kind's rules (None: it
    keeps them). Messages need text; reactions one short word; edits and deletes their own."""
    try:
        kind = EntryKind(kind)
    except ValueError:
        return "an entry of a kind we do not know"
    if kind in MESSAGE_KINDS and kind is not EntryKind.REPLY:
        if ref:
            return f"{kind} entries name no message"
    else:
        try:
            ref_author, _ = parse_ref(ref)
        except ValueError:
            return f"{kind} entries name the message they are about"
        if kind in AUTHOR_ONLY_KINDS and ref_author != author:
            return f"only a message's author may {kind} it"
    if kind is EntryKind.DELETE:
        return "a delete carries no text" if text else None
    if not text:
        return f"{kind} entries need text"
    if kind in REACTION_KINDS and (
        len(text) > MAX_REACTION_CHARS
        or not text.replace(ZERO_WIDTH_JOINER, "").isprintable()
        or any(c.isspace() for c in text)
    ):
        return f"a reaction is one emoji or a word of at most {MAX_REACTION_CHARS} characters"
    return None


def check_entry(kind: EntryKind, ref: str, author: str, text: str) -> None:
    """Raise ProtocolError if the entry breaks its kind's rules (see entry_problem)."""
    problem = entry_problem(kind, ref, author, text)
    if problem is not None:
        raise ProtocolError(problem)
