"""The command line's pieces, in process and without a network: parsing, modes, exits, doctor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from p2pchat.cli import dispatch, doctor_command, main
from p2pchat.cli.argtypes import non_negative_float, port, positive_float
from p2pchat.cli.delivery import Deliveries
from p2pchat.cli.discovery_options import discovery_scope
from p2pchat.cli.exits import DoctorExit, ExitCode, UsageError
from p2pchat.cli.joining import join_invite, static_peers
from p2pchat.cli.parsers import DEFAULT_ROOM, Subcommand, chat_parser, split_subcommand
from p2pchat.cli.uimode import PLAIN_REPLAY, TUI_REPLAY, UiMode, chosen_mode, replay_on_start
from p2pchat.core.diagnosis import Check, Diagnosis, Findings, PeerFound
from p2pchat.core.invite import Invite, encode_invite
from p2pchat.core.limits import DEFAULT_LIMITS
from p2pchat.core.views import Delivery, View
from p2pchat.discovery.doctor import DoctorConfig


class Shown:
    """A Ui that keeps what it is shown."""

    def __init__(self) -> None:
        self.views: list[View] = []

    def show(self, view: View) -> None:
        self.views.append(view)

    def show_help(self) -> None:
        pass

    def problem(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_logging_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() would configure the root logger of the test process."""
    monkeypatch.setattr(dispatch, "setup_logging", lambda verbosity: None)


def test_a_subcommand_is_only_the_first_argument() -> None:
    assert split_subcommand(["history", "--json"]) == (Subcommand.HISTORY, ["--json"])
    assert split_subcommand(["doctor"]) == (Subcommand.DOCTOR, [])
    assert split_subcommand(["--room", "history"]) == (None, ["--room", "history"])
    assert split_subcommand(["History"]) == (None, ["History"])
    assert split_subcommand([]) == (None, [])


def test_every_ui_mode_is_a_choice_of_the_parser() -> None:
    for mode in UiMode:
        assert chosen_mode(chat_parser().parse_args(["--ui", mode.value]).ui) is mode
    assert replay_on_start(UiMode.JSON) is None
    assert replay_on_start(UiMode.TUI) == TUI_REPLAY
    assert replay_on_start(UiMode.PLAIN) == PLAIN_REPLAY


def test_option_values_out_of_range_are_refused() -> None:
    assert port("0") == 0 and port("65535") == 65535
    for bad in ("65536", "-1", "x", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            port(bad)
    assert non_negative_float("0") == 0.0
    for bad in ("-1", "inf", "nan", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            non_negative_float(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        positive_float("0")


def test_bind_narrows_discovery_unless_it_is_a_wildcard() -> None:
    assert discovery_scope("0.0.0.0", None) is None
    assert discovery_scope("::", ("10.0.0.1",)) == ("10.0.0.1",)
    assert discovery_scope("10.0.0.2", ("10.0.0.1",)) == ("10.0.0.2",)


def test_an_invite_brings_its_room_and_its_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    code = encode_invite(Invite(("10.0.0.1", "10.0.0.2"), 41000, "team"))
    assert join_invite(None, DEFAULT_ROOM, DEFAULT_LIMITS) is None
    invite = join_invite(code, DEFAULT_ROOM, DEFAULT_LIMITS)
    assert invite is not None and invite.room == "team"
    assert "joining room 'team' by its invite" in capsys.readouterr().err
    assert static_peers(["127.0.0.1:5"], invite) == (
        ("127.0.0.1", 5),
        ("10.0.0.1", 41000),
        ("10.0.0.2", 41000),
    )
    with pytest.raises(UsageError, match="differs from the invite's room"):
        join_invite(code, "other", DEFAULT_LIMITS)
    with pytest.raises(UsageError, match="bad --join"):
        join_invite("nonsense", DEFAULT_ROOM, DEFAULT_LIMITS)


def test_delivery_reports_stay_off_the_screen_and_end_the_wait(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ui = Shown()
    deliveries = Deliveries()
    show = deliveries.show_on(ui)
    assert deliveries.wait(lambda event: show(Delivery(2, 0, True)), 5.0) is ExitCode.OK
    assert ui.views == [] and "all 2 messages reached a peer" in capsys.readouterr().err
    nobody = deliveries.wait(lambda event: show(Delivery(1, 1, False)), 0.0)
    assert nobody is ExitCode.UNDELIVERED
    assert "1 of 1 messages reached no peer" in capsys.readouterr().err
    linked = deliveries.wait(lambda event: show(Delivery(1, 1, True)), 0.0)
    assert linked is ExitCode.OK


def test_a_bad_option_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--nick", "two words", "--no-discovery", "--bind", "127.0.0.1"]
    assert main([*argv, "--data-dir", str(tmp_path)]) == ExitCode.USAGE
    assert capsys.readouterr().err.splitlines() == [
        "p2pchat: a nick has no spaces, '#', control, format or invisible characters"
    ]


def test_an_internal_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("boom")

    monkeypatch.setitem(dispatch.COMMANDS, Subcommand.HISTORY, broken)
    assert main(["history"]) == ExitCode.INTERNAL
    assert capsys.readouterr().err.splitlines() == [
        "p2pchat: internal error: boom (run with -v for details)"
    ]


@pytest.mark.parametrize("found", [False, True])
def test_the_doctor_prints_its_diagnosis_and_exits_by_whether_anyone_was_found(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], found: bool
) -> None:
    configs: list[DoctorConfig] = []
    peers = (PeerFound("a" * 64, "alice", "10.0.0.1:41234", "mdns"),) if found else ()
    diagnosis = Diagnosis((Check("peers", found, "details", "" if found else "advice"),), peers)

    def examine(config: DoctorConfig) -> Findings:
        configs.append(config)
        return None  # type: ignore[return-value]  # only the fake diagnose sees it

    monkeypatch.setattr(doctor_command, "examine", examine)
    monkeypatch.setattr(doctor_command, "diagnose", lambda findings: diagnosis)
    code = main(["doctor", "--json", "--bind", "127.0.0.1", "--seconds", "2"])
    assert code == (DoctorExit.PEERS_FOUND if found else DoctorExit.NOBODY)
    assert json.loads(capsys.readouterr().out) == diagnosis.to_json()
    assert configs[0].scope == ("127.0.0.1",) and configs[0].seconds == 2.0
    assert main(["doctor", "--bind", "127.0.0.1"]) == code
    text = capsys.readouterr().out
    assert text.startswith("p2pchat doctor: looking for room 'lobby' on 127.0.0.1 for 8 s")
    assert ("alice#" in text) is found and ("-> advice" in text) is not found
