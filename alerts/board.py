"""What the dashboard's Alerts page and its badges read (polars frames from the state file; no
streamlit here): what is firing, the history of events with their sends, and every rule with its
last values."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from alerts import settings
from alerts import state as S


def version(db_path: Path) -> str:
    """The state file's identity (a check publishes a new file): the dashboard's cache key."""
    p = S.state_path(db_path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return "none"
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def _frame(db_path: Path, sql: str, schema: list[str]) -> pl.DataFrame:
    rows = S.read(db_path, sql)
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema={c: pl.String for c in schema})


STATE_COLUMNS = ["rule_id", "key", "firing", "judged", "value", "compared", "compared_kind", "sample", "period",
                 "note", "page", "started_at", "last_sent_at", "checked_at"]


def firing(db_path: Path) -> pl.DataFrame:
    return _frame(db_path, f"SELECT {', '.join(STATE_COLUMNS)} FROM alert_state WHERE firing "
                           "ORDER BY started_at DESC, rule_id, key", STATE_COLUMNS)


def last_values(db_path: Path) -> pl.DataFrame:
    return _frame(db_path, f"SELECT {', '.join(STATE_COLUMNS)} FROM alert_state ORDER BY rule_id, firing DESC, key",
                  STATE_COLUMNS)


HISTORY_COLUMNS = ["event_id", "event_at", "kind", "rule_id", "key", "title", "value", "sample", "sends"]


def history(db_path: Path, limit: int = 500) -> pl.DataFrame:
    """The latest events, each with its sends (target: status, and the error of a failed one)."""
    return _frame(db_path, (
        "SELECT e.event_id, e.event_at, e.kind, e.rule_id, e.key, e.title, e.value, e.sample, "
        "string_agg(s.target || ': ' || s.status || coalesce(' (' || s.error || ')', ''), '; ' ORDER BY s.target) "
        "FROM alert_events e LEFT JOIN alert_sends s USING (event_id) GROUP BY ALL "
        f"ORDER BY e.event_id DESC LIMIT {int(limit)}"), HISTORY_COLUMNS)


PARAM_WORDS = {"weeks": ("周数", "weeks"), "min_gap": ("缺口阈值", "gap allowed"), "days": ("天数", "days"),
               "min_count": ("最少单数", "minimum tickets"), "sources": ("数据源", "sources"),
               "digest_after": ("合并阈值", "digest after")}
GRAIN_WORDS = {"day": ("日", "day"), "week": ("周", "week"), "month": ("月", "month")}


def _condition(r: settings.Rule, lang: str) -> str:
    zh = lang == "zh"
    if r.kind != "kpi":
        return ", ".join(f"{PARAM_WORDS.get(k, (k, k))[0 if zh else 1]} {v}" for k, v in r.params.items())
    if r.condition in ("below", "above"):
        from alerts.messages import fmt_value  # 90.0% for a share, as the KPI is written

        return (("低于 " if r.condition == "below" else "高于 ") if zh else f"{r.condition} ") + fmt_value(r.kpi, r.threshold)
    if r.condition == "target_missed":
        return "未达目标" if zh else "target missed"
    against = {"previous": ("较上期", "vs previous period"), "last_year": ("较去年同期", "vs last year")}[r.against]
    way = {"worse": ("变差", "worse"), "up": ("上升", "up"), "down": ("下降", "down")}[r.direction]
    from metrics import registry as R

    share = r.kpi in R.KPIS and R.KPIS[r.kpi].unit == "share"  # points on a share are percentage points
    unit = ("个百分点" if share else "个点") if zh else ("pp" if share else "points")
    amount = f"{r.points:g} {unit}" if r.points is not None else f"{r.percent:g}%"
    return f"{against[0]}{way[0]}超过 {amount}" if zh else f"{way[1]} more than {amount} {against[1]}"


RULE_KINDS = {"kpi": ("指标", "KPI"), "parts_runout": ("配件缺货", "parts run-out"),
              "staffing_short": ("人力不足", "staffing short"), "source_silent": ("数据源未送达", "source silent"),
              "tickets_due": ("即将超时", "tickets due")}


def rule_titles(config: dict, lang: str) -> dict[str, str]:
    """{rule id: what a Chinese reader calls it}: the KPI and its breakdown (满意度(好评率)(按网点)), or
    the kind of check; the condition too where two rules would read alike. English keeps the id
    (the name in the config file); a Chinese reader gets no snake_case."""
    rules = settings.rules(config)
    if lang != "zh":
        return {r.id: r.id for r in rules}
    from alerts.messages import KIND_TITLES
    from metrics import registry as R

    def title(r: settings.Rule) -> str:
        if r.kind != "kpi":
            return KIND_TITLES[r.kind][0]
        by = f"(按{R.DIMENSIONS[r.by].zh})" if r.by in R.DIMENSIONS else ""
        return R.KPIS[r.kpi or ""].label("zh") + by

    titles = {r.id: title(r) for r in rules}
    seen: dict[str, int] = {}
    for t in titles.values():
        seen[t] = seen.get(t, 0) + 1
    return {r.id: titles[r.id] + (f" · {_condition(r, lang)}" if seen[titles[r.id]] > 1 else "") for r in rules}


def key_dims(config: dict) -> dict[str, str]:
    """{rule id: the breakdown its observations' keys are values of} (outlet, region, part_no ...);
    a data source's name is no breakdown."""
    kind_dims = {"parts_runout": "part_no", "staffing_short": "region", "tickets_due": "outlet"}
    out = {}
    for r in settings.rules(config):
        dim = r.by if r.kind == "kpi" else kind_dims.get(r.kind)
        if dim:
            out[r.id] = dim
    return out


def rules_table(config: dict, lang: str = "zh") -> pl.DataFrame:
    """Every rule in force as declared: id (its title in Chinese), kind, KPI, breakdown, condition,
    period, minimum sample."""
    from metrics import registry as R

    rows = []
    titles = rule_titles(config, lang)
    for r in settings.rules(config):
        kpi = R.KPIS[r.kpi].label(lang) if r.kpi else ""
        by = (R.DIMENSIONS[r.by].zh if lang == "zh" else R.DIMENSIONS[r.by].en) if r.by in R.DIMENSIONS else (r.by or "")
        period = GRAIN_WORDS[r.period][0 if lang == "zh" else 1] if r.kind == "kpi" else ""
        rows.append((titles[r.id], r.kind, kpi, by, _condition(r, lang), period,
                     r.min_sample, ", ".join(r.targets) if r.targets is not None else ("全部" if lang == "zh" else "all")))
    return pl.DataFrame(rows, schema=["rule_id", "kind", "kpi", "by", "condition", "period", "min_sample", "targets"],
                        orient="row")


NOTE_WORDS = {"too_small": ("样本不足", "sample too small"), "provisional": ("暂定", "provisional"),
              "no_data": ("无数据", "no data"), "no_comparison": ("无对比值", "nothing to compare with"),
              "no_target": ("无目标", "no target"), "gone": ("已不在结果中", "no longer in the results")}
KIND_WORDS = {"lead_time": ("交货期(天)", "lead time (days)"), "days": ("天数阈值", "days allowed"),
              "gap": ("缺口阈值", "gap allowed"), "count": ("单数阈值", "tickets allowed"),
              "fire": ("告警", "fire"), "worse": ("加重", "worse"), "repeat": ("持续", "repeat"),
              "resolve": ("恢复", "resolved")}


def localized(df: pl.DataFrame, config: dict, lang: str) -> pl.DataFrame:
    """Values written by their KPI's format, comparison kinds, event kinds and notes in words
    (中文 or English): what the Alerts page and its downloads show."""
    from alerts.messages import COMPARED_WORDS, fmt_value

    if df.is_empty():
        return df
    i = 0 if lang == "zh" else 1
    kpi_of = {r.id: r.kpi for r in settings.rules(config)}
    words = {**COMPARED_WORDS, **KIND_WORDS, **RULE_KINDS}
    out = df
    for col in ("value", "compared"):
        if col in df.columns:
            out = out.with_columns(pl.Series(col, [fmt_value(kpi_of.get(r), v) if v is not None else None for r, v in zip(
                df["rule_id"].to_list(), df[col].to_list(), strict=True)], dtype=pl.String))
    for col in ("compared_kind", "kind"):
        if col in df.columns:
            out = out.with_columns(pl.col(col).map_elements(lambda c: words[c][i] if c in words else c,
                                                            return_dtype=pl.String))
    if "note" in df.columns:
        out = out.with_columns(pl.col("note").map_elements(lambda c: NOTE_WORDS[c][i] if c in NOTE_WORDS else "",
                                                           return_dtype=pl.String))
    if "rule_id" in df.columns:
        titles = rule_titles(config, lang)
        out = out.with_columns(pl.col("rule_id").replace(titles))
    return out


def firing_pages(db_path: Path) -> dict[str, int]:
    """{dashboard page: alerts firing on its numbers}: the pages' badges."""
    return dict(S.read(db_path, "SELECT page, count(*) FROM alert_state WHERE firing GROUP BY 1"))
