"""Where the statistics database lives, and clear one-line errors when it isn't there.

The default is fixed: `$XDG_DATA_HOME/signpost/stats.db` (usually `~/.local/share/signpost/stats.db`), or the file
named by `SIGNPOST_STATS_DB` in the service's settings. Only the bot itself (`signpost chat`, `signpost telegram`)
may start a new, empty file there (creating the default folder if needed); the moderators' commands open an
existing file only, so a mistyped path is an error instead of an empty table.
"""

from __future__ import annotations

from pathlib import Path

from bot.settings import default_stats_db


class StatsLocationError(Exception):
    """The statistics database can't be opened where it was asked for (the message is one line)."""


def checked_path(path: Path, create: bool) -> Path:
    """`path`, if a database can be opened there; otherwise StatsLocationError saying what is wrong."""
    if path.is_dir():
        raise StatsLocationError(f"the statistics database {path} is a folder, not a file (check SIGNPOST_STATS_DB)")
    if path.exists():
        return path
    if not create:
        raise StatsLocationError(
            f"no statistics database at {path}: it is made by the bot's first run (`signpost chat` or "
            "`signpost telegram`); check SIGNPOST_STATS_DB"
        )
    folder = path.parent
    if not folder.is_dir():
        if path == default_stats_db():
            folder.mkdir(parents=True, exist_ok=True)
        else:
            raise StatsLocationError(
                f"can't make the statistics database {path}: the folder {folder} does not "
                "exist (check SIGNPOST_STATS_DB)"
            )
    return path
