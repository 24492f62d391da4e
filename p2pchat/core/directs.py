"""Direct messages: sealed to one member, signed by their author, kept, and delivered also to a
member who is away.

- A DM goes over its recipient's own link when there is one. Otherwise it is handed to every
  member online, who hold it sealed (`DirectHold`) and pass it on when the recipient links to
  them; we keep it too (`OutgoingDirects`) and send it ourselves when we meet the recipient.
- The recipient opens each DM once (`DirectLedger`, within its acceptance window) and answers
  with a signed `Receipt`, which travels back the same way: over the writer's link, or handed
  to the members online. A holder that sees the receipt drops its copy; the writer marks the
  DM delivered. A DM seen before is answered again, so a holder that missed the receipt drops
  its copy the next time it tries.
- Held frames and our undelivered DMs are dropped `held_max_age` after they were signed,
  before the recipient's window closes, so nothing handed on late is refused as too old.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import replace

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.annotations import first_line
from p2pchat.core.context import Context
from p2pchat.core.crypto import direct_signing_bytes, receipt_signing_bytes, signed_by
from p2pchat.core.dedup import DirectLedger, DirectVerdict
from p2pchat.core.directhold import DirectHold, HeldMessage, HoldVerdict, held_key
from p2pchat.core.directrecords import (
    PENDING,
    DirectStatus,
    HeldFrame,
    KnownMember,
    StoredDirect,
)
from p2pchat.core.errors import InvariantError, ProtocolError
from p2pchat.core.guard import Guard, Meter
from p2pchat.core.knownmembers import KnownMembers
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.core.links import Link, Links
from p2pchat.core.members import MIN_ID_PREFIX, Members, Peer
from p2pchat.core.messages import (
    Direct,
    Receipt,
    decode_message,
    direct_content,
    encode_message,
    parse_direct_content,
    with_fields,
)
from p2pchat.core.names import Names
from p2pchat.core.outgoingdirects import OutgoingDirects, Pending
from p2pchat.core.room import Room, text_ok
from p2pchat.core.timers import Timer, TimerKind
from p2pchat.core.transcript import direct_view

EXPIRY_TIMER = Timer(TimerKind.DIRECTS)


class Directs:
    """Sending, keeping, holding, handing on and acknowledging direct messages."""

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
        stored: Iterable[StoredDirect] = (),
        held: Iterable[HeldFrame] = (),
        known: Iterable[KnownMember] = (),
    ) -> None:
        limits = ctx.limits
        self.ledger = DirectLedger(
            limits.max_seen_directs, limits.direct_max_age, limits.direct_max_ahead, seen
        )
        self.known = KnownMembers(known, limits.max_known_members)
        self.hold = DirectHold(limits)
        self.outgoing = OutgoingDirects()
        self._ctx = ctx
        self._members = members
        self._names = names
        self._links = links
        self._room = room  # its Lamport clock places a DM in the transcript
        self._guard = guard
        self._recent: deque[StoredDirect] = deque(maxlen=max(1, limits.replay_directs))
        self._started = False
        # DM ID -> its recipient, for the receipts we saw (bounded, oldest first)
        self._acknowledged: OrderedDict[str, str] = OrderedDict()
        # held key -> the link we passed it on over (so a copy sent again is not passed twice)
        self._forwarded: OrderedDict[str, int] = OrderedDict()
        self._given_up: list[str] = []  # held frames that did not fit back at start
        self._restore(stored, held)

    # ------------------------------------------------------------------ sending

    def send(self, target: str, text: str) -> None:
        """Seal text to the member target names, sign it, keep it, show it, and send it: to the
        member if linked, else to the members online to hold for it."""
        ctx = self._ctx
        if not text_ok(ctx, text):
            return
        recipient = self._recipient(target)
        if recipient is None:
            return
        limits = ctx.limits
        if len(self.outgoing) >= limits.max_pending_directs:
            ctx.show(vw.Problem(self._backlog_problem()))
            return
        try:
            ephemeral, box = ctx.crypto.seal(recipient.dh, direct_content(ctx.nick, text))
        except ValueError:  # a key no exchange works with (all zeros, a small-order point)
            ctx.show(
                vw.Problem(
                    f"{recipient.nick}'s key for direct messages is not usable: "
                    "their p2pchat sent a broken key; ask them to update or restart it"
                )
            )
            return
        unsigned = Direct(
            ctx.node_id,
            recipient.node_id,
            ctx.random_id(),
            ctx.wall,
            ctx.crypto.public_key,
            ephemeral,
            box,
            b"",
        )
        direct = with_fields(unsigned, signature=ctx.crypto.sign(direct_signing_bytes(unsigned)))
        frame = encode_message(direct)
        if self.outgoing.bytes + len(frame) > limits.max_pending_bytes:
            ctx.show(vw.Problem(self._backlog_problem()))
            return
        peer = self._linked(recipient.node_id)
        status = DirectStatus.SENT if peer is not None else DirectStatus.QUEUED
        row = StoredDirect(
            direct.msg_id,
            ctx.node_id,
            ctx.nick,
            recipient.node_id,
            recipient.nick,
            text,
            direct.ts,
            self._room.lamport,
            status,
            frame,
        )
        pending = Pending(direct, row, len(frame), status)
        self.outgoing.add(pending)
        self._keep(row)
        ctx.show(self._view(row))
        if peer is not None and peer.conn is not None:
            ctx.emit(act.Send((peer.conn,), direct))
            pending.sent_at = ctx.now
        else:
            self._hand_out(pending)
            self._announce(pending)
        self._arm()

    # ------------------------------------------------------------------ frames

    def receive(self, link: Link, peer: Peer, direct: Direct) -> None:
        """A direct message from peer on link: for us (open it once), to pass on, or to hold."""
        ctx = self._ctx
        if direct.author == ctx.node_id:
            return  # ours, back again
        if direct.to == ctx.node_id:
            self._take(link, peer, direct)
            return
        target = self._members.peers.get(direct.to)
        if target is not None and target.conn == link.conn:
            return  # to its own sender: nothing to do
        if self._acknowledged.get(direct.msg_id) == direct.to:
            return  # it arrived: its writer, who had not heard yet, hands it out again
        if not self._fresh(direct.ts) or self._passed_on(direct, target):
            return
        away = target is None or target.conn is None
        if away and self.hold.get(direct.msg_id) is not None:
            return  # held already (the first copy, checked): no second check
        if not self._authentic(peer, direct):
            return
        if not self._guard.allow_message(direct.author, peer.node_id, ctx.now, peer.host):
            return
        if target is not None and target.conn is not None:
            self._pass_on(target.conn, direct)  # its recipient takes each ID once
            return
        self._hold(direct)

    def receipt(self, link: Link, peer: Peer, receipt: Receipt) -> None:
        """A receipt from peer: ours (a DM of ours arrived), or one to hold or pass on."""
        ctx = self._ctx
        if receipt.author == ctx.node_id:
            return
        if receipt.to == ctx.node_id:
            pending = self.outgoing.get(receipt.direct_id)
            if pending is None or pending.direct.to != receipt.author:
                return  # already delivered, or not a DM of ours to its author
            if self._authentic(peer, receipt):
                self._delivered(pending)
            return
        if not self._fresh(receipt.ts) or not self._authentic(peer, receipt):
            return
        if not self._guard.allow_message(receipt.author, peer.node_id, ctx.now, peer.host):
            return
        held = self.hold.get(receipt.direct_id)
        if held is not None and held.to == receipt.author and self.hold.drop(receipt.direct_id):
            ctx.emit(act.Release(receipt.direct_id))
            ctx.counters["directs_acknowledged"] += 1
        self._remember_acknowledged(receipt)
        writer = self._members.peers.get(receipt.to)
        if writer is not None and writer.conn is not None:
            if writer.conn != link.conn and not self._passed_on(receipt, writer):
                self._pass_on(writer.conn, receipt)
            return
        self._hold(receipt)

    # ------------------------------------------------------------------ links

    def linked(self, peer: Peer) -> None:
        """peer has a new link: remember its key; send it what we hold for it and our DMs to it;
        hand it our DMs for members who are away."""
        ctx = self._ctx
        conn = peer.conn
        if conn is None:
            return
        member = self.known.meet(peer.node_id, peer.nick, peer.dh, ctx.wall)
        if member is not None:
            ctx.emit(act.RememberMember(member))
        for held in self.hold.for_recipient(peer.node_id):
            ctx.emit(act.Send((conn,), held.message))
            ctx.counters["directs_handed_on"] += 1
            if isinstance(held.message, Receipt) and self.hold.drop(held.key):
                ctx.emit(act.Release(held.key))  # nothing acknowledges a receipt
        holders = ctx.limits.max_holders
        for pending in self.outgoing.all():
            if pending.direct.to == peer.node_id:
                ctx.emit(act.Send((conn,), pending.direct))
                pending.sent_at = ctx.now
            elif (
                self._linked(pending.direct.to) is None
                and peer.node_id not in pending.handed
                and len(pending.handed) < holders
            ):
                ctx.emit(act.Send((conn,), pending.direct))
                pending.handed.add(peer.node_id)

    def unlinked(self, peer_id: str) -> None:
        """peer_id's link is gone: our DMs to it that no receipt acknowledged are queued."""
        if self._linked(peer_id) is not None or self._switching(peer_id):
            return  # linked, or moving to another link: they go there
        for pending in self.outgoing.to(peer_id):
            if pending.status is DirectStatus.SENT:
                self._queue(pending)

    # ------------------------------------------------------------------ time

    def started(self) -> None:
        """The node runs (the clocks are set): expire what the log kept that is over now."""
        self._started = True
        for key in self._given_up:
            self._ctx.emit(act.Release(key))
        self._given_up.clear()
        self.expire_due()

    def expire_due(self) -> None:
        """Drop held frames and give up our DMs whose holding time is over; queue our DMs whose
        recipient is gone."""
        ctx = self._ctx
        for key in self.hold.expire(ctx.wall):
            ctx.emit(act.Release(key))
            ctx.counters["directs_expired_held"] += 1
        for pending in self.outgoing.expired(ctx.wall - ctx.limits.held_max_age):
            self.outgoing.remove(pending.row.msg_id)
            self._set_status(pending, DirectStatus.EXPIRED)
        self._arm()

    def sweep(self) -> None:
        """Housekeeping: send again our DMs that a linked recipient has not acknowledged for a
        while (it may have been over its rate limit); queue those whose recipient left."""
        ctx = self._ctx
        for pending in self.outgoing.all():
            peer = self._linked(pending.direct.to)
            if peer is not None and peer.conn is not None:
                if ctx.now - pending.sent_at >= ctx.limits.direct_resend_interval:
                    ctx.emit(act.Send((peer.conn,), pending.direct))
                    pending.sent_at = ctx.now
            elif pending.status is DirectStatus.SENT and not self._switching(pending.direct.to):
                self._queue(pending)

    # ------------------------------------------------------------------ transcript

    def recent(self) -> list[StoredDirect]:
        """Our newest DMs, both ways (at most replay_directs), oldest first."""
        return list(self._recent)

    def view(self, row: StoredDirect, *, restored: bool) -> vw.MessageShown:
        """How a stored DM is shown (restored: from the log, at start or in /history)."""
        return self._view(row, restored=restored)

    def check_invariants(self) -> None:
        """Raise InvariantError unless the hold is consistent and expiry has its timer."""
        self.hold.check_invariants()
        due = self._next_expiry()
        if self._started and due is not None and self._ctx.timers.when(EXPIRY_TIMER) is None:
            raise InvariantError("directs: frames to expire but no timer")

    # ------------------------------------------------------------------ private

    def _restore(self, stored: Iterable[StoredDirect], held: Iterable[HeldFrame]) -> None:
        for row in stored:
            self._recent.append(row)
            if row.status in PENDING and row.frame:
                direct = self._decoded(row.frame)
                if isinstance(direct, Direct) and direct.msg_id == row.msg_id:
                    self.outgoing.add(Pending(direct, row, len(row.frame), row.status))
        for frame in held:  # one that does not decode expires in the log
            message = self._decoded(frame.frame)
            if isinstance(message, Direct | Receipt) and held_key(message) == frame.key:
                _, given_up = self.hold.add(message, frame.expires, len(frame.frame))
                self._given_up += given_up

    def _decoded(self, frame: bytes) -> object:
        try:
            return decode_message(frame, self._ctx.limits)
        except ProtocolError as exc:
            self._ctx.log(act.WARNING, f"a kept direct message does not decode: {exc}")
            return None

    def _recipient(self, target: str) -> KnownMember | None:
        """The one member target names, linked now or met before; else None, having said why."""
        ctx = self._ctx
        found: dict[str, KnownMember] = {m.node_id: m for m in self.known.matching(target)}
        nick, _, prefix = target.partition("#")
        for peer in self._members.linked():
            named = peer.nick == nick and peer.node_id.startswith(prefix)
            by_id = not prefix and len(nick) >= MIN_ID_PREFIX
            if named or (by_id and peer.node_id.startswith(nick.lower())):
                found[peer.node_id] = KnownMember(peer.node_id, peer.nick, peer.dh, ctx.wall)
        found.pop(ctx.node_id, None)
        if len(found) == 1:
            member = next(iter(found.values()))
            if not member.dh:
                ctx.show(vw.Problem(f"{member.nick} has no key for direct messages"))
                return None
            return member
        if not found:
            ctx.show(
                vw.Problem(
                    f"nobody called {target} has been met in this room; /peers lists who is here"
                )
            )
        else:
            names = ", ".join(
                sorted(f"{m.nick}#{m.node_id[:SHORT_ID_CHARS]}" for m in found.values())
            )
            ctx.show(vw.Problem(f"{len(found)} members match {target}: {names}; add the #id"))
        return None

    def _switching(self, node_id: str) -> bool:
        peer = self._members.peers.get(node_id)
        return peer is not None and peer.conn is None and peer.switching_until > self._ctx.now

    def _linked(self, node_id: str) -> Peer | None:
        peer = self._members.peers.get(node_id)
        return peer if peer is not None and peer.conn is not None else None

    def _hand_out(self, pending: Pending) -> None:
        """Give pending to members online that do not have it yet, up to max_holders in all,
        those linked longest first (a newcomer with a fresh key is the last to be trusted)."""
        room = self._ctx.limits.max_holders - len(pending.handed)
        online = [p for p in self._members.linked() if p.node_id not in pending.handed]
        for peer in sorted(online, key=lambda p: p.since)[: max(0, room)]:
            if peer.conn is not None:
                self._ctx.emit(act.Send((peer.conn,), pending.direct))
                pending.handed.add(peer.node_id)

    def _queue(self, pending: Pending) -> None:
        self._hand_out(pending)
        self._set_status(pending, DirectStatus.QUEUED)

    def _announce(self, pending: Pending) -> None:
        row = pending.row
        self._ctx.show(
            vw.DirectStatusChanged(
                row.msg_id,
                row.to,
                row.to_nick,
                pending.status,
                holders=len(pending.handed),
                about=first_line(row.text),
            )
        )

    def _set_status(self, pending: Pending, status: DirectStatus) -> None:
        pending.status = status
        pending.row = _with_status(pending.row, status)
        self._ctx.emit(act.SetDirectStatus(pending.row.msg_id, status))
        self._remember_recent(pending.row)
        self._announce(pending)

    def _delivered(self, pending: Pending) -> None:
        self.outgoing.remove(pending.row.msg_id)
        self._ctx.counters["directs_delivered"] += 1
        self._set_status(pending, DirectStatus.DELIVERED)
        self._arm()

    def _take(self, link: Link, peer: Peer, direct: Direct) -> None:
        """A DM to us: open it if new (then store it and show it), and acknowledge it."""
        ctx = self._ctx
        if direct.msg_id in self.ledger:
            # Answered again, so whoever brought it drops its copy; metered per peer, never
            # charged to the writer (a replay must not use up its budget).
            if self._guard.allow(Meter.REPEAT_DM, peer.node_id, ctx.now, peer.host):
                self._acknowledge(direct, link, fresh=False)
            return
        if not self._authentic(peer, direct):
            return
        if not self._guard.allow_message(direct.author, peer.node_id, ctx.now, peer.host):
            return
        verdict = self.ledger.judge(direct.msg_id, direct.ts, ctx.wall)
        if verdict is not DirectVerdict.NEW:
            if verdict is not DirectVerdict.SEEN:
                ctx.log(act.INFO, f"dropped a direct message: {verdict.value}")
            return
        self.ledger.take(direct.msg_id, direct.ts)
        ctx.emit(act.RememberDirect(direct.msg_id, direct.ts))
        self._open(direct, peer)
        self._acknowledge(direct, link, fresh=True)

    def _acknowledge(self, direct: Direct, link: Link, *, fresh: bool) -> None:
        """Send a signed receipt for direct: to its writer if linked, and to the member that
        brought it (a holder, to drop its copy); a fresh one to every member online when the
        writer is away."""
        ctx = self._ctx
        unsigned = Receipt(
            ctx.node_id, direct.author, direct.nonce, ctx.wall, ctx.crypto.public_key, b""
        )
        receipt = with_fields(unsigned, signature=ctx.crypto.sign(receipt_signing_bytes(unsigned)))
        writer = self._linked(direct.author)
        if writer is not None and writer.conn is not None:
            conns = {writer.conn, link.conn}
        elif fresh:
            conns = set(self._members.conns())
        else:
            conns = {link.conn}
        ctx.emit(act.Send(tuple(sorted(conns)), receipt))

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
        row = StoredDirect(
            direct.msg_id,
            direct.author,
            nick,
            ctx.node_id,
            ctx.nick,
            text,
            direct.ts,
            self._room.lamport,
            DirectStatus.RECEIVED,
        )
        self._keep(row)
        if direct.author != peer.node_id:
            ctx.counters["directs_handed_to_us"] += 1
        ctx.show(self._view(row))

    def _hold(self, message: HeldMessage) -> None:
        """Keep message for its recipient, who is away, if it is fresh and there is room."""
        ctx = self._ctx
        if not self._fresh(message.ts):
            return
        frame = encode_message(message)
        expires = message.ts + ctx.limits.held_max_age
        verdict, given_up = self.hold.add(message, expires, len(frame))
        for key in given_up:
            ctx.emit(act.Release(key))
        if verdict is HoldVerdict.HELD:
            key = held_key(message)
            ctx.emit(act.Hold(HeldFrame(key, message.to, expires, frame)))
            ctx.counters["directs_held"] += 1
            self._arm()
        elif verdict is HoldVerdict.REFUSED:
            ctx.counters["directs_refused_held"] += 1

    def _passed_on(self, message: HeldMessage, target: Peer | None) -> bool:
        """True if we already passed message on over target's present link."""
        return target is not None and self._forwarded.get(held_key(message)) == target.conn

    def _pass_on(self, conn: int, message: HeldMessage) -> None:
        """Send message over conn, to its recipient, once per link (bounded memory)."""
        key = held_key(message)
        self._forwarded[key] = conn
        self._forwarded.move_to_end(key)
        while len(self._forwarded) > self._ctx.limits.max_held:
            self._forwarded.popitem(last=False)
        self._ctx.emit(act.Send((conn,), message))

    def _remember_acknowledged(self, receipt: Receipt) -> None:
        """Note that the DM a well-signed receipt names arrived (so we do not hold it again)."""
        self._acknowledged[receipt.direct_id] = receipt.author
        self._acknowledged.move_to_end(receipt.direct_id)
        while len(self._acknowledged) > self._ctx.limits.max_held:
            self._acknowledged.popitem(last=False)

    def _fresh(self, signed_at: float) -> bool:
        """True if a frame signed at signed_at is still worth holding (and not from the future)."""
        limits, wall = self._ctx.limits, self._ctx.wall
        return wall - limits.held_max_age < signed_at <= wall + limits.direct_max_ahead

    def _authentic(self, peer: Peer, message: Direct | Receipt) -> bool:
        """True if message is signed by its author; a bad one is a strike against peer, who
        should have checked it before passing it on."""
        if isinstance(message, Direct):
            signed = direct_signing_bytes(message)
        else:
            signed = receipt_signing_bytes(message)
        if signed_by(self._ctx.crypto, message.author, message.key, message.signature, signed):
            return True
        self._links.strike(peer, f"a {message.WIRE_TYPE} with a bad signature")
        return False

    def _keep(self, row: StoredDirect) -> None:
        self._ctx.emit(act.StoreDirect(row))
        self._remember_recent(row)

    def _remember_recent(self, row: StoredDirect) -> None:
        for i, old in enumerate(self._recent):
            if old.msg_id == row.msg_id:
                self._recent[i] = row
                return
        self._recent.append(row)

    def _view(self, row: StoredDirect, *, restored: bool = False) -> vw.MessageShown:
        return direct_view(row, self._names.display_name, restored=restored)

    def _backlog_problem(self) -> str:
        return (
            f"{len(self.outgoing)} direct messages are still waiting for their recipients: "
            "wait until some are delivered, or until their recipients are back"
        )

    def _next_expiry(self) -> float | None:
        limits = self._ctx.limits
        times = [self.hold.next_expiry(), self.outgoing.next_expiry(limits.held_max_age)]
        return min((t for t in times if t is not None), default=None)

    def _arm(self) -> None:
        """Be woken when the next held frame or pending DM of ours expires."""
        ctx = self._ctx
        due = self._next_expiry()
        if due is None or not self._started:
            ctx.timers.cancel(EXPIRY_TIMER)
        else:
            ctx.timers.schedule(EXPIRY_TIMER, ctx.now + max(0.0, due - ctx.wall))


def _with_status(row: StoredDirect, status: DirectStatus) -> StoredDirect:
    """row at status (its frame kept only while pending), as the log updates it."""
    return replace(row, status=status, frame=row.frame if status in PENDING else b"")
