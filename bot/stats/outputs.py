"""What moderators take away: the terminal table, the CSV, the chart and the exported database.

All of them show a `Release` as it is: nothing is added up again here, so nothing can undo the protection.
"""

from __future__ import annotations

import csv
import math
import warnings
from datetime import date
from pathlib import Path
from typing import Any, Dict, Optional, Union

from sqlite_utils import Database

from bot.stats.disclosure import BASE, HIDDEN, SMALL, THRESHOLD, WHY
from bot.stats.periods import PERIOD_NAMES, PERIODS
from bot.stats.release import MEASURE_VIEWS, Release, label, releases
from bot.stats.store import Stats, _utc_today


class NoData(Exception):
    """There is nothing to show yet (the message says so in one line)."""


def finest_summary(finest: Optional[str]) -> str:
    if finest is None:
        return f"No period shows a number yet: every count is 0, under {THRESHOLD} or held back, even since launch."
    return f"The finest period that shows numbers ({THRESHOLD} or more) is the {PERIOD_NAMES[finest]}."


def finest_note(rel: Release) -> str:
    """Which period is the finest that shows any number (10 or more), said for a moderator."""
    if rel.finest is None:
        return f"No period shows a number yet: every count is 0, under {THRESHOLD} or held back, even since launch."
    if rel.finest == rel.period:
        return f"The {PERIOD_NAMES[rel.period]} is the finest period that shows numbers ({THRESHOLD} or more)."
    if PERIODS.index(rel.finest) < PERIODS.index(rel.period):
        return f"The finest period that shows numbers is the {PERIOD_NAMES[rel.finest]} (`--period {rel.finest}`)."
    return (
        f"Every {PERIOD_NAMES[rel.period]}'s counts are 0, under {THRESHOLD} or held back: the finest period "
        f"that shows numbers is the {PERIOD_NAMES[rel.finest]} (`--period {rel.finest}`)."
    )


def format_table(rel: Release) -> str:
    """A plain-text table, periods down, keys across, then what the finest useful period is."""
    header = rel.header()
    rows = rel.table()
    if not rows:
        return f"{rel.measure}: no complete {PERIOD_NAMES[rel.period]} yet"
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.rjust(w) if i > 1 else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    for row in rows:
        lines.append("  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    lines += [
        "",
        f"{SMALL}: {WHY[SMALL]}; {HIDDEN}: {WHY[HIDDEN]}; others rounded to the nearest {BASE}.",
        finest_note(rel),
    ]
    return "\n".join(lines)


CSV_COLUMNS = ["period_kind", "period", "period_start", "period_end", "key", "label", "count", "suppressed"]


def write_csv(rel: Release, path: Union[str, Path]) -> None:
    """Long form, one row per period and key: `count` is a number or empty, `suppressed` says why it is empty."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for row in rel.long_rows():
            reason = {SMALL: "under 10", HIDDEN: "hidden"}.get(row["suppressed"], "")
            writer.writerow(
                [
                    row["period_kind"],
                    row["period"],
                    row["period_start"],
                    row["period_end"],
                    row["key"],
                    row["label"],
                    "" if row["value"] is None else row["value"],
                    reason,
                ]
            )


def chart_figure(rel: Release) -> Any:
    """Small multiples, one per key, all on one y-scale; numbers not shown are gaps, marked and explained."""
    if (
        not rel.periods
        or all(cell.value in (None, 0) for _, _, cell in rel.cells())
        and not any(cell.suppressed for _, _, cell in rel.cells())
    ):
        raise NoData(f"Nothing to chart: no {rel.measure} counted in any complete {PERIOD_NAMES[rel.period]} yet.")
    with warnings.catch_warnings():
        # This matplotlib calls pyparsing functions that newer pyparsing marks as deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D

    keys = rel.keys
    cols = 4
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(cols * 3.4, rows * 2.5 + 1.2), sharex=True, sharey=True, squeeze=False
    )
    x = [p.start for p in rel.periods]
    top = max([cell.value or 0 for _, key, cell in rel.cells() if key in keys] + [THRESHOLD])
    for index, ax in enumerate(axes.flat):
        if index >= len(keys):
            ax.axis("off")
            continue
        cells = [rel.rows[p.id][index] for p in rel.periods]
        ax.plot(
            x, [math.nan if c.value is None else c.value for c in cells], marker="o", markersize=3, color="tab:blue"
        )
        # A "<10" is a gap in the line with a pale bar where it lies (1 to 9); a held-back number, a cross.
        small_at = [xi for xi, c in zip(x, cells) if c.shown == SMALL]
        ax.vlines(small_at, 1, THRESHOLD - 1, colors="0.55", linewidth=4, alpha=0.35, zorder=1)
        hidden_at = [xi for xi, c in zip(x, cells) if c.shown == HIDDEN]
        ax.scatter(
            hidden_at,
            [0.03] * len(hidden_at),
            marker="x",
            s=30,
            color="tab:red",
            zorder=3,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )
        ax.set_title(label(keys[index]), fontsize=9)
        ax.grid(axis="y", color="0.9")
        ax.tick_params(labelsize=7)
        if index % cols == 0:
            ax.set_ylabel("conversations", fontsize=8)
    axes[0][0].set_ylim(0, top * 1.1 + 1)
    import matplotlib.dates as mdates

    for ax in axes.flat:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=4))
    handles = [
        Line2D([], [], color="tab:blue", marker="o", markersize=4, label=f"count, rounded to the nearest {BASE}"),
        Line2D([], [], color="0.55", alpha=0.5, linewidth=4, label=f"gap, pale bar: {WHY[SMALL]}"),
        Line2D([], [], color="tab:red", marker="x", linestyle="", label=f"gap, cross: {WHY[HIDDEN]}"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=1, fontsize=8, frameon=False)
    fig.suptitle(
        f"Signpost: {rel.measure.replace('_', ' ')} per {PERIOD_NAMES[rel.period]} (same scale in every panel)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    return fig


def draw_chart(rel: Release, path: Union[str, Path]) -> None:
    """Write `chart_figure` to a PNG; NoData (and no file) when there is nothing to show."""
    import matplotlib.pyplot as plt

    fig = chart_figure(rel)
    try:
        fig.savefig(path, format="png", dpi=100)
    finally:
        plt.close(fig)


RELEASE_TABLES = {margin.name: margin.name for margins in MEASURE_VIEWS.values() for margin in margins}


def export(stats: Stats, path: Union[str, Path], today: Optional[date] = None) -> Path:
    """Write a new database holding only the released (protected) tables, every period, complete periods only."""
    path = Path(path)
    if path.exists():
        path.unlink()
    today = today or _utc_today()
    released = releases(stats, today)
    weeks = sorted({p.id for rel in released if rel.period == "week" for p in rel.periods})
    finest: Dict[str, Release] = {}
    out = Database(path, execute_plugins=False)
    try:
        with out.atomic():
            for name in RELEASE_TABLES:
                out[name].create(
                    {
                        "period_kind": str,
                        "period": str,
                        "period_start": str,
                        "period_end": str,
                        "period_label": str,
                        "key": str,
                        "label": str,
                        "shown": str,
                        "value": int,
                        "suppressed": str,
                    },
                    pk=("period", "key"),
                    not_null={"period_kind", "period", "period_start", "period_end", "key", "shown"},
                )
                out[name].create_index(["period_kind", "key", "period_start"])
            for rel in released:
                out[rel.measure].insert_all(rel.long_rows())
                finest.setdefault(rel.measure, rel)
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
            out["finest_period"].create({"table_name": str, "period_kind": str, "note": str}, pk="table_name")
            out["finest_period"].insert_all(
                {
                    "table_name": name,
                    "period_kind": PERIOD_NAMES[rel.finest] if rel.finest else None,
                    "note": finest_summary(rel.finest),
                }
                for name, rel in finest.items()
            )
            out["period_kinds"].create({"period_kind": str, "position": int}, pk="period_kind")
            out["period_kinds"].insert_all(
                {"period_kind": PERIOD_NAMES[k], "position": i} for i, k in enumerate(PERIODS)
            )
    finally:
        out.close()
    return path
