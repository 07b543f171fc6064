"""Cost of service: the configured rates the cost KPIs price visits at, checked.

The KPIs themselves are declared in ``metrics.registry`` (``cost_*``, ``customer_charges``,
``warranty_share``) and computed by ``metrics.query`` like any other; this module reads the
``[cost]`` section of the configuration (defaults in ``aftersales.config``) and names the KPIs a
page, a report or a scorecard shows.
"""

from __future__ import annotations

from typing import Any

from aftersales import model
from aftersales.errors import UserError

# The components that add up to cost_total, in the order a breakdown lists them.
COMPONENTS = ("cost_parts", "cost_labour", "cost_travel", "cost_refunds")
# What a cost overview shows: the total, per ticket, per repair, warranty, components, charges.
HEADLINE = ("cost_total", "cost_per_ticket", "cost_per_repair", "warranty_share")
ALL = (*HEADLINE, *COMPONENTS, "customer_charges")


def _amount(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise UserError(f"config {where} = {value!r}: write an amount in yuan as a number, 0 or more")
    return float(value)


def rates(conf: dict | None) -> dict[str, Any]:
    """The ``[cost]`` section in force, checked: labour_rate_per_hour {service type or default:
    yuan per hour}, travel_fee_per_visit (yuan per on-site visit), travel_rate_per_minute."""
    from aftersales.config import DEFAULTS

    section = (conf or {}).get("cost")
    section = DEFAULTS["cost"] if section is None else section
    if not isinstance(section, dict):
        raise UserError("config [cost] must be a table, e.g. [cost.labour_rate_per_hour] repair = 80")
    labour = section.get("labour_rate_per_hour", DEFAULTS["cost"]["labour_rate_per_hour"])
    if isinstance(labour, (int, float)) and not isinstance(labour, bool):
        labour = {"default": labour}  # one rate for every service type
    if not isinstance(labour, dict):
        raise UserError("config cost.labour_rate_per_hour must be a table of service types, e.g. repair = 80, "
                        "default = 50")
    known = {*(model.extended(model.SERVICE_TYPES) or {}), "default"}
    for st in labour:
        if st not in known:
            raise UserError(f"config cost.labour_rate_per_hour.{st}: not a service type; valid: {', '.join(sorted(known))}")
    out = {"labour_rate_per_hour": {st: _amount(r, f"cost.labour_rate_per_hour.{st}") for st, r in labour.items()},
           "travel_fee_per_visit": _amount(section.get("travel_fee_per_visit", 0.0), "cost.travel_fee_per_visit"),
           "travel_rate_per_minute": _amount(section.get("travel_rate_per_minute", 0.0),
                                             "cost.travel_rate_per_minute")}
    out["labour_rate_per_hour"].setdefault("default", 0.0)
    return out
