"""Stored entries as the messages they leave: each message in its final state, as a view
(`history`, its export and search show these; reactions, edits and deletes are no messages)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from p2pchat.core import views as vw
from p2pchat.core.annotations import final_state, first_line
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
