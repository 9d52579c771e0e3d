"""bot/stats/writer.py: statistics never stop or slow an answer. Each database fault (locked by another
connection's write lock, read-only, full, the folder removed) leaves `record` instant, is logged once when it
starts and once when it ends, keeps the counts in memory, and loses none once the database is back."""

import shutil
import sqlite3
import time

import pytest

from bot.stats import Stats
from bot.stats.writer import StatsWriter


def total(path, measure="outcomes"):
    with Stats(path) as stats:
        return sum(sum(day.values()) for day in stats.daily(measure).values())


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def record_many(writer, n=50):
    """`n` records; returns the longest one took (an answer waits on nothing longer than this)."""
    longest = 0.0
    for _ in range(n):
        started = time.perf_counter()
        writer.record(outcomes=["quick_exit"], concerns=["sextortion"])
        longest = max(longest, time.perf_counter() - started)
    return longest


def fault_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "bot.stats.writer"]


class Switchable:
    """Opens the database as Stats does, then, while `fault` is set, applies it: a PRAGMA, or an error every
    write raises (SQLite's own message, as a full disk gives it)."""

    def __init__(self):
        self.fault = None

    def __call__(self, path):
        stats = Stats(path, busy_timeout=0.2)
        if isinstance(self.fault, str):
            stats.db.execute(self.fault)
        elif self.fault is not None:
            error = self.fault

            def add(counts):
                raise error

            stats.add = add
        return stats


@pytest.fixture
def path(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    Stats(folder / "stats.db").close()
    return folder / "stats.db"


def test_counts_are_written_together_off_the_answering_thread(path):
    writer = StatsWriter(path, interval=0.05).start()
    assert record_many(writer) < 0.05
    assert wait_until(lambda: total(path) == 50)
    assert writer.close() == 0 and writer.waiting == 0
    assert writer.written == 100  # 50 outcomes and 50 concerns


def test_a_database_locked_by_another_process(path, caplog):
    writer = StatsWriter(path, interval=0.05, max_backoff=0.2, busy_timeout=0.1).start()
    locker = sqlite3.connect(str(path), isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    try:
        assert record_many(writer) < 0.05, "recording never waits on the lock"
        assert wait_until(lambda: writer.state == "locked by another process")
        record_many(writer)
        assert writer.waiting == 200
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert wait_until(lambda: total(path) == 100 and total(path, "concerns") == 100 and writer.waiting == 0)
    lines = fault_lines(caplog)
    assert len(lines) == 2 and "locked by another process" in lines[0] and "writable again" in lines[1]
    assert writer.close() == 0


@pytest.mark.parametrize(
    "fault, state",
    [
        ("PRAGMA query_only = ON", "read-only"),  # as chmod would, for a user that isn't root
        (sqlite3.OperationalError("database or disk is full"), "full (no space left)"),  # a failing connection
    ],
)
def test_a_read_only_or_full_database(path, caplog, fault, state):
    opener = Switchable()
    opener.fault = fault
    writer = StatsWriter(path, interval=0.05, max_backoff=0.2, opener=opener).start()
    assert record_many(writer) < 0.05
    assert wait_until(lambda: writer.state == state), writer.state
    assert writer.health() == {"statistics": state, "counts_waiting": 100}
    opener.fault = None  # fixed; the writer opens the database afresh after a failure
    assert wait_until(lambda: total(path) == 50 and writer.state == "ok")
    lines = fault_lines(caplog)
    assert len(lines) == 2 and state in lines[0]
    assert writer.close() == 0


def test_the_folder_removed_and_put_back(path, caplog):
    writer = StatsWriter(path, interval=0.05, max_backoff=0.2).start()
    writer.record(outcomes=["quick_exit"])
    assert wait_until(lambda: writer.written == 1)
    shutil.rmtree(path.parent)  # the open file is deleted with it: counts must not go into it
    assert record_many(writer) < 0.05
    assert wait_until(lambda: writer.state.startswith("missing")), writer.state
    assert writer.waiting == 100
    path.parent.mkdir()
    assert wait_until(lambda: writer.state == "ok" and writer.waiting == 0)
    assert total(path) == 50, "written to the new file, none into the deleted one"
    assert len(fault_lines(caplog)) == 2
    assert writer.close() == 0


def test_counts_still_waiting_at_the_end_are_reported_as_lost(path, caplog):
    opener = Switchable()
    opener.fault = "PRAGMA query_only = ON"
    writer = StatsWriter(path, interval=0.05, opener=opener).start()
    writer.record(outcomes=["quick_exit"])
    assert writer.close(timeout=0.5) == 1
    assert any("1 counts could not be written and are lost" in line for line in fault_lines(caplog))


def test_unknown_keys_are_refused_at_once(path):
    writer = StatsWriter(path)
    with pytest.raises(ValueError):
        writer.record(outcomes=["some free text"])
    with pytest.raises(TypeError):
        writer.record(text=["anything"])
    assert writer.waiting == 0
