"""Workload forecasts on real public data (``tests/benchmarks/realdata/``, each with its SOURCE.md):
the nested backtest of every data set beside its baselines, the CPU time per series, and a
measured noise floor. ``bench_forecasts.py`` calls it (and uses ``figures`` for the generated
sample too); it also runs alone:

    .venv/bin/python tests/benchmarks/workload_realdata.py [--workers 1] [--only france_emergency_sos]

Figures per data set (all on the outer windows of the nested backtest: the model chosen,
combined and calibrated on earlier origins, scored on later ones):

* MASE ÷ seasonal naive (lag 7) and ÷ the best single baseline (seasonal or annual naive,
  whichever has the lower MASE on the data set), for the model used per series, and beside it
  each candidate alone (Prophet, ETS, MSTL, seasonal window average, annual naive, the best-3
  mean, the trimmed mean of the diverse models);
* 80% / 95% interval coverage, over all and per horizon bucket (days 1-7, 8-28, 29+), with
  Prophet's own (raw) intervals for comparison;
* how far choosing among these candidates could go (``hindsight_choice``), chosen on the outer
  windows themselves: the best candidate per series and window, the best per series, and the
  best fixed equal-weight subset of the single models; above a target, no choice among these
  model families reaches it;
* each horizon bucket's coverage with the range chance alone gives it on this many series and
  windows (``coverage_spread``: a bootstrap of the (series, window) cells);
* CPU seconds per series of ``forecast`` (fit, nested backtest, calibration, final forecast)
  and of ``backtest`` (which also samples Prophet's own intervals);
* how far any forecast could go (``hindsight_floor``): a hindsight oracle (the mean of the same
  weekday one and two weeks before and after) and the noise floor (the error of knowing each
  day's expected count exactly), as MASE ÷ seasonal naive on the same windows; the
  over-dispersion of the days (variance ÷ mean; 1 = Poisson); and the error growth, Prophet's
  mean absolute log error on each outer window ÷ on the windows before it (above 1: the later
  windows err more than the ones the intervals were calibrated on). The noise floor counts the
  hindsight level's own misses (fast event waves) as noise, so it overstates the irreducible
  error (on the generated sample Prophet gets below it): where it lies under a target, noise
  is not what keeps the target out of reach.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import resource
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402

from forecasts import backtest as bt  # noqa: E402
from forecasts import run_workload, scoring  # noqa: E402
from forecasts.executor import quiet  # noqa: E402

REALDATA = Path(__file__).resolve().parent / "realdata"
# (folder, holiday country, label)
SETS = [("toronto_central_intake", "CA", "Toronto Central Intake calls (Canada), 15 series"),
        ("france_emergency_sos", "FR", "French emergency departments and SOS Médecins (France), 2 series"),
        ("iowa_emergency_arrivals", "US", "Iowa (UIHC) emergency arrivals per shift (US), 4 series")]
CANDIDATES = ("prophet", "ets", "mstl", "theta", "swa", "naive364", "combo", "mean")


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime  # cmdstan runs as a child


def read_set(name: str) -> pl.DataFrame:
    """The set's one ``daily_*.csv`` (named for what it counts: calls, visits ...)."""
    files = sorted((REALDATA / name).glob("daily_*.csv"))
    if len(files) != 1:
        raise SystemExit(f"{REALDATA / name}: expected one daily_*.csv, found {[f.name for f in files]}")
    return pl.read_csv(files[0], schema={"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64})


def _scores(run: Any) -> pl.DataFrame:
    return run.tables["backtest_scores"].filter((pl.col("unique_id") == "*") & (pl.col("scope") == bt.ROLLING))


def hindsight_floor(long: pl.DataFrame, stored: pl.DataFrame) -> dict[str, float | None]:
    """Two measures of how much of the seasonal naive's error is noise, on the outer windows.
    The hindsight oracle forecasts each day by the mean m of the same weekday one and two weeks
    before and after (it knows the future's level). The noise floor is the error of a forecast
    that knew each day's expected count exactly: the day's own noise, whose spread is that of
    y - m less the oracle's own share (m averages four days: var(y - m) = 1.25 var(noise)),
    as mean absolute deviation sqrt(2/pi) * sd. Both as MASE ÷ seasonal naive on the same
    windows; the over-dispersion is var(noise) ÷ mean (1 = Poisson), median over series."""
    first = stored.filter(pl.col("window_label") == bt.ROLLING)["cutoff"].min()
    naive = stored.filter((pl.col("window_label") == bt.ROLLING) & (pl.col("model") == "snaive7")
                          & (pl.col("cutoff") > first) & pl.col("y").is_not_null())
    if naive.is_empty():
        return {"oracle_mase_rel_snaive7": None, "floor_mase_rel_snaive7": None, "dispersion": None}
    shifted = [long.select("unique_id", (pl.col("ds") - dt.timedelta(days=k)).alias("ds"), pl.col("y").alias(f"y{k}"))
               for k in (-14, -7, 7, 14)]
    rows = naive.select("unique_id", "cutoff", "ds", "y", pl.col("yhat").alias("naive"))
    for s in shifted:
        rows = rows.join(s, on=["unique_id", "ds"], how="left")
    rows = rows.with_columns(pl.mean_horizontal("y-14", "y-7", "y7", "y14").alias("oracle"))
    scale = (long.sort("unique_id", "ds").with_columns((pl.col("y") - pl.col("y").shift(7).over("unique_id")).abs()
                                                       .alias("d7")))
    cut = rows.select("unique_id", "cutoff").unique().join(scale, on="unique_id").filter(pl.col("ds") <= pl.col("cutoff")) \
        .group_by("unique_id", "cutoff").agg(pl.col("d7").mean().alias("scale"))
    per = rows.group_by("unique_id", "cutoff").agg(
        (pl.col("y") - pl.col("oracle")).abs().mean().alias("o"),
        ((2 / math.pi) ** 0.5 * ((pl.col("y") - pl.col("oracle")).pow(2).mean() / 1.25).sqrt()).alias("f"),
        (pl.col("y") - pl.col("naive")).abs().mean().alias("n")).join(cut, on=["unique_id", "cutoff"]) \
        .filter(pl.col("scale") > 0)
    naive_mase = (per["n"] / per["scale"]).mean()
    disp = rows.filter(pl.col("oracle") > 0).group_by("unique_id").agg(
        ((pl.col("y") - pl.col("oracle")).pow(2).mean() / 1.25 / pl.col("oracle").mean()).alias("d"))
    return {"oracle_mase_rel_snaive7": float((per["o"] / per["scale"]).mean() / naive_mase),
            "floor_mase_rel_snaive7": float((per["f"] / per["scale"]).mean() / naive_mase),
            "dispersion": float(disp["d"].median()) if disp.height else None}


# The single models a combination can be built from (the combinations and the selection are not).
SINGLE_MODELS = ("prophet", "ets", "mstl", "theta", "swa", "naive364", "snaive7", "top_down")


def _per_window_mase(long: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """MASE per ``unique_id, cutoff, model`` of backtest rows (``y``, ``yhat``), with the
    in-sample scale of each series at each cut-off (mean absolute lag-7 difference of its
    history up to the cut-off, as the backtest scales it)."""
    d7 = long.sort("unique_id", "ds").with_columns(
        (pl.col("y") - pl.col("y").shift(7).over("unique_id")).abs().alias("d7"))
    scale = rows.select("unique_id", "cutoff").unique().join(d7, on="unique_id") \
        .filter(pl.col("ds") <= pl.col("cutoff")).group_by("unique_id", "cutoff").agg(pl.col("d7").mean().alias("scale"))
    return rows.filter(pl.col("y").is_not_null() & pl.col("yhat").is_not_null()) \
        .group_by("unique_id", "cutoff", "model").agg((pl.col("y") - pl.col("yhat")).abs().mean().alias("mae")) \
        .join(scale, on=["unique_id", "cutoff"]).filter(pl.col("scale") > 0) \
        .with_columns((pl.col("mae") / pl.col("scale")).alias("mase"))


def hindsight_choice(long: pl.DataFrame, stored: pl.DataFrame, calendar_days: pl.DataFrame | None = None
                     ) -> dict[str, Any]:
    """How far choosing among the candidates could go, chosen on the outer windows themselves
    (hindsight: no method can know these choices in advance), as MASE ÷ seasonal naive on the
    same outer windows as the backtest's score:

    * ``oracle_window``: the best candidate (every single model, the mean of the models and the
      best-3 mean) of each series in each outer window;
    * ``oracle_series``: the best candidate of each series, the same in all its outer windows;
    * ``best_fixed_combination``: the equal-weight mean of the subset of single models, the same
      subset for every series and window, that scores best (on days ``calendar_days`` marks,
      Prophet's forecast, as the product's mean does); ``best_fixed_members`` names it.

    If even ``oracle_series`` is above a target, no per-series choice among these models
    reaches it; if ``best_fixed_combination`` is, no fixed equal-weight combination does."""
    first = stored.filter(pl.col("window_label") == bt.ROLLING)["cutoff"].min()
    outer = stored.filter((pl.col("window_label") == bt.ROLLING) & (pl.col("cutoff") > first)
                          & (pl.col("model") != bt.SELECTED))
    none = {"oracle_window": None, "oracle_series": None, "best_fixed_combination": None, "best_fixed_members": None}
    if outer.is_empty():
        return none
    per = _per_window_mase(long, outer)
    base = per.filter(pl.col("model") == "snaive7").select("unique_id", "cutoff", pl.col("mase").alias("_base"))
    per = per.join(base, on=["unique_id", "cutoff"])
    if per.is_empty():
        return none
    naive = float(per.filter(pl.col("model") == "snaive7")["mase"].mean())
    window = per.group_by("unique_id", "cutoff").agg(pl.col("mase").min())
    series = per.group_by("unique_id", "model").agg(pl.col("mase").mean(), pl.len().alias("n")) \
        .group_by("unique_id").agg(pl.col("mase").sort_by("mase").first(), pl.col("n").sort_by("mase").first())
    out = dict(none)
    out["oracle_window"] = float(window["mase"].mean()) / naive
    out["oracle_series"] = float((series["mase"] * series["n"]).sum() / series["n"].sum()) / naive
    singles = [m for m in SINGLE_MODELS if m in set(outer["model"])]
    wide = outer.filter(pl.col("model").is_in(singles)).pivot(
        on="model", index=["unique_id", "cutoff", "ds", "y"], values="yhat", aggregate_function="first")
    if calendar_days is not None and "prophet" in wide.columns:
        wide = wide.join(calendar_days, on="ds", how="left").with_columns(pl.col("calendar_day").fill_null(False))
    else:
        wide = wide.with_columns(pl.lit(False).alias("calendar_day"))
    best: tuple[float, tuple[str, ...]] | None = None
    for k in range(1, len(singles) + 1):
        for subset in itertools.combinations(singles, k):
            if any(m not in wide.columns for m in subset):
                continue
            mean = pl.mean_horizontal(*subset)
            if "prophet" in wide.columns:
                mean = pl.when(pl.col("calendar_day") & pl.col("prophet").is_not_null()).then(pl.col("prophet")).otherwise(mean)
            rows = wide.select("unique_id", "cutoff", "y", mean.alias("yhat"), pl.lit("c").alias("model"))
            m = _per_window_mase(long, rows).join(base, on=["unique_id", "cutoff"])
            if m.height < window.height:  # a member missing on some series (the annual naive's first year)
                continue
            v = float(m["mase"].mean()) / naive
            if best is None or v < best[0]:
                best = (v, subset)
    if best is not None:
        out["best_fixed_combination"], out["best_fixed_members"] = best[0], "+".join(best[1])
    return out


def coverage_spread(stored: pl.DataFrame, draws: int = 2000, seed: int = 0) -> dict[str, dict[str, list[float]]]:
    """How far each horizon bucket's coverage could fall by chance on this many series and
    windows: a 90% interval of the used model's coverage per bucket and level over bootstrap
    resamples of its (series, outer window) cells, whole cells at a time (the days of one
    window share its errors). Where the target band lies inside it, these windows cannot
    tell a miss from bad luck. ``{bucket: {"80": [lo, hi], "95": [lo, hi]}}``."""
    import numpy as np

    first = stored.filter(pl.col("window_label") == bt.ROLLING)["cutoff"].min()
    rows = stored.filter((pl.col("window_label") == bt.ROLLING) & (pl.col("model") == bt.SELECTED)
                         & (pl.col("cutoff") > first) & pl.col("y").is_not_null() & pl.col("yhat_lower_80").is_not_null())
    if rows.is_empty():
        return {}
    rows = rows.with_columns(scoring.bucket(((pl.col("ds") - pl.col("cutoff")).dt.total_days()).cast(pl.Int32), "D")
                             .alias("bucket"),
                             pl.concat_str("unique_id", pl.col("cutoff").cast(pl.String), separator="|").alias("cell"))
    cells = rows["cell"].unique().sort().to_list()
    index = {c: i for i, c in enumerate(cells)}
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(cells), size=(draws, len(cells)))
    counts = np.stack([np.bincount(p, minlength=len(cells)) for p in picks])  # draws × cells
    out: dict[str, dict[str, list[float]]] = {}
    for label in scoring.bucket_labels("D"):
        g = rows.filter(pl.col("bucket") == label)
        if g.is_empty():
            continue
        idx = np.array([index[c] for c in g["cell"]])
        n = np.bincount(idx, minlength=len(cells)).astype(float)
        out[label] = {}
        for lv in (80, 95):
            inside = ((g["y"] >= g[f"yhat_lower_{lv}"]) & (g["y"] <= g[f"yhat_upper_{lv}"])).to_numpy().astype(float)
            k = np.bincount(idx, weights=inside, minlength=len(cells))
            cov = (counts @ k) / np.maximum(counts @ n, 1)
            out[label][str(lv)] = [float(np.quantile(cov, 0.05)), float(np.quantile(cov, 0.95))]
    return out


def calendar_days(country: str, first: Any, last: Any) -> pl.DataFrame:
    """``ds, calendar_day``: the days the country's calendar marks (``workload.calendar_marked``)."""
    from forecasts import workload

    dates = pd.date_range(first, last, freq="D")
    marks = workload.calendar_marked(workload.features({"country": country, "freq": "D"}, dates))
    return pl.DataFrame({"ds": pl.date_range(first, last, "1d", eager=True), "calendar_day": marks})


def error_growth(stored: pl.DataFrame) -> float | None:
    """Mean over outer windows of Prophet's mean |log((y+1)/(yhat+1))| ÷ the same over the
    windows before it."""
    p = stored.filter((pl.col("window_label") == bt.ROLLING) & (pl.col("model") == "prophet") & pl.col("y").is_not_null())
    per = p.group_by("cutoff").agg(((pl.col("y") + 1).log() - (pl.col("yhat") + 1).log()).abs().mean().alias("e")) \
        .sort("cutoff")["e"].to_list()
    growth = [per[k] / (sum(per[:k]) / k) for k in range(1, len(per)) if sum(per[:k]) > 0]
    return sum(growth) / len(growth) if growth else None


def figures(long: pl.DataFrame, run: Any, backtest_cpu: float, forecast_cpu: float | None,
            country: str = "CN") -> dict[str, Any]:
    """Every figure of one data set from its backtest run (``run_workload.backtest``); ``country``:
    the holiday calendar it ran with (for the hindsight combination's calendar days)."""
    h = run.summary
    sc = _scores(run)

    def rel(model: str) -> float | None:
        v = sc.filter((pl.col("model") == model) & (pl.col("metric") == "mase_rel_snaive7"))["value"]
        return float(v[0]) if len(v) else None

    n = long["unique_id"].n_unique()
    stored = run.tables["backtest_forecasts"]
    return {
        "series": n, "days": long["ds"].n_unique(), "first": str(long["ds"].min()), "last": str(long["ds"].max()),
        "tickets_per_day": float(long.group_by("unique_id").agg(pl.col("y").mean())["y"].median()),
        "outer_origins": h.get("outer_origins"),
        "mase_rel_snaive7": h["mase_rel_snaive7"], "mase_rel_best_baseline": h["mase_rel_best_baseline"],
        "best_baseline": h["best_baseline"], **{f"{m}_rel_snaive7": rel(m) for m in CANDIDATES},
        "coverage_80": h["coverage_80"], "coverage_95": h["coverage_95"], "coverage_by_bucket": h["coverage_by_bucket"],
        "interval_fallback_share": h.get("interval_fallback_share"),
        "raw_prophet_coverage_80": h["raw_prophet_coverage_80"], "raw_prophet_coverage_95": h["raw_prophet_coverage_95"],
        "backtest_cpu_s_per_series": backtest_cpu / n,
        "forecast_cpu_s_per_series": None if forecast_cpu is None else forecast_cpu / n,
        **hindsight_floor(long, stored), "error_growth": error_growth(stored),
        **hindsight_choice(long, stored, calendar_days(country, long["ds"].min(), stored["ds"].max())),
        "coverage_spread_by_bucket": coverage_spread(stored),
    }


def evaluate(name: str, country: str, workers: int = 1) -> dict[str, Any]:
    """Backtest and forecast one real data set with its country's holidays; its figures."""
    long = read_set(name)
    config = {"forecast": {"country": country}}
    t = cpu_seconds()
    run = run_workload.backtest(long, config, workers, f"realdata/{name}")
    backtest_cpu = cpu_seconds() - t
    t = cpu_seconds()
    fc = run_workload.forecast(long, config, workers, f"realdata/{name}")
    forecast_cpu = cpu_seconds() - t
    out = figures(long, run, backtest_cpu, forecast_cpu, country)
    out["chosen"] = fc.summary["chosen"]
    return out


def realdata(workers: int = 1, only: str | None = None) -> dict[str, dict[str, Any]]:
    """Figures for every real data set (or the one named ``only``)."""
    quiet()
    return {name: {"label": label, "country": country, **evaluate(name, country, workers)}
            for name, country, label in SETS if only in (None, name)}


def _f(v: Any, nd: int = 3) -> str:
    return "—" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _ok(v: float | None, lo: float, hi: float) -> str:
    return "" if v is None else " ✓" if lo <= v <= hi else " ✗"


def _bucket_cell(cb: dict[str, Any], spread: dict[str, Any], b: str, lv: int) -> str:
    """One bucket's coverage at level ``lv`` with its bootstrap range (keys are ints, or strings after JSON)."""
    v = cb[b][lv] if lv in cb[b] else cb[b].get(str(lv))
    ci = spread.get(b, {}).get(str(lv))
    return _f(v) + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")


def report_lines(sets: dict[str, dict[str, Any]]) -> list[str]:
    """README-ready tables: one row per data set (the real ones and the sample), targets marked
    ✓/✗ (MASE ≤ 0.85 of seasonal naive and ≤ the best baseline; coverage 0.75–0.85 and 0.90–0.98)."""
    lines = ["", "| data set | series | MASE ÷ snaive7 | ÷ best baseline | trimmed mean of models | Prophet | ETS | MSTL | swa "
             "| naive364 | best-3 mean | hindsight choice: per window / per series / best fixed mean "
             "| oracle / noise floor | cov 80 | cov 95 | raw Prophet 80 / 95 "
             "| CPU s/series (forecast / backtest) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in sets.items():
        lines.append(
            f"| {r.get('label', name)} | {r['series']} | {_f(r['mase_rel_snaive7'])}{_ok(r['mase_rel_snaive7'], 0, 0.85)} | "
            f"{_f(r['mase_rel_best_baseline'])} ({r['best_baseline']}){_ok(r['mase_rel_best_baseline'], 0, 1.0)} | "
            f"{_f(r.get('mean_rel_snaive7'))} | {_f(r['prophet_rel_snaive7'])} | {_f(r.get('ets_rel_snaive7'))} | "
            f"{_f(r.get('mstl_rel_snaive7'))} | {_f(r['swa_rel_snaive7'])} | {_f(r['naive364_rel_snaive7'])} | "
            f"{_f(r['combo_rel_snaive7'])} | {_f(r.get('oracle_window'))} / {_f(r.get('oracle_series'))} / "
            f"{_f(r.get('best_fixed_combination'))} ({r.get('best_fixed_members') or '—'}) | "
            f"{_f(r['oracle_mase_rel_snaive7'])} / {_f(r['floor_mase_rel_snaive7'])} | "
            f"{_f(r['coverage_80'])}{_ok(r['coverage_80'], 0.75, 0.85)} | {_f(r['coverage_95'])}{_ok(r['coverage_95'], 0.90, 0.98)} | "
            f"{_f(r['raw_prophet_coverage_80'])} / {_f(r['raw_prophet_coverage_95'])} | "
            f"{_f(r['forecast_cpu_s_per_series'], 2)} / {_f(r['backtest_cpu_s_per_series'], 2)} |")
    buckets = scoring.bucket_labels("D")
    lines += ["", "Coverage per horizon bucket, in brackets the 90% range it takes over bootstrap resamples of "
              "the (series, window) cells (chance alone, on this many series and windows):",
              "", "| data set | " + " | ".join(f"cov 80 / 95, days {b}" for b in buckets)
              + " | over-dispersion (var ÷ mean) | error growth (outer ÷ inner) | models used |",
              "|---|" + "---|" * (len(buckets) + 3)]
    for name, r in sets.items():
        cb, spread = r["coverage_by_bucket"], r.get("coverage_spread_by_bucket") or {}
        cells = " | ".join(f"{_bucket_cell(cb, spread, b, 80)} / {_bucket_cell(cb, spread, b, 95)}" for b in buckets)
        lines.append(f"| {r.get('label', name)} | {cells} | {_f(r['dispersion'], 1)} | {_f(r['error_growth'], 2)} | "
                     f"{r.get('chosen') or ''} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", choices=[s[0] for s in SETS])
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    sets = realdata(args.workers, args.only)
    text = json.dumps(sets, indent=2, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    print("\n".join(report_lines(sets)))


if __name__ == "__main__":
    main()
