"""One order on every screen: the same messages, arriving in any order, live or late, are shown
in the order of the message log and /history: (Lamport clock, author)."""

from __future__ import annotations

import asyncio
import io
import json
import random
from dataclasses import replace

import pytest

from p2pchat.core import views as vw
from p2pchat.core.history import History
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from p2pchat.ui.jsonlines import JsonUi
from p2pchat.ui.tui import ChatApp

ME = "a" * 32
NICKS = {"1" * 32: "ann", "5" * 32: "bea", "9" * 32: "cat"}
TS = 1_790_000_000.0
SIZE = (120, 60)
ARRIVAL_SEEDS = (1, 2, 3, 4)
DEADLINE = 10.0
POLL = 0.01
# (author, lamport) of each message: equal clocks from different authors are what screens
# used to disagree on (a late message placed by its clock alone).
CLOCKS = (
    ("5" * 32, 1),
    ("1" * 32, 2),
    ("9" * 32, 2),
    ("5" * 32, 2),
    ("1" * 32, 4),
    ("9" * 32, 5),
    ("5" * 32, 5),
    ("1" * 32, 5),
    ("5" * 32, 7),
    ("9" * 32, 7),
)


def chats() -> list[Chat]:
    """The messages, each author numbering its own from 1."""
    seqs: dict[str, int] = {}
    found = []
    for author, lamport in CLOCKS:
        seqs[author] = seqs.get(author, 0) + 1
        text = f"m-{NICKS[author]}-{seqs[author]}"
        found.append(Chat(author, seqs[author], lamport, TS + lamport, NICKS[author], text))
    return found


def history_order() -> list[str]:
    """The texts in the order the message log (and so /history) holds them."""
    history = History(Limits())
    for chat in reversed(chats()):
        assert history.add(chat, now=0.0, wall=TS + 100)
    return [chat.text for chat in history.ordered()]


def arrivals(seed: int) -> list[vw.MessageShown]:
    """The messages as views in a shuffled order; any that arrives after a newer one is late."""
    order = chats()
    random.Random(seed).shuffle(order)
    views = []
    newest = (0, "")
    for chat in order:
        key = (chat.lamport, chat.author)
        late = key < newest
        newest = max(newest, key)
        views.append(
            vw.MessageShown(
                chat.msg_id,
                chat.author,
                chat.nick,
                chat.nick,
                chat.text,
                chat.ts,
                chat.lamport,
                False,
                False,
                backfill=late,
            )
        )
    return views


def screen_order(rows: list[str]) -> list[str]:
    """The message texts in the order the log shows them."""
    return [word for row in rows for word in row.split() if word.startswith("m-")]


def full_screen_rows(views: list[vw.MessageShown]) -> list[str]:
    """Feed views to the full-screen app one by one, as the node would; the log's rows."""

    async def main() -> list[str]:
        app = ChatApp()
        async with app.run_test(size=SIZE) as pilot:
            app.show_view(vw.Ready(ME, "me", "lobby", 4000, True, False))
            for view in views:
                app.show_view(view)
                await pilot.pause(0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DEADLINE
            log = app.query_one("#log")
            while True:
                rows = [strip.text.rstrip() for strip in log.lines]  # type: ignore[attr-defined]
                if len(screen_order(rows)) == len(views) or loop.time() > deadline:
                    return rows
                await asyncio.sleep(POLL)

    return asyncio.run(main())


def full_screen_order(views: list[vw.MessageShown]) -> list[str]:
    """The message texts in the order the full-screen app shows them."""
    return screen_order(full_screen_rows(views))


def in_history_order() -> list[vw.MessageShown]:
    """The views in the history order, none of them late."""
    by_text = {view.text: view for view in arrivals(0)}
    return [replace(by_text[text], backfill=False) for text in history_order()]


def test_the_history_order_is_by_clock_then_author() -> None:
    order = history_order()
    assert order[:4] == ["m-bea-1", "m-ann-1", "m-bea-2", "m-cat-1"]
    assert order[5:8] == ["m-ann-3", "m-bea-3", "m-cat-2"]


@pytest.mark.parametrize("seed", ARRIVAL_SEEDS)
def test_the_full_screen_shows_the_history_order_whatever_the_arrival_order(seed: int) -> None:
    views = arrivals(seed)
    assert any(view.backfill for view in views)  # live and late messages mixed
    assert full_screen_order(views) == history_order()
    unmarked = [row.replace("↶ ", "") for row in full_screen_rows(views)]
    assert unmarked == full_screen_rows(in_history_order())  # row for row, but the late mark


def test_late_messages_go_above_and_below_a_live_one_with_the_same_clock_by_author() -> None:
    order = history_order()
    by_text = {view.text: view for view in arrivals(0)}
    late = ("m-cat-2", "m-ann-3")  # clock 5, like the live m-bea-3: one goes below it, one above
    live = [replace(by_text[text], backfill=False) for text in order if text not in late]
    views = [*live, *(replace(by_text[text], backfill=True) for text in late)]
    assert full_screen_order(views) == order


@pytest.mark.parametrize("seed", ARRIVAL_SEEDS)
def test_json_message_events_sorted_by_clock_and_author_give_the_history_order(seed: int) -> None:
    out = io.StringIO()
    ui = JsonUi(out)
    for view in arrivals(seed):
        ui.show(view)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    messages = [event for event in events if event["event"] == "message"]
    messages.sort(key=lambda event: (event["lamport"], event["from_id"]))
    assert [event["text"] for event in messages] == history_order()
