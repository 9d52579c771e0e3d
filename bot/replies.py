"""What the engine answers: plain data, without Rasa, so front ends in other processes can use it.

A `Reply` crosses the pipe between the Telegram process and the engine process (bot/engine/protocol.py) as a dict.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from bot import channel_texts


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: Tuple[Button, ...] = ()


@dataclass(frozen=True)
class Reply:
    """What the bot answers to one message, and what it understood."""

    messages: Tuple[BotMessage, ...]
    concern: str
    intent: str
    confidence: float
    platform: Optional[str]
    # "model", "safety" (the safety net decided), "button" (a button payload), "engine" (nothing to read)
    # or "error" (something failed inside; the reply is Childline)
    by: str
    # A second concern found in a long message (bot/long_messages.py), offered as a button after the answer.
    also: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "messages": [
                {"text": m.text, "buttons": [{"title": b.title, "payload": b.payload} for b in m.buttons]}
                for m in self.messages
            ],
            "concern": self.concern,
            "intent": self.intent,
            "confidence": self.confidence,
            "platform": self.platform,
            "by": self.by,
            "also": self.also,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Reply":
        """The reply `to_dict` made."""
        messages = tuple(
            BotMessage(m["text"], tuple(Button(b["title"], b["payload"]) for b in m["buttons"]))
            for m in data["messages"]
        )
        fields = {key: data[key] for key in ("concern", "intent", "confidence", "platform", "by")}
        return cls(messages=messages, also=data.get("also"), **fields)


def failure_reply() -> Reply:
    """What a young person sees if something inside the bot fails: Childline, never an error."""
    text = channel_texts.text("failure")  # responses/channel.yml
    return Reply((BotMessage(text),), "out_of_scope", "nlu_fallback", 0.0, None, "error")
