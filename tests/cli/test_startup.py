"""Start-up: a process imports only the libraries its mode uses (each costs start-up time)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import p2pchat

ROOT = pathlib.Path(p2pchat.__file__).parent.parent
RUN_TIMEOUT = 30.0
FULL_SCREEN = {"textual", "qrcode", "PIL"}
LINE_EDITOR = {"prompt_toolkit"}
RENDERING = {"rich"}
MDNS = {"zeroconf"}

# Runs main() with its arguments (--help exits from argparse), then prints the top-level
# packages it loaded on a last line.
LOADED = """
import sys
sys.path.insert(0, sys.argv[1])
from p2pchat.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
print()
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
sys.exit(code)
"""


def loaded_by(*argv: str) -> set[str]:
    """The top-level packages `p2pchat argv` loaded (stdin at its end: the chat stops at once)."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED, str(ROOT), *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.splitlines()[-1].split())


def test_a_json_chat_without_discovery_loads_no_ui_library_and_no_zeroconf() -> None:
    argv = ("--ui", "json", "--no-discovery", "--bind", "127.0.0.1", "--port", "0")
    loaded = loaded_by(*argv, "--ephemeral", "--wait", "0")
    assert loaded & (FULL_SCREEN | LINE_EDITOR | RENDERING | MDNS) == set()


@pytest.mark.parametrize("argv", [("--help",), ("history", "--help")])
def test_help_loads_no_ui_library_and_no_zeroconf(argv: tuple[str, ...]) -> None:
    assert loaded_by(*argv) & (FULL_SCREEN | LINE_EDITOR | RENDERING | MDNS) == set()


def test_a_plain_chat_loads_rich_but_not_the_full_screen() -> None:
    argv = ("--ui", "plain", "--no-discovery", "--bind", "127.0.0.1", "--port", "0")
    loaded = loaded_by(*argv, "--ephemeral", "--wait", "0")
    assert "rich" in loaded
    assert loaded & (FULL_SCREEN | MDNS) == set()
