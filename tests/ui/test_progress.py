"""What the interfaces compute about transfers: steps, rate, time left."""

from __future__ import annotations

from p2pchat.core import views as vw
from p2pchat.ui.format import duration
from p2pchat.ui.progress import TransferBoard

MIB = 1024 * 1024


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(done: int, total: int = 100 * MIB, sending: bool = False) -> vw.FileProgress:
    return vw.FileProgress("0123456789abcdef", "f.bin", done, total, sending, "ann")


def test_rate_and_time_left_follow_the_last_seconds() -> None:
    clock = Clock()
    board = TransferBoard(clock)
    transfer, stepped = board.progress(progress(0))
    assert stepped and transfer.rate() is None and transfer.eta() is None
    for second in range(1, 11):
        clock.now += 1
        transfer, _ = board.progress(progress(second * MIB))
    assert transfer.rate() == MIB  # 1 MiB/s
    assert transfer.eta() == 90.0
    assert transfer.summary() == "10% of 100.0 MiB, 1.0 MiB/s, 1m30s left"
    clock.now += 1
    transfer, _ = board.progress(progress(30 * MIB))  # it sped up: the window shows it
    rate = transfer.rate()
    assert rate is not None and rate > 5 * MIB


def test_steps_are_reported_once_per_ten_percent() -> None:
    board = TransferBoard(Clock())
    steps = [board.progress(progress(done * MIB))[1] for done in range(0, 101, 5)]
    assert steps.count(True) == 11


def test_finished_transfers_leave_the_board_with_their_average_rate() -> None:
    clock = Clock()
    board = TransferBoard(clock)
    board.progress(progress(0))
    clock.now += 4
    done = vw.FileDone("0123456789abcdef", "f.bin", "/dl/f.bin", 100 * MIB, False, "ann")
    assert board.finish(done) == "25.0 MiB/s"
    assert not board.active
    assert board.finish(done) == ""


def test_sending_and_receiving_the_same_offer_are_separate_rows() -> None:
    board = TransferBoard(Clock())
    board.progress(progress(1, sending=True))
    board.progress(progress(1, sending=False))
    assert len(board.active) == 2
    assert {t.direction() for t in board.active.values()} == {"to ann", "from ann"}


def test_durations_read_naturally() -> None:
    assert [duration(s) for s in (0.2, 4.6, 75, 3725)] == ["0s", "5s", "1m15s", "1h02m"]


def test_a_small_file_whole_at_its_first_report_gives_no_rate_rather_than_zero() -> None:
    clock = iter([0.0, 0.5]).__next__
    board = TransferBoard(clock)
    board.progress(vw.FileProgress("0123456789abcdef", "tiny.txt", 10, 10, False, "ann"))
    done = vw.FileDone("0123456789abcdef", "tiny.txt", "/dl/tiny.txt", 10, False, "ann")
    assert board.finish(done) == ""
