"""The dashboard's figures as a reader sees them: amounts say 元 on their axes, and small
multiples keep their tick labels level (tilted ones ran into the titles of the charts below)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from dashboard import charts, cost_charts


def _frame(kpis: list[str], months: int = 12) -> pl.DataFrame:
    rows = []
    for kpi in kpis:
        for i in range(months):
            start = dt.date(2025 + (10 + i) // 12, (10 + i) % 12 + 1, 1)
            rows.append({"kpi": kpi, "period_start": start, "value": 100.0 + i, "ci_low": 90.0 + i,
                         "ci_high": 110.0 + i, "status": "no_target", "n_records": 10, "final_on": None,
                         "small_sample": False, "target": None})
    return pl.DataFrame(rows)


def test_amount_axes_say_yuan_in_both_languages():
    df = _frame(["cost_per_ticket", "cost_per_repair"])
    for lang, unit in (("zh", " 元"), ("en", " yuan")):
        fig = charts.small_multiples(df, ["cost_per_ticket", "cost_per_repair"], lang, "month", cols=2)
        assert [a.ticksuffix for a in (fig.layout.yaxis, fig.layout.yaxis2)] == [unit, unit]
        stack = cost_charts.stacked(df, ["cost_per_ticket"], lang, "month", "t")
        assert stack.layout.yaxis.ticksuffix == unit
    hours = charts.trend(_frame(["mttr"]), "mttr", "zh", "month")
    assert hours.layout.yaxis.ticksuffix == " 小时"  # durations too
    share = charts.small_multiples(_frame(["warranty_share"]), ["warranty_share"], "zh", "month", cols=1)
    assert share.layout.yaxis.ticksuffix is None  # a share is a percentage, not an amount


def test_small_multiples_keep_tick_labels_level():
    kpis = ["ticket_volume", "complaint_rate", "mttr", "csat"]
    fig = charts.small_multiples(_frame(kpis), kpis, "zh", "month", cols=3)
    axes = [fig.layout[name] for name in fig.layout if name.startswith("xaxis")]
    assert len(axes) >= 4 and all(a.tickangle == 0 and a.nticks and a.nticks <= 4 for a in axes)


def test_cost_bars_of_a_period_not_final_are_pale_and_hatched():
    df = _frame(["cost_parts", "cost_labour"], months=3).with_columns(
        status=pl.when(pl.col("period_start") == pl.col("period_start").max()).then(pl.lit("provisional"))
        .otherwise(pl.lit("no_target")))
    fig = cost_charts.stacked(df, ["cost_parts", "cost_labour"], "zh", "month", "t")
    for bar in fig.data:
        assert list(bar.marker.opacity) == [1.0, 1.0, 0.45] and list(bar.marker.pattern.shape) == ["", "", "/"]
