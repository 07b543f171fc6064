"""Every word the dashboard shows, in 中文 and English, and how numbers and dates are written.

KPI and breakdown names come from ``metrics.registry`` (defined once beside each KPI); the words
the reports show too and the coded values' labels come from ``aftersales.i18n``; this module
adds the dashboard's own words. ``t(key)`` falls back to the key itself, so a missing label shows up
in the browser test's screenshots rather than raising.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from aftersales import i18n as shared
from aftersales import model
from aftersales.i18n import EN_CODES, LANG_NAMES, LANGS, ZH_CODES  # noqa: F401 - used through this module

_COMMON = shared.COMMON

# The dashboard's words: key -> (中文, English).
WORDS: dict[str, tuple[str, str]] = {
    **{k: _COMMON[k] for k in ('period', 'target', 'rank', 'count', 'share', 'completeness', 'kpi', 'vs_yoy', 'yes', 'no', 'stage', 'forecast')},
    "app_title": ("售后服务分析", "After-sales analytics"),
    # pages
    "page_overview": ("总览", "Overview"),
    "page_repair": ("维修质量", "Repair quality"),
    "page_complaints": ("投诉", "Complaints"),
    "page_satisfaction": ("满意度", "Satisfaction"),
    "page_sla": ("时效与积压", "SLA and backlog"),
    "page_staffing": ("人力排班", "Staffing"),
    "page_parts": ("备件", "Spare parts"),
    "page_data": ("数据", "Data"),
    # filters
    "filters": ("筛选", "Filters"),
    "language": ("语言 / Language", "语言 / Language"),
    "date_range": ("日期范围", "Date range"),
    "grain": ("时间粒度", "Period"),
    "all": ("全部", "All"),
    "reset_filters": ("清除筛选", "Clear filters"),
    "link_hint": ("筛选条件保存在网址中,复制链接即可复现当前视图。", "Filters live in the URL: copy the link to share this view."),
    "grain_day": ("日", "Day"), "grain_week": ("周", "Week"), "grain_month": ("月", "Month"),
    "grain_quarter": ("季", "Quarter"), "grain_year": ("年", "Year"),
    # common
    "value": ("数值", "Value"), "n_records": ("样本量", "Records"), "interval": ("95%区间", "95% interval"),
    "status": ("状态", "Status"), "change": ("变化", "Change"),
    "previous": ("上期", "Previous"), "vs_prev": ("环比", "vs previous"),
    "score": ("排序依据", "Ranked on"),
    "bucket": ("区间", "Bucket"),
    "excluded": ("未计入", "Not counted"),
    "reason": ("原因", "Reason"), "dimension": ("维度", "Breakdown"),
    "small_sample": ("样本不足", "Too few records"), "download_csv": ("下载 CSV", "Download CSV"),
    "download_xlsx": ("下载 Excel", "Download Excel"), "records_behind": ("明细工单", "Records behind"),
    "pick_to_drill": ("点击图中的点或表中的行,查看其背后的工单明细。",
                      "Click a point in a chart or a row in a table to see the records behind it."),
    "drill_for": ("明细:{what}", "Records: {what}"), "showing_first": ("仅显示前 {n} 条", "showing the first {n}"),
    "no_records": ("没有符合条件的记录。", "No records match."),
    "selected_range": ("所选范围", "selected range"), "period_to_date": ("截至 {d}", "to {d}"),
    "latest_period": ("最近一期:{p}", "Latest period: {p}"),
    "hover_n": ("样本量", "records"), "hover_ci": ("95%区间", "95% interval"),
    "better": ("改善", "better"), "worse": ("变差", "worse"), "unchanged": ("持平", "unchanged"),
    "kpi_trend": ("指标趋势", "KPI trends"), "movers": ("变化最大", "Biggest movers"),
    "movers_help": ("最近一期与上一期相比变化最大的大区、网点和渠道(样本不足的不参与排序)。",
                    "Regions, outlets and channels whose value changed most from the previous period "
                    "(units with too few records are left out)."),
    "mover_kpi": ("指标", "KPI"), "direction": ("方向", "Direction"), "unit_name": ("对象", "Unit"),
    "cut_off": ("数据截止", "data cut-off"),
    "status_met": ("达标", "On target"), "status_missed": ("未达标", "Off target"),
    "status_too_small": ("样本不足", "Too few records"), "status_no_target": ("无目标", "No target"),
    "status_no_data": ("无数据", "No data"),
    # provisional numbers (metrics.maturity): not yet final, with the date they will be
    "status_provisional": ("暂定", "Provisional"),
    "provisional_until": ("暂定,{date}定稿", "Provisional, final on {date}"),
    "final_on_date": ("{date}定稿", "final on {date}"),
    "final_on": ("定稿日期", "Final on"),
    "movers_provisional": ("最近一期为暂定值({date}定稿),变化仍可能改变。",
                           "The latest period is provisional (final on {date}): these changes may still move."),
    # empty states
    "empty_no_db": ("数据库 {db} 不存在:请先运行 `aftersales load 路径`(或快速上手脚本)。",
                    "Database {db} does not exist yet: run `aftersales load PATH` (or the quickstart) first."),
    "empty_no_tickets": ("数据库中还没有工单:请用 `aftersales load 路径` 导入。",
                         "There are no tickets in the database yet: load some with `aftersales load PATH`."),
    "empty_filter": ("所选日期范围和筛选条件下没有数据,请放宽筛选。",
                     "Nothing in the selected date range and filters; widen them."),
    "empty_kpi_dims": ("{kpi} 不能按 {dims} 筛选,已清除该筛选后再看,或换一个指标。",
                       "{kpi} cannot be filtered by {dims}; clear that filter to see it."),
    "empty_orders": ("未导入每日订单量,无法计算千单投诉率。",
                     "No orders loaded (orders_daily), so complaints per 1,000 orders cannot be computed."),
    "empty_forecast": ("还没有已保存的预测:运行 `aftersales forecast all` 后刷新本页。",
                       "No stored forecast yet: run `aftersales forecast all`, then reload this page."),
    "empty_forecast_api": ("预测模块尚未提供读取函数 `forecasts.store.{fn}`,此部分暂无法显示。",
                           "The forecasts package does not provide `forecasts.store.{fn}` yet, so this part cannot be shown."),
    "empty_quarantine": ("没有被隔离的行:每一行都已通过校验。", "No quarantined rows: every row passed validation."),
    "empty_ledger": ("加载台账为空。", "The load ledger is empty."),
    "error_user": ("无法显示:{msg}", "Cannot show this: {msg}"),
    # overview
    "headline": ("核心指标", "Headline KPIs"),
    # page sections (tabs)
    "tab_trends": ("趋势与分布", "Trends and distribution"), "tab_breakdown": ("按渠道、品类、原因", "By channel, category, reason"),
    "tab_backlog": ("积压账龄与未完成工单", "Backlog ageing and open tickets"),
    "tab_loads": ("新鲜度与加载台账", "Freshness and load ledger"),
    # repair
    "mttr_distribution": ("维修时长分布", "Repair time distribution"),
    "hours": ("小时", "hours"), "by_outlet": ("按网点", "By outlet"), "by_technician": ("按师傅", "By technician"),
    "own_vs_outsourced": ("自营与外包网点对比", "Own vs outsourced outlets"),
    "rank_note": ("排序使用经验贝叶斯收缩值(或区间保守端),小样本不会排到最前。",
                  "Ranked on the shrunk estimate (or the cautious end of the interval), so a tiny unit cannot top the table."),
    "top_n": ("显示最差 {n} 个(共 {total} 个,完整列表见下表)。", "Showing the worst {n} of {total} (full list in the table)."),
    # complaints
    "complaint_trend": ("投诉率趋势", "Complaint rate over time"), "by_channel": ("按渠道", "By channel"),
    "by_category": ("按产品品类", "By product category"), "by_reason": ("按投诉原因", "By reason"),
    "complaint_list": ("投诉工单", "Complaint tickets"),
    "no_reason": ("未注明原因", "No reason given"),
    "list_period": ("期间:{p}(点击趋势图中的点切换期间)", "Period: {p} (click a point in the trend to change it)"),
    # complaint insight (issue 15 item 4)
    "tab_matrix": ("原因矩阵", "Reason matrix"), "tab_reason_trend": ("原因趋势", "Trend per reason"),
    "tab_handling": ("处理时长", "Handling time"), "tab_repeat": ("重复投诉客户", "Repeat complainants"),
    "tab_themes": ("投诉内容主题", "Complaint themes"),
    "matrix_rows": ("矩阵的行", "Rows of the matrix"), "matrix_colour": ("颜色表示", "Colour shows"),
    "matrix_count": ("投诉数", "Complaints"), "matrix_rate": ("投诉率", "Complaint rate"),
    "matrix_title": ("投诉原因 × {dim}", "Complaint reason × {dim}"),
    "matrix_help": ("每格为投诉工单数及其占该{dim}全部新建工单的比例;点击一格或在下方选择,查看该格的投诉工单。",
                    "Each cell: complaint tickets and their share of every ticket created at that {dim}; click a "
                    "cell, or pick it below, for its complaint tickets."),
    "matrix_top": ("图中显示投诉最多的 {n} 个(共 {total} 个,完整数据见下表)。",
                   "The chart shows the {n} with most complaints (of {total}; all of them in the table below)."),
    "matrix_table": ("矩阵数据", "Matrix data"), "cell_pick": ("查看明细的格", "Cell to list"),
    "no_outlet": ("总部客服(未派网点)", "Central service (no outlet)"),
    "reason_trend_title": ("各投诉原因的投诉率", "Complaint rate per reason"),
    "handling_trend": ("投诉处理时长趋势", "Complaint handling time over time"),
    "handling_by_reason": ("各投诉原因的处理时长", "Handling time per reason"),
    "handling_help": ("从投诉工单创建到结单的小时数;尚未结单的投诉不计入。",
                      "Hours from a complaint ticket's creation to its closing; complaints not yet closed are not "
                      "counted."),
    "repeat_help": ("所选范围内投诉不少于 {n} 次的客户(姓名、电话已脱敏),投诉最多的在前;选中一行查看其投诉工单。",
                    "Customers with {n} or more complaints in the selected range (names and phones masked), most "
                    "complaints first; select a row for their complaint tickets."),
    "repeat_min": ("最少投诉次数", "Complaints at least"),
    "n_repeat": ("{n} 位客户重复投诉,共 {c} 张投诉工单", "{n} customers complained repeatedly, {c} complaint tickets"),
    "no_repeat": ("所选范围内没有重复投诉的客户。", "No customer complained more than once in the selected range."),
    "complaints_of": ("{who} 的投诉工单", "Complaint tickets of {who}"),
    "themes_title": ("投诉内容主题", "Themes of the complaint texts"),
    "themes_help": ("投诉内容经中文分词、去除停用词后,按各主题的关键词归类(主题对应投诉原因);"
                    "未提及任何主题关键词的归为“未归类”。共 {n} 条投诉内容。",
                    "Complaint texts are segmented into words, stop words removed, and each is given the theme whose "
                    "keywords it names most (themes map to complaint reasons); a text naming none is unclassified. "
                    "{n} complaint texts."),
    "theme_by_outlet": ("主题 × 网点", "Theme × outlet"), "theme_trend": ("主题趋势", "Themes over time"),
    "keywords_title": ("高频关键词", "Top keywords"),
    "texts_of_theme": ("主题“{t}”的投诉内容", "Complaint texts of the theme “{t}”"),
    "theme_pick": ("查看投诉内容的主题", "Theme whose texts to list"),
    "no_texts": ("所选范围内的投诉没有投诉内容。", "The complaints in the selected range carry no complaint text."),
    # satisfaction
    "sat_trend": ("满意度与净推荐值", "CSAT and NPS"), "response_rate_trend": ("回访率", "Survey response rate"),
    "score_distribution": ("评分分布", "Score distribution"), "satisfaction_score": ("满意度评分 (1–5)", "Satisfaction (1–5)"),
    "nps_score": ("推荐意愿 (0–10)", "Likelihood to recommend (0–10)"), "comments": ("评价内容", "Comments"),
    "search_comments": ("搜索评价", "Search comments"), "n_comments": ("{n} 条评价", "{n} comments"),
    "detractor": ("贬损者", "Detractors"), "passive": ("中立者", "Passives"), "promoter": ("推荐者", "Promoters"),
    # sla
    "breaching_now": ("正在超时", "Breaching now"),
    "breaching_help": ("未完成且已超过时限的工单(截至数据最新时间 {t}),最久的在前。",
                       "Open tickets past their time limit (as of the data's latest time, {t}), most overdue first."),
    "overdue_hours": ("超时(小时)", "Overdue (h)"), "ageing": ("积压账龄", "Backlog ageing"),
    "open_list": ("未完成工单", "Open tickets"), "sla_trend": ("时效达成率趋势", "SLA compliance over time"),
    "backlog_trend": ("积压趋势", "Backlog over time"),
    "n_breaching": ("{n} 张工单正在超时", "{n} tickets breaching now"), "tickets": ("工单", "Tickets"),
    # staffing
    "workload_forecast": ("工单量预测", "Workload forecast"),
    "actual": ("实际", "Actual"), "interval_80": ("80%预测区间", "80% forecast interval"),
    "staffing_table": ("所需与在岗师傅(按大区、周)", "Technicians needed vs available (region × week)"),
    "needed": ("所需", "Needed"), "available": ("在岗", "Available"), "gap": ("缺口", "Shortfall"),
    "series": ("序列", "Series"), "events": ("节假日与大促", "Holidays and shopping festivals"),
    "backtest": ("回测", "Backtest"), "baseline": ("基准模型", "baseline"), "week": ("周", "Week"), "region": ("大区", "Region"),
    "shortfall_weeks": ("{n} 个大区·周存在缺口", "{n} region-weeks short of technicians"),
    # forecast runs: the pipeline's by default, a planner's file runs one pick away
    "run_pick": ("预测运行", "Forecast run"),
    "run_database": ("流水线数据库", "Pipeline database"),
    "run_file": ("文件 {name}", "File {name}"),
    "run_created": ("运行于 {t}", "run {t}"),
    "run_pick_help": ("默认显示流水线(数据库)的最新运行;也可选择由计划员文件生成的运行。",
                      "Shows the pipeline's (database) latest run by default; runs made from a file (--input) can be picked."),
    "freq_D": ("按日", "daily"), "freq_W": ("按周", "weekly"), "freq_M": ("按月", "monthly"),
    "not_forecast": ("{n} 个序列未预测(原因见下)", "{n} series not forecast (why, below)"),
    "nf_gaps": ("缺少 {n} 个日期(可用 --fill-gaps zero 记为 0)", "{n} missing dates (--fill-gaps zero counts them as 0)"),
    "nf_too_short": ("历史过短:仅 {n} 期", "too short: {n} periods of history"),
    "nf_too_sparse": ("过于稀疏:近一年每周 {n}", "too sparse: {n} a week over the last year"),
    "nf_no_values": ("没有数值", "no values"),
    "staffing_file_run": ("该运行来自文件,没有大区与师傅数据,因此没有排班计划。",
                          "This run comes from a file: without regions and technicians there is no staffing plan."),
    # parts
    "part": ("配件", "Part"), "reorder_table": ("补货表", "Reorder table"), "demand_classes": ("需求类型", "Demand classes"),
    "part_forecast": ("配件需求预测", "Part demand forecast"), "consumption": ("配件消耗(按配件)", "Consumption by part"),
    "stockout_soon": ("{n} 个配件预计在补货周期内缺货", "{n} parts projected to run out within their lead time"),
    # cost of service (views/cost.py)
    "page_cost": ("成本", "Cost"),
    "cost_caption": ("成本在工单完成时计入:配件(数量×单价)+人工(上门工时×工时单价)+路途(上门费)+退款;工时单价与上门费可在配置文件中修改。",
                     "Costs are booked when a ticket is resolved: parts (quantity × unit cost) + labour (visit hours × "
                     "hourly rate) + travel (visit fee) + refunds; rates in the config's [cost]."),
    "cost_rests_on": ("{value} · 基于 {n} 张工单", "{value} · {n} tickets"),
    "cost_components": ("成本构成(按期间)", "Cost by component over time"),
    "cost_tab_by": ("按大区、网点、服务类型、产品", "By region, outlet, service type, product"),
    "cost_tab_warranty": ("保内与保外", "In vs out of warranty"),
    "cost_by": ("按{dim}的成本构成", "Cost components by {dim}"),
    "cost_tickets": ("工单数", "Tickets"),
    "cost_provisional": ("暂定:所选范围的最后一期尚未结束(成本在工单完成时计入,仍会增加),{date}定稿;图中浅色斜纹为暂定值。",
                         "Provisional: the range's last period is not over (cost is booked as tickets are resolved "
                         "and will still grow), final on {date}; pale hatched bars are provisional."),
    "cost_unassigned": ("“{label}”为没有{dim}的工单,例如由总部客服直接处理、未派给网点的退款和咨询。",
                        "\"{label}\": tickets without a {dim}, such as refunds and consultations handled by head "
                        "office customer service without an outlet."),
    "cost_no_warranty": ("“{label}”为没有保内/保外之分的工单(退款、咨询)或未记录是否保内的工单。",
                         "\"{label}\": tickets without a warranty status (refunds, consultations) or with none "
                         "recorded."),
    # data
    "ledger": ("加载台账", "Load ledger"), "quarantine": ("隔离行", "Quarantined rows"),
    "freshness": ("数据新鲜度", "Data freshness"), "completeness_per_kpi": ("各指标完整度", "Completeness per KPI"),
    "by_rule": ("按规则", "By rule"), "latest_data": ("最新数据时间", "Latest data"),
    "last_load": ("最近加载", "Last load"), "table": ("表", "Table"), "rows": ("行数", "Rows"),
    "db_file": ("数据库文件", "Database file"), "load_id": ("加载批次", "Load id"),
    "age": ("距今", "Age"), "days_ago": ("{n} 天前", "{n} days ago"),
    # alerts (issue 16)
    "page_alerts": ("告警", "Alerts"),
    "alerts_firing": ("正在告警", "Firing now"),
    "alerts_history": ("告警记录", "History"),
    "alerts_rules": ("规则与最新值", "Rules and their last values"),
    "alerts_none_firing": ("当前没有告警。", "Nothing is firing."),
    "alerts_no_check": ("还没有运行过告警检查：运行 `aftersales alerts check`（可设为定时任务，见 `docs/ALERTS.md`）。",
                        "No alert check has run yet: run `aftersales alerts check` (cron: see docs/ALERTS.md)."),
    "alerts_badge": ("{n} 条告警", "{n} alerts firing"),
    "alerts_checked": ("最近检查：{t}", "Last check: {t}"),
    "alert_col_rule_id": ("规则", "Rule"), "alert_col_key": ("对象", "Subject"), "alert_col_firing": ("告警中", "Firing"),
    "alert_col_judged": ("已判断", "Judged"), "alert_col_value": ("数值", "Value"), "alert_col_compared": ("对比值", "Compared with"),
    "alert_col_compared_kind": ("对比", "Comparison"), "alert_col_sample": ("样本", "Sample"),
    "alert_col_period": ("期间", "Period"), "alert_col_note": ("说明", "Note"), "alert_col_started_at": ("开始于", "Since"),
    "alert_col_last_sent_at": ("最近发送", "Last sent"), "alert_col_checked_at": ("检查时间", "Checked"),
    "alert_col_event_at": ("时间", "Time"), "alert_col_kind": ("类型", "Kind"), "alert_col_title": ("消息", "Message"),
    "alert_col_sends": ("发送结果", "Sends"), "alert_col_condition": ("条件", "Condition"),
    "alert_col_min_sample": ("最小样本", "Minimum sample"), "alert_col_targets": ("发送对象", "Targets"),
    "alerts_several": ("(多项,见消息)", "(several: see the message)"),
    "alert_col_kpi": ("指标", "KPI"), "alert_col_by": ("拆分", "Breakdown"), "alert_col_page": ("页面", "Page"),
    # scorecards (dashboard/views/scorecard.py)
    "page_scorecard": ("网点与师傅评分卡", "Scorecards"),
    "sc_outlets": ("网点评分卡", "Outlets"), "sc_technicians": ("师傅评分卡", "Technicians"),
    "sc_types": ("自营与外包", "Own vs outsourced"), "sc_losses": ("一次修复损失", "First-time-fix losses"),
    "sc_period": ("统计期", "Period"), "sc_show": ("显示", "Show"),
    "sc_show_value": ("数值(样本量)", "Value (records)"), "sc_show_change": ("环比", "Change vs previous"),
    "sc_show_rank": ("排名", "Rank"),
    "sc_note": ("括号内为该数值所依据的记录数;排名使用经验贝叶斯收缩值,小样本不会排到最前;综合排名为各指标排名位置的平均。",
                "In brackets: the records each value rests on. Ranks use empirical-Bayes shrunk values, so small "
                "samples do not top the table; the overall rank is the mean of the KPI rank positions."),
    "sc_overall": ("综合排名", "Overall rank"), "sc_overall_score": ("综合得分(0为最好)", "Overall score (0 best)"),
    "sc_outlet": ("网点", "Outlet"), "sc_outlet_name": ("网点名称", "Outlet name"),
    "sc_technician_name": ("师傅姓名", "Technician name"), "sc_skill": ("技能等级", "Skill level"),
    "sc_all_outlets": ("全部网点", "All outlets"),
    "sc_complaints": ("投诉工单", "Complaint tickets"), "sc_repeats": ("返修工单", "Repeat repairs"),
    "sc_repeat_repairs": ("返修工单", "Repeat repairs"),
    "sc_overdue": ("期末超时未结", "Open past SLA at period end"),
    "sc_overdue_prev": ("上期末超时未结", "Open past SLA at previous period end"),
    "sc_overdue_change": ("超时未结 · 环比", "Open past SLA · change"),
    "sc_loss_of": ("一次修复损失:{cause}", "First-time-fix loss: {cause}"),
    "sc_unassigned": ("另有 {n} 张工单未分配网点(退款、咨询由客服中心处理),不计入任何网点。",
                      "{n} more tickets have no outlet (refunds and consultations are handled centrally) and count "
                      "in no outlet's row."),
    "sc_pick_outlet": ("在表中选一行或在上方选择一个网点,查看其指标卡、一次修复损失,并下载可打印的单页评分卡。",
                       "Pick a row in the table, or an outlet above, for its cards, its first-time-fix losses and "
                       "its printable one-page scorecard."),
    "sc_detail_outlet": ("单个网点", "One outlet"),
    "sc_provisional": ("标“暂定”的数值尚未定稿(复核期未满或回访尚未收齐),仍可能变化:{items}。",
                       "Values marked provisional are not final yet (recheck window open or surveys still "
                       "arriving) and may still change: {items}."),
    "sc_provisional_item": ("{kpi}({date}定稿)", "{kpi} (final on {date})"),
    "sc_print": ("下载单页评分卡(可打印)", "Download the one-page scorecard (printable)"),
    "sc_no_losses": ("本期无一次修复损失。", "No first-time-fix losses in this period."),
    "sc_losses_title": ("一次修复损失 {n} 单,按首次上门结果", "{n} first-time-fix losses, by first visit outcome"),
    "sc_loss_by": ("按", "By"), "sc_resolved": ("已完成维修", "Repairs resolved"), "sc_lost": ("损失合计", "Losses"),
    "sc_losses_note": ("损失:已完成维修工单中未在首次上门修复的工单,按首次上门结果归因(括号内为占损失比例),各原因之和等于损失合计。"
                       "待配件看备件库存,客户不在看预约确认,未修复看师傅技能,返厂看产品质量。",
                       "Losses: repairs resolved but not fixed on the first visit, by the first visit's outcome (in "
                       "brackets: share of the losses); the causes sum to the losses. Waiting for parts points at "
                       "stocking, customer absent at appointments, not fixed at skills, referred at the product."),
    "sc_types_note": ("自营与外包网点的同一组指标并列;括号内为记录数。",
                      "The same KPIs for own and outsourced outlets side by side; in brackets: the records."),
    # data scope (issue 17): a link naming values outside the signed-in user's scope
    "outside_scope_ignored": ("链接中的筛选值 {values} 不在您的数据范围内,已忽略。",
                              "The link's filter values {values} are outside your data scope and were ignored."),
}

# Column headers of record and result tables beyond the canonical columns (whose 中文 is in the model).
COLUMNS: dict[str, tuple[str, str]] = {
    **{k: _COMMON[k] for k in ('numerator', 'denominator', 'ci_low', 'ci_high', 'rank', 'target', 'yoy_value', 'yoy_change', 'completeness', 'kpi', 'count', 'share', 'stage')},
    "period_start": ("期间", "Period"), "counted": ("计入", "Counted"), "in_numerator": ("计入分子", "In numerator"),
    "measure": ("度量值", "Measure"), "excluded_reason": ("未计入原因", "Not counted because"),
    "age_days": ("已开天数", "Age (days)"), "due_at": ("到期时间", "Due"), "done_at": ("完成时间", "Done"),
    "visit1_outcome": ("首次上门结果", "First visit outcome"),
    "next_repair_at": ("下次报修时间", "Next repair ticket"), "value": ("数值", "Value"),
    "n_records": ("样本量", "Records"),
    "score": ("排序依据", "Ranked on"),
    "rank_method": ("排序方法", "Method"), "small_sample": ("样本不足", "Too few records"),
    "status": ("状态", "Status"), "prev_value": ("上期", "Previous"),
    "prev_change": ("环比变化", "Change vs previous"),
    "n_excluded": ("未计入数", "Not counted"), "bucket": ("区间", "Bucket"),
    "overdue_hours": ("超时(小时)", "Overdue (h)"),
    "outlet": ("网点", "Outlet"), "technician": ("师傅", "Technician"), "unit": ("单位", "Unit"),
    "load_id": ("批次", "Load"), "file_name": ("文件", "File"), "source": ("来源", "Source"),
    "table_name": ("表", "Table"), "started_at": ("开始时间", "Started"), "finished_at": ("结束时间", "Finished"),
    "rows_read": ("读取行数", "Rows read"), "inserted": ("新增", "Inserted"), "updated": ("更新", "Updated"),
    "unchanged": ("未变", "Unchanged"), "quarantined": ("隔离", "Quarantined"), "message": ("说明", "Message"),
    "row_number": ("行号", "Row"), "sheet": ("工作表", "Sheet"), "column_name": ("字段", "Column"),
    "source_column": ("源表头", "Source column"), "rule": ("规则", "Rule"), "raw": ("原始值", "Raw values"),
    "table": ("表", "Table"), "rows": ("行数", "Rows"), "latest": ("最新数据时间", "Latest data"),
    "last_load": ("最近加载", "Last load"), "change": ("变化", "Change"), "direction": ("方向", "Direction"),
    "n": ("样本量", "Records"), "part_no": ("配件编码", "Part number"), "nps": ("推荐意愿(NPS)", "NPS"),
    "tickets_now": ("工单数", "Tickets"),
    # stored forecasts (forecasts/schema.sql)
    "region": ("大区", "Region"), "week_start": ("周起始", "Week of"), "tickets_expected": ("预计工单", "Tickets expected"),
    "hours_planned": ("计划工时", "Hours planned"), "technicians_needed": ("所需师傅", "Technicians needed"),
    "technicians_available": ("在岗师傅", "Technicians available"), "gap": ("富余(负为缺口)", "Spare (negative: short)"),
    "short": ("缺人", "Short"), "part_name": ("配件名称", "Part name"), "series_class": ("需求类型", "Demand class"),
    "mean_weekly_demand": ("周均需求", "Mean weekly demand"), "lead_time_days": ("补货周期(天)", "Lead time (days)"),
    "on_hand": ("盘点库存", "On hand"), "stock_at_cutoff": ("当前库存(估)", "Stock now (est.)"),
    "reorder_point": ("再订货点", "Reorder point"), "order_up_to": ("补货上限", "Order-up-to level"),
    "order_now": ("需立即下单", "Order now"), "order_qty": ("建议订货量", "Order quantity"),
    "runout_date": ("预计缺货日", "Projected stock-out"),
    "runs_out_within_lead_time": ("补货周期内缺货", "Runs out within lead time"),
    "stockout_prob_lead_time": ("补货周期内缺货概率(%)", "Stock-out probability in lead time (%)"),
    "model": ("模型", "Model"), "adi": ("ADI", "ADI"), "cv2": ("CV²", "CV²"),
    # complaint insight (metrics.complaints)
    "complaints": ("投诉数", "Complaints"), "tickets": ("工单数", "Tickets"), "rate": ("投诉率", "Rate"),
    "reasons": ("投诉原因", "Reasons"), "outlets": ("网点", "Outlets"), "first_at": ("首次投诉", "First complaint"),
    "last_at": ("最近投诉", "Latest complaint"), "ticket_ids": ("工单号", "Tickets"), "theme": ("主题", "Theme"),
    "keyword": ("关键词", "Keyword"), "reason": ("对应投诉原因", "Reason"),
    "complaint_reason": ("投诉原因", "Complaint reason"),
    # cost of service: a ticket's cost in its drill-down (metrics.sql.RECORD_EXTRA["cost"])
    "n_visits": ("上门次数", "Visits"), "labour_hours": ("工时(小时)", "Labour hours"),
    "parts_cost": ("配件成本(元)", "Parts (yuan)"), "labour_cost": ("人工成本(元)", "Labour (yuan)"),
    "travel_cost": ("路途成本(元)", "Travel (yuan)"), "refund_cost": ("退款(元)", "Refund (yuan)"),
    "total_cost": ("服务成本(元)", "Cost (yuan)"), "customer_charge": ("收费金额(元)", "Charged (yuan)"),
    "in_warranty": ("是否保内", "In warranty"), "warranty": ("保修", "Warranty"),
}
_MODEL_ZH = {c.name: c.zh for t in model.TABLES.values() for c in t.columns if c.zh}
_UNIT_SUFFIX = {"hours": ("小时", "h"), "points": ("分", "pt"), "units": ("件", "units"), "yuan": ("元", "yuan")}
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def t(key: str, lang: str, **kwargs: Any) -> str:
    """The dashboard's word for ``key`` in ``lang``, with ``{placeholders}`` filled."""
    return shared.words(WORDS, key, lang, **kwargs) if key in WORDS else key


def code_label(kind: str, code: Any, lang: str) -> str:
    """华东 / East for ``region`` ``east``; the code itself when it has no label."""
    if code is None:
        return "—"
    label = shared.code_label(kind, code, lang)
    return str(code) if label is None else label


def column_label(name: str, lang: str) -> str:
    if name in COLUMNS:
        return shared.pick(COLUMNS[name], lang)
    if lang == "zh" and name in _MODEL_ZH:
        return _MODEL_ZH[name]
    if name in WORDS:
        return t(name, lang)
    return name.replace("_", " ").capitalize() if lang == "en" else name


def is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x: Any, lang: str, decimals: int = 0, compact: bool = False) -> str:
    """1,234,567 (both languages); with ``compact``: 123.5万 / 1.2M."""
    if is_missing(x):
        return "—"
    x = float(x)
    if compact and abs(x) >= 10_000:
        if lang == "zh":
            return f"{x / 1e8:,.2f}亿" if abs(x) >= 1e8 else f"{x / 1e4:,.1f}万"
        return f"{x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"{x / 1e3:,.1f}K"
    return f"{x:,.{decimals}f}"


def kpi_value(kpi: Any, x: Any, lang: str, compact: bool = False, signed: bool = False) -> str:
    """A KPI value in its registry format, with its unit in ``lang``: 89.3%, 36.5 小时, +12.0."""
    if is_missing(x):
        return "—"
    fmt = kpi.fmt
    if signed and not fmt.startswith("+"):
        fmt = "+" + fmt
    if compact and kpi.unit in ("tickets", "units", "yuan") and abs(float(x)) >= 10_000:
        text = ("+" if signed and x > 0 else "") + number(x, lang, compact=True)
    elif compact and kpi.unit == "hours" and abs(float(x)) >= 100:
        text = format(float(x), "+.0f" if signed else ".0f")  # fits a narrow card: 111 小时
    else:
        text = format(float(x), fmt)
    suffix = _UNIT_SUFFIX.get(kpi.unit)
    if suffix:
        text += (" " if lang == "en" else "") + suffix[0 if lang == "zh" else 1]
    return text


def kpi_change(kpi: Any, change: Any, lang: str) -> str | None:
    """A change in a KPI's own unit: +1.2 pp for shares, +3.5 小时 for hours, +120 for counts."""
    if is_missing(change):
        return None
    if kpi.unit == "share":
        pp = 100 * float(change)
        return f"{pp:+.1f} " + ("个百分点" if lang == "zh" else "pp")
    return kpi_value(kpi, change, lang, compact=True, signed=True)


def date(d: dt.date | dt.datetime | None, lang: str) -> str:
    if d is None:
        return "—"
    if isinstance(d, dt.datetime):
        return (f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}" if lang == "zh"
                else f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year} {d:%H:%M}")
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def period(d: dt.date | None, grain: str | None, lang: str) -> str:
    """A period by its start: 2026年10月 / Oct 2026, 2026年第43周 / 2026-W43, 2026年Q3 / Q3 2026."""
    if d is None:
        return "—"
    if grain == "month":
        return f"{d.year}年{d.month}月" if lang == "zh" else f"{_MONTHS_EN[d.month - 1]} {d.year}"
    if grain == "week":
        y, w, _ = d.isocalendar()
        return f"{y}年第{w}周" if lang == "zh" else f"{y}-W{w:02d}"
    if grain == "quarter":
        q = (d.month - 1) // 3 + 1
        return f"{d.year}年第{q}季度" if lang == "zh" else f"Q{q} {d.year}"
    if grain == "year":
        return f"{d.year}年"if lang == "zh" else str(d.year)
    return date(d, lang)


def plotly_date_format(grain: str | None, lang: str) -> str:
    """d3 tick/hover format for a period axis."""
    if grain in ("month", "quarter"):
        return "%Y年%m月" if lang == "zh" else "%b %Y"
    if grain == "year":
        return "%Y"
    return "%Y年%m月%d日" if lang == "zh" else "%d %b %Y"


def status_label(status: str | None, lang: str, final_on: dt.date | None = None) -> str:
    """达标 / 未达标 / …; a provisional number with the date it becomes final (暂定,2026年12月1日定稿)."""
    if status == "provisional" and final_on is not None:
        return t("provisional_until", lang, date=date(final_on, lang))
    return t(f"status_{status}", lang) if status else "—"

# Calendar events marked on the workload charts (names from forecasts.calendar).
EVENTS: dict[str, tuple[str, str]] = {
    "new_year": ("元旦", "New Year"), "spring_festival": ("春节", "Spring Festival"), "qingming": ("清明", "Qingming"),
    "labour_day": ("劳动节", "Labour Day"), "dragon_boat": ("端午", "Dragon Boat"), "mid_autumn": ("中秋", "Mid-autumn"),
    "national_day": ("国庆", "National Day"), "festival_618_peak": ("618", "618"),
    "double11_peak": ("双11", "Double 11"), "double12_peak": ("双12", "Double 12"),
}


def event_label(name: str, lang: str) -> str:
    pair = EVENTS.get(name)
    return name if pair is None else shared.pick(pair, lang)


# -- Chinese-first (issue 15 item 5): forecast models, ranking methods, load statuses --------------

# Forecast models by their stored names (forecasts.workload, forecasts.parts): a Chinese name, the
# model's own name kept in brackets where a planner may look it up.
MODELS: dict[str, tuple[str, str]] = {
    "prophet": ("Prophet 趋势季节模型", "Prophet"), "mstl": ("MSTL 多季节分解模型", "MSTL"),
    "ets": ("ETS 指数平滑模型", "ETS"), "ses": ("简单指数平滑", "SES"), "combo": ("组合模型(多模型平均)", "Combination"),
    "snaive7": ("季节性朴素法(上周同日)", "Seasonal naive (last week)"),
    "snaive": ("季节性朴素法", "Seasonal naive"), "naive364": ("去年同日", "Same day last year"),
    "naive": ("朴素法(沿用上期)", "Naive (last value)"), "swa": ("近四期同日平均", "Seasonal window average"),
    "zero": ("零需求预测", "Zero forecast"), "croston_sba": ("克罗斯顿法(SBA 修正)", "Croston (SBA)"),
    "croston": ("克罗斯顿法", "Croston"), "sba": ("克罗斯顿法(SBA 修正)", "Croston (SBA)"),
    "tsb": ("TSB 间歇需求法", "TSB"), "adida": ("ADIDA 聚合分解法", "ADIDA"), "imapa": ("多层聚合平均法", "IMAPA"),
}
# wt-fw (issue 14): the workload's default combination and the Theta method on request.
MODELS.update({"mean": ("多模型截尾平均(去掉最高和最低)", "Trimmed mean of models"),
               "theta": ("Theta 模型", "Theta")})
# How a ranking was made (metrics.rank's rank_method).
RANK_METHODS: dict[str, tuple[str, str]] = {
    "shrunk": ("经验贝叶斯收缩值", "Shrunk estimate"), "interval": ("区间保守端", "Cautious end of interval"),
    "value": ("原始数值", "Value"),
}
# A load's status in the ledger (aftersales/schema.sql).
LOAD_STATUSES: dict[str, tuple[str, str]] = {
    "loaded": ("已导入", "Loaded"), "duplicate": ("重复文件,已跳过", "Duplicate, skipped"),
}
# Backtest error measures stored beside a series (score_metric).
SCORE_METRICS: dict[str, tuple[str, str]] = {
    "mase": ("平均绝对标度误差", "MASE"), "mase_outer": ("平均绝对标度误差", "MASE"),
    "rmsse": ("均方根标度误差", "RMSSE"),
}
WORDS.update({
    "backtest_caption": ("回测:所选模型为{model},{metric} {score}(越低越好;季节性朴素基准为 {baseline})",
                         "Backtest: {model} chosen, {metric} {score} (lower is better; seasonal naive baseline {baseline})"),
    "backtest_help": ("平均绝对标度误差:预测误差与“季节性朴素法”误差之比,小于 1 表示优于基准。",
                      "MASE: forecast error relative to the seasonal naive forecast's; below 1 beats the baseline."),
    "unspecified_dispatch": ("(未派工,暂无网点)", "(not dispatched yet)"),
    "unspecified_value": ("(源数据未填写)", "(not in the source data)"),
    "unspecified_warranty": ("(无保内保外之分)", "(no warranty status)"),
    "days_unit": ("天", "d"), "hours_unit": ("小时", "h"),
})
COLUMNS.update({"overdue": ("已超时", "Overdue")})


def model_label(name: object, lang: str) -> str:
    """A forecast model's name in ``lang`` (Prophet 趋势季节模型); an unknown name as stored."""
    pair = MODELS.get(str(name or ""))
    return str(name) if pair is None else shared.pick(pair, lang)


def duration(hours: Any, lang: str) -> str:
    """How long, for a reader: hours up to 48 (36.5 小时), days beyond (972 天)."""
    if is_missing(hours):
        return "—"
    h = float(hours)
    if abs(h) > 48:
        return f"{h / 24:,.0f}{'' if lang == 'zh' else ' '}{t('days_unit', lang)}"
    return f"{h:,.1f}{'' if lang == 'zh' else ' '}{t('hours_unit', lang)}"


def bucket_label(bucket: Any, lang: str) -> Any:
    """A distribution bucket (metrics.distribution: 0–1d, 24–48h, >30d) with its unit in ``lang``."""
    from reports.i18n import bucket_label as label  # one rule for the dashboard and the report

    return label(bucket, lang) if isinstance(bucket, str) else bucket


# Why a row was quarantined, said in Chinese with what to do (the loader's own message is English,
# with the details: it stays in the English view and in `aftersales rejects`).
RULE_ADVICE_ZH = {
    "key_present": "缺少主键(如工单号),该行无法导入:请在源文件中补齐",
    "required": "必填项为空:请在源文件中补齐",
    "type": "无法识别的写法(如日期或数字格式不对):请按正确格式填写",
    "known_value": "取值不在代码表中:请改为已知取值,或在配置的代码表中添加",
    "in_range": "数值或日期超出允许范围:请核对",
    "order_of_events": "时间先后矛盾(如完成早于创建):请核对时间",
    "known_reference": "引用的网点、师傅或产品在主数据中不存在:请先导入主数据",
    "duplicate_key": "同一主键出现多次:请去重后重新导入",
}


def quarantine_message(rule: str | None, column: str | None, message: str | None, lang: str) -> str | None:
    """A quarantined row's reason in ``lang``: in Chinese the column's name and the rule's advice."""
    if lang != "zh":
        return message
    advice = RULE_ADVICE_ZH.get(rule or "", "未通过校验:请核对该行")
    name = _MODEL_ZH.get(column or "") if column else None
    return f"{name}:{advice}" if name else advice


def raw_row(text: str | None, lang: str) -> str | None:
    """A quarantined row's raw values (JSON, as read) for reading: 列=值; an empty cell as 空 / empty,
    never null. Values stay exactly as the file wrote them."""
    import json

    if not text:
        return text
    try:
        values = json.loads(text)
    except ValueError:
        return text
    if not isinstance(values, dict):
        return text
    empty = "(空)" if lang == "zh" else "(empty)"
    return "; ".join(f"{k}={empty if v is None else v}" for k, v in values.items())
# issue 17 (wt-perm): the audit trail on the Data page, the unmask toggle
WORDS.update({
    "tab_audit": ("审计记录", "Audit trail"),
    "audit_kind": ("类型", "Kind"), "audit_user": ("用户", "User"), "audit_dates": ("日期", "Dates"),
    "audit_count": ("共 {n} 条记录(最新在前)", "{n} events (newest first)"),
    "audit_none": ("所选范围内没有审计记录。", "No audit events in this selection."),
    "audit_more": ("仅显示最新 {n} 条;请缩小日期范围或导出。", "Showing the newest {n}; narrow the dates or export."),
    "unmask_toggle": ("显示未遮蔽的个人信息", "Show personal data unmasked"),
    "unmask_on": ("正在显示未遮蔽的个人信息(姓名、电话),请勿外传。",
                  "Personal data (names, phones) is shown unmasked: do not pass it on."),
    "alerts_read_only": ("本页仅供查看:静音等管理操作需要“管理预警”权限。",
                         "Read-only: muting alerts needs the manage-alerts permission."),
    "alerts_manage": ("静音告警", "Mute an alert"),
    "alerts_pick": ("正在告警的对象", "Firing alert"),
    "alerts_hours": ("静音时长(小时)", "Mute for (hours)"),
    "alerts_mute": ("静音", "Mute"),
    "alerts_muted": ("已静音至 {t}:期间照常判断和记录,不发送。", "Muted until {t}: still judged and stored, not sent."),
    "alerts_mutes": ("静音中的告警", "Muted alerts"),
    "alerts_unmute": ("取消静音", "Unmute"),
    "alerts_unmuted": ("已取消静音。", "Unmuted."),
    "alert_col_muted_until": ("静音至", "Muted until"), "alert_col_muted_by": ("操作人", "Muted by"),
    "alert_col_muted_at": ("操作时间", "Muted at"),
})
