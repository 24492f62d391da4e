"""Files in the data dir written whole or not at all, never through a link planted there.

At package level, not in store/: store imports security (the identity's keys), and both write
through this module, so it imports nothing from p2pchat.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"
PRIVATE_FILE_MODE = 0o600

# Feature detection: flags a platform lacks are 0 and change nothing.
_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def write_atomically(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace path with data (made with mode) via a fresh temp file; raise OSError on failure."""
    tmp = temp_path(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a stale temp file, or a planted link: unlinking removes only the link
    fd = os.open(tmp, _CREATE_FLAGS, mode)  # O_EXCL: fails, never follows, if anything is there
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(path.parent)


def temp_path(path: Path) -> Path:
    """The temp file beside path that write_atomically writes first."""
    return path.with_name(path.name + TEMP_SUFFIX)


def _sync_dir(directory: Path) -> None:
    """Make a rename in directory durable where the platform can open a directory; else no-op."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, _DIR_FLAGS)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
