"""Configuration: built-in defaults, overridden by a TOML file.

The file is found at ``--config``/``AFTERSALES_CONFIG`` or ``aftersales.toml`` beside the
database; any key it sets replaces the default (tables merge key by key).
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "aftersales.duckdb"

DEFAULTS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "language": "zh",
    # Hours allowed per service type, by stage. A ticket is "due" for a stage once its limit has
    # passed (or it met it); see metrics for how SLA compliance counts them.
    "sla_hours": {
        "first_response": {"default": 1.0},
        "onsite": {"default": 24.0, "install": 48.0, "delivery": 48.0},
        "resolution": {
            "default": 72.0,
            "repair": 72.0,
            "install": 72.0,
            "delivery": 72.0,
            "return": 168.0,
            "exchange": 168.0,
            "refund": 72.0,
            "consult": 24.0,
        },
    },
    # KPI targets overriding the registry's defaults, by KPI id.
    "targets": {},
    # Loading: a date later than this many days after today (business time) is a typing slip
    # and its row is quarantined (`in_range`); 1 accepts anything up to the end of tomorrow.
    "load": {"future_days": 1},
    # The `forecast`, `staffing` and `parts` sections have their defaults in forecasts/settings.py,
    # beside the code that reads them; a config file's keys are layered over those.
}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """The database file: the argument, else ``AFTERSALES_DB``, else ``data/aftersales.duckdb``."""
    if db:
        return Path(db).expanduser().resolve()
    env = os.environ.get("AFTERSALES_DB")
    return Path(env).expanduser().resolve() if env else DEFAULT_DB


def load_config(path: str | os.PathLike[str] | None = None, db: Path | None = None) -> dict[str, Any]:
    """Defaults merged with the first config file found (argument, env, beside the database)."""
    candidates = [path, os.environ.get("AFTERSALES_CONFIG")]
    if db is not None:
        candidates.append(Path(db).with_name("aftersales.toml"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            with open(candidate, "rb") as fh:
                return _merge(DEFAULTS, tomllib.load(fh))
        if candidate and candidate in (path, os.environ.get("AFTERSALES_CONFIG")):
            raise FileNotFoundError(f"config file {candidate} does not exist; create it or drop --config")
    return copy.deepcopy(DEFAULTS)
