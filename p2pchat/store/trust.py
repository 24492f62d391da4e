"""Known peers for trust on first use: nick -> node ID first seen, in the data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

TRUST_FILE = "known_peers.json"


class TrustStore:
    """A small JSON file (or nothing, when ephemeral) of the first key seen for each nick."""

    def __init__(self, data_dir: Path | None) -> None:
        self._path = None if data_dir is None else data_dir / TRUST_FILE
        self._known: dict[str, str] = {}
        if self._path is not None:
            try:
                data = json.loads(self._path.read_text())
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict):
                self._known = {k: v for k, v in data.items() if isinstance(v, str)}

    def known(self) -> dict[str, str]:
        """Everything remembered so far."""
        return dict(self._known)

    def remember(self, nick: str, node_id: str) -> None:
        """Keep the first key seen for nick (later ones never replace it)."""
        if nick in self._known:
            return
        self._known[nick] = node_id
        if self._path is None:
            return
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._known, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self._path)
