"""`p2pchat doctor`: look for peers on every discovery layer, say what works and what to do."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.text import Text

from p2pchat.cli.discovery_options import checked_interfaces, discovery_scope, room_tag_and_hint
from p2pchat.cli.exits import DoctorExit, UsageError
from p2pchat.cli.passphrase import room_passphrase
from p2pchat.core.diagnosis import Diagnosis, diagnose
from p2pchat.core.limits import DEFAULT_LIMITS, SHORT_ID_CHARS
from p2pchat.core.messages import room_problem
from p2pchat.discovery.doctor import DoctorConfig, examine
from p2pchat.security.room import room_key

ADVICE_INDENT = 8  # the advice starts under the detail: past "FAIL", the gaps and the name


def run_doctor(args: argparse.Namespace) -> DoctorExit:
    """Look for peers of --room on every layer, print the diagnosis; the exit code says if any."""
    interfaces = checked_interfaces(args.interface)
    room_problem_text = room_problem(args.room, DEFAULT_LIMITS)
    if room_problem_text is not None:
        raise UsageError(room_problem_text)
    passphrase = room_passphrase(
        args.room,
        secret_file=args.secret_file,
        private=args.private,
        confirm_new=False,
        data_dir=Path(args.data_dir),
    )
    key = None if passphrase is None else room_key(passphrase, args.room)
    scope = discovery_scope(args.bind, interfaces)
    tag, hint = room_tag_and_hint(args.room, key)
    config = DoctorConfig(
        room=args.room,
        room_tag=tag,
        room_hint=hint,
        port=args.port,
        seconds=args.seconds,
        scope=scope,
        bind_host=args.bind,
        scan=args.scan,
    )
    if not args.json:
        where = "every interface" if scope is None else ", ".join(scope)
        print(f"p2pchat doctor: looking for room {args.room!r} on {where} for {args.seconds:g} s")
    diagnosis = diagnose(examine(config))
    if args.json:
        print(json.dumps(diagnosis.to_json(), ensure_ascii=False))
    else:
        print_diagnosis(diagnosis, Console(highlight=False, soft_wrap=True))
    return DoctorExit.PEERS_FOUND if diagnosis.peers_found else DoctorExit.NOBODY


def print_diagnosis(diagnosis: Diagnosis, console: Console) -> None:
    """The checks, one line each with its advice under it, then the peers found."""
    width = max(len(check.name) for check in diagnosis.checks)
    for check in diagnosis.checks:
        line = Text()
        line.append("ok  " if check.ok else "FAIL", style="bold green" if check.ok else "bold red")
        line.append(f"  {check.name:<{width}}  ", style="bold")
        line.append(check.detail)
        console.print(line)
        if check.advice:
            indent = " " * (width + ADVICE_INDENT)
            console.print(Text(f"{indent}-> {check.advice}", style="yellow"))
    if not diagnosis.peers_found:
        console.print(Text("peers found: none", style="bold"))
        return
    console.print(Text("peers found:", style="bold"))
    for peer in diagnosis.peers_found:
        who = f"{peer.nick}#{peer.node_id[:SHORT_ID_CHARS]}" if peer.nick else peer.node_id
        console.print(Text(f"  {who} at {peer.addr} (by {peer.via})"))
