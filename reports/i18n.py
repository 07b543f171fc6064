"""The report's words, in Chinese and English. KPI and dimension names come from the metrics
registry, the words the dashboard shows too from ``aftersales.i18n``; the report's own headings,
column names and notes live here."""

from __future__ import annotations

import datetime as dt

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
    "data_scope": ("数据范围", "Data scope"),
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
    # cost of service (reports/content.py cost_section)
    "sec_cost": ("服务成本", "Cost of service"),
    "cost_by": ("成本按{dim}", "Cost by {dim}"),
    "cost_note": ("成本在工单完成时计入:配件(数量×单价)+人工(上门工时×工时单价)+路途(上门费)+退款,金额单位为元;"
                  "工时单价与上门费可在配置文件中修改。保内维修占比 = 保内维修工单 ÷ 保修状态已知的已完成维修工单。",
                  "Costs are booked when a ticket is resolved: parts (quantity × unit cost) + labour (visit hours × "
                  "hourly rate) + travel (visit fee) + refunds, in yuan; rates in the config's [cost]. Repairs in "
                  "warranty = repair tickets resolved in warranty ÷ those with a known warranty status."),
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
    # provisional numbers (metrics.maturity)
    "provisional": ("暂定", "provisional"),
    "provisional_until": ("暂定,{date}定稿", "provisional, final on {date}"),
    "final_on": ("定稿日期", "Final on"),
    "def_final_when": ("定稿规则", "Final when"),
    "provisional_warning": ("注意:以下指标尚未定稿(复核期未满或回访尚未收齐),为暂定值,不判定达标与否:{items}。",
                            "Note: these numbers are not final yet (their recheck window or surveys are still "
                            "open): provisional, not judged against target: {items}."),
    "provisional_item": ("{kpi}({date}定稿)", "{kpi} (final on {date})"),
    "trend_provisional": ("空心菱形与虚线为暂定值(尚未定稿)。", "Hollow diamonds on a dashed line: provisional values (not final yet)."),
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
    # complaint insight (issue 15 item 4: reports/complaints.py)
    "sec_complaints": ("投诉洞察", "Complaint insight"),
    "central_service": ("总部客服(未派网点)", "Central service (no outlet)"),
    "complaints": ("投诉数", "Complaints"), "tickets_created": ("新建工单", "Tickets created"),
    "complaint_share_of_tickets": ("占新建工单", "Of tickets created"),
    "share_of_outlet": ("占该网点投诉", "Of the outlet's complaints"),
    "matrix_title": ("投诉原因 × 网点", "Complaint reason × outlet"),
    "matrix_note": ("每行:该网点本期某一原因的投诉工单数,占该网点全部新建工单的比例,及占该网点投诉的比例;"
                    "投诉最多的网点在前(Excel 列出全部)。",
                    "Each row: an outlet's complaint tickets of one reason in the period, as a share of every ticket "
                    "created there and of the outlet's complaints; outlets with most complaints first (the workbook "
                    "lists all)."),
    "handling_title": ("投诉处理时长(小时)", "Complaint handling time (hours)"),
    "handling_note": ("从投诉工单创建到结单的小时数,按结单时间归期;尚未结单的投诉不计入。",
                      "Hours from a complaint ticket's creation to its closing, counted in the period it was closed; "
                      "complaints not yet closed are not counted."),
    "all_complaints": ("全部投诉", "All complaints"),
    "themes_title": ("投诉内容主题", "Themes of the complaint texts"),
    "themes_note": ("投诉内容经中文分词、去除停用词后,按各主题的关键词归类;未提及任何主题关键词的归为“未归类”。",
                    "Complaint texts are segmented into words, stop words removed, and each is given the theme whose "
                    "keywords it names most; a text naming none is unclassified."),
    "theme": ("主题", "Theme"), "keyword": ("关键词", "Keyword"),
    "keywords_title": ("投诉高频关键词", "Top complaint keywords"), "texts_using": ("提及的投诉数", "Complaints using it"),
    "customer_id": ("客户编号", "Customer"), "customer_name": ("客户姓名", "Name"), "customer_phone": ("联系电话", "Phone"),
    "reasons": ("投诉原因", "Reasons"), "first_complaint": ("首次投诉", "First complaint"),
    "last_complaint": ("最近投诉", "Latest complaint"),
    "repeat_title": ("重复投诉客户", "Repeat complainants"),
    "repeat_note": ("本期投诉不少于 2 次的客户(姓名、电话已脱敏),投诉最多的在前;列出前 {n} 位(共 {total} 位)。",
                    "Customers with 2 or more complaints in the period (names and phones masked), most complaints "
                    "first; the first {n} of {total}."),
    "complaint_text_masked": ("投诉内容中的电话号码等长数字已脱敏。", "Phone and other long numbers in complaint texts are masked."),
    "reason_code": ("投诉原因代码", "Reason code"), "theme_code": ("主题代码", "Theme code"),
    "themes_outlet_title": ("各网点投诉主题", "Complaint themes by outlet"),
    "complaint_texts": ("投诉内容条数", "Complaint texts"), "top_theme": ("最多的主题", "Largest theme"),
    "second_theme": ("其次的主题", "Second theme"),
    "no_complaint_texts": ("本期投诉没有投诉内容,无法分析主题。", "The period's complaints carry no text: no themes to show."),
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


def status_label(status: str | None, lang: str, final_on: dt.date | None = None) -> str:
    """达标 / 未达标 / …; a provisional number with the date it becomes final (暂定,2026-12-01定稿)."""
    if status == "provisional" and final_on is not None:
        return t("provisional_until", lang, date=final_on.isoformat())
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
