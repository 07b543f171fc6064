"""Weekly spare-part demand: classification and the per-series forecasts.

Every series is classified by its average demand interval (ADI = weeks ÷ weeks with demand) and
the squared coefficient of variation of its non-zero demands (CV², population variance), with
the Syntetos–Boylan cut-offs 1.32 and 0.49:

    ADI < 1.32, CV² < 0.49  smooth        ADI ≥ 1.32, CV² < 0.49  intermittent
    ADI < 1.32, CV² ≥ 0.49  erratic       ADI ≥ 1.32, CV² ≥ 0.49  lumpy

Intermittent and lumpy parts get the Croston family from statsforecast (CrostonSBA, TSB, ADIDA,
IMAPA); smooth and erratic ones exponential smoothing (AutoETS, SES). The backtest picks one
method per class (``choose_methods``); naive, SES and the zero forecast are always run as the
baselines the scores are set against.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

ADI_CUT = 1.32
CV2_CUT = 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
NO_DEMAND = "no_demand"
CANDIDATES = {
    "smooth": ("ets", "ses"),
    "erratic": ("ets", "ses"),
    "intermittent": ("croston_sba", "tsb", "adida", "imapa"),
    "lumpy": ("croston_sba", "tsb", "adida", "imapa"),
}
BASELINES = ("naive", "ses", "zero")
ALL_MODELS = tuple(dict.fromkeys([m for ms in CANDIDATES.values() for m in ms] + list(BASELINES)))


def classify(y: np.ndarray) -> tuple[str, float, float]:
    """``(class, adi, cv2)`` of a demand series (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    nz = y[y > 0]
    if len(nz) == 0:
        return NO_DEMAND, float("inf"), float("nan")
    # Rounded so that a series exactly on a cut-off falls on the same side whatever the float error.
    adi = round(len(y) / len(nz), 9)
    cv2 = round(float((nz.std() / nz.mean()) ** 2), 9) if len(nz) > 1 else 0.0
    if adi < ADI_CUT:
        return ("smooth" if cv2 < CV2_CUT else "erratic"), adi, cv2
    return ("intermittent" if cv2 < CV2_CUT else "lumpy"), adi, cv2


def _model(name: str) -> Any:
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoETS,
        CrostonSBA,
        Naive,
        SimpleExponentialSmoothingOptimized,
        ZeroModel,
    )

    return {
        "croston_sba": lambda: CrostonSBA(),
        "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
        "adida": lambda: ADIDA(),
        "imapa": lambda: IMAPA(),
        "ets": lambda: AutoETS(model="ZNN"),
        "ses": lambda: SimpleExponentialSmoothingOptimized(),
        "naive": lambda: Naive(),
        "zero": lambda: ZeroModel(),
    }[name]()


def point_forecast(name: str, y: np.ndarray, h: int) -> np.ndarray:
    """Mean weekly demand for the next ``h`` weeks by method ``name`` (never negative)."""
    y = np.asarray(y, dtype=float)
    if name == "zero":
        return np.zeros(h)
    if name == "naive":
        return np.full(h, y[-1] if len(y) else 0.0)
    if not np.any(y > 0):
        return np.zeros(h)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(_model(name).forecast(y=y, h=h)["mean"], dtype=float)
    except Exception:  # e.g. AutoETS on a few weeks of history: the recent mean stands in
        out = np.full(h, float(np.mean(y[-13:])))
    return np.clip(np.nan_to_num(out, nan=0.0), 0, None)


@dataclass
class PartTask:
    """One part's weekly series and the backtest windows to run (picklable)."""

    unique_id: str
    ds: np.ndarray  # datetime64[D], weekly (Mondays)
    y: np.ndarray
    cutoffs: list[int]  # index of the last training week of each backtest window
    horizon: int
    min_history: int = 8
    models: tuple[str, ...] = field(default=ALL_MODELS)


def forecast_part(task: PartTask) -> dict[str, pl.DataFrame]:
    """Backtest forecasts of the class's candidates and the baselines at each cut-off (``backtest``: ``unique_id, cutoff, ds, y,
    model, yhat, scale``), every model's forecast after the last week (``final``), and the
    series' class (``info``: ``unique_id, series_class, adi, cv2, weeks, mean_demand, var_demand``)."""
    y, ds, h = task.y, task.ds, task.horizon
    cls, adi, cv2 = classify(y)
    # Only the candidates of the series' class and the baselines: nothing else can be chosen.
    models = tuple(m for m in task.models if m in CANDIDATES.get(cls, ()) or m in BASELINES)
    # Columns gathered as arrays and framed once: building many tiny frames costs more than the fits.
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("cutoff", "ds", "y", "model", "yhat", "scale")}
    for c in task.cutoffs:
        if c + 1 < task.min_history or c + 1 >= len(y):
            continue
        train, test = y[:c + 1], y[c + 1:c + 1 + h]
        n = len(test)
        diffs = np.diff(train)
        scale = float(np.mean(diffs ** 2)) if len(diffs) else float("nan")
        for m in models:
            cols["cutoff"].append(np.repeat(ds[c], n))
            cols["ds"].append(ds[c + 1:c + 1 + n])
            cols["y"].append(test)
            cols["model"].append(np.repeat(m, n))
            cols["yhat"].append(point_forecast(m, train, n))
            cols["scale"].append(np.repeat(scale, n))
    backtest = pl.DataFrame({
        "unique_id": np.repeat(task.unique_id, sum(len(a) for a in cols["y"])),
        **{k: (np.concatenate(v) if v else np.array([], dtype="datetime64[D]" if k in ("cutoff", "ds") else
                                                    (str if k == "model" else float))) for k, v in cols.items()},
    }, schema={"unique_id": pl.String, "cutoff": pl.Date, "ds": pl.Date, "y": pl.Float64, "model": pl.String,
               "yhat": pl.Float64, "scale": pl.Float64})
    future = ds[-1] + np.arange(1, h + 1) * np.timedelta64(7, "D")
    final = pl.DataFrame({"unique_id": np.repeat(task.unique_id, h * len(models)),
                          "ds": np.tile(future, len(models)),
                          "model": np.repeat(np.array(models), h),
                          "yhat": np.concatenate([point_forecast(m, y, h) for m in models])},
                         schema={"unique_id": pl.String, "ds": pl.Date, "model": pl.String, "yhat": pl.Float64})
    recent = y[-52:]
    info = pl.DataFrame({"unique_id": [task.unique_id], "series_class": [cls], "adi": [adi], "cv2": [cv2],
                         "weeks": [len(y)], "mean_demand": [float(recent.mean())],
                         "var_demand": [float(recent.var(ddof=1)) if len(recent) > 1 else 0.0]})
    return {"backtest": backtest, "final": final, "info": info}


def forecast_parts_batch(tasks: list[PartTask]) -> dict[str, pl.DataFrame]:
    """``forecast_part`` over a batch, the frames concatenated: what the executor ships, because
    a part's fits take milliseconds and moving thousands of tiny frames between processes costs
    more than that."""
    out = [forecast_part(t) for t in tasks]
    return {k: pl.concat([o[k] for o in out], how="vertical_relaxed") for k in ("backtest", "final", "info")}


def tasks_from_long(long: pl.DataFrame, origins: int, horizon: int, step: int = 0,
                    min_history: int = 8) -> list[PartTask]:
    """One task per part; cut-offs are counted back from the last week common to all series
    (the latest leaves ``horizon`` weeks to score), ``step`` weeks apart (default: the horizon)."""
    step = step or horizon
    last = long["ds"].max()
    cut_dates = [last - dt.timedelta(days=7 * (horizon + step * k)) for k in reversed(range(origins))]
    tasks = []
    for (uid,), part in long.sort("unique_id", "ds").group_by("unique_id", maintain_order=True):
        ds = part["ds"].to_numpy().astype("datetime64[D]")
        idx = [int(np.searchsorted(ds, np.datetime64(c, "D"))) for c in cut_dates]
        idx = [i for i, c in zip(idx, cut_dates, strict=True) if i < len(ds) and ds[i] == np.datetime64(c, "D")]
        tasks.append(PartTask(str(uid), ds, part["y"].to_numpy().astype(float), idx, horizon, min_history))
    return tasks


def rmsse_table(backtest: pl.DataFrame) -> pl.DataFrame:
    """Per ``unique_id, cutoff, model``: RMSSE (root of MSE over the in-sample one-step naive MSE),
    the sums of forecast and actual (for bias) and the squared error."""
    return (backtest.group_by("unique_id", "cutoff", "model")
            .agg(((pl.col("y") - pl.col("yhat")) ** 2).mean().alias("mse"), pl.col("scale").first(),
                 pl.col("yhat").sum().alias("forecast"), pl.col("y").sum().alias("actual"), pl.len().alias("n"))
            .with_columns((pl.col("mse") / pl.col("scale")).sqrt().alias("rmsse")))


def choose_methods(backtest: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """One method per class: the candidate with the lowest mean RMSSE over the class's series
    and windows. Columns ``series_class, model, reason``."""
    scores = rmsse_table(backtest).filter(pl.col("rmsse").is_finite()).join(
        info.select("unique_id", "series_class"), on="unique_id")
    out = []
    for cls, candidates in CANDIDATES.items():
        s = (scores.filter((pl.col("series_class") == cls) & pl.col("model").is_in(list(candidates)))
             .group_by("model").agg(pl.col("rmsse").mean()).sort("rmsse", "model"))
        if s.is_empty():
            model = candidates[0]
            reason = f"no {cls} series with a backtest: default {model}"
        else:
            model = s["model"][0]
            others = ", ".join(f"{m} {r:.3f}" for m, r in s.iter_rows())
            reason = f"lowest mean RMSSE among {cls} series ({others})"
        out.append({"series_class": cls, "model": model, "reason": reason})
    out.append({"series_class": NO_DEMAND, "model": "zero", "reason": "no demand in the history"})
    return pl.DataFrame(out)
