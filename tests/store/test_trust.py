"""TrustStore: the first key per nick, remembered in memory, written rarely, bounded everywhere."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from p2pchat.core.limits import DEFAULT_LIMITS, Limits
from p2pchat.store import trust
from p2pchat.store.trust import TRUST_FILE, TrustStore

A = "a" * 32
B = "b" * 32
C = "c" * 32


def count_writes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    written: list[Path] = []
    real = trust.write_atomically

    def counting(path: Path, data: bytes, mode: int = 0o600) -> None:
        written.append(path)
        real(path, data, mode)

    monkeypatch.setattr(trust, "write_atomically", counting)
    return written


def test_remember_writes_nothing_until_flush_and_flush_writes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = count_writes(monkeypatch)
    store = TrustStore(tmp_path)
    for i in range(10):
        store.remember(f"nick{i}", A)
    store.remember("nick0", B)  # a later key never replaces the first
    assert not (tmp_path / TRUST_FILE).exists()
    store.flush()
    store.flush()  # nothing new: no second write
    store.remember("nick0", B)
    store.flush()
    assert len(written) == 1
    assert TrustStore(tmp_path).known() == {f"nick{i}": A for i in range(10)}


def test_the_file_stays_sorted_json_and_private(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    store.remember("bob", B)
    store.remember("alice", A)
    store.flush()
    text = (tmp_path / TRUST_FILE).read_text()
    assert text == json.dumps({"alice": A, "bob": B}, indent=1, sort_keys=True) + "\n"
    assert (tmp_path / TRUST_FILE).stat().st_mode & 0o777 == 0o600


def test_one_key_gets_at_most_max_nicks_per_key(tmp_path: Path) -> None:
    limits = replace(DEFAULT_LIMITS, max_nicks_per_key=3)
    store = TrustStore(tmp_path, limits)
    for i in range(1000):  # a peer changing its nick in a loop
        store.remember(f"loop{i}", A)
    store.remember("bob", B)
    store.flush()
    expected = {"loop0": A, "loop1": A, "loop2": A, "bob": B}
    assert store.known() == expected
    assert TrustStore(tmp_path, limits).known() == expected


def test_at_most_max_known_nicks_and_nothing_is_evicted(tmp_path: Path) -> None:
    limits = replace(DEFAULT_LIMITS, max_known_nicks=4, max_nicks_per_key=2)
    store = TrustStore(tmp_path, limits)
    for nick, node_id in [("a1", A), ("a2", A), ("b1", B), ("b2", B), ("c1", C), ("a1", C)]:
        store.remember(nick, node_id)
    store.flush()
    expected = {"a1": A, "a2": A, "b1": B, "b2": B}
    assert store.known() == expected
    assert TrustStore(tmp_path, limits).known() == expected


def test_invalid_entries_are_not_remembered(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    for nick, node_id in [("", A), ("two words", A), ("x" * 33, A), ("ok", "A" * 32), ("ok", "a")]:
        store.remember(nick, node_id)
    store.flush()
    assert store.known() == {}
    assert not (tmp_path / TRUST_FILE).exists()


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json",
        "[]",
        '"alice"',
        "[" * 100_000,
        '{"alice": ' * 100_000,
        b"\xff\xfe{}",
    ],
)
def test_a_malformed_file_counts_as_empty(tmp_path: Path, content: str | bytes) -> None:
    path = tmp_path / TRUST_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    assert TrustStore(tmp_path).known() == {}


def test_only_valid_entries_are_loaded_within_the_bounds(tmp_path: Path) -> None:
    entries: dict[str, object] = {
        "alice": A,
        "bob": "not an id",
        "carol": 5,
        "dave": ["a"],
        "erin": A.upper(),
        "has space": B,
        "x" * 33: B,
        "frank": B,
    }
    entries |= {f"z{i:03}": C for i in range(100)}
    (tmp_path / TRUST_FILE).write_text(json.dumps(entries))
    limits = replace(DEFAULT_LIMITS, max_known_nicks=6, max_nicks_per_key=3)
    assert TrustStore(tmp_path, limits).known() == {
        "alice": A,
        "frank": B,
        "z000": C,
        "z001": C,
        "z002": C,
    }


def test_a_huge_file_is_read_only_up_to_the_bound(tmp_path: Path) -> None:
    limits = replace(DEFAULT_LIMITS, max_known_nicks=2, max_nick_chars=4)
    path = tmp_path / TRUST_FILE
    path.write_text('{"ab": "' + A + '", "cd": "' + "x" * 10**6 + '"}')
    assert TrustStore(tmp_path, limits).known() == {"ab": A}
    path.write_text('{"ab": "' + A + '",' + " " * 10**6 + '"cd": "' + B + '"}')
    assert TrustStore(tmp_path, limits).known() == {"ab": A}
    path.write_text(json.dumps({f"n{i}": f"{i:032x}" for i in range(10**5)}))
    assert TrustStore(tmp_path, limits).known() == {"n0": f"{0:032x}", "n1": f"{1:032x}"}


def test_a_file_cut_short_keeps_its_whole_entries(tmp_path: Path) -> None:
    text = json.dumps({"alice": A, "bob": B, "carol": C}, indent=1)
    (tmp_path / TRUST_FILE).write_text(text[: text.index(C) + 5])
    assert TrustStore(tmp_path).known() == {"alice": A, "bob": B}
    (tmp_path / TRUST_FILE).write_bytes(text.encode()[: text.index("bob")] + b"\xff")
    assert TrustStore(tmp_path).known() == {"alice": A}


def test_a_full_file_of_the_longest_entries_is_read_back(tmp_path: Path) -> None:
    limits = replace(DEFAULT_LIMITS, max_known_nicks=50)
    store = TrustStore(tmp_path, limits)
    for i in range(50):  # non-BMP characters: 12 bytes each once JSON-escaped
        store.remember(chr(0x1F600 + i) * limits.max_nick_chars, f"{i:032x}")
    store.flush()
    assert TrustStore(tmp_path, limits).known() == store.known()
    assert len(store.known()) == 50


def test_a_failed_flush_stays_dirty_and_is_retried(tmp_path: Path) -> None:
    data_dir = tmp_path / "later"
    store = TrustStore(data_dir)
    store.remember("alice", A)
    with pytest.raises(FileNotFoundError):
        store.flush()
    data_dir.mkdir()
    store.flush()
    assert TrustStore(data_dir).known() == {"alice": A}


def test_an_ephemeral_store_writes_nothing(tmp_path: Path) -> None:
    store = TrustStore(None, Limits())
    store.remember("alice", A)
    store.flush()
    assert store.known() == {"alice": A}
    assert list(tmp_path.iterdir()) == []
