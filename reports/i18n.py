"""The report's words, in Chinese and English. KPI and dimension names come from the metrics
registry, the words the dashboard shows too from ``aftersales.i18n``; the report's own headings,
column names and notes live here."""

from __future__ import annotations

from aftersales import i18n as shared
from aftersales import model
from aftersales.i18n import LANGS, pick  # noqa: F401 - the report modules use them from here
from metrics import registry as R

_T: dict[str, tuple[str, str]] = {
    **{k: shared.COMMON[k] for k in ('kpi', 'target', 'completeness', 'count', 'share', 'rank', 'numerator', 'denominator', 'ci_low', 'ci_high', 'yoy_value', 'yoy_change', 'stage', 'forecast', 'yes', 'no')},
    "yoy": shared.COMMON["vs_yoy"],
    "trend_period": shared.COMMON["period"],
    "title": ("售后服务 KPI 报告", "After-sales KPI report"),
    "period": ("报告期", "Period"),
    "comparison": ("对比期", "Compared with"),
    "prev": ("环比", "vs prev."),
    "filters": ("筛选条件", "Filters"),
    "no_filters": ("无(全部数据)", "none (all data)"),
    "breakdowns": ("拆分维度", "Breakdowns"),
    "data_through": ("数据截至", "Data through"),
    "last_load": ("最近一次导入", "Last load"),
    "never": ("无记录", "not recorded"),
    "partial": ("注意:数据截至 {end},报告期尚未结束或数据未导入完整,本期数字不完整。",
                "Note: the data ends on {end}, before the period ends: this period's numbers are incomplete."),
    "contents": ("目录", "Contents"),
    "sec_kpis": ("关键指标", "Key performance indicators"),
    "sec_trends": ("趋势", "Trends"),
    "sec_breakdowns": ("分维度对比", "Breakdowns"),
    "sec_problems": ("待处理问题", "Problems to act on"),
    "sec_outlook": ("人力与配件展望", "Staffing and spare-part outlook"),
    "sec_definitions": ("附录:指标定义", "Appendix: KPI definitions"),
    "all_kpis": ("全部指标", "All KPIs"),
    "kpi_id": ("指标代码", "KPI id"),
    "value": ("本期值", "Value"),
    "unit": ("单位", "Unit"),
    "n_records": ("记录数", "Records"),
    "ci": ("95%置信区间", "95% interval"),
    "prev_value": ("上期值", "Previous"),
    "prev_change": ("环比变化", "Change vs prev."),
    "prev_change_pct": ("环比变化率", "Change vs prev. %"),
    "yoy_change_pct": ("同比变化率", "Change vs last year %"),
    "status": ("达标状态", "Status"),
    "period_start": ("期初", "Period start"),
    "period_end": ("期末(不含)", "Period end (excl.)"),
    "change_note": ("比率类指标的变化以百分点计;Excel 中以 % 显示。",
                    "Changes of rates are in percentage points (pp); Excel shows them with a % sign."),
    "small": ("样本不足", "small sample"),
    "met": ("达标", "met"),
    "missed": ("未达标", "missed"),
    "too_small": ("样本不足", "too small"),
    "no_target": ("无目标", "no target"),
    "no_data": ("无数据", "no data"),
    "none_value": ("(源数据未填写)", "(not in the source data)"),
    "none_dispatch": ("(未派工,暂无网点)", "(not dispatched yet)"),
    "no_reason": ("未注明原因", "No reason given"),
    "rank_method": ("排序方法", "Ranking method"),
    "not_applicable": ("所选筛选条件下无适用内容。", "Nothing here applies to the chosen filters."),
    "trend_title": ("近{n}期趋势", "Last {n} periods"),
    "trend_note": ("蓝线为各期数值,灰色点线为去年同期,红色虚线为目标值。",
                   "Blue: each period; grey dotted: the same period a year earlier; red dashed: the target."),
    "by": ("按{dim}", "By {dim}"),
    "rows_capped": ("仅显示工单量最大的 {n} 项(共 {total} 项);完整列表见 Excel。",
                    "Showing the {n} largest by ticket volume of {total}; the workbook lists all."),
    "worst_title": ("表现最差的{level}(公平排名)", "Worst {level}s (fair ranking)"),
    "worst_note": ("按经验贝叶斯收缩估计排名(样本少的单位向整体均值收缩),中位数类指标按置信区间的不利端排名;每个指标列出最差 {n} 个。",
                   "Ranked on empirical-Bayes shrunk estimates (small units are pulled towards the overall value); "
                   "medians on the pessimistic end of their interval. The worst {n} per KPI."),
    "of": ("参与排名", "Ranked"),
    "score": ("公平估计", "Fair score"),
    "name": ("名称", "Name"),
    "sla_title": ("SLA 超时工单(完成时效)", "SLA breaches (resolution)"),
    "sla_summary_title": ("SLA 超时汇总", "SLA breaches by stage"),
    "sla_by_type_title": ("完成时效超时:按服务类型", "Resolution breaches by service type"),
    "sla_note": ("本期到期、未在时限内完成的工单;仍未完成的排在前面,其余按超时时长排序,列出前 {n} 条(共 {total} 条)。",
                 "Tickets due in the period and not done in time; still-open ones first, then by hours over; "
                 "the first {n} of {total}."),
    "due": ("到期工单", "Due"),
    "breaches": ("超时工单", "Breaches"),
    "breach_share": ("超时占比", "Breach share"),
    "ticket_id": ("工单号", "Ticket"),
    "created_at": ("创建时间", "Created"),
    "due_at": ("到期时间", "Due at"),
    "done_at": ("完成时间", "Done at"),
    "hours_over": ("超时(小时)", "Hours over"),
    "overdue": ("已超时", "Overdue"),
    "still_open": ("仍未完成", "Still open"),
    "complaints_title": ("投诉原因排行", "Top complaint reasons"),
    "reason": ("投诉原因", "Reason"),
    "backlog_title": ("期末积压工单账龄", "Backlog at period end, by age"),
    "age": ("账龄", "Age"),
    "outlook_none": ("尚无预测运行记录:运行 `aftersales forecast` 后,报告将显示人力需求与配件补货展望。",
                     "No forecast run yet: run `aftersales forecast` and the report will show the staffing and "
                     "spare-part outlook."),
    "no_run": ("尚无预测运行记录", "no forecast run yet"),
    "outlook_run": ("预测运行:{run}", "Forecast run: {run}"),
    "staffing_title": ("人力需求与现有人力", "Staffing needed vs available"),
    "reorder_title": ("配件补货与预计缺货日期", "Spare-part reorders and projected stock-outs"),
    "def_description": ("定义", "Definition"),
    "def_period_by": ("归期依据", "Period by"),
    "def_direction": ("方向", "Better"),
    "def_min_sample": ("最小样本", "Min. sample"),
    "def_note": ("说明", "Note"),
    "higher": ("越高越好", "higher"),
    "lower": ("越低越好", "lower"),
    "none": ("—", "—"),
    "masking": ("客户姓名与电话在所有导出中均已脱敏(张** / 138****1234)。",
                "Customer names and phone numbers are masked in every export (张** / 138****1234)."),
    "footer": ("由售后分析系统的定时报告生成;所有数字来自指标层(与看板一致)。",
               "Made by aftersales report; every number comes from the metrics layer (as on the dashboard)."),
    "about": ("报告信息", "About"),
    "item": ("项目", "Item"),
    "detail": ("内容", "Detail"),
    "language": ("语言", "Language"),
    "chart_fallback": ("(图表需要浏览器运行脚本)", "(the chart needs a browser with scripts enabled)"),
}

PERIOD_BY = {
    "created": ("按创建时间", "created"), "resolved": ("按完成时间", "resolved"),
    "closed": ("按结单时间", "closed"), "responded": ("按回访时间", "survey response"),
    "due": ("按到期时间", "due time"), "period_end": ("按期末", "period end"), "visit": ("按上门时间", "visit"),
}
UNITS = {
    "tickets": ("单", "tickets"), "share": ("%", "%"), "hours": ("小时", "hours"), "points": ("分", "points"),
    "score": ("分", "score"), "per_1000_orders": ("‰订单", "per 1,000 orders"), "units": ("件", "units"),
    "yuan": ("元", "yuan"),
}
# SLA KPI -> its stage's label (the stage codes' labels the dashboard shows too).
STAGES = {kpi: (shared.ZH_CODES["stage"][stage], shared.EN_CODES["stage"][stage]) for kpi, stage in (
    ("sla_first_response", "first_response"), ("sla_onsite", "onsite"), ("sla_compliance", "resolution"))}


def t(key: str, lang: str, **kw: object) -> str:
    return shared.words(_T, key, lang, **kw)


def dim_label(dim: str, lang: str) -> str:
    d = R.DIMENSIONS[dim]
    return d.zh if lang == "zh" else d.en


def value_label(dim: str, value: object, lang: str, names: dict[str, str] | None = None) -> str:
    """How a breakdown value is shown: 华东 / east; outlets and technicians with their name."""
    if value is None:  # what is missing and why: outlet, technician and region come with dispatch
        return t("none_dispatch" if dim in ("outlet", "technician", "region", "outlet_type") else "none_value", lang)
    d = R.DIMENSIONS[dim]
    v = str(value)
    if d.labels:
        added = model.EXTRA_CODES.get(model.vocabulary_of(d.labels) or "", {}).get(v)  # codes the config adds
        if added:
            return added[0] if lang == "zh" else added[1]
        return d.labels.get(v, v) if lang == "zh" else v.replace("_", " ").capitalize()
    if names and names.get(v) and names[v] != v:
        return f"{v} {names[v]}"
    return v


def status_label(status: str | None, lang: str) -> str:
    return t(status or "no_data", lang)


# The KPI notes (metrics.registry, English) in Chinese, for the zh report's appendix. A KPI added
# without one here shows no note in Chinese rather than an English one.
NOTES_ZH: dict[str, str] = {
    "complaints_per_1k_orders": "投诉按工单创建日期、渠道和产品品类与订单量对应。",
    "first_response_time": "中位数不能由各日结果合并:每月的中位数由该月全部记录重新计算。",
    "repair_success_rate": "仅“已修复”计为成功(“已换新”表示维修未成功)。数据截止前 30 天内完成的工单尚未观察完整(仍可能再次报修)。",
    "first_time_fix_rate": "没有上门记录的工单,按源系统的重开次数判断一次修复:已修复且从未重开。结果中的“依据”说明各有多少工单按哪种方式判断。",
    "mttr_median": "中位数不能由各日结果合并。",
    "mttr_p90": "分位数不能由各日结果合并。",
    "reopen_rate": "数据截止前 30 天内完成的工单尚未观察完整。带有源系统重开次数的工单,次数大于 0 即计为重开(无需重开时间)。"
                   "结果中既无重开时间也无重开次数时,重开率为“无数据”(没有重开信息的导出不等于重开率为 0%)。",
    "sla_compliance": "工单的到期时间为创建时间加上其服务类型的时限(在配置中设定)。到期时间已过(以数据最新时间为准)或该环节已完成时,"
                      "工单计入到期所在的期间;在到期前完成即为达标。已取消的工单不计。工单带有源系统自己的判定时,以该判定为准;"
                      "结果中的“依据”说明各有多少工单按源系统判定、多少按配置的时限判定。",
    "sla_first_response": "工单的到期时间为创建时间加上其服务类型的时限(在配置中设定)。到期时间已过(以数据最新时间为准)或该环节已完成时,"
                          "工单计入到期所在的期间;在到期前完成即为达标。已取消的工单不计。",
    "sla_onsite": "工单的到期时间为创建时间加上其服务类型的时限(在配置中设定)。到期时间已过(以数据最新时间为准)或该环节已完成时,"
                  "工单计入到期所在的期间;在到期前完成即为达标。已取消的工单不计。",
    "backlog": "积压指期末前创建、期末时尚未完成的工单;已取消的工单不计入积压。账龄分段见积压账龄表。",
    "parts_consumption": "师傅取上门记录的师傅(无上门记录时取工单的师傅)。",
}


def kpi_note(kpi_id: str, lang: str) -> str | None:
    """A KPI's caveat in ``lang`` (None when it has none in that language)."""
    if lang == "zh":
        return NOTES_ZH.get(kpi_id)
    return R.KPIS[kpi_id].note or None


RANK_METHODS = {"shrunk": ("经验贝叶斯收缩值", "shrunk"), "interval": ("区间保守端", "interval"), "value": ("原始数值", "value")}


def rank_method(method: str | None, lang: str) -> str | None:
    """How a ranking was made (metrics.rank's rank_method), in ``lang``."""
    return None if method is None else pick(RANK_METHODS.get(method, (method, method)), lang)


_BUCKET_UNITS = {"d": ("天", "d"), "h": ("小时", "h")}


def bucket_label(bucket: str | None, lang: str) -> str | None:
    """A distribution bucket (metrics.distribution: 0–1d, 24–48h, >30d) with its unit in ``lang``."""
    if bucket is None or bucket[-1:] not in _BUCKET_UNITS or not bucket[-2:-1].isdigit():
        return bucket
    return bucket[:-1] + pick(_BUCKET_UNITS[bucket[-1]], lang)


def kpi_header(kpi_id: str, lang: str) -> str:
    """A KPI as a column header, with the unit its bare numbers need: 平均维修时长(小时), 配件成本(元)."""
    k = R.KPIS[kpi_id]
    if k.unit not in ("hours", "yuan"):
        return k.label(lang)
    unit = pick(UNITS[k.unit], lang)
    return f"{k.label(lang)}({unit})" if lang == "zh" else f"{k.label(lang)} ({unit})"


def duration(hours: float | None, lang: str) -> str | None:
    """How long, for a reader: hours up to 48 (36.5 小时), days beyond (972 天)."""
    if hours is None:
        return None
    if abs(hours) > 48:
        return f"{hours / 24:,.0f}天" if lang == "zh" else f"{hours / 24:,.0f} d"
    return f"{hours:,.1f}小时" if lang == "zh" else f"{hours:,.1f} h"
