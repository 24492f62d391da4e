#!/usr/bin/env python3
"""Baseline (a): raw fan-out. Every process connects to every other one. Each stdin line goes,
as one length-prefixed frame, straight to all of them. There is no protocol, dedup or storage:
it is the practical limit for Python on this machine.

usage: fanout.py --port P --peers P1,P2,...   (listens on 127.0.0.1:P, dials the peers above P)
"""

from __future__ import annotations

import argparse
import socket
import threading
import time

from common import emit, frame, message_event, read_frames

DIAL_PATIENCE = 30.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--peers", default="")
    args = parser.parse_args()
    others = [int(p) for p in args.peers.split(",") if p and int(p) != args.port]
    listener = socket.create_server(("127.0.0.1", args.port), backlog=128)
    links: list[socket.socket] = []
    lock = threading.Lock()

    def attach(sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with lock:
            links.append(sock)
        emit({"event": "peer_joined"})
        threading.Thread(
            target=read_frames, args=(sock, lambda p: emit(message_event(p))), daemon=True
        ).start()

    def accept() -> None:
        while True:
            sock, _ = listener.accept()
            attach(sock)

    threading.Thread(target=accept, daemon=True).start()
    emit({"event": "ready", "port": args.port})
    for port in others:
        if port > args.port:
            attach(dial(port))
    for line in iter(input_line, None):
        data = frame(line.encode())
        with lock:
            targets = list(links)
        for sock in targets:
            sock.sendall(data)


def dial(port: int) -> socket.socket:
    """Connect, waiting for a peer that has not started listening yet."""
    deadline = time.monotonic() + DIAL_PATIENCE
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port))
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def input_line() -> str | None:
    try:
        return input()
    except EOFError:
        return None


if __name__ == "__main__":
    main()
