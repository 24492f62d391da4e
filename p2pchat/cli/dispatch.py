"""The `p2pchat` command's entry: parse, set up logging, run the subcommand, return its code.

Each subcommand's module is imported only when it runs: a process starts faster without the
libraries it will not use (the full screen's, the doctor's)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from p2pchat.cli.exits import run_reporting_errors
from p2pchat.cli.logging_setup import setup_logging
from p2pchat.cli.parsers import Subcommand, parser_for, split_subcommand

Command = Callable[[argparse.Namespace], int]


def run_chat(args: argparse.Namespace) -> int:
    """The chat (`p2pchat` itself)."""
    from p2pchat.cli.chat_command import run_chat as run

    return run(args)


def print_history(args: argparse.Namespace) -> int:
    """`p2pchat history`."""
    from p2pchat.cli.history_command import print_history as run

    return run(args)


def run_doctor(args: argparse.Namespace) -> int:
    """`p2pchat doctor`."""
    from p2pchat.cli.doctor_command import run_doctor as run

    return run(args)


COMMANDS: dict[Subcommand | None, Command] = {
    None: run_chat,
    Subcommand.HISTORY: print_history,
    Subcommand.DOCTOR: run_doctor,
}


def main(argv: list[str] | None = None) -> int:
    """Run the chat (or `p2pchat history`, `p2pchat doctor`); return the process exit code."""
    command, arguments = split_subcommand(sys.argv[1:] if argv is None else argv)
    args = parser_for(command).parse_args(arguments)
    setup_logging(args.verbose)
    run = COMMANDS[command]
    return int(run_reporting_errors(lambda: run(args)))
