"""The pipe between the Telegram process and the engine process: one JSON line per call, one per answer.

The Telegram process writes each call as one line to the engine process's stdin without waiting, so the engine
always has the next turn queued, and matches the answers (one line each, in the same order) to the callers by
number. Message text crosses only this pipe, in memory; neither side keeps it.

    request:  [number, "reply", conversation_id, text]   answer: [number, reply_as_dict]
              [number, "forget", conversation_id]          answer: [number, null]
              [number, "count", {"outcomes": [...]}]       no answer ("count this": quick exits, deleted pictures)
              [number, "health"]                           answer: [number, {"statistics": ..., ...}]

Before any answer the engine process writes READY once, when its model is loaded.
"""

import json
import os
from typing import Any, Iterator

READY = "ready"
MAX_LINE = 1 << 20  # one answer is a few kB; Telegram caps a message at 4,096 characters


def encode(message: Any) -> bytes:
    """One call or answer as its line."""
    return json.dumps(message).encode() + b"\n"


def read_lines(fd: int) -> Iterator[bytes]:
    """The lines arriving on `fd`, until it closes (each let go of as soon as it is handed on)."""
    pending = b""
    while True:
        line, found, rest = pending.partition(b"\n")
        if found:
            pending = rest
            del rest
            yield line
            del line
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        pending += chunk
        del chunk
