"""Workload models, one series at a time (daily, or weekly): Prophet with the business calendar,
cheap statistical models of another kind (exponential smoothing, and MSTL: the weekly and
yearly seasons removed by STL and the rest smoothed; both follow a drifting level where
Prophet's trend is slow to bend; the Theta method on request), the naive candidates (seasonal
naive, annual naive, seasonal window average) and optionally a costlier statsforecast
challenger (the full AutoETS search).

``forecast_series`` is the function the executor fans out: given one series and a list of
cut-offs it returns every model's forecast after each cut-off, with the actuals where known
(a cut-off at the series' last day is the production forecast). Choosing the model and
calibrating intervals need all series and happen in ``backtest.py`` / ``run.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from forecasts import calendar
from forecasts.executor import quiet

PROPHET = "prophet"
SNAIVE7 = "snaive7"  # seasonal naive: lag 7 on daily series, lag 1 (last week) on weekly ones
NAIVE364 = "naive364"  # annual naive: the same weekday a year before (lag 364 days / 52 weeks)
SWA = "swa"  # seasonal window average: the mean of the last four seasons (four same weekdays)
ETS = "ets"  # exponential smoothing, no trend, weekly season (statsforecast AutoETS "ZNZ": ~0.07 s a fit)
THETA = "theta"  # the standard Theta method on the deseasonalised series (M3's winner; ~0.03 s a fit)
MSTL = "mstl"  # weekly and yearly seasons removed by STL, the rest by ETS without trend (last two years; ~0.04 s a fit)
COMBO = "combo"  # equal-weight mean of the best few candidates (built in backtest.py)
MEAN = "mean"  # trimmed mean of the diverse models, a fixed set (built in backtest.py)
STATS_HISTORY_DAYS = 728  # history ETS, Theta and MSTL are fitted on (two years; 104 weeks on weekly series)
CHALLENGERS = ("autoets",)  # optional, costly statsforecast candidate (the full AutoETS search, 0.4 s of CPU a fit)
STATS_MODELS = (ETS, THETA, MSTL, *CHALLENGERS)
# STL evaluates its smoothers every 10th point and interpolates between them (statsmodels'
# jumps): a seventh of the CPU of the full decomposition on two years of days (0.04 s against
# 0.29 s), and in the benchmark's combination it scored as well as the full MSTL on all
# history (Toronto 0.906 against 0.921, France 0.690 against 0.684 of the seasonal naive).
MSTL_STL = {"seasonal_jump": 10, "trend_jump": 10, "low_pass_jump": 10}
SWA_WINDOW = 4
# The recent scale of a series at an origin: its mean absolute seasonal difference over the last
# eight weeks of the training data. Intervals are residuals in units of it (scoring.py), so they
# widen when the series gets busier or noisier, as drifting service series do.
RECENT_SCALE_DAYS = 56
# (seasonal lag, annual lag, pandas step) per frequency, in periods.
FREQS = {"D": (7, 364, "1D"), "W": (1, 52, "7D")}


# What the naive candidates are called in a run's output: the internal ids name the daily lags;
# on weekly series the seasonal naive is last week's count (lag 1) and the annual naive the same
# week a year before (lag 52), and the stored and printed labels say so.
LABELS = {"D": {SNAIVE7: "snaive7", NAIVE364: "naive364"}, "W": {SNAIVE7: "naive1", NAIVE364: "snaive52"}}


def model_label(name: str, freq: str = "D") -> str:
    """The label of model ``name`` in a run at frequency ``freq`` (``snaive7`` is ``naive1`` weekly)."""
    return LABELS.get(freq, {}).get(name, name)


def baseline_text(freq: str = "D") -> str:
    """How the seasonal-naive baseline is described in messages, per frequency."""
    return "seasonal naive (lag 7)" if freq == "D" else "naive (last week, lag 1)"


def lags(freq: str) -> tuple[int, int]:
    """The seasonal-naive and annual-naive lags of a frequency ('D' or 'W'), in periods."""
    if freq not in FREQS:
        raise ValueError(f"unknown workload frequency {freq!r}; use D (daily) or W (weekly)")
    return FREQS[freq][0], FREQS[freq][1]


@dataclass
class SeriesTask:
    """One series and what to do with it (small and picklable: it crosses process boundaries)."""

    unique_id: str
    start: dt.date  # ds of y[0]; the series is gap-free at its frequency
    y: np.ndarray
    windows: list[tuple[str, dt.date, int]]  # (label, cutoff, horizon): train on periods <= cutoff,
    # forecast the `horizon` periods after it
    settings: dict[str, Any] = field(default_factory=dict)
    raw_intervals: bool = False  # also return Prophet's own 80%/95% intervals (backtests)


CalendarKey = tuple[str, tuple[tuple[str, str, int, int], ...]]


def calendar_key(settings: dict[str, Any]) -> CalendarKey:
    """``(country, events)`` from the settings: the run's ``calendar`` (``--country`` /
    ``--events``: ``{"country": "US", "events": [[name, "YYYY-MM-DD", lower, upper], ...]}``) or
    the ``country`` setting; China and no events by default."""
    spec = settings.get("calendar") or {}
    country = str(spec.get("country") or settings.get("country") or "CN").upper()
    events = tuple((str(n), str(d), int(lo), int(hi)) for n, d, lo, hi in spec.get("events") or ())
    return country, events


def _holiday_rows(key: CalendarKey, start: dt.date, end: dt.date, split_days: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The holiday table (``holiday, ds, lower_window, upper_window``) and the working-day flags
    of ``start..end``, from ``calendar``: China's by default, another country's public holidays
    and a planner's events by the key."""
    days = pd.date_range(start, end, freq="D")
    cal = None if key == ("CN", ()) else key
    return calendar.holiday_table(start, end, split_days, cal), calendar.working_days(days, cal)


@functools.lru_cache(maxsize=16)
def _day_features(key: CalendarKey, start: dt.date, end: dt.date, split_days: int) -> pd.DataFrame:
    """Per day of ``start..end``: one 0/1 column per named holiday (or holiday segment, or day of
    an event's window) and a ``working_day`` column. China: the project's calendar (statutory
    days, festival waves, make-up working weekends); another country: its public holidays."""
    days = pd.date_range(start, end, freq="D")
    table, work = _holiday_rows(key, start, end, split_days)
    marks: dict[str, list[pd.Timestamp]] = {}
    for name, ds, lo, hi in table[["holiday", "ds", "lower_window", "upper_window"]].itertuples(index=False):
        for k in range(int(lo), int(hi) + 1):  # Prophet's windows: one effect per day offset
            col = name if lo == hi == 0 else f"{name}_{'m' if k < 0 else 'p'}{abs(k)}"
            marks.setdefault(col, []).append(pd.Timestamp(ds) + pd.Timedelta(days=k))
    # ids, not names, as columns: Prophet's regressor names must avoid its reserved words
    cols = {f"h{i:03d}": days.isin(pd.DatetimeIndex(d)).astype(float) for i, (_, d) in enumerate(sorted(marks.items()))}
    cols["working_day"] = np.asarray(work, dtype=float)
    return pd.DataFrame(cols, index=days)


def features(settings: dict[str, Any], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Calendar regressors for ``dates``: daily dates get the day's holiday dummies and working
    day; weekly dates (each the first day of its week) get the number of holiday days and of
    working days in the week."""
    freq = settings.get("freq", "D")
    end = dates[-1] + pd.Timedelta(days=6 if freq == "W" else 0)
    day = _day_features(calendar_key(settings), dates[0].date(), end.date(), int(settings.get("event_split_days", 0)))
    if freq == "D":
        return day.loc[dates].reset_index(drop=True)
    week = np.repeat(np.arange(len(dates)), 7)
    idx = (dates[week] + pd.to_timedelta(np.tile(np.arange(7), len(dates)), unit="D"))
    sub = day.reindex(idx).fillna(0.0)
    holi = sub.drop(columns="working_day").max(axis=1).to_numpy()
    return pd.DataFrame({"holiday_days": holi.reshape(-1, 7).sum(axis=1),
                         "working_day": sub["working_day"].to_numpy().reshape(-1, 7).sum(axis=1) / 5.0})


def calendar_marked(regressors: pd.DataFrame) -> np.ndarray:
    """Per period of ``features``' rows: whether the calendar marks it (a holiday, a festival's
    wave, a planner's event; on weekly series a week with such a day). Make-up working days
    alone do not count."""
    if "holiday_days" in regressors.columns:
        return regressors["holiday_days"].to_numpy() > 0
    return regressors.drop(columns="working_day").to_numpy().any(axis=1)


def _numpy_prepare(init: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prophet's CmdStanPy data as numpy arrays. Prophet hands cmdstanpy nested Python lists,
    which stanio then walks value by value (about 0.1 s of CPU per fit on three years of daily
    data, a third of the fit); numpy arrays take stanio's one-call path. Same numbers written."""
    arr = np.asarray
    return ({"k": init["k"], "m": init["m"], "delta": arr(init["delta"], dtype=float),
             "beta": arr(init["beta"], dtype=float), "sigma_obs": init["sigma_obs"]},
            {"T": data["T"], "S": data["S"], "K": data["K"], "tau": data["tau"],
             "trend_indicator": data["trend_indicator"], "y": arr(data["y"], dtype=float),
             "t": arr(data["t"], dtype=float), "cap": arr(data["cap"], dtype=float),
             "t_change": arr(data["t_change"], dtype=float), "s_a": arr(data["s_a"], dtype=float),
             "s_m": arr(data["s_m"], dtype=float), "X": arr(data["X"], dtype=float),
             "sigmas": arr(data["sigmas"], dtype=float)})


_ORIGINAL_PREPARE: Any = None  # Prophet's own, kept for the test that both write the same data


@functools.cache
def _prophet_class() -> Any:
    quiet()
    from prophet import Prophet  # imported here: a second of import time only where it is used
    from prophet.models import CmdStanPyBackend

    global _ORIGINAL_PREPARE
    if CmdStanPyBackend.prepare_data is not _numpy_prepare:
        _ORIGINAL_PREPARE = CmdStanPyBackend.prepare_data
    CmdStanPyBackend.prepare_data = staticmethod(_numpy_prepare)  # type: ignore[method-assign]
    return Prophet


def predict_mean(model: Any, future: pd.DataFrame) -> np.ndarray:
    """A fitted Prophet model's ``yhat`` for ``future`` (linear growth, no holidays table, no
    conditional seasonalities: how ``_prophet`` builds it): the same arithmetic as its
    ``predict`` — trend × (1 + multiplicative terms) + additive terms, the features in its
    column order (seasonalities' Fourier terms, then the regressors, standardised as fitted) —
    without the per-column frames and per-component products it builds for a hundred holiday
    regressors (a fifth of a fit's CPU)."""
    ds = pd.to_datetime(future["ds"]).reset_index(drop=True)
    t = ((ds - model.start) / model.t_scale).to_numpy(dtype=float)
    params = model.params
    trend = model.piecewise_linear(t, np.nanmean(params["delta"], axis=0), float(np.nanmean(params["k"])),
                                   float(np.nanmean(params["m"])), model.changepoints_t) * model.y_scale
    blocks = [model.fourier_series(ds, props["period"], props["fourier_order"]) for props in model.seasonalities.values()]
    blocks += [((future[name].to_numpy(dtype=float) - props["mu"]) / props["std"])[:, None]
               for name, props in model.extra_regressors.items()]
    x = np.hstack(blocks) if blocks else np.zeros((len(ds), 1))
    beta = np.nanmean(np.asarray(params["beta"], dtype=float), axis=0)
    cols = model.train_component_cols
    mult = x @ (beta * cols["multiplicative_terms"].to_numpy(dtype=float))
    add = x @ (beta * cols["additive_terms"].to_numpy(dtype=float))
    return trend * (1 + mult) + add * model.y_scale


def _prophet(ds: pd.DatetimeIndex, y: np.ndarray, future: pd.DatetimeIndex, settings: dict[str, Any],
             raw_intervals: bool, regressors: pd.DataFrame, init: dict[str, Any] | None = None
             ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Prophet's MAP fit (no sampling: intervals come from calibration) with the calendar as
    regressors; returns the forecast and the fitted parameters (the next origin starts from
    them, which shortens the optimisation)."""
    quiet()
    prophet_cls = _prophet_class()
    freq = settings.get("freq", "D")
    span_days = (ds[-1] - ds[0]).days
    mode = settings.get("seasonality_mode", "auto")
    if mode == "auto":
        # Multiplicative effects suit busy series (an event scales the level); on sparse ones they
        # amplify noise around a level near zero, and additive effects forecast better.
        per_day = float(np.mean(y[-364:])) if freq == "D" else float(np.mean(y[-52:])) / 7
        mode = "multiplicative" if per_day >= float(settings.get("multiplicative_min_daily", 5.0)) else "additive"
    model = prophet_cls(
        growth="linear",
        yearly_seasonality=span_days >= 365,
        weekly_seasonality=freq == "D",
        daily_seasonality=False,
        seasonality_mode=mode,
        changepoint_prior_scale=float(settings.get("changepoint_prior_scale", 0.05)),
        uncertainty_samples=0,  # intervals are calibrated on backtest residuals instead
    )
    # Holidays enter as 0/1 regressors with the holiday prior: the same model as Prophet's
    # `holidays=` table (windows 0), without its row-by-row feature building (0.1 s a fit).
    n = len(ds)
    train = pd.DataFrame({"ds": ds, "y": y})
    fut = pd.DataFrame({"ds": future})
    hscale = float(settings.get("holidays_prior_scale", 10.0))
    for col in regressors.columns:
        values = regressors[col].to_numpy()
        if col != "working_day" and not values[:n].any():
            continue  # a holiday never seen in training has nothing to learn from
        model.add_regressor(col, prior_scale=10.0 if col == "working_day" else hscale, standardize=False)
        train[col] = values[:n]
        fut[col] = values[n:n + len(future)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train, **({"init": init} if init else {}))
    out = {"yhat": predict_mean(model, fut)}
    if raw_intervals:  # Prophet's own intervals: for comparison in backtests, or as the fallback
        model.uncertainty_samples = 200
        samples = model.predictive_samples(fut)["yhat"]
        for level in (80, 95):
            a = (100 - level) / 200
            out[f"lo{level}"] = np.quantile(samples, a, axis=1)
            out[f"hi{level}"] = np.quantile(samples, 1 - a, axis=1)
    params = {k: (float(v[0, 0]) if v.shape[1] == 1 and k in ("k", "m", "sigma_obs") else v[0])
              for k, v in model.params.items() if k in ("k", "m", "delta", "beta", "sigma_obs")}
    return out, params


def _statsforecast(kind: str, y: np.ndarray, h: int, season: int) -> np.ndarray:
    """A statsforecast model's point forecast. No trend in ETS: a trend extrapolated over a
    twelve-week horizon is what drifting service series punish most; Theta's drift is half
    the linear trend's, which is what makes it robust."""
    from statsforecast.models import MSTL as MSTLModel
    from statsforecast.models import AutoETS, Theta

    if kind == ETS:
        model: Any = AutoETS(season_length=max(season, 1), model="ANA" if season > 1 else "ANN")
    elif kind == THETA:
        model = Theta(season_length=max(season, 1))
    elif kind == MSTL:
        # The seasons a series has two years of (STL needs two cycles): the week and the year on
        # daily series, the year on weekly ones. The trend is ETS's level alone, as in ETS.
        y = y[-STATS_HISTORY_DAYS // (7 if season == 1 else 1):]
        annual = 52 if season == 1 else 365
        seasons = [s for s in (season, annual) if s > 1 and len(y) >= 2 * s - (60 if s == 365 else 0)]
        if not seasons:
            raise ValueError("MSTL needs two years of a weekly series (its only season is the year)")
        model = MSTLModel(season_length=seasons, trend_forecaster=AutoETS(model="ANN"), stl_kwargs=dict(MSTL_STL))
    elif kind == "autoets":
        model = AutoETS(season_length=season)
    else:
        raise ValueError(f"unknown statsforecast model {kind!r}; use ets, theta, mstl or autoets")
    if kind in (ETS, THETA):
        # The last two years only: enough for a weekly pattern and a level, and a level that
        # drifted is better followed from its recent past. Also bounds the CPU of long series.
        y = y[-STATS_HISTORY_DAYS // (7 if season == 1 else 1):]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.forecast(y=y.astype(float), h=h)["mean"], dtype=float)


def seasonal_naive(y: np.ndarray, h: int, lag: int) -> np.ndarray:
    """The last ``lag`` periods repeated (lag 7: last week's same weekday). Needs ``len(y) >= lag``."""
    season = y[-lag:]
    return np.array([season[i % lag] for i in range(h)], dtype=float)


def seasonal_window_average(y: np.ndarray, h: int, lag: int, window: int = SWA_WINDOW) -> np.ndarray:
    """Each position of the season forecast by its mean over the last ``window`` seasons (lag 7,
    window 4: the mean of the last four Mondays for every Monday ahead). Needs ``len(y) >= lag``."""
    k = min(window, len(y) // lag)
    season = y[len(y) - k * lag:].reshape(k, lag).mean(axis=0)
    return np.array([season[i % lag] for i in range(h)], dtype=float)


def lag_naive(y: np.ndarray, h: int, lag: int) -> np.ndarray:
    """``y[t - lag]`` for each of the next ``h`` days (lag 364: the same weekday a year before).
    Days whose lag falls after the training end (h > lag) repeat the pattern."""
    n = len(y)
    idx = np.array([n + i - lag for i in range(h)])
    idx = np.where(idx >= n, idx - lag, idx)
    return np.where(idx >= 0, y[np.clip(idx, 0, n - 1)], np.nan).astype(float)


def naive_intervals(y: np.ndarray, yhat: np.ndarray, lag: int) -> dict[str, np.ndarray]:
    """A seasonal naive's own interval (the fallback where too few backtest residuals exist):
    normal, with the spread of the last year's lag-``lag`` differences growing with the square
    root of the seasons ahead."""
    diffs = y[lag:] - y[:-lag]
    sigma = float(np.std(diffs[-365:])) if len(diffs) >= 2 else float("nan")
    seasons = 1 + np.arange(len(yhat)) // lag
    out = {}
    for level, z in ((80, 1.2816), (95, 1.96)):
        out[f"lo{level}"] = yhat - z * sigma * np.sqrt(seasons)
        out[f"hi{level}"] = yhat + z * sigma * np.sqrt(seasons)
    return out


def mase_scale(y: np.ndarray, lag: int = 7) -> float:
    """Mean absolute lag-``lag`` difference in the training data: MASE's denominator."""
    if len(y) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(y[lag:] - y[:-lag])))
    return scale if scale > 0 else float("nan")


def recent_scale(y: np.ndarray, lag: int, periods: int) -> float:
    """Mean absolute lag-``lag`` difference over the last ``periods`` periods of ``y`` (NaN where
    there are none or all are zero: no scale to measure an interval in)."""
    d = np.abs(y[lag:] - y[:-lag])[-periods:] if len(y) > lag else np.array([])
    value = float(np.mean(d)) if len(d) else float("nan")
    return value if value > 0 else float("nan")


def candidates(settings: dict[str, Any], n_train: int) -> list[str]:
    """The models fitted at an origin with ``n_train`` periods of history."""
    season, annual = lags(settings.get("freq", "D"))
    names = [PROPHET, SNAIVE7, SWA, *(m for m in settings.get("stat_models", (ETS, MSTL)) if m in STATS_MODELS
                                      and (m != MSTL or season > 1 or n_train >= 2 * annual))]
    challenger = str(settings.get("challenger") or "none")
    if challenger in CHALLENGERS and challenger not in names:
        names.append(challenger)
    if n_train >= annual:
        names.append(NAIVE364)
    return names


def forecast_series(task: SeriesTask) -> pl.DataFrame:
    """Every model's forecast after each cut-off, in long format: ``unique_id, window, cutoff, ds,
    h, y, model, yhat, raw_lo80, raw_hi80, raw_lo95, raw_hi95, scale, recent_scale, calendar_day,
    error`` (``scale``: MASE's denominator; ``recent_scale``: the interval's unit, see
    ``recent_scale``; ``calendar_day``: the calendar marks the day, see ``calendar_marked``). Prophet is fitted
    once per cut-off (each fit starting from the previous one's parameters). ``raw_*`` is the
    model's own interval: Prophet's only with ``raw_intervals`` (or for a final window of a
    series without a backtest window, where it is the fallback), the naive methods' always.
    A model that fails on a series is reported in ``error`` (and its yhat is null) rather than
    failing the run."""
    settings = task.settings
    freq = settings.get("freq", "D")
    season, annual = lags(freq)
    step = pd.Timedelta(FREQS[freq][2])
    dates = pd.date_range(task.start, periods=len(task.y), freq=FREQS[freq][2])
    last_needed = max((pd.Timestamp(c) + step * h for _, c, h in task.windows), default=dates[-1])
    all_dates = pd.date_range(task.start, max(last_needed, dates[-1]), freq=FREQS[freq][2])
    regs = features(settings, all_dates)
    marked = calendar_marked(regs)
    min_train = 4 * season if freq == "D" else 26
    has_backtest = any(lbl != "final" for lbl, c, _ in task.windows
                       if int(round((pd.Timestamp(c) - dates[0]) / step)) + 1 >= min_train)
    frames = []
    init = None
    for label, cutoff, horizon in sorted(task.windows, key=lambda w: w[1]):
        n = int(round((pd.Timestamp(cutoff) - dates[0]) / step)) + 1
        if n < min_train or n > len(task.y):
            continue
        y_train = task.y[:n]
        future = pd.date_range(pd.Timestamp(cutoff) + step, periods=horizon, freq=FREQS[freq][2])
        actual = np.full(horizon, np.nan)
        known = task.y[n:n + horizon]
        actual[:len(known)] = known
        results: dict[str, dict[str, np.ndarray]] = {}
        errors: dict[str, str] = {}
        for name in candidates(settings, n):
            try:
                if name == PROPHET:
                    raw = task.raw_intervals or (label == "final" and not has_backtest)
                    results[name], init = _prophet(dates[:n], y_train, future, settings, raw,
                                                   regs.iloc[:n + horizon].reset_index(drop=True), init)
                elif name == SNAIVE7:
                    yhat = seasonal_naive(y_train, horizon, season)
                    results[name] = {"yhat": yhat, **naive_intervals(y_train, yhat, season)}
                elif name == SWA:
                    results[name] = {"yhat": seasonal_window_average(y_train, horizon, season)}
                elif name == NAIVE364:
                    yhat = lag_naive(y_train, horizon, annual)
                    results[name] = {"yhat": yhat, **naive_intervals(y_train, yhat, annual)}
                else:
                    results[name] = {"yhat": _statsforecast(name, y_train, horizon, season)}
            except Exception as exc:  # a single bad series must not sink thousands
                errors[name] = f"{type(exc).__name__}: {exc}"[:300]
                results[name] = {"yhat": np.full(horizon, np.nan)}
        scale = mase_scale(y_train, season)
        recent = recent_scale(y_train, season, RECENT_SCALE_DAYS if freq == "D" else RECENT_SCALE_DAYS // 7)
        for name, res in results.items():
            yhat = np.clip(res["yhat"], 0, None)
            frames.append(pl.DataFrame({
                "unique_id": task.unique_id, "window": label, "cutoff": cutoff,
                "ds": future.values.astype("datetime64[D]"), "h": np.arange(1, horizon + 1, dtype=np.int32),
                "y": actual, "model": name, "yhat": yhat,
                **{f"raw_{k}": np.clip(res[k], 0, None) if k in res else np.full(horizon, np.nan)
                   for k in ("lo80", "hi80", "lo95", "hi95")},
                "scale": scale, "recent_scale": recent, "calendar_day": marked[n:n + horizon], "error": errors.get(name),
            }, schema_overrides={"error": pl.String}))
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames).with_columns(pl.col("y", "yhat", "raw_lo80", "raw_hi80", "raw_lo95", "raw_hi95")
                                          .fill_nan(None))


def tasks_from_long(long: pl.DataFrame, windows: list[tuple[str, dt.date, int]], settings: dict[str, Any],
                    raw_intervals: bool = False) -> list[SeriesTask]:
    """One task per series of a gap-free long frame (daily or weekly), each with the same windows."""
    tasks = []
    for (uid,), part in long.sort("unique_id", "ds").group_by("unique_id", maintain_order=True):
        tasks.append(SeriesTask(str(uid), part["ds"][0], part["y"].to_numpy().astype(float), list(windows),
                                dict(settings), raw_intervals))
    return tasks
