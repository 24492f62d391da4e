"""The node's file-transfer plumbing: it carries out the core's file actions off the node thread.

Pumps stream files to links, sinks take chunks from them, and short jobs (hashing a file to
offer, opening or checking a partial file) run on threads of their own, so the node thread
never waits for a disk. Each reports back through the node's inbox.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from blake3 import blake3

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.files import human_size, safe_file_name
from p2pchat.core.limits import Limits
from p2pchat.core.linkprotocol import chunk_tag
from p2pchat.core.saved import saved_transfer
from p2pchat.store.transfers import TransferBook
from p2pchat.transport.connection import Connection
from p2pchat.transport.files import HASH_BLOCK, FilePump, FileReport, FileSink, part_name
from p2pchat.transport.inbox import JobView

log = logging.getLogger(__name__)

ANNOUNCE_HASHING_BYTES = 64 * 1024 * 1024  # hashing takes a noticeable moment from here

FileAction = (
    act.PrepareReceive
    | act.FinishReceive
    | act.AbortReceive
    | act.ServeFile
    | act.StopServe
    | act.SaveTransfers
)
"""The core's actions about files."""

TransferReport = FileReport | ev.ReceiveReady | ev.OfferFile | JobView
"""What the plumbing tells the node."""


@dataclass(frozen=True, slots=True)
class Receiving:
    """A transfer coming in: its sink, and the link whose chunks feed it."""

    sink: FileSink
    link: Connection


class FileTransfers:
    """Sinks, pumps and jobs of one node; used by the node thread only (close() after it)."""

    def __init__(
        self,
        links: Callable[[int], Connection | None],
        post: Callable[[TransferReport], None],
        limits: Limits,
        *,
        downloads: Path | None,
        book: TransferBook,
    ) -> None:
        """links: the live link of a connection ID, if any; downloads: None for the user's."""
        self._links = links
        self._post = post
        self._limits = limits
        self._downloads_dir = downloads
        self._book = book
        self._receiving: dict[str, Receiving] = {}
        self._pumps: dict[tuple[int, str], FilePump] = {}
        self._retired_pumps: list[FilePump] = []
        self._jobs: list[threading.Thread] = []
        self._stopped = False
        self._closed = False

    def carry_out(self, action: FileAction) -> None:
        """Do one file action of the core."""
        match action:
            case act.PrepareReceive():
                self._prepare(action)
            case act.FinishReceive():
                entry = self._receiving.pop(action.offer_id, None)
                if entry is not None:
                    entry.link.chunk_sinks.pop(chunk_tag(action.offer_id), None)
                    self._start_job(f"finish-{action.offer_id[:8]}", self._finish_sink, entry.sink)
            case act.AbortReceive():
                if not self._drop_sink(action.offer_id, delete=action.delete) and action.delete:
                    self._delete_parts(action.offer_id)
            case act.ServeFile():
                self._serve(action)
            case act.StopServe():
                stopping = self._pumps.pop((action.conn, action.offer_id), None)
                if stopping is not None:
                    stopping.stop()
                    self._retired_pumps = [p for p in self._retired_pumps if p.is_alive()]
                    self._retired_pumps.append(stopping)
            case act.SaveTransfers():
                self._save(action.records)

    def share(self, request: ev.ShareFile) -> None:
        """Measure and hash the file on a job thread, then post its OfferFile (or a problem)."""
        self._start_job(f"hash-{len(self._jobs)}", self._measure, request)

    def stop(self) -> None:
        """Stop every pump and sink (partial files are kept to resume); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for pump in [*self._pumps.values(), *self._retired_pumps]:
            pump.stop()
        for entry in self._receiving.values():
            entry.sink.abort(delete=False)

    def close(self) -> None:
        """Stop, then wait for every pump and job thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        for thread in [*self._pumps.values(), *self._retired_pumps, *self._jobs]:
            thread.join()

    def __enter__(self) -> FileTransfers:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _prepare(self, action: act.PrepareReceive) -> None:
        link = self._links(action.conn)
        if link is None:
            return
        offer_id = action.offer.offer_id
        self._drop_sink(offer_id, delete=False)  # a stale one, if any
        sink = FileSink(action.offer, self._downloads(), self._post, action.offer.author)
        self._receiving[offer_id] = Receiving(sink, link)
        link.chunk_sinks[chunk_tag(offer_id)] = sink.write
        self._start_job(f"open-{offer_id[:8]}", self._open_sink, sink, action.conn)

    def _serve(self, action: act.ServeFile) -> None:
        link = self._links(action.conn)
        if link is None:
            return
        pump = FilePump(link, action, post=self._post, chunk_bytes=self._limits.file_chunk_bytes)
        self._pumps = {k: p for k, p in self._pumps.items() if p.is_alive()}
        self._pumps[(action.conn, action.offer_id)] = pump
        pump.start()

    def _drop_sink(self, offer_id: str, *, delete: bool) -> bool:
        """Stop receiving offer_id (if we were); True if there was a sink to stop."""
        entry = self._receiving.pop(offer_id, None)
        if entry is None:
            return False
        entry.link.chunk_sinks.pop(chunk_tag(offer_id), None)
        entry.sink.abort(delete=delete)
        return True

    def _downloads(self) -> Path:
        return self._downloads_dir or Path(platformdirs.user_downloads_dir())

    def _open_sink(self, sink: FileSink, conn_id: int) -> None:
        try:
            offset = sink.open()
        except OSError as exc:
            self._post(
                ev.ReceiveFinished(sink.offer.offer_id, False, f"cannot open: {exc.strerror}")
            )
            return
        if sink.failed is None:  # not aborted while it opened
            self._post(ev.ReceiveReady(sink.offer.offer_id, conn_id, offset))

    def _finish_sink(self, sink: FileSink) -> None:
        ok, detail = sink.finish()
        self._post(ev.ReceiveFinished(sink.offer.offer_id, ok, detail))

    def _measure(self, request: ev.ShareFile) -> None:
        with contextlib.suppress(OSError):
            size = Path(request.path).expanduser().stat().st_size
            if size >= ANNOUNCE_HASHING_BYTES:
                notice = vw.Notice(f"checking {request.path} ({human_size(size)}) to offer it")
                self._post(JobView(notice))
        try:
            name, size, digest, mtime_ns = hash_file(request.path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._post(JobView(vw.Problem(f"cannot share {request.path}: {reason}")))
            return
        path = str(Path(request.path).expanduser().resolve())
        # The offered name is already a safe one: peers reject control characters in names.
        offer = ev.OfferFile(path, safe_file_name(name), size, digest, request.target, mtime_ns)
        self._post(offer)

    def _start_job(self, name: str, target: Callable[..., None], *args: object) -> None:
        job = threading.Thread(target=target, args=args, name=f"p2pchat-{name}")
        self._jobs = [j for j in self._jobs if j.is_alive()]
        self._jobs.append(job)
        job.start()

    def _delete_parts(self, offer_id: str) -> None:
        for part in self._downloads().glob(part_name("*", offer_id)):
            with contextlib.suppress(OSError):
                part.unlink()

    def _save(self, records: Sequence[Mapping[str, object]]) -> None:
        typed = [saved for saved in map(saved_transfer, records) if saved is not None]
        try:
            self._book.save(typed)
        except OSError as exc:
            log.warning("cannot save transfers: %s", exc)


def hash_file(path: str) -> tuple[str, int, str, int]:
    """(name, size, BLAKE3 hex, mtime in ns) of a regular file; OSError or ValueError if not."""
    target = Path(path).expanduser()
    if not target.exists():
        raise ValueError("no such file")
    if not target.is_file():
        raise ValueError("not a regular file")
    digest = blake3()
    size = 0
    with target.open("rb") as source:
        before = os.fstat(source.fileno())
        while block := source.read(HASH_BLOCK):
            digest.update(block)
            size += len(block)
        after = os.fstat(source.fileno())
    if size != after.st_size or before.st_mtime_ns != after.st_mtime_ns:
        raise ValueError("it changed while it was being read; try again")
    return target.name, size, digest.hexdigest(), after.st_mtime_ns
