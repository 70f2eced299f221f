"""``linli stats``: response times to residents' questions (and detection as the officers'
corrections measure it) per compound, staff member and week; ``linli questions train|retrain|
try``: the question model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linli.bot.cli import CliContext, CliError, add_command


def register(sub: Any) -> None:
    q = sub.add_parser("questions", help="cli.help.questions",
                       description="cli.help.questions.about")
    actions = q.add_subparsers(dest="questions_action", metavar="ACTION")
    p_train = add_command(
        actions, "train", train_command,
        "cli.help.questions.train",
    )
    p_train.add_argument("--corpus", help="cli.help.questions.train.corpus")
    p_train.add_argument("--out", help="cli.help.questions.train.out")
    add_command(
        actions, "retrain", retrain_command,
        "cli.help.questions.retrain",
    )
    p_try = add_command(actions, "try", try_command,
                        "cli.help.questions.try")
    p_try.add_argument("text", nargs="+", help="cli.help.questions.try.text")
    p_try.add_argument("--rules", action="store_true", help="cli.help.questions.try.rules")
    p = add_command(
        sub, "stats", stats_command,
        "cli.help.stats",
    )
    p.add_argument("--week", help="cli.help.stats.week")
    p.add_argument("--station", help="cli.help.stats.station")
    p.add_argument(
        "--compound", action="append", metavar="SLUG", help="cli.help.stats.compound"
    )
    p.add_argument(
        "--weeks", type=int, default=4,
        help="cli.help.stats.weeks",
    )
    p.add_argument("--locale", help="cli.help.arg.locale")


async def stats_command(ctx: CliContext, args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI starts without the database layer (issue 13).
    from linli.common.errors import DomainError, NotFound
    from linli.common.i18n import parse_locale
    from linli.questions.stats import resolve_week

    config = ctx.config
    try:
        locale = parse_locale(args.locale).value if args.locale else ctx.locale
    except ValueError:
        locale = ctx.locale
    services = await ctx.services()
    directory = await services.load_directory()
    stations = None
    scope = ctx.translator.render(locale, "question.stats.all_stations")
    if args.station:
        station = directory.station_by_slug(args.station)
        if station is None:
            raise NotFound("error.no_station", slug=args.station)
        stations = [station]
        scope = station.name
    for slug in args.compound or ():
        compound = directory.compound_by_slug(slug)
        if compound is None:
            raise NotFound("error.no_compound", slug=slug)
    in_scope = [
        c for c in directory.compounds.values()
        if (stations is None or c.station_id == stations[0].id)
        and (not args.compound or c.slug in args.compound)
    ]
    tz = in_scope[0].timezone if in_scope else config.bot.default_timezone
    try:
        week = resolve_week(args.week, ctx.clock.now(), tz)
    except ValueError:
        raise DomainError("error.invalid_week", value=str(args.week)[:20]) from None
    service = services.questions(lambda: directory)
    text = await service.stats_text(
        directory, stations, week, locale, scope=scope,
        compound_slugs=args.compound or None, trend_weeks=max(0, args.weeks),
    )
    ctx.out(text)
    return 0


def _default_model_path() -> Path:
    from linli import questions

    return Path(questions.__file__).resolve().parent / "data" / "model.json"


async def train_command(ctx: CliContext, args: argparse.Namespace) -> int:
    ctx.out(_train_to_file(args.corpus, args.out))
    return 0


def _train_to_file(corpus: str | None, out_path: str | None) -> str:
    """Train on the corpus's train split and write the model file (blocking: a few seconds)."""
    from linli.questions.classifier import corpus_text
    from linli.questions.training import read_corpus, train

    text = Path(corpus).read_text("utf-8") if corpus else corpus_text()
    examples = [e for e in read_corpus(text) if e.split == "train"]
    if not examples:
        raise CliError("the corpus has no train lines")
    model = train(examples, info={"source": "corpus train split"})
    out = Path(out_path) if out_path else _default_model_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(model.to_json() + "\n", encoding="utf-8")
    return (f"model trained on {len(examples)} messages -> {out} "
            f"(question threshold {model.question.threshold}, "
            f"urgent threshold {model.urgent.threshold})")


async def retrain_command(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.questions.classifier import corpus_text
    from linli.questions.model import FeedbackKind
    from linli.questions.training import FEEDBACK_WEIGHT, Example, read_corpus, train
    repo = (await ctx.services()).questions_repo
    corpus = read_corpus(corpus_text())
    feedback = [f for f in await repo.all_feedback() if f.text.strip()]
    extra = [
        Example(
            text=f.text, question=f.kind is FeedbackKind.MISS,
            urgent=f.urgent if f.kind is FeedbackKind.MISS else False,
            group=f"feedback-{f.room_id}-{f.event_id}", weight=FEEDBACK_WEIGHT,
            kind="feedback",
        )
        for f in feedback
    ]
    model = train([*corpus, *extra], info={"source": "corpus and officers' corrections",
                                           "feedback": len(extra)})
    model_id = await repo.save_model(model.to_json(), len(corpus) + len(extra), len(extra),
                                     ctx.clock.now())
    misses = sum(1 for f in feedback if f.kind is FeedbackKind.MISS)
    ctx.out(f"model {model_id} retrained on {len(corpus)} corpus messages and {len(extra)} "
            f"corrections ({misses} misses, {len(extra) - misses} false alarms); the bot "
            "uses it within a minute")
    return 0


async def try_command(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.questions.classifier import builtin
    from linli.questions.detect import detect, topic_of
    from linli.questions.settings import QuestionSettings

    text = " ".join(args.text)
    settings = QuestionSettings()
    model = None if args.rules else builtin()
    verdict = detect(text, settings, model=model)
    scores = ""
    if verdict.score is not None:
        scores = f" p(question)={verdict.score:.2f} p(urgent)={verdict.urgent_score:.2f}"
    ctx.out(f"question={verdict.is_question} urgent={verdict.urgent} "
            f"reason={verdict.reason or '-'} topic={topic_of(text, settings)}{scores}")
    return 0
