"""Typed lines on a terminal: a line editor (keys, history, Tab, paste) below what is printed."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import Any, TextIO, cast

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import has_focus
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys

from p2pchat.core.messages import clean_text
from p2pchat.ui import commands as cmd
from p2pchat.ui.completion import complete
from p2pchat.ui.lines import EXIT_INTERRUPTED, STOP_SIGNALS

PROMPT = "> "
CONTINUATION = "  "  # before the second and later lines of a multi-line message
CTRL_C_STOP = "SIGINT"  # the editor reads Ctrl-C as a key: it stops as the signal does


def message_chars(line: str) -> int:
    """How many characters the message in a typed line has, as it would be sent (0: none)."""
    command = cmd.parse_line(line)
    if isinstance(command, cmd.Say | cmd.Msg):
        return len(clean_text(command.text))
    return 0


def too_long(line: str, max_chars: int) -> str | None:
    """The one line refusing a message over max_chars before it is sent; None if it fits."""
    if len(line) <= max_chars:  # cleaning and parsing only ever shorten the text
        return None
    size = message_chars(line)
    if size <= max_chars:
        return None
    return f"message too long ({size} > {max_chars} characters); nothing was sent"


class _StoppedError(Exception):
    """Ends the prompt that runs when a stop signal arrives."""


class TerminalLines:
    """Iterates over lines typed in an editor until Ctrl-D, Ctrl-C or a stop signal.

    Output printed meanwhile (through sys.stdout, also from other threads) appears above the
    line being typed. Restores the signal handlers, stdout and the log's stream on exit.
    """

    def __init__(
        self,
        problem: Callable[[str], None],
        nicks: Callable[[], list[str]],
        max_text_chars: int,
    ) -> None:
        self.stopped_by: str | None = None
        self._problem = problem
        self._nicks = nicks
        self._max_chars = max_text_chars
        self._loop = asyncio.new_event_loop()
        self._exit = contextlib.ExitStack()
        self._old: dict[int, Any] = {}
        self._old_wakeup = -1
        self._session: PromptSession[str] | None = None
        self._printer: _Printer | None = None

    def __enter__(self) -> TerminalLines:
        self._session = PromptSession(
            PROMPT,
            history=InMemoryHistory(),
            key_bindings=self._bindings(),
            prompt_continuation=CONTINUATION,
            erase_when_done=True,
            reserve_space_for_menu=0,
        )
        self._session.default_buffer.on_text_changed += self._text_changed
        self._old_wakeup = signal.set_wakeup_fd(-1)
        for sig in STOP_SIGNALS:
            self._old[sig] = signal.signal(sig, self._on_signal)
        printer = _Printer(sys.stdout, self._loop)
        self._printer = printer
        self._exit.callback(printer.close)
        self._exit.enter_context(_redirect(printer))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._old_wakeup)
        self._exit.close()
        pending = asyncio.all_tasks(self._loop)
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.run_until_complete(self._loop.shutdown_default_executor())
        self._loop.close()

    def __iter__(self) -> Iterator[str]:
        session, printer = self._session, self._printer
        assert session is not None and printer is not None, "use TerminalLines in a with block"
        while self.stopped_by is None:
            printer.prompting(session.app)
            try:
                line = self._loop.run_until_complete(
                    session.prompt_async(
                        pre_run=self._stop_if_stopped,
                        set_exception_handler=False,
                        handle_sigint=False,
                    )
                )
            except (EOFError, _StoppedError):
                return
            finally:
                printer.prompting(None)
            yield line

    # ------------------------------------------------------------------ keys

    def _bindings(self) -> KeyBindings:
        keys = KeyBindings()
        typing = has_focus(DEFAULT_BUFFER)
        keys.add("enter", filter=typing)(self._send)
        keys.add("c-c")(self._ctrl_c)
        keys.add("c-u", filter=typing)(self._kill_to_start)
        keys.add("tab", filter=typing)(self._complete)
        keys.add(Keys.Any, filter=typing, save_before=_not_in_a_burst)(_self_insert)
        return keys

    def _send(self, event: KeyPressEvent) -> None:
        """Enter: send, unless the message is over the size limit (then keep it for editing)."""
        buffer = event.current_buffer
        problem = too_long(buffer.text, self._max_chars)
        if problem is None:
            buffer.validate_and_handle()
        else:
            self._problem(problem)

    def _ctrl_c(self, event: KeyPressEvent) -> None:
        """Ctrl-C: stop, as the signal does when the terminal is not in raw mode."""
        self.stopped_by = CTRL_C_STOP
        event.app.exit(exception=_StoppedError())

    def _kill_to_start(self, event: KeyPressEvent) -> None:
        """Ctrl-U: delete everything before the cursor, all lines of a pasted message too."""
        buffer = event.current_buffer
        deleted = buffer.delete_before_cursor(len(buffer.document.text_before_cursor))
        event.app.clipboard.set_text(deleted)

    def _complete(self, event: KeyPressEvent) -> None:
        """Tab: complete a nick or a /command."""
        buffer = event.current_buffer
        found = complete(buffer.document.text_before_cursor, self._nicks())
        if found is not None:
            replaced, text = found
            buffer.delete_before_cursor(replaced)
            buffer.insert_text(text)

    def _text_changed(self, buffer: Buffer) -> None:
        """Say in a bottom line, while the text is over the size limit, that it cannot go."""
        session = self._session
        assert session is not None
        over = len(buffer.text) > self._max_chars
        if over and session.bottom_toolbar is None:
            session.bottom_toolbar = self._toolbar
        elif not over and session.bottom_toolbar is not None:
            session.bottom_toolbar = None

    def _toolbar(self) -> str:
        session = self._session
        assert session is not None
        size = message_chars(session.default_buffer.text)
        if size <= self._max_chars:
            return ""
        return f"{size} > {self._max_chars} characters: too long to send (Ctrl-U deletes)"

    # --------------------------------------------------------------- signals

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopped_by is not None and signum == signal.SIGINT:
            # A second Ctrl-C while shutting down: the user wants out now.
            os._exit(EXIT_INTERRUPTED)
        self.stopped_by = signal.Signals(signum).name
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop_if_stopped)

    def _stop_if_stopped(self) -> None:
        """End the running prompt once a stop signal came (on the prompt's own loop)."""
        session = self._session
        if self.stopped_by is None or session is None:
            return
        app = session.app
        if app.is_running and app.future is not None and not app.future.done():
            app.exit(exception=_StoppedError())


def _self_insert(event: KeyPressEvent) -> None:
    """A typed character, with the characters queued right behind it (a paste typed as keys)."""
    queue = event.key_processor.input_queue
    text = [event.data * event.arg]
    while queue and len(queue[0].key) == 1:  # a character, not a named key such as c-m
        text.append(queue.popleft().data)
    event.current_buffer.insert_text("".join(text))


def _not_in_a_burst(event: KeyPressEvent) -> bool:
    """Keep an undo step per typed key, but not per key of a burst (a paste typed as keys)."""
    return not event.key_processor.input_queue


class _Printer:
    """Prints whole lines above the prompt while one runs, straight out otherwise, in order.

    Written to from any thread (it stands in for sys.stdout and sys.stderr). Unlike
    prompt_toolkit's patch_stdout, the choice between the two ways is made under one lock
    with the start and end of each prompt, so no line is written while a prompt is drawn.
    """

    def __init__(self, out: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self._out = out
        self._loop = loop
        self._context = contextvars.copy_context()
        self._lock = threading.Lock()
        self._partial: list[str] = []
        self._lines: list[str] = []
        self._app: Application[Any] | None = None
        self._scheduled = False

    def write(self, text: str) -> int:
        """Keep text; whole lines go out at once."""
        with self._lock:
            head, newline, tail = text.rpartition("\n")
            if not newline:
                self._partial.append(text)
                return len(text)
            self._lines.append("".join(self._partial) + head + newline)
            self._partial = [tail] if tail else []
            self._push()
        return len(text)

    def flush(self) -> None:
        """Nothing to do: whole lines are pushed as they are written."""

    def isatty(self) -> bool:
        """Whether the real output is a terminal."""
        return self._out.isatty()

    def fileno(self) -> int:
        """The real output's file descriptor."""
        return self._out.fileno()

    @property
    def encoding(self) -> str:
        """The real output's encoding."""
        return self._out.encoding

    @property
    def errors(self) -> str | None:
        """The real output's error handling."""
        return self._out.errors

    def prompting(self, app: Application[Any] | None) -> None:
        """A prompt is about to run (app), or has ended (None): print what is waiting now."""
        with self._lock:
            self._app = app
            if app is None:
                self._write_out()

    def close(self) -> None:
        """Write out everything, also a last line without its newline."""
        with self._lock:
            self._app = None
            self._lines.append("".join(self._partial))
            self._partial = []
            self._write_out()

    def _push(self) -> None:
        if self._app is None:
            self._write_out()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._start_printing, context=self._context)

    def _start_printing(self) -> None:
        self._loop.create_task(self._print_above())

    async def _print_above(self) -> None:
        async with in_terminal():
            with self._lock:
                self._scheduled = False
                self._write_out()

    def _write_out(self) -> None:
        text = "".join(self._lines)
        self._lines = []
        if text:
            self._out.write(text)
            self._out.flush()


@contextlib.contextmanager
def _redirect(printer: _Printer) -> Iterator[None]:
    """Send sys.stdout, sys.stderr and the log's stream to printer meanwhile."""
    old_out, old_err = sys.stdout, sys.stderr
    moved = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream in (old_out, old_err)
    ]
    olds = [handler.stream for handler in moved]
    sys.stdout = sys.stderr = cast(TextIO, printer)
    for handler in moved:
        handler.setStream(printer)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = old_out, old_err
        for handler, old in zip(moved, olds, strict=True):
            handler.setStream(old)
