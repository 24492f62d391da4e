"""The room: vetting what arrives, accepting it in order, relaying it, and what we write.

Verify before vouching: a message that comes live from its author over the author's own link
is proven by the link (authenticated in the handshake, sealed with AES-GCM), so it is shown at
once and its signature checked a little later with others (`check_delay`), and always before we
vouch for it: before relaying it, serving it in a sync or storing it. Anything else (relayed,
in a sync batch, a copy that differs from one we hold) is checked before it counts. A message
whose signature then fails is withdrawn: let go from the history, never stored, shown as
withdrawn, and its author gets a strike (only its author could have sent it on that link).
"""

from __future__ import annotations

import itertools
from enum import Enum

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.annotations import first_line
from p2pchat.core.context import Context
from p2pchat.core.crypto import chat_signing_bytes, signed_by
from p2pchat.core.dedup import RecentIds
from p2pchat.core.entries import (
    AUTHOR_ONLY_KINDS,
    MESSAGE_KINDS,
    REACTION_KINDS,
    EntryKind,
    entry_problem,
    parse_ref,
)
from p2pchat.core.errors import InvariantError
from p2pchat.core.guard import Guard
from p2pchat.core.history import History
from p2pchat.core.limits import MAX_LAMPORT, NODE_ID_HEX_CHARS
from p2pchat.core.links import Links
from p2pchat.core.members import Members, Peer
from p2pchat.core.messages import Chat, with_fields
from p2pchat.core.names import Names
from p2pchat.core.relay import relay_targets
from p2pchat.core.timers import Timer, TimerKind

READ_PAUSE_STEP = 0.05  # a pause this little longer than the one asked for is not asked again
MAX_SEQ_DIGITS = 19  # a seq typed by the user (MAX_COUNTER has 19 digits)


class Verdict(Enum):
    """What a received room message is, once vetted."""

    NEW = "new"  # verified, within the rate limits: accept it
    NEW_UNCHECKED = "new unchecked"  # as NEW, live from its author: the link proves it for now
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
        self._withdrawn = RecentIds(ctx.limits.max_tracked_peers, ctx.limits.strike_memory)
        self._unchecked: dict[tuple[str, int], Chat] = {}  # accepted, signature not checked yet
        self._pauses: dict[int, float] = {}  # conn -> seconds to stop reading it, this batch

    def chat(self, peer: Peer, chat: Chat) -> bool:
        """A room message flooded to us by peer: vet, accept, show, relay; True if it shows
        a gap in its author's messages (then ask peer for a sync)."""
        ctx = self._ctx
        verdict = self.vet(chat, peer, live=True)
        if verdict is not Verdict.NEW and verdict is not Verdict.NEW_UNCHECKED:
            if verdict is Verdict.DUPLICATE:
                ctx.counters["duplicates"] += 1
            return False
        if not self.accept(chat, checked=verdict is Verdict.NEW):
            return False
        ctx.counters["delivered_live"] += 1
        self.show(chat)
        gap = self.history.has_gap(chat.author)
        self._relay(chat, peer.node_id)
        return gap

    def vet(self, chat: Chat, peer: Peer | None, *, live: bool = False) -> Verdict:
        """Classify a received room message: new, duplicate, throttled or invalid.

        Signatures are checked before anything is marked seen, so a forgery cannot take a real
        message's ID; only a message live from its author on its own link (live, and peer is
        its author) is NEW_UNCHECKED instead, checked later. A copy that differs from the one we
        hold is checked too: a bad signature is the relay's fault (a strike), a good one proves
        its author signed two versions of one ID (equivocation), never held against the relay.
        """
        ctx = self._ctx
        held = self.history.get(chat.author, chat.seq)
        if held is not None:
            if held == chat:
                return Verdict.DUPLICATE
            if not self._checked(held):  # ours was never checked: it may be the bad one
                return self.vet(chat, peer, live=live)
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
        from_author = live and peer is not None and peer.node_id == chat.author
        trusted = from_author and chat.msg_id not in self._withdrawn
        if not trusted and not self._signed(chat):
            self._links.strike(peer, "a message with a bad signature")
            return Verdict.INVALID
        if from_author and peer is not None:
            wait = self._guard.allow_from_author(chat.author, ctx.now, peer.host)
            if wait is None:
                return Verdict.THROTTLED
            if wait > 0.0:
                self._slow_down(peer, wait)
        else:
            relay, host = (peer.node_id, peer.host) if peer else (None, None)
            if not self._guard.allow_message(chat.author, relay, ctx.now, host):
                return Verdict.THROTTLED
        return Verdict.NEW_UNCHECKED if trusted else Verdict.NEW

    def accept(self, chat: Chat, *, checked: bool = True) -> bool:
        """Hold a message if it is new, and store it once its signature is checked (not
        checked: soon, with others); False if it was seen before."""
        ctx = self._ctx
        if chat.author == ctx.node_id and chat.seq <= self.seq:
            return False
        if not self.history.add(chat, ctx.now, ctx.wall):
            return False
        self._raise_clock(chat.lamport)
        if checked:
            ctx.emit(act.Store(chat))
        else:
            ctx.counters["checked_later"] += 1
            self._unchecked[(chat.author, chat.seq)] = chat
            ctx.timers.schedule_by(Timer(TimerKind.CHECK), ctx.now + ctx.limits.check_delay)
        self._names.vouch(chat.author, chat.nick)
        self.arm_gap_timer()
        return True

    def check_due(self) -> None:
        """Check a batch of the messages shown unchecked; the rest a moment later."""
        self.check_unchecked(self._ctx.limits.check_batch_messages)
        if self._unchecked:
            ctx = self._ctx
            ctx.timers.schedule(Timer(TimerKind.CHECK), ctx.now + ctx.limits.check_batch_pause)

    def check_unchecked(self, limit: int | None = None) -> None:
        """Check the signatures of (up to limit of) the messages held unchecked, oldest first:
        store the good ones, withdraw the bad ones. Before we serve a sync, and on leaving."""
        unchecked = self._unchecked
        count = len(unchecked) if limit is None else min(limit, len(unchecked))
        for chat in list(itertools.islice(unchecked.values(), count)):  # one scan per batch
            self._checked(chat)

    def withdraw(self, chat: Chat) -> None:
        """chat, held unchecked, does not carry its author's valid signature: let it go."""
        ctx = self._ctx
        if self.history.withdraw(chat.author, chat.seq, ctx.now) is None:
            return
        self._withdrawn.add(chat.msg_id, ctx.now)
        ctx.counters["withdrawn"] += 1
        display = self._names.display_name(chat.author, chat.nick)
        ctx.show(vw.Withdrawn(chat.msg_id, chat.author, display))
        self._links.strike(self._members.peers.get(chat.author), "a message it did not sign")

    def show(self, chat: Chat, *, backfill: bool = False, restored: bool = False) -> None:
        """Show what a held entry makes visible: a message as it stands now (none if it was
        deleted), or the change a reaction, edit or delete makes to a message (restored: the
        messages shown carry those changes already)."""
        if chat.kind in MESSAGE_KINDS:
            view = self.view(chat, backfill=backfill, restored=restored)
            if view is not None:
                self._ctx.show(view)
            return
        target = None if restored else self._held_message(chat.ref)
        if target is None:
            return  # it shows with the message, if that comes
        state = self.history.final_state(target)
        if state.deleted and chat.kind is not EntryKind.DELETE:
            return
        display = self._names.display_name(chat.author, chat.nick)
        own = chat.author == self._ctx.node_id
        if chat.kind in REACTION_KINDS:
            reactors = next((r.authors for r in state.reactions if r.emoji == chat.text), ())
            on = chat.author in reactors
            if on == (chat.kind is EntryKind.REACT):  # else an older one, overtaken
                self._ctx.show(
                    vw.ReactionShown(
                        target.msg_id, chat.author, chat.nick, display, chat.text,
                        removed=not on, own=own, backfill=backfill,
                        about=first_line(state.text),
                    )
                )  # fmt: skip
        elif chat.kind is EntryKind.EDIT:
            if state.text == chat.text:
                self._ctx.show(
                    vw.MessageEdited(target.msg_id, chat.author, display, chat.text, backfill)
                )
        elif chat.kind is EntryKind.DELETE:
            about = first_line(state.text)
            self._ctx.show(vw.MessageDeleted(target.msg_id, chat.author, display, backfill, about))

    def view(
        self, chat: Chat, *, backfill: bool = False, restored: bool = False
    ) -> vw.MessageShown | None:
        """How the message chat is shown as it stands (None: deleted)."""
        state = self.history.final_state(chat)
        if state.deleted:
            return None
        reply_text = None
        if chat.kind is EntryKind.REPLY:
            answered = self._held_message(chat.ref)
            if (
                answered is not None
                and not (answered_state := self.history.final_state(answered)).deleted
            ):
                reply_text = first_line(answered_state.text)
        me = self._ctx.node_id
        return vw.MessageShown(
            msg_id=chat.msg_id,
            author=chat.author,
            nick=chat.nick,
            display=self._names.display_name(chat.author, chat.nick),
            text=state.text,
            ts=chat.ts,
            lamport=chat.lamport,
            direct=False,
            own=chat.author == me,
            backfill=backfill,
            restored=restored,
            reply_to=chat.ref or None,
            reply_text=reply_text,
            edited=state.edited,
            action=chat.kind is EntryKind.ACTION,
            reactions=tuple(
                vw.ReactionCount(r.emoji, len(r.authors), me in r.authors) for r in state.reactions
            ),
        )

    def send(self, text: str, kind: EntryKind = EntryKind.TEXT, ref: str = "") -> None:
        """Write an entry to the room: sign it, number it, store it, show it, send it. A
        reply, reaction, edit or delete names a message we hold (edits and deletes our own); a
        reaction we already made is taken back. What cannot be sent is told to the user."""
        ctx = self._ctx
        if kind not in MESSAGE_KINDS or kind is EntryKind.REPLY:
            target = self._resolve(ref)
            if target is None:
                return
            ref, state = target.msg_id, self.history.final_state(target)
            if kind in AUTHOR_ONLY_KINDS and target.author != ctx.node_id:
                ctx.show(vw.Problem(f"you can only {kind} your own messages ({ref} is not)"))
                return
            if state.deleted:
                ctx.show(vw.Problem(f"message {ref} was deleted"))
                return
            if kind is EntryKind.REACT and any(
                r.emoji == text and ctx.node_id in r.authors for r in state.reactions
            ):
                kind = EntryKind.UNREACT  # the same reaction again takes it back
            if kind is EntryKind.EDIT and text == state.text:
                return
        if kind is EntryKind.DELETE:
            text = ""
        elif not text_ok(ctx, text):
            return
        problem = entry_problem(kind, ref, ctx.node_id, text)
        if problem is not None:
            ctx.show(vw.Problem(problem))
            return
        self.seq += 1
        # Saturates instead of overflowing: one forged huge clock must not stop the room.
        self.lamport = min(self.lamport + 1, MAX_LAMPORT)
        unsigned = Chat(
            ctx.node_id, self.seq, self.lamport, ctx.wall, ctx.nick, text,
            ctx.crypto.public_key, kind=kind, ref=ref,
        )  # fmt: skip
        signature = ctx.crypto.sign(chat_signing_bytes(ctx.room, unsigned))
        chat = with_fields(unsigned, signature=signature)
        ctx.counters["sent"] += 1
        self.history.add(chat, ctx.now)
        # Stored (with its seq) before it leaves, so a restart never reuses the seq.
        ctx.emit(act.Store(chat))
        self.show(chat)
        conns = self._members.conns()
        if conns:
            ctx.emit(act.Send(conns, chat))
        elif len(self.unsent) < ctx.limits.history_messages:
            self.unsent.add(chat.seq)  # reaches the room when a peer syncs with us

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
        """Raise InvariantError unless an open gap has its timer, and so do messages held
        unchecked."""
        timers = self._ctx.timers
        gap = self.history.next_gap_deadline()
        when = timers.when(Timer(TimerKind.GAP))
        if gap is not None and not self._ctx.closing and (when is None or when > gap):
            raise InvariantError(f"room: a gap is due at {gap} but its timer is at {when}")
        if self._unchecked and timers.when(Timer(TimerKind.CHECK)) is None:
            raise InvariantError("room: messages held unchecked but no check scheduled")

    def _held_message(self, msg_id: str) -> Chat | None:
        """The message (not another kind of entry) msg_id names, if we hold it."""
        try:
            author, seq = parse_ref(msg_id)
        except ValueError:
            return None
        chat = self.history.get(author, seq)
        return chat if chat is not None and chat.kind in MESSAGE_KINDS else None

    def _resolve(self, ref: str) -> Chat | None:
        """The held message a user's ref names (its ID, or a start of its author's ID that
        only one author has, a colon and the seq); None, and the user told why, if none."""
        ctx = self._ctx
        start, colon, seq = ref.strip().lower().partition(":")
        if not colon or not seq.isdigit() or not start or len(seq) > MAX_SEQ_DIGITS:
            ctx.show(vw.Problem(f"{ref!r} is not a message ID (author:seq, as msg_id shows it)"))
            return None
        authors = (
            [start] if len(start) >= NODE_ID_HEX_CHARS else self.history.authors_starting(start)
        )
        if len(authors) > 1:
            ctx.show(
                vw.Problem(
                    f"{ref!r} could be messages of {len(authors)} authors: give more of the ID"
                )
            )
            return None
        chat = self._held_message(f"{authors[0]}:{int(seq)}") if authors else None
        if chat is None:
            ctx.show(vw.Problem(f"no message {ref} here"))
        return chat

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
        if conns and self._checked(chat):  # we vouch for what we pass on: checked first
            self._ctx.counters["relayed"] += len(conns)
            self._ctx.emit(act.Send(conns, chat))

    def pause_readers(self) -> None:
        """After a batch of frames: stop reading the links of authors who wrote over their
        rate limit, each for the longest pause its messages asked for (one action each)."""
        ctx = self._ctx
        for conn, seconds in self._pauses.items():
            ctx.counters["slowed_down"] += 1
            ctx.emit(act.PauseReading(conn, seconds))
        self._pauses.clear()

    def _slow_down(self, peer: Peer, wait: float) -> None:
        """peer writes faster than its rate limit: its link is to be read no more for a while
        (at most max_read_pause, well within the time its sends may block before they fail)."""
        ctx = self._ctx
        seconds = min(wait, ctx.limits.max_read_pause)
        until = ctx.now + seconds
        if peer.conn is not None and until > peer.read_paused_until + READ_PAUSE_STEP:
            peer.read_paused_until = until
            self._pauses[peer.conn] = max(self._pauses.get(peer.conn, 0.0), seconds)

    def _checked(self, chat: Chat) -> bool:
        """True if chat (held) is known good: checked now if it was held unchecked (then
        stored, or withdrawn if its signature fails)."""
        key = (chat.author, chat.seq)
        if self._unchecked.get(key) is not chat:
            return True
        del self._unchecked[key]
        if self.history.get(chat.author, chat.seq) is not chat:
            return True  # let go meanwhile (retention): nothing to store or withdraw
        if self._signed(chat):
            self._ctx.emit(act.Store(chat))
            return True
        self.withdraw(chat)
        return False

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
