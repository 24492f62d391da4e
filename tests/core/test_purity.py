"""The core is sans-I/O: it imports no sockets, threads, zeroconf, rich or sqlite."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import msgspec

import p2pchat.core

FORBIDDEN = {
    "socket",
    "threading",
    "zeroconf",
    "rich",
    "sqlite3",
    "selectors",
    "asyncio",
    "logging",
}
CORE = pathlib.Path(p2pchat.core.__file__).parent
ROOT = CORE.parent.parent
LIBRARIES = pathlib.Path(msgspec.__file__).parent.parent  # the one the core uses (its codec)


def test_core_sources_import_nothing_forbidden() -> None:
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_core_loads_no_forbidden_module() -> None:
    # -S: without site, nothing has imported threading before we look.
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3];"
        "import p2pchat.core.mesh, p2pchat.core.codec, p2pchat.simnet;"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in sys.argv[3:])))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, str(ROOT), str(LIBRARIES), *sorted(FORBIDDEN)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() == ""
