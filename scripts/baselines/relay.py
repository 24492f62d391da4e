#!/usr/bin/env python3
"""Baseline (b): the classic central relay. One server runs one thread per client and sends
every frame it receives on to all the other clients. Clients send their stdin lines to the
server as length-prefixed frames.

usage: relay.py server --port P      |      relay.py client --server P
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading

from common import emit, frame, message_event, read_frames


def serve(port: int) -> None:
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    clients: list[socket.socket] = []
    lock = threading.Lock()
    emit({"event": "ready", "port": port})

    def handle(sock: socket.socket) -> None:
        def rebroadcast(payload: bytes) -> None:
            data = frame(payload)
            with lock:
                targets = [c for c in clients if c is not sock]
            for other in targets:
                with contextlib.suppress(OSError):
                    other.sendall(data)

        read_frames(sock, rebroadcast)

    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with lock:
            clients.append(sock)
        threading.Thread(target=handle, args=(sock,), daemon=True).start()


def client(server_port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", server_port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    emit({"event": "ready"})
    emit({"event": "peer_joined"})
    threading.Thread(
        target=read_frames, args=(sock, lambda p: emit(message_event(p))), daemon=True
    ).start()
    while True:
        try:
            line = input()
        except EOFError:
            return
        sock.sendall(frame(line.encode()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=("server", "client"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--server", type=int)
    args = parser.parse_args()
    if args.role == "server":
        serve(args.port)
    else:
        client(args.server)


if __name__ == "__main__":
    main()
