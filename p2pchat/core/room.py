"""The room: vetting what arrives, accepting it in order, relaying it, and what we write."""

from __future__ import annotations

from enum import Enum

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.context import Context
from p2pchat.core.crypto import chat_signing_bytes, signed_by
from p2pchat.core.dedup import RecentIds
from p2pchat.core.errors import InvariantError
from p2pchat.core.guard import Guard
from p2pchat.core.history import History
from p2pchat.core.limits import MAX_LAMPORT
from p2pchat.core.links import Links
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import Chat, with_fields
from p2pchat.core.names import Names
from p2pchat.core.relay import relay_targets
from p2pchat.core.timers import Timer, TimerKind


class Verdict(Enum):
    """What a received room message is, once vetted."""

    NEW = "new"  # verified, within the rate limits: accept it
    DUPLICATE = "duplicate"  # held or seen before (or our own)
    THROTTLED = "throttled"  # over its author's or relay's rate limit
    INVALID = "invalid"  # a bad signature or an altered copy (the relay got a strike)


def text_ok(ctx: Context, text: str) -> bool:
    """True if text may be sent: not empty, not too long (then the user is told)."""
    if not text:
        return False
    if len(text) > ctx.limits.max_text_chars:
        ctx.show(vw.Problem(f"message too long ({len(text)} > {ctx.limits.max_text_chars})"))
        return False
    return True


class Room:
    """The room's messages: our sequence and Lamport clock, vetting, accepting, relaying."""

    def __init__(
        self,
        ctx: Context,
        members: Members,
        names: Names,
        *,
        links: Links,
        history: History,
        guard: Guard,
        last_seq: int,
    ) -> None:
        self.history = history
        self.seq = max(last_seq, history.max_seq(ctx.node_id))
        self.lamport = history.clock(ctx.limits.max_lamport_leap)
        self.unsent: set[int] = set()  # our seqs sent to nobody yet (no link when written)
        self._ctx = ctx
        self._members = members
        self._names = names
        self._links = links
        self._guard = guard
        self._equivocations = RecentIds(ctx.limits.max_tracked_peers, ctx.limits.strike_memory)
        self._losers = RecentIds(ctx.limits.max_tracked_peers, ctx.limits.strike_memory)

    def chat(self, peer: Peer, chat: Chat) -> bool:
        """A room message flooded to us by peer: vet, accept, show, relay; True if it shows
        a gap in its author's messages (then ask peer for a sync)."""
        ctx = self._ctx
        verdict = self.vet(chat, peer)
        if verdict is not Verdict.NEW:
            if verdict is Verdict.DUPLICATE:
                ctx.counters["duplicates"] += 1
            return False
        if not self.accept(chat):
            return False
        ctx.counters["delivered_live"] += 1
        ctx.show(self.view(chat, backfill=False))
        gap = self.history.has_gap(chat.author)
        self._relay(chat, peer.node_id)
        return gap

    def vet(self, chat: Chat, peer: Peer | None) -> Verdict:
        """Classify a received room message: new (verified), duplicate, throttled or invalid.

        Signatures are checked before anything is marked seen, so a forgery cannot take a real
        message's ID. A copy that differs from the one we hold is checked too: a bad signature
        is the relay's fault (a strike), a good one proves its author signed two versions of
        one ID (equivocation), which is never held against the relay.
        """
        ctx = self._ctx
        held = self.history.get(chat.author, chat.seq)
        if held is not None:
            if held == chat:
                return Verdict.DUPLICATE
            losing = f"{chat.msg_id}:{chat.signature.hex()}"
            if losing in self._losers:  # a version we already checked and set aside
                return Verdict.DUPLICATE
            if not self._signed(chat):
                self._links.strike(peer, "an altered copy of a message")
                return Verdict.INVALID
            self._losers.add(losing, ctx.now)
            self._equivocation(held, chat, peer)
            return Verdict.DUPLICATE
        if chat.author == ctx.node_id or not self.history.is_new(chat.author, chat.seq, chat.ts):
            return Verdict.DUPLICATE
        if not self._signed(chat):
            self._links.strike(peer, "a message with a bad signature")
            return Verdict.INVALID
        relay, host = (peer.node_id, peer.host) if peer else (None, None)
        if not self._guard.allow_message(chat.author, relay, ctx.now, host):
            return Verdict.THROTTLED
        return Verdict.NEW

    def accept(self, chat: Chat) -> bool:
        """Hold and store a message if it is new; False if it was seen before."""
        ctx = self._ctx
        if chat.author == ctx.node_id and chat.seq <= self.seq:
            return False
        if not self.history.add(chat, ctx.now, ctx.wall):
            return False
        self._raise_clock(chat.lamport)
        ctx.emit(act.Store(chat))
        self._names.vouch(chat.author, chat.nick)
        self.arm_gap_timer()
        return True

    def view(
        self, chat: Chat, *, backfill: bool = False, restored: bool = False
    ) -> vw.MessageShown:
        """How chat is shown."""
        return vw.MessageShown(
            msg_id=chat.msg_id,
            author=chat.author,
            nick=chat.nick,
            display=self._names.display_name(chat.author, chat.nick),
            text=chat.text,
            ts=chat.ts,
            lamport=chat.lamport,
            direct=False,
            own=chat.author == self._ctx.node_id,
            backfill=backfill,
            restored=restored,
        )

    def send(self, text: str) -> None:
        """Write text to the room: sign it, number it, store it, show it, send it."""
        ctx = self._ctx
        if not text_ok(ctx, text):
            return
        self.seq += 1
        # Saturates instead of overflowing: one forged huge clock must not stop the room.
        self.lamport = min(self.lamport + 1, MAX_LAMPORT)
        unsigned = Chat(ctx.node_id, self.seq, self.lamport, ctx.wall, ctx.nick, text)
        unsigned = with_fields(unsigned, key=ctx.crypto.public_key)
        signature = ctx.crypto.sign(chat_signing_bytes(ctx.room, unsigned))
        chat = with_fields(unsigned, signature=signature)
        ctx.counters["sent"] += 1
        self.history.add(chat, ctx.now)
        # Stored (with its seq) before it leaves, so a restart never reuses the seq.
        ctx.emit(act.Store(chat))
        ctx.show(self.view(chat, backfill=False))
        conns = self._members.conns()
        if conns:
            ctx.emit(act.Send(conns, chat))
        elif len(self.unsent) < ctx.limits.history_messages:
            self.unsent.add(chat.seq)  # reaches the room when a peer syncs with us

    def replay(self, replay_on_start: int | None) -> None:
        """Show the stored history at start (the newest replay_on_start messages; None: all)."""
        ctx = self._ctx
        total = len(self.history)
        count = total if replay_on_start is None else min(total, replay_on_start)
        if count < total:
            ctx.show(vw.Notice(f"{total - count} older messages in history; /history N shows more"))
        for chat in self.history.last(count):
            ctx.show(self.view(chat, restored=True))
        if count:
            ctx.show(vw.HistoryEnd(count))

    def listing(self, count: int) -> vw.HistoryListing:
        """The last count messages, as /history shows them."""
        chats = self.history.last(count)
        return vw.HistoryListing(tuple(self.view(c, restored=True) for c in chats))

    def expire(self) -> None:
        """Give up overdue gaps and drop messages past the age limit."""
        self.history.expire(self._ctx.now, self._ctx.wall)
        self.arm_gap_timer()

    def arm_gap_timer(self) -> None:
        """Be woken when the oldest open gap in the history is to be given up."""
        gap = self.history.next_gap_deadline()
        if gap is not None:
            self._ctx.timers.schedule_by(Timer(TimerKind.GAP), gap)

    def check_invariants(self) -> None:
        """Raise InvariantError unless an open gap has its timer."""
        gap = self.history.next_gap_deadline()
        when = self._ctx.timers.when(Timer(TimerKind.GAP))
        if gap is not None and not self._ctx.closing and (when is None or when > gap):
            raise InvariantError(f"room: a gap is due at {gap} but its timer is at {when}")

    def _raise_clock(self, lamport: int) -> None:
        # A message raises our clock by at most max_lamport_leap: a forged huge clock cannot
        # pin the room's order (honest clocks never leap that far), and it saturates anyway.
        leap = min(lamport, self.lamport + self._ctx.limits.max_lamport_leap)
        self.lamport = min(max(self.lamport, leap), MAX_LAMPORT)

    def _relay(self, chat: Chat, sender: str) -> None:
        linked = {p.node_id: p for p in self._members.linked()}
        neighbours = {node_id: p.links for node_id, p in linked.items()}
        targets = relay_targets(self._ctx.node_id, chat.author, sender, neighbours)
        conns = tuple(c for t in targets if (c := linked[t].conn) is not None)
        if conns:
            self._ctx.counters["relayed"] += len(conns)
            self._ctx.emit(act.Send(conns, chat))

    def _signed(self, chat: Chat) -> bool:
        signed = chat_signing_bytes(self._ctx.room, chat)
        return signed_by(self._ctx.crypto, chat.author, chat.key, chat.signature, signed)

    def _equivocation(self, held: Chat, other: Chat, peer: Peer | None) -> None:
        """Its author signed two versions of one ID: everyone keeps the same one, and is told.

        The version with the smaller signature wins everywhere; a node that held the other
        swaps it and passes the winner on, so the room converges on one text per ID.
        """
        ctx = self._ctx
        winner = min(held, other, key=lambda c: c.signature)
        if winner is other:
            self.history.replace(other)
            ctx.emit(act.Store(other, replace=True))
        if self._equivocations.add(other.msg_id, ctx.now):
            ctx.counters["equivocations"] += 1
            ctx.show(
                vw.Equivocation(
                    msg_id=winner.msg_id,
                    author=winner.author,
                    display=self._names.display_name(winner.author, winner.nick),
                    text=winner.text,
                )
            )
            conns = tuple(
                p.conn
                for p in self._members.linked()
                if p is not peer and p.node_id != winner.author and p.conn is not None
            )
            if conns:
                ctx.emit(act.Send(conns, winner))
