"""Intervals and shrinkage, vectorised over numpy arrays (NaN where undefined).

- proportions: Wilson score interval;
- means: Student t interval from the additive measures (sum, count, sum of squares);
- NPS: Wald interval on the mean of the +100/0/−100 scores, clipped to [−100, 100];
- quantiles (medians, p90): distribution-free order-statistic interval, ranks
  n·p ± z·√(n·p·(1−p)), read off a grid of quantiles computed in the same scan
  (``metrics.sql.QUANTILE_CI_OFFSETS``: p ± 0.02, 0.07, 0.2) by linear interpolation; for
  samples smaller than the grid resolves (about n < 25 for a median) the interval is clipped to
  the grid, i.e. too narrow — such values are also flagged small.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def wilson(num, den, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for num/den; NaN where den is 0 or missing."""
    k, n = _arr(num), _arr(den)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = ~(n > 0)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def _t_quantile(df: np.ndarray) -> np.ndarray:
    try:
        from scipy.stats import t

        return t.ppf(0.975, df)
    except ImportError:  # normal approximation with a small-sample correction
        return Z95 + (Z95**3 + Z95) / (4 * df)


def mean_ci(total, n, sumsq) -> tuple[np.ndarray, np.ndarray]:
    """t interval for a mean from its sum, count and sum of squares; NaN for n < 2."""
    s, n, ss = _arr(total), _arr(n), _arr(sumsq)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        var = np.maximum(ss - s * s / n, 0) / (n - 1)
        half = _t_quantile(np.maximum(n - 1, 1)) * np.sqrt(var / n)
        lo, hi = mean - half, mean + half
    bad = ~(n >= 2)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def nps_ci(promoters, detractors, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Interval for NPS (in points) treating each answer as +100 / 0 / −100."""
    a, b, n = _arr(promoters), _arr(detractors), _arr(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        pa, pb = a / n, b / n
        nps = pa - pb
        var = np.maximum(pa + pb - nps * nps, 0) / n
        half = z * np.sqrt(var)
        lo, hi = np.clip(100 * (nps - half), -100, 100), np.clip(100 * (nps + half), -100, 100)
    bad = ~(n > 0)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def quantile_ci(levels: list[float], grids: list, ns, p: float, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Order-statistic interval for the p-quantile from a grid of quantiles per row.

    ``levels`` are the quantile levels (p first, as ``metrics.sql.quantile_levels`` makes them),
    ``grids`` one list of values per row in the same order, ``ns`` the sample sizes.
    """
    order = np.argsort(levels)
    lv = np.asarray(levels, dtype=float)[order]
    n_arr = _arr(ns)
    lo = np.full(len(n_arr), np.nan)
    hi = np.full(len(n_arr), np.nan)
    for i, (grid, n) in enumerate(zip(grids, n_arr, strict=True)):
        if grid is None or not n > 0 or any(v is None for v in grid):
            continue
        vals = np.asarray(grid, dtype=float)[order]
        half = z * np.sqrt(n * p * (1 - p))
        lo_level = max(0.0, (n * p - half) / n)
        hi_level = min(1.0, (n * p + half + 1) / n)
        lo[i] = np.interp(lo_level, lv, vals)
        hi[i] = np.interp(hi_level, lv, vals)
    return lo, hi


def shrink_proportion(num, den) -> tuple[np.ndarray, float, float]:
    """Empirical-Bayes (beta-binomial, method of moments) shrunk rates.

    Returns the shrunk rates, the pooled rate they shrink towards, and the prior strength k
    (in records): a unit with n records keeps weight n / (n + k) on its own rate.
    """
    k_, n = _arr(num), _arr(den)
    ok = n > 0
    if not ok.any():
        return np.full(len(n), np.nan), float("nan"), float("nan")
    p0 = k_[ok].sum() / n[ok].sum()
    p = k_[ok] / n[ok]
    observed_var = np.average((p - p0) ** 2, weights=n[ok])
    sampling_var = p0 * (1 - p0) * (ok.sum() / n[ok].sum())
    between = observed_var - sampling_var
    if between <= 1e-12 or p0 in (0.0, 1.0):
        strength = float("inf")
    else:
        strength = max(p0 * (1 - p0) / between - 1, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = p0 if np.isinf(strength) else (k_ + strength * p0) / (n + strength)
    out = np.where(ok, shrunk, np.nan).astype(float)
    return out, float(p0), strength


def shrink_mean(total, n, sumsq) -> tuple[np.ndarray, float, float]:
    """Empirical-Bayes (normal–normal) shrunk means; returns (shrunk, grand mean, strength k)."""
    s, n, ss = _arr(total), _arr(n), _arr(sumsq)
    ok = n > 0
    if not ok.any():
        return np.full(len(n), np.nan), float("nan"), float("nan")
    m0 = s[ok].sum() / n[ok].sum()
    within = max((ss[ok].sum() - s[ok].sum() ** 2 / n[ok].sum()) / max(n[ok].sum() - 1, 1), 0.0)
    means = s[ok] / n[ok]
    observed_var = np.average((means - m0) ** 2, weights=n[ok])
    between = observed_var - within * ok.sum() / n[ok].sum()
    strength = float("inf") if between <= 1e-12 else within / between
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = m0 if np.isinf(strength) else (s + strength * m0) / (n + strength)
    out = np.where(ok, shrunk, np.nan).astype(float)
    return out, float(m0), strength
