"""Reactions, edits, deletes and how our DMs stand, shown in the entry of their message.

None of them is a line of its own: the message's entry is written again, with its new counts
(`reactions.py`), its new text marked edited, its direct message's new mark (queued, ✓,
expired), or as one dim line saying it was deleted (no longer a message: the cursor passes
over it). One about a message the log does not hold
(false from the method) is for the caller to show otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rich.console import RenderableType

from p2pchat.core import views as vw
from p2pchat.ui.tui.log import ChatLog
from p2pchat.ui.tui.reactions import ReactionBook
from p2pchat.ui.tui.rows import deleted_row


class Conversation:
    """Changes to messages already shown, applied to their entries in the log."""

    def __init__(
        self, log: Callable[[], ChatLog], row: Callable[[vw.MessageShown], RenderableType]
    ) -> None:
        self._log = log
        self._row = row  # how a message is shown
        self._reactions = ReactionBook()

    def shown(self, view: vw.MessageShown) -> None:
        """A message is in the log: its reactions start from the counts it came with."""
        self._reactions.seen(view)

    def react(self, view: vw.ReactionShown) -> bool:
        """Show a message's reaction counts after this one; False if the log does not hold it."""
        entries = self._log().showing(view.msg_id)
        found = self._reactions.apply(view) if entries else None
        if found is None:
            return False
        counts: tuple[vw.ReactionCount, ...] = found
        return self._update(view.msg_id, lambda message: replace(message, reactions=counts))

    def edit(self, view: vw.MessageEdited) -> bool:
        """Show a message's new text, marked edited; False if the log does not hold it."""
        return self._update(view.msg_id, lambda m: replace(m, text=view.text, edited=True))

    def direct_status(self, view: vw.DirectStatusChanged) -> bool:
        """Show our direct message's new mark; False if the log does not hold it."""
        return self._update(view.msg_id, lambda m: replace(m, dm_status=view.status))

    def delete(self, view: vw.MessageDeleted) -> bool:
        """Show a message as deleted (no longer a message); False if the log does not hold it."""
        log = self._log()
        entries = log.showing(view.msg_id)
        for entry in entries:
            if entry.message is None:  # never: showing() finds messages only
                continue
            entry.renderable = deleted_row(entry.message)
            entry.message = None
            log.rewrite(entry)
        self._reactions.forget(view.msg_id)
        return bool(entries)

    def _update(self, msg_id: str, change: Callable[[vw.MessageShown], vw.MessageShown]) -> bool:
        """Change the message of each entry showing msg_id and write it again."""
        log = self._log()
        entries = log.showing(msg_id)
        for entry in entries:
            if entry.message is None:  # never: showing() finds messages only
                continue
            entry.message = change(entry.message)
            entry.renderable = self._row(entry.message)
            log.rewrite(entry)
        return bool(entries)
