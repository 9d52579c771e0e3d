"""The engine process itself: `python -m bot.engine.serve CONFIG_JSON`, started by `bot.engine.process`.

It loads the engine, says READY, then answers the calls on stdin one at a time (bot/engine/protocol.py), counting
each turn after its answer is sent: the one writer of statistics.
"""

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict

from bot.engine.protocol import READY, encode, read_lines

log = logging.getLogger("bot.engine_process")  # the name its log lines have always had


def _serve(config: Dict[str, Any]) -> None:
    """Load the engine, say ready, then answer requests from stdin until it closes."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever else prints goes to stderr, never to the answers
    sys.stdout = sys.stderr

    import warnings

    warnings.showwarning = lambda *args, **kwargs: None
    from bot.privacy import configure_logging, no_core_dumps

    no_core_dumps()
    configure_logging()
    from bot.engine import Engine
    from bot.stats.writer import StatsWriter

    # The one writer of statistics: counts in memory at once, written by a thread of their own.
    counts = StatsWriter(Path(config["stats_db"])).start() if config.get("stats_db") else None
    engine = Engine.load(Path(config["model"]), stats=counts)
    loop = asyncio.new_event_loop()

    def send(line: Any) -> None:
        answers.write(encode(line))
        answers.flush()

    send(READY)
    try:
        for line in read_lines(sys.stdin.fileno()):
            number, kind, *arguments = json.loads(line)
            del line
            if kind == "reply":
                conversation_id, text = arguments
                del arguments
                reply = loop.run_until_complete(engine.reply(conversation_id, text))
                del text
                send([number, reply.to_dict()])
                del reply
                loop.run_until_complete(engine.count(conversation_id))  # counting: after the answer is sent
            elif kind == "forget":
                loop.run_until_complete(engine.forget(arguments[0]))
                send([number, None])
            elif kind == "count":
                _count(counts, arguments[0])
            elif kind == "health":
                send([number, counts.health() if counts else {"statistics": "off"}])
    except BrokenPipeError:  # the Telegram process has gone
        pass
    finally:
        if counts is not None:
            counts.close()
        loop.close()


def _count(counts: Any, fields: Any) -> None:
    """A "count this" from the Telegram process (keys from closed lists only: anything else is refused)."""
    if counts is None:
        return
    try:
        counts.record(**fields)
    except (TypeError, ValueError) as error:
        log.error("A count from the Telegram process was refused (%s).", type(error).__name__)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
