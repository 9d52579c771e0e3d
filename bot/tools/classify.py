"""`signpost classify`: JSON lines in, one JSON line of what each message is about out (NLU only)."""

import json
from typing import AsyncIterator, Iterable

from bot.engine import Engine


async def classify_lines(engine: Engine, lines: Iterable[str]) -> AsyncIterator[str]:
    """One output line per input line, in order; a line that isn't {"text": "..."} gets an error line."""
    for line in lines:
        if not line.strip():
            continue
        try:
            text = json.loads(line)["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            yield json.dumps({"error": 'expected a JSON object like {"text": "..."}'})
            continue
        result = await engine.classify(text)
        yield json.dumps(
            {key: result[key] for key in ("concern", "intent", "confidence", "platform", "by")},
            ensure_ascii=False,
        )
