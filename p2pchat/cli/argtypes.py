"""Option value types for argparse: each turns text into a value or says in one line why not."""

from __future__ import annotations

import argparse
import ipaddress

MAX_PORT = 65535


def ip_address(text: str) -> str:
    """An IP address, in its normal spelling."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address") from None


def port(text: str) -> int:
    """A TCP or UDP port, 0 to MAX_PORT (0: any free port)."""
    if not text.isdigit() or not 0 <= int(text) <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-{MAX_PORT})")
    return int(text)


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def non_negative_float(text: str) -> float:
    """A finite number of seconds, 0 or more."""
    value = _float_or_negative(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, 0 or more")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    value = _float_or_negative(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _float_or_negative(text: str) -> float:
    """text as a float; -1.0 (refused by both float types) when it is no number."""
    try:
        return float(text)
    except ValueError:
        return -1.0
