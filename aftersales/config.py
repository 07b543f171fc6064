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

from aftersales import model
from aftersales.errors import UserError

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
    # SLA compliance (resolution): "source" lets a ticket's own verdict from its export
    # (tickets.sla_met_source) decide where it carries one, the limits above elsewhere;
    # "limits" judges every ticket by the limits. The KPI's result states which it used (basis).
    "sla_verdict": "source",
    # KPI targets overriding the registry's defaults, by KPI id.
    "targets": {},
    # Loading: a file more than `max_quarantined_share` of whose rows would be quarantined is
    # refused whole (exit 2, nothing written; a mapping's own value wins over this); a date later
    # than `future_days` days after today (business time) is a typing slip and its row is
    # quarantined (`in_range`; 1 accepts anything up to the end of tomorrow).
    # `memory_budget`: what one load or rebuild may hold in memory, as a share of the machine's
    # memory ("40%") or bytes (8000000000, "8GB"); DuckDB spills what does not fit to a directory
    # beside the database, and the derived tables are rebuilt in pieces sized to it.
    "load": {"max_quarantined_share": 0.5, "future_days": 1, "memory_budget": "40%"},
    # Codes added to the built-in code lists, by list: channels, service_types, regions,
    # priorities, product_categories (alias: categories), complaint_reasons. Each code takes a
    # Chinese label, or both: `email = "邮件"` or `email = {zh = "邮件", en = "Email"}`.
    "vocabularies": {},
    # Cost of service (the cost_* KPIs), yuan. Labour: each visit's hours (started_at..ended_at)
    # × the hourly rate of its ticket's service type ("default" for the others). Travel: a flat
    # 上门费 per on-site visit, the way manufacturers settle field work with service outlets
    # (workshop visits have none), plus a rate per travel minute for firms that pay travel time
    # (远程补贴; 0 by default). Parts are costed at parts_used.unit_cost, refunds at refund_amount.
    "cost": {
        "labour_rate_per_hour": {"default": 50.0, "repair": 80.0, "install": 60.0, "delivery": 40.0,
                                 "exchange": 40.0},
        "travel_fee_per_visit": 30.0,
        "travel_rate_per_minute": 0.0,
    },
    # The `forecast`, `staffing` and `parts` sections have their defaults in forecasts/settings.py,
    # beside the code that reads them; a config file's keys are layered over those.
}


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:  # cgroup v2; "max" (no limit) fails int() and keeps the machine's figure
        total = min(total, int(Path("/sys/fs/cgroup/memory.max").read_text().strip()))
    except (OSError, ValueError):
        pass
    return total


def memory_budget_bytes(value: str | int | float, where: str = "[load] memory_budget") -> int:
    """A memory budget in bytes from "40%" (of ``machine_memory()``), bytes, or "8GB"/"512MiB"."""
    text = str(value).strip().upper().replace(" ", "")
    try:
        if text.endswith("%"):
            share = float(text[:-1]) / 100
            if not 0 < share <= 1:
                raise ValueError
            return int(machine_memory() * share)
        number = text.rstrip("KMGTIB")
        amount = int(float(number) * _UNITS[text[len(number):]])
    except (ValueError, KeyError):
        raise UserError(f"{where} = {value!r} is not a memory size: write a share of the machine's memory "
                        "(\"40%\") or bytes (8000000000, \"8GB\", \"512MiB\")") from None
    if amount < 256 * 2**20:
        raise UserError(f"{where} = {value!r} is below 256 MiB, too little for DuckDB to load anything: raise it")
    return amount


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
    """Defaults merged with the first config file found (argument, env, beside the database).
    The code lists it extends (``[vocabularies]``) are in force from then on (``apply_vocabularies``)."""
    candidates = [path, os.environ.get("AFTERSALES_CONFIG")]
    if db is not None:
        candidates.append(Path(db).with_name("aftersales.toml"))
    conf, found = None, "the configuration"
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            found = f"config file {candidate}"
            with open(candidate, "rb") as fh:
                try:
                    conf = _merge(DEFAULTS, tomllib.load(fh))
                except tomllib.TOMLDecodeError as exc:
                    raise UserError(f"config file {candidate} is not valid TOML ({exc})") from None
            break
        if candidate and candidate in (path, os.environ.get("AFTERSALES_CONFIG")):
            raise FileNotFoundError(f"config file {candidate} does not exist; create it or drop --config")
    conf = conf if conf is not None else copy.deepcopy(DEFAULTS)
    apply_vocabularies(conf, found)
    return conf


VOCABULARY_ALIASES = {"categories": "product_categories", "product_category": "product_categories",
                      "channel": "channels", "service_type": "service_types", "region": "regions",
                      "priority": "priorities", "complaint_reason": "complaint_reasons"}


def apply_vocabularies(conf: dict[str, Any], where: str = "the configuration") -> None:
    """Put the configuration's extra codes in force (``aftersales.model.extended``): the loader
    accepts them, breakdowns and filters list them, labels show them. The built-in code lists are
    never changed; a configuration without ``[vocabularies]`` leaves only them."""
    extra: dict[str, dict[str, tuple[str, str]]] = {}
    for name, codes in (conf.get("vocabularies") or {}).items():
        vocab = VOCABULARY_ALIASES.get(name, name)
        if vocab not in model.VOCABULARIES:
            raise UserError(f"{where}: [vocabularies.{name}] is not a code list that can be extended; valid: "
                            f"{', '.join(model.VOCABULARIES)}")
        if not isinstance(codes, dict):
            raise UserError(f"{where}: [vocabularies.{name}] must list codes, e.g. email = {{zh = \"邮件\", en = \"Email\"}}")
        for code, label in codes.items():
            if not code.replace("_", "").isalnum() or not code.isascii():
                raise UserError(f"{where}: vocabularies.{name}: code {code!r} must be letters, digits and _ "
                                "(the label carries the display name)")
            if isinstance(label, str):
                zh, en = label, code
            elif isinstance(label, dict) and set(label) <= {"zh", "en"} and label:
                zh, en = str(label.get("zh") or label.get("en")), str(label.get("en") or code)
            else:
                raise UserError(f"{where}: vocabularies.{name}.{code} must be a label or {{zh = \"…\", en = \"…\"}}")
            extra.setdefault(vocab, {})[code] = (zh, en)
    model.EXTRA_CODES.clear()
    model.EXTRA_CODES.update(extra)
