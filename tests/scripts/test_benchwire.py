"""The wire benchmark still runs and reports every message (figures are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchwire_reports_encode_and_decode_times_for_every_sample() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "benchwire.py"), "--repeat", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(result.stdout)
    assert {"Chat", "Chat reaction", "Chat edit", "Chat delete", "Ping", "Hello"} <= set(figures)
    assert "SyncBatch (50 chats)" in figures
    for row in figures.values():
        assert row["bytes"] > 0 and row["encode_us"] > 0 and row["decode_us"] > 0
