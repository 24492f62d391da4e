"""The file desk: what happens to offers, requests and transfers (pure, one thread).

It is given what it needs: its host node (who we are, our keys, the time), the members
directory and the outbox. The mesh forwards the events and frames that concern files, tells it
when links come and go, and strikes a peer whose frame the desk finds to be misbehaviour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import filerecords
from p2pchat.core import views as vw
from p2pchat.core.crypto import Crypto, offer_signing_bytes, signed_by
from p2pchat.core.files import (
    ACTIVE,
    FINISHED,
    Incoming,
    Outgoing,
    TransferState,
    human_size,
)
from p2pchat.core.limits import SHORT_ID_CHARS, Limits
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import (
    FileEnd,
    FileOffer,
    FileRequest,
    FileStop,
    with_fields,
)
from p2pchat.core.outbox import Outbox

FileEvent = (
    ev.OfferFile
    | ev.AcceptFile
    | ev.DeclineFile
    | ev.CancelTransfer
    | ev.ShowTransfers
    | ev.ReceiveReady
    | ev.TransferProgress
    | ev.ServeFinished
    | ev.ReceiveFinished
)
FileMessage = FileOffer | FileRequest | FileEnd | FileStop
MAX_LISTED_OFFERS = 5  # offers named when a bare /accept is ambiguous
WITHDRAWN_REASON = "withdrawn by the sender"


Misbehaviour = str  # what a peer sent that it must not have (for its strike); "" if nothing


class DeskHost(Protocol):
    """What the desk reads of the node it belongs to."""

    @property
    def node_id(self) -> str: ...
    @property
    def nick(self) -> str: ...
    @property
    def room(self) -> str: ...
    @property
    def crypto(self) -> Crypto: ...
    @property
    def limits(self) -> Limits: ...
    @property
    def wall(self) -> float: ...
    def random_id(self) -> str: ...


class FileDesk:
    """Offers made by us (outgoing) and to us (incoming), and their transfers."""

    def __init__(self, host: DeskHost, outbox: Outbox, members: Members) -> None:
        self._host = host
        self._outbox = outbox
        self._members = members
        self.incoming: dict[str, Incoming] = {}
        self.outgoing: dict[str, Outgoing] = {}
        self.waiting: dict[tuple[str, str], int] = {}  # (peer, offer) -> offset, oldest first

    # --------------------------------------------------------------- restore

    def restore(self, saved: Iterable[Mapping[str, object]]) -> None:
        """Load saved offers (see filerecords.restore); bad records are skipped."""
        self.outgoing, self.incoming = filerecords.restore(saved, self._host.limits)

    # --------------------------------------------------------------- dispatch

    def handle(self, event: FileEvent) -> None:
        """An event about files, from the user or the runtime."""
        match event:
            case ev.OfferFile():
                self.offer(event)
            case ev.AcceptFile():
                self.accept(event.offer_id)
            case ev.DeclineFile():
                self.decline(event.offer_id)
            case ev.CancelTransfer():
                self.cancel(event.offer_id)
            case ev.ShowTransfers():
                self.show_table()
            case ev.ReceiveReady():
                self.on_ready(event)
            case ev.TransferProgress():
                self.on_progress(event)
            case ev.ServeFinished():
                self.on_served(event)
            case ev.ReceiveFinished():
                self.on_received(event)
        if self.waiting:
            self._serve_waiting()

    def on_message(self, peer: Peer, message: FileMessage) -> Misbehaviour:
        """A file frame from a linked peer; what it did wrong, if anything ("" if not)."""
        wrong = ""
        match message:
            case FileOffer():
                wrong = self.on_offer(peer, message)
            case FileRequest():
                self.on_request(peer, message)
            case FileEnd():
                self.on_end(peer, message)
            case FileStop():
                self.on_stop(peer, message)
        if self.waiting:
            self._serve_waiting()
        return wrong

    # ------------------------------------------------------------- user intent

    def offer(self, event: ev.OfferFile) -> None:
        host = self._host
        to = ""
        targets: list[Peer]
        if event.target is not None:
            peer = self._members.resolve(event.target)
            if peer is None:
                return
            to, targets = peer.node_id, [peer]
        else:
            targets = [p for p in self._members.peers.values() if p.conn is not None]
        offer_id = host.random_id()
        unsigned = FileOffer(
            offer_id,
            host.node_id,
            to,
            event.name,
            event.size,
            event.blake3,
            host.wall,
            host.crypto.public_key,
            b"",
        )
        signed = host.crypto.sign(offer_signing_bytes(host.room, unsigned))
        offer = with_fields(unsigned, signature=signed)
        self.outgoing[offer_id] = Outgoing(offer, event.path, event.mtime_ns)
        self._save()
        to_nick = targets[0].nick if to else None
        self._outbox.show(
            vw.FileOffered(
                offer_id, host.node_id, host.nick, offer.name, offer.size, bool(to), True, to_nick
            )
        )
        conns = tuple(p.conn for p in targets if p.conn is not None)
        if conns:
            self._outbox.emit(act.Send(conns, offer))

    def accept(self, offer_id: str) -> None:
        incoming = self._incoming(offer_id)
        if incoming is None:
            return
        if incoming.state in ACTIVE or incoming.state == TransferState.DONE:
            self._outbox.show(vw.Notice(f"{incoming.name} is already {incoming.state}"))
            return
        incoming.state = TransferState.ACCEPTED
        self._save()
        self._start_receive(incoming)

    def decline(self, offer_id: str) -> None:
        incoming = self._incoming(offer_id)
        if incoming is not None and incoming.state == TransferState.OFFERED:
            incoming.state = TransferState.DECLINED
            self._save()
            self._outbox.show(vw.Notice(f"declined {incoming.name} from {incoming.nick}"))

    def cancel(self, prefix: str) -> None:
        offer_id = self._lookup(prefix, [*self.incoming, *self.outgoing])
        if offer_id is None:
            return
        incoming = self.incoming.get(offer_id)
        if incoming is not None and incoming.state in ACTIVE:
            if incoming.conn is not None:
                self._outbox.emit(act.Send((incoming.conn,), FileStop(offer_id, "cancelled")))
            self._fail(incoming, "cancelled", delete=True)
            return
        outgoing = self.outgoing.pop(offer_id, None)
        if outgoing is not None:
            for peer_id, conn in outgoing.serving.items():
                self._outbox.emit(act.StopServe(conn, offer_id))
                nick = self._members.short_name(peer_id)
                self._outbox.show(
                    vw.FileFailed(offer_id, outgoing.offer.name, "cancelled", True, nick)
                )
            # Everyone it was offered to hears of it, so nobody keeps an /accept that fails.
            to = outgoing.offer.to
            conns = tuple(
                p.conn
                for p in self._members.peers.values()
                if p.conn is not None and to in ("", p.node_id)
            )
            if conns:
                self._outbox.emit(act.Send(conns, FileStop(offer_id, WITHDRAWN_REASON)))
            self.waiting = {k: v for k, v in self.waiting.items() if k[1] != offer_id}
            self._save()
            self._outbox.show(vw.Notice(f"stopped offering {outgoing.offer.name}"))
            return
        self._outbox.show(vw.Problem(f"{offer_id} is not active; nothing to cancel"))

    def show_table(self) -> None:
        rows = [
            vw.TransferRow(
                i.offer.offer_id, i.name, i.offer.size, i.received, i.state, False, i.nick
            )
            for i in self.incoming.values()
        ]
        for o in self.outgoing.values():
            state = TransferState.SERVING if o.serving else TransferState.SHARED
            peers = ", ".join(self._members.short_name(p) for p in o.serving) or (
                "room" if not o.offer.to else self._members.short_name(o.offer.to)
            )
            done = max(o.sent.values(), default=0)
            rows.append(
                vw.TransferRow(
                    o.offer.offer_id, o.offer.name, o.offer.size, done, state, True, peers
                )
            )
        self._outbox.show(vw.TransferTable(tuple(rows)))

    # ----------------------------------------------------------- from peers

    def on_offer(self, peer: Peer, offer: FileOffer) -> Misbehaviour:
        host = self._host
        if offer.offer_id in self.incoming:
            return ""
        if offer.author != peer.node_id:
            # Offers are never relayed: only their author sends them, to the peers it links to.
            return "a file offer in someone else's name"
        signed = offer_signing_bytes(host.room, offer)
        if not signed_by(host.crypto, offer.author, offer.key, offer.signature, signed):
            return "a file offer with a bad signature"
        if offer.to not in ("", host.node_id) or not self._room_for_one_more(offer.author):
            return ""
        nick = self._members.short_name(offer.author)
        incoming = Incoming(offer, nick)
        self.incoming[offer.offer_id] = incoming
        self._outbox.show(
            vw.FileOffered(
                offer.offer_id,
                offer.author,
                nick,
                incoming.name,
                offer.size,
                bool(offer.to),
                False,
                host.nick if offer.to else None,
            )
        )
        return ""

    def on_request(self, peer: Peer, request: FileRequest) -> None:
        outgoing = self.outgoing.get(request.offer_id)
        conn = peer.conn
        if conn is None:
            return
        if outgoing is None or outgoing.offer.to not in ("", peer.node_id):
            self._outbox.emit(act.Send((conn,), FileStop(request.offer_id, "no such offer")))
            return
        if request.offset > outgoing.offer.size:
            self._outbox.emit(
                act.Send((conn,), FileStop(request.offer_id, "offset beyond the end"))
            )
            return
        outgoing.finished.discard(peer.node_id)
        previous = outgoing.serving.pop(peer.node_id, None)
        if previous is not None:  # a new fetch replaces the stream in progress
            self._outbox.emit(act.StopServe(previous, request.offer_id))
        self.waiting.pop((peer.node_id, request.offer_id), None)
        if self._may_serve(peer.node_id):
            self._serve(outgoing, peer.node_id, conn, request.offset)
        else:
            # Each stream is a thread and a share of the link: a few at a time, the rest wait.
            self.waiting[(peer.node_id, request.offer_id)] = request.offset

    def _may_serve(self, peer_id: str) -> bool:
        limits = self._host.limits
        streams = [p for o in self.outgoing.values() for p in o.serving]
        return len(streams) < limits.max_serves and (
            streams.count(peer_id) < limits.max_serves_per_peer
        )

    def _serve(self, outgoing: Outgoing, peer_id: str, conn: int, offset: int) -> None:
        outgoing.serving[peer_id] = conn
        offer = outgoing.offer
        self._outbox.emit(
            act.ServeFile(
                conn, peer_id, offer.offer_id, outgoing.path, offset, offer.size, outgoing.mtime_ns
            )
        )

    def _serve_waiting(self) -> None:
        """Start waiting fetches, oldest first, as far as the stream limits allow."""
        for peer_id, offer_id in list(self.waiting):
            outgoing = self.outgoing.get(offer_id)
            peer = self._members.peers.get(peer_id)
            if outgoing is None or peer is None or peer.conn is None:
                del self.waiting[(peer_id, offer_id)]
            elif self._may_serve(peer_id):
                offset = self.waiting.pop((peer_id, offer_id))
                self._serve(outgoing, peer_id, peer.conn, offset)

    def on_end(self, peer: Peer, end: FileEnd) -> None:
        incoming = self.incoming.get(end.offer_id)
        if (
            incoming is None
            or incoming.state != TransferState.RECEIVING
            or incoming.offer.author != peer.node_id
        ):
            return
        self._outbox.emit(act.FinishReceive(end.offer_id))

    def on_stop(self, peer: Peer, stop: FileStop) -> None:
        incoming = self.incoming.get(stop.offer_id)
        if incoming is not None and incoming.offer.author == peer.node_id:
            if incoming.state in ACTIVE:
                self._fail(incoming, f"the sender stopped: {stop.reason}", delete=True)
            elif incoming.state == TransferState.OFFERED:
                incoming.state = TransferState.WITHDRAWN
                incoming.detail = "withdrawn by its sender"
                self._save()
                self._outbox.show(
                    vw.FileFailed(
                        stop.offer_id, incoming.name, incoming.detail, False, incoming.nick
                    )
                )
            return
        outgoing = self.outgoing.get(stop.offer_id)
        if outgoing is None:
            return
        if peer.node_id in outgoing.serving:
            conn = outgoing.serving.pop(peer.node_id)
            self._outbox.emit(act.StopServe(conn, stop.offer_id))
        elif peer.node_id in outgoing.finished:
            outgoing.finished.discard(peer.node_id)  # its copy failed the check
        else:
            return
        name, nick = outgoing.offer.name, peer.nick
        self._outbox.show(vw.FileFailed(stop.offer_id, name, stop.reason, True, nick))

    # ------------------------------------------------------- from the runtime

    def on_ready(self, ready: ev.ReceiveReady) -> None:
        incoming = self.incoming.get(ready.offer_id)
        if (
            incoming is None
            or incoming.state != TransferState.RECEIVING
            or incoming.conn != ready.conn
        ):
            return
        incoming.received = ready.offset
        self._outbox.emit(act.Send((ready.conn,), FileRequest(ready.offer_id, ready.offset)))
        if ready.offset:
            size = incoming.offer.size
            self._outbox.show(
                vw.Notice(
                    f"{incoming.name}: resuming at {human_size(ready.offset)} of {human_size(size)}"
                )
            )
            self._outbox.show(
                vw.FileProgress(
                    ready.offer_id, incoming.name, ready.offset, size, False, incoming.nick
                )
            )

    def on_progress(self, progress: ev.TransferProgress) -> None:
        nick = self._members.short_name(progress.peer)
        if progress.sending:
            outgoing = self.outgoing.get(progress.offer_id)
            if outgoing is None:
                return
            outgoing.sent[progress.peer] = progress.done
            name = outgoing.offer.name
        else:
            incoming = self.incoming.get(progress.offer_id)
            if incoming is None or incoming.state != TransferState.RECEIVING:
                return
            incoming.received = progress.done
            name = incoming.name
        view = vw.FileProgress(
            progress.offer_id, name, progress.done, progress.total, progress.sending, nick
        )
        self._outbox.show(view)

    def on_served(self, served: ev.ServeFinished) -> None:
        outgoing = self.outgoing.get(served.offer_id)
        if outgoing is None or outgoing.serving.get(served.peer) != served.conn:
            return
        del outgoing.serving[served.peer]
        nick = self._members.short_name(served.peer)
        if served.ok:
            outgoing.finished.add(served.peer)
            self._outbox.emit(
                act.Send((served.conn,), FileEnd(served.offer_id, outgoing.offer.size))
            )
            self._outbox.show(
                vw.FileDone(
                    served.offer_id,
                    outgoing.offer.name,
                    outgoing.path,
                    outgoing.offer.size,
                    True,
                    nick,
                )
            )
        elif served.reason != "link closed":
            self._outbox.emit(act.Send((served.conn,), FileStop(served.offer_id, served.reason)))
            self._outbox.show(
                vw.FileFailed(served.offer_id, outgoing.offer.name, served.reason, True, nick)
            )

    def on_received(self, finished: ev.ReceiveFinished) -> None:
        incoming = self.incoming.get(finished.offer_id)
        if incoming is None or incoming.state != TransferState.RECEIVING:
            return
        if finished.ok:
            incoming.state = TransferState.DONE
            incoming.detail = finished.detail
            incoming.received = incoming.offer.size
            self._save()
            self._outbox.show(
                vw.FileDone(
                    incoming.offer.offer_id,
                    incoming.name,
                    finished.detail,
                    incoming.offer.size,
                    False,
                    incoming.nick,
                )
            )
        else:
            if incoming.conn is not None:
                stop = FileStop(finished.offer_id, f"the receiver stopped: {finished.detail}")
                self._outbox.emit(act.Send((incoming.conn,), stop))
            self._fail(incoming, finished.detail, delete=False)

    # --------------------------------------------------------------- links

    def on_link_up(self, peer: Peer) -> None:
        """Show the new peer our room offers; resume what we accepted from it."""
        host = self._host
        if peer.conn is None:
            return
        fresh_since = host.wall - host.limits.offer_announce_seconds
        offers = [
            o.offer
            for o in self.outgoing.values()
            if o.offer.to in ("", peer.node_id) and o.offer.ts >= fresh_since
        ]
        for offer in offers:
            self._outbox.emit(act.Send((peer.conn,), offer))
        self.resume_from(peer)

    def resume_from(self, peer: Peer) -> None:
        """Start again what we accepted from peer and are not receiving (it has a new link)."""
        for incoming in self.incoming.values():
            if incoming.offer.author == peer.node_id and incoming.state == TransferState.ACCEPTED:
                self._start_receive(incoming)

    def on_link_down(self, peer_id: str, conn: int) -> None:
        """Transfers over that link pause (receiving) or end (serving); they resume later."""
        for incoming in self.incoming.values():
            if incoming.conn == conn and incoming.state == TransferState.RECEIVING:
                incoming.state = TransferState.ACCEPTED
                incoming.conn = None
                self._outbox.emit(act.AbortReceive(incoming.offer.offer_id, delete=False))
                self._outbox.show(vw.Notice(f"{incoming.name}: link lost, will resume"))
        for outgoing in self.outgoing.values():
            if outgoing.serving.get(peer_id) == conn:
                del outgoing.serving[peer_id]
                self._outbox.emit(act.StopServe(conn, outgoing.offer.offer_id))
        # The peer fetches again on its next link; its slots go to whoever waits.
        self.waiting = {k: v for k, v in self.waiting.items() if k[0] != peer_id}
        self._serve_waiting()

    # ------------------------------------------------------------- internals

    def _incoming(self, prefix: str) -> Incoming | None:
        if not prefix:
            pending = [i for i in self.incoming.values() if i.state == TransferState.OFFERED]
            if not pending:
                self._outbox.show(vw.Problem("no file offer is waiting for an answer"))
                return None
            if len(pending) > 1:
                # Never guess: the newest offer may be someone's spam.
                listed = ", ".join(
                    f"{i.offer.offer_id[:SHORT_ID_CHARS]} ({i.name} from {i.nick})"
                    for i in pending[-MAX_LISTED_OFFERS:]
                )
                self._outbox.show(
                    vw.Problem(f"{len(pending)} offers are waiting: {listed}; give the ID")
                )
                return None
            return pending[0]
        offer_id = self._lookup(prefix, list(self.incoming))
        return None if offer_id is None else self.incoming[offer_id]

    def _room_for_one_more(self, author: str) -> bool:
        """Whether another offer from author fits; only author's own or finished ones give way.

        An author has at most max_pending_offers offers waiting for an answer (its oldest makes
        room for its newest), and the table at most max_offers: beyond that the oldest finished
        offer is forgotten, else author's own oldest waiting one. Nobody's spam pushes out
        someone else's offer.
        """
        limits = self._host.limits
        waiting = [
            k
            for k, i in self.incoming.items()
            if i.state == TransferState.OFFERED and i.offer.author == author
        ]
        if waiting and len(waiting) >= limits.max_pending_offers:
            del self.incoming[waiting.pop(0)]
        if len(self.incoming) < limits.max_offers:
            return True
        finished = [k for k, i in self.incoming.items() if i.state in FINISHED]
        if finished or waiting:
            del self.incoming[(finished or waiting)[0]]
            return True
        return False

    def _lookup(self, prefix: str, offer_ids: list[str]) -> str | None:
        """The one offer ID that starts with prefix, or None (and the user is told why)."""
        matches = sorted({o for o in offer_ids if o.startswith(prefix.lower())})
        if len(matches) == 1:
            return matches[0]
        problem = "is ambiguous" if matches else "matches no offer"
        self._outbox.show(vw.Problem(f"{prefix!r} {problem}; see /transfers"))
        return None

    def _start_receive(self, incoming: Incoming) -> None:
        peer = self._members.peers.get(incoming.offer.author)
        if peer is None or peer.conn is None:
            self._outbox.show(
                vw.Notice(f"{incoming.name}: waiting for {incoming.nick} to be linked")
            )
            return
        incoming.state = TransferState.RECEIVING
        incoming.conn = peer.conn
        self._outbox.emit(act.PrepareReceive(incoming.offer, peer.conn))

    def _fail(self, incoming: Incoming, reason: str, *, delete: bool) -> None:
        incoming.state = TransferState.FAILED
        incoming.detail = reason
        incoming.conn = None
        self._outbox.emit(act.AbortReceive(incoming.offer.offer_id, delete=delete))
        self._save()
        self._outbox.show(
            vw.FileFailed(incoming.offer.offer_id, incoming.name, reason, False, incoming.nick)
        )

    def _save(self) -> None:
        saved = filerecords.records(self.outgoing.values(), self.incoming.values())
        self._outbox.emit(act.SaveTransfers(saved))
