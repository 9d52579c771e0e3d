"""The in-process engine benchmarks, in a fresh process: `python -m benchmarks.engine_worker CONFIG_JSON`.

In order: cold start (the parent times process start to first answer), resident memory after load, NLU-only
latency (engine.classify), full-turn latency (engine.reply) while resolving the conversation scripts (written to
`oracle_out` for the end-to-end runs), then resident memory while distinct conversations pass through.
Reports go to stdout as "BENCH {json}" lines (benchmarks/measure.py).
"""

import asyncio
import gc
import json
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Tuple

from benchmarks.conversations import (
    APP_WORDS,
    CONCERNS_WITH_APP,
    CONCERNS_WITHOUT_APP,
    LONG_MESSAGES,
    OPENERS,
    Keyboards,
    Turn,
    all_texts,
    resolve_step,
    scripts,
)
from benchmarks.measure import latency_summary, now, report, rss_mb


def _texts_of(reply: Any) -> List[str]:
    """The bot messages the Telegram front end sends: those with text (an empty one is never sent)."""
    return [m.text for m in reply.messages if m.text.strip()]


async def resolve(engine: Any, count: int, seed: int) -> Tuple[List[List[Dict[str, Any]]], List[float]]:
    """Play every script once: its concrete turns with their answers, and each engine.reply's time."""
    timings: List[float] = []
    conversations = []
    for number, steps in enumerate(scripts(count, seed)):
        conversation_id = f"oracle-{number}"
        keyboards = Keyboards()
        turns: List[Turn] = []
        for step in steps:
            for turn in resolve_step(step, keyboards):
                started = time.perf_counter()
                reply = await engine.reply(conversation_id, turn.text)
                await engine.count(conversation_id)  # the counting step, timed with the turn as before
                timings.append(time.perf_counter() - started)
                turn.expected = _texts_of(reply)
                for message in reply.messages:
                    if message.text.strip():
                        keyboards.add([(b.title, b.payload) for b in message.buttons])
                turns.append(turn)
        conversations.append([t.to_dict() for t in turns])
    return conversations, timings


async def memory_run(engine: Any, total: int, every: int, seed: int) -> List[Dict[str, Any]]:
    """`total` distinct one-message conversations; resident memory and trackers held after every `every`."""
    rng = random.Random(seed)
    openings = (
        list(OPENERS)
        + list(CONCERNS_WITHOUT_APP)
        + [t.format(app=word) for t in CONCERNS_WITH_APP for word in APP_WORDS.values()]
    )
    points = []
    started = time.perf_counter()
    for number in range(total):
        await engine.reply(f"memory-{number}", rng.choice(openings))
        if (number + 1) % every == 0 or number + 1 == total:
            gc.collect()
            points.append(
                {
                    "conversations": number + 1,
                    "rss_mb": rss_mb(),
                    "trackers_held": len(engine.tracker_store),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
    return points


async def main(config: Dict[str, Any]) -> None:
    report(event="started", at=now())
    warnings.showwarning = lambda *args, **kwargs: None
    from bot.privacy import configure_logging

    configure_logging()
    from bot.engine import Engine
    from bot.stats import Stats

    imported = now()
    stats = Stats(config["stats_db"])
    engine = Engine.load(Path(config["model"]), stats=stats)
    loaded = now()
    rss_after_load = rss_mb()
    await engine.reply("cold-start", "hi")
    report(
        event="first_answer",
        at=now(),
        imported_at=imported,
        loaded_at=loaded,
        rss_after_load_mb=rss_after_load,
        rss_after_first_answer_mb=rss_mb(),
    )

    texts = all_texts()
    classify_times = []
    for number in range(config["classify_messages"]):
        started = time.perf_counter()
        await engine.classify(texts[number % len(texts)])
        classify_times.append(time.perf_counter() - started)
    report(event="classify", latency=latency_summary(classify_times), distinct_texts=len(texts))

    long_times = []
    for number in range(max(20, config["classify_messages"] // 10)):
        started = time.perf_counter()
        await engine.classify(LONG_MESSAGES[number % len(LONG_MESSAGES)])
        long_times.append(time.perf_counter() - started)
    report(event="classify_long", latency=latency_summary(long_times), words=[len(t.split()) for t in LONG_MESSAGES])

    cache = engine.predictions  # None with SIGNPOST_SPEEDUPS=0
    hits, misses = (cache.hits, cache.misses) if cache else (0, 0)
    conversations, turn_times = await resolve(engine, config["conversations"], config["seed"])
    Path(config["oracle_out"]).write_text(json.dumps(conversations), encoding="utf-8")
    hits, misses = (cache.hits - hits, cache.misses - misses) if cache else (0, 0)
    report(
        event="full_turn",
        latency=latency_summary(turn_times),
        conversations=len(conversations),
        rss_mb=rss_mb(),
        prediction_cache={"hits": hits, "misses": misses, "hit_rate": round(hits / max(hits + misses, 1), 3)},
    )

    points = await memory_run(engine, config["memory_conversations"], config["memory_every"], config["seed"])
    report(event="memory", points=points, max_conversations=engine.tracker_store.max_conversations)
    stats.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
