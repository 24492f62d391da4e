"""What every part of the core shares in one step: who we are, the time, the outbox, timers."""

from __future__ import annotations

import random

from p2pchat.core import actions as act
from p2pchat.core import views as vw
from p2pchat.core.crypto import Crypto
from p2pchat.core.limits import Limits
from p2pchat.core.messages import NONCE_HEX_CHARS
from p2pchat.core.outbox import Outbox
from p2pchat.core.timers import Timers

COUNTERS = (
    "sent",  # room messages we wrote
    "chat_frames_in",  # room message frames received live, duplicates included
    "delivered_live",  # new room messages shown as they were flooded
    "delivered_backfill",  # new room messages that came by sync
    "duplicates",  # live frames of messages we already had
    "relayed",  # copies we forwarded to others
    "rejected",  # messages with bad signatures or altered copies
    "checked_later",  # messages shown before their signature was checked (straight from author)
    "withdrawn",  # of those, messages whose signature then failed: let go
    "slowed_down",  # times we stopped reading an author's link: it wrote over its rate limit
    "equivocations",  # message IDs whose author signed two versions
    "directs_held",  # DMs and receipts we took to hold for members who were away
    "directs_refused_held",  # ... that the hold had no room for
    "directs_handed_on",  # held frames we sent to their recipient when it linked
    "directs_acknowledged",  # held DMs we dropped because their receipt came by
    "directs_expired_held",  # held frames dropped after held_max_age
    "directs_handed_to_us",  # DMs to us brought by a member other than their writer
    "directs_delivered",  # our DMs whose receipt came back
)


class Context:
    """Our identity and room, the limits, the time of the step being handled, and where each
    part of the core writes what it has to say (outbox) and when it wants to be woken (timers)."""

    def __init__(
        self,
        crypto: Crypto,
        *,
        nick: str,
        room: str,
        room_tag: str,
        listen_port: int,
        limits: Limits,
        rng: random.Random,
    ) -> None:
        self.crypto = crypto
        self.node_id = crypto.node_id
        self.nick = nick
        self.room = room
        self.room_tag = room_tag
        self.listen_port = listen_port
        self.limits = limits
        self.rng = rng
        self.outbox = Outbox()
        self.timers = Timers()
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.now = 0.0
        self.wall = 0.0
        self.closing = False

    def emit(self, action: act.Action) -> None:
        """Ask the runtime to do something."""
        self.outbox.emit(action)

    def show(self, view: vw.View) -> None:
        """Put something on the user's screen."""
        self.outbox.show(view)

    def log(self, level: int, text: str) -> None:
        """Write a line to the log."""
        self.outbox.log(level, text)

    def random_id(self) -> str:
        """A fresh random ID of NONCE_HEX_CHARS hex characters (DM nonces, offer IDs)."""
        return f"{self.rng.getrandbits(NONCE_HEX_CHARS * 4):0{NONCE_HEX_CHARS}x}"
