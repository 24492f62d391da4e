"""`p2pchat history` with direct messages: listed among the room's messages, searched, exported,
and a log of version 5 that upgrades and then finds new DMs; in process, logs written directly."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from p2pchat.cli import dispatch, main
from p2pchat.cli.exits import ExitCode
from p2pchat.core.directrecords import DirectStatus, StoredDirect
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from p2pchat.store.log import LOG_FILE, open_log

pytestmark = pytest.mark.timeout(30)

A = "a" * 32  # ann: we
B = "b" * 32  # bob
C = "c" * 32  # carol
NOW = time.time()
TO_CAROL = f"{A}:d:{1:016x}"
FROM_BOB = f"{B}:d:{2:016x}"


@pytest.fixture(autouse=True)
def no_logging_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() would configure the root logger of the test process."""
    monkeypatch.setattr(dispatch, "setup_logging", lambda verbosity: None)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Room messages with our DM to carol and bob's DM to us between them."""
    with open_log(tmp_path, Limits()) as log:
        log.add("lobby", Chat(A, 1, 1, NOW, "ann", "hello room"))
        log.add("lobby", Chat(B, 1, 2, NOW + 1, "bob", "hello ann"))
        log.add("lobby", Chat(A, 2, 4, NOW + 4, "ann", "bye room"))
        log.directs.add(
            "lobby",
            StoredDirect(
                TO_CAROL, A, "ann", C, "carol", "psst carol", NOW + 2, 2, DirectStatus.QUEUED
            ),
        )
        log.directs.add(
            "lobby",
            StoredDirect(
                FROM_BOB, B, "bob", A, "ann", "psst ann", NOW + 3, 3, DirectStatus.RECEIVED
            ),
        )
    return tmp_path


def history(data_dir: Path, *args: str) -> int:
    return main(["history", "--data-dir", str(data_dir), *args])


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_history_lists_directs_in_transcript_order(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history(data_dir, "--json") == ExitCode.OK
    objects = json_lines(capsys.readouterr().out)
    assert [o["text"] for o in objects] == [
        "hello room",
        "hello ann",
        "psst carol",
        "psst ann",
        "bye room",
    ]
    ours, theirs = objects[2], objects[3]
    assert ours["direct"] is True and ours["own"] is True and ours["msg_id"] == TO_CAROL
    assert ours["to_id"] == C and str(ours["to_nick"]).startswith("carol")
    assert ours["dm_status"] == "queued" and ours["restored"] is True
    assert theirs["direct"] is True and theirs["own"] is False and "dm_status" not in theirs
    assert theirs["to_id"] == A and theirs["room"] == "lobby"
    assert objects[0]["direct"] is False and "to_id" not in objects[0]
    assert history(data_dir, "--json", "--limit", "3") == ExitCode.OK  # DMs count as entries
    assert [o["text"] for o in json_lines(capsys.readouterr().out)] == [
        "psst carol",
        "psst ann",
        "bye room",
    ]
    assert history(data_dir, "--room", "lobby") == ExitCode.OK
    out = capsys.readouterr().out
    assert "→ carol" in out and "psst carol" in out and "→ you (direct)" in out


def test_history_search_finds_directs_among_messages(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history(data_dir, "--search", "psst", "--json") == ExitCode.OK
    assert [o["msg_id"] for o in json_lines(capsys.readouterr().out)] == [FROM_BOB, TO_CAROL]
    assert history(data_dir, "--search", "ann", "--json") == ExitCode.OK
    assert [o["text"] for o in json_lines(capsys.readouterr().out)] == ["psst ann", "hello ann"]
    assert history(data_dir, "--search", "ann", "--limit", "1", "--json") == ExitCode.OK
    assert [o["text"] for o in json_lines(capsys.readouterr().out)] == ["psst ann"]
    assert history(data_dir, "--search", "carol", "--room", "other") == ExitCode.OK
    assert "no messages found" in capsys.readouterr().out


def test_export_marks_directs(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md = tmp_path / "log.md"
    assert history(data_dir, "--export", str(md)) == ExitCode.OK
    lines = md.read_text().splitlines()
    (ours,) = [line for line in lines if "psst carol" in line]
    assert "→ carol" in ours and "(direct): psst carol" in ours
    (theirs,) = [line for line in lines if "psst ann" in line]
    assert "→ you (direct): psst ann" in theirs
    assert [line for line in lines if line.startswith("- ")].index(ours) == 2
    out = tmp_path / "log.json"
    assert history(data_dir, "--export", str(out)) == ExitCode.OK
    assert "exported 5 messages" in capsys.readouterr().err
    objects = json.loads(out.read_text())
    assert history(data_dir, "--json") == ExitCode.OK
    assert objects == json_lines(capsys.readouterr().out)
    assert [o["direct"] for o in objects] == [False, False, True, True, False]


def test_a_version_5_log_upgrades_and_then_finds_new_directs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_log(tmp_path, Limits()) as log:
        log.add("lobby", Chat(A, 1, 1, NOW, "ann", "psst before"))
    db = sqlite3.connect(tmp_path / LOG_FILE)
    db.executescript(
        "DROP TABLE direct_text; DROP TABLE directs; DROP TABLE held; DROP TABLE known_members;"
        " UPDATE meta SET value = '5' WHERE key = 'schema';"
    )
    db.close()
    assert history(tmp_path, "--search", "psst", "--json") == ExitCode.OK  # read as it is
    assert [o["text"] for o in json_lines(capsys.readouterr().out)] == ["psst before"]
    assert history(tmp_path, "--json") == ExitCode.OK
    assert len(json_lines(capsys.readouterr().out)) == 1
    with open_log(tmp_path, Limits()) as log:
        log.directs.add(
            "lobby",
            StoredDirect(
                TO_CAROL, A, "ann", C, "carol", "psst after", NOW + 1, 2, DirectStatus.SENT
            ),
        )
    db = sqlite3.connect(tmp_path / LOG_FILE)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("6",)
    assert db.execute("SELECT rowid, text FROM direct_text").fetchall() == [(1, "psst after")]
    db.close()
    assert history(tmp_path, "--search", "psst", "--json") == ExitCode.OK
    captured = capsys.readouterr()
    assert "full-text" not in captured.err  # the new index answered
    assert [(o["text"], o["direct"]) for o in json_lines(captured.out)] == [
        ("psst after", True),
        ("psst before", False),
    ]
