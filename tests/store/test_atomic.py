"""write_atomically: a whole file or nothing, never written through a link planted beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pchat.fsutil import temp_path, write_atomically
from p2pchat.security.keys import KEY_FILE, NodeKeys
from p2pchat.store.trust import TRUST_FILE, TrustStore

NODE = "a" * 32


def test_writes_the_data_privately_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_atomically(path, b"one")
    write_atomically(path, b"two")
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_stale_temp_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    temp_path(path).write_bytes(b"left over from a crash " * 100)
    write_atomically(path, b"new", mode=0o640)
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 & ~0o640 == 0  # the mode asked for, less the umask
    assert not temp_path(path).exists()


@pytest.mark.parametrize("victim_exists", [True, False])
def test_a_planted_link_is_removed_not_followed(tmp_path: Path, victim_exists: bool) -> None:
    victim = tmp_path / "victim"
    if victim_exists:
        victim.write_bytes(b"precious")
    path = tmp_path / "state.json"
    temp_path(path).symlink_to(victim)
    write_atomically(path, b"secret")
    assert path.read_bytes() == b"secret"
    assert not path.is_symlink()
    assert not temp_path(path).is_symlink()
    if victim_exists:
        assert victim.read_bytes() == b"precious"
    else:
        assert not victim.exists()


def test_a_failed_replace_raises_and_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        write_atomically(path, b"data")
    assert not temp_path(path).exists()
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "missing" / "state.json", b"data")


def test_the_key_file_is_not_written_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    temp_path(tmp_path / KEY_FILE).symlink_to(victim)
    keys = NodeKeys.load_or_create(tmp_path)
    assert victim.read_bytes() == b"precious"
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert NodeKeys.load_or_create(tmp_path).node_id == keys.node_id
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE, "victim"]


def test_the_trust_file_is_not_written_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    temp_path(tmp_path / TRUST_FILE).symlink_to(victim)
    store = TrustStore(tmp_path)
    store.remember("alice", NODE)
    store.flush()
    assert victim.read_bytes() == b"precious"
    assert TrustStore(tmp_path).known() == {"alice": NODE}
