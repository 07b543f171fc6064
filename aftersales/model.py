"""The canonical data model, declared once.

The DDL, the column reference in docs/DATA_MODEL.md (``aftersales schema --markdown``) and the
pipeline's validation rules are all derived from these declarations, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REGIONS = {
    "east": "华东", "north": "华北", "south": "华南", "central": "华中",
    "southwest": "西南", "northwest": "西北", "northeast": "东北",
}
CHANNELS = {
    "taobao": "淘宝", "tmall": "天猫", "jd": "京东", "pdd": "拼多多", "douyin": "抖音",
    "suning": "苏宁", "vip": "唯品会", "weidian": "微店", "wechat": "微信公众号/小程序",
    "phone": "电话", "store": "门店",
}
SERVICE_TYPES = {
    "delivery": "配送", "install": "安装", "repair": "维修", "return": "退货",
    "exchange": "换货", "refund": "退款", "consult": "咨询",
}
STATUSES = {
    "open": "待处理", "dispatched": "已派工", "in_progress": "处理中",
    "resolved": "已完成", "closed": "已关闭", "cancelled": "已取消",
}
PRIORITIES = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
RESOLUTIONS = {
    "fixed": "已修复", "not_fixed": "未修复", "replaced": "已换新", "returned": "已退货",
    "refunded": "已退款", "delivered": "已送达", "installed": "已安装", "answered": "已答复",
    "cancelled": "已取消",
}
COMPLAINT_REASONS = {
    "attitude": "服务态度", "delay": "处理超时", "repeat_failure": "重复故障",
    "charges": "乱收费", "wrong_goods": "发错货", "quality": "产品质量", "other": "其他",
}
OUTLET_TYPES = {"own": "自营", "outsourced": "外包"}
PRODUCT_CATEGORIES = {
    "air_conditioner": "空调", "water_heater": "热水器", "washer": "洗衣机", "fridge": "冰箱",
    "tv": "电视", "kitchen": "厨电", "small_appliance": "小家电",
}
VISIT_TYPES = {"onsite": "上门", "workshop": "返厂/送修"}
VISIT_OUTCOMES = {
    "fixed": "已修复", "not_fixed": "未修复", "need_parts": "待配件",
    "customer_absent": "客户不在", "referred": "返厂",
}
SURVEY_CHANNELS = {"sms": "短信", "wechat": "微信", "phone": "电话回访"}
WARRANTY = {"in": "保内", "out": "保外"}  # tickets.in_warranty true / false, as a breakdown

# Open (not yet resolved) ticket statuses, used by backlog and SLA logic.
OPEN_STATUSES = ("open", "dispatched", "in_progress")


def open_now(alias: str = "") -> str:
    """SQL: the ticket is open now, as the backlog KPI counts it at the data's end: an open status
    and no resolution time (a ticket marked resolved or closed is done, with or without its time;
    cancelled tickets are never open). ``alias``: a table alias such as ``t`` (fixed text)."""
    a = f"{alias}." if alias else ""
    return f"({a}resolved_at IS NULL AND {a}status IN ({', '.join(repr(s) for s in OPEN_STATUSES)}))"


# Code lists a config file may extend (`[vocabularies.<name>]`, see aftersales/config.py): the
# built-in codes stay as declared here; `extended()` adds what the config in force declares.
VOCABULARIES: dict[str, dict[str, str]] = {
    "channels": CHANNELS, "service_types": SERVICE_TYPES, "regions": REGIONS, "priorities": PRIORITIES,
    "product_categories": PRODUCT_CATEGORIES, "complaint_reasons": COMPLAINT_REASONS,
}
# name -> {code: (中文, English)} added by the configuration in force (aftersales.config.apply_vocabularies)
EXTRA_CODES: dict[str, dict[str, tuple[str, str]]] = {}


def vocabulary_of(codes: dict[str, str] | None) -> str | None:
    """The extensible vocabulary a built-in code list is, or None (statuses, resolutions ... are fixed)."""
    for name, builtin in VOCABULARIES.items():
        if codes is builtin:
            return name
    return None


def extended(codes: dict[str, str] | None) -> dict[str, str] | None:
    """A code list (code -> 中文) with the codes the configuration adds to it."""
    name = vocabulary_of(codes)
    if codes is None or name is None or not EXTRA_CODES.get(name):
        return codes
    return {**codes, **{code: zh for code, (zh, _en) in EXTRA_CODES[name].items()}}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    doc: str
    zh: str = ""
    required: bool = False
    allowed: dict[str, str] | None = None  # code -> Chinese label
    min: float | None = None  # inclusive scale bounds, checked as rule `in_range`
    max: float | None = None
    references: tuple[str, str] | None = None  # (table, column) checked as rule `known_reference`
    personal: bool = False  # masked in every export


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    zh: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    optional: bool = False
    # Pairs (earlier, later): `later` must not be before `earlier` (rule `order_of_events`).
    ordered: tuple[tuple[str, str], ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}; columns: {', '.join(self.column_names)}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


C = Column
TABLES: dict[str, Table] = {}


def _table(t: Table) -> None:
    TABLES[t.name] = t


_table(Table("outlets", "Service outlets (网点): own branches and outsourced agents.", "服务网点", ("outlet_id",), (
    C("outlet_id", "VARCHAR", "Outlet code, unique across the firm.", "网点编码", required=True),
    C("outlet_name", "VARCHAR", "Display name.", "网点名称"),
    C("region", "VARCHAR", "Sales region.", "大区", required=True, allowed=REGIONS),
    C("city", "VARCHAR", "City the outlet serves (Chinese name).", "城市", required=True),
    C("city_tier", "TINYINT", "City tier 1..4.", "城市等级", min=1, max=4),
    C("outlet_type", "VARCHAR", "Own branch or outsourced agent.", "网点类型", required=True, allowed=OUTLET_TYPES),
    C("opened_on", "DATE", "Date the outlet started service.", "开业日期"),
)))
_table(Table("technicians", "Technicians (师傅) and the outlet they work for.", "技师", ("technician_id",), (
    C("technician_id", "VARCHAR", "Technician code.", "师傅工号", required=True),
    C("technician_name", "VARCHAR", "Name.", "师傅姓名"),
    C("outlet_id", "VARCHAR", "Outlet employing the technician.", "所属网点", required=True,
      references=("outlets", "outlet_id")),
    C("skills", "VARCHAR", "Comma-separated service types the technician does, e.g. install,repair.", "技能"),
    C("skill_level", "TINYINT", "1 (junior) .. 5 (senior).", "技能等级", min=1, max=5),
    C("hired_on", "DATE", "Hiring date.", "入职日期"),
    C("active", "BOOLEAN", "Currently employed and available for dispatch.", "在职"),
)))
_table(Table("products", "Product models and their category.", "产品", ("product_model",), (
    C("product_model", "VARCHAR", "Model number as printed on the product.", "产品型号", required=True),
    C("product_category", "VARCHAR", "Category.", "产品品类", required=True, allowed=PRODUCT_CATEGORIES),
    C("brand", "VARCHAR", "Brand.", "品牌"),
)))
_table(Table("tickets", "Service tickets (工单), one per customer request.", "工单", ("ticket_id",), (
    C("ticket_id", "VARCHAR", "Ticket number, unique across sources.", "工单号", required=True),
    C("channel", "VARCHAR", "Channel the request came from.", "渠道", required=True, allowed=CHANNELS),
    C("service_type", "VARCHAR", "Kind of service asked for.", "服务类型", required=True, allowed=SERVICE_TYPES),
    C("priority", "VARCHAR", "Dispatch priority.", "优先级", allowed=PRIORITIES),
    C("status", "VARCHAR", "Current status.", "工单状态", required=True, allowed=STATUSES),
    C("outlet_id", "VARCHAR", "Outlet the ticket was dispatched to.", "服务网点", references=("outlets", "outlet_id")),
    C("technician_id", "VARCHAR", "Technician assigned at dispatch.", "服务师傅",
      references=("technicians", "technician_id")),
    C("product_model", "VARCHAR", "Product model concerned.", "产品型号"),
    C("customer_id", "VARCHAR", "Customer key (stable across tickets; used for repeat repairs).", "客户编号"),
    C("customer_name", "VARCHAR", "Customer name. Personal data: masked in exports.", "客户姓名", personal=True),
    C("customer_phone", "VARCHAR", "Customer phone. Personal data: masked in exports.", "联系电话", personal=True),
    C("order_id", "VARCHAR", "Channel order number, if any.", "订单号"),
    C("created_at", "TIMESTAMP", "When the ticket was opened (录单).", "创建时间", required=True),
    C("first_response_at", "TIMESTAMP", "First contact with the customer.", "首次响应时间"),
    C("dispatched_at", "TIMESTAMP", "When dispatched to an outlet/technician (派工).", "派工时间"),
    C("resolved_at", "TIMESTAMP", "When the service was completed (完成). Empty while open.", "完成时间"),
    C("closed_at", "TIMESTAMP", "When the ticket was closed (结单).", "结单时间"),
    C("resolution", "VARCHAR", "How the ticket ended.", "处理结果", allowed=RESOLUTIONS),
    C("is_complaint", "BOOLEAN", "The ticket is, or carries, a complaint (投诉).", "是否投诉"),
    C("complaint_reason", "VARCHAR", "Reason of the complaint.", "投诉原因", allowed=COMPLAINT_REASONS),
    C("reopened_at", "TIMESTAMP", "First reopening after resolution, if any.", "重开时间"),
    C("reopen_count", "INTEGER", "Times the ticket was reopened after resolution, as the source counts them "
      "(0 = never). Feeds the reopen and first-time-fix rates where no reopening time is known.", "重开次数",
      min=0, max=1000),
    C("reassign_count", "INTEGER", "Times the ticket was passed to another outlet, group or technician, as the "
      "source counts them.", "转派次数", min=0, max=1000),
    C("sla_met_source", "BOOLEAN", "The source system's own verdict: the resolution SLA was met (true) or "
      "breached (false). Used by SLA compliance instead of the configured limits where present.", "来源SLA达成"),
    C("refund_requested_at", "TIMESTAMP", "Refund requested (refund tickets).", "退款申请时间"),
    C("refunded_at", "TIMESTAMP", "Refund paid out.", "退款时间"),
    C("refund_amount", "DECIMAL(12,2)", "Amount refunded, yuan.", "退款金额", min=0),
    # cost of service: who pays (added later; older databases gain them, see upgrade_statements)
    C("in_warranty", "BOOLEAN", "The service is covered by warranty (保内: the firm bears its cost); false: out of "
      "warranty (保外: the customer pays for parts and labour). Empty where it does not apply or is not known.",
      "是否保内"),
    C("customer_charge", "DECIMAL(12,2)", "Amount charged to the customer for the service (out-of-warranty parts, "
      "labour and visit fee), yuan; 0 when nothing was charged.", "收费金额", min=0),
    C("updated_at", "TIMESTAMP", "Last change in the source system, as exported.", "更新时间"),
    # complaint insight (issue 15 item 4): added after the columns above, so old databases gain it
    # at the end of the table (upgrade_statements)
    C("complaint_text", "VARCHAR", "What the customer complained about, as recorded (free text). May hold phone "
      "numbers: runs of digits are masked in exports.", "投诉内容", personal=True),
), ordered=(("created_at", "first_response_at"), ("created_at", "dispatched_at"), ("created_at", "resolved_at"),
            ("resolved_at", "closed_at"), ("resolved_at", "reopened_at"), ("refund_requested_at", "refunded_at"))))
_table(Table("visits", "Repair and service visits (上门/维修); a ticket may have several.", "服务记录", ("visit_id",), (
    C("visit_id", "VARCHAR", "Visit number.", "服务记录号", required=True),
    C("ticket_id", "VARCHAR", "Ticket served.", "工单号", required=True, references=("tickets", "ticket_id")),
    C("visit_no", "TINYINT", "1 for the ticket's first visit, 2 for the second ...", "第几次上门", required=True, min=1, max=50),
    C("technician_id", "VARCHAR", "Technician who did the visit.", "服务师傅",
      references=("technicians", "technician_id")),
    C("visit_type", "VARCHAR", "On site or workshop.", "服务方式", allowed=VISIT_TYPES),
    C("started_at", "TIMESTAMP", "Arrival / start of work.", "开始时间", required=True),
    C("ended_at", "TIMESTAMP", "End of work.", "结束时间"),
    C("travel_minutes", "SMALLINT", "Travel time to the customer, minutes.", "路途时间(分钟)", min=0, max=1440),
    C("outcome", "VARCHAR", "Result of the visit.", "上门结果", allowed=VISIT_OUTCOMES),
), ordered=(("started_at", "ended_at"),)))
_table(Table("parts_used", "Spare parts used on a visit (配件使用).", "配件使用", ("visit_id", "part_no"), (
    C("visit_id", "VARCHAR", "Visit the part was used on.", "服务记录号", required=True, references=("visits", "visit_id")),
    C("part_no", "VARCHAR", "Part number.", "配件编码", required=True),
    C("ticket_id", "VARCHAR", "Ticket (denormalised from the visit, for convenience).", "工单号"),
    C("quantity", "INTEGER", "Quantity used.", "数量", required=True, min=1, max=1000),
    C("unit_cost", "DECIMAL(12,2)", "Cost per unit, yuan.", "单价", min=0),
)))
_table(Table("surveys", "Customer survey responses (回访).", "回访", ("survey_id",), (
    C("survey_id", "VARCHAR", "Response id.", "回访编号", required=True),
    C("ticket_id", "VARCHAR", "Ticket the response is about.", "工单号", required=True, references=("tickets", "ticket_id")),
    C("responded_at", "TIMESTAMP", "When the customer answered.", "回访时间", required=True),
    C("satisfaction", "TINYINT", "Satisfaction on 1..5 (5 = very satisfied).", "满意度", min=1, max=5),
    C("nps", "TINYINT", "Likelihood to recommend, 0..10.", "推荐意愿(NPS)", min=0, max=10),
    C("comment", "VARCHAR", "Free-text comment.", "评价内容"),
    C("survey_channel", "VARCHAR", "How the survey was taken.", "回访方式", allowed=SURVEY_CHANNELS),
)))
_table(Table("orders_daily", "Optional: orders per day, channel and category (for rates per 1,000 orders).",
             "订单量", ("order_date", "channel", "product_category"), (
    C("order_date", "DATE", "Order day.", "日期", required=True),
    C("channel", "VARCHAR", "Sales channel.", "渠道", required=True, allowed=CHANNELS),
    C("product_category", "VARCHAR", "Category.", "产品品类", required=True, allowed=PRODUCT_CATEGORIES),
    C("orders", "INTEGER", "Number of orders.", "订单数", required=True, min=0),
), optional=True))
_table(Table("parts_inventory", "Optional: spare-part master and stock position.", "配件库存", ("part_no",), (
    C("part_no", "VARCHAR", "Part number.", "配件编码", required=True),
    C("part_name", "VARCHAR", "Name.", "配件名称"),
    C("product_category", "VARCHAR", "Category the part serves.", "产品品类", allowed=PRODUCT_CATEGORIES),
    C("unit_cost", "DECIMAL(12,2)", "Cost per unit, yuan.", "单价", min=0),
    C("lead_time_days", "SMALLINT", "Replenishment lead time, days.", "补货周期(天)", required=True, min=0, max=365),
    C("on_hand", "INTEGER", "Units on hand at `as_of`.", "库存数量", required=True, min=0),
    C("as_of", "DATE", "Date of the stock count.", "盘点日期"),
), optional=True))

# Tables the pipeline derives from the ones above after every load (pipelines/derive.py), so the
# metrics read one table per base instead of joining per query. Never loaded from files.
DERIVED: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "ticket_facts": ("One row per ticket: every `tickets` column plus these, sorted by created quarter, outlet, time.", (
        ("region, city, outlet_type", "VARCHAR", "The ticket's outlet's (`outlets`)."),
        ("product_category", "VARCHAR", "The ticket's product model's (`products`)."),
        ("visit1_outcome, visit1_started_at", "VARCHAR, TIMESTAMP", "The first visit's (visit_no 1) outcome and start."),
        ("has_visit1", "BOOLEAN", "A first visit is recorded."),
        ("next_repair_at", "TIMESTAMP", "Repair tickets: the same customer's next repair ticket of the same model "
                                        "created after this one was resolved."),
        ("has_survey", "BOOLEAN", "A survey response exists for the ticket."),
        ("visit_count, visits_unended, onsite_visits, visit_travel_minutes", "BIGINT",
         "The ticket's visits: all, those without a valid end, those not in the workshop; their travel minutes."),
        ("visit_us", "BIGINT", "The ticket's visit time (ended_at − started_at of the visits with a valid end), "
                               "microseconds."),
        ("visit_parts_cost, parts_uncosted", "DECIMAL(18,2), BIGINT",
         "Parts used on the ticket's visits: Σ quantity × unit_cost, and how many lack a unit cost."),
    )),
    "survey_facts": ("Every `surveys` column plus the ticket's breakdown columns, sorted by responded_at.", (
        ("outlet_id, technician_id, channel, service_type, product_model, priority, complaint_reason, region, "
         "city, outlet_type, product_category", "VARCHAR", "The ticket's (and its outlet's and product's)."),
    )),
    "part_facts": ("Every `parts_used` column plus its visit's and ticket's, sorted by the visit's start.", (
        ("ticket_id, started_at", "VARCHAR, TIMESTAMP", "The visit's ticket and start."),
        ("technician_id", "VARCHAR", "The visit's technician, else the ticket's."),
        ("outlet_id, channel, service_type, product_model, priority, complaint_reason, region, city, outlet_type, "
         "product_category", "VARCHAR", "The ticket's (and its outlet's and product's)."),
    )),
}

# Load order: referenced tables first, so references inside one `aftersales load` resolve.
LOAD_ORDER = ["outlets", "technicians", "products", "parts_inventory", "orders_daily",
              "tickets", "visits", "parts_used", "surveys"]

SYSTEM_COLUMNS = "_version BIGINT, _row_hash UBIGINT, _load_id BIGINT"
# Added to databases created before them (the columns above are what CREATE TABLE makes).
LATER_SYSTEM_COLUMNS = (("_tie", "BIGINT"),)  # a mapping's tie-break value (see docs/MAPPING.md)


def ddl() -> str:
    """CREATE statements for every canonical table (keys are enforced by the pipeline's merge,
    not by DuckDB indexes, which would slow 10M-row loads several-fold)."""
    parts = []
    for t in TABLES.values():
        cols = ",\n    ".join(f"{c.name} {c.type}" for c in t.columns)
        later = "".join(f",\n    {name} {typ}" for name, typ in LATER_SYSTEM_COLUMNS)
        parts.append(f"CREATE TABLE IF NOT EXISTS {t.name} (\n    {cols},\n    {SYSTEM_COLUMNS}{later}\n);")
    return "\n".join(parts)


def upgrade_statements() -> list[tuple[str, tuple[str, str]]]:
    """(ALTER statement, (table, column)) adding each column, for databases created by an earlier
    version that lack it (new columns land at the end of the table; every reader names its columns)."""
    out = []
    for t in TABLES.values():
        for name, typ in [(c.name, c.type) for c in t.columns] + list(LATER_SYSTEM_COLUMNS):
            out.append((f"ALTER TABLE {t.name} ADD COLUMN IF NOT EXISTS {name} {typ};", (t.name, name)))
    return out


def markdown() -> str:
    """The column reference: what a person reads to write a mapping file."""
    lines = ["# The canonical data model", "",
             "Generated from `aftersales/model.py` by `aftersales schema --markdown`; do not edit by hand.", "",
             "All timestamps are wall-clock times in the business time zone (config `timezone`, default",
             "Asia/Shanghai). Coded columns take the codes listed; a mapping file's `values:` turns a",
             "source's own labels (for example 已完成) into them. Channels, service types, regions, priorities,",
             "product categories and complaint reasons also take the codes a config file adds",
             "(`[vocabularies]`, see docs/MAPPING.md). Keys are unique: loading a row whose key exists updates",
             "the record (the higher `_version`, then the mapping's tie-break, wins; see docs/MAPPING.md).", ""]
    for t in TABLES.values():
        opt = " (optional)" if t.optional else ""
        lines += [f"## `{t.name}` — {t.zh}{opt}", "", t.doc, "", f"Key: `{', '.join(t.key)}`", "",
                  "| column | 中文 | type | required | rules | description |", "|---|---|---|---|---|---|"]
        for c in t.columns:
            rules = []
            if c.allowed:
                rules.append("one of " + ", ".join(f"`{k}` {v}" for k, v in c.allowed.items()))
            if c.min is not None or c.max is not None:
                rules.append(f"in [{c.min if c.min is not None else '−∞'}, {c.max if c.max is not None else '∞'}]")
            if c.references:
                rules.append(f"must exist in `{c.references[0]}.{c.references[1]}`")
            for earlier, later in t.ordered:
                if c.name == later:
                    rules.append(f"not before `{earlier}`")
            lines.append(f"| `{c.name}` | {c.zh} | {c.type} | {'yes' if c.required or c.name in t.key else ''} | "
                         f"{'; '.join(rules)} | {c.doc} |")
        lines.append("")
    lines += ["## Derived tables", "",
              "Rebuilt from the tables above by every load (`pipelines/derive.py`, incrementally: only the tickets the",
              "load touched), inside the load's transaction; never loaded from files. The metrics read these.", ""]
    for name, (doc, cols) in DERIVED.items():
        lines += [f"### `{name}`", "", doc, "", "| columns | type | description |", "|---|---|---|"]
        lines += [f"| {', '.join(f'`{c}`' for c in names.split(', '))} | {typ} | {text} |" for names, typ, text in cols]
        lines.append("")
    return "\n".join(lines)
