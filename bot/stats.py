"""Anonymous statistics for moderators: daily counts in, small-number-safe weekly tables out.

What is stored (SQLite, `bot.settings.stats_db()`): three tables of counts per UTC day, one row per (day, key):
which concerns came up, which apps were named, which outcomes happened. No user or conversation id, no time finer
than a day, no concern-by-app cross-table. Keys come from closed lists only, so no free text can ever be stored.

What is released (`signpost stats`, `signpost stats export`): weekly (ISO week) tables with small-number protection,
see `protect_row` and docs/privacy.md.
"""

from __future__ import annotations

import csv
import sqlite3
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.concerns import CONCERNS, PLATFORMS
from bot.settings import stats_db

OUTCOMES = (
    "childline_shown",
    "block_report_steps_shown",
    "crisis_answer_shown",
    "quick_exit",
    "picture_deleted",
    "fallback_menu_shown",
)

# measure -> (daily table, allowed keys, whether the weekly release has an "all" total per week)
MEASURES: Dict[str, Tuple[str, Tuple[str, ...], bool]] = {
    "concerns": ("concern_daily", CONCERNS, True),
    "platforms": ("platform_daily", PLATFORMS, True),
    "outcomes": ("outcome_daily", OUTCOMES, False),
}
TOTAL = "total"

migrations = Migrations("signpost_stats")


@migrations()
def m001_daily_counts(db: Database) -> None:
    """One table of counts per measure: (day, key) -> count."""
    for table, _, _ in MEASURES.values():
        db[table].create(
            {"day": str, "key": str, "count": int},
            pk=("day", "key"),
            not_null={"day", "key", "count"},
            if_not_exists=True,
        )


@migrations()
def m002_key_day_indexes(db: Database) -> None:
    """Index by key then day: a trend of one concern reads one index range."""
    for table, _, _ in MEASURES.values():
        db[table].create_index(["key", "day"], if_not_exists=True)


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


def _rows(concerns: Iterable[str], platforms: Iterable[str], outcomes: Iterable[str],
          day: Union[None, str, date]) -> List[Tuple[str, str, str]]:
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

    def __init__(self, path: Union[None, str, Path] = None, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path) if path is not None else stats_db()
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
    ) -> None:
        """Add one to each given concern, app and outcome for `day` (today, UTC), in one atomic transaction."""
        self.add(Counter(_rows(concerns, platforms, outcomes, day)))

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
        """Raw counts per ISO week {"2026-W47": {key: count}}, every week from the first to the last with data."""
        totals: Dict[str, Dict[str, int]] = {}
        days = self.daily(measure)
        for day, counts in days.items():
            week = iso_week(date.fromisoformat(day))
            bucket = totals.setdefault(week, {})
            for key, count in counts.items():
                bucket[key] = bucket.get(key, 0) + count
        if not days:
            return {}
        first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
        return {week: totals.get(week, {}) for week in weeks_between(first, last)}


def _rows_of(**counts: object) -> Counter:
    """The checked rows `Stats.record(**counts)` would add, whatever keywords it takes: it is run on a stand-in
    whose `add` keeps them, so every field `record` knows flows through the batches below unchanged."""
    kept: Counter = Counter()

    class _Keep:
        @staticmethod
        def add(rows: Mapping[Tuple[str, str, str], int]) -> None:
            kept.update(rows)

    Stats.record(_Keep(), **counts)  # type: ignore[arg-type]
    return kept


class CountBatch:
    """Counts gathered in memory and written to the statistics database together by `flush()`.

    It holds only numbers per (day, key), like the database: one transaction instead of one per turn.
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


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def weeks_between(first: date, last: date) -> List[str]:
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(iso_week(monday))
        monday += timedelta(days=7)
    return weeks


# ---------------------------------------------------------------------------------------------------------------
# Small-number protection

THRESHOLD = 10  # counts from 1 to THRESHOLD - 1 are never shown
BASE = 5  # every other count is rounded to the nearest multiple of BASE
SMALL = f"<{THRESHOLD}"
HIDDEN = "hidden"  # a total withheld so that it can't reveal a small count (secondary suppression)


@dataclass(frozen=True)
class Cell:
    """One released number: `shown` is what moderators see; `value` is the released number, None if not exact."""

    shown: str
    value: Optional[int]


def round_count(count: int) -> int:
    """Nearest multiple of BASE (counts are whole numbers, so there are no ties with BASE 5)."""
    return BASE * ((count + BASE // 2) // BASE)


def primary(count: int) -> Cell:
    """0 stays 0, 1 to 9 become "<10", the rest are rounded to the nearest 5."""
    if count < 0:
        raise ValueError("counts are never negative")
    if count == 0:
        return Cell("0", 0)
    if count < THRESHOLD:
        return Cell(SMALL, None)
    rounded = round_count(count)
    return Cell(str(rounded), rounded)


def interval(cell: Cell) -> Tuple[int, int]:
    """Every true count consistent with a released cell (what anyone can infer from that cell alone)."""
    if cell.shown == SMALL:
        return 1, THRESHOLD - 1
    if cell.value is None:
        raise ValueError("a withheld cell has no interval")
    if cell.value == 0:
        return 0, 0
    # Rounded to the nearest 5: up to 2 either side, and never below the threshold (smaller counts show "<10").
    return max(THRESHOLD, cell.value - BASE // 2), cell.value + BASE // 2


def total_reveals(cells: Sequence[Cell], total: Cell) -> bool:
    """True if releasing `total` next to `cells` narrows any "<10" cell below the full range 1 to 9.

    Given the released row, a small cell could be v if the others (each within its own interval) can make up the
    total's interval. The possible values of one cell form a range, so it is enough to test v = 1 and v = 9.
    """
    t_lo, t_hi = interval(total)
    bounds = [interval(c) for c in cells]
    lo_sum = sum(lo for lo, _ in bounds)
    hi_sum = sum(hi for _, hi in bounds)
    for (lo, hi), cell in zip(bounds, cells):
        if cell.shown != SMALL:
            continue
        others_lo, others_hi = lo_sum - lo, hi_sum - hi
        for v in (1, THRESHOLD - 1):
            if v + others_hi < t_lo or v + others_lo > t_hi:
                return True
    return False


def protect_row(counts: Sequence[int], with_total: bool) -> Tuple[List[Cell], Optional[Cell]]:
    """Protect one week's counts, and its total when the table has one.

    Primary: every cell and the total get `primary()`. Secondary: the total (even a "<10" total) is withheld
    ("hidden") whenever, together with the other released numbers of the week, it would narrow any "<10" cell below
    the full range 1 to 9 (for example one small cell next to zeros and a 10, or 9 + 9 shown as 20).
    """
    cells = [primary(c) for c in counts]
    if not with_total:
        return cells, None
    total = primary(sum(counts))
    if total_reveals(cells, total):
        total = Cell(HIDDEN, None)
    return cells, total


@dataclass
class Release:
    """One measure's released weekly table."""

    measure: str
    keys: Tuple[str, ...]
    weeks: List[str]
    rows: Dict[str, List[Cell]]
    totals: Dict[str, Optional[Cell]]

    def header(self) -> List[str]:
        return ["week", *self.keys] + ([TOTAL] if MEASURES[self.measure][2] else [])

    def table(self) -> List[List[str]]:
        """Wide form: one row per week, one column per key (and the week's total)."""
        out = []
        for week in self.weeks:
            row = [week, *(cell.shown for cell in self.rows[week])]
            total = self.totals[week]
            if total is not None:
                row.append(total.shown)
            out.append(row)
        return out

    def long_rows(self) -> List[Dict[str, object]]:
        """Long form for the exported database: one row per (week, key)."""
        out = []
        for week in self.weeks:
            monday = week_monday(week).isoformat()
            cells = list(zip(self.keys, self.rows[week]))
            if self.totals[week] is not None:
                cells.append((TOTAL, self.totals[week]))
            for key, cell in cells:
                out.append({"week": week, "week_start": monday, "key": key, "shown": cell.shown, "value": cell.value})
        return out


def release(stats: Stats, measure: str, today: Optional[date] = None, include_current_week: bool = False) -> Release:
    """The protected weekly table of one measure: complete ISO weeks only, unless asked for the running week too.

    A running week is left out by default: releasing it day after day would let differences between releases
    show single new cases.
    """
    _, keys, with_total = MEASURES[measure]
    current = iso_week(today or _utc_today())
    weekly = stats.weekly(measure)
    weeks = [w for w in weekly if w < current or (include_current_week and w == current)]
    rows, totals = {}, {}
    for week in weeks:
        counts = [weekly[week].get(key, 0) for key in keys]
        rows[week], totals[week] = protect_row(counts, with_total)
    return Release(measure, keys, weeks, rows, totals)


def releases(stats: Stats, today: Optional[date] = None, include_current_week: bool = False) -> List[Release]:
    return [release(stats, m, today, include_current_week) for m in MEASURES]


# ---------------------------------------------------------------------------------------------------------------
# Outputs: terminal table, CSV, chart, exported database


def format_table(rel: Release) -> str:
    """A plain-text table, weeks down, keys across."""
    header = rel.header()
    rows = rel.table()
    if not rows:
        return f"{rel.measure}: no complete weeks yet"
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    for row in rows:
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def write_csv(rel: Release, path: Union[str, Path]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(rel.header())
        writer.writerows(rel.table())


def draw_chart(rel: Release, path: Union[str, Path]) -> None:
    """Small multiples: the released weekly numbers of each key; weeks under 10 are drawn as a band, not a value."""
    with warnings.catch_warnings():
        # This matplotlib calls pyparsing functions that newer pyparsing marks as deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

    keys = rel.keys
    cols = 4
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 3.2, rows * 2.4), sharex=True, squeeze=False)
    x = list(range(len(rel.weeks)))
    for index, ax in enumerate(axes.flat):
        if index >= len(keys):
            ax.axis("off")
            continue
        values = [rel.rows[w][index].value for w in rel.weeks]
        small = [i for i, w in enumerate(rel.weeks) if rel.rows[w][index].shown == SMALL]
        ax.axhspan(0, THRESHOLD, color="0.92", zorder=0)
        ax.plot(x, [float("nan") if v is None else v for v in values], marker="o", markersize=3, color="tab:blue")
        ax.scatter(small, [THRESHOLD / 2] * len(small), marker="_", s=60, color="0.4", zorder=3)
        ax.set_title(keys[index].replace("_", " "), fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        if rel.weeks:
            step = max(1, len(x) // 4)
            ax.set_xticks(x[::step])
            ax.set_xticklabels(rel.weeks[::step], rotation=45, ha="right")
    fig.suptitle(
        f"Signpost: {rel.measure} per week (rounded to 5; grey band: fewer than {THRESHOLD}, not shown)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


RELEASE_TABLES = {measure: f"{measure}_weekly" for measure in MEASURES}


def export(stats: Stats, path: Union[str, Path], today: Optional[date] = None) -> Path:
    """Write a new database holding only the released (protected) weekly tables of complete weeks."""
    path = Path(path)
    if path.exists():
        path.unlink()
    today = today or _utc_today()
    released = releases(stats, today)
    weeks = sorted({week for rel in released for week in rel.weeks})
    out = Database(path, execute_plugins=False)
    try:
        with out.atomic():
            for rel in released:
                table = out[RELEASE_TABLES[rel.measure]]
                table.create(
                    {"week": str, "week_start": str, "key": str, "shown": str, "value": int},
                    pk=("week", "key"),
                    not_null={"week", "week_start", "key", "shown"},
                )
                table.insert_all(rel.long_rows())
            out["release"].create(
                {"released_on": str, "first_week": str, "last_week": str, "threshold": int, "rounding": int}
            )
            out["release"].insert(
                {
                    "released_on": today.isoformat(),
                    "first_week": weeks[0] if weeks else None,
                    "last_week": weeks[-1] if weeks else None,
                    "threshold": THRESHOLD,
                    "rounding": BASE,
                }
            )
    finally:
        out.close()
    return path
