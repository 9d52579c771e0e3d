"""The statistics writer's state, for `signpost stats`: one small file per running writer, outside the database's
folder.

The writer runs in the bot's engine process; `signpost stats` is another process, so the writer reports where it
stands in a file of its own: the database it writes, its state ("ok" or what is wrong) and since when, how many
counts are waiting and how many were written. No text, no chat: numbers and the database's path only. The files
live in the run folder (`bot.settings.run_dir()`), not beside the database, because the faults worth reporting
are the ones where the database's folder is gone, read-only or full. A writer that stops with nothing waiting
removes its file; one that stops with counts lost leaves it saying so; one that was killed leaves its last
report, shown as no longer running if counts were waiting in it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.settings import run_dir

PREFIX = "stats-writer-"


def _key(database: Path) -> str:
    return hashlib.sha256(str(Path(database).absolute()).encode()).hexdigest()[:16]


def status_file(database: Path, pid: Optional[int] = None) -> Path:
    return run_dir() / f"{PREFIX}{_key(database)}-{pid or os.getpid()}.json"


def write(database: Path, report: Dict[str, Any]) -> None:
    """Replace this process's report for `database` (atomically); a report that can't be written is skipped."""
    path = status_file(database)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"pid": os.getpid(), "database": str(database), **report}))
        os.replace(temporary, path)
    except OSError:
        pass  # the report is a convenience: it must never stop the writer


def remove(database: Path) -> None:
    try:
        status_file(database).unlink()
    except OSError:
        pass


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def reports(database: Path) -> List[Dict[str, Any]]:
    """Every writer's last report for `database`, each with `running`, oldest process first."""
    folder = run_dir()
    found = []
    for path in sorted(folder.glob(f"{PREFIX}{_key(database)}-*.json")) if folder.is_dir() else ():
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and isinstance(report.get("pid"), int):
            found.append({**report, "running": _running(report["pid"]) and not report.get("stopped")})
    return sorted(found, key=lambda r: r.get("started", 0))


def _when(seconds: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds)) if isinstance(seconds, (int, float)) else "?"


def describe(report: Dict[str, Any]) -> str:
    """One line: 'statistics writer (pid 42): database locked by another process since ...; 32 counts waiting'."""
    state = report.get("state", "?")
    what = "ok" if state == "ok" else f"database {state}"
    waiting = report.get("waiting", 0)
    written = f"{report.get('written', 0):,} written"
    if report.get("stopped"):
        return (
            f"statistics writer (pid {report['pid']}, stopped {_when(report.get('updated'))}): {what}; "
            f"{report.get('lost', 0):,} counts could not be written and are lost; {written}"
        )
    if not report["running"]:
        return (
            f"statistics writer (pid {report['pid']}, no longer running, last report {_when(report.get('updated'))})"
            f": {what}; {waiting:,} counts were waiting; {written}"
        )
    retried = ", kept in memory and retried" if state != "ok" else ""
    return (
        f"statistics writer (pid {report['pid']}): {what} since {_when(report.get('since'))}; "
        f"{waiting:,} counts waiting{retried}; {written}"
    )


def lines(database: Path) -> List[str]:
    """What `signpost stats` adds about the writers of `database` (nothing when none has reported)."""
    return [
        describe(report)
        for report in reports(database)
        if report["running"] or report.get("stopped") or report.get("waiting")
    ]
