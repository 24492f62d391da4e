"""Every limit and timer of p2pchat, in one place; tests pass smaller ones."""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL_VERSION = 3
DEFAULT_PORT = 41234  # the chat's TCP port, and the discovery beacon's UDP port, unless taken
SERVICE_TYPE = "_p2pchat._tcp.local."
FRAME_HEADER_BYTES = 4
NODE_ID_HEX_CHARS = 32
SHORT_ID_CHARS = 8
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
NONCE_BYTES = 16
TAG_HEX_CHARS = 32
ROOM_HINT_HEX_CHARS = 3  # 12 bits of a private room's name (security.room.room_hint)
FILE_CHUNK_HEADER_BYTES = 9  # 0x01 and the 8-byte transfer tag
MAX_COUNTER = 2**63 - 1  # seqs, Lamport clocks, versions and horizons on the wire
MAX_LAMPORT = 2**53  # clocks saturate here, far below the wire limit MAX_COUNTER
MAX_NONCE = 2**53  # ping nonces
MAX_TIMESTAMP = 1e11  # Unix seconds on the wire (the year 5138)
MAX_PORT = 65535
NONCE_HEX_CHARS = 16  # DM nonces and file offer IDs
DIGEST_HEX_CHARS = 16  # the history digests of a ping
FILE_HASH_HEX_CHARS = 64  # a file's BLAKE3 hash
MAX_CODE_CHARS = 32  # a refusal's code
MAX_HOST_CHARS = 64  # a gossiped host (an IP address literal)
MAX_BOX_BYTES = 96 * 1024  # the sealed content of a direct message
MAX_BOX_CHARS = MAX_BOX_BYTES * 4 // 3 + 4  # ... as base64
MAX_REACTION_CHARS = 16  # a reaction: one emoji (a joined one takes several) or a short word
MAX_STATUS_CHARS = 120  # the text of an away status


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes, counts and timers of the protocol and runtime (seconds, bytes)."""

    # Wire and message validation.
    max_frame_bytes: int = 256 * 1024
    max_text_chars: int = 16 * 1024
    max_nick_chars: int = 32
    max_room_chars: int = 64
    max_reason_chars: int = 512
    max_gossip_peers: int = 256
    max_file_name_chars: int = 255
    max_file_bytes: int = 2**50
    file_chunk_bytes: int = 248 * 1024
    file_queue_watermark: int = 256 * 1024
    max_offers: int = 1000
    max_pending_offers: int = 20  # offers of one author waiting for an answer
    max_serves_per_peer: int = 4  # files streamed to one peer at once (more fetches wait)
    max_serves: int = 16  # files streamed at once in all
    offer_announce_seconds: float = 3600.0  # offers older than this are not shown to newcomers
    links_announce_delay: float = 0.1

    max_tracked_authors: int = 10_000  # authors with floors and a version vector entry

    # Direct messages: accepted while signed within the window (it leaves room for a DM that
    # waits a week for a member who is away), and each ID is kept as long as that.
    direct_max_age: float = 8 * 86400.0
    direct_max_ahead: float = 3600.0  # clocks that run ahead
    max_seen_directs: int = 100_000
    # Direct messages for members who are away: what we keep of our own until a receipt comes,
    # and what we hold sealed for others (dropped a week after they were signed, inside the
    # window above, so a DM handed on late is still taken).
    # Our own DMs not yet acknowledged. Bounded in bytes too: a link that comes up is sent
    # every one of ours its peer lacks, and what a peer holds for it, at once, and that must
    # fit in outbound_queue_bytes with room to spare.
    max_pending_directs: int = 500
    max_pending_bytes: int = 2 * 1024 * 1024
    held_max_age: float = 7 * 86400.0
    max_held: int = 2000  # DMs and receipts held for others, in all
    max_held_bytes: int = 16 * 1024 * 1024  # their frames, in all
    max_held_per_recipient: int = 200
    max_held_bytes_per_recipient: int = 1024 * 1024
    max_held_per_author: int = 200
    max_holders: int = 8  # members online a DM for one who is away is handed to, at most
    direct_resend_interval: float = 30.0  # a DM sent over its recipient's link, unacknowledged
    max_known_members: int = 10_000  # members whose keys we remember, to write to them later
    replay_directs: int = 500  # our newest stored DMs loaded at start (pending ones always)

    # History and sync.
    history_messages: int = 10_000
    history_text_bytes: int = 32 * 1024 * 1024
    history_days: float = 30.0
    backfill_messages: int = 500
    recent_check_messages: int = 32  # newest messages whose contents pings compare
    sync_batch_messages: int = 100
    sync_batch_bytes: int = 192 * 1024
    sync_timeout: float = 10.0
    sync_max_rounds: int = 120  # requests in one session: all of a full history, and more
    sync_session_seconds: float = 120.0
    max_parallel_syncs: int = 2
    sync_min_interval: float = 2.0
    gap_timeout: float = 60.0
    # A message straight from its author over its own link is shown at once and its signature
    # checked check_delay later, with others, check_batch_messages per turn (check_batch_pause
    # apart): off the hot path, and always before we relay it, serve it or store it.
    check_delay: float = 0.2
    check_batch_messages: int = 256
    check_batch_pause: float = 0.005
    clock_skew_warning: float = 60.0

    # Hostile peers: rate limits (messages/s and bursts), strikes, bans.
    author_rate: float = 100.0
    author_burst: float = 1000.0
    peer_rate: float = 2000.0
    peer_burst: float = 10000.0
    max_strikes: int = 5
    strike_memory: float = 600.0  # strikes are forgotten this long after the last one
    ban_seconds: float = 60.0
    max_tracked_peers: int = 4096  # node IDs whose buckets and strikes are remembered
    # Keys are free: all identities behind one host (this machine's loopback excepted) share
    # this many times one peer's budgets and strikes, so they do not multiply with keys.
    host_share: int = 8
    max_lamport_leap: int = 2**20  # one message raises our clock by at most this much

    # What a peer may ask of us, per peer: (rate a second, burst). Honest peers stay far below.
    sync_request_rate: float = 20.0
    sync_request_burst: float = 100.0
    ping_rate: float = 3.0
    ping_burst: float = 10.0
    nick_rate: float = 0.2
    nick_burst: float = 5.0
    presence_rate: float = 0.2  # presence frames a peer may send us (each is a line on screen)
    presence_burst: float = 5.0
    auto_away_seconds: float = 600.0  # the full screen says we are away after this long idle
    fetch_rate: float = 2.0
    fetch_burst: float = 20.0
    offer_rate: float = 1.0
    offer_burst: float = 20.0
    gossip_rate: float = 10.0  # an honest peer sends one list per links_announce_delay at most
    gossip_burst: float = 50.0
    # DMs to us that we took before, brought again (a holder that missed the receipt): each is
    # answered with a receipt. A holder brings at most max_held_per_recipient at once.
    repeat_dm_rate: float = 20.0
    repeat_dm_burst: float = 400.0

    # Connections.
    handshake_timeout: float = 5.0
    max_pending_connections: int = 64
    max_pending_per_address: int = 8
    max_known_addresses: int = 1024
    max_mdns_addresses: int = 256  # unproven addresses from mDNS adverts
    max_pending_dials: int = 32  # dials and outbound handshakes under way
    dial_yield_delay: float = 1.0  # a node heard of with a smaller ID may dial us first
    known_address_ttl: float = 1800.0
    connect_timeout: float = 3.0

    # Liveness: any frame counts; a link silent for ping_after_silence gets a ping, a peer
    # silent for peer_timeout is gone. At most max_pings_per_second leave (idle cost flat in
    # the room's size): up to about 40 peers each silent link is pinged on time; beyond, later.
    ping_after_silence: float = 2.5
    peer_timeout: float = 9.0
    max_pings_per_second: float = 8.0
    housekeeping_interval: float = 1.0  # queued syncs and retention, while we have peers

    # Redial with capped exponential backoff and jitter.
    redial_first_delay: float = 0.25
    redial_max_delay: float = 10.0
    redial_jitter: float = 0.25
    rediscover_min_interval: float = 5.0
    rediscover_retry_interval: float = 30.0
    alone_hint_seconds: float = 10.0  # found nobody this long after start: say what to do
    max_unproven_dial_failures: int = 3  # then an address only discovery vouched for is dropped

    # Known peers (first key seen per nick), kept in the data dir: beyond either bound a new
    # nick is not remembered; an entry already there is never evicted.
    max_known_nicks: int = 10_000
    max_nicks_per_key: int = 16

    # Runtime buffers.
    outbound_queue_bytes: int = 4 * 1024 * 1024
    inbox_bytes: int = 16 * 1024 * 1024
    node_batch_events: int = 64
    recv_bytes: int = 256 * 1024
    min_chat_frame_bytes: int = 300  # no valid chat frame is smaller (IDs, key, signature)
    write_stall_timeout: float = 10.0
    # An author over its rate limit on its own link: stop reading it this long at most at a
    # time (well under write_stall_timeout, after which its blocked send would fail), then
    # read paused_read_bytes at a time until it is within the limit again. Its debt may reach
    # one burst plus what one read can hold (recv_bytes of the smallest chat frames): what was
    # read is taken; past that a message is dropped, as a relayed flood is.
    max_read_pause: float = 4.0
    paused_read_bytes: int = 4096
    flush_timeout: float = 0.5
    trust_save_interval: float = 1.0  # known peers are written at most this often (and at exit)
    tcp_keepalive_idle: int = 5
    tcp_keepalive_interval: int = 2
    tcp_keepalive_count: int = 3

    def __post_init__(self) -> None:
        """File chunks must fit in a frame, and a transfer must leave queue room for chat."""
        if self.file_chunk_bytes + FILE_CHUNK_HEADER_BYTES > self.max_frame_bytes:
            raise ValueError("file_chunk_bytes (plus its header) must fit in max_frame_bytes")
        if self.file_queue_watermark + self.max_frame_bytes >= self.outbound_queue_bytes:
            raise ValueError("file_queue_watermark leaves no room in outbound_queue_bytes")


DEFAULT_LIMITS = Limits()
