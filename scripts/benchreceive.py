#!/usr/bin/env python3
"""The CPU one delivery costs a receiver, stage by stage, in one thread (no sockets, no threads).

    .venv/bin/python scripts/benchreceive.py [--messages 5000] [--repeat 5] [--json]

A member writes signed chat lines; each goes, as on a real link, through the AES-GCM seal and
the frame prefix, then at the receiver through the link protocol (frame, open, decode and
validate), the core (vet, dedup, history, Lamport clock, relay decision, view), the JSON line
the UI prints, and the signature check (at once, or later in batches: verify before vouching).
Prints µs per delivery for each stage, the best of --repeat runs. Run it at two commits to
compare them (docs/BENCHMARKS.md, "The receive path").
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.actions import Show
from p2pchat.core.codec import frame_prefix
from p2pchat.core.crypto import auth_signing_bytes, chat_signing_bytes
from p2pchat.core.limits import PROTOCOL_VERSION, Limits
from p2pchat.core.linkprotocol import DecodedMessage, LinkProtocol
from p2pchat.core.mesh import Mesh
from p2pchat.core.messages import Auth, Chat, Hello, encode_message, with_fields
from p2pchat.security.keys import NodeKeys
from p2pchat.security.link import LinkCipher
from p2pchat.ui.jsonlines import view_to_json

BATCH = 64  # messages the node thread takes per turn
TEXT = "a line of chat of an everyday length, as people write them: about sixty chars"


def member_link(limits: Limits) -> tuple[Mesh, NodeKeys, LinkProtocol, LinkCipher]:
    """Our mesh with one member linked on conn 1, and both ends of that link's cipher."""
    ours, theirs = NodeKeys.generate(), NodeKeys.generate()
    mesh = Mesh(ours, "me", "lobby", 4000, limits=limits, rng=random.Random(1))
    our_nonce, their_nonce = bytes(16), bytes(range(16))
    receiving = LinkCipher(ours.node_id, our_nonce)
    sending = LinkCipher(theirs.node_id, their_nonce)
    receiving.start(theirs.node_id, their_nonce, sending.ephemeral_public)
    sending.start(ours.node_id, our_nonce, receiving.ephemeral_public)
    made = ev.ConnectionMade(1, False, "10.0.0.1", 40001, our_nonce, receiving.ephemeral_public)
    mesh.handle(made, 0.0, 0.0)
    hello = Hello(
        PROTOCOL_VERSION,
        theirs.node_id,
        "ann",
        "lobby",
        5000,
        theirs.public_key,
        theirs.dh_public,
        their_nonce,
        "",
        sending.ephemeral_public,
    )
    mesh.handle(ev.FramesReceived(1, (hello,)), 0.0, 0.0)
    shake = mesh.links.by_conn[1].handshake
    assert shake.peer is not None
    signed = auth_signing_bytes(shake.peer, shake.own, "ann")
    mesh.handle(ev.FramesReceived(1, (Auth(theirs.sign(signed), "ann"),)), 0.0, 0.0)
    assert mesh.peer_ids() == [theirs.node_id]
    return mesh, theirs, LinkProtocol(limits, receiving), sending


def wire(keys: NodeKeys, cipher: LinkCipher, count: int, limits: Limits) -> list[bytes]:
    """count signed chats of keys, each as the bytes of one sealed frame on the link."""
    frames = []
    for seq in range(1, count + 1):
        chat = Chat(keys.node_id, seq, seq, 1_700_000_000.0 + seq, "ann", TEXT, keys.public_key)
        chat = with_fields(chat, signature=keys.sign(chat_signing_bytes("lobby", chat)))
        body = cipher.seal(encode_message(chat))
        frames.append(frame_prefix(len(body), limits.max_frame_bytes + 16) + body)
    return frames


def run(count: int) -> dict[str, float]:
    """One run: µs of this thread's CPU per delivery, by stage."""
    limits = Limits(author_rate=1e9, author_burst=1e9, peer_rate=1e9, peer_burst=1e9)
    mesh, keys, protocol, cipher = member_link(limits)
    frames = wire(keys, cipher, count, limits)
    spent = {"link": 0.0, "core": 0.0, "json": 0.0, "later": 0.0}
    shown = 0
    clock = time.thread_time
    for start in range(0, count, BATCH):
        t0 = clock()
        decoded = protocol.receive_data(b"".join(frames[start : start + BATCH]))
        messages = tuple(d.message for d in decoded if isinstance(d, DecodedMessage))
        t1 = clock()
        actions = mesh.handle(ev.FramesReceived(1, messages), 0.001 * start, 0.0)
        t2 = clock()
        for action in actions:
            if isinstance(action, Show) and isinstance(action.view, vw.MessageShown):
                json.dumps(view_to_json(action.view), ensure_ascii=False)
                shown += 1
        spent["link"] += t1 - t0
        spent["core"] += t2 - t1
        spent["json"] += clock() - t2
    t3 = clock()
    now = 1000.0
    while (due := mesh.next_deadline()) is not None and due <= now:  # what is checked later
        mesh.handle(ev.Tick(), now, 0.0)
        now += 0.01
    spent["later"] += clock() - t3
    assert shown == count, shown
    figures = {stage: seconds / count * 1e6 for stage, seconds in spent.items()}
    figures["total"] = sum(figures.values())
    return figures


def main() -> int:
    """Measure and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best of each is kept")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    runs = [run(args.messages) for _ in range(args.repeat)]
    best = {stage: min(r[stage] for r in runs) for stage in runs[0]}
    if args.json:
        print(json.dumps(best, indent=2))
        return 0
    names = {
        "link": "link: frame, AES-GCM open, decode and validate",
        "core": "core: vet (check if relayed), dedup, history, clock, relay, view",
        "json": "the JSON line for the UI",
        "later": "signature checks done later, in batches",
        "total": "total",
    }
    for stage, us in best.items():
        print(f"{names[stage]:<68} {us:7.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
