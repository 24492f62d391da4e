"""Notifications as the interfaces raise them: the full screen by focus, plain lines without."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console
from textual import events

from p2pchat.core import views as vw
from p2pchat.ui.notifiers import Notifications
from p2pchat.ui.plain import PlainUi
from p2pchat.ui.tui import ChatApp, TuiUi
from tests.ui.test_notify import Collect, message

pytestmark = pytest.mark.timeout(60)

ME = "a" * 32
SIZE = (100, 24)
WAIT = 10.0  # seconds a test waits for the notifications' thread on a busy machine
READY = vw.Ready(ME, "me", "lobby", 4000, True)


def test_a_mention_while_the_terminal_is_blurred_notifies_and_none_while_focused() -> None:
    shown = Collect()

    async def main() -> None:
        app = ChatApp()
        ui = TuiUi(app)  # the node's way in: views posted to the app
        with Notifications(shown) as notes:
            app.notifications = notes
            ui.show(READY)
            async with app.run_test(size=SIZE) as pilot:
                assert app.app_focus
                ui.show(message("me: while focused"))
                ui.show(message("psst, focused", direct=True))
                await pilot.pause()
                app.post_message(events.AppBlur())
                await pilot.pause()
                assert not app.app_focus
                ui.show(message("hey @me, look"))
                await pilot.pause()
                assert await asyncio.to_thread(shown.came.wait, WAIT)
                shown.came.clear()
                app.post_message(events.AppFocus())
                await pilot.pause()
                ui.show(message("me: back?"))
                ui.show(message("me: late", backfill=True))
                app.post_message(events.AppBlur())
                await pilot.pause()
                ui.show(message("psst", direct=True))
                await pilot.pause()
                assert await asyncio.to_thread(shown.came.wait, WAIT)
                assert app.bells >= 1  # the bell rings as before

    asyncio.run(main())
    # In order: one queued while focused would have come before the last.
    assert [alert.body for alert in shown.alerts] == ["hey @me, look", "psst"]
    assert shown.alerts[0].title == "alice mentioned you"


def test_plain_lines_notify_unless_the_user_just_sent_a_message() -> None:
    shown = Collect()
    with Notifications(shown) as notes:
        ui = PlainUi(Console(file=io.StringIO(), width=120, color_system=None), notes)
        ui.show(READY)
        ui.show(message("psst", direct=True))
        assert shown.came.wait(WAIT)
        shown.came.clear()
        ui.show(message("hi all", own=True))  # the user is at the terminal
        ui.show(message("me: are you there?"))
        ui.show(message("me: restored", restored=True))
        ui.show(vw.NickChanged(ME, "me", "neo", own=True))
    assert [alert.body for alert in shown.alerts] == ["psst"]
