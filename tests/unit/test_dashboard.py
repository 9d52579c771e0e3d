"""The moderators' dashboard: Datasette on the exported release only, read-only, a dashboard front page, no SQL
of one's own, a password for remote moderators, short errors; and the page in a real (headless) browser."""

import logging
import re
import urllib.parse
from datetime import date, timedelta

import pytest
import yaml
from sqlite_utils import Database

from bot import stats as S
from bot.stats import browser, dashboard
from bot.stats.dashboard_plugin import dashboard_queries
from bot.stats.release import CONCERN_KEYS, label

TODAY = date(2026, 11, 18)
SEXTORTION = "Blackmail with an image (sextortion)"


@pytest.fixture(scope="module")
def release_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboard")
    with S.Stats(folder / "live.db") as live:
        start = date(2026, 8, 3)  # a Monday, 2026-W32
        for offset in range(105):
            day = start + timedelta(days=offset)
            for _ in range(4):
                live.record(concerns=["sextortion"], platforms=["snapchat"], outcomes=["childline_shown"], day=day)
            live.record(
                concerns=["asked_for_nudes"],
                day=day,
                failures=[("not_understood", "sextortion", 2)] if offset % 2 else [],
            )
        return S.export(live, folder / "moderators.db", today=TODAY)


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


async def test_the_front_page_is_the_dashboard(ds):
    response = await ds.client.get("/")
    assert response.status_code == 302 and response.headers["location"] == "/-/dashboards/signpost"
    response = await ds.client.get("/-/dashboards/signpost")
    assert response.status_code == 302 and "period=month" in response.headers["location"]  # the default period
    page = (await ds.client.get("/-/dashboards/signpost?period=month")).text
    assert "Signpost for moderators" in page and "How to read this page" in page
    periods = re.search(r'<select id="period".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', periods) == ["", "week", "month", "quarter", "since launch"]
    concerns = re.search(r'<select id="concern".*?</select>', page, re.S).group(0)
    assert SEXTORTION in concerns and "greet" not in concerns.lower()  # friendly names, concerns only
    assert "vega-lite.min.js" in page  # the charts' library comes with the plugin, not from the network


@pytest.mark.parametrize(
    "path",
    [
        "/moderators",
        "/moderators/concerns",
        "/moderators/platforms",
        "/moderators/outcomes",
        "/moderators/failures_by_concern",
        "/moderators/failures_by_turn",
        "/moderators/release",
        "/moderators/finest_period",
    ],
)
async def test_pages_answer(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200
    assert "<html" in response.text


async def test_tables_are_described_for_moderators(ds):
    response = await ds.client.get("/moderators/concerns")
    assert "Concerns</h1>" in response.text and "in how many conversations it came up" in response.text
    assert "once per conversation" in (await ds.client.get("/-/dashboards/signpost?period=month")).text


def chart_url(ds, chart, **params):
    """The address the dashboard's script fetches a chart's rows from (as datasette-dashboards builds it)."""
    from datasette_dashboards import replace_opts_in_query

    config = ds.plugin_config("datasette-dashboards")["signpost"]
    query = replace_opts_in_query(config["charts"][chart]["query"], params)
    return f"/moderators.json?sql={urllib.parse.quote(query)}&{urllib.parse.urlencode(params)}&_shape=objects"


@pytest.mark.parametrize("period", ["week", "month", "quarter", "since launch"])
async def test_every_chart_query_runs_for_every_period(ds, period):
    config = ds.plugin_config("datasette-dashboards")["signpost"]
    for name, chart in config["charts"].items():
        if "query" in chart:
            data = await get_json(ds, chart_url(ds, name, period=period))
            assert "rows" in data, name


async def test_trend_follows_the_period_and_concern(ds):
    rows = (await get_json(ds, chart_url(ds, "trend", period="month", concern=SEXTORTION)))["rows"]
    assert rows and {r["concern"] for r in rows} == {SEXTORTION}
    assert all(r["value"] >= 80 and r["value"] % 5 == 0 for r in rows)  # 28 a week, 3 to 5 weeks a month
    everything = (await get_json(ds, chart_url(ds, "trend", period="week")))["rows"]
    assert {r["concern"] for r in everything} == {label(k) for k in CONCERN_KEYS}
    assert {r["status"] for r in everything} >= {"shown", "fewer than 10: not shown"}


async def test_failures_are_on_the_page(ds):
    rows = (await get_json(ds, chart_url(ds, "failures_concern", period="quarter")))["rows"]
    assert {r["concern"] for r in rows} >= {SEXTORTION, "No concern yet"}
    turns = (await get_json(ds, chart_url(ds, "failures_turn", period="quarter")))["rows"]
    assert [r["turn_number"] for r in turns] == [str(t) for t in range(1, 10)] + ["10+"]


@pytest.mark.parametrize(
    "path",
    [
        "/moderators?sql=select+*+from+concerns",
        "/moderators.json?sql=select+1",
        "/moderators/concerns?_where=1%3D1",
        "/moderators.db",
    ],
)
async def test_own_sql_and_downloads_are_refused(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 403


async def test_only_the_dashboards_own_queries_run(ds):
    allowed = dashboard_queries(ds)
    assert allowed and all("from" in sql for sql in allowed)
    tweaked = chart_url(ds, "trend", period="month").replace("order%20by", "order%20by%20key%2C")
    assert (await ds.client.get(tweaked)).status_code == 403


BAD_URLS = [
    ("GET", "/moderators/concerns_weekly/999"),
    ("GET", "/moderators/concerns/999"),
    ("POST", "/-/insert"),
    ("POST", "/moderators/concerns"),
    ("GET", "/moderators/concerns?_sort=nope"),
    ("GET", "/moderators/concerns?_size=abc"),
    ("GET", "/moderators/concerns.json?_shape=bogus"),
    ("GET", "/moderators/concerns?_next=zzz"),
    ("GET", "/moderators/concerns?_facet=nope"),
    ("GET", "/-/dashboards/nope"),
    ("GET", "/-/dashboards/signpost/nope"),
    ("GET", "/-/password-tool"),
    ("GET", "/nope"),
]


@pytest.mark.parametrize(
    "path",
    [
        "/moderators/concerns?period__gt",
        "/moderators/concerns?_sort_desc=%00",
        "/-/dashboards/signpost?period=nope&concern=%ff",
        "/moderators/concerns?_size=max",
    ],
)
async def test_odd_query_strings_are_never_500(ds, path):
    assert (await ds.client.get(path)).status_code in (200, 302, 400, 404)


@pytest.mark.parametrize("method, path", BAD_URLS)
async def test_bad_urls_are_400_or_404_with_one_log_line(ds, method, path, caplog, capfd):
    with caplog.at_level(logging.WARNING):
        response = await (ds.client.get(path) if method == "GET" else ds.client.post(path))
    assert response.status_code in (400, 404), response.status_code
    lines = [r for r in caplog.records if r.name == "bot.dashboard"]
    assert len(lines) == 1 and "\n" not in lines[0].getMessage()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "ERROR: conn" not in out + err and "locals" not in out + err


async def test_a_password_is_needed_when_one_is_set(release_db):
    from datasette_auth_passwords.utils import hash_password

    ds = dashboard.make_datasette(release_db, password_hash=hash_password("correct horse"))
    response = await ds.client.get("/-/dashboards/signpost?period=month")
    assert response.status_code == 302 and response.headers["location"] == "/-/login"
    assert (await ds.client.get("/moderators/concerns.json")).status_code in (302, 403)
    login = await ds.client.get("/-/login")
    assert login.status_code == 200 and "password" in login.text.lower()
    wrong = await ds.client.post(
        "/-/login", data={"username": "moderator", "password": "nope", "csrftoken": _csrf(login)}, cookies=login.cookies
    )
    assert "ds_actor" not in wrong.cookies
    right = await ds.client.post(
        "/-/login",
        data={"username": "moderator", "password": "correct horse", "csrftoken": _csrf(login)},
        cookies=login.cookies,
    )
    assert "ds_actor" in right.cookies
    page = await ds.client.get("/-/dashboards/signpost?period=month", cookies={"ds_actor": right.cookies["ds_actor"]})
    assert page.status_code == 200 and "Signpost for moderators" in page.text


def _csrf(response):
    return re.search(r'name="csrftoken" value="([^"]+)"', response.text).group(1)


def test_a_remote_address_needs_a_password(release_db, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.delenv(dashboard.PASSWORD_HASH_ENV, raising=False)
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: None)
    result = CliRunner().invoke(main, ["dashboard", "--db", str(release_db), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and dashboard.PASSWORD_HASH_ENV in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_dashboard_password_prints_a_hash_that_checks(monkeypatch):
    from click.testing import CliRunner
    from datasette_auth_passwords.utils import verify_password

    from bot.cli import main

    result = CliRunner().invoke(main, ["dashboard-password"], input="s3cret words\ns3cret words\n")
    assert result.exit_code == 0, result.output
    hashed = result.output.strip().splitlines()[-1]
    assert hashed.startswith("pbkdf2_sha256$") and verify_password("s3cret words", hashed)


def test_metadata_file_is_filed_under_the_served_name():
    metadata = dashboard.metadata_for("anything")
    assert list(metadata["databases"]) == ["anything"]
    assert metadata["allow_sql"] is False
    charts = metadata["plugins"]["datasette-dashboards"]["signpost"]["charts"]
    assert {c["db"] for c in charts.values() if "db" in c} == {"anything"}
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
        live.record(concerns=["sextortion"], day=date.today() - timedelta(days=8))
    with dashboard.served_database(None) as path:
        assert path.exists() and path != tmp_path / "live.db"
        assert "concerns" in Database(path).table_names()
    assert not path.exists()


def test_without_a_statistics_database_the_dashboard_says_so_and_makes_none(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setenv("SIGNPOST_STATS_DB", str(tmp_path / "typo.db"))
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: None)
    result = CliRunner().invoke(main, ["dashboard"])
    assert result.exit_code == 1 and "no statistics database" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "typo.db").exists()


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


# ------------------------------------------------------------------------------------------------ real browser

needs_chromium = pytest.mark.skipif(
    browser.chromium() is None, reason="chromium is not installed (.ci/run installs it)"
)


@needs_chromium
def test_the_dashboard_in_a_real_browser(release_db, tmp_path):
    """Headless Chromium runs the page's scripts: the chart is drawn, and picking a concern narrows it."""
    with browser.running_dashboard(release_db) as base:
        page = browser.dump_dom(f"{base}/-/dashboards/signpost?period=month")
        weekly = browser.dump_dom(f"{base}/-/dashboards/signpost?period=week")
        one = browser.dump_dom(
            f"{base}/-/dashboards/signpost?" + urllib.parse.urlencode({"period": "month", "concern": SEXTORTION})
        )
        shot = browser.screenshot(f"{base}/-/dashboards/signpost?period=month", tmp_path / "front.png")

    trend = _chart(page, "trend")
    assert "<svg" in trend and "Conversations (rounded to 5)" in trend  # Vega-Lite drew it, with its axis title
    assert SEXTORTION in trend and "Asked for nude images" in trend  # every concern in the legend
    assert "fewer than 10: not shown" in _chart(weekly, "trend")  # the legend for the gaps (weeks under 10)
    assert "<svg" in _chart(page, "failures_turn") and "Turn of the conversation" in _chart(page, "failures_turn")
    assert "<table" in _chart(page, "latest")

    chosen = _chart(one, "trend")
    assert "<svg" in chosen and SEXTORTION in chosen and "Asked for nude images" not in chosen
    latest = _chart(one, "latest")
    assert SEXTORTION in latest and "Asked for nude images" not in latest
    assert re.search(r'<option value="' + re.escape(SEXTORTION) + r'" selected', one)

    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


def _chart(dom, slug):
    """The part of the page's DOM inside one chart's card."""
    start = dom.index(f'id="card-{slug}"')
    following = dom.find('id="card-', start + 10)
    return dom[start : following if following > 0 else len(dom)]
