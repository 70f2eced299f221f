"""Messages of the ``linli`` command line, in the deployment's language (``bot.default_locale``
or ``--lang``). Errors are one line each; the CLI prefixes them with ``linli: ``."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    # errors of every command -----------------------------------------------------------------
    "cli.error.config": {
        "zh-CN": "配置有误：{detail}",
        "en": "config error: {detail}",
    },
    "cli.error.db_unreachable": {
        "zh-CN": "无法连接数据库（database.url）：{detail}",
        "en": "cannot reach the database (database.url): {detail}",
    },
    "cli.error.db": {"zh-CN": "数据库错误：{detail}", "en": "database error: {detail}"},
    "cli.error.usage": {
        "zh-CN": "命令有误：{detail}。用 {help} 查看用法。",
        "en": "wrong command: {detail}. See {help}.",
    },
    "cli.error.unexpected": {
        "zh-CN": "出了点问题（编号：{ref}，{kind}）；加 -v 再运行一次可看到详情。",
        "en": "something went wrong (ref: {ref}, {kind}); run again with -v for the details.",
    },
    "cli.error.timezone": {
        "zh-CN": "未知的时区“{value}”，请写成 Asia/Shanghai 这样的名称。",
        "en": "unknown time zone “{value}”; use a name like Asia/Shanghai.",
    },
    "cli.error.locale": {
        "zh-CN": "未知的语言“{value}”，请写 zh-CN 或 en。",
        "en": "unknown locale “{value}”; use zh-CN or en.",
    },
    "cli.error.login": {
        "zh-CN": "无法登录主服务器 {homeserver}：{detail}",
        "en": "cannot log in to {homeserver}: {detail}",
    },
    "cli.error.homeserver": {
        "zh-CN": "无法连接主服务器 {homeserver}（{kind}）：请检查 matrix.homeserver，"
                 "并确认服务器在运行。",
        "en": "cannot reach the homeserver {homeserver} ({kind}); check matrix.homeserver "
              "and that it is running.",
    },
    "cli.error.read": {
        "zh-CN": "无法读取 {path}：{reason}",
        "en": "cannot read {path}: {reason}",
    },
    "cli.error.write": {
        "zh-CN": "无法写入 {path}：{reason}",
        "en": "cannot write {path}: {reason}",
    },
    "cli.error.data_key": {"zh-CN": "数据密钥有误：{detail}", "en": "data key: {detail}"},
    # several processes (bot/cluster.py) --------------------------------------------------------
    "cli.error.single_process": {
        "zh-CN": "另一个 linli run 正在使用 SQLite 数据库 {database}（它持有锁文件 {lock}）；"
                 "SQLite 只能运行一个机器人进程，多个进程请用 PostgreSQL。",
        "en": "another linli run is using the SQLite database {database} (it holds the lock "
              "{lock}); SQLite runs one bot process: stop the other or use PostgreSQL for "
              "several.",
    },
    "cli.status.sqlite_running": {
        "zh-CN": "SQLite 数据库 {database}：一个机器人进程正在运行。",
        "en": "SQLite database {database}: one bot process is running.",
    },
    "cli.status.sqlite_stopped": {
        "zh-CN": "SQLite 数据库 {database}：没有机器人进程在运行。",
        "en": "SQLite database {database}: no bot process is running.",
    },
    "cli.status.none": {"zh-CN": "没有机器人进程在运行。", "en": "no bot process is running"},
    "cli.status.process": {
        "zh-CN": "{name}\t{id}\t网页端口 {port}\t{age} 秒前心跳\t{count} 个小区：{compounds}",
        "en": "{name}\t{id}\tweb port {port}\theartbeat {age} s ago\t{count} compounds: "
              "{compounds}",
    },
    "cli.status.silent": {
        "zh-CN": "{name}\t{id}\t网页端口 {port}\t已 {age} 秒无心跳（已停止？）",
        "en": "{name}\t{id}\tweb port {port}\tsilent for {age} s (stopped?)",
    },
    "cli.status.total": {
        "zh-CN": "共 {total} 个小区，{owned} 个有进程负责。",
        "en": "{owned} of {total} compounds owned by a running process",
    },
    # db, stations, staff -------------------------------------------------------------------------
    "cli.db.current": {"zh-CN": "数据库已是最新结构。", "en": "database is up to date"},
    "cli.station.created": {
        "zh-CN": "已创建派出所 {slug}；民警工作群 {room}",
        "en": "station {slug} created; officers' room {room}",
    },
    "cli.station.row": {
        "zh-CN": "{slug}\t{name}\t{lang}\t民警工作群：{room}",
        "en": "{slug}\t{name}\t{lang}\tofficers: {room}",
    },
    "cli.staff.needs_scope": {
        "zh-CN": "工作人员角色需要 --station 或 --compound（只有管理员可以都不给）。",
        "en": "staff roles need --station or --compound (only admins may have neither).",
    },
    "cli.staff.granted": {
        "zh-CN": "{user} 现在是{role}{scope}",
        "en": "{user} is now {role}{scope}",
    },
    "cli.staff.scope.station": {"zh-CN": "（派出所 {slug}）", "en": " of station {slug}"},
    "cli.staff.scope.compound": {"zh-CN": "（小区 {slug}）", "en": " of compound {slug}"},
    "cli.staff.invite_failed": {
        "zh-CN": "注意：未能邀请 {user} 进入 {room}：{detail}",
        "en": "warning: could not invite {user} to {room}: {detail}",
    },
    "cli.staff.invited": {
        "zh-CN": "已邀请进入 {count} 个房间。",
        "en": "invited to {count} room(s)",
    },
    "cli.staff.no_such_role": {
        "zh-CN": "没有这个角色可以收回。",
        "en": "no such role to remove.",
    },
    "cli.staff.removed": {"zh-CN": "已收回。", "en": "removed"},
    "cli.staff.row": {"zh-CN": "{user}\t{role}\t{scope}", "en": "{user}\t{role}\t{scope}"},
    "cli.staff.where.district": {"zh-CN": "全区", "en": "district"},
    "cli.staff.where.station": {"zh-CN": "派出所 {slug}", "en": "station {slug}"},
    "cli.staff.where.compound": {"zh-CN": "小区 {slug}", "en": "compound {slug}"},
    "cli.role.officer": {"zh-CN": "民警", "en": "officer"},
    "cli.role.property": {"zh-CN": "物业", "en": "property manager"},
    "cli.role.community": {"zh-CN": "社区工作人员", "en": "community worker"},
    "cli.role.judicial": {"zh-CN": "司法工作人员", "en": "judicial staff"},
    "cli.role.admin": {"zh-CN": "管理员", "en": "admin"},
    # compounds ---------------------------------------------------------------------------------
    "cli.compound.created": {
        "zh-CN": "已创建小区 {slug}：群 {room}{alias}",
        "en": "compound {slug} created: room {room}{alias}",
    },
    "cli.compound.reused": {
        "zh-CN": "已创建小区 {slug}：群 {room}{alias}（沿用上次中断时已建好的群）",
        "en": "compound {slug} created: room {room}{alias} (the room an interrupted run had "
              "already made)",
    },
    "cli.compound.adopted": {
        "zh-CN": "小区 {slug} 已接管房间 {room}，原有成员 {members} 人",
        "en": "compound {slug} adopted room {room} with {members} existing members",
    },
    "cli.compound.asked": {
        "zh-CN": "将通过私信请 {count} 位成员验证身份（每分钟几位）。",
        "en": "{count} members are asked to verify by direct message (a few per minute)",
    },
    "cli.compound.row": {
        "zh-CN": "{slug}\t{name}\t{station}\t{mode}\t{timezone}\t{lang}\t{room}",
        "en": "{slug}\t{name}\t{station}\t{mode}\t{timezone}\t{lang}\t{room}",
    },
    "cli.compound.updated": {"zh-CN": "小区 {slug} 已更新。", "en": "compound {slug} updated"},
    "cli.compound.setting_now": {"zh-CN": "  {setting} = {value}", "en": "  {setting} = {value}"},
    "cli.compound.nothing": {
        "zh-CN": "没有要修改的内容：请给出 --name、--timezone、--locale、--setting 或 --unset。",
        "en": "nothing to change; give --name, --timezone, --locale, --setting or --unset.",
    },
    # keys, registry, codes, cards (linli keys|households|codes|cards|enrolment) -------------
    "cli.keys.rotated": {
        "zh-CN": "已用密钥 {key_id} 重新加密 {people} 人的资料。",
        "en": "re-encrypted {people} people under key {key_id}",
    },
    "cli.keys.old_codes": {
        "zh-CN": "有 {count} 个有效的入群验证码是用旧密钥发放的：旧密钥留在 "
                 "security.previous_data_keys 中时它们仍可使用；删除旧密钥前请重新打印联系卡"
                 "（linli cards）。",
        "en": "{count} live enrolment codes were issued under an older key: they keep working "
              "while that key stays in security.previous_data_keys; re-issue cards (linli "
              "cards) before removing it",
    },
    "cli.column.building": {"zh-CN": "楼栋", "en": "building"},
    "cli.column.unit": {"zh-CN": "单元", "en": "unit"},
    "cli.column.flat": {"zh-CN": "房号", "en": "flat"},
    "cli.column.name": {"zh-CN": "姓名", "en": "name"},
    "cli.column.phone": {"zh-CN": "电话", "en": "phone"},
    "cli.column.role": {"zh-CN": "身份", "en": "role"},
    "cli.column.note": {"zh-CN": "备注", "en": "note"},
    "cli.column.slug": {"zh-CN": "简称", "en": "slug"},
    "cli.column.station": {"zh-CN": "派出所", "en": "station"},
    "cli.column.mode": {"zh-CN": "入群方式", "en": "mode"},
    "cli.column.timezone": {"zh-CN": "时区", "en": "timezone"},
    "cli.column.locale": {"zh-CN": "语言", "en": "locale"},
    "cli.import.row_column": {
        "zh-CN": "第 {row} 行，{column}：{text}",
        "en": "row {row}, column {column}: {text}",
    },
    "cli.import.row": {"zh-CN": "第 {row} 行：{text}", "en": "row {row}: {text}"},
    "cli.import.file_column": {
        "zh-CN": "文件，{column} 列：{text}",
        "en": "file, column {column}: {text}",
    },
    "cli.import.file": {"zh-CN": "文件：{text}", "en": "file: {text}"},
    "cli.import.storing": {"zh-CN": "正在保存…… {rows} 行", "en": "storing… {rows} rows"},
    "cli.import.read": {
        "zh-CN": "读取 {rows} 行（{encoding}）：{good} 行无误，{bad} 行有问题",
        "en": "{rows} rows read ({encoding}): {good} good, {bad} with problems",
    },
    "cli.import.nothing_stored": {
        "zh-CN": "未保存任何内容：请修正以上各行，或加 --partial 只保存无误的行。",
        "en": "nothing stored: fix the rows above, or use --partial to store the good rows",
    },
    "cli.import.nothing_to_store": {"zh-CN": "没有需要保存的内容。", "en": "nothing to store"},
    "cli.import.stored": {
        "zh-CN": "已保存：新增 {households} 户、{added} 人，修改 {changed} 人，"
                 "恢复 {restored} 人，未变 {unchanged} 人",
        "en": "stored: {households} households added, {added} people added, {changed} "
              "changed, {restored} restored, {unchanged} unchanged",
    },
    "cli.households.exported": {
        "zh-CN": "已将 {count} 人写入 {path}（含个人信息，请妥善保管）。",
        "en": "wrote {count} people to {path} (personal data: keep it safe)",
    },
    "cli.households.count": {
        "zh-CN": "共 {households} 户 {people} 人",
        "en": "{people} people in {households} households",
    },
    "cli.households.restored": {"zh-CN": "已恢复。", "en": "restored"},
    "cli.households.marked": {
        "zh-CN": "已标记为{status}；关联的 {accounts} 个账号失去验证，通知期过后由机器人移出群。",
        "en": "marked {status}; {accounts} linked account(s) lose verification and are "
              "removed by the bot after the notice period",
    },
    "cli.person.active": {"zh-CN": "在住", "en": "active"},
    "cli.person.moved_out": {"zh-CN": "已迁出", "en": "moved out"},
    "cli.person.removed": {"zh-CN": "已移除", "en": "removed"},
    "cli.codes.issued": {
        "zh-CN": "已发放 {count} 个验证码（只显示这一次；这些住户以前的验证码已作废）",
        "en": "{count} codes issued (shown only now; earlier codes of these households are "
              "revoked)",
    },
    "cli.codes.revoked": {"zh-CN": "已作废 {count} 个验证码。", "en": "{count} codes revoked"},
    "cli.cards.written": {
        "zh-CN": "已将 {count} 张联系卡写入 {path}；卡上的验证码是新发的（这些住户以前的验证码"
                 "已作废）。",
        "en": "wrote {count} cards to {path}; their codes are new (older codes of these "
              "households no longer work)",
    },
    "cli.cards.no_officer": {
        "zh-CN": "注意：本小区没有登记姓名和电话的民警，联系卡上不显示民警。",
        "en": "note: no officer of this compound has a name and phone: cards show none",
    },
    "cli.cards.no_such_officer": {
        "zh-CN": "{user} 不是小区 {slug} 登记了姓名和电话的民警。",
        "en": "{user} is no officer of {slug} with a name and phone.",
    },
    "cli.cards.no_room": {
        "zh-CN": "小区 {slug} 还没有群：联系卡需要群的地址。",
        "en": "compound {slug} has no room yet: the cards need its address.",
    },
    "cli.enrolment.total": {
        "zh-CN": "{name}：{households} 户中 {enrolled} 户已入群（{coverage}%），已验证 {verified} "
                 "人，待验证 {pending} 人，锁定 {locked} 人，超出上限 {over_cap} 户",
        "en": "{name}: {enrolled}/{households} households enrolled ({coverage}%), {verified} "
              "verified, {pending} pending, {locked} locked, {over_cap} over cap",
    },
    "cli.enrolment.building": {
        "zh-CN": "  {building}：{enrolled}/{households}（{coverage}%）",
        "en": "  {building}: {enrolled}/{households} ({coverage}%)",
    },
    "cli.enrolment.unenrolled": {
        "zh-CN": "  尚无人入群 {place}：{flats}",
        "en": "  not enrolled {place}: {flats}",
    },
    "cli.report.csv_one_table": {
        "zh-CN": "CSV 只能放一张表：请用 --table compounds、buildings、unenrolled 或 "
                 "pending 选择。",
        "en": "csv holds one table: choose --table compounds, buildings, unenrolled or pending.",
    },
    # linli compound import: many compounds from a CSV file ----------------------------------
    "cli.bulk.encoding": {
        "zh-CN": "未知的编码“{encoding}”。",
        "en": "unknown encoding “{encoding}”.",
    },
    "cli.bulk.undecodable": {
        "zh-CN": "文件既不是 UTF-8 也不是 GBK：请另存为 UTF-8 的 CSV 文件。",
        "en": "the file is neither UTF-8 nor GBK: save it as a UTF-8 CSV file.",
    },
    "cli.bulk.empty_file": {"zh-CN": "文件是空的。", "en": "the file is empty"},
    "cli.bulk.unknown_column": {
        "zh-CN": "不认识的列（可用：简称 slug、名称 name、派出所 station、入群方式 mode、"
                 "时区 timezone、语言 locale）",
        "en": "unknown column (use slug, name, station, mode, timezone, locale)",
    },
    "cli.bulk.duplicate_column": {"zh-CN": "这一列出现了两次", "en": "this column appears twice"},
    "cli.bulk.missing_column": {"zh-CN": "缺少这一列", "en": "this column is missing"},
    "cli.bulk.empty": {"zh-CN": "不能为空", "en": "must not be empty"},
    "cli.bulk.duplicate": {
        "zh-CN": "与第 {first} 行的简称相同",
        "en": "the same slug as row {first}",
    },
    "cli.bulk.too_long": {"zh-CN": "超过 {max} 个字", "en": "longer than {max} characters"},
    "cli.bulk.mode": {
        "zh-CN": "入群方式“{value}”无效，应为 mute（验证后发言）或 knock（敲门）",
        "en": "mode “{value}” unknown; use mute or knock",
    },
    "cli.bulk.no_station": {
        "zh-CN": "没有派出所“{value}”（先用 linli station create 创建）",
        "en": "no station “{value}” (create it with linli station create)",
    },
    "cli.bulk.other_station": {
        "zh-CN": "小区 {slug} 已存在，但属于派出所 {station}",
        "en": "compound {slug} exists already, of station {station}",
    },
    "cli.bulk.nothing_created": {
        "zh-CN": "未创建任何小区：{bad} 行有问题，请修正后再运行。",
        "en": "nothing created: {bad} rows have problems; fix them and run again.",
    },
    "cli.bulk.checked": {
        "zh-CN": "读取 {rows} 行：{new} 个小区待创建，{existing} 个已存在（跳过）。",
        "en": "{rows} rows read: {new} compounds to create, {existing} exist already (skipped).",
    },
    "cli.bulk.progress": {
        "zh-CN": "[{bar}] {done}/{total}  每秒 {rate} 个  约剩 {left}  {slug}",
        "en": "[{bar}] {done}/{total}  {rate}/s  about {left} left  {slug}",
    },
    "cli.bulk.interrupted": {
        "zh-CN": "已中断：本次创建了 {created} 个小区，还有 {left} 个。再运行同一命令即可继续"
                 "（已创建的会跳过）。",
        "en": "interrupted: {created} compounds created this run, {left} to go. Run the same "
              "command again to continue (created ones are skipped).",
    },
    "cli.bulk.failed": {
        "zh-CN": "第 {row} 行（{slug}）未能创建：{detail}",
        "en": "row {row} ({slug}) not created: {detail}",
    },
    "cli.bulk.done": {
        "zh-CN": "已创建 {created} 个小区，跳过 {skipped} 个（已存在），失败 {failed} 个；"
                 "用时 {elapsed}。",
        "en": "{created} compounds created, {skipped} skipped (already there), {failed} "
              "failed; took {elapsed}.",
    },
    # linli compound set: settings the bot can read ------------------------------------------
    "cli.setting.invalid": {
        "zh-CN": "小区设置 {setting} 无效：{problem}",
        "en": "compound setting {setting} is invalid: {problem}",
    },
    "cli.setting.unknown": {
        "zh-CN": "没有小区设置 {setting}；可以设置的有：{known}。",
        "en": "there is no compound setting {setting}; the settings are: {known}.",
    },
    "cli.setting.column": {
        "zh-CN": "{setting} 不是小区设置：请用 --{option} 修改。",
        "en": "{setting} is not a compound setting: change it with --{option}.",
    },
    "cli.setting.not_set": {
        "zh-CN": "小区没有设置 {setting}，无从删除。",
        "en": "the compound has no setting {setting} to unset.",
    },
    "cli.setting.form": {
        "zh-CN": "--setting {setting}：请写成 KEY=VALUE，或 questions.deadline=1h 这样的形式。",
        "en": "--setting {setting}: write it as KEY=VALUE, or like questions.deadline=1h.",
    },
    "cli.setting.yaml": {
        "zh-CN": "{setting} 的值读不懂：请检查括号和引号（值按 YAML 读，如 {{deadline: 1h}}）。",
        "en": "the value of {setting} does not read: check brackets and quotes (values are YAML, "
              "like {{deadline: 1h}}).",
    },
    "cli.setting.empty": {
        "zh-CN": "{setting} 没有给值；要恢复默认值请用 --unset {setting}。",
        "en": "{setting} has no value; to go back to the default use --unset {setting}.",
    },
    "cli.setting.not_mapping": {
        "zh-CN": "应写成 {example} 这样的映射。",
        "en": "write it as a mapping like {example}.",
    },
    "cli.setting.time": {
        "zh-CN": "“{value}”不是时刻，请写成 08:00 这样的形式（00:00 至 23:59）。",
        "en": "“{value}” is not a time of day; write it like 08:00 (00:00 to 23:59).",
    },
    "cli.setting.workdays": {
        "zh-CN": "“{value}”不是星期，请写成 mon-fri 或 [mon, tue, sat] 这样的形式。",
        "en": "“{value}” is not a list of weekdays; write it like mon-fri or [mon, tue, sat].",
    },
    "cli.setting.bool": {
        "zh-CN": "“{value}”不是 true 或 false。",
        "en": "“{value}” is not true or false.",
    },
    "cli.setting.durations": {
        "zh-CN": "“{value}”不是时长列表，请写成 [24h, 2h] 这样的形式。",
        "en": "“{value}” is not a list of durations; write it like [24h, 2h].",
    },
    "cli.setting.count": {
        "zh-CN": "“{value}”不是不小于 {min} 的整数。",
        "en": "“{value}” is not a whole number of at least {min}.",
    },
    "cli.setting.count_range": {
        "zh-CN": "“{value}”不是 {min} 到 {max} 之间的整数。",
        "en": "“{value}” is not a whole number from {min} to {max}.",
    },
    "cli.setting.escalate_order": {
        "zh-CN": "升级时限 escalate_after（{escalate}）必须长于答复时限 deadline（{deadline}）。",
        "en": "escalate_after ({escalate}) must be longer than deadline ({deadline}).",
    },
    "cli.setting.office_order": {
        "zh-CN": "上班时间 office_start（{start}）必须早于下班时间 office_end（{end}）。",
        "en": "office_start ({start}) must come before office_end ({end}).",
    },
    "cli.setting.contradiction": {
        "zh-CN": "这些值与部署的其他设置互相矛盾。",
        "en": "these values contradict the deployment's other settings.",
    },
    "cli.setting.numbers": {
        "zh-CN": "应写成号码列表，如 {example}。",
        "en": "write it as a list of numbers like {example}.",
    },
    "cli.setting.number": {
        "zh-CN": "“{value}”不是电话号码。",
        "en": "“{value}” is not a phone number.",
    },
    "cli.setting.text": {
        "zh-CN": "应为 1 至 {max} 个字的文字。",
        "en": "write 1 to {max} characters of text.",
    },
}
