"""--no-notify, and the notifications each --ui mode gets (no network, no node)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from p2pchat.cli.parsers import chat_parser
from p2pchat.cli.uimode import UiMode, make_ui
from p2pchat.ui.notifiers import (
    NOTIFY_SEND,
    SESSION_BUS_ENV,
    NoNotifier,
    Notifications,
    ServiceNotifier,
    TerminalNotifier,
)
from p2pchat.ui.tui import ChatApp
from tests.ui.test_notify import FakeTty

pytestmark = pytest.mark.timeout(30)

PROGRAM = "/usr/bin/notify-send"


@pytest.fixture(autouse=True)
def desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A desktop with notify-send and a session bus; no process is started."""
    monkeypatch.setattr(shutil, "which", {NOTIFY_SEND: PROGRAM}.get)
    monkeypatch.setenv(SESSION_BUS_ENV, "unix:path=/run/user/1000/bus")
    monkeypatch.setattr(subprocess, "run", _no_process)


def on_terminal(monkeypatch: pytest.MonkeyPatch, *, tty: bool = True) -> FakeTty:
    """stdout is a terminal (set in the test itself: pytest sets its capture after fixtures)."""
    stream = FakeTty(tty=tty)
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


def _no_process(*args: object, **kwargs: object) -> None:
    raise AssertionError("no process may be started")


def test_no_notify_is_an_option_of_the_chat() -> None:
    assert chat_parser().parse_args(["--no-notify"]).no_notify is True
    assert chat_parser().parse_args([]).no_notify is False


def test_plain_lines_notify_through_the_service_unless_no_notify(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_terminal(monkeypatch)
    for notify, kind in ((True, ServiceNotifier), (False, NoNotifier)):
        _ui, app, notifications = make_ui(UiMode.PLAIN, notify=notify)
        assert app is None and isinstance(notifications, Notifications)
        with notifications:
            assert isinstance(notifications.notifier, kind)
            assert notifications.enabled is (kind is ServiceNotifier)


def test_json_lines_have_no_notifications() -> None:
    assert make_ui(UiMode.JSON)[2] is None


def test_output_to_a_pipe_has_no_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    on_terminal(monkeypatch, tty=False)
    _ui, _app, notifications = make_ui(UiMode.PLAIN)
    assert notifications is not None and isinstance(notifications.notifier, NoNotifier)


def test_the_full_screen_writes_the_escape_through_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SESSION_BUS_ENV)
    stream = on_terminal(monkeypatch)
    _ui, app, notifications = make_ui(UiMode.TUI)
    assert isinstance(app, ChatApp) and app.notifications is notifications
    notifier = notifications.notifier if notifications is not None else None
    assert isinstance(notifier, TerminalNotifier)
    assert notifier.write == app.write_terminal
    assert stream.written == []  # the app writes it, in order with the screen
    _ui, app, notifications = make_ui(UiMode.TUI, notify=False)
    assert notifications is not None and isinstance(notifications.notifier, NoNotifier)
