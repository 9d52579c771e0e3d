"""Statistics: schema migrations, exact concurrent counting, small-number protection and the released outputs."""

import csv
import itertools
import multiprocessing
import sqlite3
import threading
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from bot import stats as S
from bot.stats import HIDDEN, MEASURES, SMALL, Cell, CountBatch, Stats, migrations, primary, protect_row
from bot.stats.release import CONCERN_KEYS

ALL_MIGRATIONS = ["m001_daily_counts", "m002_key_day_indexes", "m003_failure_daily"]
DAILY = ("concern_daily", "platform_daily", "outcome_daily", "failure_daily")


def applied(db):
    return [m.name for m in migrations.applied(db)]


def indexed_columns(db, table):
    return {tuple(index.columns) for index in db[table].indexes}


# ------------------------------------------------------------------------------------------------ schema


def test_fresh_database_gets_the_whole_schema_in_wal_mode(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        assert applied(stats.db) == ALL_MIGRATIONS
        assert stats.db.journal_mode == "wal"
        for table in DAILY:
            assert stats.db[table].columns_dict == {"day": str, "key": str, "count": int}
            assert stats.db[table].pks == ["day", "key"]
            assert ("key", "day") in indexed_columns(stats.db, table)
        # Counts only: no table has an id, a time or a free-text column.
        assert set(stats.db.table_names()) == {"_sqlite_migrations", *DAILY}


def test_reopening_applies_nothing_twice(tmp_path):
    Stats(tmp_path / "s.db").close()
    with Stats(tmp_path / "s.db") as stats:
        assert applied(stats.db) == ALL_MIGRATIONS


def _old_schema(path, with_migrations_table):
    """The schema as the first release left it: the daily tables (and the record of migration 1), no indexes."""
    db = Database(path)
    for table in ("concern_daily", "platform_daily", "outcome_daily"):
        db.execute(
            f"CREATE TABLE [{table}] (day TEXT NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL, "
            "PRIMARY KEY (day, key))"
        )
    db.execute("INSERT INTO concern_daily VALUES ('2026-11-02', 'sextortion', 4)")
    if with_migrations_table:
        db.execute(
            "CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT, applied_at TEXT)"
        )
        db.execute("CREATE UNIQUE INDEX idx_m ON _sqlite_migrations (migration_set, name)")
        db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('signpost_stats', 'm001_daily_counts', '2026-11-01 00:00:00+00:00')"
        )
    db.close()


@pytest.mark.parametrize("with_migrations_table", [True, False])
def test_older_database_is_migrated_and_keeps_its_counts(tmp_path, with_migrations_table):
    path = tmp_path / "old.db"
    _old_schema(path, with_migrations_table)
    with Stats(path) as stats:
        assert applied(stats.db)[-1] == "m003_failure_daily"
        assert set(applied(stats.db)) == set(ALL_MIGRATIONS)
        for table in DAILY:
            assert ("key", "day") in indexed_columns(stats.db, table)
        stats.record(concerns=["sextortion"], day="2026-11-02")
        assert stats.daily("concerns") == {"2026-11-02": {"sextortion": 5}}


# ------------------------------------------------------------------------------------------------ recording


def test_record_counts_per_day_and_key(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        stats.record(
            concerns=["sextortion", "self_harm"],
            platforms=["snapchat"],
            outcomes=["childline_shown"],
            day=date(2026, 11, 2),
        )
        stats.record(concerns=["sextortion"], outcomes=["childline_shown", "quick_exit"], day="2026-11-02")
        stats.record(concerns=["sextortion"], day="2026-11-03")
        assert stats.daily("concerns") == {
            "2026-11-02": {"sextortion": 2, "self_harm": 1},
            "2026-11-03": {"sextortion": 1},
        }
        assert stats.daily("platforms") == {"2026-11-02": {"snapchat": 1}}
        assert stats.daily("outcomes") == {"2026-11-02": {"childline_shown": 2, "quick_exit": 1}}


def test_record_defaults_to_today_utc(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        stats.record(outcomes=["picture_deleted"])
        (day,) = stats.daily("outcomes")
        assert abs((date.fromisoformat(day) - date.today()).days) <= 1


def test_unknown_keys_and_times_are_refused_and_nothing_is_written(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        with pytest.raises(ValueError) as error:
            stats.record(concerns=["sextortion", "my name is Sam"])
        assert "Sam" not in str(error.value)
        with pytest.raises(ValueError):
            stats.record(platforms=["myspace"])
        with pytest.raises(ValueError):
            stats.record(outcomes=["message_text"])
        with pytest.raises(TypeError):
            stats.record(concerns=["greet"], day=datetime(2026, 11, 2, 14, 30))
        assert stats.daily("concerns") == {} and stats.daily("platforms") == {} and stats.daily("outcomes") == {}


def test_stats_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNPOST_STATS_DB", str(tmp_path / "env.db"))
    with Stats() as stats:
        assert stats.path == tmp_path / "env.db"
    assert (tmp_path / "env.db").exists()


def test_connections_opening_a_fresh_file_at_once_all_get_it(tmp_path):
    """Switching a new file to WAL can fail at once with "database is locked" when others switch it too; Stats waits."""
    errors = []

    def open_stats(path, barrier):
        barrier.wait()
        try:
            Stats(path).close()
        except sqlite3.OperationalError as error:
            errors.append(error)

    for trial in range(100):
        barrier = threading.Barrier(4)
        path = tmp_path / f"fresh{trial}.db"
        threads = [threading.Thread(target=open_stats, args=(path, barrier)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []


def _hammer(path, start, n):
    start.wait()
    with Stats(path) as stats:
        for i in range(n):
            stats.record(
                concerns=["sextortion"],
                platforms=["snapchat"],
                outcomes=["childline_shown"],
                day="2026-11-02" if i % 2 else "2026-11-03",
            )


def test_two_processes_counting_at_once_are_exact(tmp_path):
    """Both processes also create the schema at the same moment on a fresh file."""
    path = str(tmp_path / "shared.db")
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    n = 400
    workers = [context.Process(target=_hammer, args=(path, start, n)) for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with Stats(path) as stats:
        assert applied(stats.db) == ALL_MIGRATIONS
        for measure, key in (("concerns", "sextortion"), ("platforms", "snapchat"), ("outcomes", "childline_shown")):
            days = stats.daily(measure)
            assert sum(counts[key] for counts in days.values()) == 2 * n
            assert days["2026-11-02"][key] == n


# ------------------------------------------------------------------------------------------------ protection


@pytest.mark.parametrize(
    "count, shown, value",
    [
        (0, "0", 0),
        (1, SMALL, None),
        (9, SMALL, None),
        (10, "10", 10),
        (12, "10", 10),
        (13, "15", 15),
        (17, "15", 15),
        (18, "20", 20),
        (102, "100", 100),
        (103, "105", 105),
    ],
)
def test_primary_protection(count, shown, value):
    assert primary(count) == Cell(shown, value)


def test_one_small_cell_next_to_a_nearly_exact_total_hides_the_total():
    # 5 + 10 = 15: with the total shown, the small cell would be 1 to 7 (15 minus 10..12, give or take 2).
    cells, total = protect_row([5, 10, 0], with_total=True)
    assert [c.shown for c in cells] == [SMALL, "10", "0"]
    assert total.shown == HIDDEN and total.value is None


def test_two_small_cells_can_still_give_each_other_away():
    # 9 + 9 = 18 shows as 20, so 18..22; two cells under 10 can only make 18 as 9 + 9.
    cells, total = protect_row([9, 9, 0, 0], with_total=True)
    assert [c.shown for c in cells] == [SMALL, SMALL, "0", "0"]
    assert total.shown == HIDDEN


def test_total_is_kept_when_it_tells_nothing_new():
    # 5 + 100: the total 105 (103..107) minus 100 (98..102) leaves 1 to 9: no more than "<10" already says.
    cells, total = protect_row([5, 100], with_total=True)
    assert total.shown == "105"
    cells, total = protect_row([5, 5, 30], with_total=True)
    assert total.shown == "40"
    cells, total = protect_row([40, 25, 0], with_total=True)
    assert total.shown == "65"


def test_small_total_is_small_or_hidden():
    cells, total = protect_row([3, 0, 0], with_total=True)
    assert [c.shown for c in cells] == [SMALL, "0", "0"]
    assert total.shown == SMALL  # the same as the one small cell: tells nothing new
    # Two small cells under a "<10" total: each would be at most 8.
    cells, total = protect_row([3, 0, 4], with_total=True)
    assert [c.shown for c in cells] == [SMALL, "0", SMALL]
    assert total.shown == HIDDEN


def _consistent(shown):
    """Every true count a released cell could stand for (independent of the code under test)."""
    if shown == "0":
        return range(0, 1)
    if shown == SMALL:
        return range(1, 10)
    n = int(shown)
    return [c for c in range(max(0, n - 4), n + 5) if c >= 10 and round(c / 5) * 5 == n]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=4))
def test_no_released_row_narrows_a_small_cell(counts):
    """Brute force: from everything released about a week, each "<10" cell could still be any of 1 to 9."""
    cells, total = protect_row(counts, with_total=True)
    candidates = [_consistent(c.shown) for c in cells]
    for count, options in zip(counts, candidates):
        assert count in options
    if total.shown != HIDDEN:
        total_options = set(_consistent(total.shown))
        assert sum(counts) in total_options
        worlds = [w for w in itertools.product(*candidates) if sum(w) in total_options]
    else:
        worlds = list(itertools.product(*candidates))
    for index, cell in enumerate(cells):
        if cell.shown == SMALL:
            assert {w[index] for w in worlds} == set(range(1, 10)), (counts, cells, total)


def test_rounding_matches_nearest_five():
    for count in range(10, 200):
        assert S.round_count(count) == 5 * round(count / 5)
        assert abs(S.round_count(count) - count) <= 2


# ------------------------------------------------------------------------------------------------ weekly release


@pytest.fixture
def filled(tmp_path):
    stats = Stats(tmp_path / "s.db")
    start = date(2026, 10, 26)  # a Monday: ISO week 2026-W44
    for offset in range(21):  # three whole weeks
        day = start + timedelta(days=offset)
        for _ in range(3):
            stats.record(concerns=["sextortion"], outcomes=["childline_shown"], day=day)
        if offset % 7 == 0:
            stats.record(concerns=["self_harm"], platforms=["instagram"], outcomes=["crisis_answer_shown"], day=day)
    stats.record(concerns=["greet"], day=start + timedelta(days=22))  # the running week (W47)
    yield stats
    stats.close()


TODAY = date(2026, 11, 18)  # Wednesday of 2026-W47


def test_weekly_release_covers_complete_weeks_only(filled):
    rel = S.release(filled, "concerns", today=TODAY)
    assert rel.weeks == ["2026-W44", "2026-W45", "2026-W46"]
    header = rel.header()
    assert header[:2] == ["week", "starts"] and header[-1] == "total" and header[2:-1] == list(CONCERN_KEYS)
    assert "greet" not in header and "out_of_scope" not in header  # not concerns
    row = dict(zip(header, rel.table()[0]))
    assert row["starts"] == "2026-10-26"
    assert row["sextortion"] == "20"  # 21 a week, rounded
    assert row["self_harm"] == SMALL
    # The total 22 shows as 20 (18..22); minus sextortion's 20 (18..22) the small cell could only be 1 to 4,
    # so the total is withheld.
    assert row["total"] == HIDDEN
    with_running = S.release(filled, "concerns", today=TODAY, include_current_week=True)
    assert with_running.weeks[-1] == "2026-W47"
    with pytest.raises(ValueError):
        S.release(filled, "concerns", "month", today=TODAY, include_current_week=True)


def test_weeks_without_data_are_zero_and_iso_weeks_cross_the_year(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        stats.record(concerns=["sextortion"], day="2026-12-20")
        stats.record(concerns=["sextortion"], day="2027-01-04")
        rel = S.release(stats, "concerns", today=date(2027, 2, 1))
    # Every complete week from the first count: 2026 has 53 ISO weeks.
    assert rel.weeks == ["2026-W51", "2026-W52", "2026-W53", "2027-W01", "2027-W02", "2027-W03", "2027-W04"]
    assert [rel.rows[w][CONCERN_KEYS.index("sextortion")].shown for w in rel.weeks] == [
        SMALL,
        "0",
        "0",
        SMALL,
        "0",
        "0",
        "0",
    ]


def test_csv_is_long_with_numbers_and_a_flag(filled, tmp_path):
    rel = S.release(filled, "concerns", today=TODAY)
    S.write_csv(rel, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "period_kind",
        "period",
        "period_start",
        "period_end",
        "key",
        "label",
        "count",
        "suppressed",
    ]
    by = {(r["period"], r["key"]): r for r in rows}
    assert by[("2026-W44", "sextortion")]["count"] == "20" and by[("2026-W44", "sextortion")]["suppressed"] == ""
    assert by[("2026-W44", "self_harm")]["count"] == "" and by[("2026-W44", "self_harm")]["suppressed"] == "under 10"
    assert by[("2026-W44", "total")]["count"] == "" and by[("2026-W44", "total")]["suppressed"] == "hidden"
    assert by[("2026-W44", "sextortion")]["period_start"] == "2026-10-26"
    assert by[("2026-W44", "sextortion")]["period_end"] == "2026-11-01"
    for row in rows:  # every count is a whole number or empty, never text
        assert row["count"] == "" or row["count"].isdigit()
        assert (row["count"] == "") == (row["suppressed"] != "")


def test_chart_is_a_real_png(filled, tmp_path):
    path = tmp_path / "trend.png"
    S.draw_chart(S.release(filled, "concerns", today=TODAY), path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


EXPORT_TABLES = {
    "concerns",
    "platforms",
    "outcomes",
    "failures_by_concern",
    "failures_by_turn",
    "release",
    "finest_period",
    "period_kinds",
}


def test_export_holds_only_released_tables(filled, tmp_path):
    path = S.export(filled, tmp_path / "release.db", today=TODAY)
    db = Database(path)
    assert set(db.table_names()) == EXPORT_TABLES
    rows = list(db["concerns"].rows_where("period_kind = 'week'"))
    assert {r["period"] for r in rows} == {"2026-W44", "2026-W45", "2026-W46"}
    by_key = {(r["period"], r["key"]): r for r in rows}
    assert by_key[("2026-W44", "sextortion")]["shown"] == "20" and by_key[("2026-W44", "sextortion")]["value"] == 20
    assert by_key[("2026-W44", "self_harm")]["shown"] == SMALL and by_key[("2026-W44", "self_harm")]["value"] is None
    assert by_key[("2026-W44", "total")]["shown"] == HIDDEN
    assert by_key[("2026-W44", "sextortion")]["label"] == "Blackmail with an image (sextortion)"
    for table in ("concerns", "platforms", "outcomes", "failures_by_concern", "failures_by_turn"):
        for row in db[table].rows:
            assert row["value"] is None or row["value"] == 0 or (row["value"] >= 10 and row["value"] % 5 == 0)
            assert (row["value"] is None) == (row["suppressed"] in (SMALL, HIDDEN))
    assert db["release"].get(1)["released_on"] == "2026-11-18"
    # The exported file carries no daily table and no migration history.
    raw = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert not any("daily" in name or "migrations" in name for (name,) in raw)
    db.close()


def test_exporting_twice_replaces_the_file(filled, tmp_path):
    S.export(filled, tmp_path / "release.db", today=TODAY)
    S.export(filled, tmp_path / "release.db", today=TODAY)
    assert Database(tmp_path / "release.db")["release"].count == 1


# ------------------------------------------------------------------------------------------------ CLI


@pytest.fixture
def recent(tmp_path):
    """Counts in the two weeks before this one, whatever today is."""
    path = tmp_path / "recent.db"
    with Stats(path) as stats:
        for offset in range(7, 21):
            day = date.today() - timedelta(days=offset)
            for _ in range(2):
                stats.record(concerns=["sextortion"], platforms=["tiktok"], outcomes=["childline_shown"], day=day)
            stats.record(concerns=["friend_worried"], day=day)
    return path


def test_cli_stats_prints_protected_table_and_writes_csv_and_chart(recent, tmp_path, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("SIGNPOST_STATS_DB", str(recent))
    result = CliRunner().invoke(main, ["stats", "--csv", str(tmp_path / "t.csv"), "--chart", str(tmp_path / "t.png")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[0] == "week" and "sextortion" in lines[0]
    assert any(line.startswith("2026-W") for line in lines)
    assert "<10" in result.output
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    with open(tmp_path / "t.csv", newline="") as f:
        assert next(csv.reader(f))[:2] == ["period_kind", "period"]
    assert "finest period" in result.output


def test_cli_stats_export(recent, tmp_path, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("SIGNPOST_STATS_DB", str(recent))
    result = CliRunner().invoke(main, ["stats", "export", str(tmp_path / "r.db")])
    assert result.exit_code == 0, result.output
    rows = list(Database(tmp_path / "r.db")["concerns"].rows_where("key = 'sextortion' and period_kind = 'week'"))
    assert rows and all(row["shown"] in ("0", "<10", "10", "15", "20") for row in rows)


def test_a_count_batch_writes_what_direct_records_would_in_one_go(tmp_path):
    turns = [
        {"concerns": ["sextortion"], "outcomes": ["childline_shown"]},
        {"platforms": ["snapchat"]},
        {"concerns": ["sextortion", "greet"]},
    ]
    with Stats(tmp_path / "direct.db") as direct, Stats(tmp_path / "batched.db") as batched:
        batch = CountBatch(batched)
        for turn in turns:
            direct.record(**turn)
            batch.record(**turn)
        assert all(batched.daily(measure) == {} for measure in MEASURES), "nothing is written before flush()"
        batch.flush()
        assert all(batched.daily(measure) == direct.daily(measure) for measure in MEASURES)
        assert sum(c["sextortion"] for c in direct.daily("concerns").values()) == 2
        with pytest.raises(ValueError):
            batch.record(concerns=["someone typed this"])
        batch.flush()
        assert batched.daily("concerns") == direct.daily("concerns"), "a refused record adds nothing"


def test_a_count_batch_flushes_by_itself_under_load(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        batch = CountBatch(stats)
        for _ in range(CountBatch.FLUSH_EVERY - 1):
            batch.record(outcomes=["quick_exit"])
        assert stats.daily("outcomes") == {}
        batch.record(outcomes=["quick_exit"])
        assert sum(c["quick_exit"] for c in stats.daily("outcomes").values()) == CountBatch.FLUSH_EVERY


# ------------------------------------------------------------------------------------------------ periods

from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402

from bot.stats import periods as P  # noqa: E402
from bot.stats.audit import TOTAL_KEY, CellRef, Margin, protect  # noqa: E402
from bot.stats.disclosure import interval  # noqa: E402


def test_months_and_quarters_are_whole_iso_weeks_and_nest():
    weeks = P.weeks_between(date(2025, 12, 29), date(2027, 1, 3))  # 2026-W01 to 2026-W53 (a 53-week year)
    assert weeks[0] == "2026-W01" and weeks[-1] == "2026-W53"
    found = P.periods(weeks)
    assert [len(found[k]) for k in P.PERIODS] == [53, 12, 4, 12]
    sizes = [m.last - m.first + 1 for m in found["month"]]
    assert sizes == [4, 4, 5] * 3 + [4, 4, 6]  # 4-4-5, the extra 53rd week in the last month
    for month in found["month"]:  # every month inside one quarter, every week inside one month
        assert sum(q.first <= month.first and month.last <= q.last for q in found["quarter"]) == 1
    assert found["month"][10].id == "2026-M11" and found["month"][10].start == date(2026, 10, 26)
    assert found["launch"][-1].first == 0 and found["launch"][-1].last == 52
    assert found["month"][0].label == "month 29 Dec 2025 to 25 Jan 2026"


def test_only_complete_months_and_quarters_are_released():
    weeks = P.weeks_between(date(2026, 1, 5), date(2026, 2, 1))  # W02 to W05: M01 misses W01 but ends at W04
    found = P.periods(weeks)
    assert [m.id for m in found["month"]] == ["2026-M01"]  # M02 (W05 to W08) isn't over
    assert found["quarter"] == [] and [p.id for p in found["launch"]] == ["launch-2026-M01"]


def _add(stats, day, key, n, table="concern_daily"):
    stats.add(Counter({(table, day.isoformat(), key): n}))


@pytest.fixture
def quarter_and_more(tmp_path):
    """2026-W01 to W17 (a quarter and a month), sextortion 4 a day, self-harm twice in week 3."""
    stats = Stats(tmp_path / "q.db")
    for offset in range(17 * 7):
        day = date(2025, 12, 29) + timedelta(days=offset)
        _add(stats, day, "sextortion", 4)
    _add(stats, date(2026, 1, 12), "self_harm", 2)
    yield stats
    stats.close()


@pytest.mark.parametrize(
    "period, ids",
    [
        ("week", [f"2026-W{w:02d}" for w in range(1, 18)]),
        ("month", ["2026-M01", "2026-M02", "2026-M03", "2026-M04"]),
        ("quarter", ["2026-Q1"]),
        ("launch", ["launch-2026-M01", "launch-2026-M02", "launch-2026-M03", "launch-2026-M04"]),
    ],
)
def test_every_period_is_released_with_the_same_protection(quarter_and_more, period, ids):
    rel = S.release(quarter_and_more, "concerns", period, today=date(2026, 4, 29))  # Wednesday of W18
    assert rel.weeks == ids
    sextortion = [rel.rows[p][CONCERN_KEYS.index("sextortion")] for p in ids]
    weeks = [p.last - p.first + 1 for p in rel.periods]
    assert [c.value for c in sextortion] == [S.round_count(28 * n) for n in weeks]
    for _, _, cell in rel.cells():  # only 0, "<10", multiples of 5 from 10, or hidden
        assert cell.shown in ("0", SMALL, HIDDEN) or (cell.value >= 10 and cell.value % 5 == 0)
    self_harm = [rel.rows[p][CONCERN_KEYS.index("self_harm")].shown for p in ids]
    assert self_harm[0 if period != "week" else 2] in (SMALL, HIDDEN) and set(self_harm) <= {"0", SMALL, HIDDEN}
    assert rel.finest == "week"


def test_the_finest_period_with_numbers_is_said(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        for offset in range(4 * 7):  # 3 a week: every week under 10, the month 12
            if offset % 7 in (0, 2, 4):
                _add(stats, date(2025, 12, 29) + timedelta(days=offset), "sextortion", 1)
        weekly = S.release(stats, "concerns", "week", today=date(2026, 2, 4))
        monthly = S.release(stats, "concerns", "month", today=date(2026, 2, 4))
    assert weekly.finest == "month" and monthly.finest == "month"
    assert "the finest period that shows numbers is the month (`--period month`)" in S.format_table(weekly)
    assert "month is the finest period" in S.format_table(monthly)
    assert monthly.rows["2026-M01"][CONCERN_KEYS.index("sextortion")].shown == "10"


# ------------------------------------------------------------------------------------------------ property tests


def _structure(weeks, month_sizes):
    """Periods like `periods.periods` makes them: weeks, months of consecutive weeks, one quarter, launch rows."""
    d = date(2026, 1, 5)
    make = lambda kind, pid, a, b: P.Period(kind, pid, a, b, d, d)  # noqa: E731
    out = {"week": [make("week", f"w{i}", i, i) for i in range(weeks)], "month": []}
    first = 0
    for index, size in enumerate(month_sizes):
        out["month"].append(make("month", f"m{index}", first, first + size - 1))
        first += size
    out["quarter"] = [make("quarter", "q0", 0, weeks - 1)]
    out["launch"] = [make("launch", f"l{m.id}", 0, m.last) for m in out["month"]]
    return out


def _options(cell):
    return range(1, 10) if cell.shown == SMALL else range(interval(cell)[0], interval(cell)[1] + 1)


def _check_by_brute_force(counts, month_sizes):
    """Every world consistent with all released numbers; each released "<10" must still take every value 1 to 9."""
    keys, weeks = counts.shape
    structure = _structure(weeks, month_sizes)
    released = protect([Margin("m", tuple("abc"[:keys]), True)], [counts], structure)
    atoms = [(k, w) for k in range(keys) for w in range(weeks)]
    choices = [list(_options(released[CellRef(0, k, structure["week"][w])])) for k, w in atoms]
    worlds = np.array(list(itertools.product(*choices)), dtype=np.int32)
    assert (worlds == counts.ravel()).all(axis=1).any(), "the truth is among the worlds"

    def values(ref):
        columns = [
            i
            for i, (k, w) in enumerate(atoms)
            if (ref.key == TOTAL_KEY or k == ref.key) and ref.period.first <= w <= ref.period.last
        ]
        return worlds[:, columns].sum(axis=1)

    keep = np.ones(len(worlds), dtype=bool)
    for ref, cell in released.items():
        if cell.shown != HIDDEN:
            lo, hi = interval(cell)
            v = values(ref)
            keep &= (v >= lo) & (v <= hi)
    for ref, cell in released.items():
        if cell.shown == SMALL:
            assert set(values(ref)[keep].tolist()) == set(range(1, 10)), (counts.tolist(), ref, cell)
    return released


COUNTS = st.sampled_from([0, 0, 0, 1, 4, 8, 9, 10, 12, 13, 17, 22, 40])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_no_combination_of_released_numbers_narrows_a_small_count(data):
    """Brute force over every world (weekly counts) that fits everything a release shows, across all periods."""
    month_sizes = data.draw(st.sampled_from([(2,), (1, 1), (2, 1), (1, 2)]))
    weeks = sum(month_sizes)
    keys = data.draw(st.integers(min_value=1, max_value=2))
    counts = np.array([[data.draw(COUNTS) for _ in range(weeks)] for _ in range(keys)])
    worlds = 1
    for c in counts.ravel():
        worlds *= 9 if 0 < c < 10 else (1 if c == 0 else 5)
    if worlds > 200_000:
        counts[counts % 2 == 1] = 0  # keep the brute force small
    released = _check_by_brute_force(counts, month_sizes)
    for ref, cell in released.items():  # what is shown is the primary-protected true count
        if cell.shown != HIDDEN:
            true = counts[:, ref.period.first : ref.period.last + 1]
            true = true.sum() if ref.key == TOTAL_KEY else true[ref.key].sum()
            assert cell == primary(int(true))


def test_known_differencing_attacks_are_closed():
    # A quarter of 15 made of two small months: each month would be at least 4. Something is withheld.
    released = _check_by_brute_force(np.array([[7, 8, 0]]), (1, 1, 1))
    assert any(c.shown == HIDDEN for c in released.values())
    # Since launch to two month ends, 10 and 10: the second month is 0 to 2. Withheld again.
    _check_by_brute_force(np.array([[10, 1]]), (1, 1))
    # The old single-week cases still hold inside a release.
    _check_by_brute_force(np.array([[5], [10]]), (1,))
    _check_by_brute_force(np.array([[9], [9]]), (1,))


def test_two_views_of_failures_keep_each_others_small_counts(tmp_path):
    """By concern and by turn are two views of the same answers: checked together, nothing narrows."""
    with Stats(tmp_path / "f.db") as stats:
        for offset in range(9 * 7):
            day = date(2025, 12, 29) + timedelta(days=offset)
            stats.record(
                concerns=["sextortion"],
                day=day,
                failures=[("not_understood", "sextortion", 1 + offset % 3)] if offset % 2 else [],
            )
        stats.record(failures=[("cant_help", "none", 12)], day=date(2026, 1, 14))
        tables = {(r.measure, r.period): r for r in S.release_measure(stats, "failures", today=date(2026, 3, 4))}
    assert ("failures_by_turn", "week") not in tables  # by turn starts at months
    by_turn = tables[("failures_by_turn", "launch")]
    assert by_turn.keys[-1] == "10+"
    first = by_turn.rows[by_turn.weeks[0]]
    assert first[0].shown in ("10", "15", SMALL, HIDDEN)
    by_concern = tables[("failures_by_concern", "month")]
    assert "none" in by_concern.keys and "greet" not in by_concern.keys


# ------------------------------------------------------------------------------------------------ failures


def test_failures_are_counted_by_kind_concern_and_turn(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        stats.record(
            concerns=["sextortion"],
            failures=[("not_understood", "sextortion", 2), ("cant_help", "none", 14)],
            day="2026-11-02",
        )
        stats.record(failures=[("not_understood", "sextortion", 2)], day="2026-11-02")
        assert stats.daily("failures") == {"2026-11-02": {"not_understood|sextortion|2": 2, "cant_help|none|10": 1}}
        assert stats.daily("concerns") == {"2026-11-02": {"sextortion": 1}}
        for bad in [
            ("typed text", "none", 1),
            ("cant_help", "my name is Sam", 1),
            ("cant_help", "none", 0),
            ("cant_help", "none", "3"),
            ("cant_help", "none", True),
        ]:
            with pytest.raises(ValueError) as error:
                stats.record(concerns=["sextortion"], failures=[bad], day="2026-11-03")
            assert "Sam" not in str(error.value)
        assert "2026-11-03" not in stats.daily("concerns"), "a refused record writes nothing"


def test_a_count_batch_takes_failures_too(tmp_path):
    with Stats(tmp_path / "s.db") as stats:
        batch = CountBatch(stats)
        batch.record(failures=[("cant_help", "self_harm", 3)], day="2026-11-02")
        assert stats.daily("failures") == {}
        batch.flush()
        assert stats.daily("failures") == {"2026-11-02": {"cant_help|self_harm|3": 1}}


def test_cli_stats_failures_by_concern_and_by_turn(tmp_path, monkeypatch):
    from bot.cli import main

    with Stats(tmp_path / "s.db") as stats:
        for offset in range(5 * 7):
            stats.record(
                failures=[("not_understood", "sextortion", 1)] * 1, day=date.today() - timedelta(days=offset + 7)
            )
    monkeypatch.setenv("SIGNPOST_STATS_DB", str(tmp_path / "s.db"))
    by_concern = CliRunner().invoke(main, ["stats", "--measure", "failures", "--period", "launch"])
    assert by_concern.exit_code == 0, by_concern.output
    assert by_concern.output.split()[0] == "launch" and "sextortion" in by_concern.output.splitlines()[0]
    by_turn = CliRunner().invoke(main, ["stats", "--measure", "failures_by_turn", "--period", "month"])
    assert by_turn.exit_code == 0 and "10+" in by_turn.output.splitlines()[0]
    weekly = CliRunner().invoke(main, ["stats", "--measure", "failures_by_turn"])
    assert weekly.exit_code == 2 and "per month, quarter, launch only" in weekly.output


# ------------------------------------------------------------------------------------------------ chart


def test_the_chart_has_one_scale_concerns_only_and_explains_its_gaps(filled):
    rel = S.release(filled, "concerns", today=TODAY)
    fig = S.chart_figure(rel)
    try:
        panels = [ax for ax in fig.axes if ax.axison]
        assert len(panels) == len(CONCERN_KEYS)  # concerns only: no greet, no out of scope
        titles = [ax.get_title() for ax in panels]
        assert "Greet" not in titles and "Blackmail with an image (sextortion)" in titles
        assert len({ax.get_ylim() for ax in panels}) == 1, "one y-scale in every panel"
        assert all(ax.get_shared_y_axes().joined(panels[0], ax) for ax in panels)
        assert panels[0].get_ylabel() == "conversations"
        legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
        assert "fewer than 10" in legend and "held back" in legend and "rounded to the nearest 5" in legend
        self_harm = panels[CONCERN_KEYS.index("self_harm")]
        line = self_harm.get_lines()[0]
        assert all(np.isnan(y) for y in line.get_ydata()), "weeks under 10 are gaps in the line"
        assert self_harm.collections[0].get_segments(), "with a pale bar where they lie"
        labels = [t.get_text() for t in panels[-1].get_xticklabels()]
        assert any("Nov" in label or "Oct" in label for label in labels), labels  # dates, not week codes
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_no_data_means_a_clear_message_and_no_chart(tmp_path, monkeypatch):
    from bot.cli import main

    Stats(tmp_path / "empty.db").close()
    monkeypatch.setenv("SIGNPOST_STATS_DB", str(tmp_path / "empty.db"))
    result = CliRunner().invoke(main, ["stats", "--chart", str(tmp_path / "c.png")])
    assert result.exit_code == 1 and "Nothing to chart" in result.output
    assert not (tmp_path / "c.png").exists()


# ------------------------------------------------------------------------------------------------ location


def test_the_default_database_is_in_the_users_data_folder(tmp_path, monkeypatch):
    from bot.settings import default_stats_db, stats_db

    monkeypatch.delenv("SIGNPOST_STATS_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert stats_db() == default_stats_db() == tmp_path / "data" / "signpost" / "stats.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert stats_db() == tmp_path / "home" / ".local" / "share" / "signpost" / "stats.db"
    with Stats() as stats:  # the bot's first run makes the folder and the file
        assert stats.path == tmp_path / "home" / ".local" / "share" / "signpost" / "stats.db"
    assert stats_db().is_file()


def test_moderators_commands_never_make_a_database(tmp_path, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("SIGNPOST_STATS_DB", str(tmp_path / "tpyo.db"))
    for args in (["stats"], ["stats", "export", str(tmp_path / "out.db")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1
        assert result.output.strip().count("\n") == 0 and "no statistics database at" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "tpyo.db").exists() and not (tmp_path / "out.db").exists()
    with pytest.raises(S.StatsLocationError):
        Stats(tmp_path / "tpyo.db", create=False)


@pytest.mark.parametrize("where", ["missing/folder/stats.db", "."])
def test_a_wrong_path_is_a_one_line_error(tmp_path, monkeypatch, where):
    from bot.cli import main

    path = tmp_path / where
    monkeypatch.setenv("SIGNPOST_STATS_DB", str(path))
    with pytest.raises(S.StatsLocationError) as error:
        Stats()  # even the bot does not make a folder someone typed
    assert "\n" not in str(error.value) and str(path) in str(error.value)
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()
