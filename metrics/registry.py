"""Every KPI, declared once.

A KPI is a set of *measures* (a numerator and a denominator, a sum and a count, or the values a
quantile is taken over), never a rate stored ahead of time, so it re-aggregates at any grain and
any breakdown. Everything else that reads a KPI (SQL generation, the CLI, the dashboard, report
exports, tests) reads it from here.

The SQL fragments below (`scope`, `num`, `value`, exclusion conditions) are fixed text written
here, never user input; they refer to the row-level columns each *base* exposes (see
``metrics.sql``). Adding a KPI means adding one ``_kpi(KpiDef(...))`` and its test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aftersales import model

Kind = Literal["count", "sum", "ratio", "mean", "quantile", "nps"]
Direction = Literal["higher", "lower", "none"]


@dataclass(frozen=True)
class Exclusion:
    """In-scope records that cannot be counted, and why (reported as completeness)."""

    reason: str  # stable code, e.g. "resolved_at_missing"
    condition: str  # SQL over the base's row columns
    en: str
    zh: str


@dataclass(frozen=True)
class Basis:
    """One way a record can be counted, where a KPI has several (the source's own SLA verdict or
    the configured limits; visit 1's outcome or the source's reopen count). The result states how
    many records each way counted (column ``basis``), beside the number."""

    code: str  # stable code, e.g. "source_verdict"
    condition: str  # SQL over the base's row columns: the record was counted this way
    en: str
    zh: str


# -- maturity: when a period's number is final (provisional numbers) --------------------------------
# A number is provisional until the data reach its ``final_on`` date: never before its period is over
# (the current period), and for KPIs whose records can still change after their own date (a repeat
# repair within 30 days, a survey answered days after the ticket closed) not before that window has
# passed for the period's last record. "The data reach" means the observed horizon: the latest
# timestamp loaded (``metrics.compute.data_horizon``) or an explicit as-of, never the wall clock.

# Delays measured from the data (fixed SQL over the canonical tables; $since bounds the scan to the
# data's last LAG_SPAN_DAYS, $since_cap that minus LAG_CAP_DAYS): per-record delay in days, of which
# the 95th percentile (whole days, at most LAG_CAP_DAYS) is the window.
LAGS: dict[str, str] = {
    "survey": "SELECT quantile_cont(epoch(s.responded_at - t.resolved_at) / 86400.0, 0.95) FROM surveys s "
              "JOIN tickets t ON t.ticket_id = s.ticket_id WHERE s.responded_at >= $since "
              "AND t.created_at >= $since_cap AND s.responded_at >= t.resolved_at",
    "first_response": "SELECT quantile_cont(epoch(first_response_at - created_at) / 86400.0, 0.95) FROM tickets "
                      "WHERE created_at >= $since AND first_response_at >= created_at",
}
LAG_CAP_DAYS = 90
LAG_SPAN_DAYS = 90


@dataclass(frozen=True)
class Maturity:
    """When a period's number becomes final: ``final_on`` = the period's end + ``days``, or + the
    measured ``lag`` (a key of LAGS), as of the data's horizon. ``Maturity()``: once the period is over."""

    days: int = 0
    lag: str | None = None
    en: str = "final once the period is over"
    zh: str = "期间结束后定稿"


PERIOD_OVER = Maturity()


@dataclass(frozen=True)
class KpiDef:
    id: str
    zh: str
    en: str
    description: str  # one line, English
    description_zh: str
    base: str  # which row set it is computed on, see BASES
    kind: Kind
    unit: str  # "tickets", "share", "hours", "points", "score", "per_1000_orders", "units", "yuan"
    fmt: str  # Python format spec for the value, e.g. ".1%" or ",.0f"
    period_by: str  # the date a record is counted by: created, resolved, closed, responded, due, period_end, visit
    direction: Direction
    scope: str = "TRUE"  # SQL: the records the KPI is about (its population)
    num: str | None = None  # ratio / nps: SQL condition for the numerator (ratio) or promoters (nps)
    num2: str | None = None  # nps: detractors
    value: str | None = None  # sum / mean / quantile: SQL expression measured per record
    quantile: float | None = None  # quantile kind: 0.5 (median), 0.9 (p90)
    scale: float = 1.0  # value = scale * numerator / denominator (1000 for "per 1,000 orders")
    target: float | None = None  # default; config ``targets.<id>`` overrides
    min_sample: int = 30  # below this many records a value is flagged too small to judge
    exclusions: tuple[Exclusion, ...] = ()
    dims: tuple[str, ...] | None = None  # allowed breakdowns; None = every ticket dimension
    additive: bool = False  # the value itself sums over breakdowns (counts and sums)
    note: str = ""  # caveats a reader needs (shown by `aftersales metrics --verbose`)
    basis: tuple[Basis, ...] = ()
    # SQL: the record carries the fields the KPI rests on, where an empty field would otherwise
    # read as "no" (an empty reopening time is "not reopened" only if the source records
    # reopenings). A result in which no record carries them is `no_data`, whatever the count.
    evidence: str | None = None
    maturity: Maturity = PERIOD_OVER  # when a period's number is final (see Maturity)

    @property
    def higher_is_better(self) -> bool | None:
        return {"higher": True, "lower": False, "none": None}[self.direction]

    @property
    def is_proportion(self) -> bool:
        return self.kind == "ratio" and self.scale == 1.0

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    def allowed_dims(self) -> tuple[str, ...]:
        if self.dims is not None:
            return self.dims
        return TICKET_DIMS


@dataclass(frozen=True)
class Dimension:
    id: str
    zh: str
    en: str
    table: str  # where its values live, for `dimension_values`
    column: str
    labels: dict[str, str] | None = None  # code -> Chinese label


DIMENSIONS: dict[str, Dimension] = {d.id: d for d in (
    Dimension("region", "大区", "Region", "outlets", "region", model.REGIONS),
    Dimension("city", "城市", "City", "outlets", "city"),
    Dimension("outlet", "网点", "Outlet", "outlets", "outlet_id"),
    Dimension("outlet_type", "网点类型", "Outlet type", "outlets", "outlet_type", model.OUTLET_TYPES),
    Dimension("technician", "师傅", "Technician", "technicians", "technician_id"),
    Dimension("channel", "渠道", "Channel", "tickets", "channel", model.CHANNELS),
    Dimension("service_type", "服务类型", "Service type", "tickets", "service_type", model.SERVICE_TYPES),
    Dimension("product_category", "产品品类", "Product category", "products", "product_category",
              model.PRODUCT_CATEGORIES),
    Dimension("product_model", "产品型号", "Product model", "products", "product_model"),
    Dimension("priority", "优先级", "Priority", "tickets", "priority", model.PRIORITIES),
    Dimension("complaint_reason", "投诉原因", "Complaint reason", "tickets", "complaint_reason",
              model.COMPLAINT_REASONS),
    Dimension("part_no", "配件编码", "Part number", "parts_used", "part_no"),
    Dimension("warranty", "保修", "Warranty", "tickets", "in_warranty", model.WARRANTY),
)}
# Breakdowns only some bases carry: part numbers (parts), the warranty flag (the cost KPIs).
TICKET_DIMS = tuple(d for d in DIMENSIONS if d not in ("part_no", "warranty"))
ORDER_DIMS = ("channel", "product_category")

GRAINS = ("day", "week", "month", "quarter", "year")

# Bases: the row sets KPIs are computed on. One scan and one GROUP BY per base per query.
BASES = {
    "created": "tickets, by created_at",
    "resolved": "tickets resolved (or marked resolved/closed), by resolved_at",
    "repair": "repair tickets resolved, by resolved_at, with visit 1 and the next repair ticket of the same customer and model",
    "closed": "tickets closed, by closed_at, with whether a survey response exists",
    "sla_first_response": "tickets not cancelled, by first-response due time",
    "sla_resolution": "tickets not cancelled, by resolution due time",
    "sla_onsite": "field-service tickets with their first visit, by on-site due time",
    "responses": "survey responses, by responded_at",
    "backlog": "one row per ticket and period end at which it was open",
    "parts": "spare parts used, by visit started_at",
    "orders": "complaint tickets by created date, against orders_daily",
    "cost": "tickets resolved, by resolved_at, with their visits' hours and travel and their parts' cost",
}

# Service types whose tickets need someone on site (SLA stage `onsite`).
FIELD_SERVICE_TYPES = ("repair", "install", "delivery")
REPEAT_REPAIR_DAYS = 30
REOPEN_DAYS = 30
# When the numbers resting on these windows (and on surveys and first responses still arriving) are final.
RECHECK_REPAIR = Maturity(days=REPEAT_REPAIR_DAYS,
                          en=f"final {REPEAT_REPAIR_DAYS} days after the period ends (a repeat repair may still come)",
                          zh=f"期末后{REPEAT_REPAIR_DAYS}天定稿(期内完成的维修仍可能返修)")
RECHECK_REOPEN = Maturity(days=REOPEN_DAYS, en=f"final {REOPEN_DAYS} days after the period ends (a ticket may still be reopened)",
                          zh=f"期末后{REOPEN_DAYS}天定稿(期内完成的工单仍可能重开)")
SURVEYS_ARRIVING = Maturity(lag="survey", en="final once the survey lag (95th percentile of responded − resolved, "
                            "measured from the data) has passed after the period ends",
                            zh="期末后再过回访时滞(完成到回访的第95百分位,按数据测得)定稿")
RESPONSES_ARRIVING = Maturity(lag="first_response", en="final once the first-response lag (95th percentile, "
                              "measured from the data) has passed after the period ends",
                              zh="期末后再过首次响应时滞(第95百分位,按数据测得)定稿")
BACKLOG_AGE_BUCKETS = ((0, 1, "0-1d"), (1, 3, "1-3d"), (3, 7, "3-7d"), (7, 30, "7-30d"), (30, None, ">30d"))

_RESOLVED_MISSING = Exclusion("resolved_at_missing", "resolved_at IS NULL",
                              "marked resolved/closed without a resolution time (placed in its created period)",
                              "状态已完成但无完成时间(按创建时间归期)")
_NEGATIVE_DURATION = Exclusion("resolved_before_created", "resolved_at < created_at",
                               "resolved before it was created", "完成时间早于创建时间")

KPIS: dict[str, KpiDef] = {}


def _kpi(k: KpiDef) -> None:
    assert k.id not in KPIS, k.id
    assert k.base in BASES, k.base
    KPIS[k.id] = k


_kpi(KpiDef(
    "ticket_volume", "工单量", "Ticket volume", "Tickets created.", "新建工单数",
    base="created", kind="count", unit="tickets", fmt=",.0f", period_by="created", direction="none",
    min_sample=0, additive=True))
_kpi(KpiDef(
    "complaint_rate", "投诉率", "Complaint rate", "Complaint tickets ÷ tickets created.", "投诉工单 ÷ 新建工单",
    base="created", kind="ratio", unit="share", fmt=".2%", period_by="created", direction="lower",
    num="is_complaint", target=0.03, min_sample=100,
    exclusions=(Exclusion("is_complaint_missing", "is_complaint IS NULL", "complaint flag missing", "缺少是否投诉"),)))
_kpi(KpiDef(
    "complaints_per_1k_orders", "千单投诉率", "Complaints per 1,000 orders",
    "Complaint tickets created ÷ orders × 1,000 (needs orders_daily; breakable by channel and product category only).",
    "投诉工单 ÷ 订单量 × 1000(需导入订单量;仅可按渠道、品类拆分)",
    base="orders", kind="ratio", unit="per_1000_orders", fmt=".2f", period_by="created", direction="lower",
    num="is_complaint", scale=1000.0, target=None, min_sample=1000, dims=ORDER_DIMS,
    note="Complaints are matched to orders by the ticket's created date, channel and product category."))
_kpi(KpiDef(
    "first_response_time", "首次响应时长(中位数)", "First response time (median)",
    "Median hours from creation to first response.", "创建到首次响应的小时数中位数",
    base="created", kind="quantile", quantile=0.5, unit="hours", fmt=".2f", period_by="created", direction="lower",
    maturity=RESPONSES_ARRIVING,
    scope="status <> 'cancelled'", value="epoch(first_response_at - created_at) / 3600.0", target=1.0,
    exclusions=(
        Exclusion("not_yet_responded", "first_response_at IS NULL AND status IN ('open', 'dispatched', 'in_progress')",
                  "open and not yet responded to (censored)", "未结且尚未响应"),
        Exclusion("first_response_missing", "first_response_at IS NULL", "completed without a first response time",
                  "已处理但无首次响应时间"),
        Exclusion("responded_before_created", "first_response_at < created_at", "first response before creation",
                  "响应时间早于创建时间"),
    ),
    note="Medians do not re-aggregate: a month's median is computed from its records, not from its days."))

_REPAIR_EXCL = (_RESOLVED_MISSING, Exclusion("resolution_missing", "resolution IS NULL", "no resolution code", "缺少处理结果"))
_kpi(KpiDef(
    "repair_success_rate", "维修成功率", "Repair success rate",
    f"Repair tickets resolved as fixed and not followed by another repair ticket for the same customer and model "
    f"within {REPEAT_REPAIR_DAYS} days ÷ repair tickets resolved.",
    f"已修复且{REPEAT_REPAIR_DAYS}天内同一客户同一型号未再报修的维修工单 ÷ 已完成维修工单",
    base="repair", kind="ratio", unit="share", fmt=".1%", period_by="resolved", direction="higher",
    maturity=RECHECK_REPAIR,
    num=f"resolution = 'fixed' AND NOT coalesce(next_repair_at <= resolved_at + INTERVAL {REPEAT_REPAIR_DAYS} DAY, FALSE)",
    target=0.90, min_sample=30,
    exclusions=_REPAIR_EXCL + (Exclusion("customer_or_model_missing", "customer_id IS NULL OR product_model IS NULL",
                                         "customer or product model missing: a repeat repair cannot be checked",
                                         "缺少客户或型号,无法判断是否返修"),),
    note=(f"Only resolution 'fixed' counts as success ('replaced' means the repair failed). Tickets resolved in the "
          f"last {REPEAT_REPAIR_DAYS} days before the data ends are not yet fully observed (a repeat may still come).")))
_kpi(KpiDef(
    "first_time_fix_rate", "一次修复率", "First-time fix rate",
    "Repair tickets resolved as fixed whose first visit's outcome was fixed ÷ repair tickets resolved.",
    "首次上门即修复的维修工单 ÷ 已完成维修工单",
    base="repair", kind="ratio", unit="share", fmt=".1%", period_by="resolved", direction="higher",
    maturity=RECHECK_REOPEN,
    num="resolution = 'fixed' AND CASE WHEN has_visit1 THEN visit1_outcome = 'fixed' ELSE reopen_count = 0 END",
    target=0.80, min_sample=30,
    exclusions=_REPAIR_EXCL + (Exclusion("no_first_visit", "NOT has_visit1 AND reopen_count IS NULL",
                                         "no visit 1 recorded and no reopen count", "无首次上门记录且无重开次数"),),
    basis=(Basis("visit1", "has_visit1", "visit 1's outcome", "首次上门结果"),
           Basis("reopen_count", "NOT has_visit1", "no visits recorded: fixed and never reopened (source's reopen count)",
                 "无上门记录:已修复且从未重开(来源重开次数)")),
    note="Where a ticket has no visits recorded, first-time fix is read from the source's reopen count: fixed and "
         "never reopened. The result's `basis` says how many tickets were judged each way."))
_MTTR_EXCL = (_RESOLVED_MISSING, _NEGATIVE_DURATION)
_MTTR_VALUE = "epoch(resolved_at - created_at) / 3600.0"
_kpi(KpiDef(
    "mttr", "平均维修时长", "MTTR (mean)", "Mean hours from creation to resolution over resolved repair tickets.",
    "已完成维修工单从创建到完成的平均小时数",
    base="repair", kind="mean", unit="hours", fmt=".1f", period_by="resolved", direction="lower",
    value=_MTTR_VALUE, target=48.0, exclusions=_MTTR_EXCL))
_kpi(KpiDef(
    "mttr_median", "维修时长中位数", "MTTR (median)", "Median hours from creation to resolution, repair tickets.",
    "已完成维修工单维修时长中位数",
    base="repair", kind="quantile", quantile=0.5, unit="hours", fmt=".1f", period_by="resolved", direction="lower",
    value=_MTTR_VALUE, exclusions=_MTTR_EXCL, note="Medians do not re-aggregate."))
_kpi(KpiDef(
    "mttr_p90", "维修时长P90", "MTTR (p90)", "90th percentile of hours from creation to resolution, repair tickets.",
    "已完成维修工单维修时长第90百分位",
    base="repair", kind="quantile", quantile=0.9, unit="hours", fmt=".1f", period_by="resolved", direction="lower",
    value=_MTTR_VALUE, exclusions=_MTTR_EXCL, note="Percentiles do not re-aggregate."))
_kpi(KpiDef(
    "refund_cycle_time", "退款时长(中位数)", "Refund cycle time (median)",
    "Median hours from refund request (else ticket creation) to refund paid, refund tickets resolved.",
    "退款申请(无则创建)到退款完成的小时数中位数",
    base="resolved", kind="quantile", quantile=0.5, unit="hours", fmt=".1f", period_by="resolved", direction="lower",
    scope="service_type = 'refund'",
    value="epoch(refunded_at - coalesce(refund_requested_at, created_at)) / 3600.0", target=48.0,
    exclusions=(_RESOLVED_MISSING,
                Exclusion("refunded_at_missing", "refunded_at IS NULL", "no refund time", "缺少退款时间"),
                Exclusion("refunded_before_requested", "refunded_at < coalesce(refund_requested_at, created_at)",
                          "refunded before requested", "退款时间早于申请时间"))))
_kpi(KpiDef(
    "reopen_rate", "重开率", "Reopen rate",
    f"Resolved tickets reopened within {REOPEN_DAYS} days of resolution ÷ tickets resolved.",
    f"完成后{REOPEN_DAYS}天内重开的工单 ÷ 已完成工单",
    base="resolved", kind="ratio", unit="share", fmt=".2%", period_by="resolved", direction="lower",
    maturity=RECHECK_REOPEN,
    num=f"coalesce(reopened_at <= resolved_at + INTERVAL {REOPEN_DAYS} DAY, FALSE) OR coalesce(reopen_count > 0, FALSE)",
    target=0.05, min_sample=100, exclusions=(_RESOLVED_MISSING,),
    evidence="reopened_at IS NOT NULL OR reopen_count IS NOT NULL",
    basis=(Basis("reopened_at", "reopen_count IS NULL", f"reopening time (within {REOPEN_DAYS} days)",
                 f"重开时间({REOPEN_DAYS}天内)"),
           Basis("reopen_count", "reopen_count IS NOT NULL", "the source's reopen count (any reopening)",
                 "来源重开次数(任何重开)")),
    note=(f"Tickets resolved in the last {REOPEN_DAYS} days before the data ends are not yet fully observed. A "
          "ticket carrying the source's reopen count is reopened when the count is above 0 (its reopening time, if "
          f"any, is not needed). With neither a reopening time nor a reopen count anywhere in the result, the rate is "
          "no_data (an export without reopen information is not a 0% reopen rate).")))
_kpi(KpiDef(
    "csat", "满意度(好评率)", "CSAT (top-2-box)", "Survey responses scoring 4 or 5 ÷ responses with a score.",
    "满意度4-5分的回访 ÷ 有评分的回访",
    base="responses", kind="ratio", unit="share", fmt=".1%", period_by="responded", direction="higher",
    maturity=SURVEYS_ARRIVING,
    num="satisfaction >= 4", target=0.90,
    exclusions=(Exclusion("no_satisfaction", "satisfaction IS NULL", "response without a satisfaction score",
                          "回访无满意度评分"),)))
_kpi(KpiDef(
    "csat_mean", "满意度均分", "CSAT (mean score)", "Mean satisfaction score, 1–5.", "满意度平均分(1-5)",
    base="responses", kind="mean", unit="score", fmt=".2f", period_by="responded", direction="higher",
    maturity=SURVEYS_ARRIVING,
    value="satisfaction", target=4.5,
    exclusions=(Exclusion("no_satisfaction", "satisfaction IS NULL", "response without a satisfaction score",
                          "回访无满意度评分"),)))
_kpi(KpiDef(
    "nps", "净推荐值", "NPS", "% of responses scoring 9–10 minus % scoring 0–6, among NPS responses.",
    "推荐者(9-10分)占比 − 贬损者(0-6分)占比",
    base="responses", kind="nps", unit="points", fmt="+.1f", period_by="responded", direction="higher",
    maturity=SURVEYS_ARRIVING,
    num="nps >= 9", num2="nps <= 6", target=30.0, min_sample=50,
    exclusions=(Exclusion("no_nps", "nps IS NULL", "response without an NPS answer", "回访无推荐意愿评分"),)))
_kpi(KpiDef(
    "survey_response_rate", "回访率", "Survey response rate", "Tickets closed with a survey response ÷ tickets closed.",
    "有回访结果的已结单工单 ÷ 已结单工单",
    base="closed", kind="ratio", unit="share", fmt=".1%", period_by="closed", direction="higher",
    maturity=SURVEYS_ARRIVING,
    num="has_survey", target=0.30, min_sample=50, evidence="has_survey",
    exclusions=(Exclusion("closed_at_missing", "closed_at IS NULL",
                          "marked closed without a closing time (placed in its created period)",
                          "状态已结单但无结单时间(按创建时间归期)"),)))
_SLA_NOTE = ("A ticket is due at created_at + its service type's limit (config sla_hours). It counts in the period of "
             "its due time once that time has passed (as of the data's latest timestamp) or the stage was done; it "
             "meets the SLA if the stage was done by the due time. Cancelled tickets are out of scope.")
_kpi(KpiDef(
    "sla_compliance", "SLA达成率(完成时效)", "SLA compliance (resolution)",
    "Tickets resolved within their service type's resolution limit ÷ tickets due.",
    "在服务类型规定时限内完成的工单 ÷ 到期工单",
    base="sla_resolution", kind="ratio", unit="share", fmt=".1%", period_by="due", direction="higher",
    num="coalesce(verdict, done_at <= due_at)", target=0.90, min_sample=50,
    evidence="done_at IS NOT NULL OR verdict IS NOT NULL",
    exclusions=(Exclusion("resolved_at_missing", "done_at IS NULL AND NOT is_open AND verdict IS NULL",
                          "completed without a resolution time", "已完成但无完成时间"),),
    basis=(Basis("source_verdict", "verdict IS NOT NULL", "the source's own SLA verdict (sla_met_source)",
                 "来源系统的SLA判定"),
           Basis("sla_hours", "verdict IS NULL", "the configured limits (sla_hours)", "按配置的时限判定")),
    note=_SLA_NOTE + " Where a ticket carries the source's own verdict (sla_met_source), that verdict decides; the "
                     "result's `basis` says how many tickets were judged by it and how many by the configured limits."))
_kpi(KpiDef(
    "sla_first_response", "SLA达成率(首次响应)", "SLA compliance (first response)",
    "Tickets first responded to within their service type's limit ÷ tickets due.",
    "在规定时限内首次响应的工单 ÷ 到期工单",
    base="sla_first_response", kind="ratio", unit="share", fmt=".1%", period_by="due", direction="higher",
    num="done_at <= due_at", target=0.90, min_sample=50, evidence="done_at IS NOT NULL",
    exclusions=(Exclusion("first_response_missing", "done_at IS NULL AND NOT is_open",
                          "completed without a first response time", "已完成但无首次响应时间"),),
    note=_SLA_NOTE))
_kpi(KpiDef(
    "sla_onsite", "SLA达成率(上门时效)", "SLA compliance (on site)",
    f"Field-service tickets ({', '.join(FIELD_SERVICE_TYPES)}) whose first visit started within the limit ÷ tickets due.",
    "在规定时限内首次上门的工单 ÷ 到期工单",
    base="sla_onsite", kind="ratio", unit="share", fmt=".1%", period_by="due", direction="higher",
    num="done_at <= due_at", target=0.90, min_sample=50, evidence="done_at IS NOT NULL",
    exclusions=(Exclusion("no_visit_recorded", "done_at IS NULL AND NOT is_open", "completed without any visit recorded",
                          "已完成但无上门记录"),),
    note=_SLA_NOTE))
_kpi(KpiDef(
    "backlog", "积压工单", "Backlog", "Tickets open at the period's end (or at the data's latest time, if earlier).",
    "期末未完成工单数",
    base="backlog", kind="count", unit="tickets", fmt=",.0f", period_by="period_end", direction="lower",
    min_sample=0, additive=True,
    note="Open = created before the period end and not resolved by then; cancelled tickets are not backlog. "
         "Ageing buckets: metrics.distribution('backlog_ageing', ...)."))
_kpi(KpiDef(
    "backlog_aged_7d", "积压超7天占比", "Backlog older than 7 days",
    "Share of the period-end backlog open for more than 7 days.", "期末积压工单中超过7天的占比",
    base="backlog", kind="ratio", unit="share", fmt=".1%", period_by="period_end", direction="lower",
    num="age_days > 7", target=0.10, min_sample=30))
_kpi(KpiDef(
    "parts_consumption", "配件消耗量", "Spare-part consumption", "Quantity of spare parts used on visits.",
    "上门服务使用的配件数量",
    base="parts", kind="sum", unit="units", fmt=",.0f", period_by="visit", direction="none",
    value="quantity", min_sample=0, additive=True, dims=TICKET_DIMS + ("part_no",),
    note="Technician is the visit's technician (else the ticket's)."))
_kpi(KpiDef(
    "parts_cost", "配件成本", "Spare-part cost", "Quantity × unit cost of spare parts used on visits, yuan.",
    "配件使用数量 × 单价(元)",
    base="parts", kind="sum", unit="yuan", fmt=",.2f", period_by="visit", direction="none",
    value="quantity * unit_cost", min_sample=0, additive=True, dims=TICKET_DIMS + ("part_no",),
    exclusions=(Exclusion("unit_cost_missing", "unit_cost IS NULL", "no unit cost", "缺少单价"),)))

# -- complaint insight (issue 15 item 4) ---------------------------------------------------------
_COMPLAINT_HANDLING = "epoch(closed_at - created_at) / 3600.0"
_COMPLAINT_HANDLING_EXCL = (
    Exclusion("closed_at_missing", "closed_at IS NULL", "marked closed without a closing time (placed in its created "
              "period)", "状态已结单但无结单时间(按创建时间归期)"),
    Exclusion("closed_before_created", "closed_at < created_at", "closed before it was created", "结单时间早于创建时间"),
)
_COMPLAINT_HANDLING_NOTE = ("A complaint is registered with its ticket (created_at) and handled when the ticket is "
                            "closed (closed_at, 结单: after the service and the follow-up). Complaints still open are "
                            "not counted until closed; cancelled complaint tickets are out of scope.")
_kpi(KpiDef(
    "complaint_handling_hours", "投诉处理时长", "Complaint handling time (mean)",
    "Mean hours from a complaint ticket's creation to its closing, over complaint tickets closed.",
    "投诉工单从创建到结单的平均小时数",
    base="closed", kind="mean", unit="hours", fmt=".1f", period_by="closed", direction="lower",
    scope="is_complaint AND status <> 'cancelled'", value=_COMPLAINT_HANDLING, target=72.0, min_sample=30,
    exclusions=_COMPLAINT_HANDLING_EXCL, note=_COMPLAINT_HANDLING_NOTE))
_kpi(KpiDef(
    "complaint_handling_median", "投诉处理时长(中位数)", "Complaint handling time (median)",
    "Median hours from a complaint ticket's creation to its closing, over complaint tickets closed.",
    "投诉工单从创建到结单的小时数中位数",
    base="closed", kind="quantile", quantile=0.5, unit="hours", fmt=".1f", period_by="closed", direction="lower",
    scope="is_complaint AND status <> 'cancelled'", value=_COMPLAINT_HANDLING, min_sample=30,
    exclusions=_COMPLAINT_HANDLING_EXCL, note=_COMPLAINT_HANDLING_NOTE + " Medians do not re-aggregate."))


# -- scorecards (wt-score): the repeat repairs a scorecard shows beside repair success ----------
_kpi(KpiDef(
    "repeat_repair_rate", "返修率", "Repeat repair rate",
    f"Repair tickets resolved and followed by another repair ticket for the same customer and model within "
    f"{REPEAT_REPAIR_DAYS} days ÷ repair tickets resolved.",
    f"完成后{REPEAT_REPAIR_DAYS}天内同一客户同一型号再次报修的维修工单 ÷ 已完成维修工单",
    base="repair", kind="ratio", unit="share", fmt=".1%", period_by="resolved", direction="lower",
    maturity=RECHECK_REPAIR,  # a repair resolved late in the period may still be repeated
    num=f"coalesce(next_repair_at <= resolved_at + INTERVAL {REPEAT_REPAIR_DAYS} DAY, FALSE)",
    target=0.05, min_sample=30,
    exclusions=(_RESOLVED_MISSING, Exclusion("customer_or_model_missing", "customer_id IS NULL OR product_model IS NULL",
                                             "customer or product model missing: a repeat repair cannot be checked",
                                             "缺少客户或型号,无法判断是否返修")),
    note=(f"The repeat counts against the ticket repeated (and its outlet and technician), whatever its "
          f"resolution. Tickets resolved in the last {REPEAT_REPAIR_DAYS} days before the data ends are not yet "
          f"fully observed (a repeat may still come).")))


# -- cost of service -----------------------------------------------------------------------------
# A ticket's cost is booked when it is resolved (outlets settle completed tickets, 完工结算): the
# parts used on its visits at unit cost, its visits' hours × the labour rate of its service type,
# a visit fee per on-site visit plus paid travel minutes, and its refund. Rates are configuration
# (``[cost]``, aftersales/config.py), bound as parameters by metrics.sql. Every cost KPI counts
# the same tickets (a ticket whose cost cannot be known in full is excluded from all of them and
# counted in completeness), so parts + labour + travel + refunds = total in any breakdown.
COST_DIMS = TICKET_DIMS + ("warranty",)
_COST_EXCL = (
    _RESOLVED_MISSING,
    Exclusion("visit_end_missing", "visits_unended > 0", "a visit without a valid end time: its labour is unknown",
              "有上门记录缺少结束时间,工时无法计算"),
    Exclusion("unit_cost_missing", "parts_uncosted > 0", "a part used without a unit cost", "有配件缺少单价"),
)
_COST_SCOPE = "TRUE"
_COST_NOTE = ("Booked in the period the ticket was resolved (not the visit's date, as parts_cost is); cancelled "
              "tickets carry no cost. Labour and travel rates: config [cost].")


def _cost_sum(kid: str, zh: str, en: str, desc: str, desc_zh: str, value: str, direction: Direction = "lower",
              scope: str = _COST_SCOPE) -> None:
    _kpi(KpiDef(kid, zh, en, desc, desc_zh, base="cost", kind="sum", unit="yuan", fmt=",.0f", period_by="resolved",
                direction=direction, scope=scope, value=value, min_sample=0, additive=True, dims=COST_DIMS,
                exclusions=_COST_EXCL, note=_COST_NOTE))


_cost_sum("cost_total", "服务总成本", "Total cost of service",
          "Parts + labour + travel + refunds of tickets resolved, yuan.", "已完成工单的配件+人工+路途+退款成本(元)",
          "total_cost")
_cost_sum("cost_parts", "配件成本(结算)", "Parts cost (settled)",
          "Quantity × unit cost of the parts used on tickets resolved, yuan.", "已完成工单所用配件的数量×单价(元)",
          "parts_cost")
_cost_sum("cost_labour", "人工成本", "Labour cost",
          "Visit hours × the labour rate of the ticket's service type, tickets resolved, yuan.",
          "上门工时 × 服务类型工时单价(元)", "labour_cost")
_cost_sum("cost_travel", "路途成本", "Travel cost",
          "Visit fee per on-site visit + paid travel minutes, tickets resolved, yuan.",
          "每次上门的上门费 + 计费路途时间(元)", "travel_cost")
_cost_sum("cost_refunds", "退款金额", "Refunds", "Amounts refunded on tickets resolved, yuan.",
          "已完成工单的退款金额(元)", "refund_cost")
_cost_sum("customer_charges", "用户付费金额", "Charged to customers",
          "What customers paid for out-of-warranty service, tickets resolved, yuan.", "保外服务向用户收取的费用(元)",
          "coalesce(customer_charge, 0)", direction="none")
_kpi(KpiDef(
    "cost_per_ticket", "单均成本", "Cost per ticket", "Total cost of service ÷ tickets resolved, yuan.",
    "服务总成本 ÷ 已完成工单数(元)",
    base="cost", kind="mean", unit="yuan", fmt=",.1f", period_by="resolved", direction="lower",
    value="total_cost", min_sample=30, dims=COST_DIMS, exclusions=_COST_EXCL, note=_COST_NOTE))
_kpi(KpiDef(
    "cost_per_repair", "单次维修成本", "Cost per repair", "Total cost of repair tickets resolved ÷ their number, yuan.",
    "已完成维修工单的服务成本 ÷ 维修工单数(元)",
    base="cost", kind="mean", unit="yuan", fmt=",.1f", period_by="resolved", direction="lower",
    scope="service_type = 'repair'", value="total_cost", min_sample=30, dims=COST_DIMS, exclusions=_COST_EXCL,
    note=_COST_NOTE))
_kpi(KpiDef(
    "warranty_share", "保内维修占比", "Repairs in warranty",
    "Repair tickets resolved in warranty ÷ repair tickets resolved with a known warranty status.",
    "保内维修工单 ÷ 保修状态已知的已完成维修工单",
    base="cost", kind="ratio", unit="share", fmt=".1%", period_by="resolved", direction="none",
    scope="service_type = 'repair'", num="in_warranty", min_sample=30, dims=COST_DIMS,
    exclusions=(_RESOLVED_MISSING, Exclusion("warranty_unknown", "in_warranty IS NULL", "warranty status not recorded",
                                             "未记录是否保内")),
    evidence="in_warranty IS NOT NULL",
    note="Out-of-warranty repairs are paid by the customer (customer_charges); the firm bears the rest."))


def describe_basis(kpi: KpiDef, basis: str | None, lang: str = "zh") -> str | None:
    """A result's ``basis`` ("source_verdict: 120; sla_hours: 8") in words: which way how many
    records were counted, e.g. 来源系统的SLA判定 120、按配置的时限判定 8."""
    if not basis:
        return None
    words = {b.code: (b.zh if lang == "zh" else b.en) for b in kpi.basis}
    parts = []
    for item in basis.split("; "):
        code, _, n = item.partition(": ")
        parts.append(f"{words.get(code, code)} {n}")
    return ("、" if lang == "zh" else "; ").join(parts)


def get(kpi_id: str) -> KpiDef:
    """The definition of one KPI, or a UserError listing the valid ids."""
    from aftersales.errors import UserError

    try:
        return KPIS[kpi_id]
    except KeyError:
        raise UserError(f"unknown KPI {kpi_id!r}; valid KPIs: {', '.join(KPIS)}") from None


def target_for(kpi: KpiDef, config: dict | None) -> float | None:
    """The target in force: config ``targets.<id>`` if set, else the registry's default."""
    targets = (config or {}).get("targets") or {}
    value = targets.get(kpi.id, kpi.target)
    return None if value is None else float(value)
