"""Honest choice of the parts point forecast: nested rolling-origin evaluation.

The backtest windows (``parts.cut_dates``) are split in time: the earlier ones are *inner*, the
last ``outer`` ones *outer*. Per demand class, every candidate — the class's methods and the
baselines naive, seasonal naive, SES and zero, which are candidates like any method — is ranked
by its mean MASE over the class's series on the inner windows; the ``combo_size`` best make an
equal-weight combination (their median, robust in the M4/M5 competitions), which is a candidate
too. The best on the inner windows is the class's choice, and what is reported as the backtest
is that choice's score on the *outer* windows, which played no part in it. The production
forecast makes the same choice on all windows (``choose(..., outer=0)``).

MASE here is the mean absolute error over the one-step naive mean absolute error of the
training data (Hyndman's scale, the one the M5 competition used for item demand): at weekly or
monthly grain a seasonal (lag 52 / 12) scale needs two full years of history and is zero for
most intermittent parts.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from scipy import stats

from forecasts import parts

COMBO = "combo"


def mase_table(backtest: pl.DataFrame) -> pl.DataFrame:
    """Per ``unique_id, cutoff, model``: ``mase``, ``abs_error``, ``actual`` (rows whose scale is 0 are
    left out of ``mase``: a constant training series has no scale)."""
    return (backtest.group_by("unique_id", "cutoff", "model")
            .agg((pl.col("y") - pl.col("yhat")).abs().mean().alias("mae"), pl.col("mae_scale").first(),
                 (pl.col("y") - pl.col("yhat")).abs().sum().alias("abs_error"), pl.col("y").sum().alias("actual"),
                 pl.col("yhat").sum().alias("forecast"))
            .with_columns(pl.when(pl.col("mae_scale") > 0).then(pl.col("mae") / pl.col("mae_scale"))
                          .alias("mase")))


def _combo_rows(backtest: pl.DataFrame, members: dict[str, list[str]], info: pl.DataFrame) -> pl.DataFrame:
    """The median of the member models' forecasts, per series and period, under model ``combo``."""
    mem = pl.DataFrame([{"series_class": c, "model": m} for c, ms in members.items() for m in ms],
                       schema={"series_class": pl.String, "model": pl.String})
    rows = (backtest.join(info.select("unique_id", "series_class"), on="unique_id")
            .join(mem, on=["series_class", "model"]))
    return (rows.group_by("unique_id", "cutoff", "ds")
            .agg(pl.col("y").first(), pl.col("yhat").median(), pl.col("scale").first(), pl.col("mae_scale").first())
            .with_columns(pl.lit(COMBO).alias("model")).select(backtest.columns))


def _rank(scores: pl.DataFrame, cls: str) -> list[tuple[str, float]]:
    allowed = set(parts.CANDIDATES.get(cls, ())) | set(parts.BASELINES) | {COMBO}
    s = (scores.filter((pl.col("series_class") == cls) & pl.col("model").is_in(list(allowed))
                       & pl.col("mase").is_not_null() & pl.col("mase").is_finite())
         .group_by("model").agg(pl.col("mase").mean()).sort("mase", "model"))
    return list(s.iter_rows())


def beats_zero(scores: pl.DataFrame, cls: str, model: str, level: float) -> tuple[bool, int, int]:
    """Whether ``model`` beats the zero forecast on more of the class's scored windows than chance
    allows: per series and window a win where its MASE is lower than zero's, a loss where higher,
    ties left out; a one-sided sign test at ``level``. ``(passed, wins, n)``. A class mean can be
    carried by one series (MAN's single smooth part went from 0.6× zero's MASE on its two inner
    windows to 1.6× on the outer ones): a skill real enough to use shows on most windows, and one
    series' two windows (two of two: chance a quarter of the time) are not enough."""
    per = (scores.filter((pl.col("series_class") == cls) & pl.col("model").is_in([model, "zero"])
                         & pl.col("mase").is_not_null() & pl.col("mase").is_finite())
           .pivot(on="model", index=["unique_id", "cutoff"], values="mase", aggregate_function="mean"))
    if model not in per.columns or "zero" not in per.columns:
        return False, 0, 0
    per = per.drop_nulls()
    wins = int((per[model] < per["zero"]).sum())
    n = wins + int((per[model] > per["zero"]).sum())
    p = float(stats.binom.sf(wins - 1, n, 0.5)) if n else 1.0
    return p <= level, wins, n


def choose(backtest: pl.DataFrame, info: pl.DataFrame, outer: int, combo_size: int = 3,
           keep_zero_within: float = 0.05, zero_sign_level: float = 0.1) -> dict[str, Any]:
    """The nested choice. Returns ``methods`` (``series_class, model, members, reason``: the choice
    made on the inner windows), ``backtest`` (the input with the ``combo`` rows added) and
    ``cutoffs`` (inner, outer). ``outer=0``: every window is inner (the production choice).
    The zero forecast, the simplest, is kept unless the best candidate's inner MASE is more than
    ``keep_zero_within`` below it (as Prophet is kept for workload): a few windows of lumpy
    demand rank models by chance as much as by skill. It is also kept unless the best beats it on
    significantly more of the class's series than it loses (:func:`beats_zero` at
    ``zero_sign_level``; 1 switches the test off): a tie goes to zero."""
    cutoffs = sorted(backtest["cutoff"].unique().to_list())
    outer = min(outer, max(len(cutoffs) - 1, 0))
    inner_cuts, outer_cuts = cutoffs[:len(cutoffs) - outer], cutoffs[len(cutoffs) - outer:]
    inner_scores = (mase_table(backtest.filter(pl.col("cutoff").is_in(inner_cuts)))
                    .join(info.select("unique_id", "series_class"), on="unique_id"))
    members = {}
    for cls in parts.CLASSES:
        ranked = [m for m, _ in _rank(inner_scores, cls)]
        if len(ranked) >= 2:
            members[cls] = ranked[:combo_size]
    full = backtest
    if members:
        full = pl.concat([backtest, _combo_rows(backtest, members, info)], how="vertical_relaxed")
        combo_scores = (mase_table(full.filter((pl.col("model") == COMBO) & pl.col("cutoff").is_in(inner_cuts)))
                        .join(info.select("unique_id", "series_class"), on="unique_id"))
        inner_scores = pl.concat([inner_scores, combo_scores], how="vertical_relaxed")
    rows = []
    for cls in parts.CLASSES:
        ranked = _rank(inner_scores, cls)
        if not ranked:
            rows.append({"series_class": cls, "model": "zero", "members": "",
                         "reason": f"no {cls} series with a scored window: the zero forecast"})
            continue
        model = ranked[0][0]
        zero = dict(ranked).get("zero")
        top = ", ".join(f"{m} {v:.3f}" for m, v in ranked[:5])
        why = f"lowest mean MASE among {cls} series on {len(inner_cuts)} window(s) ({top})"
        if zero is not None and model != "zero" and ranked[0][1] > zero * (1 - keep_zero_within):
            model = "zero"
            why = f"zero kept: no candidate {keep_zero_within:.0%} below it ({top})"
        elif zero is not None and model != "zero" and zero_sign_level < 1:
            ok, wins, n = beats_zero(inner_scores, cls, model, zero_sign_level)
            if not ok:
                why = (f"zero kept: {model} ({ranked[0][1]:.3f}) beat it on {wins} of {n} series-windows, no more than "
                       f"chance (sign test at {zero_sign_level}) ({top})")
                model = "zero"
        rows.append({"series_class": cls, "model": model, "members": ",".join(members.get(cls, [])) if model == COMBO
                     else "", "reason": why})
    rows.append({"series_class": parts.NO_DEMAND, "model": "zero", "members": "", "reason": "no demand in the history"})
    return {"methods": pl.DataFrame(rows), "backtest": full, "cutoffs": (inner_cuts, outer_cuts),
            "members": members}


def final_combo(final: pl.DataFrame, chosen: pl.DataFrame) -> pl.DataFrame:
    """``combo`` rows of the production forecast (median of the members) for the classes that use it."""
    mem = [{"unique_id": r["unique_id"], "model": m} for r in chosen.iter_rows(named=True)
           if r["model"] == COMBO for m in r["members"].split(",") if m]
    if not mem:
        return final.clear()
    rows = final.join(pl.DataFrame(mem), on=["unique_id", "model"])
    return (rows.group_by("unique_id", "ds").agg(pl.col("yhat").median())
            .with_columns(pl.lit(COMBO).alias("model")).select(final.columns))


def outer_scores(backtest: pl.DataFrame, chosen: pl.DataFrame, outer_cuts: list) -> pl.DataFrame:
    """MASE on the outer windows of the chosen model (``selected``) and of every model, per scope
    (``all`` and ``class:<c>``): rows ``scope, model, metric, value`` with ``mase``,
    ``mase_rel_zero``, ``mase_rel_snaive``, ``mase_rel_naive`` and ``mase_rel_ses``."""
    t = mase_table(backtest.filter(pl.col("cutoff").is_in(outer_cuts))).join(
        chosen.select("unique_id", "series_class", pl.col("model").alias("_m")), on="unique_id")
    sel = t.filter(pl.col("model") == pl.col("_m")).with_columns(pl.lit("selected").alias("model"))
    t = pl.concat([t, sel]).filter(pl.col("mase").is_not_null())
    # Ratios on the same series-windows: the ones every compared model was scored on.
    out = []
    for scope, g in [("all", t), *((f"class:{c}", g) for (c,), g in t.group_by("series_class"))]:
        base = {b: g.filter(pl.col("model") == b).select("unique_id", "cutoff", pl.col("mase").alias(b))
                for b in ("zero", "snaive", "naive", "ses")}
        for (model,), gm in g.group_by("model"):
            vals = {"mase": gm["mase"].mean()}
            for b, gb in base.items():
                j = gm.join(gb, on=["unique_id", "cutoff"])
                den = j[b].mean() if j.height else None
                vals[f"mase_rel_{b}"] = j["mase"].mean() / den if den else None
            out += [{"scope": scope, "model": model, "metric": k, "value": None if v is None else float(v)}
                    for k, v in vals.items()]
    return pl.DataFrame(out, schema={"scope": pl.String, "model": pl.String, "metric": pl.String, "value": pl.Float64})


def rate_backtest(backtest: pl.DataFrame, cuts: list) -> pl.DataFrame:
    """The rows of the given windows (the rate method for the policy is chosen on the inner ones)."""
    return backtest.filter(pl.col("cutoff").is_in(cuts))


def mase_series(backtest: pl.DataFrame, cuts: list) -> pl.DataFrame:
    """Per ``unique_id, model``: mean MASE over the given windows (for the stored per-series scores)."""
    if not cuts:
        return pl.DataFrame(schema={"unique_id": pl.String, "model": pl.String, "mase": pl.Float64})
    return (mase_table(backtest.filter(pl.col("cutoff").is_in(cuts))).group_by("unique_id", "model")
            .agg(pl.col("mase").mean()))

