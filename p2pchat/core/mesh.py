"""The node core: peer table, handshakes, tie-break, liveness, redial, gossip, flooding, sync.

Events in, actions out; time is passed in. `Mesh.handle` is the only entry point that changes
state, and it is called from one thread.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import sync
from p2pchat.core import views as vw
from p2pchat.core.addr import format_addr
from p2pchat.core.addressbook import Address, AddressBook, Source
from p2pchat.core.crypto import (
    Crypto,
    chat_signing_bytes,
    direct_signing_bytes,
    fingerprint,
    signed_by,
)
from p2pchat.core.dedup import DirectLedger, DirectVerdict, RecentIds
from p2pchat.core.errors import InvariantError, ProtocolError
from p2pchat.core.filedesk import FileDesk, FileMessage
from p2pchat.core.guard import Guard, Meter
from p2pchat.core.handshake import (
    Accepted,
    Handshake,
    Proceed,
    Refusal,
    Rejected,
    hidden_hello,
)
from p2pchat.core.history import History
from p2pchat.core.invite import MAX_INVITE_ADDRESSES, Invite, encode_invite
from p2pchat.core.limits import MAX_LAMPORT, PROTOCOL_VERSION, SHORT_ID_CHARS, Limits
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import (
    MAX_NONCE,
    NONCE_HEX_CHARS,
    Auth,
    Bye,
    ByeReason,
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
    PeerAddress,
    PeerList,
    Ping,
    Pong,
    RefusalCode,
    SyncBatch,
    SyncRequest,
    direct_content,
    nick_problem,
    normal_nick,
    parse_direct_content,
    with_fields,
)
from p2pchat.core.outbox import Outbox
from p2pchat.core.relay import relay_targets
from p2pchat.core.trust import Looks, TrustTable, plain_looks

BYE_QUIT = ByeReason.QUIT
BYE_DUPLICATE = ByeReason.DUPLICATE
# Unproven addresses from discovery: each source keeps a capped share of the address book.
COUNTERS = (
    "sent",  # room messages we wrote
    "chat_frames_in",  # room message frames received live, duplicates included
    "delivered_live",  # new room messages shown as they were flooded
    "delivered_backfill",  # new room messages that came by sync
    "duplicates",  # live frames of messages we already had
    "relayed",  # copies we forwarded to others
    "rejected",  # messages with bad signatures or altered copies
    "equivocations",  # message IDs whose author signed two versions
)


class Verdict(Enum):
    """What a received room message is, once vetted."""

    NEW = "new"  # verified, within the rate limits: accept it
    DUPLICATE = "duplicate"  # held or seen before (or our own)
    THROTTLED = "throttled"  # over its author's or relay's rate limit
    INVALID = "invalid"  # a bad signature or an altered copy (the relay got a strike)


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
        transfers: list[dict[str, object]] | None = None,
        looks: Looks = plain_looks,
        seen_directs: dict[str, float] | None = None,
    ) -> None:
        self.crypto = crypto
        self.node_id = crypto.node_id
        self.room_tag = room_tag
        self.nick = nick
        self.room = room
        self.listen_port = listen_port
        self.limits = limits
        self.history = history if history is not None else History(limits)
        self.seq = max(last_seq, self.history.max_seq(self.node_id))
        self.lamport = self.history.clock(limits.max_lamport_leap)
        self.replay_on_start = replay_on_start
        self.closing = False
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.guard = Guard(limits)
        self.trust = TrustTable(trusted or {}, limits, looks)
        self._warned = RecentIds(limits.max_tracked_peers, float("inf"))
        self._told_trust_full = False
        self._told_other_passphrase = False
        self.outbox = Outbox()
        self.members = Members(self.outbox)
        self._rng = rng
        self._links: dict[int, _Link] = {}
        self._peers = self.members.peers  # the same dict: the mesh adds and drops peers
        self.book = AddressBook(limits, rng)
        self._sync_waiting: OrderedDict[str, bool] = OrderedDict()  # peer -> recheck
        self._unsent: set[int] = set()  # our seqs sent to nobody yet (no link when written)
        self._ever_linked = False
        self._alone_hint_at: float | None = None  # when to say we found nobody, until we do
        self._directs = DirectLedger(
            limits.max_seen_directs,
            limits.direct_max_age,
            limits.direct_max_ahead,
            seen_directs or {},
        )
        self._equivocations = RecentIds(limits.max_tracked_peers, limits.strike_memory)
        self._losers = RecentIds(limits.max_tracked_peers, limits.strike_memory)
        self._last_rediscover: float | None = None
        self._now = 0.0
        self._wall = 0.0
        self._deadline: float | None = None
        self._timers_dirty = False
        self._announce_links_at: float | None = None
        self._next_heartbeat = 0.0
        self._last_heartbeat = 0.0
        self._ping_nonce = 0
        self.files = FileDesk(self, self.outbox, self.members)
        self.files.restore(transfers or [])

    # ------------------------------------------------------------------ public

    def handle(self, event: ev.Event, now: float, wall: float) -> list[act.Action]:
        """Apply one event at monotonic time now (wall: Unix time); return what to do."""
        self._now = now
        self._wall = wall
        self.outbox.take()  # nothing is left over from a step before
        match event:
            case ev.FramesReceived():
                self._on_frames(event)
            case ev.ConnectionMade():
                self._on_connection_made(event)
            case ev.ConnectionLost():
                link = self._links.get(event.conn)
                if link is not None:
                    self._lose_link(link, event.reason, expected=False)
            case ev.DialFailed():
                self._on_dial_failed(event)
            case ev.PeerDiscovered():
                self._on_discovered(event)
            case ev.PeerWithdrawn():
                self._on_withdrawn(event)
            case ev.NetworkChanged():
                self._on_network_changed()
            case ev.ShowProblem():
                self._show(vw.Problem(event.text))
            case ev.OtherPassphraseSeen():
                if not self._told_other_passphrase:
                    self._told_other_passphrase = True
                    self._show(
                        vw.Problem(
                            f"a node nearby is in a private room with the name {self.room!r} but "
                            "another passphrase (or a room whose name looks the same to us): "
                            "check that everyone typed the same passphrase"
                        )
                    )
            case ev.SendChat():
                self._send_chat(event.text)
            case ev.SendDirect():
                self._send_direct(event.target, event.text)
            case ev.ChangeNick():
                self._change_nick(event.nick)
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
                if not self.closing:
                    self._run_timers()
            case ev.Shutdown():
                self._shutdown()
        if self._timers_dirty or not ev.is_routine(event):
            self._timers_dirty = False
            self._deadline = self._compute_deadline()
        return self.outbox.take()

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
        match event:
            case ev.ShowInvite():
                self._show_invite(event.addresses)
            case ev.ShowDelivery():
                sent, unsent = self.counters["sent"], len(self._unsent)
                self._show(vw.Delivery(sent, unsent, self._ever_linked))
            case ev.ShowPeers():
                self._show(vw.PeerTable(self._peer_rows(), event.requested, self.listen_port))
            case ev.ShowHistory():
                chats = self.history.last(event.count)
                listing = tuple(self._view(c, restored=True) for c in chats)
                self._show(vw.HistoryListing(listing))
            case ev.ShowWhois():
                self._whois(event.target)
            case ev.ShowStats():
                counters = {
                    **self.counters,
                    "throttled": self.guard.throttled,
                    "metered": self.guard.metered,
                    "peers": len(self.peer_ids()),
                }
                self._show(vw.Stats(tuple(counters.items()) + event.transport))

    def check_invariants(self, *, thorough: bool = True) -> None:
        """Raise InvariantError unless the state is consistent: each peer's link is its one
        primary link, spares only beside a primary, dials within their slots, the address
        book and the history in order. Tests and the simulator call it after every step.

        thorough=False checks only what takes constant time: enough after a routine event
        (ev.is_routine) that closed no link, for it changed no link, peer or address."""
        if any(count < 0 for count in self.counters.values()):
            raise InvariantError("mesh: a counter went below zero")
        if thorough:
            self._check_links()
            if self.pending_dials > self.limits.max_pending_dials:
                raise InvariantError("mesh: more dials under way than there are slots")
            self.book.check_invariants()
        self.history.check_invariants(thorough=thorough)

    def _check_links(self) -> None:
        # Peers and their links point at each other, one primary link per peer: the two
        # (peer, link) pairings are the same set (sets: cheap enough for every step).
        by_peers = {(node_id, p.conn) for node_id, p in self._peers.items() if p.conn is not None}
        by_links = {
            (link.peer_id, conn)
            for conn, link in self._links.items()
            if link.peer_id is not None and link.spare_since is None
        }
        if by_peers != by_links:
            wrong = sorted(str(pair) for pair in by_peers ^ by_links)[0]
            raise InvariantError(f"mesh: a peer and its primary link disagree: {wrong}")
        for conn, link in self._links.items():
            if link.spare_since is None or link.peer_id is None:
                continue
            linked = self._peers.get(link.peer_id)
            if linked is None or linked.conn in (None, conn):
                raise InvariantError(f"mesh: spare link {conn} stands beside no primary link")

    def next_deadline(self) -> float | None:
        """When to send the next Tick (monotonic), or None; never later than a timer falls due."""
        return self._deadline

    def _compute_deadline(self) -> float | None:
        if self.closing:
            return None
        limits = self.limits
        times: list[float] = [link.handshake.deadline for link in self._unestablished()]
        if self._peers:
            times.append(self._next_heartbeat)
        if self._announce_links_at is not None:
            times.append(self._announce_links_at)
        if self._alone_hint_at is not None:
            times.append(self._alone_hint_at)
        for peer in self._peers.values():
            if peer.conn is None:
                times.append(peer.switching_until)
            else:
                sync_timeout = peer.sync.timeout_at(limits)
                if sync_timeout is not None:
                    times.append(sync_timeout)
        gap = self.history.next_gap_deadline()
        if gap is not None:
            times.append(gap)
        waiting = self.book.waiting(self._peers)
        dials_free = self.pending_dials < limits.max_pending_dials  # else a finished dial wakes us
        for address in waiting:
            if dials_free:
                times.append(address.next_try)
            if not address.static:
                times.append(address.last_seen + limits.known_address_ttl)
        times += [since + limits.handshake_timeout for _, since in self._spares()]
        if waiting:
            last = self._last_rediscover
            times.append(self._now if last is None else last + limits.rediscover_retry_interval)
        return min(times) if times else None

    def peer_ids(self) -> list[str]:
        """IDs of the peers with a live link."""
        return [p.node_id for p in self._peers.values() if p.conn is not None]

    def peer_nick(self, node_id: str) -> str | None:
        """The current nick of a linked peer, if any."""
        return self.members.nick_of(node_id)

    @property
    def wall(self) -> float:
        """Unix time of the event being handled."""
        return self._wall

    def random_id(self) -> str:
        """A fresh random ID of NONCE_HEX_CHARS hex characters (DM nonces, offer IDs)."""
        return f"{self._rng.getrandbits(NONCE_HEX_CHARS * 4):0{NONCE_HEX_CHARS}x}"

    def short_name(self, node_id: str) -> str:
        """A linked peer's nick, else the start of its ID."""
        return self.members.short_name(node_id)

    def display_name(self, node_id: str, nick: str) -> str:
        """nick, or nick#shortid when it is not plainly this key's.

        Marked when the nick belongs to (was first seen with) another key or looks like one
        that does, and when another linked member or we ourselves go by the same nick.
        """
        if node_id == self.node_id:
            return nick
        # Not remembered for this key (another's, a look-alike, or past the table's bounds):
        # the short ID stays on it, so the table filling up never unmarks an impostor.
        shown = self.trust.display(nick, node_id)
        clash = nick == self.nick or any(
            p.nick == nick and p.node_id != node_id for p in self._peers.values()
        )
        return f"{nick}#{node_id[:SHORT_ID_CHARS]}" if clash else shown

    def own_hello(self, nonce: bytes, ephemeral: bytes) -> Hello:
        """The HELLO we send on a new link with this nonce and ephemeral key."""
        own = Hello(
            PROTOCOL_VERSION,
            self.node_id,
            self.nick,
            self.room,
            self.listen_port,
            self.crypto.public_key,
            self.crypto.dh_public,
            nonce,
            self.room_tag,
            ephemeral,
        )
        return hidden_hello(own) if self.room_tag else own

    @property
    def pending_dials(self) -> int:
        """Dials under way."""
        return self.book.pending_dials

    # ------------------------------------------------------------ connections

    def _on_connection_made(self, event: ev.ConnectionMade) -> None:
        if self.closing:
            self._emit(act.Close(event.conn, "shutting down", flush=False))
            return
        address = self.book.get((event.host, event.port)) if event.outbound else None
        refusal = None if event.outbound else self._refuse_inbound(event.host, self._now)
        if refusal is not None:
            self._emit(act.Close(event.conn, refusal, flush=False))
            self._log(act.INFO, f"refused {format_addr(event.host, event.port)}: {refusal}")
            return
        crypto = self.crypto
        own = self.own_hello(event.nonce, event.ephemeral)
        link = _Link(
            conn=event.conn,
            outbound=event.outbound,
            host=event.host,
            port=event.port,
            handshake=Handshake(own, self._now, self.limits.handshake_timeout, crypto, self.nick),
            dialed=address,
        )
        self._links[event.conn] = link
        self._emit(act.Send((event.conn,), own))

    def inbound_refusal(self, host: str, now: float) -> str | None:
        """Why an inbound connection from host is to be closed at once, if it is.

        The runtime asks before it starts any thread for the connection.
        """
        return self._refuse_inbound(host, now)

    def _refuse_inbound(self, host: str, now: float) -> str | None:
        """Why an inbound connection from host is closed at once, if it is."""
        if self.guard.banned(host, now):
            return "address banned for invalid messages"
        pending = [link for link in self._unestablished() if not link.outbound]
        if len(pending) >= self.limits.max_pending_connections:
            return "too many pending connections"
        same_host = sum(1 for link in pending if link.host == host and not link.outbound)
        if same_host >= self.limits.max_pending_per_address:
            return "too many pending connections from this address"
        return None

    def _on_dial_failed(self, event: ev.DialFailed) -> None:
        address = self.book.get((event.host, event.port))
        if address is None:
            return
        address.dialing = False
        self.book.retry_later(address, self._now)
        self._log(act.DEBUG, f"dial {format_addr(event.host, event.port)} failed: {event.reason}")

    def _on_frames(self, event: ev.FramesReceived) -> None:
        link = self._links.get(event.conn)
        for message in event.messages:
            if link is None or self._links.get(event.conn) is not link:
                return
            if link.peer_id is None:
                self._on_handshake(link, message)
            else:
                self._on_peer_message(link, self._peers[link.peer_id], message)

    def _on_handshake(self, link: _Link, message: Message) -> None:
        outcome = link.handshake.receive(message)
        if isinstance(outcome, Proceed):
            self._emit(act.Send((link.conn,), outcome.reply))
        elif isinstance(outcome, Accepted):
            self._establish(link, outcome.hello, outcome.nick)
        else:
            self._reject(link, outcome)

    def _reject(self, link: _Link, outcome: Rejected) -> None:
        if outcome.reply is not None:
            self._emit(act.Send((link.conn,), outcome.reply))
        # A stranger knocking at a private room is not news; a peer we were told to dial is.
        quiet = (
            self.room_tag
            and outcome.code is Refusal.ROOM
            and not (link.dialed and link.dialed.static)
        )
        if outcome.problem is not None and not quiet:
            where = format_addr(link.host, link.port)
            problem = (
                f"the peer at {where} {outcome.problem}" if outcome.by_peer else outcome.problem
            )
            self._show(vw.Problem(problem))
        self._close(link, outcome.reason, flush=True)
        self._log(act.INFO, f"link {format_addr(link.host, link.port)} refused: {outcome.reason}")
        forged = outcome.code in (Refusal.AUTH, Refusal.IDENTITY) and not outcome.by_peer
        if forged:  # whichever side dialled: someone there tried to pass for another key
            self.guard.ban(link.host, self._now)
        address = link.dialed
        if address is None:
            return
        address.dialing = False
        if outcome.code is Refusal.SELF:
            self.book.own.add(address.key)
            self.book.drop(address.key)
        elif forged:
            self.book.drop(address.key)
        elif address.static:
            address.failures = max(address.failures, 8)
            self.book.retry_later(address, self._now)
        else:
            self.book.drop(address.key)

    def _establish(self, link: _Link, hello: Hello, nick: str) -> None:
        peer_id = hello.node_id
        peer = self._peers.get(peer_id)
        old = self._primary(peer)
        if peer is not None and old is not None:
            if old.outbound and link.outbound:
                # We dialled both: the peer accepted both, keeps one and says bye on the other.
                link.peer_id = peer_id
                link.spare_since = self._now
                self._remember_peer_address(link, hello)
                return
            if not self._newer_link_wins(old, link, peer_id):
                self._emit(act.Send((link.conn,), Bye(BYE_DUPLICATE)))
                self._close(link, "duplicate link", flush=True)
                if link.dialed is not None:
                    link.dialed.dialing = False
                    self.book.verify(link.dialed, peer_id)
                return
            self._emit(act.Send((old.conn,), Bye(BYE_DUPLICATE)))
            self._close(old, "duplicate link", flush=True)
        link.peer_id = peer_id
        address = self._remember_peer_address(link, hello)
        if peer is None:
            self._next_heartbeat = max(self._next_heartbeat, self._now + self.limits.ping_interval)
            peer = Peer(
                node_id=peer_id,
                nick=nick,
                conn=link.conn,
                host=link.host,
                listen_port=hello.port,
                since=self._now,
                last_heard=self._now,
                dh=hello.dh,
            )
            self._peers[peer_id] = peer
            self._ever_linked = True
            self._alone_hint_at = None
            addr = format_addr(link.host, hello.port)
            self._vouch(
                peer_id,
                nick,
                then_show=lambda: vw.PeerJoined(
                    peer_id, nick, self.display_name(peer_id, nick), addr
                ),
            )
            self._log(act.INFO, f"link up: {nick}#{peer_id[:SHORT_ID_CHARS]} at {addr}")
        else:
            peer.conn = link.conn
            peer.host = link.host
            peer.listen_port = hello.port
            peer.last_heard = self._now
            peer.switching_until = 0.0
            peer.dh = hello.dh
            if peer.nick != nick:
                self._rename_peer(peer, nick)
        if address is not None:
            address.dialing = False
            address.failures = 0
        self._send_peer_list((link.conn,), exclude=peer)
        self._links_changed()
        peer.sync = sync.LinkSync()
        self._request_sync(peer)
        self.files.on_link_up(peer)

    def _newer_link_wins(self, old: _Link, new: _Link, peer_id: str) -> bool:
        # Both ends keep the link dialled by the smaller node ID. If the peer dialled both, we
        # alone decide: the newer wins (the older is probably a dead socket from before a
        # restart); the peer keeps both until our bye tells it which one we dropped.
        preferred_dialer = min(self.node_id, peer_id)
        old_ok = (self.node_id if old.outbound else peer_id) == preferred_dialer
        new_ok = (self.node_id if new.outbound else peer_id) == preferred_dialer
        return new_ok or not old_ok

    def _remember_peer_address(self, link: _Link, hello: Hello) -> Address | None:
        """Note where the peer listens: proven where we dialled it, else only its claim."""
        return self.book.claimed_by_hello(
            link.host, hello.port, hello.node_id, link.dialed, self._now
        )

    def _send_peer_list(self, conns: tuple[int, ...], exclude: Peer | None = None) -> None:
        """Tell peers whom we link to (one complete list when it fits in a frame)."""
        linked = [p for p in self._peers.values() if p.conn is not None and p is not exclude]
        known = tuple(_peer_address(p) for p in linked)
        size = self.limits.max_gossip_peers
        complete = len(known) <= size
        for start in range(0, max(len(known), 1), size):
            self._emit(act.Send(conns, PeerList(known[start : start + size], complete)))

    def _links_changed(self) -> None:
        """Our set of links changed: announce it to every peer soon (several changes, one list)."""
        if self._announce_links_at is None:
            self._announce_links_at = self._now + self.limits.links_announce_delay
            self._timers_dirty = True

    def _close(self, link: _Link, reason: str, *, flush: bool) -> None:
        self._release(link)
        self._emit(act.Close(link.conn, reason, flush=flush))

    def _release(self, link: _Link) -> None:
        """Forget the link, once: what it carried (transfers) moves to the peer's next link."""
        if self._links.pop(link.conn, None) is None:
            return
        if link.peer_id is not None and link.spare_since is None and not self.closing:
            self.files.on_link_down(link.peer_id, link.conn)

    def _lose_link(self, link: _Link, reason: str, *, expected: bool) -> None:
        """Forget a link that is gone; tell the user if it carried a peer; plan a redial."""
        self._release(link)
        peer = self._peers.get(link.peer_id) if link.peer_id is not None else None
        if link.spare_since is not None:
            return
        if peer is not None and peer.conn == link.conn and self._promote_spare(peer):
            return
        if peer is not None and peer.conn == link.conn:
            if peer.switching_until > self._now:
                peer.conn = None
            else:
                self._forget_peer(peer)
                self._show_left(peer, reason)
                self._log(act.INFO, f"link down: {self._display(peer)}: {reason}")
        if expected and link.peer_id is not None:
            self.book.forget(link.peer_id)
        address = link.dialed
        if peer is not None and peer.listen_port:
            address = self.book.get((link.host, peer.listen_port)) or address
        if address is None or self.book.get(address.key) is None:
            return
        address.dialing = False
        address.last_seen = self._now
        if link.peer_id is None:
            self.book.retry_later(address, self._now)
        else:
            address.failures = 0
            address.next_try = self._now + self.book.backoff(0)
            if not expected:
                self._rediscover(self.limits.rediscover_min_interval)

    def _spares(self) -> list[tuple[_Link, float]]:
        """Links to a peer we dialled twice, kept until the peer says which one it dropped."""
        return [
            (link, since)
            for link in self._links.values()
            if (since := link.spare_since) is not None
        ]

    def _forget_peer(self, peer: Peer) -> None:
        """The peer has left: drop it (its buckets and strikes stay with the guard)."""
        del self._peers[peer.node_id]

    def _promote_spare(self, peer: Peer) -> bool:
        """Move the peer onto its spare link, if it has one; True if it did."""
        for link, _ in self._spares():
            if link.peer_id == peer.node_id:
                link.spare_since = None
                peer.conn = link.conn
                peer.host = link.host
                self.files.resume_from(peer)
                return True
        return False

    # --------------------------------------------------------------- messages

    def _on_peer_message(self, link: _Link, peer: Peer, message: Message) -> None:
        peer.last_heard = self._now
        match message:
            case Chat():
                self.counters["chat_frames_in"] += 1
                self._on_chat(link, message)
            case Direct():
                self._on_direct(link, message)
            case Ping():
                if not self._metered(Meter.PING, peer):
                    self._on_ping(link, peer, message)
            case SyncRequest():
                if not self._metered(Meter.SYNC, peer):
                    answer = sync.answer(self.history, message, self.limits)
                    if self._unsent:
                        self._unsent.difference_update(
                            m.seq for m in answer.messages if m.author == self.node_id
                        )
                    self._emit(act.Send((link.conn,), answer))
                    if sync.they_have_more(self.history, message.versions):
                        self._request_sync(peer)
            case SyncBatch():
                self._on_batch(peer, message)
            case FileOffer():
                if not self._metered(Meter.OFFER, peer):
                    self._file_frame(peer, message)
            case FileRequest():
                if not self._metered(Meter.FETCH, peer):
                    self._file_frame(peer, message)
            case FileEnd() | FileStop():
                self._file_frame(peer, message)
            case Pong():
                if message.nonce == self._ping_nonce:
                    peer.rtt = self._now - self._last_heartbeat
            case PeerList():
                if not self._metered(Meter.GOSSIP, peer):
                    self._on_peer_list(peer, message)
            case NickChange():
                if not self._metered(Meter.NICK, peer):
                    self._rename_peer(peer, message.nick)
            case Bye():
                self._on_bye(link, peer, message)
            case ErrorFrame():
                text = message.text.replace("\n", " ")  # one line, under the peer's name
                self._show(vw.Problem(f"{self._display(peer)} closed the link: {text}"))
                self._close(link, f"peer error: {message.code}", flush=False)
                self._lose_link(link, f"error: {message.code}", expected=False)
            case Hello() | Auth():
                self._protocol_violation(link, f"{type(message).__name__} after handshake")

    def _on_ping(self, link: _Link, peer: Peer, ping: Ping) -> None:
        self._emit(act.Send((link.conn,), Pong(ping.nonce)))
        self._check_clock(peer, ping.wall)
        theirs = f"{ping.digest}{ping.recent}"
        peer.digest = theirs
        ours = self._digests()
        if theirs == ours or peer.sync.settled_at(theirs, ours):
            return
        # Equal histories but different newest contents: two versions of one ID somewhere.
        self._request_sync(peer, recheck=ping.digest == self.history.digest())

    def _digests(self) -> str:
        """Our history digest and recent-contents digest, as a peer's ping would carry them."""
        history = self.history
        return history.digest() + history.recent_digest(self.limits.recent_check_messages)

    def _on_peer_list(self, peer: Peer, peers: PeerList) -> None:
        for entry in peers.peers:
            if entry.port:
                self._learn(((entry.host, entry.port),), entry.node_id, "gossip", peer.node_id)
        if peers.complete:
            peer.links = frozenset(e.node_id for e in peers.peers) | {self.node_id}
        self._dial_due()

    def _on_bye(self, link: _Link, peer: Peer, bye: Bye) -> None:
        if bye.reason == BYE_DUPLICATE:
            self._close(link, "duplicate link", flush=False)
            if peer.conn == link.conn and not self._promote_spare(peer):
                # The peer keeps another link to us: wait for it, do not report a leave.
                peer.switching_until = self._now + self.limits.handshake_timeout
                peer.conn = None
        else:
            self._close(link, f"peer said bye: {bye.reason}", flush=False)
            reason = "quit" if bye.reason == BYE_QUIT else bye.reason
            self._lose_link(link, reason, expected=True)

    def _metered(self, meter: Meter, peer: Peer) -> bool:
        """True if peer has used up its budget of this kind of frame (then it is ignored)."""
        if self.guard.allow(meter, peer.node_id, self._now, peer.host):
            return False
        self._log(act.DEBUG, f"{self._display(peer)} is over its {meter.value} budget")
        return True

    def _protocol_violation(self, link: _Link, reason: str) -> None:
        self._log(act.WARNING, f"closing {format_addr(link.host, link.port)}: {reason}")
        self._emit(
            act.Send((link.conn,), ErrorFrame(RefusalCode.PROTOCOL, reason, PROTOCOL_VERSION))
        )
        self._close(link, reason, flush=True)
        self._lose_link(link, f"protocol error: {reason}", expected=False)

    def _on_chat(self, link: _Link, chat: Chat) -> None:
        peer = self._peers[link.peer_id or ""]
        verdict = self._vet(chat, peer)
        if verdict is not Verdict.NEW:
            if verdict is Verdict.DUPLICATE:
                self.counters["duplicates"] += 1
            return
        if not self._accept(chat):
            return
        self.counters["delivered_live"] += 1
        self._show(self._view(chat, backfill=False))
        if self.history.has_gap(chat.author):
            self._timers_dirty = True
            self._request_sync(self._peers[link.peer_id or ""])
        self._relay(chat, link.peer_id or "")

    def _relay(self, chat: Chat, sender: str) -> None:
        linked = {p.node_id: p for p in self._peers.values() if p.conn is not None}
        neighbours = {node_id: p.links for node_id, p in linked.items()}
        targets = relay_targets(self.node_id, chat.author, sender, neighbours)
        conns = tuple(c for t in targets if (c := linked[t].conn) is not None)
        if conns:
            self.counters["relayed"] += len(conns)
            self._emit(act.Send(conns, chat))

    def _on_direct(self, link: _Link, direct: Direct) -> None:
        peer = self._peers[link.peer_id or ""]
        ours = direct.to == self.node_id
        if direct.author == self.node_id or (ours and direct.msg_id in self._directs):
            return
        target = None if ours else self._peers.get(direct.to)
        if not ours and (target is None or target.conn is None or target.conn == link.conn):
            return  # nobody to pass it to: not worth a signature check
        signed = direct_signing_bytes(direct)
        if not signed_by(self.crypto, direct.author, direct.key, direct.signature, signed):
            self._strike(peer, "a direct message with a bad signature")
            return
        if not self.guard.allow_message(direct.author, peer.node_id, self._now, peer.host):
            return
        if target is not None and target.conn is not None:
            # Passed on, not kept: its recipient takes each ID once.
            self._emit(act.Send((target.conn,), direct))
            return
        verdict = self._directs.judge(direct.msg_id, direct.ts, self._wall)
        if verdict is not DirectVerdict.NEW:
            if verdict is not DirectVerdict.SEEN:
                self._log(act.INFO, f"dropped a direct message: {verdict.value}")
            return
        self._directs.take(direct.msg_id, direct.ts)
        self._emit(act.RememberDirect(direct.msg_id, direct.ts))
        self._open_direct(direct, peer)

    def _open_direct(self, direct: Direct, peer: Peer) -> None:
        plaintext = self.crypto.unseal(direct.ephemeral, direct.box)
        if plaintext is None:
            self._log(
                act.WARNING, f"a direct message from {direct.author[:SHORT_ID_CHARS]} did not open"
            )
            return
        try:
            nick, text = parse_direct_content(plaintext, self.limits)
        except ProtocolError as exc:
            # The box is sealed: only its author can have put this in, and a relay could not
            # tell. Strike the peer only if it is the author.
            if direct.author == peer.node_id:
                self._strike(peer, f"a direct message with bad content: {exc}")
            else:
                self._log(act.INFO, f"a direct message relayed by {self._display(peer)}: {exc}")
            return
        self._vouch(direct.author, nick)
        self._show(
            vw.MessageShown(
                msg_id=direct.msg_id,
                author=direct.author,
                nick=nick,
                display=self.display_name(direct.author, nick),
                text=text,
                ts=direct.ts,
                lamport=self.lamport,
                direct=True,
                own=False,
                to_id=self.node_id,
                to_nick=self.nick,
            )
        )

    def _vet(self, chat: Chat, peer: Peer | None) -> Verdict:
        """Classify a received room message: new (verified), duplicate, throttled or invalid.

        Signatures are checked before anything is marked seen, so a forgery cannot take a real
        message's ID. A copy that differs from the one we hold is checked too: a bad signature
        is the relay's fault (a strike), a good one proves its author signed two versions of
        one ID (equivocation), which is never held against the relay.
        """
        held = self.history.get(chat.author, chat.seq)
        if held is not None:
            if held == chat:
                return Verdict.DUPLICATE
            losing = f"{chat.msg_id}:{chat.signature.hex()}"
            if losing in self._losers:  # a version we already checked and set aside
                return Verdict.DUPLICATE
            if not self._signed(chat):
                self._strike(peer, "an altered copy of a message")
                return Verdict.INVALID
            self._losers.add(losing, self._now)
            self._equivocation(held, chat, peer)
            return Verdict.DUPLICATE
        if chat.author == self.node_id or not self.history.is_new(chat.author, chat.seq, chat.ts):
            return Verdict.DUPLICATE
        if not self._signed(chat):
            self._strike(peer, "a message with a bad signature")
            return Verdict.INVALID
        relay, host = (peer.node_id, peer.host) if peer else (None, None)
        if not self.guard.allow_message(chat.author, relay, self._now, host):
            return Verdict.THROTTLED
        return Verdict.NEW

    def _signed(self, chat: Chat) -> bool:
        signed = chat_signing_bytes(self.room, chat)
        return signed_by(self.crypto, chat.author, chat.key, chat.signature, signed)

    def _equivocation(self, held: Chat, other: Chat, peer: Peer | None) -> None:
        """Its author signed two versions of one ID: everyone keeps the same one, and is told.

        The version with the smaller signature wins everywhere; a node that held the other
        swaps it and passes the winner on, so the room converges on one text per ID.
        """
        winner = min(held, other, key=lambda c: c.signature)
        if winner is other:
            self.history.replace(other)
            self._emit(act.Store(other, replace=True))
        if self._equivocations.add(other.msg_id, self._now):
            self.counters["equivocations"] += 1
            self._show(
                vw.Equivocation(
                    msg_id=winner.msg_id,
                    author=winner.author,
                    display=self.display_name(winner.author, winner.nick),
                    text=winner.text,
                )
            )
            conns = tuple(
                p.conn
                for p in self._peers.values()
                if p.conn is not None and p is not peer and p.node_id != winner.author
            )
            if conns:
                self._emit(act.Send(conns, winner))

    def _file_frame(self, peer: Peer, message: FileMessage) -> None:
        wrong = self.files.on_message(peer, message)
        if wrong:
            self._strike(peer, wrong)

    def _strike(self, peer: Peer | None, what: str) -> None:
        self.counters["rejected"] += 1
        if peer is None:
            return
        self._log(act.WARNING, f"{self._display(peer)} sent {what}")
        if self.guard.strike(peer.node_id, self._now, peer.host) and peer.conn is not None:
            link = self._links.get(peer.conn)
            if link is not None:
                self.guard.ban(link.host, self._now)
                self._show(
                    vw.Problem(f"disconnected {self._display(peer)}: too many invalid messages")
                )
                self._close(link, "too many invalid messages", flush=False)
                self._lose_link(link, "too many invalid messages", expected=True)

    def _vouch(
        self, node_id: str, nick: str, then_show: Callable[[], vw.View] | None = None
    ) -> None:
        """Trust on first use of (nick, key); warn once if the nick is another key's or looks so.

        Every nick a key shows goes through here: in its handshake, a rename, and every
        message or DM it signs, so a message cannot borrow a nick while its owner is away.
        then_show: a view to show once the nick is judged (it names the key as now displayed).
        """
        if node_id == self.node_id:
            if then_show is not None:
                self._show(then_show())
            return
        verdict = self.trust.check(nick, node_id)
        if then_show is not None:
            self._show(then_show())
        if verdict.new:
            self._emit(act.Trust(nick, node_id))
        if verdict.unremembered and not self._told_trust_full:
            self._told_trust_full = True
            self._show(
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
        self._show(
            vw.Problem(
                f"WARNING: {display} uses the nick {nick!r} with key {short}, {because}: "
                f"this may be someone else (/whois {nick})"
            )
        )

    def _whois(self, target: str) -> None:
        nick, _, prefix = target.partition("#")
        matches = [
            p for p in self._peers.values() if p.nick == nick and p.node_id.startswith(prefix)
        ]
        first = self.trust.first_seen(nick)
        if not matches and first is None:
            self._show(vw.Problem(f"nobody called {target} is connected or known"))
            return
        rows = [(p.node_id, p.nick, True) for p in matches]
        if first is not None and first not in {p.node_id for p in matches}:
            rows.append((first, nick, False))
        for node_id, name, online in rows:
            self._show(
                vw.Whois(
                    nick=name,
                    node_id=node_id,
                    fingerprint=fingerprint(node_id),
                    online=online,
                    first_seen=first == node_id,
                )
            )

    def _accept(self, chat: Chat) -> bool:
        """Hold and store a message if it is new; False if it was seen before."""
        if chat.author == self.node_id and chat.seq <= self.seq:
            return False
        if not self.history.add(chat, self._now, self._wall):
            return False
        self._raise_clock(chat.lamport)
        self._emit(act.Store(chat))
        self._vouch(chat.author, chat.nick)
        return True

    def _raise_clock(self, lamport: int) -> None:
        # A message raises our clock by at most max_lamport_leap: a forged huge clock cannot
        # pin the room's order (honest clocks never leap that far), and it saturates anyway.
        leap = min(lamport, self.lamport + self.limits.max_lamport_leap)
        self.lamport = min(max(self.lamport, leap), MAX_LAMPORT)

    def _view(
        self, chat: Chat, *, backfill: bool = False, restored: bool = False
    ) -> vw.MessageShown:
        return vw.MessageShown(
            msg_id=chat.msg_id,
            author=chat.author,
            nick=chat.nick,
            display=self.display_name(chat.author, chat.nick),
            text=chat.text,
            ts=chat.ts,
            lamport=chat.lamport,
            direct=False,
            own=chat.author == self.node_id,
            backfill=backfill,
            restored=restored,
        )

    def _request_sync(self, peer: Peer, *, recheck: bool = False) -> None:
        """Ask peer for what we lack, when a sync slot is free and it is peer's turn.

        A few syncs at a time: asking every peer at once would fetch the same backlog N times.
        Peers that find the slots taken wait in line, so two peers that keep answering just in
        time cannot keep the slots to themselves.
        """
        if peer.conn is None or not peer.sync.may_request(self._now, self.limits):
            return
        waiting = self._sync_waiting
        waiting[peer.node_id] = waiting.get(peer.node_id, False) or recheck
        self._sync_next()

    def _sync_slot_free(self) -> bool:
        busy = sum(1 for p in self._peers.values() if p.sync.busy(self._now, self.limits))
        return busy < self.limits.max_parallel_syncs

    def _start_sync(self, peer: Peer, *, recheck: bool) -> None:
        assert peer.conn is not None
        self._timers_dirty = True
        peer.sync.requested(self._now)
        request = sync.request(self.history, self.limits, recheck=recheck)
        self._emit(act.Send((peer.conn,), request))

    def _sync_next(self) -> None:
        """A sync slot may be free: give it to the peers waiting in line, oldest first."""
        for node_id, recheck in list(self._sync_waiting.items()):
            if not self._sync_slot_free():
                return
            peer = self._peers.get(node_id)
            if peer is None or peer.conn is None:
                del self._sync_waiting[node_id]
            elif peer.sync.may_request(self._now, self.limits):
                del self._sync_waiting[node_id]
                self._start_sync(peer, recheck=recheck)

    def _on_batch(self, peer: Peer, batch: SyncBatch) -> None:
        # Only an answer to our own request counts: an unasked batch changes nothing.
        if peer.sync.pending_since is None:
            self._log(act.INFO, f"{self._display(peer)} sent a batch we did not ask for")
            return
        shown: dict[str, int] = {}
        throttled = False
        before = peer.sync.received
        for chat in batch.messages:
            verdict = self._vet(chat, peer)
            if verdict is Verdict.THROTTLED:
                # Metered like live messages: stop here and ask for the rest in a later round
                # (the next digest mismatch), instead of dropping and fetching it again now.
                throttled = True
                break
            if verdict is Verdict.NEW and self._accept(chat):
                self.counters["delivered_backfill"] += 1
                peer.sync.received += 1
                self._show(self._view(chat, backfill=True))
            if self.history.get(chat.author, chat.seq) == chat:  # its signature was checked
                shown[chat.author] = max(shown.get(chat.author, 0), chat.seq)
        for author, floor in batch.floors.items():
            if author != self.node_id:
                self.history.accept_floor(author, floor, shown.get(author, 0), self._now)
        brought = peer.sync.received - before
        more = batch.more and peer.sync.may_continue(self._now, self.limits, brought=brought)
        if more and not throttled and peer.conn is not None:
            peer.sync.requested(self._now)
            self._emit(act.Send((peer.conn,), sync.request(self.history, self.limits)))
            return
        count = peer.sync.finished(peer.digest, self._digests(), settled=not throttled)
        if count:
            plural = "message" if count == 1 else "messages"
            self._show(vw.Notice(f"{count} {plural} you missed arrived via {self._display(peer)}"))
        self._sync_next()

    def _check_clock(self, peer: Peer, their_wall: float) -> None:
        peer.clock_offset = their_wall - self._wall
        limit = self.limits.clock_skew_warning
        if abs(peer.clock_offset) > limit and not peer.clock_flagged:
            peer.clock_flagged = True
            self._show(
                vw.Notice(
                    f"{self._display(peer)}'s clock is {peer.clock_offset:+.0f} s off ours "
                    "(message order is not affected)"
                )
            )

    def _on_started(self, event: ev.Started) -> None:
        """Say who we are (and why on another port, if so), then show the stored history."""
        private = bool(self.room_tag)
        ready = vw.Ready(self.node_id, self.nick, self.room, self.listen_port, event.mdns)
        self._show(replace(ready, private=private))
        self._alone_hint_at = self._now + self.limits.alone_hint_seconds
        self._timers_dirty = True
        if event.port_taken:
            where = f"HOST:{self.listen_port}"
            self._show(vw.Notice(f"{event.port_taken}: others find us by discovery, or as {where}"))
        self._replay_history()

    def _show_invite(self, addresses: tuple[str, ...]) -> None:
        """An invite code with the addresses transport found for us, or why there is none."""
        usable = tuple(a for a in addresses if ":" not in a)[:MAX_INVITE_ADDRESSES]
        if not usable:
            self._show(vw.Problem("no IPv4 address to invite others to: is the network up?"))
            return
        invite = Invite(usable, self.listen_port, self.room, self.room_tag or None)
        addrs = tuple(format_addr(a, self.listen_port) for a in usable)
        self._show(vw.InviteCode(encode_invite(invite), addrs, self.room))

    def _alone_hint(self) -> str:
        """What to do when nobody was found: one line, the likely causes first."""
        seconds = f"{self.limits.alone_hint_seconds:g}"
        passphrase = " and passphrase" if self.room_tag else ""
        return (
            f"nobody found in room {self.room!r} after {seconds} s: check that the others use "
            f"the same room name{passphrase}; `p2pchat doctor` in another terminal tells why; "
            "or a member types /invite and you start `p2pchat --join CODE`, or type /connect "
            "HOST (HOST:PORT if their port is not the default), or start with --scan"
        )

    def _replay_history(self) -> None:
        total = len(self.history)
        count = total if self.replay_on_start is None else min(total, self.replay_on_start)
        if count < total:
            self._show(
                vw.Notice(f"{total - count} older messages in history; /history N shows more")
            )
        for chat in self.history.last(count):
            self._show(self._view(chat, restored=True))
        if count:
            self._show(vw.HistoryEnd(count))

    def _rename_peer(self, peer: Peer, nick: str) -> None:
        if nick == peer.nick:
            return
        old, shown_as = peer.nick, self._display(peer)
        peer.nick = nick
        self._vouch(
            peer.node_id,
            nick,
            then_show=lambda: vw.NickChanged(
                peer.node_id,
                old,
                nick,
                own=False,
                display=shown_as,
                new_display=self._display(peer),
            ),
        )

    # ------------------------------------------------------------ user intent

    def _send_chat(self, text: str) -> None:
        if not self._text_ok(text):
            return
        self.seq += 1
        # Saturates instead of overflowing: one forged huge clock must not stop the room.
        self.lamport = min(self.lamport + 1, MAX_LAMPORT)
        unsigned = Chat(self.node_id, self.seq, self.lamport, self._wall, self.nick, text)
        unsigned = with_fields(unsigned, key=self.crypto.public_key)
        signature = self.crypto.sign(chat_signing_bytes(self.room, unsigned))
        chat = with_fields(unsigned, signature=signature)
        self.counters["sent"] += 1
        self.history.add(chat, self._now)
        # Stored (with its seq) before it leaves, so a restart never reuses the seq.
        self._emit(act.Store(chat))
        self._show(self._view(chat, backfill=False))
        conns = tuple(p.conn for p in self._peers.values() if p.conn is not None)
        if conns:
            self._emit(act.Send(conns, chat))
        elif len(self._unsent) < self.limits.history_messages:
            self._unsent.add(chat.seq)  # reaches the room when a peer syncs with us

    def _send_direct(self, target: str, text: str) -> None:
        if not self._text_ok(text):
            return
        peer = self._resolve(target)
        if peer is None or peer.conn is None:
            return
        if not peer.dh:
            self._show(vw.Problem(f"{self._display(peer)} has no key for direct messages"))
            return
        nonce = self.random_id()
        ephemeral, box = self.crypto.seal(peer.dh, direct_content(self.nick, text))
        unsigned = Direct(
            self.node_id,
            peer.node_id,
            nonce,
            self._wall,
            self.crypto.public_key,
            ephemeral,
            box,
            b"",
        )
        direct = with_fields(unsigned, signature=self.crypto.sign(direct_signing_bytes(unsigned)))
        self._show(
            vw.MessageShown(
                msg_id=direct.msg_id,
                author=self.node_id,
                nick=self.nick,
                display=self.display_name(self.node_id, self.nick),
                text=text,
                ts=direct.ts,
                lamport=self.lamport,
                direct=True,
                own=True,
                to_id=peer.node_id,
                to_nick=self._display(peer),
            )
        )
        self._emit(act.Send((peer.conn,), direct))

    def _resolve(self, target: str) -> Peer | None:
        return self.members.resolve(target)

    def _text_ok(self, text: str) -> bool:
        if not text:
            return False
        if len(text) > self.limits.max_text_chars:
            self._show(vw.Problem(f"message too long ({len(text)} > {self.limits.max_text_chars})"))
            return False
        return True

    def _change_nick(self, typed: str) -> None:
        nick = normal_nick(typed)
        problem = nick_problem(nick, self.limits)
        if problem is not None:
            self._show(vw.Problem(f"cannot use nick {nick!r}: {problem}"))
            return
        if nick == self.nick:
            return
        old, self.nick = self.nick, nick
        conns = tuple(p.conn for p in self._peers.values() if p.conn is not None)
        if conns:
            self._emit(act.Send(conns, NickChange(nick)))
        self._emit(act.Announce(nick))
        self._show(vw.NickChanged(self.node_id, old, nick, own=True, display=old, new_display=nick))
        taken = [p for p in self._peers.values() if p.nick == nick]
        if taken:
            self._show(
                vw.Problem(
                    f"{self._display(taken[0])} here already goes by {nick!r}: others see you as "
                    f"{nick}#{self.node_id[:SHORT_ID_CHARS]}"
                )
            )

    def _peer_rows(self) -> tuple[vw.PeerRow, ...]:
        rows = [
            vw.PeerRow(
                node_id=p.node_id,
                nick=p.nick,
                display=self._display(p),
                addr=format_addr(p.host, p.listen_port),
                connected_for=self._now - p.since,
                rtt=p.rtt,
                clock_offset=p.clock_offset,
            )
            for p in self._peers.values()
            if p.conn is not None
        ]
        return tuple(sorted(rows, key=lambda r: (r.nick.lower(), r.node_id)))

    def _shutdown(self) -> None:
        if self.closing:
            return
        self.closing = True
        conns = tuple(p.conn for p in self._peers.values() if p.conn is not None)
        if conns:
            self._emit(act.Send(conns, Bye(BYE_QUIT)))
        for link in list(self._links.values()):
            self._close(link, "shutting down", flush=True)
        self._peers.clear()

    # -------------------------------------------------------------- discovery

    def _on_discovered(self, event: ev.PeerDiscovered) -> None:
        if event.node_id == self.node_id:
            self.book.own.update(event.addresses)
            return
        self._learn(event.addresses, event.node_id, event.source)
        if event.source == "user" and event.node_id is None:
            for host, port in event.addresses:
                address = self.book.get((host, port))
                if address is not None and address.node_id in self._peers:
                    self._show(vw.Notice(f"already connected to {format_addr(host, port)}"))
        self._dial_due()

    def _learn(
        self,
        addresses: tuple[tuple[str, int], ...],
        node_id: str | None,
        source: Source,
        reporter: str | None = None,
    ) -> None:
        """Note addresses someone may listen at; node_id is only a claim until a handshake."""
        if node_id == self.node_id:
            return
        if not self.book.learn(addresses, node_id, source, self._now, reporter):
            self._log(act.WARNING, "address book full; ignoring new addresses")

    def _on_network_changed(self) -> None:
        """Addresses that failed while we had no (or another) network are worth a try now,
        not after their backoff; and links that did not survive the change are found sooner."""
        self.book.retry_all_now(self._now)
        self._next_heartbeat = self._now
        self._log(act.INFO, "network changed: dialling the known addresses again")
        self._dial_due()

    def _on_withdrawn(self, event: ev.PeerWithdrawn) -> None:
        if event.node_id not in self._peers:
            self.book.forget(event.node_id, hints=True)
        self._log(act.INFO, f"mDNS withdrew {event.node_id[:SHORT_ID_CHARS]}")

    # ----------------------------------------------------------------- timers

    def _run_timers(self) -> None:
        now = self._now
        limits = self.limits
        self.history.expire(now, self._wall)
        if self._alone_hint_at is not None and now >= self._alone_hint_at:
            self._alone_hint_at = None
            self._show(vw.Notice(self._alone_hint()))
        for link in self._unestablished():
            if link.handshake.expired(now):
                self._close(link, "handshake timed out", flush=False)
                self._lose_link(link, "handshake timed out", expected=False)
        for peer in list(self._peers.values()):
            if peer.conn is None and peer.switching_until <= now:
                self._forget_peer(peer)
                self._show_left(peer, "lost")
            elif peer.sync.expire(now, limits):
                self._log(act.INFO, f"sync with {self._display(peer)} timed out")
                self._sync_next()
        if now >= self._next_heartbeat:
            self._heartbeat()
        if self._announce_links_at is not None and now >= self._announce_links_at:
            self._announce_links_at = None
            conns = tuple(p.conn for p in self._peers.values() if p.conn is not None)
            if conns:
                self._send_peer_list(conns)
        self.book.expire(now, self._peers)
        for link, since in self._spares():
            if now >= since + limits.handshake_timeout:
                self._close(link, "spare link not chosen", flush=False)
        self._dial_due()
        if self.book.waiting(self._peers):
            self._rediscover(limits.rediscover_retry_interval)

    def _heartbeat(self) -> None:
        """Drop peers silent for too long; ping the rest, all with one frame."""
        now = self._now
        if self._sync_waiting:
            self._sync_next()
        self._next_heartbeat = now + self.limits.ping_interval
        for peer in list(self._peers.values()):
            link = self._primary(peer)
            if link is not None and now >= peer.last_heard + self.limits.peer_timeout:
                self._close(link, "timed out", flush=False)
                self._lose_link(link, "timed out", expected=False)
        conns = tuple(p.conn for p in self._peers.values() if p.conn is not None)
        if conns:
            self._ping_nonce = (self._ping_nonce + 1) % MAX_NONCE
            self._last_heartbeat = now
            recent = self.history.recent_digest(self.limits.recent_check_messages)
            ping = Ping(self._ping_nonce, self.history.digest(), self._wall, recent)
            self._emit(act.Send(conns, ping))

    def _dial_due(self) -> None:
        if self.closing:
            return
        # Dials to silent ports hold their slot until the handshake deadline: bounded apart
        # from the inbound slots, so gossip cannot make us lock ourselves out.
        room = self.limits.max_pending_dials - self.pending_dials
        for address in self.book.due(self._now, self._peers, room):
            self._emit(act.Dial(address.host, address.port))

    def _rediscover(self, min_interval: float) -> None:
        last = self._last_rediscover
        if last is None or self._now >= last + min_interval:
            self._last_rediscover = self._now
            self._emit(act.Rediscover())

    # ---------------------------------------------------------------- helpers

    def _primary(self, peer: Peer | None) -> _Link | None:
        """The peer's link, if it has one (check_invariants: it is always held)."""
        if peer is None or peer.conn is None:
            return None
        return self._links.get(peer.conn)

    def _unestablished(self) -> list[_Link]:
        return [link for link in self._links.values() if link.peer_id is None]

    def _show_left(self, peer: Peer, reason: str) -> None:
        self._links_changed()
        addr = format_addr(peer.host, peer.listen_port)
        self._show(vw.PeerLeft(peer.node_id, peer.nick, self._display(peer), reason, addr))

    def _display(self, peer: Peer) -> str:
        return self.display_name(peer.node_id, peer.nick)

    def _emit(self, action: act.Action) -> None:
        self.outbox.emit(action)

    def _show(self, view: vw.View) -> None:
        self.outbox.show(view)

    def _log(self, level: int, text: str) -> None:
        self.outbox.log(level, text)


@dataclass(eq=False, slots=True)
class _Link:
    conn: int
    outbound: bool
    host: str
    port: int
    handshake: Handshake
    dialed: Address | None
    peer_id: str | None = None
    spare_since: float | None = None


def _peer_address(peer: Peer) -> PeerAddress:
    return PeerAddress(peer.node_id, peer.host, peer.listen_port)
