"""Small-number protection: what one count may show, and what a row of counts and its total may show.

Primary rule, for every released number: 0 shows as 0, 1 to 9 as "<10", everything else rounded to the nearest 5.
Secondary rule: a number that, together with the others released, would narrow a "<10" below the whole range 1 to 9
is withheld ("hidden"). `protect_row` applies it to one row and its total; `audit.py` applies it to everything one
release shows at once (every period, every table of a measure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

THRESHOLD = 10  # counts from 1 to THRESHOLD - 1 are never shown
BASE = 5  # every other count is rounded to the nearest multiple of BASE
SMALL = f"<{THRESHOLD}"
HIDDEN = "hidden"  # withheld so that it can't give away a small count (secondary suppression)

# What a moderator reads next to a number that isn't shown (the CSV's flag column, the chart's legend).
WHY = {
    SMALL: f"fewer than {THRESHOLD} (1 to {THRESHOLD - 1}): small numbers are never shown",
    HIDDEN: "held back: next to the other numbers it would give away a small one",
}


@dataclass(frozen=True)
class Cell:
    """One released number: `shown` is what moderators see; `value` is the released number, None if not exact."""

    shown: str
    value: Optional[int]

    @property
    def suppressed(self) -> bool:
        return self.value is None


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
    """Protect one row of counts on its own, and its total when the table has one.

    Primary: every cell and the total get `primary()`. Secondary: the total (even a "<10" total) is withheld
    ("hidden") whenever, together with the other released numbers of the row, it would narrow any "<10" cell below
    the full range 1 to 9 (for example one small cell next to zeros and a 10, or 9 + 9 shown as 20). A release of
    several periods goes through `audit.protect`, which also checks rows against each other.
    """
    cells = [primary(c) for c in counts]
    if not with_total:
        return cells, None
    total = primary(sum(counts))
    if total_reveals(cells, total):
        total = Cell(HIDDEN, None)
    return cells, total
