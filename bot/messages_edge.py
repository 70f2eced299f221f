"""Messages of the edge itself: command router, help, status, rooms."""

MESSAGES: dict[str, dict[str, str]] = {
    "dm.invite.hello": {
        "zh-CN": "您好，我是本小区邻里群的机器人。这里可以直接给我写信。"
                 "如需实名验证，请发送联系卡上的登记码和您的姓名，例如：ABCD-EFGH 张三。",
        "en": "Hello, I am the bot of your compound's room. You can write to me here. To "
              "verify, send the code on your contact card and your name, e.g. ABCD-EFGH Zhang "
              "San.",
    },
    "dm.invite.encrypted": {
        "zh-CN": "这个聊天是端到端加密的，机器人读不到这里的消息。"
                 "请在机器人发给您的那个私聊（未加密）里回复，刚刚已在那里给您发了一条消息。",
        "en": "This chat is end-to-end encrypted, so the bot cannot read messages here. Please "
              "write in the bot's own direct chat with you (not encrypted): it has just sent "
              "you a message there.",
    },
    "cmd.unknown": {
        "zh-CN": "没有 {name} 这个命令。发送 {help} 查看可用的命令。",
        "en": "There is no command {name}. Send {help} to see the commands you can use.",
    },
    "cmd.refused": {
        "zh-CN": "抱歉，{name} 只有社区民警或管理员可以使用。"
                 "如有需要，请直接在群里提问，工作人员会尽快答复。",
        "en": "Sorry, {name} is for community officers and admins only. If you need help, ask in "
              "the room and staff will answer soon.",
    },
    "cmd.refused.staff": {
        "zh-CN": "抱歉，{name} 只有工作人员（社区民警、物业、社区工作者、司法人员）"
                 "或管理员可以使用。如有需要，请直接在群里提问，工作人员会尽快答复。",
        "en": "Sorry, {name} is for staff (officers, property managers, community and judicial "
              "workers) and admins only. If you need help, ask in the room and staff will "
              "answer soon.",
    },
    "cmd.refused.elsewhere.compound": {
        "zh-CN": "抱歉，{name} 在这里只有本小区的社区民警和管理员可以使用；您负责的是其他小区。",
        "en": "Sorry, here {name} is for only this compound's officers and admins; your role "
              "is for other compounds.",
    },
    "cmd.refused.elsewhere.station": {
        "zh-CN": "抱歉，{name} 在这里只有本所的社区民警和管理员可以使用；"
                 "您负责的是其他派出所的小区。",
        "en": "Sorry, here {name} is for only this station's officers and admins; your role "
              "is for another station's compounds.",
    },
    "cmd.refused.elsewhere.compound_staff": {
        "zh-CN": "抱歉，{name} 在这里只有本小区的工作人员和管理员可以使用；您负责的是其他小区。",
        "en": "Sorry, here {name} is for only this compound's staff and admins; your role is "
              "for other compounds.",
    },
    "cmd.refused.elsewhere.station_staff": {
        "zh-CN": "抱歉，{name} 在这里只有本所的工作人员和管理员可以使用；"
                 "您负责的是其他派出所的小区。",
        "en": "Sorry, here {name} is for only this station's staff and admins; your role is "
              "for another station's compounds.",
    },
    "cmd.where.compound": {
        "zh-CN": "{name} 只能在小区群里使用。",
        "en": "{name} works only in a compound's room.",
    },
    "cmd.where.officers": {
        "zh-CN": "{name} 只能在民警工作群里使用。",
        "en": "{name} works only in the officers' room.",
    },
    "cmd.where.staff_rooms": {
        "zh-CN": "{name} 只能在小区群或民警工作群里使用。",
        "en": "{name} works only in a compound's room or the officers' room.",
    },
    "cmd.where.direct": {
        "zh-CN": "{name} 只能在与机器人的私聊中使用。",
        "en": "{name} works only in a direct message with the bot.",
    },
    "cmd.where.anywhere": {"zh-CN": "{name}", "en": "{name}"},
    "cmd.usage": {
        "zh-CN": "{problem}\n用法：{usage}\n{help}",
        "en": "{problem}\nUsage: {usage}\n{help}",
    },
    "cmd.missing_arg": {"zh-CN": "缺少参数 {arg}。", "en": "Missing {arg}."},
    "cmd.extra_args": {"zh-CN": "参数太多了。", "en": "Too many arguments."},
    "cmd.not_a_number": {
        "zh-CN": "{arg} 应该是数字，而不是“{value}”。",
        "en": "{arg} should be a number, not “{value}”.",
    },
    "cmd.failed": {
        "zh-CN": "出了点问题，请稍后再试（编号：{ref}）。",
        "en": "Something went wrong; please try again later (ref: {ref}).",
    },
    "help.header": {
        "zh-CN": "您在这里可以使用的命令：",
        "en": "Commands you can use here:",
    },
    "help.line": {"zh-CN": "{usage} — {text}", "en": "{usage} — {text}"},
    "help.help": {"zh-CN": "显示您可以使用的命令", "en": "show the commands you can use"},
    "help.status": {
        "zh-CN": "机器人状态：管理的房间、同步延迟、版本",
        "en": "bot status: rooms managed, sync lag, version",
    },
    "status.text": {
        "zh-CN": "邻里机器人 {version}\n管理的房间：{rooms}（已加入 {joined}）\n"
                 "同步延迟：{lag}\n运行时间：{uptime}",
        "en": "Linli bot {version}\nRooms managed: {rooms} ({joined} joined)\nSync lag: {lag}\n"
              "Up for: {uptime}",
    },
    "room.topic": {
        "zh-CN": "{name} 邻里群 — 社区民警、街道、物业与居民。新成员请按机器人私信完成实名认证。",
        "en": "{name} neighbours' room — community officer, street office, property manager and "
              "residents. New members: follow the bot's direct message to verify.",
    },
    "room.officers_topic": {
        "zh-CN": "{name} 民警工作群：认证、提醒、未答复问题和通报的报告。",
        "en": "{name} officers' room: reports on verification, questions and bulletins.",
    },
    "room.adopted": {
        "zh-CN": "邻里机器人已开始管理本群。",
        "en": "The Linli bot now manages this room.",
    },
}
