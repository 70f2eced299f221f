"""Is a resident's message a question (or a problem report) that staff should answer?

Pure functions over text and settings. The rules, in order:

1. an urgent keyword (fire, gas leak, fraud in progress) makes it an urgent question;
2. a message made only of chatter (greetings, thanks, laughter, emoji, rhetorical "是吗") is not;
3. a mention of a staff member makes it a question;
4. an interrogative: a Chinese question word or set phrase anywhere, a final particle (吗, 呢)
   ending a clause, or an English clause opening with a question word or auxiliary;
5. a final ? or ？;
6. a problem keyword (噪音, 被偷, noise, stolen ...).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from community.model import Role
from questions.settings import QuestionSettings

_SPLIT = re.compile(r"[，,。.!！?？;；~～\n…、:：]+")
_WORD = re.compile(r"[a-z0-9']+")
_LAUGHTER = re.compile(r"^(?:[哈呵嘿嘻]+|(?:ha)+h?|(?:he)+|(?:hi){2,}|lol+|lmao|xd+|233+|666+)$")
_TRAILING_SOFT = "啊呀啦哈哦嘛噢喔~～ "
_QUESTION_MARKS = ("?", "？")


@dataclass(frozen=True)
class Detection:
    """The verdict with its reason (for tests and the log; never the text itself)."""

    is_question: bool
    reason: str | None = None
    urgent: bool = False


NOT_A_QUESTION = Detection(False)


def strip_reply_fallback(text: str) -> str:
    """Drop the ``> <@user> quoted`` lines a Matrix reply body may start with."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and not lines[i].strip():
        i += 1
    return "\n".join(lines[i:]) if i else text


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "S" or ch in "\ufe0f\u200d\u20e3"


def _without_symbols(text: str) -> str:
    return "".join(ch for ch in text if not _is_symbol(ch))


def normalise(text: str) -> str:
    """Case-folded, reply fallback removed, white space collapsed."""
    return " ".join(strip_reply_fallback(text).casefold().split())


@lru_cache(maxsize=4096)
def _pattern(keyword: str) -> re.Pattern[str] | None:
    # Latin keywords match at a word start ("bark" finds "barks", "lift" not "uplifting");
    # Chinese has no spaces, so its keywords match anywhere.
    if keyword.isascii():
        return re.compile(r"(?<![a-z0-9])" + re.escape(keyword))
    return None


def contains(text: str, keyword: str) -> bool:
    pattern = _pattern(keyword)
    if pattern is None:
        return keyword in text
    return pattern.search(text) is not None


def contains_any(text: str, keywords: tuple[str, ...]) -> bool:
    return any(contains(text, k) for k in keywords)


def _segments(text: str) -> list[str]:
    out = []
    for part in _SPLIT.split(text):
        seg = _without_symbols(part).strip().rstrip(_TRAILING_SOFT).strip()
        if seg:
            out.append(seg)
    return out


def _is_chatter(segment: str, s: QuestionSettings) -> bool:
    if segment in s.lowered("non_questions") or _LAUGHTER.match(segment.replace(" ", "")):
        return True
    return any(segment.startswith(p) for p in s.lowered("chatter_prefixes"))


def _asks(segment: str, s: QuestionSettings) -> bool:
    if contains_any(segment, s.lowered("interrogatives")):
        return True
    words = _WORD.findall(segment)
    if words and segment[0].isascii() and words[0] in s.lowered("question_openers"):
        return True
    for particle in s.lowered("end_particles"):
        if segment.endswith(particle.rstrip("?？")):
            if particle == "呢" and any(
                m in segment[:-1] for m in s.lowered("declarative_ne_markers")
            ):
                continue
            return True
    return False


def detect(text: str, settings: QuestionSettings, *, mentions_staff: bool = False) -> Detection:
    """Decide whether ``text`` asks staff something; ``mentions_staff`` comes from the edge."""
    s = settings
    t = normalise(text)
    if not _without_symbols(t).strip():
        return NOT_A_QUESTION
    if contains_any(t, s.lowered("urgent_keywords")):
        return Detection(True, "urgent", urgent=True)
    content = [seg for seg in _segments(t) if not _is_chatter(seg, s)]
    if not content:
        return NOT_A_QUESTION
    if mentions_staff:
        return Detection(True, "mention")
    if any(_asks(seg, s) for seg in content):
        return Detection(True, "interrogative")
    if _without_symbols(t).rstrip().endswith(_QUESTION_MARKS):
        return Detection(True, "question_mark")
    if contains_any(t, s.lowered("problem_keywords")):
        return Detection(True, "problem")
    return NOT_A_QUESTION


def topic_of(text: str, settings: QuestionSettings) -> str:
    """The configured topic with most keyword hits; ties go to the one listed first."""
    t = normalise(text)
    best, best_hits = "other", 0
    for topic in settings.topics:
        hits = sum(1 for k in topic.keywords if contains(t, k.casefold()))
        if hits > best_hits:
            best, best_hits = topic.name, hits
    return best


def route(topic: str, settings: QuestionSettings) -> tuple[Role, ...]:
    """The staff roles that should answer a topic (unknown topics go where "other" goes)."""
    by_name = {t.name: t for t in settings.topics}
    chosen = by_name.get(topic) or by_name["other"]
    return chosen.roles
