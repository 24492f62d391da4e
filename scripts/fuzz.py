#!/usr/bin/env python3
"""Long fuzz campaign of every decoder that reads peer input, and of a hostile node (hypothesis).

    .venv/bin/python scripts/fuzz.py --examples 200000
    .venv/bin/python scripts/fuzz.py --only machine --machine-examples 100000

Feeds random bytes and mutations of valid frames (bit flips, truncations, spliced fields) to: the
frame decoder, the message decoder, a link's protocol object (core/linkprotocol.py), the handshake,
the link cipher, sealed DM content and the whole core (a Mesh with a linked peer). Anything but the
project's ProtocolError (or a clean refusal) is a bug: hypothesis prints the smallest input that
shows it, and the exit code is 1. Then the hostile state machine (tests/core/hostile_machine.py):
three honest cores and one that sends any sequence of frames, checked after every step. Pure CPU:
nothing touches the network."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2pchat.core import events as ev
from p2pchat.core.codec import FrameDecoder
from p2pchat.core.errors import ProtocolError
from p2pchat.core.handshake import Handshake
from p2pchat.core.limits import FRAME_HEADER_BYTES, Limits
from p2pchat.core.linkprotocol import LinkProtocol, ProtocolViolation
from p2pchat.core.messages import decode_message, encode_message, parse_direct_content
from p2pchat.security.link import LinkCipher
from tests.ciphers import linked_ciphers
from tests.core.peers import ME_KEYS, OTHER_KEYS, hello, link, make_mesh, signed_chat

LIMITS = Limits()
VALID = [
    encode_message(hello(OTHER_KEYS)),
    encode_message(signed_chat(OTHER_KEYS, 1, 1, "hello")),
    b'{"t":"peers","peers":[{"id":"' + b"a" * 32 + b'","host":"127.0.0.1","port":1}],"all":true}',
    b'{"t":"sync","vv":{"' + b"a" * 32 + b'":3},"hz":1}',
    b'{"t":"ping","n":1,"h":"' + b"0" * 16 + b'","w":1.0,"r":"' + b"1" * 16 + b'"}',
    b'{"t":"sync","vv":{},"hz":0,"rc":32}',
    b'{"t":"batch","msgs":[],"floors":{"' + b"a" * 32 + b'":9223372036854775807},"more":false}',
    b'{"t":"nick","nick":"bob"}',
    b'{"t":"fetch","id":"' + b"0" * 16 + b'","offset":0}',
    b'{"t":"error","code":"version","text":"x","v":9}',
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid frame with a few bit flips, cuts, insertions or replaced fields."""
    raw = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "splice"]))
        if kind == "flip" and raw:
            bit = draw(st.integers(0, len(raw) * 8 - 1))
            raw[bit // 8] ^= 1 << (bit % 8)
        elif kind == "cut" and raw:
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif kind == "insert":
            at = draw(st.integers(0, len(raw)))
            raw[at:at] = draw(st.binary(max_size=20))
        else:
            value = draw(st.sampled_from(['"x"', "1e999", "-1", "null", "[]", "{}", "true"]))
            key = draw(st.sampled_from(["t", "v", "id", "seq", "lc", "ts", "nick", "text"]))
            try:
                obj = json.loads(raw)
                obj[key] = json.loads(value)
                raw = bytearray(json.dumps(obj).encode())
            except (ValueError, TypeError):
                pass
    return bytes(raw)


def framed(payload: bytes) -> bytes:
    """payload behind its length prefix (which may be 0, for an empty payload)."""
    return len(payload).to_bytes(FRAME_HEADER_BYTES, "big") + payload


def campaign(examples: int) -> None:
    config = settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )

    @config
    @given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=10))
    def frames(data: bytes, cuts: list[int]) -> None:
        decoder = FrameDecoder(LIMITS.max_frame_bytes)
        try:
            pos = 0
            for cut in [*cuts, len(data)]:
                decoder.feed(data[pos : pos + cut])
                pos += cut
        except ProtocolError:
            pass

    @config
    @given(st.one_of(st.binary(max_size=600), mutated()))
    def messages(payload: bytes) -> None:
        with contextlib.suppress(ProtocolError):
            decode_message(payload, LIMITS)

    @config
    @given(st.lists(st.one_of(st.binary(max_size=300), mutated().map(framed)), max_size=6))
    def link_protocol(pieces: list[bytes]) -> None:
        # It never raises for what a peer sends: a ProtocolViolation comes last, then it stops.
        own = hello(ME_KEYS)
        protocol = LinkProtocol(LIMITS, LinkCipher(ME_KEYS.node_id, own.nonce), own)
        for piece in pieces:
            items = protocol.receive_data(piece)
            if items and isinstance(items[-1], ProtocolViolation):
                return

    @config
    @given(mutated())
    def core(payload: bytes) -> None:
        mesh = make_mesh()
        link(mesh, 1, OTHER_KEYS)
        try:
            message = decode_message(payload, LIMITS)
        except ProtocolError:
            return
        mesh.handle(ev.FramesReceived(1, (message,)), 1.0, 1.0)
        shake = Handshake(hello(ME_KEYS), 0.0, 5.0, ME_KEYS, "me")
        shake.receive(message)

    @config
    @given(st.binary(max_size=300))
    def sealed(junk: bytes) -> None:
        cipher, _ = linked_ciphers(bytes(32))
        with contextlib.suppress(ProtocolError):
            cipher.open(junk)
        with contextlib.suppress(ProtocolError):
            parse_direct_content(junk, LIMITS)

    for test in (frames, messages, link_protocol, core, sealed):
        started = time.monotonic()
        print(f"fuzzing {test.__name__} with {examples} examples...", flush=True)
        test()
        print(f"  ok in {time.monotonic() - started:.0f} s", flush=True)


def machine(examples: int) -> None:
    """The hostile state machine for `examples` runs of up to 25 steps each."""
    from hypothesis import Phase
    from hypothesis.stateful import run_state_machine_as_test

    from tests.core.hostile_machine import HostileLan

    config = settings(
        max_examples=examples,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate, Phase.shrink],
    )
    started = time.monotonic()
    print(f"hostile state machine with {examples} examples...", flush=True)
    run_state_machine_as_test(HostileLan, settings=config)
    print(f"  ok in {time.monotonic() - started:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--machine-examples", type=int, default=100_000)
    parser.add_argument("--only", choices=["decoders", "machine"], default=None)
    args = parser.parse_args()
    try:
        if args.only != "machine":
            campaign(args.examples)
        if args.only != "decoders":
            machine(args.machine_examples)
    except Exception as exc:  # hypothesis has printed the falsifying example
        print(f"FOUND A BUG: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("no crash found")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
