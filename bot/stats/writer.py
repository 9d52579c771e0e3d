"""The engine process's one writer of statistics: counting apart from replying, so the database can never stop
or slow an answer.

`record(**counts)` (the keywords of `Stats.record`, checked at once) only adds to numbers in memory and wakes a
thread of its own, which writes what has gathered in one transaction at most every `interval` seconds. If the
database is locked by another process, read-only, full, or its file or folder has gone, the write fails, the
counts stay in memory and are tried again with growing waits (`interval` doubling up to `max_backoff`), and the
fault is logged once, as one clear line, when it starts and when it ends; `state` and `waiting` say where things
stand (the webhook's /healthz shows them), and so does the writer's report for `signpost stats` (status.py:
written at start, on every change of state, on every retry while failing and once a minute while writing). A
file that was removed or replaced is noticed (its inode changed) and opened afresh, so counts never go silently
into a deleted file.

The numbers in memory are per (table, day, key), from closed lists: bounded by the keys times the days of an
outage (`MAX_WAITING_ROWS` as a last guard, past which new counts are refused with an error naming how many).
Counts still waiting when the process stops are reported as lost, with their number; nothing is lost silently.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Optional, Tuple, Union

from bot.stats import status
from bot.stats.store import Stats, _rows_of

log = logging.getLogger(__name__)

MAX_WAITING_ROWS = 100_000
REPORT_EVERY = 60.0  # seconds between reports for `signpost stats` while all is well


def fault(error: BaseException) -> str:
    """What is wrong with the database, in a few words (SQLite's messages carry no data, but are not shown)."""
    text = str(error).lower()
    for words, name in (
        ("locked", "locked by another process"),
        ("busy", "locked by another process"),
        ("readonly", "read-only"),
        ("read-only", "read-only"),
        ("full", "full (no space left)"),
        ("unable to open", "missing (its folder is gone or can't be opened)"),
        ("no such file", "missing (its file or folder was removed)"),
        ("disk i/o", "failing (disk I/O error)"),
    ):
        if words in text:
            return name
    return f"failing ({type(error).__name__})"


class StatsWriter:
    """Counts in memory at once, written to the statistics database by a thread of their own."""

    def __init__(
        self,
        path: Union[str, Path],
        *,
        interval: float = 0.2,
        max_backoff: float = 30.0,
        busy_timeout: float = 1.0,
        opener: Optional[Callable[[Path], Stats]] = None,
    ) -> None:
        self.path = Path(path)
        self.interval = interval
        self.max_backoff = max_backoff
        self._open = opener or (lambda p: Stats(p, busy_timeout=busy_timeout))
        self._counts: Counter = Counter()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._give_up_at = 0.0
        self._stats: Optional[Stats] = None
        self._inode: Optional[Tuple[int, int]] = None
        self._thread: Optional[threading.Thread] = None
        self.state = "ok"  # or what is wrong, e.g. "locked by another process"
        self.since = time.time()  # when the state began
        self.started = self.since
        self.written = 0
        self.refused = 0
        self._reported = 0.0

    # -- the answering side: never touches the database

    def record(self, **counts: object) -> None:
        """Add counts (as `Stats.record`); returns at once."""
        rows = _rows_of(**counts)
        with self._lock:
            if len(self._counts) + len(rows) > MAX_WAITING_ROWS:
                self.refused += sum(rows.values())
                log.error(
                    "Statistics: %d counts refused, %d already waiting for the database.",
                    sum(rows.values()),
                    self.waiting_unlocked(),
                )
                return
            self._counts.update(rows)
        self._wake.set()

    def waiting_unlocked(self) -> int:
        return sum(self._counts.values())

    @property
    def waiting(self) -> int:
        """How many counts are in memory, not yet written."""
        with self._lock:
            return self.waiting_unlocked()

    def health(self) -> dict:
        return {"statistics": self.state, "counts_waiting": self.waiting}

    # -- the writing thread

    def _report(self, **final: object) -> None:
        """Where things stand, for `signpost stats` (numbers only)."""
        self._reported = time.monotonic()
        report = {"state": self.state, "since": self.since, "started": self.started, "updated": time.time()}
        status.write(self.path, {**report, "waiting": self.waiting, "written": self.written, **final})

    def start(self) -> "StatsWriter":
        self._report()
        self._thread = threading.Thread(target=self._run, name="signpost-stats-writer", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> int:
        """Write what is waiting (trying for up to `timeout` seconds) and stop; returns the counts lost."""
        self._give_up_at = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + 1)
        else:
            self.flush()
        lost = self.waiting
        if lost:
            log.error("Statistics database %s: %d counts could not be written and are lost.", self.state, lost)
            self._report(stopped=True, lost=lost)
        else:
            status.remove(self.path)
        self._drop_connection()
        return lost

    def _run(self) -> None:
        wait = self.interval
        while True:
            if self.state == "ok":
                self._wake.wait()  # something to write, or stopping
                self._stop.wait(self.interval)  # let a few turns' counts gather: one transaction for them
            else:
                self._stop.wait(wait)  # backing off
            self._wake.clear()
            written = self.flush()
            wait = self.interval if written else min(self.max_backoff, wait * 2)
            if self._stop.is_set():
                if written or time.monotonic() >= self._give_up_at:
                    return
                time.sleep(0.1)

    def flush(self) -> bool:
        """Try to write what is waiting now; True if nothing is left waiting from before."""
        with self._lock:
            snapshot = Counter(self._counts)
        if not snapshot:
            return True
        try:
            self._database().add(snapshot)
        except (sqlite3.Error, OSError) as error:
            self._drop_connection()
            state = fault(error)
            if state != self.state:
                log.error(
                    "Statistics database %s: counts are kept in memory (%d waiting) and retried.",
                    state,
                    sum(snapshot.values()),
                )
                self.state, self.since = state, time.time()
            self._report()  # every retry while failing: the waiting counts stay current
            return False
        with self._lock:
            self._counts.subtract(snapshot)
            self._counts = +self._counts  # drop the zeros
        self.written += sum(snapshot.values())
        if self.state != "ok":
            log.warning("Statistics database is writable again: %d waiting counts written.", sum(snapshot.values()))
            self.state, self.since = "ok", time.time()
            self._report()
        elif time.monotonic() - self._reported >= REPORT_EVERY:
            self._report()
        return True

    def _database(self) -> Stats:
        """The open database, reopened if its file was removed or replaced since it was opened."""
        if self._stats is not None:
            try:
                info = os.stat(self.path)
                current = (info.st_dev, info.st_ino)
            except FileNotFoundError:
                current = None
            if current != self._inode:
                self._drop_connection()
        if self._stats is None:
            if not self.path.parent.is_dir():
                raise FileNotFoundError("no such file or directory: the statistics folder")
            self._stats = self._open(self.path)
            info = os.stat(self.path)
            self._inode = (info.st_dev, info.st_ino)
        return self._stats

    def _drop_connection(self) -> None:
        stats, self._stats, self._inode = self._stats, None, None
        if stats is not None:
            try:
                stats.close()
            except sqlite3.Error:
                pass
