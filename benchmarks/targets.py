"""The two systems measured end to end: `signpost telegram` against the fake Bot API, and stock `rasa run`."""

import argparse
import asyncio
import os
import random
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Sequence

import aiohttp

from benchmarks import e2e
from benchmarks.conversations import Turn
from benchmarks.measure import children, cpu_s, free_port, now, quiet_env, rss_mb
from benchmarks.processes import BIN, child, errors_logged, until
from bot.settings import ENDPOINTS, ROOT


def _greeting(conversations: Sequence[Sequence[Turn]]) -> List[str]:
    for conversation in conversations:
        for turn in conversation:
            if turn.kind == "start":
                return turn.expected
    return []


@dataclass
class Target:
    """A started server that measured runs are played against: `signpost telegram` or stock `rasa run`."""

    out: Dict[str, Any]  # its figures; `runs` is filled in by `measure_side_by_side`
    processes: Dict[str, List[int]]  # whose CPU is counted: name -> process ids (0: this benchmark process)
    run: Callable[[int, int], Awaitable[e2e.Tally]]  # (users, round) -> what happened
    after: Callable[[Dict[str, Any]], None]  # adds what it measures after a run (memory)


@asynccontextmanager
async def telegram_target(
    args: argparse.Namespace, tmp: Path, model: Path, conversations: List[List[Turn]]
) -> AsyncIterator[Target]:
    """`signpost telegram` (long polling) against the fake Bot API server."""
    log = tmp / "telegram.log"
    # The models folder holds only the benchmark's copy of the model, so `signpost telegram` loads exactly that.
    # The fake server has no flood limit, so no throttling ahead of Telegram's (SIGNPOST_TELEGRAM_RATE=0).
    env = quiet_env(
        TELEGRAM_BOT_TOKEN=e2e.TOKEN,
        SIGNPOST_STATS_DB=str(tmp / "telegram-stats.db"),
        SIGNPOST_MODELS_DIR=str(model.parent),
        SIGNPOST_TELEGRAM_RATE="0",
    )
    out: Dict[str, Any] = {"runs": {}}
    async with e2e.TimedFake() as fake:
        started = now()
        command = [str(BIN / "signpost"), "telegram", "--api-url", fake.base_url]
        async with child(command, log, env) as process:
            ready = await until(lambda: fake.calls_to("getUpdates"), process, 600, "signpost telegram", log)
            out["start_s"] = round(ready - started, 2)
            out["rss_after_start_mb"] = rss_mb(process.pid)
            greeting = _greeting(conversations)
            extras = await e2e.learn_start_extras(fake, 1, greeting, args.turn_timeout) if greeting else []

            def play(base: int) -> Any:
                async def conversation(
                    number: int, turns: Sequence[Turn], rng: random.Random, tally: e2e.Tally
                ) -> None:
                    await e2e.telegram_conversation(
                        fake, base + number, turns, extras, args.think_range, rng, tally, args.turn_timeout
                    )

                return conversation

            await e2e.run_users(
                play(9_000_000),
                min(4, len(conversations)),
                1,
                conversations,
                args.think_range,
                args.seed,
                args.run_timeout,
            )  # warm-up, not counted
            engines = children(process.pid)
            out["engine_process_rss_after_start_mb"] = sum(rss_mb(pid) for pid in engines)

            async def run(users: int, round_: int) -> e2e.Tally:
                # Every run's chats are new to the bot: no conversation is continued from another run.
                tally = await e2e.run_users(
                    play(10_000_000 * (round_ + 1) + 10_000 * users),
                    users,
                    args.conversations_per_user,
                    conversations,
                    args.think_range,
                    args.seed,
                    args.run_timeout,
                )
                await e2e.count_extra(fake, tally, 60)
                return tally

            def after(summary: Dict[str, Any]) -> None:
                summary["bot_rss_mb"] = rss_mb(process.pid)
                summary["engine_process_rss_mb"] = sum(rss_mb(pid) for pid in engines)

            processes = {"telegram_process": [process.pid], "engine_process": engines, "load_generator": [0]}
            yield Target(out, processes, run, after)
            out["errors_logged_while_running"] = errors_logged(log)


@asynccontextmanager
async def stock_target(
    args: argparse.Namespace, tmp: Path, model: Path, conversations: List[List[Turn]]
) -> AsyncIterator[Target]:
    """Stock `rasa run` on the same model file: only --endpoints added (for the {placeholder} responses)."""
    log = tmp / "rasa-run.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    command = [
        str(BIN / "rasa"),
        "run",
        "--enable-api",
        "--connector",
        "rest",
        "-m",
        str(model),
        "--endpoints",
        str(ENDPOINTS),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    out: Dict[str, Any] = {"command": " ".join(["rasa"] + command[1:]).replace(str(ROOT) + "/", ""), "runs": {}}
    started = now()
    async with child(command, log, quiet_env()) as process:
        ready = await e2e.wait_for_rest(url, started + 600, process)
        out["start_s"] = round(ready - started, 2)
        out["rss_after_start_mb"] = rss_mb(process.pid)
        limit = max(args.user_counts) * 2 + 10
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:

            def play(prefix: str) -> Any:
                async def conversation(
                    number: int, turns: Sequence[Turn], rng: random.Random, tally: e2e.Tally
                ) -> None:
                    await e2e.rest_conversation(
                        session, url, f"{prefix}-{number}", turns, args.think_range, rng, tally, args.turn_timeout
                    )

                return conversation

            await e2e.run_users(
                play("warmup"),
                min(4, len(conversations)),
                1,
                conversations,
                args.think_range,
                args.seed,
                args.run_timeout,
            )

            async def run(users: int, round_: int) -> e2e.Tally:
                tally = await e2e.run_users(
                    play(f"run{users}-{round_}"),
                    users,
                    args.conversations_per_user,
                    conversations,
                    args.think_range,
                    args.seed,
                    args.run_timeout,
                )
                # Turns given up on at the time limit may still be queued in the server: let it finish them
                # before the other system is measured.
                await until_idle([process.pid])
                return tally

            def after(summary: Dict[str, Any]) -> None:
                summary["server_rss_mb"] = rss_mb(process.pid)

            yield Target(out, {"rasa_run": [process.pid], "load_generator": [0]}, run, after)
        out["errors_logged_while_running"] = errors_logged(log)


async def until_idle(pids: Sequence[int], limit: float = 60.0) -> None:
    """Wait (at most `limit` seconds) until these processes use under 5% of a core over half a second."""
    deadline = now() + limit
    while now() < deadline:
        before = sum(cpu_s(pid) for pid in pids)
        await asyncio.sleep(0.5)
        if sum(cpu_s(pid) for pid in pids) - before < 0.025:
            return


async def measure_side_by_side(args: argparse.Namespace, targets: Dict[str, Target]) -> None:
    """Both systems are started once, then measured in turn, `args.rounds` times for each number of people.

    The machine's speed drifts by the minute, so measuring one system and then the other, minutes apart, put that
    drift into the ratio. Alternating short runs spreads it over both.
    """
    for users in args.user_counts:
        tallies: Dict[str, List[e2e.Tally]] = {name: [] for name in targets}
        cpu: Dict[str, Dict[str, float]] = {name: {group: 0.0 for group in t.processes} for name, t in targets.items()}
        for round_ in range(args.rounds):
            for name, target in targets.items():
                before = cpu_use(target.processes)
                tally = await target.run(users, round_)
                after = cpu_use(target.processes)
                for group in target.processes:
                    cpu[name][group] += after[group] - before[group]
                tallies[name].append(tally)
        for name, target in targets.items():
            summary = target.out["runs"][str(users)] = e2e.combined(tallies[name], users)
            seconds = summary["seconds"]
            summary["cpu_cores"] = {
                group: round(used / seconds, 2) if seconds else 0.0 for group, used in cpu[name].items()
            }
            target.after(summary)


def cpu_use(processes: Dict[str, List[int]]) -> Dict[str, float]:
    """CPU seconds used so far by each named group of processes (pid 0: this benchmark process)."""
    return {name: sum(cpu_s(pid or os.getpid()) for pid in pids) for name, pids in processes.items()}
