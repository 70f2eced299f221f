"""Question detection on the held-back quarter of the corpus (questions/data/corpus.jsonl,
templates the shipped model never saw): precision and recall per kind of message, urgent
recall, rules alone against rules with the model. Prints one line per kind."""

from __future__ import annotations

import time
from collections import defaultdict

from linli.questions.classifier import builtin, corpus_text
from linli.questions.detect import detect
from linli.questions.settings import QuestionSettings
from linli.questions.training import Example, read_corpus


def share(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "  - "


def measure(rows: list[Example], label: str, use_model: bool) -> None:
    s = QuestionSettings()
    model = builtin() if use_model else None
    # per kind: true pos, false pos, false neg, urgent found, urgent missed, false urgent
    c: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    started = time.perf_counter()
    for r in rows:
        d = detect(r.text, s, mentions_staff=r.mention, model=model)
        for k in (r.kind, "ALL"):
            x = c[k]
            x[0] += d.is_question and r.question
            x[1] += d.is_question and not r.question
            x[2] += (not d.is_question) and r.question
            x[3] += bool(r.urgent and d.urgent)
            x[4] += bool(r.urgent and not d.urgent)
            x[5] += bool(d.urgent and not r.urgent)
    per_msg = (time.perf_counter() - started) / len(rows) * 1e6
    print(f"-- {label}: {len(rows)} held-back messages, {per_msg:.0f} µs per message")
    print(f"   {'kind':<11} {'n':>4} {'Q':>4} {'flagged':>7}  precision recall  "
          "false alarms   urgent recall  false urgent")
    for kind in sorted(c, key=lambda k: (k == "ALL", k)):
        tp, fp, fn, utp, ufn, ufp = c[kind]
        n = sum(1 for r in rows if r.kind == kind) if kind != "ALL" else len(rows)
        negatives = n - tp - fn
        print(f"   {kind:<11} {n:>4} {tp + fn:>4} {tp + fp:>7}  {share(tp, tp + fp):>9} "
              f"{share(tp, tp + fn):>6}  {fp:>4}/{negatives:<4} {share(fp, negatives):>4}"
              f"   {utp:>3}/{utp + ufn:<3} {share(utp, utp + ufn):>5}  {ufp:>4}")


def main() -> None:
    rows = [e for e in read_corpus(corpus_text()) if e.split == "heldout"]
    measure(rows, "rules alone", use_model=False)
    measure(rows, "rules and the shipped model", use_model=True)


if __name__ == "__main__":
    main()
