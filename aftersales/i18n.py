"""Labels shared by everything that speaks to a manager (the dashboard, the report exports), in
中文 and English: the languages, the words both use, and the coded values' labels.

Each product keeps only its own words beside these (``dashboard/i18n.py``, ``reports/i18n.py``),
so a word both show is defined once here. Chinese code labels come from ``aftersales.model``
(the data model defines them with the codes); their English lives here.
"""

from __future__ import annotations

from typing import Any

from aftersales import model

LANGS = ("zh", "en")
LANG_NAMES = {"zh": "中文", "en": "English"}

Pair = tuple[str, str]  # (中文, English)

# Words the dashboard and the reports both show, identically: key -> (中文, English).
COMMON: dict[str, Pair] = {
    "kpi": ("指标", "KPI"), "target": ("目标", "Target"), "completeness": ("完整度", "Completeness"),
    "count": ("数量", "Count"), "share": ("占比", "Share"), "rank": ("排名", "Rank"),
    "numerator": ("分子", "Numerator"), "denominator": ("分母", "Denominator"),
    "ci_low": ("区间下限", "Interval low"), "ci_high": ("区间上限", "Interval high"),
    "yoy_value": ("去年同期", "Last year"), "yoy_change": ("同比变化", "Change vs last year"),
    "stage": ("环节", "Stage"), "forecast": ("预测", "Forecast"), "yes": ("是", "yes"), "no": ("否", "no"),
    "vs_yoy": ("同比", "vs last year"), "period": ("期间", "Period"),
}

# English labels for the coded values (the Chinese ones are ZH_CODES, from aftersales.model).
EN_CODES: dict[str, dict[str, str]] = {
    "region": {"east": "East", "north": "North", "south": "South", "central": "Central", "southwest": "Southwest",
               "northwest": "Northwest", "northeast": "Northeast"},
    "channel": {"taobao": "Taobao", "tmall": "Tmall", "jd": "JD", "pdd": "Pinduoduo", "douyin": "Douyin",
                "suning": "Suning", "vip": "VIP.com", "weidian": "Weidian", "wechat": "WeChat", "phone": "Phone",
                "store": "In store"},
    "service_type": {"delivery": "Delivery", "install": "Installation", "repair": "Repair", "return": "Return",
                     "exchange": "Exchange", "refund": "Refund", "consult": "Consultation"},
    "status": {"open": "Open", "dispatched": "Dispatched", "in_progress": "In progress", "resolved": "Resolved",
               "closed": "Closed", "cancelled": "Cancelled"},
    "priority": {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"},
    "resolution": {"fixed": "Fixed", "not_fixed": "Not fixed", "replaced": "Replaced", "returned": "Returned",
                   "refunded": "Refunded", "delivered": "Delivered", "installed": "Installed", "answered": "Answered",
                   "cancelled": "Cancelled"},
    "complaint_reason": {"attitude": "Staff attitude", "delay": "Delay", "repeat_failure": "Repeat failure",
                         "charges": "Charges", "wrong_goods": "Wrong goods", "quality": "Product quality",
                         "other": "Other"},
    "outlet_type": {"own": "Own", "outsourced": "Outsourced"},
    "product_category": {"air_conditioner": "Air conditioner", "water_heater": "Water heater", "washer": "Washer",
                         "fridge": "Fridge", "tv": "TV", "kitchen": "Kitchen", "small_appliance": "Small appliance"},
    "visit1_outcome": {"fixed": "Fixed", "not_fixed": "Not fixed", "need_parts": "Waiting for parts",
                       "customer_absent": "Customer absent", "referred": "Referred to factory"},
    "survey_channel": {"sms": "SMS", "wechat": "WeChat", "phone": "Phone"},
    "warranty": {"in": "In warranty", "out": "Out of warranty"},
    "stage": {"first_response": "First response", "resolution": "Resolution", "onsite": "On site"},
    "rule": {"key_present": "Key missing", "required": "Required value missing", "type": "Wrong type",
             "known_value": "Unknown value", "in_range": "Out of range", "order_of_events": "Events out of order",
             "known_reference": "Unknown reference", "duplicate_key": "Duplicate key"},
}
ZH_CODES: dict[str, dict[str, str]] = {
    "region": model.REGIONS, "channel": model.CHANNELS, "service_type": model.SERVICE_TYPES, "status": model.STATUSES,
    "priority": model.PRIORITIES, "resolution": model.RESOLUTIONS, "complaint_reason": model.COMPLAINT_REASONS,
    "outlet_type": model.OUTLET_TYPES, "product_category": model.PRODUCT_CATEGORIES,
    "visit1_outcome": model.VISIT_OUTCOMES, "survey_channel": model.SURVEY_CHANNELS,
    "warranty": model.WARRANTY,
    "stage": {"first_response": "首次响应", "resolution": "完成", "onsite": "上门"},
    "rule": {"key_present": "缺少主键", "required": "必填为空", "type": "类型错误", "known_value": "未知取值",
             "in_range": "超出范围", "order_of_events": "时间先后矛盾", "known_reference": "引用不存在",
             "duplicate_key": "主键重复"},
}


def pick(pair: Pair, lang: str) -> str:
    """The 中文 or English half of a label pair (English for any language but "zh")."""
    return pair[0] if lang == "zh" else pair[1]


def words(table: dict[str, Pair], key: str, lang: str, **kwargs: Any) -> str:
    """``table[key]`` in ``lang`` with its ``{placeholders}`` filled (KeyError when missing)."""
    text = pick(table[key], lang)
    return text.format(**kwargs) if kwargs else text


# Coded columns whose code lists a config file may extend (aftersales.model.VOCABULARIES).
EXTENSIBLE = {"region": "regions", "channel": "channels", "service_type": "service_types", "priority": "priorities",
              "product_category": "product_categories", "complaint_reason": "complaint_reasons"}


def code_label(kind: str, code: Any, lang: str) -> str | None:
    """华东 / East for ``region`` ``east``; None when the code has no label in ``lang``. Codes the
    configuration adds carry their own labels."""
    found = ((ZH_CODES if lang == "zh" else EN_CODES).get(kind) or {}).get(str(code))
    if found is None and kind in EXTENSIBLE:
        pair = model.EXTRA_CODES.get(EXTENSIBLE[kind], {}).get(str(code))
        found = None if pair is None else pair[0] if lang == "zh" else pair[1]
    return found
