"""Complaint texts (投诉内容) as customers write them: one per complaint ticket, in Chinese, varied
phrasing per topic, deterministic by seed.

A complaint's reason (``tickets.complaint_reason``) is a code; its text is what a customer
service agent typed: a topic (上门迟到, 师傅态度, 配件等待, 重复维修, 收费争议 ...) told in one of
several phrasings with the ticket's own product, days, hours and amounts, sometimes with a
greeting, a demand or a call-back number, and sometimes a second grievance of another topic in
passing. The generator knows each text's topic: it writes them to ``truth/complaint_topics.parquet``
beside the tables, so tests can check how well the themes recovered from the text agree with
what was written (``metrics.text``).

Topics are drawn with their own random stream (seeded by the seed and the chunk's first ticket
number), so adding texts left every other generated value as it was.

Every string here must encode in GBK: the messy export writes tickets in it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from aftersales.model import COMPLAINT_REASONS, PRODUCT_CATEGORIES
from pipelines.generate.calendar import SERVICES

# topic -> the complaint reason it tells of
TOPIC_REASON: dict[str, str] = {
    "late_visit": "delay", "slow_handling": "delay", "parts_wait": "delay",
    "technician_attitude": "attitude", "service_attitude": "attitude",
    "repeat_repair": "repeat_failure", "charge_dispute": "charges", "wrong_goods": "wrong_goods",
    "product_quality": "quality", "invoice_gift": "other",
}

# Slots: {cat} product (空调 ...), {d} days, {h} hours, {n} times, {y} yuan, {t} a time of day,
# {w} a weekday.
PHRASES: dict[str, list[str]] = {
    "late_visit": [
        "约好{w}{t}上门，师傅{h}个小时后才到",
        "预约的{t}上门，等了一上午师傅都没来，电话也不接",
        "师傅爽约两次了，说好的时间一直没人上门",
        "约了{w}安装{cat}，结果师傅没来也没通知，白请了一天假",
        "上门时间一改再改，师傅迟到{h}个小时还不道歉",
        "说{d}天内上门，到现在没人来，{cat}还没装",
        "师傅放鸽子，预约时间过了也不来",
        "等师傅等了一整天，最后说今天来不了了",
    ],
    "slow_handling": [
        "报修{d}天了一直没人处理，催了{n}次都说在跟进",
        "工单提交{d}天没有任何进度，客服只会让我等",
        "退款申请{d}天了还没到账，一直说在审核",
        "处理太慢了，{d}天了问题还没解决",
        "反映的问题拖了{d}天没人管，到底什么时候处理",
        "每次催都说加急，{d}天过去了还是没结果",
        "售后一拖再拖，{cat}坏了{d}天没法用",
    ],
    "parts_wait": [
        "师傅说要等配件，等了{d}天配件还没到",
        "{cat}坏了说缺配件，{d}天了还在等货",
        "一直说配件在调货，{d}天没消息",
        "配件缺货要等{d}天，家里{cat}一直不能用",
        "第一次上门说没带配件，又等了{d}天配件才到",
        "等配件等了快{d}天，问什么时候到货都说不清楚",
    ],
    "technician_attitude": [
        "上门的师傅态度很差，问两句就不耐烦",
        "师傅态度恶劣，还跟我吵起来了",
        "师傅干活敷衍，说话很冲，一点都不专业",
        "安装师傅态度差，弄脏了地板也不管",
        "维修师傅全程玩手机，问什么都爱答不理",
        "师傅嫌麻烦，态度很不好，还抱怨路远",
    ],
    "service_attitude": [
        "客服态度很差，说话很不耐烦",
        "打了{n}次客服电话都打不通，好不容易接通了还推诿",
        "客服互相踢皮球，没人负责",
        "客服敷衍了事，问题一直没人解决",
        "在线客服只会复制粘贴，态度冷漠",
        "客服答应回电，结果一直没有回电",
    ],
    "repeat_repair": [
        "{cat}修了{n}次还是坏的，要求换新",
        "上个月刚修好，没几天又坏了",
        "同一个问题反复维修，师傅每次都说修好了",
        "修完不到{d}天又出现同样的故障",
        "已经是第{n}次报修了，还是没修好",
        "{cat}反复出问题，修了又坏，坏了又修",
    ],
    "charge_dispute": [
        "保修期内还收了{y}元上门费",
        "师傅乱收费，材料费比说好的贵了{y}元",
        "说好免费维修，结果收了{y}元还不给发票",
        "安装时额外收费{y}元，事先也没说",
        "收费不透明，配件价格比官网贵很多",
        "{cat}维修收了{y}元，收费标准拿不出来",
        "没修好也收了{y}元检测费",
    ],
    "wrong_goods": [
        "买的{cat}发错型号了，换货又要等",
        "收到的货和下单的不一样，发错货了",
        "少发了配件，{cat}没法安装",
        "发错颜色了，要求重新发货",
        "换货发来的还是错的型号",
        "订单里的赠品漏发了，{cat}型号也不对",
    ],
    "product_quality": [
        "新买的{cat}用了{d}天就坏了",
        "{cat}质量太差，开箱就有划痕",
        "{cat}刚用几天就漏水",
        "{cat}噪音特别大，还有异响",
        "买来不到一个月{cat}就不制冷了",
        "{cat}有质量问题，开机就报故障",
    ],
    "invoice_gift": [
        "发票申请{d}天了一直没开",
        "活动说送的赠品到现在都没收到",
        "要求开增值税专票，一直没人处理",
        "以旧换新的补贴一直没给",
        "延保卡没有寄过来，问了也没人管",
    ],
}
# A second grievance mentioned in passing: short, one mark of its topic.
ASIDES: dict[str, list[str]] = {
    "late_visit": ["而且师傅还迟到了", "上门还迟到"],
    "slow_handling": ["处理也特别慢", "拖了好几天"],
    "parts_wait": ["还说要等配件"],
    "technician_attitude": ["师傅态度也不好"],
    "service_attitude": ["客服态度也很差", "客服电话也打不通"],
    "repeat_repair": ["之前已经修过一次了"],
    "charge_dispute": ["还乱收费"],
    "wrong_goods": ["之前还发错过货"],
    "product_quality": ["产品质量也太差了"],
    "invoice_gift": ["发票也没开"],
}
OPENINGS = ["", "", "", "你好，", "我要投诉，", "投诉：", "客户来电反映：", "用户反映", "您好，我要反映一个问题，"]
CLOSINGS = ["", "", "", "。", "，请尽快处理！", "，要求给个说法。", "，非常不满意！", "，再不处理就打12315投诉。",
            "，要求退款。", "，希望尽快解决。", "，请回电{phone}。", "，联系电话{phone}。"]
TIMES = ["上午9点", "上午10点", "下午2点", "下午3点", "下午4点", "晚上7点", "中午12点"]
WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日", "今天", "明天", "昨天"]
CATEGORY_WORDS = dict(PRODUCT_CATEGORIES)

TOPICS = list(TOPIC_REASON)
ASIDE_P = 0.18  # a second grievance in passing
TEXT_P = 0.93  # the rest are complaints logged without notes


def _topic_weights(reason: str, field_job: np.ndarray, repair: np.ndarray) -> np.ndarray:
    """(n, topics) weights of the topics telling ``reason``, given the ticket's kind."""
    w = np.zeros((len(field_job), len(TOPICS)))
    for j, topic in enumerate(TOPICS):
        if TOPIC_REASON[topic] != reason:
            continue
        if topic == "late_visit":
            w[:, j] = np.where(field_job, 3.0, 0.0)
        elif topic == "parts_wait":
            w[:, j] = np.where(repair, 2.0, 0.0)
        elif topic == "slow_handling":
            w[:, j] = np.where(field_job, 1.0, 3.0)
        elif topic == "technician_attitude":
            w[:, j] = np.where(field_job, 3.0, 0.0)
        elif topic == "service_attitude":
            w[:, j] = np.where(field_job, 1.0, 3.0)
        else:
            w[:, j] = 1.0
    return w


def complaint_texts(stype: np.ndarray, cat: np.ndarray, reason: np.ndarray, complaint: np.ndarray,
                    phone: pl.Series, seed: int, seq0: int) -> tuple[pl.Series, pl.DataFrame]:
    """The complaint text of each ticket (null without a complaint, or a complaint logged without
    notes) and, per text, its ``topic`` and ``aside`` (the second grievance's topic, or null), as
    a frame indexed by the ticket's position (``i``)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 9, seq0]))
    n = len(stype)
    idx = np.flatnonzero(complaint)
    k = len(idx)
    services = np.asarray(SERVICES)
    field_job = np.isin(services[stype[idx]], ["delivery", "install", "repair", "exchange"])
    repair = services[stype[idx]] == "repair"
    reasons = np.asarray(list(COMPLAINT_REASONS), dtype=object)[reason[idx]]
    w = np.zeros((k, len(TOPICS)))
    for r in set(reasons.tolist()):
        sel = reasons == r
        w[sel] = _topic_weights(r, field_job[sel], repair[sel])
    w[w.sum(axis=1) == 0, TOPICS.index("invoice_gift")] = 1.0  # a reason the taxonomy has no topic for
    cum = np.cumsum(w, axis=1)
    topic = np.minimum(((rng.random(k) * cum[:, -1])[:, None] >= cum).sum(axis=1), len(TOPICS) - 1)
    aside = np.where(rng.random(k) < ASIDE_P, rng.integers(0, len(TOPICS), k), -1)
    aside = np.where(aside == topic, -1, aside)
    written = rng.random(k) < TEXT_P
    draws = rng.random((k, 6))
    nums = rng.integers(0, 1 << 30, (k, 7))
    cats = np.asarray(list(CATEGORY_WORDS.values()), dtype=object)[cat[idx]]
    phones = phone.gather(idx).to_list()
    texts: list[str | None] = [None] * n
    for i in range(k):
        if not written[i]:
            continue
        t = TOPICS[topic[i]]
        body = PHRASES[t][int(draws[i, 0] * len(PHRASES[t]))]
        if aside[i] >= 0:
            extra = ASIDES[TOPICS[aside[i]]]
            body += "，" + extra[int(draws[i, 1] * len(extra))]
        opening = OPENINGS[int(draws[i, 2] * len(OPENINGS))]
        closing = CLOSINGS[int(draws[i, 3] * len(CLOSINGS))]
        v = nums[i]
        texts[idx[i]] = (opening + body + closing).format(
            cat=cats[i], d=2 + v[0] % 19, h=2 + v[1] % 6, n=2 + v[2] % 3, y=50 + 10 * (v[3] % 46),
            t=TIMES[v[4] % len(TIMES)], w=WEEKDAYS[v[5] % len(WEEKDAYS)], phone=phones[i])
    keep = idx[written]
    truth = pl.DataFrame({
        "i": pl.Series(keep, dtype=pl.Int64),
        "topic": pl.Series(np.asarray(TOPICS, dtype=object)[topic[written]].astype(str)),
        "aside": pl.Series([TOPICS[a] if a >= 0 else None for a in aside[written]], dtype=pl.String),
    })
    return pl.Series("complaint_text", texts, dtype=pl.String), truth


__all__ = ["ASIDES", "PHRASES", "TOPICS", "TOPIC_REASON", "complaint_texts"]
