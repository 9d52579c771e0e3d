"""The released tables: per measure and period (week, month, quarter, since launch), small-number protected.

One measure's numbers over every period are protected together (`audit.protect`), so no released number can be
set against another to narrow a "<10". Failures are one measure shown three ways (by concern, by turn, by kind),
checked together too. Complete weeks only: the running week is left out (releasing it day after day would let the
difference between two releases show single new cases), and so is any month or quarter not yet over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.concerns import CONCERNS, PLATFORMS
from bot.stats.audit import TOTAL_KEY, CellRef, Margin, protect
from bot.stats.disclosure import Cell
from bot.stats.periods import PERIOD_NAMES, PERIODS, Period, periods, week_range
from bot.stats.store import OUTCOMES, TOTAL, Stats, _utc_today

# Greetings and out-of-scope messages are not concerns: they are left out of the concern tables and the chart.
CONCERN_KEYS = tuple(c for c in CONCERNS if c not in ("greet", "out_of_scope"))
TURN_KEYS = tuple(str(t) for t in range(1, 10)) + ("10+",)

# released measure -> its views (the first is always shown week by week)
MEASURE_VIEWS: Dict[str, Tuple[Margin, ...]] = {
    "concerns": (Margin("concerns", CONCERN_KEYS, True),),
    "platforms": (Margin("platforms", PLATFORMS, True),),
    "outcomes": (Margin("outcomes", OUTCOMES, False),),
    "failures": (
        Margin("failures_by_concern", CONCERN_KEYS + ("none",), True),
        # Two views of the same answers would give each other's weekly "<10" away: by turn starts at months.
        Margin("failures_by_turn", TURN_KEYS, False, ("month", "quarter", "launch")),
    ),
}
# released table -> (measure, view index)
TABLES: Dict[str, Tuple[str, int]] = {
    margin.name: (measure, index) for measure, margins in MEASURE_VIEWS.items() for index, margin in enumerate(margins)
}

LABELS = {
    "asked_for_nudes": "Asked for nude images",
    "sextortion": "Blackmail with an image (sextortion)",
    "image_shared": "Image of them shared",
    "sent_nude_worried": "Worried after sending one",
    "received_nude": "Was sent a sexual image",
    "unknown_contact": "Contact from a stranger or adult",
    "friend_worried": "Worried about a friend",
    "immediate_danger": "In danger now",
    "self_harm": "Self-harm or suicide",
    "block_report_help": "How to block and report",
    "talk_to_someone": "Wants to talk to someone",
    "privacy_question": "Asked about privacy",
    "none": "No concern yet",
    "childline_shown": "Childline's number shown",
    "block_report_steps_shown": "Block and report steps given",
    "crisis_answer_shown": "Crisis answer given",
    "quick_exit": "Quick exit used",
    "picture_deleted": "Picture deleted",
    "fallback_menu_shown": "Menu shown (bot unsure)",
    "not_understood": "Not understood",
    "cant_help": "Can't help",
    TOTAL: "Total",
    **{t: f"Turn {t}" for t in TURN_KEYS},
}


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


@dataclass
class Release:
    """One released table: one view of a measure over one kind of period."""

    measure: str  # the table's name, for example "concerns" or "failures_by_turn"
    period: str  # "week", "month", "quarter" or "launch"
    keys: Tuple[str, ...]
    periods: List[Period]
    rows: Dict[str, List[Cell]]
    totals: Dict[str, Optional[Cell]]
    finest: Optional[str] = None  # the finest kind of period of this table that shows any number (10 or more)
    released_on: date = field(default_factory=_utc_today)

    @property
    def weeks(self) -> List[str]:  # the period ids, oldest first (named for the weekly table it started as)
        return [p.id for p in self.periods]

    @property
    def with_total(self) -> bool:
        return any(total is not None for total in self.totals.values()) or MARGIN[self.measure].with_total

    def header(self) -> List[str]:
        return [self.period, "starts", *self.keys] + ([TOTAL] if self.with_total else [])

    def table(self) -> List[List[str]]:
        """Wide form: one row per period, one column per key (and the period's total)."""
        out = []
        for period in self.periods:
            row = [period.id, period.start.isoformat(), *(cell.shown for cell in self.rows[period.id])]
            total = self.totals[period.id]
            if total is not None:
                row.append(total.shown)
            out.append(row)
        return out

    def cells(self) -> List[Tuple[Period, str, Cell]]:
        """Long form: (period, key, cell) for every released number, totals last in each period."""
        out = []
        for period in self.periods:
            out += [(period, key, cell) for key, cell in zip(self.keys, self.rows[period.id])]
            if self.totals[period.id] is not None:
                out.append((period, TOTAL, self.totals[period.id]))
        return out

    def long_rows(self) -> List[Dict[str, object]]:
        """Long form for the exported database and the CSV: one row per (period, key)."""
        return [
            {
                "period_kind": PERIOD_NAMES[period.kind],
                "period": period.id,
                "period_start": period.start.isoformat(),
                "period_end": period.end.isoformat(),
                "period_label": period.label,
                "key": key,
                "label": label(key),
                "shown": cell.shown,
                "value": cell.value,
                "suppressed": cell.shown if cell.suppressed else "",
            }
            for period, key, cell in self.cells()
        ]


MARGIN: Dict[str, Margin] = {m.name: m for margins in MEASURE_VIEWS.values() for m in margins}


def _weekly_counts(stats: Stats, measure: str, weeks: Sequence[str]) -> List[np.ndarray]:
    """Each view's counts, keys down and weeks across."""
    raw = stats.weekly(measure)
    margins = MEASURE_VIEWS[measure]
    arrays = [np.zeros((len(m.keys), len(weeks)), dtype=np.int64) for m in margins]
    index = [{key: i for i, key in enumerate(m.keys)} for m in margins]
    for w, week in enumerate(weeks):
        for key, count in raw.get(week, {}).items():
            if measure != "failures":
                if key in index[0]:
                    arrays[0][index[0][key], w] += count
                continue
            _kind, concern, turn = key.split("|")  # both kinds of failed answer together
            concern = concern if concern in index[0] else "none"
            arrays[0][index[0][concern], w] += count
            arrays[1][index[1]["10+" if turn == "10" else turn], w] += count
    return arrays


def release_measure(
    stats: Stats, measure: str, today: Optional[date] = None, include_current_week: bool = False
) -> List[Release]:
    """Every table of one measure over every kind of period, protected together."""
    today = today or _utc_today()
    first = stats.first_day()
    weeks, _ = week_range(first, today, include_current_week) if first else ([], "")
    by_kind = periods(weeks)
    margins = MEASURE_VIEWS[measure]
    cells: Dict[CellRef, Cell] = {}
    if weeks:
        cells = protect(margins, _weekly_counts(stats, measure, weeks), by_kind)
    out = []
    for m, margin in enumerate(margins):
        tables = []
        for kind in margin.kinds:
            rows = {p.id: [cells[CellRef(m, k, p)] for k in range(len(margin.keys))] for p in by_kind[kind]}
            totals = {p.id: cells.get(CellRef(m, TOTAL_KEY, p)) for p in by_kind[kind]}
            tables.append(Release(margin.name, kind, margin.keys, by_kind[kind], rows, totals, released_on=today))
        finest = next((t.period for t in tables if any((c.value or 0) >= 10 for _, _, c in t.cells())), None)
        for table in tables:
            table.finest = finest
        out += tables
    return out


def release(
    stats: Stats, measure: str, period: str = "week", today: Optional[date] = None, include_current_week: bool = False
) -> Release:
    """One released table: `measure` is a measure ("concerns") or one of its tables ("failures_by_turn")."""
    if period not in PERIODS:
        raise ValueError(f"period is one of {', '.join(PERIODS)}")
    if include_current_week and period != "week":
        raise ValueError("the running week can only be added to the weekly table")
    parent, view = TABLES[measure] if measure in TABLES else (measure, 0)
    margin = MEASURE_VIEWS[parent][view]
    if period not in margin.kinds:
        raise ValueError(f"{margin.name} is released per {', '.join(margin.kinds)} only")
    table = margin.name
    for rel in release_measure(stats, parent, today, include_current_week):
        if rel.measure == table and rel.period == period:
            return rel
    raise KeyError(measure)


def releases(stats: Stats, today: Optional[date] = None) -> List[Release]:
    """Every released table of every measure and period (what an export holds)."""
    return [rel for measure in MEASURE_VIEWS for rel in release_measure(stats, measure, today)]
