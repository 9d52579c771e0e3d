"""Helpers shared by several test modules."""

from collections import deque
from types import MappingProxyType


def strings_in(root):
    """Every string reachable from `root` through containers and object attributes (the store's whole memory)."""
    seen, found, stack = set(), [], [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (int, float, bool)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (str, bytes)):
            found.append(obj if isinstance(obj, str) else obj.decode("utf-8", "replace"))
        elif isinstance(obj, (dict, MappingProxyType)):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") or hasattr(obj, "__slots__"):
            if hasattr(obj, "__dict__"):
                stack.append(vars(obj))
            stack.extend(getattr(obj, name, None) for name in _slot_names(type(obj)))
    return found


def _slot_names(cls):
    """The attribute names of every __slots__ entry of a class and its bases (private names mangled)."""
    for klass in cls.__mro__:
        slots = vars(klass).get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot in ("__dict__", "__weakref__"):
                continue
            if slot.startswith("__") and not slot.endswith("__"):
                slot = f"_{klass.__name__.lstrip('_')}{slot}"
            yield slot


class InProcessEngine:
    """The test session's engine, in this process, with the engine process's steps: the reply, then the counting
    step (`Engine.count`), and "count this" (`count(**counts)`) written to `stats`."""

    def __init__(self, engine, stats=None):
        from bot.engine import Engine

        self.engine = Engine(engine.agent, stats) if stats is not None else engine
        self.stats = stats
        self.tracker_store = self.engine.tracker_store

    async def reply(self, conversation_id, text):
        reply = await self.engine.reply(conversation_id, text)
        await self.engine.count(conversation_id)
        return reply

    async def forget(self, conversation_id):
        await self.engine.forget(conversation_id)

    async def count(self, **counts):
        if self.stats is not None:
            self.stats.record(**counts)


def predicted(text, intent, confidence=0.9):
    """A Rasa message as the model left it: `intent` predicted with `confidence` (the safety net's input)."""
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}], add_to_output=True)
    return message
