"""The safety net (moved here from bot/safety.py; split into modules in the next commit)."""

from bot.safety.rules import *  # noqa: F401,F403
from bot.safety.rules import _blank_nlp, _known, _rewrite  # noqa: F401
