"""Alert rules and delivery targets: the ``[alerts]`` section of the configuration, over the
shipped defaults below (a rule or target of the same name is merged key by key; ``enabled =
false`` switches a shipped rule off).

    [alerts]
    dashboard_url = "http://127.0.0.1:8501"   # links in messages open this dashboard
    cooldown_hours = 24      # a firing alert is sent again after this long (or when it worsens)
    worsen_by = 0.5          # ... or when its distance past the threshold grew by this share
    retries = 3              # a failed send is tried this many more times,
    backoff_seconds = 2.0    # waiting 2, 4, 8 ... seconds between tries
    digest_after = 5         # more events of one rule in one check: one message listing them

    [alerts.rules.sla_region]           # one table per rule; the name is its id
    kpi = "sla_compliance"              # any KPI of `aftersales metrics`
    by = "region"                       # optional breakdown: one alert per value
    where = {service_type = "repair"}   # optional filter
    condition = "target_missed"         # below | above | target_missed | change
    threshold = 0.85                    # below / above
    against = "previous"                # change: previous | last_year
    points = 2.0                        # change: beyond N points (percentage points for shares) ...
    percent = 20.0                      # ... or beyond N %
    direction = "worse"                 # change: worse (by the KPI's direction) | up | down
    period = "week"                     # day | week | month: the last complete one is judged
    min_sample = 50                     # fewer records: silent (default: the KPI's own minimum)
    targets = ["ops"]                   # default: every target
    route_by = "region"                 # a region's alert to that region's targets only (alerts.routing)

    [alerts.targets.ops]                # where messages go; secrets never in this file
    kind = "wecom"                      # wecom | dingtalk | feishu | mail | apprise
    webhook_env = "AFTERSALES_WECOM_OPS"     # env var holding the robot's webhook address
    lang = "zh"
    regions = ["east"]                  # optional: only alerts on these regions (alerts.routing)

Secrets (webhook addresses carry the robot's key; the DingTalk signing secret; SMTP passwords)
come from an environment variable (``*_env``) or a file outside the repository (``*_file``),
never from this file: a target that writes one here is refused.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftersales.config import PROJECT_ROOT
from aftersales.errors import UserError, clip

GRAINS = ("day", "week", "month")
CONDITIONS = ("below", "above", "target_missed", "change")
KINDS = ("kpi", "parts_runout", "staffing_short", "source_silent", "tickets_due")
TARGET_KINDS = ("wecom", "dingtalk", "feishu", "mail", "apprise")
SECRET_KEYS = ("webhook", "secret", "url", "password")  # as literal values: refused

# The shipped rules (issue 16): each runs on the sample data of the README's first command.
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "sla_region": {"kpi": "sla_compliance", "by": "region", "condition": "target_missed", "period": "week",
                   "min_sample": 50},
    "complaint_jump_outlet": {"kpi": "complaint_rate", "by": "outlet", "condition": "change", "against": "previous",
                              "points": 2.0, "direction": "up", "period": "month", "min_sample": 100},
    "csat_falling": {"kpi": "csat", "condition": "change", "against": "previous", "points": 3.0,
                     "direction": "down", "period": "month", "min_sample": 50},
    "backlog_aged_growing": {"kpi": "backlog_aged_7d", "condition": "change", "against": "previous", "points": 2.0,
                             "direction": "up", "period": "week", "min_sample": 30},
    "parts_runout": {"kind": "parts_runout"},
    "staffing_short": {"kind": "staffing_short", "weeks": 2, "min_gap": 0.0},
    "source_silent": {"kind": "source_silent", "days": 3},
    "tickets_due": {"kind": "tickets_due", "by": "outlet", "min_count": 1},
}

DEFAULTS: dict[str, Any] = {
    "dashboard_url": "http://127.0.0.1:8501",
    "cooldown_hours": 24.0,
    "worsen_by": 0.5,
    "retries": 3,
    "backoff_seconds": 2.0,
    # More events of one rule and kind than this in one check go as one message listing them
    # (a rule may set its own digest_after).
    "digest_after": 5,
    # 即将超时: a stage due within this many hours (per service type) is "about to breach";
    # an overdue ticket older than stale_days is listed apart as stale.
    "due_within_hours": {"default": 4.0, "install": 12.0, "delivery": 12.0, "return": 24.0, "exchange": 24.0},
    "stale_days": 30.0,
    "rules": DEFAULT_RULES,
    "targets": {},
}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    kpi: str | None = None
    by: str | None = None
    where: dict[str, list[str]] = field(default_factory=dict)
    condition: str | None = None
    threshold: float | None = None
    against: str = "previous"
    points: float | None = None
    percent: float | None = None
    direction: str = "worse"
    period: str = "week"
    min_sample: int | None = None
    targets: tuple[str, ...] | None = None
    cooldown_hours: float = 24.0
    worsen_by: float = 0.5
    params: dict[str, Any] = field(default_factory=dict)  # the other kinds' own settings (weeks, days ...)
    route_by: str | None = None   # "region": a region's alert to that region's targets only (alerts.routing)


@dataclass(frozen=True)
class Target:
    id: str
    kind: str
    lang: str
    options: dict[str, Any]

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions this target serves (``regions = [...]``); empty: head office's target."""
        return tuple(self.options.get("regions") or ())

    def secret(self, name: str, required: bool = True) -> str | None:
        """``name`` (webhook, secret, url ...) from ``<name>_env`` or ``<name>_file``."""
        env, path = self.options.get(f"{name}_env"), self.options.get(f"{name}_file")
        if env:
            value = os.environ.get(str(env), "").strip()
            if value:
                return value
            if required:
                raise UserError(f"alert target {self.id}: environment variable {env} is empty or not set; "
                                f"export it (the {name} of this {self.kind} target) before sending")
            return None
        if path:
            p = Path(str(path)).expanduser()
            if p.resolve().is_relative_to(PROJECT_ROOT):
                raise UserError(f"alert target {self.id}: {name}_file {clip(p)} is inside the project; keep "
                                "secrets in a file outside the repository (e.g. /etc/aftersales/)")
            if not p.is_file():
                raise UserError(f"alert target {self.id}: {name}_file {clip(p)} does not exist")
            return p.read_text(encoding="utf-8").strip()
        if required:
            raise UserError(f"alert target {self.id}: set {name}_env (an environment variable) or {name}_file "
                            "(a file outside the repository) for its " + name)
        return None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def section(config: dict | None) -> dict[str, Any]:
    """The ``[alerts]`` section over the defaults."""
    return _merge(DEFAULTS, (config or {}).get("alerts") or {})


def _where(rule_id: str, raw: Any) -> dict[str, list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"alerts.rules.{rule_id}.where must be a table, e.g. where = {{region = \"east\"}}")
    return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in raw.items()}


def _number(rule_id: str, raw: dict, key: str) -> float | None:
    v = raw.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UserError(f"alerts.rules.{rule_id}.{key} must be a number, not {clip(repr(v))}")
    return float(v)


def rules(config: dict | None) -> list[Rule]:
    """The rules in force (enabled), checked against the metrics registry: an unknown KPI,
    breakdown, condition or period is a UserError naming the rule and the valid choices."""
    from metrics import registry as R

    sec = section(config)
    out = []
    for rid, raw in (sec.get("rules") or {}).items():
        if not isinstance(raw, dict):
            raise UserError(f"alerts.rules.{rid} must be a table of settings")
        if raw.get("enabled", True) is False:
            continue
        kind = raw.get("kind", "kpi")
        if kind not in KINDS:
            raise UserError(f"alerts.rules.{rid}: kind {clip(repr(kind))} is not one of {', '.join(KINDS)}")
        targets = raw.get("targets")
        if targets is not None and (not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)):
            raise UserError(f"alerts.rules.{rid}.targets must be a list of target names")
        route = raw.get("route_by", sec.get("route_by"))
        if route not in (None, "", "region"):
            raise UserError(f"alerts.rules.{rid}.route_by {clip(repr(route))} is not valid; write route_by = \"region\" "
                            "(or leave it out)")
        common = {"id": rid, "kind": kind, "targets": tuple(targets) if targets is not None else None,
                  "route_by": route or None,
                  "cooldown_hours": float(raw.get("cooldown_hours", sec["cooldown_hours"])),
                  "worsen_by": float(raw.get("worsen_by", sec["worsen_by"])),
                  "min_sample": int(raw["min_sample"]) if raw.get("min_sample") is not None else None,
                  "by": raw.get("by")}
        if kind != "kpi":
            known = {"kind", "targets", "cooldown_hours", "worsen_by", "min_sample", "by", "enabled", "route_by"}
            out.append(Rule(**common, params={k: v for k, v in raw.items() if k not in known}))
            continue
        kpi = raw.get("kpi")
        if kpi not in R.KPIS:
            raise UserError(f"alerts.rules.{rid}: kpi {clip(repr(kpi))} is not a KPI; valid: {', '.join(R.KPIS)}")
        k = R.KPIS[kpi]
        by = raw.get("by")
        where = _where(rid, raw.get("where"))
        for d in ([by] if by else []) + list(where):
            if d not in k.allowed_dims():
                raise UserError(f"alerts.rules.{rid}: {kpi} cannot be broken down or filtered by {clip(repr(d))}; "
                                f"valid: {', '.join(k.allowed_dims())}")
        cond = raw.get("condition")
        if cond not in CONDITIONS:
            raise UserError(f"alerts.rules.{rid}: condition {clip(repr(cond))} is not one of {', '.join(CONDITIONS)}")
        period = raw.get("period", "week")
        if period not in GRAINS:
            raise UserError(f"alerts.rules.{rid}: period {clip(repr(period))} is not one of {', '.join(GRAINS)}")
        rule = Rule(**{**common, "by": by}, kpi=kpi, where=where, condition=cond,
                    threshold=_number(rid, raw, "threshold"), against=raw.get("against", "previous"),
                    points=_number(rid, raw, "points"), percent=_number(rid, raw, "percent"),
                    direction=raw.get("direction", "worse"), period=period,
                    params={k: raw[k] for k in ("digest_after",) if k in raw})
        if cond in ("below", "above") and rule.threshold is None:
            raise UserError(f"alerts.rules.{rid}: condition {cond} needs threshold = NUMBER")
        if cond == "change":
            if rule.against not in ("previous", "last_year"):
                raise UserError(f"alerts.rules.{rid}: against must be previous or last_year")
            if (rule.points is None) == (rule.percent is None):
                raise UserError(f"alerts.rules.{rid}: condition change needs points = N or percent = N (one of them)")
            if rule.direction not in ("worse", "up", "down"):
                raise UserError(f"alerts.rules.{rid}: direction must be worse, up or down")
            if rule.direction == "worse" and k.higher_is_better is None:
                raise UserError(f"alerts.rules.{rid}: {kpi} has no better direction; write direction = up or down")
        if cond == "target_missed" and k.higher_is_better is None:
            raise UserError(f"alerts.rules.{rid}: {kpi} has no target direction; use below/above with a threshold")
        out.append(rule)
    return out


def targets(config: dict | None) -> dict[str, Target]:
    """The delivery targets, checked: a known kind, a language, and no secret written in the file."""
    sec = section(config)
    out = {}
    for tid, raw in (sec.get("targets") or {}).items():
        if not isinstance(raw, dict):
            raise UserError(f"alerts.targets.{tid} must be a table of settings")
        kind = raw.get("kind")
        if kind not in TARGET_KINDS:
            raise UserError(f"alerts.targets.{tid}: kind {clip(repr(kind))} is not one of {', '.join(TARGET_KINDS)}")
        leaked = [k for k in SECRET_KEYS if k in raw]
        if leaked:
            raise UserError(f"alerts.targets.{tid}: {', '.join(leaked)} written in the config file; secrets go in an "
                            f"environment variable ({leaked[0]}_env = \"NAME\") or a file outside the repository "
                            f"({leaked[0]}_file = \"/etc/aftersales/...\")")
        lang = raw.get("lang", (config or {}).get("language", "zh"))
        if lang not in ("zh", "en"):
            raise UserError(f"alerts.targets.{tid}: lang must be zh or en")
        regions = raw.get("regions")
        if regions is not None:
            from aftersales import model

            known = model.extended(model.REGIONS) or {}
            if (not isinstance(regions, list) or not regions
                    or not all(isinstance(r, str) and r in known for r in regions)):
                raise UserError(f"alerts.targets.{tid}.regions must be a list of region codes, e.g. regions = "
                                f"[\"east\"]; valid: {', '.join(known)}")
        out[tid] = Target(tid, kind, lang, {k: v for k, v in raw.items() if k not in ("kind", "lang")})
    return out
