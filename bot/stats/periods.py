"""The periods counts are released for: week, month, quarter and since launch, all made of whole ISO weeks.

Months and quarters follow the ISO week calendar (the "4-4-5" pattern): each quarter is 13 weeks (14 in a year with
53 weeks), split into months of 4, 4 and 5 weeks (6 for the last month of a 53-week year). A month therefore starts
on the Monday nearest to the first of the calendar month, never more than a week away, and every period nests
exactly inside the next. That nesting is what lets `disclosure.py` check every released number against every other
one exactly: a calendar month would cut ISO weeks in two.

"Since launch" is a running total from the first week with any count. So that two releases can't be subtracted to
show one new week, it is released once per complete month (to the end of that month), every such row in every
release, so they are checked together with everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Dict, List, Tuple

PERIODS = ("week", "month", "quarter", "launch")
PERIOD_NAMES = {"week": "week", "month": "month", "quarter": "quarter", "launch": "since launch"}
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def weeks_between(first: date, last: date) -> List[str]:
    """Every ISO week from the one holding `first` to the one holding `last`."""
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(iso_week(monday))
        monday += timedelta(days=7)
    return weeks


def _weeks_in_year(year: int) -> int:
    return date(year, 12, 28).isocalendar()[1]


def month_of(week: str) -> str:
    """The ISO-calendar month ("2026-M11") holding an ISO week: 4, 4 and 5 weeks in each 13-week quarter."""
    year, number = (int(part) for part in week.split("-W"))
    quarter = min((number - 1) // 13, 3)
    offset = number - 1 - 13 * quarter
    month = 0 if offset < 4 else 1 if offset < 8 else 2
    return f"{year}-M{3 * quarter + month + 1:02d}"


def quarter_of(week: str) -> str:
    year, number = (int(part) for part in week.split("-W"))
    return f"{year}-Q{min((number - 1) // 13, 3) + 1}"


def first_week_of_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-M"))
    quarter, index = divmod(number - 1, 3)
    return f"{year}-W{13 * quarter + 4 * index + 1:02d}"


@dataclass(frozen=True)
class Period:
    """One released period: its kind, its id, and the span of ISO weeks (indexes into the release's weeks)."""

    kind: str
    id: str
    first: int  # index of the first week (inclusive)
    last: int  # index of the last week (inclusive)
    start: date  # the Monday of the first week
    end: date  # the Sunday of the last week

    @property
    def label(self) -> str:
        """What a moderator reads, for example "week of 26 Oct 2026" or "month of 26 Oct - 22 Nov 2026"."""

        def day(d: date) -> str:
            return f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"

        if self.kind == "week":
            return f"week of {day(self.start)}"
        if self.kind == "launch":
            return f"since launch, to {day(self.end)}"
        return f"{self.kind} {day(self.start)} to {day(self.end)}"


def periods(weeks: List[str]) -> Dict[str, List[Period]]:
    """Every period of each kind over a run of consecutive complete ISO weeks (`weeks`, oldest first).

    A month or quarter is released only when all its weeks are complete; the first one may start with the first
    week of the run (nothing was counted before it). "Since launch" has one row per complete month.
    """
    out: Dict[str, List[Period]] = {kind: [] for kind in PERIODS}
    if not weeks:
        return out
    mondays = [week_monday(w) for w in weeks]

    def make(kind: str, pid: str, first: int, last: int) -> Period:
        return Period(kind, pid, first, last, mondays[first], mondays[last] + timedelta(days=6))

    out["week"] = [make("week", w, i, i) for i, w in enumerate(weeks)]
    for kind, of in (("month", month_of), ("quarter", quarter_of)):
        groups: Dict[str, List[int]] = {}
        for index, week in enumerate(weeks):
            groups.setdefault(of(week), []).append(index)
        for pid, indexes in groups.items():
            if _complete(kind, pid, weeks[indexes[-1]]):
                out[kind].append(make(kind, pid, indexes[0], indexes[-1]))
    out["launch"] = [make("launch", f"launch-{m.id}", 0, m.last) for m in out["month"]]
    return out


def _complete(kind: str, pid: str, last_week: str) -> bool:
    """Whether the period's own last ISO week is `last_week` or earlier (so all of it lies in the run)."""
    year, number = (int(part) for part in last_week.split("-W"))
    if kind == "month":
        month = int(pid.split("-M")[1])
        end = 13 * ((month - 1) // 3) + 4 * ((month - 1) % 3) + 4
        if month % 3 == 0:
            end = 13 * (month // 3) if month < 12 else _weeks_in_year(int(pid[:4]))
    else:
        quarter = int(pid.split("-Q")[1])
        end = 13 * quarter if quarter < 4 else _weeks_in_year(int(pid[:4]))
    return number >= end


def week_range(first_day: date, today: date, include_current_week: bool = False) -> Tuple[List[str], str]:
    """The complete weeks from the one holding `first_day` to the last before today's (and today's if asked)."""
    current = iso_week(today)
    last = today if include_current_week else today - timedelta(days=today.weekday() + 1)
    weeks = weeks_between(first_day, last) if first_day <= last else []
    return weeks, current
