"""The full-screen interface (Textual): message log, peer sidebar, header, input with history.

The node runs in its own threads and hands views over with `App.post_message`, which is
thread-safe and never waits for the UI. Typed lines go back to the node with its `post`.
"""

from __future__ import annotations

import asyncio
import bisect
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, RichLog, Static

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.ui.commands import COMMANDS
from p2pchat.ui.format import Hanging, day_of, mentions, message_line, nick_colour, safe_line
from p2pchat.ui.plain import render
from p2pchat.ui.progress import TransferBoard
from p2pchat.ui.session import run_line

Post = Callable[[object], None]
MAX_LOG_ENTRIES = 2000
PEER_REFRESH_SECONDS = 2.0
RECONNECT_GRACE_SECONDS = 60.0
INPUT_HISTORY = 200
SLASH_COMMANDS = tuple(sorted({usage.split()[0] for usage, _ in COMMANDS if usage[1] != "/"}))
KEYS_HELP = (
    ("Enter", "send the line"),
    ("Up / Down", "earlier / later lines you typed"),
    ("Tab", "complete a nick or a /command"),
    ("PageUp / PageDown, wheel", "scroll the messages"),
    ("End", "back to the newest messages"),
    ("F2", "accept the latest file offer"),
    ("F12", "save a screenshot (SVG) in the current directory"),
    ("Ctrl+C or /quit", "leave"),
)


class ViewArrived(Message):
    """A view from the node thread."""

    def __init__(self, view: vw.View) -> None:
        super().__init__()
        self.view = view


@dataclass
class _PeerState:
    node_id: str
    nick: str
    display: str
    online: bool = True
    rtt: float | None = None
    left_at: float = 0.0


class ChatInput(Input):
    """The input line: Up/Down walk through what was typed, Tab completes nicks and commands."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("up", "older", "earlier line", show=False),
        Binding("down", "newer", "later line", show=False),
        Binding("tab", "complete", "complete", show=False, priority=True),
    ]

    def __init__(self, nicks: Callable[[], list[str]], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._nicks = nicks
        self.typed: list[str] = []
        self._cursor = 0

    def remember(self, line: str) -> None:
        """Keep a sent line for Up/Down."""
        if line and (not self.typed or self.typed[-1] != line):
            self.typed.append(line)
            del self.typed[:-INPUT_HISTORY]
        self._cursor = len(self.typed)

    def action_older(self) -> None:
        if self._cursor > 0:
            self._cursor -= 1
            self.value = self.typed[self._cursor]
            self.cursor_position = len(self.value)

    def action_newer(self) -> None:
        if self._cursor < len(self.typed):
            self._cursor += 1
            self.value = self.typed[self._cursor] if self._cursor < len(self.typed) else ""
            self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        before = self.value[: self.cursor_position]
        start = before.rfind(" ") + 1
        word = before[start:]
        if not word:
            return
        if start == 0 and word.startswith("/"):
            options = [c for c in SLASH_COMMANDS if c.startswith(word.lower())]
            suffix = " "
        else:
            options = [n for n in self._nicks() if n.lower().startswith(word.lower())]
            suffix = ": " if start == 0 else " "
        if not options:
            return
        common = options[0] if len(options) == 1 else _common_prefix(options)
        completed = common + (suffix if len(options) == 1 else "")
        self.value = before[:start] + completed + self.value[self.cursor_position :]
        self.cursor_position = start + len(completed)


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
    """
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("ctrl+c", "quit", "quit", priority=True),
        Binding("pageup", "page_up", "scroll up", show=False),
        Binding("pagedown", "page_down", "scroll down", show=False),
        Binding("end", "newest", "newest", show=False, priority=True),
        Binding("f2", "accept_offer", "accept file", show=False),
        Binding("f12", "save_screen", "screenshot", show=False),
    ]

    def __init__(self, post: Post | None = None) -> None:
        super().__init__()
        self.post_to_node: Post = post or (lambda _event: None)
        self.on_started: Callable[[], None] | None = None
        self.me: vw.Ready | None = None
        self.peers: dict[str, _PeerState] = {}
        self.unread = 0
        self.bells = 0
        self.following = True  # False while the user reads back: no jumping, count unread
        self._entries: list[tuple[tuple[int, int, str], RenderableType, float]] = []
        self._redraw_due = False
        self._serial = 0
        self._last_day: str | None = None
        self.transfers = TransferBoard()
        self.ready = threading.Event()

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="body"):
            yield RichLog(id="log", wrap=True, markup=False, highlight=False, auto_scroll=False)
            yield Static(id="peers")
        yield Static(id="transfers")
        yield ChatInput(self.nicks, id="input", placeholder="Type a message, /help for commands")

    def on_mount(self) -> None:
        self.query_one("#input", ChatInput).focus()
        self.set_interval(PEER_REFRESH_SECONDS, self._refresh_peers)
        self._draw_header()
        self._draw_peers()
        try:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self.exit)
            loop.add_signal_handler(signal.SIGHUP, self.exit)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        self.ready.set()
        if self.on_started is not None:
            self.on_started()

    # ------------------------------------------------------------- input

    def on_input_submitted(self, event: Input.Submitted) -> None:
        line = event.value
        field = self.query_one("#input", ChatInput)
        field.value = ""
        if not line.strip():
            return
        field.remember(line)
        ui = _AppUi(self)
        if not run_line(line, self.post_to_node, ui):
            self.exit()

    def action_page_up(self) -> None:
        self.following = False
        self.query_one("#log", RichLog).scroll_page_up()

    def action_page_down(self) -> None:
        self.query_one("#log", RichLog).scroll_page_down(on_complete=self._maybe_caught_up)

    def action_newest(self) -> None:
        # End does both: back to the newest messages, and the cursor to the end of the line.
        self.query_one("#log", RichLog).scroll_end(animate=False)
        field = self.query_one("#input", ChatInput)
        field.cursor_position = len(field.value)
        self._caught_up()

    def action_accept_offer(self) -> None:
        self.post_to_node(ev.AcceptFile(""))

    def action_save_screen(self) -> None:
        path = self.save_screenshot(path=str(Path.cwd()))
        self._log_line(Hanging(Text(safe_line(f"· screenshot saved to {path}"), style="dim")))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.following = False

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
            case vw.PeerJoined():
                self.peers[view.node_id] = _PeerState(view.node_id, view.nick, view.display)
                short = view.node_id[:SHORT_ID_CHARS]
                text = safe_line(f"→ {view.display} [{short}] joined from {view.addr}")
                self._log_line(Hanging(Text(text, style="dim green")))
                self._draw_peers()
            case vw.PeerLeft():
                peer = self.peers.get(view.node_id)
                if view.reason == "quit" or peer is None:
                    self.peers.pop(view.node_id, None)
                else:
                    peer.online = False
                    peer.left_at = time.monotonic()
                text = safe_line(f"← {view.display} left: {view.reason}")
                self._log_line(Hanging(Text(text, style="dim")))
                self._draw_peers()
            case vw.NickChanged():
                if view.own and self.me is not None:
                    self.me = vw.Ready(
                        self.me.node_id,
                        view.new,
                        self.me.room,
                        self.me.port,
                        self.me.mdns,
                        self.me.private,
                    )
                    self._draw_header()
                peer = self.peers.get(view.node_id)
                if peer is not None:
                    peer.nick = peer.display = view.new
                    self._draw_peers()
                self._log_line(render(view))
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
            case _:
                self._log_line(render(view))

    def nicks(self) -> list[str]:
        """Nicks to complete: connected peers first, then everyone seen."""
        return sorted({p.nick for p in self.peers.values()}, key=str.lower)

    # ------------------------------------------------------------- internals

    def _add_message(self, view: vw.MessageShown) -> None:
        me = self.me.nick if self.me is not None else ""
        mention = bool(me) and not view.own and mentions(view.text, me)
        if mention:
            self.bells += 1
            self.bell()
        key = (view.lamport, 0 if view.backfill else 1, view.author)
        line = message_line(view, mention=mention)
        log = self.query_one("#log", RichLog)
        if self._entries and key < self._entries[-1][0] and view.backfill:
            # A message from the past goes where it belongs. The log is redrawn around it
            # once the burst it came with is in: a sync brings hundreds at a time.
            self._insert(key, line, view.ts)
            if not self._redraw_due:
                self._redraw_due = True
                self.call_after_refresh(self._redraw)
        else:
            self._append(key, line, view.ts, log)
        if not self.following:
            self.unread += 1
            self._draw_header()

    def _append(
        self, key: tuple[int, int, str], line: RenderableType, ts: float, log: RichLog
    ) -> None:
        day = day_of(ts)
        if day != self._last_day:
            self._last_day = day
            separator = Text(f"──── {day} ────", style="dim", justify="center")
            self._entries.append((key, separator, ts))
            log.write(separator, scroll_end=self.following)
        self._entries.append((key, line, ts))
        log.write(line, scroll_end=self.following)
        self._trim()

    def _insert(self, key: tuple[int, int, str], line: RenderableType, ts: float) -> None:
        at = bisect.bisect_right(self._entries, key, key=lambda entry: entry[0])
        self._entries.insert(at, (key, line, ts))
        self._trim()

    def _redraw(self) -> None:
        self._redraw_due = False
        log = self.query_one("#log", RichLog)
        log.clear()
        self._last_day = None
        entries, self._entries = self._entries, []
        for key, line, ts in entries:
            if isinstance(line, Text) and line.plain.startswith("────"):
                continue
            self._append(key, line, ts, log)

    def _log_line(self, renderable: RenderableType) -> None:
        last = self._entries[-1][0] if self._entries else (0, 0, "")
        self._serial += 1
        key = (last[0], last[1], f"{last[2]}~{self._serial:09d}")
        log = self.query_one("#log", RichLog)
        self._entries.append((key, renderable, time.time()))
        log.write(renderable, scroll_end=self.following)
        self._trim()

    def _trim(self) -> None:
        if len(self._entries) > MAX_LOG_ENTRIES:
            del self._entries[: len(self._entries) - MAX_LOG_ENTRIES]

    def _at_end(self, log: RichLog) -> bool:
        return log.max_scroll_y == 0 or log.scroll_y >= log.max_scroll_y - 1

    def _maybe_caught_up(self) -> None:
        if self._at_end(self.query_one("#log", RichLog)):
            self._caught_up()

    def _caught_up(self) -> None:
        self.following = True
        if self.unread:
            self.unread = 0
            self._draw_header()

    def _refresh_peers(self) -> None:
        self.post_to_node(ev.ShowPeers(requested=False))
        now = time.monotonic()
        stale = [
            node_id
            for node_id, peer in self.peers.items()
            if not peer.online and now - peer.left_at > RECONNECT_GRACE_SECONDS
        ]
        for node_id in stale:
            del self.peers[node_id]
        if stale:
            self._draw_peers()

    def _update_peers(self, table: vw.PeerTable) -> None:
        for row in table.rows:
            peer = self.peers.setdefault(
                row.node_id, _PeerState(row.node_id, row.nick, row.display)
            )
            peer.nick, peer.display, peer.rtt, peer.online = row.nick, row.display, row.rtt, True
        self._draw_peers()

    def _draw_header(self) -> None:
        if self.me is None:
            title = "p2pchat: starting"
        else:
            privacy = "private, encrypted" if self.me.private else "OPEN room"
            room, nick = safe_line(self.me.room), safe_line(self.me.nick)
            title = f"p2pchat · #{room} · {nick} [{self.me.node_id[:8]}] · {privacy}"
        if self.unread:
            title += f" · {self.unread} unread ↓"
        self.title = title
        self.query_one("#header", Static).update(Text(title, style="bold"))

    def _draw_peers(self) -> None:
        text = Text()
        online = sum(1 for p in self.peers.values() if p.online)
        text.append(f"{online} peer{'s' if online != 1 else ''}\n", style="bold")
        for peer in sorted(self.peers.values(), key=lambda p: (not p.online, p.nick.lower())):
            mark, style = ("●", nick_colour(peer.node_id)) if peer.online else ("○", "dim")
            text.append(f"{mark} ", style=style)
            text.append(safe_line(peer.display), style=style)
            text.append(f" {peer.node_id[:SHORT_ID_CHARS]}", style="dim")
            if not peer.online:
                text.append("  reconnecting…", style="dim italic")
            elif peer.rtt is not None:
                text.append(f"  {peer.rtt * 1000:.1f} ms", style="dim")
            text.append("\n")
        self.query_one("#peers", Static).update(text)

    def _draw_transfers(self) -> None:
        panel = self.query_one("#transfers", Static)
        if not self.transfers.active:
            panel.display = False
            return
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(ratio=2, no_wrap=True, overflow="ellipsis")
        grid.add_column(ratio=3)
        grid.add_column(no_wrap=True)
        for transfer in self.transfers.active.values():
            arrow = "⇪" if transfer.sending else "⇩"
            grid.add_row(
                Text(safe_line(f"{arrow} {transfer.name} {transfer.direction()}")),
                ProgressBar(total=max(transfer.total, 1), completed=transfer.done),
                Text(transfer.summary(), style="dim"),
            )
        panel.update(grid)
        panel.display = True


class _AppUi:
    """The Ui interface for code running on the app's own loop (typed commands)."""

    def __init__(self, app: ChatApp) -> None:
        self._app = app

    def show(self, view: vw.View) -> None:
        self._app.show_view(view)

    def show_help(self) -> None:
        lines = Text("commands:\n", style="bold")
        for usage, what in COMMANDS:
            lines.append(f"  {usage:22} {what}\n")
        lines.append("keys:\n", style="bold")
        for key, what in KEYS_HELP:
            lines.append(f"  {key:22} {what}\n")
        self._app._log_line(lines)

    def problem(self, text: str) -> None:
        self._app.show_view(vw.Problem(text))

    def flush(self) -> None:
        """Nothing to do: the app draws as views arrive."""


class TuiUi:
    """The Ui the node talks to (from its own thread): views are posted to the app."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app
        self._early: list[vw.View] = []
        self._live = False
        self._lock = threading.Lock()
        app.on_started = self._go_live

    def show(self, view: vw.View) -> None:
        """Hand a view to the app without waiting (kept, in order, until the app runs)."""
        with self._lock:
            if self._live:
                self.app.post_message(ViewArrived(view))
            else:
                self._early.append(view)

    def _go_live(self) -> None:
        with self._lock:
            for view in self._early:
                self.app.post_message(ViewArrived(view))
            self._early.clear()
            self._live = True

    def show_help(self) -> None:
        """Help is shown by the app itself."""

    def problem(self, text: str) -> None:
        """A local problem, as a view."""
        self.show(vw.Problem(text))

    def flush(self) -> None:
        """Nothing to do."""


def _common_prefix(words: list[str]) -> str:
    first, last = min(words, key=str.lower), max(words, key=str.lower)
    size = 0
    while size < min(len(first), len(last)) and first[size].lower() == last[size].lower():
        size += 1
    return first[:size]
