"""What the header, the peer sidebar, the transfer panel and the help show (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from p2pchat.core import views as vw
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.ui.commands import COMMANDS
from p2pchat.ui.format import nick_colour, safe_line
from p2pchat.ui.progress import Transfer
from p2pchat.ui.tui.roster import PeerState

AWAY_MARK = "z"  # before a peer that is away, in place of its dot
HELP_COLUMN = 22  # width of the column of commands and keys in the help
KEYS_HELP = (
    ("Enter", "send the line (or all lines of a multi-line message)"),
    ("paste", "several lines become one message; edit it, then Enter sends it"),
    ("Up / Down", "earlier / later lines you typed"),
    ("Tab", "complete a nick or a /command"),
    ("PageUp / PageDown, wheel", "scroll the messages"),
    ("End", "back to the newest messages"),
    ("F2", "accept the latest file offer"),
    ("F3", "hide or show the peers (hidden on a terminal under 70 columns)"),
    ("Esc, Alt+Up", "pick a message: Up / Down (k / j) move, Esc leaves; on it:"),
    ("  r, e, d", "fill in /reply, /edit (your own), /delete (your own) for it"),
    ("  a or +, 1-6", "fill in /react for it; 1-6 react at once (thumbs up, heart, laugh,"),
    ("", "party, wow, eyes)"),
    ("F12", "save a screenshot (p2pchat-DATE-TIME.svg) in the current directory"),
    ("Ctrl+C, /quit", "leave (Ctrl+D too, on an empty line)"),
)


def header(me: vw.Ready | None, unread: int, away: str = "") -> tuple[str, RenderableType]:
    """The window title and the header bar: room, nick, privacy and port, whether we are away
    (away: 'away' or 'away: why'; empty: here), then the unread."""
    if me is None:
        where = "p2pchat: starting"
    else:
        privacy = "private" if me.private else "OPEN room"
        room, nick = safe_line(me.room), safe_line(me.nick)
        where = f"#{room} · {nick} [{me.node_id[:SHORT_ID_CHARS]}] · {privacy} · port {me.port}"
        if away:
            where += f" · {safe_line(away)}"
    count = f"{unread} unread ↓" if unread else ""
    title = f"p2pchat · {where}" + (f" · {count}" if count else "")
    # The unread count keeps its place on the right however narrow the terminal is.
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(no_wrap=True, justify="right")
    grid.add_row(Text(where, style="bold"), Text(count, style="bold reverse"))
    return title, grid


def away_text(text: str) -> str:
    """'away', or 'away: text' when it says why."""
    return f"away: {text}" if text else "away"


def peer_list(peers: Iterable[PeerState]) -> Text:
    """The sidebar: how many are online, then each peer, online ones first, by nick; one away
    is dim, marked AWAY_MARK, with why under it."""
    shown = list(peers)
    text = Text()
    online = sum(1 for p in shown if p.online)
    text.append(f"{online} peer{'s' if online != 1 else ''}\n", style="bold")
    for peer in sorted(shown, key=lambda p: (not p.online, p.nick.lower())):
        mark, style = ("●", nick_colour(peer.node_id)) if peer.online else ("○", "dim")
        if peer.online and peer.away:
            mark, style = AWAY_MARK, "dim"
        text.append(f"{mark} ", style=style)
        text.append(safe_line(peer.display), style=style)
        text.append(f" {peer.node_id[:SHORT_ID_CHARS]}", style="dim")
        if not peer.online:
            text.append("  reconnecting…", style="dim italic")
        elif peer.away:  # on a line of its own: the sidebar is narrow
            text.append(f"\n  {safe_line(away_text(peer.status_text))}", style="dim italic")
        elif peer.rtt is not None:
            text.append(f"  {peer.rtt * 1000:.1f} ms", style="dim")
        text.append("\n")
    return text


def transfer_list(transfers: Iterable[Transfer]) -> Table:
    """One row per transfer in flight: name and direction, a progress bar, rate and time left."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(ratio=2, no_wrap=True, overflow="ellipsis")
    grid.add_column(ratio=3)
    grid.add_column(no_wrap=True)
    for transfer in transfers:
        arrow = "⇪" if transfer.sending else "⇩"
        grid.add_row(
            Text(safe_line(f"{arrow} {transfer.name} {transfer.direction()}")),
            ProgressBar(total=max(transfer.total, 1), completed=transfer.done),
            Text(transfer.summary(), style="dim"),
        )
    return grid


def help_text() -> Text:
    """The commands, then the keys (each with what it does)."""
    lines = Text("commands:\n", style="bold")
    for usage, what in COMMANDS:
        lines.append(f"  {usage:{HELP_COLUMN}} {what}\n")
    lines.append("keys:\n", style="bold")
    for key, what in KEYS_HELP:
        lines.append(f"  {key:{HELP_COLUMN}} {what}\n")
    return lines
