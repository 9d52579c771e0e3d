"""`signpost dashboard`: Datasette serving only an exported (already protected) statistics database.

The database is opened immutable (read-only), arbitrary SQL is switched off (only the tables and the canned queries
in dashboard_metadata.yml can be read), and the server listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import copy
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Union

import yaml

METADATA_FILE = Path(__file__).with_name("dashboard_metadata.yml")
TEMPLATE_DATABASE = "signpost"

SETTINGS = {
    "default_allow_sql": False,  # no ?sql= and no ?_where= for anyone
    "allow_download": False,  # the page is the release; no need to hand out the file
    "suggest_facets": False,
}


def metadata_for(database_name: str) -> Dict[str, Any]:
    """The moderators' metadata, with the database block filed under the served database's name."""
    with open(METADATA_FILE, encoding="utf-8") as f:
        metadata = yaml.safe_load(f)
    metadata = copy.deepcopy(metadata)
    metadata["databases"] = {database_name: metadata["databases"][TEMPLATE_DATABASE]}
    return metadata


def make_datasette(db_path: Union[str, Path]) -> Any:
    """A Datasette instance serving only `db_path`, immutable, without arbitrary SQL."""
    from datasette.app import Datasette

    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"No exported statistics database at {db_path} (make one with `signpost stats export`)")
    return Datasette(
        immutables=[str(db_path)],
        metadata=metadata_for(db_path.stem),
        settings=SETTINGS,
    )


@contextmanager
def served_database(db_path: Optional[Union[str, Path]]) -> Iterator[Path]:
    """The given export, or a fresh export of the current statistics in a temporary folder removed afterwards."""
    if db_path is not None:
        yield Path(db_path)
        return
    from bot.stats import Stats, export

    with tempfile.TemporaryDirectory(prefix="signpost-release-") as folder:
        with Stats() as stats:
            path = export(stats, Path(folder) / "signpost.db")
        yield path


def serve(db_path: Optional[Union[str, Path]] = None, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run the dashboard until interrupted."""
    import uvicorn

    with served_database(db_path) as path:
        ds = make_datasette(path)
        print(f"Signpost statistics dashboard: http://{host}:{port}/{path.stem} (Ctrl+C to stop)")
        # No websockets: Datasette doesn't use them, and uvicorn's detection fails on the websockets Rasa pins.
        uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on", workers=1, ws="none")
