"""Plain line interface: rich-rendered lines (time, coloured nick, text) while stdin is read."""

from __future__ import annotations

import threading

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from p2pchat.core import views as vw
from p2pchat.core.directrecords import DirectStatus
from p2pchat.core.files import human_size
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.ui.commands import COMMANDS
from p2pchat.ui.completion import LinkedNicks
from p2pchat.ui.format import (
    Hanging,
    body,
    duration,
    message_line,
    nick_colour,
    safe_display,
    safe_line,
)
from p2pchat.ui.notifiers import Notifications
from p2pchat.ui.notify import Focus
from p2pchat.ui.progress import TransferBoard


class PlainUi:
    """Prints one line (or table) per view; safe to call from any thread.

    Lines cannot tell whether the terminal has focus: notifications take it as unknown (see
    `AlertRules`: DMs and mentions notify unless the user sent a message lately)."""

    def __init__(
        self, console: Console | None = None, notifications: Notifications | None = None
    ) -> None:
        self._console = console or Console(highlight=False, soft_wrap=True)
        self._notifications = notifications
        self._lock = threading.Lock()
        self._board = TransferBoard()
        self._linked = LinkedNicks()

    def show(self, view: vw.View) -> None:
        """Render and print one view (progress only every 10 %, with rate and time left)."""
        self._linked.see(view)
        if self._notifications is not None:
            self._notifications.see(view, Focus.UNKNOWN)
        match view:
            case vw.FileProgress():
                transfer, stepped = self._board.progress(view)
                if stepped:
                    line = f"⇄ {transfer.name} {transfer.direction()}: {transfer.summary()}"
                    self._print(Hanging(Text(safe_line(line))))
            case vw.FileDone() | vw.FileFailed():
                self._print(render(view, self._board.finish(view)))
            case _:
                self._print(render(view))

    def show_help(self) -> None:
        """Print the command list."""
        table = Table(title="commands", show_header=False, box=None, padding=(0, 2))
        for usage, what in COMMANDS:
            table.add_row(Text(usage, style="bold"), what)
        self._print(table)

    def problem(self, text: str) -> None:
        """Print a local error."""
        self._print(render(vw.Problem(text)))

    def flush(self) -> None:
        """Nothing to do: lines are printed as they come."""

    def nicks(self) -> list[str]:
        """The nicks of the peers linked now, for Tab (nick#id where two share one)."""
        return self._linked.names()

    def _print(self, renderable: RenderableType) -> None:
        with self._lock:
            self._console.print(renderable)


def render(view: vw.View, rate: str = "") -> RenderableType:
    """The rich renderable for one view: peer text never markup, one row at column 0 per entry."""
    match view:
        case vw.MessageShown():
            return message_line(view)
        case vw.Ready():
            mdns = "mDNS on" if view.mdns else "mDNS off"
            privacy = (
                Text("private room: encrypted, members only", style="green")
                if view.private
                else Text("open room: anyone on this network can read and join", style="yellow")
            )
            return Text.assemble(
                (
                    f"p2pchat: you are {safe_line(view.nick)} ({view.node_id[:SHORT_ID_CHARS]}) "
                    f"in room {safe_line(repr(view.room))}, port {view.port}, {mdns}; "
                    "/help lists commands\n",
                    "dim",
                ),
                privacy,
            )
        case vw.Whois():
            state = "connected" if view.online else "not connected"
            if view.status == "away":
                state += f", away{': ' + view.status_text if view.status_text else ''}"
            trust = "first key seen with this nick" if view.first_seen else "NOT the first key"
            return Hanging(
                Text(
                    safe_line(f"· {view.nick}: {view.fingerprint} ({state}; {trust})"),
                    style="bold" if view.first_seen else "bold red",
                )
            )
        case vw.PeerJoined():
            return Hanging(
                Text.assemble(
                    ("→ ", "green"),
                    (safe_line(view.display), nick_colour(view.node_id)),
                    (f" [{view.node_id[:SHORT_ID_CHARS]}]", "dim"),
                    f" joined from {safe_line(view.addr)}",
                )
            )
        case vw.PeerLeft():
            return Hanging(
                Text.assemble(
                    ("← ", "dim"),
                    (safe_line(view.display), nick_colour(view.node_id)),
                    (safe_line(f" ({view.addr}) left: {view.reason}"), "dim"),
                )
            )
        case vw.NickChanged():
            subject = "you are" if view.own else f"{view.display or view.old} is"
            new = view.new_display or view.new
            return Hanging(Text(safe_line(f"· {subject} now known as {new}"), style="dim"))
        case vw.ReactionShown() | vw.MessageEdited() | vw.MessageDeleted() | vw.PresenceChanged():
            return conversation_line(view)
        case vw.DirectStatusChanged():
            return direct_status_line(view)
        case vw.Withdrawn():
            return Hanging(
                Text(
                    safe_line(
                        f"! {view.display}'s message {view.msg_id} did not carry a valid "
                        "signature: it was withdrawn (not kept, not passed on)"
                    ),
                    style="bold red",
                )
            )
        case vw.Equivocation():
            return Hanging(
                Text(
                    safe_line(
                        f"! WARNING: {view.display} signed two different messages with one ID "
                        f"({view.msg_id}); every node keeps: {view.text}"
                    ),
                    style="bold red",
                )
            )
        case vw.Delivery():
            state = f"{view.unsent} reached no peer yet" if view.unsent else "all reached a peer"
            return Hanging(Text(f"· {view.sent} messages sent: {state}", style="dim"))
        case vw.HistoryEnd():
            return Rule(history_end_text(view), style="dim")
        case vw.InviteCode():
            where = ", ".join(view.addrs)
            return Hanging(
                Text.assemble(
                    ("invite code: ", "bold"),
                    (view.code, "bold"),
                    (
                        f"\nothers join with: p2pchat --join {view.code}  (it dials {where})",
                        "dim",
                    ),
                )
            )
        case vw.Notice():
            return Hanging(Text(safe_line(f"· {view.text}"), style="dim"))
        case vw.Problem():
            return Hanging(Text(safe_line(f"! {view.text}"), style="bold red"))
        case vw.PeerTable():
            return _render_peers(view)
        case vw.Stats():
            table = Table(title="traffic since start", title_justify="left", show_header=False)
            for name, value in view.counters:
                table.add_row(name.replace("_", " "), f"{value:,}")
            return table
        case vw.FileOffered():
            return _render_offer(view)
        case vw.FileProgress():
            share = 100 if view.total == 0 else view.done * 100 // view.total
            way = "to" if view.sending else "from"
            line = safe_line(f"⇄ {view.name} {way} {view.peer_nick}: {share}%")
            return Hanging(Text(line, style="dim"))
        case vw.FileDone():
            speed = f" at {rate}" if rate else ""
            name, peer = safe_line(view.name), safe_line(view.peer_nick)
            if view.sending:
                return Hanging(
                    Text(
                        f"✓ sent {name} ({human_size(view.size)}) to {peer}{speed}",
                        style="green",
                    )
                )
            return Hanging(
                Text.assemble(
                    (f"✓ received {name} ({human_size(view.size)}) ", "bold green"),
                    (f"from {peer}{speed}, BLAKE3 checked: ", "green"),
                    (safe_line(view.path), "bold"),
                )
            )
        case vw.FileFailed():
            way = "to" if view.sending else "from"
            line = safe_line(f"! {view.name} {way} {view.peer_nick}: {view.reason}")
            return Hanging(Text(line, style="bold red"))
        case vw.TransferTable():
            return _render_transfers(view)
        case vw.SearchResults():
            found = f"{len(view.messages)} found" if view.messages else "nothing found"
            return Group(
                Text(safe_line(f"· search {view.words!r}: {found}, newest first"), style="dim"),
                *(message_line(m) for m in view.messages),
            )
        case vw.HistoryListing():
            if not view.messages:
                return Text("· no messages in history yet", style="dim")
            return Group(
                Text(f"· last {len(view.messages)} messages:", style="dim"),
                *(message_line(m) for m in view.messages),
            )


def history_end_text(view: vw.HistoryEnd) -> str:
    """The rule between the history restored at start and what comes in now."""
    what = "message" if view.count == 1 else "messages"
    return f"{view.count} earlier {what} above, kept on this machine · new ones below"


def _render_offer(view: vw.FileOffered) -> RenderableType:
    short = view.offer_id[:SHORT_ID_CHARS]
    size = human_size(view.size)
    name = safe_line(view.name)
    if view.own:
        audience = f"to {safe_line(view.to_nick or '')}" if view.direct else "to the room"
        return Hanging(
            Text(
                f"⇪ offering {name} ({size}) {audience} [{short}]; /cancel {short} stops it",
                style="dim",
            )
        )
    to_you = " to you" if view.direct else ""
    return Hanging(
        Text.assemble(
            ("⇩ ", "bold cyan"),
            (safe_line(view.from_nick), nick_colour(view.from_id)),
            f" offers{to_you} ",
            (name, "bold"),
            f" ({size}) [{short}]: ",
            (f"/accept {short}", "bold"),
            " or ",
            (f"/decline {short}", "bold"),
        )
    )


def _render_transfers(view: vw.TransferTable) -> RenderableType:
    if not view.rows:
        return Text("· no file offers or transfers yet", style="dim")
    table = Table(title=f"{len(view.rows)} transfer(s)", title_justify="left")
    for column in ("id", "file", "size", "done", "state", "with"):
        table.add_column(column)
    for row in view.rows:
        share = 100 if row.size == 0 else row.done * 100 // row.size
        arrow = "⇪" if row.sending else "⇩"
        table.add_row(
            row.offer_id[:SHORT_ID_CHARS],
            Text(safe_line(row.name)),
            human_size(row.size),
            f"{share}%",
            Text(safe_line(f"{arrow} {row.state}")),
            Text(safe_line(row.peer_nick)),
        )
    return table


def _render_peers(view: vw.PeerTable) -> RenderableType:
    you = f"you listen on port {view.port}" if view.port else ""
    if not view.rows:
        hint = f"; others can /connect YOUR-ADDRESS:{view.port}" if view.port else ""
        return Text(
            f"· no peers connected yet · {you}{hint}" if you else "· no peers connected yet",
            style="dim",
        )
    title = f"{len(view.rows)} peer(s)" + (f" · {you}" if you else "")
    table = Table(title=title, title_justify="left")
    for column in ("nick", "id", "address", "connected for", "rtt", "status"):
        table.add_column(column)
    for row in view.rows:
        rtt = "-" if row.rtt is None else f"{row.rtt * 1000:.1f} ms"
        status = row.status + (f": {row.status_text}" if row.status_text else "")
        table.add_row(
            Text(safe_line(row.display), style=nick_colour(row.node_id)),
            row.node_id[:SHORT_ID_CHARS],
            Text(safe_line(row.addr)),
            duration(row.connected_for),
            rtt,
            Text(safe_line(status), style="dim" if row.status == "away" else ""),
        )
    return table


def conversation_line(
    view: vw.ReactionShown | vw.MessageEdited | vw.MessageDeleted | vw.PresenceChanged,
) -> Hanging:
    """One line for a reaction, an edit, a delete or a change of presence."""
    match view:
        case vw.ReactionShown():
            verb = "takes back" if view.removed else "reacts"
            who = "you" if view.own else view.display
            line = f"· {who} {verb} {view.emoji} on “{view.about}”"
            return Hanging(Text(safe_line(line), style="dim"))
        case vw.MessageEdited():
            return Hanging(
                Text.assemble(
                    (safe_line(f"· {view.display} edited {view.msg_id}: "), "dim"),
                    body(safe_display(view.text), ""),
                )
            )
        case vw.MessageDeleted():
            line = f"· {view.display} deleted a message: “{view.about}”"
            return Hanging(Text(safe_line(line), style="dim strike"))
        case vw.PresenceChanged():
            who = "you are" if view.own else f"{view.display} is"
            state = f"away: {view.text}" if view.status == "away" and view.text else view.status
            return Hanging(Text(safe_line(f"· {who} {state}"), style="dim"))


def direct_status_line(view: vw.DirectStatusChanged) -> Hanging:
    """One dim line: our direct message was delivered, waits for its recipient, or expired."""
    return Hanging(Text(safe_line(f"{direct_status_text(view)}: “{view.about}”"), style="dim"))


def direct_status_text(view: vw.DirectStatusChanged) -> str:
    """What happened to our direct message, before its first line (not yet made safe)."""
    match view.status:
        case DirectStatus.DELIVERED:
            return f"· {view.to_nick} got your message"
        case DirectStatus.QUEUED:
            return f"· {view.to_nick} is away: your message waits with {_holders(view)}"
        case DirectStatus.EXPIRED:
            return f"· your message to {view.to_nick} was never delivered (a week passed)"
        case _:
            return f"· your message to {view.to_nick} is {view.status.value}"


def _holders(view: vw.DirectStatusChanged) -> str:
    """Who keeps a queued message: "you", or the members online and you; until when."""
    if view.holders <= 0:
        return f"you until {view.to_nick} is back"
    members = "1 member" if view.holders == 1 else f"{view.holders} members"
    return f"{members} online (and you) until {view.to_nick} is back"
