"""Messages of real-name membership, in zh-CN and English.

Fields every DM/officer message may use are passed by verification.service already formatted
(times in the compound's zone, durations humanised in its language).
"""

MESSAGES: dict[str, dict[str, str]] = {
    # direct messages to members ---------------------------------------------------------------
    "verification.dm.prompt": {
        "zh-CN": "您好，欢迎加入“{compound}”邻里群！本群实行实名制。请回复社区民警发给您家的"
                 "联系卡上的登记码（如 ABCD-EFGH）和您的真实姓名，例如：ABCD-EFGH 张三。"
                 "验证通过后即可在群里发言。请在 {deadline} 前完成（还剩 {left}），"
                 "逾期将被移出群聊。",
        "en": "Hello and welcome to the “{compound}” neighbours' room! Members are known by "
              "their real name. Please reply with the enrolment code on your household's "
              "contact card (like ABCD-EFGH) and your real name, e.g.: ABCD-EFGH Zhang San. "
              "Once verified you can post in the room. Please do this before {deadline} "
              "({left} left); after that you will be removed from the room.",
    },
    "verification.dm.prompt_knock": {
        "zh-CN": "您好，您申请加入“{compound}”邻里群。本群实行实名制：请回复联系卡上的登记码"
                 "（如 ABCD-EFGH）和您的真实姓名，例如：ABCD-EFGH 张三。验证通过后我会邀请您"
                 "入群。请在 {deadline} 前完成（还剩 {left}）。",
        "en": "Hello, you asked to join the “{compound}” neighbours' room. Members are known "
              "by their real name: please reply with the enrolment code on your contact card "
              "(like ABCD-EFGH) and your real name, e.g.: ABCD-EFGH Zhang San. Once verified "
              "I will invite you. Please do this before {deadline} ({left} left).",
    },
    "verification.dm.prompt_adopted": {
        "zh-CN": "您好！“{compound}”邻里群已由社区民警统一管理，群内实行实名制。请回复您家联系卡"
                 "上的登记码和您的真实姓名，例如：ABCD-EFGH 张三。请在 {deadline} 前完成"
                 "（还剩 {left}），逾期将被移出群聊。没有联系卡请联系社区民警。",
        "en": "Hello! The “{compound}” neighbours' room is now run with the community police "
              "and members are known by their real name. Please reply with your household's "
              "enrolment code and your real name, e.g.: ABCD-EFGH Zhang San, before "
              "{deadline} ({left} left), or you will be removed from the room. No contact "
              "card? Please ask your community officer.",
    },
    "verification.dm.incomplete": {
        "zh-CN": "请在同一条消息里发送登记码和真实姓名，例如：ABCD-EFGH 张三。",
        "en": "Please send the enrolment code and your real name in one message, "
              "e.g.: ABCD-EFGH Zhang San.",
    },
    "verification.dm.wrong": {
        "zh-CN": "登记码和姓名不匹配，请核对联系卡后重试。今天还可以尝试 {tries_left} 次。",
        "en": "The code and name do not match. Please check your contact card and try again; "
              "{tries_left} tries left today.",
    },
    "verification.dm.locked": {
        "zh-CN": "尝试次数过多，验证已暂停至 {until}。如有疑问请联系社区民警。",
        "en": "Too many tries: verification is paused until {until}. If in doubt, please "
              "contact your community officer.",
    },
    "verification.dm.verified": {
        "zh-CN": "验证成功，欢迎 {place} {name}！您现在可以在“{compound}”群里发言了。",
        "en": "Verified, welcome {name} of {place}! You can now post in “{compound}”.",
    },
    "verification.dm.already_verified": {
        "zh-CN": "您在“{compound}”已经完成实名验证，无需再次发送。",
        "en": "You are already verified in “{compound}”; nothing more to send.",
    },
    "verification.dm.not_pending": {
        "zh-CN": "您目前不在“{compound}”的待验证名单中。请先加入群聊。",
        "en": "You are not waiting for verification in “{compound}”. Please join the room "
              "first.",
    },
    "verification.dm.person_taken": {
        "zh-CN": "这位登记人员已经关联了另一个账号，本次无法验证。"
                 "社区民警已收到通知，会与您联系。",
        "en": "This registered person is already linked to another account, so this account "
              "cannot be verified. The community officer has been told and will contact you.",
    },
    "verification.dm.account_linked": {
        "zh-CN": "您的账号已关联另一位登记人员，一个账号只能对应一人。如有疑问请联系社区民警。",
        "en": "Your account is already linked to another registered person; one account "
              "stands for one person. If in doubt, please contact your community officer.",
    },
    "verification.dm.cap_reached": {
        "zh-CN": "您家已有 {cap} 位成员完成验证，达到本小区每户上限。如需调整请联系社区民警。",
        "en": "{cap} members of your household are already verified, the limit per household "
              "in this compound. Please contact your community officer to change this.",
    },
    "verification.dm.reminder": {
        "zh-CN": "提醒：您还没有完成“{compound}”的实名验证。请在 {deadline} 前（还剩 {left}）"
                 "回复登记码和真实姓名，例如：ABCD-EFGH 张三，逾期将被移出群聊。",
        "en": "Reminder: you have not yet verified in “{compound}”. Please reply with your "
              "enrolment code and real name (e.g. ABCD-EFGH Zhang San) before {deadline} "
              "({left} left), or you will be removed from the room.",
    },
    "verification.dm.moved_out": {
        "zh-CN": "登记信息显示您已迁出“{compound}”，您的实名验证已失效，将于 {deadline} 被移出"
                 "群聊。如有误请联系社区民警。",
        "en": "The registry shows you have moved out of “{compound}”. Your verification has "
              "ended and you will be removed from the room at {deadline}. If this is a "
              "mistake, please contact your community officer.",
    },
    "verification.dm.removed_from_registry": {
        "zh-CN": "您的登记信息已从“{compound}”名册中删除，实名验证已失效，将于 {deadline} 被移出"
                 "群聊。如有误请联系社区民警。",
        "en": "Your entry was removed from the “{compound}” registry. Your verification has "
              "ended and you will be removed from the room at {deadline}. If this is a "
              "mistake, please contact your community officer.",
    },
    "verification.dm.revoked": {
        "zh-CN": "社区民警撤销了您在“{compound}”的实名验证。请在 {deadline} 前重新发送登记码和"
                 "真实姓名，否则将被移出群聊。",
        "en": "The community officer has revoked your verification in “{compound}”. Please "
              "send your enrolment code and real name again before {deadline}, or you will "
              "be removed from the room.",
    },
    "verification.dm.extended": {
        "zh-CN": "社区民警已将您在“{compound}”的验证期限延长至 {deadline}。",
        "en": "The community officer has extended your time to verify in “{compound}” "
              "until {deadline}.",
    },
    "verification.dm.nothing_to_verify": {
        "zh-CN": "您目前没有待验证的小区群。加入小区群后，我会在这里告诉您如何完成实名验证。",
        "en": "There is nothing for you to verify right now. When you join a compound's room "
              "I will tell you here how to verify.",
    },
    # in the compound room --------------------------------------------------------------------
    "verification.room.welcome": {
        "zh-CN": "欢迎新邻居 {place} {name}（{user}）加入！",
        "en": "Welcome to our new neighbour {name} of {place} ({user})!",
    },
    # kick reasons ------------------------------------------------------------------------------
    "verification.kick.grace_expired": {
        "zh-CN": "未在期限内完成实名验证。持联系卡可随时重新加入“{compound}”。",
        "en": "Not verified in time. You can join “{compound}” again with your contact card.",
    },
    "verification.kick.moved_out": {
        "zh-CN": "已从“{compound}”迁出。",
        "en": "Moved out of “{compound}”.",
    },
    "verification.kick.removed_from_registry": {
        "zh-CN": "已不在“{compound}”登记名册中。",
        "en": "No longer in the “{compound}” registry.",
    },
    # officers' room -----------------------------------------------------------------------------
    "verification.officers.locked": {
        "zh-CN": "【验证锁定】{compound}：{user} 连续 {failures} 次验证失败，已锁定至 {until}。",
        "en": "[Verification locked] {compound}: {user} failed {failures} times and is "
              "locked until {until}.",
    },
    "verification.officers.person_taken": {
        "zh-CN": "【重复认领】{compound}：{user} 用正确的登记码和姓名认领 {flat} 的登记人员，"
                 "但该人员已关联账号 {holder}。请核实。",
        "en": "[Second claim] {compound}: {user} gave a correct code and name for a person of "
              "{flat} who is already linked to {holder}. Please check.",
    },
    "verification.officers.account_linked": {
        "zh-CN": "【账号已关联】{compound}：{user} 已关联其他登记人员，却又尝试验证。",
        "en": "[Account already linked] {compound}: {user} is linked to another registered "
              "person and tried to verify again.",
    },
    "verification.officers.cap_reached": {
        "zh-CN": "【超出户上限】{compound}：{user} 尝试验证为 {flat} 成员，"
                 "但该户已达 {cap} 人上限。",
        "en": "[Household limit] {compound}: {user} tried to verify for {flat}, which already "
              "has {cap} verified members.",
    },
    "verification.officers.removed": {
        "zh-CN": "【移出】{compound}：已将 {user} 移出群聊（原因：{reason}）。",
        "en": "[Removed] {compound}: {user} was removed from the room (reason: {reason}).",
    },
    "verification.officers.notice": {
        "zh-CN": "【验证失效】{compound}：{user} 的登记人员已迁出或删除，已通知本人，将于 "
                 "{deadline} 移出。",
        "en": "[Verification ended] {compound}: the registered person of {user} moved out or "
              "was removed; they were told and will be removed at {deadline}.",
    },
    "verification.officers.verified": {
        "zh-CN": "{officer} 已人工验证 {user}：{compound} {flat} {name}。",
        "en": "{officer} verified {user} by hand: {compound}, {flat}, {name}.",
    },
    "verification.officers.revoked": {
        "zh-CN": "{officer} 已撤销 {user} 在 {compound} 的实名验证。",
        "en": "{officer} revoked the verification of {user} in {compound}.",
    },
    "verification.officers.extended": {
        "zh-CN": "{officer} 已将 {user} 在 {compound} 的验证期限延长至 {deadline}。",
        "en": "{officer} extended the deadline of {user} in {compound} to {deadline}.",
    },
    "verification.officers.pending_header": {
        "zh-CN": "{compound} 待验证成员 {count} 人：",
        "en": "{compound}: {count} members waiting for verification:",
    },
    "verification.officers.pending_line": {
        "zh-CN": "· {user}：期限 {deadline}（还剩 {left}）",
        "en": "· {user}: deadline {deadline} ({left} left)",
    },
    "verification.officers.pending_locked": {
        "zh-CN": "· {user}：期限 {deadline}，已锁定至 {until}",
        "en": "· {user}: deadline {deadline}, locked until {until}",
    },
    "verification.officers.pending_more": {
        "zh-CN": "……另有 {count} 人未列出。",
        "en": "… and {count} more not listed.",
    },
    "verification.officers.pending_none": {
        "zh-CN": "{compound} 目前没有待验证的成员。",
        "en": "{compound}: nobody is waiting for verification.",
    },
    "verification.officers.verified_here": {
        "zh-CN": "已人工验证 {user}：{place} {name}。",
        "en": "{user} verified by hand: {name} of {place}.",
    },
    # officers' commands ------------------------------------------------------------------------
    "verification.help.verify": {
        "zh-CN": "上门核实后人工验证：!verify @用户 房号 姓名（在派出所群里房号前可加小区代号，"
                 "如 meiyuan:3-2-301）；命令消息随即撤回",
        "en": "verify by hand after a door visit: !verify @user FLAT NAME (in the officers' "
              "room the flat may name the compound, like meiyuan:3-2-301); the command "
              "message is removed at once",
    },
    "verification.help.revoke": {
        "zh-CN": "撤销一名成员的实名验证（重新进入待验证期）",
        "en": "revoke a member's verification (they wait to verify again)",
    },
    "verification.help.extend": {
        "zh-CN": "延长待验证成员的期限，如 !extend @用户 48h",
        "en": "give a waiting member more time, like !extend @user 48h",
    },
    "verification.help.pending": {
        "zh-CN": "列出待验证的成员及其期限（派出所群里可加小区代号）",
        "en": "list the members waiting to verify and their deadlines (in the officers' room, "
              "optionally for one compound slug)",
    },
    # errors (officers and admins) --------------------------------------------------------------
    "error.invalid_phone": {
        "zh-CN": "电话号码格式不正确：请写 11 位手机号，或带区号的固定电话（如 0571-88889999）；"
                 "境外号码以 + 开头。",
        "en": "That is not a valid phone number: give an 11-digit mobile number or a landline "
              "with its area code (0571-88889999); numbers abroad start with +.",
    },
    "error.invalid_flat": {
        "zh-CN": "“{value}”不是有效的房号，请写成 3-2-301 或 3栋2单元301。",
        "en": "“{value}” is not a flat; write it like 3-2-301 or 3栋2单元301.",
    },
    "error.bad_policy": {
        "zh-CN": "小区设置 verification.{setting} 无效。",
        "en": "The compound setting verification.{setting} is not valid.",
    },
    "error.person_exists": {
        "zh-CN": "该户已登记此人。",
        "en": "This person is already registered in that household.",
    },
    "error.no_household": {
        "zh-CN": "名册中没有房号 {flat}。",
        "en": "There is no flat {flat} in the registry.",
    },
    "error.no_person": {
        "zh-CN": "{flat} 没有这个名字的在册人员。",
        "en": "{flat} has no registered person of that name.",
    },
    "error.account_linked": {
        "zh-CN": "{user} 已关联另一位登记人员。",
        "en": "{user} is already linked to another registered person.",
    },
    "error.already_verified": {
        "zh-CN": "{user} 已经验证为这位人员。",
        "en": "{user} is already verified as this person.",
    },
    "error.person_taken": {
        "zh-CN": "该登记人员已关联另一个账号。",
        "en": "That registered person is already linked to another account.",
    },
    "error.person_taken_by": {
        "zh-CN": "该登记人员已关联账号 {holder}，请先撤销。",
        "en": "That registered person is already linked to {holder}; revoke that first.",
    },
    "error.cap_reached": {
        "zh-CN": "该户已达到 {cap} 名验证成员的上限。",
        "en": "That household already has {cap} verified members, the limit.",
    },
    "error.not_verified": {
        "zh-CN": "{user} 在本小区没有实名验证。",
        "en": "{user} is not verified in this compound.",
    },
    "error.which_compound": {
        "zh-CN": "请指明小区，例如 {example}（本所小区：{slugs}）。",
        "en": "Say which compound, like {example} (this station's compounds: {slugs}).",
    },
    "error.not_station_compound": {
        "zh-CN": "“{slug}”不是本派出所的小区（本所小区：{slugs}）。",
        "en": "“{slug}” is not a compound of this station (its compounds: {slugs}).",
    },
    "verification.pending.this_room_only": {
        "zh-CN": "在小区群里只能查看本小区（{compound}）的待验证成员；"
                 "要查看“{slug}”，请在民警工作群里发送 !pending {slug}。",
        "en": "In a compound's room !pending lists only that compound ({compound}); for "
              "“{slug}”, send !pending {slug} in the officers' room.",
    },
    "verification.extend.too_long": {
        "zh-CN": "一次最多延长 {max}。",
        "en": "A deadline can be extended by {max} at most at a time.",
    },
    "error.not_waiting": {
        "zh-CN": "{user} 不在待验证名单中。",
        "en": "{user} is not waiting for verification.",
    },
    # registry import report ------------------------------------------------------------------
    "import.bad_encoding": {
        "zh-CN": "无法识别文件编码（既不是 UTF-8 也不是 GBK），请用 --encoding 指定。",
        "en": "Cannot tell the file's encoding (neither UTF-8 nor GBK); give --encoding.",
    },
    "import.unknown_encoding": {
        "zh-CN": "未知的编码“{encoding}”。",
        "en": "Unknown encoding “{encoding}”.",
    },
    "import.empty_file": {
        "zh-CN": "文件是空的。",
        "en": "The file is empty.",
    },
    "import.unknown_column": {
        "zh-CN": "无法识别的列名。",
        "en": "unknown column title",
    },
    "import.duplicate_column": {
        "zh-CN": "列名重复。",
        "en": "column appears twice",
    },
    "import.missing_column": {
        "zh-CN": "缺少必需的列。",
        "en": "required column is missing",
    },
    "import.empty": {
        "zh-CN": "必填项为空。",
        "en": "required value is empty",
    },
    "import.invalid_address": {
        "zh-CN": "只能包含字母、数字或汉字（最多 16 个）。",
        "en": "use letters, digits or Chinese characters only (at most 16)",
    },
    "import.name_too_long": {
        "zh-CN": "姓名超过 {max} 个字符。",
        "en": "name longer than {max} characters",
    },
    "import.name_has_digits": {
        "zh-CN": "姓名中不能有数字（是否填错了列？）。",
        "en": "a name holds no digits (wrong column?)",
    },
    "import.invalid_phone": {
        "zh-CN": "不是有效的电话号码：请填 11 位手机号，或带区号的固定电话（如 0571-88889999）；"
                 "境外号码以 + 开头。",
        "en": "not a phone number: give an 11-digit mobile number or a landline with its area "
              "code (0571-88889999); numbers abroad start with +",
    },
    "import.invalid_role": {
        "zh-CN": "身份“{value}”无效，应为 业主、租户 或 家属。",
        "en": "role “{value}” unknown; use owner, tenant or family",
    },
    "import.note_too_long": {
        "zh-CN": "备注超过 {max} 个字符。",
        "en": "note longer than {max} characters",
    },
    "import.duplicate_person": {
        "zh-CN": "与第 {first} 行是同一户的同一人。",
        "en": "same person of the same flat as row {first}",
    },
    # contact cards ---------------------------------------------------------------------------
    "cards.title": {
        "zh-CN": "{compound} 邻里联系卡",
        "en": "{compound} neighbours' contact card",
    },
    "cards.code": {
        "zh-CN": "入群登记码",
        "en": "Enrolment code",
    },
    "cards.address": {
        "zh-CN": "无法扫码？在客户端中加入：",
        "en": "Cannot scan? Join in your app:",
    },
    "cards.how": {
        "zh-CN": "扫码加入小区群，按机器人私信提示发送登记码和您的真实姓名。登记码仅供本户使用，"
                 "请勿转给他人。有效期至 {expires}。",
        "en": "Scan to join the compound's room and, when the bot writes to you, send this "
              "code and your real name. The code is for your household only; do not pass it "
              "on. Valid until {expires}.",
    },
    "cards.officer": {
        "zh-CN": "社区民警",
        "en": "Community officer",
    },
    "cards.numbers": {
        "zh-CN": "紧急及便民电话",
        "en": "Emergency and service numbers",
    },
    "cards.page_title": {
        "zh-CN": "{compound} 联系卡（{count} 张）",
        "en": "{compound} contact cards ({count})",
    },
    "verification.verify.bad_input": {
        "zh-CN": "无法完成验证：请按“!verify @用户ID 楼栋-单元-房号 姓名”的顺序填写，"
                 "并确认该住户已登记。为保护个人信息，原消息已撤回，这里不重复您输入的内容。",
        "en": "Could not verify: write “!verify @user:server BUILDING-UNIT-FLAT NAME” in that "
              "order and check that the household is registered. Your message was removed to "
              "protect personal data and is not repeated here.",
    },
}
