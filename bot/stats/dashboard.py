"""`signpost dashboard`: Datasette serving only an exported (already protected) statistics database.

The front page is a datasette-dashboards page (charts drawn with Vega-Lite, which the plugin ships, so no network
is needed), with a period and a concern picker. The database is opened immutable (read-only), and no one can run
SQL of their own: only the dashboard's chart queries run (`dashboard_plugin.py`). On any address other than this
machine's, moderators log in with a password (datasette-auth-passwords; docs/dashboard.md).
"""

from __future__ import annotations

import copy
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Union

import yaml

METADATA_FILE = Path(__file__).with_name("dashboard_metadata.yml")
TEMPLATE_DATABASE = "signpost"
PASSWORD_HASH_ENV = "SIGNPOST_DASHBOARD_PASSWORD_HASH"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

SETTINGS = {
    "default_allow_sql": False,  # no one's own SQL; the plugin allows only the dashboard's queries
    "allow_download": False,  # the page is the release; no need to hand out the file
    "suggest_facets": False,
    "allow_facet": False,
}


class DashboardError(Exception):
    """The dashboard can't start as asked (one line)."""


def metadata_for(database_name: str, password_hash: Optional[str] = None) -> Dict[str, Any]:
    """The moderators' metadata, with the database block and the charts' database under the served name."""
    with open(METADATA_FILE, encoding="utf-8") as f:
        metadata = copy.deepcopy(yaml.safe_load(f))
    metadata["databases"] = {database_name: metadata["databases"][TEMPLATE_DATABASE]}
    # SQL is refused for everyone except the dashboard's own chart queries (see dashboard_plugin.py).
    metadata["allow_sql"] = False
    metadata["databases"][database_name]["allow_sql"] = True
    for dashboard in metadata["plugins"]["datasette-dashboards"].values():
        for item in [*dashboard.get("charts", {}).values(), *dashboard.get("filters", {}).values()]:
            if item.get("db") == TEMPLATE_DATABASE:
                item["db"] = database_name
    if password_hash:
        metadata["plugins"]["datasette-auth-passwords"] = {"moderator_password_hash": password_hash}
        metadata["allow"] = {"id": "moderator"}  # every page needs the login
    return metadata


def _register_plugin() -> None:
    from datasette.plugins import pm

    from bot.stats import dashboard_plugin

    if not pm.is_registered(dashboard_plugin):
        pm.register(dashboard_plugin, name="signpost-dashboard")
    # Datasette's own error handler prints tracebacks with local variables: ours answers and logs one line.
    if not pm.is_blocked("datasette.handle_exception"):
        pm.set_blocked("datasette.handle_exception")


def make_datasette(db_path: Union[str, Path], password_hash: Optional[str] = None) -> Any:
    """A Datasette instance serving only `db_path`, immutable, with the dashboard as its front page."""
    from datasette.app import Datasette

    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"No exported statistics database at {db_path} (make one with `signpost stats export`)")
    _register_plugin()
    ds = Datasette(
        immutables=[str(db_path)],
        metadata=metadata_for(db_path.stem, password_hash),
        settings=SETTINGS,
    )
    for database in ds.databases.values():
        _quiet_sql_errors(database)
    return ds


def _quiet_sql_errors(database: Any) -> None:
    """Datasette writes the SQL and parameters of a failing query to stderr; the error handler's line is enough."""
    execute = database.execute

    async def quiet(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("log_sql_errors", False)
        return await execute(*args, **kwargs)

    database.execute = quiet


@contextmanager
def served_database(db_path: Optional[Union[str, Path]]) -> Iterator[Path]:
    """The given export, or a fresh export of the current statistics in a temporary folder removed afterwards."""
    if db_path is not None:
        yield Path(db_path)
        return
    from bot.stats import Stats, export

    with tempfile.TemporaryDirectory(prefix="signpost-release-") as folder:
        with Stats(create=False) as stats:
            path = export(stats, Path(folder) / "signpost.db")
        yield path


def serve(db_path: Optional[Union[str, Path]] = None, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run the dashboard until interrupted."""
    import uvicorn

    password_hash = os.environ.get(PASSWORD_HASH_ENV, "").strip() or None
    if host not in LOCAL_HOSTS and not password_hash:
        raise DashboardError(
            f"--host {host} lets other machines in: set {PASSWORD_HASH_ENV} first "
            "(`signpost dashboard-password`, see docs/dashboard.md)"
        )
    with served_database(db_path) as path:
        ds = make_datasette(path, password_hash)
        login = " (log in as moderator)" if password_hash else ""
        print(f"Signpost statistics dashboard: http://{host}:{port}/{login} (Ctrl+C to stop)")
        # No websockets: Datasette doesn't use them, and uvicorn's detection fails on the websockets Rasa pins.
        uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on", workers=1, ws="none")
