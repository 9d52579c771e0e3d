"""The statistics database: counts per UTC day in, read back raw (never released as such).

What is stored (SQLite, `bot.settings.stats_db()`): four tables of counts per UTC day, one row per (day, key):
which concerns came up, which apps were named, which outcomes happened, and where answers failed (the kind of
failure, the concern of the conversation and the turn). No user or conversation id, no time finer than a day, no
concern-by-app cross-table. Keys come from closed lists only, so no free text can ever be stored.

What is released is made in `release.py`, with the protection in `disclosure.py` and `audit.py`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple, Union

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.concerns import CONCERNS, PLATFORMS
from bot.settings import stats_db
from bot.stats.location import checked_path
from bot.stats.periods import iso_week

OUTCOMES = (
    "childline_shown",
    "block_report_steps_shown",
    "crisis_answer_shown",
    "quick_exit",
    "picture_deleted",
    "fallback_menu_shown",
)

# Where a conversation failed: the kind of answer, the concern it was about ("none" before any), the turn (10 = 10+).
FAILURE_KINDS = ("not_understood", "cant_help")
FAILURE_CONCERNS = (*CONCERNS, "none")
FAILURE_TURNS = tuple(range(1, 11))
FAILURE_KEYS = tuple(
    f"{kind}|{concern}|{turn}" for kind in FAILURE_KINDS for concern in FAILURE_CONCERNS for turn in FAILURE_TURNS
)

# measure -> (daily table, allowed keys, whether the release has a total per period)
MEASURES: Dict[str, Tuple[str, Tuple[str, ...], bool]] = {
    "concerns": ("concern_daily", CONCERNS, True),
    "platforms": ("platform_daily", PLATFORMS, True),
    "outcomes": ("outcome_daily", OUTCOMES, False),
    "failures": ("failure_daily", FAILURE_KEYS, True),
}
TOTAL = "total"

migrations = Migrations("signpost_stats")


@migrations()
def m001_daily_counts(db: Database) -> None:
    """One table of counts per measure: (day, key) -> count."""
    for table in ("concern_daily", "platform_daily", "outcome_daily"):
        db[table].create(
            {"day": str, "key": str, "count": int},
            pk=("day", "key"),
            not_null={"day", "key", "count"},
            if_not_exists=True,
        )


@migrations()
def m002_key_day_indexes(db: Database) -> None:
    """Index by key then day: a trend of one concern reads one index range."""
    for table in ("concern_daily", "platform_daily", "outcome_daily"):
        db[table].create_index(["key", "day"], if_not_exists=True)


@migrations()
def m003_failure_daily(db: Database) -> None:
    """Failed answers per day: key "kind|concern|turn", for example "not_understood|sextortion|2"."""
    db["failure_daily"].create(
        {"day": str, "key": str, "count": int},
        pk=("day", "key"),
        not_null={"day", "key", "count"},
        if_not_exists=True,
    )
    db["failure_daily"].create_index(["key", "day"], if_not_exists=True)


def _utc_today() -> date:
    return datetime.now(timezone.utc).date()


def _day(day: Union[None, str, date]) -> str:
    if day is None:
        return _utc_today().isoformat()
    if isinstance(day, datetime):
        raise TypeError("record() takes a date, not a time: nothing finer than a day is kept")
    if isinstance(day, date):
        return day.isoformat()
    return date.fromisoformat(day).isoformat()


def _checked(keys: Iterable[str], allowed: Sequence[str], what: str) -> List[str]:
    keys = list(keys)
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        # Keys come from closed lists only; never echo the value (it could be text).
        raise ValueError(f"{len(unknown)} unknown {what} key(s); allowed: {', '.join(allowed)}")
    return keys


def failure_rows(failures: Iterable[Tuple[str, str, int]], day: Union[None, str, date]) -> List[Tuple[str, str, str]]:
    """(table, day, key) for each (kind, concern, turn) failure; turns past 10 count as 10; unknown keys refused."""
    keys = []
    for kind, concern, turn in failures:
        if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
            raise ValueError("a failure's turn is a whole number from 1")
        keys.append(f"{kind}|{concern}|{min(turn, 10)}")
    return [("failure_daily", _day(day), key) for key in _checked(keys, FAILURE_KEYS, "failures")]


def _rows(
    concerns: Iterable[str], platforms: Iterable[str], outcomes: Iterable[str], day: Union[None, str, date]
) -> List[Tuple[str, str, str]]:
    """(table, day, key) for each given concern, app and outcome; unknown keys are refused."""
    today = _day(day)
    return [
        (table, today, key)
        for measure, keys in (("concerns", concerns), ("platforms", platforms), ("outcomes", outcomes))
        for table, allowed, _ in [MEASURES[measure]]
        for key in _checked(keys, allowed, measure)
    ]


class Stats:
    """The statistics database. Safe to share between threads, and between processes (WAL, busy timeout)."""

    def __init__(self, path: Union[None, str, Path] = None, *, busy_timeout: float = 30.0, create: bool = True) -> None:
        """Open the database at `path` (default `settings.stats_db()`). With create=False (the moderators'
        commands) a missing file is an error instead of a new empty database; see `location.checked_path`."""
        self.path = checked_path(Path(path) if path is not None else stats_db(), create=create)
        conn = sqlite3.connect(str(self.path), timeout=busy_timeout, check_same_thread=False)
        self.db = Database(conn, execute_plugins=False)
        self._lock = threading.Lock()
        self._enable_wal(busy_timeout)
        # In WAL mode NORMAL is safe against corruption; a power cut may lose the last few increments.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()

    def _enable_wal(self, busy_timeout: float) -> None:
        """Switch the file to WAL. Connections switching a fresh file at the same moment can get "database is
        locked" at once (SQLite skips the busy handler where waiting could deadlock), so try again until the timeout."""
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self.db.enable_wal()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)

    def migrate(self) -> None:
        """Create or evolve the schema; several processes may start at once, so it runs under the write lock."""
        if not migrations.pending(self.db):
            return
        with self._lock:
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(self.db)
            except BaseException:
                self.db.conn.execute("ROLLBACK")
                raise
            self.db.conn.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Stats":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(
        self,
        concerns: Iterable[str] = (),
        platforms: Iterable[str] = (),
        outcomes: Iterable[str] = (),
        day: Union[None, str, date] = None,
        failures: Iterable[Tuple[str, str, int]] = (),
    ) -> None:
        """Add one to each given concern, app, outcome and failure (kind, concern, turn) for `day` (today, UTC),
        in one atomic transaction."""
        self.add(Counter(_rows(concerns, platforms, outcomes, day) + failure_rows(failures, day)))

    def add(self, counts: Mapping[Tuple[str, str, str], int]) -> None:
        """Add counts {(table, day, key): n}, already checked, in one atomic transaction."""
        if not counts:
            return
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                for (table, day, key), count in counts.items():
                    conn.execute(
                        f"INSERT INTO [{table}] (day, key, count) VALUES (?, ?, ?) "
                        "ON CONFLICT (day, key) DO UPDATE SET count = count + excluded.count",
                        (day, key, count),
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def daily(self, measure: str) -> Dict[str, Dict[str, int]]:
        """Raw counts {day: {key: count}} (never released as such)."""
        table = MEASURES[measure][0]
        out: Dict[str, Dict[str, int]] = {}
        for day, key, count in self.db.execute(f"SELECT day, key, count FROM [{table}] ORDER BY day, key"):
            out.setdefault(day, {})[key] = count
        return out

    def weekly(self, measure: str) -> Dict[str, Dict[str, int]]:
        """Raw counts per ISO week {"2026-W47": {key: count}}, only weeks with counts (never released as such)."""
        totals: Dict[str, Dict[str, int]] = {}
        for day, counts in self.daily(measure).items():
            bucket = totals.setdefault(iso_week(date.fromisoformat(day)), {})
            for key, count in counts.items():
                bucket[key] = bucket.get(key, 0) + count
        return totals

    def first_day(self) -> Union[None, date]:
        """The first day with any count in any table (the launch), or None for an empty database."""
        days = [
            row[0]
            for table, _, _ in MEASURES.values()
            for row in self.db.execute(f"SELECT min(day) FROM [{table}]")
            if row[0]
        ]
        return date.fromisoformat(min(days)) if days else None


def _rows_of(**counts: object) -> Counter:
    """The checked rows `Stats.record(**counts)` would add, whatever keywords it takes: it is run on a stand-in
    whose `add` keeps them, so every field `record` knows flows through the batches and the writer unchanged."""
    kept: Counter = Counter()

    class _Keep:
        @staticmethod
        def add(rows: Mapping[Tuple[str, str, str], int]) -> None:
            kept.update(rows)

    Stats.record(_Keep(), **counts)  # type: ignore[arg-type]
    return kept


class CountBatch:
    """Counts gathered in memory and written to the statistics database together by `flush()`.

    It holds only numbers per (day, key), like the database. The engine process flushes whenever it has no message
    waiting, and at least every `FLUSH_EVERY` records under load: one transaction instead of one per turn.
    """

    FLUSH_EVERY = 100

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self._counts: Counter = Counter()
        self.records = 0  # record() calls since the last flush

    def record(self, **counts: object) -> None:
        """As `Stats.record` (same keywords, checked at once), kept in memory until `flush()`."""
        self._counts.update(_rows_of(**counts))
        self.records += 1
        if self.records >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write what was gathered in one transaction."""
        counts, self._counts, self.records = self._counts, Counter(), 0
        self.stats.add(counts)
