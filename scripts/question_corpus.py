"""Write questions/data/corpus.jsonl: the labelled messages the question model is trained on
and measured with (see questions/data/DATASHEET.md for how and by whom they were written).

Every line comes from a template written by hand (most templates have slots filled from small
lists, a few are whole sentences) and is then varied the way phones and people vary text:
punctuation dropped or doubled, particles and emoji added, homophone typos, voice-to-text
run-ons. Each template is a *group*; a fixed quarter of the groups of every kind is held back
("heldout") and never used for training, so the held-back figures measure phrasings the model
has not seen, not only new fillings of seen ones.

    .venv/bin/python scripts/question_corpus.py      # rewrites the file; same seed, same file
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "questions" / "data" / "corpus.jsonl"
SEED = 20260314

SLOTS: dict[str, list[str]] = {
    "b": ["3栋", "5号楼", "12幢", "7栋", "2号楼", "9栋", "15号楼", "1栋", "6幢", "11栋"],
    "u": ["1单元", "2单元", "3单元", "东单元", "西单元"],
    "place": ["地下车库", "东门", "南门口", "北门", "小区广场", "儿童游乐场", "篮球场", "后门",
              "快递柜旁边", "垃圾站那边", "停车场", "健身器材那里", "幼儿园门口", "凉亭那边"],
    "now": ["刚才", "现在", "刚刚", "这会儿", "就刚才", "十分钟前", "现在就"],
    "kin": ["我妈", "我爸", "我家老人", "我奶奶", "我婆婆", "我爷爷", "我岳母", "对门的大爷",
            "隔壁阿姨", "我姥姥"],
    "child": ["孩子", "我家小孩", "我儿子", "我女儿", "一个小男孩", "一个小女孩", "五岁的娃"],
    "days": ["两天", "三天", "好几天", "一个星期", "四五天", "三四天"],
    "nb": ["小李", "张姐", "王哥", "刘阿姨", "小陈", "老赵", "李姐", "小马", "周哥", "马姐"],
    "officer": ["王警官", "李警官", "张警官", "马警官", "民警同志", "社区民警"],
    "doc": ["居住证明", "户籍证明", "无犯罪记录证明", "居住证", "身份证", "户口本", "临时身份证",
            "港澳通行证", "护照", "新生儿户口"],
    "item": ["电动车", "自行车", "快递", "电瓶", "电动车电瓶", "外卖", "花盆", "晾的衣服"],
    "pet": ["狗", "大狗", "金毛", "泰迪", "哈士奇", "一条黑狗"],
    "util": ["停水", "停电", "停气", "电梯检修", "消杀", "燃气安全检查"],
    "when": ["明天上午", "本周六", "后天", "明天下午两点到六点", "周三全天", "今晚十点以后"],
    "food": ["饺子", "包子", "酸奶", "手抓羊肉", "面片", "酿皮", "馍馍", "粽子"],
    "shop": ["超市", "菜市场", "药店", "理发店", "面馆", "水果店"],
    "en_place": ["the garage", "the east gate", "the playground", "building 3", "the lobby",
                 "the parking lot", "the lift", "unit 2"],
    "en_kin": ["my mother", "my dad", "my grandma", "the old man next door", "my neighbour"],
    "en_doc": ["residence permit", "residence certificate", "ID card", "hukou transfer",
               "passport", "temporary ID"],
    "en_nb": ["Li", "Zhang", "Anna", "Mike", "Chen", "Wang"],
}

# (kind, question, urgent, topic, mention_staff, template)
T = tuple[str, bool, bool, str, bool, str]
TEMPLATES: list[T] = []


def add(kind: str, q: bool, urgent: bool, topic: str, lines: list[str],
        mention: bool = False) -> None:
    for line in lines:
        TEMPLATES.append((kind, q, urgent, topic, mention, line))


# ---- urgent reports, many without a word from the urgent list ---------------------------
add("urgent", True, True, "security", [
    "{child}在{place}玩着玩着找不到了，有人看见吗",
    "{child}不见了，穿红衣服，大家帮忙看一下{place}",
    "有人被困在{b}电梯里了，按警铃没人应",
    "{b}{u}电梯卡住了里面有人，快来人",
    "{kin}在{place}摔倒了起不来，头上流血了",
    "{place}有个老人晕倒了，谁快打120",
    "{place}有人在撬车门，{now}还在",
    "{now}看见两个人拿着工具在{place}一辆辆拉车门",
    "有个喝醉的男的在{b}{u}砸门，吓死人了",
    "{b}楼下有人拿着刀吵架，快报警",
    "{b}有人打起来了，见血了",
    "有人在{b}{u}挨家撬锁，{now}就在楼道里",
    "{place}有个男的一直跟着小女孩，很不对劲，赶紧来人",
    "{kin}一个人在家，打电话不接，敲门也不开，担心出事",
    "{b}顶楼有人站在边上，好像要跳",
    "{b}有人家里传来呼救声",
])
add("urgent", True, True, "fraud", [
    "{kin}{now}给一个自称客服的人转了两万，怎么办",
    "{kin}刚把钱转到一个安全账户，对方说是公安局的，是不是上当了",
    "{kin}正在跟一个说是银行的人打电话，让她把存款转出来，快来人拦一下",
    "{kin}接到电话说我出车祸了要打钱，他已经去银行了",
    "{kin}被人拉进一个群说投资稳赚，{now}已经转了五万",
    "对方冒充快递理赔，我{now}把验证码给他了，卡里钱没了",
    "{kin}在ATM机那里一边打电话一边转账，拦不住",
])
add("urgent", True, True, "fire", [
    "{place}有辆电动车在冒烟",
    "{b}{u}楼道里全是烟，不知道哪家的",
    "{b}楼上一股焦糊味，烟从窗户冒出来了",
    "{place}的充电桩那边烧起来了",
    "{b}有家阳台上冒火星子",
    "闻到好大的煤气味，在{b}{u}三楼",
    "{b}{u}有家门缝里往外冒烟，敲门没人",
    "{place}的配电箱噼里啪啦冒火花",
])
add("urgent", True, True, "property", [
    "{b}{u}水管爆了，水哗哗往楼下流",
    "{b}地下室进水了，水越来越深",
    "{b}{u}电梯门开着但是轿厢不在，太危险了",
    "{b}外墙的瓷砖掉下来了，差点砸到人",
    "{place}有根电线断了掉在地上还在冒火花",
    "大风把{b}楼顶的铁皮刮下来了，正往下掉",
])
add("urgent", True, True, "dogs", [
    "{place}有条{pet}咬了小孩，腿上都是血",
    "一条没拴绳的{pet}在{place}追着人咬，快来人",
])
add("urgent", True, True, "fire", [  # with a word from the urgent list
    "{b}着火了快打119",
    "{place}起火了！！",
    "{b}{u}煤气泄漏了，大家别开火",
])
add("urgent", True, True, "security", [
    "救命 {b}{u}有人拿刀",
    "{place}有人抢劫",
])
add("urgent", True, True, "fraud", [
    "{kin}正在被骗，对方还在电话里",
])

# ---- problem reports that ask for action without a question word ------------------------
add("problem", True, False, "property", [
    "垃圾{days}没人收了，{b}楼下臭得不行",
    "{b}暖气一直不热，报修三次了还是没人来",
    "{b}{u}电梯又停了，老人上不去楼",
    "{b}楼道灯坏了{days}，晚上黑漆漆的",
    "{place}的井盖松了，踩上去咣当咣当响",
    "{b}{u}的单元门关不上了，谁都能进",
    "{place}路灯不亮{days}了",
    "楼顶水箱的水发黄，{b}家家都这样",
    "{b}楼下的化粪池又冒了，味道冲天",
    "{place}的积水一直排不出去，孩子们都过不去",
    "物业保安晚上都不在岗，{place}根本没人",
    "{b}{u}的消防栓被人拆了",
    "家里水压特别小，{b}高层都这样{days}了",
    "我的快递被别人拿走了，快递柜显示已取件",
    "{place}的门禁坏了{days}，外卖随便进",
    "{b}{u}楼道的窗户玻璃碎了，风呼呼往里灌",
])
add("problem", True, False, "fire", [
    "{b}{u}的消防通道被一堆旧家具堵死了",
    "{b}有人从楼上拉电线下来给电动车充电",
    "{b}{u}楼道里停满了电动车，过都过不去",
    "{place}的灭火器都过期了",
    "{b}一楼有人家往楼道里堆纸箱子，一点就着",
])
add("problem", True, False, "noise", [
    "楼下{shop}的油烟全往我们{b}窗户里灌",
    "{b}楼上天天半夜拖椅子，孩子都没法睡",
    "{place}跳舞的音响开到晚上十点，受不了",
    "{b}旁边工地凌晨三点还在打桩",
    "{b}{u}有家天天装修从早敲到晚，周末也不停",
    "楼上的空调外机滴水，吵得一晚上睡不着",
    "{place}的KTV每天闹到两点",
])
add("problem", True, False, "dogs", [
    "{b}有人遛{pet}从来不拴绳，{child}吓哭了",
    "{place}满地狗粪，没人清理",
    "对门养的{pet}天天半夜叫",
    "{b}楼道里有人养了一只大狗，进出都得绕着走",
])
add("problem", True, False, "security", [
    "我的{item}放在{place}被人偷了",
    "{b}楼下停的车被人划了一长道",
    "最近{place}老有陌生人转悠，挨个看电动车",
    "{b}{u}门口的监控是坏的，一直没人修",
    "昨晚{place}的{item}丢了好几个",
    "晚上有人在{place}翻垃圾桶偷东西",
    "总有推销的人混进{b}挨家敲门",
])
add("problem", True, False, "property", [
    "{place}的车乱停，把消防车道都占了",
    "有辆车停在{b}门口三天没动，挡着出口",
    "{place}的地锁被人拔了，车位被占",
    "{b}顶楼漏雨，墙都泡了",
])

# ---- implicit requests ------------------------------------------------------------------
add("request", True, False, "household", [
    "想了解一下{doc}的办理流程",
    "想预约一下民警，帮{kin}办{doc}",
    "麻烦民警告诉我办{doc}要带的材料",
    "求一个办{doc}的窗口电话",
    "我想给{child}上户口，麻烦指导一下",
    "{kin}的{doc}过期了，想续一下",
    "麻烦帮我查一下{doc}办好了没有",
    "想开个{doc}，上学要用",
    "家里老人户口想迁过来，求指点",
    "需要开一个{doc}给单位",
])
add("request", True, False, "property", [
    "麻烦物业看一下{b}{u}的电梯",
    "麻烦物业来{b}修一下楼道灯",
    "求一个物业维修师傅的电话",
    "想预约物业上门看看我家的水管",
    "麻烦物业把{place}的垃圾清一下",
    "{b}的门禁卡丢了，想补办一张",
    "想申请一个{place}的车位",
    "麻烦保安晚上多巡逻一下{place}",
    "家里马桶堵了，求推荐靠谱的师傅",
    "想要一份停车收费标准",
])
add("request", True, False, "security", [
    "想调一下{place}昨天晚上的监控",
    "麻烦民警查一下{place}的监控，我的{item}丢了",
    "想举报{b}有人群租",
    "想反映一下{place}晚上总有人聚众喝酒",
])
add("request", True, False, "fraud", [
    "{kin}收到一条中奖短信，麻烦帮忙看看",
    "想请民警给我们楼的老人讲讲防诈骗",
    "收到一个陌生链接说是退税的，求帮忙鉴定",
])
add("request", True, False, "dogs", [
    "想给家里的{pet}办个狗证",
    "麻烦管一下{b}那家不拴绳的{pet}",
])
add("request", True, False, "other", [
    "想找社区开个证明",
    "求一个社区居委会的电话",
    "想报名社区的老年大学",
    "麻烦告知一下社区活动室的开放时间",
], mention=False)

# ---- plain questions for staff (Mandarin), including 去哪/在哪/找谁/多少钱 without 哪里 ----
add("question", True, False, "household", [
    "{child}上学需要开{doc}，去哪开",
    "办{doc}在哪办",
    "办{doc}找谁",
    "补办{doc}多少钱",
    "{doc}要多久能拿到",
    "{doc}过期了还能用不能用",
    "请问办{doc}需要带什么",
    "{kin}户口迁过来要什么手续",
    "派出所周末上班吗",
    "外地人在这边能办{doc}吗",
    "{doc}丢了咋办",
    "办{doc}得本人去吗",
    "新生儿上户口去派出所哪个窗口",
    "户籍室几点下班",
])
add("question", True, False, "property", [
    "{b}什么时候来暖气",
    "物业费在哪交",
    "{place}的车位一个月多少钱",
    "{util}到几点",
    "{b}的电梯啥时候能修好",
    "装修垃圾放哪",
    "快递柜满了快递放哪",
    "门禁卡找谁办",
    "{b}为啥又停水了",
    "水费去哪交",
])
add("question", True, False, "security", [
    "{place}的监控能看回放吗",
    "{item}丢了报警有用吗",
    "外来车辆能随便进小区吗",
    "晚上大门几点关",
])
add("question", True, False, "fraud", [
    "接到电话说我医保卡被冻结了，是真的吗",
    "有人加我微信说能贷款，靠谱吗",
    "刷单返利是骗子吧",
])
add("question", True, False, "dogs", [
    "狗证在哪办",
    "养{pet}需要登记吗",
    "小区里遛狗有规定吗",
])
add("question", True, False, "noise", [
    "装修几点以后不能干活",
    "晚上跳广场舞有时间规定没",
])
add("question", True, False, "other", [
    "社区医院几点开门",
    "疫苗在哪打",
    "老年证找谁办",
    "社区食堂一顿多少钱",
])
add("question", True, False, "household", [
    "@{officer} 我{kin}的户口问题想当面问一下",
    "@{officer} {doc}的事我昨天发的消息您看到没",
], mention=True)
add("question", True, False, "property", [
    "@物业 {b}的电梯你们看一下",
    "@物业小王 我家楼上漏水到我家",
], mention=True)

# ---- north-western (Qinghai) dialect ----------------------------------------------------
add("dialect", True, False, "household", [
    "{doc}阿么办俩",
    "办{doc}阿门办",
    "{doc}哪塔办",
    "{doc}能办不",
    "办{doc}要带个啥",
    "{doc}丢掉了，阿么弄俩",
    "派出所今个上班不",
    "娃娃的户口阿么上",
    "{kin}的{doc}到期了，续去哪塔续俩",
    "这个证明开去要做啥",
    "派出所在哪塔俩",
])
add("dialect", True, False, "property", [
    "{b}电梯又坏掉了，阿么个弄",
    "暖气阿门还不热",
    "物业的电话多少，谁亮清",
    "{util}到几时俩",
    "水费哪塔交",
    "垃圾{days}没人拉了，臭死俩，物业管不管",
    "{b}楼道灯坏掉了，阿门没人修",
    "车位能租不",
])
add("dialect", True, False, "security", [
    "我的{item}叫人偷掉了，阿么办",
    "{place}有几个人转着看车着，不对劲",
    "监控能看不",
])
add("dialect", True, False, "dogs", [
    "{b}的{pet}天天叫着，阿么睡俩",
    "狗证哪塔办",
])
add("dialect", True, False, "fraud", [
    "{kin}接了个电话叫转钱俩，这是不是骗子",
    "说我中奖了叫交钱，这个能信不",
])
add("dialect", False, False, "none", [
    "今个天气好得很",
    "{nb}，你们吃了没",
    "我阿么知道呢，我也刚来",
    "尕娃们放学了没",
    "这个{food}香得很",
    "你们做啥着俩",
    "{nb}，晚上喝茶来不",
    "下雪了，出门慢慢走",
    "阿么这么热俩今个",
    "好着呢好着呢",
])
add("dialect", True, True, "security", [
    "{child}寻不着了，{place}谁看见了",
    "{kin}跌倒了起不来俩，快来人",
])

# ---- social questions between neighbours: questions, but not for staff ------------------
add("social", False, False, "none", [
    "{nb}，晚上一起打羽毛球吗？",
    "{nb}，明天一起去{shop}不",
    "谁家有多余的{food}，换点给我呗",
    "有没有人一起拼车去机场",
    "谁家孩子明天一起去上学",
    "{nb}你家{child}几年级了",
    "有人周末去爬山吗",
    "哪个{shop}的东西便宜",
    "谁有好的钢琴老师推荐",
    "楼下新开的{shop}好吃吗",
    "有没有人要团购{food}？",
    "{nb}，你家今晚包{food}吗，我来蹭一顿",
    "谁家有梯子借用一下",
    "有人知道附近哪里有修鞋的吗",
    "{nb}你那个{food}在哪买的",
    "大家晚上几点去跳舞",
    "明天有人去{shop}吗，帮我带点菜",
    "谁家的猫这么可爱",
    "{nb}你家装修找的哪个师傅，好不好",
    "有没有一起遛娃的",
    "周末去哪玩好",
    "今天谁去接孩子",
])

# ---- relayed notices --------------------------------------------------------------------
add("notice", False, False, "none", [
    "转发：{when}{b}{util}，请大家提前做好准备",
    "【通知】{when}{util}，给大家带来不便敬请谅解",
    "转：社区{when}在{place}开展免费义诊",
    "通知：{when}进行{util}，请各位业主相互转告",
    "转发物业通知：{when}{b}电梯保养，请走楼梯",
    "各位邻居，社区通知{when}在{place}集中办理{doc}",
    "转发：关于开展冬季消防安全检查的通知，请大家配合",
    "温馨提示：天气转冷，请大家注意用火用电安全",
    "转发派出所提醒：凡是让你转账到安全账户的都是诈骗",
    "【物业】{when}将对{place}进行绿化修剪",
    "转发：{when}{util}，请储备好用水",
    "接上级通知，{when}开展入户燃气安全检查，请家中留人",
    "居委会通知：本月老年人高龄补贴开始申报了",
    "转给大家：如何识别冒充公检法的诈骗电话",
])

# ---- rhetorical remarks, complaints that are chatter, exclamations ----------------------
add("rhetorical", False, False, "none", [
    "有没有搞错，这么热的天",
    "这还用问吗",
    "谁不想早点下班啊",
    "哪有那么好的事",
    "这天气怎么这么热啊",
    "我怎么这么倒霉",
    "你说这日子过得多快",
    "孩子又考了第一，怎么这么争气",
    "这不是明摆着的吗",
    "谁知道呢，随缘吧",
    "这有什么好吵的，大家各退一步",
    "能不能别刷屏了哈哈",
    "为什么我家的花养不活，唉",
    "难道不是吗",
    "何必呢",
    "怎么可能嘛",
    "又是周一，怎么这么快",
    "这年头谁还不会网购",
])

# ---- 吗 written for 嘛 (statements, not questions) --------------------------------------
add("ma", False, False, "none", [
    "我早就说了吗，要带伞",
    "你看吗，就是这样",
    "这不挺好的吗，大家都满意",
    "快来吗，就等你了",
    "吃吗，刚出锅的{food}",
    "别客气吗，都是邻居",
    "慢慢来吗，不着急",
    "我说吗，他肯定会来",
    "试试吗，又不要钱",
    "就这样吗，挺好",
])

# ---- English and mixed lines ------------------------------------------------------------
add("english", True, False, "household", [
    "Where do I apply for a {en_doc}",
    "how long does a {en_doc} take",
    "Need a {en_doc} for school, who do I ask",
    "I'd like to know the documents for a {en_doc}",
    "请问 {en_doc} 在哪里办",
    "办{doc}要 appointment 吗",
])
add("english", True, False, "property", [
    "The lift in {en_place} is broken again",
    "No hot water in {en_place} since yesterday",
    "Could property management fix the light in {en_place}",
    "rubbish not collected for {days} lol it stinks",
    "{en_place}的 light 坏了",
    "物业 can someone check the leak in {en_place}",
])
add("english", True, False, "security", [
    "someone stole my bike from {en_place}",
    "Strangers keep walking around {en_place} at night, please check",
    "my parcel was taken by someone else",
])
add("english", True, True, "security", [
    "A kid is missing near {en_place}, please help",
    "{en_kin} fell down in {en_place} and can't get up",
    "someone is stuck in the lift in {en_place}",
    "A man is trying car doors in {en_place} right now",
    "{en_kin} just transferred money to a caller claiming to be police",
])
add("english", True, True, "fire", [
    "Smoke coming out of a scooter in {en_place}",
    "burning smell in {en_place}, smoke everywhere",
])
add("english", False, False, "none", [
    "Thanks {en_nb}, see you tomorrow",
    "{en_nb}, badminton tonight?",
    "Anyone up for hotpot this weekend?",
    "Good morning everyone",
    "haha that's so true",
    "What a lovely day",
    "FYI: water off tomorrow 9 to 12 in {en_place}",
    "Reminder from the office: beware of fake police calls",
    "ok thanks",
    "{en_nb} where did you buy those dumplings",
    "谢谢 everyone",
    "周末 party 谁来",
    "who wants to join the running group",
    "lol who doesn't",
])

# ---- typos and voice-to-text run-ons ----------------------------------------------------
add("runon", True, False, "household", [
    "那个我想问一下就是{child}上学那个{doc}在那里开就是派出所还是社区",
    "喂喂就是{kin}的{doc}过期了然后要怎么弄才能续上",
    "你好我是{b}的就是想问问{doc}办下来大概多久",
    "嗯那个{doc}我上次来没带齐材料这次还要带啥",
])
add("runon", True, False, "property", [
    "喂那个{b}{u}的电梯又不动了然后里面灯也不亮麻烦物业来看看",
    "就是我们家楼上漏水漏到我家天花板了然后找不到楼上的人",
    "那个垃圾{days}没收了然后楼下全是苍蝇你们管一下吧",
    "那个暖气到现在还是凉的我们家老人冻的不行了",
    "我家门口的灯坏了好久了然后晚上出门看不见",
])
add("runon", True, True, "security", [
    "快快快{place}有个人在撬电动车锁我在楼上看见了现在还在",
    "我家{child}刚才还在楼下玩然后一转眼就找不到了大家帮我看看",
    "喂{kin}在楼道里摔了一跤然后叫不醒了",
])
add("runon", False, False, "none", [
    "哈哈哈哈那个视频笑死我了你们看了没有就是那个狗",
    "今天去{shop}买了好多{food}然后回来发现忘买盐了",
    "好的好的收到收到谢谢王警官辛苦了",
    "我跟你说那个{nb}家的孩子考上大学了真厉害",
    "就是说嘛现在东西都涨价了然后工资又不涨",
])

# ---- chatter, greetings, thanks, statements ---------------------------------------------
add("chatter", False, False, "none", [
    "早上好", "大家早", "谢谢{officer}", "辛苦了{officer}", "收到", "好的，谢谢",
    "{nb}生日快乐", "今天天气真好", "哈哈哈哈", "👍👍", "晚安各位", "吃了吗",
    "我家{child}今天第一天上学", "刚包好的{food}，香", "周末愉快", "明天见",
    "已经好了，谢谢物业", "问题解决了，谢谢", "{nb}说得对", "是吗，我都不知道",
    "我刚从{shop}回来，人好多", "楼下的花开了，真好看", "新年快乐，阖家幸福",
    "感谢{officer}上次帮忙", "我也是这么想的",
])


add("chatter", False, False, "none", [
    "电梯修好了，谢谢物业", "昨天停电的事已经解决了", "我到家了，{nb}别等我了",
    "今天{shop}打折，去晚了就没了", "{b}楼下的桂花开了", "我家的{pet}今天打完疫苗了",
    "上次的防诈骗讲座讲得真好", "{nb}，东西放你家门口了", "我们家也收到了，谢谢",
    "{child}今天学会骑车了", "刚看到通知，知道了", "晚上降温，大家多穿点",
    "我在{place}捡到一把钥匙，放保安室了", "{nb}你家快递我帮你拿了", "今天的{food}真不错",
    "下雨了，晾衣服的收一下", "我明天出差，一周后回来", "这个办法好，学到了",
    "物业今天来修过了，挺快的", "多亏了{officer}，钱追回来了", "已经交了，谢谢提醒",
    "好久没在群里说话了", "{nb}家的{child}真懂事", "今天{place}好多人在跳舞",
])
add("social", False, False, "none", [
    "{nb}你到家了没", "{nb}明天早上几点出发", "你们家的{food}怎么做的这么好吃",
    "谁家孩子的外套落在{place}了", "今晚谁家有空一起吃饭", "{nb}你家有充电宝吗，借一下",
    "有人要去{shop}吗，顺路带一下", "{nb}，你那个菜谱发我一下呗", "大家觉得哪个{shop}好",
    "有一起跑步的吗", "谁会修电脑，帮个忙", "{nb}，下午打牌来不来",
])
add("notice", False, False, "none", [
    "@所有人 {when}{util}，请相互转告", "转发：{place}将于{when}封闭施工",
    "社区温馨提醒：雨天路滑，出行注意安全", "物业提醒：请勿在楼道停放电动车",
    "【反诈提醒】陌生链接不要点，验证码不要给", "转发：{when}开展消防演练，听到警报不要惊慌",
])
add("rhetorical", False, False, "none", [
    "谁家不是这样呢", "这谁受得了啊", "有什么办法呢，凑合过吧", "还能怎么样呢",
    "我能说什么呢", "哪有这样的人啊", "你说气人不气人", "这么好的天不出去玩多可惜",
])
add("ma", False, False, "none", [
    "我都说过了吗", "来都来了吗，坐会儿", "就是吗，我也这么想", "不就是{food}吗，我家多的是",
])
add("english", False, False, "none", [
    "Got it, thanks {en_nb}", "see you at the gate", "Happy birthday {en_nb}!",
    "the new shop is great", "我也 agree", "so cute haha",
])


# ---- variation --------------------------------------------------------------------------

TYPOS = [("在", "再"), ("的", "得"), ("已经", "以经"), ("那里", "哪里"), ("哪里", "那里"),
         ("怎么", "怎莫"), ("什么", "什莫"), ("电梯", "电体"), ("物业", "物叶"),
         ("派出所", "派出说"), ("证明", "正明"), ("快递", "快地"), ("垃圾", "拉圾")]
PREFIXES = ["", "", "", "各位，", "请问", "那个，", "你好，", "打扰一下，", "大家好，",
            "[语音转文字] ", "邻居们，"]
SUFFIXES = ["", "", "", "。", "！", "？", "??", "啊", "呀", "😭", "🙏", "～", "...", "！！"]
EN_SUFFIXES = ["", "", "?", ".", "!", " pls", " thx", " 🙏"]


def fill(template: str, rng: random.Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(SLOTS[m.group(1)]), template)


def vary(text: str, kind: str, q: bool, rng: random.Random) -> str:
    latin = text[:1].isascii() and kind == "english"
    if rng.random() < 0.15 and not latin:
        src, dst = rng.choice(TYPOS)
        text = text.replace(src, dst, 1)
    if rng.random() < 0.3:
        text = re.sub(r"[，,。]", rng.choice(["", " ", "，", "  "]), text)
    if latin:
        if rng.random() < 0.3:
            text = text.lower()
        end = rng.choice(EN_SUFFIXES)
        if end == "?" and not q:
            end = ""  # a statement's final mark stays a statement's
        return text.rstrip(".!?") + end
    prefix = rng.choice(PREFIXES)
    if prefix == "请问" and not q:
        prefix = ""
    end = rng.choice(SUFFIXES)
    if end in ("？", "??") and not q and kind not in ("social", "rhetorical", "ma"):
        end = ""
    if text.endswith(("？", "?", "！", "!")):
        end = ""
    return prefix + text + end


def group_id(kind: str, template: str) -> str:
    return kind + "-" + hashlib.sha1(template.encode()).hexdigest()[:8]


def main() -> None:
    rng = random.Random(SEED)
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    # a quarter of each kind's groups (every 4th in hash order) is held back
    held: set[str] = set()
    for kind in dict.fromkeys(t[0] for t in TEMPLATES):
        groups = sorted({group_id(k, tpl) for k, *_, tpl in TEMPLATES if k == kind},
                        key=lambda g: g.rsplit("-", 1)[1])
        held.update(groups[::4])
    for kind, q, urgent, topic, mention, template in TEMPLATES:
        group = group_id(kind, template)
        heldout = group in held
        slots = len(re.findall(r"\{\w+\}", template))
        wanted = 3 + 3 * min(slots, 2) + (3 if urgent else 0) + (3 if not q else 0)
        made = 0
        for _ in range(wanted * 4):
            if made >= wanted:
                break
            text = vary(fill(template, rng), kind, q, rng).strip()
            if text in seen:
                continue
            seen.add(text)
            made += 1
            rows.append({
                "text": text, "question": q, "urgent": urgent, "topic": topic,
                "kind": kind, "mention": mention, "group": group,
                "split": "heldout" if heldout else "train",
            })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for i, row in enumerate(rows, 1):
            f.write(json.dumps({"id": i, **row}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} messages from {len(TEMPLATES)} templates -> {OUT}")


if __name__ == "__main__":
    main()
