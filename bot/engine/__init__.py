"""The engine: Rasa and the model, one message at a time (`engine.py`), and its process of its own for the Telegram
front end (`process.py` on the Telegram side, `serve.py` in the engine process, `protocol.py` the pipe between them).

Importing this package loads no Rasa: the Telegram process imports `bot.engine.process`. `Engine` is imported from
`bot.engine.engine` when first asked for (`from bot.engine import Engine`).
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from bot.engine.engine import Engine

        return Engine
    raise AttributeError(f"module 'bot.engine' has no attribute {name!r}")
