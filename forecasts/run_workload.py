"""Workload runs: ``forecast`` (backtest for choice and calibration, then the production
forecast and the staffing plan) and ``backtest`` (rolling origins with scores, plus the event
backtest). Both return a ``store.Run``; the caller stores it."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import polars as pl

from forecasts import backtest as bt
from forecasts import reconcile, scoring, staffing, store
from forecasts.executor import map_series
from forecasts.settings import section
from forecasts.workload import COMBO, LABELS, MEAN, PROPHET, SNAIVE7, baseline_text, forecast_series, tasks_from_long

STAFFING_INPUTS = ("hours", "technicians")


def keep_series(long: pl.DataFrame, min_weekly: float) -> tuple[pl.DataFrame, list[str]]:
    """Drop series averaging fewer than ``min_weekly`` arrivals a week over their last 52 weeks
    (too sparse to forecast per day); returns the kept frame and the dropped ids."""
    last = long["ds"].max()
    vol = (long.filter(pl.col("ds") > last - dt.timedelta(days=364)).group_by("unique_id")
           .agg((pl.col("y").sum() / 52).alias("weekly")))
    dropped = sorted(vol.filter(pl.col("weekly") < min_weekly)["unique_id"].to_list())
    return long.filter(~pl.col("unique_id").is_in(pl.Series(dropped, dtype=pl.String).implode())), dropped


def _fit(long: pl.DataFrame, windows: list[tuple[str, dt.date, int]], fc: dict[str, Any], workers: int,
         raw_intervals: bool) -> pl.DataFrame:
    tasks = tasks_from_long(long, windows, fc, raw_intervals)
    frames = [f for f in map_series(forecast_series, tasks, workers=workers, desc="workload", chunk_size=1)
              if not f.is_empty()]
    if not frames:
        raise ValueError("no series had enough history to forecast (at least four weeks before each cut-off)")
    res = pl.concat(frames, how="diagonal_relaxed")
    if fc.get("top_down"):  # region × service candidates from the region forecasts just made
        res = pl.concat([res, reconcile.top_down(res, long)], how="diagonal_relaxed")
    return res


def _freq(fc: dict[str, Any]) -> str:
    return str(fc.get("freq") or "D")


def _rolling_windows(long: pl.DataFrame, fc: dict[str, Any]) -> list[tuple[str, dt.date, int]]:
    first, last = long["ds"].min(), long["ds"].max()
    horizon = int(fc["horizon_days"])
    step = int(fc["backtest_step_days"])
    if _freq(fc) == "W":  # the horizon and step are given in days; a weekly series moves in weeks
        horizon, step = max(1, round(horizon / 7)), round(step / 7)
        days = 7
    else:
        days = 1
    cutoffs = bt.rolling_cutoffs(first, last, horizon * days, int(fc["backtest_origins"]), step * days,
                                 min_train=max(2 * horizon * days, 90))
    return [(bt.ROLLING, c, horizon) for c in cutoffs]


def _horizon(fc: dict[str, Any]) -> int:
    h = int(fc["horizon_days"])
    return max(1, round(h / 7)) if _freq(fc) == "W" else h


def _params(fc: dict[str, Any], dropped: list[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"forecast": fc, "dropped_series": dropped, **(extra or {})}


def _outer_scores(oos: pl.DataFrame) -> pl.DataFrame:
    """Per series: the outer (out-of-sample) MASE of the selected model and of seasonal naive."""
    s = bt.series_scores(oos.filter(pl.col("model").is_in([bt.SELECTED, SNAIVE7])))
    return s.pivot(on="model", index="unique_id", values="mase").select(
        "unique_id", *[pl.col(c) if c in s["model"].unique().to_list() else pl.lit(None, dtype=pl.Float64).alias(c)
                       for c in (bt.SELECTED, SNAIVE7)]).rename({bt.SELECTED: "outer_selected", SNAIVE7: "outer_snaive7"})


def forecast(long: pl.DataFrame, config: dict[str, Any], workers: int, source: str,
             staffing_inputs: dict[str, pl.DataFrame] | None = None) -> store.Run:
    """The production workload forecast: rolling backtest → model per series and interval
    calibration (on all origins) → final fits → forecasts (and, given ``staffing_inputs`` with
    ``hours`` and ``technicians``, the staffing plan). The backtest score stored and printed is
    the nested one (``backtest.out_of_sample``): the choice made on earlier origins, scored on
    later ones."""
    started = time.perf_counter()
    fc = section(config, "forecast")
    freq = _freq(fc)
    long, dropped = keep_series(long, float(fc["min_weekly_tickets"]))
    last = long["ds"].max()
    windows = _rolling_windows(long, fc)
    res = _fit(long, [*windows, (bt.FINAL, last, _horizon(fc))], fc, workers, raw_intervals=False)
    rolling = res.filter(pl.col("window") == bt.ROLLING)
    margin = float(fc["selection_margin"])
    rolling = bt.with_combination(rolling, rolling)
    choice = bt.choose_models(rolling, margin)
    untested = sorted(set(res["unique_id"]) - set(choice["unique_id"]))
    if untested:  # history too short for a backtest window: Prophet, with its own intervals
        choice = pl.concat([choice, pl.DataFrame({
            "unique_id": untested, "model": PROPHET,
            "reason": "no backtest window (history shorter than two horizons): Prophet by default, its own intervals"})],
            how="diagonal_relaxed")
    final = res.filter(pl.col("window") == bt.FINAL)
    final = bt.with_combination(final, rolling)
    final = bt.calibrate_final(final, rolling, freq).join(
        choice.select("unique_id", pl.col("model").alias("_chosen")), on="unique_id", how="left")
    values = final.select("unique_id", "ds", "model", (pl.col("model") == pl.col("_chosen")).fill_null(False).alias("chosen"),
                          "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")
    oos = bt.out_of_sample(res.filter(pl.col("window") == bt.ROLLING), margin, freq)
    outer = _outer_scores(oos) if not oos.is_empty() else pl.DataFrame(
        schema={"unique_id": pl.String, "outer_selected": pl.Float64, "outer_snaive7": pl.Float64})
    series = choice.join(outer, on="unique_id", how="left").select(
        "unique_id", "model", "reason", pl.lit("mase").alias("score_metric"),
        pl.col("outer_selected").alias("score"), pl.col("outer_snaive7").alias("baseline_score"),
        pl.col("scores") if "scores" in choice.columns else pl.lit(None, dtype=pl.String).alias("scores"))
    sources = final.filter(pl.col("model") == pl.col("_chosen"))["interval_source"].value_counts()
    tables = {"forecast_values": values, "forecast_series": series}
    head = headline(bt.summarize_rolling(oos, res.filter(pl.col("window") == bt.ROLLING), freq)
                    .with_columns(pl.lit("*").alias("unique_id")), freq) if not oos.is_empty() else {}
    summary: dict[str, Any] = {
        "series": int(choice.height), "dropped_series": len(dropped),
        "chosen": dict(choice["model"].value_counts().iter_rows()),
        "mase_chosen": head.get("mase_selected"), "mase_snaive7": head.get("mase_snaive7"),
        "mase_rel_snaive7": head.get("mase_rel_snaive7"), "coverage_80": head.get("coverage_80"),
        "coverage_95": head.get("coverage_95"), "backtest": "nested: chosen on earlier origins, scored on later ones",
        "interval_sources": dict(sources.iter_rows()),
        "backtest_origins": [str(w[1]) for w in windows]}
    if staffing_inputs is not None:
        chosen_ids = choice.select("unique_id", pl.col("model").alias("_chosen"))
        used = rolling.join(chosen_ids, on="unique_id").filter(pl.col("model") == pl.col("_chosen"))
        plan = staffing.plan(values.filter("chosen"), staffing_inputs["hours"], staffing_inputs["technicians"],
                             section(config, "staffing"), used)
        tables["staffing_plan"] = plan
        short = plan.filter("short")
        summary["staffing"] = {"region_weeks": plan.height, "short_region_weeks": short.height,
                               "max_shortfall": float(-short["gap"].min()) if short.height else 0.0}
    return _relabel(store.Run(kind="workload", source=source, model="|".join(sorted(set(res["model"]) | {MEAN})),
                              data_cutoff=last, params=_params(fc, dropped, {"staffing": section(config, "staffing")}),
                              n_series=choice.height, workers=workers, seconds=time.perf_counter() - started,
                              summary=summary, tables=tables), freq)


def backtest(long: pl.DataFrame, config: dict[str, Any], workers: int, source: str, events: bool = True) -> store.Run:
    """Nested rolling-origin backtest of every candidate on identical cut-offs: the choice,
    combination and calibration made on earlier origins and scored on later ones, plus the event
    backtest (origins ``event_lead_days`` before each Spring Festival, 618 and Double 11, daily
    series on the Chinese calendar only)."""
    started = time.perf_counter()
    fc = section(config, "forecast")
    freq = _freq(fc)
    long, dropped = keep_series(long, float(fc["min_weekly_tickets"]))
    first, last = long["ds"].min(), long["ds"].max()
    windows = _rolling_windows(long, fc)
    chinese = str(fc.get("country") or "CN").upper() == "CN" and freq == "D"
    event_windows = bt.event_windows(first, last, int(fc["event_lead_days"]), int(fc["event_horizon_days"])) \
        if events and chinese else []
    res = _fit(long, windows + event_windows, fc, workers, raw_intervals=True)
    margin = float(fc["selection_margin"])
    rolling = res.filter(pl.col("window") == bt.ROLLING)
    oos = bt.out_of_sample(rolling, margin, freq)
    rolling_all = bt.with_combination(rolling, rolling)
    choice = bt.choose_models(rolling_all, margin)
    summaries = [bt.summarize_rolling(oos, rolling, freq)]
    ev = res.filter(pl.col("window").str.starts_with("event:"))
    if not ev.is_empty():
        ev = bt.with_combination(ev, rolling)
        summaries.append(bt.summarize_events(ev, choice))
    scores = pl.concat(summaries).with_columns(pl.lit("*").alias("unique_id"))
    per_series = bt.series_scores(oos).select(pl.lit(bt.ROLLING).alias("scope"), "unique_id", "model",
                                              pl.lit("mase").alias("metric"), pl.col("mase").alias("value"))
    scores = pl.concat([scores.select(per_series.columns), per_series])
    first_origin = rolling.filter(pl.col("cutoff") == rolling["cutoff"].min())
    stored = pl.concat([first_origin, oos, ev], how="diagonal_relaxed").select(
        pl.col("window").alias("window_label"), "unique_id", "cutoff", "ds", "model", "y", "yhat",
        *[pl.col(c) if c in oos.columns else pl.lit(None, dtype=pl.Float64).alias(c)
          for c in ("yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95")])
    summary = headline(scores, freq)
    summary.update({"series": long["unique_id"].n_unique(), "dropped_series": len(dropped),
                    "origins": [str(w[1]) for w in windows], "outer_origins": [str(w[1]) for w in windows[1:]],
                    "events": [w[0] for w in event_windows]})
    return _relabel(store.Run(kind="backtest_workload", source=source,
                              model="|".join(sorted(set(res["model"]) | {COMBO, MEAN})), data_cutoff=last,
                              params=_params(fc, dropped), n_series=long["unique_id"].n_unique(), workers=workers,
                              seconds=time.perf_counter() - started, summary=summary,
                              tables={"backtest_scores": scores, "backtest_forecasts": stored}), freq)


def _relabel(run: store.Run, freq: str) -> store.Run:
    """The run's model names as its frequency has them (weekly: ``naive1``, ``snaive52`` for
    the internal ``snaive7``, ``naive364``) in every stored table, reason and summary. Metric
    names (``mase_rel_snaive7``) stay: they mean "relative to the seasonal-naive baseline of
    the run's frequency"."""
    run.summary["baseline"] = baseline_text(freq)
    names = {k: v for k, v in LABELS.get(freq, {}).items() if k != v}
    if not names:
        return run
    pattern = r"\b(" + "|".join(names) + r")\b"

    def text(col: str) -> pl.Expr:
        expr = pl.col(col)
        for old, new in names.items():
            expr = expr.str.replace_all(rf"\b{old}\b", new)
        return expr

    for key, frame in run.tables.items():
        cols = [c for c in ("model", "reason", "scores") if c in frame.columns and frame.schema[c] == pl.String]
        if cols:
            run.tables[key] = frame.with_columns(*[text(c) for c in cols])
    if isinstance(run.summary.get("chosen"), dict):
        run.summary["chosen"] = {names.get(k, k): v for k, v in run.summary["chosen"].items()}
    if run.summary.get("best_baseline") in names:
        run.summary["best_baseline"] = names[run.summary["best_baseline"]]
    run.model = re.sub(pattern, lambda m: names[m.group(1)], run.model)
    return run


def headline(scores: pl.DataFrame, freq: str = "D") -> dict[str, Any]:
    """The figures the issue sets targets for, from a workload backtest's summary scores (all
    outer, out-of-sample figures)."""
    s = scores.filter(pl.col("unique_id") == "*")

    def get(scope: str, model: str, metric: str) -> float | None:
        v = s.filter((pl.col("scope") == scope) & (pl.col("model") == model) & (pl.col("metric") == metric))["value"]
        return float(v[0]) if len(v) and v[0] is not None else None

    best = get(bt.ROLLING, bt.SELECTED, "best_baseline")
    out = {
        "mase_selected": get(bt.ROLLING, bt.SELECTED, "mase"),
        "mase_snaive7": get(bt.ROLLING, SNAIVE7, "mase"),
        "mase_rel_snaive7": get(bt.ROLLING, bt.SELECTED, "mase_rel_snaive7"),
        "mase_rel_best_baseline": get(bt.ROLLING, bt.SELECTED, "mase_rel_best_baseline"),
        "best_baseline": None if best is None else bt.BASELINES[int(best)],
        "prophet_mase_rel_snaive7": get(bt.ROLLING, PROPHET, "mase_rel_snaive7"),
        "combo_mase_rel_snaive7": get(bt.ROLLING, COMBO, "mase_rel_snaive7"),
        "mean_mase_rel_snaive7": get(bt.ROLLING, MEAN, "mase_rel_snaive7"),
        "naive364_mase_rel_snaive7": get(bt.ROLLING, "naive364", "mase_rel_snaive7"),
        "coverage_80": get(bt.ROLLING, bt.SELECTED, "coverage_80"),
        "coverage_95": get(bt.ROLLING, bt.SELECTED, "coverage_95"),
        "interval_fallback_share": get(bt.ROLLING, bt.SELECTED, "interval_fallback_share"),
        "raw_prophet_coverage_80": get(bt.ROLLING, PROPHET, "raw_coverage_80"),
        "raw_prophet_coverage_95": get(bt.ROLLING, PROPHET, "raw_coverage_95"),
        "win_rate_vs_snaive7": get(bt.ROLLING, bt.SELECTED, "win_rate_vs_snaive7"),
        "event_mase_rel_naive364": get("event:all", bt.SELECTED, "mase_rel_naive364"),
        "event_mae_rel_naive364_volume": get("event:all", bt.SELECTED, "mae_rel_naive364_volume"),
    }
    out["coverage_by_bucket"] = {label: {lv: get(bt.ROLLING, bt.SELECTED, f"coverage_{lv}_h{label}") for lv in (80, 95)}
                                 for label in scoring.bucket_labels(freq)}
    return out


__all__ = ["forecast", "backtest", "headline", "keep_series", "scoring"]
