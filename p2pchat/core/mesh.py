"""The node core: it builds the parts below, dispatches each event to them, and runs timers.

Events in, actions out; time is passed in. `Mesh.handle` is the only entry point that changes
state, and it is called from one thread. Each part owns one kind of state: links and peers
(`links`), addresses and dialling (`dialer`, `addressbook`), the room's messages (`room`) and
catching up (`roomsync`), direct messages (`directs`), names and trust (`names`), files
(`filedesk`); they share the step's context (`context`): who we are, the time, the outbox
and the timers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.addr import format_addr
from p2pchat.core.addressbook import AddressBook
from p2pchat.core.context import Context
from p2pchat.core.crypto import Crypto
from p2pchat.core.dialer import Dialer
from p2pchat.core.directrecords import HeldFrame, KnownMember, StoredDirect
from p2pchat.core.directs import Directs
from p2pchat.core.entries import MESSAGE_KINDS
from p2pchat.core.errors import InvariantError
from p2pchat.core.filedesk import FileDesk, FileMessage
from p2pchat.core.guard import Guard, Meter
from p2pchat.core.handshake import hidden_hello
from p2pchat.core.history import History
from p2pchat.core.invite import MAX_INVITE_ADDRESSES, Invite, encode_invite
from p2pchat.core.limits import PROTOCOL_VERSION, Limits
from p2pchat.core.links import Link, Links
from p2pchat.core.liveness import Liveness
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import (
    Auth,
    Bye,
    Chat,
    Direct,
    ErrorFrame,
    FileEnd,
    FileOffer,
    FileRequest,
    FileStop,
    Hello,
    Message,
    NickChange,
    PeerList,
    Ping,
    Pong,
    Presence,
    Receipt,
    SyncBatch,
    SyncRequest,
)
from p2pchat.core.names import Names
from p2pchat.core.presence import Presences
from p2pchat.core.room import Room
from p2pchat.core.roomsync import RoomSync
from p2pchat.core.timers import Timer, TimerKind
from p2pchat.core.trust import Looks, TrustTable, plain_looks

# A timer may set another for the same instant (a dial ends: its slot is free now); a Tick
# fires those too, up to this many rounds, so the next deadline is always in the future.
TIMER_ROUNDS = 4


class Mesh:
    """One node's protocol state; feed it events with `handle`, carry out the actions it returns."""

    def __init__(
        self,
        crypto: Crypto,
        nick: str,
        room: str,
        listen_port: int,
        *,
        limits: Limits,
        rng: random.Random,
        last_seq: int = 0,
        history: History | None = None,
        replay_on_start: int | None = None,
        room_tag: str = "",
        trusted: dict[str, str] | None = None,
        transfers: Sequence[Mapping[str, object]] = (),
        looks: Looks = plain_looks,
        seen_directs: dict[str, float] | None = None,
        directs: Sequence[StoredDirect] = (),
        held: Sequence[HeldFrame] = (),
        known: Sequence[KnownMember] = (),
    ) -> None:
        ctx = Context(
            crypto,
            nick=nick,
            room=room,
            room_tag=room_tag,
            listen_port=listen_port,
            limits=limits,
            rng=rng,
        )
        self.ctx = ctx
        self.crypto = crypto
        self.node_id = crypto.node_id
        self.room_tag = room_tag
        self.room_name = room
        self.listen_port = listen_port
        self.limits = limits
        self.replay_on_start = replay_on_start
        self.history = history if history is not None else History(limits)
        self.outbox = ctx.outbox
        self.members = Members(ctx.outbox)
        self.guard = Guard(limits)
        self.names = Names(ctx, self.members, TrustTable(trusted or {}, limits, looks))
        self.trust = self.names.trust
        self.book = AddressBook(limits, rng, ctx.timers)
        self.dialer = Dialer(ctx, self.book, self.members)
        members, names = self.members, self.names
        self.links = Links(ctx, members, names, dialer=self.dialer, guard=self.guard, hooks=self)
        self.room = Room(
            ctx,
            members,
            names,
            links=self.links,
            history=self.history,
            guard=self.guard,
            last_seq=last_seq,
        )
        self.roomsync = RoomSync(ctx, members, names, self.room)
        self.liveness = Liveness(ctx, members, names, self.roomsync.digest_pair)
        self.directs = Directs(
            ctx,
            members,
            names,
            links=self.links,
            room=self.room,
            guard=self.guard,
            seen=seen_directs or {},
            stored=directs,
            held=held,
            known=known,
        )
        self.presence = Presences(ctx, members, names)
        self.files = FileDesk(ctx, ctx.outbox, self.members)
        self.files.restore(transfers)
        self._told_other_passphrase = False

    # ------------------------------------------------------------------ public

    def handle(self, event: ev.Event, now: float, wall: float) -> list[act.Action]:
        """Apply one event at monotonic time now (wall: Unix time); return what to do."""
        ctx = self.ctx
        ctx.now = now
        ctx.wall = wall
        self.outbox.take()  # nothing is left over from a step before
        match event:
            case ev.FramesReceived():
                self._on_frames(event)
            case ev.ConnectionMade():
                self._on_connection_made(event)
            case ev.ConnectionLost():
                link = self.links.by_conn.get(event.conn)
                if link is not None:
                    self.links.lose(link, event.reason, expected=False)
            case ev.DialFailed():
                self.dialer.dial_failed(event)
            case ev.PeerDiscovered():
                self.dialer.discovered(event)
            case ev.PeerWithdrawn():
                self.dialer.withdrawn(event)
            case ev.NetworkChanged():
                self._on_network_changed()
            case ev.ShowProblem():
                ctx.show(vw.Problem(event.text))
            case ev.OtherPassphraseSeen():
                self._other_passphrase_seen()
            case ev.SendChat():
                self.room.send(event.text, event.kind, event.ref)
            case ev.SetPresence():
                self.presence.set(event.status, event.text, auto=event.auto)
            case ev.SendDirect():
                self.directs.send(event.target, event.text)
            case ev.ChangeNick():
                self.names.change_nick(event.nick)
            case (
                ev.ShowPeers()
                | ev.ShowHistory()
                | ev.ShowWhois()
                | ev.ShowStats()
                | ev.ShowDelivery()
                | ev.ShowInvite()
            ):
                self._answer(event)
            case (
                ev.OfferFile()
                | ev.AcceptFile()
                | ev.DeclineFile()
                | ev.CancelTransfer()
                | ev.ShowTransfers()
                | ev.ReceiveReady()
                | ev.TransferProgress()
                | ev.ServeFinished()
                | ev.ReceiveFinished()
            ):
                self.files.handle(event)
            case ev.Started():
                self._on_started(event)
            case ev.Tick():
                self._run_timers()
            case ev.Shutdown():
                self._shutdown()
        return self.outbox.take()

    def next_deadline(self) -> float | None:
        """When to send the next Tick (monotonic), or None; never later than a timer falls due."""
        return None if self.ctx.closing else self.ctx.timers.next_deadline()

    def check_invariants(self, *, thorough: bool = True) -> None:
        """Raise InvariantError unless the state is consistent: each peer's link is its one
        primary link, spares only beside a primary, dials within their slots, every wait on
        time has its timer, the address book and the history in order. Tests and the
        simulator call it after every step.

        thorough=False checks only what takes constant time: enough after a routine event
        (ev.is_routine) that closed no link, for it changed no link, peer or address."""
        ctx = self.ctx
        if any(count < 0 for count in ctx.counters.values()):
            raise InvariantError("mesh: a counter went below zero")
        if thorough:
            self.links.check_invariants()
            self.dialer.check_invariants()
            if not ctx.closing:
                self.room.check_invariants()
                self.roomsync.check_invariants()
                self.liveness.check_invariants()
                self.directs.check_invariants()
                self._check_housekeeping()
            ctx.timers.check_invariants()
        self.history.check_invariants(thorough=thorough)

    @property
    def nick(self) -> str:
        """Our nick now."""
        return self.ctx.nick

    @property
    def seq(self) -> int:
        """The sequence number of the last room message we wrote."""
        return self.room.seq

    @property
    def lamport(self) -> int:
        """Our Lamport clock."""
        return self.room.lamport

    @property
    def counters(self) -> dict[str, int]:
        """What /stats counts."""
        return self.ctx.counters

    @property
    def closing(self) -> bool:
        """True once we are shutting down."""
        return self.ctx.closing

    @property
    def wall(self) -> float:
        """Unix time of the event being handled."""
        return self.ctx.wall

    @property
    def pending_dials(self) -> int:
        """Dials under way."""
        return self.dialer.pending_dials

    def peer_ids(self) -> list[str]:
        """IDs of the peers with a live link."""
        return [p.node_id for p in self.members.linked()]

    def peer_nick(self, node_id: str) -> str | None:
        """The current nick of a linked peer, if any."""
        return self.members.nick_of(node_id)

    def random_id(self) -> str:
        """A fresh random ID of NONCE_HEX_CHARS hex characters (DM nonces, offer IDs)."""
        return self.ctx.random_id()

    def short_name(self, node_id: str) -> str:
        """A linked peer's nick, else the start of its ID."""
        return self.members.short_name(node_id)

    def display_name(self, node_id: str, nick: str) -> str:
        """nick, or nick#shortid when it is not plainly this key's (see Names.display_name)."""
        return self.names.display_name(node_id, nick)

    def own_hello(self, nonce: bytes, ephemeral: bytes) -> Hello:
        """The HELLO we send on a new link with this nonce and ephemeral key."""
        ctx = self.ctx
        own = Hello(
            PROTOCOL_VERSION,
            self.node_id,
            ctx.nick,
            ctx.room,
            self.listen_port,
            self.crypto.public_key,
            self.crypto.dh_public,
            nonce,
            self.room_tag,
            ephemeral,
        )
        return hidden_hello(own) if self.room_tag else own

    def inbound_refusal(self, host: str, now: float) -> str | None:
        """Why an inbound connection from host is to be closed at once, if it is.

        The runtime asks before it starts any thread for the connection.
        """
        return self.links.inbound_refusal(host, now)

    # ------------------------------------------------- LinkHooks (for links)

    def peer_linked(self, peer: Peer) -> None:
        """peer has a new primary link: catch up with it, resume what it carried."""
        timers, housekeeping = self.ctx.timers, Timer(TimerKind.HOUSEKEEPING)
        if timers.when(housekeeping) is None:
            timers.schedule(housekeeping, self.ctx.now + self.ctx.limits.housekeeping_interval)
        self.liveness.linked(peer)
        self.presence.linked(peer)
        self.roomsync.linked(peer)
        self.directs.linked(peer)
        self.files.on_link_up(peer)

    def link_released(self, peer_id: str, conn: int) -> None:
        """The primary link of peer_id is gone: its transfers wait for the next one, our DMs to
        it that are not acknowledged are handed to the others."""
        self.files.on_link_down(peer_id, conn)
        self.directs.unlinked(peer_id)

    def link_moved(self, peer: Peer) -> None:
        """peer moved onto its spare link: its transfers go on there."""
        self.files.resume_from(peer)

    # ---------------------------------------------------------------- private

    def _check_housekeeping(self) -> None:
        """Raise InvariantError unless housekeeping is scheduled while we have peers."""
        if self.members.peers and self.ctx.timers.when(Timer(TimerKind.HOUSEKEEPING)) is None:
            raise InvariantError("mesh: peers but no housekeeping scheduled")

    def _answer(
        self,
        event: ev.ShowPeers
        | ev.ShowHistory
        | ev.ShowWhois
        | ev.ShowStats
        | ev.ShowDelivery
        | ev.ShowInvite,
    ) -> None:
        """The user asked to see something."""
        ctx = self.ctx
        match event:
            case ev.ShowInvite():
                self._show_invite(event.addresses)
            case ev.ShowDelivery():
                sent, unsent = ctx.counters["sent"], len(self.room.unsent)
                ctx.show(vw.Delivery(sent, unsent, self.links.ever_linked))
            case ev.ShowPeers():
                rows = self.names.peer_rows()
                ctx.show(vw.PeerTable(rows, event.requested, self.listen_port))
            case ev.ShowHistory():
                ctx.show(vw.HistoryListing(tuple(self._transcript(event.count, replay=False))))
            case ev.ShowWhois():
                self.names.whois(event.target)
            case ev.ShowStats():
                counters = {
                    **ctx.counters,
                    "throttled": self.guard.throttled,
                    "metered": self.guard.metered,
                    "peers": len(self.peer_ids()),
                }
                ctx.show(vw.Stats(tuple(counters.items()) + event.transport))

    def _on_connection_made(self, event: ev.ConnectionMade) -> None:
        if self.ctx.closing:
            self.ctx.emit(act.Close(event.conn, "shutting down", flush=False))
            return
        own = self.own_hello(event.nonce, event.ephemeral)
        self.links.connection_made(event.conn, event.outbound, event.host, event.port, own)

    def _on_frames(self, event: ev.FramesReceived) -> None:
        by_conn = self.links.by_conn
        link = by_conn.get(event.conn)
        for message in event.messages:
            if link is None or by_conn.get(event.conn) is not link:
                break
            if link.peer_id is None:
                self.links.handshake_frame(link, message)
            else:
                self._on_peer_message(link, self.members.peers[link.peer_id], message)
        self.room.pause_readers()

    def _on_peer_message(self, link: Link, peer: Peer, message: Message) -> None:
        ctx = self.ctx
        peer.last_heard = ctx.now
        match message:
            case Chat():
                ctx.counters["chat_frames_in"] += 1
                if self.room.chat(peer, message):
                    self.roomsync.request(peer)
            case Direct():
                self.directs.receive(link, peer, message)
            case Receipt():
                self.directs.receipt(link, peer, message)
            case Ping():
                if not self._metered(Meter.PING, peer):
                    self.liveness.ping(link.conn, peer, message)
                    self.roomsync.digests_heard(peer, message.digest, message.recent)
            case SyncRequest():
                if not self._metered(Meter.SYNC, peer):
                    self.roomsync.answer(peer, link.conn, message)
            case SyncBatch():
                self.roomsync.batch(peer, message)
            case FileOffer():
                if not self._metered(Meter.OFFER, peer):
                    self._file_frame(peer, message)
            case FileRequest():
                if not self._metered(Meter.FETCH, peer):
                    self._file_frame(peer, message)
            case FileEnd() | FileStop():
                self._file_frame(peer, message)
            case Pong():
                self.liveness.pong(peer, message)
                self.roomsync.digests_heard(peer, message.digest, message.recent)
            case PeerList():
                if not self._metered(Meter.GOSSIP, peer):
                    self.dialer.gossip(peer, message)
            case NickChange():
                if not self._metered(Meter.NICK, peer):
                    self.names.rename_peer(peer, message.nick)
            case Presence():
                if not self._metered(Meter.PRESENCE, peer):
                    self.presence.heard(peer, message)
            case Bye():
                self.links.bye(link, peer, message)
            case ErrorFrame():
                self.links.error_frame(link, peer, message)
            case Hello() | Auth():
                self.links.protocol_violation(link, f"{type(message).__name__} after handshake")

    def _metered(self, meter: Meter, peer: Peer) -> bool:
        """True if peer has used up its budget of this kind of frame (then it is ignored)."""
        ctx = self.ctx
        if self.guard.allow(meter, peer.node_id, ctx.now, peer.host):
            return False
        ctx.log(act.DEBUG, f"{self.names.of(peer)} is over its {meter.value} budget")
        return True

    def _file_frame(self, peer: Peer, message: FileMessage) -> None:
        wrong = self.files.on_message(peer, message)
        if wrong:
            self.links.strike(peer, wrong)

    def _run_timers(self) -> None:
        """Fire the timers due now, and those they set for now in turn (a few rounds at most)."""
        ctx = self.ctx
        for _ in range(TIMER_ROUNDS):
            due = [] if ctx.closing else ctx.timers.pop_due(ctx.now)
            if not due:
                return
            for timer in due:
                self._fire(timer)

    def _fire(self, timer: Timer) -> None:
        """A timer fell due: let the part that set it act."""
        ctx = self.ctx
        subject = timer.subject
        match timer.kind:
            case TimerKind.HANDSHAKE if isinstance(subject, int):
                self.links.handshake_due(subject)
            case TimerKind.SPARE if isinstance(subject, int):
                self.links.spare_due(subject)
            case TimerKind.SWITCHING if isinstance(subject, str):
                self.links.switching_due(subject)
            case TimerKind.SYNC if isinstance(subject, str):
                self.roomsync.timeout_due(subject)
            case TimerKind.LIVENESS if isinstance(subject, str):
                gone = self.liveness.due(subject)
                if gone is not None:
                    self.links.time_out(gone)
            case TimerKind.HOUSEKEEPING:
                self.roomsync.next()
                self.room.expire()
                self.directs.sweep()
                if self.members.peers:
                    due = ctx.now + ctx.limits.housekeeping_interval
                    ctx.timers.schedule(Timer(TimerKind.HOUSEKEEPING), due)
            case TimerKind.ANNOUNCE:
                self.links.announce_due()
            case TimerKind.ALONE_HINT:
                ctx.show(vw.Notice(self._alone_hint()))
            case TimerKind.GAP:
                self.room.expire()
            case TimerKind.CHECK:
                self.room.check_due()
            case TimerKind.DIAL | TimerKind.DIAL_SLOT:
                self.dialer.dial_due()
            case TimerKind.FORGET_ADDRESS if isinstance(subject, tuple):
                self.book.forget_if_stale(subject, ctx.now, self.members.peers)
            case TimerKind.REDISCOVER:
                self.dialer.rediscover_due()
            case TimerKind.DIRECTS:
                self.directs.expire_due()

    def _on_network_changed(self) -> None:
        """Addresses that failed while we had no (or another) network are worth a try now,
        not after their backoff; and links that did not survive the change are found sooner."""
        self.liveness.probe_all()
        self.dialer.network_changed()

    def _other_passphrase_seen(self) -> None:
        if self._told_other_passphrase:
            return
        self._told_other_passphrase = True
        self.ctx.show(
            vw.Problem(
                f"a node nearby is in a private room with the name {self.room_name!r} but "
                "another passphrase (or a room whose name looks the same to us): "
                "check that everyone typed the same passphrase"
            )
        )

    def _on_started(self, event: ev.Started) -> None:
        """Say who we are (and why on another port, if so), then show the stored history."""
        ctx = self.ctx
        private = bool(self.room_tag)
        ready = vw.Ready(self.node_id, ctx.nick, ctx.room, self.listen_port, event.mdns)
        ctx.show(replace(ready, private=private))
        hint_at = ctx.now + self.limits.alone_hint_seconds
        ctx.timers.schedule(Timer(TimerKind.ALONE_HINT), hint_at)
        if event.port_taken:
            where = f"HOST:{self.listen_port}"
            ctx.show(vw.Notice(f"{event.port_taken}: others find us by discovery, or as {where}"))
        self._replay(self.replay_on_start)
        self.directs.started()

    def _replay(self, count: int | None) -> None:
        """Show the stored history at start: the newest count entries (None: all), room
        messages and direct messages in transcript order."""
        ctx = self.ctx
        views = self._transcript(count, replay=True)
        total = len(self.history) + len(self.directs.recent())
        if count is not None and count < total:
            ctx.show(vw.Notice(f"{total - count} older messages in history; /history N shows more"))
        for view in views:
            ctx.show(view)
        if views:
            ctx.show(vw.HistoryEnd(len(views)))

    def _transcript(self, count: int | None, *, replay: bool) -> list[vw.MessageShown]:
        """The newest count messages (None: all) as they stand, room and direct, in order:
        by Lamport clock, a DM after the room message whose clock it was shown at."""
        chats = self.history.last(len(self.history) if count is None else count)
        rows = self.directs.recent()
        keyed: list[tuple[tuple[int, int, float, str], vw.MessageShown]] = []
        for chat in chats:
            view = self.room.view(chat, restored=True) if chat.kind in MESSAGE_KINDS else None
            if view is not None:
                keyed.append(((chat.lamport, 0, 0.0, chat.author), view))
        for row in rows:
            view = self.directs.view(row, restored=True)
            keyed.append(((row.lamport, 1, row.ts, row.msg_id), view))
        keyed.sort(key=lambda kv: kv[0])
        views = [view for _, view in keyed]
        return views if count is None else views[-count:] if count else []

    def _show_invite(self, addresses: tuple[str, ...]) -> None:
        """An invite code with the addresses transport found for us, or why there is none."""
        ctx = self.ctx
        usable = tuple(a for a in addresses if ":" not in a)[:MAX_INVITE_ADDRESSES]
        if not usable:
            ctx.show(vw.Problem("no IPv4 address to invite others to: is the network up?"))
            return
        invite = Invite(usable, self.listen_port, ctx.room, self.room_tag or None)
        addrs = tuple(format_addr(a, self.listen_port) for a in usable)
        ctx.show(vw.InviteCode(encode_invite(invite), addrs, ctx.room))

    def _alone_hint(self) -> str:
        """What to do when nobody was found: one line, the likely causes first."""
        seconds = f"{self.limits.alone_hint_seconds:g}"
        passphrase = " and passphrase" if self.room_tag else ""
        return (
            f"nobody found in room {self.room_name!r} after {seconds} s: check that the others "
            f"use the same room name{passphrase}; `p2pchat doctor` in another terminal tells "
            "why; or a member types /invite and you start `p2pchat --join CODE`, or type "
            "/connect HOST (HOST:PORT if their port is not the default), or start with --scan"
        )

    def _shutdown(self) -> None:
        if self.ctx.closing:
            return
        self.room.check_unchecked()  # what is good is stored before we go
        self.ctx.closing = True
        self.links.close_all()
