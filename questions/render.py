"""Turning questions and figures into the texts people read, through message keys only."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timedelta

from linli.common.i18n import Translator, format_local_time, humanize_duration
from linli.community.model import Compound, Directory, Role
from linli.questions.detect import route
from linli.questions.model import FlagLevel, Question, QuestionState
from linli.questions.settings import QuestionSettings
from linli.questions.stats import DetectionFigures, Figures

TEXT_LIMIT = 500
LIST_TEXT_LIMIT = 80


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Renderer:
    def __init__(self, translator: Translator) -> None:
        self.t = translator

    def _r(self, locale: str, key: str, **params: object) -> str:
        return self.t.render(locale, key, **params)

    def duration(self, delta: timedelta, locale: str) -> str:
        return humanize_duration(delta, locale)

    def topic(self, topic: str, locale: str) -> str:
        key = f"question.topic.{topic}"
        return self._r(locale, key) if self.t.has(key) else topic

    def roles(self, roles: Iterable[Role], locale: str) -> str:
        sep = self._r(locale, "question.separator")
        return sep.join(self._r(locale, f"question.role.{r.value}") for r in roles)

    def staff_name(self, user_id: str, directory: Directory) -> str:
        for grant in directory.grants:
            if grant.user_id == user_id and grant.display_name:
                return grant.display_name
        return user_id

    def responders(
        self, q: Question, compound: Compound | None, directory: Directory,
        s: QuestionSettings, locale: str,
    ) -> str:
        roles = route(q.topic, s)
        label = self.roles(roles, locale)
        if compound is None:
            return label
        people = sorted({
            self.staff_name(g.user_id, directory)
            for g in directory.staff_of_compound(compound) if g.role in roles
        })[:3]
        if not people:
            return label
        return self._r(
            locale, "question.responders", roles=label,
            people=self._r(locale, "question.separator").join(people),
        )

    def flat(self, q: Question, locale: str) -> str:
        return q.asker_flat or self._r(locale, "question.flat_unknown")

    def card(
        self, q: Question, header: str, compound: Compound | None, directory: Directory,
        s: QuestionSettings, locale: str,
    ) -> str:
        tz = compound.timezone if compound else "UTC"
        replies = ""
        if q.resident_replies and q.last_resident_reply:
            replies = self._r(
                locale, "question.replies", count=q.resident_replies,
                reply=_clip(q.last_resident_reply, 120),
            )
        text = (
            _clip(q.text, TEXT_LIMIT) if q.text
            else self._r(locale, "question.text_withdrawn")
        )
        first, newline, rest = header.partition("\n")
        return self._r(
            locale, "question.card",
            header=first + self.reason(q, locale) + newline + rest,
            compound=compound.name if compound else str(q.compound_id),
            flat=self.flat(q, locale),
            topic=self.topic(q.topic, locale),
            responders=self.responders(q, compound, directory, s, locale),
            asked_at=format_local_time(q.asked_at, tz, locale),
            text=text,
            link=q.link,
            replies=replies,
        )

    def flag_header(
        self, q: Question, level: FlagLevel, now: datetime, s: QuestionSettings, locale: str
    ) -> str:
        waited = self.duration(now - q.asked_at, locale)
        if level is FlagLevel.ESCALATION:
            return self._r(locale, "question.header.escalation", waited=waited)
        hint = self._r(locale, "question.feedback_hint")
        if q.urgent:
            return self._r(locale, "question.header.urgent", waited=waited) + hint
        if q.reason == "officer":
            return self._r(locale, "question.header.flagged_by_staff", waited=waited)
        return self._r(
            locale, "question.header.flag", deadline=self.duration(s.deadline, locale),
            waited=waited,
        ) + hint

    def closed_header(self, q: Question, directory: Directory, locale: str) -> str:
        after = self.duration((q.closed_at or q.asked_at) - q.asked_at, locale)
        if q.state is QuestionState.ANSWERED:
            answerer = self.staff_name(q.answered_by or "?", directory)
            return self._r(locale, "question.header.answered", answerer=answerer, after=after)
        if q.state is QuestionState.WITHDRAWN:
            return self._r(locale, "question.header.withdrawn")
        if q.state is QuestionState.DISMISSED:
            who = self.staff_name(q.answered_by or "?", directory)
            return self._r(locale, "question.header.dismissed", who=who)
        return self._r(locale, "question.header.expired", after=after)

    def reason(self, q: Question, locale: str) -> str:
        """Why the bot took the message as a question, in a few words ("" if unknown)."""
        if not q.reason or not self.t.has(f"question.reason.{q.reason}"):
            return ""
        why = self._r(locale, f"question.reason.{q.reason}")
        return self._r(locale, "question.reason", why=why)

    def open_list(
        self, questions: list[Question], total: int, directory: Directory, now: datetime,
        locale: str,
    ) -> str:
        if not questions:
            return self._r(locale, "question.list.empty")
        lines = [self._r(locale, "question.list.header", count=total)]
        for n, q in enumerate(questions, start=1):
            compound = directory.compounds.get(q.compound_id)
            lines.append(self._r(
                locale, "question.list.line",
                n=n,
                compound=compound.name if compound else str(q.compound_id),
                flat=self.flat(q, locale),
                topic=self.topic(q.topic, locale),
                waited=self.duration(now - q.asked_at, locale),
                overdue=self._r(locale, "question.list.overdue") if q.due_at <= now else "",
                text=_clip(q.text, LIST_TEXT_LIMIT),
                link=q.link,
            ))
        if total > len(questions):
            lines.append(self._r(locale, "question.list.more", count=total - len(questions)))
        return "\n".join(lines)

    # ---- statistics ----------
    def _share(self, value: float | None, locale: str) -> str:
        return self._r(locale, "question.stats.na") if value is None else f"{value:.0%}"

    def _time(self, value: timedelta | None, locale: str) -> str:
        if value is None:
            return self._r(locale, "question.stats.na")
        return self.duration(value, locale)

    def figures_line(self, name: str, f: Figures, locale: str) -> str:
        return self._r(
            locale, "question.stats.line", name=name, asked=f.asked, answered=f.answered,
            answered_share=self._share(f.answered_share, locale),
            median=self._time(f.median, locale), p90=self._time(f.p90, locale),
            within_share=self._share(f.within_share, locale),
            good_share=self._share(f.good_share, locale),
        )

    def staff_line(self, name: str, f: Figures, locale: str) -> str:
        return self._r(
            locale, "question.stats.staff_line", name=name, answered=f.answered,
            median=self._time(f.median, locale), p90=self._time(f.p90, locale),
            within_share=self._share(f.within_share, locale),
            good_share=self._share(f.good_share, locale),
        )

    def stats(
        self,
        *,
        header: str,
        total: Figures,
        per_compound: Mapping[str, Figures],
        per_staff: Mapping[str, Figures],
        per_week: Mapping[Hashable, Figures] | None,
        locale: str,
    ) -> str:
        lines = [header]
        if total.asked == 0 and not per_week:
            lines.append(self._r(locale, "question.stats.none"))
            return "\n".join(lines)
        for name in sorted(per_compound):
            lines.append(self.figures_line(name, per_compound[name], locale))
        if len(per_compound) != 1:
            lines.append(self.figures_line(self._r(locale, "question.stats.total"), total, locale))
        if per_staff:
            lines.append(self._r(locale, "question.stats.staff_header"))
            for name in sorted(per_staff):
                lines.append(self.staff_line(name, per_staff[name], locale))
        if per_week:
            lines.append(self._r(locale, "question.stats.weeks_header"))
            for week in sorted(per_week, key=str):
                lines.append(self.figures_line(str(week), per_week[week], locale))
        return "\n".join(lines)

    def detection(self, by_week: Mapping[str, DetectionFigures], locale: str) -> str:
        lines = [self._r(locale, "question.stats.detection_header")]
        for week in sorted(by_week):
            f = by_week[week]
            lines.append(self._r(
                locale, "question.stats.detection_line", week=week, detected=f.detected,
                false_alarms=f.false_alarms, misses=f.misses,
                precision=self._share(f.precision, locale), recall=self._share(f.recall, locale),
            ))
        return "\n".join(lines)
