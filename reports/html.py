"""The report as one self-contained HTML file: plotly.js inlined once, no external requests,
every text escaped. Numbers carry their raw value in ``data-raw`` beside the formatted text, so a
reader (and the tests) can check them against the metrics API."""

from __future__ import annotations

import functools
from html import escape
from typing import Any

import plotly.io as pio
import plotly.offline

from reports import i18n
from reports.content import Report
from reports.style import CSS
from reports.table import Chart, Table, display, exact_text, is_missing

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover",
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "sendDataToCloud"]}
# Each chart bumps this counter once drawn; the PDF printer waits for it to reach the chart count.
CHART_DONE = "window.__reportChartsDone = (window.__reportChartsDone || 0) + 1;"


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    return plotly.offline.get_plotlyjs()


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def raw(value: Any) -> str:
    """The exact value for ``data-raw``."""
    return exact_text(value)


def _numeric(fmt: str) -> bool:
    return fmt not in ("text", "status", "bool")


def chart_html(chart: Chart) -> str:
    div = pio.to_html(chart.figure, include_plotlyjs=False, full_html=False, div_id=chart.id, config=PLOT_CONFIG,
                      default_width="100%", default_height=f"{chart.height}px", post_script=CHART_DONE,
                      validate=False)
    return f'<div class="chart" data-chart="{e(chart.id)}">{div}</div>'


def _short_text_cols(table: Table, rows: list[dict[str, Any]], lang: str) -> set[str]:
    """Text columns whose values are all short: kept on one line (CJK text otherwise wraps per character)."""
    out = set()
    for c in table.columns:
        if c.fmt == "text" and all(len(display(r.get(c.key), "text", lang)) <= 12 for r in rows):
            out.add(c.key)
    return out


def table_html(table: Table, lang: str, heading: bool = True) -> str:
    if table.html_limit == 0:
        return ""
    cols = [c for c in table.columns if c.html]
    rows = table.rows if table.html_limit is None else table.rows[: table.html_limit]
    short = _short_text_cols(table, rows, lang)
    wide = {c.key for c in cols if c.fmt == "text" and any(len(str(r.get(c.key) or "")) > 30 for r in rows)}
    out = [f'<h3 id="h-{e(table.id)}">{e(table.title)}</h3>' if heading else ""]
    if table.chart is not None:
        out.append(chart_html(table.chart))
    head = "".join(f'<th data-col="{e(c.key)}"{" class=num" if _numeric(c.fmt) else ""}>{e(c.label)}</th>'
                   for c in cols)
    out.append(f'<table class="data" id="t-{e(table.id)}"><thead><tr>{head}</tr></thead><tbody>')
    for row in rows:
        cells = []
        for c in cols:
            fmt = table.fmt(row, c)
            v = row.get(c.key)
            classes = []
            if _numeric(fmt) or fmt == "bool":
                classes.append("num")
            elif c.key in short or fmt == "status":
                classes.append("nw")
            elif c.key in wide:
                classes.append("wide")
            status = (row.get("_status") or {}).get(c.key) if fmt != "status" else v
            if status:
                classes.append(f"st-{status}")
            tone = (row.get("_tone") or {}).get(c.key)
            if tone:
                classes.append(tone)
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f'<td data-col="{e(c.key)}" data-raw="{e(raw(v))}"{cls}>{e(display(v, fmt, lang))}</td>')
        out.append(f'<tr data-key="{e(row.get("_key", ""))}">{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    if table.note:
        out.append(f'<p class="note">{e(table.note)}</p>')
    return "\n".join(out)


def cards_html(cards: list[dict[str, Any]], lang: str) -> str:
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    out = ['<div class="cards">']
    for c in cards:
        status = c["status"] or "no_data"
        unit = "" if c["fmt"].endswith("%") else f'<span class="unit">{e(c["unit_label"])}</span>'
        lines = []
        for key, label, tone in (("prev_change", L("prev"), c["prev_tone"]), ("yoy_change", L("yoy"), c["yoy_tone"])):
            v = c[key]
            text = display(v, c["change_fmt"], lang)
            tone = tone if any(ch in "123456789" for ch in text) else ""
            pct = ""
            if not c["change_fmt"].startswith("pp") and not is_missing(c[key + "_pct"]):
                pct = (f' <span class="{tone}" data-field="{key}_pct" data-raw="{e(raw(c[key + "_pct"]))}">'
                       f'({e(display(c[key + "_pct"], "+.1%", lang))})</span>')
            lines.append(f'<div class="card-line">{e(label)} <span class="{tone}" data-field="{key}" '
                         f'data-raw="{e(raw(v))}">{e(text)}</span>{pct}</div>')
        target = (f'{e(L("target"))} <span data-field="target" data-raw="{e(raw(c["target"]))}">'
                  f'{e(display(c["target"], c["fmt"], lang))}</span>{unit} · ' if c["target"] is not None else "")
        small = f' · {e(L("small"))}' if c["small_sample"] else ""
        out.append(
            f'<div class="card st-{status}" data-kpi="{e(c["kpi"])}">'
            f'<div class="card-label">{e(c["label"])}</div>'
            f'<div class="card-value"><span data-field="value" data-raw="{e(raw(c["value"]))}">'
            f'{e(display(c["value"], c["fmt"], lang))}</span>{unit}</div>{"".join(lines)}'
            f'<div class="card-line">{target}<span class="badge st-{status}">'
            f'{e(i18n.status_label(status, lang, c.get("final_on")))}'
            f'</span></div><div class="card-line">{e(L("n_records"))} <span data-field="n_records" data-raw="{e(raw(c["n_records"]))}">'
            f'{e(display(c["n_records"], ",d", lang))}</span>{small}</div></div>')
    out.append("</div>")
    return "\n".join(out)


def render(report: Report) -> str:
    lang = report.lang
    L = lambda k: i18n.t(k, lang)  # noqa: E731
    n_charts = sum(1 for t in report.tables() if t.chart is not None and t.html_limit != 0)
    heading = report.title.rsplit(" · ", 1)[0]  # the title without its period: names a scoped pack's scope
    body = [f'<header><h1>{e(heading)}</h1><div class="subtitle">{e(report.period.label(lang))}</div>',
            '<dl class="meta">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in report.about) + "</dl>"]
    body += [f'<div class="warning">{e(w)}</div>' for w in report.warnings]
    body.append("</header>")
    toc = "".join(f'<li><a href="#{e(s.id)}">{e(s.title)}</a></li>' for s in report.sections)
    body.append(f'<nav class="toc"><strong>{e(L("contents"))}</strong><ol>{toc}</ol></nav>')
    for s in report.sections:
        body.append(f'<section id="{e(s.id)}"><h2>{e(s.title)}</h2>')
        if s.cards:
            body.append(cards_html(s.cards, lang))
        body += [f'<p class="note">{e(n)}</p>' for n in s.notes]
        body += [table_html(t, lang, heading=t.title != s.title) for t in s.tables]
        if not s.tables and not s.notes and not s.cards:
            body.append(f'<p class="note">{e(L("not_applicable"))}</p>')
        body.append("</section>")
    body.append(f'<footer>{e(L("footer"))} {e(L("masking"))}</footer>')
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="report-charts" content="{n_charts}">\n<title>{e(report.title)}</title>\n'
            f"<style>{CSS}</style>\n<script>{plotly_js()}</script>\n</head>\n<body>\n" + "\n".join(body) +
            "\n</body>\n</html>\n")
