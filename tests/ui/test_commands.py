"""Typed lines become the right commands; bad ones get a usage line."""

from __future__ import annotations

import pytest

from p2pchat.core.entries import EntryKind
from p2pchat.core.messages import PresenceStatus
from p2pchat.ui import commands as cmd


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello there", cmd.Say("hello there")),
        ("//etc is a dir", cmd.Say("/etc is a dir")),
        ("/msg bob hi  there ", cmd.Msg("bob", "hi  there")),
        ("/MSG bob#1a2b hi", cmd.Msg("bob#1a2b", "hi")),
        ("/nick neo", cmd.Nick("neo")),
        ("/connect 10.1.2.3:4000", cmd.Connect("10.1.2.3:4000")),
        ("/peers", cmd.Peers()),
        ("/invite", cmd.InviteCmd()),
        ("/help", cmd.Help()),
        ("/quit", cmd.Quit()),
        ("/exit", cmd.Quit()),
        ("/msg bob", cmd.Invalid("usage: /msg NICK TEXT")),
        ("/nick", cmd.Invalid("usage: /nick NEW")),
        ("/connect", cmd.Invalid("usage: /connect HOST[:PORT]")),
        ("/send bob ~/My Docs/report.pdf", cmd.SendFile("~/My Docs/report.pdf", "bob")),
        ("/send bob '/tmp/a b.txt'", cmd.SendFile("/tmp/a b.txt", "bob")),
        ('/share "notes.txt"', cmd.SendFile("notes.txt", None)),
        ("/share /etc/hosts", cmd.SendFile("/etc/hosts", None)),
        ("/accept 1A2B", cmd.TransferCmd("accept", "1a2b")),
        ("/accept", cmd.TransferCmd("accept", "")),
        ("/decline", cmd.TransferCmd("decline", "")),
        ("/cancel 1a2b", cmd.TransferCmd("cancel", "1a2b")),
        ("/transfers", cmd.Transfers()),
        ("/send bob", cmd.Invalid("usage: /send NICK PATH")),
        ("/share", cmd.Invalid("usage: /share PATH")),
        ("/cancel", cmd.Invalid("usage: /cancel ID (see /transfers)")),
        ("/frobnicate", cmd.Invalid("unknown command /frobnicate; /help lists the commands")),
        ("   ", None),
        ("", None),
    ],
)
def test_parse_line(line: str, expected: cmd.Command | None) -> None:
    assert cmd.parse_line(line) == expected


def test_every_command_has_help() -> None:
    usages = " ".join(u for u, _ in cmd.COMMANDS)
    for name in ("/msg", "/nick", "/peers", "/connect", "/help", "/quit", "/send", "/share"):
        assert name in usages


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("/reply abc:3 yes please", cmd.Entry(EntryKind.REPLY, "abc:3", "yes please")),
        ("/react abc:3 👍", cmd.Entry(EntryKind.REACT, "abc:3", "👍")),
        ("/edit abc:3 fixed  text ", cmd.Entry(EntryKind.EDIT, "abc:3", "fixed  text")),
        ("/delete abc:3", cmd.Entry(EntryKind.DELETE, "abc:3", "")),
        ("/me waves", cmd.Entry(EntryKind.ACTION, "", "waves")),
        ("/away at lunch", cmd.Presence(PresenceStatus.AWAY, "at lunch")),
        ("/away", cmd.Presence(PresenceStatus.AWAY, "")),
        ("/back", cmd.Presence(PresenceStatus.HERE, "")),
        ("/reply abc:3", cmd.Invalid("usage: /reply ID TEXT")),
        ("/react", cmd.Invalid("usage: /react ID EMOJI")),
        ("/delete abc:3 why", cmd.Invalid("usage: /delete ID")),
        ("/me", cmd.Invalid("usage: /me ACTION")),
    ],
)
def test_conversation_commands(line: str, command: cmd.Command) -> None:
    assert cmd.parse_line(line) == command


def test_search_takes_the_words_and_is_listed_in_help() -> None:
    assert cmd.parse_line("/search  a b ") == cmd.SearchCmd("a b")
    assert isinstance(cmd.parse_line("/search"), cmd.Invalid)
    assert any(usage.startswith("/search") for usage, _ in cmd.COMMANDS)
