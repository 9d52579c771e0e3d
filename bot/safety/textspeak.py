"""Text-speak, spelling and contractions written out, so a safety pattern is written once for plain English."""

from __future__ import annotations

import re
from typing import Tuple

from bot.safety.prefilter import needles

# Text-speak and spelling, applied in order to lower-cased text. Each entry is (regex, replacement).
_REWRITES: Tuple[Tuple[str, str], ...] = (
    # suicide and self-harm in disguise
    (r"\bsew(?:er|a)\s*-?\s*slide\b", "suicide"),
    (r"\b(?:suicde|sucide|suiside|suicid|suacide|suiscide|suiccide|suecide|sooicide)\b", "suicide"),
    (r"\b(?:sucidal|suisidal|suicdal|suicidle|suicidel|sucicidal|suidcidal|suicidial|suacidal|sucidial)\b", "suicidal"),
    (r"\bsui\b", "suicide"),
    (r"\bself\s*-?\s*harm", "self harm"),
    (r"\bkmsl\b", "killing myself laughing"),
    (r"\bkms\b", "kill myself"),
    (r"\bunaliv\w*\s+(?:my\s*self|me)\b", "kill myself"),
    (r"\b(be|being|been|was|am|is)\s+unalive\b", r"\1 dead"),
    (r"\bunaliv\w*", "kill myself"),
    (r"\bs[u*]\*?[i*]\*?[c*]\*?[i*]\*?de\b", "suicide"),
    (r"\bk[i1!*]\*?ll\b", "kill"),
    (r"\bd[1!*]e\b", "die"),
    (r"\bded\b", "dead"),
    (r"\b(?:my\s+slef|my\s+self|myslef|myslf|mysef|myseld|meself|mesel|myelf)\b", "myself"),
    (r"\b(kill|hurt|harm|cut|end|burn|hang)(?:my\s*self|myself)\b", r"\1 myself"),
    (r"\bkil\b", "kill"),
    (r"\bod(?:'d|ed|'ed)\b", "overdosed"),
    (r"\bod\b", "overdose"),
    (r"\b(?:paras)\b", "paracetamol"),
    (r"\btabs\b", "tablets"),
    (r"\bsh\b", "self harm"),
    # want to / going to
    (r"\b(?:wanna|wana|wnna|wna|wan2|want2|wnt\s*2|wnt\s+to)\b", "want to"),
    (r"\b(?:gonna|gunna|gona|gna|finna)\b", "going to"),
    (r"\b(?:tryna|trynna)\b", "trying to"),
    (r"\bgotta\b", "got to"),
    (r"\bhafta\b", "have to"),
    (r"\b(want|going|need|have|got|trying|try|about|ready|wish|used)\s*2\b", r"\1 to"),
    (
        r"\b2\s+(?=(?:die|live|be|end|kill|go|meet|do|hurt|sleep|wake|see|come|get|stop|cut|talk|tell|send|exist)\b)",
        "to ",
    ),
    # contractions, with and without the apostrophe
    (r"\bcan'?t\b|\bcannot\b|\bcnt\b|\bcarnt\b", "can not"),
    (r"\bwon'?t\b", "will not"),
    (r"\bshan'?t\b", "shall not"),
    (r"\bain'?t\b", "am not"),
    (r"\bdnt\b", "do not"),
    (
        r"\b(do|does|did|is|are|was|were|would|should|could|have|has|had|must|need|might)n'?t\b",
        r"\1 not",
    ),
    (r"\b(\w+)n't\b", r"\1 not"),
    (r"\bi'?m\b", "i am"),
    (r"\bi'?ve\b", "i have"),
    (r"\bi'll\b", "i will"),
    (r"\bi'd\b", "i would"),
    (r"\b(he|she|they|we|you|someone|somebody|it|there|that|who)'ll\b", r"\1 will"),
    (r"\b(he|she|they|we|you|someone|somebody|it|there|that|who)'d\b", r"\1 would"),
    (r"\b(they|you)'?re\b|\b(we)'re\b", r"\1\2 are"),
    (r"\b(they|we|you)'ve\b", r"\1 have"),
    (
        r"\b(he|she|it|that|there|what|who|someone|somebody|everyone|everybody|nobody|noone|this|life)'s\b",
        r"\1 is",
    ),
    (r"\b(he|she|that|there|what)s\b", r"\1 is"),
    # words
    (r"\b(?:noone|no1)\b", "no one"),
    (r"\b(?:every1|evry1|evry1)\b", "everyone"),
    (r"\b(?:some1|sum1|sumone|sum1)\b", "someone"),
    (r"\bany1\b", "anyone"),
    (r"\bppl\b", "people"),
    (r"\bu\b", "you"),
    (r"\bur\b", "your"),
    (r"\br\b", "are"),
    (r"\bn\b|\bnd\b", "and"),
    (r"\brn\b", "right now"),
    (r"\b(?:2nite|2night|tonite|tnite|tonight)\b", "tonight"),
    (r"\b(?:2moro|2morrow|tmrw|tmr|tomoz|tmoz)\b", "tomorrow"),
    (r"\b2day\b", "today"),
    (r"\bb4\b", "before"),
    (r"\b(?:bc|bcos|bcoz|bcuz|cos|coz|cuz)\b", "because"),
    (r"\babt\b", "about"),
    (r"\bwiv\b", "with"),
    (r"\b(?:pls|plz|plss|plez)\b", "please"),
    (r"\b(?:any\s+more|no\s+more|anymor|nemore|anymroe|anymore)\b", "anymore"),
    (r"\b(?:outsid|ouside|outisde|outide|outsde)\b", "outside"),
    (r"\bhse\b", "house"),
    (r"\bidk\b", "i do not know"),
    (r"\bidc\b", "i do not care"),
    (r"\bngl\b", "not going to lie"),
    (r"\btbh\b", "to be honest"),
    (r"\bfr\b", "for real"),
    (r"\bdead\s*ass\b", "seriously"),
    (r"\blyk\b", "like"),
    (r"\bwen\b", "when"),
    (
        r"\b(cutt|follow|com|wait|dy|kill|go|noth|someth|hurt|pick|forc|watch|sitt|stand|look|mak|tak|gett|liv"
        r"|feel|think|harm|tell|say)in'?(?=\s|$|[^\w'])",
        r"\1ing",
    ),
)
_REWRITES_COMPILED = tuple((re.compile(pattern), replacement) for pattern, replacement in _REWRITES)
# Each rewrite with the strings a text must contain for it to change anything (bot/safety/prefilter.py): most
# rewrites find nothing in a given message, and a substring search says so many times faster than the regex.
REWRITES = tuple((pattern, replacement, needles(pattern)) for pattern, replacement in _REWRITES_COMPILED)
