"""What strings from peers and users may hold: nicks, room names, text, and hex shapes."""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from p2pchat.core.errors import ProtocolError
from p2pchat.core.limits import NODE_ID_HEX_CHARS, Limits

# A regex class body: C0 and C1 controls, DEL, and the bidi marks and overrides that can make
# "invoice<RLO>fdp.exe" look like "invoiceexe.pdf". No name may hold them.
CONTROL_AND_BIDI = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
SURROGATES = r"\ud800-\udfff"  # a regex class body (escaped: lone surrogates cannot be encoded)
# Regex class bodies of what text may not hold: C0 controls except tab and newline, DEL, C1
# controls and lone surrogates; names (room names, codes) also no bidi marks.
TEXT_FORBIDDEN = r"\x00-\x08\x0b-\x1f\x7f-\x9f" + SURROGATES
NAME_FORBIDDEN = CONTROL_AND_BIDI + SURROGATES
# Format (zero-width joiners, soft hyphen, bidi marks), private use, unassigned, surrogates.
INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cn", "Cs", "Cc", "Zl", "Zp", "Zs"})
# Letters and marks that show as nothing or as a blank: Hangul fillers, the braille blank,
# the combining grapheme joiner, variation selectors, Mongolian free variation selectors.
INVISIBLE_CHARS = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u180b\u180c\u180d\u180f"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)

_BAD_TEXT_CHARS = re.compile(f"[{TEXT_FORBIDDEN}]")
# In names also no whitespace, no '#' (used to tell equal nicks apart) and no bidi overrides.
_BAD_NICK_CHARS = re.compile(f"[\\s#{NAME_FORBIDDEN}]")
_BAD_ROOM_CHARS = re.compile(f"[{NAME_FORBIDDEN}]")


def hex_shape(chars: int, *, or_empty: bool = False) -> str:
    """A regex (for re.search) of exactly chars lowercase hex characters, or also nothing."""
    body = f"[0-9a-f]{{{chars}}}"
    return f"^(?:{body})?\\Z" if or_empty else f"^{body}\\Z"


NODE_ID_SHAPE = hex_shape(NODE_ID_HEX_CHARS)
_NODE_ID = re.compile(NODE_ID_SHAPE)


def nick_problem(nick: str, limits: Limits) -> str | None:
    """Why this nick is not allowed, or None if it is fine.

    A nick is NFKC-normal (so full-width and small number signs are "#", and full-width
    letters are plain ones), and has no whitespace, "#" (it marks the short ID), control,
    format or invisible characters: what two people see of it is all there is.
    """
    if not 1 <= len(nick) <= limits.max_nick_chars:
        return f"a nick has 1 to {limits.max_nick_chars} characters"
    if nick.isascii() and nick.isprintable() and " " not in nick and "#" not in nick:
        return None  # the usual nick: visible ASCII is NFKC-normal, its only blank is " "
    if _BAD_NICK_CHARS.search(nick) or any(_invisible(char) for char in nick):
        return "a nick has no spaces, '#', control, format or invisible characters"
    if unicodedata.normalize("NFKC", nick) != nick:
        return "a nick must be in Unicode normal form NFKC"
    return None


def normal_nick(nick: str) -> str:
    """A nick as typed, made NFKC-normal (the form every node checks)."""
    return unicodedata.normalize("NFKC", nick).strip()


def room_problem(room: str, limits: Limits) -> str | None:
    """Why this room name is not allowed, or None if it is fine."""
    if not 1 <= len(room) <= limits.max_room_chars or room != room.strip():
        return f"a room name has 1 to {limits.max_room_chars} characters, no outer spaces"
    if _BAD_ROOM_CHARS.search(room):
        return "a room name has no control characters"
    return None


def clean_text(text: str) -> str:
    """Make user-typed text sendable: newlines normalised, control characters dropped, trimmed."""
    return _BAD_TEXT_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def is_node_id(value: str) -> bool:
    """True if value is a well-formed node ID (lowercase hex)."""
    return _NODE_ID.search(value) is not None


def checked_nick(nick: str, limits: Limits) -> str:
    """nick, if it is allowed; else raise ProtocolError."""
    problem = nick_problem(nick, limits)
    if problem is not None:
        raise ProtocolError(f"bad nick: {problem}")
    return nick


def checked_room(room: str, limits: Limits) -> str:
    """room, if it is an allowed room name; else raise ProtocolError."""
    problem = room_problem(room, limits)
    if problem is not None:
        raise ProtocolError(f"bad room: {problem}")
    return room


def checked_ip(host: str, limits: Limits) -> str:
    """host as a plain IP address literal in normal form; ProtocolError if it is none (or has
    a scope)."""
    try:
        if "%" not in host:
            return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    raise ProtocolError("peer host must be an IP address (without a scope)")


def checked_not_blank(text: str, limits: Limits) -> str:
    """text, if it has a character that is not whitespace; else raise ProtocolError."""
    if not text.strip():
        raise ProtocolError("blank where a name was expected")
    return text


def _invisible(char: str) -> bool:
    """True for format characters and others that show as nothing (or as a blank)."""
    return unicodedata.category(char) in INVISIBLE_CATEGORIES or char in INVISIBLE_CHARS
