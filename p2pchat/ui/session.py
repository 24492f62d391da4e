"""Carries out typed commands: local ones here, the rest as events for the node."""

from __future__ import annotations

from collections.abc import Callable

from p2pchat.core import events as ev
from p2pchat.core.messages import clean_text
from p2pchat.discovery.static import resolve_peer
from p2pchat.ui import commands as cmd
from p2pchat.ui.base import Ui

_TRANSFER_EVENTS: dict[str, Callable[[str], object]] = {
    "accept": ev.AcceptFile,
    "decline": ev.DeclineFile,
    "cancel": ev.CancelTransfer,
}


def run_line(line: str, post: Callable[[object], None], ui: Ui) -> bool:
    """Act on one typed line; False when the user asked to quit."""
    command = cmd.parse_line(line)
    match command:
        case None:
            pass
        case cmd.Quit():
            return False
        case cmd.Help():
            ui.show_help()
        case cmd.Invalid():
            # Through the node, so that it comes after the answers to earlier lines.
            post(ev.ShowProblem(command.problem))
        case cmd.Say():
            post(ev.SendChat(clean_text(command.text)))
        case cmd.Entry():
            post(ev.SendChat(clean_text(command.text), command.kind, command.ref))
        case cmd.Presence():
            post(ev.SetPresence(command.status, clean_text(command.text)))
        case cmd.Msg():
            post(ev.SendDirect(command.target, clean_text(command.text)))
        case cmd.Nick():
            post(ev.ChangeNick(command.nick))
        case cmd.Peers():
            post(ev.ShowPeers())
        case cmd.Whois():
            post(ev.ShowWhois(command.target))
        case cmd.StatsCmd():
            post(ev.ShowStats())
        case cmd.InviteCmd():
            post(ev.ShowInvite())
        case cmd.SendFile():
            post(ev.ShareFile(command.path, command.target))
        case cmd.TransferCmd():
            post(_TRANSFER_EVENTS[command.verb](command.offer_id))
        case cmd.Transfers():
            post(ev.ShowTransfers())
        case cmd.SearchCmd():
            post(ev.SearchLog(command.words))
        case cmd.HistoryCmd():
            post(ev.ShowHistory(command.count))
        case cmd.Connect():
            try:
                address = resolve_peer(command.spec)
            except ValueError as exc:
                post(ev.ShowProblem(f"/connect: {exc}"))
            else:
                post(ev.PeerDiscovered((address,), None, "user"))
    return True
