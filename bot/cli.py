"""`signpost ...`: the command line. Each command only wires modules together."""

import asyncio
import sys

import click

from bot.privacy import configure_logging


@click.group()
def main() -> None:
    """Signpost: a helper for young people facing online sexual pressure, grooming or sextortion."""
    configure_logging()


@main.command()
@click.option("--force", is_flag=True, help="Train even if a model for the current data exists.")
def train(force: bool) -> None:
    """Train the Rasa model if the training data or config changed."""
    from bot.training import train as train_model

    click.echo(f"model: {train_model(force=force)}")


@main.command()
def chat() -> None:
    """Talk to Signpost in the terminal (reads lines until the end of input when piped)."""
    from bot.chat import run_chat
    from bot.engine import Engine
    from bot.settings import stats_db
    from bot.stats import Stats

    engine = Engine.load(stats=Stats(stats_db()))
    asyncio.run(run_chat(engine, sys.stdin, sys.stdout, prompt=sys.stdin.isatty()))


@main.command()
def classify() -> None:
    """Read {"text": ...} JSON lines on stdin; write one JSON line per message (NLU only)."""
    from bot.classify import classify_lines
    from bot.engine import Engine

    engine = Engine.load()

    async def run() -> None:
        async for line in classify_lines(engine, sys.stdin):
            click.echo(line)

    asyncio.run(run())
