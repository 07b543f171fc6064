"""What an alert says: one short message per event, in 中文 (or English per target), with the
number, what it was compared with, its sample size and a link to the dashboard view that shows
it (the filters in the URL, written the way the dashboard's sidebar binds them)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import duckdb

from aftersales.i18n import LANG_NAMES, code_label
from alerts.evaluate import Observation
from alerts.settings import Rule
from metrics import registry as R

EVENT_WORDS = {
    "fire": ("【告警】", "[Alert] "),
    "worse": ("【告警加重】", "[Alert, worse] "),
    "repeat": ("【持续告警】", "[Still firing] "),
    "resolve": ("【已恢复】", "[Resolved] "),
}
COMPARED_WORDS = {
    "threshold": ("阈值", "threshold"), "target": ("目标", "target"), "previous": ("上期", "previous period"),
    "last_year": ("去年同期", "same period last year"),
}
KIND_TITLES = {
    "parts_runout": ("配件将在交货期内缺货", "Part to run out within its lead time"),
    "staffing_short": ("未来两周师傅不足", "Technicians short in the next two weeks"),
    "source_silent": ("数据源未按时送达文件", "Data source has delivered no file"),
    "tickets_due": ("工单即将超时", "Tickets about to breach"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def fmt_value(kpi_id: str | None, value: float | None) -> str:
    if value is None:
        return "—"
    if kpi_id and kpi_id in R.KPIS:
        return format(value, R.KPIS[kpi_id].fmt)
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def key_label(rule: Rule, key: str, lang: str, names: dict[str, str] | None = None) -> str:
    """The alert's subject: 大区 华东, 网点 WD0008 广州城区服务中心, 配件 P001 ..."""
    if not key:
        return ("网点 未分配" if lang == "zh" else "outlet unassigned") if rule.kind == "tickets_due" else ""
    dim = rule.by if rule.kind == "kpi" else {"parts_runout": "part_no", "staffing_short": "region",
                                               "tickets_due": "outlet"}.get(rule.kind)
    if dim is None:
        return (f"数据源 {key}" if lang == "zh" else f"source {key}")
    d = R.DIMENSIONS[dim]
    shown = code_label(dim, key, lang) or key
    name = (names or {}).get(key)
    if name and name != key:
        shown = f"{key} {name}"
    return f"{d.zh if lang == 'zh' else d.en} {shown}"


def link(base: str, page: str, filters: dict[str, str], lang: str, names: dict[str, dict[str, str]] | None = None) -> str:
    """The dashboard page with the filters in its URL. The sidebar binds each filter to the URL by
    its shown label (华东, ``WD0001 上海城区服务中心``); the language goes as its code (lang=zh|en), as
    the dashboard writes it."""
    params: list[tuple[str, str]] = [("lang", lang if lang in LANG_NAMES else "zh")]
    for dim, code in filters.items():
        label = code_label(dim, code, lang)
        if label is None:
            name = (names or {}).get(dim, {}).get(code)
            label = f"{code} {name}" if name and name != code else code
        params.append((dim, label))
    return f"{base.rstrip('/')}/{page}?{urllib.parse.urlencode(params)}"


def text(rule: Rule, ob: Observation, event: str, lang: str, url: str,
         names: dict[str, str] | None = None) -> tuple[str, str]:
    """(title, body) of one event's message. Short: the number, its comparison, its sample, a link."""
    zh = lang == "zh"
    head = _pick(EVENT_WORDS[event], lang)
    if rule.kind == "kpi":
        k = R.KPIS[rule.kpi or ""]
        what = k.label(lang)
    else:
        what = _pick(KIND_TITLES[rule.kind], lang)
    subject = key_label(rule, ob.key, lang, names)
    title = f"{head}{what}" + (f" · {subject}" if subject else "")
    lines = [title, _line(rule, ob, lang)]
    if ob.period and rule.kind != "staffing_short":  # its line names the week already
        lines.append(("期间 " if zh else "period ") + ob.period if rule.kind == "kpi" else
                     ("截至 " if zh else "as of ") + ob.period)
    lines.append(("查看：" if zh else "Open: ") + url)
    return title, "\n".join(lines)


DIGEST_LINES = 10


def digest(rule: Rule, obs: list[Observation], event: str, lang: str, url: str,
           names: dict[str, str] | None = None) -> tuple[str, str]:
    """One message for many keys of one rule (a hundred parts at risk are one message, not a
    hundred): the count, the first few with their numbers, and a link to the page."""
    zh = lang == "zh"
    what = R.KPIS[rule.kpi or ""].label(lang) if rule.kind == "kpi" else _pick(KIND_TITLES[rule.kind], lang)
    n = len(obs)
    title = f"{_pick(EVENT_WORDS[event], lang)}{what} · " + (f"{n} 项" if zh else f"{n} items")
    lines = [title]
    for ob in sorted(obs, key=lambda o: -o.excess)[:DIGEST_LINES]:
        subject = key_label(rule, ob.key, lang, names) or what
        lines.append(f"- {subject}：{_line(rule, ob, lang)}" if zh else f"- {subject}: {_line(rule, ob, lang)}")
    if n > DIGEST_LINES:
        lines.append(f"……另 {n - DIGEST_LINES} 项" if zh else f"... and {n - DIGEST_LINES} more")
    lines.append(("查看：" if zh else "Open: ") + url)
    return title, "\n".join(lines)


def _facts(note: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in note.split("; ") if "=" in part)


def _line(rule: Rule, ob: Observation, lang: str) -> str:
    zh = lang == "zh"
    f = _facts(ob.note)
    if ob.note == "gone":
        return "已不在本次结果中（视为恢复）" if zh else "no longer in the results (resolved)"
    if rule.kind == "kpi":
        k = R.KPIS[rule.kpi or ""]
        v = fmt_value(k.id, ob.value)
        cmp = fmt_value(k.id, ob.compared)
        n = "—" if ob.sample is None else f"{ob.sample:,}"
        words = _pick(COMPARED_WORDS.get(ob.compared_kind, ("对比", "vs")), lang)
        change = ""
        if ob.compared_kind in ("previous", "last_year") and ob.value is not None and ob.compared is not None:
            d = ob.value - ob.compared
            if k.unit == "share":
                change = (f"（{d * 100:+.1f}个百分点）" if zh else f" ({d * 100:+.1f} pp)")
            else:
                change = (f"（{d:+,.2f}）" if zh else f" ({d:+,.2f})")
        return (f"{v}，{words} {cmp}{change}，样本 {n}" if zh else f"{v}, {words} {cmp}{change}, sample {n}")
    if rule.kind == "parts_runout":
        days = "—" if ob.value is None else f"{ob.value:.0f}"
        return (f"预计 {f.get('runout', '—')} 缺货（{days} 天后，交货期 {ob.compared:.0f} 天），库存 {f.get('on_hand', '—')}，"
                f"建议订货 {f.get('order_qty', '—')}" if zh else
                f"runs out {f.get('runout', '—')} (in {days} days, lead time {ob.compared:.0f} days), on hand "
                f"{f.get('on_hand', '—')}, order {f.get('order_qty', '—')}")
    if rule.kind == "staffing_short":
        short = -(ob.value or 0.0)
        return (f"{ob.period} 当周缺师傅 {short:.1f} 人（需 {f.get('needed', '—')}，在岗 {f.get('available', '—')}）" if zh
                else f"week of {ob.period}: {short:.1f} technicians short (needed {f.get('needed', '—')}, available "
                     f"{f.get('available', '—')})")
    if rule.kind == "source_silent":
        return (f"已 {ob.value:.1f} 天无新文件（阈值 {ob.compared:.0f} 天）" if zh else
                f"no new file for {ob.value:.1f} days (threshold {ob.compared:.0f} days)")
    techs = f.get("technicians", "-")
    return (f"即将超时 {f.get('due_soon', '0')} 单，已超时 {f.get('breached', '0')} 单（另有长期超时 {f.get('stale', '0')} 单）；"
            f"负责师傅 {techs}" if zh else
            f"{f.get('due_soon', '0')} due soon, {f.get('breached', '0')} breached ({f.get('stale', '0')} stale apart); "
            f"technicians {techs}")


def names_for(rule: Rule, ob: Observation) -> dict[str, str]:
    """Names the observation itself carries (an outlet's name on the due list)."""
    name = _facts(ob.note).get("name")
    return {ob.key: name} if name else {}


def outlet_names(con: Any) -> dict[str, dict[str, str]]:
    """{dim: {code: name}} for outlets and technicians (links and subjects show ``WD0001 name``)."""
    out: dict[str, dict[str, str]] = {}
    for dim, sql in (("outlet", "SELECT outlet_id, any_value(outlet_name) FROM outlets GROUP BY 1"),
                     ("technician", "SELECT technician_id, any_value(technician_name) FROM technicians GROUP BY 1")):
        try:
            out[dim] = {str(a): str(b) for a, b in con.execute(sql).fetchall() if b}
        except duckdb.Error:  # master data not loaded: codes alone
            out[dim] = {}
    return out
