"""Who is at the keyboard: our own presence (here or away, with a status text), told to each
peer on its link, and the presence each peer tells us."""

from __future__ import annotations

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.context import Context
from p2pchat.core.limits import MAX_STATUS_CHARS
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import Presence, PresenceStatus, clean_text
from p2pchat.core.names import Names


class Presences:
    """Our presence and our peers': set by the user (or the UI when idle), sent on links."""

    def __init__(self, ctx: Context, members: Members, names: Names) -> None:
        self.status = PresenceStatus.HERE
        self.text = ""
        self.auto = False  # away because the UI saw no key for a while, not by /away
        self._ctx = ctx
        self._members = members
        self._names = names

    def set(self, status: PresenceStatus, text: str = "", *, auto: bool = False) -> None:
        """We are away (text: why) or back; tell every linked peer and the user. An automatic
        change never overrides one the user made (an idle UI does not undo /away)."""
        if auto and (self.status is not PresenceStatus.HERE) != self.auto:
            return  # the user's own /away stands until /back
        text = "" if status is PresenceStatus.HERE else clean_text(text)[:MAX_STATUS_CHARS]
        text = " ".join(text.split())  # one line
        if (status, text) == (self.status, self.text):
            return
        self.status, self.text, self.auto = status, text, auto and status is PresenceStatus.AWAY
        ctx = self._ctx
        conns = self._members.conns()
        if conns:
            ctx.emit(act.Send(conns, Presence(status, text)))
        ctx.show(vw.PresenceChanged(ctx.node_id, ctx.nick, ctx.nick, status, text, own=True))

    def linked(self, peer: Peer) -> None:
        """peer has a new link: tell it we are away, if we are (here is what it assumes)."""
        if self.status is not PresenceStatus.HERE and peer.conn is not None:
            self._ctx.emit(act.Send((peer.conn,), Presence(self.status, self.text)))

    def heard(self, peer: Peer, presence: Presence) -> None:
        """peer says it is here or away now: remember it, and tell the user if it changed."""
        if (presence.status, presence.text) == (peer.presence, peer.status_text):
            return
        peer.presence, peer.status_text = presence.status, presence.text
        display = self._names.of(peer)
        self._ctx.show(
            vw.PresenceChanged(peer.node_id, peer.nick, display, presence.status, presence.text)
        )
