"""Who is who: the names members are shown by, trust on first use of a nick, whois, renames."""

from __future__ import annotations

from collections.abc import Callable

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.addr import format_addr
from p2pchat.core.context import Context
from p2pchat.core.crypto import fingerprint
from p2pchat.core.dedup import RecentIds
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import NickChange, nick_problem, normal_nick
from p2pchat.core.trust import TrustTable


class Names:
    """Display names, the nick trust table and its warnings, whois, our own and peers' renames."""

    def __init__(self, ctx: Context, members: Members, trust: TrustTable) -> None:
        self.trust = trust
        self._ctx = ctx
        self._members = members
        self._warned = RecentIds(ctx.limits.max_tracked_peers, float("inf"))
        self._told_trust_full = False
        # node ID -> (nick, trust.version) last vouched for with nothing to say: the same again
        # while the table is unchanged has nothing to say either (the usual message).
        self._plain: dict[str, tuple[str, int]] = {}

    def display_name(self, node_id: str, nick: str) -> str:
        """nick, or nick#shortid when it is not plainly this key's.

        Marked when the nick belongs to (was first seen with) another key or looks like one
        that does, and when another linked member or we ourselves go by the same nick.
        """
        ctx = self._ctx
        if node_id == ctx.node_id:
            return nick
        # Not remembered for this key (another's, a look-alike, or past the table's bounds):
        # the short ID stays on it, so the table filling up never unmarks an impostor.
        shown = self.trust.display(nick, node_id)
        clash = nick == ctx.nick or any(
            p.nick == nick and p.node_id != node_id for p in self._members.peers.values()
        )
        return f"{nick}#{node_id[:SHORT_ID_CHARS]}" if clash else shown

    def of(self, peer: Peer) -> str:
        """How peer is shown now."""
        return self.display_name(peer.node_id, peer.nick)

    def vouch(
        self, node_id: str, nick: str, then_show: Callable[[], vw.View] | None = None
    ) -> None:
        """Trust on first use of (nick, key); warn once if the nick is another key's or looks so.

        Every nick a key shows goes through here: in its handshake, a rename, and every
        message or DM it signs, so a message cannot borrow a nick while its owner is away.
        then_show: a view to show once the nick is judged (it names the key as now displayed).
        """
        ctx = self._ctx
        if node_id == ctx.node_id:
            if then_show is not None:
                ctx.show(then_show())
            return
        if then_show is None and self._plain.get(node_id) == (nick, self.trust.version):
            return
        verdict = self.trust.check(nick, node_id)
        if not verdict.new and verdict.conflict_with is None and verdict.lookalike_of is None:
            if len(self._plain) >= ctx.limits.max_tracked_authors:
                self._plain.clear()  # bounded: authors come from the network
            self._plain[node_id] = (nick, self.trust.version)
        if then_show is not None:
            ctx.show(then_show())
        if verdict.new:
            ctx.emit(act.Trust(nick, node_id))
        if verdict.unremembered and not self._told_trust_full:
            self._told_trust_full = True
            ctx.show(
                vw.Problem(
                    "the table of known nicks is full (or one key has too many): new nicks "
                    f"are shown with their #id, like {self.display_name(node_id, nick)}"
                )
            )
        owner, other = verdict.conflict_with, verdict.lookalike_of
        if (owner is None and other is None) or not self._warned.add(f"{node_id}:{nick}", 0.0):
            return
        display, short = self.display_name(node_id, nick), node_id[:SHORT_ID_CHARS]
        if owner is not None:
            because = f"but that nick was first seen with key {owner[:SHORT_ID_CHARS]}"
        else:
            assert other is not None
            owner_of = self.trust.first_seen(other) or ""
            because = f"which looks like {other!r} of key {owner_of[:SHORT_ID_CHARS]}"
        ctx.show(
            vw.Problem(
                f"WARNING: {display} uses the nick {nick!r} with key {short}, {because}: "
                f"this may be someone else (/whois {nick})"
            )
        )

    def whois(self, target: str) -> None:
        """Show the keys that go by target (nick or nick#idprefix): linked ones and the first."""
        nick, _, prefix = target.partition("#")
        matches = [
            p
            for p in self._members.peers.values()
            if p.nick == nick and p.node_id.startswith(prefix)
        ]
        first = self.trust.first_seen(nick)
        if not matches and first is None:
            self._ctx.show(vw.Problem(f"nobody called {target} is connected or known"))
            return
        rows: list[tuple[str, str, Peer | None]] = [(p.node_id, p.nick, p) for p in matches]
        if first is not None and first not in {p.node_id for p in matches}:
            rows.append((first, nick, None))
        for node_id, name, peer in rows:
            self._ctx.show(
                vw.Whois(
                    nick=name,
                    node_id=node_id,
                    fingerprint=fingerprint(node_id),
                    online=peer is not None,
                    first_seen=first == node_id,
                    status=None if peer is None else peer.presence.value,
                    status_text="" if peer is None else peer.status_text,
                )
            )

    def rename_peer(self, peer: Peer, nick: str) -> None:
        """peer now goes by nick: vouch for it and tell the user."""
        if nick == peer.nick:
            return
        old, shown_as = peer.nick, self.of(peer)
        peer.nick = nick
        self.vouch(
            peer.node_id,
            nick,
            then_show=lambda: vw.NickChanged(
                peer.node_id,
                old,
                nick,
                own=False,
                display=shown_as,
                new_display=self.of(peer),
            ),
        )

    def change_nick(self, typed: str) -> None:
        """We now go by typed (normalized), if it is a valid nick; tell peers and the user."""
        ctx = self._ctx
        nick = normal_nick(typed)
        problem = nick_problem(nick, ctx.limits)
        if problem is not None:
            ctx.show(vw.Problem(f"cannot use nick {nick!r}: {problem}"))
            return
        if nick == ctx.nick:
            return
        old, ctx.nick = ctx.nick, nick
        conns = self._members.conns()
        if conns:
            ctx.emit(act.Send(conns, NickChange(nick)))
        ctx.emit(act.Announce(nick))
        ctx.show(vw.NickChanged(ctx.node_id, old, nick, own=True, display=old, new_display=nick))
        taken = [p for p in self._members.peers.values() if p.nick == nick]
        if taken:
            ctx.show(
                vw.Problem(
                    f"{self.of(taken[0])} here already goes by {nick!r}: others see you as "
                    f"{nick}#{ctx.node_id[:SHORT_ID_CHARS]}"
                )
            )

    def peer_rows(self) -> tuple[vw.PeerRow, ...]:
        """The linked peers as /peers lists them, by nick."""
        rows = [
            vw.PeerRow(
                node_id=p.node_id,
                nick=p.nick,
                display=self.of(p),
                addr=format_addr(p.host, p.listen_port),
                connected_for=self._ctx.now - p.since,
                rtt=p.rtt,
                clock_offset=p.clock_offset,
                status=p.presence.value,
                status_text=p.status_text,
            )
            for p in self._members.linked()
        ]
        return tuple(sorted(rows, key=lambda r: (r.nick.lower(), r.node_id)))
