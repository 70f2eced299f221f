"""Messages about stations, compounds and roles."""

MESSAGES: dict[str, dict[str, str]] = {
    "error.station_exists": {
        "zh-CN": "派出所“{slug}”已经存在。",
        "en": "Station “{slug}” already exists.",
    },
    "error.no_station": {
        "zh-CN": "没有找到派出所“{slug}”。",
        "en": "No station “{slug}”.",
    },
    "error.compound_exists": {
        "zh-CN": "小区“{slug}”已经存在。",
        "en": "Compound “{slug}” already exists.",
    },
    "error.no_compound": {
        "zh-CN": "没有找到小区“{slug}”。",
        "en": "No compound “{slug}”.",
    },
    "error.room_taken": {
        "zh-CN": "房间 {room} 已经属于另一个小区。",
        "en": "Room {room} already belongs to another compound.",
    },
    "error.grant_exists": {
        "zh-CN": "{user} 已经拥有角色 {role}。",
        "en": "{user} already holds the role {role}.",
    },
    "error.adopt_cannot_join": {
        "zh-CN": "机器人无法加入房间 {room}（{reason}）：请先邀请机器人。",
        "en": "The bot cannot join room {room} ({reason}): invite the bot first.",
    },
    "error.adopt_needs_power": {
        "zh-CN": "机器人在房间 {room} 的权限等级是 {level}，需要 100："
                 "请房间管理员先提升机器人的权限。",
        "en": "The bot has power level {level} in room {room} and needs 100: ask a room admin to "
              "raise it first.",
    },
}
