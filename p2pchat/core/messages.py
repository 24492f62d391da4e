"""Wire messages, each declared once: a Record whose fields carry their wire names and rules
(core/wire.py). Their JSON encoding and the strict validation of peer input derive from these
declarations (core/wirecodec.py); docs/PROTOCOL.md describes the same frames for people."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, get_args

from p2pchat.core.entries import REF_SHAPE, EntryKind, check_entry
from p2pchat.core.limits import (
    DIGEST_HEX_CHARS,
    FILE_HASH_HEX_CHARS,
    MAX_BOX_CHARS,
    MAX_CODE_CHARS,
    MAX_COUNTER,
    MAX_HOST_CHARS,
    MAX_NONCE,
    MAX_PORT,
    MAX_STATUS_CHARS,
    MAX_TIMESTAMP,
    NODE_ID_HEX_CHARS,
    NONCE_BYTES,
    NONCE_HEX_CHARS,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    TAG_HEX_CHARS,
    Limits,
)
from p2pchat.core.textrules import (
    CONTROL_AND_BIDI,
    NAME_FORBIDDEN,
    NODE_ID_SHAPE,
    TEXT_FORBIDDEN,
    checked_ip,
    checked_nick,
    checked_not_blank,
    checked_room,
    clean_text,
    hex_shape,
    is_node_id,
    nick_problem,
    normal_nick,
    room_problem,
)
from p2pchat.core.wire import (
    OPTIONAL,
    Base64,
    Choice,
    Counts,
    Flag,
    Hex,
    Int,
    Limit,
    Many,
    Number,
    Record,
    Shape,
    Text,
    Wire,
    with_fields,
)
from p2pchat.core.wirecodec import Codec

__all__ = [
    "CONTROL_AND_BIDI",
    "HIDDEN",
    "MAX_COUNTER",
    "MAX_NONCE",
    "NONCE_HEX_CHARS",
    "NO_DIGEST",
    "Auth",
    "Bye",
    "ByeReason",
    "Chat",
    "Direct",
    "ErrorFrame",
    "FileEnd",
    "FileOffer",
    "FileRequest",
    "FileStop",
    "Hello",
    "Message",
    "NickChange",
    "PeerAddress",
    "PeerList",
    "Ping",
    "Pong",
    "Presence",
    "PresenceStatus",
    "Receipt",
    "RefusalCode",
    "SyncBatch",
    "SyncRequest",
    "clean_text",
    "decode_message",
    "direct_content",
    "encode_message",
    "is_node_id",
    "nick_problem",
    "normal_nick",
    "parse_direct_content",
    "room_problem",
    "with_fields",
]

NO_DIGEST = "0" * DIGEST_HEX_CHARS  # a ping without a recent digest (it is optional)
HIDDEN = "-"  # nick and room in the HELLO of a private room


class RefusalCode(StrEnum):
    """The codes of the refusals (`error`) we send; ErrorFrame.code stays a str, so that the
    code of a newer peer still decodes (and reads as "for a reason it did not name")."""

    VERSION = "version"
    IDENTITY = "identity"
    ROOM = "room"
    AUTH = "auth"
    PROTOCOL = "protocol"


class PresenceStatus(StrEnum):
    """Whether a member is at the keyboard, as it says in its `presence` frames."""

    HERE = "here"
    AWAY = "away"


class ByeReason(StrEnum):
    """The reasons of the `bye` we send; Bye.reason stays a str (a newer peer may send others)."""

    QUIT = "quit"
    DUPLICATE = "duplicate"


# The kinds of field, each with its rule (core/wire.py).
NodeId = Annotated[str, Shape(NODE_ID_SHAPE)]
HexId = Annotated[str, Shape(hex_shape(NONCE_HEX_CHARS))]  # DM nonces, offer IDs
OfferId = Annotated[HexId, Wire("id")]
Digest = Annotated[str, Shape(hex_shape(DIGEST_HEX_CHARS))]
Counter = Annotated[int, Int(0, MAX_COUNTER)]
SeqNumber = Annotated[int, Int(1, MAX_COUNTER)]  # seqs and Lamport clocks start at 1
PingNonce = Annotated[int, Int(0, MAX_NONCE), Wire("n")]
Port = Annotated[int, Int(0, MAX_PORT)]
FileSize = Annotated[int, Int(0, Limit("max_file_bytes"))]
Timestamp = Annotated[float, Number(0.0, MAX_TIMESTAMP)]
PublicKey = Annotated[bytes, Hex(PUBLIC_KEY_BYTES)]
LinkKey = Annotated[bytes, Hex(PUBLIC_KEY_BYTES, or_empty=True), OPTIONAL]  # HELLO, after v1
Signature = Annotated[bytes, Hex(SIGNATURE_BYTES), Wire("sig")]
Nick = Annotated[str, Text(Limit("max_nick_chars"), check=checked_nick)]
ChatText = Annotated[str, Text(Limit("max_text_chars"), min_chars=1, forbidden=TEXT_FORBIDDEN)]
# An entry's text may be empty (a delete has none); check_entry says which kinds need one.
EntryText = Annotated[str, Text(Limit("max_text_chars"), forbidden=TEXT_FORBIDDEN)]
MessageRef = Annotated[str, Shape(REF_SHAPE)]  # a room message's ID, author:seq (or "")
Reason = Annotated[str, Text(Limit("max_reason_chars"), forbidden=TEXT_FORBIDDEN)]
Versions = Annotated[
    dict[str, int], Counts(NODE_ID_SHAPE, MAX_COUNTER, Limit("max_tracked_authors"))
]


class Hello(Record, frozen=True):
    """First frame on every connection, both ways, in the clear.

    version, node_id, nick, room and port never change across versions. key is the Ed25519
    public key the node ID derives from, dh the X25519 key for direct messages, nonce a fresh
    challenge, ek this link's ephemeral X25519 key (the link keys come from it). In a private
    room, room and nick are HIDDEN and tag names the room instead.
    """

    WIRE_TYPE: ClassVar[str] = "hello"
    version: Annotated[Counter, Wire("v")]
    node_id: Annotated[NodeId, Wire("id")]
    nick: Nick
    room: Annotated[str, Text(Limit("max_room_chars"), check=checked_room)]
    port: Port
    # Only the fields above are required, so any version can tell another what it speaks.
    key: LinkKey = b""
    dh: LinkKey = b""
    nonce: Annotated[bytes, Hex(NONCE_BYTES, or_empty=True), OPTIONAL] = b""
    tag: Annotated[str, Shape(hex_shape(TAG_HEX_CHARS, or_empty=True)), OPTIONAL] = ""
    ek: LinkKey = b""


class Auth(Record, frozen=True):
    """Second frame each way: proof of the key (a signature over the peer's nonce), and the
    real nick (a private room only sends it here, encrypted)."""

    WIRE_TYPE: ClassVar[str] = "auth"
    signature: Signature
    nick: Nick


class ErrorFrame(Record, frozen=True):
    """A refusal the receiver can show (a RefusalCode, or a newer peer's code); the sender
    closes next."""

    WIRE_TYPE: ClassVar[str] = "error"
    code: Annotated[str, Text(MAX_CODE_CHARS, forbidden=NAME_FORBIDDEN)]
    text: Reason
    version: Annotated[Counter, Wire("v")]


class Bye(Record, frozen=True):
    """The sender is closing this link on purpose (a ByeReason, or a newer peer's reason)."""

    WIRE_TYPE: ClassVar[str] = "bye"
    reason: Reason


class Ping(Record, frozen=True):
    """Liveness probe, answered with a Pong of the same nonce; also carries the sender's
    history digest (a mismatch starts a sync), a digest of its newest messages' contents
    (a mismatch with equal histories means two versions of one ID: a recheck) and wall clock
    (to flag clocks far off)."""

    WIRE_TYPE: ClassVar[str] = "ping"
    nonce: PingNonce
    digest: Annotated[Digest, Wire("h")]
    wall: Annotated[Timestamp, Wire("w")]
    recent: Annotated[Digest, Wire("r", optional=True)] = NO_DIGEST


class Pong(Record, frozen=True):
    """Answer to a Ping, with the answering side's digests (as a ping carries them; NO_DIGEST
    from a peer that sends none)."""

    WIRE_TYPE: ClassVar[str] = "pong"
    nonce: PingNonce
    digest: Annotated[Digest, Wire("h", optional=True)] = NO_DIGEST
    recent: Annotated[Digest, Wire("r", optional=True)] = NO_DIGEST


class PeerAddress(Record, frozen=True):
    """Where a member of the room listens, as seen by the node that reports it."""

    node_id: Annotated[NodeId, Wire("id")]
    host: Annotated[str, Text(MAX_HOST_CHARS, check=checked_ip)]
    port: Port


class PeerList(Record, frozen=True):
    """The sender's direct neighbours, so the receiver can dial the ones it lacks.

    complete=True: these are all of them (the receiver uses the set to decide whom to relay to).
    """

    WIRE_TYPE: ClassVar[str] = "peers"
    peers: Annotated[tuple[PeerAddress, ...], Many(PeerAddress, Limit("max_gossip_peers"))]
    complete: Annotated[bool, Flag(), Wire("all", optional=True)] = False


class NickChange(Record, frozen=True):
    """The sender now goes by a new nick."""

    WIRE_TYPE: ClassVar[str] = "nick"
    nick: Nick


class Presence(Record, frozen=True):
    """The sender is here or away now (text: its status, if it gave one); sent on each link."""

    WIRE_TYPE: ClassVar[str] = "presence"
    status: Annotated[PresenceStatus, Choice(PresenceStatus)]
    text: Annotated[str, Text(MAX_STATUS_CHARS, forbidden=NAME_FORBIDDEN), OPTIONAL] = ""


class Chat(Record, frozen=True):
    """A room entry, identified by (author, seq) and flooded to every member: a message, or
    (kind) a reply, an action, a reaction, an edit or a delete of the message ref names."""

    WIRE_TYPE: ClassVar[str] = "chat"
    OMIT_DEFAULTS: ClassVar[bool] = True  # a plain message goes as it always did
    author: Annotated[NodeId, Wire("from")]
    seq: SeqNumber
    lamport: Annotated[SeqNumber, Wire("lc")]
    ts: Timestamp
    nick: Nick
    text: EntryText
    key: PublicKey = b""
    signature: Signature = b""
    kind: Annotated[EntryKind, Choice(EntryKind), Wire("k", optional=True)] = EntryKind.TEXT
    ref: Annotated[MessageRef, Wire("re", optional=True)] = ""

    def __post_init__(self) -> None:
        """Refuse an entry that breaks its kind's rules (ProtocolError, from a peer)."""
        if self.ref or self.kind is not EntryKind.TEXT or not self.text:
            check_entry(self.kind, self.ref, self.author, self.text)

    @property
    def msg_id(self) -> str:
        """The message ID as shown to users and scripts: author:seq."""
        return f"{self.author}:{self.seq}"


class Direct(Record, frozen=True):
    """A message for one member, identified by (author, nonce): nick and text are sealed to the
    recipient's X25519 key (box, opened with the ephemeral key), and the whole is signed."""

    WIRE_TYPE: ClassVar[str] = "dm"
    author: Annotated[NodeId, Wire("from")]
    to: NodeId
    nonce: HexId
    ts: Timestamp
    key: PublicKey
    ephemeral: Annotated[PublicKey, Wire("eph")]
    box: Annotated[bytes, Base64(MAX_BOX_CHARS)]
    signature: Signature

    @property
    def msg_id(self) -> str:
        """The message ID as shown to users and scripts: author:d:nonce."""
        return f"{self.author}:d:{self.nonce}"


class Receipt(Record, frozen=True):
    """The recipient of a direct message (author) tells its writer (to) that it arrived: the DM
    named by (to, nonce). Signed, so members that hold the DM for the recipient may drop it."""

    WIRE_TYPE: ClassVar[str] = "receipt"
    author: Annotated[NodeId, Wire("from")]
    to: NodeId
    nonce: HexId
    ts: Timestamp
    key: PublicKey
    signature: Signature

    @property
    def direct_id(self) -> str:
        """The message ID of the direct message it acknowledges (to:d:nonce)."""
        return f"{self.to}:d:{self.nonce}"


class SyncRequest(Record, frozen=True):
    """Asks for what the sender lacks: its version vector {author: highest contiguous seq} and
    horizon (the oldest Lamport clock it holds, once it let older messages go; else 0); a
    positive recent also asks for the answerer's newest `recent` messages, to compare them."""

    WIRE_TYPE: ClassVar[str] = "sync"
    versions: Annotated[Versions, Wire("vv")]
    horizon: Annotated[Counter, Wire("hz")]
    recent: Annotated[int, Int(0, Limit("recent_check_messages")), Wire("rc")] = 0


class SyncBatch(Record, frozen=True):
    """Part of an answer to a SyncRequest, oldest first; more=True means ask again for the rest.

    floors: per author, the seq at or below which the receiver should stop waiting for anything.
    """

    WIRE_TYPE: ClassVar[str] = "batch"
    messages: Annotated[tuple[Chat, ...], Many(Chat, Limit("sync_batch_messages")), Wire("msgs")]
    floors: Versions
    more: Annotated[bool, Flag()]


class FileOffer(Record, frozen=True):
    """A file offered to the room (to="") or to one member, signed by the offerer.

    Only name, size and BLAKE3 hash travel here; the bytes follow on request, on the direct link.
    """

    WIRE_TYPE: ClassVar[str] = "offer"
    offer_id: OfferId
    author: Annotated[NodeId, Wire("from")]
    to: Annotated[str, Shape(hex_shape(NODE_ID_HEX_CHARS, or_empty=True))]
    name: Annotated[
        str,
        Text(Limit("max_file_name_chars"), forbidden=TEXT_FORBIDDEN, check=checked_not_blank),
    ]
    size: FileSize
    blake3: Annotated[str, Shape(hex_shape(FILE_HASH_HEX_CHARS))]
    ts: Timestamp
    key: PublicKey
    signature: Signature


class FileRequest(Record, frozen=True):
    """A request for an offered file's bytes from an offset (which makes transfers resumable)."""

    WIRE_TYPE: ClassVar[str] = "fetch"
    offer_id: OfferId
    offset: FileSize


class FileEnd(Record, frozen=True):
    """All chunks of a transfer were sent (size: the file's full size)."""

    WIRE_TYPE: ClassVar[str] = "fileend"
    offer_id: OfferId
    size: FileSize


class FileStop(Record, frozen=True):
    """Either side stops a transfer (cancelled, file gone or changed, disk full)."""

    WIRE_TYPE: ClassVar[str] = "filestop"
    offer_id: OfferId
    reason: Reason


Message = (
    Hello
    | Auth
    | ErrorFrame
    | Bye
    | Ping
    | Pong
    | PeerList
    | NickChange
    | Presence
    | Chat
    | Direct
    | Receipt
    | SyncRequest
    | SyncBatch
    | FileOffer
    | FileRequest
    | FileEnd
    | FileStop
)


def encode_message(message: Message) -> bytes:
    """Serialise one message as a compact UTF-8 JSON object."""
    return _MESSAGES.encode(message)


def decode_message(payload: bytes | bytearray, limits: Limits) -> Message:
    """Parse and validate one frame payload from a peer; raise ProtocolError if it is not valid
    (unknown members are ignored; see docs/PROTOCOL.md, Framing)."""
    return _MESSAGES.decode(payload, limits)


def parse_direct_content(plaintext: bytes, limits: Limits) -> tuple[str, str]:
    """The (nick, text) sealed inside a direct message; ProtocolError if malformed."""
    content = _SEALED.decode(plaintext, limits)
    return content.nick, content.text


def direct_content(nick: str, text: str) -> bytes:
    """What a direct message seals: the sender's nick and the text, as a JSON object."""
    return _SEALED.encode(_Sealed(nick, text))


class _Sealed(Record, frozen=True):
    """The content of a direct message, sealed to its recipient (no type member)."""

    nick: Nick
    text: ChatText


_MESSAGES: Codec[Message] = Codec(get_args(Message))
_SEALED: Codec[_Sealed] = Codec((_Sealed,), tagged=False)
