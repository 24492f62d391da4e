"""The benchmark still runs end to end (tiny settings; figures are not checked, only sanity)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_all_systems_and_reports_json() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench.py"),
            "--nodes",
            "3",
            "--messages",
            "20",
            "--rate",
            "200",
            "--burst",
            "60",
            "--idle",
            "0.5",
            "--file-mib",
            "8",
            "--file-rounds",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    figures = report["results"]["3"]
    assert set(figures) == {"p2pchat", "fanout", "relay"}
    for system in figures.values():
        assert system["lost"] == 0 and system["duplicated"] == 0
        assert system["latency_ms"]["p50"] > 0
    assert figures["p2pchat"]["copies_per_delivery"] is not None
    assert report["simulated_third_of_links_cut"]["3"]["delivered_percent"] == 100.0
