"""One outlet's scorecard on one printable page (HTML, and PDF printed from it by Chromium).

What a supervisor takes into the monthly review with an outlet: every headline KPI with its
环比, its fair rank among the outlets and the records it rests on; the outlet against the own and
the outsourced network; its first-time-fix losses by cause (and by product), saying whether to
fix stocking, appointments or skills; its technicians side by side. Every number comes from
``metrics.scorecard`` and ``metrics.losses``, as on the dashboard's Scorecards page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from typing import Any

import polars as pl

from aftersales import i18n as shared
from aftersales.principal import DataScope
from metrics import periods
from metrics import registry as R
from metrics.compute import DbLike, connection
from metrics.losses import CAUSES, REMEDY, cause_label, ftf_losses
from metrics.scorecard import Scorecard, scorecard
from reports.style import CSS

WORDS: dict[str, tuple[str, str]] = {
    "title": ("网点评分卡", "Outlet scorecard"),
    "period": ("统计期", "Period"), "prev": ("环比", "vs previous"), "rank": ("排名", "Rank"),
    "rank_of": ("第 {r} / {n} 名", "{r} of {n}"), "records": ("记录数", "Records"),
    "no_rank": ("样本不足,不排名", "not ranked"),
    "overall": ("综合排名", "Overall rank"), "type": ("网点类型", "Outlet type"), "region": ("大区", "Region"),
    "city": ("城市", "City"), "overdue": ("期末超时未结", "Open past SLA at period end"),
    "complaints": ("投诉工单", "Complaint tickets"), "repeat_repairs": ("返修工单", "Repeat repairs"),
    "sec_vs": ("与自营、外包网点对比", "Against own and outsourced outlets"),
    "this_outlet": ("本网点", "This outlet"),
    "sec_losses": ("一次修复损失原因", "First-time-fix losses by cause"),
    "cause": ("原因", "Cause"), "count": ("工单数", "Tickets"), "share": ("占损失", "Share of losses"),
    "fix": ("改进方向", "What to fix"),
    "sec_losses_product": ("按产品品类的一次修复损失", "First-time-fix losses by product category"),
    "category": ("产品品类", "Product category"), "lost": ("损失合计", "Losses"),
    "resolved": ("已完成维修", "Repairs resolved"),
    "sec_techs": ("师傅评分", "Technicians"), "technician": ("师傅", "Technician"),
    "skill": ("技能等级", "Skill level"),
    "none": ("本期无记录", "No records in this period"),
    "provisional": ("暂定", "provisional"),
    "provisional_until": ("暂定,{date}定稿", "provisional, final on {date}"),
    "note_provisional": ("标“暂定”的数值尚未定稿(复核期未满或回访尚未收齐),仍可能变化:{items}。",
                         "Values marked provisional are not final yet (recheck window open or surveys still "
                         "arriving) and may still change: {items}."),
    "provisional_item": ("{kpi}({date}定稿)", "{kpi} (final on {date})"),
    "note_rank": ("排名:比率与均值经经验贝叶斯收缩后排序(样本少的向整体均值收缩),排名不因小样本失真;"
                  "综合排名为各指标排名位置的平均。",
                  "Ranks: rates and means are ranked on empirical-Bayes shrunk values (small samples are pulled "
                  "towards the network), so a few lucky tickets do not top the table; the overall rank is the mean "
                  "of the KPI rank positions."),
    "note_overdue": ("期末超时未结:统计期结束时仍未完成且已超过完成时限的工单。",
                     "Open past SLA: tickets still open at the period's end and past their resolution limit."),
    "footer": ("由 aftersales scorecard 生成;所有数字来自指标层(与看板一致)。",
               "Made by aftersales scorecard; every number comes from the metrics layer (as on the dashboard)."),
}
UNIT_SUFFIX = {"hours": ("小时", " h"), "score": ("分", ""), "points": ("分", " pt"), "yuan": ("元", " yuan"),
               "tickets": ("单", ""), "units": ("件", "")}
PRINT_CSS = """
.sc-grid { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 8px 0 12px; }
.sc-card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; break-inside: avoid; }
.sc-card .l { font-size: 12px; color: var(--grey); } .sc-card .v { font-size: 19px; font-weight: 700; }
.sc-card .s { font-size: 11.5px; }
.sc-card.pending { border-style: dashed; border-color: var(--amber); } .sc-card .pending { color: var(--amber); }
.sc-meta { font-size: 13px; color: var(--grey); margin: 2px 0 6px; } .sc-meta b { color: #1f2937; font-weight: 600; }
h1 small { font-size: 14px; color: var(--grey); font-weight: 400; }
@media print { body { font-size: 10px; } h1 { font-size: 19px; } h2 { font-size: 13px; margin: 8px 0 3px; }
  .sc-grid { gap: 5px; margin: 5px 0 6px; } .sc-card { padding: 4px 6px; } .sc-card .v { font-size: 14px; }
  .sc-card .s, .sc-card .l { font-size: 9.5px; } .note, footer { font-size: 8.5px; margin-top: 6px; }
  table.data { font-size: 8.5px; margin: 2px 0 4px; } table.data td, table.data th { padding: 1px 4px; } }
"""


def w(key: str, lang: str, **kw: Any) -> str:
    return shared.words(WORDS, key, lang, **kw)


def value_text(kpi: str, x: Any, lang: str) -> str:
    """A KPI value in its registry format with its unit (36.5 小时, 89.3%); – when missing."""
    if x is None:
        return "–"
    k = R.KPIS[kpi]
    suffix = UNIT_SUFFIX.get(k.unit, ("", ""))
    return format(float(x), k.fmt) + suffix[0 if lang == "zh" else 1]


def change_text(kpi: str, d: Any, lang: str) -> str:
    """A change in the KPI's unit: +1.2 个百分点 / +1.2 pp for shares."""
    if d is None:
        return "–"
    k = R.KPIS[kpi]
    if k.unit == "share":
        return f"{100 * float(d):+.1f}" + (" 个百分点" if lang == "zh" else " pp")
    suffix = UNIT_SUFFIX.get(k.unit, ("", ""))
    return format(float(d), "+" + k.fmt.lstrip("+")) + suffix[0 if lang == "zh" else 1]


def _day(d: dt.date, lang: str) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()


def _pending(kpi: str, row: dict) -> bool:
    """The unit's number is there but not final yet (metrics.maturity)."""
    return row.get(f"{kpi}_status") == "provisional" and row.get(kpi) is not None


def value_mark(kpi: str, row: dict, lang: str) -> str:
    """The value with 暂定 beside it while it is not final."""
    return value_text(kpi, row.get(kpi), lang) + (f" {w('provisional', lang)}" if _pending(kpi, row) else "")


def _provisional_note(cards: Scorecard, lang: str) -> str:
    pending = cards.provisional()
    if not pending:
        return ""
    items = [w("provisional_item", lang, kpi=R.KPIS[k].label(lang), date=_day(d, lang) if d else "–")
             for k, d in pending.items()]
    return f'<p class="note pending">{escape(w("note_provisional", lang, items=("、" if lang == "zh" else "; ").join(items)))}</p>'


def _tone(kpi: str, d: Any) -> str:
    better = R.KPIS[kpi].higher_is_better
    if d is None or better is None or d == 0:
        return ""
    return "good" if (d > 0) == better else "bad"


@dataclass
class OutletPage:
    outlet: str
    lang: str
    period_start: dt.date
    grain: str
    html: str
    title: str


def build(db: DbLike, outlet: str, period: dt.date | None = None, grain: str = "month", lang: str = "zh",
          config: dict | None = None, *, scope: DataScope) -> OutletPage:
    """The outlet's one-page scorecard (UserError when the outlet has no records in the period).
    ``scope``: the reader's data scope (``DataScope()``: the whole company); ranks and the outlet
    types compared against are computed inside it."""
    with connection(db) as con:
        cards = scorecard(con, "outlet", period=period, grain=grain, config=config, scope=scope)
        row = cards.row(outlet)
        types = scorecard(con, "outlet_type", period=cards.period_start, grain=grain, config=config, scope=scope)
        techs = scorecard(con, "technician", period=cards.period_start, grain=grain, where={"outlet": outlet},
                          config=config, scope=scope)
        by_product = ftf_losses(con, by=["product_category"], grain=grain, start=cards.period_start,
                                end=cards.period_start, where={"outlet": outlet}, config=config,
                                scope=scope)
    label = _period_label(cards.period_start, grain, lang)
    title = f"{w('title', lang)} · {row.get('outlet_name') or outlet} · {label}"
    body = [_head(row, cards, label, lang), _cards(row, cards, lang), _versus(row, types, lang),
            _losses(row, lang), _losses_by_product(by_product, lang), _technicians(techs, lang),
            _provisional_note(cards, lang),
            f'<p class="note">{escape(w("note_rank", lang))} {escape(w("note_overdue", lang))}</p>',
            f"<footer>{escape(w('footer', lang))}</footer>"]
    html = (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{CSS}{PRINT_CSS}</style></head><body>"
            + "".join(body) + "</body></html>")
    return OutletPage(outlet, lang, cards.period_start, grain, html, title)


def _period_label(d: dt.date, grain: str, lang: str) -> str:
    if grain == "month":
        return f"{d.year}年{d.month}月" if lang == "zh" else d.strftime("%b %Y")
    end = periods.shift(d, grain, 1) - dt.timedelta(days=1)
    return f"{d.isoformat()} – {end.isoformat()}"


def _code(kind: str, code: Any, lang: str) -> str:
    return shared.code_label(kind, code, lang) or ("–" if code is None else str(code))


def _head(row: dict, cards: Scorecard, label: str, lang: str) -> str:
    n = cards.table.height
    overall = (w("rank_of", lang, r=row["overall_rank"], n=n) if row.get("overall_rank") is not None
               else w("no_rank", lang))
    meta = [(w("period", lang), label), (w("type", lang), _code("outlet_type", row.get("outlet_type"), lang)),
            (w("region", lang), _code("region", row.get("region"), lang)), (w("city", lang), row.get("city") or "–"),
            (w("overall", lang), overall)]
    line = " · ".join(f"{escape(a)} <b>{escape(str(b))}</b>" for a, b in meta)
    name = row.get("outlet_name") or row["outlet"]
    colon = ":" if lang == "zh" else ": "
    return (f"<h1>{escape(w('title', lang))}{colon}{escape(name)} <small>{escape(row['outlet'])}</small></h1>"
            f'<div class="sc-meta">{line}</div>')


def _cards(row: dict, cards: Scorecard, lang: str) -> str:
    out = []
    final = cards.provisional()
    for kpi in cards.kpis:
        k = R.KPIS[kpi]
        r = row.get(f"{kpi}_rank")
        n_ranked = cards.long.filter(pl.col("kpi") == kpi)["rank"].count()
        rank = w("rank_of", lang, r=r, n=n_ranked) if r is not None else (
            "" if k.higher_is_better is None else w("no_rank", lang))
        change = row.get(f"{kpi}_change")
        extra = ""
        if kpi == "complaint_rate":
            extra = f" · {w('complaints', lang)} {row.get('complaints') or 0}"
        if kpi == "repeat_repair_rate":
            extra = f" · {w('repeat_repairs', lang)} {row.get('repeat_repairs') or 0}"
        pending = _pending(kpi, row)
        final_on = final.get(kpi)
        mark = (w("provisional_until", lang, date=_day(final_on, lang)) if final_on else w("provisional", lang))
        out.append(
            f'<div class="sc-card{" pending" if pending else ""}" data-kpi="{kpi}" '
            f'data-raw="{"" if row.get(kpi) is None else repr(row[kpi])}">'
            f'<div class="l">{escape(k.label(lang))}</div><div class="v">{escape(value_text(kpi, row.get(kpi), lang))}</div>'
            + (f'<div class="s pending">{escape(mark)}</div>' if pending else "") +
            f'<div class="s">{escape(w("prev", lang))} <span class="{_tone(kpi, change)}">'
            f'{escape(change_text(kpi, change, lang))}</span></div>'
            f'<div class="s">{escape(rank) if rank else "&nbsp;"}</div>'
            f'<div class="s">{escape(w("records", lang))} {row.get(f"{kpi}_n") or 0:,}{escape(extra)}</div></div>')
    d = row.get("overdue_change")
    out.append(f'<div class="sc-card" data-kpi="overdue" data-raw="{row.get("overdue", 0)}">'
               f'<div class="l">{escape(w("overdue", lang))}</div><div class="v">{row.get("overdue", 0):,}</div>'
               f'<div class="s">{escape(w("prev", lang))} <span class="{"bad" if (d or 0) > 0 else "good" if (d or 0) < 0 else ""}">'
               f'{0 if d is None else d:+,}</span></div></div>')
    return f'<div class="sc-grid">{"".join(out)}</div>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i in numeric else ""}">{escape(c)}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _versus(row: dict, types: Scorecard, lang: str) -> str:
    by_type = {r["outlet_type"]: r for r in types.table.to_dicts()}
    cols = [t for t in ("own", "outsourced") if t in by_type]
    headers = [shared.pick(shared.COMMON["kpi"], lang), w("this_outlet", lang), *[_code("outlet_type", t, lang) for t in cols]]
    rows = []
    for kpi in types.kpis:
        rows.append([R.KPIS[kpi].label(lang), value_mark(kpi, row, lang),
                     *[value_mark(kpi, by_type[t], lang) for t in cols]])
    rows.append([w("overdue", lang), f"{row.get('overdue', 0):,}", *[f"{by_type[t].get('overdue', 0):,}" for t in cols]])
    return f"<h2>{escape(w('sec_vs', lang))}</h2>" + _table(headers, rows, set(range(1, 2 + len(cols))))


def _losses(row: dict, lang: str) -> str:
    total = sum(row.get(f"loss_{c}", 0) or 0 for c in CAUSES)
    heading = f"<h2>{escape(w('sec_losses', lang))}</h2>"
    if not total:
        return heading + f'<p class="note">{escape(w("none", lang))}</p>'
    rows = [[cause_label(c, lang), f"{row.get(f'loss_{c}', 0):,}", f"{(row.get(f'loss_{c}', 0) or 0) / total:.0%}",
             REMEDY[c][0 if lang == "zh" else 1]] for c in CAUSES]
    return heading + _table([w("cause", lang), w("count", lang), w("share", lang), w("fix", lang)], rows, {1, 2})


def _losses_by_product(df: pl.DataFrame, lang: str) -> str:
    heading = f"<h2>{escape(w('sec_losses_product', lang))}</h2>"
    if df.is_empty():
        return heading + f'<p class="note">{escape(w("none", lang))}</p>'
    wide = df.pivot(on="cause", index=["product_category", "resolved"], values="count").fill_null(0)
    rows = []
    for r in wide.sort("resolved", descending=True).to_dicts():
        counts = [int(r.get(c, 0) or 0) for c in CAUSES]
        rows.append([_code("product_category", r["product_category"], lang), f"{r['resolved']:,}", f"{sum(counts):,}",
                     *[f"{c:,}" for c in counts]])
    headers = [w("category", lang), w("resolved", lang), w("lost", lang), *[cause_label(c, lang) for c in CAUSES]]
    return heading + _table(headers, rows, set(range(1, 3 + len(CAUSES))))


def _technicians(techs: Scorecard, lang: str) -> str:
    heading = f"<h2>{escape(w('sec_techs', lang))}</h2>"
    if techs.table.is_empty():
        return heading + f'<p class="note">{escape(w("none", lang))}</p>'
    kpis = techs.kpis
    headers = [w("technician", lang), w("skill", lang), *[R.KPIS[k].label(lang) for k in kpis],
               w("overdue", lang), w("overall", lang)]
    rows = []
    for r in techs.table.to_dicts():
        name = f"{r.get('technician_name') or ''} {r['technician']}".strip()
        rows.append([name, "–" if r.get("skill_level") is None else str(r["skill_level"]),
                     *[f"{value_mark(k, r, lang)} ({r.get(f'{k}_n') or 0})" for k in kpis],
                     f"{r.get('overdue', 0):,}", "–" if r.get("overall_rank") is None else str(r["overall_rank"])])
    return heading + _table(headers, rows, set(range(1, len(headers))))
