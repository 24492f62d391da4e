"""The node's file plumbing alone: what ShareFile posts, and actions for links that are gone."""

from __future__ import annotations

import threading
from pathlib import Path

from blake3 import blake3

from p2pchat.core import actions as act
from p2pchat.core import events as ev
from p2pchat.core import views as vw
from p2pchat.core.limits import Limits
from p2pchat.core.messages import FileOffer
from p2pchat.store.transfers import TransferBook
from p2pchat.transport.inbox import JobView
from p2pchat.transport.transfers import FileTransfers, TransferReport

WAIT = 10.0
OFFER_ID = "0123456789abcdef"


class Posted:
    """Collects what the plumbing posts from its job threads."""

    def __init__(self) -> None:
        self.items: list[TransferReport] = []
        self._cond = threading.Condition()

    def __call__(self, item: TransferReport) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait(self, count: int) -> list[TransferReport]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= count, WAIT), self.items
            return list(self.items)


def plumbing(tmp_path: Path, posted: Posted) -> FileTransfers:
    book = TransferBook(tmp_path / "state", "lobby")
    return FileTransfers(lambda conn: None, posted, Limits(), downloads=tmp_path / "dl", book=book)


def test_sharing_a_file_hashes_it_off_the_node_thread_and_offers_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"some notes")
    posted = Posted()
    with plumbing(tmp_path, posted) as files:
        files.share(ev.ShareFile(str(path), "ann"))
        [offer] = posted.wait(1)
    assert isinstance(offer, ev.OfferFile)
    assert (offer.path, offer.name, offer.size) == (str(path.resolve()), "notes.txt", 10)
    assert offer.blake3 == blake3(b"some notes").hexdigest() and offer.target == "ann"


def test_sharing_what_is_no_file_shows_why(tmp_path: Path) -> None:
    posted = Posted()
    with plumbing(tmp_path, posted) as files:
        files.share(ev.ShareFile(str(tmp_path), None))
        [problem] = posted.wait(1)
    assert isinstance(problem, JobView) and isinstance(problem.view, vw.Problem)
    assert "not a regular file" in problem.view.text


def test_actions_for_a_link_that_is_gone_start_nothing(tmp_path: Path) -> None:
    posted = Posted()
    offer = FileOffer(OFFER_ID, "a" * 32, "", "f", 1, "0" * 64, 1.0, b"k" * 32, b"s" * 64)
    before = threading.active_count()
    with plumbing(tmp_path, posted) as files:
        files.carry_out(act.PrepareReceive(offer, 7))
        files.carry_out(act.ServeFile(7, "a" * 32, OFFER_ID, str(tmp_path), 0, 1))
        files.carry_out(act.FinishReceive(OFFER_ID))
        files.carry_out(act.StopServe(7, OFFER_ID))
        assert threading.active_count() == before
    assert posted.items == []


def test_cancelling_a_download_we_never_started_deletes_its_partial_file(tmp_path: Path) -> None:
    downloads = tmp_path / "dl"
    downloads.mkdir()
    part = downloads / f".f.{OFFER_ID}.part"
    part.write_bytes(b"half")
    with plumbing(tmp_path, Posted()) as files:
        files.carry_out(act.AbortReceive(OFFER_ID, delete=True))
    assert not part.exists()


def test_saved_records_reach_the_book(tmp_path: Path) -> None:
    record: dict[str, object] = {"offer": "{}", "path": "/srv/a", "mtime_ns": 1}
    with plumbing(tmp_path, Posted()) as files:
        files.carry_out(act.SaveTransfers((record, {"no": "shape"})))
    assert TransferBook(tmp_path / "state", "lobby").load() == [record]
