"""Is a resident's message a question (or a problem report) that staff should answer?

Pure functions over text, settings and (optionally) a trained model. In order:

1. an urgent keyword (fire, gas leak, fraud in progress) makes it an urgent question;
2. a message made only of chatter (greetings, thanks, laughter, emoji, rhetorical "是吗") is not;
3. a mention of a staff member makes it a question;
4. with a model (``questions.classifier``): the model decides, and marks urgent what it finds
   urgent, the rest being what the rules below would say only as the reason given;
   without one, the rules:
5. an interrogative: a Chinese question word or set phrase anywhere, a final particle (吗, 呢)
   ending a clause, or an English clause opening with a question word or auxiliary;
6. a final ? or ？;
7. a problem keyword (噪音, 被偷, noise, stolen ...).

Rules win where they are sure (1-3): a configured urgent word is never overruled by the model,
and neither is a staff mention. The model is there for the rest: urgent reports in words no list
holds, requests without a question word, dialect, and the questions not meant for staff.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from linli.community.model import Role
from linli.questions.settings import QuestionSettings

if TYPE_CHECKING:
    from linli.questions.classifier import Classifier

_SPLIT = re.compile(r"[，,。.!！?？;；~～\n…、:：]+")
_WORD = re.compile(r"[a-z0-9']+")
_LAUGHTER = re.compile(r"^(?:[哈呵嘿嘻]+|(?:ha)+h?|(?:he)+|(?:hi){2,}|lol+|lmao|xd+|233+|666+)$")
_TRAILING_SOFT = "啊呀啦哈哦嘛噢喔~～ "
_QUESTION_MARKS = ("?", "？")


class Reason:
    """Why a message was taken as a question; the flag says it in a few words."""

    URGENT_WORD = "urgent_word"  # a word of the urgent list
    SOUNDS_URGENT = "sounds_urgent"  # the model finds it urgent
    MENTION = "mention"  # it mentions a staff member
    QUESTION_FORM = "question_form"  # the model agrees; it has a question word, 吗 or ?
    ASKS_FOR_ACTION = "asks_for_action"  # the model agrees; a report or request, no question form
    INTERROGATIVE = "interrogative"  # rules only
    QUESTION_MARK = "question_mark"  # rules only
    PROBLEM = "problem"  # rules only
    OFFICER = "officer"  # an officer's !flag


@dataclass(frozen=True)
class Detection:
    """The verdict with its reason (for tests and the log; never the text itself) and, when a
    model was asked, its probabilities."""

    is_question: bool
    reason: str | None = None
    urgent: bool = False
    score: float | None = None
    urgent_score: float | None = None


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


def detect(
    text: str, settings: QuestionSettings, *, mentions_staff: bool = False,
    model: Classifier | None = None,
) -> Detection:
    """Decide whether ``text`` asks staff something; ``mentions_staff`` comes from the edge;
    ``model`` None uses the rules alone."""
    s = settings
    t = normalise(text)
    if not _without_symbols(t).strip():
        return NOT_A_QUESTION
    if contains_any(t, s.lowered("urgent_keywords")):
        return Detection(True, Reason.URGENT_WORD, urgent=True)
    content = [seg for seg in _segments(t) if not _is_chatter(seg, s)]
    if not content:
        return NOT_A_QUESTION
    rules = _rule_reason(t, content, s)
    if model is None:
        if mentions_staff:
            return Detection(True, Reason.MENTION)
        return Detection(True, rules) if rules else NOT_A_QUESTION
    scores = model.scores(t)
    pq, pu = scores.question, scores.urgent
    if scores.is_urgent:
        return Detection(True, Reason.SOUNDS_URGENT, urgent=True, score=pq, urgent_score=pu)
    if mentions_staff:
        return Detection(True, Reason.MENTION, score=pq, urgent_score=pu)
    if not scores.is_question:
        return Detection(False, score=pq, urgent_score=pu)
    form = rules in (Reason.INTERROGATIVE, Reason.QUESTION_MARK)
    reason = Reason.QUESTION_FORM if form else Reason.ASKS_FOR_ACTION
    return Detection(True, reason, score=pq, urgent_score=pu)


def _rule_reason(t: str, content: list[str], s: QuestionSettings) -> str | None:
    if any(_asks(seg, s) for seg in content):
        return Reason.INTERROGATIVE
    if _without_symbols(t).rstrip().endswith(_QUESTION_MARKS):
        return Reason.QUESTION_MARK
    if contains_any(t, s.lowered("problem_keywords")):
        return Reason.PROBLEM
    return None


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
