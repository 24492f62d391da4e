"""`p2pchat` itself: check the options, wire identity, log, discovery, node and UI, and chat."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from p2pchat.cli.delivery import Deliveries
from p2pchat.cli.discovery_options import checked_interfaces, discovery_layers, discovery_scope
from p2pchat.cli.exits import ExitCode, UsageError
from p2pchat.cli.joining import join_invite, static_peers
from p2pchat.cli.logging_setup import log_to_file
from p2pchat.cli.parsers import RATE_BURST_SECONDS
from p2pchat.cli.passphrase import room_passphrase
from p2pchat.cli.uimode import UiMode, chosen_mode, make_ui, replay_on_start, typed_lines
from p2pchat.core.invite import Invite
from p2pchat.core.limits import DEFAULT_LIMITS, DEFAULT_PORT, Limits
from p2pchat.core.messages import nick_problem, normal_nick, room_problem
from p2pchat.security.room import room_key, room_tag
from p2pchat.store.identity import ephemeral_identity, open_identity
from p2pchat.store.log import open_log
from p2pchat.store.trust import TrustStore
from p2pchat.transport.node import Node, NodeConfig
from p2pchat.ui.base import Ui
from p2pchat.ui.session import run_line

if TYPE_CHECKING:
    from p2pchat.ui.tui import ChatApp

FALLBACK_NICK = "anon"
NICK_SEPARATORS = re.compile(r"[\s#]+")  # what an OS user name may hold and a nick may not

log = logging.getLogger("p2pchat")


def run_chat(args: argparse.Namespace) -> ExitCode:
    """Join the room and chat until the input ends or /quit; UsageError for bad options.

    Returns UNDELIVERED when piped input reached nobody (see Deliveries.wait), else OK."""
    invite = join_invite(args.join, args.room, DEFAULT_LIMITS)
    if invite is not None:  # the invite names the room, and whether it is private
        args.room = invite.room
        args.private = args.private or invite.tag is not None
    nick = normal_nick(args.nick) if args.nick else default_nick()
    for problem in (nick_problem(nick, DEFAULT_LIMITS), room_problem(args.room, DEFAULT_LIMITS)):
        if problem is not None:
            raise UsageError(problem)
    peers = static_peers(args.peer, invite)
    interfaces = checked_interfaces(args.interface)
    limits = _chat_limits(args)
    key = _room_key(args, invite)
    mode = chosen_mode(args.ui)
    ui, app, notifications = make_ui(mode, notify=not args.no_notify)
    data_dir = None if args.ephemeral else Path(args.data_dir)
    downloads = Path(args.downloads).expanduser()
    if downloads.exists() and not downloads.is_dir():
        raise UsageError(f"--downloads {downloads} is not a directory")
    if app is not None:
        log_to_file(data_dir)
    identity = ephemeral_identity() if data_dir is None else open_identity(data_dir)
    notes = contextlib.nullcontext() if notifications is None else notifications
    with identity, notes, open_log(data_dir, limits) as message_log:
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
            replay_on_start=replay_on_start(mode),
            room_key=key,
            downloads=downloads,
            state_dir=data_dir,
        )
        deliveries = Deliveries()
        node = Node(
            config,
            identity.keys,
            message_log,
            deliveries.show_on(ui),
            discovery,
            on_flush=ui.flush,
            trust=TrustStore(data_dir, limits),
        )
        if app is not None:
            return _run_full_screen(app, node)
        return _run_lines(node, ui, limits, deliveries, args.wait, mode=mode)


def default_nick() -> str:
    """The OS user name, made into a valid nick (FALLBACK_NICK when it cannot be)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = FALLBACK_NICK
    nick = NICK_SEPARATORS.sub("_", normal_nick(name))[: DEFAULT_LIMITS.max_nick_chars]
    return nick if nick and nick_problem(nick, DEFAULT_LIMITS) is None else FALLBACK_NICK


def _chat_limits(args: argparse.Namespace) -> Limits:
    """The default limits with the history and rate options applied."""
    return replace(
        DEFAULT_LIMITS,
        history_messages=args.history_limit,
        history_days=args.history_days,
        author_rate=args.rate_limit,
        author_burst=args.rate_limit * RATE_BURST_SECONDS,
    )


def _room_key(args: argparse.Namespace, invite: Invite | None) -> bytes | None:
    """The room key of the passphrase (None: an open room); UsageError if the invite's differs."""
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
    return key


def _run_full_screen(app: ChatApp, node: Node) -> ExitCode:
    """Run the node under the full-screen app until the user quits it."""
    app.post_to_node = node.post
    with node:
        node.start()
        app.run()
    return ExitCode.OK


def _run_lines(
    node: Node, ui: Ui, limits: Limits, deliveries: Deliveries, wait: float, *, mode: UiMode
) -> ExitCode:
    """Run the node on typed or piped lines; at the end of piped input wait for delivery."""
    with typed_lines(mode, ui, limits) as lines, node:
        node.start()
        for line in lines:
            if not run_line(line, node.post, ui):
                break
        if lines.stopped_by is not None:
            log.info("stopping on %s", lines.stopped_by)
        elif wait > 0 and not sys.stdin.isatty():
            return deliveries.wait(node.post, wait)
    return ExitCode.OK
