"""The `p2pchat` command: arguments, wiring, exit codes. No protocol logic lives here."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import queue
import re
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from p2pchat.cli.discovery_options import checked_interfaces, discovery_layers, discovery_scope
from p2pchat.cli.doctor_command import run_doctor
from p2pchat.cli.exits import ExitCode, UsageError, run_reporting_errors
from p2pchat.cli.history_command import print_history
from p2pchat.cli.parsers import (
    DEFAULT_ROOM,
    RATE_BURST_SECONDS,
    Subcommand,
    parser_for,
    split_subcommand,
)
from p2pchat.cli.passphrase import ask_passphrase, room_passphrase
from p2pchat.core.events import ShowDelivery
from p2pchat.core.invite import Invite, InviteError, decode_invite
from p2pchat.core.limits import DEFAULT_LIMITS, DEFAULT_PORT, Limits
from p2pchat.core.messages import nick_problem, normal_nick, room_problem
from p2pchat.core.views import Delivery, View
from p2pchat.discovery.static import resolve_peer
from p2pchat.security.room import room_key, room_tag
from p2pchat.store.identity import ephemeral_identity, open_identity
from p2pchat.store.log import open_log
from p2pchat.store.trust import TrustStore
from p2pchat.transport.node import Node, NodeConfig
from p2pchat.ui.base import Ui
from p2pchat.ui.jsonlines import JsonUi
from p2pchat.ui.lines import StdinLines
from p2pchat.ui.plain import PlainUi
from p2pchat.ui.session import run_line
from p2pchat.ui.terminal import TerminalLines
from p2pchat.ui.tui import ChatApp, TuiUi

PLAIN_REPLAY = 50
TUI_REPLAY = 500
LOG_FILE_NAME = "p2pchat.log"
DELIVERY_POLL_SECONDS = 0.2
FALLBACK_NICK = "anon"

__all__ = ["UsageError", "ask_passphrase", "main"]

log = logging.getLogger("p2pchat")


def main(argv: list[str] | None = None) -> int:
    """Run the chat (or `p2pchat history`, `p2pchat doctor`); return the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    command, arguments = split_subcommand(argv)
    args = parser_for(command).parse_args(arguments)
    _setup_logging(args.verbose)
    commands: dict[Subcommand | None, Callable[[argparse.Namespace], int]] = {
        None: _chat,
        Subcommand.HISTORY: print_history,
        Subcommand.DOCTOR: run_doctor,
    }
    run = commands[command]
    return int(run_reporting_errors(lambda: run(args)))


def default_nick() -> str:
    """The OS user name, made into a valid nick."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = FALLBACK_NICK
    nick = re.sub(r"[\s#]+", "_", normal_nick(name))[: DEFAULT_LIMITS.max_nick_chars]
    return nick if nick and nick_problem(nick, DEFAULT_LIMITS) is None else FALLBACK_NICK


def _chat(args: argparse.Namespace) -> int:
    limits = DEFAULT_LIMITS
    invite = _invite(args, limits)
    nick = normal_nick(args.nick) if args.nick else default_nick()
    for problem in (nick_problem(nick, limits), room_problem(args.room, limits)):
        if problem is not None:
            raise UsageError(problem)
    peers = tuple(_resolve(spec) for spec in args.peer)
    if invite is not None:
        peers += tuple((address, invite.port) for address in invite.addresses)
    interfaces = checked_interfaces(args.interface)
    limits = replace(
        limits,
        history_messages=args.history_limit,
        history_days=args.history_days,
        author_rate=args.rate_limit,
        author_burst=args.rate_limit * RATE_BURST_SECONDS,
    )
    passphrase = room_passphrase(
        args.room,
        secret_file=args.secret_file,
        private=args.private,
        confirm_new=True,
        data_dir=None if args.ephemeral else Path(args.data_dir),
    )
    key = None if passphrase is None else room_key(passphrase, args.room)
    if (
        invite is not None
        and invite.tag is not None
        and (key is None or room_tag(key) != invite.tag)
    ):
        raise UsageError(f"that passphrase does not open the invite's room {args.room!r}; check it")
    mode = args.ui or ("tui" if sys.stdin.isatty() and sys.stdout.isatty() else "plain")
    app = ChatApp() if mode == "tui" else None
    ui: Ui = JsonUi(sys.stdout) if mode == "json" else PlainUi() if app is None else TuiUi(app)
    data_dir = None if args.ephemeral else Path(args.data_dir)
    downloads = Path(args.downloads).expanduser()
    if downloads.exists() and not downloads.is_dir():
        raise UsageError(f"--downloads {downloads} is not a directory")
    if app is not None:
        _log_to_file(data_dir)
    identity = ephemeral_identity() if data_dir is None else open_identity(data_dir)
    with identity, open_log(data_dir, limits) as message_log:
        discovery = discovery_layers(
            args, interfaces, node_id=identity.node_id, nick=nick, key=key, limits=limits
        )
        config = NodeConfig(
            nick=nick,
            room=args.room,
            bind_host=args.bind,
            port=DEFAULT_PORT if args.port is None else args.port,
            interfaces=discovery_scope(args.bind, interfaces),
            port_fallback=args.port is None,
            static_peers=peers,
            limits=limits,
            replay_on_start={"json": None, "tui": TUI_REPLAY}.get(mode, PLAIN_REPLAY),
            room_key=key,
            downloads=downloads,
            state_dir=data_dir,
        )
        deliveries: queue.SimpleQueue[Delivery] = queue.SimpleQueue()

        def show(view: View) -> None:
            if isinstance(view, Delivery):
                deliveries.put(view)  # asked for at the end of piped input, not for the screen
            else:
                ui.show(view)

        node = Node(
            config,
            identity.keys,
            message_log,
            show,
            discovery,
            on_flush=ui.flush,
            trust=TrustStore(data_dir, limits),
        )
        if app is not None:
            app.post_to_node = node.post
            with node:
                node.start()
                app.run()
            return ExitCode.OK
        with _typed_lines(ui, limits) as lines, node:
            node.start()
            for line in lines:
                if not run_line(line, node.post, ui):
                    break
            if lines.stopped_by is not None:
                log.info("stopping on %s", lines.stopped_by)
            elif args.wait > 0 and not sys.stdin.isatty():
                return _wait_for_delivery(node, deliveries, args.wait)
    return ExitCode.OK


def _invite(args: argparse.Namespace, limits: Limits) -> Invite | None:
    """The invite of --join, with --room and --private set from it; None without --join."""
    if args.join is None:
        return None
    try:
        invite = decode_invite(args.join, limits)
    except InviteError as exc:
        raise UsageError(f"bad --join: {exc}") from None
    if args.room not in (DEFAULT_ROOM, invite.room):
        raise UsageError(f"--room {args.room!r} differs from the invite's room {invite.room!r}")
    args.room = invite.room
    args.private = args.private or invite.tag is not None
    where = ", ".join(f"{address}:{invite.port}" for address in invite.addresses)
    print(f"p2pchat: joining room {invite.room!r} by its invite: dialling {where}", file=sys.stderr)
    return invite


def _wait_for_delivery(node: Node, deliveries: queue.SimpleQueue[Delivery], seconds: float) -> int:
    """At the end of piped input: wait until what was read reached a peer, bounded; say which.

    Returns ExitCode.UNDELIVERED when nothing reached anyone and no peer was ever found.
    """
    deadline = time.monotonic() + seconds
    latest: Delivery | None = None
    while True:
        node.post(ShowDelivery())
        with contextlib.suppress(queue.Empty):
            latest = deliveries.get(timeout=DELIVERY_POLL_SECONDS)
        if latest is not None and latest.unsent == 0:
            if latest.sent:
                print(f"p2pchat: all {latest.sent} messages reached a peer", file=sys.stderr)
            return ExitCode.OK
        if time.monotonic() >= deadline:
            break
    if latest is None:
        return ExitCode.OK
    print(
        f"p2pchat: {latest.unsent} of {latest.sent} messages reached no peer within "
        f"{seconds:g} s; they are stored and go out when this data dir joins the room again "
        "(--wait N waits longer)",
        file=sys.stderr,
    )
    nothing = latest.unsent == latest.sent and not latest.ever_linked
    return ExitCode.UNDELIVERED if nothing else ExitCode.OK


def _typed_lines(ui: Ui, limits: Limits) -> StdinLines | TerminalLines:
    """A line editor when plain mode runs on a terminal; plain lines from pipes and files."""
    if isinstance(ui, PlainUi) and sys.stdin.isatty() and sys.stdout.isatty():
        return TerminalLines(ui.problem, ui.nicks, limits.max_text_chars)
    return StdinLines()


def _log_to_file(data_dir: Path | None) -> None:
    """The full-screen UI owns the terminal: logs go to p2pchat.log in the data dir."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if data_dir is None:
        root.addHandler(logging.NullHandler())
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(data_dir / LOG_FILE_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


def _resolve(spec: str) -> tuple[str, int]:
    try:
        return resolve_peer(spec)
    except ValueError as exc:
        raise UsageError(f"bad --peer: {exc}") from None


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="p2pchat: %(levelname)s: %(message)s", stream=sys.stderr
    )
    if verbosity < 2:
        logging.getLogger("zeroconf").setLevel(logging.ERROR)
