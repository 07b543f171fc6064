"""The parts backtest, nested: MASE, RMSSE and bias of every method on identical cut-offs, the
point forecast chosen on the inner origins and scored on the outer ones against naive, seasonal
naive, SES and the zero forecast; and an inventory simulation of the reorder policy against the
baseline policy (SES forecast with a normal reorder point): the candidate policies run over the
``sim_weeks`` before the last ``sim_weeks``, one is chosen per class, and the last ``sim_weeks``
score it. Every policy is recomputed every ``sim_refit_weeks`` from the data before that period
only. Weeks in the settings are converted to periods of the frequency (``parts.periods``)."""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from forecasts import inventory, parts, parts_select, store
from forecasts.executor import map_series
from forecasts.run_parts import _fan_out
from forecasts.settings import section

SELECTED = "selected"


DISTRIBUTIONS = ("block", "nb", "block_recent", "nb_recent")
POLICIES = tuple((d, m) for m in (0, 1, 2, 3, 4, 5, 6) for d in DISTRIBUTIONS)  # (distribution, margin) candidates


def candidate_policies(ps: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    """The (distribution, margin) candidates: ``policy_margins`` (default 0..6) ×
    ``policy_distributions`` (default block, nb and both weighted by demand recency; ``nb_long``,
    nb at the long history's own level, may be added)."""
    margins = ps.get("policy_margins") or (0, 1, 2, 3, 4, 5, 6)
    dists = ps.get("policy_distributions") or DISTRIBUTIONS
    return tuple((str(d), int(m)) for m in margins for d in dists)


def planned_fill(target: float, margin: int) -> float:
    """The fill rate a policy is computed for: the target, or closer to 1 by halving the gap."""
    return 1.0 - (1.0 - target) / 2 ** int(margin)


@dataclass
class SimItem:
    part_no: str
    series_class: str
    y: np.ndarray
    method: str
    lead_days: int
    settings: dict[str, Any]
    freq: str = "W"
    windows: tuple[str, ...] = ("inner", "outer")
    policies: tuple[tuple[str, int], ...] = POLICIES
    oracle: bool = False


def _ses(train: np.ndarray, season: int = 52) -> tuple[float, float]:
    """SES level and the RMSE of its one-step in-sample errors over the last season."""
    from statsforecast.models import SimpleExponentialSmoothingOptimized

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SimpleExponentialSmoothingOptimized().forecast(y=train.astype(float), h=1, fitted=True)
    err = (train - res["fitted"])[-season:]
    err = err[np.isfinite(err)]
    sigma = float(np.sqrt(np.mean(err ** 2))) if len(err) else float(np.std(train))
    return max(float(res["mean"][0]), 0.0), sigma


def sim_geometry(n: int, ps: dict[str, Any], freq: str) -> dict[str, int]:
    """Periods of the simulation windows: the outer window is the last ``sim_weeks``, the inner
    one the same length before it (shortened so that ``min_history_weeks`` come first)."""
    length = parts.periods(ps["sim_weeks"], freq)
    min_hist = parts.periods(ps["min_history_weeks"], freq, minimum=4)
    outer = max(n - length, min_hist)
    inner = max(outer - length, min_hist)
    return {"outer_start": outer, "inner_start": inner, "refit": parts.periods(ps["sim_refit_weeks"], freq),
            "history": parts.periods(ps["policy_history_weeks"], freq, minimum=8),
            "nb_history": parts.periods(ps["nb_history_weeks"], freq, minimum=8)}


def plan_part(item: SimItem) -> dict[str, Any]:
    """What the policies of one part need at each refit of each window (the data before that
    period only): the baseline's levels and, per distribution, the part's policy curve
    (:func:`inventory.part_curve`). Keys ``(window, periods before the end)``."""
    ps, y, freq = item.settings, item.y, item.freq
    g = sim_geometry(len(y), ps, freq)
    pdays, season = parts.PERIOD_DAYS[freq], parts.SEASON[freq]
    cover = float(ps["order_cover_weeks"]) * 7 / pdays
    target, refit = float(ps["target_fill_rate"]), g["refit"]
    bounds = {"inner": (g["inner_start"], g["outer_start"]), "outer": (g["outer_start"], len(y))}
    dists = sorted({d for d, _ in item.policies})
    plans: dict[tuple[str, int], dict[str, Any]] = {}
    windows = {}
    for window in item.windows:
        start, stop = bounds[window]
        if stop - start < max(refit, 2):
            continue
        windows[window] = (start, stop)
        for t0 in range(start, stop, refit):
            train = y[:t0]
            any_demand = bool(np.any(train > 0))
            rate = float(parts.point_forecast(item.method, train, 1, season)[0]) if any_demand else 0.0
            plan: dict[str, Any] = {}
            for d in sorted(dists, key=lambda d: d.endswith(inventory.RECENT)):  # a base before its _recent
                base = d.removesuffix(inventory.RECENT)
                recent = train[-(g["nb_history"] if base in inventory.LONG_HISTORY else g["history"]):]
                if base != d and base in plan:  # the base curve reweighted: no second computation
                    plan[d] = inventory.with_recency(plan[base], inventory.recent_share(recent))
                    continue
                var = float(recent.var(ddof=1)) if len(recent) > 1 else 0.0
                plan[d] = inventory.part_curve(rate, var, item.lead_days, cover, d, recent, pdays)
            ses_rate, sigma = _ses(train, season) if any_demand else (0.0, 0.0)
            plan["baseline"] = inventory.normal_policy(ses_rate, sigma, item.lead_days, target, cover, pdays)
            if item.oracle and window == "outer":  # the baseline planned higher: its stock at equal fill
                for level in BASELINE_LEVELS:
                    plan[f"baseline:{level}"] = inventory.normal_policy(ses_rate, sigma, item.lead_days, level,
                                                                        cover, pdays)
            plans[(window, t0 - len(y))] = plan
    if item.oracle and "outer" in windows:
        # Knows the demand distribution of the whole series, the scored window included (not the
        # realisation): i.i.d. periods from the series' own empirical distribution.
        plans[("outer", "oracle")] = {"bootstrap": inventory.part_curve(
            float(np.mean(y)), float(np.var(y)), item.lead_days, cover, "bootstrap", y, pdays)}
    return {"part_no": item.part_no, "series_class": item.series_class, "plans": plans, "windows": windows,
            "refit": refit, "cover": cover}


def plan_batch(items: list[SimItem]) -> list[dict[str, Any]]:
    return [plan_part(it) for it in items]


def allocate_plans(planned: list[dict[str, Any]], policies: tuple[tuple[str, int], ...], target: float,
                   pool: str = "class") -> dict[tuple[str, str, int], inventory.Levels]:
    """Reorder points of every candidate policy at every refit: per (window, refit, class) the
    parts' curves are allocated jointly (:func:`inventory.allocate`) to the class's planned fill
    rate: ``{(part_no, policy name, refit key): Levels}``."""
    groups: dict[tuple, list[tuple[str, inventory.Curve]]] = {}
    for p in planned:
        for key, plan in p["plans"].items():
            if key == ("outer", "oracle"):
                continue
            for dist in {d for d, _ in policies}:
                group = p["series_class"] if pool == "class" else "all"
                groups.setdefault((key, group, dist), []).append((p["part_no"], plan[dist]))
    out: dict = {}
    oracle: dict[str, list[tuple[str, inventory.Curve]]] = {}
    for p in planned:
        if ("outer", "oracle") in p["plans"]:
            group = p["series_class"] if pool == "class" else "all"
            oracle.setdefault(group, []).append((p["part_no"], p["plans"][("outer", "oracle")]["bootstrap"]))
    for members in oracle.values():
        for level in ORACLE_LEVELS:
            for (part, _), lv in zip(members, inventory.allocate([c for _, c in members], level), strict=True):
                out[(part, f"oracle_dist:{level}", ("outer", "oracle"))] = lv
    for (key, _cls, dist), members in groups.items():
        curves = [c for _, c in members]
        margins = [m for d, m in policies if d == dist]
        for margin, levels in zip(margins, inventory.allocate_many(curves, [planned_fill(target, m) for m in margins]),
                                  strict=True):
            for (part, _), lv in zip(members, levels, strict=True):
                out[(part, f"count:{dist}:{margin}", key)] = lv
    return out


def simulate_planned(p: dict[str, Any], y: np.ndarray, levels: dict, policies: tuple[tuple[str, int], ...],
                     lead_days: int, pdays: float, oracle: bool) -> list[dict[str, Any]]:
    """Rows ``part_no, series_class, window, policy, weeks, demand, filled, fill_rate, mean_stock,
    orders, stockout_weeks`` of every candidate and the baseline (and the oracle curve)."""
    rows = []
    for window, (start, stop) in p["windows"].items():
        demand = y[start:stop]
        keys = [(window, t0 - len(y)) for t0 in range(start, stop, p["refit"])]
        names = [f"count:{d}:{m}" for d, m in policies]
        for name in [*names, "baseline"]:
            pols = [p["plans"][k]["baseline"] if name == "baseline" else levels[(p["part_no"], name, k)] for k in keys]
            r = inventory.simulate(demand, pols, p["refit"], lead_days, pdays)
            rows.append({"part_no": p["part_no"], "series_class": p["series_class"], "window": window,
                         "policy": name, "weeks": len(demand), **r})
        for level in BASELINE_LEVELS if window == "outer" and oracle else ():
            pols = [p["plans"][k][f"baseline:{level}"] for k in keys]
            r = inventory.simulate(demand, pols, p["refit"], lead_days, pdays)
            rows.append({"part_no": p["part_no"], "series_class": p["series_class"], "window": window,
                         "policy": f"baseline_at:{level}", "weeks": len(demand), **r})
        for level in ORACLE_LEVELS if window == "outer" and oracle else ():
            lv = levels.get((p["part_no"], f"oracle_dist:{level}", ("outer", "oracle")))
            if lv is not None:
                r = inventory.simulate(demand, [lv], len(demand), lead_days, pdays)
                rows.append({"part_no": p["part_no"], "series_class": p["series_class"], "window": window,
                             "policy": f"oracle_dist:{level}", "weeks": len(demand), **r})
        if window == "outer" and oracle:
            rows.append({"part_no": p["part_no"], "series_class": p["series_class"], "window": window,
                         "policy": "oracle", "weeks": len(demand), "demand": float(np.sum(demand)),
                         "curve": oracle_curve(demand, lead_days, pdays, p["cover"])})
    return rows


def choose_policies(sim: pl.DataFrame, target: float, tolerance: float = 0.0, band: float = 0.02,
                    confidence: float = 0.9, reps: int = 200, slack: float = 0.0) -> pl.DataFrame:
    """One candidate policy per class, chosen on the inner window: the combination (one per class)
    holding the least stock whose pooled fill rate over all parts is at least ``target -
    tolerance`` (the target is a network figure: a cheap point on smooth parts may stand in for
    a dear one on lumpy parts) and, with ``confidence`` above 0, whose pooled fill stays at or
    above ``target - band`` in that share of ``reps`` bootstraps of the parts (each class's parts
    resampled). The inner fill of a few lumpy parts is a noisy estimate, and the least-stock
    combination that just reaches the target is the one whose estimate most likely flatters it
    (the winner's curse): the bootstrap asks for a margin where the evidence is thin and none
    where it is not. When no combination is that sure, the least stock reaching the target;
    when none reaches it, the least stock within ``slack`` of the highest pooled fill (0: the
    highest; the last tenths of a point cost most, since on lumpy data the highest fill puts
    every class at its top margin, a class already near 100% included, but fill comes first).
    Columns ``series_class, policy, reason``."""
    import itertools

    inner = sim.filter((pl.col("window") == "inner") & pl.col("policy").str.starts_with("count:"))
    agg = (inner.group_by("series_class", "policy")
           .agg(pl.col("filled").sum(), pl.col("demand").sum(), pl.col("mean_stock").sum()).sort("series_class", "policy"))
    classes = sorted(set(sim["series_class"].to_list()))
    default = f"count:{POLICIES[0][0]}:{POLICIES[0][1]}"
    options = {c: [r for r in agg.filter(pl.col("series_class") == c).iter_rows(named=True)] for c in classes}
    with_data = [c for c in classes if options[c]]
    best, best_key = None, None
    # A class's demand is the same under every policy, so an option with more stock and no more
    # filled than another can be left out of the search: the product stays small.
    frontier = {c: _undominated(options[c]) for c in with_data}
    boot = _bootstrap_filled(inner, frontier, reps) if confidence > 0 else {}
    combos = list(itertools.product(*(frontier[c] for c in with_data)))

    def pooled(combo: tuple) -> tuple[float, float]:
        filled, demand, stock = (sum(r[k] for r in combo) for k in ("filled", "demand", "mean_stock"))
        return (filled / demand if demand else 1.0), stock

    top = max((pooled(c)[0] for c in combos), default=1.0)
    for combo in combos:
        fill, stock = pooled(combo)
        if fill < target - tolerance:
            key: tuple = (2, stock) if fill >= top - slack else (3, -fill)
        elif boot:
            f = sum(boot[c][0][r["policy"]] for c, r in zip(with_data, combo, strict=True))
            d = sum(boot[c][1] for c in with_data)
            sure = float(np.mean(f >= (target - band) * d)) >= confidence
            key = (0, stock) if sure else (1, stock)
        else:
            key = (0, stock)
        if best_key is None or key < best_key:
            best, best_key = combo, key
    chosen = {r["series_class"]: r for r in (best or ())}
    how = {0: "least stock with the pooled fill rate at the target" + (
        f" and at least {target - band:.2f} in {confidence:.0%} of bootstraps of the parts" if boot else ""),
           1: f"least stock with the pooled fill rate at the target (none at least {target - band:.2f} in "
              f"{confidence:.0%} of bootstraps)",
           2: "no combination reached the target: the highest pooled fill" + (
               f" less {slack:.3f} at the least stock (highest {top:.3f})" if slack > 0 else ""),
           3: "no combination reached the target: the highest pooled fill"}[best_key[0] if best_key else 3]
    out = []
    for c in classes:
        if c not in chosen:
            out.append({"series_class": c, "policy": default, "reason": "no inner window: the default"})
            continue
        tried = ", ".join(f"{r['policy']} {r['filled'] / r['demand']:.3f}" for r in options[c] if r["demand"])
        out.append({"series_class": c, "policy": chosen[c]["policy"],
                    "reason": f"{how} on the inner window (class fill rates: {tried})"})
    return pl.DataFrame(out, schema={"series_class": pl.String, "policy": pl.String, "reason": pl.String})


def _bootstrap_filled(inner: pl.DataFrame, frontier: dict[str, list[dict[str, Any]]],
                      reps: int) -> dict[str, tuple[dict[str, np.ndarray], np.ndarray]]:
    """Per class: the filled units of each frontier policy and the demand, summed over ``reps``
    resamples (with replacement, seeded) of the class's parts: ``{class: ({policy: filled}, demand)}``."""
    rng = np.random.default_rng(0)
    out = {}
    for c, rows in frontier.items():
        names = [r["policy"] for r in rows]
        wide = (inner.filter((pl.col("series_class") == c) & pl.col("policy").is_in(names))
                .pivot(on="policy", index="part_no", values="filled", aggregate_function="sum").fill_null(0.0))
        demand = (inner.filter((pl.col("series_class") == c) & (pl.col("policy") == names[0]))
                  .group_by("part_no").agg(pl.col("demand").sum()))
        # Sorted: the resampled counts are drawn by row, and pivot and join leave rows in no set order
        # (unsorted, the same data could choose another policy on another run).
        wide = wide.join(demand, on="part_no", how="left").with_columns(pl.col("demand").fill_null(0.0)).sort("part_no")
        n = wide.height
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=reps).astype(float)  # reps × parts
        out[c] = ({m: counts @ wide[m].to_numpy() for m in names}, counts @ wide["demand"].to_numpy())
    return out


def _undominated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows no other row beats on both counts (no more stock and more filled, or less stock
    and no less filled); of equal rows the first by policy name."""
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: (r["mean_stock"], -r["filled"], r["policy"])):
        if not out or r["filled"] > out[-1]["filled"]:
            out.append(r)
    return out


ORACLE_LEVELS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.975)
BASELINE_LEVELS = (0.99, 0.999, 0.9999, 0.99999)


def stock_at(fill: np.ndarray, stock: np.ndarray, target: float) -> float | None:
    """Stock at ``target`` fill, linearly interpolated on a (fill, stock) curve sorted by fill;
    None when the curve does not reach the target."""
    if not len(fill) or fill[-1] < target:
        return None
    return float(np.interp(target, fill, stock))


def oracle_curve(demand: np.ndarray, lead_days: int, period_days: float, cover: float,
                 max_points: int = 60) -> list[tuple[float, float]]:
    """``(mean_stock, filled)`` of constant ``(s, s + Q)`` policies on a known demand sequence, for
    ``s`` from 0 up to the first level that fills everything (``Q`` from the sequence's own
    mean): what a planner who knew the future could get from this kind of policy."""
    rate = float(np.mean(demand))
    if rate <= 0:
        return [(0.0, 0.0)]
    q = inventory.order_quantity(rate, cover)
    top = int(np.ceil(np.sum(demand)))  # s = total demand fills everything
    levels = np.unique(np.linspace(0, top, min(max_points, top + 1)).round().astype(int))
    out = []
    for lv in levels:
        r = inventory.simulate(demand, [inventory.Levels(int(lv), int(lv) + q)], len(demand), lead_days, period_days)
        out.append((r["mean_stock"], r["filled"]))
        if r["filled"] >= r["demand"] - 1e-9:
            break
    return out


def oracle_stock(curves: list[list[tuple[float, float]]], total_demand: float, target: float) -> float:
    """The least total mean stock at which the parts' pooled fill rate reaches ``target``, choosing
    each part's level on the upper convex hull of its curve (the fractional optimum: a lower
    bound for any constant ``(s, S)`` policy of this ``Q``, even one that knew the demand)."""
    segments, stock, filled = [], 0.0, 0.0
    for curve in curves:
        pts = sorted(set(curve))
        hull: list[tuple[float, float]] = []
        for p in pts:  # upper hull, monotone chain
            while len(hull) >= 2 and (hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1]) \
                    - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0]) >= 0:
                hull.pop()
            hull.append(p)
        stock += hull[0][0]
        filled += hull[0][1]
        for a, b in zip(hull, hull[1:], strict=False):
            if b[1] > a[1]:
                segments.append(((b[1] - a[1]) / max(b[0] - a[0], 1e-12), b[0] - a[0], b[1] - a[1]))
    need = target * total_demand - filled
    for _slope, ds, df in sorted(segments, key=lambda t: -t[0]):
        if need <= 0:
            break
        take = min(1.0, need / df)
        stock += take * ds
        need -= take * df
    return stock if need <= 1e-9 else float("nan")


def chosen_sim(sim: pl.DataFrame, policies: pl.DataFrame) -> pl.DataFrame:
    """The outer-window rows of each class's chosen policy (as ``count``) and of the baseline."""
    sim = sim.filter(~pl.col("policy").str.starts_with("oracle_dist") & ~pl.col("policy").str.starts_with("baseline_at"))
    outer = sim.filter(pl.col("window") == "outer")
    count = outer.join(policies.select("series_class", pl.col("policy").alias("_p")), on="series_class") \
        .filter(pl.col("policy") == pl.col("_p")).drop("_p").with_columns(pl.lit("count").alias("policy"))
    return pl.concat([count, outer.filter(pl.col("policy") == "baseline")])


def _forecast_scores(bt: pl.DataFrame, chosen: pl.DataFrame) -> pl.DataFrame:
    """Summary rows ``scope, model, metric, value`` for all parts and per class."""
    per = parts.rmsse_table(bt).join(chosen.select("unique_id", "series_class", pl.col("model").alias("_m")),
                                     on="unique_id")
    sel = per.filter(pl.col("model") == pl.col("_m")).with_columns(pl.lit(SELECTED).alias("model"))
    per = pl.concat([per, sel])
    out = []
    for scope, g in [("all", per), *((f"class:{c}", g) for (c,), g in per.group_by("series_class"))]:
        base = {m: g.filter(pl.col("model") == m) for m in parts.BASELINES}
        for (model,), gm in g.group_by("model"):
            finite = gm.filter(pl.col("rmsse").is_finite())
            vals = {"rmsse": finite["rmsse"].mean(),
                    "bias": (gm["forecast"].sum() - gm["actual"].sum()) / gm["actual"].sum() if gm["actual"].sum() else None,
                    "series": float(gm["unique_id"].n_unique())}
            for b, gb in base.items():
                fb = gb.filter(pl.col("rmsse").is_finite())
                vals[f"rmsse_rel_{b}"] = (vals["rmsse"] / fb["rmsse"].mean()) if len(fb) and fb["rmsse"].mean() else None
            out += [{"scope": scope, "model": model, "metric": k, "value": None if v is None else float(v)}
                    for k, v in vals.items()]
    return pl.DataFrame(out, schema={"scope": pl.String, "model": pl.String, "metric": pl.String, "value": pl.Float64})


def _sim_scores(sim: pl.DataFrame) -> pl.DataFrame:
    out = []
    for scope, g in [("inventory", sim), *((f"inventory:{c}", g) for (c,), g in sim.group_by("series_class"))]:
        for (policy,), gp in g.group_by("policy"):
            vals = {"fill_rate": gp["filled"].sum() / gp["demand"].sum() if gp["demand"].sum() else None,
                    "mean_part_fill_rate": gp["fill_rate"].drop_nans().mean(),
                    "mean_stock_units": gp["mean_stock"].sum(), "orders": gp["orders"].sum(),
                    "parts": float(gp.height)}
            out += [{"scope": scope, "model": policy, "metric": k, "value": None if v is None else float(v)}
                    for k, v in vals.items()]
    return pl.DataFrame(out, schema={"scope": pl.String, "model": pl.String, "metric": pl.String, "value": pl.Float64})


SIM_SCHEMA = {"part_no": pl.String, "series_class": pl.String, "window": pl.String, "policy": pl.String,
              "weeks": pl.Int32, "demand": pl.Float64, "filled": pl.Float64, "fill_rate": pl.Float64,
              "mean_stock": pl.Float64, "orders": pl.Float64, "stockout_weeks": pl.Float64}


def run_simulation(long: pl.DataFrame, rate_chosen: pl.DataFrame, ps: dict[str, Any], workers: int,
                   master: pl.DataFrame | None, freq: str, oracle: bool = False) -> tuple[pl.DataFrame, list[dict]]:
    """Every candidate policy and the baseline on every part with demand, inner and outer windows;
    with ``oracle``, also each part's hindsight curve on the outer window (:func:`oracle_curve`)."""
    leads = {} if master is None else dict(master.select("part_no", "lead_time_days").drop_nulls().iter_rows())
    default = int(ps["default_lead_time_days"])
    ys = {uid: g["y"].to_numpy() for (uid,), g in long.sort("ds").group_by("unique_id")}
    policies = candidate_policies(ps)
    items = [SimItem(r["unique_id"], r["series_class"], ys[r["unique_id"]], r["model"],
                     int(leads.get(r["unique_id"], default)), ps, freq, policies=policies, oracle=oracle)
             for r in rate_chosen.filter(pl.col("series_class") != parts.NO_DEMAND).iter_rows(named=True)]
    sim_workers = workers if len(items) >= int(ps["parallel_min_series"]) else 1
    size = max(1, min(100, math.ceil(len(items) / (sim_workers * 4))))
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    planned = [p for b in map_series(plan_batch, batches, workers=sim_workers, chunk_size=1, desc="policy curves")
               for p in b]
    levels = allocate_plans(planned, policies, float(ps["target_fill_rate"]), str(ps.get("allocate_within", "class")))
    by_part = {it.part_no: it for it in items}
    rows = [row for p in planned for row in simulate_planned(
        p, by_part[p["part_no"]].y, levels, policies, by_part[p["part_no"]].lead_days, parts.PERIOD_DAYS[freq], oracle)]
    curves = [r for r in rows if r["policy"] == "oracle"]
    return pl.DataFrame([r for r in rows if r["policy"] != "oracle"], schema=SIM_SCHEMA), curves


def nested_rate_chosen(fanned: dict[str, pl.DataFrame], inner_cuts: list) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The mean-demand method per class chosen on the inner origins only (the rate the simulated
    policies plan with), and per part ``_fan_out``'s ``info`` with that ``model``."""
    methods = parts.choose_methods(parts_select.rate_backtest(fanned["backtest"], inner_cuts), fanned["info"])
    return methods, fanned["info"].join(methods, on="series_class", how="left")


def choice_sample(rate_chosen: pl.DataFrame, n: int) -> pl.DataFrame:
    """At most ``n`` parts with demand (all of them when fewer), each class in its share, picked
    by a hash of the part number: the same parts on every run of the same data."""
    with_demand = rate_chosen.filter(pl.col("series_class") != parts.NO_DEMAND)
    if n <= 0 or with_demand.height <= n:
        return rate_chosen
    key = [int(hashlib.md5(str(u).encode()).hexdigest()[:12], 16) for u in with_demand["unique_id"]]
    ranked = with_demand.with_columns(pl.Series("_k", key)).sort("_k").with_columns(
        pl.int_range(pl.len()).over("series_class").alias("_r"), pl.len().over("series_class").alias("_n"))
    return ranked.filter(pl.col("_r") < (pl.col("_n") * n / with_demand.height).ceil()).drop("_k", "_r", "_n")


def policy_choice(long: pl.DataFrame, rate_chosen: pl.DataFrame, ps: dict[str, Any], workers: int,
                  master: pl.DataFrame | None, freq: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The policy per class as ``backtest parts`` and ``forecast parts`` both choose it: every
    candidate simulated on the inner window of ``policy_choice_parts`` parts (:func:`choice_sample`;
    the simulation costs about 0.05–0.1 s of CPU a part), one chosen per class (:func:`choose_policies`,
    sure to ``policy_choice_confidence`` over bootstraps of those parts).
    ``(every simulated row of those parts, inner and outer windows; series_class/policy/reason)``."""
    sample = choice_sample(rate_chosen, int(ps.get("policy_choice_parts") or 0))
    sim, _ = run_simulation(long, sample, ps, workers, master, freq)
    return sim, choose_policies(sim, float(ps["target_fill_rate"]),
                                confidence=float(ps.get("policy_choice_confidence", 0.9)),
                                slack=float(ps.get("policy_shortfall_slack", 0.0)))


def outer_fill_by_class(sim: pl.DataFrame) -> dict[str, dict[str, float | None]]:
    """Per class (and ``"all"``), the outer-window fill rate of the chosen policy and of the
    baseline, from :func:`policy_choice`'s last table."""
    out: dict[str, dict[str, float | None]] = {}
    for cls, g in [("all", sim), *((c, sim.filter(pl.col("series_class") == c))
                                   for c in sorted(set(sim["series_class"].to_list())))]:
        out[cls] = {}
        for name, pol in (("fill_rate", "count"), ("baseline_fill_rate", "baseline")):
            gp = g.filter(pl.col("policy") == pol)
            demand = float(gp["demand"].sum()) if gp.height else 0.0
            out[cls][name] = float(gp["filled"].sum()) / demand if demand > 0 else None
    return out


def backtest(long: pl.DataFrame, config: dict[str, Any], workers: int, source: str,
             master: pl.DataFrame | None = None, simulate: bool = True, freq: str | None = None,
             oracle: bool = False) -> store.Run:
    """Nested backtest of the point forecasts and of the reorder policy; a ``backtest_parts`` run.

    Point forecasts: chosen on the inner origins, scored on the outer ones
    (:mod:`forecasts.parts_select`). Policy: every candidate (distribution × margin) simulated on
    the inner window, one chosen per class, and that choice scored on the outer window against the
    SES + normal baseline. Everything reported is an outer score. ``oracle`` adds the least stock
    at which any constant ``(s, S)`` policy reaches the target fill rate knowing the outer demand
    (``oracle_mean_stock_units``, overall and for lumpy parts): where it is above the baseline's
    stock, no policy of this kind can meet both targets on that data."""
    started = time.perf_counter()
    ps = section(config, "parts")
    freq = parts.check_freq(freq or str(ps.get("freq", "W")))
    out = _fan_out(long, ps, workers, freq)
    sel = parts_select.choose(out["backtest"], out["info"], int(ps["outer_origins"]), int(ps["combo_size"]),
                              float(ps["keep_zero_within"]), float(ps["zero_sign_level"]))
    inner_cuts, outer_cuts = sel["cutoffs"]
    bt = sel["backtest"]
    chosen = out["info"].join(sel["methods"], on="series_class", how="left")
    rate_methods, rate_chosen = nested_rate_chosen(out, inner_cuts)
    outer_bt = bt.filter(pl.col("cutoff").is_in(outer_cuts))
    scores = pl.concat([_forecast_scores(outer_bt, chosen), parts_select.outer_scores(bt, chosen, outer_cuts)])
    tables: dict[str, pl.DataFrame] = {}
    summary_extra: dict[str, Any] = {}
    if simulate:
        sample_sim, policies = policy_choice(long, rate_chosen, ps, workers, master, freq)
        if oracle or sample_sim["part_no"].n_unique() < rate_chosen.filter(
                pl.col("series_class") != parts.NO_DEMAND).height:  # scored on every part
            sim_all, curves = run_simulation(long, rate_chosen, ps, workers, master, freq, oracle)
        else:
            sim_all, curves = sample_sim, []
        sim = chosen_sim(sim_all, policies)
        target = float(ps["target_fill_rate"])
        for scope, cls in (("", None), ("lumpy_", "lumpy")):
            cs = [c for c in curves if cls is None or c["series_class"] == cls]
            if cs:
                summary_extra[f"{scope}oracle_mean_stock_units"] = oracle_stock(
                    [c["curve"] for c in cs], sum(c["demand"] for c in cs), target)
        od = sim_all.filter(pl.col("policy").str.starts_with("oracle_dist:"))
        bl = sim_all.filter((pl.col("window") == "outer") & ((pl.col("policy") == "baseline")
                                                             | pl.col("policy").str.starts_with("baseline_at:")))
        for scope, g in (("", bl), ("lumpy_", bl.filter(pl.col("series_class") == "lumpy"))):
            if g.height and g["demand"].sum() > 0:
                curve = (g.group_by("policy").agg((pl.col("filled").sum() / pl.col("demand").sum()).alias("fill"),
                                                  pl.col("mean_stock").sum()).sort("fill"))
                summary_extra[f"{scope}baseline_curve"] = [list(r) for r in curve.select("fill", "mean_stock").iter_rows()]
                summary_extra[f"{scope}baseline_stock_at_target"] = stock_at(curve["fill"].to_numpy(),
                                                                           curve["mean_stock"].to_numpy(), target)
        for scope, g in (("", od), ("lumpy_", od.filter(pl.col("series_class") == "lumpy"))):
            if g.height and g["demand"].sum() > 0:
                curve = (g.group_by("policy").agg((pl.col("filled").sum() / pl.col("demand").sum()).alias("fill"),
                                                  pl.col("mean_stock").sum()).sort("fill"))
                summary_extra[f"{scope}dist_oracle_curve"] = [list(r) for r in curve.select("fill", "mean_stock").iter_rows()]
                summary_extra[f"{scope}dist_oracle_mean_stock_units"] = stock_at(curve["fill"].to_numpy(),
                                                                                curve["mean_stock"].to_numpy(), target)
        tables["inventory_sim"] = sim.drop("window").with_columns(pl.col("orders", "stockout_weeks").cast(pl.Int32))
        scores = pl.concat([scores, _sim_scores(sim)])
        summary_extra["policies"] = {r["series_class"]: r["policy"] for r in policies.iter_rows(named=True)}
        summary_extra["policy_by_class"] = {r["series_class"]: r["policy"].removeprefix("count:")
                                            for r in policies.iter_rows(named=True)}
        summary_extra["policy_reasons"] = {r["series_class"]: r["reason"] for r in policies.iter_rows(named=True)}
    per_series = parts_select.mase_series(bt, outer_cuts) \
        .select(pl.lit("outer").alias("scope"), "unique_id", "model", pl.lit("mase").alias("metric"),
                pl.col("mase").alias("value"))
    tables["backtest_scores"] = pl.concat([scores.with_columns(pl.lit("*").alias("unique_id")).select(per_series.columns),
                                           per_series])
    tables["backtest_forecasts"] = bt.select(
        pl.when(pl.col("cutoff").is_in(outer_cuts)).then(pl.lit("outer")).otherwise(pl.lit("inner")).alias("window_label"),
        "unique_id", "cutoff", "ds", "model", "y", "yhat")
    summary = headline(tables["backtest_scores"], float(ps["target_fill_rate"]))
    summary["methods"] = {r["series_class"]: r["model"] for r in sel["methods"].iter_rows(named=True)}
    summary["combo_members"] = sel["members"]
    summary["rate_methods"] = {r["series_class"]: r["model"] for r in rate_methods.iter_rows(named=True)}
    # The bias of the mean the policy plans with (chosen on the inner windows, scored on the outer
    # ones): the point forecast's bias is -1 wherever zero is chosen, which says nothing of the policy.
    rate_bias = _forecast_scores(outer_bt, rate_chosen).filter(
        (pl.col("scope") == "all") & (pl.col("model") == SELECTED) & (pl.col("metric") == "bias"))["value"]
    summary["rate_bias"] = float(rate_bias[0]) if len(rate_bias) and rate_bias[0] is not None else None
    summary["freq"] = freq
    summary["inner_cutoffs"] = [str(c) for c in inner_cuts]
    summary["outer_cutoffs"] = [str(c) for c in outer_cuts]
    summary.update(summary_extra)
    return store.Run(kind="backtest_parts", source=source, model="|".join((*parts.ALL_MODELS, parts_select.COMBO)),
                     data_cutoff=long["ds"].max(), params={"parts": ps, "freq": freq}, n_series=out["info"].height,
                     workers=workers, seconds=time.perf_counter() - started, summary=summary, tables=tables)


def headline(scores: pl.DataFrame, target: float) -> dict[str, Any]:
    s = scores.filter(pl.col("unique_id") == "*")

    def get(scope: str, model: str, metric: str) -> float | None:
        v = s.filter((pl.col("scope") == scope) & (pl.col("model") == model) & (pl.col("metric") == metric))["value"]
        return float(v[0]) if len(v) and v[0] is not None else None

    return {"target_fill_rate": target,
            "fill_rate": get("inventory", "count", "fill_rate"),
            "baseline_fill_rate": get("inventory", "baseline", "fill_rate"),
            "mean_stock_units": get("inventory", "count", "mean_stock_units"),
            "baseline_mean_stock_units": get("inventory", "baseline", "mean_stock_units"),
            "bias": get("all", SELECTED, "bias"),
            "rmsse": get("all", SELECTED, "rmsse"),
            "rmsse_rel_naive": get("all", SELECTED, "rmsse_rel_naive"),
            "rmsse_rel_ses": get("all", SELECTED, "rmsse_rel_ses"),
            "rmsse_rel_zero": get("all", SELECTED, "rmsse_rel_zero"),
            "mase": get("all", SELECTED, "mase"),
            "mase_rel_zero": get("all", SELECTED, "mase_rel_zero"),
            "mase_rel_snaive": get("all", SELECTED, "mase_rel_snaive"),
            "mase_rel_ses": get("all", SELECTED, "mase_rel_ses"),
            "lumpy_fill_rate": get("inventory:lumpy", "count", "fill_rate"),
            "lumpy_baseline_fill_rate": get("inventory:lumpy", "baseline", "fill_rate"),
            "lumpy_mean_stock_units": get("inventory:lumpy", "count", "mean_stock_units"),
            "lumpy_baseline_mean_stock_units": get("inventory:lumpy", "baseline", "mean_stock_units")}
