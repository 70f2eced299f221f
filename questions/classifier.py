"""The trained part of question detection: character n-grams and a few rule hits, weighed by
linear models (logistic regression, trained by ``questions.training`` with scikit-learn).

Inference is plain Python over a JSON file (a weight per feature and head), so the bot needs no
scikit-learn at run time, a model trained with one scikit-learn version loads under any other,
and the features the model was trained on are computed by this very function
(:func:`features`). The built-in model ships as package data (``questions/data/model.json``);
a deployment's retrained model is stored in its database (``linli questions retrain``).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from linli.questions.settings import (
    DEFAULT_END_PARTICLES,
    DEFAULT_INTERROGATIVES,
    DEFAULT_PROBLEM_KEYWORDS,
    DEFAULT_URGENT_KEYWORDS,
)

MODEL_VERSION = 1
NGRAMS = (1, 2, 3)
HEADS = ("question", "urgent")
_DIGITS = re.compile(r"\d+")
_LATIN_WORD = re.compile(r"[a-z]+")
# Cues of an emergency by what happens, whatever the words around them: the model weighs them
# (a list of whole phrases cannot hold every way to say "the child is gone").
_CUES: dict[str, tuple[str, ...]] = {
    "hurt": ("摔倒", "跌倒", "晕倒", "昏迷", "叫不醒", "起不来", "流血", "见血", "出血", "受伤",
             "咬了", "呼救", "跳楼", "要跳", "不省人事", "fell", "bleeding", "unconscious",
             "can't get up", "collapsed", "bitten", "hurt"),
    "missing": ("不见了", "找不到了", "找不着", "寻不着", "走丢", "丢了孩子", "missing", "lost"),
    "trapped": ("被困", "困在", "卡住", "关在里面", "出不来", "stuck", "trapped"),
    "fire": ("冒烟", "烟", "火", "焦糊", "烧", "火花", "煤气味", "燃气味", "smoke", "burning",
             "fire", "sparks", "gas"),
    "crime": ("撬", "砸门", "砸", "拿刀", "持刀", "打起来", "打人", "抢", "拉车门", "跟着",
              "prying", "trying car doors", "knife", "fight", "smashing", "following"),
    "money_gone": ("转了", "转给", "转到", "打钱", "汇了", "验证码给", "安全账户", "钱没了",
                   "transferred", "sent money", "wired"),
    "water": ("爆了", "哗哗", "进水", "淹", "burst", "flooding"),
    "falling": ("掉下来", "砸到", "往下掉", "断了", "falling"),
    "now": ("刚才", "刚刚", "现在", "正在", "还在", "这会儿", "快来", "快", "赶紧", "马上",
            "right now", "just", "now", "quick", "help"),
}
_NOTICE = ("转发", "转:", "转：", "【", "通知", "温馨提示", "提醒", "@所有人", "fyi", "reminder",
           "接上级")


def _clean(text: str) -> str:
    # Numbers vary (3栋, 12幢, 两万): one symbol for any run of digits; white space collapsed.
    return " ".join(_DIGITS.sub("0", text.casefold()).split())


def features(text: str) -> dict[str, float]:
    """The feature vector of one (already reply-stripped) message: L2-normalised counts of
    character 1-3-grams (with start and end marks) and Latin words, plus rule hits."""
    t = _clean(text)
    padded = f"^{t}$"
    counts: Counter[str] = Counter()
    for n in NGRAMS:
        for i in range(len(padded) - n + 1):
            gram = padded[i:i + n]
            if gram.strip():
                counts["c:" + gram] += 1
    for word in _LATIN_WORD.findall(t):
        counts["w:" + word] += 1
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    out = {k: v / norm for k, v in counts.items()}
    stripped = t.rstrip(" ~～。.!！…😭🙏")
    hits = {
        "r:interrogative": any(w in t for w in DEFAULT_INTERROGATIVES),
        "r:question_mark": stripped.endswith(("?", "？")),
        "r:end_particle": stripped.rstrip("?？").endswith(
            tuple(p.rstrip("?？") for p in DEFAULT_END_PARTICLES)),
        "r:problem_word": any(w in t for w in DEFAULT_PROBLEM_KEYWORDS),
        "r:urgent_word": any(w in t for w in DEFAULT_URGENT_KEYWORDS),
        "r:notice": t.startswith(_NOTICE),
        "r:short": len(t) <= 6,
    }
    for cue, words in _CUES.items():
        hits["u:" + cue] = any(w in t for w in words)
    out.update({k: 1.0 for k, v in hits.items() if v})
    return out


@dataclass(frozen=True)
class Head:
    """One linear model: P(label) = sigmoid(bias + sum of weight * feature)."""

    bias: float
    weights: dict[str, float] = field(repr=False)
    threshold: float = 0.5

    def probability(self, feats: dict[str, float]) -> float:
        z = self.bias + sum(self.weights.get(k, 0.0) * v for k, v in feats.items())
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Scores:
    question: float
    urgent: float
    is_question: bool
    is_urgent: bool


@dataclass(frozen=True)
class Classifier:
    """A loaded model: a question head and an urgent head with their thresholds."""

    question: Head
    urgent: Head
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def scores(self, text: str) -> Scores:
        feats = features(text)
        pq = self.question.probability(feats)
        pu = self.urgent.probability(feats)
        is_question = pq >= self.question.threshold
        # Urgent only what is also a report for staff: the urgent head alone, tuned for recall,
        # would ring for "快来吗，就等你了".
        return Scores(pq, pu, is_question, is_question and pu >= self.urgent.threshold)

    def to_json(self) -> str:
        return json.dumps({
            "version": MODEL_VERSION,
            "info": self.info,
            "heads": {
                name: {"bias": h.bias, "threshold": h.threshold, "weights": h.weights}
                for name, h in (("question", self.question), ("urgent", self.urgent))
            },
        }, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Classifier:
        """Parse a model file; ValueError if it is not one this code can use."""
        try:
            data = json.loads(text)
            if data.get("version") != MODEL_VERSION:
                raise ValueError(f"model version {data.get('version')!r} is not {MODEL_VERSION}")
            heads = {
                name: Head(float(h["bias"]), {str(k): float(v) for k, v in h["weights"].items()},
                           float(h["threshold"]))
                for name, h in data["heads"].items()
            }
            return cls(heads["question"], heads["urgent"], dict(data.get("info") or {}))
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a question model: {exc}") from None


@lru_cache(maxsize=1)
def builtin() -> Classifier | None:
    """The model shipped in the package, or None if the package was built without one."""
    try:
        text = resources.files("linli.questions").joinpath("data/model.json").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return None
    return Classifier.from_json(text)


def corpus_text() -> str:
    """The shipped labelled corpus (JSON lines), for training and the benchmark."""
    return resources.files("linli.questions").joinpath("data/corpus.jsonl").read_text("utf-8")
