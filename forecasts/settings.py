"""Forecast settings: the ``forecast``, ``staffing`` and ``parts`` sections of the configuration,
with defaults for every key this package reads (so a config that sets only some keys works).

Keys (all optional in ``aftersales.toml``):

[forecast]
horizon_days = 84            # workload horizon, days
backtest_origins = 4         # rolling origins in the workload backtest
backtest_step_days = 0       # days between origins; 0 = the horizon (non-overlapping windows)
stat_models = ["ets", "mstl"]  # cheap statistical candidates beside Prophet ("theta" too on request; ~0.1-0.2 s CPU a series each)
challenger = "none"          # an extra, costlier candidate: "autoets" (full AutoETS search), "none"
selection_margin = 0.3       # the trimmed mean of the diverse models is used unless one model's inner MASE is more than 30% lower
freq = "D"                   # "D" daily or "W" weekly series (horizon and step stay in days)
country = "CN"               # holiday calendar: CN (the project's) or a country code of the holidays package
top_down = true              # region × service series also get a top-down candidate (reconcile.py)
seasonality_mode = "auto"    # "auto": multiplicative for series averaging >= multiplicative_min_daily a day
multiplicative_min_daily = 5.0
holidays_prior_scale = 10.0
changepoint_prior_scale = 0.05
event_lead_days = 14         # event backtest: origin this many days before the event
event_horizon_days = 42
workers = 0                  # processes; 0 = all CPU cores
series = ["region_service", "region", "total"]  # which workload series to build from the database
min_weekly_tickets = 1.0     # series with fewer arrivals a week (last 52 weeks) are not forecast
freq = "D"                   # D (daily) or W (weekly); set by the CLI from the dates of --input

[parts]
target_fill_rate = 0.95
horizon_weeks = 12
backtest_origins = 4
backtest_step_weeks = 0      # 0 = the horizon
default_lead_time_days = 14  # for parts missing from parts_inventory
order_cover_weeks = 4        # order quantity = this many weeks of mean demand (at least 1 unit)
lead_time_distribution = "block"  # "block" (the history's own lead-time blocks), "nb" (negative binomial) or "bootstrap"
policy_margin = 0            # planned fill rate = 1 - (1 - target) / 2**margin (classes without an inner window)
policy_by_class = {}         # class -> "distribution:margin" pins a class; the others get what the backtest chooses
policy_history_weeks = 104   # history the lead-time blocks are read from (recent pattern)
nb_history_weeks = 520       # history the negative binomial's dispersion is estimated from (more lumps seen)
policy_margins = [0, 1, 2, 3, 4, 5, 6]  # backtest candidates: planned fill 1 - (1 - target) / 2**margin
policy_distributions = ["block", "nb", "block_recent", "nb_recent"]  # candidates; *_recent weighs a part by how recently it was asked for; nb_long (the long history's own level) may be added
sim_weeks = 52               # inventory simulation: the last N weeks (the N before them choose the policy)
sim_refit_weeks = 4          # ... with the policy recomputed every N weeks
policy_choice_parts = 300    # the policy per class is chosen on this many parts (backtest and forecast alike; ~0.05-0.1 s CPU each)
policy_choice_confidence = 0.9  # ... and its pooled fill must stay within 2 points of the target in this share of bootstraps of them
policy_shortfall_slack = 0.0  # where no policy reaches the target: the least stock within this of the highest fill
outer_origins = 2            # nested backtest: the last N origins score, the earlier ones choose
combo_size = 3               # the median of the best N candidates is a candidate too
keep_zero_within = 0.05      # the zero forecast is kept unless a candidate's inner MASE is this much lower
zero_sign_level = 0.1        # ... and beats it on more series than chance (one-sided sign test at this level; 1 = off)
min_history_weeks = 8
# Counted in weeks, converted to periods of the series' frequency (weekly or monthly).
parallel_min_series = 5000   # fewer parts run in one process (a part takes ms, a worker seconds to start)
freq = "W"                   # W (weekly) or M (monthly); set by the CLI from the dates of --input

[staffing]
plan_quantile = 0.8
productive_hours_per_week = 40.0
shrinkage = 0.15             # leave, training, meetings
travel_hours_per_visit = 0.75  # used where visits carry no travel_minutes
hours_per_ticket = {}        # service type -> on-site hours per ticket, overrides the data's estimate
repeat_visit_rate = {}       # service type -> extra visits per visited ticket, overrides the data
"""

from __future__ import annotations

import copy
import os
from typing import Any

DEFAULTS: dict[str, dict[str, Any]] = {
    "forecast": {
        "horizon_days": 84,
        "backtest_origins": 4,
        "backtest_step_days": 0,
        "stat_models": ["ets", "mstl"],
        "challenger": "none",
        "selection_margin": 0.3,
        "country": "CN",
        "top_down": True,
        "seasonality_mode": "auto",
        "multiplicative_min_daily": 5.0,
        "holidays_prior_scale": 10.0,
        "changepoint_prior_scale": 0.05,
        "event_lead_days": 14,
        "event_horizon_days": 42,
        "workers": 0,
        "series": ["region_service", "region", "total"],
        "min_weekly_tickets": 1.0,
        "freq": "D",  # D or W: the series' frequency (frequency.py); the CLI sets it from --input's dates
    },
    "parts": {
        "target_fill_rate": 0.95,
        "horizon_weeks": 12,
        "backtest_origins": 4,
        "backtest_step_weeks": 0,
        "default_lead_time_days": 14,
        "order_cover_weeks": 4,
        "lead_time_distribution": "block",
        "policy_margin": 0,
        "policy_by_class": {},
        "policy_history_weeks": 104,
        "nb_history_weeks": 520,
        "policy_margins": [0, 1, 2, 3, 4, 5, 6],
        "policy_distributions": ["block", "nb", "block_recent", "nb_recent"],
        "sim_weeks": 52,
        "sim_refit_weeks": 4,
        "policy_choice_parts": 300,
        "policy_choice_confidence": 0.9,
        "policy_shortfall_slack": 0.0,
        "outer_origins": 2,
        "combo_size": 3,
        "keep_zero_within": 0.05,
        "zero_sign_level": 0.1,
        "min_history_weeks": 8,
        "parallel_min_series": 5000,
        "freq": "W",  # W or M: the series' frequency (frequency.py); the CLI sets it from --input's dates
    },
    "staffing": {
        "plan_quantile": 0.8,
        "productive_hours_per_week": 40.0,
        "shrinkage": 0.15,
        "travel_hours_per_visit": 0.75,
        "hours_per_ticket": {},
        "repeat_visit_rate": {},
    },
}


def section(config: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """``config[name]`` over this package's defaults for it."""
    out = copy.deepcopy(DEFAULTS[name])
    out.update((config or {}).get(name) or {})
    return out


def workers(value: int | None) -> int:
    """Worker processes: a positive value as given, else every CPU core."""
    return int(value) if value and int(value) > 0 else (os.cpu_count() or 1)
