"""Catching up: when to ask a peer for what we lack, a few at a time, and taking its answer."""

from __future__ import annotations

from collections import OrderedDict

from p2pchat.core import actions as act
from p2pchat.core import sync
from p2pchat.core import views as vw
from p2pchat.core.context import Context
from p2pchat.core.errors import InvariantError
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import NO_DIGEST, SyncBatch, SyncRequest
from p2pchat.core.names import Names
from p2pchat.core.room import Room, Verdict
from p2pchat.core.timers import Timer, TimerKind


class RoomSync:
    """Sync sessions with peers: digests compared on each ping and pong, requests queued for a few
    slots, batches vetted like live messages, answers to peers' requests."""

    def __init__(self, ctx: Context, members: Members, names: Names, room: Room) -> None:
        self._ctx = ctx
        self._members = members
        self._names = names
        self._room = room
        self._history = room.history
        self._waiting: OrderedDict[str, bool] = OrderedDict()  # peer -> recheck

    def linked(self, peer: Peer) -> None:
        """peer has a new link: a new sync session with it, starting with a request."""
        peer.sync = sync.LinkSync()
        self.request(peer)

    def request(self, peer: Peer, *, recheck: bool = False) -> None:
        """Ask peer for what we lack, when a sync slot is free and it is peer's turn.

        A few syncs at a time: asking every peer at once would fetch the same backlog N times.
        Peers that find the slots taken wait in line, so two peers that keep answering just in
        time cannot keep the slots to themselves.
        """
        if peer.conn is None or not peer.sync.may_request(self._ctx.now, self._ctx.limits):
            return
        waiting = self._waiting
        waiting[peer.node_id] = waiting.get(peer.node_id, False) or recheck
        self.next()

    def next(self) -> None:
        """A sync slot may be free: give it to the peers waiting in line, oldest first."""
        ctx = self._ctx
        for node_id, recheck in list(self._waiting.items()):
            if not self._slot_free():
                return
            peer = self._members.peers.get(node_id)
            if peer is None or peer.conn is None:
                del self._waiting[node_id]
            elif peer.sync.may_request(ctx.now, ctx.limits):
                del self._waiting[node_id]
                self._start(peer, recheck=recheck)

    def digests_heard(self, peer: Peer, digest: str, recent: str) -> None:
        """A peer's ping or pong carries its digests: a mismatch starts a sync (or a recheck)."""
        if digest == NO_DIGEST:
            return  # a pong from a peer that sends none
        theirs = f"{digest}{recent}"
        peer.digest = theirs
        ours = self.digests()
        if theirs == ours or peer.sync.settled_at(theirs, ours):
            return
        # Equal histories but different newest contents: two versions of one ID somewhere.
        self.request(peer, recheck=digest == self._history.digest())

    def digest_pair(self) -> tuple[str, str]:
        """Our history digest and recent-contents digest, as a ping or pong carries them."""
        return self._history.digest(), self.recent_digest()

    def digests(self) -> str:
        """Our history digest and recent-contents digest, as a peer's ping would carry them."""
        history = self._history
        return history.digest() + self.recent_digest()

    def recent_digest(self) -> str:
        """The digest of our newest messages' contents."""
        return self._history.recent_digest(self._ctx.limits.recent_check_messages)

    def answer(self, peer: Peer, conn: int, asked: SyncRequest) -> None:
        """peer asks on conn for what it lacks: send one batch; ask back if it has more."""
        ctx = self._ctx
        self._room.check_unchecked()  # we vouch for what we serve: nothing unchecked goes out
        answer = sync.answer(self._history, asked, ctx.limits)
        unsent = self._room.unsent
        if unsent:
            unsent.difference_update(m.seq for m in answer.messages if m.author == ctx.node_id)
        ctx.emit(act.Send((conn,), answer))
        if sync.they_have_more(self._history, asked.versions):
            self.request(peer)

    def batch(self, peer: Peer, batch: SyncBatch) -> None:
        """A batch answering our request: vet and accept each message like a live one."""
        ctx = self._ctx
        room = self._room
        # Only an answer to our own request counts: an unasked batch changes nothing.
        if peer.sync.pending_since is None:
            ctx.log(act.INFO, f"{self._names.of(peer)} sent a batch we did not ask for")
            return
        shown: dict[str, int] = {}
        throttled = False
        before = peer.sync.received
        for chat in batch.messages:
            verdict = room.vet(chat, peer)
            if verdict is Verdict.THROTTLED:
                # Metered like live messages: stop here and ask for the rest in a later round
                # (the next digest mismatch), instead of dropping and fetching it again now.
                throttled = True
                break
            if verdict is Verdict.NEW and room.accept(chat):
                ctx.counters["delivered_backfill"] += 1
                peer.sync.received += 1
                room.show(chat, backfill=True)
            if self._history.get(chat.author, chat.seq) == chat:  # its signature was checked
                shown[chat.author] = max(shown.get(chat.author, 0), chat.seq)
        for author, floor in batch.floors.items():
            if author != ctx.node_id:
                self._history.accept_floor(author, floor, shown.get(author, 0), ctx.now)
        room.arm_gap_timer()
        brought = peer.sync.received - before
        if brought and peer.sync.window:
            self._history.started_from_window()  # older messages were left out on purpose
        more = batch.more and peer.sync.may_continue(ctx.now, ctx.limits, brought=brought)
        if more and not throttled and peer.conn is not None:
            self._requested(peer)
            ctx.emit(act.Send((peer.conn,), sync.request(self._history, ctx.limits)))
            return
        count = peer.sync.finished(peer.digest, self.digests(), settled=not throttled)
        if count:
            plural = "message" if count == 1 else "messages"
            ctx.show(vw.Notice(f"{count} {plural} you missed arrived via {self._names.of(peer)}"))
        self.next()

    def timeout_due(self, peer_id: str) -> None:
        """A request to peer_id may have gone unanswered for too long: give its slot away."""
        peer = self._members.peers.get(peer_id)
        if peer is not None and peer.sync.expire(self._ctx.now, self._ctx.limits):
            self._ctx.log(act.INFO, f"sync with {self._names.of(peer)} timed out")
            self.next()
        elif peer is not None:
            self._arm_timeout(peer)

    def check_invariants(self) -> None:
        """Raise InvariantError unless each request under way has its timeout set."""
        for peer in self._members.peers.values():
            if peer.sync.pending_since is None or peer.conn is None:
                continue
            due = peer.sync.timeout_at(self._ctx.limits)
            when = self._ctx.timers.when(Timer(TimerKind.SYNC, peer.node_id))
            if due is not None and (when is None or when > due):
                raise InvariantError(f"sync: no timeout set for the request to {peer.node_id}")

    def _slot_free(self) -> bool:
        ctx = self._ctx
        peers = self._members.peers.values()
        busy = sum(1 for p in peers if p.sync.busy(ctx.now, ctx.limits))
        return busy < ctx.limits.max_parallel_syncs

    def _start(self, peer: Peer, *, recheck: bool) -> None:
        assert peer.conn is not None
        self._requested(peer)
        request = sync.request(self._history, self._ctx.limits, recheck=recheck)
        peer.sync.window = not request.versions and not request.horizon
        self._ctx.emit(act.Send((peer.conn,), request))

    def _requested(self, peer: Peer) -> None:
        peer.sync.requested(self._ctx.now)
        self._arm_timeout(peer)

    def _arm_timeout(self, peer: Peer) -> None:
        due = peer.sync.timeout_at(self._ctx.limits)
        if due is not None:
            self._ctx.timers.schedule(Timer(TimerKind.SYNC, peer.node_id), due)
