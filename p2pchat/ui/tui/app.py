"""The app: the layout, the key bindings, and each view from the node sent where it shows.

The node runs in its own threads and hands views over with `App.post_message` (see
`bridge.py`), which is thread-safe and never waits for the UI. The parts, one job each:
`keys.py` joins keys that come in a burst into one text, `composer.py` puts typed and pasted text
into the draft (`draft.py`, shown by the widgets of `inputs.py`) and sends it, `log.py` is the
message log in transcript order, `cursor.py` picks a message of it to act on, `conversation.py`
writes reactions, edits, deletes and our DMs' marks into the message's own entry, `away.py`
says we are away when no key comes for a while, `roster.py` the peers of the sidebar (here or
away), `panels.py` and `rows.py` turn state and views into what the screen shows.
Typed lines go back to the node with `post`.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from textual import events
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.directrecords import DirectStatus
from p2pchat.core.limits import Limits
from p2pchat.core.messages import PresenceStatus
from p2pchat.ui.notifiers import Notifications
from p2pchat.ui.notify import Focus
from p2pchat.ui.plain import conversation_line, direct_status_line, render
from p2pchat.ui.progress import TransferBoard
from p2pchat.ui.session import run_line
from p2pchat.ui.tui.away import AUTO_AWAY_SECONDS, AutoAway
from p2pchat.ui.tui.bridge import AppUi, TerminalWrite, ViewArrived
from p2pchat.ui.tui.composer import Composer
from p2pchat.ui.tui.conversation import Conversation
from p2pchat.ui.tui.cursor import MessageCursor
from p2pchat.ui.tui.inputs import ChatInput, MultiLineInput
from p2pchat.ui.tui.keys import KeyJoiner, TextTyped
from p2pchat.ui.tui.log import ChatLog, Entry
from p2pchat.ui.tui.panels import away_text, header, peer_list, transfer_list
from p2pchat.ui.tui.roster import Roster
from p2pchat.ui.tui.rows import (
    invite_rows,
    joined_row,
    left_row,
    mentions_me,
    message_row,
    notice_row,
    screenshot_row,
)

Post = Callable[[object], None]
PEER_REFRESH_SECONDS = 2.0
MAX_TEXT_CHARS = Limits().max_text_chars
SCREENSHOT_NAME = "p2pchat-%Y%m%d-%H%M%S.svg"
SIDEBAR_MIN_COLUMNS = 70  # a narrower terminal hides the peer sidebar (F3 shows it again)
PLACEHOLDER = "Type a message, /help for commands, Esc to pick a message"


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
        Binding("f3", "toggle_peers", "peers", show=False),
        Binding("f12", "save_screen", "screenshot", show=False),
        # The message cursor's keys (cursor.py); each lets the key through when it has no use.
        Binding("escape", "pick_toggle", "pick a message", show=False, priority=True),
        Binding("alt+up,ctrl+up", "pick_start", "pick a message", show=False, priority=True),
        Binding("up", "pick_move(-1)", "earlier message", show=False, priority=True),
        Binding("down", "pick_move(1)", "later message", show=False, priority=True),
    ]

    def __init__(
        self,
        post: Post | None = None,
        max_text_chars: int = MAX_TEXT_CHARS,
        auto_away_seconds: float = AUTO_AWAY_SECONDS,
    ) -> None:
        # First: post_message uses it on the terminal driver's thread, maybe before this returns.
        self._keys = KeyJoiner()
        super().__init__()
        self.post_to_node: Post = post or (lambda _event: None)
        self.on_started: Callable[[], None] | None = None
        self.notifications: Notifications | None = None  # mentions and DMs while blurred
        self.me: vw.Ready | None = None
        self.away = ""  # our own status while away ('away' or 'away: why'); empty: here
        self.roster = Roster()
        self.unread = 0
        self.bells = 0
        self.transfers = TransferBoard()
        self.ready = threading.Event()
        self._main_screen: Screen[object] | None = None
        self._composer = Composer(
            self, max_text_chars=max_text_chars, send=self._run_typed, nicks=self.roster.nicks
        )
        self._cursor = MessageCursor(
            self._chat_log, fill=self._fill, submit=self._run_typed, notice=self._notice
        )
        self._peers_chosen: bool | None = None  # F3's choice: shown or hidden, at any width
        self._conversation = Conversation(self._chat_log, self._message_row)
        self._auto_away = AutoAway(self._post, auto_away_seconds)

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Header; the log beside the peers; transfers; the input line (or multi-line box)."""
        yield Static(id="header")
        with Horizontal(id="body"):
            yield ChatLog(id="log")
            yield Static(id="peers")
        yield Static(id="transfers")
        yield ChatInput(
            self._composer,
            id="input",
            placeholder=PLACEHOLDER,
            select_on_focus=False,  # the focus comes back after a paste: keep what was typed
        )
        yield MultiLineInput(self._composer, id="multiline")

    def on_mount(self) -> None:
        """Draw, take keys, quit on SIGTERM or SIGHUP, then call on_started."""
        self.query_one("#input", ChatInput).focus()
        self.set_interval(PEER_REFRESH_SECONDS, self._refresh_peers)
        self._auto_away.start(self.set_timer)
        self._draw_header()
        self._draw_peers()
        self._fit_sidebar(self.size.width)
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

    async def on_event(self, event: events.Event) -> None:
        """Every key and paste counts as activity (auto-away), then Textual handles it."""
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            self._auto_away.key()
        await super().on_event(event)

    def on_text_typed(self, message: TextTyped) -> None:
        """Hand a burst to the focused widget's queue, behind the keys that came before it."""
        self._auto_away.key()
        text = self._keys.close(message)
        if not self.app_focus:
            self.app_focus = True  # as for any key (Textual sets it where keys come in)
        if self._cursor.active:
            text = self._picking_keys(message, text)
            if not text:
                return
        self._composer.take_typed(message, text, self.focused or self.screen)

    def on_resize(self, event: events.Resize) -> None:
        """The sidebar hides below SIDEBAR_MIN_COLUMNS (unless F3 chose otherwise)."""
        self._fit_sidebar(event.size.width)

    def action_toggle_peers(self) -> None:
        """F3: hide the peer sidebar, or show it (at any width, until F3 again)."""
        self._peers_chosen = not self.query_one("#peers").display
        self._fit_sidebar(self.size.width)

    def action_pick_toggle(self) -> None:
        """Escape: pick the newest message, or stop picking."""
        self._check_main_screen()
        if self._cursor.active:
            self._stop_picking()
        else:
            self.action_pick_start()

    def action_pick_start(self) -> None:
        """Alt+Up, Ctrl+Up: pick the newest message (or the one before, if one is picked)."""
        self._check_main_screen()
        if self._cursor.active:
            self._cursor.move(-1)
        elif self._cursor.start():
            self._show_pick_hint(True)

    def action_pick_move(self, step: int) -> None:
        """Up, Down while a message is picked: the one before or after it; else as without."""
        self._check_main_screen()
        if not self._cursor.active:
            raise SkipAction()
        self._cursor.move(step)

    def action_page_up(self) -> None:
        """Scroll up a page and stop following the newest messages."""
        log = self._chat_log()
        log.following = False
        log.scroll_page_up()

    def action_page_down(self) -> None:
        """Scroll down a page; at the end, follow the newest messages again."""
        self._chat_log().scroll_page_down(on_complete=self._maybe_caught_up)

    def action_newest(self) -> None:
        """End: back to the newest messages, and the cursor to the end of the input."""
        self._chat_log().scroll_end(animate=False)
        self._composer.cursor_to_end()
        self._caught_up()

    def action_accept_offer(self) -> None:
        """F2: accept the latest file offer."""
        self.post_to_node(ev.AcceptFile(""))

    def action_save_screen(self) -> None:
        """F12: save a screenshot in the current directory, and say where."""
        name = time.strftime(SCREENSHOT_NAME)
        path = self.save_screenshot(filename=name, path=str(Path.cwd()))
        self._log_line(screenshot_row(path))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Reading back: stop following the newest messages."""
        self._chat_log().following = False

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Follow the newest messages again once scrolled to the end."""
        self.call_after_refresh(self._maybe_caught_up)

    # ------------------------------------------------------------- views

    def on_view_arrived(self, message: ViewArrived) -> None:
        """A view from the node thread: show it."""
        self.show_view(message.view)

    def show_view(self, view: vw.View) -> None:
        """Apply one view from the node (called on the UI's own loop)."""
        if self.notifications is not None:
            self.notifications.see(view, Focus.FOCUSED if self.app_focus else Focus.AWAY)
        match view:
            case vw.Ready():
                self.me = view
                self._draw_header()
            case vw.MessageShown():
                self._add_message(view)
            case vw.PeerJoined() | vw.PeerLeft() | vw.NickChanged():
                self._show_peer_change(view)
            case vw.ReactionShown() | vw.MessageEdited() | vw.MessageDeleted():
                self._show_conversation(view)
            case vw.PresenceChanged():
                self._show_presence(view)
            case vw.DirectStatusChanged():
                self._show_direct_status(view)
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
            case vw.SearchResults():
                self._log_line(render(view))
                if self._cursor.found([m.msg_id for m in view.messages]):
                    self._show_pick_hint(True)
            case _:
                self._log_line(render(view))

    def write_terminal(self, text: str) -> None:
        """Write text (an escape sequence) to the terminal in order with the screen; any thread."""
        self.post_message(TerminalWrite(text))

    def on_terminal_write(self, message: TerminalWrite) -> None:
        """Write it through the driver, as bell() does (nothing when headless)."""
        if not self.is_headless and self._driver is not None:
            self._driver.write(message.text)

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

    def _show_conversation(
        self, view: vw.ReactionShown | vw.MessageEdited | vw.MessageDeleted
    ) -> None:
        """In the message's own entry; a line of its own only if the log does not hold it."""
        match view:
            case vw.ReactionShown():
                done = self._conversation.react(view)
            case vw.MessageEdited():
                done = self._conversation.edit(view)
            case vw.MessageDeleted():
                done = self._conversation.delete(view)
                if self._cursor.active and self._cursor.selected is None:
                    self._stop_picking()  # its message is gone
        if not done:
            self._log_line(conversation_line(view))

    def _show_direct_status(self, view: vw.DirectStatusChanged) -> None:
        """In the DM's own entry (its mark); a line too if it expired or the log lacks it."""
        done = self._conversation.direct_status(view)
        if not done or view.status is DirectStatus.EXPIRED:
            self._log_line(direct_status_line(view))

    def _show_presence(self, view: vw.PresenceChanged) -> None:
        """Ours in the header, a peer's in the sidebar; never a line in the log."""
        if view.own:
            self.away = away_text(view.text) if view.status == PresenceStatus.AWAY else ""
            self._draw_header()
        else:
            self.roster.presence(view)
            self._draw_peers()

    # ------------------------------------------------------------- internals: keys and lines

    def _screen_changed(self, screen: Screen[object]) -> None:
        # Keys are joined only for the chat's own screen; a dialog gets them one by one.
        self._keys.joining = screen is self._main_screen

    def _post(self, event: object) -> None:
        """Post to the node (post_to_node is set once the node runs)."""
        self.post_to_node(event)

    def _run_typed(self, line: str) -> None:
        if not run_line(line, self.post_to_node, AppUi(self.show_view, self._chat_log())):
            self.exit()

    def _check_main_screen(self) -> None:
        """The cursor's keys are for the chat's own screen only (a dialog keeps them)."""
        if self.screen is not self._main_screen:
            raise SkipAction()

    def _picking_keys(self, typed: TextTyped, text: str) -> str:
        """Act on the cursor's keys in text; the rest is typed, and stops the picking."""
        # A paste is text, never keys to act on.
        if not typed.continues_paste(text) and not typed.quick:
            for at, char in enumerate(text):
                if not self._cursor.active:  # a key filled the input: the rest goes after it
                    self._show_pick_hint(False)
                    return text[at:]
                if not self._cursor.take_key(char):
                    text = text[at:]
                    break
            else:
                self._show_pick_hint(self._cursor.active)
                return ""
        self._stop_picking()
        return text

    def _fill(self, line: str, keep_draft: bool) -> None:
        self._composer.fill(line, keep_draft=keep_draft)

    def _stop_picking(self) -> None:
        self._cursor.stop()
        self._show_pick_hint(False)

    def _show_pick_hint(self, picking: bool) -> None:
        """The cursor's keys in the input's border while a message is picked."""
        hint = self._cursor.hint if picking else None
        self.query_one("#input", ChatInput).border_title = hint
        self.query_one("#multiline", MultiLineInput).border_subtitle = hint

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
        log.add_message(view, line)
        self._conversation.shown(view)
        if not log.following:
            self.unread += 1
            self._draw_header()

    def _message_row(self, view: vw.MessageShown) -> RenderableType:
        """A message shown again (changed): highlighted as before if it names me, no bell."""
        return message_row(view, mention=mentions_me(view, self.me.nick if self.me else ""))

    def _log_line(self, renderable: RenderableType, *, dated_as_above: bool = False) -> Entry:
        return self._chat_log().add_line(renderable, dated_as_above=dated_as_above)

    def _notice(self, text: str) -> None:
        self._log_line(notice_row(text))

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
        self.title, bar = header(self.me, self.unread, self.away)
        self.query_one("#header", Static).update(bar)

    def _draw_peers(self) -> None:
        self.query_one("#peers", Static).update(peer_list(self.roster.peers.values()))

    def _fit_sidebar(self, columns: int) -> None:
        """Show the sidebar as F3 chose, else if the terminal has SIDEBAR_MIN_COLUMNS."""
        shown = columns >= SIDEBAR_MIN_COLUMNS if self._peers_chosen is None else self._peers_chosen
        self.query_one("#peers", Static).display = shown  # the log wraps again to its new width

    def _draw_transfers(self) -> None:
        panel = self.query_one("#transfers", Static)
        if not self.transfers.active:
            panel.display = False
            return
        panel.update(transfer_list(self.transfers.active.values()))
        panel.display = True
