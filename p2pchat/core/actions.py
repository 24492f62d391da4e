"""Instructions the node core gives its runtime: dial, send, close, show, persist, log."""

from __future__ import annotations

from dataclasses import dataclass

from p2pchat.core.messages import Chat, Message
from p2pchat.core.views import View


@dataclass(frozen=True, slots=True)
class Dial:
    """Open a TCP connection to host:port; answer with ConnectionMade or DialFailed."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Send:
    """Send one message on each of these connections (encode it once)."""

    conns: tuple[int, ...]
    message: Message


@dataclass(frozen=True, slots=True)
class Close:
    """Close a connection; flush=True sends what is queued first. No ConnectionLost follows."""

    conn: int
    reason: str
    flush: bool


@dataclass(frozen=True, slots=True)
class Show:
    """Hand a view to the user interface."""

    view: View


@dataclass(frozen=True, slots=True)
class Store:
    """Keep a room message in the persistent log; for our own, before any Send that carries it."""

    chat: Chat


@dataclass(frozen=True, slots=True)
class Trust:
    """Remember that nick was first seen with this node ID (key)."""

    nick: str
    node_id: str


@dataclass(frozen=True, slots=True)
class Rediscover:
    """Ask discovery to announce ourselves again and query for peers afresh."""


@dataclass(frozen=True, slots=True)
class Announce:
    """Our advertised details (nick) changed; discovery should update its records."""

    nick: str


@dataclass(frozen=True, slots=True)
class Log:
    """A line for the developer log (level as in the logging module: 10 debug .. 40 error)."""

    level: int
    text: str


Action = Dial | Send | Close | Show | Store | Trust | Rediscover | Announce | Log

DEBUG = 10
INFO = 20
WARNING = 30
