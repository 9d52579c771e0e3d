"""`signpost ...`: the command line. Each command only wires modules together."""

import asyncio
import os
import sys
import warnings
from pathlib import Path

import click

# Rasa and its dependencies print deprecation warnings at import (and add filters that let them through); a young
# person or a moderator can't act on them, so the command line never shows them.
warnings.showwarning = lambda *args, **kwargs: None

from bot.privacy import configure_logging  # noqa: E402


def _use_model(ctx: click.Context, param: click.Parameter, value: str) -> None:
    if value:  # through the environment, so the Telegram bot's engine process finds it too
        os.environ["SIGNPOST_MODEL"] = str(Path(value).resolve())


def model_option(command):
    """--model PATH: the trained model to run (a .tar.gz, or a folder: its newest model)."""
    return click.option(
        "--model",
        type=click.Path(exists=True),
        expose_value=False,
        callback=_use_model,
        help="The trained model (a .tar.gz file, or a folder holding models). Default: SIGNPOST_MODEL, else models/ "
        "in a checkout, else ~/.local/share/signpost/models.",
    )(command)


def load_engine(**options):
    """The engine on the chosen model; no model is one clear line, not a traceback."""
    from bot.engine import Engine

    try:
        return Engine.load(**options)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None


@click.group()
@click.version_option(package_name="signpost", message="signpost %(version)s")
def main() -> None:
    """Signpost: a helper for young people facing online sexual pressure, grooming or sextortion."""
    configure_logging()


@main.command()
@click.option("--force", is_flag=True, help="Train even if a model for the current data exists.")
def train(force: bool) -> None:
    """Train the Rasa model if the training data or config changed."""
    from bot.tools.training import train as train_model

    try:
        click.echo(f"model: {train_model(force=force)}")
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@model_option
def chat() -> None:
    """Talk to Signpost in the terminal (reads lines until the end of input when piped)."""
    from bot.channels.terminal import run_chat
    from bot.stats import Stats, StatsLocationError

    try:
        stats = Stats()  # the bot's own run: may start a new, empty statistics database
    except StatsLocationError as error:
        raise click.ClickException(str(error)) from None
    click.echo("Starting Signpost...", err=True)
    engine = load_engine(stats=stats)
    # Typed at a keyboard, the terminal shows the line; piped in, it is echoed so the output reads as a transcript.
    interactive = sys.stdin.isatty()
    asyncio.run(run_chat(engine, sys.stdin, sys.stdout, prompt=interactive, echo=not interactive))


@main.command()
@model_option
def classify() -> None:
    """Read {"text": ...} JSON lines on stdin; write one JSON line per message (NLU only)."""
    from bot.tools.classify import classify_lines

    engine = load_engine()

    async def run() -> None:
        async for line in classify_lines(engine, sys.stdin):
            click.echo(line)

    asyncio.run(run())


@main.command("eval")
@model_option
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (one object per file for several).")
def eval_command(files, as_json: bool) -> None:
    """Score the bot on labelled JSON lines: accuracy, macro-F1, crisis recall and false alarms.

    Several files are compared side by side first (for example the real set beside the written ones)."""
    from pathlib import Path

    from bot.tools import evaluate

    sets = {}
    for file in files:
        try:
            sets[Path(file.name).name] = evaluate.read_rows(file)
        except ValueError as error:
            raise click.BadParameter(f"{file.name}: {error}", param_hint="FILE") from None
    engine = load_engine()

    async def score() -> dict:
        return {name: evaluate.evaluate(await evaluate.predict(engine, rows)) for name, rows in sets.items()}

    reports = asyncio.run(score())
    if len(reports) == 1:
        (report,) = reports.values()
        click.echo(evaluate.format_json(report) if as_json else evaluate.format_report(report))
    elif as_json:
        click.echo(evaluate.format_json(reports))
    else:
        parts = [evaluate.format_comparison(reports)]
        parts += [f"== {name} ==\n{evaluate.format_report(report)}" for name, report in reports.items()]
        click.echo("\n\n".join(parts))


def _open_stats():
    """The statistics database for the moderators' commands: an existing file only, or a one-line error (with a
    line for each running bot's statistics writer that has something to say about it)."""
    from bot.settings import stats_db
    from bot.stats import Stats, StatsLocationError, status

    try:
        return Stats(create=False)
    except StatsLocationError as error:
        raise click.ClickException("\n".join([str(error), *status.lines(stats_db())])) from None


@main.group(invoke_without_command=True)
@click.option(
    "--measure",
    type=click.Choice(["concerns", "platforms", "outcomes", "failures", "failures_by_concern", "failures_by_turn"]),
    default="concerns",
    show_default=True,
    help="Which table: failures shows where answers failed (by concern; failures_by_turn by turn).",
)
@click.option(
    "--period",
    type=click.Choice(["week", "month", "quarter", "launch"]),
    default="week",
    show_default=True,
    help="Rows per week, month or quarter (of ISO weeks), or since launch.",
)
@click.option("--chart", "chart", type=click.Path(dir_okay=False), help="Also draw the trend to this PNG.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="Also write the table to this CSV file.")
@click.option(
    "--include-current-week",
    is_flag=True,
    help="Weekly table only: add the running week (weaker: repeated runs can be compared day by day).",
)
@click.pass_context
def stats(ctx: click.Context, measure: str, period: str, chart: str, csv_file: str, include_current_week: bool) -> None:
    """Counts for moderators per period, with small-number protection (see docs/privacy.md)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot import stats as statistics
    from bot.stats import status

    if include_current_week and period != "week":
        raise click.BadParameter("only with --period week", param_hint="--include-current-week")
    with _open_stats() as db:
        try:
            table = statistics.release(db, measure, period, include_current_week=include_current_week)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--period") from None
    click.echo(statistics.format_table(table))
    if csv_file:
        statistics.write_csv(table, csv_file)
    if chart:
        try:
            statistics.draw_chart(table, chart)
        except statistics.NoData as error:
            raise click.ClickException(f"{error} No chart written.") from None
        click.echo(f"chart written to {chart}")
    # Added after everything else, so tools reading the lines above see them unchanged.
    for line in status.lines(db.path):
        click.echo(line)


@stats.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
def stats_export(file: str) -> None:
    """Write FILE.db holding only the released (protected) tables, for `signpost dashboard`."""
    from bot import stats as statistics

    with _open_stats() as db:
        click.echo(f"released tables written to {statistics.export(db, file)}")


@main.command()
@click.option(
    "--db",
    "db_file",
    type=click.Path(exists=True, dir_okay=False),
    help="An export from `signpost stats export` (default: export the current statistics now).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Anything but 127.0.0.1 needs SIGNPOST_DASHBOARD_PASSWORD_HASH (docs/dashboard.md).",
)
@click.option("--port", default=8001, show_default=True, type=int)
def dashboard(db_file: str, host: str, port: int) -> None:
    """Serve the released statistics read-only with Datasette: a dashboard page, no SQL of one's own."""
    from bot.stats import StatsLocationError
    from bot.stats.dashboard import DashboardError, serve

    try:
        serve(db_file, host=host, port=port)
    except (StatsLocationError, DashboardError) as error:
        raise click.ClickException(str(error)) from None


@main.command("dashboard-password")
@click.password_option(prompt="Moderator's password")
def dashboard_password(password: str) -> None:
    """Print the hash of a moderators' password, for SIGNPOST_DASHBOARD_PASSWORD_HASH (docs/dashboard.md)."""
    from datasette_auth_passwords.utils import hash_password

    click.echo(hash_password(password))


@main.command()
@model_option
@click.option("--webhook-url", metavar="URL", help="Receive updates on this public HTTPS URL instead of polling.")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Webhook: address to listen on.")
@click.option("--port", default=8443, show_default=True, help="Webhook: port to listen on.")
@click.option("--api-url", metavar="URL", help="A local Bot API server, e.g. http://127.0.0.1:8081/bot.")
def telegram(webhook_url: str, listen: str, port: int, api_url: str) -> None:
    """Run the bot on Telegram (token in TELEGRAM_BOT_TOKEN); stops cleanly on Ctrl-C or SIGTERM."""
    if Path(sys.argv[0]).name == "signpost":  # the command itself, not main() called by other code (tests)
        from bot.privacy import restart_scrubbing

        restart_scrubbing()
    from bot.channels.telegram import main as run_telegram

    sys.exit(run_telegram(webhook_url=webhook_url, listen=listen, port=port, api_url=api_url))
