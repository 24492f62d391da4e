"""Which views become desktop notifications, what they say, and how often (pure: no I/O).

A direct message or a room message naming our nick, from someone else, arriving live (neither
backfill nor restored) while the user is away becomes an `Alert`. `Throttle` lets at most
RATE_MAX_ALERTS go out in any RATE_WINDOW_SECONDS and sums up the rest ("3 new mentions").
Title and body come from peers, so they are sanitised: one line, no control, escape or bidi
characters, no `;` (the field separator of the terminal's escape), bounded in length.
`choose_backend` picks how alerts are shown from what the caller found on this machine; the
`Notifier`s themselves (the I/O) are in `notifiers.py`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Protocol

from p2pchat.core import views as vw
from p2pchat.core.textrules import CONTROL_AND_BIDI, SURROGATES
from p2pchat.ui.format import mentions

APP_NAME = "p2pchat"
MAX_TITLE_CHARS = 64  # a notification's title, ellipsis included
MAX_BODY_CHARS = 200  # a notification's body, ellipsis included
RATE_MAX_ALERTS = 3  # at most this many notifications in any RATE_WINDOW_SECONDS...
RATE_WINDOW_SECONDS = 10.0  # ...the alerts over it go later as one summary
ACTIVE_SECONDS = 30.0  # focus unknown: the user sent a message this recently, so is looking
ELLIPSIS = "…"
SEMICOLON_STAND_IN = "\uff1b"  # fullwidth: a peer's ";" must not end a field of the escape
ESC = "\x1b"
BEL = "\x07"
# Terminals that show OSC 9 (and may not know OSC 777), told by the variables they set.
OSC9_ENV = ("WT_SESSION", "ConEmuPID")
OSC9_TERM_PROGRAMS = frozenset({"iTerm.app"})

_UNSAFE = re.compile(f"[{CONTROL_AND_BIDI}{SURROGATES}{ESC}{BEL}]")
_SPACES = re.compile(r"\s+")


class Focus(Enum):
    """Whether the terminal has the user's focus, as far as the interface can tell."""

    FOCUSED = "focused"
    AWAY = "away"
    UNKNOWN = "unknown"


class AlertKind(StrEnum):
    """Why a message is worth a notification."""

    DIRECT = "direct message"
    MENTION = "mention"


class Backend(StrEnum):
    """How alerts are shown: the desktop's notification service, the terminal, or not at all."""

    SERVICE = "service"
    TERMINAL = "terminal"
    NONE = "none"


class TerminalStyle(StrEnum):
    """The terminal's notification escape: OSC 777 (VTE, urxvt, foot...) or OSC 9 (iTerm2...)."""

    OSC777 = "777"
    OSC9 = "9"


@dataclass(frozen=True, slots=True)
class Alert:
    """One notification: a sanitised one-line title and body (see sanitise)."""

    kind: AlertKind
    title: str
    body: str


class Notifier(Protocol):
    """Shows alerts; notify may block a little (it runs on a thread of its own)."""

    def notify(self, alert: Alert) -> None:
        """Show alert to the user, or drop it; never raise."""


def sanitise(text: str, limit: int) -> str:
    """Peer text as one notification line: no controls, escapes, bidi or ";"; <= limit chars."""
    text = _UNSAFE.sub(" ", text).replace(";", SEMICOLON_STAND_IN)
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def alert_for(view: vw.MessageShown, my_nick: str) -> Alert | None:
    """The alert for a live message from someone else sent to us or naming my_nick, else None."""
    if view.own or view.backfill or view.restored:
        return None
    who = view.display or view.nick
    if view.direct:
        return _alert(AlertKind.DIRECT, f"{who} (direct message)", view.text)
    if my_nick and mentions(view.text, my_nick):
        return _alert(AlertKind.MENTION, f"{who} mentioned you", view.text)
    return None


def summary(counts: Mapping[AlertKind, int]) -> Alert:
    """One alert standing for the counts held back ("3 new mentions"), of the commonest kind."""
    parts = [
        f"{count} new {kind}{'' if count == 1 else 's'}"
        for kind, count in counts.items()
        if count > 0
    ]
    kind = max(counts, key=lambda each: counts[each])
    return Alert(kind, APP_NAME, sanitise(", ".join(parts), MAX_BODY_CHARS))


def terminal_sequence(alert: Alert, style: TerminalStyle) -> str:
    """The escape sequence that asks the terminal to show alert (alert is already sanitised)."""
    title, body = _unsafe_free(alert.title), _unsafe_free(alert.body)
    if style is TerminalStyle.OSC9:
        return f"{ESC}]9;{title}: {body}{BEL}"
    return f"{ESC}]777;notify;{title};{body}{BEL}"


def terminal_style(env: Mapping[str, str]) -> TerminalStyle:
    """OSC 9 where the environment names a terminal known to show it, else OSC 777."""
    if any(env.get(name) for name in OSC9_ENV):
        return TerminalStyle.OSC9
    if env.get("TERM_PROGRAM", "") in OSC9_TERM_PROGRAMS:
        return TerminalStyle.OSC9
    return TerminalStyle.OSC777


def choose_backend(
    *, enabled: bool, tty: bool, notify_send: str | None, session_bus: bool
) -> Backend:
    """None if off or not a terminal; the service with notify-send and a session bus; else tty."""
    if not enabled or not tty:
        return Backend.NONE
    if notify_send is not None and session_bus:
        return Backend.SERVICE
    return Backend.TERMINAL


class AlertRules:
    """Turns views into alerts: keeps our nick (Ready, our NickChanged) and when we last sent."""

    def __init__(self) -> None:
        self.nick = ""
        self._sent_at: float | None = None

    def see(self, view: vw.View, focus: Focus, now: float) -> Alert | None:
        """The alert for view if the user is away (unknown: sent nothing for ACTIVE_SECONDS)."""
        match view:
            case vw.Ready():
                self.nick = view.nick
            case vw.NickChanged() if view.own:
                self.nick = view.new
            case vw.MessageShown() if view.own:
                if not (view.backfill or view.restored):
                    self._sent_at = now
            case vw.MessageShown():
                alert = alert_for(view, self.nick)
                if alert is not None and self._away(focus, now):
                    return alert
        return None

    def _away(self, focus: Focus, now: float) -> bool:
        if focus is not Focus.UNKNOWN:
            return focus is Focus.AWAY
        return self._sent_at is None or now - self._sent_at >= ACTIVE_SECONDS


class Throttle:
    """At most RATE_MAX_ALERTS alerts in any RATE_WINDOW_SECONDS; those over it are held and go
    as one (a summary, or the one itself if it was alone) as soon as the window allows."""

    def __init__(
        self, max_alerts: int = RATE_MAX_ALERTS, window: float = RATE_WINDOW_SECONDS
    ) -> None:
        self._max = max_alerts
        self._window = window
        self._sent: deque[float] = deque()
        self._held: dict[AlertKind, int] = {}
        self._last_held: Alert | None = None

    def offer(self, alert: Alert, now: float) -> Alert | None:
        """What to show now that alert came (None: it is held, or nothing may go yet)."""
        self._held[alert.kind] = self._held.get(alert.kind, 0) + 1
        self._last_held = alert
        return self.due(now)

    def due(self, now: float) -> Alert | None:
        """What is held and may go now, as one alert (None: nothing, or not yet)."""
        while self._sent and now - self._sent[0] >= self._window:
            self._sent.popleft()
        if not self._held or len(self._sent) >= self._max:
            return None
        held, alone = self._held, self._last_held
        self._held, self._last_held = {}, None
        self._sent.append(now)
        if sum(held.values()) == 1 and alone is not None:
            return alone
        return summary(held)

    def next_due(self) -> float | None:
        """When held alerts may go (a time as passed to offer), or None if none are held."""
        if not self._held:
            return None
        return self._sent[0] + self._window if self._sent else 0.0


def _alert(kind: AlertKind, title: str, body: str) -> Alert:
    return Alert(kind, sanitise(title, MAX_TITLE_CHARS), sanitise(body, MAX_BODY_CHARS))


def _unsafe_free(text: str) -> str:
    """Belt and braces: an Alert built elsewhere still cannot end the escape sequence early."""
    return _UNSAFE.sub(" ", text).replace(";", SEMICOLON_STAND_IN)
