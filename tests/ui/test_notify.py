"""Desktop notifications: which views become alerts, sanitising, the rate limit, the backends."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from p2pchat.core import views as vw
from p2pchat.ui import notifiers
from p2pchat.ui.notifiers import (
    NOTIFY_SEND,
    SESSION_BUS_ENV,
    NoNotifier,
    Notifications,
    ServiceNotifier,
    TerminalNotifier,
    choose_notifier,
    tty_writer,
)
from p2pchat.ui.notify import (
    ACTIVE_SECONDS,
    BEL,
    ESC,
    MAX_BODY_CHARS,
    MAX_TITLE_CHARS,
    RATE_MAX_ALERTS,
    RATE_WINDOW_SECONDS,
    Alert,
    AlertKind,
    AlertRules,
    Backend,
    Focus,
    TerminalStyle,
    Throttle,
    alert_for,
    choose_backend,
    sanitise,
    terminal_sequence,
    terminal_style,
)

pytestmark = pytest.mark.timeout(30)

ME = "a" * 32
ALICE = "b" * 32
WAIT = 10.0  # seconds a test waits for the notifications' thread on a busy machine
PROGRAM = "/usr/bin/notify-send"


def message(text: str, **kwargs: Any) -> vw.MessageShown:
    fields: dict[str, Any] = {"direct": False, "own": False, **kwargs}
    author = ME if fields["own"] else ALICE
    nick = "me" if fields["own"] else "alice"
    return vw.MessageShown(f"{author}:1", author, nick, nick, text, 1.0, 1, **fields)


class FakeTty:
    """A terminal stream with no file descriptor: what is written is kept."""

    def __init__(self, tty: bool = True) -> None:
        self.tty = tty
        self.written: list[str] = []

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str, /) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


class Collect:
    """A Notifier that keeps alerts and says when one came."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.came = threading.Event()

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self.came.set()


@pytest.fixture
def no_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No notify-send anywhere, and no process may be started."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(subprocess, "run", _no_process)
    yield


def _no_process(*args: object, **kwargs: object) -> None:
    raise AssertionError("no process may be started")


# ----------------------------------------------------------------------------- the decision


def test_a_direct_message_from_someone_else_is_an_alert() -> None:
    alert = alert_for(message("psst", direct=True, to_id=ME, to_nick="me"), "me")
    assert alert == Alert(AlertKind.DIRECT, "alice (direct message)", "psst")


@pytest.mark.parametrize("text", ["me: look", "hey @me, look", "ME?", "look (@Me)", "me"])
def test_a_mention_with_or_without_at_in_any_case_is_an_alert(text: str) -> None:
    alert = alert_for(message(text), "me")
    assert alert is not None and alert.kind is AlertKind.MENTION and alert.body == text


@pytest.mark.parametrize("text", ["also", "pal", "@alice", "al_x", "al-x", "metal"])
def test_a_nick_inside_a_word_is_no_mention(text: str) -> None:
    assert alert_for(message(text), "al") is None


@pytest.mark.parametrize(
    "view",
    [
        message("me look", own=True),
        message("psst", direct=True, own=True, to_id=ALICE, to_nick="alice"),
        message("me look", backfill=True),
        message("psst", direct=True, backfill=True),
        message("me look", restored=True),
        message("psst", direct=True, restored=True),
        message("nothing for you"),
    ],
)
def test_own_backfill_restored_and_other_messages_are_no_alert(view: vw.MessageShown) -> None:
    assert alert_for(view, "me") is None


def test_rules_follow_our_nick_from_ready_and_our_renames_only() -> None:
    rules = AlertRules()
    assert rules.see(message("me look"), Focus.AWAY, 0.0) is None  # no nick known yet
    rules.see(vw.Ready(ME, "me", "lobby", 4000, True), Focus.AWAY, 0.0)
    assert rules.see(message("me look"), Focus.AWAY, 0.0) is not None
    rules.see(vw.NickChanged(ALICE, "alice", "zed", own=False), Focus.AWAY, 0.0)
    rules.see(vw.NickChanged(ME, "me", "neo", own=True), Focus.AWAY, 0.0)
    assert rules.see(message("me look"), Focus.AWAY, 0.0) is None
    assert rules.see(message("neo look"), Focus.AWAY, 0.0) is not None
    assert rules.see(message("zed look"), Focus.AWAY, 0.0) is None


def test_rules_alert_while_away_never_while_focused() -> None:
    rules = AlertRules()
    dm = message("psst", direct=True)
    assert rules.see(dm, Focus.FOCUSED, 0.0) is None
    assert rules.see(dm, Focus.AWAY, 0.0) is not None


def test_focus_unknown_alerts_unless_we_sent_a_message_lately() -> None:
    rules = AlertRules()
    dm = message("psst", direct=True)
    assert rules.see(dm, Focus.UNKNOWN, 100.0) is not None
    rules.see(message("hi", own=True), Focus.UNKNOWN, 100.0)
    assert rules.see(dm, Focus.UNKNOWN, 100.0 + ACTIVE_SECONDS / 2) is None
    assert rules.see(dm, Focus.UNKNOWN, 100.0 + ACTIVE_SECONDS) is not None
    rules.see(message("old", own=True, restored=True), Focus.UNKNOWN, 500.0)
    assert rules.see(dm, Focus.UNKNOWN, 500.0) is not None  # a restored one is no activity


# ----------------------------------------------------------------------------- sanitising


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("a\x1b]777;notify;x;y\x07b", "a ]777\uff1bnotify\uff1bx\uff1by b"),
        ("\x1b[2J\x1b[31mred", "[2J [31mred"),
        ("ring\x07\x07", "ring"),
        ("two\nlines\r\nand\u2028more", "two lines and more"),
        ("tab\there", "tab here"),
        ("\x9b6n c1", "6n c1"),
        ("bidi \u202eevil\u202c", "bidi evil"),
        ("nul\x00del\x7f", "nul del"),
        ("\ud800lone", "lone"),
    ],
)
def test_sanitise_leaves_no_control_escape_or_separator(hostile: str, shown: str) -> None:
    clean = sanitise(hostile, MAX_BODY_CHARS)
    assert clean == shown
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in clean)
    assert ";" not in clean


def test_sanitise_bounds_overlong_text_with_an_ellipsis() -> None:
    clean = sanitise("word " * 1000, MAX_BODY_CHARS)
    assert len(clean) <= MAX_BODY_CHARS and clean.endswith("…")
    assert sanitise("x" * MAX_BODY_CHARS, MAX_BODY_CHARS) == "x" * MAX_BODY_CHARS


def test_an_alert_from_hostile_peer_text_is_one_bounded_line() -> None:
    view = message("me " + "\x1b]9;pwn\x07\n" * 500, direct=True)
    view = vw.MessageShown(**{**_fields(view), "display": "ev\x1bil;" * 40})
    alert = alert_for(view, "me")
    assert alert is not None
    assert len(alert.title) <= MAX_TITLE_CHARS and len(alert.body) <= MAX_BODY_CHARS
    for sequence in (terminal_sequence(alert, style) for style in TerminalStyle):
        assert sequence.count(ESC) == 1 and sequence.count(BEL) == 1
        assert sequence.startswith(ESC + "]") and sequence.endswith(BEL)
        assert "\n" not in sequence


def test_the_terminal_sequences_are_osc_777_and_osc_9() -> None:
    alert = Alert(AlertKind.DIRECT, "alice (direct message)", "psst")
    assert terminal_sequence(alert, TerminalStyle.OSC777) == (
        "\x1b]777;notify;alice (direct message);psst\x07"
    )
    assert terminal_sequence(alert, TerminalStyle.OSC9) == "\x1b]9;alice (direct message): psst\x07"
    forged = Alert(AlertKind.DIRECT, "a;b\x1b", "c\x07d")  # not built by alert_for
    assert terminal_sequence(forged, TerminalStyle.OSC777).count(";") == 3  # 777;notify;T;B


def test_terminal_style_is_osc_9_only_where_the_terminal_says_it_shows_it() -> None:
    assert terminal_style({}) is TerminalStyle.OSC777
    assert terminal_style({"VTE_VERSION": "7600"}) is TerminalStyle.OSC777
    assert terminal_style({"WT_SESSION": "x"}) is TerminalStyle.OSC9
    assert terminal_style({"ConEmuPID": "12"}) is TerminalStyle.OSC9
    assert terminal_style({"TERM_PROGRAM": "iTerm.app"}) is TerminalStyle.OSC9


# ----------------------------------------------------------------------------- the rate


def _alert(kind: AlertKind = AlertKind.MENTION, body: str = "x") -> Alert:
    return Alert(kind, "alice mentioned you", body)


def test_throttle_lets_a_few_through_then_sums_up_the_rest() -> None:
    throttle = Throttle()
    out = [throttle.offer(_alert(body=str(n)), 0.0) for n in range(RATE_MAX_ALERTS)]
    assert [alert.body for alert in out if alert is not None] == ["0", "1", "2"]
    assert throttle.offer(_alert(), 1.0) is None
    assert throttle.offer(_alert(), 2.0) is None
    assert throttle.offer(_alert(AlertKind.DIRECT), 3.0) is None
    assert throttle.next_due() == RATE_WINDOW_SECONDS
    assert throttle.due(RATE_WINDOW_SECONDS - 0.1) is None
    summed = throttle.due(RATE_WINDOW_SECONDS)
    assert summed is not None and summed.body == "2 new mentions, 1 new direct message"
    assert summed.kind is AlertKind.MENTION
    assert throttle.next_due() is None and throttle.due(100.0) is None


def test_throttle_sends_one_held_alert_as_itself() -> None:
    throttle = Throttle(max_alerts=1, window=5.0)
    assert throttle.offer(_alert(body="first"), 0.0) == _alert(body="first")
    assert throttle.offer(_alert(body="second"), 1.0) is None
    assert throttle.due(5.0) == _alert(body="second")
    assert throttle.offer(_alert(body="third"), 6.0) is None
    assert throttle.offer(_alert(body="fourth"), 7.0) is None
    summed = throttle.due(10.0)
    assert summed is not None and summed.body == "2 new mentions"


def test_throttle_never_exceeds_its_rate() -> None:
    throttle = Throttle()
    sent: list[float] = []
    for step in range(1000):
        now = step * 0.05
        if throttle.offer(_alert(), now) is not None:
            sent.append(now)
    for index in range(len(sent) - RATE_MAX_ALERTS):
        assert sent[index + RATE_MAX_ALERTS] - sent[index] >= RATE_WINDOW_SECONDS


# ----------------------------------------------------------------------------- the backends


@pytest.mark.parametrize(
    ("enabled", "tty", "program", "bus", "backend"),
    [
        (True, True, PROGRAM, True, Backend.SERVICE),
        (True, True, PROGRAM, False, Backend.TERMINAL),
        (True, True, None, True, Backend.TERMINAL),
        (True, False, PROGRAM, True, Backend.NONE),
        (False, True, PROGRAM, True, Backend.NONE),
    ],
)
def test_choose_backend(
    enabled: bool, tty: bool, program: str | None, bus: bool, backend: Backend
) -> None:
    chosen = choose_backend(enabled=enabled, tty=tty, notify_send=program, session_bus=bus)
    assert chosen is backend


def test_the_service_is_notify_send_run_without_a_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, dict[str, object]]] = []

    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        calls.append((argv, kwargs))
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(shutil, "which", {NOTIFY_SEND: PROGRAM}.get)
    monkeypatch.setattr(subprocess, "run", run)
    notifier = choose_notifier(FakeTty(), env={SESSION_BUS_ENV: "unix:path=/run/bus"})
    assert isinstance(notifier, ServiceNotifier)
    notifier.notify(Alert(AlertKind.MENTION, "alice mentioned you", "-x <b>me</b> & you"))
    [(argv, kwargs)] = calls
    assert argv == [
        PROGRAM,
        "--app-name=p2pchat",
        "--category=im.received",
        "--",
        "alice mentioned you",
        "-x &lt;b&gt;me&lt;/b&gt; &amp; you",
    ]
    assert not kwargs.get("shell") and kwargs["timeout"] == notifiers.SERVICE_TIMEOUT_SECONDS
    assert kwargs["stdin"] == subprocess.DEVNULL


def test_a_failing_notify_send_is_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(argv: list[str], **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(argv, 5.0)

    monkeypatch.setattr(subprocess, "run", run)
    ServiceNotifier(PROGRAM).notify(_alert())


@pytest.mark.usefixtures("no_service")
def test_without_a_session_bus_the_escape_goes_to_the_terminal() -> None:
    tty = FakeTty()
    notifier = choose_notifier(tty, env={})
    assert isinstance(notifier, TerminalNotifier)
    notifier.notify(Alert(AlertKind.DIRECT, "alice (direct message)", "psst"))
    assert tty.written == ["\x1b]777;notify;alice (direct message);psst\x07"]


def test_notify_send_without_a_session_bus_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", {NOTIFY_SEND: PROGRAM}.get)
    monkeypatch.setattr(subprocess, "run", _no_process)
    assert isinstance(choose_notifier(FakeTty(), env={"WT_SESSION": "1"}), TerminalNotifier)


@pytest.mark.usefixtures("no_service")
def test_nothing_on_a_pipe_or_when_turned_off() -> None:
    pipe = FakeTty(tty=False)
    assert isinstance(choose_notifier(pipe, env={}), NoNotifier)
    assert isinstance(choose_notifier(FakeTty(), enabled=False, env={}), NoNotifier)


def test_the_terminal_writer_writes_whole_sequences_to_the_descriptor() -> None:
    read_end, write_end = os.pipe()
    try:

        class PipeTty(FakeTty):
            def fileno(self) -> int:
                return write_end

        stream = PipeTty()
        TerminalNotifier(tty_writer(stream), TerminalStyle.OSC9).notify(_alert(body="hé"))
        assert os.read(read_end, 4096).decode() == "\x1b]9;alice mentioned you: hé\x07"
        assert stream.written == []  # straight to the descriptor, past any buffer
    finally:
        os.close(read_end)
        os.close(write_end)


# ----------------------------------------------------------------------------- the thread


def test_notifications_show_alerts_on_their_own_thread() -> None:
    shown = Collect()
    with Notifications(shown) as notes:
        notes.see(vw.Ready(ME, "me", "lobby", 4000, True), Focus.AWAY)
        assert not notes.see(message("hello all"), Focus.AWAY)
        assert notes.see(message("me: look"), Focus.AWAY)
        assert shown.came.wait(WAIT)
    assert [alert.body for alert in shown.alerts] == ["me: look"]


def test_notifications_show_what_they_held_once_the_window_reopens() -> None:
    shown = Collect()
    with Notifications(shown, throttle=Throttle(max_alerts=1, window=0.05)) as notes:
        notes.see(vw.Ready(ME, "me", "lobby", 4000, True), Focus.AWAY)
        assert notes.see(message("psst", direct=True), Focus.AWAY)
        for _ in range(3):
            assert notes.see(message("me!"), Focus.AWAY)
        while _represented(shown.alerts) < 4:  # no more alerts come: the held ones go by time
            assert shown.came.wait(WAIT)
            shown.came.clear()
    assert shown.alerts[0].body == "psst"
    assert _represented(shown.alerts) == 4


def _represented(alerts: list[Alert]) -> int:
    """How many alerts these stand for: a summary "3 new mentions" for 3."""
    total = 0
    for alert in alerts:
        counts = re.findall(r"(\d+) new ", alert.body) if alert.title == "p2pchat" else ["1"]
        total += sum(int(count) for count in counts)
    return total


def test_turned_off_notifications_start_no_thread() -> None:
    with Notifications(NoNotifier()) as notes:
        assert not notes.see(message("psst", direct=True), Focus.AWAY)
    assert not [t for t in threading.enumerate() if t.name == notifiers.THREAD_NAME]


def _fields(view: vw.MessageShown) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__slots__}
