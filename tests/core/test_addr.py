"""HOST[:PORT] text (pure)."""

from __future__ import annotations

import pytest

from p2pchat.core.addr import format_addr, parse_hostport

DEFAULT = 41234


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.7:4000", ("10.0.0.7", 4000)),
        ("10.0.0.7", ("10.0.0.7", DEFAULT)),
        ("alice.local", ("alice.local", DEFAULT)),
        ("[fe80::1]:4000", ("fe80::1", 4000)),
        ("[fe80::1]", ("fe80::1", DEFAULT)),
        ("fe80::1", ("fe80::1", DEFAULT)),  # bare IPv6: brackets are needed to give a port
        ("  host:1  ", ("host", 1)),
    ],
)
def test_a_missing_port_is_the_default_one(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text, DEFAULT) == expected


@pytest.mark.parametrize("text", ["10.0.0.7", "[fe80::1]", "fe80::1"])
def test_without_a_default_a_port_is_required(text: str) -> None:
    with pytest.raises(ValueError, match="is not"):
        parse_hostport(text)


@pytest.mark.parametrize("text", ["host:0", "host:70000", "host:x", ":4000", "[::1]x"])
def test_bad_ports_and_hosts_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hostport(text, DEFAULT)


def test_format_addr_brackets_ipv6() -> None:
    assert format_addr("::1", 4000) == "[::1]:4000"
    assert format_addr("10.0.0.7", 4000) == "10.0.0.7:4000"
