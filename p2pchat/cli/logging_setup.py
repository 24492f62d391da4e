"""Where the log goes: stderr at the -v level asked for, or a file while the full screen runs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FILE_NAME = "p2pchat.log"
STDERR_FORMAT = "p2pchat: %(levelname)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
VERBOSE_INFO = 1  # -v
VERBOSE_DEBUG = 2  # -vv: zeroconf's own warnings too


def setup_logging(verbosity: int) -> None:
    """Log to stderr: warnings, or with -v info, with -vv debug (zeroconf's noise only then)."""
    if verbosity < VERBOSE_INFO:
        level = logging.WARNING
    else:
        level = logging.INFO if verbosity < VERBOSE_DEBUG else logging.DEBUG
    logging.basicConfig(level=level, format=STDERR_FORMAT, stream=sys.stderr)
    if verbosity < VERBOSE_DEBUG:
        logging.getLogger("zeroconf").setLevel(logging.ERROR)


def log_to_file(data_dir: Path | None) -> None:
    """The full-screen UI owns the terminal: logs go to LOG_FILE_NAME in data_dir (or nowhere)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if data_dir is None:
        root.addHandler(logging.NullHandler())
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(data_dir / LOG_FILE_NAME)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    root.addHandler(handler)
