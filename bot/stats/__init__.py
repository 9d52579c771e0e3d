"""Anonymous statistics for moderators: daily counts in, small-number-safe tables out.

- `store`: the database (`Stats`, `CountBatch`, migrations) and its closed lists of keys.
- `location`: where the database lives, and clear errors when it isn't there.
- `periods`: week, month, quarter and since launch, all of whole ISO weeks.
- `disclosure`, `audit`: the small-number protection, one row at a time and across a whole release.
- `release`: the released tables; `outputs`: terminal table, CSV, chart, exported database.
- `dashboard`: Datasette serving an export, with `dashboard_plugin` and `dashboard_metadata.yml`.
"""

from bot.stats.disclosure import (  # noqa: F401
    BASE,
    HIDDEN,
    SMALL,
    THRESHOLD,
    WHY,
    Cell,
    interval,
    primary,
    protect_row,
    round_count,
    total_reveals,
)
from bot.stats.location import StatsLocationError  # noqa: F401
from bot.stats.outputs import (  # noqa: F401
    RELEASE_TABLES,
    NoData,
    chart_figure,
    draw_chart,
    export,
    finest_note,
    format_table,
    write_csv,
)
from bot.stats.periods import PERIODS, iso_week, week_monday, weeks_between  # noqa: F401
from bot.stats.release import MEASURE_VIEWS, TABLES, Release, release, release_measure, releases  # noqa: F401
from bot.stats.store import (  # noqa: F401
    FAILURE_KINDS,
    MEASURES,
    OUTCOMES,
    TOTAL,
    CountBatch,
    Stats,
    migrations,
)
