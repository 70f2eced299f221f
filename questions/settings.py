"""What counts as a question, an answer and a deadline: configuration with sensible defaults.

Every keyword list lives here as data, so a station can tune detection from config.yaml (the
``questions:`` section) or per compound (``compound.settings["questions"]``) without code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from typing import Any

from linli.common.durations import parse_duration
from linli.common.errors import DomainError
from linli.community.model import Role

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Topic:
    """A topic: the words that reveal it and the staff roles that should answer it."""

    name: str
    keywords: tuple[str, ...]
    roles: tuple[Role, ...]


DEFAULT_TOPICS: tuple[Topic, ...] = (
    Topic(
        "household",
        (
            "户口", "户籍", "身份证", "居住证", "暂住证", "证件", "落户", "迁户", "上户", "办证",
            "护照", "港澳通行证", "通行证", "无犯罪证明", "证明", "补办", "新生儿",
            "residence permit", "hukou", "id card", "passport", "household registration",
        ),
        (Role.OFFICER,),
    ),
    Topic(
        "fraud",
        (
            "诈骗", "被骗", "骗子", "刷单", "转账", "冒充", "公检法", "验证码", "中奖", "反诈",
            "安全账户", "scam", "fraud", "phishing", "transfer money",
        ),
        (Role.OFFICER,),
    ),
    Topic(
        "security",
        (
            "小偷", "偷", "被盗", "盗窃", "撬", "可疑", "陌生人", "打架", "监控", "治安",
            "报警", "抢", "stolen", "theft", "thief", "burglar", "suspicious", "cctv",
            "break-in", "robbery",
        ),
        (Role.OFFICER,),
    ),
    Topic(
        "fire",
        (
            "消防", "着火", "起火", "失火", "火灾", "灭火器", "冒烟", "煤气", "燃气", "飞线",
            "fire", "smoke", "extinguisher", "gas",
        ),
        (Role.OFFICER, Role.PROPERTY),
    ),
    Topic(
        "dogs",
        (
            "狗", "犬", "遛狗", "狗证", "养犬", "牵绳", "拴绳", "狂犬", "dog", "leash", "bark",
        ),
        (Role.OFFICER, Role.PROPERTY),
    ),
    Topic(
        "noise",
        (
            "噪音", "吵", "扰民", "装修", "广场舞", "音响", "noise", "noisy", "loud", "music",
        ),
        (Role.PROPERTY, Role.OFFICER),
    ),
    Topic(
        "property",
        (
            "物业", "电梯", "停车", "车位", "漏水", "停水", "停电", "垃圾", "保洁", "绿化",
            "维修", "物业费", "快递", "门禁", "保安", "路灯", "水管", "暖气", "大门",
            "elevator", "lift", "parking", "leak", "rubbish", "garbage", "repair", "gate",
            "water", "heating", "property management",
        ),
        (Role.PROPERTY,),
    ),
    Topic("other", (), (Role.OFFICER, Role.COMMUNITY)),
)

DEFAULT_INTERROGATIVES: tuple[str, ...] = (
    # Chinese: question words and set phrases that ask.
    "怎么", "怎样", "如何", "为什么", "为啥", "哪里", "哪儿", "哪个", "哪些", "哪家", "哪位",
    "什么时候", "什么材料", "是什么", "有什么", "干什么", "什么意思", "什么情况", "几点",
    "几号", "几天", "多少", "多久", "多长时间", "能不能", "可不可以", "可以不", "是不是",
    "有没有", "会不会", "要不要", "行不行", "是否", "能否", "请问", "咨询", "想问", "问一下",
    "问问", "谁",
    # where/when/how asked with 哪, 啥 or 咋 and no 哪里 or question mark ("证明去哪开"),
    # and the north-western 阿么/阿门 (how) and 哪塔 (where).
    "去哪", "在哪", "到哪", "放哪", "从哪", "交哪", "上哪", "哪天", "哪塔", "啥时候", "要啥",
    "带啥", "咋", "阿么", "阿门",
    # English: phrases that ask wherever they stand.
    "is there", "are there", "does anyone", "anyone know", "any idea", "i'd like to ask",
    "i would like to ask", "i want to ask", "wondering", "please advise", "is this a",
)

DEFAULT_QUESTION_OPENERS: tuple[str, ...] = (
    "how", "what", "where", "when", "why", "who", "which", "whom", "whose", "can", "could",
    "would", "will", "is", "are", "am", "do", "does", "did", "should", "may", "shall",
    "anyone", "anybody", "has", "have",
)

DEFAULT_END_PARTICLES: tuple[str, ...] = ("吗", "呢", "么", "吧?", "吧？")

# 呢 closes statements too ("还在睡觉呢", "等着呢"): with these before it, 呢 alone does not ask.
DEFAULT_DECLARATIVE_NE_MARKERS: tuple[str, ...] = ("在", "着", "还")

DEFAULT_NON_QUESTIONS: tuple[str, ...] = (
    # Greetings, thanks, acknowledgements and rhetorical echoes, matched on whole segments.
    "吃了吗", "吃了没", "吃饭了吗", "早", "早上好", "早安", "中午好", "下午好", "晚上好", "晚安",
    "你好", "您好", "大家好", "大家早上好", "大家晚上好", "谢谢", "谢谢大家", "感谢", "多谢",
    "辛苦了", "辛苦", "收到", "好的", "好", "嗯", "嗯嗯", "哦", "哦哦", "ok", "okay", "好滴",
    "明白", "知道了", "不客气", "没事", "是吗", "真的吗", "对吗", "好吗", "是不是", "干嘛呢",
    "在吗", "在不在", "明天见", "再见", "拜拜", "周末愉快", "新年快乐", "节日快乐", "好久不见",
    "恭喜", "恭喜恭喜", "点赞", "赞", "厉害", "太好了", "好香", "马上处理",
    "thanks", "thank you", "thx", "ty", "good morning", "good night", "good evening",
    "good afternoon", "hello", "hi", "hey", "morning", "really", "sure", "noted", "ok noted",
    "got it", "lol", "nice", "cool", "great", "welcome", "bye", "see you", "happy new year",
    "how are you", "what's up", "are you there",
)

DEFAULT_CHATTER_PREFIXES: tuple[str, ...] = (
    # A segment that opens with these is chatter whatever follows ("谢谢王警官", "what a day").
    "谢谢", "感谢", "多谢", "哈哈", "呵呵", "嘻嘻", "早上好", "晚安", "恭喜", "祝",
    "thank", "thanks", "haha", "lol", "what a ", "how nice", "how lovely", "how kind",
    "how beautiful", "good morning", "good night", "happy ", "welcome", "see you",
    "can't wait", "cannot wait",
)

DEFAULT_PROBLEM_KEYWORDS: tuple[str, ...] = (
    # A report of a problem asks for help even without a question word.
    "噪音", "吵闹", "太吵", "扰民", "消防通道", "煤气", "燃气", "漏水", "停水", "停电", "被偷",
    "小偷", "被盗", "偷了", "诈骗", "被骗", "可疑", "不牵绳", "不拴绳", "狗叫",
    "狗屎", "被狗咬", "恶犬", "坏了", "堵了", "占用", "打架", "乱停",
    "noise", "loud", "stolen", "theft", "fraud", "scam", "suspicious", "barks", "barking",
    "leak", "broken", "blocked", "fire", "smoke",
)

DEFAULT_URGENT_KEYWORDS: tuple[str, ...] = (
    "着火", "起火", "失火", "火灾", "冒烟了", "煤气泄漏", "燃气泄漏", "煤气味", "燃气味",
    "正在被骗", "被骗了", "救命", "持刀", "抢劫", "入室", "有人打人",
    "on fire", "fire in", "there's a fire", "there is a fire", "gas leak", "smell gas",
    "smell of gas", "being scammed", "fraud in progress", "help!", "robbery", "break-in",
)


@dataclass(frozen=True)
class OfficeHours:
    """When staff count as on duty: a daily window on some weekdays (0 = Monday)."""

    start: time = time(8, 0)
    end: time = time(20, 0)
    workdays: frozenset[int] = frozenset(range(7))

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError("office hours must start before they end")
        if not self.workdays or not self.workdays <= frozenset(range(7)):
            raise ValueError("office hours need at least one weekday in 0..6")


@dataclass(frozen=True)
class QuestionSettings:
    """Everything the questions feature reads; the config model builds one of these."""

    enabled: bool = True
    deadline: timedelta = timedelta(minutes=30)
    escalate_after: timedelta = timedelta(hours=2)
    urgent_escalate_after: timedelta = timedelta(minutes=15)
    office_hours: OfficeHours = OfficeHours()
    mention_window: timedelta = timedelta(hours=24)
    expire_after: timedelta = timedelta(days=7)
    pending_retry: timedelta = timedelta(minutes=5)
    answer_reactions: tuple[str, ...] = ("✅",)
    dismiss_reactions: tuple[str, ...] = ("❌", "✖️")  # staff: "not a question" (false alarm)
    good_ratings: tuple[str, ...] = ("👍",)
    bad_ratings: tuple[str, ...] = ("👎",)
    digest_weekday: int = 0
    digest_time: time = time(9, 0)
    list_limit: int = 20
    topics: tuple[Topic, ...] = DEFAULT_TOPICS
    interrogatives: tuple[str, ...] = DEFAULT_INTERROGATIVES
    question_openers: tuple[str, ...] = DEFAULT_QUESTION_OPENERS
    end_particles: tuple[str, ...] = DEFAULT_END_PARTICLES
    declarative_ne_markers: tuple[str, ...] = DEFAULT_DECLARATIVE_NE_MARKERS
    non_questions: tuple[str, ...] = DEFAULT_NON_QUESTIONS
    chatter_prefixes: tuple[str, ...] = DEFAULT_CHATTER_PREFIXES
    problem_keywords: tuple[str, ...] = DEFAULT_PROBLEM_KEYWORDS
    urgent_keywords: tuple[str, ...] = DEFAULT_URGENT_KEYWORDS
    _lowered: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.escalate_after <= self.deadline:
            raise ValueError("questions.escalate_after must be longer than questions.deadline")
        if not any(t.name == "other" for t in self.topics):
            raise ValueError("questions.topics needs an 'other' topic for the rest")

    def lowered(self, name: str) -> tuple[str, ...]:
        """A keyword list in lower case, computed once per settings object."""
        if name not in self._lowered:
            self._lowered[name] = tuple(w.casefold() for w in getattr(self, name))
        value: tuple[str, ...] = self._lowered[name]
        return value

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> QuestionSettings:
        """Apply a compound's ``settings["questions"]``; a bad value is logged and ignored."""
        if not overrides:
            return self
        changes: dict[str, Any] = {}
        hours = self.office_hours
        for key, value in overrides.items():
            try:
                if key in ("deadline", "escalate_after", "urgent_escalate_after",
                           "mention_window", "expire_after"):
                    changes[key] = parse_duration(str(value))
                elif key == "enabled":
                    changes[key] = bool(value)
                elif key == "office_start":
                    hours = replace(hours, start=parse_clock(str(value)))
                elif key == "office_end":
                    hours = replace(hours, end=parse_clock(str(value)))
                elif key == "workdays":
                    hours = replace(hours, workdays=parse_workdays(value))
                else:
                    log.warning("unknown per-compound questions setting %r ignored", key)
            except (ValueError, DomainError):
                log.warning("bad per-compound questions setting %r ignored", key)
        changes["office_hours"] = hours
        try:
            return replace(self, **changes)
        except ValueError:
            log.warning("per-compound questions settings contradict each other; ignored")
            return self


def parse_clock(text: str) -> time:
    """``"08:00"`` -> time(8, 0); ``"24:00"`` is refused (use 23:59)."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day like 08:00") from None


def parse_workdays(value: Any) -> frozenset[int]:
    """``["mon", "tue"]``, ``"mon-fri"``, ``"mon,sat"`` or ``[0, 1]`` -> weekday numbers."""
    items: list[Any]
    if isinstance(value, str):
        items = [p for p in value.replace(" ", "").split(",") if p]
    else:
        items = list(value)
    days: set[int] = set()
    for item in items:
        if isinstance(item, int):
            if not 0 <= item <= 6:
                raise ValueError(f"weekday {item} is not in 0..6")
            days.add(item)
            continue
        text = str(item).strip().lower()[:3] if "-" not in str(item) else str(item).lower()
        if "-" in text:
            first, last = (WEEKDAYS.index(p.strip()[:3]) for p in text.split("-", 1))
            days.update(range(first, last + 1) if first <= last else [*range(first, 7),
                                                                        *range(0, last + 1)])
        elif text in WEEKDAYS:
            days.add(WEEKDAYS.index(text))
        else:
            raise ValueError(f"{item!r} is not a weekday like mon or sun")
    if not days:
        raise ValueError("name at least one weekday")
    return frozenset(days)
