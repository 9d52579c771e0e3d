"""Every phone number and web address the bot gives, from the one reviewed list (responses/services.yml)."""

from functools import lru_cache
from typing import Dict

import yaml

from bot.settings import SERVICES_FILE


@lru_cache(maxsize=1)
def load_services() -> Dict[str, dict]:
    """Every service entry by key: value, what it is, source and the date it was checked."""
    with open(SERVICES_FILE, encoding="utf-8") as f:
        return yaml.safe_load(f)["services"]


def placeholders() -> Dict[str, str]:
    """The values responses can use as {key} placeholders."""
    return {key: str(entry["value"]) for key, entry in load_services().items()}
