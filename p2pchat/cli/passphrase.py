"""The room passphrase: from --secret-file, P2PCHAT_SECRET or a prompt on the terminal."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from p2pchat.cli.exits import UsageError
from p2pchat.security.room import MIN_PASSPHRASE_CHARS
from p2pchat.store.log import LogError, read_log

SECRET_ENV = "P2PCHAT_SECRET"
PASSPHRASE_ATTEMPTS = 3


def room_passphrase(
    room: str,
    *,
    secret_file: str | None,
    private: bool,
    confirm_new: bool,
    data_dir: Path | None,
) -> str | None:
    """The passphrase from secret_file, P2PCHAT_SECRET or (private) a prompt; None: open room.

    confirm_new: ask twice for a room data_dir (None: nothing on disk) never held messages of."""
    secret: str | None = None
    if secret_file is not None:
        try:
            secret = Path(secret_file).read_text().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read --secret-file {secret_file}: {exc}") from None
    elif os.environ.get(SECRET_ENV):
        secret = os.environ[SECRET_ENV]
    elif private:
        if not sys.stdin.isatty():
            raise UsageError(f"--private asks on a terminal; use --secret-file or {SECRET_ENV}")
        try:
            # A room this data dir has never held messages of is new to us: ask twice.
            return ask_passphrase(
                room,
                getpass.getpass,
                confirm=confirm_new and not _known_room(data_dir, room),
                say=lambda text: print(text, file=sys.stderr),
            )
        except (EOFError, KeyboardInterrupt):
            raise UsageError("no passphrase given") from None
    if secret is not None and len(secret) < MIN_PASSPHRASE_CHARS:
        raise UsageError(f"the room passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    return secret


def ask_passphrase(
    room: str, ask: Callable[[str], str], *, confirm: bool, say: Callable[[str], None]
) -> str:
    """Ask for a room passphrase until one is long enough (and, confirm: typed twice alike)."""
    for _ in range(PASSPHRASE_ATTEMPTS):
        secret = ask(f"passphrase for room {room!r}: ")
        if len(secret) < MIN_PASSPHRASE_CHARS:
            say(f"a room passphrase has at least {MIN_PASSPHRASE_CHARS} characters; try again")
            continue
        if confirm and ask("the same again, to be sure: ") != secret:
            say("the two did not match; try again")
            continue
        return secret
    raise UsageError(f"no usable passphrase after {PASSPHRASE_ATTEMPTS} tries")


def _known_room(data_dir: Path | None, room: str) -> bool:
    """True if data_dir holds messages of this room already (it is not new to us)."""
    if data_dir is None:
        return False
    try:
        return bool(read_log(data_dir, room, 1))
    except LogError:
        return False
