"""Wire messages: frozen dataclasses, their JSON encoding, and strict validation of peer input."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from p2pchat.core.errors import LocalProtocolError, ProtocolError
from p2pchat.core.limits import (
    NODE_ID_HEX_CHARS,
    NONCE_BYTES,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    TAG_HEX_CHARS,
    Limits,
)


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame on every connection, both ways, in the clear.

    version, node_id, nick, room and port never change across versions. key is the Ed25519
    public key the node ID derives from, dh the X25519 key for direct messages, nonce a fresh
    challenge, ek this link's ephemeral X25519 key (the link keys come from it). In a private
    room, room and nick are HIDDEN and tag names the room instead.
    """

    version: int
    node_id: str
    nick: str
    room: str
    port: int
    key: bytes = b""
    dh: bytes = b""
    nonce: bytes = b""
    tag: str = ""
    ek: bytes = b""


@dataclass(frozen=True, slots=True)
class Auth:
    """Second frame each way: proof of the key (a signature over the peer's nonce), and the
    real nick (a private room only sends it here, encrypted)."""

    signature: bytes
    nick: str


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """A refusal the receiver can show ("version", "room", ...); the sender closes next."""

    code: str
    text: str
    version: int


@dataclass(frozen=True, slots=True)
class Bye:
    """The sender is closing this link on purpose ("quit", "duplicate", ...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Liveness probe, answered with a Pong of the same nonce; also carries the sender's
    history digest (a mismatch starts a sync), a digest of its newest messages' contents
    (a mismatch with equal histories means two versions of one ID: a recheck) and wall clock
    (to flag clocks far off)."""

    nonce: int
    digest: str
    wall: float
    recent: str = "0000000000000000"  # NO_DIGEST


@dataclass(frozen=True, slots=True)
class Pong:
    """Answer to a Ping."""

    nonce: int


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """Where a member of the room listens, as seen by the node that reports it."""

    node_id: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class PeerList:
    """The sender's direct neighbours, so the receiver can dial the ones it lacks.

    complete=True: these are all of them (the receiver uses the set to decide whom to relay to).
    """

    peers: tuple[PeerAddress, ...]
    complete: bool = False


@dataclass(frozen=True, slots=True)
class NickChange:
    """The sender now goes by a new nick."""

    nick: str


@dataclass(frozen=True, slots=True)
class Chat:
    """A room message, identified by (author, seq) and flooded to every member."""

    author: str
    seq: int
    lamport: int
    ts: float
    nick: str
    text: str
    key: bytes = b""
    signature: bytes = b""

    @property
    def msg_id(self) -> str:
        """The message ID as shown to users and scripts: author:seq."""
        return f"{self.author}:{self.seq}"


@dataclass(frozen=True, slots=True)
class Direct:
    """A message for one member, identified by (author, nonce): nick and text are sealed to the
    recipient's X25519 key (box, opened with the ephemeral key), and the whole is signed."""

    author: str
    to: str
    nonce: str
    ts: float
    key: bytes
    ephemeral: bytes
    box: bytes
    signature: bytes

    @property
    def msg_id(self) -> str:
        """The message ID as shown to users and scripts: author:d:nonce."""
        return f"{self.author}:d:{self.nonce}"


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Asks for what the sender lacks: its version vector {author: highest contiguous seq} and
    horizon (the oldest Lamport clock it holds, once it let older messages go; else 0); a
    positive recent also asks for the answerer's newest `recent` messages, to compare them."""

    versions: dict[str, int]
    horizon: int
    recent: int = 0


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """Part of an answer to a SyncRequest, oldest first; more=True means ask again for the rest.

    floors: per author, the seq at or below which the receiver should stop waiting for anything.
    """

    messages: tuple[Chat, ...]
    floors: dict[str, int]
    more: bool


@dataclass(frozen=True, slots=True)
class FileOffer:
    """A file offered to the room (to="") or to one member, signed by the offerer.

    Only name, size and BLAKE3 hash travel here; the bytes follow on request, on the direct link.
    """

    offer_id: str
    author: str
    to: str
    name: str
    size: int
    blake3: str
    ts: float
    key: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class FileRequest:
    """A request for an offered file's bytes from an offset (which makes transfers resumable)."""

    offer_id: str
    offset: int


@dataclass(frozen=True, slots=True)
class FileEnd:
    """All chunks of a transfer were sent (size: the file's full size)."""

    offer_id: str
    size: int


@dataclass(frozen=True, slots=True)
class FileStop:
    """Either side stops a transfer (cancelled, file gone or changed, disk full)."""

    offer_id: str
    reason: str


Message = (
    Hello
    | Auth
    | ErrorFrame
    | Bye
    | Ping
    | Pong
    | PeerList
    | NickChange
    | Chat
    | Direct
    | SyncRequest
    | SyncBatch
    | FileOffer
    | FileRequest
    | FileEnd
    | FileStop
)

MAX_NONCE = 2**53
NONCE_HEX_CHARS = 16
MAX_TIMESTAMP = 1e11
MAX_COUNTER = 2**63 - 1
MAX_CODE_CHARS = 32
DIGEST_HEX_CHARS = 16
NO_DIGEST = "0" * DIGEST_HEX_CHARS  # a ping without a recent digest (it is optional)
HIDDEN = "-"  # nick and room in the HELLO of a private room
MAX_BOX_BYTES = 96 * 1024
# A regex class body: C0 and C1 controls, DEL, and the bidi marks and overrides that can make
# "invoice<RLO>fdp.exe" look like "invoiceexe.pdf". No name may hold them.
CONTROL_AND_BIDI = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"

_NODE_ID = re.compile(f"[0-9a-f]{{{NODE_ID_HEX_CHARS}}}")
_NONCE = re.compile(f"[0-9a-f]{{{NONCE_HEX_CHARS}}}")
_DIGEST = re.compile(f"[0-9a-f]{{{DIGEST_HEX_CHARS}}}")
_TAG = re.compile(f"[0-9a-f]{{{TAG_HEX_CHARS}}}")
_HEX = re.compile("[0-9a-f]*")
_FILE_HASH = re.compile("[0-9a-f]{64}")
# C0 controls except tab and newline, DEL, C1 controls, and lone surrogates.
_BAD_TEXT_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# In names also no whitespace, no '#' (used to tell equal nicks apart) and no bidi overrides.
_BAD_NICK_CHARS = re.compile(f"[\\s#{CONTROL_AND_BIDI}\ud800-\udfff]")
_BAD_ROOM_CHARS = re.compile(f"[{CONTROL_AND_BIDI}\ud800-\udfff]")
# Format (zero-width joiners, soft hyphen, bidi marks), private use, unassigned, surrogates.
INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cn", "Cs", "Cc", "Zl", "Zp", "Zs"})
# Letters and marks that show as nothing or as a blank: Hangul fillers, the braille blank,
# the combining grapheme joiner, variation selectors, Mongolian free variation selectors.
INVISIBLE_CHARS = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u180b\u180c\u180d\u180f"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)


def encode_message(message: Message) -> bytes:
    """Serialise one message as a compact UTF-8 JSON object."""
    return json.dumps(_to_wire(message), separators=(",", ":"), ensure_ascii=False).encode()


def decode_message(payload: bytes | bytearray, limits: Limits) -> Message:
    """Parse and validate one frame payload from a peer; raise ProtocolError if it is not valid."""
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"undecodable frame: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("frame is not a JSON object")
    kind = obj.get("t")
    if not isinstance(kind, str):
        raise ProtocolError("frame has no type")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ProtocolError(f"unknown frame type {kind[:32]!r}")
    try:
        return parser(obj, limits)
    except ProtocolError:
        raise
    except (ValueError, TypeError, ArithmeticError) as exc:
        # Defence in depth: whatever slipped past the checks is still only this peer's fault.
        raise ProtocolError(f"invalid {kind} frame: {type(exc).__name__}") from None


def nick_problem(nick: str, limits: Limits) -> str | None:
    """Why this nick is not allowed, or None if it is fine.

    A nick is NFKC-normal (so full-width and small number signs are "#", and full-width
    letters are plain ones), and has no whitespace, "#" (it marks the short ID), control,
    format or invisible characters: what two people see of it is all there is.
    """
    if not 1 <= len(nick) <= limits.max_nick_chars:
        return f"a nick has 1 to {limits.max_nick_chars} characters"
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


def _invisible(char: str) -> bool:
    """True for format characters and others that show as nothing (or as a blank)."""
    return unicodedata.category(char) in INVISIBLE_CATEGORIES or char in INVISIBLE_CHARS


def clean_text(text: str) -> str:
    """Make user-typed text sendable: newlines normalised, control characters dropped, trimmed."""
    return _BAD_TEXT_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def is_node_id(value: str) -> bool:
    """True if value is a well-formed node ID (lowercase hex)."""
    return _NODE_ID.fullmatch(value) is not None


def _to_wire(message: Message) -> dict[str, Any]:
    match message:
        case Hello():
            return {
                "t": "hello",
                "v": message.version,
                "id": message.node_id,
                "nick": message.nick,
                "room": message.room,
                "port": message.port,
                "key": message.key.hex(),
                "dh": message.dh.hex(),
                "nonce": message.nonce.hex(),
                "tag": message.tag,
                "ek": message.ek.hex(),
            }
        case Auth():
            return {"t": "auth", "sig": message.signature.hex(), "nick": message.nick}
        case ErrorFrame():
            return {"t": "error", "code": message.code, "text": message.text, "v": message.version}
        case Bye():
            return {"t": "bye", "reason": message.reason}
        case Ping():
            return {
                "t": "ping",
                "n": message.nonce,
                "h": message.digest,
                "w": message.wall,
                "r": message.recent,
            }
        case Pong():
            return {"t": "pong", "n": message.nonce}
        case PeerList():
            return {
                "t": "peers",
                "peers": [{"id": p.node_id, "host": p.host, "port": p.port} for p in message.peers],
                "all": message.complete,
            }
        case NickChange():
            return {"t": "nick", "nick": message.nick}
        case Chat():
            return {"t": "chat", **_chat_fields(message)}
        case Direct():
            return {
                "t": "dm",
                "from": message.author,
                "to": message.to,
                "nonce": message.nonce,
                "ts": message.ts,
                "key": message.key.hex(),
                "eph": message.ephemeral.hex(),
                "box": base64.b64encode(message.box).decode(),
                "sig": message.signature.hex(),
            }
        case SyncRequest():
            return {
                "t": "sync",
                "vv": message.versions,
                "hz": message.horizon,
                "rc": message.recent,
            }
        case FileOffer():
            return {
                "t": "offer",
                "id": message.offer_id,
                "from": message.author,
                "to": message.to,
                "name": message.name,
                "size": message.size,
                "blake3": message.blake3,
                "ts": message.ts,
                "key": message.key.hex(),
                "sig": message.signature.hex(),
            }
        case FileRequest():
            return {"t": "fetch", "id": message.offer_id, "offset": message.offset}
        case FileEnd():
            return {"t": "fileend", "id": message.offer_id, "size": message.size}
        case FileStop():
            return {"t": "filestop", "id": message.offer_id, "reason": message.reason}
        case SyncBatch():
            return {
                "t": "batch",
                "msgs": [_chat_fields(m) for m in message.messages],
                "floors": message.floors,
                "more": message.more,
            }
    raise LocalProtocolError(f"not a message: {message!r}")


def _chat_fields(chat: Chat) -> dict[str, Any]:
    return {
        "from": chat.author,
        "seq": chat.seq,
        "lc": chat.lamport,
        "ts": chat.ts,
        "nick": chat.nick,
        "text": chat.text,
        "key": chat.key.hex(),
        "sig": chat.signature.hex(),
    }


def _int(obj: dict[str, Any], key: str, low: int, high: int) -> int:
    value = obj.get(key)
    if type(value) is not int or not low <= value <= high:
        raise ProtocolError(f"field {key!r} must be an integer in [{low}, {high}]")
    return value


def _float(obj: dict[str, Any], key: str, low: float, high: float) -> float:
    value = obj.get(key)
    number = None
    if isinstance(value, float) or (type(value) is int and abs(value) <= MAX_COUNTER):
        number = float(value)
    if number is None or not math.isfinite(number) or not low <= number <= high:
        raise ProtocolError(f"field {key!r} must be a number in [{low}, {high}]")
    return number


def _str(obj: dict[str, Any], key: str, max_chars: int, bad: re.Pattern[str] | None = None) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or len(value) > max_chars:
        raise ProtocolError(f"field {key!r} must be a string of at most {max_chars} characters")
    if bad is not None and bad.search(value):
        raise ProtocolError(f"field {key!r} has forbidden characters")
    return value


def _node_id(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or _NODE_ID.fullmatch(value) is None:
        raise ProtocolError(f"field {key!r} must be a node ID")
    return value


def _nick(obj: dict[str, Any], limits: Limits) -> str:
    value = _str(obj, "nick", limits.max_nick_chars)
    problem = nick_problem(value, limits)
    if problem is not None:
        raise ProtocolError(f"bad nick: {problem}")
    return value


def _text(obj: dict[str, Any], limits: Limits) -> str:
    value = _str(obj, "text", limits.max_text_chars, _BAD_TEXT_CHARS)
    if not value:
        raise ProtocolError("empty text")
    return value


def _host(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64 or "%" in value:
        raise ProtocolError("peer host must be an IP address (without a scope)")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ProtocolError("peer host must be an IP address") from None


def _parse_hello(obj: dict[str, Any], limits: Limits) -> Hello:
    version = _int(obj, "v", 0, MAX_COUNTER)
    room = _str(obj, "room", limits.max_room_chars)
    problem = room_problem(room, limits)
    if problem is not None:
        raise ProtocolError(f"bad room: {problem}")
    tag = obj.get("tag", "")
    if not isinstance(tag, str) or (tag and _TAG.fullmatch(tag) is None):
        raise ProtocolError("field 'tag' must be empty or 32 hex characters")
    # Only the frozen fields are required, so any version can tell another what it speaks.
    return Hello(
        version=version,
        node_id=_node_id(obj, "id"),
        nick=_nick(obj, limits),
        room=room,
        port=_int(obj, "port", 0, 65535),
        key=_hex(obj, "key", PUBLIC_KEY_BYTES, optional=True),
        dh=_hex(obj, "dh", PUBLIC_KEY_BYTES, optional=True),
        nonce=_hex(obj, "nonce", NONCE_BYTES, optional=True),
        tag=tag,
        ek=_hex(obj, "ek", PUBLIC_KEY_BYTES, optional=True),
    )


def _parse_auth(obj: dict[str, Any], limits: Limits) -> Auth:
    return Auth(signature=_hex(obj, "sig", SIGNATURE_BYTES), nick=_nick(obj, limits))


def _hex(obj: dict[str, Any], key: str, size: int, *, optional: bool = False) -> bytes:
    value = obj.get(key, "" if optional else None)
    if optional and value == "":
        return b""
    if not isinstance(value, str) or len(value) != 2 * size or _HEX.fullmatch(value) is None:
        raise ProtocolError(f"field {key!r} must be {2 * size} hex characters")
    return bytes.fromhex(value)


def _parse_error(obj: dict[str, Any], limits: Limits) -> ErrorFrame:
    return ErrorFrame(
        code=_str(obj, "code", MAX_CODE_CHARS, _BAD_ROOM_CHARS),
        text=_str(obj, "text", limits.max_reason_chars, _BAD_TEXT_CHARS),
        version=_int(obj, "v", 0, MAX_COUNTER),
    )


def _parse_bye(obj: dict[str, Any], limits: Limits) -> Bye:
    return Bye(reason=_str(obj, "reason", limits.max_reason_chars, _BAD_TEXT_CHARS))


def _parse_ping(obj: dict[str, Any], limits: Limits) -> Ping:
    return Ping(
        nonce=_int(obj, "n", 0, MAX_NONCE),
        digest=_digest(obj, "h"),
        wall=_float(obj, "w", 0.0, MAX_TIMESTAMP),
        recent=_digest(obj, "r", NO_DIGEST),
    )


def _digest(obj: dict[str, Any], key: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or _DIGEST.fullmatch(value) is None:
        raise ProtocolError(f"field {key!r} must be {DIGEST_HEX_CHARS} hex characters")
    return value


def _parse_pong(obj: dict[str, Any], limits: Limits) -> Pong:
    return Pong(nonce=_int(obj, "n", 0, MAX_NONCE))


def _parse_peers(obj: dict[str, Any], limits: Limits) -> PeerList:
    raw = obj.get("peers")
    if not isinstance(raw, list) or len(raw) > limits.max_gossip_peers:
        raise ProtocolError(f"field 'peers' must be a list of at most {limits.max_gossip_peers}")
    peers = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ProtocolError("peer entry must be an object")
        peers.append(
            PeerAddress(
                node_id=_node_id(entry, "id"),
                host=_host(entry.get("host")),
                port=_int(entry, "port", 0, 65535),
            )
        )
    complete = obj.get("all", False)
    if not isinstance(complete, bool):
        raise ProtocolError("field 'all' must be true or false")
    return PeerList(peers=tuple(peers), complete=complete)


def _parse_nick(obj: dict[str, Any], limits: Limits) -> NickChange:
    return NickChange(nick=_nick(obj, limits))


def _parse_chat(obj: dict[str, Any], limits: Limits) -> Chat:
    return Chat(
        author=_node_id(obj, "from"),
        seq=_int(obj, "seq", 1, MAX_COUNTER),
        lamport=_int(obj, "lc", 1, MAX_COUNTER),
        ts=_float(obj, "ts", 0.0, MAX_TIMESTAMP),
        nick=_nick(obj, limits),
        text=_text(obj, limits),
        key=_hex(obj, "key", PUBLIC_KEY_BYTES),
        signature=_hex(obj, "sig", SIGNATURE_BYTES),
    )


def _versions(obj: dict[str, Any], key: str, limits: Limits) -> dict[str, int]:
    raw = obj.get(key)
    if not isinstance(raw, dict) or len(raw) > limits.max_tracked_authors:
        raise ProtocolError(
            f"field {key!r} must be an object of at most {limits.max_tracked_authors}"
        )
    versions: dict[str, int] = {}
    for author, seq in raw.items():
        if _NODE_ID.fullmatch(author) is None:
            raise ProtocolError(f"field {key!r} has a key that is not a node ID")
        if type(seq) is not int or not 0 <= seq <= MAX_COUNTER:
            raise ProtocolError(f"field {key!r} has a value that is not a sequence number")
        versions[author] = seq
    return versions


def _parse_sync(obj: dict[str, Any], limits: Limits) -> SyncRequest:
    return SyncRequest(
        versions=_versions(obj, "vv", limits),
        horizon=_int(obj, "hz", 0, MAX_COUNTER),
        recent=_int(obj, "rc", 0, limits.recent_check_messages),
    )


def _parse_batch(obj: dict[str, Any], limits: Limits) -> SyncBatch:
    raw = obj.get("msgs")
    if not isinstance(raw, list) or len(raw) > limits.sync_batch_messages:
        raise ProtocolError(f"field 'msgs' must be a list of at most {limits.sync_batch_messages}")
    messages = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ProtocolError("batch entry must be an object")
        messages.append(_parse_chat(entry, limits))
    more = obj.get("more")
    if not isinstance(more, bool):
        raise ProtocolError("field 'more' must be true or false")
    return SyncBatch(messages=tuple(messages), floors=_versions(obj, "floors", limits), more=more)


def _parse_direct(obj: dict[str, Any], limits: Limits) -> Direct:
    nonce = obj.get("nonce")
    if not isinstance(nonce, str) or _NONCE.fullmatch(nonce) is None:
        raise ProtocolError("field 'nonce' must be 16 hex characters")
    box = obj.get("box")
    if not isinstance(box, str) or len(box) > MAX_BOX_BYTES * 4 // 3 + 4:
        raise ProtocolError(f"field 'box' must be base64 of at most {MAX_BOX_BYTES} bytes")
    try:
        sealed = base64.b64decode(box, validate=True)
    except (ValueError, binascii.Error):
        raise ProtocolError("field 'box' is not base64") from None
    return Direct(
        author=_node_id(obj, "from"),
        to=_node_id(obj, "to"),
        nonce=nonce,
        ts=_float(obj, "ts", 0.0, MAX_TIMESTAMP),
        key=_hex(obj, "key", PUBLIC_KEY_BYTES),
        ephemeral=_hex(obj, "eph", PUBLIC_KEY_BYTES),
        box=sealed,
        signature=_hex(obj, "sig", SIGNATURE_BYTES),
    )


def _offer_id(obj: dict[str, Any]) -> str:
    value = obj.get("id")
    if not isinstance(value, str) or _NONCE.fullmatch(value) is None:
        raise ProtocolError("field 'id' must be 16 hex characters")
    return value


def _parse_offer(obj: dict[str, Any], limits: Limits) -> FileOffer:
    to = obj.get("to")
    if to != "":
        to = _node_id(obj, "to")
    digest = obj.get("blake3")
    if not isinstance(digest, str) or _FILE_HASH.fullmatch(digest) is None:
        raise ProtocolError("field 'blake3' must be 64 hex characters")
    name = _str(obj, "name", limits.max_file_name_chars, _BAD_TEXT_CHARS)
    if not name.strip():
        raise ProtocolError("empty file name")
    return FileOffer(
        offer_id=_offer_id(obj),
        author=_node_id(obj, "from"),
        to=to,
        name=name,
        size=_int(obj, "size", 0, limits.max_file_bytes),
        blake3=digest,
        ts=_float(obj, "ts", 0.0, MAX_TIMESTAMP),
        key=_hex(obj, "key", PUBLIC_KEY_BYTES),
        signature=_hex(obj, "sig", SIGNATURE_BYTES),
    )


def _parse_fetch(obj: dict[str, Any], limits: Limits) -> FileRequest:
    return FileRequest(_offer_id(obj), _int(obj, "offset", 0, limits.max_file_bytes))


def _parse_fileend(obj: dict[str, Any], limits: Limits) -> FileEnd:
    return FileEnd(_offer_id(obj), _int(obj, "size", 0, limits.max_file_bytes))


def _parse_filestop(obj: dict[str, Any], limits: Limits) -> FileStop:
    return FileStop(_offer_id(obj), _str(obj, "reason", limits.max_reason_chars, _BAD_TEXT_CHARS))


def parse_direct_content(plaintext: bytes, limits: Limits) -> tuple[str, str]:
    """The (nick, text) sealed inside a direct message; ProtocolError if malformed."""
    try:
        obj = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("sealed content is not JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("sealed content is not an object")
    return _nick(obj, limits), _text(obj, limits)


def direct_content(nick: str, text: str) -> bytes:
    """What a direct message seals: the sender's nick and the text."""
    return json.dumps({"nick": nick, "text": text}, ensure_ascii=False).encode()


_PARSERS: dict[str, Callable[[dict[str, Any], Limits], Message]] = {
    "hello": _parse_hello,
    "auth": _parse_auth,
    "error": _parse_error,
    "bye": _parse_bye,
    "ping": _parse_ping,
    "pong": _parse_pong,
    "peers": _parse_peers,
    "nick": _parse_nick,
    "chat": _parse_chat,
    "dm": _parse_direct,
    "sync": _parse_sync,
    "batch": _parse_batch,
    "offer": _parse_offer,
    "fetch": _parse_fetch,
    "fileend": _parse_fileend,
    "filestop": _parse_filestop,
}
