"""The data scope (``aftersales.principal.DataScope``) inside the read functions.

Every read function that returns ticket-level or ticket-derived rows takes ``scope`` as a
required keyword argument: a signed-in user's scope from the dashboard, ``DataScope()`` (the
whole company) from callers that are no user (the pipeline, alert evaluation, head office's
report). The scope is ANDed with the caller's filters here, once, so that a filter outside the
scope selects nothing instead of the whole company.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aftersales.errors import UserError
from aftersales.principal import DataScope

# scope breakdown -> (column on the outlets master, column on ticket facts); identifiers only from here
OUTLET_COLUMNS = {"region": "region", "outlet": "outlet_id", "outlet_type": "outlet_type"}


def check(scope: object) -> DataScope:
    """``scope`` itself, refused when it is not a ``DataScope`` (a programming error: a plain dict
    or None would otherwise read as "no restriction")."""
    if not isinstance(scope, DataScope):
        raise TypeError(f"scope must be an aftersales.principal.DataScope (DataScope() for the whole company), "
                        f"not {type(scope).__name__}")
    return scope


def narrowed(scope: DataScope, where: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Checked filters ``{dim: [codes]}`` ANDed with ``scope``. A breakdown whose filter lies wholly
    outside the scope keeps an empty list, which ``metrics.sql`` reads as "matches nothing"."""
    check(scope)
    if scope.whole_company:
        return {d: list(v) for d, v in where.items()}
    both = scope.narrow((d, tuple(v)) for d, v in where.items())
    if both is not None:
        return {d: list(v) for d, v in both}
    out = {d: list(v) for d, v in where.items()}
    for dim, codes in scope.where():
        out[dim] = [v for v in out.get(dim, codes) if v in codes]
    return out


def unfit(scope: DataScope, allowed: Sequence[str]) -> list[str]:
    """The scope's breakdowns a KPI (or list) cannot be restricted by (orders carry no region)."""
    return [dim for dim, _ in check(scope).where() if dim not in allowed]


def refuse_unfit(kpi_id: str, scope: DataScope, allowed: Sequence[str]) -> None:
    bad = unfit(scope, allowed)
    if bad:
        raise UserError(f"KPI {kpi_id} cannot be limited to a data scope by {', '.join(bad)} (its records carry "
                        f"no {', '.join(bad)}): ask for another KPI, e.g. complaint_rate instead of "
                        "complaints_per_1k_orders")


def outlet_conditions(scope: DataScope, alias: str) -> tuple[str, dict[str, Any]]:
    """SQL conditions (`` AND ...``) restricting rows of ``alias`` (an outlets row or a ticket fact
    carrying region, outlet_id, outlet_type) to the scope, with their bound parameters."""
    parts, params = [], {}
    for dim, codes in check(scope).where():
        name = f"scope_{dim}"
        parts.append(f" AND list_contains(${name}, {alias}.{OUTLET_COLUMNS[dim]})")
        params[name] = list(codes)
    return "".join(parts), params


# `--scope` on the command line: the scope part each breakdown names
SCOPE_PARTS = {"region": "regions", "outlet": "outlets", "outlet_type": "outlet_types"}


def parse(items: Sequence[str] | None) -> DataScope:
    """``--scope region=east --scope outlet=WD0001,WD0002`` → a ``DataScope`` (codes checked as
    ``aftersales users add`` checks them); none: the whole company."""
    from aftersales.principal import make_scope

    parts: dict[str, list[str]] = {p: [] for p in SCOPE_PARTS.values()}
    for item in items or ():
        dim, sep, value = str(item).partition("=")
        dim = dim.strip().replace("-", "_")
        if not sep or dim not in SCOPE_PARTS or not value.strip():
            raise UserError(f"--scope {item!r} must be region=CODE, outlet=ID or outlet_type=own|outsourced "
                            "(several values: region=east,north; repeat --scope for several parts)")
        parts[SCOPE_PARTS[dim]] += [v.strip() for v in value.split(",") if v.strip()]
    return make_scope("analyst", **parts)  # analyst: a role that may carry any scope, or none


def describe(scope: DataScope, lang: str = "zh") -> str:
    """The scope in words for titles and captions: 全公司 / 华东 · 网点 WD0001 / Whole company."""
    from aftersales import model

    if check(scope).whole_company:
        return "全公司" if lang == "zh" else "Whole company"
    names = {"regions": model.extended(model.REGIONS), "outlet_types": model.OUTLET_TYPES}
    words = []
    for part in ("regions", "outlet_types", "outlets"):
        codes = getattr(scope, part)
        if not codes:
            continue
        known = names.get(part) or {}
        if lang == "zh":
            shown = "、".join(known.get(c, c) for c in codes)
            words.append(f"网点 {shown}" if part == "outlets" else shown)
        else:
            label = {"regions": "region", "outlet_types": "outlet type", "outlets": "outlet"}[part]
            words.append(f"{label} {', '.join(codes)}")
    return " · ".join(words)
