"""Between the keys and the node: what is typed or pasted becomes the draft, Enter sends it.

Text goes in within the message size limit: a paste too long is refused whole, with one line
that says so (and counts what else of it comes). Up/Down bring back lines sent before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import App
from textual.message_pump import MessagePump

from p2pchat.core.messages import clean_text
from p2pchat.ui.tui.draft import Draft, DraftBox, TypedHistory
from p2pchat.ui.tui.keys import PASTE_MIN_KEYS, PASTE_WINDOW_SECONDS, TextTyped
from p2pchat.ui.tui.log import ChatLog, Entry
from p2pchat.ui.tui.rows import paste_refusal, send_refusal

LINE_BREAKS = re.compile("\r\n|\r")


class Composer:
    """The draft's editor for the app (the InputOwner of both input widgets)."""

    def __init__(
        self,
        app: App[None],
        *,
        max_text_chars: int,
        send: Callable[[str], None],
        nicks: Callable[[], list[str]],
    ) -> None:
        self.history = TypedHistory()
        self.max_text_chars = max_text_chars
        self._app = app
        self._box = DraftBox(app)
        self._send = send  # a line to run: a command, or a message for the node
        self._nicks = nicks
        self._burst: _Burst | None = None
        self._typed_posted = 0  # bursts handed to a widget's queue
        self._typed_taken = 0  # bursts put into the input: in the order they were typed
        self._typed_waiting: dict[int, _Typed] = {}

    def take_text(self, text: str) -> bool:
        """Put pasted text at the cursor as one edit; refused with one line if it is too long."""
        self._burst = None  # a marked paste is its own: keys after it start a new burst
        text = LINE_BREAKS.sub("\n", text)
        draft = self._box.read()
        size = len(draft.text) - self._box.selected_chars() + len(text)
        if size > self.max_text_chars:
            self._log().add_line(paste_refusal(size, self.max_text_chars))
            return False
        self._box.insert(text)
        return True

    def take_typed(self, typed: TextTyped, text: str, target: MessagePump) -> None:
        """Take a burst's text once target (the focused widget) has handled the keys before it."""
        # When the focus moves (to the multi-line box), two queues hold bursts: they are taken
        # in turn, in the order they were typed.
        taken = _Typed(text, typed.continues_paste(text), typed.pasting, typed.quick, typed.soon)
        target.call_later(self._take_in_order, self._typed_posted, taken)
        self._typed_posted += 1

    def send_draft(self) -> None:
        """Send what the input holds (Enter), unless it is too long to be one message."""
        self._burst = None
        line = self._box.read().text
        size = len(clean_text(line))
        if size > self.max_text_chars:
            self._log().add_line(send_refusal(size, self.max_text_chars))
            return
        self._box.show(Draft("", 0))
        if not line.strip():
            return
        self.history.remember(line)
        self._send(line)

    def fill(self, line: str, *, keep_draft: bool = False) -> None:
        """Put line in the input in place of the draft (or before it), the cursor at the end."""
        self._burst = None
        if keep_draft:
            line += self._box.read().text.lstrip()
        self._box.show(Draft(line, len(line)))

    def recall(self, *, older: bool) -> None:
        """Show an earlier (or later) line that was sent; the draft comes back after the last."""
        line = self.history.older(self._box.read().text) if older else self.history.newer()
        if line is not None:
            self._box.show(Draft(line, len(line)))

    def nicks(self) -> list[str]:
        """Names to complete."""
        return self._nicks()

    def cursor_to_end(self) -> None:
        """Move the cursor to the end of the draft."""
        self._box.cursor_to_end()

    def _take_in_order(self, number: int, typed: _Typed) -> None:
        self._typed_waiting[number] = typed
        while self._typed_taken in self._typed_waiting:
            self._take(self._typed_waiting.pop(self._typed_taken))
            self._typed_taken += 1

    def _take(self, typed: _Typed) -> None:
        burst = self._burst
        now = time.monotonic()
        text, continues = typed.text, typed.continues
        if burst is not None and not continues:
            # On a busy machine the driver thread can stall between two reads of one long
            # paste and see a slow, short burst: while the paste window is open, or right
            # behind a refused paste, it is more of the same paste. And the first key of a
            # paste can come alone: a long burst whose first key came within
            # TYPED_PASTE_GAP_SECONDS of it (no fingers are that quick) is the rest of it; and
            # a paste's first few keys can come alone after a stall: a long burst within
            # STALLED_PASTE_GAP_SECONDS of a burst of several keys (no fingers type those) is too.
            recent = now - burst.taken_at < PASTE_WINDOW_SECONDS
            long = len(text) >= PASTE_MIN_KEYS
            refused = burst.notice is not None and long
            machine = typed.quick or (typed.soon and burst.last_part > 1)
            continues = (recent and (typed.pasting or refused)) or (long and machine)
        if burst is None or not continues:
            burst = self._burst = _Burst(self._box.read())
        burst.taken_at = now
        burst.chars += len(text)
        burst.last_part = len(text)
        log = self._log()
        if burst.notice is not None:
            # Refused already: the rest of it is dropped too, and counted in the same line.
            size = len(burst.before.text) + burst.chars
            burst.notice.renderable = paste_refusal(size, self.max_text_chars)
            log.rewrite(burst.notice)
            return
        draft = self._box.read()
        if len(draft.text) - self._box.selected_chars() + len(text) <= self.max_text_chars:
            self._box.insert(text)
            return
        if len(text) == 1 and not continues:
            self._app.bell()  # one key too many, typed by hand
            return
        self._box.show(burst.before)
        size = len(burst.before.text) + burst.chars
        burst.notice = log.add_line(paste_refusal(size, self.max_text_chars))

    def _log(self) -> ChatLog:
        return self._app.query_one("#log", ChatLog)


@dataclass(slots=True)
class _Burst:
    """Keys typed in one burst; refused at once if they make the message too long."""

    before: Draft
    chars: int = 0
    notice: Entry | None = None  # the line that says it was refused, and how long it is
    taken_at: float = 0.0  # when the app took its last part (monotonic)
    last_part: int = 0  # characters in that part


@dataclass(frozen=True, slots=True)
class _Typed:
    """The text of one burst of keys, and what its TextTyped said of how it came."""

    text: str
    continues: bool  # more of the paste before it, as the keys alone tell
    pasting: bool
    quick: bool  # its first key came within TYPED_PASTE_GAP_SECONDS of a text key
    soon: bool  # ... within STALLED_PASTE_GAP_SECONDS
