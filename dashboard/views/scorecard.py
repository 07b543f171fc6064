"""Scorecards (网点与师傅评分卡): one row per outlet or technician with every headline KPI, the
records each rests on, 环比 and fair ranks; own against outsourced outlets side by side; first-time
-fix losses by cause per outlet, technician and product; one outlet's printable page."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, state, ui
from dashboard import i18n as T
from metrics import periods
from metrics import registry as R
from metrics.losses import CAUSES, REMEDY, cause_label

SHOW = ("sc_show_value", "sc_show_change", "sc_show_rank")
LOSS_BY = ("outlet", "technician", "product_category", "product_model")
CAUSE_COLOURS = {"need_parts": "#1f77b4", "customer_absent": "#ff7f0e", "not_fixed": "#d62728",
                 "referred": "#9467bd", "other": "#7f7f7f"}


def period_options(scope: state.Scope) -> list[dt.date]:
    """The periods of the selected range, latest first."""
    first = periods.trunc(scope.start, scope.grain)
    out, p = [], periods.trunc(scope.end, scope.grain)
    while p >= first:
        out.append(p)
        p = periods.shift(p, scope.grain, -1)
    return out


def default_period(options: list[dt.date], scope: state.Scope) -> int:
    """Where the period picker opens: the latest period the range covers whole (a scorecard of the
    first three days of a month ranks outlets on a handful of tickets), else the latest."""
    for i, p in enumerate(options):
        if periods.shift(p, scope.grain, 1) <= scope.end + dt.timedelta(days=1):
            return i
    return 0


def cell(kpi: str, row: dict, show: str, n_units: int, lang: str) -> str:
    k = R.KPIS[kpi]
    if show == "sc_show_change":
        return T.kpi_change(k, row.get(f"{kpi}_change"), lang) or "—"
    if show == "sc_show_rank":
        r = row.get(f"{kpi}_rank")
        return "—" if r is None else f"{r}/{n_units}"
    return value_with_records(kpi, row, lang)


def value_with_records(kpi: str, row: dict, lang: str) -> str:
    """89.3%(112): the value and the records it rests on (a count is its own record count);
    89.3%(112) 暂定 while the number is not final."""
    k = R.KPIS[kpi]
    text = T.kpi_value(k, row.get(kpi), lang)
    if k.kind != "count":
        text += f"({T.number(row.get(f'{kpi}_n') or 0, lang)})"
    if row.get(f"{kpi}_status") == "provisional" and row.get(kpi) is not None:
        text += " " + T.t("status_provisional", lang)
    return text


def provisional_note(sc, lang: str) -> None:
    """Which of the scorecard's KPIs are provisional and the date each becomes final."""
    pending = sc.provisional()
    if pending:
        items = [T.t("sc_provisional_item", lang, kpi=R.KPIS[k].label(lang), date=T.date(d, lang))
                 for k, d in pending.items()]
        st.caption(T.t("sc_provisional", lang, items=("、" if lang == "zh" else "; ").join(items)))


def display_table(sc, show: str, scope: state.Scope) -> pl.DataFrame:
    """The scorecard as the page shows it: names, then one column per KPI (value with the records
    it rests on, or its 环比, or its rank), complaints, repeat repairs, overdue, losses."""
    lang, level = scope.lang, sc.level
    n_units = {k: int(sc.long.filter(pl.col("kpi") == k)["rank"].count()) for k in sc.kpis}
    cols: dict[str, list] = {T.t("sc_overall", lang): [], T.column_label(level, lang): []}
    if level == "technician":
        cols[T.t("sc_outlet", lang)] = []
        cols[T.t("sc_skill", lang)] = []
    else:
        cols[_dim("outlet_type", lang)] = []
    for kpi in sc.kpis:
        cols[R.KPIS[kpi].label(lang)] = []
    extra = ("complaints", "repeat_repairs", "overdue")
    for e in extra:
        cols[T.t(ATTRIBUTES[e], lang)] = []
    for r in sc.table.to_dicts():
        vals = ["—" if r.get("overall_rank") is None else str(r["overall_rank"]), scope.label(level, r[level])]
        if level == "technician":
            vals += [scope.label("outlet", r.get("outlet_id")), "—" if r.get("skill_level") is None else str(r["skill_level"])]
        else:
            vals.append(T.code_label("outlet_type", r.get("outlet_type"), lang))
        vals += [cell(k, r, show, n_units[k], lang) for k in sc.kpis]
        if show == "sc_show_change":
            vals += ["—", "—", f"{r.get('overdue_change') or 0:+,}"]
        else:
            vals += [T.number(r.get("complaints"), lang), T.number(r.get("repeat_repairs"), lang),
                     T.number(r.get("overdue"), lang)]
        for c, v in zip(cols, vals, strict=True):
            cols[c].append(v)
    return pl.DataFrame(cols, schema={c: pl.String for c in cols})


def _dim(dim: str, lang: str) -> str:
    d = R.DIMENSIONS[dim]
    return d.zh if lang == "zh" else d.en


ASPECTS = {"_n": "hover_n", "_prev": "previous", "_change": "vs_prev", "_rank": "rank", "_status": "status"}
ATTRIBUTES = {"outlet_name": "sc_outlet_name", "technician_name": "sc_technician_name", "outlet_id": "sc_outlet",
              "skill_level": "sc_skill", "overall_rank": "sc_overall", "overall_score": "sc_overall_score",
              "complaints": "sc_complaints", "repeat_repairs": "sc_repeats", "overdue": "sc_overdue",
              "overdue_prev": "sc_overdue_prev", "overdue_change": "sc_overdue_change"}


def header(col: str, kpis: list[str], lang: str) -> str:
    """A scorecard column's header in ``lang``: 一次修复率 · 环比, 待配件(一次修复损失) …"""
    for kpi in kpis:
        if col == kpi:
            return R.KPIS[kpi].label(lang)
        for suffix, key in ASPECTS.items():
            if col == kpi + suffix:
                return f"{R.KPIS[kpi].label(lang)} · {T.t(key, lang)}"
    if col.startswith("loss_"):
        return T.t("sc_loss_of", lang, cause=cause_label(col[5:], lang))
    if col in ATTRIBUTES:
        return T.t(ATTRIBUTES[col], lang)
    if col in R.DIMENSIONS:
        return _dim(col, lang)
    return T.column_label(col, lang)


def download_frame(sc, scope: state.Scope) -> pl.DataFrame:
    """The scorecard's numbers for the download (raw values: every value, record count, 环比 and
    rank), with codes as labels and headers in the page's language."""
    lang = scope.lang
    df = sc.table
    for c in [c for c in df.columns if c.endswith("_status")]:
        df = df.with_columns(pl.col(c).map_elements(lambda v: T.status_label(v, lang), return_dtype=pl.String))
    for c in ("outlet_type", "region"):
        if c in df.columns:
            df = df.with_columns(pl.col(c).map_elements(lambda v, c=c: T.code_label(c, v, lang), return_dtype=pl.String))
    if "skill_level" in df.columns:
        df = df.with_columns(pl.col("skill_level").cast(pl.Int64))
    return df.rename({c: header(c, sc.kpis, lang) for c in df.columns})


def units_tab(scope: state.Scope, period: dt.date, level: str, key: str) -> None:
    lang = scope.lang
    where = scope.where
    if level == "technician":
        outlets = data.scorecard(scope.ver, scope.data_scope, "outlet", scope.grain, period,
                                 where).table["outlet"].to_list()
        pick = st.selectbox(T.t("sc_outlet", lang), ["", *outlets], key=f"{key}_outlet",
                            format_func=lambda o: T.t("sc_all_outlets", lang) if o == "" else scope.label("outlet", o))
        if pick:
            where = data.where_tuple({**data.dict_where(where), "outlet": [pick]})
    sc = data.scorecard(scope.ver, scope.data_scope, level, scope.grain, period, where)
    if sc.table.is_empty():
        ui.empty("empty_filter", scope)
        return
    show = st.segmented_control(T.t("sc_show", lang), SHOW, default=SHOW[0], format_func=lambda s: T.t(s, lang),
                                key=f"{key}_show") or SHOW[0]
    st.caption(T.t("sc_note", lang))
    provisional_note(sc, lang)
    shown = display_table(sc, show, scope)
    picked = ui.table(download_frame(sc, scope), key=f"{key}_table", lang=lang, name=f"scorecard_{level}_{period}",
                      display=shown, height=420)
    if sc.unassigned and level == "outlet":
        st.caption(T.t("sc_unassigned", lang, n=T.number(sc.unassigned, lang)))
    if level == "outlet":
        outlet_detail(scope, period, sc, picked)
    elif picked is None:
        st.caption(T.t("pick_to_drill", lang))
    else:
        tech = sc.table["technician"][picked]
        ui.records_panel(scope, "first_time_fix_rate", period_start=period, grain=scope.grain,
                         extra={"technician": tech}, key=f"{key}_rows",
                         what=f"{R.KPIS['first_time_fix_rate'].label(lang)} · {scope.label('technician', tech)}")


def outlet_detail(scope: state.Scope, period: dt.date, sc, picked: int | None) -> None:
    """One outlet: its cards, its losses, and its printable one-page scorecard."""
    lang = scope.lang
    units = sc.table["outlet"].to_list()
    # a row picked in the table, else the outlet chosen here
    chosen = st.selectbox(T.t("sc_detail_outlet", lang), ["", *units], key="sc_detail_outlet",
                          format_func=lambda o: "—" if o == "" else scope.label("outlet", o))
    outlet = units[picked] if picked is not None else chosen
    if not outlet:
        st.caption(T.t("sc_pick_outlet", lang))
        return
    row = sc.table.to_dicts()[units.index(outlet)]
    st.subheader(scope.label("outlet", outlet))
    cols = st.columns(4)
    for i, kpi in enumerate(sc.kpis):
        k = R.KPIS[kpi]
        colour = {True: "normal", False: "inverse", None: "off"}[k.higher_is_better]
        r = row.get(f"{kpi}_rank")
        pending = row.get(f"{kpi}_status") == "provisional" and row.get(kpi) is not None
        with cols[i % 4]:
            st.metric(k.label(lang) + (f" · {T.t('status_provisional', lang)}" if pending else ""),
                      T.kpi_value(k, row.get(kpi), lang, compact=True),
                      delta=T.kpi_change(k, row.get(f"{kpi}_change"), lang), delta_color=colour,
                      help=f"{T.t('hover_n', lang)}: {T.number(row.get(f'{kpi}_n'), lang)}"
                           + ("" if r is None else f"  \n{T.t('rank', lang)}: {r}"))
    losses_chart(scope, {c: row.get(f"loss_{c}", 0) for c in CAUSES}, f"sc_loss_{outlet}")
    principal = state.principal()
    if principal.can("download"):  # issue 17: the printable page is a download too (refused, audited below)
        from dashboard import downloads

        db, what = data.settings().db, f"scorecard_{outlet}_{period}"
        st.download_button(T.t("sc_print", lang), key="sc_print",
                           data=lambda: downloads.export_file(
                               principal,
                               lambda: data.scorecard_page(scope.ver, scope.data_scope, outlet, scope.grain, period, lang),
                               what=what, fmt="html", rows=1, db=db, lang=lang, filters={"outlet": [outlet]}),
                           file_name=f"{what}.html", mime="text/html", on_click="ignore", icon=":material/print:")


def losses_chart(scope: state.Scope, counts: dict[str, int], key: str) -> None:
    lang = scope.lang
    total = sum(counts.values())
    if not total:
        st.caption(T.t("sc_no_losses", lang))
        return
    labels = [f"{cause_label(c, lang)}({REMEDY[c][0]})" if lang == "zh" else f"{cause_label(c, lang)} ({REMEDY[c][1]})"
              for c in CAUSES]
    fig = go.Figure(go.Bar(x=[counts[c] for c in CAUSES], y=labels, orientation="h",
                           marker_color=[CAUSE_COLOURS[c] for c in CAUSES],
                           text=[f"{counts[c]}({counts[c] / total:.0%})" for c in CAUSES], textposition="auto"))
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(autorange="reversed"),
                      title=T.t("sc_losses_title", lang, n=T.number(total, lang)))
    ui.chart(fig, key=key, selectable=False)


def types_tab(scope: state.Scope, period: dt.date) -> None:
    """Own and outsourced outlets side by side: one row per KPI."""
    lang = scope.lang
    sc = data.scorecard(scope.ver, scope.data_scope, "outlet_type", scope.grain, period, scope.where)
    if sc.table.is_empty():
        ui.empty("empty_filter", scope)
        return
    rows = {r["outlet_type"]: r for r in sc.table.to_dicts()}
    types = [t for t in ("own", "outsourced") if t in rows]
    out: dict[str, list[str]] = {T.t("kpi", lang): []}
    for t in types:
        out[T.code_label("outlet_type", t, lang)] = []
        out[f"{T.code_label('outlet_type', t, lang)} · {T.t('vs_prev', lang)}"] = []
    for kpi in sc.kpis:
        k = R.KPIS[kpi]
        out[T.t("kpi", lang)].append(k.label(lang))
        for t in types:
            r = rows[t]
            out[T.code_label("outlet_type", t, lang)].append(value_with_records(kpi, r, lang))
            out[f"{T.code_label('outlet_type', t, lang)} · {T.t('vs_prev', lang)}"].append(
                T.kpi_change(k, r.get(f"{kpi}_change"), lang) or "—")
    for extra in ("overdue", "complaints", "repeat_repairs"):
        out[T.t("kpi", lang)].append(T.t(ATTRIBUTES[extra], lang))
        for t in types:
            out[T.code_label("outlet_type", t, lang)].append(T.number(rows[t].get(extra), lang))
            out[f"{T.code_label('outlet_type', t, lang)} · {T.t('vs_prev', lang)}"].append(
                f"{rows[t].get('overdue_change') or 0:+,}" if extra == "overdue" else "—")
    st.caption(T.t("sc_types_note", lang))
    provisional_note(sc, lang)
    shown = pl.DataFrame(out)
    ui.table(download_frame(sc, scope), key="sc_types_table", lang=lang, name=f"scorecard_types_{period}",
             display=shown, selectable=False, height=38 + 35 * shown.height)  # every KPI without scrolling
    cols = st.columns(len(types))
    for col, t in zip(cols, types, strict=True):
        with col:
            st.markdown(f"**{T.code_label('outlet_type', t, lang)}**")
            losses_chart(scope, {c: rows[t].get(f"loss_{c}", 0) for c in CAUSES}, f"sc_types_loss_{t}")


def losses_tab(scope: state.Scope, period: dt.date) -> None:
    """First-time-fix losses by cause per outlet, technician or product: the causes sum to the losses."""
    lang = scope.lang
    by = st.segmented_control(T.t("sc_loss_by", lang), LOSS_BY, default=LOSS_BY[0], key="sc_loss_by",
                              format_func=lambda d: R.DIMENSIONS[d].zh if lang == "zh" else R.DIMENSIONS[d].en) \
        or LOSS_BY[0]
    df = data.ftf_losses(scope.ver, scope.data_scope, (by,), scope.grain, period, scope.where)
    if df.is_empty():
        ui.empty("empty_filter", scope)
        return
    st.caption(T.t("sc_losses_note", lang))
    wide = df.pivot(on="cause", index=[by, "resolved"], values="count").fill_null(0)
    for c in CAUSES:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(c))
    wide = wide.with_columns(lost=pl.sum_horizontal(*CAUSES)).sort("lost", descending=True)
    label = (lambda v: T.code_label(by, v, lang)) if R.DIMENSIONS[by].labels else (lambda v: scope.label(by, v))
    shown = {R.DIMENSIONS[by].zh if lang == "zh" else R.DIMENSIONS[by].en: [label(v) for v in wide[by].to_list()],
             T.t("sc_resolved", lang): [T.number(v, lang) for v in wide["resolved"].to_list()],
             T.t("sc_lost", lang): [T.number(v, lang) for v in wide["lost"].to_list()]}
    for c in CAUSES:
        shown[cause_label(c, lang)] = [
            f"{T.number(v, lang)}({v / t:.0%})" if t else "—" for v, t in zip(wide[c], wide["lost"], strict=True)]
    raw = wide.rename({c: cause_label(c, lang) for c in CAUSES})
    raw = raw.rename({by: R.DIMENSIONS[by].zh if lang == "zh" else R.DIMENSIONS[by].en,
                      "resolved": T.t("sc_resolved", lang), "lost": T.t("sc_lost", lang)})
    ui.table(raw, key="sc_losses_table", lang=lang, name=f"ftf_losses_{by}_{period}", display=pl.DataFrame(shown),
             selectable=False, height=420)
    total = {c: int(wide[c].sum()) for c in CAUSES}
    losses_chart(scope, total, "sc_losses_total")


def prefetch(scope: state.Scope, stage: str = "first") -> None:
    """The default view's reads, for the cache warmer (``dashboard.warm``): "first" the outlet
    scorecard of the latest period, "rest" the other sections; one-value filters are not warmed
    (a scorecard is one statement per level, not re-aggregated from breakdowns)."""
    options = period_options(scope)
    period = options[default_period(options, scope)]
    v, s, g, w = scope.ver, scope.data_scope, scope.grain, scope.where
    if stage == "first":
        data.scorecard(v, s, "outlet", g, period, w)
    elif stage == "rest":
        data.together((data.scorecard, v, s, "technician", g, period, w), (data.scorecard, v, s, "outlet_type", g, period, w),
                      (data.ftf_losses, v, s, (LOSS_BY[0],), g, period, w))


def render() -> None:
    scope = state.current()
    if not ui.guard(scope):
        return
    ui.header("page_scorecard", scope)
    lang = scope.lang
    options = period_options(scope)
    period = st.selectbox(T.t("sc_period", lang), options, key="sc_period", index=default_period(options, scope),
                          format_func=lambda d: T.period(d, scope.grain, lang))
    if period is None:
        ui.empty("empty_filter", scope)
        return
    tabs = ui.sections(scope, ["sc_outlets", "sc_technicians", "sc_types", "sc_losses"])
    (t1, o1), (t2, o2), (t3, o3), (t4, o4) = tabs
    if o1:
        with t1:
            units_tab(scope, period, "outlet", "sc_o")
    if o2:
        with t2:
            units_tab(scope, period, "technician", "sc_t")
    if o3:
        with t3:
            types_tab(scope, period)
    if o4:
        with t4:
            losses_tab(scope, period)


if __name__ == "__main__":
    ui.handle(render, state.current())
