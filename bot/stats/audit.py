"""Secondary suppression across a whole release: every period, every table of a measure, checked together.

A release shows the same counts several ways: per week, per month, per quarter, since launch, and each row's total;
failures are shown by concern and by turn, two views of the same answers. Subtracting one released number from
another could narrow a "<10" (a quarter of 15 made of two weeks under 10 says each week was at least 4).

What anyone can know from a release is the set of "worlds": whole-number weekly counts, never negative, that would
have given exactly the released table (each shown number's range: 0, 1 to 9, or the multiple of 5 give or take 2;
the views of one measure adding up to the same number each week). A release is safe when, over those worlds, every
released "<10" can still be 1 and can still be 9 (the values one count can take form a range, so those two ends are
enough). This module finds, for each "<10", the smallest and largest value it can take with an integer programme
(scipy's HiGHS), and withholds ("hidden") other numbers until every "<10" keeps the whole range 1 to 9.

The first view's weekly counts are always shown (after primary protection): they are the base every other number
is made of, so keeping each of their "<10" whole protects every small count, shown or not. What gets withheld is
chosen in this order: for such a "<10", its week's total, then other totals, then the same count over longer
periods, finer first (so the longer periods, the ones that pass 10, stay visible), then the other views, a "<10" or
a 0 before a number; any other "<10" is simply withheld itself. Withholding only ever removes facts, so a "<10"
checked safe stays safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from bot.stats.disclosure import HIDDEN, SMALL, THRESHOLD, Cell, interval, primary
from bot.stats.periods import PERIODS, Period

TOTAL_KEY = -1
TRIALS = 2  # candidates tried one by one before withholding the best-ranked


@dataclass(frozen=True)
class Margin:
    """One view of a measure: its keys, and whether rows have a total."""

    name: str
    keys: Tuple[str, ...]
    with_total: bool
    kinds: Tuple[str, ...] = PERIODS  # the kinds of period it is released for


@dataclass(frozen=True)
class CellRef:
    """A released number: view `margin`, key index (TOTAL_KEY for the row total), period."""

    margin: int
    key: int
    period: Period


class _Problem:
    def __init__(self, margins: Sequence[Margin], counts: Sequence[np.ndarray], periods: Dict[str, List[Period]]):
        self.weeks = counts[0].shape[1]
        sizes = [len(m.keys) * self.weeks for m in margins]
        self.base = np.cumsum([0, *sizes])
        self.n = int(self.base[-1])
        self.truth = np.concatenate([np.asarray(c, dtype=float).ravel() for c in counts])
        self.cells: List[CellRef] = []
        rows, cols = [], []
        for m, margin in enumerate(margins):
            for kind in margin.kinds:
                for period in periods.get(kind, []):
                    keys = list(range(len(margin.keys))) + ([TOTAL_KEY] if margin.with_total else [])
                    for key in keys:
                        index = len(self.cells)
                        self.cells.append(CellRef(m, key, period))
                        for k in range(len(margin.keys)) if key == TOTAL_KEY else [key]:
                            for w in range(period.first, period.last + 1):
                                rows.append(index)
                                cols.append(self.base[m] + k * self.weeks + w)
        self.incidence = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(self.cells), self.n))
        true_counts = self.incidence @ self.truth
        self.shown = [primary(int(round(v))) for v in true_counts]
        self.bounds = [interval(cell) for cell in self.shown]
        # Every view of the measure adds up to the same number each week.
        eq_rows, eq_cols, eq_vals = [], [], []
        row = 0
        for m in range(1, len(margins)):
            for w in range(self.weeks):
                for mm, sign in ((m, 1.0), (0, -1.0)):
                    for k in range(len(margins[mm].keys)):
                        eq_rows.append(row)
                        eq_cols.append(self.base[mm] + k * self.weeks + w)
                        eq_vals.append(sign)
                row += 1
        self.equal = sparse.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(row, self.n)) if row else None

    def solve(self, released: Sequence[int], objective: np.ndarray) -> Optional[np.ndarray]:
        """An integer world consistent with the released cells that minimises `objective`."""
        index = sorted(released)
        lower = np.array([self.bounds[i][0] for i in index], dtype=float)
        upper = np.array([self.bounds[i][1] for i in index], dtype=float)
        constraints = [LinearConstraint(self.incidence[index], lower, upper)]
        if self.equal is not None:
            constraints.append(LinearConstraint(self.equal, 0.0, 0.0))
        result = milp(c=objective, constraints=constraints, integrality=np.ones(self.n), bounds=Bounds(0.0, np.inf))
        if result.status != 0 or result.x is None:
            return None
        return np.rint(result.x)


def protect(
    margins: Sequence[Margin], counts: Sequence[np.ndarray], periods: Dict[str, List[Period]]
) -> Dict[CellRef, Cell]:
    """Every released number of one measure: primary protection, then whatever must be withheld.

    `counts[m]` is view m's weekly counts, keys down and weeks across; every view adds up to the same weekly totals.
    """
    problem = _Problem(margins, counts, periods)
    hideable = {
        i for i, c in enumerate(problem.cells) if not (c.margin == 0 and c.key != TOTAL_KEY and c.period.kind == "week")
    }
    released: Set[int] = set(range(len(problem.cells)))
    small = [i for i in released if problem.shown[i].shown == SMALL]
    # A "<10" made of two or more counts that are each at least 1 can't be 1: withhold it without a programme.
    weekly_low = {
        (c.margin, c.key, c.period.first): problem.bounds[i][0]
        for i, c in enumerate(problem.cells)
        if c.period.kind == "week" and c.key != TOTAL_KEY
    }
    for i in small:
        ref = problem.cells[i]
        if i in hideable and (ref.period.kind != "week" or ref.key == TOTAL_KEY):
            keys = range(len(margins[ref.margin].keys)) if ref.key == TOTAL_KEY else [ref.key]
            low = sum(
                weekly_low.get((ref.margin, k, w), 0)
                for k in keys
                for w in range(ref.period.first, ref.period.last + 1)
            )
            if low >= 2:
                released.discard(i)
    small = [i for i in small if i in released]
    # What each world gives every cell, one column per world found so far (the true counts are one).
    seen: List[np.ndarray] = [np.rint(problem.incidence @ problem.truth)]

    def add(world: Optional[np.ndarray]) -> None:
        if world is not None:
            seen.append(np.rint(problem.incidence @ world))

    # A few worlds pushing many "<10" to their ends at once (random directions) settle most of them without a
    # programme of their own.
    rng = np.random.default_rng(0)
    small_rows = problem.incidence[small] if small else None
    for attempt in range(8 if small else 0):
        signs = np.ones(len(small)) if attempt == 0 else rng.choice([-1.0, 1.0], size=len(small))
        if attempt == 1:
            signs = -np.ones(len(small))
        add(problem.solve(released, np.asarray(small_rows.T @ signs).ravel()))

    swap = _Swaps(problem, margins, periods)

    def reaches(cell: int, target: int) -> bool:
        """Whether some world consistent with what is released gives `cell` the value `target` (its end)."""
        if any(values[cell] == target for values in seen) or swap.reaches(cell, target, released):
            return True
        row = problem.incidence[cell].toarray().ravel()
        # This cell's end first; then, without changing that (each other "<10" moves at most 8, so the weight is
        # larger than all of them together), push the other "<10" to random ends: the world found settles many.
        signs = rng.choice([-1.0, 1.0], size=len(small)) * np.array([i in released and i != cell for i in small])
        weight = (THRESHOLD - 2) * len(small) + 1
        objective = weight * (row if target == 1 else -row) + np.asarray(small_rows.T @ signs).ravel()
        world = problem.solve(released, objective)
        add(world)
        return world is not None and seen[-1][cell] == target

    def narrowed(cell: int) -> bool:
        return cell in released and not (reaches(cell, 1) and reaches(cell, THRESHOLD - 1))

    violations = [i for i in small if narrowed(i)]
    # Weekly counts first (they can't be withheld themselves: something else must go), then the rest, which are
    # simply withheld if they are still narrowed once the weekly ones are safe.
    violations.sort(key=lambda i: i in hideable)
    for cell in violations:
        if cell in hideable:
            if narrowed(cell):
                released.discard(cell)
            continue
        while narrowed(cell):
            # Withhold the first of the best-ranked candidates that widens this count again on its own, or else
            # the best-ranked one, and look again.
            candidates = _candidates(problem.cells, problem.shown, cell, released & hideable)
            chosen = candidates[0]
            for candidate in candidates[:TRIALS]:
                released.discard(candidate)
                worlds_before = len(seen)
                fixed = not narrowed(cell)
                released.add(candidate)
                del seen[worlds_before:]  # worlds found without that constraint may break it
                if fixed:
                    chosen = candidate
                    break
            released.discard(chosen)  # worlds found so far satisfy every remaining constraint: they stay valid
    return {ref: (problem.shown[i] if i in released else Cell(HIDDEN, None)) for i, ref in enumerate(problem.cells)}


def _candidates(cells: List[CellRef], shown: List[Cell], cell: int, allowed: Set[int]) -> List[int]:
    """Released numbers that could be withheld to widen `cell` again, best first (see the module's docstring)."""
    target = cells[cell]

    def overlaps(p: Period) -> bool:
        return p.first <= target.period.last and target.period.first <= p.last

    ranked = []
    for j in allowed:
        ref = cells[j]
        if not overlaps(ref.period):
            continue
        length = ref.period.last - ref.period.first
        if j == cell:
            rank = 1
        elif ref.key == TOTAL_KEY and ref.margin == target.margin and ref.period == target.period:
            rank = 0
        elif ref.key == TOTAL_KEY:
            rank = 2
        elif ref.margin == target.margin and (ref.key == target.key or target.key == TOTAL_KEY):
            rank = 3
        elif ref.margin != target.margin:
            rank = 4
        else:
            continue  # another key of the same view, linked only through totals already ranked above
        # Within a rank, a "<10" or a 0 goes before a number that tells more.
        ranked.append((rank, shown[j].value not in (None, 0), length, PERIODS.index(ref.period.kind), j))
    if not ranked:
        raise AssertionError("a narrowed count with nothing left to withhold")  # weekly counts alone are safe
    return [j for *_, j in sorted(ranked)]


class _Swaps:
    """A quick witness for a weekly "<10" of the first view, without a programme: the true counts with a rectangle
    swapped. Move this count by d, another key's count in the same week by -d, and the same two keys in another week
    of the same month by -d and +d: every week's total and every longer period's count stay the same (a month, its
    quarter and the since-launch rows hold both weeks or neither), so only the four weekly counts must stay within
    what they show. The other views are untouched and still add up to the same weekly totals."""

    def __init__(self, problem: _Problem, margins: Sequence[Margin], periods: Dict[str, List[Period]]) -> None:
        self.problem = problem
        self.keys = len(margins[0].keys)
        self.truth = problem.truth[: self.keys * problem.weeks].reshape(self.keys, problem.weeks)
        self.index: Dict[Tuple[int, int], int] = {}
        for i, ref in enumerate(problem.cells):
            if ref.margin == 0 and ref.key != TOTAL_KEY and ref.period.kind == "week":
                self.index[(ref.key, ref.period.first)] = i
        # Weeks that every longer period holds both or neither of: the same month, or no month at all.
        block = {}
        for month in periods.get("month", []):
            for w in range(month.first, month.last + 1):
                block[w] = month.first
        self.block = [block.get(w, -1) for w in range(problem.weeks)]
        self.low = np.zeros((self.keys, problem.weeks))
        self.high = np.zeros((self.keys, problem.weeks))
        for (k, w), i in self.index.items():
            self.low[k, w], self.high[k, w] = problem.bounds[i]

    def reaches(self, cell: int, target: int, released: Set[int]) -> bool:
        ref = self.problem.cells[cell]
        if ref.margin != 0 or ref.key == TOTAL_KEY or ref.period.kind != "week":
            return False
        k, w = ref.key, ref.period.first
        d = target - self.truth[k, w]
        if d == 0:
            return True
        others = [v for v in range(self.problem.weeks) if v != w and self.block[v] == self.block[w]]
        if not others:
            return False
        x, low, high = self.truth, self.low, self.high
        for v in others:
            # key k in week v moves by -d; some other key j moves by -d in week w and +d in week v
            if not low[k, v] <= x[k, v] - d <= high[k, v]:
                continue
            fits = (
                (low[:, w] <= x[:, w] - d)
                & (x[:, w] - d <= high[:, w])
                & (low[:, v] <= x[:, v] + d)
                & (x[:, v] + d <= high[:, v])
            )
            fits[k] = False
            if fits.any():
                return True
        return False
