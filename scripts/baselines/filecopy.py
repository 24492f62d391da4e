#!/usr/bin/env python3
"""Baseline for file transfer speed: a plain socket copy of a file, one process at each end.

`recv` listens on 127.0.0.1 and writes everything it receives to a file; `send` waits for a
line on stdin, then streams the file with read + sendall in chunks of the same size p2pchat
uses. Both speak the JSON-lines contract of the other baselines: ready, then done.
"""

from __future__ import annotations

import argparse
import socket
import sys

from common import emit

CHUNK_BYTES = 248 * 1024  # p2pchat's Limits.file_chunk_bytes


def receive(port: int, out_path: str) -> None:
    """Accept one connection and write what it sends to out_path."""
    with socket.create_server(("127.0.0.1", port)) as server:
        emit({"event": "ready"})
        conn, _ = server.accept()
        buffer = bytearray(CHUNK_BYTES)
        view = memoryview(buffer)
        total = 0
        with conn, open(out_path, "wb") as out:
            while count := conn.recv_into(buffer):
                out.write(view[:count])
                total += count
        emit({"event": "done", "bytes": total})


def send(port: int, path: str) -> None:
    """Wait for a line on stdin, then send the file."""
    emit({"event": "ready"})
    sys.stdin.readline()
    with socket.create_connection(("127.0.0.1", port)) as sock, open(path, "rb") as source:
        while block := source.read(CHUNK_BYTES):
            sock.sendall(block)
    emit({"event": "done"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("recv", "send"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True, help="file to write (recv) or read (send)")
    args = parser.parse_args()
    if args.mode == "recv":
        receive(args.port, args.path)
    else:
        send(args.port, args.path)


if __name__ == "__main__":
    main()
