"""Messages about bulletins, notices and their delivery (zh-CN and en)."""

USAGE_ADD_ZH = (
    "用法：!bulletin add 对象 时间 [until 日期] [tz 时区] [series] | 标题 | 正文\n"
    "对象：all、station:派出所简称，或小区简称（多个用逗号分隔）\n"
    "时间：once 2026-12-01T09:00、cron \"0 9 * * 1\" 或 every 7d [from 2026-03-09T09:00]\n"
    "series：正文中用 || 分隔多条提示，每次发送一条，轮流发送"
)
USAGE_ADD_EN = (
    "Usage: !bulletin add TARGET SCHEDULE [until DATE] [tz ZONE] [series] | TITLE | BODY\n"
    "TARGET: all, station:SLUG, or compound slugs separated by commas\n"
    "SCHEDULE: once 2026-12-01T09:00, cron \"0 9 * * 1\" or every 7d [from 2026-03-09T09:00]\n"
    "series: tips in BODY separated by ||, one posted per occurrence in turn"
)

MESSAGES: dict[str, dict[str, str]] = {
    # --- errors -----------------------------------------------------------------------------
    "broadcasts.error.usage_add": {"zh-CN": USAGE_ADD_ZH, "en": USAGE_ADD_EN},
    "broadcasts.error.usage_notice": {
        "zh-CN": "用法：!notice 对象 通知内容（对象：all、station:派出所简称或小区简称）",
        "en": "Usage: !notice TARGET TEXT (TARGET: all, station:SLUG or compound slugs)",
    },
    "broadcasts.error.bad_schedule_kind": {
        "zh-CN": "“{value}”不是有效的时间类型，请用 once、cron 或 every。",
        "en": "“{value}” is not a schedule type; use once, cron or every.",
    },
    "broadcasts.error.unexpected_word": {
        "zh-CN": "看不懂“{value}”：时间后面只能跟 until 日期、tz 时区或 series。",
        "en": "Unexpected “{value}”: after the schedule only until DATE, tz ZONE or series "
              "may follow.",
    },
    "broadcasts.error.bad_target": {
        "zh-CN": "“{value}”不是有效的发送对象：请写 all、station:派出所简称，或小区简称。",
        "en": "“{value}” is not a target: write all, station:SLUG, or compound slugs.",
    },
    "broadcasts.error.bad_time": {
        "zh-CN": "“{value}”不是有效的时间，请写成 2026-12-01T09:00 或 2026-12-01 09:00。",
        "en": "“{value}” is not a valid time; write it like 2026-12-01T09:00 or 2026-12-01 09:00.",
    },
    "broadcasts.error.unknown_timezone": {
        "zh-CN": "未知时区“{value}”，请用 Asia/Shanghai 这样的名称。",
        "en": "Unknown time zone “{value}”; use a name like Asia/Shanghai.",
    },
    "broadcasts.error.once_in_past": {
        "zh-CN": "时间 {when} 已经过去，请选一个将来的时间。",
        "en": "{when} is in the past; choose a time in the future.",
    },
    "broadcasts.error.end_in_past": {
        "zh-CN": "结束时间 {end} 已经过去。",
        "en": "The end date {end} is in the past.",
    },
    "broadcasts.error.end_before_start": {
        "zh-CN": "结束时间 {end} 早于开始时间 {start}。",
        "en": "The end {end} is before the start {start}.",
    },
    "broadcasts.error.interval_not_positive": {
        "zh-CN": "间隔“{value}”必须大于零，例如 7d 或 12h。",
        "en": "The interval “{value}” must be greater than zero, like 7d or 12h.",
    },
    "broadcasts.error.interval_too_short": {
        "zh-CN": "间隔“{value}”太短：至少 1 分钟。",
        "en": "The interval “{value}” is too short: at least 1 minute.",
    },
    "broadcasts.error.cron_fields": {
        "zh-CN": "cron 表达式“{value}”应有 5 个字段（分 时 日 月 星期），现在有 {count} 个。",
        "en": "The cron expression “{value}” needs 5 fields (minute hour day month weekday); "
              "it has {count}.",
    },
    "broadcasts.error.cron_field": {
        "zh-CN": "cron 表达式“{value}”的第 {position} 个字段“{part}”无效：取值范围 {low}–{high}"
                 "（字段依次为 分 时 日 月 星期）。",
        "en": "In the cron expression “{value}”, field {position} (“{part}”) is invalid: values "
              "run from {low} to {high} (fields: minute hour day month weekday).",
    },
    "broadcasts.error.cron_day_and_weekday": {
        "zh-CN": "cron 表达式“{value}”同时限定了日期和星期，请只限定其中一个。",
        "en": "The cron expression “{value}” restricts both the day of month and the weekday; "
              "restrict only one of them.",
    },
    "broadcasts.error.cron_invalid": {
        "zh-CN": "无法使用 cron 表达式“{value}”。",
        "en": "The cron expression “{value}” cannot be used.",
    },
    "broadcasts.error.never_fires": {
        "zh-CN": "这个时间安排在结束前一次也不会发送，请检查时间和结束日期。",
        "en": "This schedule never fires before its end; check the times and the end date.",
    },
    "broadcasts.error.unknown_placeholder": {
        "zh-CN": "未知的占位符 {name}，可用的有：{known}",
        "en": "Unknown placeholder {name}; available: {known}",
    },
    "broadcasts.error.series_needs_tips": {
        "zh-CN": "系列公告需要至少两条提示，用 || 分隔，且每条都不能为空。",
        "en": "A series needs at least two tips separated by ||, none of them empty.",
    },
    "broadcasts.error.series_length": {
        "zh-CN": "译文必须有同样多的提示（{count} 条，用 || 分隔）。",
        "en": "The translation must have the same number of tips ({count}, separated by ||).",
    },
    "broadcasts.error.bad_locale": {
        "zh-CN": "“{value}”不是支持的语言，请用 zh-CN 或 en。",
        "en": "“{value}” is not a supported language; use zh-CN or en.",
    },
    "broadcasts.error.too_long": {
        "zh-CN": "内容太长（正文最多 {limit} 个字符，标题最多 200 个）。",
        "en": "Too long (at most {limit} characters of text, 200 of title).",
    },
    "broadcasts.error.no_rooms": {
        "zh-CN": "这个对象下还没有小区群。",
        "en": "The target has no compound rooms yet.",
    },
    "broadcasts.error.no_bulletin": {
        "zh-CN": "没有编号为 {id} 的公告。",
        "en": "No bulletin number {id}.",
    },
    "broadcasts.error.not_allowed": {
        "zh-CN": "只有本所民警和管理员可以向这些小区发公告；向全部小区发送需要区级管理员。",
        "en": "Only the station's officers and admins may send bulletins to these compounds; "
              "all compounds needs a district admin.",
    },
    "broadcasts.error.bad_number": {
        "zh-CN": "“{value}”不是公告编号。",
        "en": "“{value}” is not a bulletin number.",
    },
    # --- targets, schedules, states -----------------------------------------------------------
    "broadcasts.target.all": {"zh-CN": "全部小区", "en": "all compounds"},
    "broadcasts.target.station": {
        "zh-CN": "{station}辖区全部小区",
        "en": "all compounds of {station}",
    },
    "broadcasts.target.compounds": {"zh-CN": "{compounds}", "en": "{compounds}"},
    "broadcasts.schedule.once": {
        "zh-CN": "一次，{when}（{tz}）",
        "en": "once, {when} ({tz})",
    },
    "broadcasts.schedule.cron": {
        "zh-CN": "cron “{expr}”（{tz}）{until}",
        "en": "cron “{expr}” ({tz}){until}",
    },
    "broadcasts.schedule.every": {
        "zh-CN": "每 {every}，从 {start} 起（{tz}）{until}",
        "en": "every {every} from {start} ({tz}){until}",
    },
    "broadcasts.schedule.until": {"zh-CN": "，至 {end}", "en": ", until {end}"},
    "broadcasts.schedule.now": {"zh-CN": "立即", "en": "at once"},
    "broadcasts.status.active": {"zh-CN": "进行中", "en": "active"},
    "broadcasts.status.paused": {"zh-CN": "已暂停", "en": "paused"},
    "broadcasts.status.finished": {"zh-CN": "已结束", "en": "finished"},
    "broadcasts.status.deleted": {"zh-CN": "已删除", "en": "deleted"},
    "broadcasts.officer_on_duty": {"zh-CN": "值班民警", "en": "the officer on duty"},
    # --- command replies ------------------------------------------------------------------------
    "broadcasts.added": {
        "zh-CN": "已创建公告 #{id}「{title}」，发送对象：{target}，下次发送：{next}。",
        "en": "Bulletin #{id} “{title}” created for {target}; next post: {next}.",
    },
    "broadcasts.list.empty": {"zh-CN": "还没有公告。", "en": "No bulletins yet."},
    "broadcasts.list.header": {"zh-CN": "公告（{count} 条）：", "en": "Bulletins ({count}):"},
    "broadcasts.list.item": {
        "zh-CN": "#{id}「{title}」 {status} · {schedule} · 下次：{next}",
        "en": "#{id} “{title}” {status} · {schedule} · next: {next}",
    },
    "broadcasts.show": {
        "zh-CN": "公告 #{id}「{title}」（{status}）\n对象：{target}\n时间：{schedule}\n"
                 "下次发送：{next}\n已发送 {sent} 次 · 创建人 {author}",
        "en": "Bulletin #{id} “{title}” ({status})\nTarget: {target}\nSchedule: {schedule}\n"
              "Next post: {next}\nPosted {sent} times · created by {author}",
    },
    "broadcasts.show.series": {
        "zh-CN": "系列公告：共 {count} 条提示，下次发送第 {index} 条。",
        "en": "Series of {count} tips; tip {index} is next.",
    },
    "broadcasts.show.translations": {
        "zh-CN": "其他语言版本：{locales}",
        "en": "Other language versions: {locales}",
    },
    "broadcasts.show.body": {"zh-CN": "正文：\n{body}", "en": "Text:\n{body}"},
    "broadcasts.preview": {
        "zh-CN": "公告 #{id} 在「{compound}」群里将显示为：",
        "en": "Bulletin #{id} as the room of {compound} will see it:",
    },
    "broadcasts.paused": {"zh-CN": "公告 #{id} 已暂停。", "en": "Bulletin #{id} paused."},
    "broadcasts.resumed": {
        "zh-CN": "公告 #{id} 已恢复，下次发送：{next}。",
        "en": "Bulletin #{id} resumed; next post: {next}.",
    },
    "broadcasts.resumed_finished": {
        "zh-CN": "公告 #{id} 已恢复，但以后没有发送时间，不会再发送。",
        "en": "Bulletin #{id} resumed, but it has no time left to post: it will not be posted.",
    },
    "broadcasts.resumed_once_past": {
        "zh-CN": "公告 #{id} 已恢复，但它只发一次，发送时间 {at} 已过，不会再发送。",
        "en": "Bulletin #{id} resumed, but it posts only once and its time, {at}, has passed: "
              "it will not be posted.",
    },
    "broadcasts.resumed_ended": {
        "zh-CN": "公告 #{id} 已恢复，但它的结束时间 {end} 已过，不会再发送。",
        "en": "Bulletin #{id} resumed, but its end date, {end}, has passed: it will not be "
              "posted.",
    },
    "broadcasts.deleted": {"zh-CN": "公告 #{id} 已删除。", "en": "Bulletin #{id} deleted."},
    "broadcasts.translated": {
        "zh-CN": "公告 #{id} 已添加 {language} 版本。",
        "en": "Bulletin #{id} now has a {language} version.",
    },
    # --- chat commands ---------------------------------------------------------------------
    "broadcasts.help.bulletin": {
        "zh-CN": "安全公告：add（新建）、list、show N、preview N、pause N、resume N、delete N、"
                 "translate N；不带参数可看用法",
        "en": "safety bulletins: add, list, show N, preview N, pause N, resume N, delete N, "
              "translate N; without arguments for usage",
    },
    "broadcasts.help.notice": {
        "zh-CN": "立即向对象（all、station:派出所简称或小区简称）的所有群发送紧急通知；"
                 "正文以 @room 开头可提醒全体成员",
        "en": "post an urgent notice at once to every room of TARGET (all, station:SLUG or "
              "compound slugs); start TEXT with @room to notify everyone",
    },
    "broadcasts.usage": {
        "zh-CN": "用法：\n"
                 "{prefix}bulletin add 对象 时间 [until 日期] [tz 时区] [series] | 标题 | 正文\n"
                 "{prefix}bulletin list\n"
                 "{prefix}bulletin show N · preview N [小区简称] · pause N · resume N · "
                 "delete N\n"
                 "{prefix}bulletin translate N 语言 | 标题 | 正文\n"
                 "时间：once 2026-12-01T09:00、cron \"0 9 * * 1\" 或 every 7d；"
                 "正文可用 {{compound}} {{station}} {{officer}} {{date}}",
        "en": "Usage:\n"
              "{prefix}bulletin add TARGET SCHEDULE [until DATE] [tz ZONE] [series] | TITLE | "
              "BODY\n"
              "{prefix}bulletin list\n"
              "{prefix}bulletin show N · preview N [SLUG] · pause N · resume N · delete N\n"
              "{prefix}bulletin translate N LOCALE | TITLE | BODY\n"
              "SCHEDULE: once 2026-12-01T09:00, cron \"0 9 * * 1\" or every 7d; BODY may use "
              "{{compound}} {{station}} {{officer}} {{date}}",
    },
    "broadcasts.notice.sending": {
        "zh-CN": "🚨 正在向 {count} 个群发送紧急通知，发完后报告送达情况。",
        "en": "🚨 Sending the urgent notice to {count} rooms; a delivery report follows.",
    },
    # --- notices and reports --------------------------------------------------------------------
    "broadcasts.notice.title": {"zh-CN": "【紧急通知】", "en": "[Urgent notice]"},
    "broadcasts.report": {
        "zh-CN": "📢 公告 #{id}「{title}」（{when}）：按时送达 {delivered} 个群，迟发 {late} 个，"
                 "失败 {failed} 个{failures}{coalesced}",
        "en": "📢 Bulletin #{id} “{title}” ({when}): {delivered} rooms on time, {late} late, "
              "{failed} failed{failures}{coalesced}",
    },
    "broadcasts.report.notice": {
        "zh-CN": "🚨 紧急通知 #{id}：送达 {delivered} 个群，迟发 {late} 个，失败 {failed} 个"
                 "{failures}{coalesced}",
        "en": "🚨 Urgent notice #{id}: {delivered} rooms reached, {late} late, {failed} failed"
              "{failures}{coalesced}",
    },
    "broadcasts.report.failures": {"zh-CN": "（{rooms}）", "en": " ({rooms})"},
    "broadcasts.report.coalesced": {
        "zh-CN": "；停机期间错过的 {count} 次已合并为这一次",
        "en": "; {count} earlier occurrences missed while down were folded into this one",
    },
    "broadcasts.report.skipped": {
        "zh-CN": "⏭ 公告 #{id}「{title}」（{when}）错过发送时间已超过补发时限 {window}，"
                 "本次跳过。",
        "en": "⏭ Bulletin #{id} “{title}” ({when}) was missed by more than the catch-up window "
              "of {window}; skipped.",
    },
}
