"""Texts of the questions feature: flags, escalations, edited flags, lists, statistics, digest."""

MESSAGES: dict[str, dict[str, str]] = {
    # topics and roles ------------------------------------------------------------------------
    "question.topic.household": {"zh-CN": "户籍/证件", "en": "household registration / ID"},
    "question.topic.security": {"zh-CN": "治安", "en": "public security"},
    "question.topic.fire": {"zh-CN": "消防", "en": "fire safety"},
    "question.topic.dogs": {"zh-CN": "养犬", "en": "dogs"},
    "question.topic.noise": {"zh-CN": "噪音", "en": "noise"},
    "question.topic.property": {"zh-CN": "物业", "en": "property"},
    "question.topic.fraud": {"zh-CN": "诈骗", "en": "fraud"},
    "question.topic.other": {"zh-CN": "其他", "en": "other"},
    "question.role.officer": {"zh-CN": "民警", "en": "officer"},
    "question.role.property": {"zh-CN": "物业", "en": "property manager"},
    "question.role.community": {"zh-CN": "社区", "en": "community worker"},
    "question.role.judicial": {"zh-CN": "司法", "en": "judicial staff"},
    "question.role.admin": {"zh-CN": "管理员", "en": "admin"},
    "question.role.resident": {"zh-CN": "居民", "en": "resident"},
    "question.separator": {"zh-CN": "、", "en": ", "},
    "question.flat_unknown": {"zh-CN": "未登记住户", "en": "flat unknown"},
    "question.responders": {"zh-CN": "{roles}（{people}）", "en": "{roles} ({people})"},
    "question.text_withdrawn": {"zh-CN": "（内容已撤回）", "en": "(content withdrawn)"},
    # flag cards ---------------------------------------------------------------------------------
    "question.header.flag": {
        "zh-CN": "⏰ 问题超过 {deadline} 未获回答（已等待 {waited}）",
        "en": "⏰ Question unanswered past its {deadline} deadline (waiting {waited})",
    },
    "question.header.urgent": {
        "zh-CN": "🚨 紧急：居民报告的情况需要立即处理（已等待 {waited}）",
        "en": "🚨 Urgent: a resident reports something that needs action now (waiting {waited})",
    },
    "question.header.escalation": {
        "zh-CN": "⚠️ 升级：问题已等待 {waited}，仍无工作人员回答",
        "en": "⚠️ Escalation: no staff answer after {waited}",
    },
    "question.header.answered": {
        "zh-CN": "✅ 已由 {answerer} 回答，用时 {after}",
        "en": "✅ Answered by {answerer} after {after}",
    },
    "question.header.withdrawn": {
        "zh-CN": "↩️ 提问人已撤回这条问题",
        "en": "↩️ The asker withdrew this question",
    },
    "question.header.expired": {
        "zh-CN": "⌛ {after} 内无人回答，问题已关闭",
        "en": "⌛ Closed unanswered after {after}",
    },
    "question.card": {
        "zh-CN": (
            "{header}\n小区：{compound}　住户：{flat}\n类别：{topic}　应由：{responders}\n"
            "提问时间：{asked_at}\n“{text}”\n{link}{replies}"
        ),
        "en": (
            "{header}\nCompound: {compound}   Flat: {flat}\nTopic: {topic}   For: {responders}\n"
            "Asked: {asked_at}\n“{text}”\n{link}{replies}"
        ),
    },
    "question.replies": {
        "zh-CN": "\n💬 已有 {count} 条居民回复（不算作回答），最近一条：“{reply}”",
        "en": "\n💬 {count} resident replies (not counted as answers); latest: “{reply}”",
    },
    # !questions ---------------------------------------------------------------------------------
    "question.list.header": {
        "zh-CN": "未回答的问题共 {count} 个（最早的在前）：",
        "en": "{count} open questions (oldest first):",
    },
    "question.list.line": {
        "zh-CN": "{n}. [{compound} · {flat}] {topic}，已等待 {waited}{overdue}：“{text}” {link}",
        "en": "{n}. [{compound} · {flat}] {topic}, waiting {waited}{overdue}: “{text}” {link}",
    },
    "question.list.overdue": {"zh-CN": "（已超时）", "en": " (overdue)"},
    "question.list.more": {
        "zh-CN": "……另有 {count} 个未列出。",
        "en": "… and {count} more.",
    },
    "question.list.empty": {
        "zh-CN": "目前没有未回答的问题。",
        "en": "No open questions right now.",
    },
    "question.marked_answered": {
        "zh-CN": "已将这个问题记为已回答。",
        "en": "Marked the question as answered.",
    },
    # statistics ---------------------------------------------------------------------------------
    "question.stats.header": {
        "zh-CN": "📊 {scope} {week}（{start} 至 {end}）问题回答情况",
        "en": "📊 {scope}, {week} ({start} to {end}): answers to residents' questions",
    },
    "question.stats.line": {
        "zh-CN": (
            "{name}：提问 {asked}，已答 {answered}（{answered_share}），中位 {median}，"
            "P90 {p90}，按时 {within_share}，好评 {good_share}"
        ),
        "en": (
            "{name}: asked {asked}, answered {answered} ({answered_share}), median {median}, "
            "p90 {p90}, in time {within_share}, rated good {good_share}"
        ),
    },
    "question.stats.staff_header": {"zh-CN": "按工作人员：", "en": "By staff member:"},
    "question.stats.staff_line": {
        "zh-CN": (
            "{name}：回答 {answered}，中位 {median}，P90 {p90}，按时 {within_share}，"
            "好评 {good_share}"
        ),
        "en": (
            "{name}: answered {answered}, median {median}, p90 {p90}, in time {within_share}, "
            "rated good {good_share}"
        ),
    },
    "question.stats.weeks_header": {"zh-CN": "按周：", "en": "By week:"},
    "question.stats.total": {"zh-CN": "合计", "en": "Total"},
    "question.stats.none": {
        "zh-CN": "这段时间没有居民提问。",
        "en": "No questions from residents in this period.",
    },
    "question.stats.na": {"zh-CN": "—", "en": "—"},
    "question.stats.all_stations": {"zh-CN": "全部派出所", "en": "All stations"},
    "question.digest.header": {
        "zh-CN": "📬 上周问题回答周报",
        "en": "📬 Weekly digest of residents' questions",
    },
    "question.digest.open": {
        "zh-CN": "目前仍有 {count} 个问题未回答，发送 !questions 查看。",
        "en": "{count} questions are still open; send !questions to see them.",
    },
    # chat commands ------------------------------------------------------------------------------
    "help.questions": {
        "zh-CN": "列出本所各小区未回答的居民问题（最早的在前）",
        "en": "list the station's unanswered questions from residents, oldest first",
    },
    "help.stats": {
        "zh-CN": "一周的回答情况：回答率、中位和P90用时、按时率"
                 "（例如 !stats last、!stats 2026-W10）",
        "en": "a week's answers: share answered, median and p90 time, share in time "
              "(e.g. !stats last, !stats 2026-W10)",
    },
    "help.answered": {
        "zh-CN": "回复一条居民问题（或它的提醒消息）发送，把它记为已回答",
        "en": "send as a reply to a resident's question (or its flag) to mark it answered",
    },
    # errors -------------------------------------------------------------------------------------
    "error.question_reply_needed": {
        "zh-CN": "请回复要标记的问题（或它的提醒消息）后再发送 !answered。",
        "en": "Send !answered as a reply to the question (or to its flag).",
    },
    "error.question_not_found": {
        "zh-CN": "这条消息不是一条在册的居民问题。",
        "en": "That message is not a recorded question from a resident.",
    },
    "error.question_already_closed": {
        "zh-CN": "这个问题已经关闭了。",
        "en": "That question is already closed.",
    },
    "error.question_staff_only": {
        "zh-CN": "只有本小区的工作人员可以这样做。",
        "en": "Only staff of this compound can do that.",
    },
    "error.question_not_officers_room": {
        "zh-CN": "这个命令只能在派出所的民警群里使用。",
        "en": "This command works only in a station's officers' room.",
    },
    "error.invalid_week": {
        "zh-CN": "“{value}”不是有效的周，请写成 2026-W10、W10 或 last。",
        "en": "“{value}” is not a week; write it like 2026-W10, W10 or last.",
    },
    # detection: why a flag was raised, officers' corrections, detection figures -------------
    "question.reason": {"zh-CN": "（原因：{why}）", "en": " (why: {why})"},
    "question.reason.urgent_word": {"zh-CN": "紧急词", "en": "urgent word"},
    "question.reason.sounds_urgent": {"zh-CN": "像是紧急情况", "en": "sounds urgent"},
    "question.reason.mention": {"zh-CN": "提到了工作人员", "en": "mentions staff"},
    "question.reason.question_form": {"zh-CN": "问句", "en": "question form"},
    "question.reason.asks_for_action": {"zh-CN": "请求处理", "en": "asks for action"},
    "question.reason.interrogative": {"zh-CN": "问句", "en": "question form"},
    "question.reason.question_mark": {"zh-CN": "问号", "en": "question mark"},
    "question.reason.problem": {"zh-CN": "报告问题", "en": "reports a problem"},
    "question.reason.officer": {"zh-CN": "工作人员标记", "en": "flagged by staff"},
    "question.header.flagged_by_staff": {
        "zh-CN": "📌 工作人员标记的居民问题（已等待 {waited}）",
        "en": "📌 A resident's message flagged by staff (waiting {waited})",
    },
    "question.header.dismissed": {
        "zh-CN": "❌ {who} 标记为误报（不是需要工作人员回答的问题）",
        "en": "❌ Marked as a false alarm by {who} (not a question for staff)",
    },
    "question.feedback_hint": {
        "zh-CN": "\n不是问题？对本条加 ❌ 或回复 !notquestion。",
        "en": "\nNot a question? React ❌ or reply !notquestion.",
    },
    "question.marked_not_question": {
        "zh-CN": "已记为误报并关闭，谢谢指正。",
        "en": "Recorded as a false alarm and closed. Thank you.",
    },
    "question.flagged_now": {
        "zh-CN": "已记为漏报，并已转到民警群。",
        "en": "Recorded as a missed question and flagged in the officers' room.",
    },
    "question.stats.detection_header": {
        "zh-CN": "问题识别（按工作人员的纠正计算）：",
        "en": "Question detection (as staff corrections measure it):",
    },
    "question.stats.detection_line": {
        "zh-CN": "{week}：识别 {detected} 条，误报 {false_alarms} 条，漏报 {misses} 条，"
                 "准确率 {precision}，召回率 {recall}",
        "en": "{week}: {detected} detected, {false_alarms} false alarms, {misses} misses, "
              "precision {precision}, recall {recall}",
    },
    "help.notquestion": {
        "zh-CN": "回复一条被当作问题的消息（或它的提醒消息）发送，记为误报并关闭",
        "en": "send as a reply to a message taken as a question (or its flag): a false alarm, "
              "closed",
    },
    "help.flag": {
        "zh-CN": "回复一条居民消息发送，记为漏报并立即转到民警群（加 urgent 标为紧急）",
        "en": "send as a reply to a resident's message: a missed question, flagged in the "
              "officers' room now (add urgent to mark it urgent)",
    },
    "error.notquestion_reply_needed": {
        "zh-CN": "请回复被当作问题的消息（或它的提醒消息）后再发送 !notquestion。",
        "en": "Send !notquestion as a reply to the message taken as a question (or its flag).",
    },
    "error.flag_reply_needed": {
        "zh-CN": "请回复要标记的居民消息后再发送 !flag。",
        "en": "Send !flag as a reply to the resident's message.",
    },
    "error.flag_not_found": {
        "zh-CN": "找不到这条消息，或者它不是居民发的。",
        "en": "That message cannot be found or was not sent by a resident.",
    },
    "error.flag_already_question": {
        "zh-CN": "这条消息已经记为问题了。",
        "en": "That message is already recorded as a question.",
    },
}
