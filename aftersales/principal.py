"""Roles, data scopes and permissions: what a signed-in user may see and do.

A ``Principal`` is who is looking: account, role, data scope and permissions. The data scope
restricts tickets by region, outlet and outlet type (an empty part: any); the permissions are
``unmask`` (see personal data unmasked), ``download``, ``forecasts`` (see them) and ``alerts``
(manage them). Each role brings default permissions; an account may be granted more or fewer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aftersales.errors import UserError, clip

# Permissions a role may carry beyond seeing its scope's numbers.
PERMISSIONS = {
    "unmask": ("查看未遮蔽的个人信息", "see personal data unmasked"),
    "download": ("下载数据与报表", "download data and reports"),
    "forecasts": ("查看预测", "see forecasts"),
    "alerts": ("管理预警", "manage alerts"),
}


@dataclass(frozen=True)
class Role:
    zh: str
    en: str
    permissions: frozenset[str]  # granted unless the account says otherwise
    needs: str | None = None     # the scope part an account of this role must name
    whole_company: bool = False  # sees everything: no scope may be set


ROLES: dict[str, Role] = {
    "head_office": Role("总部", "Head office", frozenset(PERMISSIONS), whole_company=True),
    "regional_manager": Role("区域经理", "Regional manager", frozenset({"download", "forecasts"}), needs="regions"),
    "outlet_manager": Role("网点经理", "Outlet manager", frozenset({"download"}), needs="outlets"),
    "planner": Role("计划员", "Planner", frozenset({"download", "forecasts"})),
    "analyst": Role("分析员", "Analyst", frozenset({"download", "forecasts"})),
}

# -- scope and principal ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataScope:
    """The tickets a user may see: those whose region, outlet and outlet type are each among the
    listed ones (an empty list: any). The empty scope is the whole company."""

    regions: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    outlet_types: tuple[str, ...] = ()

    # scope part -> the ticket breakdown (metrics.registry.DIMENSIONS id) it restricts
    DIMS = {"regions": "region", "outlets": "outlet", "outlet_types": "outlet_type"}

    @property
    def whole_company(self) -> bool:
        return not (self.regions or self.outlets or self.outlet_types)

    def where(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The scope as ticket filters, in ``dashboard.data.Where`` form (sorted by breakdown):
        what the read functions must AND with whatever the user filters."""
        return tuple(sorted((dim, getattr(self, part)) for part, dim in self.DIMS.items() if getattr(self, part)))

    def allows(self, region: str | None, outlet: str | None, outlet_type: str | None) -> bool:
        """Whether one ticket (its region, outlet, outlet type) is inside the scope. A ticket
        without a value for a restricted breakdown (not yet dispatched) is outside it."""
        values = {"region": region, "outlet": outlet, "outlet_type": outlet_type}
        return all(values[dim] in codes for dim, codes in self.where())

    def narrow(self, where: Iterable[tuple[str, Iterable[str]]]) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
        """A user's filters intersected with the scope (Where form), or None when they leave
        nothing inside it (a filter on a region outside a regional manager's own)."""
        out = {dim: tuple(values) for dim, values in where}
        for dim, codes in self.where():
            if dim in out:
                kept = tuple(v for v in out[dim] if v in codes)
                if not kept:
                    return None
                out[dim] = kept
            else:
                out[dim] = codes
        return tuple(sorted(out.items()))

    def as_dict(self) -> dict[str, list[str]]:
        return {part: list(getattr(self, part)) for part in self.DIMS}


@dataclass(frozen=True)
class Principal:
    """Who is looking: account, role, data scope, permissions, and how they signed in
    (``password``, ``oidc``, or ``none`` when sign-in is off)."""

    username: str
    display_name: str
    role: str
    scope: DataScope = field(default_factory=DataScope)
    permissions: frozenset[str] = frozenset()
    method: str = "password"

    def can(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        return permission in self.permissions

    def role_label(self, lang: str) -> str:
        r = ROLES.get(self.role)
        return (r.zh if lang == "zh" else r.en) if r else self.role


def local_principal() -> Principal:
    """Sign-in off (no users file, this machine only, or ``--no-auth``): today's behaviour, the
    whole company; personal data stays masked as everywhere else by default."""
    return Principal("local", "local", "head_office", DataScope(), ROLES["head_office"].permissions - {"unmask"},
                     method="none")


def make_scope(role: str, regions: Iterable[str] = (), outlets: Iterable[str] = (),
               outlet_types: Iterable[str] = ()) -> DataScope:
    """A role's scope, checked: a regional manager names regions, an outlet manager outlets,
    head office none (it sees everything); codes are the model's codes (east, own, WD0001)."""
    if role not in ROLES:
        raise UserError(f"unknown role {clip(role)!r}; valid: {', '.join(ROLES)}")
    from aftersales import model

    def codes(values: Iterable[str], known: dict[str, str] | None, what: str) -> tuple[str, ...]:
        out = tuple(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))
        bad = [v for v in out if known is not None and v not in known]
        if bad:
            raise UserError(f"unknown {what} {clip(bad[0])!r}; valid: {', '.join(known)}")
        return out

    # regions with the codes the config adds; outlets are master data, any code is accepted
    scope = DataScope(codes(regions, model.extended(model.REGIONS), "region"), codes(outlets, None, "outlet"),
                      codes(outlet_types, model.OUTLET_TYPES, "outlet type"))
    r = ROLES[role]
    if r.whole_company and not scope.whole_company:
        raise UserError(f"role {role} sees the whole company: drop --region/--outlet/--outlet-type, or choose "
                        "another role")
    if r.needs and not getattr(scope, r.needs):
        flag = {"regions": "--region", "outlets": "--outlet"}[r.needs]
        raise UserError(f"role {role} needs its {r.needs[:-1]}: add {flag} CODE (repeat it for several)")
    return scope


