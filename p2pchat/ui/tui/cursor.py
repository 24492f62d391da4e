"""The message cursor: pick one message of the log, then act on it with one key.

It moves over messages only (never day rules or notices). What a key does is a command line:
r, e, d and a (or +) put /reply, /edit, /delete or /react for the message in the input, for the
user to finish and send (a reply keeps what was typed, after it); 1 to 6 send a reaction at
once, as a typed line. After a /search it jumps to the newest hit the log shows; n to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from p2pchat.core import views as vw
from p2pchat.ui.tui.log import ChatLog, Entry

REACTIONS = ("👍", "❤️", "😂", "🎉", "😮", "👀")  # keys 1 to 6, in this order
REPLY, EDIT, DELETE, REACT = "/reply", "/edit", "/delete", "/react"
UP_KEYS = ("k",)
DOWN_KEYS = ("j",)
REPLY_KEYS = ("r",)
EDIT_KEYS = ("e",)
DELETE_KEYS = ("d",)
REACT_KEYS = ("a", "+")
NEXT_HIT_KEYS = ("n",)
# No emoji in it: terminals disagree on how wide some are, and the border it is in would break.
CURSOR_HINT = (
    "↑↓ pick a message · r reply · e edit · d delete · a react · 1-6 quick reaction · Esc back"
)
HIT_HINT = "n next search hit · "  # before the hint while there are hits to go through
NO_MESSAGES = "no message to pick yet"
NO_HIT_SHOWN = "none of the hits is among the messages on this screen: they are listed above"
NOT_OWN_EDIT = "only your own messages can be edited"
NOT_OWN_DELETE = "only your own messages can be deleted"


class MessageCursor:
    """Which message the cursor is on, and the command line each key makes of it."""

    def __init__(
        self,
        log: Callable[[], ChatLog],
        *,
        fill: Callable[[str, bool], None],
        submit: Callable[[str], None],
        notice: Callable[[str], None],
    ) -> None:
        self._log = log
        self._fill = fill  # put a line in the input (True: before the draft), cursor at the end
        self._submit = submit  # run a line as if it was typed and sent
        self._notice = notice  # a short line in the log
        self._entry: Entry | None = None
        self._hits: tuple[str, ...] = ()  # the last search's message IDs, newest first
        self._hit = 0  # the hit the cursor jumped to last

    @property
    def hint(self) -> str:
        """The cursor's keys, as shown while a message is picked."""
        return (HIT_HINT if self._hits else "") + CURSOR_HINT

    @property
    def active(self) -> bool:
        """True while a message is picked (the cursor's keys are taken)."""
        return self._entry is not None

    @property
    def selected(self) -> vw.MessageShown | None:
        """The message the cursor is on, if any."""
        return self._entry.message if self._entry is not None else None

    def start(self) -> bool:
        """Put the cursor on the newest message; False (and a notice) if there is none."""
        messages = self._messages()
        if not messages:
            self._notice(NO_MESSAGES)
            return False
        self._select(messages[-1])
        return True

    def found(self, msg_ids: Sequence[str]) -> bool:
        """A search's hits (newest first): jump to the newest one the log shows; False (and a
        notice) if it shows none of them."""
        self._hits = tuple(msg_ids)
        self._hit = -1
        if not self._hits:
            return False
        if not self.next_hit():
            self._notice(NO_HIT_SHOWN)
            return False
        return True

    def next_hit(self) -> bool:
        """Jump to the next older hit the log shows (after the oldest: the newest again)."""
        shown = {entry.message.msg_id: entry for entry in self._messages() if entry.message}
        for step in range(1, len(self._hits) + 1):
            at = (self._hit + step) % len(self._hits)
            entry = shown.get(self._hits[at])
            if entry is not None:
                self._hit = at
                self._select(entry)
                return True
        return False

    def stop(self) -> None:
        """Take the cursor away."""
        self._entry = None
        self._log().mark(None)

    def move(self, step: int) -> None:
        """Move over step messages (up if negative), staying within the log."""
        messages = self._messages()
        if not messages:
            self.stop()
            return
        at = next((i for i, entry in enumerate(messages) if entry is self._entry), None)
        if at is None:  # dropped from the log (it keeps MAX_LOG_ENTRIES): back to the newest
            self._select(messages[-1])
            return
        self._select(messages[min(max(at + step, 0), len(messages) - 1)])

    def take_key(self, char: str) -> bool:
        """Act on a typed character: True if it is one of the cursor's keys."""
        view = self.selected
        if view is None:
            return False
        if char in UP_KEYS or char in DOWN_KEYS:
            self.move(-1 if char in UP_KEYS else 1)
        elif char in NEXT_HIT_KEYS and self._hits:
            self.next_hit()
        elif char in REPLY_KEYS:
            self._act(f"{REPLY} {view.msg_id} ", keep_draft=True)
        elif char in EDIT_KEYS:
            self._act(f"{EDIT} {view.msg_id} {view.text}", own=view.own, refusal=NOT_OWN_EDIT)
        elif char in DELETE_KEYS:
            self._act(f"{DELETE} {view.msg_id}", own=view.own, refusal=NOT_OWN_DELETE)
        elif char in REACT_KEYS:
            self._act(f"{REACT} {view.msg_id} ")
        elif char.isdigit() and 1 <= int(char) <= len(REACTIONS):
            self._submit(f"{REACT} {view.msg_id} {REACTIONS[int(char) - 1]}")
        else:
            return False
        return True

    def _act(
        self, line: str, *, own: bool = True, refusal: str = "", keep_draft: bool = False
    ) -> None:
        """Leave the cursor and fill the input with line; if not own, say refusal and stay."""
        if not own:
            self._notice(refusal)
            return
        self.stop()
        self._fill(line, keep_draft)

    def _select(self, entry: Entry) -> None:
        self._entry = entry
        self._log().mark(entry)

    def _messages(self) -> list[Entry]:
        return [entry for entry in self._log().entries if entry.message is not None]
