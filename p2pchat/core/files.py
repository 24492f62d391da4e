"""File sharing, the protocol part: offers, acceptance, requests with offsets, completion.

Bytes never pass through here. The runtime streams them as binary frames over the two nodes'
direct link and reports progress back as events. This module decides who may fetch what, and
from where; when to (re)start a transfer; and what the user is told.

States of an incoming offer: offered -> accepted -> receiving -> done | failed, or declined,
or withdrawn (by its sender, before we accepted). Finished ones are remembered across restarts,
so an offer announced again is never shown as new.
An accepted transfer that loses its link goes back to accepted and resumes (from the bytes
already on disk) when the offerer is linked again, also after either side restarts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from p2pchat.core.messages import CONTROL_AND_BIDI, FileOffer


class TransferState(StrEnum):
    """Where an offer stands: for us (offered, accepted, receiving, then done, failed,
    declined or withdrawn) or, for its sender, shared (nobody fetching) or serving."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    RECEIVING = "receiving"
    DONE = "done"
    FAILED = "failed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # its sender stopped offering it before we accepted
    SERVING = "serving"
    SHARED = "shared"


ACTIVE = frozenset({TransferState.ACCEPTED, TransferState.RECEIVING})
FINISHED = frozenset(
    {TransferState.DONE, TransferState.FAILED, TransferState.DECLINED, TransferState.WITHDRAWN}
)

FALLBACK_NAME = "file"
MAX_NAME_BYTES = 200
# Control characters and bidi overrides, and path and shell-special characters (every character
# Windows forbids in a name among them).
_UNSAFE = re.compile(f'[{CONTROL_AND_BIDI}/\\\\:*?"<>|]')
# Names Windows keeps for devices, whatever their case and extension ("nul.txt" is NUL too),
# with the superscript digits it also takes as COM and LPT numbers.
WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789\u00b9\u00b2\u00b3"}
)


@dataclass
class Incoming:
    """An offer made to us."""

    offer: FileOffer
    nick: str
    state: TransferState = TransferState.OFFERED
    received: int = 0
    conn: int | None = None
    detail: str = ""

    @property
    def name(self) -> str:
        """The offered name as it will be saved (and shown): one safe file name."""
        return safe_file_name(self.offer.name)


@dataclass
class Outgoing:
    """A file we offer; serving maps a requester's node ID to the link it is fetching over."""

    offer: FileOffer
    path: str
    mtime_ns: int = 0
    serving: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)  # peers that were sent the whole file


def safe_file_name(name: str) -> str:
    """One plain, non-empty file name of at most MAX_NAME_BYTES (UTF-8), not starting with a dot,
    that every common file system takes as it is (Windows' rules included).

    No directories, control, bidi or special characters, no leading whitespace or dots, no
    trailing whitespace or dots (Windows drops them), and no device name of Windows ("CON",
    "nul.txt": given a leading "_"); a name that must be shortened keeps its extension when its
    stem can keep a character.
    """
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    # Lone surrogates (undecodable bytes of a local name) cannot be encoded: replaced too.
    base = re.sub("[\ud800-\udfff]", "_", _UNSAFE.sub("_", base))

    def trim(text: str) -> str:
        return re.sub(r"^[\s.]+|[\s.]+$", "", text)

    def cut(text: str, size: int) -> str:
        return text.encode()[: max(size, 0)].decode(errors="ignore")

    base = trim(base)
    if len(base.encode()) > MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        short_stem = trim(cut(stem, MAX_NAME_BYTES - len((dot + ext).encode()))) if dot else ""
        base = short_stem + dot + ext if short_stem else trim(cut(base, MAX_NAME_BYTES))
    if base.split(".")[0].rstrip().upper() in WINDOWS_RESERVED:
        base = trim(cut("_" + base, MAX_NAME_BYTES))
    return base or FALLBACK_NAME


def numbered(name: str, attempt: int) -> str:
    """name, or "name (n).ext" for the n-th alternative when a file of that name exists."""
    if attempt == 0:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({attempt})"
    return f"{stem} ({attempt}).{ext}"


def human_size(size: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
