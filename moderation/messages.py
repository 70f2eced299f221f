"""Messages of moderation: officers'-room reports, refusals, notices to users, web tokens."""

MESSAGES: dict[str, dict[str, str]] = {
    # Reports in the station's officers' room -------------------------------------------
    "moderation.report.mute": {
        "zh-CN": "🔇 {actor} 在「{compound}」禁言了 {user}，时长 {duration}（至 {until}）。"
                 "理由：{reason}",
        "en": "🔇 {actor} muted {user} in “{compound}” for {duration} (until {until}). "
              "Reason: {reason}",
    },
    "moderation.report.mute_changed": {
        "zh-CN": "🔇 {actor} 将 {user} 在「{compound}」的禁言改为 {duration}（至 {until}）。"
                 "理由：{reason}",
        "en": "🔇 {actor} changed the mute of {user} in “{compound}” to {duration} "
              "(until {until}). Reason: {reason}",
    },
    "moderation.report.unmute": {
        "zh-CN": "🔈 {actor} 解除了 {user} 在「{compound}」的禁言。理由：{reason}",
        "en": "🔈 {actor} unmuted {user} in “{compound}”. Reason: {reason}",
    },
    "moderation.report.auto_unmute": {
        "zh-CN": "🔈 {user} 在「{compound}」的禁言已到期，已自动解除。",
        "en": "🔈 The mute of {user} in “{compound}” has ended and was lifted.",
    },
    "moderation.report.kick": {
        "zh-CN": "👢 {actor} 将 {user} 移出了「{compound}」。理由：{reason}",
        "en": "👢 {actor} removed {user} from “{compound}”. Reason: {reason}",
    },
    "moderation.report.ban": {
        "zh-CN": "⛔ {actor} 封禁了「{compound}」中的 {user}。理由：{reason}",
        "en": "⛔ {actor} banned {user} from “{compound}”. Reason: {reason}",
    },
    "moderation.report.unban": {
        "zh-CN": "✅ {actor} 解除了 {user} 在「{compound}」的封禁。理由：{reason}",
        "en": "✅ {actor} lifted the ban of {user} in “{compound}”. Reason: {reason}",
    },
    "moderation.report.warn": {
        "zh-CN": "⚠️ {actor} 警告了「{compound}」中的 {user}（第 {count}/{limit} 次）。"
                 "理由：{reason}",
        "en": "⚠️ {actor} warned {user} in “{compound}” ({count} of {limit}). Reason: {reason}",
    },
    "moderation.report.warn_mute": {
        "zh-CN": "🔇 {user} 在「{compound}」累计受到 {count} 次警告，"
                 "已自动禁言 {duration}（至 {until}）。",
        "en": "🔇 {user} reached {count} warnings in “{compound}” and was muted for "
              "{duration} (until {until}).",
    },
    "moderation.report.flood_mute": {
        "zh-CN": "🔇 {user} 在「{compound}」{window}内发送了 {count} 条消息（刷屏），"
                 "已自动禁言 {duration}（至 {until}）。",
        "en": "🔇 {user} sent {count} messages within {window} in “{compound}” (flooding) and "
              "was muted for {duration} (until {until}).",
    },
    "moderation.report.redact": {
        "zh-CN": "🗑️ {actor} 撤回了 {user} 在「{compound}」的一条消息（{event_id}）。"
                 "理由：{reason}",
        "en": "🗑️ {actor} removed a message by {user} in “{compound}” ({event_id}). "
              "Reason: {reason}",
    },
    # Refusals, to the officer who asked -------------------------------------------------
    "moderation.refused.staff": {
        "zh-CN": "{user} 是工作人员或管理员，机器人不对其执行管理操作。",
        "en": "{user} is staff or an admin; the bot does not act on them.",
    },
    "moderation.refused.bot": {
        "zh-CN": "机器人不能对自己执行管理操作。",
        "en": "The bot cannot act on itself.",
    },
    "moderation.refused.not_muted_by_bot": {
        "zh-CN": "{user} 没有被机器人禁言；机器人只解除自己施加的限制。",
        "en": "{user} was not muted by the bot; the bot only lifts restrictions it imposed.",
    },
    "moderation.refused.not_banned_by_bot": {
        "zh-CN": "{user} 没有被机器人封禁；机器人只解除自己施加的限制。",
        "en": "{user} was not banned by the bot; the bot only lifts restrictions it imposed.",
    },
    "moderation.refused.already_banned": {
        "zh-CN": "{user} 已经被封禁。",
        "en": "{user} is already banned.",
    },
    "moderation.refused.invalid_user": {
        "zh-CN": "“{value}”不是有效的 Matrix 用户 ID（格式为 @名字:服务器），未执行任何操作。",
        "en": "“{value}” is not a valid Matrix user id (like @name:server); nothing was done.",
    },
    "moderation.refused.invalid_event": {
        "zh-CN": "“{value}”不是有效的消息 ID；请回复要撤回的消息并发送 !redact。",
        "en": "“{value}” is not a valid message id; reply to the message with !redact.",
    },
    "moderation.refused.not_member": {
        "zh-CN": "{user} 不是本群成员，未执行任何操作（封禁可以针对不在群里的人）。",
        "en": "{user} is not a member of this room; nothing was done (a ban may target "
              "someone who is not in the room).",
    },
    "moderation.refused.not_allowed": {
        "zh-CN": "只有本小区的民警和管理员可以执行管理操作。",
        "en": "Only this compound's officers and admins can moderate.",
    },
    "moderation.refused.no_compound": {
        "zh-CN": "找不到这个小区。",
        "en": "This compound is not known.",
    },
    "moderation.refused.no_room": {
        "zh-CN": "小区「{compound}」还没有群聊房间。",
        "en": "Compound “{compound}” has no room yet.",
    },
    "moderation.refused.duration": {
        "zh-CN": "禁言时长必须大于零且不超过 {max}。",
        "en": "A mute must be longer than zero and at most {max}.",
    },
    # Notices to the user concerned ------------------------------------------------------
    "moderation.notice.muted": {
        "zh-CN": "你在「{compound}」被禁言 {duration}（至 {until}）。理由：{reason}",
        "en": "You have been muted in “{compound}” for {duration} (until {until}). "
              "Reason: {reason}",
    },
    "moderation.notice.warning": {
        "zh-CN": "你在「{compound}」收到一次警告（第 {count}/{limit} 次）。理由：{reason}。"
                 "累计 {limit} 次警告将被禁言 {duration}。",
        "en": "You have received a warning in “{compound}” ({count} of {limit}). "
              "Reason: {reason}. After {limit} warnings you will be muted for {duration}.",
    },
    "moderation.notice.warn_mute": {
        "zh-CN": "你在「{compound}」累计受到 {count} 次警告，被禁言 {duration}（至 {until}）。",
        "en": "You received {count} warnings in “{compound}” and are muted for {duration} "
              "(until {until}).",
    },
    "moderation.notice.flood": {
        "zh-CN": "你在「{compound}」发言过于频繁，已被暂时禁言 {duration}（至 {until}）。"
                 "请稍后再发言。",
        "en": "You posted too many messages too quickly in “{compound}” and are muted for "
              "{duration} (until {until}). Please wait before posting again.",
    },
    # Reasons the bot gives for mutes it imposes by itself (stored in the restriction) -----
    "moderation.reason.flood": {
        "zh-CN": "刷屏（短时间内发送过多消息）",
        "en": "flooding (too many messages in a short time)",
    },
    "moderation.reason.warnings": {
        "zh-CN": "累计警告次数达到上限",
        "en": "too many warnings",
    },
    # Chat commands: help, confirmations to the officer who asked ------------------------
    "moderation.help.mute": {
        "zh-CN": "禁言一名成员一段时间（如 2h、30m、7d），到期自动解除",
        "en": "mute a member for a time (like 2h, 30m, 7d); lifted automatically",
    },
    "moderation.help.unmute": {
        "zh-CN": "提前解除机器人施加的禁言",
        "en": "lift a mute the bot imposed before it ends",
    },
    "moderation.help.kick": {
        "zh-CN": "将一名成员移出本群（可以重新加入）",
        "en": "remove a member from this room (they may join again)",
    },
    "moderation.help.ban": {
        "zh-CN": "封禁一名成员（不能重新加入）",
        "en": "ban a member (they cannot join again)",
    },
    "moderation.help.unban": {
        "zh-CN": "解除机器人施加的封禁",
        "en": "lift a ban the bot imposed",
    },
    "moderation.help.warn": {
        "zh-CN": "警告一名成员；累计达到上限将被自动禁言",
        "en": "warn a member; enough warnings lead to a timed mute",
    },
    "moderation.help.redact": {
        "zh-CN": "回复一条消息并发送此命令，撤回该消息",
        "en": "send as a reply to a message to remove that message",
    },
    "moderation.done.mute": {
        "zh-CN": "已禁言 {user}，时长 {duration}。",
        "en": "Muted {user} for {duration}.",
    },
    "moderation.done.unmute": {
        "zh-CN": "已解除 {user} 的禁言。",
        "en": "Unmuted {user}.",
    },
    "moderation.done.kick": {
        "zh-CN": "已将 {user} 移出本群。",
        "en": "Removed {user} from this room.",
    },
    "moderation.done.ban": {
        "zh-CN": "已封禁 {user}。",
        "en": "Banned {user}.",
    },
    "moderation.done.unban": {
        "zh-CN": "已解除 {user} 的封禁。",
        "en": "Lifted the ban of {user}.",
    },
    "moderation.done.warn": {
        "zh-CN": "已警告 {user}。",
        "en": "Warned {user}.",
    },
    "moderation.done.warn_mute": {
        "zh-CN": "已警告 {user}；警告次数已达上限，已自动禁言 {duration}。",
        "en": "Warned {user}; that reached the limit of warnings, so they are muted for "
              "{duration}.",
    },
    "moderation.done.redact": {
        "zh-CN": "已撤回该消息。",
        "en": "The message was removed.",
    },
    "moderation.refused.creator": {
        "zh-CN": "{user} 是本群的创建者，拥有最高权限，机器人无法对其执行管理操作。",
        "en": "{user} created this room and has unlimited power; the bot cannot act on them.",
    },
    "moderation.refused.no_reply": {
        "zh-CN": "请“回复”要撤回的那条消息，并在回复中发送 {command}。",
        "en": "Send {command} as a reply to the message you want removed.",
    },
    "moderation.failed": {
        "zh-CN": "Matrix 服务器未能执行该操作（{error}），操作未完成。",
        "en": "The Matrix server did not carry out the action ({error}); it is not done.",
    },
    # Web tokens (CLI) -------------------------------------------------------------------
    "tokens.created": {
        "zh-CN": "已创建令牌 #{id}（{kind}，{scope}，{label}）：",
        "en": "Created token #{id} ({kind}, {scope}, {label}):",
    },
    "tokens.shown_once": {
        "zh-CN": "请立即妥善保存：令牌只显示这一次，系统只保存其哈希值。",
        "en": "Store it now: it is shown only this once; only its hash is kept.",
    },
    "tokens.revoked": {
        "zh-CN": "令牌 #{id}（{label}）已吊销。",
        "en": "Token #{id} ({label}) revoked.",
    },
    "tokens.none": {
        "zh-CN": "还没有令牌。用 linli tokens create 创建一个。",
        "en": "No tokens yet. Create one with linli tokens create.",
    },
    "tokens.scope.district": {
        "zh-CN": "全区",
        "en": "whole district",
    },
    "tokens.scope.station": {
        "zh-CN": "派出所 {station}",
        "en": "station {station}",
    },
    "tokens.state.active": {"zh-CN": "有效", "en": "active"},
    "tokens.state.revoked": {"zh-CN": "已吊销", "en": "revoked"},
    "tokens.never": {"zh-CN": "从未", "en": "never"},
    "tokens.header": {
        "zh-CN": "编号|角色|范围|标签|创建时间|最近使用|状态",
        "en": "ID|ROLE|SCOPE|LABEL|CREATED|LAST USED|STATE",
    },
    "error.token_invalid": {
        "zh-CN": "令牌无效或已被吊销。",
        "en": "The token is invalid or revoked.",
    },
    "error.no_token": {
        "zh-CN": "没有编号为 {id} 的令牌。",
        "en": "No token with id {id}.",
    },
    "error.token_needs_station": {
        "zh-CN": "民警令牌必须指定派出所（--station）。",
        "en": "An officer token needs a station (--station).",
    },
    "error.token_label": {
        "zh-CN": "请给令牌一个标签（1 到 200 个字符），例如使用者的名字。",
        "en": "Give the token a label of 1 to 200 characters, such as who uses it.",
    },
    "error.token_role": {
        "zh-CN": "“{role}”不是有效的令牌角色；请用 admin 或 officer。",
        "en": "“{role}” is not a token role; use admin or officer.",
    },
}
