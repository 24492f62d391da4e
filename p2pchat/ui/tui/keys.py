"""Keys that come in a burst, joined into one text before the input sees them.

A paste from a terminal without bracketed paste, or keys typed by a program, come as keys: a
paste is one edit, however long, instead of one edit per character that measures and redraws
the whole line each time. The joining runs on the terminal driver's thread.
"""

from __future__ import annotations

import threading
import time

from textual import events
from textual.message import Message

# A paste from a terminal that does not mark pastes comes as keys: within one read of the
# terminal microseconds apart, between reads up to tens of milliseconds (more on a busy machine).
# PASTE_MIN_KEYS keys each within TYPED_PASTE_GAP_SECONDS of the one before come from a paste
# or a program, never from a person's fingers. Until PASTE_WINDOW_SECONDS after the last such
# key the paste may go on: Enter is a line break then, and quick or long bursts are more of it.
# A busy machine can stall the driver between two reads of one paste: a long burst whose first
# key came within STALLED_PASTE_GAP_SECONDS of a text key is the rest of it (after typing a key a
# person needs longer than that to paste).
TYPED_PASTE_GAP_SECONDS = 0.015
STALLED_PASTE_GAP_SECONDS = 0.25
PASTE_MIN_KEYS = 4
PASTE_WINDOW_SECONDS = 1.0
# Keys that are text in the middle of a paste (Enter and Ctrl+J are line breaks there).
BURST_TEXT_KEYS = {"enter": "\n", "ctrl+j": "\n", "tab": "\t"}


class TextTyped(Message, bubble=False):
    """Printable keys of one burst, joined; filled on the terminal driver's thread."""

    def __init__(self, *, pasting: bool, quick: bool, soon: bool | None = None) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.pasting = pasting  # its first key came while a paste went on
        self.quick = quick  # its first key came within TYPED_PASTE_GAP_SECONDS of a text key
        self.soon = quick if soon is None else soon  # ... within STALLED_PASTE_GAP_SECONDS

    def continues_paste(self, text: str) -> bool:
        """True if this burst is more of a paste: quick, or long (keys a person typed are not)."""
        return self.pasting and (self.quick or len(text) >= PASTE_MIN_KEYS)


class KeyJoiner:
    """Joins the text keys of a burst into one open TextTyped; safe to use from any thread."""

    def __init__(self) -> None:
        self.joining = False  # keys are joined only while True (the chat's own screen shows)
        self._lock = threading.Lock()
        self._open: TextTyped | None = None  # the burst message still open for more keys
        self._last_text_key = float("-inf")
        self._quick_keys = 0  # text keys in a row, each within TYPED_PASTE_GAP_SECONDS
        self._paste_until = float("-inf")  # keys before this belong to the paste going on

    def route(self, message: Message) -> Message | None:
        """What to post in place of message: a new TextTyped, None (joined the open one), or it."""
        # A key is text if it is printable, or if it is Enter, Ctrl+J or Tab in a paste (see
        # PASTE_WINDOW_SECONDS). Anything else is posted as it is and closes the open burst, so
        # nothing typed ever overtakes what came before it.
        if isinstance(message, events.Key) and not message.is_forwarded and self.joining:
            with self._lock:
                now = time.monotonic()
                pasting = now < self._paste_until
                gap = now - self._last_text_key
                quick, soon = gap < TYPED_PASTE_GAP_SECONDS, gap < STALLED_PASTE_GAP_SECONDS
                text = self._key_text(message, now)
                if text is not None:
                    typed = self._open
                    if typed is not None:
                        typed.parts.append(text)
                        return None
                    typed = self._open = TextTyped(pasting=pasting, quick=quick, soon=soon)
                    typed.parts.append(text)
                    return typed
                self._open = None
        elif self._open is not None:
            with self._lock:
                self._open = None
        return message

    def close(self, typed: TextTyped) -> str:
        """Take no more keys into typed (if it is still open); the text it holds."""
        with self._lock:
            if self._open is typed:
                self._open = None
            return "".join(typed.parts)

    def pasting(self) -> bool:
        """True while more keys of a paste typed as keys may come (Enter is a line break)."""
        return time.monotonic() < self._paste_until

    def _key_text(self, key: events.Key, now: float) -> str | None:
        """The text a key types, or None; keeps count of quick keys (under the lock)."""
        quick = now - self._last_text_key < TYPED_PASTE_GAP_SECONDS
        pasting = quick or now < self._paste_until
        text = key.character if key.is_printable else None
        if text is None and pasting:
            text = BURST_TEXT_KEYS.get(key.key)
        if text is None:
            self._last_text_key = float("-inf")
            self._quick_keys = 0
            return None
        self._quick_keys = self._quick_keys + 1 if quick else 1
        if self._quick_keys >= PASTE_MIN_KEYS:
            self._paste_until = now + PASTE_WINDOW_SECONDS
        self._last_text_key = now
        return text
