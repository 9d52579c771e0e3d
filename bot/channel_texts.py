"""The words Signpost says outside its Rasa responses (the front ends' own texts, the failure reply), from
responses/channel.yml, with their {placeholders} filled: services from responses/services.yml, durations from
bot/settings.py (read when a text is made, so the words follow the setting), and what the code gives.

No Rasa here: the Telegram process uses it too.
"""

from datetime import timedelta
from functools import lru_cache
from typing import Any, Dict, Iterator, Tuple

import yaml

from bot import settings
from bot.service_numbers import placeholders

# Largest first: a duration is said in the largest unit that divides it ("2 days", "90 minutes").
UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


@lru_cache(maxsize=1)
def load() -> Dict[str, Any]:
    """Every entry of the file by name, as written."""
    with open(settings.CHANNEL_TEXTS_FILE, encoding="utf-8") as f:
        return yaml.safe_load(f)["channel_texts"]


def in_words(span: timedelta) -> str:
    """A duration the way a young person says it: "30 minutes", "2 days", "1 hour"."""
    seconds = round(span.total_seconds())
    unit, size = next((unit, size) for unit, size in UNITS if (seconds % size == 0 and seconds >= size) or size == 1)
    count = seconds // size
    return f"{count} {unit}" + ("" if count == 1 else "s")


def values() -> Dict[str, str]:
    """The placeholders every text may use: the services, and the durations the settings hold now."""
    return {
        **placeholders(),
        "conversation_kept": in_words(settings.CONVERSATION_KEPT),
        "message_ids_kept": in_words(settings.MESSAGE_IDS_KEPT),
    }


def _entry(name: str) -> Dict[str, Any]:
    entry = load()[name]
    return {"text": entry} if isinstance(entry, str) else entry


def text(name: str, **given: Any) -> str:
    """The entry's text as shown. The code gives exactly the entry's own `values` (a missing one would show as
    "{count}", a stray one means the file and the code disagree)."""
    entry = _entry(name)
    expected = set(entry.get("values") or ())
    if set(given) != expected:
        raise TypeError(f"{name} needs the values {sorted(expected)}, was given {sorted(given)}")
    return entry["text"].format(**values(), **given)


def buttons(name: str) -> Tuple[Tuple[str, str], ...]:
    """The entry's buttons as (title, payload)."""
    return tuple((b["title"], b["payload"]) for b in _entry(name).get("buttons") or ())


def group(name: str) -> Dict[str, str]:
    """A group of short texts by name (the commands' descriptions, button titles)."""
    return dict(load()[name])


def every_text() -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Every text of the file as (name, entry) in the shape of a Rasa response variation (`text`, `buttons`,
    and `values`, the names the code fills in), unfilled: what the checks of tests/test_responses.py read."""
    for name, entry in load().items():
        if isinstance(entry, dict) and "text" not in entry:  # a group
            for key, words in entry.items():
                yield f"{name}.{key}", {"text": words}
        else:
            yield name, _entry(name)
