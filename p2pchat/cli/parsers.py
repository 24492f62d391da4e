"""The command line: which subcommand, and the options of the chat, `history` and `doctor`."""

from __future__ import annotations

import argparse
import contextlib
from enum import StrEnum
from typing import NoReturn

import platformdirs

from p2pchat import __version__
from p2pchat.cli.argtypes import ip_address, non_negative_float, port, positive_float, positive_int
from p2pchat.cli.exits import ERROR_PREFIX, DoctorExit, ExitCode
from p2pchat.cli.passphrase import SECRET_ENV
from p2pchat.cli.uimode import UiMode
from p2pchat.core.limits import DEFAULT_LIMITS, DEFAULT_PORT

PROGRAM = "p2pchat"
DEFAULT_ROOM = "lobby"
DEFAULT_BIND = "0.0.0.0"
DEFAULT_DELIVERY_WAIT = 10.0  # seconds --wait waits at the end of piped input
RATE_BURST_SECONDS = 10  # --rate-limit allows bursts of this many seconds' worth


class Subcommand(StrEnum):
    """What the first argument may name instead of chatting."""

    HISTORY = "history"
    DOCTOR = "doctor"


def split_subcommand(argv: list[str]) -> tuple[Subcommand | None, list[str]]:
    """The subcommand argv starts with (None: the chat) and the arguments after it."""
    if argv:
        with contextlib.suppress(ValueError):
            return Subcommand(argv[0]), argv[1:]
    return None, argv


def parser_for(command: Subcommand | None) -> argparse.ArgumentParser:
    """The parser of command's options (None: the chat's); a bad option exits with USAGE."""
    if command is Subcommand.HISTORY:
        return history_parser()
    if command is Subcommand.DOCTOR:
        return doctor_parser()
    return chat_parser()


def chat_parser() -> argparse.ArgumentParser:
    """The options of `p2pchat` itself: the chat."""
    parser = _Parser(
        prog=PROGRAM,
        description=(
            "Serverless LAN chat: peers find each other by mDNS and a UDP broadcast beacon and "
            "talk in a full mesh."
        ),
        epilog="p2pchat history [--room ROOM] [--limit N] [--json] [--search WORDS] "
        "[--export PATH]: print, search or export the stored messages and exit. "
        "p2pchat doctor [--room ROOM] [--json] [--scan]: find out why nobody appears. "
        "(--help after either for more.)",
    )
    parser.add_argument("--nick", help="your name in the room (default: your OS user name)")
    parser.add_argument(
        "--room", default=DEFAULT_ROOM, help=f"room to join (default: {DEFAULT_ROOM})"
    )
    parser.add_argument(
        "--port",
        type=port,
        default=None,
        help=(
            f"TCP port to listen on (default {DEFAULT_PORT}, or any free port if that is taken; "
            "0: any free port)"
        ),
    )
    parser.add_argument(
        "--bind",
        type=ip_address,
        default=DEFAULT_BIND,
        help=f"address to listen on (default {DEFAULT_BIND})",
    )
    parser.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help=(
            f"connect to this peer at start (repeatable; PORT defaults to {DEFAULT_PORT}; "
            "for networks that block multicast)"
        ),
    )
    parser.add_argument(
        "--interface",
        action="append",
        default=[],
        type=ip_address,
        metavar="ADDR",
        help=(
            "discover only on the interface with this address: mDNS and the beacon "
            "(repeatable; default: all; --bind ADDR restricts them too)"
        ),
    )
    parser.add_argument("--no-mdns", action="store_true", help="do not use mDNS (the beacon stays)")
    parser.add_argument(
        "--no-beacon", action="store_true", help="do not use the UDP broadcast beacon (mDNS stays)"
    )
    parser.add_argument(
        "--join",
        metavar="CODE",
        help=(
            "join with an invite code (/invite on any member shows one): its room, and its "
            "addresses dialled; a private room asks for the passphrase and checks it"
        ),
    )
    parser.add_argument(
        "--scan",
        action="store_true",
        help=(
            f"also try port {DEFAULT_PORT} on every address of the local subnets (at most a /22), "
            "for networks that drop multicast and broadcast"
        ),
    )
    parser.add_argument(
        "--no-discovery",
        action="store_true",
        help="no automatic discovery (neither mDNS nor the beacon): only --peer and /connect",
    )
    parser.add_argument(
        "--secret-file",
        metavar="PATH",
        help=f"private room: the passphrase is in this file (or set {SECRET_ENV})",
    )
    parser.add_argument(
        "--private", action="store_true", help="private room: ask for the passphrase"
    )
    _data_dir_argument(parser)
    parser.add_argument(
        "--downloads",
        default=platformdirs.user_downloads_dir(),
        metavar="DIR",
        help="where accepted files are saved (default: %(default)s)",
    )
    parser.add_argument(
        "--wait",
        type=non_negative_float,
        default=DEFAULT_DELIVERY_WAIT,
        metavar="SECONDS",
        help="at the end of piped input, wait up to SECONDS for what was read to reach a peer "
        "(default: %(default)g; 0: do not wait)",
    )
    parser.add_argument(
        "--ephemeral",
        action="store_true",
        help="keep nothing on disk: a new identity, history only in memory",
    )
    parser.add_argument(
        "--history-limit",
        type=positive_int,
        default=DEFAULT_LIMITS.history_messages,
        metavar="N",
        help="keep at most N messages of the room (default %(default)s)",
    )
    parser.add_argument(
        "--rate-limit",
        type=positive_float,
        default=DEFAULT_LIMITS.author_rate,
        metavar="N",
        help=(
            "accept at most N messages a second from one author, in bursts of up to "
            f"{RATE_BURST_SECONDS} seconds' worth; the excess is dropped (default %(default)s)"
        ),
    )
    parser.add_argument(
        "--history-days",
        type=positive_float,
        default=DEFAULT_LIMITS.history_days,
        metavar="D",
        help="forget messages older than D days (default %(default)s)",
    )
    parser.add_argument(
        "--ui",
        choices=[mode.value for mode in UiMode],
        help=(
            f"{UiMode.TUI}: full screen; {UiMode.PLAIN}: readable lines (with line editing on a "
            f"terminal); {UiMode.JSON}: one JSON object per line (default: {UiMode.TUI} on a "
            f"terminal, {UiMode.PLAIN} otherwise)"
        ),
    )
    parser.add_argument(
        "--no-notify",
        action="store_true",
        help=(
            "no desktop notifications for mentions and direct messages that come while the "
            "terminal is not focused (never in JSON lines or with output to a pipe)"
        ),
    )
    _verbose_argument(parser)
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    return parser


def doctor_parser() -> argparse.ArgumentParser:
    """The options of `p2pchat doctor`."""
    from p2pchat.discovery.doctor import DEFAULT_SECONDS  # zeroconf: only for the doctor

    parser = _Parser(
        prog=f"{PROGRAM} {Subcommand.DOCTOR}",
        description=(
            "Find out why nobody appears: check this machine's interfaces, the chat port, mDNS, "
            "the beacon (and with --scan the subnet scan), list the peers each finds, and say "
            f"what to do. Exit {DoctorExit.PEERS_FOUND} if peers were found, "
            f"{DoctorExit.NOBODY} if not. Runs beside a chat or alone."
        ),
    )
    parser.add_argument(
        "--room", default=DEFAULT_ROOM, help=f"room to look for (default: {DEFAULT_ROOM})"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object: checks and peers")
    parser.add_argument(
        "--scan",
        action="store_true",
        help=f"also try TCP port {DEFAULT_PORT} on every address of the local subnets",
    )
    parser.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help="the chat port (default %(default)s)"
    )
    parser.add_argument(
        "--seconds",
        type=positive_float,
        default=DEFAULT_SECONDS,
        help="how long to look (default %(default)g)",
    )
    parser.add_argument(
        "--bind",
        type=ip_address,
        default=DEFAULT_BIND,
        help="look only on this address's interface",
    )
    parser.add_argument(
        "--interface",
        action="append",
        default=[],
        type=ip_address,
        metavar="ADDR",
        help="look only on the interface with this address (repeatable)",
    )
    parser.add_argument(
        "--secret-file",
        metavar="PATH",
        help=f"a private room: the passphrase is in this file (or set {SECRET_ENV})",
    )
    parser.add_argument(
        "--private", action="store_true", help="a private room: ask for the passphrase"
    )
    _data_dir_argument(parser)
    _verbose_argument(parser)
    return parser


def history_parser() -> argparse.ArgumentParser:
    """The options of `p2pchat history`."""
    parser = _Parser(
        prog=f"{PROGRAM} {Subcommand.HISTORY}",
        description="Print the stored message log and exit.",
    )
    parser.add_argument("--room", help="only this room (default: every room)")
    parser.add_argument("--json", action="store_true", help="one JSON object per message")
    parser.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="only the newest N messages per room (with --search: N hits, default 50)",
    )
    parser.add_argument(
        "--search",
        metavar="WORDS",
        help="only the messages whose text holds all these words, newest first",
    )
    parser.add_argument(
        "--export",
        metavar="PATH",
        help="write the messages to PATH instead: Markdown (.md) or JSON (.json)",
    )
    _data_dir_argument(parser)
    _verbose_argument(parser)
    return parser


class _Parser(argparse.ArgumentParser):
    """A parser whose errors are one line, with the USAGE exit code."""

    def error(self, message: str) -> NoReturn:
        self.exit(int(ExitCode.USAGE), f"{ERROR_PREFIX}{message} (see {PROGRAM} --help)\n")


def _data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=platformdirs.user_data_dir(PROGRAM, appauthor=False),
        help="where the node ID and message log live (default: %(default)s)",
    )


def _verbose_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr (-v info, -vv debug)"
    )
