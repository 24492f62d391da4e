"""Direct messages: sealed to one member, signed by their author, passed on by one hop."""

from __future__ import annotations

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.context import Context
from p2pchat.core.crypto import direct_signing_bytes, signed_by
from p2pchat.core.dedup import DirectLedger, DirectVerdict
from p2pchat.core.errors import ProtocolError
from p2pchat.core.guard import Guard
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.core.links import Link, Links
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import Direct, direct_content, parse_direct_content, with_fields
from p2pchat.core.names import Names
from p2pchat.core.room import Room, text_ok


class Directs:
    """Sending direct messages, and opening (once each) or passing on the ones we receive."""

    def __init__(
        self,
        ctx: Context,
        members: Members,
        names: Names,
        *,
        links: Links,
        room: Room,
        guard: Guard,
        seen: dict[str, float],
    ) -> None:
        limits = ctx.limits
        self.ledger = DirectLedger(
            limits.max_seen_directs, limits.direct_max_age, limits.direct_max_ahead, seen
        )
        self._ctx = ctx
        self._members = members
        self._names = names
        self._links = links
        self._room = room  # its Lamport clock places a DM in the transcript
        self._guard = guard

    def receive(self, link: Link, peer: Peer, direct: Direct) -> None:
        """A direct message from peer on link: for us (open it once) or to pass on."""
        ctx = self._ctx
        ours = direct.to == ctx.node_id
        if direct.author == ctx.node_id or (ours and direct.msg_id in self.ledger):
            return
        target = None if ours else self._members.peers.get(direct.to)
        if not ours and (target is None or target.conn is None or target.conn == link.conn):
            return  # nobody to pass it to: not worth a signature check
        signed = direct_signing_bytes(direct)
        if not signed_by(ctx.crypto, direct.author, direct.key, direct.signature, signed):
            self._links.strike(peer, "a direct message with a bad signature")
            return
        if not self._guard.allow_message(direct.author, peer.node_id, ctx.now, peer.host):
            return
        if target is not None and target.conn is not None:
            # Passed on, not kept: its recipient takes each ID once.
            ctx.emit(act.Send((target.conn,), direct))
            return
        verdict = self.ledger.judge(direct.msg_id, direct.ts, ctx.wall)
        if verdict is not DirectVerdict.NEW:
            if verdict is not DirectVerdict.SEEN:
                ctx.log(act.INFO, f"dropped a direct message: {verdict.value}")
            return
        self.ledger.take(direct.msg_id, direct.ts)
        ctx.emit(act.RememberDirect(direct.msg_id, direct.ts))
        self._open(direct, peer)

    def send(self, target: str, text: str) -> None:
        """Seal text to the linked member target names, sign it, show it, send it."""
        ctx = self._ctx
        if not text_ok(ctx, text):
            return
        peer = self._members.resolve(target)
        if peer is None or peer.conn is None:
            return
        if not peer.dh:
            ctx.show(vw.Problem(f"{self._names.of(peer)} has no key for direct messages"))
            return
        ephemeral, box = ctx.crypto.seal(peer.dh, direct_content(ctx.nick, text))
        unsigned = Direct(
            ctx.node_id,
            peer.node_id,
            ctx.random_id(),
            ctx.wall,
            ctx.crypto.public_key,
            ephemeral,
            box,
            b"",
        )
        direct = with_fields(unsigned, signature=ctx.crypto.sign(direct_signing_bytes(unsigned)))
        ctx.show(
            vw.MessageShown(
                msg_id=direct.msg_id,
                author=ctx.node_id,
                nick=ctx.nick,
                display=ctx.nick,
                text=text,
                ts=direct.ts,
                lamport=self._room.lamport,
                direct=True,
                own=True,
                to_id=peer.node_id,
                to_nick=self._names.of(peer),
            )
        )
        ctx.emit(act.Send((peer.conn,), direct))

    def _open(self, direct: Direct, peer: Peer) -> None:
        ctx = self._ctx
        plaintext = ctx.crypto.unseal(direct.ephemeral, direct.box)
        if plaintext is None:
            short = direct.author[:SHORT_ID_CHARS]
            ctx.log(act.WARNING, f"a direct message from {short} did not open")
            return
        try:
            nick, text = parse_direct_content(plaintext, ctx.limits)
        except ProtocolError as exc:
            # The box is sealed: only its author can have put this in, and a relay could not
            # tell. Strike the peer only if it is the author.
            if direct.author == peer.node_id:
                self._links.strike(peer, f"a direct message with bad content: {exc}")
            else:
                ctx.log(act.INFO, f"a direct message relayed by {self._names.of(peer)}: {exc}")
            return
        self._names.vouch(direct.author, nick)
        ctx.show(
            vw.MessageShown(
                msg_id=direct.msg_id,
                author=direct.author,
                nick=nick,
                display=self._names.display_name(direct.author, nick),
                text=text,
                ts=direct.ts,
                lamport=self._room.lamport,
                direct=True,
                own=False,
                to_id=ctx.node_id,
                to_nick=ctx.nick,
            )
        )
