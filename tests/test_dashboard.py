"""The moderators' dashboard: Datasette on the exported release only, read-only, no SQL of one's own."""

from datetime import date, timedelta

import pytest
import yaml
from sqlite_utils import Database

from bot import dashboard, stats as S

TODAY = date(2026, 11, 18)


@pytest.fixture
def release_db(tmp_path):
    with S.Stats(tmp_path / "live.db") as live:
        start = date(2026, 10, 26)
        for offset in range(21):
            day = start + timedelta(days=offset)
            for _ in range(4):
                live.record(concerns=["sextortion"], platforms=["snapchat"], outcomes=["childline_shown"], day=day)
            live.record(concerns=["asked_for_nudes"], day=day)
        return S.export(live, tmp_path / "moderators.db", today=TODAY)


@pytest.fixture
def ds(release_db):
    return dashboard.make_datasette(release_db)


async def get_json(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.json()


async def test_only_the_export_is_served_and_it_is_immutable(ds):
    databases = await get_json(ds, "/-/databases.json")
    assert [d["name"] for d in databases] == ["moderators"]
    assert databases[0]["is_mutable"] is False
    settings = await get_json(ds, "/-/settings.json")
    assert settings["default_allow_sql"] is False


@pytest.mark.parametrize(
    "path",
    ["/", "/moderators", "/moderators/concerns_weekly", "/moderators/platforms_weekly",
     "/moderators/outcomes_weekly", "/moderators/release"],
)
async def test_pages_answer(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200
    assert "<html" in response.text


async def test_tables_are_described_for_moderators(ds):
    response = await ds.client.get("/moderators/concerns_weekly")
    assert "Concerns per week" in response.text
    assert "once per conversation" in (await ds.client.get("/")).text


async def test_latest_week_by_concern(ds):
    rows = await get_json(ds, "/moderators/latest_week_concerns.json?_shape=array")
    assert {r["week"] for r in rows} == {"2026-W46"}
    assert rows[0] == {"week": "2026-W46", "concern": "sextortion", "shown": "30"}  # 28 a week, rounded
    assert rows[1]["concern"] == "asked_for_nudes" and rows[1]["shown"] == "<10"
    assert "total" not in {r["concern"] for r in rows}


async def test_trend_of_one_concern(ds):
    rows = await get_json(ds, "/moderators/concern_trend.json?concern=sextortion&_shape=array")
    assert [(r["week"], r["shown"]) for r in rows] == [("2026-W44", "30"), ("2026-W45", "30"), ("2026-W46", "30")]


@pytest.mark.parametrize("query", ["weekly_totals", "latest_week_outcomes", "latest_week_apps"])
async def test_other_canned_queries_run(ds, query):
    rows = await get_json(ds, f"/moderators/{query}.json?_shape=array")
    assert rows


@pytest.mark.parametrize(
    "path",
    [
        "/moderators?sql=select+*+from+concerns_weekly",
        "/moderators.json?sql=select+1",
        "/moderators/concerns_weekly?_where=1%3D1",
        "/moderators.db",
    ],
)
async def test_own_sql_and_downloads_are_refused(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 403


async def test_canned_query_ignores_sql_parameter(ds):
    rows = await get_json(ds, "/moderators/weekly_totals.json?_shape=array&sql=select+42+as+week")
    assert all(r["week"].startswith("2026-W") for r in rows)


def test_metadata_file_is_filed_under_the_served_name():
    metadata = dashboard.metadata_for("anything")
    assert list(metadata["databases"]) == ["anything"]
    assert metadata["allow_sql"] is False and metadata["databases"]["anything"]["allow_sql"] is False
    with open(dashboard.METADATA_FILE) as f:
        raw = yaml.safe_load(f)
    tables = raw["databases"]["signpost"]["tables"]
    for table in S.RELEASE_TABLES.values():
        assert tables[table]["description"]


def test_missing_export_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="signpost stats export"):
        dashboard.make_datasette(tmp_path / "nope.db")


def test_without_db_a_fresh_export_is_served_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNPOST_STATS_DB", str(tmp_path / "live.db"))
    with S.Stats() as live:
        live.record(concerns=["greet"], day=date.today() - timedelta(days=8))
    with dashboard.served_database(None) as path:
        assert path.exists() and path != tmp_path / "live.db"
        assert "concerns_weekly" in Database(path).table_names()
    assert not path.exists()


def test_cli_dashboard_serves_on_localhost_by_default(release_db, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    calls = {}

    def fake_run(app, **kwargs):
        calls.update(kwargs)

    monkeypatch.setattr("uvicorn.run", fake_run)
    result = CliRunner().invoke(main, ["dashboard", "--db", str(release_db)])
    assert result.exit_code == 0, result.output
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8001
    assert calls["ws"] == "none"  # uvicorn's websockets detection fails with the version Rasa pins
