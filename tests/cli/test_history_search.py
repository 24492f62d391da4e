"""`p2pchat history`: messages in their final state, --search and --export, in process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from p2pchat.cli import dispatch, main
from p2pchat.cli.exits import ExitCode
from p2pchat.core.entries import EntryKind
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from p2pchat.store.log import open_log

A = "a" * 32
B = "b" * 32
NOW = time.time()


@pytest.fixture(autouse=True)
def no_logging_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() would configure the root logger of the test process."""
    monkeypatch.setattr(dispatch, "setup_logging", lambda verbosity: None)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A log with a message, its edit, reactions, a reply, a /me and a deleted message."""
    entries = [
        Chat(A, 1, 1, NOW, "ann", "hello there"),
        Chat(A, 2, 2, NOW, "ann", "hello everyone", kind=EntryKind.EDIT, ref=f"{A}:1"),
        Chat(B, 1, 3, NOW, "bob", "👍", kind=EntryKind.REACT, ref=f"{A}:1"),
        Chat(A, 3, 4, NOW, "ann", "👍", kind=EntryKind.REACT, ref=f"{A}:1"),
        Chat(B, 2, 5, NOW, "bob", "🎉", kind=EntryKind.REACT, ref=f"{A}:1"),
        Chat(B, 3, 6, NOW, "bob", "hello back", kind=EntryKind.REPLY, ref=f"{A}:1"),
        Chat(B, 4, 7, NOW, "bob", "secret hello", kind=EntryKind.TEXT),
        Chat(B, 5, 8, NOW, "bob", "", kind=EntryKind.DELETE, ref=f"{B}:4"),
        Chat(A, 4, 9, NOW, "ann", "waves hello", kind=EntryKind.ACTION),
    ]
    with open_log(tmp_path, Limits()) as log:
        for chat in entries:
            log.add("lobby", chat)
        log.add("other", Chat(A, 1, 1, NOW, "ann", "hello elsewhere"))
    return tmp_path


def history(data_dir: Path, *args: str) -> int:
    return main(["history", "--data-dir", str(data_dir), *args])


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_history_shows_messages_in_their_final_state(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history(data_dir, "--json", "--room", "lobby") == ExitCode.OK
    objects = json_lines(capsys.readouterr().out)
    assert [o["msg_id"] for o in objects] == [f"{A}:1", f"{B}:3", f"{A}:4"]
    first = objects[0]
    assert first["text"] == "hello everyone" and first["edited"] is True
    assert first["reactions"] == [
        {"emoji": "👍", "count": 2, "own": False},
        {"emoji": "🎉", "count": 1, "own": False},
    ]
    assert objects[1]["reply_to"] == f"{A}:1" and objects[1]["reply_text"] == "hello everyone"
    assert objects[2]["action"] is True and objects[2]["room"] == "lobby"


def test_history_search_json_and_readable(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history(data_dir, "--search", "hello", "--json") == ExitCode.OK
    objects = json_lines(capsys.readouterr().out)
    assert {(o["room"], o["msg_id"]) for o in objects} == {
        ("lobby", f"{A}:4"),
        ("lobby", f"{B}:3"),
        ("lobby", f"{A}:1"),
        ("other", f"{A}:1"),
    }
    assert history(data_dir, "--search", "everyone", "--room", "lobby", "--json") == 0
    (hit,) = json_lines(capsys.readouterr().out)
    assert hit["text"] == "hello everyone" and hit["reactions"]
    assert history(data_dir, "--search", "there") == ExitCode.OK  # edited away
    assert "no messages found" in capsys.readouterr().out
    assert history(data_dir, "--search", '"back" *', "--room", "lobby") == ExitCode.OK
    out = capsys.readouterr().out
    assert "hello back" in out and "secret" not in out
    assert history(data_dir, "--search", "hello", "--limit", "1", "--room", "lobby", "--json") == 0
    assert [o["msg_id"] for o in json_lines(capsys.readouterr().out)] == [f"{A}:4"]


def test_export_markdown_and_json(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md = tmp_path / "log.md"
    assert history(data_dir, "--export", str(md), "--room", "lobby") == ExitCode.OK
    text = md.read_text()
    assert "# Room lobby" in text and "hello everyone *(edited)*" in text
    assert "👍 2  🎉 1" in text and "> in reply to: hello everyone" in text
    assert "secret" not in text and "* **ann\\#aaaaaaaa** waves hello" in text
    out = tmp_path / "log.json"
    assert history(data_dir, "--export", str(out)) == ExitCode.OK
    objects = json.loads(out.read_text())
    assert history(data_dir, "--json") == ExitCode.OK
    assert objects == json_lines(capsys.readouterr().out)
    assert len(objects) == 4


def test_export_with_another_suffix_is_a_usage_error(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history(data_dir, "--export", str(tmp_path / "log.txt")) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".md or .json" in err
    assert not (tmp_path / "log.txt").exists()
