"""Spare-part runs: ``forecast`` (classify, pick a method per class by backtest, forecast,
reorder policy and run-out dates) and ``backtest`` (RMSSE and bias against naive, SES and zero,
and the inventory simulation of the reorder policy against the SES + normal baseline)."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from aftersales.errors import UserError
from forecasts import inventory, parts, parts_select, store
from forecasts.executor import map_series
from forecasts.settings import section

MAX_PROJECTION_DAYS = 3 * 365
BATCH = 250  # parts per executor item

def horizon_periods(ps: dict[str, Any], freq: str) -> int:
    """The horizon in periods: ``horizon_periods`` when set (``--horizon``), else ``horizon_weeks`` converted."""
    if ps.get("horizon_periods"):
        return int(ps["horizon_periods"])
    return parts.periods(ps["horizon_weeks"], freq)


def _fan_out(long: pl.DataFrame, ps: dict[str, Any], workers: int, freq: str = "W") -> dict[str, pl.DataFrame]:
    h = horizon_periods(ps, freq)
    step = parts.periods(ps["backtest_step_weeks"], freq) if int(ps["backtest_step_weeks"]) else h
    tasks = parts.tasks_from_long(long, int(ps["backtest_origins"]), h, step,
                                  parts.periods(ps["min_history_weeks"], freq, minimum=4), freq)
    # A part takes milliseconds and a worker process seconds to start (imports): below a few
    # thousand parts one process is faster (see the README's benchmark).
    if len(tasks) < int(ps["parallel_min_series"]):
        workers = 1
    size = max(1, min(BATCH, math.ceil(len(tasks) / (workers * 4))))
    batches = [tasks[i:i + size] for i in range(0, len(tasks), size)]
    results = map_series(parts.forecast_parts_batch, batches, workers=workers, chunk_size=1,
                         desc=f"parts ×{size}")
    return {k: pl.concat([r[k] for r in results if not r[k].is_empty()], how="vertical_relaxed")
            for k in ("backtest", "final", "info")}


def _chosen(info: pl.DataFrame, methods: pl.DataFrame) -> pl.DataFrame:
    return info.join(methods, on="series_class", how="left")


@dataclass
class PolicyItem:
    """What a part's reorder policy needs (picklable)."""

    part_no: str
    rate: float
    var: float
    lead_days: int
    fill_rate: float
    cover_weeks: float  # Q, in periods
    method: str
    history: np.ndarray
    period_days: float = 7.0


def policy_for_part(item: PolicyItem) -> tuple[str, int, int, str]:
    """``(part_no, s, S, distribution)`` of one part on its own target (no allocation)."""
    lv = inventory.count_policy(item.rate, item.var, item.lead_days, item.fill_rate, item.cover_weeks,
                                item.method, item.history, np.random.default_rng(0), item.period_days)
    return item.part_no, lv.reorder_point, lv.order_up_to, _distribution(item)


def _distribution(item: PolicyItem) -> str:
    base = item.method.removesuffix(inventory.RECENT)
    if base in ("bootstrap", *inventory.OWN_LEVEL) and len(item.history) >= 8 and np.sum(item.history) > 0:
        return item.method
    name = "nb" if item.var > item.rate else "poisson"
    return name + inventory.RECENT if base != item.method else name


def curve_for_part(item: PolicyItem) -> inventory.Curve:
    return inventory.part_curve(item.rate, item.var, item.lead_days, item.cover_weeks, item.method, item.history,
                                item.period_days)


LEAD_TIME_DISTRIBUTIONS = tuple(f"{d}{r}" for r in ("", inventory.RECENT)
                                for d in ("block", "nb", "bootstrap", "block_long", "bootstrap_long", "nb_long"))


def check_pinned_policies(ps: dict[str, Any]) -> None:
    """A pinned ``policy_by_class`` entry must read ``class = "distribution:margin"``: a typing
    slip in the config is one message naming the entry, not an error deep in the run."""
    for cls, spec in (ps.get("policy_by_class") or {}).items():
        dist, _, margin = str(spec).partition(":")
        if cls not in parts.CLASSES or dist not in LEAD_TIME_DISTRIBUTIONS or not margin.isdigit():
            raise UserError(f"[parts] policy_by_class: {cls} = {spec!r} should be class = \"distribution:margin\" "
                            f"(classes: {', '.join(parts.CLASSES)}; distributions: "
                            f"{', '.join(LEAD_TIME_DISTRIBUTIONS)}; margin a whole number such as 3): correct the "
                            "config file")


def class_policy(ps: dict[str, Any], cls: str) -> tuple[str, float]:
    """``(distribution, planned fill rate)`` of a class: ``policy_by_class`` (``"nb:1"``, as the
    parts backtest reports its choice) or ``lead_time_distribution`` and ``policy_margin``."""
    spec = (ps.get("policy_by_class") or {}).get(cls)
    dist, margin = (spec.split(":") if spec else (str(ps["lead_time_distribution"]), ps["policy_margin"]))
    return dist, 1.0 - (1.0 - float(ps["target_fill_rate"])) / 2 ** int(margin)


def _intervals(frame: pl.DataFrame) -> pl.DataFrame:
    """80%/95% bounds of weekly demand: NB with the forecast mean and the recent variance."""
    mean = frame["yhat"].to_numpy()
    var = np.maximum(frame["var_demand"].fill_null(0).to_numpy(), mean)
    out = {}
    over = var > mean * 1.0001
    n = np.where(over, mean ** 2 / np.where(over, var - mean, 1), 1.0)
    p = np.where(over, n / (n + np.maximum(mean, 1e-12)), 0.5)
    for lv in (80, 95):
        a = (1 - lv / 100) / 2
        for name, q in ((f"yhat_lower_{lv}", a), (f"yhat_upper_{lv}", 1 - a)):
            nb = stats.nbinom.ppf(q, np.maximum(n, 1e-9), p)
            po = stats.poisson.ppf(q, mean)
            out[name] = np.where(mean <= 0, 0.0, np.where(over, nb, po)).astype(float)
    return frame.with_columns(*(pl.Series(k, v) for k, v in out.items()))


def forecast(long: pl.DataFrame, config: dict[str, Any], workers: int, source: str,
             master: pl.DataFrame | None = None, used_since: pl.DataFrame | None = None,
             last_day: dt.date | None = None, freq: str | None = None) -> store.Run:
    """The production parts forecast with the reorder table. ``master`` (``series.parts_master``)
    gives lead times and stock; ``used_since`` (``series.parts_used_since(as_of)``) brings the
    stock count forward to ``last_day``, the last day of data. ``freq``: ``'W'`` or ``'M'``.

    The point forecast per class is chosen on every backtest window; the backtest score stored
    per series and in the summary is the nested one (chosen on the inner windows, scored on the
    outer ones), never the score of the windows the choice was made on. The reorder policy plans
    with the mean-demand method of the class (``parts.choose_methods``) and the policy per class
    that ``backtest parts`` chooses on the same data (:func:`policies_for`)."""
    started = time.perf_counter()
    ps = section(config, "parts")
    check_pinned_policies(ps)  # before any fit
    freq = parts.check_freq(freq or str(ps.get("freq", "W")))
    out = _fan_out(long, ps, workers, freq)
    combo = int(ps["combo_size"])
    keep, sign = float(ps["keep_zero_within"]), float(ps["zero_sign_level"])
    nested = parts_select.choose(out["backtest"], out["info"], int(ps["outer_origins"]), combo, keep, sign)
    inner_cuts, outer_cuts = nested["cutoffs"]
    honest = parts_select.outer_scores(nested["backtest"], out["info"].join(nested["methods"], on="series_class"),
                                       outer_cuts).filter(pl.col("scope") == "all")
    prod = parts_select.choose(out["backtest"], out["info"], 0, combo, keep, sign)
    methods = prod["methods"]
    chosen = _chosen(out["info"], methods)
    rate_methods = parts.choose_methods(out["backtest"], out["info"])
    rate_chosen = _chosen(out["info"], rate_methods)
    final_all = pl.concat([out["final"], parts_select.final_combo(out["final"], chosen)])
    final = (final_all.join(chosen.select("unique_id", pl.col("model").alias("_m"), "var_demand"), on="unique_id")
             .with_columns((pl.col("model") == pl.col("_m")).alias("chosen")))
    bounds = ("yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
    values = pl.concat([_intervals(final.filter("chosen")),  # intervals for the method used only
                        final.filter(~pl.col("chosen")).with_columns(pl.lit(None, dtype=pl.Float64).alias(b)
                                                                     for b in bounds)],
                       how="diagonal_relaxed").select("unique_id", "ds", "model", "chosen", "yhat", *bounds)
    rates = (out["final"].join(rate_chosen.select("unique_id", pl.col("model").alias("_m")), on="unique_id")
             .filter(pl.col("model") == pl.col("_m")).group_by("unique_id").agg(pl.col("yhat").mean().alias("rate")))
    # Per series: the outer-window MASE of every candidate (the choice made on the inner windows).
    scores = parts_select.mase_series(nested["backtest"], outer_cuts)
    nested_chosen = out["info"].join(nested["methods"], on="series_class").select("unique_id", "model")
    wide = scores.pivot(on="model", index="unique_id", values="mase") if scores.height else \
        pl.DataFrame(schema={"unique_id": pl.String})
    series = chosen.join(wide, on="unique_id", how="left")
    names = [m for m in (*parts.ALL_MODELS, parts_select.COMBO) if m in wide.columns]
    series_tbl = series.select(
        "unique_id", "model", "reason", "series_class", "adi", "cv2", pl.lit("mase_outer").alias("score_metric"),
        (pl.struct(*[pl.col(m) for m in names]).struct.json_encode() if names else pl.lit(None, dtype=pl.String))
        .alias("scores"),
        pl.col("snaive").alias("baseline_score") if "snaive" in wide.columns else pl.lit(None, dtype=pl.Float64).alias("baseline_score"),
    ).join(nested_chosen.join(scores, on=["unique_id", "model"]).select("unique_id", pl.col("mase").alias("score")),
           on="unique_id", how="left")
    period_end = parts.period_dates(np.datetime64(long["ds"].max(), "D"), 1, freq)[0].astype(dt.date) \
        - dt.timedelta(days=1)
    policy = policies_for(long, out, inner_cuts, chosen, ps, workers, master, freq)
    reorder = reorder_table(chosen.join(rates, on="unique_id", how="left"), long,
                            {**ps, "policy_by_class": policy["policy_by_class"]}, workers, master, used_since,
                            last_day or period_end, freq)
    at_risk = reorder.filter(pl.col("runs_out_within_lead_time").fill_null(False))
    def honest_get(metric: str) -> float | None:
        v = honest.filter((pl.col("model") == "selected") & (pl.col("metric") == metric))["value"]
        return float(v[0]) if len(v) and v[0] is not None else None

    summary = {"parts": chosen.height, "classes": dict(chosen["series_class"].value_counts().iter_rows()),
               "methods": {r["series_class"]: r["model"] for r in methods.iter_rows(named=True)},
               "rate_methods": {r["series_class"]: r["model"] for r in rate_methods.iter_rows(named=True)},
               "freq": freq, "backtest_mase_outer": honest_get("mase"),
               "backtest_mase_rel_zero": honest_get("mase_rel_zero"),
               "backtest_mase_rel_snaive": honest_get("mase_rel_snaive"),
               "target_fill_rate": float(ps["target_fill_rate"]), **policy, "at_risk": at_risk.height, "order_now": int(reorder["order_now"].fill_null(False).sum())}
    return store.Run(kind="parts", source=source, model="|".join(sorted(set(methods["model"]))),
                     data_cutoff=long["ds"].max(), params={"parts": ps, "freq": freq}, n_series=chosen.height,
                     workers=workers,
                     seconds=time.perf_counter() - started, summary=summary,
                     tables={"forecast_values": values, "forecast_series": series_tbl, "parts_reorder": reorder})


def policies_for(long: pl.DataFrame, fanned: dict[str, pl.DataFrame], inner_cuts: list, chosen: pl.DataFrame,
                 ps: dict[str, Any], workers: int, master: pl.DataFrame | None, freq: str) -> dict[str, Any]:
    """The reorder policy per class: ``policy_by_class`` of the settings where it pins a class,
    else the one ``backtest parts`` chooses on the same data (:func:`parts_backtest.policy_choice`:
    the inner simulation window of the parts' own history), else, where the history is too short
    for an inner window, ``lead_time_distribution`` and ``policy_margin``. Returns the summary
    keys ``policy_by_class``, ``policy_source`` (``settings``, ``backtest`` or ``default``),
    ``policy_fill_outer`` (per class and ``all``: the chosen policy's and the baseline's fill rate
    on the outer window) and ``policy_reasons``."""
    from forecasts import parts_backtest  # it imports this module (``_fan_out``)

    check_pinned_policies(ps)
    pinned = {str(k): str(v) for k, v in (ps.get("policy_by_class") or {}).items()}
    classes = sorted(set(chosen["series_class"].to_list()) - {parts.NO_DEMAND})
    default = f"{ps['lead_time_distribution']}:{int(ps['policy_margin'])}"
    by_class, source, reasons, fills = {}, {}, {}, {}
    picked: dict[str, str] = {}
    if any(c not in pinned for c in classes):
        _, rate_chosen = parts_backtest.nested_rate_chosen(fanned, inner_cuts)
        sim_all, policies = parts_backtest.policy_choice(long, rate_chosen, ps, workers, master, freq)
        for r in policies.iter_rows(named=True):
            reasons[r["series_class"]] = r["reason"]
            if not r["reason"].startswith("no inner window"):
                picked[r["series_class"]] = r["policy"].removeprefix("count:")
    for c in classes:
        if c in pinned:
            by_class[c], source[c] = pinned[c], "settings"
        elif c in picked:
            by_class[c], source[c] = picked[c], "backtest"
        else:
            by_class[c], source[c] = default, "default"
    if picked:  # the outer-window fill of the policies used (a pinned one too, where it is a candidate)
        used = pl.DataFrame({"series_class": list(by_class), "policy": [f"count:{v}" for v in by_class.values()]})
        fills = parts_backtest.outer_fill_by_class(parts_backtest.chosen_sim(sim_all, used))
        fills["all"]["parts"] = float(sim_all["part_no"].n_unique())
    return {"policy_by_class": by_class, "policy_source": source, "policy_fill_outer": fills,
            "policy_reasons": reasons}


def reorder_table(chosen: pl.DataFrame, long: pl.DataFrame, ps: dict[str, Any], workers: int,
                  master: pl.DataFrame | None, used_since: pl.DataFrame | None, last_day: dt.date,
                  freq: str = "W") -> pl.DataFrame:
    """The ``parts_reorder`` rows: one per forecast part and per master part without demand.
    ``mean_weekly_demand`` is the mean demand per period of ``freq`` (per month for monthly data)."""
    master = master if master is not None else pl.DataFrame(schema={"part_no": pl.String, "lead_time_days": pl.Int64})
    default_lead = int(ps["default_lead_time_days"])
    frame = chosen.rename({"unique_id": "part_no"}).join(master, on="part_no", how="full", coalesce=True)
    frame = frame.with_columns(
        pl.col("series_class").fill_null(parts.NO_DEMAND), pl.col("model").fill_null("zero"),
        pl.col("rate").fill_null(0.0), pl.col("var_demand").fill_null(0.0),
        pl.col("lead_time_days").is_not_null().alias("_has_lead"),
        pl.col("lead_time_days").fill_null(default_lead).cast(pl.Int64))
    block_n = parts.periods(ps["policy_history_weeks"], freq, minimum=8)
    nb_n = parts.periods(ps["nb_history_weeks"], freq, minimum=8)
    hist = {uid: g["y"].to_numpy() for (uid,), g in long.sort("ds").group_by("unique_id")}
    pdays = parts.PERIOD_DAYS[freq]
    items, classes = [], []
    for r in frame.iter_rows(named=True):
        method, fill = class_policy(ps, r["series_class"])
        base = method.removesuffix(inventory.RECENT)
        h = hist.get(r["part_no"], np.zeros(0))[-(nb_n if base in inventory.LONG_HISTORY else block_n):]
        var = float(h.var(ddof=1)) if base in ("nb", "nb_long") and len(h) > 1 else float(r["var_demand"])
        items.append(PolicyItem(r["part_no"], float(r["rate"]), var, int(r["lead_time_days"]),
                                fill, float(ps["order_cover_weeks"]) * 7 / pdays, method, h, pdays))
        classes.append(r["series_class"])
    curves = map_series(curve_for_part, items, workers=workers if len(items) >= int(ps["parallel_min_series"]) else 1,
                        desc="reorder")
    # Reorder points allocated within each class to the class's planned fill rate (the backtest
    # scores exactly this: parts_backtest.allocate_plans).
    rows = []
    for cls in sorted(set(classes)):
        idx = [i for i, c in enumerate(classes) if c == cls]
        levels_cls = inventory.allocate([curves[i] for i in idx], items[idx[0]].fill_rate)
        rows += [(items[i].part_no, lv.reorder_point, lv.order_up_to, _distribution(items[i]))
                 for i, lv in zip(idx, levels_cls, strict=True)]
    levels = pl.DataFrame(rows, schema=["part_no", "reorder_point", "order_up_to", "distribution"], orient="row")
    frame = frame.join(levels, on="part_no")
    used = _usage_after(frame, used_since, last_day)
    rows = []
    for r in frame.join(used, on="part_no", how="left").iter_rows(named=True):
        rows.append({**_runout(r, last_day, pdays), "part_no": r["part_no"]})
    proj = pl.DataFrame(rows, schema={"part_no": pl.String, "stock_at_cutoff": pl.Float64, "runout_date": pl.Date,
                                      "runs_out_within_lead_time": pl.Boolean, "stockout_prob_lead_time": pl.Float64,
                                      "order_now": pl.Boolean, "order_qty": pl.Int64})
    frame = frame.join(proj, on="part_no")
    cols = {"part_name": pl.String, "on_hand": pl.Int64, "as_of": pl.Date}
    frame = frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in cols.items() if c not in frame.columns)
    return frame.select(
        "part_no", "part_name", "series_class", "model", "distribution", pl.col("lead_time_days").cast(pl.Int32),
        pl.when("_has_lead").then(pl.lit("master")).otherwise(pl.lit("default")).alias("lead_time_source"),
        pl.col("rate").alias("mean_weekly_demand"), pl.col("reorder_point").cast(pl.Int32),
        pl.col("order_up_to").cast(pl.Int32), pl.col("on_hand").cast(pl.Int32), "as_of", "stock_at_cutoff",
        "order_now", pl.col("order_qty").cast(pl.Int32), "runout_date", "runs_out_within_lead_time",
        "stockout_prob_lead_time").sort("part_no")


def _usage_after(frame: pl.DataFrame, used_since: pl.DataFrame | None, last_day: dt.date) -> pl.DataFrame:
    """Quantity used per part after its stock count, up to ``last_day``."""
    if used_since is None or used_since.is_empty() or "as_of" not in frame.columns:
        return pl.DataFrame(schema={"part_no": pl.String, "used_after": pl.Float64})
    return (used_since.join(frame.select("part_no", "as_of"), on="part_no")
            .filter((pl.col("day") > pl.col("as_of")) & (pl.col("day") <= last_day))
            .group_by("part_no").agg(pl.col("qty").sum().alias("used_after")))


def _runout(r: dict[str, Any], last_day: dt.date, period_days: float = 7.0) -> dict[str, Any]:
    on_hand = r.get("on_hand")
    if on_hand is None:
        return {"stock_at_cutoff": None, "runout_date": None, "runs_out_within_lead_time": None,
                "stockout_prob_lead_time": None, "order_now": None, "order_qty": None}
    stock = float(on_hand) - float(r.get("used_after") or 0.0)
    start = max(last_day, r["as_of"]) if r.get("as_of") else last_day
    rate, lead = float(r["rate"]), int(r["lead_time_days"])
    days = stock / (rate / period_days) if rate > 0 else math.inf
    if stock <= 0:
        runout: dt.date | None = start
    elif days <= MAX_PROJECTION_DAYS:
        runout = start + dt.timedelta(days=math.ceil(days))
    else:
        runout = None  # not within the projection: demand is too slow to matter
    prob = 0.0
    if rate > 0:
        pmf = inventory.lead_time_pmf(rate, float(r["var_demand"]), lead / period_days)
        prob = float(pmf[int(max(stock, 0)) + 1:].sum()) if stock >= 0 else 1.0
    order_now = stock <= r["reorder_point"] and r["order_up_to"] > 0
    return {"stock_at_cutoff": stock, "runout_date": runout,
            "runs_out_within_lead_time": runout is not None and runout <= start + dt.timedelta(days=lead),
            "stockout_prob_lead_time": prob, "order_now": order_now,
            "order_qty": int(math.ceil(r["order_up_to"] - stock)) if order_now else 0}
