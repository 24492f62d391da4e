"""The full-screen interface (Textual): message log, peer sidebar, header, input with history.

The node runs in its own threads and hands views over with `App.post_message`, which is
thread-safe and never waits for the UI. Typed lines go back to the node with its `post`.

Keys that come in a burst (a paste from a terminal without bracketed paste, or keys typed by a
program) are joined into one text before the input sees them: a paste is one edit, however
long, instead of one edit per character that measures and redraws the whole line each time.
Text with line breaks moves the input into a multi-line box; Enter sends it as one message.
"""

from __future__ import annotations

import asyncio
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.limits import Limits
from p2pchat.core.messages import clean_text
from p2pchat.ui.completion import complete
from p2pchat.ui.plain import render
from p2pchat.ui.progress import TransferBoard
from p2pchat.ui.session import run_line
from p2pchat.ui.tui.bridge import AppUi, ViewArrived
from p2pchat.ui.tui.keys import PASTE_MIN_KEYS, PASTE_WINDOW_SECONDS, KeyJoiner, TextTyped
from p2pchat.ui.tui.log import ChatLog, Entry
from p2pchat.ui.tui.panels import header, peer_list, transfer_list
from p2pchat.ui.tui.roster import Roster
from p2pchat.ui.tui.rows import (
    invite_rows,
    joined_row,
    left_row,
    mentions_me,
    message_row,
    paste_refusal,
    screenshot_row,
    send_refusal,
)

Post = Callable[[object], None]
PEER_REFRESH_SECONDS = 2.0
INPUT_HISTORY = 200
MAX_TEXT_CHARS = Limits().max_text_chars
SCREENSHOT_NAME = "p2pchat-%Y%m%d-%H%M%S.svg"

_LINE_BREAKS = re.compile("\r\n|\r")


@dataclass(frozen=True, slots=True)
class _Draft:
    """What the input holds: its text and the cursor, as an offset into the text."""

    text: str
    cursor: int


@dataclass(slots=True)
class _Burst:
    """Keys typed in one burst; refused at once if they make the message too long."""

    before: _Draft
    chars: int = 0
    notice: Entry | None = None  # the line that says it was refused, and how long it is
    taken_at: float = 0.0  # when the app took its last part (monotonic)


class TypedHistory:
    """What was sent, for Up/Down; the draft being typed is kept while walking through it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._cursor = 0
        self._draft = ""

    def remember(self, line: str) -> None:
        """Keep a sent line and go back to a new, empty draft."""
        if line and (not self.lines or self.lines[-1] != line):
            self.lines.append(line)
            del self.lines[:-INPUT_HISTORY]
        self._cursor = len(self.lines)
        self._draft = ""

    def older(self, current: str) -> str | None:
        """The line before the one shown (current: what the input holds now); None at the top."""
        if self._cursor == 0:
            return None
        if self._cursor == len(self.lines):
            self._draft = current
        self._cursor -= 1
        return self.lines[self._cursor]

    def newer(self) -> str | None:
        """The line after the one shown, then the draft again; None if already there."""
        if self._cursor >= len(self.lines):
            return None
        self._cursor += 1
        return self.lines[self._cursor] if self._cursor < len(self.lines) else self._draft


class ChatInput(Input):
    """The input line: Up/Down walk through what was typed, Tab completes nicks and commands."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("up", "older", "earlier line", show=False),
        Binding("down", "newer", "later line", show=False),
        Binding("tab", "complete", "complete", show=False, priority=True),
        Binding("ctrl+d", "delete_right_or_quit", "delete, or quit on an empty line", show=False),
    ]

    def __init__(self, chat: ChatApp, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._chat = chat

    def on_paste(self, event: events.Paste) -> None:
        """A paste keeps all its lines (Input alone would keep only the first)."""
        event.stop()
        event.prevent_default()
        self._chat.take_text(event.text)

    def action_older(self) -> None:
        self._chat.recall(older=True)

    def action_newer(self) -> None:
        self._chat.recall(older=False)

    def action_complete(self) -> None:
        before = self.value[: self.cursor_position]
        found = complete(before, self._chat.nicks())
        if found is None:
            return
        replaced, text = found
        start = len(before) - replaced
        self.value = before[:start] + text + self.value[self.cursor_position :]
        self.cursor_position = start + len(text)

    def action_delete_right_or_quit(self) -> None:
        if self.value:
            self.action_delete_right()
        else:
            self._chat.exit()

    def action_paste(self) -> None:
        self._chat.take_text(self.app.clipboard)

    async def action_submit(self) -> None:
        self._chat.send_draft()


class MultiLineInput(TextArea):
    """The input while it holds several lines: they can be edited, and Enter sends them all."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("up", "older", "line up, or the earlier line you typed", show=False),
        Binding("down", "newer", "line down, or the later line you typed", show=False),
    ]

    def __init__(self, chat: ChatApp, **kwargs: object) -> None:
        super().__init__(soft_wrap=True, tab_behavior="indent", **kwargs)  # type: ignore[arg-type]
        self.indent_type = "tabs"
        self._chat = chat

    def on_key(self, event: events.Key) -> None:
        """Enter sends (TextArea alone would start a new line); Escape keeps the focus here."""
        if event.key in ("enter", "escape"):
            event.stop()
            event.prevent_default()
        if event.key == "enter":
            self._chat.send_draft()

    def on_paste(self, event: events.Paste) -> None:
        """A paste is checked against the size limit first."""
        event.stop()
        event.prevent_default()
        self._chat.take_text(event.text)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Keep the count of lines in the title up to date."""
        self.show_size()

    def show_size(self) -> None:
        """Say in the title how many lines the message has and how to send it."""
        lines = self.document.line_count
        self.border_title = f"{lines} line{'s' if lines != 1 else ''}, one message · Enter sends"

    def action_older(self) -> None:
        if self.cursor_at_first_line:
            self._chat.recall(older=True)
        else:
            self.action_cursor_up()

    def action_newer(self) -> None:
        if self.cursor_at_last_line:
            self._chat.recall(older=False)
        else:
            self.action_cursor_down()

    def action_paste(self) -> None:
        self._chat.take_text(self.app.clipboard)


class ChatApp(App[None]):
    """The chat on the whole terminal."""

    TITLE = "p2pchat"
    CSS = """
    #header { height: 1; background: $primary-background; color: $text; padding: 0 1; }
    #body { height: 1fr; }
    #log { width: 1fr; border: none; scrollbar-size-vertical: 1; }
    #peers { width: 30; height: 1fr; border-left: solid $primary-darken-2; padding: 0 1; }
    #transfers { height: auto; max-height: 8; padding: 0 1; display: none; }
    #input { dock: bottom; }
    #multiline { dock: bottom; height: auto; max-height: 12; display: none; }
    """
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("ctrl+c", "quit", "quit", priority=True),
        Binding("pageup", "page_up", "scroll up", show=False),
        Binding("pagedown", "page_down", "scroll down", show=False),
        Binding("end", "newest", "newest", show=False, priority=True),
        Binding("f2", "accept_offer", "accept file", show=False),
        Binding("f12", "save_screen", "screenshot", show=False),
    ]

    def __init__(self, post: Post | None = None, max_text_chars: int = MAX_TEXT_CHARS) -> None:
        # First: post_message uses it on the terminal driver's thread, maybe before this returns.
        self._keys = KeyJoiner()
        super().__init__()
        self.post_to_node: Post = post or (lambda _event: None)
        self.max_text_chars = max_text_chars
        self.on_started: Callable[[], None] | None = None
        self.me: vw.Ready | None = None
        self.roster = Roster()
        self.unread = 0
        self.bells = 0
        self.history = TypedHistory()
        self.transfers = TransferBoard()
        self.ready = threading.Event()
        self._main_screen: Screen[object] | None = None
        self._typed_posted = 0  # bursts handed to a widget's queue
        self._typed_taken = 0  # bursts put into the input: in the order they were typed
        self._typed_waiting: dict[int, tuple[str, bool, bool, bool]] = {}
        self._burst: _Burst | None = None

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="body"):
            yield ChatLog(id="log")
            yield Static(id="peers")
        yield Static(id="transfers")
        yield ChatInput(
            self,
            id="input",
            placeholder="Type a message, /help for commands",
            select_on_focus=False,  # the focus comes back after a paste: keep what was typed
        )
        yield MultiLineInput(self, id="multiline")

    def on_mount(self) -> None:
        self.query_one("#input", ChatInput).focus()
        self.set_interval(PEER_REFRESH_SECONDS, self._refresh_peers)
        self._draw_header()
        self._draw_peers()
        self._main_screen = self.screen
        self._keys.joining = True
        self.screen_change_signal.subscribe(self, self._screen_changed)
        try:
            loop = asyncio.get_running_loop()
            for name in ("SIGTERM", "SIGHUP"):  # SIGHUP: not on every platform
                if hasattr(signal, name):
                    loop.add_signal_handler(getattr(signal, name), self.exit)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        self.ready.set()
        if self.on_started is not None:
            self.on_started()

    # ------------------------------------------------------------- input

    def post_message(self, message: Message) -> bool:
        """Queue a message; text keys that come in a burst are joined into one TextTyped."""
        routed = self._keys.route(message)
        return True if routed is None else super().post_message(routed)

    def on_text_typed(self, message: TextTyped) -> None:
        """Hand a burst to the focused widget's queue, behind the keys that came before it."""
        text = self._keys.close(message)
        if not self.app_focus:
            self.app_focus = True  # as for any key (Textual sets it where keys come in)
        target = self.focused or self.screen
        continues = message.continues_paste(text)
        typed = (text, continues, message.pasting, message.quick)
        target.call_later(self._take_in_order, self._typed_posted, typed)
        self._typed_posted += 1

    def take_text(self, text: str) -> bool:
        """Put pasted text at the cursor as one edit; refused with one line if it is too long."""
        self._burst = None  # a marked paste is its own: keys after it start a new burst
        text = _LINE_BREAKS.sub("\n", text)
        draft = self._draft()
        size = len(draft.text) - self._selected_chars() + len(text)
        if size > self.max_text_chars:
            self._log_line(self._paste_refusal(size))
            return False
        self._insert(text)
        return True

    def send_draft(self) -> None:
        """Send what the input holds (Enter), unless it is too long to be one message."""
        self._burst = None
        line = self._draft().text
        size = len(clean_text(line))
        if size > self.max_text_chars:
            self.show_view(send_refusal(size, self.max_text_chars))
            return
        self._set_draft(_Draft("", 0))
        if not line.strip():
            return
        self.history.remember(line)
        if not run_line(line, self.post_to_node, AppUi(self.show_view, self._chat_log())):
            self.exit()

    def recall(self, *, older: bool) -> None:
        """Show an earlier (or later) line that was sent; the draft comes back after the last."""
        line = self.history.older(self._draft().text) if older else self.history.newer()
        if line is not None:
            self._set_draft(_Draft(line, len(line)))

    def action_page_up(self) -> None:
        log = self._chat_log()
        log.following = False
        log.scroll_page_up()

    def action_page_down(self) -> None:
        self._chat_log().scroll_page_down(on_complete=self._maybe_caught_up)

    def action_newest(self) -> None:
        # End does both: back to the newest messages, and the cursor to the end of the input.
        self._chat_log().scroll_end(animate=False)
        area = self.query_one("#multiline", MultiLineInput)
        if area.display:
            area.move_cursor(area.document.end)
        else:
            field = self.query_one("#input", ChatInput)
            field.cursor_position = len(field.value)
        self._caught_up()

    def action_accept_offer(self) -> None:
        self.post_to_node(ev.AcceptFile(""))

    def action_save_screen(self) -> None:
        name = time.strftime(SCREENSHOT_NAME)
        path = self.save_screenshot(filename=name, path=str(Path.cwd()))
        self._log_line(screenshot_row(path))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._chat_log().following = False

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.call_after_refresh(self._maybe_caught_up)

    # ------------------------------------------------------------- views

    def on_view_arrived(self, message: ViewArrived) -> None:
        self.show_view(message.view)

    def show_view(self, view: vw.View) -> None:
        """Apply one view from the node (called on the UI's own loop)."""
        match view:
            case vw.Ready():
                self.me = view
                self._draw_header()
            case vw.MessageShown():
                self._add_message(view)
            case vw.PeerJoined() | vw.PeerLeft() | vw.NickChanged():
                self._show_peer_change(view)
            case vw.PeerTable():
                self._update_peers(view)
                if view.requested:
                    self._log_line(render(view))
            case vw.FileProgress():
                self.transfers.progress(view)
                self._draw_transfers()
            case vw.FileDone() | vw.FileFailed():
                self._log_line(render(view, self.transfers.finish(view)))
                self._draw_transfers()
            case vw.FileOffered():
                if view.direct and not view.own:
                    self.bells += 1
                    self.bell()
                self._log_line(render(view))
            case vw.HistoryEnd():
                self._log_line(render(view), dated_as_above=True)  # no day rule of its own
            case vw.InviteCode():
                self._log_line(invite_rows(view))
            case _:
                self._log_line(render(view))

    def nicks(self) -> list[str]:
        """Names to complete: the nick of each peer in the sidebar, nick#id where two share one."""
        return self.roster.nicks()

    @property
    def following(self) -> bool:
        """False while the user reads back: the log does not jump, new messages are unread."""
        return self._chat_log().following

    @property
    def pasting(self) -> bool:
        """True while more keys of a paste typed as keys may come (Enter is a line break)."""
        return self._keys.pasting()

    def _show_peer_change(self, view: vw.PeerJoined | vw.PeerLeft | vw.NickChanged) -> None:
        """A join, leave or rename: the sidebar, the header and one line in the log."""
        match view:
            case vw.PeerJoined():
                self.roster.joined(view)
                self._log_line(joined_row(view))
            case vw.PeerLeft():
                self.roster.left(view, time.monotonic())
                self._log_line(left_row(view))
            case vw.NickChanged():
                if view.own and self.me is not None:
                    self.me = replace(self.me, nick=view.new)
                    self._draw_header()
                self.roster.renamed(view)
                self._log_line(render(view))
        self._draw_peers()

    # ------------------------------------------------------------- internals: input

    def _screen_changed(self, screen: Screen[object]) -> None:
        # Keys are joined only for the chat's own screen; a dialog gets them one by one.
        self._keys.joining = screen is self._main_screen

    def _take_in_order(self, number: int, typed: tuple[str, bool, bool, bool]) -> None:
        # Bursts go to the focused widget's queue, behind the keys before them; when the focus
        # moves (to the multi-line box), two queues hold bursts: they are taken in turn.
        self._typed_waiting[number] = typed
        while self._typed_taken in self._typed_waiting:
            self._take_typed(*self._typed_waiting.pop(self._typed_taken))
            self._typed_taken += 1

    def _take_typed(self, text: str, continues: bool, pasting: bool, quick: bool) -> None:
        burst = self._burst
        now = time.monotonic()
        if burst is not None and not continues:
            # On a busy machine the driver thread can stall between two reads of one long
            # paste and see a slow, short burst: while the paste window is open, or right
            # behind a refused paste, it is more of the same paste. And the first key of a
            # paste can come alone: a long burst whose first key came within
            # TYPED_PASTE_GAP_SECONDS of it (no fingers are that quick) is the rest of it.
            recent = now - burst.taken_at < PASTE_WINDOW_SECONDS
            long = len(text) >= PASTE_MIN_KEYS
            refused = burst.notice is not None and long
            continues = (recent and (pasting or refused)) or (long and quick)
        if burst is None or not continues:
            burst = self._burst = _Burst(self._draft())
        burst.taken_at = now
        burst.chars += len(text)
        if burst.notice is not None:
            # Refused already: the rest of it is dropped too, and counted in the same line.
            burst.notice.renderable = self._paste_refusal(len(burst.before.text) + burst.chars)
            self._rewrite(burst.notice)
            return
        draft = self._draft()
        if len(draft.text) - self._selected_chars() + len(text) <= self.max_text_chars:
            self._insert(text)
            return
        if len(text) == 1 and not continues:
            self.bell()  # one key too many, typed by hand
            return
        self._set_draft(burst.before)
        refusal = self._paste_refusal(len(burst.before.text) + burst.chars)
        burst.notice = self._log_line(refusal)

    def _paste_refusal(self, size: int) -> RenderableType:
        return paste_refusal(size, self.max_text_chars)

    def _draft(self) -> _Draft:
        area = self.query_one("#multiline", MultiLineInput)
        if area.display:
            text = area.text
            return _Draft(text, _offset_of(text, area.cursor_location))
        field = self.query_one("#input", ChatInput)
        return _Draft(field.value, field.cursor_position)

    def _selected_chars(self) -> int:
        area = self.query_one("#multiline", MultiLineInput)
        if area.display:
            return len(area.selected_text)
        start, end = self.query_one("#input", ChatInput).selection
        return abs(end - start)

    def _insert(self, text: str) -> None:
        """Text at the cursor, in place of what is selected: one edit."""
        area = self.query_one("#multiline", MultiLineInput)
        if area.display:
            top, bottom = sorted(area.selection)
            area.replace(text, top, bottom, maintain_selection_offset=False)
            if not area.has_focus:
                area.focus()
            return
        field = self.query_one("#input", ChatInput)
        start, end = sorted(field.selection)
        if "\n" not in text:
            field.replace(text, start, end)
            if not field.has_focus:
                field.focus()
            return
        value = field.value[:start] + text + field.value[end:]
        self._set_draft(_Draft(value, start + len(text)))

    def _set_draft(self, draft: _Draft) -> None:
        """Show draft in the input: the multi-line box if it has line breaks, else the line."""
        field = self.query_one("#input", ChatInput)
        area = self.query_one("#multiline", MultiLineInput)
        if "\n" in draft.text:
            field.value = ""
            area.load_text(draft.text)
            area.move_cursor(_location_of(draft.text, draft.cursor))
            area.show_size()
            field.display = False
            area.display = True
            area.focus()
        else:
            if area.display:
                area.load_text("")
                area.display = False
                field.display = True
            field.value = draft.text
            field.cursor_position = draft.cursor
            field.focus()

    # ------------------------------------------------------------- internals: the log

    def _chat_log(self) -> ChatLog:
        return self.query_one("#log", ChatLog)

    def _add_message(self, view: vw.MessageShown) -> None:
        mention = mentions_me(view, self.me.nick if self.me is not None else "")
        if mention:
            self.bells += 1
            self.bell()
        line = message_row(view, mention=mention)
        log = self._chat_log()
        log.add_message(view.lamport, view.author, line, view.ts)
        if not log.following:
            self.unread += 1
            self._draw_header()

    def _log_line(self, renderable: RenderableType, *, dated_as_above: bool = False) -> Entry:
        return self._chat_log().add_line(renderable, dated_as_above=dated_as_above)

    def _rewrite(self, entry: Entry) -> None:
        self._chat_log().rewrite(entry)

    def _maybe_caught_up(self) -> None:
        if self._chat_log().at_end():
            self._caught_up()

    def _caught_up(self) -> None:
        self._chat_log().following = True
        if self.unread:
            self.unread = 0
            self._draw_header()

    # ------------------------------------------------------------- internals: panels

    def _refresh_peers(self) -> None:
        self.post_to_node(ev.ShowPeers(requested=False))
        if self.roster.forget_stale(time.monotonic()):
            self._draw_peers()

    def _update_peers(self, table: vw.PeerTable) -> None:
        self.roster.update(table)
        self._draw_peers()

    def _draw_header(self) -> None:
        self.title, bar = header(self.me, self.unread)
        self.query_one("#header", Static).update(bar)

    def _draw_peers(self) -> None:
        self.query_one("#peers", Static).update(peer_list(self.roster.peers.values()))

    def _draw_transfers(self) -> None:
        panel = self.query_one("#transfers", Static)
        if not self.transfers.active:
            panel.display = False
            return
        panel.update(transfer_list(self.transfers.active.values()))
        panel.display = True


def _offset_of(text: str, location: tuple[int, int]) -> int:
    """The offset into text of a (row, column) location (rows end at line breaks)."""
    row, column = location
    start = 0
    for _ in range(row):
        start = text.index("\n", start) + 1
    return start + column


def _location_of(text: str, offset: int) -> tuple[int, int]:
    """The (row, column) location of an offset into text."""
    row = text.count("\n", 0, offset)
    return row, offset - (text.rfind("\n", 0, offset) + 1)
