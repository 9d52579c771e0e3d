"""`signpost stats` says where the running bot's statistics writer stands (bot/stats/status.py): a fault and since
when, the counts waiting, and counts lost, as lines added after its usual output, which stays as it was."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from test_stats_writer import Switchable, record_many, wait_until

from bot.cli import main
from bot.stats import Stats, status
from bot.stats.writer import StatsWriter

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


@pytest.fixture
def path(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    with Stats(folder / "stats.db") as stats:
        stats.record(concerns=["sextortion"], outcomes=["childline_shown"])
    monkeypatch.setenv("SIGNPOST_STATS_DB", str(folder / "stats.db"))
    monkeypatch.setenv("SIGNPOST_RUN_DIR", str(tmp_path / "run"))
    return folder / "stats.db"


def stats_output(*args):
    result = CliRunner().invoke(main, ["stats", *args])
    return result.exit_code, result.output


def test_the_writers_fault_is_added_after_the_usual_lines_and_goes_when_it_stops(path):
    code, before = stats_output("--period", "launch")
    assert code == 0 and "statistics writer" not in before
    opener = Switchable()
    opener.fault = "PRAGMA query_only = ON"
    writer = StatsWriter(path, interval=0.05, max_backoff=0.2, opener=opener).start()
    try:
        record_many(writer, 25)
        assert wait_until(lambda: writer.state == "read-only")
        assert wait_until(lambda: status.reports(path) and status.reports(path)[0]["waiting"] == 50)
        code, during = stats_output("--period", "launch")
        assert code == 0 and during.startswith(before), "the usual lines come first, unchanged"
        added = during[len(before) :].splitlines()
        assert len(added) == 1 and re.fullmatch(
            rf"statistics writer \(pid {os.getpid()}\): database read-only since {WHEN}; "
            r"50 counts waiting, kept in memory and retried; 0 written",
            added[0],
        ), added
        opener.fault = None
        assert wait_until(lambda: writer.state == "ok" and status.reports(path)[0]["state"] == "ok")
        assert re.search(rf"\): ok since {WHEN}; 0 counts waiting; 50 written$", stats_output("--period", "launch")[1])
    finally:
        assert writer.close() == 0
    assert stats_output("--period", "launch") == (0, before), "a writer that stopped with nothing lost leaves nothing"


def test_a_removed_database_is_named_with_the_counts_waiting_for_it(path):
    writer = StatsWriter(path, interval=0.05, max_backoff=0.2).start()
    try:
        shutil.rmtree(path.parent)
        record_many(writer, 10)
        assert wait_until(lambda: writer.state.startswith("missing") and status.reports(path)[0]["waiting"] == 20)
        code, output = stats_output()
        assert code == 1
        error, writer_line = output.strip().splitlines()
        assert "no statistics database at" in error
        assert "database missing (its file or folder was removed) since" in writer_line
        assert "20 counts waiting" in writer_line
        path.parent.mkdir()
        assert wait_until(lambda: writer.waiting == 0)
    finally:
        writer.close()


def test_counts_lost_at_the_end_and_a_killed_writer_are_reported(path, tmp_path):
    opener = Switchable()
    opener.fault = "PRAGMA query_only = ON"
    writer = StatsWriter(path, interval=0.05, opener=opener).start()
    writer.record(outcomes=["quick_exit"])
    assert writer.close(timeout=0.5) == 1
    # A writer killed with counts waiting, and one killed with none (not worth a line).
    gone, also_gone = (
        int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
        for _ in range(2)
    )
    for pid, waiting in ((gone, 7), (also_gone, 0)):
        report = {"pid": pid, "database": str(path), "state": "locked by another process", "since": 1.0}
        report.update(started=1.0, updated=2.0, waiting=waiting, written=3)
        status.status_file(path, pid).write_text(json.dumps(report))
    lines = [line for line in stats_output()[1].splitlines() if line.startswith("statistics writer")]
    assert any(
        re.fullmatch(
            rf"statistics writer \(pid \d+, stopped {WHEN}\): database read-only; 1 counts could not be "
            r"written and are lost; 0 written",
            line,
        )
        for line in lines
    ), lines
    assert (
        f"statistics writer (pid {gone}, no longer running, last report 1970-01-01 00:00:02 UTC): "
        "database locked by another process; 7 counts were waiting; 3 written"
    ) in lines
    assert len(lines) == 2
