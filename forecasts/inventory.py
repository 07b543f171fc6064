"""Reorder policy for spare parts from a count distribution of lead-time demand, the
normal-approximation baseline it is compared with, and the inventory simulation that compares
them.

Policy: weekly review, reorder point ``s`` and order-up-to level ``S`` (order ``S - IP`` when
the inventory position IP is at or below ``s``). An order placed at the end of week t is on the
shelf from week ``t + 1 + lead_days // 7``, so the protection period is ``P = lead_days // 7 + 1``
weeks in both the policy and the simulation. ``Q = S - s`` is ``order_cover_weeks`` of mean
demand (at least one unit).

``s`` is the smallest integer whose expected shortage per replenishment cycle,
``E[(X - s)+] - E[(X - s - Q)+]`` with ``X`` the demand over ``P`` weeks, is at most
``(1 - fill_rate) * Q``. ``X`` is negative binomial with the forecast mean and the recent
week-to-week variance (Poisson when that is not over-dispersed), or a bootstrap of recent weeks.
A normal approximation — the baseline — puts probability on negative demand and too little on
the long right tail of lumpy parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def protection_weeks(lead_days: int) -> int:
    return int(lead_days) // 7 + 1


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
    if v <= mean * 1.0001:
        top = int(stats.poisson.ppf(1 - 1e-7, mean)) + 2
        pmf = stats.poisson.pmf(np.arange(top), mean)
    else:
        n = mean ** 2 / (v - mean)
        p = n / (n + mean)
        top = int(stats.nbinom.ppf(1 - 1e-7, n, p)) + 2
        pmf = stats.nbinom.pmf(np.arange(top), n, p)
    return pmf / pmf.sum()


@dataclass(frozen=True)
class Levels:
    reorder_point: int
    order_up_to: int


def count_policy(rate: float, var: float, lead_days: int, fill_rate: float, cover_weeks: float,
                 method: str = "nb", history: np.ndarray | None = None,
                 rng: np.random.Generator | None = None) -> Levels:
    """``(s, S)`` for a target fill rate from the count distribution of protection-period demand."""
    if rate <= 0:
        return Levels(0, 0)
    q = order_quantity(rate, cover_weeks)
    pmf = lead_time_pmf(rate, var, protection_weeks(lead_days), method, history, rng)
    levels = np.arange(len(pmf) + 1)
    short = _shortage_curve(pmf, levels) - _shortage_curve(pmf, levels + q)
    ok = np.flatnonzero(short <= (1 - fill_rate) * q)
    s = int(ok[0]) if len(ok) else len(pmf)
    return Levels(s, s + q)


def normal_policy(rate: float, sigma: float, lead_days: int, fill_rate: float, cover_weeks: float) -> Levels:
    """The textbook baseline: ``s = mean_P + k sigma_P`` with the normal loss ``sigma_P G(k)`` set to
    ``(1 - fill_rate) Q``; ``sigma`` is the one-step forecast error of weekly demand."""
    if rate <= 0:
        return Levels(0, 0)
    q = order_quantity(rate, cover_weeks)
    p = protection_weeks(lead_days)
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


def simulate(demand: np.ndarray, policies: list[Levels], refit_every: int, lead_days: int) -> dict[str, float]:
    """Run a reorder policy over weekly ``demand`` (backorders; weekly review). ``policies[i]``
    applies from week ``i * refit_every``; stock starts at the first order-up-to level.
    Returns ``demand, filled, fill_rate, mean_stock`` (mean on-hand at the end of a week),
    ``orders`` and ``stockout_weeks``."""
    arrive = protection_weeks(lead_days)
    net = float(policies[0].order_up_to) if policies else 0.0
    pipeline = np.zeros(len(demand) + arrive + 1)
    filled = stock_sum = 0.0
    orders = stockouts = 0
    for t, d in enumerate(demand):
        net += pipeline[t]
        filled += min(d, max(net, 0.0))
        if d > max(net, 0.0):
            stockouts += 1
        net -= d
        stock_sum += max(net, 0.0)
        pol = policies[min(t // refit_every, len(policies) - 1)]
        position = net + pipeline[t + 1:].sum()
        if position <= pol.reorder_point and pol.order_up_to > position:
            pipeline[t + arrive] += pol.order_up_to - position
            orders += 1
    total = float(np.sum(demand))
    return {"demand": total, "filled": filled, "fill_rate": filled / total if total > 0 else float("nan"),
            "mean_stock": stock_sum / max(len(demand), 1), "orders": float(orders), "stockout_weeks": float(stockouts)}
