"""Per-region delivery (issue 17): which targets one alert goes to.

A target may declare the regions it serves (``regions = ["east"]`` under
``[alerts.targets.NAME]``): it then receives only alerts whose subject lies in one of those
regions — a region's KPI, an outlet of the region, tickets due at one of its outlets, its
staffing gap — never another region's, nor one on the whole company. A target without
``regions`` is head office's.

A rule with ``route_by = "region"`` (or ``[alerts] route_by = "region"`` for every rule) sends a
region's alert to that region's targets only; head office's targets get the alerts on the whole
company (and on no region: a part running out, a silent source) and those of a region with no
target of its own, so that nothing fires unheard. A rule without it sends as before to every
target it names, except that a regional target still gets only its own regions' alerts.
"""

from __future__ import annotations

from typing import Any

import duckdb

from alerts.settings import Rule, Target

ROUTES = ("region",)


def outlet_regions(con: Any) -> dict[str, str]:
    """outlet id -> region, from the outlets' master data (empty when it is not loaded)."""
    try:
        rows = con.execute("SELECT outlet_id, any_value(region) FROM outlets GROUP BY 1").fetchall()
    except duckdb.Error:
        return {}
    return {str(o): str(r) for o, r in rows if r is not None}


def region_of(rule: Rule, key: str, filters: dict[str, str], regions_of_outlets: dict[str, str]) -> str | None:
    """The region an alert is about, or None (the whole company, a part, a source, an outlet
    the master data does not place)."""
    if filters.get("region"):
        return filters["region"]
    outlet = filters.get("outlet")
    if not outlet and key and (rule.by == "outlet" or rule.kind == "tickets_due"):
        outlet = key
    if outlet:
        return regions_of_outlets.get(outlet)
    if key and (rule.by == "region" or rule.kind == "staffing_short"):
        return key
    return None


def targets_for(rule: Rule, region: str | None, targets: dict[str, Target]) -> list[str]:
    """The target ids one alert of ``rule`` about ``region`` goes to, in the config's order."""
    named = list(rule.targets) if rule.targets is not None else list(targets)
    head = [t for t in named if not targets[t].regions]
    if region is None:
        return head
    mine = [t for t in named if region in targets[t].regions]
    if rule.route_by == "region":
        return mine or head
    return [t for t in named if t in head or t in mine]
