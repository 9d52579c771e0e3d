"""Scale-out: two worker processes, each with its own loaded engine, share one statistics database and count exactly.

tests/test_stats.py already hammers `Stats.record` from two processes. This test goes through the worker-level
path a webhook worker uses: whole conversations through `Engine.reply`, which works out what is new in each
conversation and records it, in two processes at the same moment, on one SQLite file.
"""

import asyncio
import multiprocessing
from collections import Counter

import pytest

from bot.model_files import latest_model
from bot.stats import MEASURES, Stats

# Button payloads, so the counts don't depend on how the model reads typed words: a greeting, a concern, an app,
# small talk, a second concern, and the first concern again (counted once per conversation).
CONVERSATION = (
    "/greet",
    "/sextortion",
    '/inform_platform{"platform":"snapchat"}',
    "/thanks",
    "/self_harm",
    "/sextortion",
)
PER_WORKER = 40


def _worker(model_path, db_path, ready, start, worker):
    from bot.engine import Engine
    from bot.privacy import configure_logging

    configure_logging()
    with Stats(db_path) as stats:
        engine = Engine.load(model_path, stats=stats)
        ready.set()
        start.wait(300)

        async def talk():
            for number in range(PER_WORKER):
                for text in CONVERSATION:
                    await engine.reply(f"worker{worker}-{number}", text)
                    await engine.count(f"worker{worker}-{number}")

        asyncio.run(talk())


def _loaded(ready, worker, timeout=300.0):
    """Wait for a worker's model to load; False at once if the worker died."""
    for _ in range(int(timeout)):
        if ready.wait(1.0):
            return True
        if not worker.is_alive():
            return False
    return False


def totals(stats):
    """{(measure, key): count} over every day."""
    out = Counter()
    for measure in MEASURES:
        for counts in stats.daily(measure).values():
            for key, count in counts.items():
                out[(measure, key)] += count
    return out


@pytest.mark.slow  # two more processes, each loading Rasa and the model
async def test_two_workers_sharing_one_database_count_exactly(engine, tmp_path):
    # What one conversation counts, from the test session's engine on a database of its own.
    with Stats(tmp_path / "one.db") as alone:
        previous, engine.stats = engine.stats, alone
        try:
            for text in CONVERSATION:
                await engine.reply("reference-conversation", text)
                await engine.count("reference-conversation")
        finally:
            engine.stats = previous
        one = totals(alone)
    assert one[("concerns", "sextortion")] == 1 and one[("platforms", "snapchat")] == 1

    shared = str(tmp_path / "shared.db")
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    readies = [context.Event() for _ in range(2)]
    workers = [
        context.Process(target=_worker, args=(str(latest_model()), shared, readies[i], start, i)) for i in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        for ready, worker in zip(readies, workers):
            assert _loaded(ready, worker), f"a worker did not load the model (exit code {worker.exitcode})"
        start.set()  # both count at the same time
        for worker in workers:
            worker.join(300)
            assert worker.exitcode == 0, f"a worker failed (exit code {worker.exitcode})"
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(30)

    with Stats(shared) as stats:
        assert totals(stats) == Counter({key: 2 * PER_WORKER * count for key, count in one.items()})
