"""The `p2pchat` command: arguments, wiring, exit codes. No protocol logic lives here."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import re
import sys
from pathlib import Path
from typing import NoReturn

import platformdirs

from p2pchat import __version__
from p2pchat.core.limits import DEFAULT_LIMITS
from p2pchat.core.messages import nick_problem, room_problem
from p2pchat.discovery.interfaces import advertise_addresses, unknown_interfaces
from p2pchat.discovery.mdns import DiscoveryError, MdnsConfig, MdnsDiscovery
from p2pchat.discovery.static import resolve_peer
from p2pchat.store.identity import IdentityError, open_identity
from p2pchat.transport.listener import StartupError
from p2pchat.transport.node import Node, NodeConfig
from p2pchat.ui.base import Ui
from p2pchat.ui.jsonlines import JsonUi
from p2pchat.ui.lines import StdinLines
from p2pchat.ui.plain import PlainUi
from p2pchat.ui.session import run_line

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
DEFAULT_ROOM = "lobby"
FALLBACK_NICK = "anon"

log = logging.getLogger("p2pchat")


class UsageError(Exception):
    """Bad command line or environment; the message is one line for the user."""


def main(argv: list[str] | None = None) -> int:
    """Run the chat; return the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return _chat(args)
    except (UsageError, StartupError, IdentityError, DiscoveryError) as exc:
        print(f"p2pchat: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        log.debug("internal error", exc_info=True)
        print(f"p2pchat: internal error: {exc} (run with -v for details)", file=sys.stderr)
        return EXIT_INTERNAL


def default_nick() -> str:
    """The OS user name, made into a valid nick."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = FALLBACK_NICK
    nick = re.sub(r"[\s#]+", "_", name)[: DEFAULT_LIMITS.max_nick_chars]
    return nick if nick and nick_problem(nick, DEFAULT_LIMITS) is None else FALLBACK_NICK


def _chat(args: argparse.Namespace) -> int:
    limits = DEFAULT_LIMITS
    nick = args.nick or default_nick()
    for problem in (nick_problem(nick, limits), room_problem(args.room, limits)):
        if problem is not None:
            raise UsageError(problem)
    peers = tuple(_resolve(spec) for spec in args.peer)
    interfaces = tuple(args.interface) or None
    if interfaces:
        missing = unknown_interfaces(interfaces)
        if missing:
            raise UsageError(f"no local interface has address {missing[0]} (see --interface)")
    ui: Ui = JsonUi(sys.stdout) if args.ui == "json" else PlainUi()
    with open_identity(Path(args.data_dir)) as identity:
        discovery = None
        if not args.no_mdns:
            discovery = MdnsDiscovery(
                MdnsConfig(
                    node_id=identity.node_id,
                    nick=nick,
                    room=args.room,
                    advertise=advertise_addresses(args.bind, interfaces),
                    interfaces=interfaces,
                )
            )
        config = NodeConfig(
            nick=nick, room=args.room, bind_host=args.bind, port=args.port, static_peers=peers
        )
        with StdinLines() as lines, Node(config, identity, ui.show, discovery) as node:
            node.start()
            for line in lines:
                if not run_line(line, node.post, ui):
                    break
            if lines.stopped_by is not None:
                log.info("stopping on %s", lines.stopped_by)
    return EXIT_OK


def _resolve(spec: str) -> tuple[str, int]:
    try:
        return resolve_peer(spec)
    except ValueError as exc:
        raise UsageError(f"bad --peer: {exc}") from None


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address") from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"p2pchat: {message} (see p2pchat --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="p2pchat",
        description="Serverless LAN chat: peers find each other by mDNS and talk in a full mesh.",
    )
    parser.add_argument("--nick", help="your name in the room (default: your OS user name)")
    parser.add_argument("--room", default=DEFAULT_ROOM, help="room to join (default: lobby)")
    parser.add_argument(
        "--port", type=_port, default=0, help="TCP port to listen on (default 0: any free port)"
    )
    parser.add_argument(
        "--bind", type=_address, default="0.0.0.0", help="address to listen on (default 0.0.0.0)"
    )
    parser.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="connect to this peer at start (repeatable; for networks that block multicast)",
    )
    parser.add_argument(
        "--interface",
        action="append",
        default=[],
        type=_address,
        metavar="ADDR",
        help="run mDNS only on the interface with this address (repeatable; default: all)",
    )
    parser.add_argument("--no-mdns", action="store_true", help="do not use mDNS at all")
    parser.add_argument(
        "--data-dir",
        default=platformdirs.user_data_dir("p2pchat"),
        help="where the node ID and counters live (default: %(default)s)",
    )
    parser.add_argument(
        "--ui",
        choices=("plain", "json"),
        default="plain",
        help="plain: readable lines; json: one JSON object per line (default: plain)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr (-v info, -vv debug)"
    )
    parser.add_argument("--version", action="version", version=f"p2pchat {__version__}")
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="p2pchat: %(levelname)s: %(message)s", stream=sys.stderr
    )
    if verbosity < 2:
        logging.getLogger("zeroconf").setLevel(logging.ERROR)
