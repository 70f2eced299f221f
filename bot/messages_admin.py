"""Messages of the admin tools: ``linli report``, the dashboard and the tables they share.

Table headers are keyed ``table.<table>.<column>``; the same column reads the same in every
table, so the labels are written once below and listed per table.
"""

from __future__ import annotations

_COLUMNS: dict[str, dict[str, str]] = {
    "slug": {"zh-CN": "简称", "en": "Slug"},
    "compound": {"zh-CN": "小区", "en": "Compound"},
    "station": {"zh-CN": "派出所", "en": "Station"},
    "building": {"zh-CN": "楼栋", "en": "Building"},
    "unit": {"zh-CN": "单元", "en": "Unit"},
    "flat": {"zh-CN": "房号", "en": "Flat"},
    "flats": {"zh-CN": "房号", "en": "Flats"},
    "count": {"zh-CN": "户数", "en": "Households"},
    "households": {"zh-CN": "登记户数", "en": "Households"},
    "households_enrolled": {"zh-CN": "已入群户数", "en": "Enrolled"},
    "coverage_percent": {"zh-CN": "覆盖率 %", "en": "Coverage %"},
    "verified_members": {"zh-CN": "已验证成员", "en": "Verified"},
    "pending_members": {"zh-CN": "待验证", "en": "Pending"},
    "locked_members": {"zh-CN": "已锁定", "en": "Locked"},
    "waiting_members": {"zh-CN": "待验证（含锁定）", "en": "Waiting (incl. locked)"},
    "over_cap_households": {"zh-CN": "超出上限户数", "en": "Over cap"},
    "user_id": {"zh-CN": "Matrix 账号", "en": "Matrix account"},
    "state": {"zh-CN": "状态", "en": "State"},
    "deadline": {"zh-CN": "验证期限", "en": "Deadline"},
    "locked_until": {"zh-CN": "锁定至", "en": "Locked until"},
    "adopted": {"zh-CN": "原有成员", "en": "Adopted"},
    "day": {"zh-CN": "日期", "en": "Day"},
    "people": {"zh-CN": "登记人员", "en": "Registered people"},
    "has_code": {"zh-CN": "已发联系卡", "en": "Card issued"},
    "topic": {"zh-CN": "类别", "en": "Topic"},
    "urgent": {"zh-CN": "紧急", "en": "Urgent"},
    "asked_at": {"zh-CN": "提问时间", "en": "Asked"},
    "waiting": {"zh-CN": "已等待", "en": "Waiting"},
    "due_at": {"zh-CN": "答复期限", "en": "Due"},
    "flagged": {"zh-CN": "已提醒", "en": "Flagged"},
    "link": {"zh-CN": "消息", "en": "Message"},
    "staff": {"zh-CN": "工作人员", "en": "Staff"},
    "week": {"zh-CN": "周", "en": "Week"},
    "asked": {"zh-CN": "提问数", "en": "Asked"},
    "answered": {"zh-CN": "已答复", "en": "Answered"},
    "answered_percent": {"zh-CN": "答复率 %", "en": "Answered %"},
    "median": {"zh-CN": "首次答复中位数", "en": "Median first response"},
    "p90": {"zh-CN": "90% 答复用时", "en": "90th percentile"},
    "within_deadline_percent": {"zh-CN": "按时答复率 %", "en": "Within deadline %"},
    "good_percent": {"zh-CN": "好评率 %", "en": "Rated good %"},
    "at": {"zh-CN": "时间", "en": "Time"},
    "actor": {"zh-CN": "操作者", "en": "Actor"},
    "action": {"zh-CN": "操作", "en": "Action"},
    "target": {"zh-CN": "对象", "en": "Target"},
    "details": {"zh-CN": "详情", "en": "Details"},
}

_QFIG = ("asked", "answered", "answered_percent", "median", "p90", "within_deadline_percent",
         "good_percent")
_FIGURES = ("households", "households_enrolled", "coverage_percent", "verified_members",
            "pending_members", "locked_members", "over_cap_households")

_TABLES: dict[str, tuple[str, ...]] = {
    "compounds": ("slug", "compound", "station", *_FIGURES),
    "buildings": ("compound", "building", "households", "households_enrolled",
                  "coverage_percent", "verified_members", "over_cap_households"),
    "unenrolled": ("compound", "building", "unit", "count", "flats"),
    "pending": ("compound", "user_id", "state", "deadline", "locked_until", "adopted"),
    "snapshots": ("day", "households", "households_enrolled", "coverage_percent",
                  "verified_members", "waiting_members"),
    "visits": ("building", "unit", "flat", "people", "has_code"),
    "qopen": ("compound", "topic", "urgent", "asked_at", "waiting", "due_at", "flagged", "link"),
    "qcompounds": ("compound", *_QFIG),
    "qstaff": ("staff", *_QFIG),
    "qweeks": ("week", *_QFIG),
    "audit": ("at", "actor", "action", "target", "compound", "details"),
}

MESSAGES: dict[str, dict[str, str]] = {
    f"table.{table}.{column}": _COLUMNS[column]
    for table, columns in _TABLES.items()
    for column in columns
}

MESSAGES.update({
    # cell words ------------------------------------------------------------------------------
    "table.yes": {"zh-CN": "是", "en": "yes"},
    "table.no": {"zh-CN": "否", "en": "no"},
    "table.state.pending": {"zh-CN": "待验证", "en": "pending"},
    "table.state.locked": {"zh-CN": "已锁定", "en": "locked"},
    "table.flag.flag": {"zh-CN": "已提醒民警", "en": "flagged"},
    "table.flag.escalation": {"zh-CN": "已升级", "en": "escalated"},
    # linli report enrolment ------------------------------------------------------------------
    "report.enrolment.title": {
        "zh-CN": "入群情况（{count} 个小区，{at}）",
        "en": "Enrolment report: compounds {count}, as of {at}",
    },
    "report.enrolment.total": {
        "zh-CN": "合计：{households} 户中 {enrolled} 户已有成员验证入群（覆盖率 {coverage}%）",
        "en": "In all: {enrolled} of {households} households have a verified member "
              "({coverage}% coverage)",
    },
    "report.enrolment.compound": {
        "zh-CN": "== {name}（{slug}）：{households} 户中 {enrolled} 户已入群（{coverage}%）；"
                 "已验证 {verified} 人，待验证 {pending} 人，锁定 {locked} 人，"
                 "超出上限 {over_cap} 户",
        "en": "== {name} ({slug}): {enrolled} of {households} households enrolled "
              "({coverage}%); {verified} verified, {pending} pending, {locked} locked, "
              "{over_cap} households over the cap",
    },
    "report.enrolment.buildings": {"zh-CN": "-- 各楼栋", "en": "-- Per building"},
    "report.enrolment.no_households": {
        "zh-CN": "（尚未导入住户登记）",
        "en": "(no households registered yet)",
    },
    "report.enrolment.pending": {
        "zh-CN": "-- 等待验证的账号：{count}",
        "en": "-- Accounts waiting to verify: {count}",
    },
    "report.enrolment.unenrolled": {
        "zh-CN": "-- 尚无人入群的住户（上门走访用）：{count} 户",
        "en": "-- Households with nobody enrolled (for door-to-door visits): {count}",
    },
    # dashboard: frame --------------------------------------------------------------------------
    "dash.title": {"zh-CN": "邻里 管理面板", "en": "Linli dashboard"},
    "dash.nav.overview": {"zh-CN": "概览", "en": "Overview"},
    "dash.nav.questions": {"zh-CN": "群众提问", "en": "Questions"},
    "dash.nav.audit": {"zh-CN": "审计日志", "en": "Audit log"},
    "dash.nav.logout": {"zh-CN": "退出登录", "en": "Log out"},
    "dash.lang.switch": {"zh-CN": "English", "en": "中文"},
    "dash.who": {"zh-CN": "{label}（{kind}，{scope}）", "en": "{label} ({kind}, {scope})"},
    "dash.kind.admin": {"zh-CN": "管理员", "en": "admin"},
    "dash.kind.officer": {"zh-CN": "民警", "en": "officer"},
    "dash.scope.district": {"zh-CN": "全区", "en": "whole district"},
    "dash.scope.station": {"zh-CN": "{station}", "en": "{station}"},
    "dash.csv": {"zh-CN": "导出 CSV", "en": "Export CSV"},
    "dash.as_of": {
        "zh-CN": "数据更新于 {at}（概览数据每 {every} 刷新一次；点开小区可看实时数据）。",
        "en": "Figures as of {at} (the overview refreshes every {every}; open a compound for "
              "live figures).",
    },
    "dash.open_message": {"zh-CN": "打开消息", "en": "open message"},
    # login ---------------------------------------------------------------------------------------
    "dash.login.title": {"zh-CN": "登录", "en": "Log in"},
    "dash.login.token": {"zh-CN": "访问令牌", "en": "Access token"},
    "dash.login.submit": {"zh-CN": "登录", "en": "Log in"},
    "dash.login.hint": {
        "zh-CN": "令牌由管理员用 linli tokens create 创建。请勿把令牌发给他人或放进网址。",
        "en": "Tokens are created by an admin with linli tokens create. Never share a token "
              "or put it in a web address.",
    },
    # overview ------------------------------------------------------------------------------------
    "dash.overview.title": {"zh-CN": "入群覆盖率概览", "en": "Enrolment overview"},
    "dash.overview.summary": {
        "zh-CN": "{compounds} 个小区，{households} 户中 {enrolled} 户已有成员验证入群，"
                 "覆盖率 {coverage}%",
        "en": "{compounds} compounds: {enrolled} of {households} households have a verified "
              "member, {coverage}% coverage",
    },
    "dash.overview.none": {"zh-CN": "没有可查看的小区。", "en": "No compounds to show."},
    # compound ------------------------------------------------------------------------------------
    "dash.compound.title": {"zh-CN": "{name}（{station}）", "en": "{name} ({station})"},
    "dash.compound.summary": {
        "zh-CN": "{households} 户中 {enrolled} 户已有成员验证入群，覆盖率 {coverage}%",
        "en": "{enrolled} of {households} households have a verified member, "
              "{coverage}% coverage",
    },
    "dash.compound.members": {
        "zh-CN": "已验证成员 {verified} 人；待验证 {pending} 人；锁定 {locked} 人；"
                 "超出每户上限 {over_cap} 户",
        "en": "{verified} verified members; {pending} pending; {locked} locked; "
              "{over_cap} households over the cap",
    },
    "dash.compound.buildings": {"zh-CN": "各楼栋", "en": "Buildings"},
    "dash.compound.no_households": {
        "zh-CN": "尚未导入住户登记。",
        "en": "No households registered yet.",
    },
    "dash.compound.unenrolled": {
        "zh-CN": "尚无人入群的住户（{count} 户，按楼栋、单元）",
        "en": "Households with nobody enrolled ({count}, by building and unit)",
    },
    "dash.compound.all_enrolled": {
        "zh-CN": "每户都已有成员入群。",
        "en": "Every household has an enrolled member.",
    },
    "dash.compound.pending": {
        "zh-CN": "等待验证的账号（{count}）",
        "en": "Accounts waiting to verify ({count})",
    },
    "dash.compound.no_pending": {"zh-CN": "没有等待验证的账号。", "en": "Nobody is waiting."},
    "dash.compound.history": {"zh-CN": "覆盖率变化（每日）", "en": "Coverage over time (daily)"},
    "dash.compound.no_history": {
        "zh-CN": "还没有每日记录。",
        "en": "No daily snapshots yet.",
    },
    # visit sheet ---------------------------------------------------------------------------------
    "dash.visits.link": {
        "zh-CN": "上门走访单（含登记人员姓名）",
        "en": "Visit sheet (with registered people's names)",
    },
    "dash.visits.title": {"zh-CN": "{name} 上门走访单", "en": "{name}: visit sheet"},
    "dash.visits.note": {
        "zh-CN": "仅供民警上门走访使用：列出尚无人入群的住户及其登记人员姓名，不含电话。"
                 "本次查看已记入审计日志。",
        "en": "For officers' door-to-door visits only: households with nobody enrolled and "
              "the names of the people registered there, without phone numbers. This view "
              "is recorded in the audit log.",
    },
    "dash.person": {"zh-CN": "{name}（{role}）", "en": "{name} ({role})"},
    "dash.role.owner": {"zh-CN": "户主", "en": "owner"},
    "dash.role.tenant": {"zh-CN": "租户", "en": "tenant"},
    "dash.role.family": {"zh-CN": "家属", "en": "family"},
    # questions -----------------------------------------------------------------------------------
    "dash.questions.title": {"zh-CN": "群众提问与答复时效", "en": "Questions and response times"},
    "dash.questions.open": {
        "zh-CN": "待答复的提问（共 {count} 条，最早的在前）",
        "en": "Open questions ({count} in all, oldest first)",
    },
    "dash.questions.none_open": {"zh-CN": "没有待答复的提问。", "en": "No open questions."},
    "dash.questions.week": {
        "zh-CN": "统计周：{week}（{start} 至 {end}）",
        "en": "Week {week} ({start} to {end})",
    },
    "dash.questions.by_compound": {"zh-CN": "各小区", "en": "Per compound"},
    "dash.questions.by_staff": {"zh-CN": "各工作人员", "en": "Per staff member"},
    "dash.questions.by_week": {"zh-CN": "近 {weeks} 周", "en": "The last {weeks} weeks"},
    "dash.questions.all": {"zh-CN": "合计", "en": "All"},
    "dash.questions.none_asked": {"zh-CN": "本期没有提问。", "en": "No questions asked."},
    "dash.questions.none_answered": {
        "zh-CN": "本期没有工作人员答复。",
        "en": "No answers by staff.",
    },
    "dash.questions.definitions": {
        "zh-CN": "答复用时从提问到工作人员首次答复；按时答复率只计已答复或已过期限的提问；"
                 "撤回的提问不计。",
        "en": "Response time runs from the question to the first staff answer; the "
              "within-deadline share counts questions answered or past their deadline; "
              "withdrawn questions are left out.",
    },
    # audit ---------------------------------------------------------------------------------------
    "dash.audit.title": {"zh-CN": "审计日志", "en": "Audit log"},
    "dash.audit.none": {"zh-CN": "没有记录。", "en": "No entries."},
    # errors --------------------------------------------------------------------------------------
    "dash.status.400": {"zh-CN": "请求有误", "en": "Bad request"},
    "dash.status.401": {"zh-CN": "需要登录", "en": "Login needed"},
    "dash.status.403": {"zh-CN": "无权查看", "en": "Not allowed"},
    "dash.status.404": {"zh-CN": "找不到", "en": "Not found"},
    "dash.error.no_token": {
        "zh-CN": "需要访问令牌：请登录，或在请求头中使用 Authorization: Bearer。",
        "en": "An access token is needed: log in, or send Authorization: Bearer.",
    },
    "dash.error.no_compound": {
        "zh-CN": "没有您可查看的小区“{slug}”。",
        "en": "There is no compound “{slug}” that you may see.",
    },
    "dash.error.visits_officers_only": {
        "zh-CN": "上门走访单含住户姓名，只对民警令牌开放。",
        "en": "The visit sheet shows residents' names and is open to officer tokens only.",
    },
    "dash.error.no_endpoint": {"zh-CN": "没有这个接口。", "en": "No such endpoint."},
    "dash.error.days": {
        "zh-CN": "days 应为 1 到 3660 之间的整数。",
        "en": "days must be a whole number from 1 to 3660.",
    },
    "dash.error.limit": {
        "zh-CN": "limit 应为 1 到 {max} 之间的整数。",
        "en": "limit must be a whole number from 1 to {max}.",
    },
    "dash.error.week": {
        "zh-CN": "week 应为 ISO 周，如 2026-W10。",
        "en": "week must be an ISO week like 2026-W10.",
    },
    "dash.error.origin": {
        "zh-CN": "请求来源与本站不符，已拒绝。",
        "en": "The request came from another site and was refused.",
    },
})
