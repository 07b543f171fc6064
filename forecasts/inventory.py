"""Reorder policy for spare parts from a count distribution of demand, the normal-approximation
baseline it is compared with, and the inventory simulation that compares them.

Everything below is written for weeks but holds for any period (a month): the review period is
one period, lead times are given in days and converted with ``period_days``
(:func:`protection_periods`), and ``cover_weeks`` is Q in periods. Three demand distributions:
negative binomial (``nb``), resampled periods (``bootstrap``) and the history's own lead-time
blocks (``block``, :func:`block_pmfs`: sums of consecutive periods, so the zero share, the lumps
and their clustering are the series' own). :func:`allocate` sets the reorder points of a group
of parts together, for a pooled fill rate at the least expected stock (the expected stock per
level comes from :func:`policy_curves`).

Policy: weekly review, reorder point ``s`` and order-up-to level ``S`` (order ``S - IP`` when
the inventory position IP is at or below ``s``). An order placed at the end of week t is on the
shelf from week ``t + 1 + lead_days // 7``, so the protection period is ``P = lead_days // 7 + 1``
weeks in both the policy and the simulation. ``Q = S - s`` is ``order_cover_weeks`` of mean
demand (at least one unit).

``s`` is the smallest non-negative integer whose expected fill rate (share of demand served from
the shelf, backorders not counted) is at least the target, computed exactly for weekly review
rather than with the continuous-review formula ``E[(X - s)+] - E[(X - s - Q)+] <= (1 - beta) Q``.
That formula assumes every order is exactly ``Q`` and is placed when IP is exactly ``s``; with
weekly review IP falls past ``s`` before the order (the undershoot), so the real orders are
larger and the cycles fewer than it plans: the fill rate overshoots for most parts (and falls
short for lumpy parts with a small ``Q``). Here instead, for independent weeks of a steady rate:

* ``y``, IP just after a review, lives on ``s+1 .. S``; its long-run distribution ``pi(y - s)``
  depends only on ``Q`` and the weekly demand ``D`` (a renewal argument: the expected number of
  weeks per cycle spent ``k`` units below ``S``, ``v(k) = ([k = 0] + sum_{i=1..k} P(D=i) v(k-i))
  / (1 - P(D=0))``, normalised);
* everything on order at that review (the order just placed included) is on the shelf in week
  ``P`` after it and nothing ordered later is, so the shortage in that week is exactly
  ``E[(X_P - y)+] - E[(X_{P-1} - y)+]`` with ``X_k`` the demand over ``k`` weeks;
* the expected fill rate is ``1 - sum_j pi(j) (E[(X_P - s - j)+] - E[(X_{P-1} - s - j)+]) / E[D]``,
  non-decreasing in ``s``, so the smallest ``s`` meeting the target is also the level closest to
  it from above.

Demand is a count: negative binomial with the forecast mean and the recent week-to-week variance
scaled to that mean with the recent variance-to-mean ratio (:func:`dispersed_variance`; Poisson
when not over-dispersed; ``X_k`` is then NB/Poisson with ``k`` times the weekly mean and
variance, exactly the sum of ``k`` independent weeks), or a bootstrap of recent weeks rescaled to
the forecast (``X_k`` the exact ``k``-fold convolution of the resampled week). The exact fill
rate is a ratio of small numbers for slow parts, so a variance that does not match the forecast
level (a forecast well below the recent mean with the recent variance unscaled) would read as
rare, huge lumps and ask for a large ``s``. A normal approximation — the baseline — puts
probability on negative demand and too little on the long right tail of lumpy parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def protection_periods(lead_days: float, period_days: float = 7.0) -> int:
    """Periods from an order to the end of the first period its delivery can serve: an order placed
    at the end of period t is on the shelf from period ``t + 1 + lead_days // period_days``."""
    return int(float(lead_days) // float(period_days)) + 1


def protection_weeks(lead_days: int) -> int:
    return protection_periods(lead_days, 7.0)


def order_quantity(rate: float, cover_weeks: float) -> int:
    return max(1, int(round(rate * cover_weeks)))


def _shortage_curve(pmf: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """E[(X - s)+] for each s in ``levels`` of a pmf on 0..len(pmf)-1."""
    k = np.arange(len(pmf))
    tail = np.cumsum((pmf * k)[::-1])[::-1]  # sum_{j>=i} j p_j
    mass = np.cumsum(pmf[::-1])[::-1]  # P(X >= i)
    idx = np.clip(levels + 1, 0, len(pmf))
    tail = np.append(tail, 0.0)
    mass = np.append(mass, 0.0)
    return tail[idx] - levels * mass[idx]


def lead_time_pmf(rate: float, var: float, weeks: float, method: str = "nb", history: np.ndarray | None = None,
                  rng: np.random.Generator | None = None, draws: int = 4000) -> np.ndarray:
    """pmf of demand over ``weeks`` weeks: negative binomial with mean ``rate * weeks`` and variance
    ``max(var, rate) * weeks``, or (``method='bootstrap'``) sums of weeks resampled from
    ``history`` rescaled to ``rate``."""
    mean = rate * weeks
    if mean <= 0:
        return np.array([1.0])
    if method == "bootstrap" and history is not None and len(history) >= 8 and history.mean() > 0:
        rng = rng or np.random.default_rng(0)
        sums = rng.choice(history, size=(draws, max(int(round(weeks)), 1))).sum(axis=1).astype(int)
        ratio = rate / history.mean()  # rescale recent history to the forecast level
        sums = rng.binomial(sums, ratio) if ratio < 1 else np.round(sums * ratio).astype(int)
        pmf = np.bincount(sums).astype(float)
        return pmf / pmf.sum()
    v = max(var, rate) * weeks
    return count_pmf(mean, v)


def count_pmf(mean: float, v: float, q: float = 1 - 1e-7, cap: int = 20_000) -> np.ndarray:
    """Poisson (``v`` not above ``mean``) or negative binomial pmf with that mean and variance on
    ``0 .. k + 1``, ``k`` the ``q`` quantile, normalised. Computed from log-gamma in numpy: scipy's
    ``ppf``/``pmf`` were a third of the policy curves' time. A tiny mean with a huge variance
    (n -> 0) has no finite quantile: the support stops at ``mean + 40 sd`` (at most ``cap``)."""
    from scipy.special import gammaln

    poisson = v <= mean * 1.0001
    if not poisson:
        n = mean ** 2 / (v - mean)
        p = n / (n + mean)
        poisson = p >= 1.0  # a dispersion so small that n + mean rounds to n: Poisson to float precision
        if n <= 0 or p <= 0:  # n underflowed: all the mass at 0, on the support scipy's nan pmf gave
            pmf = np.zeros(int(min(mean + 40 * math.sqrt(v), cap)) + 2)
            pmf[0] = 1.0
            return pmf
    top = int(min(mean + 12 * math.sqrt(v) + 20, cap))
    while True:
        k = np.arange(top + 2, dtype=float)
        if poisson:
            logp = k * math.log(mean) - mean - gammaln(k + 1)
        else:
            logp = gammaln(k + n) - gammaln(n) - gammaln(k + 1) + n * math.log(p) + k * math.log1p(-p)
        pmf = np.exp(logp)
        cdf = np.cumsum(pmf)
        if cdf[-1] >= q or top >= cap:
            break
        top = min(2 * top, cap)
    hit = np.flatnonzero(cdf >= q)
    if len(hit):
        pmf = pmf[: int(hit[0]) + 2]
    else:  # no finite quantile within the cap
        pmf = pmf[: int(min(mean + 40 * math.sqrt(v), cap)) + 2]
    pmf = np.nan_to_num(pmf)
    if pmf.sum() <= 0:
        pmf = np.zeros(len(pmf))
        pmf[0] = 1.0
    return pmf / pmf.sum()


def block_pmfs(history: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pmfs of one period, ``P - 1`` and ``P`` periods of demand, read off the series' own history:
    the sums of every run of ``P - 1`` and ``P`` consecutive periods (overlapping blocks), so the
    zero share, the lumps and their clustering are the history's, not a fitted family's. With
    fewer than ``P + 8`` periods the blocks are the ``P``-fold convolution of the period pmf."""
    h = np.maximum(np.round(np.asarray(history, dtype=float)), 0).astype(int)
    week = np.bincount(h).astype(float)
    week /= week.sum()

    def blocks(k: int) -> np.ndarray:
        if k <= 0:
            return np.array([1.0])
        if len(h) < p + 8:
            return _convolve_power(week, k)
        sums = np.convolve(h, np.ones(k, dtype=int), mode="valid")
        pmf = np.bincount(sums).astype(float)
        return pmf / pmf.sum()

    return week, blocks(p - 1), blocks(p)


@dataclass(frozen=True)
class Levels:
    reorder_point: int
    order_up_to: int


def weekly_pmf(rate: float, var: float, method: str = "nb", history: np.ndarray | None = None) -> np.ndarray:
    """pmf of one week's demand: negative binomial / Poisson (as :func:`lead_time_pmf` with one
    week) or, for ``method='bootstrap'`` with at least 8 weeks of ``history``, the recent weeks
    rescaled to ``rate`` exactly (binomial thinning when the forecast is below the recent mean,
    scaled and rounded above it), computed exactly rather than sampled."""
    if rate <= 0:
        return np.array([1.0])
    if method == "bootstrap" and history is not None and len(history) >= 8 and history.mean() > 0:
        h = np.asarray(history, dtype=float)
        ratio = rate / h.mean()
        vals = np.maximum(np.round(h), 0).astype(int)
        if ratio < 1:
            pmf = np.zeros(vals.max() + 1)
            for v in vals:
                pmf[: v + 1] += stats.binom.pmf(np.arange(v + 1), v, ratio)
        else:
            pmf = np.bincount(np.round(vals * ratio).astype(int)).astype(float)
        return pmf / pmf.sum()
    return lead_time_pmf(rate, var, 1)


def _convolve_power(pmf: np.ndarray, k: int, tol: float = 1e-10) -> np.ndarray:
    """pmf of the sum of ``k`` independent draws from ``pmf`` (right tail below ``tol`` trimmed)."""
    out = np.array([1.0])
    for _ in range(k):
        out = np.convolve(out, pmf)
        tail = np.flatnonzero(np.cumsum(out[::-1]) > tol)
        out = out[: len(out) - int(tail[0])] if len(tail) else out
    return out / out.sum()


def position_distribution(week: np.ndarray, q: int) -> np.ndarray:
    """Long-run distribution of ``IP - s`` just after a weekly review of an ``(s, s + q)`` policy
    with i.i.d. weekly demand ``week`` (a pmf): element ``j - 1`` is the probability of ``j``,
    ``j = 1 .. q``. Independent of ``s``."""
    p = np.zeros(q)
    p[: min(q, len(week))] = week[:q]
    stay = 1.0 - p[0]
    if stay <= 0:  # no demand at all: IP stays at S
        out = np.zeros(q)
        out[-1] = 1.0
        return out
    v = np.zeros(q)  # v[k]: expected weeks per cycle with IP = S - k
    v[0] = 1.0 / stay
    for k in range(1, q):
        v[k] = float(np.dot(p[1: k + 1], v[k - 1:: -1][:k])) / stay
    pi = v[::-1]  # j = q - k
    return pi / pi.sum()


def _demand_pmfs(rate: float, var: float, p: int, method: str, history: np.ndarray | None,
                 rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pmfs of one week, ``P - 1`` weeks and ``P`` weeks of demand."""
    if method == "block" and history is not None and len(history) >= 8 and np.sum(history) > 0:
        return block_pmfs(history, p)
    week = weekly_pmf(rate, dispersed_variance(rate, var, history), method, history)
    if method == "bootstrap" and history is not None and len(history) >= 8 and history.mean() > 0:
        before = _convolve_power(week, p - 1)
        return week, before, _convolve_power(week, p) if p > 1 else week
    var = dispersed_variance(rate, var, history)
    return week, lead_time_pmf(rate, var, p - 1), lead_time_pmf(rate, var, p)


def dispersed_variance(rate: float, var: float, history: np.ndarray | None) -> float:
    """Weekly variance at the forecast ``rate``: the recent variance ``var`` scaled by ``rate`` over
    the mean of the same recent weeks ``history`` (the variance-to-mean ratio is kept), so a
    forecast below the recent mean means rarer demand, not bigger lumps. ``var`` as given when
    there is no such history."""
    if history is None or len(history) < 2 or float(np.mean(history)) <= 0:
        return var
    return var * rate / float(np.mean(history))


def policy_curves(rate: float, var: float, lead_days: int, cover_weeks: float, method: str = "nb",
                  history: np.ndarray | None = None, rng: np.random.Generator | None = None,
                  period_days: float = 7.0) -> tuple[int, np.ndarray, np.ndarray, float]:
    """``(q, fill, stock, mean)`` of the periodic-review ``(s, s + Q)`` policy: for ``s = 0, 1, ...``
    (element ``s``, up to the first ``s`` with no shortage at all) the expected long-run fill rate
    and the expected on-hand stock at the end of a period, and the mean demand per period.
    Stock: every period is the ``P``-th after some review, after which the position was
    ``y = s + j`` with probability ``pi_j``; at its end the shelf holds ``(y - X_P)+``, whose mean is
    ``y - E[X_P] + E[(X_P - y)+]``."""
    q = order_quantity(rate, cover_weeks)
    if rate <= 0:
        return q, np.array([1.0]), np.array([0.0]), 0.0
    p = protection_periods(lead_days, period_days)
    week, before, during = _demand_pmfs(rate, var, p, method, history, rng)
    mean = float(np.dot(np.arange(len(week)), week))
    if mean <= 0:
        return q, np.array([1.0]), np.array([0.0]), 0.0
    top = len(during) + 1  # y >= len(during): no shortage
    levels = np.arange(top + q + 1)
    over_during = _shortage_curve(during, levels)
    g = over_during - _shortage_curve(before, levels)  # shortage in a week, by y
    on_hand = levels - float(np.dot(np.arange(len(during)), during)) + over_during
    pi = position_distribution(week, q)
    # short[s] = sum_{j=1..q} pi_j g[s + j] (and the same for the stock): correlations, by FFT when large
    if top * q > 200_000:
        from scipy.signal import fftconvolve

        short = fftconvolve(g[1:], pi[::-1], mode="valid")[:top]
        stock = fftconvolve(on_hand[1:], pi[::-1], mode="valid")[:top]
    else:
        short = np.correlate(g[1:], pi, mode="valid")[:top]
        stock = np.correlate(on_hand[1:], pi, mode="valid")[:top]
    fill = np.minimum(1.0 - np.maximum(short, 0.0) / mean, 1.0)
    return q, fill, np.maximum(stock, 0.0), mean


def expected_fill_rates(rate: float, var: float, lead_days: int, cover_weeks: float, method: str = "nb",
                        history: np.ndarray | None = None, rng: np.random.Generator | None = None,
                        period_days: float = 7.0) -> np.ndarray:
    """Expected long-run fill rate of the periodic-review ``(s, s + Q)`` policy for ``s = 0, 1, ...``
    (element ``s``), up to the first ``s`` with no shortage at all (fill rate 1). ``cover_weeks``
    is Q in periods; the review period is one period of ``period_days`` days."""
    return policy_curves(rate, var, lead_days, cover_weeks, method, history, rng, period_days)[1]


def unit_size(rate: float, lead_days: float, cover_weeks: float, period_days: float = 7.0, cap: int = 400) -> int:
    """Units counted together so that a policy's distributions stay a few hundred points long
    (a manufacturing part may move thousands of units a period; the levels are then multiples)."""
    p = protection_periods(lead_days, period_days)
    return max(1, int(math.ceil(max(rate * (p + 3), rate * cover_weeks) / cap)))


def count_policy(rate: float, var: float, lead_days: int, fill_rate: float, cover_weeks: float,
                 method: str = "nb", history: np.ndarray | None = None,
                 rng: np.random.Generator | None = None, period_days: float = 7.0) -> Levels:
    """``(s, S)`` for a target fill rate: the smallest ``s >= 0`` whose expected periodic-review fill
    rate (:func:`expected_fill_rates`, from the count distribution) is at least ``fill_rate``.
    ``method``: ``nb`` (negative binomial), ``bootstrap`` (resampled periods) or ``block`` (the
    history's own lead-time blocks, :func:`block_pmfs`). Large parts are computed in lots of
    :func:`unit_size` units. A ``_recent`` method plans as its base distribution: a part's own
    fill rate does not depend on how likely it is to be asked for again."""
    method = method.removesuffix(RECENT)
    if method in OWN_LEVEL and history is not None and len(history) >= 8:
        rate = float(np.mean(history))  # the blocks carry the history's own level
    method = block_base(method)
    if rate <= 0:
        return Levels(0, 0)
    u = unit_size(rate, lead_days, cover_weeks, period_days)
    q = order_quantity(rate, cover_weeks)
    if u > 1:
        hist = None if history is None else np.asarray(history, dtype=float) / u
        fills = expected_fill_rates(rate / u, var / u ** 2, lead_days, cover_weeks, method, hist, rng, period_days)
    else:
        fills = expected_fill_rates(rate, var, lead_days, cover_weeks, method, history, rng, period_days)
    ok = np.flatnonzero(fills >= fill_rate - 1e-12)
    s = (int(ok[0]) if len(ok) else len(fills) - 1) * u
    return Levels(s, s + q)


@dataclass(frozen=True)
class Curve:
    """A part's policy curve in lots of ``unit`` units: ``filled[s]`` expected units filled per
    period and ``stock[s]`` expected units on hand at reorder point ``s * unit``; ``q`` in units."""

    q: int
    unit: int
    filled: np.ndarray
    stock: np.ndarray
    mean: float


RECENT = "_recent"  # suffix of a distribution weighted by how recently the part was asked for
# Distributions read from the long history (``nb_history_weeks``): a fitted dispersion or resampled
# periods gain from every period there is; ``block`` reads lead-time blocks of the recent
# ``policy_history_weeks``.
LONG_HISTORY = ("nb", "bootstrap", "block_long", "bootstrap_long", "nb_long")
# Read off the long history at that history's own level (not the forecast's): ``block_long`` its
# lead-time blocks, ``bootstrap_long`` its periods resampled independently (sums of independent
# periods reach beyond the largest block seen, the tail a lumpy part's next lump may need). A
# spare part silent for a year is often asked for again (a third of RAF's demand in its last year
# came from parts silent the year before), so a level method's decayed rate under-plans it.
OWN_LEVEL = {"block": "block", "block_long": "block", "bootstrap_long": "bootstrap", "nb_long": "nb"}
LONG_BLOCK = "block_long"


def block_base(method: str) -> str:
    """The distribution ``method`` computes with (``block_long`` is ``block`` on another history,
    ``bootstrap_long`` and ``nb_long`` are ``bootstrap`` and ``nb`` at the history's own level)."""
    return OWN_LEVEL.get(method, method)


def recent_share(history: np.ndarray, alpha: float = 0.1) -> float:
    """How often the part has been asked for lately, against its whole ``history``: the demand
    probability smoothed as TSB does (weight ``alpha`` on each period's has-demand flag, started
    at the history's own share of periods with demand) at the end of the history, over that
    share; at most 1. A part still asked for as often as before reads about 1; one with no demand
    for the last ``k`` periods at most ``(1 - alpha) ** k`` over that share: spare parts go
    obsolete, and a lump that does not come back should not keep stock on the shelf."""
    flags = (np.asarray(history, dtype=float) > 0).astype(float)
    share = float(flags.mean()) if len(flags) else 0.0
    if share <= 0:
        return 0.0
    n = len(flags)
    weights = alpha * (1 - alpha) ** np.arange(n - 1, -1, -1)
    p = (1 - alpha) ** n * share + float(np.dot(weights, flags))
    return float(min(1.0, p / share))


def with_recency(c: Curve, alive: float) -> Curve:
    """``c`` for a part asked for again with probability ``alive`` (else never): filled and mean
    demand scale by ``alive``; a part no longer asked for keeps whatever it holds, about the
    reorder point plus half an order, which weighs on the stock side."""
    if alive >= 1.0 or c.mean <= 0:
        return c
    levels = np.arange(len(c.stock), dtype=float) * c.unit
    idle = levels + (c.q + c.unit) / 2.0
    return Curve(c.q, c.unit, c.filled * alive, alive * c.stock + (1 - alive) * idle, c.mean * alive)


def part_curve(rate: float, var: float, lead_days: int, cover_weeks: float, method: str,
               history: np.ndarray | None, period_days: float = 7.0, tol: float = 1e-4) -> Curve:
    """:func:`policy_curves` in units, trimmed where the fill rate is within ``tol`` of 1.
    ``method`` with the suffix ``_recent`` (``block_recent``): the curve weighted by
    :func:`recent_share` of ``history`` (:func:`with_recency`)."""
    if method.endswith(RECENT):
        base = part_curve(rate, var, lead_days, cover_weeks, method.removesuffix(RECENT), history, period_days, tol)
        return with_recency(base, recent_share(history) if history is not None and len(history) else 1.0)
    if method in OWN_LEVEL and history is not None and len(history) >= 8:
        rate = float(np.mean(history))
    method = block_base(method)
    if rate <= 0:
        return Curve(0, 1, np.array([0.0]), np.array([0.0]), 0.0)
    u = unit_size(rate, lead_days, cover_weeks, period_days)
    hist = None if history is None else np.asarray(history, dtype=float) / u
    _, fill, stock, mean = policy_curves(rate / u, var / u ** 2, lead_days, cover_weeks, method, hist, None,
                                         period_days)
    end = int(np.argmax(fill >= 1 - tol)) + 1 if np.any(fill >= 1 - tol) else len(fill)
    return Curve(order_quantity(rate, cover_weeks), u, fill[:end] * mean * u, stock[:end] * u, mean * u)


def allocate(curves: list[Curve], fill_rate: float) -> list[Levels]:
    """Reorder points for a group of parts that reach ``fill_rate`` of the group's expected demand
    with the least expected stock (marginal allocation, as in Sherbrooke's METRIC): start every
    part at ``s = 0`` and raise, step by step, the part whose next step on the upper convex hull
    of its (stock, filled) curve buys the most fill per unit of stock, until the group's expected
    filled demand reaches the target. A part with the same cost per filled unit everywhere ends
    where a per-part target would put it; a part whose demand comes in rare large lumps gets less,
    and frequent small demand gets more."""
    return allocate_many(curves, [fill_rate])[0]


def _hull_steps(c: Curve, i: int) -> list[tuple[float, int, int, float]]:
    """``(gain per unit of stock, part, level, gain)`` of each step on the upper convex hull."""
    f, st = np.asarray(c.filled, dtype=float), np.asarray(c.stock, dtype=float)
    if len(f) >= 3:
        # Most curves are already concave (each unit of stock buys less fill than the one before):
        # then no point leaves the monotone chain and the hull is every point, found without a loop.
        turn = (st[1:-1] - st[:-2]) * (f[2:] - f[:-2]) - (f[1:-1] - f[:-2]) * (st[2:] - st[:-2])
        if np.all(turn < 0):
            gain, cost = np.diff(f), np.maximum(np.diff(st), 1e-9)
            return [(float(g / d), i, int(b), float(g)) for g, d, b in zip(gain, cost, range(1, len(f)), strict=True)
                    if g > 0]
    hull = [0]
    for k in range(1, len(c.filled)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (c.stock[b] - c.stock[a]) * (c.filled[k] - c.filled[a]) \
                    - (c.filled[b] - c.filled[a]) * (c.stock[k] - c.stock[a]) >= 0:
                hull.pop()
            else:
                break
        hull.append(k)
    steps = []
    for a, b in zip(hull, hull[1:], strict=False):
        gain = float(c.filled[b] - c.filled[a])
        if gain > 0:
            steps.append((gain / max(float(c.stock[b] - c.stock[a]), 1e-9), i, b, gain))
    return steps


def allocate_many(curves: list[Curve], fill_rates: list[float]) -> list[list[Levels]]:
    """:func:`allocate` for several fill rates at once: the hulls and the order of the steps do
    not depend on the target, so they are computed once (the backtest tries several margins)."""
    total = sum(c.mean for c in curves)
    filled = sum(float(c.filled[0]) for c in curves)
    steps = [st for i, c in enumerate(curves) for st in _hull_steps(c, i)]
    steps.sort(key=lambda t: -t[0])
    out = []
    for fill_rate in fill_rates:
        levels = [0] * len(curves)
        need = fill_rate * total - filled
        for _, i, b, gain in steps:
            if need <= 1e-12:
                break
            if b > levels[i]:
                need -= gain
                levels[i] = b
        out.append([Levels(lv * c.unit, lv * c.unit + c.q) if c.mean > 0 else Levels(0, 0)
                    for lv, c in zip(levels, curves, strict=True)])
    return out


def normal_policy(rate: float, sigma: float, lead_days: int, fill_rate: float, cover_weeks: float,
                  period_days: float = 7.0) -> Levels:
    """The textbook baseline: ``s = mean_P + k sigma_P`` with the normal loss ``sigma_P G(k)`` set to
    ``(1 - fill_rate) Q``; ``sigma`` is the one-step forecast error of weekly demand."""
    if rate <= 0:
        return Levels(0, 0)
    q = order_quantity(rate, cover_weeks)
    p = protection_periods(lead_days, period_days)
    mu, sd = rate * p, max(sigma, 1e-9) * math.sqrt(p)
    target = (1 - fill_rate) * q / sd

    def loss(k: float) -> float:  # standard normal loss function, E[(Z - k)+]
        return math.exp(-k * k / 2) / math.sqrt(2 * math.pi) - k * 0.5 * math.erfc(k / math.sqrt(2))

    lo, hi = -5.0, 8.0
    for _ in range(60):  # G is decreasing: bisection
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if loss(mid) > target else (lo, mid)
    s = max(0, int(math.ceil(mu + hi * sd)))
    return Levels(s, s + q)


def simulate(demand: np.ndarray, policies: list[Levels], refit_every: int, lead_days: int,
             period_days: float = 7.0) -> dict[str, float]:
    """Run a reorder policy over weekly ``demand`` (backorders; weekly review). ``policies[i]``
    applies from week ``i * refit_every``; stock starts at the first order-up-to level.
    Returns ``demand, filled, fill_rate, mean_stock`` (mean on-hand at the end of a week),
    ``orders`` and ``stockout_weeks``."""
    arrive = protection_periods(lead_days, period_days)
    net = float(policies[0].order_up_to) if policies else 0.0
    pipeline = np.zeros(len(demand) + arrive + 1)
    filled = stock_sum = on_order = 0.0  # on_order == pipeline[t + 1:].sum() after week t's arrival
    orders = stockouts = 0
    for t, d in enumerate(demand):
        net += pipeline[t]
        on_order -= pipeline[t]
        filled += min(d, max(net, 0.0))
        if d > max(net, 0.0):
            stockouts += 1
        net -= d
        stock_sum += max(net, 0.0)
        pol = policies[min(t // refit_every, len(policies) - 1)]
        position = net + on_order
        if position <= pol.reorder_point and pol.order_up_to > position:
            pipeline[t + arrive] += pol.order_up_to - position
            on_order += pol.order_up_to - position
            orders += 1
    total = float(np.sum(demand))
    return {"demand": total, "filled": filled, "fill_rate": filled / total if total > 0 else float("nan"),
            "mean_stock": stock_sum / max(len(demand), 1), "orders": float(orders), "stockout_weeks": float(stockouts)}
