#!/usr/bin/env python3
"""Save the README's screenshot of the full-screen UI: the app's own SVG export, with a demo room.

.venv/bin/python scripts/screenshot.py docs/tui.svg
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchat.core import views as vw
from p2pchat.ui.tui import ChatApp

ME, ALICE, BOB, CAROL = ("1a2b3c4d" * 4, "5e6f7a8b" * 4, "9c0d1e2f" * 4, "3a4b5c6d" * 4)


def demo(app: ChatApp) -> None:
    now = time.time() - 600
    app.show_view(vw.Ready(ME, "dana", "team", 41234, True, True))
    for node_id, nick, port in (
        (ALICE, "alice", 40001),
        (BOB, "bob", 40002),
        (CAROL, "carol", 40003),
    ):
        app.show_view(vw.PeerJoined(node_id, nick, nick, f"192.168.1.{port % 100}:{port}"))
    lines = [
        (ALICE, "alice", "morning! the build is green again", False, False),
        (BOB, "bob", "nice. logs are at https://ci.example.lan/build/812", False, False),
        (ME, "dana", "I'll cut the release from `main` after lunch", True, False),
        (CAROL, "carol", "dana: can you wait for my fix? 10 minutes", False, False),
        (ALICE, "alice", "carol's fix is tiny, worth waiting", False, False),
    ]
    for lamport, (author, nick, text, own, _) in enumerate(lines, 1):
        app.show_view(
            vw.MessageShown(
                f"{author}:{lamport}",
                author,
                nick,
                nick,
                text,
                now + lamport * 40,
                lamport,
                False,
                own,
            )
        )
    app.show_view(
        vw.MessageShown(
            f"{BOB}:d:1", BOB, "bob", "bob", "coffee after?", now + 260, 6, True, False, ME, "dana"
        )
    )
    rows = tuple(
        vw.PeerRow(node_id, nick, nick, "", 600.0, rtt)
        for node_id, nick, rtt in (
            (ALICE, "alice", 0.0008),
            (BOB, "bob", 0.0011),
            (CAROL, "carol", 0.0009),
        )
    )
    app.show_view(vw.PeerTable(rows, requested=False))


async def main(target: Path) -> None:
    app = ChatApp()
    async with app.run_test(size=(110, 22)) as pilot:
        demo(app)
        await pilot.pause()
        saved = app.save_screenshot(filename=target.name, path=str(target.parent))
    print(f"saved {saved}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tui.svg")))
