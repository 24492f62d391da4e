"""The docs point at tests that exist: every `tests/...::name` in SECURITY.md is a real test."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
SHORT = re.compile(r"`::(\w+)`")


def test_every_test_named_in_security_md_exists() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    missing = []
    for line in text.splitlines():
        current = None
        for match in re.finditer(rf"{REFERENCE.pattern}|{SHORT.pattern}", line):
            path, name, short = match.group(1), match.group(2), match.group(3)
            if path is not None:
                current = path
            else:
                name = short
            if current is None or name not in _tests_in(current):
                missing.append(f"{current}::{name}")
    assert missing == []


def _tests_in(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
